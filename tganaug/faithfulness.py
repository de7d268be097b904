"""Annotation faithfulness of a generated video: no cell-like object without a mask, no mask without a cell.

The masks a video is generated from are its annotation, so every object a segmenter finds in a
generated frame should lie on a mask, and every mask should show a visible cell. Per frame:

* **unlabelled objects**: detections of a segmenter that match no mask and stand out from their
  surroundings as a visible mask must (contrast at least ``min_contrast``, below). A detection matches
  when more than half of a mask is covered by it (the CTC DET criterion, which also holds for shrunken
  marker masks inside a larger rendered cell) or when more than half of its own pixels lie on masks.
  Detections matching no mask with a lower contrast (``faint``: a dip of the background texture or
  shading, no distinct object) are counted apart. With the real frame of the same masks, the same count
  on it is subtracted (``excess``): objects the annotation of the real data lacks as well (unannotated
  cells, debris) are not the generator's.
* **invisible masks**: masks that no detection covers by more than half, or whose contrast is below
  ``min_contrast``. The contrast of a mask is ``|mean inside - mean of its ring| / sigma``: the ring
  is the background (off every mask) within ``ring`` px of it, ``sigma`` the robust s.d. (1.4826 x
  MAD) of the frame's background pixels farther than ``ring`` px from every mask. Below 1 the cell
  differs from its surroundings by less than the pixel-to-pixel spread of the background, where a
  threshold halfway between the two misclassifies about a third of the pixels (normal tails beyond
  0.5 sigma): it no longer reads as a distinct object.

Segmenter: by default the ``threshold`` segmenter with settings derived from the video and its masks
(:func:`threshold_settings`: threshold a fraction ``level`` of the way from the median background to
the median cell intensity, dark cells when the cells are darker, smoothing, smallest object and seed
distance from the mask sizes), on the frames less their local background (:func:`flatten_background`,
``local_background`` median mask radii; ``None``: one level for the whole frame), or any object with
``segment_frame(image) -> (H, W) labels`` (e.g. ``tganaug.get_segmenter("unet", ...)``).

Why the local background and the contrast of unlabelled detections: on real phase-contrast frames with
their own dense annotation (PhC-Ecoli-vanVliet 01, train frames t000-t028, every 4th) one threshold for
the whole frame found 17.8 objects without a mask per frame, nearly all of them the darker shading of the
background around the colony (up to 39,000 px, contrast under 1 s.d.); less the local background 3.1, and of
those 0.75 with a contrast of at least 1 (a dust speck the annotation leaves out). The fluorescence
frames of ``Fluo-N2DH-SIM+`` 01 and ``Fluo-N2DH-GOWT1`` 01 (full outlines) score 0 either way
(``benchmarks/results/unlabelled_objects.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.tracking.matching import frame_overlap

__all__ = ["FrameFaithfulness", "Faithfulness", "annotation_faithfulness", "detection_contrast", "flatten_background", "frame_faithfulness",
           "mask_contrast", "threshold_settings"]


@dataclass(frozen=True)
class FrameFaithfulness:
    """One frame's counts (see the module docstring).

    Attributes:
        unlabelled: detections matching no mask, with a contrast of at least ``min_contrast``.
        unlabelled_centroids: ``(unlabelled, 2) float64`` (row, col) of those detections.
        invisible: masks with no covering detection or a contrast below the threshold.
        undetected: masks with no covering detection (a subset of ``invisible``).
        masks: masks in the frame.
        detections: detections in the frame.
        faint: detections matching no mask with a contrast below ``min_contrast`` (not in ``unlabelled``).
    """

    unlabelled: int
    unlabelled_centroids: np.ndarray
    invisible: int
    undetected: int
    masks: int
    detections: int
    faint: int = 0


@dataclass(frozen=True)
class Faithfulness:
    """Per-frame values of a video ``(T,)`` and their means.

    Attributes:
        unlabelled: ``(T,) int64`` unlabelled objects in each generated frame.
        unlabelled_real: ``(T,) int64`` the same on the real frames, or ``None`` without real frames.
        excess: ``(T,) int64`` ``unlabelled - unlabelled_real`` (``unlabelled`` without real frames).
        invisible: ``(T,) int64`` invisible masks in each generated frame.
        masks: ``(T,) int64`` masks in each frame.
        frames: the per-frame details of the generated frames.
        settings: the threshold segmenter settings used (``{}`` with a given segmenter), on the frames less their
            local background when ``local_background`` is set.
        faint: ``(T,) int64`` detections matching no mask too faint to count (:class:`FrameFaithfulness`).
    """

    unlabelled: np.ndarray
    unlabelled_real: np.ndarray | None
    excess: np.ndarray
    invisible: np.ndarray
    masks: np.ndarray
    frames: tuple[FrameFaithfulness, ...]
    settings: dict[str, Any]
    faint: np.ndarray | None = None

    @property
    def mean_unlabelled(self) -> float:
        """Mean unlabelled objects per generated frame."""
        return float(self.unlabelled.mean())

    @property
    def mean_excess(self) -> float:
        """Mean unlabelled objects per frame beyond those of the real frames."""
        return float(self.excess.mean())

    @property
    def mean_invisible(self) -> float:
        """Mean invisible masks per frame."""
        return float(self.invisible.mean())

    @property
    def invisible_fraction(self) -> float:
        """Invisible masks over all masks (0 when there are none)."""
        total = int(self.masks.sum())
        return float(self.invisible.sum() / total) if total else 0.0

    def summary(self) -> dict[str, float]:
        """The means as a flat dict (for a report row)."""
        out = {"unlabelled": self.mean_unlabelled, "excess": self.mean_excess, "invisible": self.mean_invisible,
               "invisible_fraction": self.invisible_fraction}
        if self.unlabelled_real is not None:
            out["unlabelled_real"] = float(self.unlabelled_real.mean())
        return out


def _check_video(video: object, name: str) -> np.ndarray:
    array = np.asarray(video)
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty (T, H, W) video, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must be a real array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_labels(labels: object, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(labels)
    if array.shape != shape:
        raise ValueError(f"labels {array.shape} must have the video's shape {shape}")
    if not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
        raise ValueError("labels must be non-negative integer instance labels (0 = background)")
    return array


def threshold_settings(video: np.ndarray, labels: np.ndarray, level: float = 0.5) -> dict[str, Any]:
    """``threshold`` segmenter settings for a ``(T, H, W)`` video from its ``(T, H, W)`` instance labels.

    ``threshold``: ``level`` of the way from the median background (pixels more than 3 px from every
    mask) to the median cell intensity; ``invert`` when the cells are darker; ``sigma``, ``min_size``
    and ``min_distance`` from the median mask's equivalent radius ``r``: ``max(1, r / 6)``,
    ``max(8, area / 4)`` and ``max(3, r)``. ``ValueError`` when the labels hold no mask or no background.
    """
    video = _check_video(video, "video")
    labels = _check_labels(labels, video.shape)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    cells = labels > 0
    if not cells.any():
        raise ValueError("the labels hold no mask: pass the threshold segmenter settings or a segmenter")
    background = np.stack([ndimage.binary_erosion(~frame, iterations=3, border_value=1) for frame in cells])
    if not background.any():
        raise ValueError("the labels leave no background more than 3 px from the masks")
    inside = float(np.median(video[cells]))
    outside = float(np.median(video[background]))
    areas = np.concatenate([np.bincount(frame.ravel())[1:] for frame in labels])
    area = float(np.median(areas[areas > 0]))
    radius = float(np.sqrt(area / np.pi))
    return {"sigma": max(1.0, radius / 6), "threshold": outside + level * (inside - outside), "invert": inside < outside,
            "min_size": int(max(8, area / 4)), "min_distance": int(max(3, round(radius))), "watershed": True}


def _background_sigma(image: np.ndarray, cells: np.ndarray, ring: int) -> float:
    """Robust s.d. (1.4826 x MAD) of the pixels farther than ``ring`` px from every mask (all off-mask pixels when
    there are none), at least 1e-6."""
    far = ndimage.binary_erosion(~cells, iterations=ring, border_value=1)
    values = image[far] if far.any() else image[~cells]
    sigma = 1.4826 * float(np.median(np.abs(values - np.median(values)))) if values.size else 0.0
    return max(sigma, 1e-6)


def _median_radius(labels: np.ndarray) -> float:
    """Equivalent radius (px) of the median mask area of ``(T, H, W)`` labels (0 without masks)."""
    areas = np.concatenate([np.bincount(frame.ravel())[1:] for frame in labels.astype(np.int64)])
    areas = areas[areas > 0]
    return float(np.sqrt(np.median(areas) / np.pi)) if areas.size else 0.0


def _smooth_coarse(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian convolution (``sigma`` px) of ``values`` with pixel weights ``weight`` in {0, 1}, computed
    on a grid ``f = sigma // 4`` times coarser (block sums) and interpolated back bilinearly: a smooth field, at a
    cost that does not grow with ``sigma``."""
    factor = max(1, int(sigma // 4))
    height, width = values.shape
    pad = ((0, (-height) % factor), (0, (-width) % factor))
    num = np.pad(values * weight, pad).reshape(-1, factor, (width + pad[1][1]) // factor, factor).sum(axis=(1, 3))
    den = np.pad(weight, pad).reshape(num.shape[0], factor, num.shape[1], factor).sum(axis=(1, 3))
    num = ndimage.gaussian_filter(num, sigma / factor, mode="reflect")
    den = ndimage.gaussian_filter(den, sigma / factor, mode="reflect")
    coarse = num / np.maximum(den, 1e-6 * factor**2)
    if factor == 1:
        return coarse
    return ndimage.zoom(coarse, factor, order=1, mode="nearest", grid_mode=True)[:height, :width]


def flatten_background(video: np.ndarray, labels: np.ndarray, scale: float = 4.0) -> np.ndarray:
    """``video (T, H, W)`` less its local background: per frame, the normalised Gaussian convolution (``scale`` x the
    median mask radius ``r``, px) of the pixels farther than ``r / 2`` px from every mask of ``labels (T, H, W)``
    (the halo of a cell is no background). Returns ``(T, H, W) float64``: about 0 on the background, the cells
    their contrast to it; the shading of the background (uneven illumination, the darker ground around a colony)
    is gone, while a cell-sized object without a mask moves the estimate by a small fraction of its contrast
    (about ``1 / (2 scale**2)``: 3 % at 4). ``ValueError`` when the labels hold no mask.
    """
    video = _check_video(video, "video").astype(np.float64)
    labels = _check_labels(labels, video.shape)
    radius = _median_radius(labels)
    if radius == 0:
        raise ValueError("the labels hold no mask: cannot size the local background")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out = np.empty_like(video)
    exclude = max(1, round(radius / 2))
    for t, (frame, cells) in enumerate(zip(video, labels > 0)):
        keep = ~ndimage.binary_dilation(cells, iterations=exclude) if cells.any() else np.ones(cells.shape, bool)
        if not keep.any():
            keep = ~cells if (~cells).any() else np.ones(cells.shape, bool)
        out[t] = frame - _smooth_coarse(frame, keep.astype(np.float64), scale * radius)
    return out


def mask_contrast(image: np.ndarray, labels: np.ndarray, ring: int = 4) -> dict[int, float]:
    """Contrast of each mask of one ``(H, W)`` frame against its surroundings, in background s.d. (module docstring).

    ``image (H, W)`` float; ``labels (H, W)`` int. Returns ``{mask id: contrast >= 0}``; a mask with no ring
    pixels (surrounded by other masks) gets ``inf`` (it is compared with nothing; the detection decides).
    """
    image = np.asarray(image, dtype=np.float64)
    labels = np.asarray(labels)
    cells = labels > 0
    sigma = _background_sigma(image, cells, ring)
    out: dict[int, float] = {}
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        grown = tuple(slice(max(0, s.start - ring), s.stop + ring) for s in box)
        mask = labels[grown] == index
        around = ndimage.binary_dilation(mask, iterations=ring) & ~cells[grown]
        if not around.any():
            out[index] = float("inf")
            continue
        patch = image[grown]
        out[index] = abs(float(patch[mask].mean()) - float(patch[around].mean())) / sigma
    return out


def detection_contrast(image: np.ndarray, labels: np.ndarray, detections: np.ndarray, ids: np.ndarray, ring: int = 4) -> np.ndarray:
    """Contrast of detections ``ids`` of one frame against their surroundings, as :func:`mask_contrast` for masks:
    ``|mean inside - mean of the ring| / sigma``, the ring the pixels within ``ring`` px of the detection that lie on
    no mask and no detection, ``sigma`` the frame's background s.d. ``(len(ids),) float64``; ``inf`` without ring."""
    image = np.asarray(image, dtype=np.float64)
    cells = np.asarray(labels) > 0
    sigma = _background_sigma(image, cells, ring)
    occupied = cells | (detections > 0)
    boxes = ndimage.find_objects(detections)
    out = np.full(len(ids), np.inf)
    for k, index in enumerate(ids):
        box = boxes[int(index) - 1]
        grown = tuple(slice(max(0, s.start - ring), s.stop + ring) for s in box)
        inside = detections[grown] == index
        around = ndimage.binary_dilation(inside, iterations=ring) & ~occupied[grown]
        if around.any():
            patch = image[grown]
            out[k] = abs(float(patch[inside].mean()) - float(patch[around].mean())) / sigma
    return out


def frame_faithfulness(image: np.ndarray, labels: np.ndarray, detections: np.ndarray, *, min_contrast: float = 1.0,
                       ring: int = 4) -> FrameFaithfulness:
    """The counts of one frame: ``image (H, W)`` float, its mask ``labels (H, W)`` and a segmenter's ``detections (H, W)``."""
    labels = np.asarray(labels)
    detections = np.asarray(detections)
    overlap = frame_overlap(labels, detections)
    covers = overlap.intersection * 2 > overlap.area_a[:, None]  # (G, D): detection covers more than half of the mask
    on_masks = overlap.intersection.sum(axis=0) * 2 > overlap.area_b  # (D,): more than half of the detection on masks
    unmatched = ~(covers.any(axis=0) | on_masks)
    candidates = overlap.ids_b[unmatched]
    distinct = detection_contrast(image, labels, detections, candidates, ring) >= min_contrast
    ids = candidates[distinct]
    if ids.size:
        centroids = np.asarray(ndimage.center_of_mass(np.ones(detections.shape), detections, ids), dtype=np.float64).reshape(-1, 2)
    else:
        centroids = np.zeros((0, 2))
    detected = covers.any(axis=1)
    contrast = mask_contrast(image, labels, ring)
    faint = np.array([contrast[int(i)] < min_contrast for i in overlap.ids_a], dtype=bool)
    return FrameFaithfulness(unlabelled=int(ids.size), unlabelled_centroids=centroids, invisible=int((~detected | faint).sum()),
                             undetected=int((~detected).sum()), masks=int(overlap.ids_a.size), detections=int(overlap.ids_b.size),
                             faint=int((~distinct).sum()))


def annotation_faithfulness(generated: np.ndarray, labels: np.ndarray, real: np.ndarray | None = None, *, segmenter: Any = None,
                            settings: dict[str, Any] | None = None, level: float = 0.5, min_contrast: float = 1.0,
                            ring: int = 4, local_background: float | None = 4.0) -> Faithfulness:
    """Unlabelled objects and invisible masks of a ``generated (T, H, W)`` video of instance ``labels (T, H, W)``.

    ``real``: the real ``(T, H, W)`` video of the same labels, if any (its unlabelled objects are subtracted;
    any intensity units). ``segmenter``: an object with ``segment_frame(image) -> (H, W) labels``; default the
    ``threshold`` segmenter with ``settings`` (on the frames as given), or with :func:`threshold_settings` derived
    from each video and the labels (``level``) on the frames less their local background
    (:func:`flatten_background` with ``scale=local_background``; ``None``: on the frames as given).
    ``min_contrast`` / ``ring``: see :func:`mask_contrast` (masks) and :func:`detection_contrast` (detections without
    a mask). Returns per-frame values and means.
    """
    generated = _check_video(generated, "generated video")
    labels = _check_labels(labels, generated.shape)
    if real is not None:
        real = _check_video(real, "real video")
        if real.shape != generated.shape:
            raise ValueError(f"real video {real.shape} and generated video {generated.shape} differ in shape")
    if min_contrast < 0 or ring < 1:
        raise ValueError(f"min_contrast must be >= 0 and ring >= 1, got {min_contrast} and {ring}")

    if local_background is not None and not local_background > 0:
        raise ValueError(f"local_background must be > 0 or None, got {local_background}")
    flatten = segmenter is None and settings is None and local_background is not None

    def segmenter_for(video: np.ndarray) -> tuple[Any, dict[str, Any], np.ndarray]:
        """The segmenter, its settings and the frames it segments."""
        if segmenter is not None:
            return segmenter, {}, video
        from tganaug.registry import get_segmenter  # the library names plugins by name, never imports their modules

        seen = flatten_background(video, labels, local_background) if flatten else video
        chosen = dict(settings) if settings is not None else threshold_settings(seen, labels, level)
        return get_segmenter("threshold", **chosen), chosen, seen

    def counts(video: np.ndarray) -> tuple[tuple[FrameFaithfulness, ...], dict[str, Any]]:
        seg, used, seen = segmenter_for(video)
        return tuple(frame_faithfulness(image, frame, seg.segment_frame(shown), min_contrast=min_contrast, ring=ring)
                     for image, frame, shown in zip(video, labels, seen)), used

    frames, used = counts(generated)
    unlabelled = np.array([f.unlabelled for f in frames], dtype=np.int64)
    unlabelled_real = None
    if real is not None:
        unlabelled_real = np.array([f.unlabelled for f in counts(real)[0]], dtype=np.int64)
    return Faithfulness(unlabelled=unlabelled, unlabelled_real=unlabelled_real,
                        excess=unlabelled - unlabelled_real if unlabelled_real is not None else unlabelled.copy(),
                        invisible=np.array([f.invisible for f in frames], dtype=np.int64),
                        masks=np.array([f.masks for f in frames], dtype=np.int64), frames=frames, settings=used,
                        faint=np.array([f.faint for f in frames], dtype=np.int64))
