"""Clean reference backgrounds: what a trained tGAN renders on when a video is given no background.

:func:`tganaug.models.background.background_from_video` (the temporal median of the pixels off the
cells, the reference the generator is trained and evaluated with) keeps ghosts of the training
cells: their halos beyond its 2-px margin, and flat patches where a cell sat in every frame. As the
background of a *new* video those ghosts would be cell-like structures without a label, so the
default background shipped with a model (:func:`reference_backgrounds`) is cleaned:

1. the halo extent: the distance from the cells beyond which the median intensity (less a smooth
   illumination field) is within ``tolerance`` of its level far from them (:func:`halo_extent`);
2. the temporal median of the pixels farther than that from every cell of their frame, kept where at
   least ``min_fraction`` of the frames saw it;
3. isolated remnants (pixels more than ``outlier`` robust s.d. from a smooth version, grown by the
   halo extent) are dropped as well;
4. the gaps are filled by normalised Gaussian convolution of the kept pixels at growing scales.

Kept pixels keep their values (illumination field, debris, dust rings); only the gaps are smooth.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from scipy import ndimage

from tganaug.models.reference import fill_gaps, quadratic_trend, reference_for_rendering, remove_remnants, restore_grain, smooth

__all__ = ["clean_background", "halo_extent", "reference_backgrounds", "reference_for_rendering", "remove_remnants", "restore_grain"]

#: distances (pixels from the nearest cell) at which :func:`halo_extent` compares intensities
_EXTENT_BINS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128)


def _distances(labels: np.ndarray) -> np.ndarray:
    """``(T, H, W) float32``: per frame, the distance of every pixel to the nearest cell pixel (inf with no cell)."""
    out = np.full(labels.shape, np.inf, np.float32)
    for t, frame in enumerate(labels):
        if frame.any():
            out[t] = ndimage.distance_transform_edt(~frame)
    return out


def halo_extent(video: np.ndarray, distances: np.ndarray, tolerance: float = 0.01, far: float = 64.0, fit: float = 16.0) -> float:
    """The distance (pixels) from the cells beyond which the median intensity stays within ``tolerance`` of its
    level far from them (pixels farther than ``far``, or the farthest tenth where fewer are that far).

    The slow illumination field is removed first (a quadratic surface fitted to the temporal median of the
    pixels farther than ``fit`` from the cells), so a gradient across the field is not taken for a halo.
    ``video (T, H, W)`` float in [0, 1]; ``distances (T, H, W)`` from :func:`_distances`. At most ``far``.
    """
    finite = np.isfinite(distances)
    if not (distances > 0).any() or not finite.any():
        return 0.0  # no cells, or nothing but cells
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels never that far: all-NaN
        fit_median = np.nanmedian(np.where(distances > fit, video, np.nan), axis=0)
    seen = np.isfinite(fit_median)
    if seen.sum() < 6:
        return float(far)
    residual = video - quadratic_trend(fit_median, seen)[None]
    cut = far if (distances > far).mean() >= 0.1 else float(np.percentile(distances[finite], 90))
    level = float(np.median(residual[distances > cut]))
    extent, lower = 0.0, 0.0
    for upper in (b for b in _EXTENT_BINS if b <= far):
        ring = (distances > lower) & (distances <= upper)
        if ring.any() and abs(float(np.median(residual[ring])) - level) > tolerance:
            extent = upper  # not settled yet at this distance
        lower = upper
    return float(extent)


def clean_background(video: np.ndarray, cells: np.ndarray, *, tolerance: float = 0.01, min_fraction: float = 0.25,
                     outlier: float = 4.0) -> np.ndarray:
    """A reference background without cell ghosts (module docstring, steps 1-4).

    Args:
        video: ``(T, H, W)`` float frames in [0, 1] (normalised as for tGAN).
        cells: ``(T, H, W)`` bool, or integer labels (``> 0`` = cell).
        tolerance: intensity step (video units) that still counts as a halo (:func:`halo_extent`).
        min_fraction: a pixel is measured where at least this fraction of the frames (and 2) saw it off the cells.
        outlier: remnants deviating by more than this many robust s.d. from the smooth background are dropped.

    Returns ``(H, W) float32`` in [0, 1]. Raises ``ValueError`` for mismatched or empty inputs or non-finite frames.
    """
    video = np.asarray(video, dtype=np.float32)
    cells = np.asarray(cells) > 0
    if video.ndim != 3 or video.shape != cells.shape:
        raise ValueError(f"video and cells must both be (T, H, W) of the same shape, got {video.shape} and {cells.shape}")
    if video.shape[0] == 0:
        raise ValueError("empty video (T = 0)")
    if not np.isfinite(video).all():
        raise ValueError("video contains NaN or infinite values")
    distances = _distances(cells)
    extent = halo_extent(video, distances, tolerance)
    free = distances > extent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: pixels never seen off the cells
        median = np.nanmedian(np.where(free, video, np.nan), axis=0)
    keep = free.sum(axis=0) >= max(2, int(np.ceil(min_fraction * video.shape[0])))
    if not keep.any():  # never seen off the cells: nothing to measure, the video's median level
        return np.full(video.shape[1:], float(np.median(video)), np.float32)
    residual = median - smooth(np.nan_to_num(median), keep, 16.0)
    spread = 1.4826 * float(np.median(np.abs(residual[keep]))) + 1e-6
    remnants = keep & (np.abs(residual) > outlier * spread)
    if remnants.any():
        keep &= ~ndimage.binary_dilation(remnants, iterations=max(1, round(extent)))
    return np.clip(fill_gaps(np.nan_to_num(median), keep), 0.0, 1.0)


def reference_backgrounds(videos: Sequence[object]) -> dict[str, torch.Tensor]:
    """Training-video name -> its clean reference background ``(H, W) float16`` in [0, 1] (full resolution), as
    saved in low-res checkpoints: what :class:`tganaug.models.tgan.TGAN` renders on, cropped, when a video is
    given no background. ``videos``: :class:`tganaug.training.data.VideoData`; a repeated name gets ``#k`` (its
    position) appended."""
    out: dict[str, torch.Tensor] = {}
    for k, video in enumerate(videos):
        name = video.name if video.name not in out else f"{video.name}#{k}"  # type: ignore[attr-defined]
        frames = ((video.images.detach().cpu().float() + 1) / 2).numpy()  # type: ignore[attr-defined]
        cells = video.masks.detach().cpu().numpy() > 0.5  # type: ignore[attr-defined]
        out[name] = torch.from_numpy(clean_background(frames, cells)).half()
    return out


