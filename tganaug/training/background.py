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


def _smooth_with_weight(values: np.ndarray, keep: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Gaussian convolution of ``values`` over the ``keep`` pixels, evaluated everywhere, and its weight
    (the Gaussian-smoothed ``keep`` fraction: how much kept data reaches each pixel)."""
    den = ndimage.gaussian_filter(keep.astype(np.float64), sigma, mode="reflect")
    num = ndimage.gaussian_filter(np.where(keep, values, 0.0).astype(np.float64), sigma, mode="reflect")
    return num / np.maximum(den, 1e-6), den


def _smooth(values: np.ndarray, keep: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian convolution of ``values`` over the ``keep`` pixels, evaluated everywhere."""
    return _smooth_with_weight(values, keep, sigma)[0]


def _quadratic_trend(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Least-squares quadratic surface in (y, x) through the ``keep`` pixels of ``image``: the slow illumination field."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float64)
    yy, xx = yy / max(image.shape[0], 1), xx / max(image.shape[1], 1)
    basis = np.stack([np.ones_like(yy), yy, xx, yy * yy, yy * xx, xx * xx], axis=-1)
    coefficients, *_ = np.linalg.lstsq(basis[keep], image[keep].astype(np.float64), rcond=None)
    return basis @ coefficients


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
    residual = video - _quadratic_trend(fit_median, seen)[None]
    cut = far if (distances > far).mean() >= 0.1 else float(np.percentile(distances[finite], 90))
    level = float(np.median(residual[distances > cut]))
    extent, lower = 0.0, 0.0
    for upper in (b for b in _EXTENT_BINS if b <= far):
        ring = (distances > lower) & (distances <= upper)
        if ring.any() and abs(float(np.median(residual[ring])) - level) > tolerance:
            extent = upper  # not settled yet at this distance
        lower = upper
    return float(extent)


def _fill(values: np.ndarray, keep: np.ndarray, scales: Sequence[float] = (4, 8, 16, 32, 64, 128, 256)) -> np.ndarray:
    """``values`` where ``keep``; elsewhere normalised Gaussian convolution of the kept pixels, at the smallest
    scale that reaches the pixel (so small gaps get local values, big ones a smooth interpolation)."""
    # skimage.restoration.inpaint_biharmonic solves one sparse system over every gap pixel: minutes for the
    # colony-sized gaps of the E. coli data; this is seconds and smooth enough for a background
    if keep.all():
        return values.astype(np.float32)
    if not keep.any():
        return np.full(values.shape, float(np.median(values)), np.float32)
    out = np.where(keep, values, np.nan).astype(np.float64)
    for sigma in scales:
        todo = np.isnan(out)
        if not todo.any():
            break
        smooth, weight = _smooth_with_weight(values, keep, sigma)
        reach = todo & (weight > 0.05)
        out[reach] = smooth[reach]
    out[np.isnan(out)] = float(np.median(values[keep]))
    return out.astype(np.float32)


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
    residual = median - _smooth(np.nan_to_num(median), keep, 16.0)
    spread = 1.4826 * float(np.median(np.abs(residual[keep]))) + 1e-6
    remnants = keep & (np.abs(residual) > outlier * spread)
    if remnants.any():
        keep &= ~ndimage.binary_dilation(remnants, iterations=max(1, round(extent)))
    return np.clip(_fill(np.nan_to_num(median), keep), 0.0, 1.0)


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


def remove_remnants(background: np.ndarray, *, sigma: float = 3.0, context: float = 24.0, outlier: float = 5.0) -> np.ndarray:
    """A reference background without cell-sized remnants: what a tGAN renders a video given no background on.

    Ghosts a cleaning leaves (the far halo of a bright or dividing cell, a cell seen in too few frames to be
    masked out) are bumps of a few hundredths of the intensity range, yet the generator turns them into
    nuclei that have no mask. They are found in the band-pass ``gaussian(sigma) - gaussian(context)`` (cell
    scale, px; of the image less its quadratic illumination trend): pixels deviating from its median by more
    than ``outlier`` robust s.d. (1.4826 x MAD, taken over the textured pixels, since filled gaps are smooth)
    and by more than 1e-3, grown by ``context / 2`` px and filled from the rest as in :func:`clean_background`
    (step 4). Everything else keeps its value.

    ``background (h, w)`` float in [0, 1]; returns ``(h, w) float32`` in [0, 1] (the input values where
    nothing was found).
    """
    image = np.asarray(background, dtype=np.float64)
    if image.ndim != 2 or 0 in image.shape or not np.isfinite(image).all():
        raise ValueError(f"background must be a finite non-empty (h, w) array, got shape {image.shape}")
    if not 0 < sigma < context or outlier <= 0:
        raise ValueError(f"need 0 < sigma < context and outlier > 0, got sigma={sigma}, context={context}, outlier={outlier}")
    flat = image - _quadratic_trend(image, np.ones(image.shape, bool))  # an illumination slope is no band-pass edge
    band = ndimage.gaussian_filter(flat, sigma, mode="reflect") - ndimage.gaussian_filter(flat, context, mode="reflect")
    detail = image - ndimage.gaussian_filter(image, 1.0, mode="reflect")
    texture = np.sqrt(ndimage.gaussian_filter(detail**2, sigma, mode="reflect"))
    textured = texture > 0.25 * np.median(texture)
    values = band[textured] if textured.any() else band.ravel()
    centre = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - centre)))
    # at least 1e-3 above the band's median: float16 steps of the stored references are up to 5e-4
    remnants = np.abs(band - centre) > max(outlier * spread, 1e-3)
    if not remnants.any():
        return image.astype(np.float32)
    keep = ~ndimage.binary_dilation(remnants, iterations=max(1, round(context / 2)))
    return np.clip(_fill(image, keep), 0.0, 1.0)


def _texture(image: np.ndarray, sigma: float) -> np.ndarray:
    """Local r.m.s. of the finest detail (``image - gaussian(1)``) in a ``sigma``-px Gaussian window."""
    detail = image - ndimage.gaussian_filter(image, 1.0, mode="reflect")
    return np.sqrt(ndimage.gaussian_filter(detail**2, sigma, mode="reflect"))


def restore_grain(background: np.ndarray, *, plain: float = 0.25, scale: float = 2.0, shifts: int = 16) -> np.ndarray:
    """Give the filled gaps of a reference background the grain of the measured background.

    The gaps :func:`clean_background` and :func:`remove_remnants` fill (where training cells sat) are
    smooth, while the measured background around them keeps the residual noise of a temporal median:
    a cell-sized patch without that grain is where the generator puts a faint nucleus without a mask.
    Pixels whose local detail (r.m.s. of ``image - gaussian(1)`` in a 1.5-px window) is below ``plain``
    x its median get the fine residual (``image - gaussian(scale)``) of measured pixels elsewhere, taken
    by up to ``shifts`` fixed cyclic shifts of the image (no random numbers: the same input, the same
    output). A background whose median detail is under 1e-4 (no grain: synthetic, flat, a ramp) is returned
    as it is. ``background (h, w)`` float in [0, 1]; returns ``(h, w) float32`` in [0, 1]; the measured
    pixels keep their values.
    """
    image = np.asarray(background, dtype=np.float64)
    if image.ndim != 2 or 0 in image.shape or not np.isfinite(image).all():
        raise ValueError(f"background must be a finite non-empty (h, w) array, got shape {image.shape}")
    texture = _texture(image, 1.5)
    level = float(np.median(texture))
    todo = texture < plain * level
    measured = ~todo
    if level < 1e-4 or not todo.any() or not measured.any():
        return image.astype(np.float32)  # no grain anywhere (a synthetic, flat or ramp reference), or no gap
    residual = image - ndimage.gaussian_filter(image, scale, mode="reflect")
    grain = np.zeros_like(image)
    height, width = image.shape
    for k in range(1, shifts + 1):
        shift = ((k * (height // 2 + 7)) % height, (k * (width // 3 + 11)) % width)
        take = todo & np.roll(measured, shift, axis=(0, 1))
        grain[take] = np.roll(residual, shift, axis=(0, 1))[take]
        todo &= ~take
        if not todo.any():
            break
    return np.clip(image + np.where(texture < plain * level, grain, 0.0), 0.0, 1.0).astype(np.float32)


def reference_for_rendering(background: np.ndarray) -> np.ndarray:
    """What a tGAN renders a video given no background on, from a stored clean reference ``(h, w)`` float in [0, 1]:
    :func:`restore_grain` of :func:`remove_remnants`. ``(h, w) float32`` in [0, 1]."""
    return restore_grain(remove_remnants(background))

