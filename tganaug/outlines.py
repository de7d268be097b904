"""Full-outline label videos with track ids, from CTC marker annotations and outline masks.

The TRA masks of most real Cell Tracking Challenge datasets are *markers*: a small blob inside each
cell whose label is the track id. A mask-to-image generator needs every cell's whole outline with a
track id, so the outlines of a segmentation (``NN_ST/SEG`` silver truth, every frame, or
``NN_GT/SEG``) are given the id of the marker they contain:

- an outline object gets a marker's id when more than ``min_marker_fraction`` of the marker's pixels
  lie inside it (so a marker joins at most one object); an object holding several markers (two cells
  merged by the segmentation) takes the one it overlaps most, the others count as markers without an
  object;
- an object without a marker is an unannotated cell: kept with an id of its own (linked over
  consecutive frames by overlap) so that no visible cell is left without a label, or dropped;
- a marker without an object keeps its marker pixels as its outline, where no object lies, so the
  track is not lost; or is dropped.

The lineage is rebuilt from the joined video: a track that lost its outline in some frames is split at
the gap, each later piece a new id whose parent is the piece before (the CTC way to write a gap).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from tganaug.io import _IMAGE_NAME, _LABEL_NAME, CTCFormatError, CTCSequence, list_frames, read_ctc, read_tiff
from tganaug.lineage import as_lineage

__all__ = ["JoinCounts", "OutlineReport", "OutlinedVideo", "join_frame", "join_markers", "marker_growth", "markers_are_outlines",
           "read_outlined_ctc"]

_SEG_NAME = re.compile(r"^man_seg(\d+)\.tif{1,2}$")
_MAX_ID = int(np.iinfo(np.uint16).max)


@dataclass(frozen=True)
class JoinCounts:
    """What joining markers to outlines found (per frame, or summed over a video)."""

    objects: int = 0
    joined: int = 0
    objects_without_marker: int = 0
    markers: int = 0
    markers_without_object: int = 0

    def __add__(self, other: JoinCounts) -> JoinCounts:
        return JoinCounts(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict."""
        return asdict(self)


@dataclass
class OutlinedVideo:
    """A joined video.

    Attributes:
        labels: ``(T, H, W) uint16`` full outlines, label = track id.
        lineage: ``(N, 4) int64`` (id, start, end, parent), frames counted from 0.
        counts: the counts summed over the frames.
        per_frame: the counts of each frame.
        unannotated_ids: ids given to objects without a marker (empty when they were dropped).
    """

    labels: np.ndarray
    lineage: np.ndarray
    counts: JoinCounts
    per_frame: list[JoinCounts]
    unannotated_ids: list[int]


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts of every (a id, b id) pair that overlaps, both ids non-zero: three ``(P,)`` int64 arrays."""
    both = (a > 0) & (b > 0)
    pairs, counts = np.unique(a[both].astype(np.int64) * (_MAX_ID + 1) + b[both].astype(np.int64), return_counts=True)
    return pairs // (_MAX_ID + 1), pairs % (_MAX_ID + 1), counts.astype(np.int64)


def _check_frame_pair(markers: np.ndarray, outlines: np.ndarray) -> None:
    if markers.shape != outlines.shape or markers.ndim != 2:
        raise ValueError(f"markers {markers.shape} and outlines {outlines.shape} must be two (H, W) frames of one shape")
    for name, array in (("markers", markers), ("outlines", outlines)):
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must be integer instance labels, got {array.dtype}")
        if array.size and (array.min() < 0 or array.max() > _MAX_ID):
            raise ValueError(f"{name} ids must lie in 0..65535")


def join_frame(markers: np.ndarray, outlines: np.ndarray, *, min_marker_fraction: float = 0.5,
               keep_markers_without_object: bool = True) -> tuple[np.ndarray, JoinCounts, list[int]]:
    """Give each outline object of one frame the id of the marker it contains.

    Args:
        markers: ``(H, W)`` integer marker labels (label = track id).
        outlines: ``(H, W)`` integer outline labels (any numbering).
        min_marker_fraction: share of a marker's pixels that must lie inside an object to join it (> 0.5
            makes the join unique).
        keep_markers_without_object: paint such a marker's own pixels (where no object lies) with its id.

    Returns:
        ``(H, W) uint16`` joined labels (marker ids; objects without a marker are 0), the frame's counts, and
        the outline ids of the objects without a marker.
    """
    markers, outlines = np.asarray(markers), np.asarray(outlines)
    _check_frame_pair(markers, outlines)
    if not 0.5 <= min_marker_fraction <= 1:
        raise ValueError(f"min_marker_fraction must lie in [0.5, 1], got {min_marker_fraction}")
    marker_ids = np.unique(markers)
    marker_ids = marker_ids[marker_ids > 0]
    object_ids = np.unique(outlines)
    object_ids = object_ids[object_ids > 0]
    marker_area = np.bincount(markers.ravel().astype(np.int64), minlength=_MAX_ID + 1) if marker_ids.size else None
    best: dict[int, tuple[int, int]] = {}  # object -> (overlap, marker)
    if marker_ids.size and object_ids.size:
        obj, mark, overlap = _overlaps(outlines, markers)
        inside = overlap > min_marker_fraction * marker_area[mark]
        for o, m, n in zip(obj[inside].tolist(), mark[inside].tolist(), overlap[inside].tolist()):
            if o not in best or n > best[o][0]:
                best[o] = (n, m)
    joined = np.zeros(outlines.shape, np.uint16)
    if best:
        lookup = np.zeros(int(object_ids.max()) + 1, np.uint16)
        for o, (_, m) in best.items():
            lookup[o] = m
        joined = lookup[outlines.astype(np.int64)]
    used = {m for _, m in best.values()}
    lost = [int(m) for m in marker_ids.tolist() if m not in used]
    if keep_markers_without_object and lost:
        free = outlines == 0
        for m in lost:
            joined[(markers == m) & free] = m
    unmatched = [int(o) for o in object_ids.tolist() if o not in best]
    counts = JoinCounts(objects=int(object_ids.size), joined=len(best), objects_without_marker=len(unmatched),
                        markers=int(marker_ids.size), markers_without_object=len(lost))
    return joined, counts, unmatched


def _split_at_gaps(labels: np.ndarray, parents: dict[int, int], next_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Lineage of ``labels`` (edited in place): an id absent for some frames inside its span is split there,
    each later piece a new id whose parent is the piece before; ``parents`` maps an id to its parent id."""
    presence: dict[int, list[int]] = {}
    for t, frame in enumerate(labels):
        for label in np.unique(frame).tolist():
            if label:
                presence.setdefault(int(label), []).append(t)
    pieces: dict[int, list[tuple[int, int, int]]] = {}  # original id -> (id, start, end)
    for label, frames in sorted(presence.items()):
        runs, start = [], frames[0]
        for previous, current in zip(frames, frames[1:] + [None]):
            if current is None or current != previous + 1:
                runs.append((start, previous))
                start = current
        ids = [label]
        for run_start, run_end in runs[1:]:
            if next_id > _MAX_ID:
                raise ValueError("joining needs track ids beyond 65535 (uint16) to write the gaps of broken tracks")
            labels[run_start: run_end + 1][labels[run_start: run_end + 1] == label] = next_id
            ids.append(next_id)
            next_id += 1
        pieces[label] = [(i, s, e) for i, (s, e) in zip(ids, runs)]
    rows = []
    for label, label_pieces in pieces.items():
        parent = parents.get(label, 0)
        # a daughter whose parent's outline lasts into its first frame records no division
        parent = pieces[parent][-1][0] if parent in pieces and pieces[parent][-1][2] < label_pieces[0][1] else 0
        for i, start, end in label_pieces:
            rows.append((i, start, end, parent))
            parent = i
    return labels, as_lineage(np.array(sorted(rows), dtype=np.int64).reshape(-1, 4))


def join_markers(markers: np.ndarray, outlines: np.ndarray, lineage: np.ndarray, *, min_marker_fraction: float = 0.5,
                 keep_objects_without_marker: bool = True, keep_markers_without_object: bool = True,
                 min_link_iou: float = 0.3) -> OutlinedVideo:
    """Join a video's markers to its outlines (see the module docstring for the rules).

    Args:
        markers: ``(T, H, W)`` integer marker labels, label = track id.
        outlines: ``(T, H, W)`` integer outline labels of the same frames (any numbering per frame).
        lineage: ``(N, 4)`` lineage of the markers (id, start, end, parent), frames from 0.
        keep_objects_without_marker: give unannotated objects ids of their own (linked frame to frame when their
            overlap IoU is at least ``min_link_iou``) instead of dropping them.

    Returns:
        An :class:`OutlinedVideo` whose labels and lineage pass :func:`tganaug.lineage.track_problems`.
    """
    markers, outlines = np.asarray(markers), np.asarray(outlines)
    if markers.ndim != 3 or markers.shape != outlines.shape:
        raise ValueError(f"markers {markers.shape} and outlines {outlines.shape} must be (T, H, W) videos of one shape")
    lineage = as_lineage(lineage)
    parents = {int(i): int(p) for i, _, _, p in lineage.tolist()}
    next_id = int(max(lineage[:, 0].max(initial=0), markers.max(initial=0))) + 1
    labels = np.zeros(markers.shape, np.uint16)
    per_frame, unannotated = [], []
    previous: tuple[np.ndarray, dict[int, int]] | None = None  # (outline frame, outline id -> given id)
    for t in range(markers.shape[0]):
        joined, counts, unmatched = join_frame(markers[t], outlines[t], min_marker_fraction=min_marker_fraction,
                                               keep_markers_without_object=keep_markers_without_object)
        per_frame.append(counts)
        given: dict[int, int] = {}
        if keep_objects_without_marker and unmatched:
            links: dict[int, int] = {}
            if previous is not None and previous[1]:
                obj, prev, overlap = _overlaps(outlines[t], previous[0])
                area_now = np.bincount(outlines[t].ravel().astype(np.int64))
                area_prev = np.bincount(previous[0].ravel().astype(np.int64))
                iou = overlap / (area_now[obj] + area_prev[prev] - overlap)
                for o, p, score in sorted(zip(obj.tolist(), prev.tolist(), iou.tolist()), key=lambda x: -x[2]):
                    if score >= min_link_iou and o in unmatched and p in previous[1] and o not in links \
                            and previous[1][p] not in links.values():
                        links[o] = previous[1][p]
            for o in unmatched:
                if o in links:
                    given[o] = links[o]
                else:
                    if next_id > _MAX_ID:
                        raise ValueError("too many unannotated objects: their ids would pass 65535 (uint16)")
                    given[o] = next_id
                    unannotated.append(next_id)
                    next_id += 1
                joined[outlines[t] == o] = given[o]
        previous = (outlines[t], given)
        labels[t] = joined
    labels, joined_lineage = _split_at_gaps(labels, parents, next_id)
    total = sum(per_frame, JoinCounts())
    return OutlinedVideo(labels, joined_lineage, total, per_frame, unannotated)


def markers_are_outlines(markers: np.ndarray, outlines: np.ndarray, *, min_iou: float = 0.8) -> bool:
    """True when ``markers`` already are full outlines (dense TRA masks): the median IoU of each marker with the
    object it overlaps most is at least ``min_iou``. Both are ``(T, H, W)`` or ``(H, W)`` integer labels."""
    markers, outlines = np.asarray(markers), np.asarray(outlines)
    if markers.shape != outlines.shape:
        raise ValueError(f"markers {markers.shape} and outlines {outlines.shape} differ in shape")
    marker, obj, overlap = _overlaps(markers, outlines)
    if not marker.size:
        return False
    marker_area = np.bincount(markers.ravel().astype(np.int64))
    object_area = np.bincount(outlines.ravel().astype(np.int64))
    best: dict[int, float] = {}
    for m, o, n in zip(marker.tolist(), obj.tolist(), overlap.tolist()):
        best[m] = max(best.get(m, 0.0), n / (marker_area[m] + object_area[o] - n))
    return float(np.median(list(best.values()))) >= min_iou


@dataclass(frozen=True)
class OutlineReport:
    """How a sequence's full outlines were made.

    Attributes:
        method: ``"as-is"`` (dense TRA masks), ``"joined"`` (markers joined to SEG outlines) or ``"grown"``
            (markers grown by ``growth_px``, where no outlines cover every frame).
        source: the folder the outlines came from (``"01_ST/SEG"``), or the TRA folder.
        counts: the join counts (``"joined"`` only).
        growth_px: pixels the markers were grown by (``"grown"`` only), fitted on the SEG frames among the frames read.
    """

    method: str
    source: str
    counts: JoinCounts | None = None
    growth_px: int | None = None

    def describe(self) -> str:
        """One phrase for logs and reports: ``"marker TRA masks joined to 01_ST/SEG"``."""
        return {"as-is": "TRA masks used as they are (already full outlines)", "joined": f"marker TRA masks joined to {self.source}",
                "grown": f"marker TRA masks grown by {self.growth_px} px"}[self.method]

    def to_dict(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        return {"method": self.method, "source": self.source,
                "counts": None if self.counts is None else self.counts.to_dict(), "growth_px": self.growth_px}


def marker_growth(markers: Sequence[np.ndarray], outlines: Sequence[np.ndarray], candidates: Sequence[int] = tuple(range(13))) -> int:
    """Pixels by which growing the markers (``skimage.segmentation.expand_labels``) best matches the outlines: the
    candidate with the highest mean IoU over the outline objects that hold a marker. ``markers`` and ``outlines``
    are matching ``(H, W)`` integer frames (outlines may cover only some cells)."""
    scores = np.zeros(len(candidates))
    n = 0
    for marker_frame, outline_frame in zip(markers, outlines):
        joined, _, _ = join_frame(marker_frame, outline_frame, keep_markers_without_object=False)
        ids = np.unique(joined)
        ids = ids[ids > 0]
        n += ids.size
        joined_area = np.bincount(joined.ravel().astype(np.int64), minlength=_MAX_ID + 1)
        distance, nearest = ndimage.distance_transform_edt(marker_frame == 0, return_indices=True)
        nearest_label = marker_frame[tuple(nearest)]
        for k, pixels in enumerate(candidates):
            grown = np.where(distance <= pixels, nearest_label, 0)  # what skimage's expand_labels computes, one EDT for all
            grown_area = np.bincount(grown.ravel().astype(np.int64), minlength=_MAX_ID + 1)
            a, b, overlap = _overlaps(grown, joined)
            same = a == b
            scores[k] += float(np.sum(overlap[same] / (grown_area[a[same]] + joined_area[b[same]] - overlap[same])))
    if n == 0:
        raise ValueError("no outline object holds a marker: cannot fit how far to grow the markers")
    return int(candidates[int(np.argmax(scores))])


def _split_holding(root: Path, sequence: str, wanted: Sequence[int]) -> Sequence[int]:
    """The frames of the split (train or eval) of ``sequence`` that holds every frame of ``wanted``; no frame when no
    split does (or none is declared): outlines of another split are never read."""
    from tganaug.splits import split_frames

    count = len(list_frames(root / sequence, _IMAGE_NAME))
    for split in ("train", "eval"):
        try:
            frames = split_frames(root, split, count, sequence)
        except ValueError:
            continue
        if all(t in frames for t in wanted):
            return frames
    return ()


def _outline_files(root: Path, sequence: str, kind: str) -> dict[int, Path]:
    return list_frames(root / f"{sequence}_{kind}" / "SEG", _SEG_NAME)


def read_outlined_ctc(path: str | Path, sequence: str = "01", frames: Sequence[int] | str | None = None, *,
                      read_images: bool = True, **join_options: object) -> tuple[CTCSequence, OutlineReport]:
    """Read a CTC sequence with full outlines labelled by track id.

    - TRA masks that already are full outlines (dense, e.g. Fluo-N2DH-SIM+; or no SEG folder at all) are used as
      they are;
    - marker TRA masks are joined (:func:`join_markers`, ``join_options`` passed on) to the outlines of
      ``NN_ST/SEG`` or ``NN_GT/SEG``, whichever has every requested frame (ST preferred);
    - where neither covers every frame (Fluo-N2DH-GOWT1: a few cells of a few frames), the markers are grown by the
      distance fitted on the SEG frames among the requested ones (:func:`marker_growth`).

    Returns:
        The sequence (labels ``(T, H, W) uint16`` outlines with track ids, lineage counted from 0) and an
        :class:`OutlineReport`.
    """
    from skimage.segmentation import expand_labels

    root = Path(path)
    sequence_data = read_ctc(root, sequence, frames, read_images=read_images)
    wanted = [int(t) for t in sequence_data.frames]
    tra_source = f"{sequence}_{sequence_data.annotation}/TRA"
    found = {kind: _outline_files(root, sequence, kind) for kind in ("ST", "GT")}
    if not any(found.values()):
        return sequence_data, OutlineReport("as-is", tra_source)
    covering = [kind for kind in ("ST", "GT") if found[kind] and all(t in found[kind] for t in wanted)]
    if not covering:
        partial = [(t, found[kind][t]) for kind in ("ST", "GT") for t in wanted if t in found[kind]]
        if partial:
            rows = [wanted.index(t) for t, _ in partial]
            markers = sequence_data.labels[rows]
        else:  # none among the frames read: fit the growth on the outlined frames of the split that holds them
            same_split = _split_holding(root, sequence, wanted)
            partial = [(t, found[kind][t]) for kind in ("ST", "GT") for t in same_split if t in found[kind]]
            if not partial:
                looked = ", ".join(f"{sequence}_{kind}/SEG" for kind in ("ST", "GT") if found[kind])
                raise CTCFormatError(f"{root}: {looked} has no outline for any of sequence {sequence}'s frames "
                                     f"{wanted[0]}..{wanted[-1]} nor for the other frames of their split: cannot tell "
                                     "whether the TRA masks are markers")
            tra = list_frames(root / tra_source, _LABEL_NAME)
            markers = np.stack([read_tiff(tra[t]) for t, _ in partial])
        outline_frames = [read_tiff(file) for _, file in partial]
        if markers_are_outlines(markers, np.stack(outline_frames)):
            return sequence_data, OutlineReport("as-is", tra_source)
        growth = marker_growth(markers, outline_frames)
        sequence_data.labels = np.stack([expand_labels(frame, growth) for frame in sequence_data.labels]).astype(np.uint16)
        sequence_data.annotation = f"{sequence_data.annotation}, markers grown {growth} px"
        return sequence_data, OutlineReport("grown", tra_source, growth_px=growth)
    kind = covering[0]
    outlines = np.stack([read_tiff(found[kind][t]) for t in wanted])
    source = f"{sequence}_{kind}/SEG"
    if outlines.shape != sequence_data.labels.shape:
        raise CTCFormatError(f"{root}: {source} outlines {outlines.shape} and TRA masks {sequence_data.labels.shape} differ in shape")
    if not np.issubdtype(outlines.dtype, np.integer):
        raise CTCFormatError(f"{root / source}: outlines must be integer labels, got {outlines.dtype}")
    if markers_are_outlines(sequence_data.labels, outlines):
        return sequence_data, OutlineReport("as-is", tra_source)
    video = join_markers(sequence_data.labels, outlines, sequence_data.lineage, **join_options)
    sequence_data.labels, sequence_data.lineage = video.labels, video.lineage
    sequence_data.annotation = f"{sequence_data.annotation} joined to {source}"
    return sequence_data, OutlineReport("joined", source, counts=video.counts)
