"""Instance matching between two label frames: overlap counts, IoU and centroid distances.

Written with numpy rather than taken from motmetrics because ``motmetrics.distances.iou_matrix``
works on boxes (not masks) and calls ``np.asfarray``, which numpy 2 removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrameOverlap", "frame_overlap", "iou_distance_matrix", "centroid_distance_matrix"]


@dataclass(frozen=True)
class FrameOverlap:
    """Pixel overlap between the instances of two ``(H, W)`` label frames ``a`` and ``b``.

    Attributes:
        ids_a / ids_b: ``(A,)`` / ``(B,)`` int64 sorted non-zero ids of each frame.
        area_a / area_b: ``(A,)`` / ``(B,)`` int64 pixel counts.
        intersection: ``(A, B)`` int64 shared pixel counts.
    """

    ids_a: np.ndarray
    ids_b: np.ndarray
    area_a: np.ndarray
    area_b: np.ndarray
    intersection: np.ndarray

    @property
    def iou(self) -> np.ndarray:
        """``(A, B)`` float64 intersection over union (0 where disjoint)."""
        union = self.area_a[:, None] + self.area_b[None, :] - self.intersection
        return np.divide(self.intersection, union, out=np.zeros(union.shape), where=union > 0)


def _ids_and_areas(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, counts = np.unique(frame, return_counts=True)
    keep = ids != 0
    return ids[keep].astype(np.int64), counts[keep].astype(np.int64)


def frame_overlap(a: np.ndarray, b: np.ndarray) -> FrameOverlap:
    """Overlap of the instances of two ``(H, W)`` integer label frames of the same shape."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"label frames differ in shape: {a.shape} vs {b.shape}")
    ids_a, area_a = _ids_and_areas(a)
    ids_b, area_b = _ids_and_areas(b)
    intersection = np.zeros((ids_a.size, ids_b.size), dtype=np.int64)
    both = (a != 0) & (b != 0)
    if both.any() and ids_a.size and ids_b.size:
        base = int(ids_b[-1]) + 1
        keys, counts = np.unique(a[both].astype(np.int64) * base + b[both].astype(np.int64), return_counts=True)
        intersection[np.searchsorted(ids_a, keys // base), np.searchsorted(ids_b, keys % base)] = counts
    return FrameOverlap(ids_a, ids_b, area_a, area_b, intersection)


def iou_distance_matrix(gt: np.ndarray, res: np.ndarray, iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``1 - IoU`` between the instances of a GT and a result ``(H, W)`` frame, NaN below the threshold.

    Returns ``(gt_ids (G,), res_ids (R,), distances (G, R) float64)`` in motmetrics' convention
    (NaN = may not be matched). With ``iou_threshold >= 0.5`` each instance has at most one candidate.
    """
    overlap = frame_overlap(gt, res)
    iou = overlap.iou
    distances = 1.0 - iou
    distances[(iou < iou_threshold) | (iou <= 0)] = np.nan
    return overlap.ids_a, overlap.ids_b, distances


def centroid_distance_matrix(gt: np.ndarray, res: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean centroid distance (pixels) between GT and result instances, NaN beyond ``max_distance``.

    Returns ``(gt_ids (G,), res_ids (R,), distances (G, R) float64)``.
    """
    gt = np.asarray(gt)
    res = np.asarray(res)
    if gt.shape != res.shape:
        raise ValueError(f"label frames differ in shape: {gt.shape} vs {res.shape}")

    def centroids(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids, area = _ids_and_areas(frame)
        if not ids.size:
            return ids, np.zeros((0, 2))
        index = np.searchsorted(ids, frame[frame != 0])
        rows, cols = np.nonzero(frame)
        return ids, np.stack([np.bincount(index, rows, ids.size), np.bincount(index, cols, ids.size)], 1) / area[:, None]

    gt_ids, gt_xy = centroids(gt)
    res_ids, res_xy = centroids(res)
    distances = np.sqrt(((gt_xy[:, None, :] - res_xy[None, :, :]) ** 2).sum(-1))
    distances[distances > max_distance] = np.nan
    return gt_ids, res_ids, distances
