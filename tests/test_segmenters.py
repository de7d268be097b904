"""The classical ``threshold`` segmenter."""

from __future__ import annotations

import numpy as np
import pytest
from _tracking_cases import disc_video, image_video
from skimage.draw import disk

import tganaug
from tganaug.tracking.matching import frame_overlap


def test_threshold_segmenter_is_registered() -> None:
    assert "threshold" in tganaug.default_registry().names("segmenter")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_separate_cells_are_found_with_high_iou(dtype: type) -> None:
    truth = disc_video(frames=3, shuffle=False)
    images = image_video(truth).astype(np.float64)
    if dtype == np.uint8:
        images = images / 4
    images = images.astype(dtype)
    labels = tganaug.get_segmenter("threshold").segment(images)
    assert labels.dtype == np.uint16 and labels.shape == truth.shape
    for t in range(3):
        overlap = frame_overlap(truth[t], labels[t])
        assert overlap.ids_b.size == 3
        assert overlap.iou.max(axis=1).min() > 0.8


def test_touching_cells_are_split_by_the_watershed() -> None:
    frame = np.zeros((60, 80), np.uint16)
    for col in (28, 50):  # two discs of radius 12 whose edges touch
        rr, cc = disk((30, col), 12, shape=frame.shape)
        frame[rr, cc] = 1
    images = image_video(frame[None])
    split = tganaug.get_segmenter("threshold").segment(images)[0]
    merged = tganaug.get_segmenter("threshold", watershed=False).segment(images)[0]
    assert np.unique(merged[merged > 0]).size == 1
    assert np.unique(split[split > 0]).size == 2
    assert split[30, 22] != split[30, 56]


def test_invert_fixed_threshold_min_size_and_flat_frames() -> None:
    truth = disc_video(frames=2, shuffle=False)
    dark_cells = (1000 - image_video(truth).astype(np.int32)).astype(np.uint16)
    labels = tganaug.get_segmenter("threshold", invert=True).segment(dark_cells)
    assert np.unique(labels[0][labels[0] > 0]).size == 3
    fixed = tganaug.get_segmenter("threshold", threshold=350.0).segment(image_video(truth))
    assert np.unique(fixed[0][fixed[0] > 0]).size == 3
    none_left = tganaug.get_segmenter("threshold", min_size=10_000).segment(image_video(truth))
    assert not none_left.any()
    flat = tganaug.get_segmenter("threshold").segment(np.full((2, 16, 16), 7, np.uint16))
    assert flat.shape == (2, 16, 16) and not flat.any()


def test_bad_inputs_are_refused() -> None:
    segmenter = tganaug.get_segmenter("threshold")
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        segmenter.segment(np.zeros((16, 16)))
    with pytest.raises(ValueError, match="empty video"):
        segmenter.segment(np.zeros((0, 16, 16)))
    with pytest.raises(ValueError, match="NaN"):
        segmenter.segment(np.full((1, 16, 16), np.nan))
    with pytest.raises(ValueError, match="sigma"):
        tganaug.get_segmenter("threshold", sigma=-1)


def test_unet_segments_tiny_and_boolean_frames() -> None:
    """16 x 16 frames used to leave a 1 x 1 bottleneck (a torch error about training); bool images were refused."""
    segmenter = tganaug.get_segmenter("unet")
    labels = disc_video()[:2, :16, :16]
    images = image_video(labels)
    for frames in (images, images > np.median(images)):
        segmented = segmenter.segment(frames)
        assert segmented.shape == (2, 16, 16) and segmented.dtype == np.uint16
    with pytest.raises(ValueError, match="finite real numbers, got dtype complex64"):
        segmenter.segment(np.zeros((1, 32, 32), np.complex64))
