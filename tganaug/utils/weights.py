"""Shipped weights: the ``tganaug/weights`` folder and "shipped name or path" resolution."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["WEIGHTS_DIR", "resolve_weights", "save_weights"]

#: the folder of the weights shipped in the package (see its MODEL_CARD.md)
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


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
