"""Intensity normalisation of real frames to the generators' ``[0, 1]`` float32 convention.

Generators return ``(T, H, W) float32`` videos in ``[0, 1]``. Real CTC frames are stored as
``uint8``/``uint16`` with arbitrary ranges, so every consumer of real frames (``CTCVideoDataset``,
``ProceduralRenderer.from_ctc``, benchmarks) maps them to ``[0, 1]`` the same way:

``"percentile"`` (default): ``(x - p_low) / (p_high - p_low)`` clipped to ``[0, 1]``, where ``p_low``
and ``p_high`` are the ``(0.1, 99.9)`` percentiles of *all frames of the split being read* of one
sequence (not of one clip), so every clip of a sequence shares one scale and a cell keeps its
brightness from clip to clip. ``"dtype"`` divides by the dtype's maximum (integers) and
``"none"`` only casts to float32 (and does not clip).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["NORMALIZATIONS", "Normalization", "fit_normalization"]

NORMALIZATIONS = ("percentile", "dtype", "none")

#: Pixel stride used when computing percentiles (every 2nd row and column: 4x fewer pixels,
#: the same percentiles to well below one grey level on the shared data).
_PERCENTILE_STRIDE = 2


@dataclass(frozen=True)
class Normalization:
    """An affine map ``(x - offset) / scale``, optionally clipped to ``[0, 1]``.

    Attributes:
        method: how it was fitted (one of :data:`NORMALIZATIONS`).
        offset / scale: the affine parameters (``scale > 0``).
        clip: clip the result to ``[0, 1]``.
    """

    method: str
    offset: float
    scale: float
    clip: bool = True

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Map ``images`` (any shape, any real dtype) to float32."""
        out = (np.asarray(images, dtype=np.float32) - np.float32(self.offset)) / np.float32(self.scale)
        if self.clip:
            np.clip(out, 0.0, 1.0, out=out)
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable fields."""
        return asdict(self)


def fit_normalization(
    images: np.ndarray, method: str = "percentile", percentiles: tuple[float, float] = (0.1, 99.9)
) -> Normalization:
    """Fit the normalisation of ``images`` (``(T, H, W)`` or ``(H, W)``, integer or float).

    Raises ``ValueError`` for an unknown method, bad percentiles, or a constant image (for
    ``"percentile"``: ``p_high == p_low`` would divide by zero).
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {method!r}; choose one of {', '.join(NORMALIZATIONS)}")
    images = np.asarray(images)
    if images.size == 0:
        raise ValueError("cannot fit a normalisation to an empty image array")
    if method == "none":
        return Normalization("none", 0.0, 1.0, clip=False)
    if method == "dtype":
        if np.issubdtype(images.dtype, np.integer):
            info = np.iinfo(images.dtype)
            return Normalization("dtype", float(info.min), float(info.max) - float(info.min))
        return Normalization("dtype", 0.0, 1.0)
    low, high = (float(p) for p in percentiles)
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    sample = images[..., ::_PERCENTILE_STRIDE, ::_PERCENTILE_STRIDE]
    p_low, p_high = np.percentile(sample, [low, high])
    if not p_high > p_low:
        raise ValueError(f"images are constant between the {low} and {high} percentiles ({p_low}); cannot normalise")
    return Normalization("percentile", float(p_low), float(p_high - p_low))
