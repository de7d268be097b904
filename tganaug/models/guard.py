"""The background guard: away from every mask, a generated frame shows the background it was rendered on.

The masks are the annotation, so nothing cell-like may appear where there is no mask. The tGAN networks draw soft
grey patches in the gaps between neighbouring cells (phase-contrast; ``benchmarks/results/unlabelled_objects.md``)
and faint glows near dense nuclei, which a segmenter finds as cells without a label. :func:`guard_background` keeps
the frame as rendered within ``inner`` px of a mask and, beyond ``2 * inner`` px, rebuilds its cell-scale structure
(blending in between):

* the reference background it was rendered on (smoothed at ``grain_sigma``),
* moved to the frame's own level (a smooth offset at ``level_sigma``, measured ``profile_px`` or more from the masks,
  past the halos, where the frame has room),
* plus the mean of what the frame shows at each distance from the masks (the halo of phase-contrast cells, the glow of
  nuclei: a function of the distance alone, so kept; a patch in one gap is not),
* plus the frame's own grain (what the ``grain_sigma`` smoothing removes).

Nothing is changed within ``inner`` px of a mask.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from tganaug.models.reference import smooth_with_weight

__all__ = ["DEFAULT_GUARD_PX", "guard_background", "guard_weight"]

#: default ``inner`` distance in px: the frame is kept as rendered within this distance of a mask
DEFAULT_GUARD_PX = 2
#: block size the level offset is measured at (it varies on the ``level_sigma`` scale: 32 px)
_LEVEL_BLOCK = 8
#: fewest pixels beyond ``profile_px`` to measure the level on (else on every pixel the guard changes)
_MIN_LEVEL_PIXELS = 1024
#: 1-px distance bins of the mean halo profile; the last one holds every farther pixel
_PROFILE_BINS = 96


def guard_weight(cells: np.ndarray, inner: float) -> tuple[np.ndarray, np.ndarray]:
    """The blend weight and the distance of a frame's pixels to its masks ``cells (H, W) bool``: ``(H, W) float32``
    weight, 1 within ``inner`` px of a mask, 0 beyond ``2 * inner`` px, a smoothstep of the Euclidean distance in
    between (all 0 without cells); ``(H, W) float64`` distance in px (``inf`` without cells)."""
    if not cells.any():
        return np.zeros(cells.shape, np.float32), np.full(cells.shape, np.inf)
    distance = ndimage.distance_transform_edt(~cells)
    ramp = np.clip((2.0 * inner - distance) / inner, 0.0, 1.0).astype(np.float32)
    return ramp * ramp * (3.0 - 2.0 * ramp), distance


@functools.lru_cache(maxsize=16)
def _linear_taps(size: int, blocks: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation from ``blocks`` block centres to ``size`` pixel centres (clamped at the ends): per pixel
    the lower block index ``(size,) intp`` and the weight of the upper one ``(size, 1) float32``."""
    position = np.clip((np.arange(size) + 0.5) / block - 0.5, 0, blocks - 1)
    low = np.minimum(np.floor(position).astype(np.intp), max(blocks - 2, 0))
    return low, (position - low).astype(np.float32)[:, None]


def _upsample(coarse: np.ndarray, height: int, width: int, block: int) -> np.ndarray:
    """Bilinear up-sampling of a ``(h, w)`` block grid to ``(height, width) float32`` by gathers and weighted sums
    (a BLAS matrix product here is slower: its threads fight the DataLoader workers for the cores)."""
    rows, row_weight = _linear_taps(height, coarse.shape[0], block)
    columns, column_weight = _linear_taps(width, coarse.shape[1], block)
    upper_row = np.minimum(rows + 1, coarse.shape[0] - 1)
    upper_column = np.minimum(columns + 1, coarse.shape[1] - 1)
    by_row = coarse[rows] * (1 - row_weight) + coarse[upper_row] * row_weight  # (height, w)
    return by_row[:, columns] * (1 - column_weight.T) + by_row[:, upper_column] * column_weight.T


def _level_offset(difference: np.ndarray, keep: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian convolution of ``difference`` over the ``keep`` pixels at ``sigma`` px, computed on
    ``_LEVEL_BLOCK``-px block means and interpolated back (linear): ``(H, W) float32``. Where no kept pixel is
    near, the median difference over all kept pixels."""
    height, width = difference.shape
    block = max(1, min(_LEVEL_BLOCK, height // 4, width // 4))
    pad_h, pad_w = (-height) % block, (-width) % block
    weights = keep.astype(np.float32)
    values, weights = (np.pad(a, ((0, pad_h), (0, pad_w)), mode="edge") for a in (difference * weights, weights))
    shape = (values.shape[0] // block, block, values.shape[1] // block, block)
    counts = weights.reshape(shape).sum(axis=(1, 3))
    block_mean = values.reshape(shape).sum(axis=(1, 3)) / np.maximum(counts, 1e-9)
    level, reach = smooth_with_weight(block_mean, counts > 0, sigma / block)
    unreached = reach <= 1e-3
    if unreached.any():
        level[unreached] = float(np.median(difference[keep]))
    level = level.astype(np.float32)
    return _upsample(level, height, width, block)


def guard_background(frame: np.ndarray, cells: np.ndarray, background: np.ndarray, inner: float = DEFAULT_GUARD_PX, *,
                     grain_sigma: float = 2.0, level_sigma: float = 32.0, profile_px: float = 32.0) -> np.ndarray:
    """Guard one generated frame (module docstring).

    Args:
        frame: ``(H, W) float32`` in [0, 1], the generated frame.
        cells: ``(H, W) bool``, True on every mask pixel of the frame.
        background: ``(H, W)`` float in [0, 1], the reference background the frame was rendered on.
        inner: px from a mask within which the frame is kept as rendered (blend out to ``2 * inner``); > 0.
        grain_sigma: px of the smoothing that splits cell-scale structure from the frame's grain.
        level_sigma: px scale of the offset between the frame's background level and the reference's.
        profile_px: px from the masks beyond which the level is measured (past the halos), where there is room.

    Returns:
        ``(H, W) float32`` in [0, 1]; equal to ``frame`` within ``inner`` px of a mask.
    """
    if not inner > 0:
        raise ValueError(f"the guard distance must be > 0 px, got {inner!r}")
    if frame.shape != cells.shape or frame.shape != background.shape:
        raise ValueError(f"frame {frame.shape}, cells {cells.shape} and background {background.shape} must have one shape")
    weight, distance = guard_weight(cells, inner)
    away = weight < 1.0
    if not away.any():
        return frame
    frame = np.asarray(frame, np.float32)
    difference = frame - np.asarray(background, np.float32)
    # the level: measured beyond the halos where there is room, else on every pixel the guard changes
    beyond = distance > profile_px
    offset = _level_offset(difference, beyond if beyond.sum() >= _MIN_LEVEL_PIXELS else away, level_sigma)
    residual = ndimage.gaussian_filter(difference, grain_sigma) - offset  # the frame's structure off the reference
    # what every cell casts around it (a halo, a glow) is the mean residual at its distance: kept
    bins = np.minimum(distance, _PROFILE_BINS - 1).astype(np.intp)
    counts = np.bincount(bins[away], minlength=_PROFILE_BINS)
    profile = (np.bincount(bins[away], residual[away], minlength=_PROFILE_BINS) / np.maximum(counts, 1)).astype(np.float32)
    change = (1.0 - weight) * (profile[bins] - residual)
    return np.clip(frame + change, 0.0, 1.0).astype(np.float32, copy=False)
