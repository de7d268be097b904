"""Image and video fidelity measures: generated vs real videos of the same masks.

Every video here is ``(T, H, W) float32`` in one common intensity space (``[0, 1]``, the caller
maps real and generated videos into it). Measures:

* ``ssim`` / ``psnr``: torchmetrics, ``data_range=1``, averaged over frames.
* ``feature_distance``: an LPIPS-*like* distance computed with **our** feature network (the
  encoder of the small mask-predicting UNet trained on the shared train frames, shipped as
  ``tganaug/weights/feature_net.pt``): per level, channel-normalised features, squared
  difference summed over channels (as LPIPS does) and averaged over space, then averaged over levels. Not LPIPS (no VGG/Alex
  weights, no learned linear heads) and not comparable to the paper's LPIPS numbers.
* ``fvd_like``: a Fréchet distance between *clip* features of real and generated videos: each
  clip (``clip_len`` frames of a ``tile``-pixel square, all positions and windows) is described
  by the mean, standard deviation and mean absolute temporal difference over its frames of the
  feature network's pooled deepest features. A video-level measure with our feature network,
  not the I3D-based FVD of the paper. ``frechet_distance_parts`` splits it into the distance of the
  clips' mean features (appearance) and of their spread and frame-to-frame change (temporal).
* ``warp_error``: temporal coherence: the shipped FlowNet estimates the flow between consecutive
  *real* frames; the generated frame ``t-1`` warped by it is compared with generated frame ``t``
  (mean absolute difference). The same measure on the real video is the reference.
* ``ssim_by_frame``: SSIM of each frame, to see whether a video model drifts away from the real
  frames as it feeds on its own output (compare the first and the last frames).

Streaming: :class:`StreamingScores` (with :class:`RealReference` for the real video's clip features and own
warp error) accumulates every measure above frame by frame, holding one frame pair and the tile-pooled clip
features, so memory does not grow with the number of frames; it equals the whole-video functions up to float
rounding (``tests/test_fidelity.py``).

Comparing methods: a generator's scores change with its seed (styles, injected noise), so
``compare_scores`` calls one method better than another on a measure only when a Welch t-test over
per-seed scores says the means differ (two-sided, ``alpha``). They also change with the seed it was
*trained* with: ``compare_training_runs`` calls it better only when every pairing of a candidate
training run with a baseline training run is; ``compare_run_means`` takes the training runs themselves as the
samples (a Welch t-test over the runs' mean scores).

Noise ceiling: a real frame is ``clean + noise``, and a generator that sees only the masks cannot
know the noise realisation, so SSIM and PSNR against the real frame are bounded below 1 / infinity.
``noise_sigma_laplacian`` and ``noise_sigma_temporal`` estimate the noise level of a real video,
``noise_ceiling`` the SSIM / PSNR that (a) a predictor of the exact clean image and (b) a generator
that adds its own noise of the same level would reach against it. ``previous_frame_reference``: a
real-vs-real reference, the SSIM / PSNR of each real frame's own predecessor (as imaged, and moved into
place by the flow of the real pair), i.e. a real image of the same cells one frame earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg, ndimage, stats
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from tganaug.models.feature_net import MaskFeatureNet
from tganaug.models.flownet import FlowNet, warp
from tganaug.utils.weights import shipped_weights_path

__all__ = [
    "ssim_psnr", "ssim_by_frame", "psnr", "feature_distance", "clip_features", "frechet_distance", "fvd_like",
    "warp_error", "check_pair", "noise_sigma_laplacian", "noise_sigma_temporal", "noise_ceiling", "psnr_by_region", "far_background",
    "reference_background_error", "compare_scores", "ClipFeatureStream", "WarpErrorStream", "RealReference", "StreamingScores", "compare_training_runs", "training_run_pairings", "agreed_verdict", "compare_run_means",
]


def check_pair(real: np.ndarray, fake: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two ``(T, H, W)`` videos of the same shape; return them as ``(T, 1, H, W)`` tensors."""
    real, fake = np.asarray(real, dtype=np.float32), np.asarray(fake, dtype=np.float32)
    if real.shape != fake.shape or real.ndim != 3 or real.shape[0] == 0:
        raise ValueError(f"real and generated videos must be non-empty (T, H, W) of one shape, got {real.shape} and {fake.shape}")
    return torch.from_numpy(_check_video(real))[:, None], torch.from_numpy(_check_video(fake))[:, None]


def ssim_psnr(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and PSNR (dB) over frames, ``data_range = 1``."""
    return float(ssim_by_frame(real, fake).mean()), psnr(real, fake)


def psnr(real: np.ndarray, fake: np.ndarray) -> float:
    """Mean over frames of each frame's PSNR (dB), ``data_range = 1``."""
    r, f = check_pair(real, fake)
    return float(peak_signal_noise_ratio(f, r, data_range=1.0, reduction="none", dim=(1, 2, 3)).mean())


def ssim_by_frame(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """``(T,) float64``: the SSIM of each frame (``data_range = 1``); their mean is :func:`ssim_psnr`'s SSIM."""
    r, f = check_pair(real, fake)
    return structural_similarity_index_measure(f, r, data_range=1.0, reduction="none").double().numpy()


def compare_scores(candidate: Sequence[float], baseline: Sequence[float], *, higher_is_better: bool, alpha: float = 0.05) -> str:
    """``"better"``, ``"worse"`` or ``"tie"``: a candidate method against a baseline on one measure.

    ``candidate`` / ``baseline``: the measure's value for each generation seed (at least one each,
    finite). With two or more seeds on each side the verdict is ``"tie"`` unless a two-sided Welch
    t-test (``scipy.stats.ttest_ind``, unequal variances) gives ``p < alpha``; with one seed on
    either side there is no spread to test against and the sign of the difference decides.
    Exactly equal means are a ``"tie"``. For a measure with a target value (warp error of the real
    video, brightness offset 0) pass the distances ``|value - target|`` with ``higher_is_better=False``.
    """
    a, b = np.asarray(candidate, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or a.size == 0 or b.size == 0:
        raise ValueError(f"compare_scores needs a non-empty list of per-seed scores on each side, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("compare_scores: scores must be finite")
    return _welch_verdict(a, b, higher_is_better=higher_is_better, alpha=alpha)[0]


def _welch_verdict(a: np.ndarray, b: np.ndarray, *, higher_is_better: bool, alpha: float) -> tuple[str, float | None]:
    """``(verdict, p)`` of samples ``a`` (candidate) against ``b`` (baseline), 1-D finite float64 arrays: a two-sided
    Welch t-test; equal means are a tie (``p = 1``), no spread on either side an exact difference (``p = 0``), and with
    a single value on either side the sign of the difference decides (``p = None``)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    difference = (a.mean() - b.mean()) * (1 if higher_is_better else -1)
    if difference == 0:
        return "tie", 1.0
    direction = "better" if difference > 0 else "worse"
    if a.size < 2 or b.size < 2:
        return direction, None
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return direction, 0.0  # no spread at all: the difference is exact
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return ("tie" if p >= alpha else direction), p


def compare_training_runs(candidate_runs: Sequence[Sequence[float]], baseline_runs: Sequence[Sequence[float]], *,
                          higher_is_better: bool, alpha: float = 0.05) -> str:
    """``"better"``, ``"worse"`` or ``"tie"`` for a candidate method against a baseline when either was trained more
    than once (another training seed is another run).

    ``candidate_runs`` / ``baseline_runs``: per training run, that model's per-generation-seed scores on one measure
    (as for :func:`compare_scores`; a method with no training, such as a fitted renderer, is one run). Every pairing
    of a candidate run with a baseline run is judged by :func:`compare_scores` (:func:`training_run_pairings`); the
    verdict is ``"better"`` (``"worse"``) only when every pairing is, else ``"tie"`` (:func:`agreed_verdict`): a
    difference that retraining with another seed erases or reverses is not a property of the method.
    """
    return agreed_verdict(training_run_pairings(candidate_runs, baseline_runs, higher_is_better=higher_is_better, alpha=alpha))


def training_run_pairings(candidate_runs: Sequence[Sequence[float]], baseline_runs: Sequence[Sequence[float]], *,
                          higher_is_better: bool, alpha: float = 0.05) -> list[str]:
    """:func:`compare_scores` of every (candidate run, baseline run) pairing, candidate-major (see
    :func:`compare_training_runs` for the arguments)."""
    if len(candidate_runs) == 0 or len(baseline_runs) == 0:
        raise ValueError(f"compare_training_runs needs at least one training run on each side, got {len(candidate_runs)} and {len(baseline_runs)}")
    return [compare_scores(ours, theirs, higher_is_better=higher_is_better, alpha=alpha) for ours in candidate_runs for theirs in baseline_runs]


def agreed_verdict(pairings: Sequence[str]) -> str:
    """The verdict every pairing gives (``"better"`` / ``"worse"`` / ``"tie"``), else ``"tie"``."""
    if len(pairings) == 0:
        raise ValueError("agreed_verdict needs at least one pairing verdict, got none")
    return pairings[0] if len(set(pairings)) == 1 else "tie"


def compare_run_means(candidate_runs: Sequence[Sequence[float]], baseline_runs: Sequence[Sequence[float]], *,
                      higher_is_better: bool, alpha: float = 0.05) -> tuple[str, float]:
    """``(verdict, p)`` for a candidate method against a baseline with training runs as the samples.

    ``candidate_runs`` / ``baseline_runs``: per training run, that model's per-generation-seed scores on one measure
    (two or more runs on each side, each a non-empty list of finite scores). Each run is reduced to its mean over
    generation seeds, and a two-sided Welch t-test (``scipy.stats.ttest_ind``, unequal variances) compares the
    candidate's run means with the baseline's: ``"better"`` / ``"worse"`` when ``p < alpha``, else ``"tie"``. Unlike
    :func:`compare_training_runs`, which asks every pairing of runs to agree by the generation-seed test, this asks
    whether the methods' means differ given how much retraining moves them (with few runs it has little power).
    Run means with no spread on either side and different means are an exact difference (``p = 0``).
    """
    means = []
    for side, runs in (("candidate", candidate_runs), ("baseline", baseline_runs)):
        if len(runs) < 2:
            raise ValueError(f"compare_run_means needs two or more training runs on each side, got {len(runs)} for the {side}")
        values = [np.asarray(run, dtype=np.float64) for run in runs]
        if any(v.ndim != 1 or v.size == 0 for v in values):
            raise ValueError(f"compare_run_means: every {side} run needs a non-empty list of per-seed scores")
        if not all(np.all(np.isfinite(v)) for v in values):
            raise ValueError("compare_run_means: scores must be finite")
        means.append(np.array([v.mean() for v in values]))
    verdict, p = _welch_verdict(means[0], means[1], higher_is_better=higher_is_better, alpha=alpha)
    assert p is not None  # two or more run means on each side
    return verdict, p


def psnr_by_region(real: np.ndarray, fake: np.ndarray, labels: np.ndarray, margin: int = 0) -> tuple[float, float]:
    """PSNR (dB, data range 1) over the cell pixels (``labels > 0``) and over the background pixels
    (``labels == 0`` and, with ``margin > 0``, at least ``margin`` px from any cell).

    ``labels``: ``(T, H, W)`` instance labels of the real video; a region with no pixels gives NaN.
    Splits the error of :func:`ssim_psnr` into what the generator got wrong inside cells and outside.
    """
    r, f = check_pair(real, fake)
    labels = np.asarray(labels)
    if labels.shape != tuple(r.shape[:1] + r.shape[2:]):
        raise ValueError(f"labels {labels.shape} must have the video's shape {tuple(r.shape[:1] + r.shape[2:])}")
    squared = ((r - f)[:, 0] ** 2).numpy().astype(np.float64)
    return _psnr(squared, labels > 0), _psnr(squared, far_background(labels, margin))


def _psnr(squared_error: np.ndarray, region: np.ndarray) -> float:
    """PSNR (data range 1) of the mean of ``squared_error`` over the ``region`` mask (NaN when it is empty)."""
    if not region.any():
        return float("nan")
    mse = squared_error[region].mean()
    return float("inf") if mse == 0 else float(-10 * np.log10(mse))


def far_background(labels: np.ndarray, margin: int) -> np.ndarray:
    """``(T, H, W) bool``: background pixels (``labels == 0``) at least ``margin`` px from any cell of their frame."""
    labels = np.asarray(labels)
    if margin <= 0:
        return labels == 0
    return np.stack([ndimage.binary_erosion(frame == 0, iterations=margin, border_value=1) for frame in labels])


def reference_background_error(real: np.ndarray, reference: np.ndarray, labels: np.ndarray, margin: int = 15) -> dict[str, float]:
    """How far a fixed reference background is from a real video's background, away from the cells.

    ``real``: ``(T, H, W)`` float video in [0, 1]; ``reference``: ``(H, W)`` float in the same units (e.g.
    :func:`tganaug.models.tgan.background_from_video` of *train* frames), or a ``(T, H, W)`` video (e.g.
    a generated one: then ``-offset`` is how much brighter it renders the background than real);
    ``labels``: ``(T, H, W)``.
    Over the pixels at least ``margin`` px from any cell returns ``PSNR`` of the reference, ``offset``
    (mean of real - reference: a brightness drift between the frames the reference came from and
    these) and ``PSNR_offset_removed`` (after subtracting each frame's own mean offset): a generator
    conditioned on the reference cannot know the drift, so ``PSNR`` bounds what it reaches there
    unless it guesses the brightness.
    """
    video = _check_video(real)
    reference = np.asarray(reference, dtype=np.float32)
    if reference.shape not in (video.shape[1:], video.shape):
        raise ValueError(f"reference {reference.shape} must have the frames' shape {video.shape[1:]} or the video's {video.shape}")
    if not np.all(np.isfinite(reference)):
        raise ValueError("reference contains NaN or infinite values")
    if reference.ndim == 2:
        reference = reference[None]
    labels = np.asarray(labels)
    if labels.shape != video.shape:
        raise ValueError(f"labels {labels.shape} must have the video's shape {video.shape}")
    region = far_background(labels, margin)
    if not region.any():
        raise ValueError(f"no background pixels {margin} px or more from the cells")
    difference = (video - reference).astype(np.float64)
    offsets = np.array([difference[t][region[t]].mean() if region[t].any() else 0.0 for t in range(len(video))])
    return {"PSNR": _psnr(difference**2, region), "offset": float(difference[region].mean()),
            "PSNR_offset_removed": _psnr((difference - offsets[:, None, None]) ** 2, region)}


def _load_shipped(network: type, file: str) -> torch.nn.Module:
    """A shipped network (``tganaug/weights/<file>``: ``model`` state + ``info.channels``), in eval mode."""
    state = torch.load(shipped_weights_path(file), map_location="cpu", weights_only=True)
    net = network(tuple(state.get("info", {}).get("channels", (16, 32, 64))))
    net.load_state_dict(state["model"])
    return net.eval()


@lru_cache(maxsize=1)
def _feature_net() -> MaskFeatureNet:
    return _load_shipped(MaskFeatureNet, "feature_net.pt")


@lru_cache(maxsize=1)
def _flow_net() -> FlowNet:
    return _load_shipped(FlowNet, "flownet.pt")


def _features(video: torch.Tensor) -> list[torch.Tensor]:
    """Feature maps of ``(T, 1, H, W)`` in [0, 1] (the net takes [-1, 1]; H, W padded to a multiple of 4)."""
    net = _feature_net()
    div = 2 ** (len(net.channels) - 1)
    pad_h, pad_w = (-video.shape[-2]) % div, (-video.shape[-1]) % div
    x = F.pad(video * 2 - 1, (0, pad_w, 0, pad_h), mode="replicate")
    with torch.no_grad():
        return net.features(x)


def feature_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """LPIPS-like distance with our feature network (lower is closer), mean over frames."""
    r, f = check_pair(real, fake)
    distances = []
    for a, b in zip(_features(r), _features(f)):
        a = a / (a.norm(dim=1, keepdim=True) + 1e-8)
        b = b / (b.norm(dim=1, keepdim=True) + 1e-8)
        distances.append(((a - b) ** 2).sum(dim=1).mean())
    return float(torch.stack(distances).mean())


def clip_features(video: np.ndarray, clip_len: int = 8, tile: int = 128, stride: int | None = None) -> np.ndarray:
    """``(N, D)`` features of every ``clip_len``-frame, ``tile``-pixel clip of a ``(T, H, W)`` video."""
    video_t = torch.from_numpy(np.asarray(video, dtype=np.float32))[:, None]
    n_frames, _, height, width = video_t.shape
    if n_frames < clip_len:
        raise ValueError(f"video has {n_frames} frames, fewer than clip_len={clip_len}")
    tile = min(tile, height, width)
    stride = stride or tile // 2
    deepest = _features(video_t)[-1]  # (T, C, h, w) at 1/4 resolution
    scale = video_t.shape[-1] / deepest.shape[-1]
    per_tile = []
    for y in range(0, height - tile + 1, stride):
        for x in range(0, width - tile + 1, stride):
            y0, x0, size = int(y / scale), int(x / scale), max(1, int(tile / scale))
            pooled = deepest[:, :, y0 : y0 + size, x0 : x0 + size].mean(dim=(2, 3))  # (T, C)
            for start in range(0, n_frames - clip_len + 1, max(1, clip_len // 2)):
                clip = pooled[start : start + clip_len]
                per_tile.append(torch.cat([clip.mean(0), clip.std(0), (clip[1:] - clip[:-1]).abs().mean(0)]))
    return torch.stack(per_tile).numpy().astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two ``(N, D)`` feature sets (``N >= 2`` each: a covariance needs two)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) arrays with one D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Fréchet distance needs at least 2 feature vectors (clips) per set, got {len(a)} and {len(b)}: "
                         "give longer or larger videos, or a shorter clip_len / smaller tile")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def frechet_distance_parts(real_clips: np.ndarray, fake_clips: np.ndarray) -> dict[str, float]:
    """The FVD-like distance split by what the clip features describe (``(N, 3C)`` from :func:`clip_features`):
    ``appearance``: the Fréchet distance of the clips' mean features (how the frames look); ``temporal``: that of
    their standard deviations and mean frame-to-frame changes over the clip (how the features move)."""
    real_clips, fake_clips = np.asarray(real_clips, dtype=np.float64), np.asarray(fake_clips, dtype=np.float64)
    if real_clips.ndim != 2 or real_clips.shape[1] != fake_clips.shape[1] or real_clips.shape[1] % 3:
        raise ValueError(f"clip features must be (N, 3C) arrays with one C, got {real_clips.shape} and {fake_clips.shape}")
    channels = real_clips.shape[1] // 3
    return {"appearance": frechet_distance(real_clips[:, :channels], fake_clips[:, :channels]),
            "temporal": frechet_distance(real_clips[:, channels:], fake_clips[:, channels:])}


def fvd_like(real: np.ndarray, fake: np.ndarray, clip_len: int = 8, tile: int = 128) -> float:
    """Fréchet distance between clip features (see module docstring); 0 for identical videos."""
    return frechet_distance(clip_features(real, clip_len, tile), clip_features(fake, clip_len, tile))


def warp_error(real: np.ndarray, video: np.ndarray) -> float:
    """Mean |warp(video[t-1], flow_real(t-1 -> t)) - video[t]| over consecutive frames."""
    r, v = check_pair(real, video)
    if len(r) < 2:
        raise ValueError("warp error needs at least 2 frames")
    warped = _warp_by_real_flow(r[1:], r[:-1], v[:-1])
    return float((warped - v[1:]).abs().mean())


def _warp_by_real_flow(real_next: torch.Tensor, real_previous: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """``frames (N, 1, H, W)`` warped by the shipped FlowNet's flow from ``real_previous`` to ``real_next`` (both
    ``(N, 1, H, W)`` in [0, 1]), so that ``warp(real_previous) ~= real_next``."""
    with torch.no_grad():
        return warp(frames, _flow_net()(real_next * 2 - 1, real_previous * 2 - 1))


# Immerkaer (1996), "Fast noise variance estimation": this 3x3 operator cancels locally linear
# image structure, so its response on a flat-ish image is noise with variance 36 sigma^2.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma_laplacian(video: np.ndarray) -> float:
    """Noise standard deviation of a ``(T, H, W)`` float video (Immerkaer's estimator, RMS over frames).

    Assumes additive, spatially independent noise; image texture finer than 3 px is counted as
    noise, so on textured images this *over*-estimates the noise.
    """
    video = _check_video(video)
    if min(video.shape[1:]) < 3:
        raise ValueError(f"frames must be at least 3x3, got {video.shape[1:]}")
    variances = []
    for frame in video.astype(np.float64):
        response = ndimage.convolve(frame, _IMMERKAER, mode="nearest")[1:-1, 1:-1]
        variances.append((np.sqrt(np.pi / 2) * np.abs(response).mean() / 6) ** 2)
    return float(np.sqrt(np.mean(variances)))


def noise_sigma_temporal(video: np.ndarray, labels: np.ndarray, margin: int = 5) -> float:
    """Noise standard deviation from consecutive frames of a ``(T, H, W)`` float video.

    Uses the pixels that are background (``labels == 0``, at least ``margin`` px from any cell) in
    both frames ``t`` and ``t + 1``: ``sigma = sqrt(var(frame[t+1] - frame[t]) / 2)``. Assumes a
    static background and temporally independent noise; flicker or drift of the background is
    counted as noise, so it *over*-estimates the noise when those are present.
    """
    video = _check_video(video)
    labels = np.asarray(labels)
    if labels.shape != video.shape:
        raise ValueError(f"labels {labels.shape} must have the video's shape {video.shape}")
    if len(video) < 2:
        raise ValueError("the temporal noise estimate needs at least 2 frames")
    background = far_background(labels, margin)
    differences = [(video[t + 1] - video[t])[background[t] & background[t + 1]] for t in range(len(video) - 1)]
    differences = np.concatenate(differences).astype(np.float64)
    if differences.size < 100:
        raise ValueError(f"only {differences.size} background pixels shared by consecutive frames; need >= 100")
    return float(np.sqrt(differences.var() / 2))


def noise_ceiling(real: np.ndarray, sigma: float, seed: int = 0) -> dict[str, float]:
    """SSIM / PSNR ceilings against a real ``(T, H, W)`` video in [0, 1] with noise level ``sigma``.

    Model: ``real = clean + n``, ``n ~ N(0, sigma^2)`` independent of the masks. Simulated with the
    real video itself standing in for ``clean`` (its own noise then counts as structure, so the
    SSIM ceilings are, if anything, too high), fresh noise ``n1, n2``, clipped to [0, 1]:

    * ``SSIM_clean`` / ``PSNR_clean``: ``clean + n1`` vs ``clean``: a generator that outputs the
      exact clean image. For PSNR that is the best possible without the noise realisation (the
      minimum-error output; PSNR ~ ``-10 log10(sigma^2)``); for SSIM nearly so (boosting the clean
      image's contrast can raise it slightly; the noisy stand-in for ``clean`` raises it more);
    * ``SSIM_noisy`` / ``PSNR_noisy``: ``clean + n1`` vs ``clean + n2``: a generator that renders the
      clean image exactly and adds realistic noise of its own (PSNR ~ ``-10 log10(2 sigma^2)``).
    """
    video = _check_video(real)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    rng = np.random.default_rng(seed)
    observed = np.clip(video + rng.normal(0.0, sigma, video.shape), 0, 1).astype(np.float32)
    other = np.clip(video + rng.normal(0.0, sigma, video.shape), 0, 1).astype(np.float32)
    ssim_clean, psnr_clean = ssim_psnr(observed, video)
    ssim_noisy, psnr_noisy = ssim_psnr(observed, other)
    return {"SSIM_clean": ssim_clean, "PSNR_clean": psnr_clean, "SSIM_noisy": ssim_noisy, "PSNR_noisy": psnr_noisy}


def previous_frame_reference(real: np.ndarray, before: np.ndarray) -> dict[str, float]:
    """SSIM / PSNR of a real video's own previous frames as guesses of its frames (a real-vs-real reference).

    ``real``: ``(T, H, W)`` float video in [0, 1]; ``before``: ``(H, W)``, the real frame just before ``real[0]``
    (e.g. the last train frame before the eval frames), so that every frame of ``real`` is scored. Returns:

    * ``SSIM_previous`` / ``PSNR_previous``: frame ``t-1`` as imaged against frame ``t``: a real image of the
      same cells one frame earlier (its own noise realisation, the cells' real texture, their motion not undone);
    * ``SSIM_previous_aligned`` / ``PSNR_previous_aligned``: frame ``t-1`` warped onto frame ``t`` by the shipped
      FlowNet's flow estimated from the real pair itself (as in :func:`warp_error`): the motion undone with
      knowledge of frame ``t`` that no generator has; what is left is noise and change of shape and texture.
      The bilinear warp by a fractional flow also smooths some of frame ``t-1``'s noise away, which raises these
      scores a little (a static noisy video: about +1.5 dB, ``tests/test_fidelity.py``).
    """
    video = _check_video(real)
    before = np.asarray(before, dtype=np.float32)
    if before.shape != video.shape[1:]:
        raise ValueError(f"the frame before the video must have the frames' shape {video.shape[1:]}, got {before.shape}")
    previous = np.concatenate([_check_video(before[None]), video[:-1]])
    r, p = check_pair(video, previous)
    aligned = _warp_by_real_flow(r, p, p)[:, 0].numpy()
    ssim_previous, psnr_previous = ssim_psnr(video, previous)
    ssim_aligned, psnr_aligned = ssim_psnr(video, aligned)
    return {"SSIM_previous": ssim_previous, "PSNR_previous": psnr_previous, "SSIM_previous_aligned": ssim_aligned,
            "PSNR_previous_aligned": psnr_aligned}


def _check_video(video: np.ndarray) -> np.ndarray:
    """A non-empty, finite ``(T, H, W)`` video as float32 (``ValueError`` otherwise)."""
    video = np.asarray(video, dtype=np.float32)
    if video.ndim != 3 or video.shape[0] == 0:
        raise ValueError(f"video must be a non-empty (T, H, W) array, got shape {video.shape}")
    if not np.all(np.isfinite(video)):
        raise ValueError("video must be finite")
    return video


# ---------------------------------------------------------------------- streaming: frame by frame, memory bounded

def _tile_origins(height: int, width: int, tile: int, stride: int | None) -> tuple[int, list[tuple[int, int]]]:
    """The tile size and the ``(y, x)`` origins of every tile :func:`clip_features` pools over."""
    tile = min(tile, height, width)
    stride = stride or tile // 2
    return tile, [(y, x) for y in range(0, height - tile + 1, stride) for x in range(0, width - tile + 1, stride)]


def _pooled_tiles(deepest: torch.Tensor, width: int, tile: int, origins: list[tuple[int, int]]) -> torch.Tensor:
    """``(N, n_tiles, C)``: the deepest feature maps ``(N, C, h, w)`` of ``N`` frames of ``width`` px, averaged over
    each tile (the pooling of :func:`clip_features`)."""
    scale = width / deepest.shape[-1]
    size = max(1, int(tile / scale))
    return torch.stack([deepest[:, :, int(y / scale):int(y / scale) + size, int(x / scale):int(x / scale) + size].mean(dim=(2, 3))
                        for y, x in origins], dim=1)


def _clips_from_pooled(pooled: torch.Tensor, clip_len: int) -> np.ndarray:
    """``(N_clips, 3C) float64`` clip features (tile-major, as :func:`clip_features`) from per-frame tile features
    ``(T, n_tiles, C)``."""
    n_frames = pooled.shape[0]
    if n_frames < clip_len:
        raise ValueError(f"video has {n_frames} frames, fewer than clip_len={clip_len}")
    rows = []
    for k in range(pooled.shape[1]):
        per_tile = pooled[:, k]
        for start in range(0, n_frames - clip_len + 1, max(1, clip_len // 2)):
            clip = per_tile[start:start + clip_len]
            rows.append(torch.cat([clip.mean(0), clip.std(0), (clip[1:] - clip[:-1]).abs().mean(0)]))
    return torch.stack(rows).numpy().astype(np.float64)


class ClipFeatureStream:
    """:func:`clip_features` of a video given frame by frame: keeps only each frame's tile-pooled deepest features
    (``n_tiles x C`` floats per frame, a few kB), never the frames or their full feature maps.

    ``update(frame)`` takes an ``(H, W)`` float frame in [0, 1]; ``features()`` returns the ``(N, 3C) float64`` clip
    features, equal to ``clip_features(video, clip_len, tile, stride)`` of the stacked frames up to float rounding.
    """

    def __init__(self, clip_len: int = 8, tile: int = 128, stride: int | None = None) -> None:
        self.clip_len, self.tile, self.stride = clip_len, tile, stride
        self._pooled: list[torch.Tensor] = []
        self._shape: tuple[int, int] | None = None

    def update(self, frame: np.ndarray, deepest: torch.Tensor | None = None) -> None:
        """Add one ``(H, W)`` frame; ``deepest``: its deepest feature map ``(1, C, h, w)`` when already computed."""
        frame = _check_video(np.asarray(frame)[None])[0]
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            raise ValueError(f"frame of shape {frame.shape} in a video of {self._shape} frames")
        if deepest is None:
            deepest = _features(torch.from_numpy(frame)[None, None])[-1]
        tile, origins = _tile_origins(*frame.shape, self.tile, self.stride)
        self._pooled.append(_pooled_tiles(deepest, frame.shape[1], tile, origins)[0])

    def __len__(self) -> int:
        return len(self._pooled)

    def features(self) -> np.ndarray:
        """``(N, 3C) float64`` features of every clip of the frames given so far."""
        if not self._pooled:
            raise ValueError("no frames given")
        return _clips_from_pooled(torch.stack(self._pooled), self.clip_len)


class WarpErrorStream:
    """:func:`warp_error` of a video given frame by frame with the real frames: keeps only the previous pair.

    ``update(real, video)``: ``(H, W)`` float frames in [0, 1]; ``value()``: the mean
    ``|warp(video[t-1], flow_real(t-1 -> t)) - video[t]|`` over the frame pairs so far (NaN before two frames)."""

    def __init__(self) -> None:
        self._previous: tuple[torch.Tensor, torch.Tensor] | None = None
        self._sum, self._count = 0.0, 0

    def update(self, real: np.ndarray, video: np.ndarray) -> None:
        """Add frame ``t`` of the real video and of the generated one."""
        r, v = check_pair(np.asarray(real)[None], np.asarray(video)[None])
        if self._previous is not None:
            real_previous, video_previous = self._previous
            warped = _warp_by_real_flow(r, real_previous, video_previous)
            difference = (warped - v).abs()
            self._sum += float(difference.double().sum())
            self._count += difference.numel()
        self._previous = (r, v)

    def value(self) -> float:
        """The mean absolute warp error so far (NaN with fewer than two frames)."""
        return self._sum / self._count if self._count else float("nan")


class RealReference:
    """What the streamed scores need of the real video alone, computed once for every generated video of it: its
    clip features (for the FVD-like distances) and its own warp error (the reference for ``warp_error``).

    Feed it the real frames with ``update(frame)``; read ``clips`` (``(N, 3C) float64``) and ``warp_error``."""

    def __init__(self, clip_len: int = 8, tile: int = 128) -> None:
        self.clip_len = clip_len
        self._clips = ClipFeatureStream(clip_len, tile)
        self._warp = WarpErrorStream()

    def update(self, frame: np.ndarray) -> None:
        """Add one real ``(H, W)`` float frame in [0, 1]."""
        self._clips.update(frame)
        self._warp.update(frame, frame)

    @property
    def frames(self) -> int:
        """How many frames were given."""
        return len(self._clips)

    @property
    def clips(self) -> np.ndarray:
        """``(N, 3C) float64`` clip features of the real video."""
        return self._clips.features()

    @property
    def warp_error(self) -> float:
        """The real video's own warp error (:func:`warp_error` of it against itself)."""
        return self._warp.value()


class StreamingScores:
    """Every fidelity measure of one generated video against the real one, accumulated frame by frame.

    ``update(real, fake, labels)`` takes frame ``t``: ``real`` / ``fake`` ``(H, W)`` float in [0, 1], ``labels``
    ``(H, W)`` integer instance ids of the real frame. Memory holds one frame pair, a few per-frame numbers and the
    tile-pooled clip features, whatever the number of frames. ``result(reference)`` returns, equal to the whole-video
    functions up to float rounding (``tests/test_fidelity.py``):

    * ``SSIM``, ``SSIM_first_half``, ``SSIM_second_half`` (:func:`ssim_by_frame`: mean over all frames, the first
      ``max(1, T // 2)``, the rest; NaN for one frame), ``PSNR`` (:func:`psnr`);
    * ``PSNR_cells`` / ``PSNR_background`` (:func:`psnr_by_region`, margin 0);
    * ``brightness_far``: mean of fake - real over background pixels ``far`` px or more from any cell
      (``-offset`` of :func:`reference_background_error`; NaN when there are none);
    * ``feature_dist`` (:func:`feature_distance`), ``FVD_like`` / ``FVD_appearance`` / ``FVD_temporal``
      (:func:`frechet_distance` / :func:`frechet_distance_parts` against ``reference.clips``; NaN when either video
      has fewer than two clips);
    * ``warp_error`` (:func:`warp_error`).
    """

    def __init__(self, clip_len: int = 8, tile: int = 128, far: int = 15) -> None:
        self.far = far
        self._ssim: list[float] = []
        self._psnr: list[float] = []
        self._squared = {"cells": [0.0, 0], "background": [0.0, 0]}
        self._far = [0.0, 0]
        self._levels: list[float] | None = None
        self._level_count = 0
        self._clips = ClipFeatureStream(clip_len, tile)
        self._warp = WarpErrorStream()

    def update(self, real: np.ndarray, fake: np.ndarray, labels: np.ndarray) -> None:
        """Add frame ``t`` (see the class doc)."""
        r, f = check_pair(np.asarray(real)[None], np.asarray(fake)[None])
        labels = np.asarray(labels)
        if labels.shape != tuple(r.shape[2:]):
            raise ValueError(f"labels {labels.shape} must have the frame's shape {tuple(r.shape[2:])}")
        self._ssim.append(float(structural_similarity_index_measure(f, r, data_range=1.0, reduction="none").double()[0]))
        self._psnr.append(float(peak_signal_noise_ratio(f, r, data_range=1.0, reduction="none", dim=(1, 2, 3))[0]))
        squared = ((r - f)[0, 0] ** 2).numpy().astype(np.float64)
        for region, mask in (("cells", labels > 0), ("background", labels == 0)):
            self._squared[region][0] += float(squared[mask].sum())
            self._squared[region][1] += int(mask.sum())
        far = far_background(labels[None], self.far)[0]
        self._far[0] += float((f - r)[0, 0].numpy().astype(np.float64)[far].sum())
        self._far[1] += int(far.sum())
        both = _features(torch.cat([r, f]))
        sums = []
        for level in both:
            a, b = level[:1], level[1:]
            a = a / (a.norm(dim=1, keepdim=True) + 1e-8)
            b = b / (b.norm(dim=1, keepdim=True) + 1e-8)
            sums.append(float(((a - b) ** 2).sum(dim=1).double().mean()))
        self._levels = sums if self._levels is None else [s + x for s, x in zip(self._levels, sums)]
        self._level_count += 1
        self._clips.update(np.asarray(fake, dtype=np.float32), both[-1][1:])
        self._warp.update(real, fake)

    @property
    def frames(self) -> int:
        """How many frames were given."""
        return len(self._ssim)

    def result(self, reference: RealReference) -> dict[str, float]:
        """The measures (see the class doc) against the real video's ``reference``."""
        if not self._ssim:
            raise ValueError("no frames given")
        if reference.frames != self.frames:
            raise ValueError(f"the real reference has {reference.frames} frames, the generated video {self.frames}")
        ssim = np.asarray(self._ssim)
        half = max(1, len(ssim) // 2)
        clips = self._clips.features()
        real_clips = reference.clips
        if min(len(clips), len(real_clips)) < 2:  # a short, small video: one clip has no covariance
            parts, fvd = {"appearance": float("nan"), "temporal": float("nan")}, float("nan")
        else:
            parts, fvd = frechet_distance_parts(real_clips, clips), frechet_distance(real_clips, clips)
        assert self._levels is not None

        def region_psnr(region: str) -> float:
            total, count = self._squared[region]
            if count == 0:
                return float("nan")
            return float("inf") if total == 0 else float(-10 * np.log10(total / count))

        return {
            "FVD_appearance": parts["appearance"],
            "FVD_temporal": parts["temporal"],
            "SSIM_first_half": float(ssim[:half].mean()),
            "SSIM_second_half": float(ssim[half:].mean()) if len(ssim) > 1 else float("nan"),
            "SSIM": float(ssim.mean()),
            "PSNR": float(np.mean(self._psnr)),
            "PSNR_cells": region_psnr("cells"),
            "PSNR_background": region_psnr("background"),
            "brightness_far": self._far[0] / self._far[1] if self._far[1] else float("nan"),
            "feature_dist": float(np.mean([s / self._level_count for s in self._levels])),
            "FVD_like": fvd,
            "warp_error": self._warp.value(),
        }
