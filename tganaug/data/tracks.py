"""Keep a lineage table consistent with a label video after crops and spatial transforms.

Cropping a clip in time is :func:`tganaug.lineage.crop_lineage`. Cropping or warping in space can
remove a cell from some frames: its span shrinks, it can vanish, or it can leave and come back
(a gap, which CTC forbids inside one track). :func:`restrict_lineage` rebuilds the table from the
labels that remain, following the CTC convention for gaps: the re-appearing part gets a new id
whose parent is the part before the gap.
"""

from __future__ import annotations

import numpy as np

from tganaug.lineage import as_lineage

__all__ = ["presence_matrix", "restrict_lineage"]


def presence_matrix(labels: np.ndarray) -> np.ndarray:
    """``(T, max_id + 1) bool``: which ids occur in which frame of a ``(T, H, W)`` integer video."""
    labels = np.asarray(labels)
    n_ids = int(labels.max()) + 1 if labels.size else 1
    return np.stack([np.bincount(frame.ravel(), minlength=n_ids) > 0 for frame in labels.astype(np.intp)])


def restrict_lineage(labels: np.ndarray, lineage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make ``lineage`` match the ids present in ``labels`` (``(T, H, W)`` integer, ``(N, 4)`` table).

    Returns ``(labels, lineage)``: tracks absent from the video are dropped, spans shrink to the
    frames where the id occurs, each gap starts a new track (new id > every existing id, parent =
    the previous part; the label video is relabelled there, so it may be a new array), and a
    parent that is no longer present becomes 0. Ids present in ``labels`` but missing from
    ``lineage`` raise ``ValueError`` (the input was inconsistent, not merely cropped).
    When nothing changed the inputs are returned unchanged (no copy).
    """
    labels = np.asarray(labels)
    lineage = as_lineage(lineage)
    present = presence_matrix(labels)
    known = np.zeros(present.shape[1], dtype=bool)
    listed = lineage[:, 0][lineage[:, 0] < present.shape[1]]
    known[listed] = True
    stray = np.nonzero(present.any(axis=0) & ~known)[0]
    stray = stray[stray > 0]
    if stray.size:
        raise ValueError(f"label id(s) {stray[:5].tolist()} occur in the video but not in the lineage")
    next_id = int(max(lineage[:, 0].max(initial=0), present.shape[1] - 1)) + 1
    rows: list[list[int]] = []
    last_part: dict[int, list[tuple[int, int, int]]] = {}  # original id -> [(new id, start, end)]
    changes: list[tuple[int, int, int, int]] = []  # (first frame, last frame, old id, new id)
    for track_id, _start, _end, _parent in lineage.tolist():
        frames = np.nonzero(present[:, track_id])[0] if track_id < present.shape[1] else np.zeros(0, dtype=int)
        if frames.size == 0:
            continue
        breaks = np.nonzero(np.diff(frames) > 1)[0]
        starts = np.concatenate([[frames[0]], frames[breaks + 1]])
        ends = np.concatenate([frames[breaks], [frames[-1]]])
        parts = []
        for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
            new_id = track_id if k == 0 else next_id
            if k:
                next_id += 1
                changes.append((s, e, track_id, new_id))
            parts.append((new_id, s, e))
        last_part[track_id] = parts
    for track_id, _start, _end, parent in lineage.tolist():
        parts = last_part.get(track_id)
        if not parts:
            continue
        first_id, first_start, _ = parts[0]
        new_parent = 0
        for pid, _ps, pe in last_part.get(parent, []) if parent else []:
            if pe < first_start:
                new_parent = pid  # the latest part of the parent that ends before the daughter starts
        rows.append([first_id, first_start, parts[0][2], new_parent])
        for k in range(1, len(parts)):
            rows.append([parts[k][0], parts[k][1], parts[k][2], parts[k - 1][0]])
    new_lineage = np.array(sorted(rows), dtype=np.int64).reshape(-1, 4)
    if changes:
        if next_id - 1 > np.iinfo(np.uint16).max:
            raise ValueError("too many track ids after splitting gaps to fit in uint16")
        labels = labels.copy()
        for t0, t1, old, new in changes:
            segment = labels[t0 : t1 + 1]
            segment[segment == old] = new
    if not changes and new_lineage.shape == lineage.shape and np.array_equal(new_lineage, lineage[np.argsort(lineage[:, 0], kind="stable")]):
        return labels, lineage
    return labels, new_lineage
