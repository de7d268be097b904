"""Clean reference backgrounds (``tganaug.training.background``) and how tGAN uses them when a video has none."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _tiny_tgan import tiny_tgan, two_box_masks

from tganaug.models.tgan import (
    BACKGROUND_DEFAULTS,
    SHIPPED_MODELS,
    TGAN,
    reference_crop,
)
from tganaug.training.background import _distances, clean_background, halo_extent


def _haloed_video(n_frames: int = 12, size: int = 96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cell sitting still (a ghost for a per-pixel median) and one moving, both with a 5-px halo, on a
    gradient: ``(video (T, H, W) float32 in [0, 1], labels uint16, the true background (H, W))``."""
    yy, xx = np.mgrid[:size, :size]
    truth = (0.2 + 0.1 * xx / size).astype(np.float32)
    video = np.empty((n_frames, size, size), np.float32)
    labels = np.zeros((n_frames, size, size), np.uint16)
    rng = np.random.default_rng(0)
    for t in range(n_frames):
        labels[t][(yy - 30) ** 2 + (xx - 30) ** 2 < 64] = 1  # still
        labels[t][(yy - 70) ** 2 + (xx - 10 - 6 * t) ** 2 < 64] = 2  # moving right
        distance = _distances(labels[t][None] > 0)[0]
        halo = np.where((distance > 0) & (distance <= 5), 0.15, 0.0)
        video[t] = truth + halo + rng.normal(0, 0.005, (size, size))
        video[t][labels[t] > 0] = 0.9
    return np.clip(video, 0, 1), labels, truth


def test_halo_extent_finds_the_halo() -> None:
    video, labels, _ = _haloed_video()
    assert 5 <= halo_extent(video, _distances(labels > 0)) <= 6  # the halo ends at 5 px; the next compared distance is 6


def test_clean_background_removes_ghosts_and_keeps_the_background() -> None:
    from tganaug.training.data import background_from_video

    video, labels, truth = _haloed_video()
    clean = clean_background(video, labels)
    assert clean.shape == truth.shape and clean.dtype == np.float32
    ghost = (np.mgrid[:96, :96][0] - 30) ** 2 + (np.mgrid[:96, :96][1] - 30) ** 2 < 14 ** 2  # the still cell and its halo
    assert np.abs(clean - truth)[ghost].max() < 0.02  # filled from the gradient around it
    assert np.abs(clean - truth)[~ghost].max() < 0.02  # elsewhere the measured background
    # the plain per-pixel median (the training reference) keeps the ghost of the still cell's halo
    plain = background_from_video(video, labels, percentiles=None)
    assert np.abs(plain - truth)[ghost].max() > 0.1


@pytest.mark.parametrize(
    ("video", "cells", "match"),
    [
        (np.zeros((2, 8, 8), np.float32), np.zeros((2, 8, 9), bool), "same shape"),
        (np.zeros((0, 8, 8), np.float32), np.zeros((0, 8, 8), bool), "T = 0"),
        (np.full((2, 8, 8), np.nan, np.float32), np.zeros((2, 8, 8), bool), "NaN"),
    ],
)
def test_clean_background_rejects_bad_input(video, cells, match) -> None:
    with pytest.raises(ValueError, match=match):
        clean_background(video, cells)


def test_clean_background_of_an_always_covered_frame_is_flat() -> None:
    video = np.full((3, 16, 16), 0.3, np.float32)
    assert np.array_equal(clean_background(video, np.ones((3, 16, 16), bool)), np.full((16, 16), 0.3, np.float32))


def test_reference_crop_is_a_flipped_crop_or_a_mirror_tiling() -> None:
    reference = np.random.default_rng(1).random((20, 30)).astype(np.float32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        crop = reference_crop(reference, 8, 11, rng)
        assert crop.shape == (8, 11) and crop.dtype == np.float32
        unflipped = [crop[::sy, ::sx] for sy in (1, -1) for sx in (1, -1)]
        windows = np.lib.stride_tricks.sliding_window_view(reference, (8, 11))
        assert any((windows == c).all(axis=(-2, -1)).any() for c in unflipped)
    big = reference_crop(reference, 50, 70, np.random.default_rng(2))
    assert big.shape == (50, 70)
    assert set(np.unique(big)) <= set(np.unique(reference))  # only mirrored copies of the reference's pixels


def _with_references(**kwargs) -> TGAN:
    references = [np.linspace(0.05, 0.6, 64 * 48, dtype=np.float32).reshape(64, 48), np.full((40, 40), 0.3, np.float32)]
    return tiny_tgan(reference_backgrounds=references, **kwargs)


def test_default_background_is_a_seeded_reference_crop() -> None:
    model = _with_references()
    first = model.default_background_image(37, 29, seed=3)
    assert np.array_equal(first, model.default_background_image(37, 29, seed=3))  # same seed, same background
    choices = {model.default_background_image(37, 29, seed=s).tobytes() for s in range(12)}
    assert len(choices) > 3  # offsets, flips and the choice of reference vary with the seed
    assert all(0.05 <= model.default_background_image(37, 29, s).min() for s in range(5))
    labels = two_box_masks()
    video = model.generate(labels, seed=3)
    assert np.array_equal(video, model.generate(labels, seed=3))
    assert np.array_equal(video, model.generate(labels, background=first, seed=3))  # no background = that crop
    flat = tiny_tgan()  # no references: the flat level
    assert np.array_equal(flat.default_background_image(5, 6, 0), np.full((5, 6), 0.2, np.float32))
    forced = _with_references(background_default="flat")
    assert np.array_equal(forced.generate(labels, seed=3), flat.generate(labels, seed=3))


def test_bad_background_default_and_references_are_refused() -> None:
    assert BACKGROUND_DEFAULTS == ("reference", "flat")
    with pytest.raises(ValueError, match="background_default must be one of 'reference', 'flat'"):
        tiny_tgan(background_default="real")
    with pytest.raises(ValueError, match=r"reference background 0 must be finite and in \[0, 1\]"):
        tiny_tgan(reference_backgrounds=[np.full((8, 8), 2.0, np.float32)])
    with pytest.raises(ValueError, match=r"must be a non-empty \(h, w\) array"):
        tiny_tgan(reference_backgrounds=[np.zeros((2, 8, 8), np.float32)])


def test_training_saves_clean_references_and_export_keeps_them(tmp_path) -> None:
    from test_training import TINY, _video

    from tganaug.training.checkpoint import (
        CheckpointError,
        export_generator,
        load_checkpoint,
        save_checkpoint,
    )
    from tganaug.training.trainer import LowResTrainer

    LowResTrainer(TINY.replace(total_steps=1), tmp_path / "run", data=[_video()], progress=False).train()
    saved = load_checkpoint(tmp_path / "run")["reference_backgrounds"]
    assert list(saved) == ["synthetic"] and saved["synthetic"].shape == (64, 64) and saved["synthetic"].dtype == torch.float16
    exported = export_generator(tmp_path / "run", tmp_path / "export" / "lowres")
    model = TGAN.from_pretrained(tmp_path / "export")
    assert len(model.reference_backgrounds) == 1
    np.testing.assert_array_equal(model.reference_backgrounds[0], saved["synthetic"].float().numpy())
    assert TGAN.from_pretrained(tmp_path / "export", background_default="flat").background_default == "flat"
    data = load_checkpoint(exported)
    data.pop("config_obj")
    data["reference_backgrounds"] = {"synthetic": torch.full((8, 8), float("nan"))}
    save_checkpoint(exported, data)
    with pytest.raises(CheckpointError, match="'synthetic' must be finite"):
        TGAN.from_pretrained(tmp_path / "export")


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_models_carry_clean_reference_backgrounds(name: str) -> None:
    """Every shipped model renders a video given no background on one of its training videos' backgrounds."""
    from tganaug import get_generator

    generator = get_generator("tgan", model=name)
    references = generator.model.reference_backgrounds
    assert references and all(r.ndim == 2 and min(r.shape) >= 256 for r in references)
    assert generator.config["background_default"] == "reference"
    background = generator.model.default_background_image(64, 64, seed=0)
    assert background.std() > 0  # not the flat level
    labels = np.zeros((2, 64, 64), np.uint16)
    labels[:, 20:40, 20:40] = 1
    np.testing.assert_array_equal(generator.generate(labels, seed=0), generator.generate(labels, background=background, seed=0))
