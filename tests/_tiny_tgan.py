"""A tiny, randomly initialised two-stage tGAN and a small mask video, for inference tests."""

from __future__ import annotations

import numpy as np
import torch

from tganaug.models.config import PRESETS
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.models.tgan import TGAN

TINY = PRESETS["tiny"]


def tiny_tgan(with_sr: bool = True, **kwargs) -> TGAN:
    """The ``tiny`` preset's networks, seeded with 0 (same weights every call); ``kwargs`` go to :class:`TGAN`."""
    torch.manual_seed(0)
    sr = SRGenerator.from_config(TINY) if with_sr else None
    return TGAN(LowResGenerator.from_config(TINY), TINY, sr, default_background=0.2, **kwargs)


def two_box_masks(t: int = 3, h: int = 37, w: int = 29) -> np.ndarray:
    """``(t, h, w) uint16``: cell 3 moving down one pixel per frame, cell 7 still."""
    labels = np.zeros((t, h, w), np.uint16)
    for i in range(t):
        labels[i, 5 + i : 15 + i, 4:12] = 3
        labels[i, 20:30, 15:25] = 7
    return labels
