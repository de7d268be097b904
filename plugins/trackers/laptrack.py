"""``laptrack``: linear-assignment (LAP) linking of centroids with gap closing and splitting (laptrack).

Wraps :class:`laptrack.LapTrack` (Jaqaman et al. 2008 formulation): frame-to-frame linking, then
gap closing over up to ``gap_closing_max_frames`` frames and splitting (divisions), all by squared
centroid distance. Its graph over ``(frame, index)`` detections is converted to CTC tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tganaug.hookspecs import hookimpl
from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import Edge, detection_table
from tganaug.utils.config import ConfigMixin

__all__ = ["LapTrackConfig", "LapTrackTracker", "tganaug_trackers"]


@dataclass
class LapTrackConfig(ConfigMixin):
    """Settings of :class:`LapTrackTracker` (distances in pixels between centroids).

    Attributes:
        max_distance: largest frame-to-frame displacement linked.
        gap_closing_max_distance: largest displacement bridged across missing frames (0 disables).
        gap_closing_max_frames: largest frame difference bridged (2 = one missing frame).
        splitting_max_distance: largest mother-daughter distance for a division (0 disables).
    """

    max_distance: float = 20.0
    gap_closing_max_distance: float = 20.0
    gap_closing_max_frames: int = 2
    splitting_max_distance: float = 25.0

    def __post_init__(self) -> None:
        if self.max_distance <= 0:
            raise ValueError(f"max_distance must be positive, got {self.max_distance}")
        if self.gap_closing_max_distance < 0 or self.splitting_max_distance < 0:
            raise ValueError("gap_closing_max_distance and splitting_max_distance must be >= 0")
        if self.gap_closing_max_frames < 1:
            raise ValueError(f"gap_closing_max_frames must be >= 1, got {self.gap_closing_max_frames}")


class LapTrackTracker(LinkingTracker):
    """LAP tracker on instance centroids (see module doc)."""

    name = "laptrack"

    def __init__(self, **config: object) -> None:
        self.config = LapTrackConfig.from_dict(config)

    def link(self, labels: np.ndarray) -> list[Edge]:
        """Links found by laptrack between detections of a ``(T, H, W)`` label video."""
        from laptrack import LapTrack  # noqa: PLC0415  (heavy import, only when used)

        table = detection_table(labels)
        cfg = self.config
        gap = cfg.gap_closing_max_distance**2 if cfg.gap_closing_max_distance > 0 else False
        split = cfg.splitting_max_distance**2 if cfg.splitting_max_distance > 0 else False
        tracker = LapTrack(
            cutoff=cfg.max_distance**2,
            gap_closing_cutoff=gap,
            gap_closing_max_frame_count=cfg.gap_closing_max_frames,
            splitting_cutoff=split,
            merging_cutoff=False,
        )
        coords, ids = [], []
        for t in range(labels.shape[0]):
            rows = table.frame == t
            coords.append(np.stack([table.y[rows], table.x[rows]], axis=1))
            ids.append(table.label[rows])
        graph = tracker.predict(coords)
        edges: list[Edge] = []
        for node_a, node_b in graph.edges():
            (f1, i1), (f2, i2) = sorted([node_a, node_b])  # earlier frame first
            if f1 != f2:
                edges.append(((int(f1), int(ids[f1][i1])), (int(f2), int(ids[f2][i2]))))
        return edges


@hookimpl
def tganaug_trackers() -> dict[str, type]:
    """Register ``laptrack``."""
    return {"laptrack": LapTrackTracker}
