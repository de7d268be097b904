"""Low-resolution video-to-video generator of tGAN (one frame per call, fed its previous output)."""

from __future__ import annotations

import torch
from torch import nn

from tganaug.models.config import TGANConfig
from tganaug.models.encoder import AttentionFusion, ConvEncoder
from tganaug.models.style import MappingNetwork, NoiseSource, StyleDecoder, StyleGenerator

__all__ = ["LowResGenerator"]


class LowResGenerator(StyleGenerator):
    """Three-encoder style UNet: masks, previous frame and reference background -> next frame.

    * ``mask_encoder`` sees the ``n_masks`` current binary masks (t-n+1 .. t);
    * ``prev_encoder`` sees the previous generated frame (t-1);
    * ``background_encoder`` sees the reference background. The three encoders have separate
      weights (the reference code silently reused the previous-frame encoder for the background).
    * At every level (full size and every down-sampling stage) an :class:`AttentionFusion`
      mixes the three encodings with per-pixel softmax weights; the fused maps are the UNet skips.
    * The decoder is a :class:`StyleDecoder` (modulated convs driven by a mapping MLP from a
      latent, per-layer noise), output ``tanh``.
    * With ``residual_background`` the decoder's ``tanh`` output is added to the reference
      background, ``out = clamp(background + decoder(...), -1, 1)`` (as the SR stage adds its
      residual to the up-sampled input). The encoders' instance norms remove each input's mean, so
      without it the absolute background level must be rebuilt by the decoder's last layer; the
      half-width model never did in 1,100 CPU steps (grey background, L1 0.8 where SIM+ is dark).

    Args:
        n_masks: number of mask frames.
        channels: encoder widths per level, e.g. ``(16, 32, 64, 64)``.
        latent_dim, style_dim, mapping_layers: mapping network sizes.
        residual_background: predict the frame as the reference background plus a residual.

    Shapes: ``masks (B, n_masks, H, W)`` float in {0, 1}; ``prev (B, 1, H, W)`` and
    ``background (B, 1, H, W)`` float in [-1, 1] -> ``(B, 1, H, W)`` float32 in [-1, 1].
    H, W divisible by ``2**(len(channels)-1)``.
    """

    def __init__(
        self, n_masks: int, channels: tuple[int, ...], latent_dim: int, style_dim: int, mapping_layers: int, residual_background: bool = False
    ) -> None:
        super().__init__()
        self.n_masks, self.channels, self.latent_dim = n_masks, tuple(channels), latent_dim
        self.residual_background = residual_background
        self.mask_encoder = ConvEncoder(n_masks, self.channels)
        self.prev_encoder = ConvEncoder(1, self.channels)
        self.background_encoder = ConvEncoder(1, self.channels)
        self.fusions = nn.ModuleList(AttentionFusion(c, 3) for c in self.channels)
        self.mapping = MappingNetwork(latent_dim, style_dim, mapping_layers)
        self.decoder = StyleDecoder(self.channels, style_dim)

    @classmethod
    def from_config(cls, config: TGANConfig) -> LowResGenerator:
        """Build with the sizes of ``config``."""
        return cls(config.n_masks, config.g_channels, config.latent_dim, config.style_dim, config.mapping_layers, config.residual_background)

    def forward(
        self,
        masks: torch.Tensor,
        prev: torch.Tensor,
        background: torch.Tensor,
        styles: torch.Tensor | None = None,
        generator: NoiseSource = None,
        *,
        background_features: list[torch.Tensor] | None = None,
        decoder_weights: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Next frame ``(B, 1, H, W)`` from the ``(B, 1, H, W)`` reference ``background``;
        ``background_features`` is its encoding from :meth:`encode_background` when already computed,
        ``decoder_weights`` the decoder's modulated weights for ``styles`` (:meth:`StyleDecoder.modulate`;
        ``styles`` is then unused): inference computes both once per video, the reference and styles being fixed."""
        if masks.shape[1] != self.n_masks:
            raise ValueError(f"expected {self.n_masks} mask channels, got {masks.shape[1]}")
        height, width = masks.shape[-2:]
        if height % self.divisor or width % self.divisor:
            raise ValueError(f"H, W = {height}, {width} must be multiples of {self.divisor} (pad first)")
        if styles is None and decoder_weights is None:
            styles = self.styles(masks.shape[0], generator=generator)
        if background.shape[-2:] != (height, width):
            raise ValueError(f"background has size {tuple(background.shape[-2:])}, the masks {(height, width)}")
        if background_features is None:
            background_features = self.encode_background(background)
        if len(background_features) != len(self.channels):
            raise ValueError(f"expected {len(self.channels)} background feature maps, got {len(background_features)}")
        fused = [
            fusion(m, p, b)
            for fusion, m, p, b in zip(self.fusions, self.mask_encoder(masks), self.prev_encoder(prev), background_features)
        ]
        out = self.decoder(fused, styles, generator, weights=decoder_weights)
        return torch.clamp(background + out, -1.0, 1.0) if self.residual_background else out

    def encode_background(self, background: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features of a ``(B, 1, H, W)`` reference background, one ``(B, channels[i], H/2**i, W/2**i)`` per level."""
        return self.background_encoder(background)
