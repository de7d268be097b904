"""Tracker plugins (overlap, laptrack, btrack) and the links -> CTC tracks conversion."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _tracking_cases import disc_video

import tganaug
from tganaug.lineage import validate_tracks
from tganaug.tracking.graph import tracks_from_edges

HAS_BTRACK = importlib.util.find_spec("btrack") is not None
ALL_TRACKERS = [
    "overlap",
    "laptrack",
    "linker",
    pytest.param("btrack", marks=pytest.mark.skipif(not HAS_BTRACK, reason="btrack is not installed")),
]


def _tracks_per_object(tracked: np.ndarray, reference: np.ndarray) -> dict[int, set[int]]:
    """For each reference id, the set of result ids covering it over the video."""
    return {
        int(r): set(np.unique(tracked[reference == r]).tolist()) for r in np.unique(reference) if r
    }


def test_builtin_trackers_are_registered() -> None:
    assert {"overlap", "laptrack", "btrack", "linker", "trackastra"} <= set(tganaug.default_registry().names("tracker"))


def test_unknown_tracker_names_the_available_ones() -> None:
    with pytest.raises(tganaug.UnknownPluginError, match="unknown tracker 'nope'.*overlap"):
        tganaug.get_tracker("nope")


@pytest.mark.parametrize("name", ALL_TRACKERS)
def test_shuffled_ids_are_linked_into_three_full_tracks(name: str) -> None:
    truth = disc_video(shuffle=False)
    tracked, lineage = tganaug.get_tracker(name).track(disc_video(shuffle=True))
    validate_tracks(tracked, lineage)
    assert tracked.dtype == np.uint16 and tracked.shape == truth.shape
    assert lineage.tolist() == [[1, 0, 7, 0], [2, 0, 7, 0], [3, 0, 7, 0]]
    # each true object is covered by exactly one track id, and the masks are unchanged
    assert all(len(ids) == 1 for ids in _tracks_per_object(tracked, truth).values())
    assert np.array_equal(tracked > 0, truth > 0)


@pytest.mark.parametrize(
    ("name", "split"),
    [("overlap", 5), ("laptrack", 5), ("linker", 5), pytest.param("btrack", 10, marks=pytest.mark.skipif(not HAS_BTRACK, reason="btrack is not installed"))],
)
def test_division_is_kept_in_the_lineage(name: str, split: int) -> None:
    video = disc_video(divide_at=4, split=split)
    tracked, lineage = tganaug.get_tracker(name).track(video)
    validate_tracks(tracked, lineage)
    parents, counts = np.unique(lineage[lineage[:, 3] > 0, 3], return_counts=True)
    assert counts.tolist() == [2], f"expected one mother with two daughters, got lineage {lineage.tolist()}"
    mother = lineage[lineage[:, 0] == parents[0]][0]
    daughters = lineage[lineage[:, 3] == parents[0]]
    assert (mother[1], mother[2]) == (0, 3)
    assert daughters[:, 1].tolist() == [4, 4] and daughters[:, 2].tolist() == [7, 7]
    # the mother is the disc at row 25 before frame 4
    assert tracked[0, 25, 15] == mother[0]


@pytest.mark.parametrize("name", ALL_TRACKERS)
def test_gap_is_split_into_tracks_that_validate(name: str) -> None:
    video = disc_video(gap=3)
    tracked, lineage = tganaug.get_tracker(name).track(video)
    validate_tracks(tracked, lineage)
    before, after = int(tracked[2, 55, 21]), int(tracked[4, 55, 27])  # disc B before and after its gap
    assert before != after
    rows = {int(r[0]): r for r in lineage}
    assert rows[before][2] == 2 and rows[after][1] == 4
    if name == "overlap":
        assert rows[after][3] == 0  # no gap closing in the baseline
    else:
        assert rows[after][3] == before  # gap closed: CTC continuation with a parent link


@pytest.mark.parametrize("name", ALL_TRACKERS)
def test_empty_and_malformed_videos(name: str) -> None:
    tracker = tganaug.get_tracker(name)
    with pytest.raises(ValueError, match="empty video"):
        tracker.track(np.zeros((0, 8, 8), np.uint16))
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        tracker.track(np.zeros((8, 8), np.uint16))
    with pytest.raises(TypeError, match="integer dtype"):
        tracker.track(np.zeros((2, 8, 8), np.float32))
    tracked, lineage = tracker.track(np.zeros((3, 8, 8), np.uint16))
    assert lineage.shape == (0, 4) and not tracked.any()


def test_tracker_configs_are_checked() -> None:
    with pytest.raises(ValueError, match="min_iou"):
        tganaug.get_tracker("overlap", min_iou=0)
    with pytest.raises(ValueError, match="unknown LapTrackConfig parameter.*no_such_option.*max_distance"):
        tganaug.get_tracker("laptrack", no_such_option=1)
    with pytest.raises(ValueError, match="max_distance"):
        tganaug.get_tracker("laptrack", max_distance=-1)


def test_tracks_from_edges_handles_gaps_divisions_and_merges() -> None:
    labels = np.zeros((5, 4, 4), np.uint16)
    labels[0, 0, 0] = 5
    labels[1, 0, 0], labels[1, 3, 3] = 1, 2
    labels[2, 0, 0] = 7
    labels[4, 2, 2] = 4  # frame 3 is empty: the link (2, 7) -> (4, 4) closes a gap
    edges = [((0, 5), (1, 1)), ((0, 5), (1, 2)), ((1, 1), (2, 7)), ((1, 2), (2, 7)), ((2, 7), (4, 4))]
    tracked, lineage = tracks_from_edges(labels, edges)
    validate_tracks(tracked, lineage)
    # 5 divides into 1 and 2; the merge into 7 keeps one predecessor (the first given, 1), so 1-7 is
    # one track; the gap makes 4 a new track whose parent is the track of 7
    assert lineage.tolist() == [[1, 0, 0, 0], [2, 1, 2, 1], [3, 1, 1, 1], [4, 4, 4, 2]]
    assert tracked[2, 0, 0] == 2 and tracked[1, 3, 3] == 3 and tracked[4, 2, 2] == 4
    with pytest.raises(ValueError, match="forward in time"):
        tracks_from_edges(labels, [((1, 1), (0, 5))])
    with pytest.raises(ValueError, match="no detection with label 9 in frame 1"):
        tracks_from_edges(labels, [((0, 5), (1, 9))])


@pytest.mark.skipif(not HAS_BTRACK, reason="btrack is not installed")
def test_btrack_says_which_library_failed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from tganaug_plugins.trackers import btrack_lib

    monkeypatch.setattr(btrack_lib, "LIB_DIR", tmp_path / "none")
    monkeypatch.setattr(btrack_lib, "_bundled_stem", lambda: tmp_path / "bundled" / "libtracker")
    monkeypatch.setenv("TGANAUG_BTRACK_LIB", str(tmp_path / "broken.so"))
    (tmp_path / "broken.so").write_bytes(b"not a library")
    with pytest.raises(RuntimeError, match=r"(?s)btrack tracker unavailable.*broken\.so.*btrack_lib install"):
        tganaug.get_tracker("btrack").track(disc_video())


@pytest.mark.skipif(not HAS_BTRACK, reason="btrack is not installed")
def test_btrack_library_loads_here() -> None:
    """btrack is installed, so the install command must have provided a libtracker that loads."""
    from tganaug_plugins.trackers.btrack_lib import library_path

    assert library_path().with_suffix(".so").is_file()
