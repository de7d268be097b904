import numpy as np
import pytest

from tganaug import fidelity


def _video(seed=0, frames=9, size=64):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    video = np.full((frames, size, size), 0.1, np.float32)
    for t in range(frames):
        for cy, cx in ((20, 20 + t), (44, 40 - t)):
            video[t][(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = 0.8
    return np.clip(video + rng.normal(0, 0.01, video.shape).astype(np.float32), 0, 1)


def test_identical_videos_score_perfectly():
    video = _video()
    ssim, psnr = fidelity.ssim_psnr(video, video)
    assert ssim == pytest.approx(1.0) and psnr == float("inf")
    assert fidelity.feature_distance(video, video) == pytest.approx(0.0, abs=1e-6)
    assert abs(fidelity.fvd_like(video, video, clip_len=4, tile=32)) < 1e-6


def test_worse_videos_score_worse():
    video = _video()
    rng = np.random.default_rng(1)
    slightly = np.clip(video + rng.normal(0, 0.02, video.shape).astype(np.float32), 0, 1)
    badly = np.clip(video + rng.normal(0, 0.2, video.shape).astype(np.float32), 0, 1)
    ssim_a, psnr_a = fidelity.ssim_psnr(video, slightly)
    ssim_b, psnr_b = fidelity.ssim_psnr(video, badly)
    assert 1 > ssim_a > ssim_b and psnr_a > psnr_b
    assert 0 < fidelity.feature_distance(video, slightly) < fidelity.feature_distance(video, badly)
    assert fidelity.fvd_like(video, slightly, 4, 32) < fidelity.fvd_like(video, badly, 4, 32)


def test_warp_error_follows_motion():
    """A video that moves like the real one warps best; a frozen or shuffled one does not."""
    video = _video()
    static = np.repeat(video[:1], len(video), axis=0)
    shuffled = video[np.random.default_rng(0).permutation(len(video))]
    coherent = fidelity.warp_error(video, video)
    assert coherent < 0.8 * fidelity.warp_error(video, static) < 0.8 * fidelity.warp_error(video, shuffled)


def test_bad_inputs():
    video = _video()
    with pytest.raises(ValueError, match="of one shape"):
        fidelity.ssim_psnr(video, video[:, :32])
    with pytest.raises(ValueError, match="finite"):
        fidelity.feature_distance(video, np.full_like(video, np.nan))
    with pytest.raises(ValueError, match="fewer than clip_len"):
        fidelity.clip_features(video[:3], clip_len=4)
    with pytest.raises(ValueError, match="at least 2 frames"):
        fidelity.warp_error(video[:1], video[:1])


def test_line_plot_draws_each_series_at_its_values() -> None:
    from tganaug.visualize import PLOT_COLOURS, line_plot

    image = line_plot([10, 20, 30], {"a": [1.0, 2.0, 3.0], "b": [3.0, 3.0, 0.5]}, title="t", size=(400, 300))
    assert image.shape == (300, 400, 3) and image.dtype == np.uint8
    for colour in PLOT_COLOURS[:2]:  # both series are drawn
        assert (image == colour).all(-1).sum() > 50
    assert not (image == PLOT_COLOURS[2]).all(-1).any()
    # series "a" rises from left to right: its colour's lowest pixel row on the left half is below that on the right half
    rows, cols = np.nonzero((image == PLOT_COLOURS[0]).all(-1) & (np.arange(400)[None, :] < 260))
    assert rows[cols < 120].mean() > rows[cols > 200].mean()
    with pytest.raises(ValueError, match="series 'a' has 2 values for 3"):
        line_plot([1, 2, 3], {"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="finite"):
        line_plot([1, 2], {"a": [1.0, float("nan")]})
