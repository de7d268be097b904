"""Cell outlines of a label frame and the bright halo (phase-contrast rim) drawn along them."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["cell_edges", "halo_map"]


def cell_edges(labels_t: np.ndarray) -> np.ndarray:
    """``(H, W) float32``: 1 on cell pixels that touch another label (background or a neighbour)."""
    edge = np.zeros(labels_t.shape, dtype=bool)
    edge[1:] |= labels_t[1:] != labels_t[:-1]
    edge[:-1] |= labels_t[:-1] != labels_t[1:]
    edge[:, 1:] |= labels_t[:, 1:] != labels_t[:, :-1]
    edge[:, :-1] |= labels_t[:, :-1] != labels_t[:, 1:]
    return (edge & (labels_t > 0)).astype(np.float32)


def halo_map(labels_t: np.ndarray, width: float) -> np.ndarray:
    """``(H, W) float32`` unit-amplitude halo of one label frame: a blurred cell outline that is
    1 at a straight edge, kept outside cells and on cell-cell contacts (0 inside cells otherwise)."""
    line = cell_edges(labels_t)
    # A 1-px line blurred by sigma has peak 1 / (sqrt(2 pi) sigma) (for sigma >~ 1): scale it to 1.
    halo = ndimage.gaussian_filter(line, width) * np.float32(math.sqrt(2 * math.pi) * max(width, 1.0))
    np.minimum(halo, 1.0, out=halo)
    keep = (labels_t == 0) | (line > 0)
    return np.where(keep, halo, np.float32(0)).astype(np.float32)
