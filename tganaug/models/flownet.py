"""FlowNet: a small convolutional optical-flow estimator, and the flow warp."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tganaug.models.config import TGANConfig
from tganaug.models.encoder import ConvEncoder

__all__ = ["FlowNet", "pixel_grid", "warp"]


def pixel_grid(height: int, width: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(1, 2, H, W)`` pixel coordinates: channel 0 = x (column), channel 1 = y (row)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=dtype), torch.arange(width, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys]).unsqueeze(0)


def warp(image: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Backward warp: ``out(x) = image(x + flow(x))`` with bilinear sampling.

    ``flow`` is in PIXELS (channel 0 = dx, channel 1 = dy). The sampling positions are converted to
    ``grid_sample``'s normalised [-1, 1] coordinates with ``align_corners=True``
    (``u = 2 * x / (W - 1) - 1``), so a flow of (+3, 0) moves content exactly 3 pixels to the left
    (the reference code passed pixel coordinates unnormalised).

    Shapes: ``image (B, C, H, W)``, ``flow (B, 2, H, W)`` -> ``(B, C, H, W)``.
    """
    if flow.shape[1] != 2 or flow.shape[-2:] != image.shape[-2:] or flow.shape[0] != image.shape[0]:
        raise ValueError(f"flow shape {tuple(flow.shape)} does not match image {tuple(image.shape)}")
    height, width = image.shape[-2:]
    pos = pixel_grid(height, width, image.device, image.dtype) + flow
    u = 2.0 * pos[:, 0] / max(width - 1, 1) - 1.0
    v = 2.0 * pos[:, 1] / max(height - 1, 1) - 1.0
    return F.grid_sample(image, torch.stack([u, v], dim=-1), mode="bilinear", padding_mode=padding_mode, align_corners=True)


# MONAI has no optical-flow network; this one reuses the MONAI-based ConvEncoder.
class FlowNet(nn.Module):
    """Small encoder-decoder optical-flow estimator.

    ``flow = net(a, b)`` estimates the backward flow such that ``warp(b, flow) ~= a``, i.e.
    ``a(x) ~= b(x + flow(x))``, in pixels. If ``b`` is ``a`` shifted right by ``s`` pixels then
    ``flow ~= (+s, 0)``.

    Shapes: ``a, b (B, 1, H, W)`` float in [-1, 1] -> ``(B, 2, H, W)`` float32 pixels; any H, W
    (padded inside to a multiple of ``2**(len(channels)-1)``).
    """

    def __init__(self, channels: tuple[int, ...], max_flow: float = 16.0) -> None:
        super().__init__()
        self.channels = tuple(channels)
        self.encoder = ConvEncoder(2, self.channels)
        self.up = nn.ModuleList()
        for level in range(len(self.channels) - 2, -1, -1):
            self.up.append(
                nn.Sequential(
                    nn.Conv2d(self.channels[level + 1] + self.channels[level], self.channels[level], 3, padding=1),
                    nn.LeakyReLU(0.1),
                    nn.Conv2d(self.channels[level], self.channels[level], 3, padding=1),
                    nn.LeakyReLU(0.1),
                )
            )
        self.head = nn.Conv2d(self.channels[0], 2, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.max_flow = max_flow

    @classmethod
    def from_config(cls, config: TGANConfig) -> FlowNet:
        """Build with the sizes of ``config``."""
        return cls(config.flow_channels)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        height, width = a.shape[-2:]
        div = 2 ** (len(self.channels) - 1)
        pad_h, pad_w = (-height) % div, (-width) % div
        x = torch.cat([a, b], dim=1)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.up, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        flow = self.max_flow * torch.tanh(0.25 * self.head(y))  # bounded, ~4 px per unit near 0
        return flow[..., :height, :width]
