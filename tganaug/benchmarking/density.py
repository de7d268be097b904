"""Detection in dense colonies: a segmenter's CTC DET frame by frame as touching cells fill the field.

A ``colony`` video starts from a few founders and ends covering most of the field with touching cells. Rendered
and segmented, each frame is scored against the simulator's labels with the CTC detection measure (DET, py-ctcmetrics
through :func:`tganaug.tracking.metrics.ctc_measures`), together with what explains it:

* ``merged``: the CTC split operations (NS): cells that share a detection with another cell (a detection covering
  more than half of ``k`` cells counts ``k - 1``);
* ``missed``: cells no detection covers by more than half (FN); ``spurious``: detections that match no cell (FP);
* ``coverage``: the fraction of the field on cells; ``cell_area``: the median cell area (px);
* ``components``: connected components of the binarised labels (``labels > 0``, touching diagonally included). A
  generator that sees only that binary mask (the tGAN binarises its input) is given one object per component: scoring
  :func:`mask_components` as the segmentation gives the DET of a segmenter that finds exactly those objects, every
  cell matched and every touching neighbour merged (``DET = 1 - (cells - components) / (2 cells)`` when each cell lies
  in one component).

DET weights a merge 5, a miss 10 and a spurious object 1 against 10 per cell, so a frame whose cells all lie in one
detection scores about 0.5.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.lineage import lineage_from_labels
from tganaug.tracking.metrics import ctc_measures

__all__ = ["COLUMNS", "FrameDetection", "colony_video", "detection_by_frame", "frame_detection", "mask_components",
           "segment_frames"]

#: the measures of one frame, in the order of :class:`FrameDetection` (a report adds its own keys, e.g. source, seed)
COLUMNS = ("frame", "coverage", "cells", "components", "cell_area", "detections", "DET", "merged", "missed", "spurious")
_TOUCHING = np.ones((3, 3), dtype=bool)  # 8-connectivity: cells touching at a corner show as one object


@dataclass(frozen=True)
class FrameDetection:
    """A segmentation of one frame scored against its labels (see the module docstring).

    Attributes:
        frame: the frame's number (as given to :func:`detection_by_frame`).
        coverage: fraction of the pixels on cells, in [0, 1].
        cells: cells (label ids) in the frame.
        components: connected components of the binarised labels.
        cell_area: median cell area in px (NaN without cells).
        detections: objects in the segmentation.
        DET: CTC DET in [0, 1] (NaN without cells: undefined).
        merged / missed / spurious: the CTC NS / FN / FP counts.
    """

    frame: int
    coverage: float
    cells: int
    components: int
    cell_area: float
    detections: int
    DET: float
    merged: int
    missed: int
    spurious: int

    def row(self) -> dict[str, Any]:
        """The fields as a dict (keys :data:`COLUMNS`), for a report row."""
        return asdict(self)


def _ids(frame: np.ndarray) -> np.ndarray:
    ids = np.unique(frame)
    return ids[ids > 0]


def frame_detection(labels: np.ndarray, segmentation: np.ndarray, frame: int = 0) -> FrameDetection:
    """Score one ``segmentation (H, W)`` integer frame against the ``labels (H, W)`` integer frame of the same image.

    py-ctcmetrics refuses a one-frame sequence (it has no links), so the frame is scored as a two-frame video of
    itself: DET is unchanged (counts and their maximum double together) and the counts are halved back.
    """
    labels, segmentation = np.asarray(labels), np.asarray(segmentation)
    if labels.ndim != 2 or labels.shape != segmentation.shape:
        raise ValueError(f"labels {labels.shape} and segmentation {segmentation.shape} must be (H, W) frames of one shape")
    cells = _ids(labels)
    areas = np.bincount(labels.ravel().astype(np.int64))[cells] if cells.size else np.zeros(0)
    components = int(ndimage.label(labels > 0, structure=_TOUCHING)[1])
    detections = int(_ids(segmentation).size)
    if cells.size:
        gt, res = np.stack([labels, labels]), np.stack([segmentation, segmentation])
        scores = ctc_measures(res, lineage_from_labels(res), gt, lineage_from_labels(gt))
        det, counts = scores["DET"], [int(round(scores[f"AOGM_{k}"] / 2)) for k in ("NS", "FN", "FP")]
    else:
        det, counts = float("nan"), [0, 0, detections]
    return FrameDetection(frame=int(frame), coverage=float(np.mean(labels > 0)), cells=int(cells.size), components=components,
                          cell_area=float(np.median(areas)) if areas.size else float("nan"), detections=detections,
                          DET=float(det), merged=counts[0], missed=counts[1], spurious=counts[2])


def detection_by_frame(labels: np.ndarray, segmentation: np.ndarray, frames: Sequence[int] | None = None) -> list[FrameDetection]:
    """:func:`frame_detection` of every frame of ``labels (T, H, W)`` and ``segmentation (T, H, W)`` (integer ids; a
    segmentation's ids need not be consistent over frames). ``frames``: the ``T`` frame numbers (default ``0..T-1``)."""
    labels, segmentation = np.asarray(labels), np.asarray(segmentation)
    if labels.ndim != 3 or labels.shape != segmentation.shape:
        raise ValueError(f"labels {labels.shape} and segmentation {segmentation.shape} must be (T, H, W) videos of one shape")
    numbers = list(range(len(labels))) if frames is None else [int(t) for t in frames]
    if len(numbers) != len(labels):
        raise ValueError(f"{len(numbers)} frame numbers for {len(labels)} frames")
    return [frame_detection(gt, res, t) for t, gt, res in zip(numbers, labels, segmentation)]


def mask_components(labels: np.ndarray) -> np.ndarray:
    """``(T, H, W)`` integer labels -> ``(T, H, W) uint16``: per frame, the connected components of ``labels > 0``
    (touching diagonally included), numbered from 1: the objects a binary mask of the frame shows."""
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"labels must be a (T, H, W) video, got shape {labels.shape}")
    out = np.zeros(labels.shape, dtype=np.uint16)
    for t, frame in enumerate(labels):
        out[t] = ndimage.label(frame > 0, structure=_TOUCHING)[0]
    return out


def segment_frames(images: np.ndarray, segmenter: Any, config: dict[str, Any] | None = None) -> tuple[np.ndarray, list[str]]:
    """Segment a ``(T, H, W)`` video (raw frames) as ``tganaug track`` does (:func:`tganaug.tracking.pipeline.segment_video`:
    one call, so a learned segmenter normalises the whole video together). ``segmenter``: a plugin name (made with
    ``config``) or an object with ``segment``. Returns the checked ``(T, H, W) uint16`` labels and the messages of the
    :class:`~tganaug.segmentation.input_check.SegmenterInputWarning` it raised (the video unlike its training frames)."""
    from tganaug.segmentation.input_check import SegmenterInputWarning  # noqa: PLC0415
    from tganaug.tracking.pipeline import segment_video  # noqa: PLC0415

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SegmenterInputWarning)
        labels = segment_video(images, segmenter, config=config)
    for other in (w for w in caught if not issubclass(w.category, SegmenterInputWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return labels, [str(w.message) for w in caught if issubclass(w.category, SegmenterInputWarning)]


def colony_video(generator: Any, seed: int = 0, *, simulator: Any = "colony", simulator_config: dict[str, Any] | None = None,
                 frames: int | None = None, height: int | None = None, width: int | None = None) -> Any:
    """Video 01 of ``tganaug generate --simulator colony --seed SEED`` rendered by ``generator`` (an object with
    ``generate``): the same masks, lineage and frames (:class:`tganaug.render.VideoRenderer`, video index 0).

    ``simulator``: a plugin name (made with ``simulator_config``) or an object with ``simulate``. ``frames`` / ``height``
    / ``width``: default those of ``tganaug generate`` (:class:`tganaug.generation.GenerationConfig`). Returns a
    :class:`tganaug.render.RenderedVideo`: ``labels (T, H, W)`` uint16 track ids, ``lineage (N, 4)``, ``frames
    (T, H, W) float32`` in [0, 1].
    """
    from tganaug.generation import GenerationConfig  # noqa: PLC0415
    from tganaug.plugin_objects import resolve  # noqa: PLC0415
    from tganaug.render import VideoRenderer  # noqa: PLC0415

    defaults = GenerationConfig()
    made = resolve("simulator", simulator, simulator_config)
    renderer = VideoRenderer(made, generator, seed=seed, frames=frames or defaults.frames, height=height or defaults.height,
                             width=width or defaults.width, simulator_name=simulator if isinstance(simulator, str) else None)
    return renderer.render(0)
