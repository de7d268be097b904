"""Reference background of a real video: the per-pixel temporal median of its pixels off the cells."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from tganaug.models.normalize import normalize_video

__all__ = ["background_from_video"]


def background_from_video(
    images: np.ndarray, labels: np.ndarray, *, percentiles: Sequence[float] | None = (1.0, 99.8), dilate: int = 2
) -> np.ndarray:
    """Reference background of a video: per-pixel temporal median of its non-cell pixels.

    Args:
        images: ``(T, H, W)`` raw frames (any real dtype).
        labels: ``(T, H, W)`` integer masks (0 = background) or bool.
        percentiles: normalise the result like the tGAN input (``None``: keep raw units).
        dilate: cells are grown by this many pixels first, so halos do not leak in.

    Returns ``(H, W) float32``: in [0, 1] (the units of :meth:`TGAN.generate`) when ``percentiles``
    is given, else in the raw intensity units. Pixels covered by a cell in every frame get the
    median of all background pixels.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape != labels.shape:
        raise ValueError(f"images and labels must both be (T, H, W) of the same shape, got {images.shape} and {labels.shape}")
    if images.shape[0] == 0:
        raise ValueError("empty video (T = 0)")
    if percentiles is not None:
        video, _ = normalize_video(images, percentiles)
    else:
        video = images.astype(np.float32)
    if not np.isfinite(video).all():
        raise ValueError("images contain NaN or infinite values")
    cells = labels > 0
    if dilate > 0:
        cells = ndimage.binary_dilation(cells, structure=np.ones((1, 2 * dilate + 1, 2 * dilate + 1), bool))
    masked = np.where(cells, np.nan, video)
    fill = float(np.median(video[~cells])) if (~cells).any() else float(np.median(video))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        background = np.nanmedian(masked, axis=0)
    return np.where(np.isnan(background), fill, background).astype(np.float32)
