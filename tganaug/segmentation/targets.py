"""Training targets for the 3-class segmenter."""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

__all__ = ["BACKGROUND", "INTERIOR", "BOUNDARY", "instance_targets"]

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2


def instance_targets(labels: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` instance labels -> ``(..., H, W) int64`` classes 0 background, 1 interior, 2 boundary.

    The boundary is the inner one-pixel rim of every cell (``find_boundaries(mode="inner")``),
    so touching cells stay separated by a boundary band the watershed can split along.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integer instance ids, got {labels.dtype}")
    flat = labels.reshape(-1, *labels.shape[-2:])
    targets = np.zeros(flat.shape, dtype=np.int64)
    for index, frame in enumerate(flat):
        targets[index][frame > 0] = INTERIOR
        targets[index][find_boundaries(frame, mode="inner") & (frame > 0)] = BOUNDARY
    return targets.reshape(labels.shape)
