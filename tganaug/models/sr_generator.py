"""Super-resolution generator of tGAN: a style UNet with one encoder and extra x2 up-sampling."""

from __future__ import annotations

import math

import torch
from torch import nn

from tganaug.models.config import TGANConfig
from tganaug.models.encoder import ConvEncoder
from tganaug.models.style import MappingNetwork, StyleDecoder, StyleGenerator

__all__ = ["SRGenerator"]


class SRGenerator(StyleGenerator):
    """Style UNet that up-samples a low-res frame by ``scale`` (1, 2 or 4) adding texture.

    The output is the bilinear up-sampling of the input plus the decoder's ``tanh`` residual,
    clamped to [-1, 1]: ``out = clamp(up(x) + decoder(x), -1, 1)``. ``upsampling`` is how the
    decoder reaches the output size (:class:`~tganaug.models.style.StyleDecoder`): ``"bilinear"``
    (default) or ``"pixel_shuffle"`` (sub-pixel output layer, cheaper).

    Shapes: ``x (B, 1, h, w)`` float in [-1, 1] -> ``(B, 1, h*scale, w*scale)`` float in [-1, 1];
    h, w divisible by ``2**(len(channels)-1)``.
    """

    def __init__(self, scale: int, channels: tuple[int, ...], latent_dim: int, style_dim: int, mapping_layers: int,
                 upsampling: str = "bilinear") -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        self.scale, self.channels, self.latent_dim = scale, tuple(channels), latent_dim
        self.encoder = ConvEncoder(1, self.channels)
        self.mapping = MappingNetwork(latent_dim, style_dim, mapping_layers)
        self.decoder = StyleDecoder(self.channels, style_dim, extra_upsamplings=int(math.log2(scale)), upsampling=upsampling)

    @classmethod
    def from_config(cls, config: TGANConfig) -> SRGenerator:
        """Build with the sizes of ``config``."""
        return cls(config.sr_scale, config.sr_channels, config.latent_dim, config.style_dim, config.mapping_layers, config.sr_upsampling)

    def forward(self, x: torch.Tensor, styles: torch.Tensor | None = None, generator: torch.Generator | None = None, *,
                decoder_weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Up-sample ``x``; ``decoder_weights`` (:meth:`StyleDecoder.modulate` of ``styles``, computed once per video at
        inference) replaces ``styles``."""
        height, width = x.shape[-2:]
        if height % self.divisor or width % self.divisor:
            raise ValueError(f"h, w = {height}, {width} must be multiples of {self.divisor} (pad first)")
        if styles is None and decoder_weights is None:
            styles = self.styles(x.shape[0], generator=generator)
        up = nn.functional.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False) if self.scale > 1 else x
        return torch.clamp(up + self.decoder(self.encoder(x), styles, generator, weights=decoder_weights), -1.0, 1.0)
