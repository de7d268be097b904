"""traccuracy's LNK, division and CHOTA measures against hand-computed answers and against py-ctcmetrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tifffile
from _tracking_cases import division_gt, tracked_gt

from tganaug import LineageError, cli, write_ctc
from tganaug.lineage import format_man_track
from tganaug.tracking.graph_metrics import traccuracy_measures
from tganaug.tracking.metrics import SCORE_COLUMNS, score_tracking
from tganaug.tracking.results import write_result, write_result_files

# Edge-error weights of the CTC's AOGM-A (LNK): missing edge 1.5, redundant edge 1, wrong semantics 1.
FN_EDGE, FP_EDGE, WS_EDGE = 1.5, 1.0, 1.0
# division_gt(): 6 frames, mother 1 (0-2) -> daughters 4, 5 (3-5), discs 2 and 3 throughout. GT links: track 1: 2,
# tracks 2 and 3: 5 each, daughters 2 each, mother -> daughters 2; 18 in all.


def ctcmetrics_reference(res: np.ndarray, res_lineage: np.ndarray, gt: np.ndarray, gt_lineage: np.ndarray,
                         tmp_path: Path) -> dict[str, float]:
    """py-ctcmetrics' own LNK, CHOTA and BC(0) (branching correctness = division F1) of the same pair."""
    from ctc_metrics import evaluate_sequence

    res_dir, gt_dir = tmp_path / "01_RES", tmp_path / "01_GT" / "TRA"
    res_dir.mkdir()
    gt_dir.mkdir(parents=True)
    write_result_files(res_dir, res, res_lineage)
    for t, frame in enumerate(gt):
        tifffile.imwrite(gt_dir / f"man_track{t:03d}.tif", frame.astype(np.uint16))
    (gt_dir / "man_track.txt").write_text(format_man_track(gt_lineage))
    return evaluate_sequence(str(res_dir), str(tmp_path / "01_GT"), metrics=["TRA", "LNK", "CHOTA", "BC"], threads=1)


def test_perfect_result_scores_one() -> None:
    gt, lineage = division_gt()
    relabelled = gt * 10  # other ids, same tracks
    scores = traccuracy_measures(relabelled, lineage * np.array([10, 1, 1, 10]), gt, lineage)
    assert scores["LNK"] == 1.0 and scores["CHOTA"] == 1.0
    assert scores["DIV_precision"] == scores["DIV_recall"] == scores["DIV_F1"] == 1.0
    assert (scores["GT_divisions"], scores["RES_divisions"], scores["TP_divisions"]) == (1, 1, 1)


def test_id_switch_lnk_and_chota_by_hand() -> None:
    gt, lineage = tracked_gt()  # 3 tracks x 5 frames: 12 GT links, no division
    res = gt.copy()
    res[3:][gt[3:] == 1] = 5  # from frame 3 on, track 1's cell carries new id 5 and track 2's carries 4
    res[3:][gt[3:] == 2] = 4
    res_lineage = np.array([[1, 0, 2, 0], [2, 0, 2, 0], [3, 0, 4, 0], [4, 3, 4, 0], [5, 3, 4, 0]])
    scores = traccuracy_measures(res, res_lineage, gt, lineage)
    # two GT links (frame 2 -> 3 of tracks 1 and 2) are missing from the result, nothing else is wrong
    assert (scores["LNK_FN_edges"], scores["LNK_FP_edges"], scores["LNK_WS_edges"]) == (2, 0, 0)
    assert scores["LNK"] == pytest.approx(1 - 2 * FN_EDGE / (12 * FN_EDGE))
    # CHOTA = sqrt(DetA * AssA); every object is matched: DetA = 1. AssA averages, over the 15 matches, TPA / (TPA +
    # FNA + FPA) of its GT and result trajectories: track 3's five matches 5/5; tracks 1 and 2 split 3 + 2 frames,
    # their first three matches 3/5 (2 GT objects outside the result track), their last two 2/5.
    ass_a = (5 * 1 + 2 * (3 * 3 / 5 + 2 * 2 / 5)) / 15
    assert ass_a == pytest.approx(51 / 75)
    assert scores["CHOTA"] == pytest.approx(math.sqrt(ass_a))
    assert math.isnan(scores["DIV_precision"]) and math.isnan(scores["DIV_recall"]) and math.isnan(scores["DIV_F1"])


def test_missed_division_by_hand(tmp_path: Path) -> None:
    gt, lineage = division_gt()
    res = gt.copy()
    res[gt == 4] = 1  # the mother's track runs on into daughter 4; daughter 5 starts a track of its own
    res_lineage = np.array([[1, 0, 5, 0], [2, 0, 5, 0], [3, 0, 5, 0], [5, 3, 5, 0]])
    scores = traccuracy_measures(res, res_lineage, gt, lineage)
    # mother -> daughter 5 is missing (1.5); mother -> daughter 4 is there but as a same-track link where the GT has
    # a division link: wrong semantics (1). LNK = 1 - 2.5 / (18 * 1.5)
    assert (scores["LNK_FN_edges"], scores["LNK_FP_edges"], scores["LNK_WS_edges"]) == (1, 0, 1)
    assert scores["LNK"] == pytest.approx(1 - (FN_EDGE + WS_EDGE) / (18 * FN_EDGE))
    # one GT division, none in the result: recall 0; precision (0 / 0) and F1 undefined
    assert (scores["GT_divisions"], scores["RES_divisions"], scores["FN_divisions"]) == (1, 0, 1)
    assert scores["DIV_recall"] == 0.0 and math.isnan(scores["DIV_precision"]) and math.isnan(scores["DIV_F1"])
    reference = ctcmetrics_reference(res, res_lineage, gt, lineage, tmp_path)
    assert scores["LNK"] == pytest.approx(reference["LNK"])
    assert scores["CHOTA"] == pytest.approx(reference["CHOTA"]) and 0.5 < scores["CHOTA"] < 1.0


def test_false_division_halves_precision(tmp_path: Path) -> None:
    gt, lineage = division_gt()
    res = gt.copy()
    res[3:][gt[3:] == 3] = 6  # disc 3 "divides" at frame 3 into 6 and, taken from disc 2, 7
    res[3:][gt[3:] == 2] = 7
    res_lineage = np.array([[1, 0, 2, 0], [2, 0, 2, 0], [3, 0, 2, 0], [4, 3, 5, 1], [5, 3, 5, 1], [6, 3, 5, 3], [7, 3, 5, 3]])
    scores = traccuracy_measures(res, res_lineage, gt, lineage)
    # result divisions: the true one (found) and 3 -> (6, 7), which matches none: precision 1/2, recall 1/1
    assert (scores["RES_divisions"], scores["TP_divisions"], scores["FP_divisions"]) == (2, 1, 1)
    assert scores["DIV_precision"] == 0.5 and scores["DIV_recall"] == 1.0
    assert scores["DIV_F1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    # links (frame 2 -> 3): disc 2's own link missing (1.5); disc 3's present, but as a division link (wrong
    # semantics, 1); 3 -> 7 joins disc 3 to disc 2, a link the GT does not have (redundant, 1)
    assert (scores["LNK_FN_edges"], scores["LNK_WS_edges"], scores["LNK_FP_edges"]) == (1, 1, 1)
    assert scores["LNK"] == pytest.approx(1 - (FN_EDGE + WS_EDGE + FP_EDGE) / (18 * FN_EDGE))
    reference = ctcmetrics_reference(res, res_lineage, gt, lineage, tmp_path)
    assert scores["LNK"] == pytest.approx(reference["LNK"])
    assert scores["CHOTA"] == pytest.approx(reference["CHOTA"])
    assert scores["DIV_F1"] == pytest.approx(reference["BC(0)"])


def test_empty_result_and_bad_input() -> None:
    gt, lineage = division_gt()
    scores = traccuracy_measures(np.zeros_like(gt), np.zeros((0, 4), np.int64), gt, lineage)
    assert scores["LNK"] == 0.0 and scores["CHOTA"] == 0.0 and scores["DIV_recall"] == 0.0
    assert scores["LNK_FN_edges"] == 18
    gappy = gt.copy()
    gappy[1][gappy[1] == 2] = 0
    with pytest.raises(LineageError, match="track 2: missing from frame 1"):
        traccuracy_measures(gappy, lineage, gt, lineage)
    with pytest.raises(ValueError, match="no objects"):
        traccuracy_measures(gt, lineage, np.zeros_like(gt), np.zeros((0, 4), np.int64))
    with pytest.raises(ValueError, match="division_frame_buffer"):
        traccuracy_measures(gt, lineage, gt, lineage, division_frame_buffer=-1)


def test_leading_empty_gt_frames_are_left_out() -> None:
    gt, lineage = tracked_gt()
    padded = np.concatenate([np.zeros_like(gt[:2]), gt])
    shifted = lineage.copy()
    shifted[:, 1:3] += 2
    scores = traccuracy_measures(padded, shifted, padded, shifted)
    assert scores["LNK"] == 1.0 and scores["CHOTA"] == 1.0


def test_score_tracking_carries_the_graph_measures() -> None:
    gt, lineage = division_gt()
    scores = score_tracking(gt, lineage, gt, lineage)
    assert {"LNK", "DIV_precision", "DIV_recall", "DIV_F1", "CHOTA"} <= set(scores) and set(SCORE_COLUMNS) <= set(scores)
    assert scores["LNK"] == scores["DIV_F1"] == scores["CHOTA"] == scores["TRA"] == 1.0
    assert "LNK" not in score_tracking(gt, lineage, gt, lineage, graph_measures=False)


def test_score_cli_prints_graph_measures(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("tganaug.commands.score",))
    gt, lineage = division_gt()
    data = write_ctc(tmp_path / "data", gt, lineage)
    res = gt.copy()
    res[gt == 4] = 1
    write_result(tmp_path / "res", res, np.array([[1, 0, 5, 0], [2, 0, 5, 0], [3, 0, 5, 0], [5, 3, 5, 0]]))
    assert cli.main(["score", str(tmp_path / "res"), str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["LNK"] == pytest.approx(1 - 2.5 / 27) and scores["DIV_recall"] == 0.0
    assert scores["DIV_precision"] is None and scores["GT_divisions"] == 1  # NaN is written as null
    assert cli.main(["score", str(tmp_path / "res"), str(data)]) == 0
    header, _, values = capsys.readouterr().out.strip().splitlines()[-3:]
    table = dict(zip([c.strip() for c in header.strip("|").split("|")], [c.strip() for c in values.strip("|").split("|")]))
    assert table["LNK"] == f"{1 - 2.5 / 27:.3f}" and table["DIV_recall"] == "0.000" and table["DIV_F1"] == "n/a"
