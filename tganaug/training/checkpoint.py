"""Checkpoint files of tGAN runs: atomic save, safe load (``weights_only=True``), clear errors."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tganaug.models.config import TGANConfig, network_config_mismatch
from tganaug.utils.fsutil import OutputKind, atomic_write_bytes, atomic_write_json, check_output_dir, write_output_record

__all__ = ["EXPORTED_MODEL", "FORMAT", "CheckpointError", "load_checkpoint", "load_network_state", "resolve_checkpoint", "save_checkpoint"]

FORMAT = "tganaug-tgan-checkpoint"
CHECKPOINT_NAME = "checkpoint.pt"
#: a folder written by :func:`export_generator` (earlier versions: recognised by its checkpoint and config.json)
EXPORTED_MODEL = OutputKind("tgan-model", (CHECKPOINT_NAME, "config.json", "card.json"), "a tGAN model exported by tganaug",
                            lambda folder: (folder / CHECKPOINT_NAME).is_file() and (folder / "config.json").is_file())


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of another kind, or does not match the network/config."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """``torch.save`` ``payload`` (plus the format tag) to ``path`` through an atomic rename."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory (holding ``checkpoint.pt``) or a checkpoint file -> the file path."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a tGAN checkpoint with ``torch.load(weights_only=True)``.

    Raises ``FileNotFoundError`` when absent and :class:`CheckpointError` when the file is corrupt,
    truncated or not a tganaug tGAN checkpoint.
    """
    path = resolve_checkpoint(path)
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load fails in many ways on foreign bytes (seen: IndexError, UnpicklingError, BadZipFile)
        raise CheckpointError(f"cannot read checkpoint {path} (corrupt, truncated or not a torch file): {type(error).__name__}: {error}") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tganaug tGAN checkpoint (no format tag {FORMAT!r})")
    for key in ("config", "mode", "step", "models"):
        if key not in data:
            raise CheckpointError(f"checkpoint {path} lacks {key!r}")
    try:
        data["config_obj"] = TGANConfig.from_dict(data["config"])
    except ValueError as error:
        raise CheckpointError(f"checkpoint {path} holds an invalid config: {error}") from error
    return data


def load_network_state(module: nn.Module, state: dict[str, torch.Tensor], *, what: str, saved: TGANConfig | None = None, current: TGANConfig | None = None, network: str | None = None) -> None:
    """``load_state_dict(strict=True)``, turning a mismatch into a :class:`CheckpointError` that names it.

    When both configs are given, differing shape-defining config keys are named first.
    """
    if saved is not None and current is not None and network is not None:
        diffs = network_config_mismatch(saved, current, network)
        if diffs:
            raise CheckpointError(f"{what}: checkpoint config does not match the network config ({'; '.join(diffs)})")
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} != network {tuple(v.shape)}" for k, v in own.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes[:3]))
        if missing:
            parts.append(f"missing {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:3]}")
        raise CheckpointError(f"{what}: checkpoint does not match the network: {', '.join(parts)}")
    module.load_state_dict(state)


def export_generator(run: str | Path, out_dir: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write the inference part of a training run (generator weights + config) to ``out_dir``.

    Keeps the generator's ``state_dict``, the config, the mode, step, default background and reference backgrounds, and
    drops discriminators, FlowNet, optimiser and RNG states, so shipped files stay small. The
    result (``out_dir/checkpoint.pt`` + ``config.json`` [+ ``card.json``]) loads with
    :meth:`tganaug.models.tgan.TGAN.from_pretrained` like a run directory. An existing ``out_dir`` is replaced
    only when it holds nothing but an exported model's files (:data:`EXPORTED_MODEL`), else
    :class:`~tganaug.utils.fsutil.OutputExistsError` names what else is there.
    """
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite=True, kind=EXPORTED_MODEL, what="model folder")  # replaces only an exported model
    data = load_checkpoint(run)
    if "generator" not in data["models"]:
        raise CheckpointError(f"{resolve_checkpoint(run)} holds no generator weights")
    keep = {key: data[key] for key in ("config", "mode", "step", "seed", "data", "default_background", "reference_backgrounds") if key in data}
    keep["models"] = {"generator": data["models"]["generator"]}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_output_record(out_dir, EXPORTED_MODEL)
    save_checkpoint(out_dir / CHECKPOINT_NAME, keep)
    atomic_write_json(out_dir / "config.json", data["config"])
    if card is not None:
        atomic_write_json(out_dir / "card.json", card)
    return out_dir / CHECKPOINT_NAME
