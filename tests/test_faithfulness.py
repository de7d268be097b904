"""Annotation faithfulness (``tganaug.faithfulness``): unlabelled cell-like objects and invisible masks."""

from __future__ import annotations

import numpy as np
import pytest

from tganaug.faithfulness import annotation_faithfulness, detection_contrast, flatten_background, frame_faithfulness, mask_contrast, threshold_settings

SIZE = 96


def _disc(y: int, x: int, radius: int = 7) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    return (yy - y) ** 2 + (xx - x) ** 2 <= radius**2


def _scene(n_frames: int = 3, *, ghosts=((70, 20), (20, 75)), invisible=((75, 75),), seed: int = 0):
    """Frames with three labelled bright cells, unlabelled bright blobs at ``ghosts`` and masks at ``invisible``
    drawn at the background level: ``(video (T, H, W) float32, labels (T, H, W) uint16)``."""
    rng = np.random.default_rng(seed)
    video = 0.1 + rng.normal(0, 0.01, (n_frames, SIZE, SIZE))
    labels = np.zeros((n_frames, SIZE, SIZE), np.uint16)
    for t in range(n_frames):
        for k, (y, x) in enumerate(((15, 15), (48, 48), (20, 40 + t)), start=1):
            labels[t][_disc(y, x)] = k
            video[t][_disc(y, x)] += 0.6
        for y, x in ghosts:
            video[t][_disc(y, x)] += 0.6
        for k, (y, x) in enumerate(invisible, start=10):
            labels[t][_disc(y, x)] = k
    return video.astype(np.float32), labels


def test_hand_made_frames_count_unlabelled_blobs_and_invisible_masks() -> None:
    video, labels = _scene()
    result = annotation_faithfulness(video, labels)
    assert result.unlabelled.tolist() == [2, 2, 2]
    assert result.invisible.tolist() == [1, 1, 1] and result.masks.tolist() == [4, 4, 4]
    assert result.unlabelled_real is None and result.excess.tolist() == [2, 2, 2]
    assert result.mean_unlabelled == 2.0 and result.invisible_fraction == 0.25
    ghosts = sorted(map(tuple, np.round(result.frames[0].unlabelled_centroids).astype(int).tolist()))
    assert ghosts == [(20, 75), (70, 20)]  # where the blobs are
    assert result.settings["invert"] is False and 0.1 < result.settings["threshold"] < 0.7

    clean, clean_labels = _scene(ghosts=(), invisible=())
    faithful = annotation_faithfulness(clean, clean_labels)
    assert faithful.unlabelled.tolist() == [0, 0, 0] and faithful.invisible.tolist() == [0, 0, 0]


def test_the_real_frames_unlabelled_objects_are_subtracted() -> None:
    video, labels = _scene()
    real, _ = _scene(ghosts=((70, 20),), seed=1)  # the real data has one unannotated cell as well
    result = annotation_faithfulness(video, labels, real * 200)  # any intensity units
    assert result.unlabelled_real.tolist() == [1, 1, 1]
    assert result.excess.tolist() == [1, 1, 1] and result.summary()["excess"] == 1.0


def test_dark_cells_and_a_marker_inside_a_larger_cell() -> None:
    video, labels = _scene(ghosts=((70, 20),), invisible=())
    dark = 1 - video  # phase-contrast-like: dark cells on a bright background
    result = annotation_faithfulness(dark, labels)
    assert result.settings["invert"] is True and result.unlabelled.tolist() == [1, 1, 1]
    markers = np.where(np.stack([np.isin(frame, [1, 2, 3]) & _shrunk(frame) for frame in labels]), labels, 0)
    shrunken = annotation_faithfulness(video, markers.astype(np.uint16))  # CTC TRA markers: a part of each cell
    assert shrunken.unlabelled.tolist() == [1, 1, 1] and shrunken.invisible.tolist() == [0, 0, 0]


def _shrunk(frame: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_erosion(frame > 0, iterations=3)


def test_a_detected_mask_below_the_contrast_threshold_is_invisible() -> None:
    rng = np.random.default_rng(0)
    image = 0.2 + rng.normal(0, 0.02, (SIZE, SIZE))
    labels = np.zeros((SIZE, SIZE), np.uint16)
    labels[_disc(30, 30)] = 1
    labels[_disc(60, 60)] = 2
    image[_disc(30, 30)] += 0.2  # 10 background s.d.
    image[_disc(60, 60)] += 0.01  # half a background s.d.
    contrast = mask_contrast(image, labels)
    assert contrast[1] == pytest.approx(10, rel=0.2) and contrast[2] == pytest.approx(0.5, abs=0.25)
    detections = labels.copy()  # a segmenter that found both
    frame = frame_faithfulness(image, labels, detections)
    assert (frame.unlabelled, frame.undetected, frame.invisible, frame.masks) == (0, 0, 1, 2)
    assert frame_faithfulness(image, labels, detections, min_contrast=0.2).invisible == 0
    missed = frame_faithfulness(image, labels, np.where(labels == 1, 1, 0))
    assert (missed.undetected, missed.invisible) == (1, 1)


def test_background_shading_is_no_object_but_a_cell_on_it_is() -> None:
    """Dark cells on a background with a broad darker zone (phase-contrast-like shading, 6 cell radii across and 0.7
    of the cell contrast deep): one threshold for the whole frame finds the zone as objects without a mask; less the
    local background only the two planted unlabelled cells count, one of them inside the zone."""
    size = 192
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    video = np.empty((2, size, size))
    labels = np.zeros((2, size, size), np.uint16)
    for t in range(2):
        frame = 0.8 - 0.42 * np.exp(-((yy - 120) ** 2 + (xx - 60) ** 2) / (2 * 22.0**2)) + rng.normal(0, 0.01, (size, size))
        for k, (y, x) in enumerate(((30, 30), (40, 150), (150, 160), (100, 100 + t)), start=1):
            disc = (yy - y) ** 2 + (xx - x) ** 2 <= 49
            labels[t][disc] = k
            frame[disc] -= 0.6
        for y, x in ((120, 60), (60, 100)):  # unlabelled cells: in the dark zone and on the plain background
            frame[(yy - y) ** 2 + (xx - x) ** 2 <= 49] -= 0.6
        video[t] = frame
    one_level = annotation_faithfulness(video, labels, local_background=None, min_contrast=0.0)
    assert one_level.unlabelled.tolist() == [2, 2]  # the zone (swallowing the cell in it) and the other cell
    assert one_level.frames[0].detections <= 6
    result = annotation_faithfulness(video, labels)
    assert result.unlabelled.tolist() == [2, 2] and result.invisible.tolist() == [0, 0]
    ghosts = np.array(sorted(map(tuple, result.frames[0].unlabelled_centroids.tolist())))
    assert np.abs(ghosts - [[60, 100], [120, 60]]).max() <= 2  # where the planted cells are
    flat = flatten_background(video, labels)
    assert abs(float(np.median(flat[0][labels[0] == 0]))) < 0.02  # the background about 0 everywhere
    assert flat[0][120, 60] < -0.5  # the planted cell keeps its contrast
    with pytest.raises(ValueError, match="local_background"):
        annotation_faithfulness(video, labels, local_background=0)


def test_an_unlabelled_detection_below_the_contrast_threshold_is_faint() -> None:
    rng = np.random.default_rng(0)
    image = 0.2 + rng.normal(0, 0.02, (SIZE, SIZE))
    labels = np.zeros((SIZE, SIZE), np.uint16)
    labels[_disc(30, 30)] = 1
    image[_disc(30, 30)] += 0.2
    image[_disc(70, 70)] += 0.2  # an unlabelled cell: 10 background s.d.
    image[_disc(20, 75)] += 0.01  # a dip of the background: half an s.d.
    detections = np.zeros((SIZE, SIZE), np.uint16)
    detections[_disc(30, 30)] = 1
    detections[_disc(70, 70)] = 2
    detections[_disc(20, 75)] = 3
    contrast = detection_contrast(image, labels, detections, np.array([2, 3]))
    assert contrast[0] == pytest.approx(10, rel=0.2) and contrast[1] == pytest.approx(0.5, abs=0.25)
    frame = frame_faithfulness(image, labels, detections)
    assert (frame.unlabelled, frame.faint, frame.detections) == (1, 1, 3)
    assert np.round(frame.unlabelled_centroids).astype(int).tolist() == [[70, 70]]
    assert frame_faithfulness(image, labels, detections, min_contrast=0.0).unlabelled == 2


def test_real_phase_contrast_frames_have_about_no_object_without_a_mask(shared_data) -> None:
    """The measure on real frames with their own dense annotation (PhC-Ecoli-vanVliet 01, train frames t000-t028,
    every 4th): one threshold for the whole frame finds the darker ground around the colony as objects without a
    mask (over 10 per frame); less the local background, and counting what stands out by 1 s.d., at most one (a
    dust speck the annotation leaves out)."""
    from tganaug.io import read_ctc

    video = read_ctc(shared_data / "PhC-Ecoli-vanVliet", "01", frames=range(29))
    images, labels = video.images[::4].astype(np.float32), video.labels[::4]
    assert annotation_faithfulness(images, labels, local_background=None, min_contrast=0.0).mean_unlabelled > 10
    result = annotation_faithfulness(images, labels)
    assert result.unlabelled.max() <= 1 and result.mean_unlabelled <= 0.8
    assert result.faint.sum() > 0


def test_a_given_segmenter_is_used() -> None:
    video, labels = _scene()

    class Perfect:
        def segment_frame(self, image: np.ndarray) -> np.ndarray:
            return labels[0]

    result = annotation_faithfulness(video[:1], labels[:1], segmenter=Perfect())
    assert result.unlabelled.tolist() == [0] and result.settings == {}


def test_bad_input_is_refused() -> None:
    video, labels = _scene(1)
    with pytest.raises(ValueError, match="labels hold no mask"):
        threshold_settings(video, np.zeros_like(labels))
    with pytest.raises(ValueError, match=r"labels \(1, 96, 95\) must have the video's shape"):
        annotation_faithfulness(video, labels[:, :, :95])
    with pytest.raises(ValueError, match="real video .* and generated video .* differ in shape"):
        annotation_faithfulness(video, labels, np.zeros((2, SIZE, SIZE)))
    with pytest.raises(ValueError, match="generated video contains NaN"):
        annotation_faithfulness(np.full_like(video, np.nan), labels)
    with pytest.raises(ValueError, match="non-empty \\(T, H, W\\)"):
        annotation_faithfulness(video[0], labels[0])
    with pytest.raises(ValueError, match="level must be in"):
        threshold_settings(video, labels, level=1.5)
