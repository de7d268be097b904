"""Parameters of the procedural renderer, checked on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tganaug.utils.config import ConfigMixin

__all__ = ["ProceduralConfig"]


@dataclass
class ProceduralConfig(ConfigMixin):
    """Parameters of :class:`ProceduralRenderer` (intensities in the ``[0, 1]`` output scale, lengths in px).

    Attributes:
        background_level: mean background intensity (used for the random background and as the
            reference that cell contrast is added to).
        background_sd: spatial standard deviation of the random smooth background field.
        background_scale: correlation length (Gaussian sigma) of that field.
        cell_mean / cell_sd: per-track mean intensity is drawn once from ``N(cell_mean, cell_sd²)``
            (clipped to ``[0, 1]``) and kept for the track's whole life.
        texture_sd / texture_scale: amplitude and correlation length of the smooth interior texture.
        rim: add a bright halo around cells and along cell-cell contacts (phase-contrast look).
        rim_intensity / rim_width: halo amplitude at the cell edge and its Gaussian width.
        blur_sigma: Gaussian PSF sigma applied to the clean image (0 = none).
        noise_sd: additive Gaussian noise standard deviation.
        photons: Poisson shot noise with this many expected photons at intensity 1 (None = off).
    """

    background_level: float = 0.15
    background_sd: float = 0.02
    background_scale: float = 40.0
    cell_mean: float = 0.6
    cell_sd: float = 0.1
    texture_sd: float = 0.04
    texture_scale: float = 2.0
    rim: bool = False
    rim_intensity: float = 0.25
    rim_width: float = 2.0
    blur_sigma: float = 1.0
    noise_sd: float = 0.02
    photons: float | None = None

    def __post_init__(self) -> None:
        unit = ("background_level", "cell_mean")
        non_negative = ("background_sd", "cell_sd", "texture_sd", "blur_sigma", "noise_sd", "rim_intensity")
        positive = ("background_scale", "texture_scale", "rim_width")
        for name in unit + non_negative + positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ProceduralConfig.{name} must be a finite number, got {value!r}")
        for name in unit:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"ProceduralConfig.{name} must lie in [0, 1], got {getattr(self, name)!r}")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"ProceduralConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"ProceduralConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if not isinstance(self.rim, bool):
            raise ValueError(f"ProceduralConfig.rim must be True or False, got {self.rim!r}")
        if self.photons is not None and not (math.isfinite(self.photons) and self.photons > 0):
            raise ValueError(f"ProceduralConfig.photons must be a positive number or None, got {self.photons!r}")
