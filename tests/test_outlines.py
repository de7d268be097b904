"""Full outlines with track ids from marker TRA masks: hand-made cases with counts worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from tganaug.io import CTCFormatError, write_ctc
from tganaug.lineage import track_problems
from tganaug.outlines import (JoinCounts, join_frame, join_markers, marker_growth, markers_are_outlines,
                              read_outlined_ctc)


def _disk(shape: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def test_join_frame_gives_each_object_its_contained_marker_and_counts_the_rest() -> None:
    outlines = np.zeros((40, 60), np.uint16)
    outlines[2:12, 2:12] = 7      # holds marker 3
    outlines[2:12, 20:30] = 8     # holds markers 4 (16 px inside) and 5 (4 px inside): merged cells
    outlines[20:30, 2:12] = 9     # no marker: an unannotated cell
    markers = np.zeros_like(outlines)
    markers[5:8, 5:8] = 3
    markers[4:8, 22:26] = 4
    markers[9:11, 27:29] = 5
    markers[30:33, 40:43] = 6     # no object: outline missing
    markers[10:14, 40:44] = 0
    joined, counts, unmatched = join_frame(markers, outlines)
    assert counts == JoinCounts(objects=3, joined=2, objects_without_marker=1, markers=4, markers_without_object=2)
    assert unmatched == [9]
    assert (joined[outlines == 7] == 3).all() and (joined[outlines == 8] == 4).all()
    assert (joined[outlines == 9] == 0).all()
    assert (joined[markers == 6] == 6).all()          # a marker without an object keeps its own pixels
    assert not (joined == 5).any()                    # marker 5 lies inside object 8, which took marker 4
    dropped, _, _ = join_frame(markers, outlines, keep_markers_without_object=False)
    assert not (dropped == 6).any()


def test_a_marker_split_between_two_objects_joins_neither() -> None:
    outlines = np.zeros((10, 20), np.uint16)
    outlines[:, :10], outlines[:, 10:] = 1, 2
    markers = np.zeros_like(outlines)
    markers[4:6, 8:12] = 5  # half in each object: not more than half inside either
    joined, counts, _ = join_frame(markers, outlines, keep_markers_without_object=False)
    assert counts.joined == 0 and counts.markers_without_object == 1 and not joined.any()


def test_join_markers_keeps_divisions_splits_gaps_and_links_unannotated_cells() -> None:
    shape, frames = (48, 48), 5
    markers = np.zeros((frames, *shape), np.uint16)
    outlines = np.zeros_like(markers)
    for t in range(frames):
        # track 1 (frames 0-1) divides into 2 and 3 (frames 2-4)
        if t < 2:
            outlines[t][_disk(shape, (12, 12), 6)] = 1
            markers[t][_disk(shape, (12, 12), 2)] = 1
        else:
            outlines[t][_disk(shape, (8, 12), 4)] = 11
            outlines[t][_disk(shape, (18, 12), 4)] = 12
            markers[t][_disk(shape, (8, 12), 1.5)] = 2
            markers[t][_disk(shape, (18, 12), 1.5)] = 3
        # track 4 (frames 0-4) whose outline is missing in frame 2 (marker dropped there)
        markers[t][_disk(shape, (36, 36), 2)] = 4
        if t != 2:
            outlines[t][_disk(shape, (36, 36), 6)] = 20
        # an unannotated cell present in frames 1-3, moving one pixel a frame
        if 1 <= t <= 3:
            outlines[t][_disk(shape, (10, 36 + t), 5)] = 30
    lineage = np.array([[1, 0, 1, 0], [2, 2, 4, 1], [3, 2, 4, 1], [4, 0, 4, 0]])
    video = join_markers(markers, outlines, lineage, keep_markers_without_object=False)
    assert track_problems(video.labels, video.lineage) == []
    rows = {int(r[0]): tuple(int(v) for v in r[1:]) for r in video.lineage}
    assert rows[1] == (0, 1, 0) and rows[2] == (2, 4, 1) and rows[3] == (2, 4, 1)
    assert rows[4] == (0, 1, 0)                             # track 4 up to its gap ...
    gap_piece = [i for i, (s, e, p) in rows.items() if p == 4]
    assert len(gap_piece) == 1 and rows[gap_piece[0]] == (3, 4, 4)  # ... and a new id after it, parent 4
    assert len(video.unannotated_ids) == 1                  # one id for the cell over its three frames
    unannotated = video.unannotated_ids[0]
    assert rows[unannotated] == (1, 3, 0)
    assert video.counts.objects_without_marker == 3 and video.counts.markers_without_object == 1
    assert (video.labels[0][outlines[0] == 1] == 1).all()   # the whole outline carries the track id
    dropped = join_markers(markers, outlines, lineage, keep_objects_without_marker=False, keep_markers_without_object=False)
    assert dropped.unannotated_ids == [] and not (dropped.labels[1][outlines[1] == 30]).any()


def test_markers_are_outlines_tells_dense_masks_from_markers() -> None:
    outlines = np.zeros((1, 30, 30), np.uint16)
    outlines[0][_disk((30, 30), (15, 15), 8)] = 1
    markers = np.zeros_like(outlines)
    markers[0][_disk((30, 30), (15, 15), 3)] = 1
    assert markers_are_outlines(outlines.copy(), outlines)
    assert not markers_are_outlines(markers, outlines)


def test_marker_growth_recovers_how_far_markers_were_shrunk() -> None:
    shape = (64, 64)
    outlines, markers = np.zeros(shape, np.uint16), np.zeros(shape, np.uint16)
    for i, centre in enumerate([(16, 16), (16, 46), (46, 30)], start=1):
        outlines[_disk(shape, centre, 10)] = i
        markers[_disk(shape, centre, 6)] = i
    assert marker_growth([markers], [outlines]) == 4
    with pytest.raises(ValueError, match="no outline object holds a marker"):
        marker_growth([markers], [np.zeros_like(outlines)])


def _ctc_with_markers(root: Path, seg: str | None, seg_frames: list[int] | None = None) -> Path:
    shape, frames = (40, 40), 4
    outlines = np.zeros((frames, *shape), np.uint16)
    markers = np.zeros_like(outlines)
    for t in range(frames):
        outlines[t][_disk(shape, (12, 12 + t), 7)] = 1
        markers[t][_disk(shape, (12, 12 + t), 3)] = 1
    images = (outlines > 0).astype(np.uint8) * 200
    write_ctc(root, markers, np.array([[1, 0, frames - 1, 0]]), images)
    if seg:
        folder = root / f"01_{seg}" / "SEG"
        folder.mkdir(parents=True)
        for t in seg_frames if seg_frames is not None else range(frames):
            tifffile.imwrite(folder / f"man_seg{t:03d}.tif", (outlines[t] * 9).astype(np.uint16))  # other numbering
    return root


def test_read_outlined_ctc_joins_markers_to_silver_truth(tmp_path: Path) -> None:
    root = _ctc_with_markers(tmp_path / "data", "ST")
    sequence, report = read_outlined_ctc(root)
    assert report.method == "joined" and report.source == "01_ST/SEG"
    assert report.counts == JoinCounts(objects=4, joined=4, objects_without_marker=0, markers=4, markers_without_object=0)
    assert sequence.labels.dtype == np.uint16 and set(np.unique(sequence.labels)) == {0, 1}
    assert (sequence.labels > 0).sum() == sum(_disk((40, 40), (12, 12), 7).sum() for _ in range(4))
    assert track_problems(sequence.labels, sequence.lineage) == []
    window, _ = read_outlined_ctc(root, frames=range(1, 3))
    assert list(window.frames) == [1, 2] and window.lineage.tolist() == [[1, 0, 1, 0]]


def test_read_outlined_ctc_grows_markers_where_outlines_are_sparse(tmp_path: Path) -> None:
    root = _ctc_with_markers(tmp_path / "data", "GT", seg_frames=[1])
    sequence, report = read_outlined_ctc(root)
    assert report.method == "grown" and report.growth_px == 4
    grown, outline = sequence.labels[0] > 0, _disk((40, 40), (12, 12), 7)
    assert (grown & outline).sum() / (grown | outline).sum() > 0.9  # a discrete disc grown by 4 px is nearly the radius-7 one
    assert report.to_dict()["growth_px"] == 4


def test_read_outlined_ctc_uses_dense_masks_as_they_are(tmp_path: Path) -> None:
    root = _ctc_with_markers(tmp_path / "data", None)
    sequence, report = read_outlined_ctc(root)
    assert report.method == "as-is" and report.source == "01_GT/TRA" and report.counts is None
    assert (sequence.labels[0] > 0).sum() == _disk((40, 40), (12, 12), 3).sum()


def test_read_outlined_ctc_names_missing_outlines(tmp_path: Path) -> None:
    root = _ctc_with_markers(tmp_path / "data", "GT", seg_frames=[3])
    with pytest.raises(CTCFormatError, match=r"01_GT/SEG has no outline for any of sequence 01's frames 0\.\.2"):
        read_outlined_ctc(root, frames=range(0, 3))


def test_read_outlined_ctc_fits_the_growth_on_the_outlined_frames_of_the_same_split(tmp_path: Path) -> None:
    """Frames 0-1 have no outline: the growth is fitted on the outlined frame 2 of their (train) split, never on the
    outline of eval frame 3."""
    import json

    root = _ctc_with_markers(tmp_path / "data", "GT", seg_frames=[2, 3])
    (root / "splits.json").write_text(json.dumps({"01": {"train": [0, 2], "eval": [3, 3]}}))
    sequence, report = read_outlined_ctc(root, frames=range(0, 2))
    assert report.method == "grown" and report.growth_px == 4 and list(sequence.frames) == [0, 1]
    (root / "01_GT" / "SEG" / "man_seg002.tif").unlink()  # only the eval frame's outline is left
    with pytest.raises(CTCFormatError, match="nor for the other frames of their split"):
        read_outlined_ctc(root, frames=range(0, 2))


def test_join_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="must be two \\(H, W\\) frames of one shape"):
        join_frame(np.zeros((4, 4), np.uint16), np.zeros((4, 5), np.uint16))
    with pytest.raises(TypeError, match="outlines must be integer instance labels"):
        join_frame(np.zeros((4, 4), np.uint16), np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="min_marker_fraction"):
        join_frame(np.zeros((4, 4), np.uint16), np.zeros((4, 4), np.uint16), min_marker_fraction=0.3)


def test_real_marker_datasets_join_with_few_losses(shared_data: Path) -> None:
    sequence, report = read_outlined_ctc(shared_data / "PhC-C2DH-U373", frames=range(0, 5), read_images=False)
    assert report.method == "joined" and report.counts.joined == report.counts.objects
    assert track_problems(sequence.labels, sequence.lineage) == []
    dense, report = read_outlined_ctc(shared_data / "Fluo-N2DH-SIM+", frames=range(0, 3), read_images=False)
    assert report.method == "as-is"
