"""Tracking metrics: CLEAR-MOT measures (motmetrics) and CTC measures DET / SEG / TRA (py-ctcmetrics).

* :func:`mot_metrics`: MOTA, MT, ML, precision, recall and ID switches from ``motmetrics``. Each
  frame's GT and result instances are matched by **mask IoU >= 0.5** (``1 - IoU`` distances, NaN
  below the threshold; at >= 0.5 a match is unique) or, optionally, by centroid distance.
  MT and ML are *fractions* of the GT tracks (tracked >= 80 % / < 20 % of their frames), as the
  tGAN paper reports them. A GT track is one CTC track id (a daughter after a division is a new one).
* :func:`ctc_measures`: DET, SEG, TRA (AOGM-based, Matula et al. 2015) by ``ctc_metrics.evaluate_sequence``
  on temporary CTC folders. SEG needs segmentation ground truth (``SEG`` masks, or dense TRA masks
  passed as such); it is NaN without.
* LNK, division precision / recall / F1 and CHOTA come from ``traccuracy``
  (:func:`tganaug.tracking.graph_metrics.traccuracy_measures`).
* :func:`score_tracking` all of them together; :func:`score_dirs` the same from a RES folder and a GT dataset.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import tifffile
from tqdm import tqdm

from tganaug.io import CTCFormatError, annotation_dir, list_frames, read_ctc, read_tiff
from tganaug.lineage import as_lineage, format_man_track, validate_tracks
from tganaug.tracking.graph_metrics import GRAPH_COLUMNS, traccuracy_measures
from tganaug.tracking.matching import centroid_distance_matrix, iou_distance_matrix
from tganaug.tracking.results import read_result, write_result_files

__all__ = [
    "MOT_COLUMNS",
    "CTC_COLUMNS",
    "GRAPH_COLUMNS",
    "SCORE_COLUMNS",
    "mot_metrics",
    "ctc_measures",
    "score_tracking",
    "score_dirs",
    "read_seg_reference",
    "format_table",
]

MOT_COLUMNS = ("MOTA", "MT", "ML", "precision", "recall", "IDSW")
CTC_COLUMNS = ("DET", "SEG", "TRA")
#: the columns of the paper's tables (plus ID switches, the CTC measures and traccuracy's graph measures)
SCORE_COLUMNS = MOT_COLUMNS + CTC_COLUMNS + GRAPH_COLUMNS

_SEG_NAME = re.compile(r"^man_seg(\d+)\.tif{1,2}$")


def _check_pair(gt_labels: np.ndarray, res_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt = np.asarray(gt_labels)
    res = np.asarray(res_labels)
    for name, video in (("ground truth", gt), ("result", res)):
        if video.ndim != 3 or 0 in video.shape:
            raise ValueError(f"{name} labels must be a non-empty (T, H, W) video, got shape {video.shape}")
        if not np.issubdtype(video.dtype, np.integer):
            raise TypeError(f"{name} labels must be integer instance ids, got {video.dtype}")
    if gt.shape != res.shape:
        raise ValueError(f"result {res.shape} and ground truth {gt.shape} differ in shape")
    return gt, res


def mot_metrics(
    gt_labels: np.ndarray,
    res_labels: np.ndarray,
    *,
    match: str = "iou",
    iou_threshold: float = 0.5,
    max_distance: float = 10.0,
    progress: bool = False,
) -> dict[str, float]:
    """CLEAR-MOT measures of a ``(T, H, W)`` result label video against ``(T, H, W)`` GT labels (``progress``: a tqdm
    bar of the frames on stderr).

    Labels are track ids (the same id in two frames is the same track). ``match="iou"`` pairs
    instances with mask IoU >= ``iou_threshold``; ``match="centroid"`` pairs centroids closer than
    ``max_distance`` pixels (Hungarian within each frame, as motmetrics does).

    Returns a dict with MOTA, MT, ML (fractions of GT tracks), precision, recall, IDSW (count),
    and the counts GT_tracks, GT_objects, TP, FP, FN.
    """
    import motmetrics as mm  # noqa: PLC0415  (imports pandas; only when scoring)

    gt, res = _check_pair(gt_labels, res_labels)
    if match == "iou":
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        distances = lambda a, b: iou_distance_matrix(a, b, iou_threshold)  # noqa: E731
    elif match == "centroid":
        if max_distance <= 0:
            raise ValueError(f"max_distance must be positive, got {max_distance}")
        distances = lambda a, b: centroid_distance_matrix(a, b, max_distance)  # noqa: E731
    else:
        raise ValueError(f"unknown match {match!r}; choose 'iou' or 'centroid'")
    accumulator = mm.MOTAccumulator(auto_id=True)
    for gt_frame, res_frame in tqdm(zip(gt, res), total=len(gt), desc="CLEAR-MOT", unit="frame", disable=not progress):
        gt_ids, res_ids, matrix = distances(gt_frame, res_frame)
        accumulator.update(gt_ids.tolist(), res_ids.tolist(), matrix)
    names = ["num_unique_objects", "num_objects", "num_detections", "num_false_positives", "num_misses",
             "num_switches", "mostly_tracked", "mostly_lost", "mota", "precision", "recall"]
    summary = mm.metrics.create().compute(accumulator, metrics=names, name="result").iloc[0]
    n_tracks = int(summary["num_unique_objects"])
    if int(summary["num_objects"]) == 0:
        raise ValueError("the ground truth has no objects: MOTA, recall, MT and ML are undefined")
    return {
        "MOTA": float(summary["mota"]),
        "MT": float(summary["mostly_tracked"]) / n_tracks,
        "ML": float(summary["mostly_lost"]) / n_tracks,
        "precision": float(summary["precision"]),
        "recall": float(summary["recall"]),
        "IDSW": int(summary["num_switches"]),
        "GT_tracks": n_tracks,
        "GT_objects": int(summary["num_objects"]),
        "TP": int(summary["num_detections"]),
        "FP": int(summary["num_false_positives"]),
        "FN": int(summary["num_misses"]),
    }


def ctc_measures(
    res_labels: np.ndarray,
    res_lineage: np.ndarray,
    gt_labels: np.ndarray,
    gt_lineage: np.ndarray,
    seg_reference: Mapping[int, np.ndarray] | None = None,
) -> dict[str, float]:
    """CTC DET, SEG and TRA of a result against GT (py-ctcmetrics, on temporary CTC folders).

    Args:
        res_labels / gt_labels: ``(T, H, W)`` integer videos, label = track id.
        res_lineage / gt_lineage: ``(N, 4)`` id/start/end/parent with frames counted from 0.
        seg_reference: frame index (0-based in this video) -> ``(H, W)`` segmentation GT for SEG;
            ``None`` or empty: SEG is NaN.

    Returns DET, SEG, TRA in [0, 1] and the AOGM counts (AOGM, AOGM_0, AOGM_NS, _FN, _FP, _ED, _EA, _EC).
    Raises :class:`tganaug.LineageError` when a video disagrees with its lineage.
    """
    from ctc_metrics import evaluate_sequence  # noqa: PLC0415

    gt, res = _check_pair(gt_labels, res_labels)
    for name, video in (("ground truth", gt), ("result", res)):  # the CTC tools read uint16 masks: larger ids would wrap
        if video.min() < 0 or video.max() > np.iinfo(np.uint16).max:
            raise ValueError(f"{name} label ids {int(video.min())}..{int(video.max())} are outside 0..65535 (CTC masks are uint16)")
    res_lineage, gt_lineage = as_lineage(res_lineage), as_lineage(gt_lineage)
    validate_tracks(gt, gt_lineage)
    if gt.max() == 0:
        raise ValueError("the ground truth has no objects: DET and TRA are undefined")
    if res.max() == 0:
        validate_tracks(res, res_lineage)
        return _empty_result_measures(gt, gt_lineage, seg_reference)
    with tempfile.TemporaryDirectory(prefix="tganaug-ctc-") as tmp:
        res_dir, gt_dir = Path(tmp) / "01_RES", Path(tmp) / "01_GT"
        res_dir.mkdir()
        (gt_dir / "TRA").mkdir(parents=True)
        write_result_files(res_dir, res, res_lineage)  # validates the result
        for t, frame in enumerate(gt):
            tifffile.imwrite(gt_dir / "TRA" / f"man_track{t:03d}.tif", frame.astype(np.uint16))
        (gt_dir / "TRA" / "man_track.txt").write_text(format_man_track(gt_lineage))
        metrics = ["Valid", "DET", "TRA"]
        if seg_reference:
            (gt_dir / "SEG").mkdir()
            for t, frame in sorted(seg_reference.items()):
                if not 0 <= t < gt.shape[0] or frame.shape != gt.shape[1:]:
                    raise ValueError(f"SEG reference frame {t} (shape {frame.shape}) does not fit the video {gt.shape}")
                tifffile.imwrite(gt_dir / "SEG" / f"man_seg{t:03d}.tif", np.asarray(frame).astype(np.uint16))
            metrics.append("SEG")
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = evaluate_sequence(str(res_dir), str(gt_dir), metrics=list(metrics), threads=1)
    if not results.get("Valid"):
        reasons = "; ".join(str(w.message) for w in caught[:5]) or "no reason given"
        raise ValueError(f"py-ctcmetrics rejected the result as invalid: {reasons}")
    scores = {key: float(results[key]) for key in ("DET", "TRA")}
    scores["SEG"] = float(results["SEG"]) if "SEG" in metrics else float("nan")
    for key in ("AOGM", "AOGM_0", "AOGM_NS", "AOGM_FN", "AOGM_FP", "AOGM_ED", "AOGM_EA", "AOGM_EC"):
        scores[key] = float(results[key])
    return scores


def _empty_result_measures(
    gt: np.ndarray, gt_lineage: np.ndarray, seg_reference: Mapping[int, np.ndarray] | None
) -> dict[str, float]:
    """CTC measures of a result without any object (py-ctcmetrics refuses such a result as invalid).

    Every GT vertex is a false negative and every GT edge missing, so AOGM = AOGM_0 and
    DET = TRA = 0; SEG is 0 (every reference object has Jaccard 0), NaN without a reference.
    """
    vertices = sum(int(np.count_nonzero(np.unique(frame))) for frame in gt)
    ids = set(gt_lineage[:, 0].tolist())
    edges = int(np.sum(gt_lineage[:, 2] - gt_lineage[:, 1])) + sum(1 for parent in gt_lineage[:, 3] if parent in ids)
    aogm_0 = 10.0 * vertices + 1.5 * edges
    return {
        "DET": 0.0, "TRA": 0.0, "SEG": 0.0 if seg_reference else float("nan"),
        "AOGM": aogm_0, "AOGM_0": aogm_0, "AOGM_NS": 0.0, "AOGM_FN": float(vertices), "AOGM_FP": 0.0,
        "AOGM_ED": 0.0, "AOGM_EA": float(edges), "AOGM_EC": 0.0,
    }


def score_tracking(
    res_labels: np.ndarray,
    res_lineage: np.ndarray,
    gt_labels: np.ndarray,
    gt_lineage: np.ndarray,
    seg_reference: Mapping[int, np.ndarray] | None = None,
    *,
    match: str = "iou",
    iou_threshold: float = 0.5,
    max_distance: float = 10.0,
    progress: bool = False,
    graph_measures: bool = True,
    division_frame_buffer: int = 0,
) -> dict[str, float]:
    """:func:`mot_metrics`, :func:`ctc_measures` and (unless ``graph_measures=False``)
    :func:`~tganaug.tracking.graph_metrics.traccuracy_measures` of one result, in one dict (see each); ``progress``:
    tqdm bars on stderr (CLEAR-MOT frame by frame, then the CTC and graph measures as one step each)."""
    scores = mot_metrics(gt_labels, res_labels, match=match, iou_threshold=iou_threshold, max_distance=max_distance,
                         progress=progress)
    with tqdm(total=1, desc="CTC measures (py-ctcmetrics)", unit="step", disable=not progress) as bar:
        scores.update(ctc_measures(res_labels, res_lineage, gt_labels, gt_lineage, seg_reference))
        bar.update(1)
    if graph_measures:
        with tqdm(total=1, desc="graph measures (traccuracy)", unit="step", disable=not progress) as bar:
            scores.update(traccuracy_measures(res_labels, res_lineage, gt_labels, gt_lineage,
                                              division_frame_buffer=division_frame_buffer))
            bar.update(1)
    return scores


def read_seg_reference(dataset: str | Path, frames: Sequence[int], sequence: str = "01") -> dict[int, np.ndarray]:
    """GT segmentation masks ``<sequence>_GT/SEG/man_segNNN.tif`` within ``frames`` (original numbers).

    Returns ``{index in frames: (H, W) labels}``; empty when the dataset has no SEG folder.
    """
    found = annotation_dir(dataset, sequence)
    if found is None:
        return {}
    files = list_frames(found[0].parent / "SEG", _SEG_NAME)
    position = {int(frame): index for index, frame in enumerate(frames)}
    return {position[t]: read_tiff(path) for t, path in files.items() if t in position}


def score_dirs(
    result: str | Path,
    ground_truth: str | Path,
    *,
    sequence: str | None = None,
    seg_from_tra: bool = False,
    match: str = "iou",
    iou_threshold: float = 0.5,
    max_distance: float = 10.0,
    progress: bool = False,
    graph_measures: bool = True,
    division_frame_buffer: int = 0,
) -> dict[str, float]:
    """Score a RES folder (or a folder holding ``<sequence>_RES``) against a CTC GT dataset folder.

    ``sequence``: the GT sequence to score against; default: ``NN`` for a folder named ``NN_RES``, else
    ``"01"``. A folder ``NN_RES`` given with another ``sequence`` is refused (it would be scored against
    another video's GT). The GT frames scored are those the result covers (its ``maskNNN`` numbers). SEG uses the
    dataset's ``SEG`` masks, or the TRA masks when ``seg_from_tra`` (only right for dense, full
    masks such as SIM+ or E. coli; not for GOWT1's markers). ``progress`` / ``graph_measures`` /
    ``division_frame_buffer``: see :func:`score_tracking`. Raises ``FileNotFoundError`` /
    :class:`tganaug.CTCFormatError` naming what is missing.
    """
    named = re.fullmatch(r"(\d+)_RES", Path(result).resolve().name)  # resolved: "." inside 02_RES is 02_RES
    if named and (Path(result) / "res_track.txt").is_file():
        if sequence is not None and sequence != named[1]:
            raise ValueError(f"{result} is the result of sequence {named[1]}, not of sequence {sequence}: "
                             f"pass --sequence {named[1]} (or leave it out)")
        sequence = named[1]
    sequence = "01" if sequence is None else sequence
    ground_truth = Path(ground_truth)
    if not ground_truth.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {ground_truth}")
    if annotation_dir(ground_truth, sequence, "GT") is None:
        raise CTCFormatError(f"{ground_truth}: no ground truth {sequence}_GT/TRA (give the dataset folder holding it)")
    res = read_result(result, sequence)
    gt = read_ctc(ground_truth, sequence, frames=res.frames.tolist(), read_images=False, annotation="GT")
    if gt.labels.shape != res.labels.shape:
        raise ValueError(f"result {res.labels.shape} and ground truth {gt.labels.shape} differ in shape")
    if seg_from_tra:
        seg = dict(enumerate(gt.labels))
    else:
        seg = read_seg_reference(ground_truth, res.frames.tolist(), sequence)
    return score_tracking(
        res.labels, res.lineage, gt.labels, gt.lineage, seg,
        match=match, iou_threshold=iou_threshold, max_distance=max_distance, progress=progress,
        graph_measures=graph_measures, division_frame_buffer=division_frame_buffer,
    )


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str], digits: int = 3) -> str:
    """A markdown table of ``rows`` (dicts) with ``columns``; floats rounded to ``digits``, NaN as ``n/a``."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)
