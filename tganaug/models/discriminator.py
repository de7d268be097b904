"""PatchGAN discriminator with a residual linear-attention block (MONAI PatchDiscriminator base)."""

from __future__ import annotations

import torch
from monai.networks.nets import PatchDiscriminator
from torch import nn

from tganaug.models.config import TGANConfig

__all__ = ["AttentionPatchDiscriminator", "LinearAttention"]


class LinearAttention(nn.Module):
    """Residual linear attention (Katharopoulos-style, as in the reference's D): ``x + gamma * attn(norm(x))``.

    Cost is linear in H*W. ``gamma`` starts at 0.1 (small, but every weight gets gradients at once).
    Shapes: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, heads: int = 2, dim_head: int = 16) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.norm = nn.GroupNorm(1, channels)
        self.to_qkv = nn.Conv2d(channels, inner * 3, 1, bias=False)
        self.to_out = nn.Conv2d(inner, channels, 1)
        self.gamma = nn.Parameter(torch.full((1,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        q, k, v = self.to_qkv(self.norm(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(batch, self.heads, self.dim_head, height * width) for t in (q, k, v))
        q = q.softmax(dim=2) * self.dim_head**-0.5
        k = k.softmax(dim=3)
        context = torch.einsum("bhdn,bhen->bhde", k, v)
        out = torch.einsum("bhde,bhdn->bhen", context, q).reshape(batch, -1, height, width)
        return x + self.gamma * self.to_out(out)


class AttentionPatchDiscriminator(PatchDiscriminator):
    """MONAI :class:`PatchDiscriminator` (instance norm) with :class:`LinearAttention` after the first layer.

    Low-res D input: ``[mask t-1, mask t, frame t-1, frame t]`` (``in_channels = 2 * 2``);
    SR D input: ``[bilinear-upsampled low-res, high-res]`` (2 channels).

    Shapes: ``(B, in_channels, H, W) -> list`` of intermediate features, the last being the
    patch logits ``(B, 1, ~H/2**d_layers, ~W/2**d_layers)`` (MONAI convention, usable with
    :class:`monai.losses.PatchAdversarialLoss`).
    """

    def __init__(self, in_channels: int, channels: int, num_layers_d: int, heads: int = 2, dim_head: int = 16) -> None:
        super().__init__(spatial_dims=2, channels=channels, in_channels=in_channels, num_layers_d=num_layers_d, norm="INSTANCE")
        # registered last so that nn.Sequential iteration order is unchanged; forward() places it
        self.add_module("attention", LinearAttention(channels, heads, dim_head))

    @classmethod
    def from_config(cls, config: TGANConfig, in_channels: int) -> AttentionPatchDiscriminator:
        """Build with the sizes of ``config`` for ``in_channels`` input channels."""
        return cls(in_channels, config.d_channels, config.d_layers, config.d_attention_heads, config.d_attention_dim_head)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for name, module in self.named_children():
            if name == "attention":
                continue
            x = module(x)
            if name == "initial_conv":
                x = self.attention(x)
            out.append(x)
        return out
