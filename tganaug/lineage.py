"""Lineage tables (CTC ``man_track.txt``) and their validation against label videos.

A lineage table is a ``(N, 4) int64`` array with one row per track: ``id, start, end, parent``
(frames inclusive, ``parent == 0`` for a root track). This is the Cell Tracking Challenge format;
:func:`validate_tracks` applies the same rules as the CTC consistency checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "LineageError",
    "LINEAGE_COLUMNS",
    "as_lineage",
    "lineage_from_labels",
    "read_man_track",
    "format_man_track",
    "track_problems",
    "track_problems_streaming",
    "validate_tracks",
    "crop_lineage",
]

LINEAGE_COLUMNS = ("id", "start", "end", "parent")


class LineageError(ValueError):
    """A label video and its lineage table disagree, or the table itself is malformed."""


def as_lineage(table: object) -> np.ndarray:
    """Return ``table`` as a ``(N, 4) int64`` lineage array (id, start, end, parent).

    Raises :class:`LineageError` when it has the wrong shape or non-integer values.
    """
    array = np.asarray(table)
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise LineageError(f"lineage must have shape (N, 4) (id, start, end, parent), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise LineageError("lineage must hold integers (id, start, end, parent)")
    return array.astype(np.int64)


def read_man_track(path: str | Path) -> np.ndarray:
    """Read a CTC ``man_track.txt`` into a ``(N, 4) int64`` lineage array.

    Raises :class:`FileNotFoundError` when missing and :class:`LineageError` naming the line when a
    line does not hold four integers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lineage file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            values = [int(field) for field in fields]
        except ValueError:
            raise LineageError(f"{path}:{number}: expected 4 integers 'id start end parent', got {line!r}") from None
        if len(values) != 4:
            raise LineageError(f"{path}:{number}: expected 4 integers 'id start end parent', got {line!r}")
        rows.append(values)
    return as_lineage(np.array(rows, dtype=np.int64).reshape(-1, 4))


def format_man_track(lineage: np.ndarray) -> str:
    """Format a lineage array as the text of a CTC ``man_track.txt`` (rows sorted by id)."""
    lineage = as_lineage(lineage)
    lineage = lineage[np.argsort(lineage[:, 0], kind="stable")]
    return "".join(f"{i} {s} {e} {p}\n" for i, s, e, p in lineage.tolist())


def _presence(frame_ids: Iterable[np.ndarray]) -> dict[int, np.ndarray]:
    """Map every non-zero id to the sorted frames it occurs in, from each frame's ids."""
    frames_of: dict[int, list[int]] = {}
    for t, ids in enumerate(frame_ids):
        for label in np.asarray(ids).tolist():
            if label:
                frames_of.setdefault(int(label), []).append(t)
    return {label: np.asarray(frames) for label, frames in frames_of.items()}


def lineage_from_labels(labels: np.ndarray, parents: dict[int, int] | None = None) -> np.ndarray:
    """Build a lineage table from a label video: one track per id, spanning its first..last frame.

    ``parents`` optionally maps a track id to its parent id. The result only validates when no id
    has gaps; use it for videos whose tracks are known to be contiguous.
    """
    parents = parents or {}
    rows = [
        (label, int(frames[0]), int(frames[-1]), int(parents.get(label, 0)))
        for label, frames in sorted(_presence(np.unique(f) for f in np.asarray(labels)).items())
    ]
    return as_lineage(np.array(rows, dtype=np.int64).reshape(-1, 4))


def track_problems(labels: np.ndarray, lineage: np.ndarray) -> list[str]:
    """List every inconsistency between a ``(T, H, W)`` label video and its lineage table.

    The rules are those of the CTC checker: every id of the table occurs in exactly the frames
    ``start..end`` with no gaps, every id in the video is in the table, ids are positive and unique,
    parents exist and end before their daughters start. Each message names the id and frame.
    An empty list means consistent.
    """
    labels = np.asarray(labels)
    if labels.ndim != 3:
        return [f"label video must be (T, H, W), got shape {labels.shape}"]
    if not np.issubdtype(labels.dtype, np.integer):
        return [f"label video must have an integer dtype, got {labels.dtype}"]
    if labels.size and labels.min() < 0:
        t = int(np.argwhere(labels < 0)[0, 0])
        return [f"frame {t}: negative label values"]
    return track_problems_streaming([np.unique(frame) for frame in labels], lineage)


def track_problems_streaming(frame_ids: Sequence[np.ndarray], lineage: np.ndarray) -> list[str]:
    """:func:`track_problems` from each frame's ids (``np.unique`` of each label frame).

    Lets a video written frame by frame be validated without holding it in memory.
    """
    try:
        lineage = as_lineage(lineage)
    except LineageError as error:
        return [str(error)]
    problems: list[str] = []
    n_frames = len(frame_ids)
    ids, counts = np.unique(lineage[:, 0], return_counts=True)
    for track_id in ids[counts > 1].tolist():
        problems.append(f"track {track_id}: listed {int(counts[ids == track_id][0])} times in the lineage")
    presence = _presence(frame_ids)
    by_id = {int(row[0]): row for row in lineage}
    for track_id, start, end, parent in lineage.tolist():
        if track_id <= 0:
            problems.append(f"lineage row with id {track_id}: ids must be positive (0 is background)")
            continue
        if start > end:
            problems.append(f"track {track_id}: start {start} is after end {end}")
            continue
        if start < 0 or end >= n_frames:
            problems.append(f"track {track_id}: frames {start}..{end} outside the video's 0..{n_frames - 1}")
        frames = presence.get(track_id, np.zeros(0, dtype=int))
        expected = np.arange(max(start, 0), min(end, n_frames - 1) + 1)
        missing = np.setdiff1d(expected, frames)
        extra = np.setdiff1d(frames, expected)
        if missing.size:
            problems.append(
                f"track {track_id}: missing from frame {int(missing[0])} "
                f"({missing.size} frame(s) missing; lineage says {start}..{end})"
            )
        if extra.size:
            problems.append(
                f"track {track_id}: present in frame {int(extra[0])} outside its lineage span {start}..{end}"
            )
        if parent < 0:
            problems.append(f"track {track_id}: negative parent {parent}")
        elif parent:
            if parent == track_id:
                problems.append(f"track {track_id}: is its own parent")
            elif parent not in by_id:
                problems.append(f"track {track_id}: parent {parent} is not in the lineage")
            elif by_id[parent][2] >= start:
                problems.append(
                    f"track {track_id}: starts in frame {start} but its parent {parent} "
                    f"ends in frame {int(by_id[parent][2])} (a parent must end before its daughters start)"
                )
    for track_id in sorted(set(presence) - set(by_id)):
        problems.append(f"label {track_id} in frame {int(presence[track_id][0])} is not in the lineage")
    return problems


def validate_tracks(labels: np.ndarray, lineage: np.ndarray) -> None:
    """Raise :class:`LineageError` listing every problem :func:`track_problems` finds."""
    problems = track_problems(labels, lineage)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise LineageError(f"label video and lineage disagree ({len(problems)} problem(s)):\n  {shown}{more}")


def crop_lineage(lineage: np.ndarray, first: int, last: int) -> np.ndarray:
    """Restrict a lineage table to frames ``first..last`` (inclusive) and renumber them from 0.

    Tracks outside the window are dropped, spans are clipped, and a parent that ends before the
    window starts is replaced by 0 (the daughter becomes a root of the cropped video). A parent the
    table does not hold at all (or a negative one) is kept as it is, so that validation still
    reports it rather than the crop hiding it.
    """
    lineage = as_lineage(lineage)
    keep = (lineage[:, 1] <= last) & (lineage[:, 2] >= first)
    kept = lineage[keep].copy()
    cropped_away = set(lineage[~keep, 0].tolist()) - set(kept[:, 0].tolist())
    kept[:, 1] = np.maximum(kept[:, 1], first) - first
    kept[:, 2] = np.minimum(kept[:, 2], last) - first
    kept[:, 3] = [0 if parent in cropped_away else parent for parent in kept[:, 3].tolist()]
    return kept
