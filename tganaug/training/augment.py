"""DiffAugment (Zhao et al. 2020) for discriminator inputs: differentiable, applied to real and fake alike."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["diff_augment"]


def diff_augment(x: torch.Tensor, policy: Sequence[str], p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly augment a D input batch with differentiable ops, all channels of a sample alike.

    Each sample is augmented with probability ``p`` (per sample); the ops of ``policy`` are:
    ``brightness`` (add U(-0.5, 0.5)), ``saturation`` (scale deviation from the channel mean by
    U(0, 2)), ``contrast`` (scale deviation from the sample mean by U(0.5, 1.5)), ``translation``
    (shift by up to 1/8 of the size, zero fill), ``cutout`` (zero a square of half the size).
    Call it on real and fake D inputs alike. Random draws come from ``generator`` (or the global RNG)
    and their number does not depend on ``p``.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if not policy:
        return x
    batch, _, height, width = x.shape
    dev = x.device
    apply = (torch.rand(batch, 1, 1, 1, generator=generator) < p).to(dev, x.dtype)
    out = x
    for op in policy:
        if op == "brightness":
            r = torch.rand(batch, 1, 1, 1, generator=generator).to(dev, x.dtype)
            out = out + (r - 0.5)
        elif op == "saturation":
            r = torch.rand(batch, 1, 1, 1, generator=generator).to(dev, x.dtype)
            mean = out.mean(dim=1, keepdim=True)
            out = (out - mean) * (r * 2) + mean
        elif op == "contrast":
            r = torch.rand(batch, 1, 1, 1, generator=generator).to(dev, x.dtype)
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            out = (out - mean) * (r + 0.5) + mean
        elif op == "translation":
            sy, sx = max(height // 8, 1), max(width // 8, 1)
            ty = torch.randint(-sy, sy + 1, (batch,), generator=generator)
            tx = torch.randint(-sx, sx + 1, (batch,), generator=generator)
            padded = F.pad(out, (sx, sx, sy, sy))
            out = torch.stack(
                [padded[i, :, sy - int(ty[i]) : sy - int(ty[i]) + height, sx - int(tx[i]) : sx - int(tx[i]) + width] for i in range(batch)]
            )
        elif op == "cutout":
            ch, cw = max(height // 2, 1), max(width // 2, 1)
            cy = torch.randint(0, height - ch + 1, (batch,), generator=generator)
            cx = torch.randint(0, width - cw + 1, (batch,), generator=generator)
            keep = torch.ones(batch, 1, height, width, dtype=x.dtype, device=dev)
            for i in range(batch):
                keep[i, :, int(cy[i]) : int(cy[i]) + ch, int(cx[i]) : int(cx[i]) + cw] = 0
            out = out * keep
        else:
            raise ValueError(f"unknown DiffAugment op {op!r}")
    return apply * out + (1 - apply) * x
