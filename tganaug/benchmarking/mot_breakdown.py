"""Where a tracking result's MOTA goes: its errors split by cause, against full outlines with track ids.

MOTA (motmetrics, mask IoU >= 0.5) counts a cell that was found with the wrong shape as a miss *and* a false
positive. :func:`mot_breakdown` says how much of the loss is that, how much is fragments, how much spurious objects
and how much identity switches, and what the same tracks score when matched more loosely (IoU >= 0.3, centroids
within 10 px). The loose scores are diagnostics, never the reported MOTA.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tganaug.tracking.matching import frame_overlap
from tganaug.tracking.metrics import mot_metrics

__all__ = ["BREAKDOWN_COLUMNS", "mot_breakdown"]

#: columns of :func:`mot_breakdown`, in report order
BREAKDOWN_COLUMNS = ("MOTA", "GT_objects", "FN", "FP", "IDSW", "FP_fragment", "FP_wrong_shape", "FP_spurious",
                     "GT_IoU_median", "GT_IoU_over_half", "MOTA_IoU_0.3", "MOTA_centroid_10px")
#: an unmatched result object smaller than this fraction of the median GT object is a fragment
FRAGMENT_FRACTION = 0.3
#: an unmatched result object whose best IoU with a GT object is at least this found a cell with the wrong shape
WRONG_SHAPE_IOU = 0.2


def _frames(outlines: np.ndarray, tracked: np.ndarray) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    if outlines.shape != tracked.shape or outlines.ndim != 3:
        raise ValueError(f"outlines {outlines.shape} and tracked labels {tracked.shape} must be one (T, H, W) shape")
    return zip(outlines, tracked)


def mot_breakdown(outlines: np.ndarray, tracked: np.ndarray) -> dict[str, float]:
    """The MOTA of ``tracked`` against ``outlines`` and its errors by cause.

    Args:
        outlines: ``(T, H, W)`` integer full outlines, label = track id (the GT).
        tracked: ``(T, H, W)`` integer tracked result, label = track id.

    Returns:
        :data:`BREAKDOWN_COLUMNS`: ``MOTA``, ``FN``, ``FP``, ``IDSW`` as motmetrics counts them (mask IoU >= 0.5);
        the false positives split into ``FP_fragment`` (smaller than :data:`FRAGMENT_FRACTION` of the median GT object),
        ``FP_wrong_shape`` (best IoU with a GT object in [:data:`WRONG_SHAPE_IOU`, 0.5)) and ``FP_spurious`` (the rest);
        ``GT_IoU_median`` / ``GT_IoU_over_half``: median of each GT object's best IoU and the fraction >= 0.5;
        ``MOTA_IoU_0.3`` / ``MOTA_centroid_10px``: the same tracks matched at IoU >= 0.3 / by centroids within 10 px.
    """
    outlines, tracked = np.asarray(outlines), np.asarray(tracked)
    best_gt: list[np.ndarray] = []
    unmatched: list[tuple[np.ndarray, np.ndarray]] = []  # (area, best IoU) of result objects without an IoU >= 0.5 match
    gt_areas: list[np.ndarray] = []
    for gt_frame, res_frame in _frames(outlines, tracked):
        overlap = frame_overlap(gt_frame, res_frame)
        iou = overlap.iou
        gt_areas.append(overlap.area_a)
        if overlap.ids_a.size:
            best_gt.append(iou.max(axis=1) if overlap.ids_b.size else np.zeros(overlap.ids_a.size))
        if overlap.ids_b.size:
            best_res = iou.max(axis=0) if overlap.ids_a.size else np.zeros(overlap.ids_b.size)
            free = best_res < 0.5
            unmatched.append((overlap.area_b[free], best_res[free]))
    areas = np.concatenate(gt_areas) if gt_areas else np.zeros(0)
    if not areas.size:
        raise ValueError("the outlines hold no objects: MOTA is undefined")
    strict = mot_metrics(outlines, tracked)
    free_area = np.concatenate([a for a, _ in unmatched]) if unmatched else np.zeros(0)
    free_iou = np.concatenate([b for _, b in unmatched]) if unmatched else np.zeros(0)
    fragment = free_area < FRAGMENT_FRACTION * np.median(areas)
    wrong_shape = ~fragment & (free_iou >= WRONG_SHAPE_IOU)
    best = np.concatenate(best_gt)
    return {
        "MOTA": strict["MOTA"], "GT_objects": float(strict["GT_objects"]), "FN": float(strict["FN"]), "FP": float(strict["FP"]),
        "IDSW": float(strict["IDSW"]), "FP_fragment": float(fragment.sum()), "FP_wrong_shape": float(wrong_shape.sum()),
        "FP_spurious": float((~fragment & ~wrong_shape).sum()), "GT_IoU_median": float(np.median(best)),
        "GT_IoU_over_half": float((best >= 0.5).mean()),
        "MOTA_IoU_0.3": mot_metrics(outlines, tracked, iou_threshold=0.3)["MOTA"],
        "MOTA_centroid_10px": mot_metrics(outlines, tracked, match="centroid", max_distance=10.0)["MOTA"],
    }
