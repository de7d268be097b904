"""``tgan``: the trained two-stage tGAN as a generator plugin.

Factory: ``tgan(checkpoint=PATH, sr_checkpoint=None, device="cpu", use_sr=True)`` where
``checkpoint`` is a folder holding ``lowres/`` (and optionally ``sr/``) run directories, or a
low-res run directory / ``checkpoint.pt`` (see :meth:`tganaug.models.tgan.TGAN.from_pretrained`).
No weights ship for the generator itself: train them with ``tganaug train lowres|sr``.

Contract: ``generate(labels (T, H, W) int, background=None, seed=None) -> (T, H, W) float32 in
[0, 1]``, where 0/1 are the 1st/99.8th intensity percentiles of the training videos; labels are
binarised (``> 0``); ``background`` is ``(H, W)`` float in [0, 1] or None (flat, training median).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.hookspecs import hookimpl

__all__ = ["TGANGenerator", "tganaug_generators"]


class TGANGenerator:
    """Plugin wrapper around :class:`tganaug.models.tgan.TGAN` (loaded once at construction)."""

    def __init__(self, checkpoint: str | Path | None = None, sr_checkpoint: str | Path | None = None, device: str = "cpu", use_sr: bool = True) -> None:
        if checkpoint is None:
            raise ValueError("the tgan generator needs checkpoint=RUN_DIR (train one with `tganaug train lowres`)")
        from tganaug.models.tgan import TGAN

        self.model = TGAN.from_pretrained(checkpoint, sr_checkpoint, device=device)
        self.use_sr = use_sr

    def generate(self, labels: np.ndarray, background: np.ndarray | None = None, seed: int | None = None) -> np.ndarray:
        """``labels (T, H, W)`` int -> ``(T, H, W) float32`` in [0, 1]."""
        return self.model.generate(labels, background=background, seed=seed, use_sr=self.use_sr)


@hookimpl
def tganaug_generators() -> dict[str, Callable[..., Any]]:
    """Register ``tgan``."""
    return {"tgan": TGANGenerator}
