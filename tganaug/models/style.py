"""StyleGAN2-style blocks: mapping MLP, modulated/demodulated convolution, noise injection.

MONAI has no modulated convolution or noise injection, hence these small modules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tganaug.models.config import UPSAMPLINGS

__all__ = ["CHANNELS_LAST_UPSAMPLING_MAX_PIXELS", "MappingNetwork", "ModulatedConv2d", "NoiseInjection", "NoiseSource", "StyleConvBlock",
           "StyleDecoder", "StyleGenerator", "noise_like", "sample_styles", "upsample_bilinear"]

#: where noise comes from: one generator for the whole batch, one per sample (``Sequence``, batched rendering of
#: several videos: each draws its own noise), or ``None`` (the global torch RNG)
NoiseSource = torch.Generator | Sequence[torch.Generator] | None


def noise_like(shape: tuple[int, ...], generator: NoiseSource, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Unit Gaussian noise of ``shape (B, ...)``. With a sequence of ``B`` generators sample ``b`` comes from
    ``generator[b]`` (a ``(1, ...)`` draw each), so a video rendered in a batch gets the noise it gets alone."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} noise generators for a batch of {shape[0]}")
    return torch.cat([torch.randn((1, *shape[1:]), generator=g, device=device, dtype=dtype) for g in generator])


class MappingNetwork(nn.Module):
    """Latent -> style MLP (pixel-norm, then ``n_layers`` Linear + LeakyReLU).

    Args:
        latent_dim: size of ``z``.
        style_dim: size of ``w``.
        n_layers: number of linear layers (>= 1).

    Shapes: ``z (B, latent_dim) float32 -> w (B, style_dim)`` in the dtype of the weights (``z`` is
    pixel-normalised in its own dtype, then cast: a network cast to bfloat16 for inference keeps the
    float32 latent draws of the seed).
    """

    def __init__(self, latent_dim: int, style_dim: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Linear(latent_dim if i == 0 else style_dim, style_dim), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z.to(self.net[0].weight.dtype))  # no-op in float32


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution (per-sample weights scaled by an affine style, optionally demodulated).

    Shapes: ``x (B, C_in, H, W)``, ``w (B, style_dim)`` -> ``(B, C_out, H, W)`` ("same" padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate = demodulate
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)  # style starts near identity modulation

    def modulate(self, w: torch.Tensor) -> torch.Tensor:
        """The per-sample weights ``(B, C_out, C_in, k, k)`` for styles ``w (B, style_dim)``."""
        style = self.affine(w).view(w.shape[0], 1, self.in_channels, 1, 1)
        weight = self.scale * self.weight.unsqueeze(0) * style
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        return weight

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None, *, weight: torch.Tensor | None = None,
                skip: torch.Tensor | None = None) -> torch.Tensor:
        """Convolve ``x`` with the weights of styles ``w``, or with ``weight`` from :meth:`modulate` (one of the two).

        ``skip (B, C_skip, H, W)``, when given, is concatenated to ``x`` along the channels (the UNet
        skip); with batch 1 the two parts are convolved with their slices of the weight and added
        instead, which skips the concatenation's copy (on CPU the decoders' widest full-size
        convolution: 1.76 -> 1.27 ms in isolation, one thread; same values up to float rounding).
        """
        batch, _, height, width = x.shape
        if skip is not None and batch != 1:
            x, skip = torch.cat([x, skip], dim=1), None
        if weight is None:
            if w is None:
                raise ValueError("ModulatedConv2d needs a style w or a modulated weight")
            weight = self.modulate(w)
        if weight.shape != (batch, self.out_channels, self.in_channels, self.kernel_size, self.kernel_size):
            raise ValueError(f"modulated weight has shape {tuple(weight.shape)}, expected "
                             f"{(batch, self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)}")
        channels = x.shape[1] + (skip.shape[1] if skip is not None else 0)
        if channels != self.in_channels:
            raise ValueError(f"ModulatedConv2d expects {self.in_channels} input channels, got {channels}")
        if batch == 1:  # inference streams one frame: a plain convolution, no grouped-conv reshapes
            if skip is None:
                return F.conv2d(x, weight[0], padding=self.kernel_size // 2)
            split = x.shape[1]
            out = F.conv2d(x, weight[0, :, :split], padding=self.kernel_size // 2)
            return out.add_(F.conv2d(skip, weight[0, :, split:], padding=self.kernel_size // 2))
        weight = weight.view(batch * self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        out = F.conv2d(x.reshape(1, batch * self.in_channels, height, width), weight, padding=self.kernel_size // 2, groups=batch)
        return out.view(batch, self.out_channels, height, width)


class NoiseInjection(nn.Module):
    """Adds per-pixel Gaussian noise times a learned per-channel scale (initialised to zero).

    Shapes: ``x (B, C, H, W)`` -> same. Noise comes from ``generator`` when given (reproducible
    inference), else from the global torch RNG (whose state the trainer checkpoints).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def sample(self, x: torch.Tensor, generator: NoiseSource = None) -> torch.Tensor:
        """The ``(B, 1, H, W)`` unit Gaussian noise for ``x (B, C, H, W)`` (see :func:`noise_like`)."""
        return noise_like((x.shape[0], 1, x.shape[2], x.shape[3]), generator, x.device, x.dtype)

    def forward(self, x: torch.Tensor, generator: NoiseSource = None) -> torch.Tensor:
        return x + self.weight * self.sample(x, generator)


class StyleConvBlock(nn.Module):
    """Modulated 3x3 conv -> noise -> bias -> LeakyReLU(0.2).

    The three element-wise steps run in place on the fresh convolution output (autograd-safe: the
    convolution's backward needs its input, not its output; LeakyReLU's in-place backward uses its
    result, valid for a positive slope). Fewer full-size temporaries: on CPU, part of the 34 -> 31 ms per
    256² frame measured by ``benchmarks/throughput.py``.

    Shapes: ``x (B, C_in, H, W)``, ``w (B, style_dim)`` -> ``(B, C_out, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, style_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, style_dim)
        self.noise = NoiseInjection(out_channels)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.negative_slope = 0.2

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None, generator: NoiseSource = None, *,
                weight: torch.Tensor | None = None, skip: torch.Tensor | None = None) -> torch.Tensor:
        """``weight``: this block's modulated conv weight (:meth:`ModulatedConv2d.modulate`) instead of ``w``;
        ``skip``: channels concatenated to ``x`` (see :meth:`ModulatedConv2d.forward`)."""
        out = self.conv(x, w, weight=weight, skip=skip)
        out.addcmul_(self.noise.weight, self.noise.sample(out, generator)).add_(self.bias)
        return F.leaky_relu_(out, self.negative_slope)


#: maps of at most this many pixels (h * w) are up-sampled in channels-last layout (see :func:`upsample_bilinear`)
CHANNELS_LAST_UPSAMPLING_MAX_PIXELS = 32 * 32


def upsample_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear up-sampling of ``x (B, C, h, w)`` to ``size`` (``align_corners=False``), contiguous output.

    On CPU, PyTorch's bilinear kernel is much faster on channels-last input for small maps, layout
    copies included (one thread, x2: 64 channels 32² 1.48 -> 0.60 ms, 16² 0.26 -> 0.08 ms; 32
    channels 32² 0.46 -> 0.28 ms; identical values) and slower from 64² on (32 channels 64²: 0.91 ->
    1.26 ms), so only maps of at most :data:`CHANNELS_LAST_UPSAMPLING_MAX_PIXELS` take that path.
    """
    if x.shape[-2] * x.shape[-1] <= CHANNELS_LAST_UPSAMPLING_MAX_PIXELS and x.device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False).contiguous()
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class StyleDecoder(nn.Module):
    """UNet decoder of style blocks: up-sample x2, concatenate the skip, two :class:`StyleConvBlock`.

    Args:
        channels: encoder widths, level 0 first (the bottleneck is ``channels[-1]``).
        style_dim: style vector size.
        extra_upsamplings: further x2 up-sampling blocks after level 0 (super-resolution), each
            keeping ``channels[0]`` channels and having no skip.
        upsampling: how the extra up-samplings are done (:data:`UPSAMPLINGS`). ``"bilinear"``
            (default): each extra block up-samples its input x2 bilinearly and runs at the larger
            size. ``"pixel_shuffle"`` (sub-pixel convolution, Shi et al., CVPR 2016): the extra
            blocks run at the level-0 size, the output layer predicts ``4**extra`` sub-pixel maps,
            each with its own per-pixel noise (a learned scale per sub-pixel position, so the output
            keeps independent per-pixel noise), and :func:`torch.nn.functional.pixel_shuffle`
            interleaves them: no feature map is computed at the output size, which on CPU is where
            the bilinear decoder spends about half its time.

    Shapes: ``skips`` = list of ``(B, channels[i], H/2**i, W/2**i)``; ``styles (B, n_styles, style_dim)``
    with ``n_styles = self.n_styles`` -> ``(B, 1, H*2**extra, W*2**extra)`` in [-1, 1] (tanh).
    """

    def __init__(self, channels: tuple[int, ...], style_dim: int, extra_upsamplings: int = 0, upsampling: str = "bilinear") -> None:
        super().__init__()
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {', '.join(map(repr, UPSAMPLINGS))}, got {upsampling!r}")
        self.upsampling = upsampling
        #: sub-pixel maps per output pixel of the output layer (1 unless pixel-shuffled)
        self.shuffle = 2**extra_upsamplings if upsampling == "pixel_shuffle" else 1
        self.up_blocks = nn.ModuleList()
        for level in range(len(channels) - 2, -1, -1):
            c_in = channels[level + 1] + channels[level]
            self.up_blocks.append(
                nn.ModuleList([StyleConvBlock(c_in, channels[level], style_dim), StyleConvBlock(channels[level], channels[level], style_dim)])
            )
        self.extra_blocks = nn.ModuleList(
            nn.ModuleList([StyleConvBlock(channels[0], channels[0], style_dim), StyleConvBlock(channels[0], channels[0], style_dim)])
            for _ in range(extra_upsamplings)
        )
        self.to_image = ModulatedConv2d(channels[0], self.shuffle**2, 1, style_dim, demodulate=False)
        self.to_image_bias = nn.Parameter(torch.zeros(1, self.shuffle**2, 1, 1))
        #: per-sub-pixel output noise scale (pixel_shuffle only: the bilinear blocks inject noise at the output size)
        self.subpixel_noise = nn.Parameter(torch.zeros(1, self.shuffle**2, 1, 1)) if self.shuffle > 1 else None
        self.n_styles = 2 * (len(self.up_blocks) + len(self.extra_blocks)) + 1

    def convs(self) -> list[ModulatedConv2d]:
        """The modulated convolutions in call order; convolution ``k`` is driven by ``styles[:, k]``."""
        blocks = [block for level in [*self.up_blocks, *self.extra_blocks] for block in level]
        return [block.conv for block in blocks] + [self.to_image]

    def modulate(self, styles: torch.Tensor) -> list[torch.Tensor]:
        """The modulated weights of every convolution (:meth:`convs` order) for ``styles (B, n_styles, style_dim)``.

        Inference computes them once per video (the styles are fixed) and passes them as ``weights``
        (same bytes out as modulating in every call).
        """
        if styles.shape[1] != self.n_styles:
            raise ValueError(f"expected {self.n_styles} styles per sample, got {styles.shape[1]}")
        return [conv.modulate(styles[:, k]) for k, conv in enumerate(self.convs())]

    def forward(self, skips: list[torch.Tensor], styles: torch.Tensor | None, generator: NoiseSource = None, *,
                weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Decode; ``weights`` from :meth:`modulate` replaces ``styles`` (which may then be ``None``)."""
        if weights is None:
            if styles is None:
                raise ValueError("StyleDecoder needs styles or modulated weights")
            weights = self.modulate(styles)
        if len(weights) != self.n_styles:
            raise ValueError(f"expected {self.n_styles} modulated weights, got {len(weights)}")
        x = skips[-1]
        k = 0
        for blocks, skip in zip(self.up_blocks, reversed(skips[:-1])):
            x = upsample_bilinear(x, skip.shape[-2:])
            x = blocks[0](x, generator=generator, weight=weights[k], skip=skip)  # on cat([x, skip])
            x = blocks[1](x, generator=generator, weight=weights[k + 1])
            k += 2
        for blocks in self.extra_blocks:
            if self.shuffle == 1:
                # the narrow full-size convolutions run ~4x faster on CPU in channels-last layout (oneDNN);
                # up-sampling stays in the default layout, where it is faster
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False).contiguous(memory_format=torch.channels_last)
            for block in blocks:
                x = block(x, generator=generator, weight=weights[k])
                k += 1
        out = self.to_image(x, weight=weights[k]) + self.to_image_bias
        if self.subpixel_noise is not None:
            noise = noise_like(tuple(out.shape), generator, out.device, out.dtype)
            out = F.pixel_shuffle(out + self.subpixel_noise * noise, self.shuffle)
        return torch.tanh(out)


def sample_styles(
    mapping: MappingNetwork,
    batch: int,
    n_styles: int,
    latent_dim: int,
    *,
    mixing_prob: float = 0.0,
    z: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Per-layer styles ``(B, n_styles, style_dim)`` from one latent, or two with style mixing.

    With probability ``mixing_prob`` a second latent takes over from a random crossover layer.
    ``z (B, latent_dim)`` may be given; otherwise it is drawn from ``generator`` (or the global RNG).
    """
    if z is None:
        z = torch.randn((batch, latent_dim), generator=generator, device=device)
    w = mapping(z).unsqueeze(1).expand(-1, n_styles, -1)
    if mixing_prob > 0:
        draw = torch.rand((), generator=generator, device=device)
        z2 = torch.randn((batch, latent_dim), generator=generator, device=device)
        cross = int(torch.randint(1, max(n_styles, 2), (), generator=generator, device=device))
        if float(draw) < mixing_prob:
            w2 = mapping(z2).unsqueeze(1).expand(-1, n_styles, -1)
            index = torch.arange(n_styles, device=w.device).view(1, -1, 1)
            w = torch.where(index < cross, w, w2)
    return w


class StyleGenerator(nn.Module):
    """Base of the style-driven generators: needs ``channels``, ``latent_dim``, ``mapping`` and ``decoder``."""

    channels: tuple[int, ...]
    latent_dim: int
    mapping: MappingNetwork
    decoder: StyleDecoder

    @property
    def divisor(self) -> int:
        """Input H and W must be multiples of this."""
        return 2 ** (len(self.channels) - 1)

    def styles(self, batch: int, *, z: torch.Tensor | None = None, mixing_prob: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-layer styles ``(B, n_styles, style_dim)`` (see :func:`sample_styles`)."""
        device = next(self.parameters()).device
        return sample_styles(self.mapping, batch, self.decoder.n_styles, self.latent_dim, mixing_prob=mixing_prob, z=z, generator=generator, device=device)
