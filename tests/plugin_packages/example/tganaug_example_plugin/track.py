"""A third-party tracker: ``max-overlap`` links each cell to the cell of the previous frame it overlaps most.

It reuses :class:`tganaug.tracking.LinkingTracker`: ``link()`` returns edges between detections and the base
class turns them into CTC tracks (two cells linked to one mother make a division), so the output always
passes :func:`tganaug.validate_tracks`.
"""

from dataclasses import asdict, dataclass

import numpy as np

from tganaug import hookimpl
from tganaug.tracking import LinkingTracker


@dataclass
class MaxOverlapConfig:
    min_overlap: float = 0.2  # smallest share of a cell's area that must lie in its predecessor

    def to_dict(self):
        return asdict(self)


class MaxOverlapTracker(LinkingTracker):
    name = "max-overlap"

    def __init__(self, **config):
        self.config = MaxOverlapConfig(**config)

    def link(self, labels):
        """Edges ``((t, id), (t + 1, id'))`` between the per-frame detections of a checked ``(T, H, W)`` video."""
        edges = []
        for t in range(labels.shape[0] - 1):
            before, after = labels[t].ravel().astype(np.int64), labels[t + 1].ravel().astype(np.int64)
            both = (before > 0) & (after > 0)
            pairs, counts = np.unique(np.stack([before[both], after[both]]), axis=1, return_counts=True)
            area = np.bincount(after)
            best = {}  # cell of t+1 -> (cell of t, overlap)
            for (a, b), n in zip(pairs.T.tolist(), counts.tolist()):
                if n > best.get(b, (0, 0))[1]:
                    best[b] = (a, n)
            edges += [((t, a), (t + 1, b)) for b, (a, n) in best.items() if n >= self.config.min_overlap * area[b]]
        return edges


@hookimpl
def tganaug_trackers():
    return {"max-overlap": MaxOverlapTracker}
