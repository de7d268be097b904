"""Super-resolution generator of tGAN: a style UNet with one encoder and extra x2 up-sampling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tganaug.models.config import TGANConfig
from tganaug.models.encoder import ConvEncoder
from tganaug.models.style import MappingNetwork, NoiseSource, StyleDecoder, StyleGenerator

__all__ = ["SRGenerator"]


class SRGenerator(StyleGenerator):
    """Style UNet that up-samples a low-res frame by ``scale`` (1, 2 or 4) adding texture.

    The output is the bilinear up-sampling of the input plus the decoder's ``tanh`` residual,
    clamped to [-1, 1]: ``out = clamp(up(x) + decoder(x), -1, 1)``. ``upsampling`` is how the
    decoder reaches the output size (:class:`~tganaug.models.style.StyleDecoder`): ``"bilinear"``
    (default) or ``"pixel_shuffle"`` (sub-pixel output layer, cheaper).

    With ``mask_input`` the encoder also sees the frame's full-resolution binary masks ``(B, 1, h*scale,
    w*scale)``, folded onto the low-res grid by :func:`torch.nn.functional.pixel_unshuffle` (``scale**2``
    channels, one per sub-pixel position: no information lost, no full-size feature map), so the
    outlines it draws can follow the mask's pixels rather than the blur of the up-sampled low-res
    frame. The paper's SR stage sees the image alone (``mask_input=False``, the default).

    Shapes: ``x (B, 1, h, w)`` float in [-1, 1] (``masks (B, 1, h*scale, w*scale)`` float in {0, 1} with
    ``mask_input``) -> ``(B, 1, h*scale, w*scale)`` float in [-1, 1]; h, w divisible by ``2**(len(channels)-1)``.
    """

    def __init__(self, scale: int, channels: tuple[int, ...], latent_dim: int, style_dim: int, mapping_layers: int,
                 upsampling: str = "bilinear", mask_input: bool = False) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        self.scale, self.channels, self.latent_dim, self.mask_input = scale, tuple(channels), latent_dim, mask_input
        self.encoder = ConvEncoder(1 + scale**2 if mask_input else 1, self.channels)
        self.mapping = MappingNetwork(latent_dim, style_dim, mapping_layers)
        self.decoder = StyleDecoder(self.channels, style_dim, extra_upsamplings=int(math.log2(scale)), upsampling=upsampling)

    @classmethod
    def from_config(cls, config: TGANConfig) -> SRGenerator:
        """Build with the sizes of ``config``."""
        return cls(config.sr_scale, config.sr_channels, config.latent_dim, config.style_dim, config.mapping_layers, config.sr_upsampling,
                   config.sr_mask_input)

    def forward(self, x: torch.Tensor, styles: torch.Tensor | None = None, generator: NoiseSource = None, *,
                masks: torch.Tensor | None = None, decoder_weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Up-sample ``x``; ``masks`` are the full-resolution masks (needed with ``mask_input``, refused without);
        ``decoder_weights`` (:meth:`StyleDecoder.modulate` of ``styles``, computed once per video at inference) replaces ``styles``."""
        height, width = x.shape[-2:]
        if height % self.divisor or width % self.divisor:
            raise ValueError(f"h, w = {height}, {width} must be multiples of {self.divisor} (pad first)")
        encoder_input = x
        if self.mask_input:
            expected = (x.shape[0], 1, height * self.scale, width * self.scale)
            if masks is None or tuple(masks.shape) != expected:
                got = "none" if masks is None else tuple(masks.shape)
                raise ValueError(f"this SR generator needs the full-resolution masks {expected}, got {got}")
            encoder_input = torch.cat([x, F.pixel_unshuffle(masks.to(x.dtype), self.scale)], dim=1)
        elif masks is not None:
            raise ValueError("this SR generator was built without mask_input: it takes no masks")
        if styles is None and decoder_weights is None:
            styles = self.styles(x.shape[0], generator=generator)
        up = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False) if self.scale > 1 else x
        return torch.clamp(up + self.decoder(self.encoder(encoder_input), styles, generator, weights=decoder_weights), -1.0, 1.0)
