"""``procedural``: a transparent, parameter-driven renderer of instance-label videos.

The baseline every learned generator must beat (issue 8, baseline (a)) and the fast default for
tests. Each frame is, in this order (all intensities in the ``[0, 1]`` output scale)::

    clean  = background                                   # given (H, W), or a smooth random field
           + [cell] (cell_intensity[id] - background_level) # per-track contrast, constant over its life
           + [cell] texture_sd * texture(id, y - cy, x - cx) # smooth noise that moves with the cell
           + [outside / between cells] halo                 # optional bright rim (phase contrast)
    frame  = clip(Poisson?(G_blur * clean) + N(0, noise_sd^2), 0, 1)

Everything random is drawn from ``numpy.random.default_rng`` seeded by ``(seed, purpose, t)``, so
a video is a pure function of ``(labels, background, seed, config)``, and any frame can be
rendered alone (:meth:`ProceduralRenderer.render_frame`): memory does not grow with ``T``.
:meth:`ProceduralRenderer.from_ctc` estimates every parameter from real CTC frames (normalised
exactly as :class:`tganaug.data.CTCVideoDataset` normalises them), so it is a fair baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.hookspecs import hookimpl
from tganaug.utils.config import ConfigMixin
from tganaug.io import read_ctc
from tganaug.data.normalize import fit_normalization

__all__ = ["ProceduralConfig", "ProceduralRenderer", "ProceduralState", "estimate_background", "estimate_config", "halo_map"]

_MAX_ID = int(np.iinfo(np.uint16).max)
_TILE = 64  # side of the periodic texture tile, pixels (>> texture_scale, so no visible period)
# Random-stream purposes: one independent stream per use, so changing one part leaves the rest.
_BACKGROUND, _CELLS, _TEXTURE, _NOISE = 0, 1, 2, 3


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


def _unit_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float, mode: str) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation, float32."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, mode=mode)
    sd = float(field.std())
    return ((field - field.mean()) / sd if sd > 0 else field * 0).astype(np.float32)


def _check_seed(seed: int | None) -> int:
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


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


def _halo_source(labels_t: np.ndarray) -> np.ndarray:
    """``(H, W) float32``: 1 on cell pixels that touch another label (background or a neighbour)."""
    edge = np.zeros(labels_t.shape, dtype=bool)
    edge[1:] |= labels_t[1:] != labels_t[:-1]
    edge[:-1] |= labels_t[:-1] != labels_t[1:]
    edge[:, 1:] |= labels_t[:, 1:] != labels_t[:, :-1]
    edge[:, :-1] |= labels_t[:, :-1] != labels_t[:, 1:]
    return (edge & (labels_t > 0)).astype(np.float32)


def halo_map(labels_t: np.ndarray, width: float) -> np.ndarray:
    """``(H, W) float32`` unit-amplitude halo of one label frame: a blurred cell outline that is
    1 at a straight edge, kept outside cells and on cell-cell contacts (0 inside cells otherwise)."""
    line = _halo_source(labels_t)
    # A 1-px line blurred by sigma has peak 1 / (sqrt(2 pi) sigma) (for sigma >~ 1): scale it to 1.
    halo = ndimage.gaussian_filter(line, width) * np.float32(math.sqrt(2 * math.pi) * max(width, 1.0))
    np.minimum(halo, 1.0, out=halo)
    keep = (labels_t == 0) | (line > 0)
    return np.where(keep, halo, np.float32(0)).astype(np.float32)


class ProceduralRenderer:
    """The ``procedural`` generator (see the module docstring for the image model).

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
        seed = _check_seed(seed)
        for what, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{what} must be a positive integer, got {value!r}")
        cfg = self.config
        shape = (int(height), int(width))
        if background is None:
            field = _unit_field(_rng(seed, _BACKGROUND), shape, cfg.background_scale, mode="reflect")
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
        tile = _unit_field(_rng(seed, _TEXTURE), (_TILE, _TILE), cfg.texture_scale, mode="wrap")
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
        ``overrides`` set fields afterwards (e.g. ``rim=False``).
        """
        data = read_ctc(path, sequence, frames=frames)
        normalise = fit_normalization(data.images)
        pick = np.unique(np.linspace(0, len(data.images) - 1, min(max_frames, len(data.images))).round().astype(int))
        values = estimate_config(normalise(data.images[pick]), data.labels[pick])
        values.update(overrides)
        return cls(ProceduralConfig.from_dict(values))


# ---------------------------------------------------------------------- estimation
def _smooth_background(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the local mean of ``image`` over ``mask`` pixels, filled everywhere."""
    weight = ndimage.gaussian_filter(mask.astype(np.float32), sigma)
    value = ndimage.gaussian_filter(np.where(mask, image, 0).astype(np.float32), sigma)
    fallback = float(image[mask].mean()) if mask.any() else float(image.mean())
    return np.where(weight > 1e-3, value / np.maximum(weight, 1e-3), fallback).astype(np.float32)


def estimate_background(images: np.ndarray, labels: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """A ``(H, W) float32`` background reference from normalised frames and their labels.

    Per frame, the smooth local mean of pixels at least 4 px away from any cell (normalised
    convolution, Gaussian ``sigma``), then the median over frames. Used as the shared background
    when a benchmark renders real masks ("same background" for every generator).
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.shape != labels.shape or images.ndim != 3:
        raise ValueError(f"images {images.shape} and labels {labels.shape} must both be (T, H, W)")
    per_frame = [
        _smooth_background(image, ~ndimage.binary_dilation(lab > 0, iterations=4), sigma) for image, lab in zip(images, labels)
    ]
    return np.median(np.stack(per_frame), axis=0).astype(np.float32)


def estimate_config(images: np.ndarray, labels: np.ndarray, blur_grid: Iterable[float] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)) -> dict[str, Any]:
    """Estimate :class:`ProceduralConfig` fields from normalised ``(T, H, W)`` frames in [0, 1] and labels.

    - background level: median of pixels >= 4 px from any cell; background sd: spatial sd of
      their smooth local mean (normalised convolution, sigma 8 px).
    - cell mean / sd: mean and sd over tracks of each track's mean intensity.
    - noise sd: robust (MAD) sd of ``(I_t - I_{t+1}) / sqrt(2)`` on background pixels of both frames
      (a static background cancels; one frame's high-pass residual when T = 1).
    - texture sd: within-cell sd (eroded interiors, minus each cell's mean) with the noise removed.
    - blur sigma and rim: least squares over ``blur_grid``: for each sigma, the residual of the
      blurred piecewise-constant image (smooth background + cell means) is fitted with the blurred
      halo; the sigma with the smallest error wins, and its halo amplitude is ``rim_intensity``
      (``rim`` is on when that amplitude exceeds 0.02, i.e. 2 % of the range).
    Returns a dict of :class:`ProceduralConfig` fields.
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels).astype(np.intp)
    if images.shape != labels.shape or images.ndim != 3:
        raise ValueError(f"images {images.shape} and labels {labels.shape} must both be (T, H, W)")
    if not (labels > 0).any():
        raise ValueError("no labelled cells in the frames: cannot estimate cell intensities")
    far_bg = np.stack([~ndimage.binary_dilation(lab > 0, iterations=4) for lab in labels])
    if not far_bg.any():
        raise ValueError("no background pixels (>= 4 px from any cell) in the frames")
    smooth = np.stack([_smooth_background(im, m, 8.0) for im, m in zip(images, far_bg)])
    background_level = float(np.median(images[far_bg]))
    background_sd = float(smooth[far_bg].std())

    # noise from temporal differences of background pixels (static background cancels)
    if len(images) > 1:
        both = far_bg[1:] & far_bg[:-1]
        diff = (images[1:] - images[:-1])[both] / math.sqrt(2)
    else:
        diff = (images[0] - ndimage.gaussian_filter(images[0], 2.0))[far_bg[0]]
    noise_sd = float(1.4826 * np.median(np.abs(diff - np.median(diff)))) if diff.size else 0.0

    # per-track intensity (mean over its frames of per-frame means)
    n_ids = int(labels.max()) + 1
    sums = np.zeros(n_ids)
    counts = np.zeros(n_ids)
    ideal = np.empty_like(images)
    within: list[np.ndarray] = []
    for t, (image, lab) in enumerate(zip(images, labels)):
        # Cell means from interiors >= 2 px from any edge (blur pulls edge pixels to the neighbours),
        # from the whole cell when it has no interior.
        interior = ndimage.binary_erosion(_halo_source(lab) == 0, iterations=2, border_value=1) & (lab > 0)
        c = np.bincount(lab.ravel(), minlength=n_ids).astype(float)
        s = np.bincount(lab.ravel(), weights=image.ravel(), minlength=n_ids)
        ci = np.bincount(lab[interior], minlength=n_ids).astype(float)
        si = np.bincount(lab[interior], weights=image[interior], minlength=n_ids)
        frame_mean = np.where(ci > 0, si / np.maximum(ci, 1), s / np.maximum(c, 1))
        present = c > 0
        present[0] = False
        sums[present] += frame_mean[present]
        counts[present] += 1
        ideal[t] = np.where(lab > 0, frame_mean[lab], smooth[t])
        within.append((image - frame_mean[lab])[interior])
    track_means = sums[counts > 0] / counts[counts > 0]
    cell_mean = float(np.clip(track_means.mean(), 0.0, 1.0))
    cell_sd = float(track_means.std()) if track_means.size > 1 else 0.0
    within_all = np.concatenate(within) if within else np.zeros(0)
    texture_sd = float(math.sqrt(max(float(within_all.var()) - noise_sd**2, 0.0))) if within_all.size else 0.0

    # blur and halo: least squares around cell edges
    rim_width = 2.0
    band = np.stack([ndimage.binary_dilation(_halo_source(lab) > 0, iterations=4) for lab in labels])
    halos = np.stack([halo_map(lab, rim_width) for lab in labels])
    best: tuple[float, float, float] | None = None  # (error, sigma, rim)
    for sigma in blur_grid:
        if sigma > 0:
            pred = np.stack([ndimage.gaussian_filter(f, sigma) for f in ideal])
            halo = np.stack([ndimage.gaussian_filter(h, sigma) for h in halos])
        else:
            pred, halo = ideal, halos
        r = (images - pred)[band]
        h = halo[band]
        amp = float(max((r * h).sum() / max(float((h * h).sum()), 1e-12), 0.0))
        err = float(((r - amp * h) ** 2).mean())
        if best is None or err < best[0]:
            best = (err, float(sigma), amp)
    assert best is not None
    _, blur_sigma, rim_amp = best
    return {
        "background_level": float(np.clip(background_level, 0.0, 1.0)),
        "background_sd": background_sd,
        "cell_mean": cell_mean,
        "cell_sd": cell_sd,
        "texture_sd": texture_sd,
        "rim": bool(rim_amp > 0.02),
        "rim_intensity": float(rim_amp),
        "rim_width": rim_width,
        "blur_sigma": blur_sigma,
        "noise_sd": noise_sd,
    }


@hookimpl
def tganaug_generators() -> dict[str, Callable[..., Any]]:
    return {ProceduralRenderer.name: ProceduralRenderer}
