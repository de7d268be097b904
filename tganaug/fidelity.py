"""Image and video fidelity measures: generated vs real videos of the same masks.

Every video here is ``(T, H, W) float32`` in one common intensity space (``[0, 1]``, the caller
maps real and generated videos into it). Measures:

* ``ssim`` / ``psnr``: torchmetrics, ``data_range=1``, averaged over frames.
* ``feature_distance``: an LPIPS-*like* distance computed with **our** feature network (the
  encoder of the small mask-predicting UNet trained on the shared train frames, shipped as
  ``tganaug/weights/feature_net.pt``): per level, channel-normalised features, squared
  difference averaged over space and channels, then averaged over levels. Not LPIPS (no VGG/Alex
  weights, no learned linear heads) and not comparable to the paper's LPIPS numbers.
* ``fvd_like``: a Fréchet distance between *clip* features of real and generated videos: each
  clip (``clip_len`` frames of a ``tile``-pixel square, all positions and windows) is described
  by the mean, standard deviation and mean absolute temporal difference over its frames of the
  feature network's pooled deepest features. A video-level measure with our feature network,
  not the I3D-based FVD of the paper.
* ``warp_error``: temporal coherence: the shipped FlowNet estimates the flow between consecutive
  *real* frames; the generated frame ``t-1`` warped by it is compared with generated frame ``t``
  (mean absolute difference). The same measure on the real video is the reference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from tganaug.models.feature_net import MaskFeatureNet
from tganaug.models.flownet import FlowNet, warp
from tganaug.training.losses import shipped_weights_path

__all__ = ["ssim_psnr", "feature_distance", "clip_features", "frechet_distance", "fvd_like", "warp_error", "check_pair"]


def check_pair(real: np.ndarray, fake: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two ``(T, H, W)`` videos of the same shape; return them as ``(T, 1, H, W)`` tensors."""
    real, fake = np.asarray(real, dtype=np.float32), np.asarray(fake, dtype=np.float32)
    if real.shape != fake.shape or real.ndim != 3 or real.shape[0] == 0:
        raise ValueError(f"real and generated videos must be non-empty (T, H, W) of one shape, got {real.shape} and {fake.shape}")
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(fake))):
        raise ValueError("videos must be finite")
    return torch.from_numpy(real)[:, None], torch.from_numpy(fake)[:, None]


def ssim_psnr(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and PSNR (dB) over frames, ``data_range = 1``."""
    r, f = check_pair(real, fake)
    ssim = structural_similarity_index_measure(f, r, data_range=1.0, reduction="elementwise_mean")
    psnr = peak_signal_noise_ratio(f, r, data_range=1.0, reduction="none", dim=(1, 2, 3))
    return float(ssim), float(psnr.mean())


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
    """Fréchet distance between Gaussians fitted to two ``(N, D)`` feature sets."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def fvd_like(real: np.ndarray, fake: np.ndarray, clip_len: int = 8, tile: int = 128) -> float:
    """Fréchet distance between clip features (see module docstring); 0 for identical videos."""
    return frechet_distance(clip_features(real, clip_len, tile), clip_features(fake, clip_len, tile))


def warp_error(real: np.ndarray, video: np.ndarray) -> float:
    """Mean |warp(video[t-1], flow_real(t-1 -> t)) - video[t]| over consecutive frames."""
    r, v = check_pair(real, video)
    if len(r) < 2:
        raise ValueError("warp error needs at least 2 frames")
    net = _flow_net()
    with torch.no_grad():
        flow = net(r[1:] * 2 - 1, r[:-1] * 2 - 1)  # warp(real[t-1], flow) ~= real[t]
        warped = warp(v[:-1], flow)
    return float((warped - v[1:]).abs().mean())
