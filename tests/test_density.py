"""Detection in dense colonies (``tganaug.benchmarking.density``): CTC DET per frame, merges, misses, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from tganaug.benchmarking.density import colony_video, detection_by_frame, frame_detection, mask_components, segment_frames
from tganaug.registry import get_generator


@pytest.fixture(scope="module")
def colony():
    """A tiny ``colony`` video (6 frames of 64², seed 0) rendered by the ``procedural`` renderer."""
    return colony_video(get_generator("procedural"), seed=0, frames=6, height=64, width=64)


def _squares() -> np.ndarray:
    """``(32, 32) uint16``: four 8x8 cells, 1 and 2 touching side by side, 3 and 4 apart."""
    frame = np.zeros((32, 32), np.uint16)
    frame[2:10, 2:10], frame[2:10, 10:18] = 1, 2
    frame[20:28, 2:10], frame[20:28, 20:28] = 3, 4
    return frame


def test_a_perfect_segmentation_scores_one_and_counts_nothing(colony) -> None:
    scored = detection_by_frame(colony.labels, colony.labels)
    assert [f.frame for f in scored] == list(range(6))
    assert all(f.DET == 1.0 and f.merged == f.missed == f.spurious == 0 for f in scored)
    assert [f.cells for f in scored] == [len(np.unique(frame)) - 1 for frame in colony.labels]
    assert [f.detections for f in scored] == [f.cells for f in scored]
    assert [f.coverage for f in scored] == pytest.approx([float(np.mean(frame > 0)) for frame in colony.labels])
    assert scored[-1].cells > scored[0].cells  # the colony grows


def test_merged_missed_and_spurious_objects_cost_what_ctc_det_charges() -> None:
    gt = _squares()
    merged = gt.copy()
    merged[merged == 2] = 1
    result = frame_detection(gt, merged)
    assert (result.merged, result.missed, result.spurious, result.detections) == (1, 0, 0, 3)
    assert result.DET == pytest.approx(1 - 5 / 40)
    missed = np.where(gt == 4, 0, gt)
    assert frame_detection(gt, missed).DET == pytest.approx(1 - 10 / 40) and frame_detection(gt, missed).missed == 1
    spurious = gt.copy()
    spurious[30:32, 30:32] = 9
    assert frame_detection(gt, spurious).DET == pytest.approx(1 - 1 / 40) and frame_detection(gt, spurious).spurious == 1
    result = frame_detection(gt, gt, frame=7)
    assert (result.frame, result.cells, result.components, result.cell_area, result.coverage) == (7, 4, 3, 64.0, 256 / 1024)


def test_the_binary_mask_components_merge_exactly_the_touching_cells(colony) -> None:
    components = mask_components(colony.labels)
    assert components.dtype == np.uint16 and components.shape == colony.labels.shape
    assert np.array_equal(components > 0, colony.labels > 0)
    for scored in detection_by_frame(colony.labels, components, frames=range(10, 16)):
        assert scored.detections == scored.components and scored.missed == scored.spurious == 0
        assert scored.merged == scored.cells - scored.components
        assert scored.DET == pytest.approx(1 - (scored.cells - scored.components) / (2 * scored.cells))
    assert scored.frame == 15 and scored.components < scored.cells  # the last frame has touching cells


def test_a_segmenter_plugin_is_run_on_the_whole_video(colony) -> None:
    segmentation, messages = segment_frames(colony.frames, "threshold", {"threshold": 0.4, "min_size": 4})
    assert segmentation.shape == colony.labels.shape and segmentation.dtype == np.uint16 and messages == []
    scored = detection_by_frame(colony.labels, segmentation)
    assert all(0.0 <= f.DET <= 1.0 for f in scored) and scored[0].DET > 0.5  # the founders stand apart


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="must be"):
        frame_detection(np.zeros((4, 4), np.uint16), np.zeros((4, 5), np.uint16))
    with pytest.raises(ValueError, match="frame numbers"):
        detection_by_frame(np.ones((2, 4, 4), np.uint16), np.ones((2, 4, 4), np.uint16), frames=[0])
