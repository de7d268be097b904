"""Convolutional UNet encoder and the per-pixel softmax attention fusion of several encoders."""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

__all__ = ["AttentionFusion", "ConvEncoder"]

_ACT = ("leakyrelu", {"negative_slope": 0.2})


def _conv(c_in: int, c_out: int, stride: int = 1) -> Convolution:
    # no conv bias: the following (non-affine) instance norm would cancel it (a dead parameter)
    return Convolution(2, c_in, c_out, strides=stride, kernel_size=3, act=_ACT, norm="INSTANCE", bias=False)


class ConvEncoder(nn.Module):
    """UNet encoder: level 0 keeps the size, every later level halves it (stride-2 conv then conv).

    Built from MONAI :class:`~monai.networks.blocks.Convolution` (conv + instance norm + LeakyReLU).

    Shapes: ``x (B, in_channels, H, W) -> [(B, channels[i], H/2**i, W/2**i) for each level i]``;
    H and W must be divisible by ``2**(len(channels)-1)``.
    """

    def __init__(self, in_channels: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        previous = in_channels
        for level, width in enumerate(channels):
            stride = 1 if level == 0 else 2
            self.stages.append(nn.Sequential(_conv(previous, width, stride), _conv(width, width)))
            previous = width

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class AttentionFusion(nn.Module):
    """Per-pixel softmax attention over ``n_sources`` feature maps of equal shape.

    concat -> 1x1 conv -> ReLU -> 1x1 conv to ``n_sources`` logits -> softmax over sources ->
    weighted sum. Shapes: ``n_sources x (B, C, H, W) -> (B, C, H, W)``; :attr:`last_weights`
    keeps the ``(B, n_sources, H, W)`` weights of the last call (for inspection).
    """

    def __init__(self, channels: int, n_sources: int = 3) -> None:
        super().__init__()
        hidden = max(channels // 2, 4)
        self.score = nn.Sequential(nn.Conv2d(channels * n_sources, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, n_sources, 1))
        self.n_sources = n_sources
        self.last_weights: torch.Tensor | None = None

    def forward(self, *sources: torch.Tensor) -> torch.Tensor:
        if len(sources) != self.n_sources:
            raise ValueError(f"AttentionFusion expects {self.n_sources} inputs, got {len(sources)}")
        weights = torch.softmax(self.score(torch.cat(sources, dim=1)), dim=1)
        self.last_weights = weights.detach()
        return sum(weights[:, i : i + 1] * s for i, s in enumerate(sources))
