"""Tracking: linking graphs to CTC tracks, CTC result folders, and evaluation (motmetrics, CTC measures, traccuracy).

Trackers and segmenters are plugins (``tganaug.get_tracker(name)`` / ``tganaug.get_segmenter(name)``);
this package holds what they share and how their results are scored.
"""

from tganaug.tracking.base import LinkingTracker
from tganaug.tracking.graph import DetectionTable, detection_table, relabel_video, tracks_from_edges
from tganaug.tracking.graph_metrics import traccuracy_measures
from tganaug.tracking.metrics import ctc_measures, mot_metrics, read_seg_reference, score_dirs, score_tracking
from tganaug.tracking.pipeline import TrackedVideo, TrackerFailed, segment_and_track, segment_video, track_video
from tganaug.tracking.results import TrackingResult, read_result, write_result

__all__ = [
    "DetectionTable",
    "LinkingTracker",
    "TrackedVideo",
    "TrackerFailed",
    "TrackingResult",
    "ctc_measures",
    "detection_table",
    "mot_metrics",
    "read_result",
    "read_seg_reference",
    "relabel_video",
    "score_dirs",
    "score_tracking",
    "segment_and_track",
    "segment_video",
    "traccuracy_measures",
    "track_video",
    "tracks_from_edges",
    "write_result",
]
