"""The procedural renderer: per-video state, then each frame from its labels alone (see :mod:`tganaug.procedural`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.data.normalize import fit_normalization
from tganaug.data.seeding import generator_seed
from tganaug.procedural.config import ProceduralConfig
from tganaug.procedural.estimate import estimate_config
from tganaug.procedural.halo import halo_map

__all__ = ["ProceduralRenderer", "ProceduralState", "unit_field"]

_MAX_ID = int(np.iinfo(np.uint16).max)
_TILE = 64  # side of the periodic texture tile, pixels (>> texture_scale, so no visible period)
# Random-stream purposes: one independent stream per use, so changing one part leaves the rest.
_BACKGROUND, _CELLS, _TEXTURE, _NOISE = 0, 1, 2, 3


@dataclass
class ProceduralState:
    """Per-video state of the renderer (everything drawn once per video).

    Attributes:
        seed: the video's seed.
        background: ``(H, W) float32`` background.
        contrast: ``(65536,) float32`` cell contrast per label id (``contrast[0] == 0``).
        offsets: ``(65536, 2) int64`` texture-tile offset per label id.
        tile: ``(_TILE, _TILE) float32`` periodic unit-variance texture.
    """

    seed: int
    background: np.ndarray
    contrast: np.ndarray
    offsets: np.ndarray
    tile: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.background.shape  # type: ignore[return-value]


def _rng(seed: int, purpose: int, t: int = 0) -> np.random.Generator:
    return np.random.default_rng([int(seed), purpose, int(t)])


def unit_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float, mode: str) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation, float32."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode=mode)
    sd = float(field.std())
    return ((field - field.mean()) / sd if sd > 0 else field * 0).astype(np.float32)


def _check_frame(labels_t: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    labels_t = np.asarray(labels_t)
    if labels_t.ndim != 2:
        raise ValueError(f"a label frame must be (H, W), got shape {labels_t.shape}")
    if labels_t.shape != tuple(shape):
        raise ValueError(f"label frame {labels_t.shape} does not match the video size {tuple(shape)}")
    if not (np.issubdtype(labels_t.dtype, np.integer) or labels_t.dtype == bool):
        raise TypeError(f"labels must have an integer dtype (instance ids), got {labels_t.dtype}")
    if labels_t.size and (labels_t.min() < 0 or labels_t.max() > _MAX_ID):
        raise ValueError(f"label ids must lie in 0..{_MAX_ID} (CTC uint16), got {labels_t.min()}..{labels_t.max()}")
    return labels_t.astype(np.intp, copy=False)


class ProceduralRenderer:
    """The ``procedural`` generator (see :mod:`tganaug.procedural` for the image model).

    Construct with a :class:`ProceduralConfig` and/or keyword overrides::

        renderer = ProceduralRenderer(rim=True, noise_sd=0.03)
        video = renderer.generate(labels, seed=1)            # (T, H, W) float32 in [0, 1]
        for frame in renderer.iter_frames(label_frames, seed=1): ...   # streaming
    """

    name = "procedural"

    def __init__(self, config: ProceduralConfig | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, ProceduralConfig):
            raise TypeError(f"procedural needs a ProceduralConfig, got {type(config).__name__}")
        values = config.to_dict() if config is not None else {}
        values.update(overrides)
        self.config = ProceduralConfig.from_dict(values)

    def __repr__(self) -> str:
        return f"ProceduralRenderer({self.config})"

    # ------------------------------------------------------------------ per-video state
    def start(self, height: int, width: int, background: np.ndarray | None = None, seed: int | None = None) -> ProceduralState:
        """Draw the per-video state: background, per-track contrast and texture offsets.

        Args:
            height, width: frame size (positive).
            background: optional ``(H, W)`` float background in ``[0, 1]``; None draws a smooth
                random field ``background_level + background_sd * field``.
            seed: non-negative int; None means 0 (renders are deterministic by default).
        """
        seed = generator_seed(seed)
        for what, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{what} must be a positive integer, got {value!r}")
        cfg = self.config
        shape = (int(height), int(width))
        if background is None:
            field = unit_field(_rng(seed, _BACKGROUND), shape, cfg.background_scale, mode="reflect")
            bg = np.clip(cfg.background_level + cfg.background_sd * field, 0.0, 1.0).astype(np.float32)
        else:
            bg = np.asarray(background)
            if bg.shape != shape:
                raise ValueError(f"background has shape {bg.shape}, expected (H, W) = {shape}")
            if not np.issubdtype(bg.dtype, np.number) or not np.all(np.isfinite(bg)):
                raise ValueError("background must be a finite numeric (H, W) array")
            if bg.min() < 0 or bg.max() > 1:
                raise ValueError(f"background must be in [0, 1] (output units), got {float(bg.min()):g}..{float(bg.max()):g}")
            bg = bg.astype(np.float32)
        rng = _rng(seed, _CELLS)
        intensity = np.clip(rng.normal(cfg.cell_mean, cfg.cell_sd, size=_MAX_ID + 1), 0.0, 1.0)
        contrast = (intensity - cfg.background_level).astype(np.float32)
        contrast[0] = 0.0
        offsets = rng.integers(0, _TILE, size=(_MAX_ID + 1, 2))
        tile = unit_field(_rng(seed, _TEXTURE), (_TILE, _TILE), cfg.texture_scale, mode="wrap")
        return ProceduralState(seed, bg, contrast, offsets, tile)

    # ------------------------------------------------------------------ one frame
    def render_frame(self, state: ProceduralState, labels_t: np.ndarray, t: int) -> np.ndarray:
        """Render frame ``t`` of a video: ``labels_t`` ``(H, W)`` integer ids -> ``(H, W) float32`` in [0, 1].

        Depends only on ``(state, labels_t, t)``: frames can be rendered in any order.
        """
        cfg = self.config
        lab = _check_frame(labels_t, state.shape)
        clean = state.background.copy()
        ys, xs = np.nonzero(lab)
        if ys.size:
            ids = lab[ys, xs]
            clean[ys, xs] += state.contrast[ids]
            if cfg.texture_sd > 0:
                # Texture is indexed in each cell's own frame (relative to its centroid): it moves with the cell.
                counts = np.bincount(ids, minlength=1).astype(np.float64)
                safe = np.maximum(counts, 1)
                cy = np.rint(np.bincount(ids, weights=ys) / safe).astype(np.intp)
                cx = np.rint(np.bincount(ids, weights=xs) / safe).astype(np.intp)
                ty = (ys - cy[ids] + state.offsets[ids, 0]) % _TILE
                tx = (xs - cx[ids] + state.offsets[ids, 1]) % _TILE
                clean[ys, xs] += np.float32(cfg.texture_sd) * state.tile[ty, tx]
        if cfg.rim and cfg.rim_intensity > 0:
            clean += np.float32(cfg.rim_intensity) * halo_map(lab, cfg.rim_width)
        if cfg.blur_sigma > 0:
            clean = ndimage.gaussian_filter(clean, cfg.blur_sigma, mode="reflect")
        rng = _rng(state.seed, _NOISE, t)
        if cfg.photons is not None:
            clean = (rng.poisson(np.clip(clean, 0.0, 1.0) * cfg.photons) / cfg.photons).astype(np.float32)
        if cfg.noise_sd > 0:
            clean += np.float32(cfg.noise_sd) * rng.standard_normal(clean.shape, dtype=np.float32)
        return np.clip(clean, 0.0, 1.0, out=clean)

    # ------------------------------------------------------------------ whole videos
    def iter_frames(
        self, labels: Iterable[np.ndarray], background: np.ndarray | None = None, seed: int | None = None
    ) -> Iterator[np.ndarray]:
        """Render frame by frame from any iterable of ``(H, W)`` label frames (memory independent of T)."""
        state: ProceduralState | None = None
        for t, frame in enumerate(labels):
            frame = np.asarray(frame)
            if state is None:
                if frame.ndim != 2:
                    raise ValueError(f"a label frame must be (H, W), got shape {frame.shape}")
                state = self.start(frame.shape[0], frame.shape[1], background, seed)
            yield self.render_frame(state, frame, t)

    def generate(self, labels: np.ndarray, background: np.ndarray | None = None, seed: int | None = None) -> np.ndarray:
        """The generator contract: ``(T, H, W)`` integer labels -> ``(T, H, W) float32`` video in [0, 1]."""
        labels = np.asarray(labels)
        if labels.ndim != 3:
            raise ValueError(f"labels must be a (T, H, W) video, got shape {labels.shape}")
        if labels.shape[0] == 0:
            raise ValueError("labels is an empty video (T = 0)")
        if min(labels.shape[1:]) < 1:
            raise ValueError(f"labels must have positive height and width, got {labels.shape}")
        out = np.empty(labels.shape, dtype=np.float32)
        for t, frame in enumerate(self.iter_frames(labels, background, seed)):
            out[t] = frame
        return out

    # ------------------------------------------------------------------ fitting to real data
    @classmethod
    def from_ctc(
        cls,
        path: str | Path,
        frames: Any = "train",
        sequence: str = "01",
        max_frames: int = 6,
        **overrides: Any,
    ) -> ProceduralRenderer:
        """A renderer whose parameters are estimated from a real CTC sequence.

        Frames of ``sequence`` are read (``frames``: a split name, that split of the sequence, refused as
        train frames of an evaluation-only sequence; a range; or None) and normalised exactly like
        :class:`tganaug.data.CTCVideoDataset` (per-sequence ``(0.1, 99.9)`` percentiles). Up to
        ``max_frames`` evenly spaced frames are used for the fits; see :func:`estimate_config`.
        ``overrides`` set fields afterwards (e.g. ``rim=False``). Cells are measured on full outlines: marker TRA
        masks are joined to the sequence's SEG outlines (:func:`tganaug.outlines.read_outlined_ctc`).
        """
        from tganaug.outlines import read_outlined_ctc  # noqa: PLC0415

        data, _ = read_outlined_ctc(path, sequence, frames)
        normalise = fit_normalization(data.images)
        pick = np.unique(np.linspace(0, len(data.images) - 1, min(max_frames, len(data.images))).round().astype(int))
        values = estimate_config(normalise(data.images[pick]), data.labels[pick])
        values.update(overrides)
        return cls(ProceduralConfig.from_dict(values))
