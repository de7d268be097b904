"""Reading tGAN checkpoint files: safe load (``weights_only=True``), weights into networks, clear errors.

Writing them (``save_checkpoint``, ``export_generator``) belongs to training: its ``checkpoint``
module re-exports the names defined here (training imports models, models never import training).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from tganaug.models.config import TGANConfig, network_config_mismatch

__all__ = ["CHECKPOINT_NAME", "FORMAT", "CheckpointError", "load_checkpoint", "load_network_state", "resolve_checkpoint"]

#: the format tag every tGAN checkpoint carries
FORMAT = "tganaug-tgan-checkpoint"
#: the checkpoint file of a run directory or exported model folder
CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of another kind, or does not match the network/config."""


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
