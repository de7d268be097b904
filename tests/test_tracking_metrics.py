"""Tracking metrics against hand-computed answers (motmetrics + py-ctcmetrics wrappers)."""

from __future__ import annotations

import numpy as np
import pytest
from _tracking_cases import SHARED_DATA, tracked_gt

from tganaug import LineageError
from tganaug.tracking.matching import iou_distance_matrix
from tganaug.tracking.metrics import ctc_measures, format_table, mot_metrics, score_tracking

# 3 tracks x 5 frames: 15 GT objects (CTC vertices) and 12 GT links (CTC edges).
# AOGM weights (Matula et al. 2015): FN vertex 10, FP vertex 1, split 5, missing edge 1.5,
# redundant edge 1, wrong semantics 1; AOGM_0 = 10 * 15 + 1.5 * 12 = 168.
N_VERTICES, AOGM_0 = 15, 168.0


def test_perfect_result_scores_one() -> None:
    gt, lineage = tracked_gt()
    scores = score_tracking(gt, lineage, gt, lineage, dict(enumerate(gt)))
    for key in ("MOTA", "MT", "precision", "recall", "DET", "SEG", "TRA"):
        assert scores[key] == 1.0, key
    assert scores["ML"] == 0.0 and scores["IDSW"] == 0 and scores["GT_tracks"] == 3
    assert scores["AOGM_0"] == AOGM_0


def test_one_object_missing_in_one_frame() -> None:
    gt, lineage = tracked_gt()
    res = gt.copy()
    res[4][res[4] == 3] = 0  # track 3 loses its last frame
    res_lineage = lineage.copy()
    res_lineage[2, 2] = 3
    scores = score_tracking(res, res_lineage, gt, lineage, dict(enumerate(gt)))
    assert scores["FN"] == 1 and scores["FP"] == 0 and scores["IDSW"] == 0
    assert scores["MOTA"] == pytest.approx(1 - 1 / N_VERTICES)
    assert scores["recall"] == pytest.approx(14 / 15) and scores["precision"] == 1.0
    # DET = 1 - 10 * FN / (10 * N); TRA adds the missing edge into that vertex (1.5)
    assert scores["DET"] == pytest.approx(1 - 1 / N_VERTICES)
    assert scores["TRA"] == pytest.approx(1 - (10 + 1.5) / AOGM_0)
    # SEG: mean Jaccard over the 15 reference objects, one of them 0
    assert scores["SEG"] == pytest.approx(14 / 15)


def test_swapped_identity_is_an_id_switch() -> None:
    gt, lineage = tracked_gt()
    res = gt.copy()
    res[3:][gt[3:] == 1] = 5  # from frame 3 on, track 1's cell carries new id 5 and 2's carries 4
    res[3:][gt[3:] == 2] = 4
    res_lineage = np.array([[1, 0, 2, 0], [2, 0, 2, 0], [3, 0, 4, 0], [4, 3, 4, 0], [5, 3, 4, 0]])
    scores = score_tracking(res, res_lineage, gt, lineage)
    assert scores["IDSW"] == 2
    assert scores["MOTA"] == pytest.approx(1 - 2 / N_VERTICES)
    assert scores["DET"] == 1.0
    assert scores["TRA"] == pytest.approx(1 - 2 * 1.5 / AOGM_0)  # two GT links missing
    assert np.isnan(scores["SEG"])  # no SEG reference given


def test_swap_between_two_tracks_counts_two_switches() -> None:
    gt, lineage = tracked_gt()
    res = gt.copy()
    res[3:][gt[3:] == 1] = 2  # identities 1 and 2 exchanged from frame 3 (result tracks have gaps)
    res[3:][gt[3:] == 2] = 1
    scores = mot_metrics(gt, res)
    assert scores["IDSW"] == 2 and scores["MOTA"] == pytest.approx(13 / 15)


def test_mostly_tracked_and_lost_are_fractions_of_gt_tracks() -> None:
    gt, lineage = tracked_gt()
    res = gt.copy()
    res[res == 3] = 0  # track 3 never found
    scores = mot_metrics(gt, res)
    assert scores["MT"] == pytest.approx(2 / 3) and scores["ML"] == pytest.approx(1 / 3)
    exactly_a_fifth = gt.copy()  # track 3 found in 1 of its 5 frames: 20 %, which is not "< 20 %"
    assert np.count_nonzero([(frame == 3).any() for frame in gt]) == 5
    for t in range(1, 5):
        exactly_a_fifth[t][exactly_a_fifth[t] == 3] = 0
    assert mot_metrics(gt, exactly_a_fifth)["ML"] == 0.0


def test_centroid_matching_option() -> None:
    gt, _ = tracked_gt()
    shifted = np.roll(gt, 6, axis=2)  # IoU of a radius-7 disc shifted 6 px is below 0.5
    assert mot_metrics(gt, shifted)["MOTA"] == pytest.approx(-1.0)  # every object a miss and a false positive
    assert mot_metrics(gt, shifted, match="centroid", max_distance=8)["MOTA"] == 1.0
    assert mot_metrics(gt, shifted, match="centroid", max_distance=5)["recall"] == 0.0


def test_iou_distance_matrix_is_nan_below_threshold() -> None:
    a = np.zeros((4, 4), np.uint16)
    b = np.zeros((4, 4), np.uint16)
    a[:, :2] = 1
    b[:, :1] = 3  # IoU 0.5 with 1
    b[:, 2:] = 4  # disjoint
    gt_ids, res_ids, distances = iou_distance_matrix(a, b, 0.5)
    assert gt_ids.tolist() == [1] and res_ids.tolist() == [3, 4]
    assert distances[0, 0] == pytest.approx(0.5) and np.isnan(distances[0, 1])
    assert np.isnan(iou_distance_matrix(a, b, 0.6)[2]).all()


def test_errors_name_the_problem() -> None:
    gt, lineage = tracked_gt()
    with pytest.raises(ValueError, match="differ in shape"):
        mot_metrics(gt, gt[:4])
    with pytest.raises(ValueError, match="no objects"):
        mot_metrics(np.zeros_like(gt), gt)
    with pytest.raises(ValueError, match="unknown match"):
        mot_metrics(gt, gt, match="box")
    gappy = gt.copy()
    gappy[2][gappy[2] == 1] = 0  # track 1 has a gap its lineage does not declare
    with pytest.raises(LineageError, match="track 1: missing from frame 2"):
        ctc_measures(gappy, lineage, gt, lineage)
    wide = gt.astype(np.int32)
    wide[wide == 2] = 65537  # would wrap to 1 in CTC's uint16 masks and merge with track 1
    wide_lineage = lineage.copy()
    wide_lineage[wide_lineage[:, 0] == 2, 0] = 65537
    with pytest.raises(ValueError, match=r"result label ids 0..65537 are outside 0..65535"):
        score_tracking(wide, wide_lineage, gt, lineage)
    assert mot_metrics(gt, wide)["MOTA"] == 1.0  # motmetrics has no uint16 limit: only the CTC measures refuse


def test_result_ids_beyond_uint16_are_refused_before_anything_is_written(tmp_path) -> None:
    from tganaug.tracking.results import write_result

    gt, lineage = tracked_gt()
    wide = gt.astype(np.int32)
    wide[wide == 2] = 65537
    wide_lineage = lineage.copy()
    wide_lineage[wide_lineage[:, 0] == 2, 0] = 65537
    with pytest.raises(ValueError, match="0..65535"):
        write_result(tmp_path / "res", wide, wide_lineage)
    assert not (tmp_path / "res" / "01_RES").exists()


def test_format_table() -> None:
    table = format_table([{"MOTA": 0.5, "SEG": float("nan"), "IDSW": 2}], ["MOTA", "SEG", "IDSW"])
    assert table.splitlines() == ["| MOTA | SEG | IDSW |", "| --- | --- | --- |", "| 0.500 | n/a | 2 |"]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
def test_real_ground_truth_against_itself_scores_one() -> None:
    from tganaug.io import read_ctc

    gt = read_ctc(SHARED_DATA / "Fluo-N2DH-SIM+", frames=range(45, 50), read_images=False)
    scores = score_tracking(gt.labels, gt.lineage, gt.labels, gt.lineage)
    assert scores["MOTA"] == 1.0 and scores["TRA"] == 1.0 and scores["DET"] == 1.0


def test_empty_result_scores_zero_with_hand_computed_aogm() -> None:
    gt, lineage = tracked_gt()
    empty = np.zeros_like(gt)
    scores = score_tracking(empty, np.zeros((0, 4), np.int64), gt, lineage, dict(enumerate(gt)))
    assert scores["DET"] == 0.0 and scores["TRA"] == 0.0 and scores["SEG"] == 0.0
    assert scores["AOGM"] == scores["AOGM_0"] == AOGM_0
    assert scores["recall"] == 0.0 and scores["MOTA"] == 0.0 and scores["ML"] == 1.0


def test_mot_breakdown_splits_the_errors_by_cause() -> None:
    """Two 10x10 cells over 3 frames. Frame 1: cell 1 is found as an 8-column part (IoU 0.8, a match) and a 2-column
    fragment. Frame 2: cell 1 gets a new track id (a switch), cell 2 is found 4 px off (IoU 0.43: a miss and a
    wrong-shape false positive), and a spurious object appears far from any cell."""
    from tganaug.benchmarking.mot_breakdown import mot_breakdown

    gt = np.zeros((3, 40, 60), np.uint16)
    gt[:, 5:15, 5:15] = 1
    gt[:, 20:30, 30:40] = 2
    res = gt.copy()
    res[1, 5:15, 13:15] = 3  # fragment of cell 1 (20 px < 0.3 x 100)
    res[2][res[2] == 1] = 4  # cell 1 under another track id
    res[2, 20:30, 30:40] = 0
    res[2, 20:30, 34:44] = 2  # cell 2, 4 px off
    res[2, 32:40, 48:58] = 5  # spurious
    scores = mot_breakdown(gt, res)
    assert scores["GT_objects"] == 6 and scores["FN"] == 1 and scores["IDSW"] == 1
    assert (scores["FP_fragment"], scores["FP_wrong_shape"], scores["FP_spurious"]) == (1, 1, 1) and scores["FP"] == 3
    assert scores["MOTA"] == pytest.approx(1 - (1 + 3 + 1) / 6)
    assert scores["GT_IoU_over_half"] == pytest.approx(5 / 6) and scores["GT_IoU_median"] == 1.0
    # matched by centroids, the shifted cell counts: one miss and one false positive fewer
    assert scores["MOTA_centroid_10px"] == pytest.approx(1 - (0 + 2 + 1) / 6)
    with pytest.raises(ValueError, match="one \\(T, H, W\\) shape"):
        mot_breakdown(gt, res[:2])
    with pytest.raises(ValueError, match="hold no objects"):
        mot_breakdown(np.zeros_like(gt), res)
