"""Turn a linking graph over per-frame detections into CTC tracks (relabelled video + lineage).

Every tracker here (and any learned linker) produces the same thing: edges between detections
``(t1, label1) -> (t2, label2)`` with ``t2 > t1``. :func:`tracks_from_edges` converts that graph into
the Cell Tracking Challenge representation, so that the CTC rules hold by construction:

* a chain of one-to-one edges between consecutive frames is one track;
* a detection with two (or more) successors is a division: its track ends there and each
  successor starts a daughter track whose parent is that track;
* an edge that skips frames (gap closing) ends the track; the detection after the gap starts a
  new track whose parent is the one before it (the CTC convention for gaps);
* a detection with several predecessors (a merge, which CTC cannot represent) keeps only the
  edge from the latest frame (ties: the first edge given); the others are dropped;
* a detection without any edge is a track of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tganaug.lineage import as_lineage

__all__ = [
    "Detection",
    "Edge",
    "DetectionTable",
    "check_label_video",
    "detection_table",
    "detections",
    "relabel_video",
    "tracks_from_edges",
]

#: one detection: (frame index, instance label in that frame)
Detection = tuple[int, int]
#: one link between two detections, earlier frame first
Edge = tuple[Detection, Detection]


def check_label_video(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Check a ``(T, H, W)`` integer instance-label video and return it as an integer array.

    Raises ``ValueError`` for a wrong shape, an empty video or negative ids, ``TypeError`` for a
    non-integer dtype.
    """
    array = np.asarray(labels)
    if array.ndim != 3:
        raise ValueError(f"{name} must be a (T, H, W) label video, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0 or array.shape[2] == 0:
        raise ValueError(f"{name} is an empty video (shape {array.shape})")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype (instance ids), got {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"{name} holds negative ids")
    return array


def detections(labels: np.ndarray) -> list[np.ndarray]:
    """Per frame, the sorted non-zero instance ids of a ``(T, H, W)`` label video."""
    return [ids[ids != 0] for ids in (np.unique(frame) for frame in labels)]


@dataclass(frozen=True)
class DetectionTable:
    """Every detection of a label video, one row each, ordered by frame then label.

    Attributes (all ``(D,)``): ``frame`` int64, ``label`` int64, ``y`` / ``x`` float64 centroid
    (row, column, pixels), ``area`` int64 pixel count.
    """

    frame: np.ndarray
    label: np.ndarray
    y: np.ndarray
    x: np.ndarray
    area: np.ndarray

    def __len__(self) -> int:
        return int(self.frame.size)


def detection_table(labels: np.ndarray) -> DetectionTable:
    """Centroid and area of every instance in every frame of a ``(T, H, W)`` label video."""
    labels = check_label_video(labels)
    rows, cols = np.indices(labels.shape[1:])
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
    for t, frame in enumerate(labels):
        flat = frame.ravel().astype(np.int64)
        area = np.bincount(flat)
        ids = np.nonzero(area)[0]
        ids = ids[ids != 0]
        if ids.size == 0:
            continue
        y = np.bincount(flat, weights=rows.ravel())[ids] / area[ids]
        x = np.bincount(flat, weights=cols.ravel())[ids] / area[ids]
        for column, values in zip(columns, (np.full(ids.size, t), ids, y, x, area[ids])):
            column.append(values)
    frame_, label_, y_, x_, area_ = (np.concatenate(c) if c else np.zeros(0) for c in columns)
    return DetectionTable(
        frame_.astype(np.int64), label_.astype(np.int64), y_.astype(np.float64), x_.astype(np.float64), area_.astype(np.int64)
    )


def relabel_video(labels: np.ndarray, mapping: list[dict[int, int]]) -> np.ndarray:
    """Relabel each frame ``t`` of ``labels`` by ``mapping[t]`` (old id -> new id; unmapped -> 0).

    Returns ``(T, H, W) uint16``.
    """
    out = np.zeros(labels.shape, dtype=np.uint16)
    for t, frame in enumerate(labels):
        if not mapping[t]:
            continue
        lut = np.zeros(int(frame.max()) + 1, dtype=np.uint16)
        for old, new in mapping[t].items():
            lut[old] = new
        out[t] = lut[frame]
    return out


def tracks_from_edges(labels: np.ndarray, edges: Iterable[Edge]) -> tuple[np.ndarray, np.ndarray]:
    """Build CTC tracks from a ``(T, H, W)`` instance-label video and links between its detections.

    Args:
        labels: ``(T, H, W)`` integer per-frame instance labels (ids need not be consistent over time).
        edges: ``((t1, label1), (t2, label2))`` links with ``t2 > t1``; every endpoint must exist.

    Returns:
        ``(tracked, lineage)``: ``(T, H, W) uint16`` video relabelled by track id (1, 2, ... in
        order of first appearance) and the ``(N, 4) int64`` lineage (id, start, end, parent),
        consistent by construction (:func:`tganaug.lineage.validate_tracks` passes).

    Raises:
        ValueError: an edge points backwards in time or to a detection that does not exist, or
            the video has more than 65535 tracks.
    """
    labels = check_label_video(labels)
    present = [set(ids.tolist()) for ids in detections(labels)]
    n_frames = labels.shape[0]
    incoming: dict[Detection, Detection] = {}
    for edge in edges:
        (t1, l1), (t2, l2) = (int(edge[0][0]), int(edge[0][1])), (int(edge[1][0]), int(edge[1][1]))
        if t2 <= t1:
            raise ValueError(f"edge ({t1}, {l1}) -> ({t2}, {l2}) does not go forward in time")
        for t, label in ((t1, l1), (t2, l2)):
            if not 0 <= t < n_frames or label not in present[t]:
                raise ValueError(f"edge ({t1}, {l1}) -> ({t2}, {l2}): no detection with label {label} in frame {t}")
        previous = incoming.get((t2, l2))
        if previous is None or t1 > previous[0]:  # merge: keep the latest predecessor
            incoming[(t2, l2)] = (t1, l1)
    successors: dict[Detection, list[Detection]] = {}
    for child, parent in incoming.items():
        successors.setdefault(parent, []).append(child)

    track_of: dict[Detection, int] = {}
    rows: list[list[int]] = []  # id, start, end, parent
    mapping: list[dict[int, int]] = [{} for _ in range(n_frames)]
    for t in range(n_frames):
        for label in sorted(present[t]):
            node = (t, label)
            parent = incoming.get(node)
            if parent is not None and successors[parent] == [node] and parent[0] == t - 1:
                track_id = track_of[parent]  # one-to-one link to the previous frame: same track
                rows[track_id - 1][2] = t
            else:
                track_id = len(rows) + 1
                rows.append([track_id, t, t, track_of[parent] if parent is not None else 0])
            track_of[node] = track_id
            mapping[t][label] = track_id
    if len(rows) > np.iinfo(np.uint16).max:
        raise ValueError(f"{len(rows)} tracks do not fit CTC's uint16 label ids")
    return relabel_video(labels, mapping), as_lineage(np.array(rows, dtype=np.int64).reshape(-1, 4))
