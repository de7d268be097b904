"""Graph tracking measures from ``traccuracy``: LNK, division precision / recall / F1 and CHOTA.

Result and ground truth are written as CTC folders and read back with traccuracy's CTC loader
(``load_ctc_data``: one graph node per object and frame, edges along each track and from a parent's last
node to its daughters' first). Two matchings:

* **CTC matching** (``CTCMatcher``): a result object matches a GT object when it covers more than half of it,
  as the CTC evaluation tools match. **LNK** (linking: ``1 - min(AOGM_A, AOGM_A0) / AOGM_A0`` with only the
  edge errors, redundant edge 1, missing edge 1.5, wrong semantics 1) and **CHOTA** (cell HOTA, Kaiser et al.
  2024: HOTA's association term over whole lineages) use it; both agree with py-ctcmetrics' LNK and CHOTA.
* **IoU >= 0.5, one-to-one** (``IOUMatcher``), the same rule as the MOT measures, for the **divisions**
  (traccuracy's ``DivisionMetrics`` needs a one-to-one matching; the CTC one is many-to-one when a result
  object covers two GT cells). A GT division is found (true positive) when the result's mother and both
  daughters match it; a result division matching none is a false positive. ``division_frame_buffer`` > 0 also
  accepts divisions found up to that many frames early or late.

DIV_precision is NaN without result divisions, DIV_recall NaN without GT divisions, DIV_F1 NaN when both are
0 or undefined; LNK is NaN when the GT has no links.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.lineage import as_lineage, validate_tracks

__all__ = ["GRAPH_COLUMNS", "traccuracy_measures"]

#: the columns :func:`traccuracy_measures` adds to a score table
GRAPH_COLUMNS = ("LNK", "DIV_precision", "DIV_recall", "DIV_F1", "CHOTA")


def _graph(folder: Path, labels: np.ndarray, lineage: np.ndarray, name: str) -> Any:
    """traccuracy ``TrackingGraph`` of a validated ``(T, H, W)`` video and its lineage (via a CTC folder)."""
    import networkx as nx  # noqa: PLC0415
    from traccuracy import TrackingGraph  # noqa: PLC0415
    from traccuracy.loaders import load_ctc_data  # noqa: PLC0415

    from tganaug.tracking.results import write_result_files  # noqa: PLC0415

    if labels.max() == 0:  # traccuracy's loader cannot read an empty track file: an empty graph says the same
        return TrackingGraph(nx.DiGraph(), segmentation=labels.astype(np.uint16), location_keys=("y", "x"), name=name)
    folder.mkdir()
    write_result_files(folder, labels, lineage)
    return load_ctc_data(str(folder), str(folder / "res_track.txt"), name=name, run_checks=True)


def _nan_if_missing(value: Any) -> float:
    return float("nan") if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def traccuracy_measures(
    res_labels: np.ndarray,
    res_lineage: np.ndarray,
    gt_labels: np.ndarray,
    gt_lineage: np.ndarray,
    *,
    division_frame_buffer: int = 0,
) -> dict[str, float]:
    """LNK, DIV_precision, DIV_recall, DIV_F1 and CHOTA of a result against GT (traccuracy; see module doc).

    Args:
        res_labels / gt_labels: ``(T, H, W)`` integer videos, label = track id (ids 0..65535).
        res_lineage / gt_lineage: ``(N, 4)`` id/start/end/parent, frames counted from 0.
        division_frame_buffer: frames a division may be off and still count as found (0 = exact frame).

    Returns those five measures in [0, 1] (or NaN, see module doc) and the counts GT_divisions,
    RES_divisions, TP_divisions, FP_divisions, FN_divisions, LNK_FP_edges, LNK_FN_edges, LNK_WS_edges.
    Leading frames without any GT object are left out (traccuracy's CTC matcher assumes the GT starts with an
    object in its first frame). Raises :class:`tganaug.LineageError` when a video disagrees with its lineage.
    """
    from traccuracy import run_metrics  # noqa: PLC0415
    from traccuracy.matchers import CTCMatcher, IOUMatcher  # noqa: PLC0415
    from traccuracy.metrics import CHOTAMetric, CTCMetrics, DivisionMetrics  # noqa: PLC0415

    from tganaug.tracking.metrics import _check_pair  # noqa: PLC0415

    gt, res = _check_pair(gt_labels, res_labels)
    if division_frame_buffer < 0:
        raise ValueError(f"division_frame_buffer must be >= 0, got {division_frame_buffer}")
    res_lineage, gt_lineage = as_lineage(res_lineage), as_lineage(gt_lineage)
    validate_tracks(gt, gt_lineage)
    validate_tracks(res, res_lineage)
    occupied = np.flatnonzero(gt.reshape(gt.shape[0], -1).max(axis=1))
    if occupied.size == 0:
        raise ValueError("the ground truth has no objects: LNK, CHOTA and the division measures are undefined")
    if occupied[0] > 0:
        from tganaug.lineage import crop_lineage  # noqa: PLC0415

        first = int(occupied[0])
        gt, res = gt[first:], res[first:]
        gt_lineage = crop_lineage(gt_lineage, first, first + gt.shape[0] - 1)
        res_lineage = crop_lineage(res_lineage, first, first + res.shape[0] - 1)
    quiet = logging.getLogger("traccuracy")
    level = quiet.level
    with tempfile.TemporaryDirectory(prefix="tganaug-traccuracy-") as tmp, \
            contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        # traccuracy draws tqdm bars on stderr and warns about expected cases (no GT division, reused annotations)
        warnings.simplefilter("ignore")
        quiet.setLevel(logging.ERROR)
        try:
            gt_graph = _graph(Path(tmp) / "gt", gt, gt_lineage, "ground truth")
            res_graph = _graph(Path(tmp) / "res", res, res_lineage, "result")
            ctc_results, _ = run_metrics(gt_graph, res_graph, CTCMatcher(), [CTCMetrics(), CHOTAMetric()])
            div_results, _ = run_metrics(gt_graph, res_graph, IOUMatcher(iou_threshold=0.5, one_to_one=True),
                                         [DivisionMetrics(max_frame_buffer=division_frame_buffer)])
        finally:
            quiet.setLevel(level)
    found = {result["metric"]["name"]: result["results"] for result in ctc_results + div_results}
    ctc, chota = found["CTCMetrics"], found["CHOTAMetric"]
    divisions = found["DivisionMetrics"][f"Frame Buffer {division_frame_buffer}"]
    return {
        "LNK": _nan_if_missing(ctc["LNK"]),
        "DIV_precision": _nan_if_missing(divisions["Division Precision"]),
        "DIV_recall": _nan_if_missing(divisions["Division Recall"]),
        "DIV_F1": _nan_if_missing(divisions["Division F1"]),
        "CHOTA": _nan_if_missing(chota["CHOTA"]),
        "GT_divisions": int(divisions["Total GT Divisions"]),
        "RES_divisions": int(divisions["Total Predicted Divisions"]),
        "TP_divisions": int(divisions["True Positive Divisions"]),
        "FP_divisions": int(divisions["False Positive Divisions"]),
        "FN_divisions": int(divisions["False Negative Divisions"]),
        "LNK_FP_edges": int(ctc["fp_edges"]),
        "LNK_FN_edges": int(ctc["fn_edges"]),
        "LNK_WS_edges": int(ctc["ws_edges"]),
    }
