"""Fitting the procedural renderer to real frames: every :class:`~tganaug.procedural.config.ProceduralConfig`
field estimated from normalised images and their labels, and a shared background reference."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.procedural.halo import cell_edges, halo_map

__all__ = ["estimate_background", "estimate_config"]


def _smooth_background(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the local mean of ``image`` over ``mask`` pixels, filled everywhere."""
    weight = ndimage.gaussian_filter(mask.astype(np.float32), sigma)
    value = ndimage.gaussian_filter(np.where(mask, image, 0).astype(np.float32), sigma)
    fallback = float(image[mask].mean()) if mask.any() else float(image.mean())
    return np.where(weight > 1e-3, value / np.maximum(weight, 1e-3), fallback).astype(np.float32)


def estimate_background(images: np.ndarray, labels: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """A ``(H, W) float32`` background reference from normalised frames and their labels.

    Per frame, the smooth local mean of pixels at least 4 px away from any cell (normalised
    convolution, Gaussian ``sigma``), then the median over frames. Used as the shared background
    when a benchmark renders real masks ("same background" for every generator).
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.shape != labels.shape or images.ndim != 3:
        raise ValueError(f"images {images.shape} and labels {labels.shape} must both be (T, H, W)")
    per_frame = [
        _smooth_background(image, ~ndimage.binary_dilation(lab > 0, iterations=4), sigma) for image, lab in zip(images, labels)
    ]
    return np.median(np.stack(per_frame), axis=0).astype(np.float32)


def estimate_config(images: np.ndarray, labels: np.ndarray, blur_grid: Iterable[float] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)) -> dict[str, Any]:
    """Estimate :class:`ProceduralConfig` fields from normalised ``(T, H, W)`` frames in [0, 1] and labels.

    - background level: median of pixels >= 4 px from any cell; background sd: spatial sd of
      their smooth local mean (normalised convolution, sigma 8 px).
    - cell mean / sd: mean and sd over tracks of each track's mean intensity.
    - noise sd: robust (MAD) sd of ``(I_t - I_{t+1}) / sqrt(2)`` on background pixels of both frames
      (a static background cancels; one frame's high-pass residual when T = 1).
    - texture sd: within-cell sd (eroded interiors, minus each cell's mean) with the noise removed.
    - blur sigma and rim: least squares over ``blur_grid``: for each sigma, the residual of the
      blurred piecewise-constant image (smooth background + cell means) is fitted with the blurred
      halo; the sigma with the smallest error wins, and its halo amplitude is ``rim_intensity``
      (``rim`` is on when that amplitude exceeds 0.02, i.e. 2 % of the range).
    Returns a dict of :class:`ProceduralConfig` fields.
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels).astype(np.intp)
    if images.shape != labels.shape or images.ndim != 3:
        raise ValueError(f"images {images.shape} and labels {labels.shape} must both be (T, H, W)")
    if not (labels > 0).any():
        raise ValueError("no labelled cells in the frames: cannot estimate cell intensities")
    far_bg = np.stack([~ndimage.binary_dilation(lab > 0, iterations=4) for lab in labels])
    if not far_bg.any():
        raise ValueError("no background pixels (>= 4 px from any cell) in the frames")
    smooth = np.stack([_smooth_background(im, m, 8.0) for im, m in zip(images, far_bg)])
    background_level = float(np.median(images[far_bg]))
    background_sd = float(smooth[far_bg].std())

    # noise from temporal differences of background pixels (static background cancels)
    if len(images) > 1:
        both = far_bg[1:] & far_bg[:-1]
        diff = (images[1:] - images[:-1])[both] / math.sqrt(2)
    else:
        diff = (images[0] - ndimage.gaussian_filter(images[0], 2.0))[far_bg[0]]
    noise_sd = float(1.4826 * np.median(np.abs(diff - np.median(diff)))) if diff.size else 0.0

    # per-track intensity (mean over its frames of per-frame means)
    n_ids = int(labels.max()) + 1
    sums = np.zeros(n_ids)
    counts = np.zeros(n_ids)
    ideal = np.empty_like(images)
    within: list[np.ndarray] = []
    for t, (image, lab) in enumerate(zip(images, labels)):
        # Cell means from interiors >= 2 px from any edge (blur pulls edge pixels to the neighbours),
        # from the whole cell when it has no interior.
        interior = ndimage.binary_erosion(cell_edges(lab) == 0, iterations=2, border_value=1) & (lab > 0)
        c = np.bincount(lab.ravel(), minlength=n_ids).astype(float)
        s = np.bincount(lab.ravel(), weights=image.ravel(), minlength=n_ids)
        ci = np.bincount(lab[interior], minlength=n_ids).astype(float)
        si = np.bincount(lab[interior], weights=image[interior], minlength=n_ids)
        frame_mean = np.where(ci > 0, si / np.maximum(ci, 1), s / np.maximum(c, 1))
        present = c > 0
        present[0] = False
        sums[present] += frame_mean[present]
        counts[present] += 1
        ideal[t] = np.where(lab > 0, frame_mean[lab], smooth[t])
        within.append((image - frame_mean[lab])[interior])
    track_means = sums[counts > 0] / counts[counts > 0]
    cell_mean = float(np.clip(track_means.mean(), 0.0, 1.0))
    cell_sd = float(track_means.std()) if track_means.size > 1 else 0.0
    within_all = np.concatenate(within) if within else np.zeros(0)
    texture_sd = float(math.sqrt(max(float(within_all.var()) - noise_sd**2, 0.0))) if within_all.size else 0.0

    # blur and halo: least squares around cell edges
    rim_width = 2.0
    band = np.stack([ndimage.binary_dilation(cell_edges(lab) > 0, iterations=4) for lab in labels])
    halos = np.stack([halo_map(lab, rim_width) for lab in labels])
    best: tuple[float, float, float] | None = None  # (error, sigma, rim)
    for sigma in blur_grid:
        if sigma > 0:
            pred = np.stack([ndimage.gaussian_filter(f, sigma) for f in ideal])
            halo = np.stack([ndimage.gaussian_filter(h, sigma) for h in halos])
        else:
            pred, halo = ideal, halos
        r = (images - pred)[band]
        h = halo[band]
        amp = float(max((r * h).sum() / max(float((h * h).sum()), 1e-12), 0.0))
        err = float(((r - amp * h) ** 2).mean())
        if best is None or err < best[0]:
            best = (err, float(sigma), amp)
    assert best is not None
    _, blur_sigma, rim_amp = best
    return {
        "background_level": float(np.clip(background_level, 0.0, 1.0)),
        "background_sd": background_sd,
        "cell_mean": cell_mean,
        "cell_sd": cell_sd,
        "texture_sd": texture_sd,
        "rim": bool(rim_amp > 0.02),
        "rim_intensity": float(rim_amp),
        "rim_width": rim_width,
        "blur_sigma": blur_sigma,
        "noise_sd": noise_sd,
    }
