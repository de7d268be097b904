"""The segmenter warns, naming what differs, when a video is unlike its training frames."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tganaug.io import read_ctc
from tganaug.segmentation.input_check import (SegmenterInputWarning, frame_statistics, input_differences, input_reference,
                                              read_input_reference, write_input_reference)
from tganaug.utils.weights import WEIGHTS_DIR


def _nuclei_video(noise_sd: float, seed: int = 0, scale: float = 1.0, frames: int = 4, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.indices((size, size))
    clean = np.full((size, size), 20.0)
    for cy, cx in [(24, 24), (24, 70), (70, 48)]:
        clean[(yy - cy) ** 2 + (xx - cx) ** 2 <= 100] = 120.0
    return np.stack([(clean + rng.normal(0, noise_sd, clean.shape)) * scale for _ in range(frames)])


def test_statistics_are_those_of_the_normalised_video() -> None:
    video = _nuclei_video(5.0)
    base, scaled = frame_statistics(video), frame_statistics(video, percentiles=(0.1, 99.9))
    brighter = frame_statistics(_nuclei_video(5.0, scale=4.0))
    for name in ("noise", "background", "contrast_to_noise"):  # invariant to the camera's gain
        np.testing.assert_allclose(brighter[name], base[name], rtol=1e-5)
    np.testing.assert_allclose(brighter["grey_levels"], 4 * base["grey_levels"], rtol=1e-5)
    noisier = frame_statistics(_nuclei_video(15.0))  # 3x the noise; the normalised range widens with it
    assert np.all(noisier["noise"] > 1.5 * base["noise"]) and np.all(noisier["contrast_to_noise"] < base["contrast_to_noise"] / 1.5)
    assert scaled["noise"].shape == (4,)
    long_video = frame_statistics(np.repeat(video, 10, axis=0))
    assert long_video["noise"].shape == (8,)  # at most 8 frames measured


def test_input_differences_name_what_differs() -> None:
    reference = input_reference([_nuclei_video(5.0, seed=s) for s in range(2)])
    assert input_differences(_nuclei_video(5.0, seed=7), reference) == []
    found = input_differences(_nuclei_video(15.0), reference)
    assert any(text.startswith("noise ") and "above the training range" in text for text in found)
    assert any(text.startswith("contrast to noise ") and "below the training range" in text for text in found)
    with pytest.raises(ValueError, match="at least one training video"):
        input_reference([])


def test_reference_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.pt"
    reference = input_reference([_nuclei_video(5.0)])
    path = write_input_reference(checkpoint, reference, ["hand-made"])
    assert path == tmp_path / "model.inputs.json"
    read_back = read_input_reference(checkpoint)
    assert read_back.keys() == reference.keys()
    for name, bounds in reference.items():
        assert read_back[name] == pytest.approx(bounds), name
    assert read_input_reference(tmp_path / "other.pt") is None
    path.write_text("{\"statistics\": 3}")
    with pytest.raises(ValueError, match="model.inputs.json: not a segmenter input reference"):
        read_input_reference(checkpoint)


def test_shipped_segmenter_warns_on_an_unfamiliar_video_only() -> None:
    from tganaug.segmentation.model import UNetSegmenter

    segmenter = UNetSegmenter("fluo-nuclei", device="cpu")
    assert segmenter.input_reference is not None
    with pytest.warns(SegmenterInputWarning, match=r"unlike the frames segmenter 'fluo-nuclei' was trained on \(.*noise"):
        segmenter.probabilities(_nuclei_video(40.0, frames=1, size=48))


def test_shipped_reference_accepts_held_out_frames_and_flags_the_unseen_sequence(shared_data: Path) -> None:
    reference = read_input_reference(WEIGHTS_DIR / "segmenter-fluo-nuclei.pt")
    same_sequence = read_ctc(shared_data / "Fluo-N2DH-SIM+", "01", frames=range(45, 65), read_labels=False).images
    assert input_differences(same_sequence, reference) == []
    unseen = read_ctc(shared_data / "Fluo-N2DH-SIM+", "02", frames=range(0, 20), read_labels=False).images
    found = input_differences(unseen, reference)
    assert any(text.startswith("noise ") for text in found)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        input_differences(same_sequence, reference)
