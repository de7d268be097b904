"""The tGAN intensity scale: a raw video mapped to [0, 1] by two of its intensity percentiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["normalize_video"]


def normalize_video(images: np.ndarray, percentiles: Sequence[float] = (1.0, 99.8)) -> tuple[np.ndarray, tuple[float, float]]:
    """Map a raw video to [0, 1]: the low/high percentiles of all its pixels go to 0/1, clipped.

    Returns ``((T, H, W) float32 in [0, 1], (low, high))``.
    """
    low, high = np.percentile(images, list(percentiles))
    scale = float(high - low) if high > low else 1.0
    video = np.clip((images.astype(np.float32) - np.float32(low)) / np.float32(scale), 0.0, 1.0).astype(np.float32)
    return video, (float(low), float(high))
