"""Shipped weights: the ``tganaug/weights`` folder and "shipped name or path" resolution."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

__all__ = ["WEIGHTS_DIR", "resolve_weights", "save_weights", "load_weights", "shipped_weights_path", "weights_fingerprint"]

ConfigT = TypeVar("ConfigT")

#: the folder of the weights shipped in the package (see its MODEL_CARD.md)
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def shipped_weights_path(name: str) -> Path:
    """Path of a weights file shipped in ``tganaug/weights`` (may not exist)."""
    return WEIGHTS_DIR / name


def resolve_weights(
    model: str | Path,
    shipped: Mapping[str, str],
    *,
    what: str,
    error: type[Exception] = FileNotFoundError,
    is_valid: Callable[[Path], bool] = Path.is_file,
    expected: str = "a checkpoint file",
    default_file: str | None = None,
) -> Path:
    """A shipped name (key of ``shipped``, value relative to :data:`WEIGHTS_DIR`) or a user path -> the path to load.

    ``is_valid`` decides whether a path is loadable (default: an existing file); a user folder is
    replaced by ``folder / default_file`` when ``default_file`` is given. Raises ``error`` naming
    ``what`` and every shipped name when ``model`` is neither, or when a shipped entry is missing.
    """
    if str(model) in shipped:
        path = WEIGHTS_DIR / shipped[str(model)]
        if not is_valid(path):
            raise error(f"shipped {what} {str(model)!r} is missing its weights {path}")
        return path
    path = Path(model)
    if default_file is not None and path.is_dir():
        path = path / default_file
    if not is_valid(path):
        names = ", ".join(sorted(shipped))
        raise error(f"{what} {str(model)!r} is neither a shipped name ({names}) nor {expected}")
    return path


def save_weights(path: str | Path, format_name: str, config: dict, network: torch.nn.Module, meta: dict) -> Path:
    """Write a small model checkpoint atomically: ``{"format", "config", "state_dict", "meta"}`` (CPU tensors,
    loadable with ``torch.load(weights_only=True)``), plus the same minus the weights as JSON beside it (``.json``)."""
    import io

    import torch

    from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_json

    path = Path(path)
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    torch.save({"format": format_name, "config": config, "state_dict": state, "meta": meta}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_json(path.with_suffix(".json"), {"format": format_name, "config": config, "meta": meta})
    return path


def load_weights(
    path: Path,
    format_name: str,
    build: Callable[[dict], tuple[ConfigT, torch.nn.Module]],
    *,
    what: str,
    error: type[Exception],
) -> tuple[ConfigT, torch.nn.Module, dict[str, Any]]:
    """Read a :func:`save_weights` checkpoint -> ``(config, network in eval mode, meta)``.

    Loads with ``torch.load(weights_only=True)``; ``build`` turns the saved config dict into the
    config object and an untrained network. Raises ``error`` naming ``path`` and ``what`` for a
    corrupt or refused file ("cannot load ..."), another format ("is not a tganaug ..."), a config
    the config class rejects, or weights that do not fit the network ("weights do not match ...").
    """
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as failure:  # corrupt/truncated file, pickle payload refused by weights_only, ...
        raise error(f"cannot load {what} checkpoint {path} (corrupt, truncated or not a torch file): "
                    f"{type(failure).__name__}: {failure}") from failure
    if not isinstance(payload, dict) or payload.get("format") != format_name:
        raise error(f"{path} is not a tganaug {what} checkpoint (format {format_name})")
    try:
        config, network = build(payload["config"])
    except (KeyError, TypeError, ValueError) as failure:
        raise error(f"{path}: its config does not fit the {what} network: {failure}") from failure
    try:
        network.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError) as failure:
        raise error(f"{path}: weights do not match the {what} network built from its config: {failure}") from failure
    return config, network.eval(), dict(payload.get("meta", {}))


def weights_fingerprint(path: str | Path) -> str:
    """sha256 (hex) of the ``*.pt`` files of a model folder (their relative paths and bytes, followed into
    symlinked folders) or of one checkpoint file: what a cache or a record of how data were made compares,
    so a model retrained under the same name or path is told apart from the old one."""
    import hashlib
    import os

    path = Path(path)
    digest = hashlib.sha256()
    if not path.is_dir():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    files = sorted(Path(root) / name for root, _, names in os.walk(path, followlinks=True) for name in names if name.endswith(".pt"))
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
