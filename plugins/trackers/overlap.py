"""``overlap``: the transparent baseline tracker (IoU + Hungarian frame-to-frame linking).

Each pair of consecutive frames is matched by maximum total IoU (``scipy.optimize.linear_sum_assignment``
on ``1 - IoU``), keeping pairs with IoU >= ``min_iou``. A division is declared when a cell of frame t
is matched to one cell of t+1 and an unmatched cell of t+1 lies mostly inside it (at least
``division_overlap`` of its area), and the two together cover the mother better than the matched
one alone; an unmatched mother with two such cells divides too. No gap closing: a cell missed in
one frame starts a new track.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from tganaug.hookspecs import hookimpl
from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import Edge
from tganaug.tracking.matching import FrameOverlap, frame_overlap
from tganaug.utils.config import ConfigMixin

__all__ = ["OverlapConfig", "OverlapTracker", "tganaug_trackers"]


@dataclass
class OverlapConfig(ConfigMixin):
    """Settings of :class:`OverlapTracker`.

    Attributes:
        min_iou: smallest IoU that links a cell to the next frame.
        divisions: detect divisions (one cell -> two).
        division_overlap: smallest fraction of a daughter's area that must lie inside the mother.
    """

    min_iou: float = 0.2
    divisions: bool = True
    division_overlap: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {self.min_iou}")
        if not 0.0 < self.division_overlap <= 1.0:
            raise ValueError(f"division_overlap must be in (0, 1], got {self.division_overlap}")


class OverlapTracker(LinkingTracker):
    """IoU + Hungarian frame-to-frame linking with simple division detection (see module doc)."""

    name = "overlap"

    def __init__(self, **config: object) -> None:
        self.config = OverlapConfig.from_dict(config)

    def _pair_links(self, overlap: FrameOverlap) -> list[tuple[int, int]]:
        """Index pairs ``(i in frame t, j in frame t+1)`` linked between two frames."""
        iou = overlap.iou
        if iou.size == 0:
            return []
        cost = np.where(iou >= self.config.min_iou, 1.0 - iou, 1e6)
        rows, cols = linear_sum_assignment(cost)
        links = [(int(i), int(j)) for i, j in zip(rows, cols) if iou[i, j] >= self.config.min_iou]
        if not self.config.divisions:
            return links
        matched_a = {i: j for i, j in links}
        matched_b = set(matched_a.values())
        inside = overlap.intersection / np.maximum(overlap.area_b[None, :], 1)  # share of each b inside each a
        candidates: dict[int, list[int]] = {}
        for j in range(len(overlap.ids_b)):
            if j in matched_b or not overlap.intersection[:, j].any():
                continue
            i = int(np.argmax(overlap.intersection[:, j]))
            if inside[i, j] >= self.config.division_overlap:
                candidates.setdefault(i, []).append(j)
        area_a, area_b, inter = overlap.area_a, overlap.area_b, overlap.intersection
        for i, extra in candidates.items():
            extra = sorted(extra, key=lambda j: -inter[i, j])
            if i in matched_a:
                j0, j1 = matched_a[i], extra[0]
                union_both = area_a[i] + area_b[j0] + area_b[j1] - inter[i, j0] - inter[i, j1]
                if (inter[i, j0] + inter[i, j1]) / union_both > iou[i, j0]:
                    links.append((i, j1))
            elif len(extra) >= 2:
                links.extend([(i, extra[0]), (i, extra[1])])
        return links

    def link(self, labels: np.ndarray, progress: Callable[[int], None] | None = None) -> list[Edge]:
        """Links between consecutive frames of a ``(T, H, W)`` label video; ``progress(t)`` after frame ``t`` is linked."""
        edges: list[Edge] = []
        for t in range(labels.shape[0] - 1):
            overlap = frame_overlap(labels[t], labels[t + 1])
            for i, j in self._pair_links(overlap):
                edges.append(((t, int(overlap.ids_a[i])), (t + 1, int(overlap.ids_b[j]))))
            if progress is not None:
                progress(t)
        return edges


@hookimpl
def tganaug_trackers() -> dict[str, type]:
    """Register ``overlap``."""
    return {"overlap": OverlapTracker}
