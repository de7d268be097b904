"""Appearance coverage of synthetic videos: seeded appearance randomisation and a reference look.

Any generator's ``(T, H, W) float32`` video in ``[0, 1]`` is re-rendered, with the labels it was
made from, by :class:`AppearanceGenerator` (``with_appearance(generator, appearance=..., reference=...)``).
The labels are never changed. Per video, a :class:`Look` is fixed once (drawn from the video's seed,
or estimated from reference frames) and used for every frame; only the noise differs between frames.

Image model, per frame (``x``: the generator's frame, ``lab``: its labels; ``b0`` / ``c0``: the
generator's own background and cell-interior medians, measured with the labels on the first frame
that has both)::

    r      = (x - b0) / (c0 - b0)                        # cell signal relative to the generator's contrast
    cell   = (cell_level - background_level) * sign(r) |r|^gamma * gain[id] * speckle(id, y - cy, x - cx)
    clean  = background_level + background_field + w * cell + (1 - w) * (x - b0)   # w: the mask blurred by 1 px
    clean *= illumination                                 # 1 + gradient * (distance along a direction) / 256 px
    frame  = clip(c + N(0, c / photons + read_noise^2), 0, 1),  c = clip(G_blur * clean, 0, 1)   # Poisson-Gaussian

``gain[id] = exp(N(0, cell_gain_sd^2))`` per track (some nuclei dim, some bright, constant over the
track's life), ``speckle = exp(speckle_sd * field)`` a log-normal, spatially correlated field (Gaussian
scale ``speckle_scale`` px) that moves with its cell (indexed relative to the cell's centroid): large
``speckle_sd`` leaves parts of nuclei invisible. Both have median 1, so ``cell_level`` is the median
cell-interior intensity. The background keeps the generator's own structure (gain 1) on top of the
new level, smooth field and illumination gradient.

Units: the output stays in the generator's ``[0, 1]`` float space. With ``reference=frames`` that
space is the reference recording's own normalisation: the reference frames mapped by
:func:`tganaug.data.normalize.fit_normalization` (their ``(0.1, 99.9)`` percentiles to 0 / 1), i.e.
exactly how :class:`tganaug.data.CTCVideoDataset` reads that recording. So a video rendered with a
reference looks like the new recording as a segmenter trained on it would see it.

Reference look (:func:`estimate_look`, no masks): the normalised frames, smoothed by 1.5 px, are split into
objects and background at the background mode (the histogram's peak) plus 5 robust sd of the pixels below
it (at least 0.05; an Otsu split would lose dim nuclei to bright ones); small objects are removed; background level = median of
background pixels >= 3 px from objects; cell level = median of object interiors (above half the objects'
median contrast, holes filled, eroded by 1.5 blur sigmas, 2-4 px); per-object
brightness spread = sd of the log object medians; speckle = relative within-object sd with the noise
variance removed; noise = Immerkaer's Laplacian estimator on background and on object interiors, fitted
as Poisson-Gaussian ``var = I / photons + read_noise^2``; blur = the re-blur edge estimator (ratio of
gradient magnitudes at two scales on the strongest edges); illumination gradient = a plane fitted to the
background. The wrapper measures the same things on the generator's own (mapped) first frame and adds only
what is missing (blur and noise add in quadrature).

Random ranges (:class:`AppearanceConfig`, each ``[low, high]``) were set from first principles and from
what :func:`estimate_look` measures on training data only: Fluo-N2DH-SIM+ 01 train frames, Fluo-N2DH-GOWT1 01
and Fluo-N2DL-HeLa 01 train frames (see the field docs). Sequence 02 of SIM+ and GOWT1 was never looked at.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.contracts import missing_members, supports_batch_generation, supports_frame_stream
from tganaug.data.seeding import generator_seed
from tganaug.plugin_objects import describe, resolve
from tganaug.procedural.renderer import unit_field
from tganaug.utils.config import ConfigMixin, read_json_object

__all__ = [
    "AppearanceConfig",
    "AppearanceGenerator",
    "Look",
    "appearance_stats",
    "configured",
    "estimate_look",
    "generate",
    "load_appearance",
    "load_reference",
    "with_appearance",
]

_MAX_ID = int(np.iinfo(np.uint16).max)
_TILE = 64  # side of the periodic speckle tile, px (>> speckle_scale)
_GRADIENT_SPAN = 256.0  # the illumination gradient is the relative change over this many px
_MIN_REFERENCE_SIDE = 32
_MIN_CONTRAST = 0.02  # below this the generator's own cell contrast is not used as the cell shape
# independent random streams of one video (the generator's own streams use the seed in other ways)
_LOOK, _GAINS, _SPECKLE, _BACKGROUND, _NOISE = (0x61700000 + k for k in range(5))
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


# ---------------------------------------------------------------------------------------------- configs
@dataclass
class Look:
    """The appearance of one video (output ``[0, 1]`` units; lengths in px). See the module docstring.

    Attributes:
        background_level / cell_level: median background and cell-interior intensity.
        gamma: exponent on the relative cell signal (> 1: dim parts dimmer, more contrasted texture).
        cell_gain_sd: sd of the per-track log brightness.
        speckle_sd / speckle_scale: sd (log units) and correlation length of the multiplicative interior texture.
        background_sd: sd of a smooth (scale 16 px) additive background field.
        gradient / gradient_angle: relative illumination change over 256 px, and its direction (radians).
        blur_sigma: Gaussian PSF sigma added to the generator's own blur.
        photons: expected photons at intensity 1 (Poisson noise); None: no Poisson noise.
        read_noise: sd of additive Gaussian noise.
    """

    background_level: float = 0.1
    cell_level: float = 0.6
    gamma: float = 1.0
    cell_gain_sd: float = 0.0
    speckle_sd: float = 0.0
    speckle_scale: float = 2.0
    background_sd: float = 0.0
    gradient: float = 0.0
    gradient_angle: float = 0.0
    blur_sigma: float = 0.0
    photons: float | None = None
    read_noise: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if v is None else round(float(v), 6)) for k, v in asdict(self).items()}


def _range_field(low: float, high: float, doc: str) -> Any:
    return field(default_factory=lambda: [low, high], metadata={"doc": doc})


#: hard bounds of each range's values: (minimum, maximum, minimum is exclusive)
_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "background_level": (0.0, 1.0, False),
    "cell_level": (0.0, 1.0, False),
    "gamma": (0.0, 5.0, True),
    "cell_gain_sd": (0.0, 2.0, False),
    "speckle_sd": (0.0, 2.0, False),
    "speckle_scale": (0.0, 32.0, True),
    "background_sd": (0.0, 0.5, False),
    "gradient": (0.0, 2.0, False),
    "blur_sigma": (0.0, 16.0, False),
    "photons": (0.0, 1e7, True),
    "read_noise": (0.0, 0.5, False),
}


@dataclass
class AppearanceConfig(ConfigMixin):
    """Seeded ranges of the per-video :class:`Look` (JSON: ``{"noise_read": [0, 0.05], ...}``; a single number fixes a value).

    Each field is ``[low, high]``; one value per video is drawn uniformly (``photons`` and
    ``speckle_scale`` log-uniformly) from ``numpy.random.default_rng`` seeded by the video's seed.
    Defaults (intensities in output units, i.e. percentile-normalised frames):

    Measured by :func:`estimate_look` on 5 frames each of SIM+ 01 train / GOWT1 01 / HeLa 01 train:
    background 0.078 / 0.0 / 0.033, cells 0.34 / 0.46 / 0.56, cell_gain_sd 0.31 / 0.35 / 0.30, speckle_sd
    0.28 / 0.22 / 0.13, background_sd 0.011 / 0.018 / 0.009, gradient 0.02 / 0.07 / 0.16, blur 2.8 / 2.1 / 2.6 px,
    photons 900 / 40 / 11000, read noise 0.023 / 0.018 / 0.002. The ranges cover these with a margin:

    - ``background_level`` [0.0, 0.2]: 0.0-0.08 measured; higher for stray light or autofluorescence.
    - ``cell_level`` [0.2, 0.8]: median nucleus interior (0.34-0.56 measured); low when a few bright
      (mitotic) cells set the 99.9th percentile, high for evenly bright nuclei.
    - ``gamma`` [0.8, 1.25]: mild non-linearity of the intensity response (first principles: none measured).
    - ``cell_gain_sd`` [0.1, 0.5]: spread of per-nucleus brightness, log units (0.30-0.35 measured).
    - ``speckle_sd`` [0.0, 0.6] / ``speckle_scale`` [1, 4] px: chromatin texture (0.13-0.28 measured); the top
      of the range makes parts of nuclei vanish into the background.
    - ``background_sd`` [0.0, 0.03]; ``gradient`` [0.0, 0.3]: uneven illumination (relative change over 256 px).
    - ``blur_sigma`` [0.0, 1.5] px: extra defocus on top of the generator's own PSF.
    - ``photons`` [30, 10000]: Poisson level at intensity 1 (shot-noise sd at intensity I is sqrt(I / photons):
      0.14-0.008 at I = 0.6); ``read_noise`` [0.0, 0.04]: camera read noise.
    """

    background_level: list[float] = _range_field(0.0, 0.2, "median background")
    cell_level: list[float] = _range_field(0.2, 0.8, "median cell interior")
    gamma: list[float] = _range_field(0.8, 1.25, "exponent of the relative cell signal")
    cell_gain_sd: list[float] = _range_field(0.1, 0.5, "per-track log brightness sd")
    speckle_sd: list[float] = _range_field(0.0, 0.6, "interior texture, log sd")
    speckle_scale: list[float] = _range_field(1.0, 4.0, "interior texture correlation length, px")
    background_sd: list[float] = _range_field(0.0, 0.03, "smooth background field sd")
    gradient: list[float] = _range_field(0.0, 0.3, "illumination change over 256 px")
    blur_sigma: list[float] = _range_field(0.0, 1.5, "extra PSF sigma, px")
    photons: list[float] = _range_field(30.0, 10000.0, "photons at intensity 1")
    read_noise: list[float] = _range_field(0.0, 0.04, "Gaussian read noise sd")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = [value, value]
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"appearance {f.name} must be a range [low, high] or one number, got {value!r}")
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in value):
                raise ValueError(f"appearance {f.name} must hold finite numbers, got {value!r}")
            low, high = float(value[0]), float(value[1])
            if low > high:
                raise ValueError(f"appearance {f.name} range is reversed: [{low:g}, {high:g}] (low must be <= high)")
            minimum, maximum, exclusive = _BOUNDS[f.name]
            if low < minimum or (exclusive and low <= minimum) or high > maximum:
                sign = ">" if exclusive else ">="
                what = "negative" if low < 0 else "out of bounds"
                raise ValueError(f"appearance {f.name} range [{low:g}, {high:g}] is {what}: values must be {sign} {minimum:g} "
                                 f"and <= {maximum:g}")
            setattr(self, f.name, [low, high])

    def draw(self, seed: int) -> Look:
        """The :class:`Look` of the video with ``seed`` (a pure function of ``(config, seed)``)."""
        rng = np.random.default_rng([generator_seed(seed), _LOOK])
        values: dict[str, Any] = {}
        for f in fields(self):
            low, high = getattr(self, f.name)
            if f.name in ("photons", "speckle_scale"):
                values[f.name] = float(math.exp(rng.uniform(math.log(low), math.log(high))))
            else:
                values[f.name] = float(rng.uniform(low, high))
        values["gradient_angle"] = float(rng.uniform(0.0, 2 * math.pi))
        return Look(**values)


def load_appearance(spec: Any) -> AppearanceConfig | None:
    """``None``, ``"random"`` (the default ranges), a path to a JSON file, a dict, or an :class:`AppearanceConfig`.

    Raises ``ValueError`` naming the file for bad JSON, unknown keys or bad ranges.
    """
    if spec is None or isinstance(spec, AppearanceConfig):
        return spec
    if isinstance(spec, dict):
        return AppearanceConfig.from_dict(spec)
    if isinstance(spec, (str, Path)):
        if str(spec) == "random":
            return AppearanceConfig()
        path = Path(spec)
        values = read_json_object(path, "appearance", "ranges", missing="appearance must be 'random' or a JSON file; file not found")
        try:
            return AppearanceConfig.from_dict(values)
        except ValueError as error:
            raise ValueError(f"appearance file {path}: {error}") from None
    raise TypeError(f"appearance must be None, 'random', a JSON path, a dict or an AppearanceConfig, got {type(spec).__name__}")


# ---------------------------------------------------------------------------------------------- helpers
def _noise_sds(image: np.ndarray, *regions: np.ndarray) -> list[float]:
    """Immerkaer's noise sd of ``image`` over the pixels of each of ``regions`` (NaN for one with fewer than 50);
    the Laplacian response is computed once for all regions."""
    response = np.abs(ndimage.convolve(image.astype(np.float32), _IMMERKAER, mode="nearest"))
    sds = []
    for region in regions:
        values = response[region]
        sds.append(float("nan") if values.size < 50 else float(math.sqrt(math.pi / 2) * values.mean() / 6))
    return sds


@functools.lru_cache(maxsize=32)
def _gaussian_taps(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """scipy.ndimage's Gaussian kernel of ``sigma`` (truncated at 4 sigma): (float64 taps, float32 taps)."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 / (sigma * sigma) * x.astype(np.float64) ** 2)
    taps /= taps.sum()
    return taps, taps.astype(np.float32)


class _Buffers(dict):
    """Work arrays of one video, reused from frame to frame (by name and shape): allocated afresh every frame, they
    can cost as much in page faults (glibc hands large freed blocks back to the OS) as the arithmetic on them."""

    def get_array(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        key = (name, tuple(shape), np.dtype(dtype).str)
        array = self.get(key)
        if array is None:
            array = self[key] = np.empty(shape, dtype)
        return array


def _gaussian(image: np.ndarray, sigma: float, out: np.ndarray | None = None, work: _Buffers | None = None) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(image, sigma)`` (mode ``reflect``) of a 2D float32 image, equal up to float32
    rounding and faster: the pass along the first axis sums whole shifted rows in float32 (scipy's pass along
    that axis gathers strided columns), the pass along the second axis is scipy's. ``out``: where to write the
    result (default: a new array); ``work``: buffers to reuse for the intermediate arrays."""
    taps64, taps = _gaussian_taps(float(sigma))
    radius = taps.size // 2
    height, width = image.shape
    work = work if work is not None else _Buffers()
    if radius > height:  # several reflections: numpy's "symmetric" padding is scipy's "reflect"
        padded = np.pad(image.astype(np.float32, copy=False), ((radius, radius), (0, 0)), mode="symmetric")
    else:
        padded = work.get_array("padded", (height + 2 * radius, width))
        padded[radius:radius + height] = image
        if radius:
            padded[:radius] = image[radius - 1::-1]
            padded[radius + height:] = image[height - radius:][::-1]
    rows = np.multiply(padded[radius:radius + height], taps[radius], out=work.get_array("rows", (height, width)))
    pair = work.get_array("pair", (height, width))
    for j in range(1, radius + 1):  # symmetric kernel: one multiply per pair of rows
        np.add(padded[radius - j:radius - j + height], padded[radius + j:radius + j + height], out=pair)
        pair *= taps[radius + j]
        rows += pair
    out = out if out is not None else np.empty((height, width), np.float32)
    return ndimage.correlate1d(rows, taps64, axis=1, mode="reflect", output=out)


# _erode / _dilate / _label_medians replace scipy.ndimage on purpose: they run on every generated frame, where array
# shifts beat scipy's generic structuring-element loop and sorting the cell pixels beats sorting the whole frame
# (benchmarks/results/throughput_appearance.md); tests/test_appearance.py checks that they equal scipy's results.
def _erode(mask: np.ndarray, iterations: int) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask, iterations=...)`` of a 2D mask (4-connected cross, outside = False)."""
    for _ in range(iterations):
        eroded = np.zeros_like(mask)
        eroded[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
        mask = eroded
    return mask


def _dilate(mask: np.ndarray, iterations: int) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask, iterations=...)`` of a 2D mask (4-connected cross, outside = False)."""
    for _ in range(iterations):
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        mask = grown
    return mask


def _label_medians(values: np.ndarray, ids: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.median`` of ``values`` per id in ``present`` (the sorted ids of ``ids``), computed on these pixels
    alone: the same sort by (id, value) and the same mean of the two middle values, without sorting the whole frame."""
    order = np.lexsort((values, ids))
    values, ids = values[order], ids[order]
    lo = np.searchsorted(ids, present, side="left")
    hi = np.searchsorted(ids, present, side="right") - 1
    step = (hi - lo) // 2
    return (values[lo + step] + values[hi - step]) / 2.0


def _edge_blur(image: np.ndarray, scale: float = 2.0) -> float:
    """PSF sigma of ``image`` (px) by re-blurring: for an edge of blur ``s``, the gradient peak at Gaussian scale
    ``g`` is proportional to ``1 / sqrt(s^2 + g^2)``; the ratio at scales 1 and ``sqrt(1 + scale^2)`` on the
    strongest 2 % of edges gives ``s``. NaN when the image has no edges."""
    g0 = ndimage.gaussian_gradient_magnitude(image.astype(np.float32), 1.0)
    g1 = ndimage.gaussian_gradient_magnitude(image.astype(np.float32), math.sqrt(1 + scale**2))
    threshold = np.percentile(g1, 98)
    pick = g1 >= threshold
    if threshold <= 0 or pick.sum() < 10:
        return float("nan")
    ratio = float(np.median(g0[pick] / np.maximum(g1[pick], 1e-12)))
    if ratio <= 1.0 + 1e-6:
        return 8.0
    total = scale**2 / (ratio**2 - 1)  # s^2 + 1
    return float(math.sqrt(max(total - 1.0, 0.0)))


def _poisson_gaussian(levels: tuple[float, float], sds: tuple[float, float]) -> tuple[float | None, float]:
    """``(photons, read_noise)`` from the noise sd at two intensity levels, ``var = I / photons + read^2`` (clamped >= 0)."""
    (i_bg, i_fg), (s_bg, s_fg) = levels, sds
    v_bg, v_fg = (s_bg if math.isfinite(s_bg) else 0.0) ** 2, (s_fg if math.isfinite(s_fg) else 0.0) ** 2
    slope = (v_fg - v_bg) / (i_fg - i_bg) if i_fg - i_bg > 1e-6 else 0.0
    if slope <= 1e-8:
        return None, math.sqrt(max(v_bg, v_fg, 0.0))
    read_var = v_bg - slope * i_bg
    if read_var < 0:  # the background is all shot noise: Poisson through the background point
        slope, read_var = v_fg / max(i_fg, 1e-6), 0.0
    return 1.0 / slope, math.sqrt(read_var)


def _plane(values: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[float, float, float]:
    """Least-squares plane ``a + by * y + bx * x``."""
    design = np.stack([np.ones_like(ys, dtype=np.float64), ys, xs], axis=1)
    coef, *_ = np.linalg.lstsq(design, values.astype(np.float64), rcond=None)
    return float(coef[0]), float(coef[1]), float(coef[2])


# ---------------------------------------------------------------------------------------------- reference
def _check_reference(frames: Any) -> np.ndarray:
    """Reference frames as ``(N, H, W) float32`` (raw values); ``ValueError`` naming what is wrong."""
    if frames is None:
        raise ValueError("reference frames are None")
    if isinstance(frames, (list, tuple)):
        if not frames:
            raise ValueError("reference is an empty list of frames")
        shapes = {np.shape(f) for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"reference frames differ in size: {sorted(shapes)}; give frames of one recording and one size")
    array = np.asarray(frames)
    if array.size == 0:
        raise ValueError(f"reference is empty (shape {array.shape})")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"reference frames must be real-valued images, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError(f"reference must be one (H, W) frame or (N, H, W) frames, got shape {array.shape}")
    if min(array.shape[1:]) < _MIN_REFERENCE_SIDE:
        raise ValueError(f"reference frames are {array.shape[1]}x{array.shape[2]}: too small to estimate an appearance "
                         f"(at least {_MIN_REFERENCE_SIDE}x{_MIN_REFERENCE_SIDE} px)")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        where = sorted({int(i) for i in np.nonzero(bad)[0]})
        raise ValueError(f"reference frame(s) {where[:10]} contain NaN or Inf")
    for k, frame in enumerate(array):
        if float(frame.max()) == float(frame.min()):
            raise ValueError(f"reference frame {k} is constant ({float(frame.min()):g}): no objects to estimate a look from")
    return array


def _split(image: np.ndarray, blur: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask-free split of one normalised frame (PSF sigma ``blur`` px): (object interiors, far background, object ids)."""
    smooth = ndimage.gaussian_filter(image, 1.5)
    # background = the lower mode of the smoothed histogram; its spread from the pixels below the mode (which
    # are background whatever the cells do); objects = pixels clearly above it (5 sd and 5 % of the range): an
    # Otsu split would lose dim nuclei to the bright ones
    counts, edges = np.histogram(smooth, bins=256, range=(0.0, 1.0))
    mode = float(edges[int(np.argmax(ndimage.uniform_filter1d(counts.astype(float), 5)))] + 0.5 / 256)
    below = mode - smooth[smooth < mode]
    spread = 1.4826 * float(np.median(below)) if below.size >= 20 else 0.0
    fg = smooth > mode + max(5 * spread, 0.05)
    fg = ndimage.binary_opening(fg, iterations=1)
    objects, n = ndimage.label(fg)
    if n:
        sizes = np.bincount(objects.ravel())
        small = sizes < 20
        small[0] = False
        fg &= ~small[objects]
        objects[~fg] = 0
    # interiors: above half the objects' median contrast (inside the blurred edges, which a low threshold takes in),
    # holes filled (dim speckles inside a nucleus stay in), eroded by 1.5 blur sigmas (2..4 px): off the blurred edge
    if fg.any():
        core = fg & (smooth > mode + 0.5 * (float(np.median(smooth[fg])) - mode))
        depth = int(np.clip(round(1.5 * blur), 2, 4)) if math.isfinite(blur) else 2
        interior = _erode(ndimage.binary_fill_holes(core), depth) & fg
    else:
        interior = fg
    background = ~_dilate(fg, 3)
    return interior, background, objects


def estimate_look(frames: Any) -> Look:
    """Estimate the :class:`Look` of unannotated reference frames (``(H, W)`` or ``(N, H, W)``, any real dtype).

    The frames are first normalised together with :func:`tganaug.data.normalize.fit_normalization` (their
    ``(0.1, 99.9)`` percentiles to 0 / 1): every returned intensity is in those units. The estimators are listed
    in the module docstring. Raises ``ValueError`` for wrong dimensions, NaN/Inf, empty, constant or too small
    frames, or frames in which no bright objects and background can be told apart.
    """
    from tganaug.data.normalize import fit_normalization

    raw = _check_reference(frames)
    images = fit_normalization(raw)(raw)
    bg_values, fg_values, gains, within, noise_bg, noise_fg, blurs, slopes, bg_sds = [], [], [], [], [], [], [], [], []
    for k, image in enumerate(images):
        blurs.append(_edge_blur(image))
        interior, background, objects = _split(image, blurs[-1])
        if interior.sum() < 50 or background.sum() < 50:
            raise ValueError(f"reference frame {k}: cannot separate bright objects from background "
                             f"({int(interior.sum())} object and {int(background.sum())} background pixels); "
                             "give frames that show cells on a background")
        bg_values.append(image[background])
        fg_values.append(image[interior])
        ids = objects[interior]
        present = np.unique(ids)
        medians = np.maximum(np.asarray(_label_medians(image[interior], ids, present), dtype=np.float64), 1e-3)
        gains.extend(np.log(medians).tolist())
        lookup = np.ones(int(objects.max()) + 1)
        lookup[present] = medians
        within.append(np.log(np.maximum(image[interior], 1e-3) / lookup[ids]))
        sd_bg, sd_fg = _noise_sds(image, _erode(background, 1), _erode(interior, 1))
        noise_bg.append(sd_bg)
        noise_fg.append(sd_fg)
        ys, xs = np.nonzero(background)
        a, by, bx = _plane(image[background], ys, xs)
        slopes.append((by, bx))
        plane = a + by * ys + bx * xs
        smooth = ndimage.gaussian_filter(np.where(background, image, 0).astype(np.float32), 8.0)
        weight = ndimage.gaussian_filter(background.astype(np.float32), 8.0)
        local = (smooth / np.maximum(weight, 1e-3))[background]
        bg_sds.append(float(np.std(local - plane)))
    b = float(np.median(np.concatenate(bg_values)))
    c = float(np.median(np.concatenate(fg_values)))
    if c - b < _MIN_CONTRAST:
        raise ValueError(f"reference frames show no bright objects (object median {c:.3f} vs background {b:.3f})")
    s_bg, s_fg = float(np.nanmedian(noise_bg)), float(np.nanmedian(noise_fg))
    photons, read = _poisson_gaussian((b, c), (s_bg, s_fg))
    # texture: relative within-object sd, minus the noise's share (noise sd s_fg at level c is s_fg / c in log units)
    within_all = np.concatenate(within)
    speckle_var = float(within_all.var()) - (s_fg / max(c, 1e-3)) ** 2 if within_all.size else 0.0
    by, bx = np.median(np.array(slopes), axis=0)
    slope = math.hypot(by, bx)
    blur = float(np.nanmedian(blurs)) if np.isfinite(blurs).any() else 0.0
    return Look(
        background_level=float(np.clip(b, 0.0, 1.0)),
        cell_level=float(np.clip(c, 0.0, 1.0)),
        gamma=1.0,
        cell_gain_sd=float(np.std(gains)) if len(gains) > 1 else 0.0,
        speckle_sd=float(math.sqrt(max(speckle_var, 0.0))),
        speckle_scale=2.0,
        background_sd=float(np.median(bg_sds)),
        gradient=float(slope * _GRADIENT_SPAN / max(b, 0.02)),
        gradient_angle=float(math.atan2(by, bx)),
        blur_sigma=blur,
        photons=photons,
        read_noise=read,
    )


def load_reference(paths: Sequence[str | Path] | None) -> np.ndarray | None:
    """Read reference frames from image files (TIFF, PNG, ...): ``(N, H, W)`` in their own dtype, or None.

    Each file is one ``(H, W)`` frame or a ``(N, H, W)`` stack; all must have one size.
    """
    if not paths:
        return None
    from tganaug.io import read_tiff

    frames: list[np.ndarray] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"reference image not found: {path}")
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                image = read_tiff(path)
            except Exception:
                import tifffile

                image = np.squeeze(tifffile.imread(path))
        else:
            from PIL import Image

            with Image.open(path) as handle:
                image = np.asarray(handle if handle.mode.startswith(("I", "F")) else handle.convert("L"))
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"reference image {path} has shape {image.shape}: expected (H, W) or (N, H, W)")
        frames.extend(image[None] if image.ndim == 2 else list(image))
    sizes = {f.shape for f in frames}
    if len(sizes) != 1:
        raise ValueError(f"reference images differ in size: {sorted(sizes)}")
    return np.stack(frames)


# ---------------------------------------------------------------------------------------------- statistics
def appearance_stats(video: Any, labels: Any | None = None, normalise: bool = True) -> dict[str, float]:
    """Simple appearance statistics of a ``(T, H, W)`` (or ``(H, W)``) video, after percentile normalisation.

    With ``normalise`` the video is mapped with :func:`tganaug.data.normalize.fit_normalization` (0.1 / 99.9
    percentiles to 0 / 1), so statistics of a raw recording and of a rendered video are comparable; without,
    it is taken as it is (already in some common ``[0, 1]`` units). Cells are ``labels > 0`` (interiors
    eroded 2 px; background >= 3 px from cells) or, without labels, the mask-free split of :func:`estimate_look`.
    Returns ``background`` and ``cells`` (medians), ``noise`` (Immerkaer, background), ``noise_cells``,
    ``cnr`` ((cells - background) / noise), and the ``p1``, ``p50``, ``p99`` intensity percentiles.
    """
    from tganaug.data.normalize import fit_normalization

    video = np.asarray(video, dtype=np.float32)
    video = video[None] if video.ndim == 2 else video
    images = fit_normalization(video)(video) if normalise else video
    if labels is not None:
        labels = np.asarray(labels)
        labels = labels[None] if labels.ndim == 2 else labels
        if labels.shape != video.shape:
            raise ValueError(f"labels {labels.shape} must have the video's shape {video.shape}")
    bg, fg, n_bg, n_fg = [], [], [], []
    for t, image in enumerate(images):
        if labels is None:
            interior, background, _ = _split(image, _edge_blur(image))
        else:
            cells = labels[t] > 0
            interior = _erode(cells, 2)
            background = ~_dilate(cells, 3)
        bg.append(image[background])
        fg.append(image[interior])
        sd_bg, sd_fg = _noise_sds(image, _erode(background, 1), _erode(interior, 1))
        n_bg.append(sd_bg)
        n_fg.append(sd_fg)
    b = float(np.median(np.concatenate(bg)))
    c = float(np.median(np.concatenate(fg))) if sum(map(len, fg)) else float("nan")
    noise = float(np.nanmedian(n_bg))
    p1, p50, p99 = np.percentile(images, [1, 50, 99])
    return {"background": b, "cells": c, "noise": noise, "noise_cells": float(np.nanmedian(n_fg)),
            "cnr": (c - b) / noise if noise > 0 else float("inf"), "p1": float(p1), "p50": float(p50), "p99": float(p99)}


# ---------------------------------------------------------------------------------------------- rendering
@dataclass
class _VideoState:
    """Everything fixed for one video: its look, per-id gains, speckle tile, illumination, calibration, and what the
    frames share (the background level plus field, the speckle factor table)."""

    seed: int
    look: Look
    gains: np.ndarray  # (65536,) float32, gains[0] = 1
    offsets: np.ndarray  # (65536, 2) intp
    tile: np.ndarray  # (_TILE, _TILE) float32 unit field
    shape: tuple[int, int]
    illumination: np.ndarray  # (H, W) float32
    background_field: np.ndarray  # (H, W) float32
    b0: float | None = None
    c0: float | None = None
    extra_blur: float = 0.0
    photons: float | None = None
    read_noise: float = 0.0
    speckle_sd: float = 0.0
    calibrated: bool = False
    #: background_level + background_field, (H, W) float32 (the same sum every frame made)
    base: np.ndarray | None = None
    #: exp(speckle_sd * tile) per speckle_sd: the speckle factor of every tile position, computed once per video
    speckle_tables: dict[float, np.ndarray] = field(default_factory=dict)
    #: work arrays reused by every frame of the video
    buffers: _Buffers = field(default_factory=_Buffers)

    def speckle_table(self, speckle_sd: float) -> np.ndarray:
        table = self.speckle_tables.get(speckle_sd)
        if table is None:
            table = self.speckle_tables[speckle_sd] = np.exp(np.float32(speckle_sd) * self.tile).ravel()
        return table


class AppearanceGenerator:
    """Wrap a generator: its videos re-rendered in a random (:class:`AppearanceConfig`) or a reference look.

    Same contract as the wrapped generator: ``generate(labels (T, H, W) int, background=None, seed=None) ->
    (T, H, W) float32`` in [0, 1]; ``iter_frames`` streams the same bytes; ``generate_batch`` exists when the
    wrapped generator has one. The look is a pure function of ``(appearance, reference, seed)``; the labels are
    passed through unchanged. ``config`` holds the wrapped generator's config (its ``weights_sha256`` included)
    plus ``appearance`` (the ranges) or ``reference`` (the estimated look and a sha256 of the frames).
    """

    def __init__(self, generator: Any, appearance: Any = None, reference: Any = None) -> None:
        if missing_members("generator", generator):
            raise TypeError(f"with_appearance needs a generator with generate(), got {type(generator).__name__}")
        self.generator = generator
        self.appearance = load_appearance(appearance)
        self.reference_look: Look | None = None
        reference_sha = None
        if reference is not None:
            if self.appearance is not None:
                raise ValueError("give appearance (random ranges) or reference (frames to match), not both")
            frames = _check_reference(reference)
            self.reference_look = estimate_look(frames)
            reference_sha = "sha256:" + hashlib.sha256(np.ascontiguousarray(np.asarray(reference)).tobytes()).hexdigest()
        if self.appearance is None and self.reference_look is None:
            raise ValueError("with_appearance needs appearance ('random', a JSON file, a dict) or reference frames")
        inner = describe(generator)
        self.name = inner["name"]
        base = inner["config"]
        config: dict[str, Any] = dict(base) if isinstance(base, dict) else {"base": base}
        if self.appearance is not None:
            config["appearance"] = self.appearance.to_dict()
        else:
            assert self.reference_look is not None
            config["reference"] = {"look": self.reference_look.to_dict(), "frames": reference_sha}
        self.config = config

    def __repr__(self) -> str:
        what = "reference" if self.reference_look is not None else "random"
        return f"AppearanceGenerator({self.generator!r}, {what})"

    # ------------------------------------------------------------------ per-video state
    def start(self, shape: tuple[int, int], seed: int | None) -> _VideoState:
        """The fixed state of the video with ``seed`` and frame ``shape``."""
        seed = generator_seed(seed)
        look = self.reference_look if self.reference_look is not None else self.appearance.draw(seed)  # type: ignore[union-attr]
        rng = np.random.default_rng([seed, _GAINS])
        gains = np.exp(rng.normal(0.0, look.cell_gain_sd, size=_MAX_ID + 1)).astype(np.float32)
        gains[0] = 1.0
        offsets = rng.integers(0, _TILE, size=(_MAX_ID + 1, 2))
        tile = unit_field(np.random.default_rng([seed, _SPECKLE]), (_TILE, _TILE), look.speckle_scale, mode="wrap")
        h, w = shape
        ys, xs = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]  # broadcast to (H, W)
        along = (ys - (h - 1) / 2) * math.sin(look.gradient_angle) + (xs - (w - 1) / 2) * math.cos(look.gradient_angle)
        illumination = np.maximum(1.0 + look.gradient * along / _GRADIENT_SPAN, 0.05).astype(np.float32)
        if look.background_sd > 0:
            field_ = look.background_sd * unit_field(np.random.default_rng([seed, _BACKGROUND]), shape, 16.0, mode="reflect")
        else:
            field_ = np.zeros(shape, np.float32)
        field_ = field_.astype(np.float32)
        return _VideoState(seed, look, gains, offsets, tile, shape, illumination, field_,
                           extra_blur=look.blur_sigma, photons=look.photons, read_noise=look.read_noise, speckle_sd=look.speckle_sd,
                           base=np.float32(look.background_level) + field_)

    def _calibrate(self, state: _VideoState, x: np.ndarray, lab: np.ndarray) -> None:
        """Measure the generator's own background / cell medians (and, for a reference, its blur, noise and texture
        after the intensity map) on this frame; done once per video, on its first frame with cells and background."""
        cells = lab > 0
        interior = _erode(cells, 2)
        interior = interior if interior.sum() >= 20 else cells
        background = ~_dilate(cells, 3)
        if state.b0 is None and background.sum() >= 20:
            state.b0 = float(np.median(x[background]))
        if state.b0 is None or interior.sum() < 20:
            return  # wait for a frame that shows cells
        state.c0 = float(np.median(x[interior]))
        state.calibrated = True
        if self.reference_look is None:
            return
        look = self.reference_look
        mapped = self._map(state, x, lab, speckle_sd=0.0)
        ids = lab[interior].astype(np.intp)
        present = np.unique(ids)
        lookup = np.ones(int(ids.max()) + 1)
        lookup[present] = np.maximum(np.asarray(_label_medians(mapped[interior], ids, present), dtype=np.float64), 1e-3)
        own_speckle = np.log(np.maximum(mapped[interior], 1e-3) / lookup[ids])  # within-cell, relative
        regions = _erode(interior, 1), _erode(background, 1)
        own_noise_fg, own_noise_bg = _noise_sds(mapped, *regions)
        own_blur = _edge_blur(mapped)
        own_blur = own_blur if math.isfinite(own_blur) else 0.0
        state.extra_blur = math.sqrt(max(look.blur_sigma**2 - own_blur**2, 0.0))
        if state.extra_blur > 0:
            own_noise_fg, own_noise_bg = _noise_sds(_gaussian(mapped, state.extra_blur), *regions)
        own_fg = 0.0 if not math.isfinite(own_noise_fg) else own_noise_fg
        own_bg = 0.0 if not math.isfinite(own_noise_bg) else own_noise_bg
        own_texture = max(float(own_speckle.var()) - (own_fg / max(look.cell_level, 1e-3)) ** 2, 0.0)
        state.speckle_sd = math.sqrt(max(look.speckle_sd**2 - own_texture, 0.0))
        # noise still missing at the two levels, then the Poisson-Gaussian pair that adds it
        target = {level: (1.0 / look.photons if look.photons else 0.0) * level + look.read_noise**2
                  for level in (look.background_level, look.cell_level)}
        missing_bg = math.sqrt(max(target[look.background_level] - own_bg**2, 0.0))
        missing_fg = math.sqrt(max(target[look.cell_level] - own_fg**2, 0.0))
        state.photons, state.read_noise = _poisson_gaussian((look.background_level, look.cell_level), (missing_bg, missing_fg))

    def _map(self, state: _VideoState, x: np.ndarray, lab: np.ndarray, speckle_sd: float,
             out: np.ndarray | None = None) -> np.ndarray:
        """The clean re-rendered frame (intensity map, gains, speckle, background, illumination), no blur or noise,
        written to ``out`` (default: a new array).

        Per-pixel work is done on the cell pixels only (the intensity map, gains, speckle); the whole frame sees
        the two 1 px blurs of the blend, a few array operations and the illumination."""
        look = state.look
        work = state.buffers
        b0 = state.b0 if state.b0 is not None else float(np.median(x))
        cells = lab > 0
        d = np.subtract(x, np.float32(b0), dtype=np.float32, out=work.get_array("d", state.shape))
        # the background keeps the generator's structure
        clean = np.add(state.base, d, out=out if out is not None else np.empty(state.shape, np.float32))
        pixels = np.flatnonzero(cells)  # flat indices of the cell pixels
        if pixels.size:
            ys, xs = np.divmod(pixels, state.shape[1])
            ids = lab.ravel()[pixels].astype(np.intp, copy=False)
            mask = work.get_array("mask", state.shape)
            np.copyto(mask, cells)  # 0 / 1
            weight = _gaussian(mask, 1.0, out=work.get_array("weight", state.shape), work=work)
            contrast = (state.c0 - b0) if state.c0 is not None else 0.0
            if contrast >= _MIN_CONTRAST:
                r = d.ravel()[pixels] / np.float32(contrast)
            else:  # the generator shows no cells here: the soft mask is the cell shape
                r = weight.ravel()[pixels]
            if look.gamma != 1.0:
                r = np.sign(r) * np.abs(r) ** np.float32(look.gamma)
            factor = state.gains[ids]
            if speckle_sd > 0:
                # the speckle tile moves with its cell: indexed relative to the cell's centroid, plus the id's offset
                counts = np.maximum(np.bincount(ids), 1)
                cy = np.rint(np.bincount(ids, weights=ys) / counts).astype(np.intp)
                cx = np.rint(np.bincount(ids, weights=xs) / counts).astype(np.intp)
                shift_y = state.offsets[: counts.size, 0] - cy
                shift_x = state.offsets[: counts.size, 1] - cx
                ty = (ys + shift_y[ids]) & (_TILE - 1)  # _TILE is a power of 2: & is the (non-negative) modulo
                tx = (xs + shift_x[ids]) & (_TILE - 1)
                factor = factor * state.speckle_table(speckle_sd)[ty * _TILE + tx]
            values = np.float32(look.cell_level - look.background_level) * r * factor
            cell = work.get_array("cell", state.shape)
            cell.fill(0.0)
            cell.ravel()[pixels] = values
            # within ~2 px outside the cells, blend from the generator's background structure to the new cell
            # signal, extended outwards by normalised convolution (the local mean of the nearby cell pixels)
            blend = _gaussian(cell, 1.0, out=work.get_array("blend", state.shape), work=work)
            blend /= np.maximum(weight, np.float32(1e-3), out=work.get_array("floor", state.shape))
            blend.ravel()[pixels] = values
            weight.ravel()[pixels] = 1.0
            blend -= d
            blend *= weight
            clean += blend
        clean *= state.illumination
        return clean

    def render_frame(self, state: _VideoState, x: np.ndarray, labels_t: np.ndarray, t: int) -> np.ndarray:
        """Frame ``t``: the generator's ``(H, W)`` frame ``x`` and its labels -> ``(H, W) float32`` in [0, 1]."""
        x = np.asarray(x, dtype=np.float32)
        lab = np.asarray(labels_t)
        if x.shape != state.shape or lab.shape != state.shape:
            raise ValueError(f"frame {t}: image {x.shape} and labels {lab.shape} must both be {state.shape}")
        if not state.calibrated:
            self._calibrate(state, x, lab)
        work = state.buffers
        if state.extra_blur > 0:
            mapped = self._map(state, x, lab, state.speckle_sd, out=work.get_array("clean", state.shape))
            clean = _gaussian(mapped, state.extra_blur, work=work)
        else:
            clean = self._map(state, x, lab, state.speckle_sd)
        np.clip(clean, 0.0, 1.0, out=clean)
        # Poisson-Gaussian noise in its Gaussian form, var = I / photons + read_noise^2 (the Poisson part's mean and
        # variance are exact; its skew at a few photons is not): one normal draw, 3-4x cheaper than rng.poisson
        if state.photons is not None or state.read_noise > 0:
            rng = np.random.default_rng([state.seed, _NOISE, t])
            sd = work.get_array("sd", state.shape)
            if state.photons is not None:
                np.divide(clean, np.float32(state.photons), out=sd)
                sd += np.float32(state.read_noise**2)
            else:
                sd.fill(np.float32(state.read_noise**2))
            np.sqrt(sd, out=sd)
            sd *= rng.standard_normal(state.shape, dtype=np.float32, out=work.get_array("normal", state.shape))
            clean += sd
        return np.clip(clean, 0.0, 1.0, out=clean)

    # ------------------------------------------------------------------ the generator contract
    def _apply(self, video: Any, labels: np.ndarray, seed: int | None) -> np.ndarray:
        from tganaug.utils.arrays import to_numpy

        video = to_numpy(video)
        if video.shape != labels.shape:
            raise ValueError(f"generator {self.name!r} returned shape {video.shape} for labels {labels.shape}")
        state = self.start(labels.shape[1:], seed)
        return np.stack([self.render_frame(state, frame, lab, t) for t, (frame, lab) in enumerate(zip(video, labels))])

    def generate(self, labels: np.ndarray, background: np.ndarray | None = None, seed: int | None = None) -> np.ndarray:
        """``(T, H, W)`` integer labels -> ``(T, H, W) float32`` video in [0, 1], in this video's look."""
        labels = np.asarray(labels)
        if labels.ndim != 3 or labels.shape[0] == 0:
            raise ValueError(f"labels must be a non-empty (T, H, W) video, got shape {labels.shape}")
        return self._apply(self.generator.generate(labels, background=background, seed=seed), labels, seed)

    @property
    def generate_batch(self) -> Any:
        """``generate_batch(labels, backgrounds, seeds) -> (B, T, H, W)``, present when the wrapped generator has one."""
        if not supports_batch_generation(self.generator):
            raise AttributeError(f"generator {self.name!r} has no generate_batch")

        def generate_batch(labels: Sequence[np.ndarray], backgrounds: Sequence[np.ndarray | None], seeds: Sequence[int]) -> np.ndarray:
            videos = self.generator.generate_batch(labels, backgrounds, seeds)
            return np.stack([self._apply(v, np.asarray(lab), s) for v, lab, s in zip(videos, labels, seeds)])

        return generate_batch

    def iter_frames(self, labels: Iterable[np.ndarray], background: np.ndarray | None = None, seed: int | None = None) -> Iterator[np.ndarray]:
        """Frame by frame (the same bytes as :meth:`generate`): streamed when the wrapped generator has ``iter_frames``."""
        if not supports_frame_stream(self.generator):
            stacked = np.stack([np.asarray(f) for f in labels])
            yield from self.generate(stacked, background=background, seed=seed)
            return
        kept: list[np.ndarray] = []

        def tee() -> Iterator[np.ndarray]:
            for frame in labels:
                frame = np.asarray(frame)
                kept.append(frame)
                yield frame

        state: _VideoState | None = None
        for t, frame in enumerate(self.generator.iter_frames(tee(), background=background, seed=seed)):
            lab = kept[t]
            kept[t] = None  # type: ignore[call-overload]
            if state is None:
                state = self.start(lab.shape, seed)
            yield self.render_frame(state, np.asarray(frame), lab, t)


def with_appearance(generator: Any, appearance: Any = None, reference: Any = None) -> Any:
    """``generator`` wrapped in :class:`AppearanceGenerator`, or ``generator`` itself when both are None."""
    if appearance is None and reference is None:
        return generator
    return AppearanceGenerator(generator, appearance=appearance, reference=reference)


def configured(generator: Any, config: Any) -> Any:
    """``generator`` wrapped for a :class:`tganaug.generation.GenerationConfig`'s ``appearance`` / ``reference``
    (file paths of reference frames), or ``generator`` itself when it sets neither."""
    appearance, reference = getattr(config, "appearance", None), getattr(config, "reference", None)
    return with_appearance(generator, appearance, load_reference(reference))


def generate(labels: np.ndarray, generator: Any = "procedural", *, seed: int | None = None, background: np.ndarray | None = None,
             appearance: Any = None, reference: Any = None, generator_config: dict[str, Any] | None = None) -> np.ndarray:
    """Render ``(T, H, W)`` integer labels into a ``(T, H, W) float32`` video in [0, 1].

    ``generator``: plugin name (with ``generator_config``) or a generator object. ``appearance``: ``"random"``, a JSON
    path, a dict of ranges or an :class:`AppearanceConfig`; ``reference``: one ``(H, W)`` or ``(N, H, W)`` unannotated
    frame(s) of a recording whose look the video takes (units: those frames' 0.1 / 99.9 percentiles = 0 / 1).
    """
    made = resolve("generator", generator, generator_config)
    return with_appearance(made, appearance, reference).generate(labels, background=background, seed=seed)
