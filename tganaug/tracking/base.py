"""Base class of the linking trackers: detections in, CTC tracks out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from tganaug.contracts import reports_progress
from tganaug.tracking.graph import Edge, check_label_video, tracks_from_edges

__all__ = ["LinkingTracker"]


class LinkingTracker(ABC):
    """A tracker that links the instances of a label video; subclasses implement :meth:`link`.

    ``track(labels)`` checks the input, calls ``link`` and converts the links to CTC tracks with
    :func:`tganaug.tracking.graph.tracks_from_edges` (divisions kept, gaps split into parent-linked
    tracks), so every tracker's output passes :func:`tganaug.validate_tracks`.
    """

    name: str = "tracker"

    @abstractmethod
    def link(self, labels: np.ndarray) -> list[Edge]:
        """Links ``((t1, label1), (t2, label2))``, ``t2 > t1``, between detections of a checked label video."""

    def track(self, labels: np.ndarray, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Track a ``(T, H, W)`` integer instance-label video (ids per frame; need not be consistent).

        Returns ``(tracked (T, H, W) uint16 relabelled by track id, lineage (N, 4) int64
        id/start/end/parent)``. Raises ``ValueError`` / ``TypeError`` for a malformed video. ``progress(t)`` is
        passed on to :meth:`link` when it takes one (called as frame ``t`` is linked to the next).
        """
        labels = check_label_video(labels)
        if labels.max() == 0:
            return np.zeros(labels.shape, dtype=np.uint16), np.zeros((0, 4), dtype=np.int64)
        given = {"progress": progress} if progress is not None and reports_progress(self.link) else {}
        return tracks_from_edges(labels, self.link(labels, **given))
