"""Pre-training of the auxiliary networks whose small weights ship in ``tganaug/weights``.

* :func:`train_feature_net`: the perceptual-loss feature network (a small UNet predicting the
  cell foreground from an image), trained on the *train* frames of the shared datasets.
* :func:`pretrain_flownet`: the FlowNet, self-supervised on real consecutive train frames
  (photometric + smoothness) plus supervised on real frames warped by known random smooth flows.
  It is then trained further jointly with the low-res generator.

Both write ``{"model": state_dict, "config": {...}, "info": {...}}`` with ``torch.save``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from tganaug.models.config import TGANConfig
from tganaug.models.feature_net import MaskFeatureNet
from tganaug.models.flownet import FlowNet
from tganaug.training.data import ClipSampler, VideoData, load_videos
from tganaug.training.losses import flow_training_loss
from tganaug.utils.fsutil import atomic_write_bytes

__all__ = ["pretrain_flownet", "save_aux", "train_feature_net"]


def save_aux(path: str | Path, model: torch.nn.Module, info: dict) -> None:
    """Atomically save ``{"model": state_dict, "info": info}``."""
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "info": info}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _random_scale_crops(videos, batch: int, crop: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = [], []
    for _ in range(batch):
        video = videos[int(torch.randint(len(videos), (), generator=generator))]
        low = bool(torch.rand((), generator=generator) < 0.5)
        src_i, src_m = (video.lr_images, video.lr_masks) if low else (video.images, video.masks)
        t = int(torch.randint(src_i.shape[0], (), generator=generator))
        h, w = src_i.shape[-2:]
        top = int(torch.randint(max(h - crop + 1, 1), (), generator=generator))
        left = int(torch.randint(max(w - crop + 1, 1), (), generator=generator))
        img = src_i[t, top : top + crop, left : left + crop]
        msk = src_m[t, top : top + crop, left : left + crop]
        if bool(torch.rand((), generator=generator) < 0.5):
            img, msk = img.flip(-1), msk.flip(-1)
        images.append(img)
        masks.append(msk)
    return torch.stack(images).unsqueeze(1), torch.stack(masks).unsqueeze(1)


def train_feature_net(
    data_dirs: Sequence[str | Path],
    *,
    channels: tuple[int, ...] = (16, 32, 64),
    steps: int = 1000,
    batch: int = 8,
    crop: int = 96,
    lr: float = 2e-3,
    seed: int = 0,
    log_every: int = 50,
) -> tuple[MaskFeatureNet, dict]:
    """Train :class:`MaskFeatureNet` (BCE on foreground) on train frames at full and half resolution."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    videos = load_videos(data_dirs, "train", TGANConfig())
    net = MaskFeatureNet(channels)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start, history = time.time(), []
    for step in range(steps):
        images, masks = _random_scale_crops(videos, batch, crop, generator)
        loss = F.binary_cross_entropy_with_logits(net(images), masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss))
        if log_every and (step + 1) % log_every == 0:
            print(f"feature_net step {step + 1}/{steps} bce {sum(history[-log_every:]) / log_every:.4f} {time.time() - start:.0f}s", flush=True)
    info = {"steps": steps, "seconds": time.time() - start, "final_bce": sum(history[-50:]) / len(history[-50:]),
            "data": [Path(d).name for d in data_dirs], "split": "train", "channels": list(channels),
            "data_sequences": _used(videos)}
    return net, info


def _used(videos: Sequence[VideoData]) -> list[dict]:
    """What a pre-training read: per video its name, sequence and (first, last) train frames."""
    return [{"data": v.name, "sequence": v.sequence, "frames": None if v.frames is None else list(v.frames)} for v in videos]


def pretrain_flownet(
    data_dirs: Sequence[str | Path],
    *,
    channels: tuple[int, ...] = (16, 32, 64),
    steps: int = 1000,
    batch: int = 8,
    crop: int = 64,
    lr: float = 1e-3,
    smoothness: float = 0.1,
    supervised: float = 1.0,
    seed: int = 0,
    log_every: int = 50,
) -> tuple[FlowNet, dict]:
    """Pre-train :class:`FlowNet` on low-res train frame pairs (see module docstring)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    config = TGANConfig(crop_size=crop, n_masks=2, p_video_aug=0.5)
    videos = load_videos(data_dirs, "train", config)
    sampler = ClipSampler(videos, config, generator)
    net = FlowNet(channels)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start, history = time.time(), []
    for step in range(steps):
        clip = sampler.sample_clip(batch, 1)
        prev, current = clip["images"][:, -2:-1], clip["images"][:, -1:]
        loss, logs = flow_training_loss(net, prev, current, smoothness=smoothness, supervised=supervised, generator=generator)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(logs.get("flow_sup", 0.0))
        if log_every and (step + 1) % log_every == 0:
            print(f"flownet step {step + 1}/{steps} sup-L1 {sum(history[-log_every:]) / log_every:.3f}px photo {logs['flow_photo']:.4f} {time.time() - start:.0f}s", flush=True)
    info = {"steps": steps, "seconds": time.time() - start, "final_sup_l1_px": sum(history[-50:]) / len(history[-50:]),
            "data": [Path(d).name for d in data_dirs], "split": "train", "channels": list(channels),
            "data_sequences": _used(videos)}
    return net, info
