"""Segment → check → track → check (→ write): the library under ``tganaug track``, reused by the benchmarks.

Each step's output is checked where it is made (:mod:`tganaug.tracking.checks`), so a segmenter or tracker that
returns the wrong shape, dtype, ids or lineage is an error naming it before anything is tracked, scored or written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tganaug.contracts import plugin_name, reports_progress
from tganaug.plugin_objects import resolve
from tganaug.registry import PluginRegistry
from tganaug.tracking.checks import checked_segmentation, checked_tracking

__all__ = ["TrackedVideo", "TrackerFailed", "segment_and_track", "segment_video", "track_video", "with_progress"]


class TrackerFailed(RuntimeError):
    """The tracker's backend could not run here (it raised ``RuntimeError`` or ``ImportError``, e.g. btrack's C++
    library cannot be loaded); ``tracker`` names it, ``__cause__`` is the original error."""

    def __init__(self, tracker: str, error: BaseException) -> None:
        super().__init__(f"tracker {tracker!r} failed ({type(error).__name__}: {error})")
        self.tracker = tracker


@dataclass
class TrackedVideo:
    """The result of :func:`segment_and_track`.

    Attributes:
        labels: ``(T, H, W) uint16`` instance labels by track id.
        lineage: ``(N, 4) int64`` CTC lineage (id, start, end, parent; frames from 0 = the first frame given),
            validated against ``labels``.
        segmentation: the checked ``(T, H, W) uint16`` segmenter output, or None when labels were given.
        segment_seconds: seconds spent segmenting (0 without a segmenter).
        track_seconds: seconds spent tracking and checking the tracks.
        folder: the ``<sequence>_RES`` folder written, or None.
    """

    labels: np.ndarray
    lineage: np.ndarray
    segmentation: np.ndarray | None = None
    segment_seconds: float = 0.0
    track_seconds: float = 0.0
    folder: Path | None = None

    @property
    def tracks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, lineage)``, as a tracker's ``track()`` returns them."""
        return self.labels, self.lineage

    @property
    def divisions(self) -> int:
        """Parents with two or more daughters in :attr:`lineage`."""
        _, children = np.unique(self.lineage[self.lineage[:, 3] > 0, 3], return_counts=True)
        return int(np.sum(children >= 2))


def with_progress(method: Callable[..., Any], data: np.ndarray, desc: str, quiet: bool) -> Any:
    """``method(data)`` (a segmenter's ``segment`` or a tracker's ``track`` of a ``(T, H, W)`` video) under a tqdm bar
    of ``T`` frames on stderr: advanced frame by frame when ``method`` takes ``progress(t)``
    (:class:`tganaug.contracts.ReportsProgress`), else filled when it returns."""
    with tqdm(total=len(data), desc=desc, unit="frame", disable=quiet) as bar:
        given = {"progress": lambda _t: bar.update(1)} if reports_progress(method) else {}
        result = method(data, **given)
        bar.update(len(data) - bar.n)
    return result


def _named(kind: str, spec: Any, config: dict[str, Any] | None, registry: PluginRegistry | None,
           name: str | None) -> tuple[Any, str]:
    made = resolve(kind, spec, config, registry)
    return made, name if name is not None else spec if isinstance(spec, str) else plugin_name(made)


def segment_video(images: np.ndarray, segmenter: Any, *, config: dict[str, Any] | None = None, progress: bool = False,
                  name: str | None = None, registry: PluginRegistry | None = None) -> np.ndarray:
    """``(T, H, W)`` raw frames (the stored dtype, not normalised) -> checked ``(T, H, W) uint16`` per-frame instance
    labels. ``segmenter``: a plugin name (made with ``config``) or an object with ``segment``. ``TypeError`` /
    ``ValueError`` naming the segmenter (``name``, default its plugin name or ``.name``) when its output is not such
    labels."""
    made, name = _named("segmenter", segmenter, config, registry, name)
    images = np.asarray(images)
    return checked_segmentation(with_progress(made.segment, images, f"segment ({name})", not progress), name, images.shape)


def track_video(labels: np.ndarray, tracker: Any, *, config: dict[str, Any] | None = None, progress: bool = False,
                name: str | None = None, registry: PluginRegistry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(T, H, W)`` integer instance labels -> checked ``(tracked (T, H, W) uint16, lineage (N, 4) int64)``.
    ``tracker``: a plugin name (made with ``config``) or an object with ``track``. :class:`TrackerFailed` when the
    tracker's backend cannot run here; ``TypeError`` / ``ValueError`` / :class:`tganaug.LineageError` naming the
    tracker (``name``, default its plugin name or ``.name``) when its output is wrong."""
    made, name = _named("tracker", tracker, config, registry, name)
    try:
        output = with_progress(made.track, labels, f"track ({name})", not progress)
    except (RuntimeError, ImportError) as error:
        raise TrackerFailed(name, error) from error
    return checked_tracking(output, name, np.shape(labels))


def segment_and_track(
    video: np.ndarray,
    tracker: Any,
    segmenter: Any = None,
    *,
    tracker_config: dict[str, Any] | None = None,
    segmenter_config: dict[str, Any] | None = None,
    progress: bool = False,
    out: str | Path | None = None,
    sequence: str = "01",
    first_frame: int = 0,
    overwrite: bool = False,
    segmenter_name: str | None = None,
    tracker_name: str | None = None,
    registry: PluginRegistry | None = None,
) -> TrackedVideo:
    """Segment (when ``segmenter`` is given) and track one ``(T, H, W)`` video, checking each step.

    ``video``: the raw frames when ``segmenter`` is given, else the ``(T, H, W)`` integer instance labels to track.
    ``segmenter`` / ``tracker``: plugin names (made with ``segmenter_config`` / ``tracker_config``) or objects with
    ``segment`` / ``track`` (:mod:`tganaug.contracts`). ``progress``: tqdm bars on stderr. With ``out``, the result is
    written atomically to ``out/<sequence>_RES`` (:func:`tganaug.tracking.write_result`, frame numbers from
    ``first_frame``; ``overwrite`` replaces only a tracking result), after both checks passed. ``segmenter_name`` /
    ``tracker_name`` name ready objects in progress bars and errors (default: their ``.name``).
    """
    start = time.perf_counter()
    segmentation = None
    if segmenter is not None:
        segmentation = segment_video(video, segmenter, config=segmenter_config, progress=progress, name=segmenter_name,
                                     registry=registry)
    elif segmenter_config:
        raise ValueError("segmenter_config needs a segmenter")
    labels = segmentation if segmentation is not None else video
    segmented = time.perf_counter()
    tracked, lineage = track_video(labels, tracker, config=tracker_config, progress=progress, name=tracker_name,
                                  registry=registry)
    done = time.perf_counter()
    folder = None
    if out is not None:
        from tganaug.tracking.results import write_result

        folder = write_result(out, tracked, lineage, first_frame=first_frame, sequence=sequence, overwrite=overwrite)
    return TrackedVideo(tracked, lineage, segmentation, segmented - start, done - segmented, folder)
