"""Integer-factor down-sampling of images and binary masks: the low-resolution grid of the tGAN stages."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["downsample_image", "downsample_mask"]


def downsample_image(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Area down-sampling of ``(..., H, W)`` float by an integer factor (H, W cropped to multiples)."""
    if factor == 1:
        return x
    h, w = x.shape[-2] // factor * factor, x.shape[-1] // factor * factor
    lead = x.shape[:-2]
    y = F.avg_pool2d(x[..., :h, :w].reshape(-1, 1, h, w), factor)
    return y.reshape(*lead, h // factor, w // factor)


def downsample_mask(m: torch.Tensor, factor: int) -> torch.Tensor:
    """Binary mask down-sampling (area fraction >= 0.5) of ``(..., H, W)``, float {0, 1}."""
    return (downsample_image(m.float(), factor) >= 0.5).float()
