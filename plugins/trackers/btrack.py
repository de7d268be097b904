"""``btrack``: the Bayesian multi-object tracker (Ulicna et al. 2021) on instance centroids.

The motion and hypothesis models come from ``btrack_cell_config.json`` shipped beside this module
(btrack's published cell model; nothing is downloaded). After Kalman-filter tracking, the global
hypothesis optimisation (cvxopt GLPK) joins tracklets, closes gaps and finds divisions. btrack's
own track ids are replaced: its tracks become links between our detections, converted to CTC
tracks (roots get parent 0, not btrack's ``parent == own id``; dummy objects btrack inserts to
bridge gaps are dropped and the gap becomes a parent-linked track).

The C++ library is found by :func:`tganaug_plugins.trackers.btrack_lib.library_path` (btrack 0.7.0's
own does not load on Debian 12; ``python -m tganaug_plugins.trackers.btrack_lib install`` fetches a
compatible one at install time). ``import btrack.datasets`` is never used (it downloads at import).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tganaug.hookspecs import hookimpl
from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import Edge, detection_table
from tganaug.utils.config import ConfigMixin
from tganaug_plugins.trackers.btrack_lib import BtrackLibraryError, library_path

__all__ = ["BtrackConfig", "BtrackTracker", "DEFAULT_CONFIG_FILE", "tganaug_trackers"]

#: btrack's cell motion + hypothesis model, shipped in the repository
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent / "btrack_cell_config.json"


@dataclass
class BtrackConfig(ConfigMixin):
    """Settings of :class:`BtrackTracker`.

    Attributes:
        config_file: btrack JSON configuration (motion + hypothesis model); default the shipped one.
        max_search_radius: largest distance (pixels) searched for a link.
        optimise: run btrack's global hypothesis optimisation (joins, gaps, divisions).
        optimizer_time_limit_ms: GLPK time limit.
        update_method: ``"EXACT"`` or ``"APPROXIMATE"`` Bayesian updates (approximate for many cells).
        verbose: let btrack log its progress.
    """

    config_file: str | Path = field(default_factory=lambda: DEFAULT_CONFIG_FILE)
    max_search_radius: float = 50.0
    optimise: bool = True
    optimizer_time_limit_ms: int = 60_000
    update_method: str = "EXACT"
    verbose: bool = False

    def __post_init__(self) -> None:
        self.config_file = Path(self.config_file)
        if not self.config_file.is_file():
            raise FileNotFoundError(f"btrack configuration file not found: {self.config_file}")
        if self.max_search_radius <= 0:
            raise ValueError(f"max_search_radius must be positive, got {self.max_search_radius}")
        if self.update_method not in ("EXACT", "APPROXIMATE"):
            raise ValueError(f"update_method must be 'EXACT' or 'APPROXIMATE', got {self.update_method!r}")


def _load_btrack():  # noqa: ANN202  (returns the btrack module)
    """Import btrack and point it at a libtracker that loads; raise naming what failed."""
    try:
        import btrack  # noqa: PLC0415
        import btrack.libwrapper  # noqa: PLC0415
    except ImportError as error:
        raise ImportError(f"the btrack tracker needs the btrack package (pip install btrack==0.7.0): {error}") from error
    try:
        btrack.libwrapper.BTRACK_LIB_PATH = library_path()
    except BtrackLibraryError as error:
        raise RuntimeError(f"btrack tracker unavailable: {error}") from error
    return btrack


class BtrackTracker(LinkingTracker):
    """Bayesian tracker (btrack) on instance centroids (see module doc)."""

    name = "btrack"

    def __init__(self, **config: object) -> None:
        self.config = BtrackConfig.from_dict(config)

    def link(self, labels: np.ndarray) -> list[Edge]:
        """Links between detections of a ``(T, H, W)`` label video, from btrack's tracks and lineage."""
        btrack = _load_btrack()
        from btrack import btypes, config, constants  # noqa: PLC0415

        logging.getLogger("btrack").setLevel(logging.INFO if self.config.verbose else logging.WARNING)
        table = detection_table(labels)
        objects = []
        for index in range(len(table)):
            obj = btypes.PyTrackObject()
            obj.ID = index
            obj.t = int(table.frame[index])
            obj.x = float(table.x[index])
            obj.y = float(table.y[index])
            obj.z = 0.0
            objects.append(obj)
        settings = config.load_config(self.config.config_file)
        settings.max_search_radius = self.config.max_search_radius
        settings.update_method = constants.BayesianUpdates[self.config.update_method]
        settings.optimizer_options = {
            "tm_lim": int(self.config.optimizer_time_limit_ms),
            "msg_lev": "GLP_MSG_ON" if self.config.verbose else "GLP_MSG_OFF",
        }
        settings.verbose = self.config.verbose
        height, width = labels.shape[1:]
        with btrack.BayesianTracker(verbose=self.config.verbose) as tracker:
            tracker.configure(settings)
            tracker.append(objects)
            tracker.volume = ((0, width), (0, height), (-1e5, 1e5))
            tracker.track(step_size=100)
            if self.config.optimise and not tracker.optimise():
                warnings.warn(
                    "btrack's hypothesis optimisation selected nothing (no hypotheses, or GLPK found no optimal "
                    f"solution within optimizer_time_limit_ms={self.config.optimizer_time_limit_ms}); the result "
                    "is the unjoined Kalman tracklets",
                    RuntimeWarning,
                    stacklevel=2,
                )
            tracks = tracker.tracks
        return _edges_from_tracks(tracks, table.frame, table.label)


def _edges_from_tracks(tracks: list, frames: np.ndarray, ids: np.ndarray) -> list[Edge]:
    """Links from btrack tracklets: consecutive real objects of a track, and parent -> daughter."""
    def node(ref: int) -> tuple[int, int]:
        return int(frames[ref]), int(ids[ref])

    real_refs = {}
    for track in tracks:
        refs = [int(ref) for ref, dummy in zip(track.refs, track.dummy) if not dummy and ref >= 0]
        real_refs[int(track.ID)] = refs
    edges: list[Edge] = []
    for track in tracks:
        refs = real_refs[int(track.ID)]
        edges.extend((node(a), node(b)) for a, b in zip(refs, refs[1:]))
        parent = int(track.parent)
        if refs and parent != int(track.ID) and parent in real_refs and real_refs[parent]:
            last = node(real_refs[parent][-1])
            first = node(refs[0])
            if last[0] < first[0]:
                edges.append((last, first))
    return edges


@hookimpl
def tganaug_trackers() -> dict[str, type]:
    """Register ``btrack``."""
    return {"btrack": BtrackTracker}
