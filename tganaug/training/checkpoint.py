"""Writing checkpoint files of tGAN runs: atomic save, export of the inference part.

Reading them (:func:`load_checkpoint`, :func:`load_network_state`, :class:`CheckpointError`, ...) is
inference's job: those names live in :mod:`tganaug.models.checkpoint` and are re-exported here.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from tganaug.models.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT,
    CheckpointError,
    load_checkpoint,
    load_network_state,
    resolve_checkpoint,
)
from tganaug.utils.fsutil import OutputKind, atomic_write_bytes, atomic_write_json, check_output_dir, write_output_record

__all__ = ["CHECKPOINT_NAME", "EXPORTED_MODEL", "FORMAT", "CheckpointError", "export_generator", "load_checkpoint", "load_network_state",
           "resolve_checkpoint", "save_checkpoint"]

#: a folder written by :func:`export_generator` (earlier versions: recognised by its checkpoint and config.json)
EXPORTED_MODEL = OutputKind("tgan-model", (CHECKPOINT_NAME, "config.json", "card.json"), "a tGAN model exported by tganaug",
                            lambda folder: (folder / CHECKPOINT_NAME).is_file() and (folder / "config.json").is_file())


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """``torch.save`` ``payload`` (plus the format tag) to ``path`` through an atomic rename."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


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
