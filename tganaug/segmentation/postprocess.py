"""Class probabilities -> instance labels (marker-controlled watershed)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

__all__ = ["probabilities_to_instances"]


def probabilities_to_instances(
    probabilities: np.ndarray, interior_threshold: float = 0.5, foreground_threshold: float = 0.5, min_size: int = 10
) -> np.ndarray:
    """``(3, H, W)`` background/interior/boundary probabilities -> ``(H, W) uint16`` instances.

    Markers are connected regions of ``P(interior) > interior_threshold`` (at least ``min_size``
    pixels); they grow by watershed on ``-P(interior)`` into the foreground
    ``1 - P(background) > foreground_threshold``. Labels are numbered 1..N in raster order.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 3 or probabilities.shape[0] != 3:
        raise ValueError(f"probabilities must be (3, H, W), got {probabilities.shape}")
    interior = probabilities[1]
    foreground = (1.0 - probabilities[0]) > foreground_threshold
    markers, count = ndimage.label(interior > interior_threshold)
    if count:
        sizes = ndimage.sum_labels(np.ones_like(markers), markers, np.arange(1, count + 1))
        small = np.nonzero(sizes < min_size)[0] + 1
        markers[np.isin(markers, small)] = 0
    instances = watershed(-interior, markers, mask=foreground)
    # renumber 1..N (removing small markers left gaps)
    ids = np.unique(instances)
    ids = ids[ids > 0]
    lookup = np.zeros(int(instances.max()) + 1, dtype=np.uint16)
    lookup[ids] = np.arange(1, len(ids) + 1, dtype=np.uint16)
    return lookup[instances]
