"""The background guard (:mod:`tganaug.models.guard`): no cell-like object away from the masks, the frame kept near them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import tganaug
from tganaug.faithfulness import annotation_faithfulness
from tganaug.models.guard import guard_background, guard_weight
from tganaug.models.tgan import TGAN, resolve_model

SHAPE = (160, 200)


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frame with one masked cell, one unmasked blob far from it, grain and a level 0.05 above its background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(SHAPE)
    background = (0.3 + 0.0004 * xx + rng.normal(0, 0.004, SHAPE)).astype(np.float32)  # a gradient and its own grain
    cells = (yy - 50) ** 2 + (xx - 50) ** 2 <= 12**2
    blob = np.exp(-((yy - 110) ** 2 + (xx - 150) ** 2) / (2 * 6.0**2))
    frame = background + 0.05 + 0.3 * cells + 0.2 * blob + rng.normal(0, 0.01, SHAPE)
    return np.clip(frame, 0, 1).astype(np.float32), cells, background


def test_the_frame_is_kept_near_the_masks_and_the_unmasked_blob_is_gone() -> None:
    frame, cells, background = _scene()
    guarded = guard_background(frame, cells, background, 3)
    assert guarded.dtype == np.float32 and guarded.shape == SHAPE
    distance = ndimage.distance_transform_edt(~cells)
    np.testing.assert_array_equal(guarded[distance <= 3], frame[distance <= 3])
    yy, xx = np.indices(SHAPE)
    at_blob = (yy - 110) ** 2 + (xx - 150) ** 2 <= 4**2
    around = ((yy - 110) ** 2 + (xx - 150) ** 2 > 20**2) & ((yy - 110) ** 2 + (xx - 150) ** 2 <= 30**2)
    contrast = frame[at_blob].mean() - frame[around].mean()
    assert contrast > 0.15
    # the blob is background now, but for what the grain smoothing keeps of its fine structure (about a tenth)
    assert abs(guarded[at_blob].mean() - guarded[around].mean()) < 0.15 * contrast
    far = distance > 6
    # at the frame's own level (0.05 above the reference), with the reference's gradient and the frame's grain
    assert abs(float(np.median(guarded[far] - background[far])) - 0.05) < 0.005
    high_pass = (guarded - ndimage.gaussian_filter(guarded, 2.0))[far & ~at_blob]
    original = (frame - ndimage.gaussian_filter(frame, 2.0))[far & ~at_blob]
    assert 0.8 < high_pass.std() / original.std() < 1.25


def test_weight_and_errors() -> None:
    cells = np.zeros((40, 40), bool)
    weight, distance = guard_weight(cells, 3)
    np.testing.assert_array_equal(weight, 0)
    assert np.isinf(distance).all()
    cells[20, 20] = True
    weight, distance = guard_weight(cells, 3)
    assert distance[20, 26] == 6.0
    assert weight[20, 23] == 1.0 and weight[20, 26] == 0.0 and 0 < weight[20, 25] < 1 and weight[20, 35] == 0.0
    frame, cells, background = _scene()
    with pytest.raises(ValueError, match="the guard distance must be > 0 px"):
        guard_background(frame, cells, background, 0)
    with pytest.raises(ValueError, match="must have one shape"):
        guard_background(frame, cells[:-1], background, 3)
    everywhere = np.ones(SHAPE, bool)
    assert guard_background(frame, everywhere, background, 3) is frame  # nothing away from a mask: unchanged


def test_phase_contrast_draws_no_cell_without_a_mask_at_512() -> None:
    """``phase-contrast`` renders 3 frames of the default ``division`` masks at 512² on its default background: without
    the guard the threshold segmenter finds cell-like grey patches between neighbouring cells that no mask labels; with
    the default guard none, and the masks stay as visible as before."""
    labels = tganaug.get_simulator("division").simulate(3, 512, 512, seed=0).labels
    guarded = TGAN.from_pretrained(resolve_model("phase-contrast"))
    unguarded = TGAN.from_pretrained(resolve_model("phase-contrast"), background_guard=0)
    assert guarded.background_guard == 2 and unguarded.background_guard == 0
    before = annotation_faithfulness(unguarded.generate(labels, seed=0), labels)
    after = annotation_faithfulness(guarded.generate(labels, seed=0), labels)
    assert before.unlabelled.sum() >= 1
    assert after.unlabelled.sum() == 0 and after.faint.sum() == 0
    assert after.invisible.sum() <= before.invisible.sum() + 1
    with pytest.raises(ValueError, match="background_guard must be None or an integer >= 0"):
        TGAN.from_pretrained(resolve_model("phase-contrast"), background_guard=-1)
