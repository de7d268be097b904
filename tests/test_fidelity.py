import numpy as np
import pytest
from scipy import ndimage

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


def test_psnr_is_the_mean_of_each_frames_psnr():
    """A uniform error of 0.1 is 20 dB; 0.01 on a second frame is 40 dB: the mean over frames is 30 dB."""
    real = np.full((2, 16, 16), 0.5, np.float32)
    fake = real.copy()
    fake[0] += 0.1
    fake[1] += 0.01
    assert fidelity.psnr(real, fake) == pytest.approx(30.0, abs=1e-3)
    assert fidelity.ssim_psnr(real, fake)[1] == fidelity.psnr(real, fake)


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


def _clean_video_and_labels(frames=6, size=96):
    """Smooth-edged moving discs on a flat background: ``(T, H, W)`` float32 in [0, 1] and their labels."""
    yy, xx = np.mgrid[:size, :size]
    clean = np.full((frames, size, size), 0.2, np.float32)
    labels = np.zeros((frames, size, size), np.uint16)
    for t in range(frames):
        disc = (yy - 40) ** 2 + (xx - 30 - 2 * t) ** 2 < 150
        clean[t][disc] = 0.6
        labels[t][disc] = 1
    return ndimage.gaussian_filter(clean, (0, 2, 2)), labels


@pytest.mark.parametrize("sigma", [0.01, 0.03, 0.08])
def test_noise_estimators_recover_a_known_noise_level(sigma):
    clean, labels = _clean_video_and_labels()
    noisy = (clean + np.random.default_rng(3).normal(0, sigma, clean.shape)).astype(np.float32)
    assert fidelity.noise_sigma_laplacian(noisy) == pytest.approx(sigma, rel=0.12)
    assert fidelity.noise_sigma_temporal(noisy, labels) == pytest.approx(sigma, rel=0.05)
    # Noise-free frames: the temporal estimate sees a static background, the Laplacian one only disc edges.
    assert fidelity.noise_sigma_temporal(clean, labels) < 1e-3
    assert fidelity.noise_sigma_laplacian(clean) < 0.002


def test_noise_ceiling_matches_the_noise_model():
    clean, _ = _clean_video_and_labels()
    sigma = 0.03
    ceiling = fidelity.noise_ceiling(clean, sigma, seed=1)
    # PSNR of clean + n vs clean is -10 log10(sigma^2); of two noisy copies -10 log10(2 sigma^2).
    assert ceiling["PSNR_clean"] == pytest.approx(-10 * np.log10(sigma**2), abs=0.2)
    assert ceiling["PSNR_noisy"] == pytest.approx(-10 * np.log10(2 * sigma**2), abs=0.2)
    assert 0 < ceiling["SSIM_noisy"] < ceiling["SSIM_clean"] < 1
    assert fidelity.noise_ceiling(clean, sigma, seed=1) == ceiling  # same seed, same numbers
    noiseless = fidelity.noise_ceiling(clean, 0.0)
    assert noiseless["SSIM_clean"] == pytest.approx(1.0, abs=1e-4) and noiseless["SSIM_noisy"] == pytest.approx(1.0, abs=1e-4)
    assert fidelity.noise_ceiling(clean, 0.1)["SSIM_noisy"] < ceiling["SSIM_noisy"]


def test_noise_functions_reject_bad_input():
    clean, labels = _clean_video_and_labels()
    with pytest.raises(ValueError, match="non-empty"):
        fidelity.noise_sigma_laplacian(clean[0])
    with pytest.raises(ValueError, match="finite"):
        fidelity.noise_ceiling(np.full_like(clean, np.nan), 0.01)
    with pytest.raises(ValueError, match="sigma must be"):
        fidelity.noise_ceiling(clean, -0.1)
    with pytest.raises(ValueError, match="labels"):
        fidelity.noise_sigma_temporal(clean, labels[:, :10])
    with pytest.raises(ValueError, match="at least 2 frames"):
        fidelity.noise_sigma_temporal(clean[:1], labels[:1])
    with pytest.raises(ValueError, match="background pixels"):
        fidelity.noise_sigma_temporal(clean, np.ones_like(labels))


def test_psnr_by_region_separates_cell_and_background_errors():
    clean, labels = _clean_video_and_labels()
    fake = clean.copy()
    fake[labels > 0] += 0.1  # error only inside cells
    cells, background = fidelity.psnr_by_region(clean, fake, labels)
    assert cells == pytest.approx(20.0, abs=1e-3) and background == float("inf")
    fake = clean + np.where(labels > 0, 0.0, 0.01).astype(np.float32)  # error only outside
    cells, background = fidelity.psnr_by_region(clean, fake, labels)
    assert cells == float("inf") and background == pytest.approx(40.0, abs=1e-3)
    assert np.isnan(fidelity.psnr_by_region(clean, fake, np.zeros_like(labels))[0])
    # an error only in a 3-px ring around the cells counts for the background, not beyond a 5-px margin
    ring = fidelity.far_background(labels, 0) & ~fidelity.far_background(labels, 3)
    fake = clean + np.where(ring, 0.1, 0.0).astype(np.float32)
    assert fidelity.psnr_by_region(clean, fake, labels)[1] < 40
    assert fidelity.psnr_by_region(clean, fake, labels, margin=5)[1] == float("inf")
    with pytest.raises(ValueError, match="labels"):
        fidelity.psnr_by_region(clean, fake, labels[:, :5])


def test_far_background_keeps_pixels_at_least_margin_from_cells():
    labels = np.zeros((2, 21, 21), np.uint16)
    labels[0, 10, 10] = 4  # one cell pixel in frame 0, none in frame 1
    np.testing.assert_array_equal(fidelity.far_background(labels, 0), labels == 0)
    far = fidelity.far_background(labels, 3)
    rows, cols = np.nonzero(~far[0])
    assert np.abs(rows - 10).max() == 3 and np.abs(cols - 10).max() == 3  # the cell grown by 3 px (cross-shaped)
    assert far[1].all()  # no cells: everything is far (the image border is not a cell)


def test_reference_background_error_measures_drift_and_structure():
    clean, labels = _clean_video_and_labels()
    reference = np.full(clean.shape[1:], 0.3, np.float32)
    drifted = np.where(labels > 0, clean, 0.3 + np.arange(len(clean), dtype=np.float32)[:, None, None] * 0.02)  # background brightens
    result = fidelity.reference_background_error(drifted, reference, labels, margin=2)
    offsets = np.arange(len(clean)) * 0.02
    assert result["offset"] == pytest.approx(offsets.mean(), abs=1e-6)
    assert result["PSNR"] == pytest.approx(-10 * np.log10(np.mean(offsets**2)), abs=1e-3)
    assert result["PSNR_offset_removed"] > 100  # a pure per-frame drift: nothing left once removed
    # structure the reference lacks stays after removing the offset; the cells themselves never count
    textured = drifted.copy()
    textured[:, ::2] += 0.05
    textured[labels > 0] = 1.0
    assert fidelity.reference_background_error(textured, reference, labels, margin=2)["PSNR_offset_removed"] == pytest.approx(32.04, abs=0.1)  # rows +-0.025 about the mean
    # a whole generated video as the reference: its brightness error away from the cells
    brighter = clean + 0.05
    assert fidelity.reference_background_error(clean, brighter, labels, margin=2)["offset"] == pytest.approx(-0.05, abs=1e-6)
    with pytest.raises(ValueError, match="reference"):
        fidelity.reference_background_error(clean, reference[:5], labels)
    with pytest.raises(ValueError, match="NaN"):
        fidelity.reference_background_error(clean, np.full_like(reference, np.nan), labels)
    with pytest.raises(ValueError, match="no background pixels"):
        fidelity.reference_background_error(clean, reference, np.ones_like(labels))


def test_ssim_by_frame_locates_the_damaged_frame():
    """Per-frame SSIM averages to ``ssim_psnr``'s SSIM; damage to one frame lowers that frame only."""
    video = _video()
    damaged = video.copy()
    damaged[5] = np.clip(damaged[5] + np.random.default_rng(3).normal(0, 0.2, damaged[5].shape), 0, 1)
    per_frame = fidelity.ssim_by_frame(video, damaged)
    assert per_frame.shape == (len(video),) and per_frame.dtype == np.float64
    assert per_frame.mean() == pytest.approx(fidelity.ssim_psnr(video, damaged)[0], abs=1e-6)
    assert np.allclose(np.delete(per_frame, 5), 1.0) and per_frame[5] < 0.5
    with pytest.raises(ValueError, match="of one shape"):
        fidelity.ssim_by_frame(video, video[:-1])


def test_compare_scores_needs_a_difference_beyond_the_seed_spread():
    ours, close, far = [0.390, 0.392, 0.388], [0.389, 0.393, 0.387], [0.370, 0.371, 0.369]
    assert fidelity.compare_scores(ours, far, higher_is_better=True) == "better"
    assert fidelity.compare_scores(far, ours, higher_is_better=True) == "worse"
    assert fidelity.compare_scores(ours, close, higher_is_better=True) == "tie"  # means differ by 0.0003, spread 0.002
    # lower is better flips the verdict; distances to a target are passed as such
    assert fidelity.compare_scores(ours, far, higher_is_better=False) == "worse"
    # one seed on a side: no spread to test, the sign decides; equal means tie
    assert fidelity.compare_scores([0.39], [0.3899], higher_is_better=True) == "better"
    assert fidelity.compare_scores([0.5, 0.5], [0.5, 0.5], higher_is_better=True) == "tie"
    # no spread at all on either side: the difference is exact
    assert fidelity.compare_scores([0.5, 0.5], [0.4, 0.4], higher_is_better=True) == "better"
    with pytest.raises(ValueError, match="non-empty"):
        fidelity.compare_scores([], [0.1], higher_is_better=True)
    with pytest.raises(ValueError, match="finite"):
        fidelity.compare_scores([0.1, float("nan")], [0.1], higher_is_better=True)
    with pytest.raises(ValueError, match="alpha"):
        fidelity.compare_scores([0.1], [0.2], higher_is_better=True, alpha=1.5)


def test_compare_training_runs_needs_every_pairing_of_runs_to_agree():
    """A difference that holds for one training run but not another is a tie; one that holds for every pairing is not."""
    lucky, typical = [0.400, 0.401, 0.399], [0.380, 0.381, 0.379]
    baseline_a, baseline_b = [0.390, 0.391, 0.389], [0.370, 0.371, 0.369]
    # each pairing is significant, but they disagree (lucky beats both, typical loses to baseline_a): tie
    assert fidelity.compare_scores(typical, baseline_a, higher_is_better=True) == "worse"
    assert fidelity.compare_training_runs([lucky, typical], [baseline_a, baseline_b], higher_is_better=True) == "tie"
    assert fidelity.training_run_pairings([lucky, typical], [baseline_a, baseline_b], higher_is_better=True) == ["better", "better", "worse", "better"]
    assert fidelity.agreed_verdict(["worse", "worse"]) == "worse" and fidelity.agreed_verdict(["better", "tie"]) == "tie"
    with pytest.raises(ValueError, match="at least one pairing"):
        fidelity.agreed_verdict([])
    # both candidate runs beat both baseline runs: better; the other way round: worse
    assert fidelity.compare_training_runs([lucky, [0.395, 0.396, 0.394]], [baseline_a, baseline_b], higher_is_better=True) == "better"
    assert fidelity.compare_training_runs([baseline_a, baseline_b], [lucky, [0.395, 0.396, 0.394]], higher_is_better=True) == "worse"
    assert fidelity.compare_training_runs([baseline_b], [lucky], higher_is_better=False) == "better"  # lower is better
    # a single run on each side is compare_scores itself (an untrained baseline is one run)
    assert fidelity.compare_training_runs([lucky], [baseline_a], higher_is_better=True) == fidelity.compare_scores(lucky, baseline_a, higher_is_better=True)
    # one pairing a tie: the whole verdict is a tie
    assert fidelity.compare_training_runs([lucky, [0.390, 0.392, 0.388]], [baseline_a], higher_is_better=True) == "tie"
    with pytest.raises(ValueError, match="at least one training run"):
        fidelity.compare_training_runs([], [baseline_a], higher_is_better=True)
    with pytest.raises(ValueError, match="finite"):
        fidelity.compare_training_runs([[0.1, float("nan")]], [baseline_a], higher_is_better=True)


def test_compare_run_means_takes_training_runs_as_the_samples():
    """Each run is reduced to its mean over generation seeds; a Welch t-test over those means decides, with its p-value."""
    from scipy import stats

    ours = [[0.600, 0.610], [0.620, 0.612], [0.605]]  # run means 0.605, 0.616, 0.605
    theirs = [[0.500, 0.505], [0.520], [0.510, 0.512, 0.508]]  # 0.5025, 0.520, 0.510
    verdict, p = fidelity.compare_run_means(ours, theirs, higher_is_better=True)
    expected = stats.ttest_ind([0.605, 0.616, 0.605], [0.5025, 0.520, 0.510], equal_var=False).pvalue
    assert verdict == "better" and p == pytest.approx(expected) and p < 0.05
    assert fidelity.compare_run_means(theirs, ours, higher_is_better=True) == ("worse", pytest.approx(expected))
    assert fidelity.compare_run_means(ours, theirs, higher_is_better=False)[0] == "worse"  # lower is better
    # every pairing of runs is significant and agrees, yet the run means overlap: compare_training_runs says better,
    # the runs-as-samples test does not
    lucky, typical = [0.400, 0.401, 0.399], [0.3900, 0.3901, 0.3899]
    baseline_a, baseline_b = [0.3880, 0.3881, 0.3879], [0.370, 0.371, 0.369]
    assert fidelity.compare_training_runs([lucky, typical], [baseline_a, baseline_b], higher_is_better=True) == "better"
    verdict, p = fidelity.compare_run_means([lucky, typical], [baseline_a, baseline_b], higher_is_better=True)
    assert verdict == "tie" and p == pytest.approx(stats.ttest_ind([0.400, 0.390], [0.388, 0.370], equal_var=False).pvalue) and p > 0.05
    # no spread among the run means on either side: an exact difference; equal means: a tie
    assert fidelity.compare_run_means([[1.0], [1.0, 1.0]], [[0.5], [0.5]], higher_is_better=True) == ("better", 0.0)
    assert fidelity.compare_run_means([[0.5, 0.7], [0.6]], [[0.6], [0.6]], higher_is_better=True) == ("tie", 1.0)
    with pytest.raises(ValueError, match="two or more training runs on each side, got 1 for the baseline"):
        fidelity.compare_run_means(ours, [[0.5, 0.6]], higher_is_better=True)
    with pytest.raises(ValueError, match="non-empty"):
        fidelity.compare_run_means([[0.5], []], theirs, higher_is_better=True)
    with pytest.raises(ValueError, match="finite"):
        fidelity.compare_run_means(ours, [[0.5], [float("inf")]], higher_is_better=True)
    with pytest.raises(ValueError, match="alpha"):
        fidelity.compare_run_means(ours, theirs, higher_is_better=True, alpha=0)


def test_fvd_like_needs_two_clips_per_video():
    """One clip has no covariance: a clear error instead of scipy's sqrtm failing on NaN."""
    video = np.random.default_rng(0).random((8, 128, 128)).astype(np.float32)
    with pytest.raises(ValueError, match="needs at least 2 feature vectors \\(clips\\) per set, got 1 and 1"):
        fidelity.fvd_like(video, video)


def test_frechet_distance_parts_split_appearance_from_motion():
    """The appearance part is the Fréchet distance of the clip-mean block, the temporal part that of the other two;
    shifting only the mean block moves only the appearance part (by the squared shift summed over its channels)."""
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 12))
    fake = rng.normal(size=(200, 12))
    parts = fidelity.frechet_distance_parts(real, fake)
    assert parts["appearance"] == pytest.approx(fidelity.frechet_distance(real[:, :4], fake[:, :4]))
    assert parts["temporal"] == pytest.approx(fidelity.frechet_distance(real[:, 4:], fake[:, 4:]))
    shifted = fake.copy()
    shifted[:, :4] += 0.5
    moved = fidelity.frechet_distance_parts(real, shifted)
    assert moved["appearance"] == pytest.approx(parts["appearance"] + 4 * 0.25 + 2 * 0.5 * (fake[:, :4].mean(0) - real[:, :4].mean(0)).sum())
    assert moved["temporal"] == pytest.approx(parts["temporal"])
    # on videos: a frozen copy of a moving video is far in the temporal part, its own frames keep the appearance close
    video = _video()
    frozen = np.repeat(video[:1], len(video), axis=0)
    clips = fidelity.clip_features(video, 4, 32)
    own, still = (fidelity.frechet_distance_parts(clips, fidelity.clip_features(v, 4, 32)) for v in (video, frozen))
    assert abs(own["appearance"]) < 1e-6 and abs(own["temporal"]) < 1e-6 and still["temporal"] > 0
    with pytest.raises(ValueError, match="3C"):
        fidelity.frechet_distance_parts(real[:, :10], fake[:, :10])


def test_previous_frame_reference_of_a_static_noisy_video_is_the_two_copy_ceiling():
    """Frames = one clean image + fresh noise: each frame's predecessor is another noisy copy of it, so the reference
    equals the noise ceiling's "realistic noise" column (-10 log10(2 sigma^2) dB). Aligning it warps it by the small
    flow the FlowNet reads into the noise, and the bilinear interpolation smooths some noise away: a little higher."""
    clean, _ = _clean_video_and_labels()
    sigma = 0.03
    frames = np.repeat(clean[:1], 6, axis=0)
    noisy = np.clip(frames + np.random.default_rng(4).normal(0, sigma, frames.shape), 0, 1).astype(np.float32)
    before = np.clip(clean[0] + np.random.default_rng(5).normal(0, sigma, clean[0].shape), 0, 1).astype(np.float32)
    reference = fidelity.previous_frame_reference(noisy, before)
    ceiling = fidelity.noise_ceiling(frames, sigma, seed=1)
    assert reference["PSNR_previous"] == pytest.approx(-10 * np.log10(2 * sigma**2), abs=0.2)
    assert reference["SSIM_previous"] == pytest.approx(ceiling["SSIM_noisy"], abs=0.02)
    assert reference["PSNR_previous"] < reference["PSNR_previous_aligned"] < reference["PSNR_previous"] + 2
    assert reference["SSIM_previous"] < reference["SSIM_previous_aligned"] < reference["SSIM_previous"] + 0.1


def test_previous_frame_reference_undoes_the_real_motion():
    """A textured image drifting 2 px per frame: the predecessor as imaged is off by the motion, the aligned one
    is moved back into place by the flow of the real pair and scores much closer to 1."""
    rng = np.random.default_rng(6)
    texture = ndimage.gaussian_filter(rng.random((80, 120)), 3)
    texture = (texture - texture.min()) / np.ptp(texture)
    video = np.stack([texture[8:72, 2 * t + 8 : 2 * t + 72] for t in range(6)]).astype(np.float32)
    reference = fidelity.previous_frame_reference(video[1:], video[0])
    assert reference["SSIM_previous_aligned"] > 0.9 > reference["SSIM_previous"]
    assert reference["PSNR_previous_aligned"] > reference["PSNR_previous"] + 5
    with pytest.raises(ValueError, match=r"the frame before the video must have the frames' shape \(64, 64\), got \(64, 63\)"):
        fidelity.previous_frame_reference(video[1:], video[0][:, :63])


def _moving_disks(n_frames: int, size: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((n_frames, size, size), np.uint16)
    for t in range(n_frames):
        labels[t][(yy - 30) ** 2 + (xx - 25 - t) ** 2 <= 100] = 1
        labels[t][(yy - 65) ** 2 + (xx - 60 + t) ** 2 <= 144] = 2
    real = np.clip(0.2 + 0.5 * (labels > 0) + rng.normal(0, 0.05, labels.shape), 0, 1).astype(np.float32)
    fake = np.clip(0.25 + 0.4 * (labels > 0) + rng.normal(0, 0.07, labels.shape), 0, 1).astype(np.float32)
    return real, fake, labels


def test_streaming_scores_equal_the_whole_video_measures() -> None:
    """``StreamingScores`` / ``RealReference``, fed frame by frame, give what the whole-video functions give."""
    real, fake, labels = _moving_disks(10, 96)
    reference, scores = fidelity.RealReference(4, 64), fidelity.StreamingScores(4, 64, far=5)
    for t in range(len(real)):
        reference.update(real[t])
        scores.update(real[t], fake[t], labels[t])
    got = scores.result(reference)
    real_clips, fake_clips = fidelity.clip_features(real, 4, 64), fidelity.clip_features(fake, 4, 64)
    parts = fidelity.frechet_distance_parts(real_clips, fake_clips)
    ssim = fidelity.ssim_by_frame(real, fake)
    cells, background = fidelity.psnr_by_region(real, fake, labels)
    want = {"SSIM": ssim.mean(), "SSIM_first_half": ssim[:5].mean(), "SSIM_second_half": ssim[5:].mean(),
            "PSNR": fidelity.psnr(real, fake), "PSNR_cells": cells, "PSNR_background": background,
            "brightness_far": -fidelity.reference_background_error(real, fake, labels, 5)["offset"],
            "feature_dist": fidelity.feature_distance(real, fake), "FVD_like": fidelity.frechet_distance(real_clips, fake_clips),
            "FVD_appearance": parts["appearance"], "FVD_temporal": parts["temporal"], "warp_error": fidelity.warp_error(real, fake)}
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-6), key
    assert reference.warp_error == pytest.approx(fidelity.warp_error(real, real), rel=1e-6)
    np.testing.assert_allclose(reference.clips, real_clips, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="the real reference has 10 frames, the generated video 9"):
        short = fidelity.StreamingScores(4, 64)
        for t in range(9):
            short.update(real[t], fake[t], labels[t])
        short.result(reference)


_PEAK_RSS_CHILD = """
import resource, sys
import numpy as np
from tganaug import fidelity
n, size = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
labels = np.zeros((size, size), np.uint16)
labels[size // 4: size // 2, size // 4: size // 2] = 1
reference, scores = fidelity.RealReference(2), fidelity.StreamingScores(2)
for t in range(n):  # a synthetic stream: each frame made, scored and dropped
    real = rng.random((size, size), dtype=np.float32)
    fake = rng.random((size, size), dtype=np.float32)
    reference.update(real)
    scores.update(real, fake, np.roll(labels, t, axis=1))
scores.result(reference)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_streaming_memory_does_not_grow_with_the_number_of_frames() -> None:
    """Peak RSS of 3 and of 12 streamed 256 x 256 frames (fresh processes) differ by far less than the whole-video
    measures would need for the 9 extra frames (their first feature level alone: 16 channels x 256 x 256 float32 =
    4.2 MB per frame and video, 75 MB for 9 frames of two videos)."""
    import subprocess
    import sys

    def peak_mb(n: int) -> float:
        done = subprocess.run([sys.executable, "-c", _PEAK_RSS_CHILD, str(n), "256"], capture_output=True, text=True, check=True)
        return int(done.stdout.strip().splitlines()[-1]) / 1024

    small, large = peak_mb(3), peak_mb(12)
    assert large - small < 25, f"peak RSS {small:.0f} MB for 3 frames, {large:.0f} MB for 12: memory grows with frames"
