"""Check what segmenter and tracker plugins return before it is tracked, scored or written.

A third-party plugin that returns the wrong shape, dtype or ids, or a lineage that disagrees with its
labels, gets an error naming the plugin here, instead of a result that is written and scored as if
it were right (a video one frame short scores perfectly on the frames it has).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tganaug.io import check_labels
from tganaug.lineage import LineageError, as_lineage, track_problems
from tganaug.utils.arrays import to_numpy

__all__ = ["checked_segmentation", "checked_tracking"]


def _checked_labels(labels: Any, source: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    if labels is None or not hasattr(labels, "__len__"):
        raise TypeError(f"{source} returned {type(labels).__name__}, expected {what} (T, H, W) integer instance labels")
    labels = to_numpy(labels)
    if labels.shape != tuple(shape):
        raise ValueError(f"{source} returned {what} of shape {labels.shape} for input of shape {tuple(shape)}")
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{source} returned {what} of dtype {labels.dtype}, expected integer instance ids")
    try:
        return check_labels(labels)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source} returned {what} that cannot be stored: {error}") from None


def checked_segmentation(labels: Any, name: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Segmenter ``name``'s output for images of ``shape (T, H, W)``, as ``(T, H, W) uint16`` instance labels;
    ``TypeError`` / ``ValueError`` naming the segmenter for another type, shape, dtype or ids outside 0..65535."""
    return _checked_labels(labels, f"segmenter {name!r}", shape, "labels")


def checked_tracking(output: Any, name: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Tracker ``name``'s ``track()`` output for labels of ``shape (T, H, W)``: ``(labels (T, H, W) uint16, lineage
    (N, 4) int64)``. ``TypeError`` / ``ValueError`` / :class:`~tganaug.LineageError` naming the tracker when it is not
    such a pair, the labels differ in shape or type, or labels and lineage disagree."""
    source = f"tracker {name!r}"
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        got = f"a {type(output).__name__} of {len(output)}" if isinstance(output, (tuple, list)) else type(output).__name__
        raise TypeError(f"{source}: track() must return (labels, lineage), got {got}")
    labels = _checked_labels(output[0], source, shape, "tracked labels")
    try:
        lineage = as_lineage(to_numpy(output[1]))
    except LineageError as error:
        raise LineageError(f"{source} returned an unusable lineage: {error}") from None
    problems = track_problems(labels, lineage)
    if problems:
        raise LineageError(f"{source}: tracked labels and lineage disagree: " + "; ".join(problems[:5])
                           + (f"; ... and {len(problems) - 5} more" if len(problems) > 5 else ""))
    return labels, lineage
