"""``threshold``: classical segmentation (Gaussian smoothing, Otsu threshold, distance-transform watershed).

Per frame: smooth with a Gaussian (``sigma`` pixels), threshold (Otsu's threshold of the smoothed
frame unless ``threshold`` is given; ``invert`` for dark cells on a bright background), fill holes,
drop objects smaller than ``min_size``, then split touching cells by a watershed on the negative
distance transform seeded at its local maxima (``min_distance`` apart). Output labels are
per-frame instances (not tracked). All steps are scikit-image / scipy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation
from skimage.feature import peak_local_max

from tganaug.hookspecs import hookimpl
from tganaug.utils.config import ConfigMixin

__all__ = ["ThresholdConfig", "ThresholdSegmenter", "tganaug_segmenters"]


@dataclass
class ThresholdConfig(ConfigMixin):
    """Settings of :class:`ThresholdSegmenter`.

    Attributes:
        sigma: Gaussian smoothing in pixels (0 disables).
        threshold: fixed threshold on the smoothed frame (in its intensity units); ``None`` = Otsu per frame.
        invert: foreground is darker than background (e.g. phase contrast).
        min_size: smallest object kept, pixels.
        watershed: split touching objects with a distance-transform watershed.
        min_distance: smallest distance (pixels) between watershed seeds.
    """

    sigma: float = 2.0
    threshold: float | None = None
    invert: bool = False
    min_size: int = 30
    watershed: bool = True
    min_distance: int = 7

    def __post_init__(self) -> None:
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        if self.min_size < 0 or self.min_distance < 1:
            raise ValueError("min_size must be >= 0 and min_distance >= 1")


def _drop_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Remove instances smaller than ``min_size`` pixels and number the rest 1..n.

    (``skimage.morphology.remove_small_objects`` changed its size argument in 0.26; this stays
    the same across the scikit-image versions the project allows.)
    """
    if min_size > 1:
        areas = np.bincount(labels.ravel())
        small = np.nonzero(areas < min_size)[0]
        labels = np.where(np.isin(labels, small), 0, labels)
    return segmentation.relabel_sequential(labels)[0]


class ThresholdSegmenter:
    """Smoothing + threshold + watershed segmenter (see module doc)."""

    name = "threshold"

    def __init__(self, **config: object) -> None:
        self.config = ThresholdConfig.from_dict(config)

    def segment_frame(self, image: np.ndarray) -> np.ndarray:
        """Instance labels ``(H, W) uint16`` of one ``(H, W)`` frame of any real dtype."""
        cfg = self.config
        smooth = image.astype(np.float64)
        if cfg.sigma > 0:
            smooth = filters.gaussian(smooth, sigma=cfg.sigma, preserve_range=True)
        if cfg.threshold is not None:
            level = float(cfg.threshold)
        elif np.ptp(smooth) == 0:
            return np.zeros(image.shape, dtype=np.uint16)  # a flat frame has no objects
        else:
            level = float(filters.threshold_otsu(smooth))
        mask = smooth < level if cfg.invert else smooth > level
        mask = ndi.binary_fill_holes(mask)
        if not cfg.watershed:
            labels = measure.label(mask)
        else:
            distance = ndi.distance_transform_edt(mask)
            components = measure.label(mask)
            peaks = peak_local_max(distance, min_distance=cfg.min_distance, labels=components, exclude_border=False)
            markers = np.zeros(mask.shape, dtype=np.int32)
            markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
            labels = segmentation.watershed(-distance, markers, mask=mask)
            # a component without a seed (e.g. a thin object) keeps its own label
            unseeded = mask & (labels == 0)
            if unseeded.any():
                extra = measure.label(unseeded)
                labels = np.where(unseeded, extra + labels.max(), labels)
        labels = _drop_small(labels, cfg.min_size)
        if labels.max() > np.iinfo(np.uint16).max:
            raise ValueError(f"{labels.max()} objects in one frame do not fit uint16 labels")
        return labels.astype(np.uint16)

    def segment(self, images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Per-frame instance labels ``(T, H, W) uint16`` of a ``(T, H, W)`` image video (any real dtype);
        ``progress(t)`` is called after each frame."""
        images = np.asarray(images)
        if images.ndim != 3:
            raise ValueError(f"images must be a (T, H, W) video, got shape {images.shape}")
        if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
            raise ValueError(f"images is an empty video (shape {images.shape})")
        if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating) or images.dtype == bool):
            raise TypeError(f"images must have a real numeric dtype, got {images.dtype}")
        if np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images)):
            raise ValueError("images contain NaN or Inf values")
        labels = []
        for t, frame in enumerate(images):
            labels.append(self.segment_frame(frame))
            if progress is not None:
                progress(t)
        return np.stack(labels)


@hookimpl
def tganaug_segmenters() -> dict[str, type]:
    """Register ``threshold``."""
    return {"threshold": ThresholdSegmenter}
