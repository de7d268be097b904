"""The background a tGAN renders a video given no background on, prepared from a stored clean reference.

A stored reference (the cleaned background of a training video, made when a model is trained) keeps cell-sized
remnants (far halos of bright or dividing cells) and smooth filled gaps where cells sat; the generator turns both
into nuclei without a mask. :func:`reference_for_rendering` removes the remnants and gives the gaps the grain of the
measured background. The filling helpers are shared with the cleaning (training imports them from here).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["fill_gaps", "quadratic_trend", "reference_for_rendering", "remove_remnants", "restore_grain", "smooth", "smooth_with_weight"]


def smooth_with_weight(values: np.ndarray, keep: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Gaussian convolution of ``values`` over the ``keep`` pixels, evaluated everywhere, and its weight
    (the Gaussian-smoothed ``keep`` fraction: how much kept data reaches each pixel)."""
    den = ndimage.gaussian_filter(keep.astype(np.float64), sigma, mode="reflect")
    num = ndimage.gaussian_filter(np.where(keep, values, 0.0).astype(np.float64), sigma, mode="reflect")
    return num / np.maximum(den, 1e-6), den


def smooth(values: np.ndarray, keep: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian convolution of ``values`` over the ``keep`` pixels, evaluated everywhere."""
    return smooth_with_weight(values, keep, sigma)[0]


def quadratic_trend(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Least-squares quadratic surface in (y, x) through the ``keep`` pixels of ``image``: the slow illumination field."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float64)
    yy, xx = yy / max(image.shape[0], 1), xx / max(image.shape[1], 1)
    basis = np.stack([np.ones_like(yy), yy, xx, yy * yy, yy * xx, xx * xx], axis=-1)
    coefficients, *_ = np.linalg.lstsq(basis[keep], image[keep].astype(np.float64), rcond=None)
    return basis @ coefficients


def fill_gaps(values: np.ndarray, keep: np.ndarray, scales: Sequence[float] = (4, 8, 16, 32, 64, 128, 256)) -> np.ndarray:
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
        smooth, weight = smooth_with_weight(values, keep, sigma)
        reach = todo & (weight > 0.05)
        out[reach] = smooth[reach]
    out[np.isnan(out)] = float(np.median(values[keep]))
    return out.astype(np.float32)


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
    flat = image - quadratic_trend(image, np.ones(image.shape, bool))  # an illumination slope is no band-pass edge
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
    return np.clip(fill_gaps(image, keep), 0.0, 1.0)


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
