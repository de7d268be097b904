import numpy as np
import pytest

from tganaug.lineage import (
    LineageError,
    as_lineage,
    crop_lineage,
    format_man_track,
    lineage_from_labels,
    read_man_track,
    track_problems,
    validate_tracks,
)


def _video():
    """4 frames: track 1 in 0..1 divides into 2 and 3 (frames 2..3); track 4 in 1..3."""
    labels = np.zeros((4, 8, 8), dtype=np.uint16)
    labels[0:2, 1:3, 1:3] = 1
    labels[2:4, 1:2, 1:3] = 2
    labels[2:4, 2:3, 1:3] = 3
    labels[1:4, 5:7, 5:7] = 4
    lineage = np.array([[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 1, 3, 0]])
    return labels, lineage


def test_consistent_video_has_no_problems():
    labels, lineage = _video()
    assert track_problems(labels, lineage) == []
    validate_tracks(labels, lineage)


def test_gap_is_reported_with_frame_and_id():
    labels, lineage = _video()
    labels[2][labels[2] == 4] = 0
    problems = track_problems(labels, lineage)
    assert problems == ["track 4: missing from frame 2 (1 frame(s) missing; lineage says 1..3)"]
    with pytest.raises(LineageError, match="track 4: missing from frame 2"):
        validate_tracks(labels, lineage)


def test_label_outside_span_and_unknown_label():
    labels, lineage = _video()
    labels[0, 6, 6] = 4  # track 4 starts at 1
    labels[3, 0, 7] = 9  # not in the lineage
    problems = track_problems(labels, lineage)
    assert "track 4: present in frame 0 outside its lineage span 1..3" in problems
    assert "label 9 in frame 3 is not in the lineage" in problems


def test_parent_rules():
    labels, lineage = _video()
    bad = lineage.copy()
    bad[1, 3] = 7  # missing parent
    assert "track 2: parent 7 is not in the lineage" in track_problems(labels, bad)
    bad = lineage.copy()
    bad[0, 2] = 2  # parent ends when the daughter starts
    labels2 = labels.copy()
    labels2[2, 0, 0] = 1
    assert any("parent 1 ends in frame 2" in p for p in track_problems(labels2, bad))
    bad = lineage.copy()
    bad[3, 3] = 4
    assert "track 4: is its own parent" in track_problems(labels, bad)
    bad = lineage.copy()
    bad[1, 3] = -3
    assert "track 2: negative parent -3" in track_problems(labels, bad)


def test_table_shape_and_ids():
    labels, lineage = _video()
    assert track_problems(labels, np.vstack([lineage, lineage[:1]])) == ["track 1: listed 2 times in the lineage"]
    with_zero = np.vstack([lineage, [[0, 0, 0, 0]]])
    assert "lineage row with id 0: ids must be positive (0 is background)" in track_problems(labels, with_zero)
    with pytest.raises(LineageError, match=r"shape \(N, 4\)"):
        as_lineage(np.zeros((3, 3)))
    assert track_problems(labels.astype(float), lineage) == ["label video must have an integer dtype, got float64"]
    assert track_problems(labels[0], lineage)[0].startswith("label video must be (T, H, W)")


def test_man_track_round_trip(tmp_path):
    _labels, lineage = _video()
    path = tmp_path / "man_track.txt"
    path.write_text(format_man_track(lineage[::-1]))
    assert path.read_text().splitlines()[0] == "1 0 1 0"
    np.testing.assert_array_equal(read_man_track(path), lineage)


def test_man_track_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="lineage file not found"):
        read_man_track(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1 0 3 0\n2 0 x 0\n")
    with pytest.raises(LineageError, match=r"bad.txt:2: expected 4 integers"):
        read_man_track(bad)


def test_lineage_from_labels_and_crop():
    labels, lineage = _video()
    np.testing.assert_array_equal(lineage_from_labels(labels, parents={2: 1, 3: 1}), lineage)
    cropped = crop_lineage(lineage, 2, 3)  # track 1 ends before the window: daughters become roots
    np.testing.assert_array_equal(cropped, [[2, 0, 1, 0], [3, 0, 1, 0], [4, 0, 1, 0]])
    assert track_problems(labels[2:4], cropped) == []
    np.testing.assert_array_equal(crop_lineage(lineage, 1, 2), [[1, 0, 0, 0], [2, 1, 1, 1], [3, 1, 1, 1], [4, 0, 1, 0]])
    dangling = lineage.copy()
    dangling[1, 3], dangling[2, 3] = 99, -3  # parents the table never held are kept, for validation to report
    np.testing.assert_array_equal(crop_lineage(dangling, 2, 3)[:2], [[2, 0, 1, 99], [3, 0, 1, -3]])
