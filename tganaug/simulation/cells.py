"""An agent-based cell simulation that renders instance-label videos with a lineage.

Cells are ellipses with a smooth, slowly changing boundary jitter (a few Fourier modes of the
radius). Each frame they move by a persistent random walk (AR(1) velocity), grow, divide into
two daughters along their long axis, are pushed apart where they overlap, and are rasterised.
Pixels claimed by several cells go to the cell whose normalised radial distance is smallest,
so touching cells share a boundary instead of overlapping and every cell keeps its centre pixel.
A cell whose visible part falls below ``min_visible_fraction`` of its area has left the field:
its track ends and never comes back (a re-entering cell would be a new track, as in CTC).

The built-in simulator plugins (``random-walk``, ``division``, ``colony``) are configurations of
:class:`CellSimulation`; third-party simulators may reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tganaug.simulation.base import SimulatedVideo, check_video_size
from tganaug.utils.config import ConfigMixin

__all__ = ["CellSimConfig", "CellSimulation", "CellSimulator", "SimulationStream", "check_number"]

_MAX_ID = int(np.iinfo(np.uint16).max)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)


@dataclass
class CellSimConfig(ConfigMixin):
    """Parameters of :class:`CellSimulation` (lengths in pixels, times in frames).

    Attributes:
        n_cells: cells at the start; ``None`` derives it from ``cells_per_10k_px`` and the field size.
        cells_per_10k_px: density used when ``n_cells`` is None (cells per 10,000 px²).
        radius_mean / radius_sd: equivalent radius ``sqrt(a * b)`` of a newborn-to-adult cell.
        aspect_mean / aspect_sd: long / short axis ratio (>= 1).
        jitter: relative amplitude of the smooth boundary jitter (0 = perfect ellipses).
        speed: mean displacement per frame (|velocity|).
        persistence: lag-1 correlation of the velocity (0 = Brownian, ->1 = straight runs).
        rotation_sd: random change of orientation per frame, radians.
        replenish: cells enter through the border to keep the population near its start count.
        cycle_mean / cycle_sd: frames between birth and division; ``cycle_mean <= 0`` disables division.
        growth: cells grow from birth area to twice it over their cycle (only with division).
        packing: fraction of the summed radii two cell centres are pushed apart to (>= 1 keeps gaps,
            < 1 lets them press together); ``relax_iterations`` pushes per frame.
        paint_scale: scales the painted outline (> 1 closes small gaps between touching cells).
        min_visible_fraction: a cell with less of its area inside the field has left.
        seed_layout: ``"uniform"`` initial positions over the field, or ``"seeds"`` (colony founders).
    """

    n_cells: int | None = None
    cells_per_10k_px: float = 4.0
    radius_mean: float = 10.0
    radius_sd: float = 1.5
    aspect_mean: float = 1.3
    aspect_sd: float = 0.15
    jitter: float = 0.06
    speed: float = 1.5
    persistence: float = 0.6
    rotation_sd: float = 0.05
    replenish: bool = True
    cycle_mean: float = 0.0
    cycle_sd: float = 0.0
    growth: bool = True
    packing: float = 1.1
    relax_iterations: int = 6
    paint_scale: float = 1.0
    min_visible_fraction: float = 0.3
    seed_layout: str = "uniform"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in ("cells_per_10k_px", "radius_mean", "packing", "paint_scale"):
            check_number(owner, name, getattr(self, name), low=0, low_open=True)
        for name in ("radius_sd", "aspect_sd", "speed", "rotation_sd", "cycle_sd"):
            check_number(owner, name, getattr(self, name), low=0)
        check_number(owner, "relax_iterations", self.relax_iterations, low=0, integer=True)
        if self.n_cells is not None:
            check_number(owner, "n_cells", self.n_cells, low=1, integer=True)
        check_number(owner, "aspect_mean", self.aspect_mean, low=1)  # long / short axis
        check_number(owner, "jitter", self.jitter, low=0, high=0.5, high_open=True)
        check_number(owner, "persistence", self.persistence, low=0, high=1, high_open=True)
        check_number(owner, "min_visible_fraction", self.min_visible_fraction, low=0, high=1, low_open=True)
        check_number(owner, "cycle_mean", self.cycle_mean)  # <= 0 disables division
        for name in ("replenish", "growth"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{owner}.{name} must be true or false, got {getattr(self, name)!r}")
        if self.seed_layout not in ("uniform", "seeds"):
            raise ValueError(f"{owner}.seed_layout must be 'uniform' or 'seeds', got {self.seed_layout!r}")


def check_number(owner: str, name: str, value: object, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, integer: bool = False) -> None:
    """Raise ``ValueError`` naming ``owner.name`` unless ``value`` is a finite real number (an integer if
    ``integer``; booleans and strings are refused) in the range ``low .. high`` (``*_open``: bound excluded)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite {'integer' if integer else 'number'}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{owner}.{name} must be in {left}, {right}, got {value!r}")


_JITTER_MODES = 3  # Fourier modes 2..4 of the boundary radius (mode 1 would just shift the cell)


_RASTER_BATCH_PIXELS = 1 << 17  # padded box pixels evaluated at once by CellSimulation._rasterise (memory bound)
_RASTER_PADDING = 1.5  # a batch pads its boxes to at most this x their own pixels


def _raster_batches(box_rows: np.ndarray, box_cols: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
    """Group the cells' boxes into batches padded to a common size: yield ``(index, row0, rows, cols)``.

    ``index`` are cell indices, ``row0`` the first row of each one's box evaluated in this batch and
    ``rows`` x ``cols`` the padded box. Boxes are sorted by size and a batch pads them to at most
    :data:`_RASTER_PADDING` times their own pixels. A box with more than
    :data:`_RASTER_BATCH_PIXELS` pixels is cut into bands of rows (one cell may then come back in
    several batches), so no batch is larger unless one row of a box is.
    """
    band = np.maximum(1, _RASTER_BATCH_PIXELS // box_cols)  # rows per band
    bands = -(-box_rows // band)
    cell = np.repeat(np.arange(len(box_rows)), bands)
    row0 = (np.arange(len(cell)) - np.repeat(np.cumsum(bands) - bands, bands)) * band[cell]
    rows = np.minimum(band[cell], box_rows[cell] - row0)
    cols = box_cols[cell]
    order = np.argsort(rows * cols, kind="stable")
    start, max_rows, max_cols, own = 0, 0, 0, 0
    for position, (r, c) in enumerate(zip(rows[order].tolist(), cols[order].tolist())):
        grown_rows, grown_cols = max(max_rows, r), max(max_cols, c)
        padded = (position - start + 1) * grown_rows * grown_cols
        if position > start and (padded > _RASTER_BATCH_PIXELS or padded > _RASTER_PADDING * (own + r * c)):
            yield cell[order[start:position]], row0[order[start:position]], max_rows, max_cols
            start, grown_rows, grown_cols, own = position, r, c, 0
        max_rows, max_cols, own = grown_rows, grown_cols, own + r * c
    yield cell[order[start:]], row0[order[start:]], max_rows, max_cols


class _Cells:
    """Structure-of-arrays state of the live cells."""

    ARRAYS = ("ids", "parent", "center", "velocity", "radius", "aspect", "angle", "coeffs", "age", "cycle", "birth_radius")

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)  # 0 until the cell is first visible and gets a track id
        self.parent = np.zeros(0, dtype=np.int64)  # parent track id (0 for founders and entering cells)
        self.center = np.zeros((0, 2))
        self.velocity = np.zeros((0, 2))
        self.radius = np.zeros(0)
        self.aspect = np.zeros(0)
        self.angle = np.zeros(0)
        self.coeffs = np.zeros((0, _JITTER_MODES, 2))
        self.age = np.zeros(0)
        self.cycle = np.zeros(0)
        self.birth_radius = np.zeros(0)

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, **values: np.ndarray) -> None:
        for name in self.ARRAYS:
            setattr(self, name, np.concatenate([getattr(self, name), values[name]]))

    def keep(self, mask: np.ndarray) -> None:
        for name in self.ARRAYS:
            setattr(self, name, getattr(self, name)[mask])

    def take(self, index: np.ndarray) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[index].copy() for name in self.ARRAYS}


class SimulationStream:
    """Iterable over the ``(H, W) uint16`` label frames of one simulated video.

    :attr:`lineage` (``(N, 4) int64``) is available after the last frame has been produced;
    :attr:`meta` describes what made the video. Iterate it once.
    """

    def __init__(self, frames: Generator[np.ndarray, None, np.ndarray], meta: dict[str, Any]) -> None:
        self._frames = frames
        self._lineage: np.ndarray | None = None
        self._started = False
        self.meta = meta

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:  # the generator is spent: a second pass would yield nothing and lose the lineage
            raise RuntimeError("a SimulationStream can be iterated once; simulate again with the same seed for the same frames")
        self._started = True
        self._lineage = yield from self._frames

    @property
    def lineage(self) -> np.ndarray:
        if self._lineage is None:
            raise RuntimeError("the lineage is known only after every frame has been produced")
        return self._lineage


class CellSimulation:
    """Simulate one video with a :class:`CellSimConfig`.

    Call :meth:`run` with the video size and a seed; everything random comes from
    ``numpy.random.default_rng(seed)``, so the same arguments give the same bytes.
    """

    def __init__(self, config: CellSimConfig, name: str = "cells") -> None:
        self.config = config
        self.name = name

    # ---------------------------------------------------------------- cell creation
    def _sample_cells(self, rng: np.random.Generator, count: int, center: np.ndarray, newborn: bool) -> dict[str, np.ndarray]:
        cfg = self.config
        radius = np.clip(rng.normal(cfg.radius_mean, cfg.radius_sd, count), 0.4 * cfg.radius_mean, 2.0 * cfg.radius_mean)
        aspect = np.maximum(1.0, rng.normal(cfg.aspect_mean, cfg.aspect_sd, count))
        sigma = cfg.speed / _SQRT_HALF_PI
        dividing = cfg.cycle_mean > 0
        if dividing:
            drawn = np.maximum(2.0, rng.normal(cfg.cycle_mean, cfg.cycle_sd, count))
            # A cell divides at the first whole frame with age >= cycle: a fractional cycle would last ceil(cycle)
            # frames (E. coli's fitted 6.85 ran as 7, the division rate 7 % low). Round it up or down at random so
            # that the whole cycle's mean is the drawn one.
            cycle = np.floor(drawn) + (rng.uniform(0, 1, count) < drawn - np.floor(drawn))
        else:
            cycle = np.full(count, np.inf)
        # Founders start at a random point of their cycle so divisions do not all happen at once.
        age = np.zeros(count) if newborn or not dividing else rng.uniform(0, 1, count) * cycle
        birth_radius = radius / math.sqrt(2.0) if dividing and cfg.growth else radius
        if dividing and cfg.growth and not newborn:
            radius = birth_radius * np.sqrt(1.0 + age / cycle)  # the size of its age, as _move keeps it (no shrink at frame 1)
        return {
            "ids": np.zeros(count, dtype=np.int64),
            "parent": np.zeros(count, dtype=np.int64),
            "center": center,
            "velocity": rng.normal(0.0, sigma, (count, 2)),
            "radius": radius,
            "aspect": aspect,
            "angle": rng.uniform(0, math.pi, count),
            "coeffs": rng.normal(0.0, cfg.jitter / math.sqrt(2 * _JITTER_MODES), (count, _JITTER_MODES, 2)),
            "age": age,
            "cycle": cycle,
            "birth_radius": birth_radius,
        }

    def _initial_centers(self, rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
        cfg = self.config
        if cfg.seed_layout == "seeds":
            margin = 0.15
            lo, hi = np.array([height, width]) * margin, np.array([height, width]) * (1 - margin)
            return rng.uniform(lo, hi, (count, 2))
        # Uniform with a few tries per cell to avoid starting on top of each other.
        centers: list[np.ndarray] = []
        min_distance = 2.0 * cfg.radius_mean * cfg.packing
        for _ in range(count):
            best, best_gap = None, -np.inf
            for _try in range(20):
                candidate = rng.uniform([0, 0], [height, width])
                gap = min((np.hypot(*(candidate - c)) for c in centers), default=np.inf)
                if gap > best_gap:
                    best, best_gap = candidate, gap
                if gap >= min_distance:
                    break
            centers.append(best)
        return np.array(centers).reshape(count, 2)

    def _entering_centers(self, rng: np.random.Generator, count: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions just inside a random border, with an inward unit direction."""
        side = rng.integers(0, 4, count)
        along = rng.uniform(0, 1, count)
        inset = self.config.radius_mean * 0.9
        y = np.where(side == 0, inset, np.where(side == 1, height - inset, along * height))
        x = np.where(side == 2, inset, np.where(side == 3, width - inset, along * width))
        inward = np.stack(
            [np.where(side == 0, 1.0, np.where(side == 1, -1.0, 0.0)), np.where(side == 2, 1.0, np.where(side == 3, -1.0, 0.0))],
            axis=1,
        )
        return np.stack([y, x], axis=1), inward

    # ---------------------------------------------------------------- dynamics
    def _move(self, rng: np.random.Generator, cells: _Cells) -> None:
        cfg = self.config
        rho = cfg.persistence
        sigma = cfg.speed / _SQRT_HALF_PI
        cells.velocity = rho * cells.velocity + math.sqrt(1 - rho**2) * rng.normal(0.0, sigma, cells.velocity.shape)
        cells.center = cells.center + cells.velocity
        cells.angle = cells.angle + rng.normal(0.0, cfg.rotation_sd, len(cells))
        # Boundary jitter drifts slowly (AR(1) with the same stationary amplitude).
        keep = 0.9
        jitter_sd = cfg.jitter / math.sqrt(2 * _JITTER_MODES)
        cells.coeffs = keep * cells.coeffs + math.sqrt(1 - keep**2) * rng.normal(0.0, jitter_sd, cells.coeffs.shape)
        cells.age = cells.age + 1
        if cfg.cycle_mean > 0 and cfg.growth:
            progress = np.clip(cells.age / cells.cycle, 0.0, 1.0)
            cells.radius = cells.birth_radius * np.sqrt(1.0 + progress)

    def _relax(self, cells: _Cells) -> None:
        """Push overlapping cells apart (discs of the equivalent radius, ``packing`` x summed radii)."""
        cfg = self.config
        if len(cells) < 2 or cfg.relax_iterations == 0:
            return
        for _ in range(int(cfg.relax_iterations)):
            delta = cells.center[:, None, :] - cells.center[None, :, :]
            distance = np.hypot(delta[..., 0], delta[..., 1])
            target = cfg.packing * (cells.radius[:, None] + cells.radius[None, :])
            overlap = np.clip(target - distance, 0.0, None)
            np.fill_diagonal(overlap, 0.0)
            if not overlap.any():
                return
            safe = np.where(distance > 1e-6, distance, 1.0)
            direction = delta / safe[..., None]
            # Coincident centres: separate along a fixed, index-dependent direction (deterministic).
            coincident = distance <= 1e-6
            if coincident.any():
                i, j = np.nonzero(coincident)
                direction[i, j] = np.stack([np.cos(i - j), np.sin(i - j)], axis=1)
            cells.center = cells.center + 0.5 * (overlap[..., None] * direction).sum(axis=1)

    def _divide(self, rng: np.random.Generator, cells: _Cells) -> None:
        """Replace each cell at the end of its cycle by two daughters along its long axis."""
        ready = cells.age >= cells.cycle
        if not ready.any():
            return
        parents = cells.take(np.nonzero(ready)[0])
        cells.keep(~ready)
        count = len(parents["ids"])
        axis = np.stack([np.sin(parents["angle"]), np.cos(parents["angle"])], axis=1)  # (dy, dx) of the long axis
        long_semi_axis = parents["radius"] * np.sqrt(parents["aspect"])
        offset = axis * (0.5 * long_semi_axis)[:, None]
        daughters: dict[str, list[np.ndarray]] = {}
        for sign in (-1.0, 1.0):
            child = self._sample_cells(rng, count, parents["center"] + sign * offset, newborn=True)
            child["radius"] = parents["radius"] / math.sqrt(2.0)
            child["birth_radius"] = child["radius"].copy()
            child["aspect"] = parents["aspect"]
            child["angle"] = parents["angle"] + rng.normal(0.0, 0.1, count)
            child["velocity"] = parents["velocity"] + sign * axis * 0.5
            child["parent"] = parents["ids"].copy()
            for name, value in child.items():
                daughters.setdefault(name, []).append(value)
        cells.append(**{name: np.concatenate(value) for name, value in daughters.items()})

    # ---------------------------------------------------------------- rendering
    def _rasterise(self, cells: _Cells, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Paint the cells; return ``(owner (H, W) int64 index or -1, visible_fraction (N,))``.

        Each cell is evaluated on its bounding box (``reach`` around the centre), where a pixel with
        ``rho <= 1`` is inside it. A pixel claimed by several cells goes to the smallest ``rho`` (on a
        tie, the lowest cell index); ``visible_fraction`` is the in-frame share of the inside pixels.

        Vectorised over cells (batches of similar box size padded to a common box, see
        :func:`_raster_batches`): a per-cell loop took ~3-4 ms per 256x256 division frame (~36
        cells), mostly numpy call overhead, this ~1 ms (whole simulated frame ~5 -> ~3 ms). Every
        rho is still computed with the same elementwise operations as that loop, so the owner map is
        bit-for-bit the same (checked against the loop in tests/test_simulators.py).
        """
        cfg = self.config
        count = len(cells)
        best = np.full(height * width, np.inf)
        owner = np.full(height * width, -1, dtype=np.int64)
        inside_total = np.zeros(count, dtype=np.int64)
        inside_visible = np.zeros(count, dtype=np.int64)
        if count == 0:
            return owner.reshape(height, width), np.zeros(0)
        cy, cx = cells.center[:, 0], cells.center[:, 1]
        a = cells.radius * np.sqrt(cells.aspect) * cfg.paint_scale  # long semi-axis
        b = cells.radius / np.sqrt(cells.aspect) * cfg.paint_scale  # short semi-axis
        reach = a * (1.0 + 3 * cfg.jitter) + 1.0
        y0, x0 = np.floor(cy - reach).astype(np.int64), np.floor(cx - reach).astype(np.int64)
        box_rows = np.ceil(cy + reach).astype(np.int64) + 1 - y0
        box_cols = np.ceil(cx + reach).astype(np.int64) + 1 - x0
        # libm's cos / sin per cell, as the loop had them (numpy's SIMD ones may differ in the last bit)
        cos = np.array([math.cos(angle) for angle in cells.angle.tolist()])
        sin = np.array([math.sin(angle) for angle in cells.angle.tolist()])
        terms = (cells.coeffs[..., 0] - 1j * cells.coeffs[..., 1]).T.copy()  # (modes, N): c_k0 - i c_k1
        # Exact pre-test: the boundary radius 1 + series is at most 1 + sum_k |c_k|, so a pixel with
        # u² + v² above that squared has rho > 1 (the 1e-9 margin dwarfs rounding, ~1e-15). About half
        # of a box is outside its cell; this skips hypot and the series (the costly part) there. A
        # cell whose series may reach -1 (where rho < 0 counts as inside) gets no limit.
        amplitude = np.abs(terms).sum(axis=0)
        limit = np.where(amplitude < 0.99, ((1.0 + amplitude) * (1.0 + 1e-9)) ** 2, np.inf)
        for index, row0, rows_, cols_ in _raster_batches(box_rows, box_cols):
            # pixel-centre offsets on the padded (n, rows_, cols_) boxes; per-cell values as (n, 1, 1)
            rows = (y0[index] + row0)[:, None] + np.arange(rows_)
            cols = x0[index][:, None] + np.arange(cols_)
            dy = (rows + 0.5 - cy[index, None])[:, :, None]
            dx = (cols + 0.5 - cx[index, None])[:, None, :]
            cos_, sin_ = cos[index, None, None], sin[index, None, None]
            u = (dx * cos_ + dy * sin_) / a[index, None, None]
            v = (dy * cos_ - dx * sin_) / b[index, None, None]
            in_box = (row0[:, None] + np.arange(rows_) < box_rows[index, None])[:, :, None] & (
                np.arange(cols_) < box_cols[index, None]
            )[:, None, :]  # padding beyond a cell's own box (or band) is not the cell's
            flat = np.flatnonzero((u * u + v * v <= limit[index, None, None]) & in_box)
            which = flat // (rows_ * cols_)  # position in the batch (flat is sorted by it)
            u, v = u.take(flat), v.take(flat)
            radius = np.hypot(u, v)
            # boundary radius 1 + sum_k c_k0 cos(k phi) + c_k1 sin(k phi), modes k = 2..: with the unit
            # complex number e^{i phi} = (u + i v) / |.|, each mode is one complex multiply (instead of
            # arctan2 and two trig calls per mode; same values, ~1.6x faster simulation)
            unit = (u + 1j * v) / np.where(radius > 0, radius, 1.0)
            unit[radius == 0] = 1.0
            term = terms.take(index.take(which), axis=1)
            power = unit * unit
            series = term[0] * power
            for mode in range(1, len(term)):
                power = power * unit
                series += term[mode] * power
            rho = radius / (1.0 + series.real)
            inside = rho <= 1.0
            np.add.at(inside_total, index, np.bincount(which[inside], minlength=len(index)))
            in_frame = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
            mine = np.flatnonzero(inside & in_frame.take(flat))
            np.add.at(inside_visible, index, np.bincount(which.take(mine), minlength=len(index)))
            pixel = (rows[:, :, None] * width + cols[:, None, :]).take(flat.take(mine))
            values, claimant = rho.take(mine), index.take(which.take(mine))
            # Smallest rho wins, then the lowest index, whatever order the batches come in: `owner`
            # stays the lowest index among the claims equal to `best` so far.
            before = best[pixel]
            np.minimum.at(best, pixel, values)
            after = best[pixel]
            owner[pixel[before > after]] = count  # earlier claims beaten: reset, then take the minimum
            tied = values == after
            np.minimum.at(owner, pixel[tied], claimant[tied])
        return owner.reshape(height, width), inside_visible / np.maximum(inside_total, 1)

    # ---------------------------------------------------------------- main loop
    def stream(self, frames: int, height: int, width: int, seed: int = 0) -> SimulationStream:
        """Simulate frame by frame: iterate the result for ``(H, W) uint16`` label frames.

        Memory does not grow with ``frames``; the lineage is complete once iteration ends
        (:attr:`SimulationStream.lineage`).
        """
        check_video_size(frames, height, width)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        meta = {"simulator": self.name, "config": self.config.to_dict(), "seed": int(seed), "frames": frames, "height": height, "width": width}
        return SimulationStream(self._frames(frames, height, width, int(seed)), meta)

    def run(
        self, frames: int, height: int, width: int, seed: int = 0, progress: Callable[[int], None] | None = None
    ) -> SimulatedVideo:
        """Simulate ``frames`` frames of ``height`` x ``width``; ``progress(t)`` is called after each frame.

        Returns a :class:`SimulatedVideo` whose ``labels`` are ``(T, H, W) uint16`` (label = track
        id) and whose ``lineage`` is the matching ``(N, 4) int64`` CTC table; it always validates.
        """
        stream = self.stream(frames, height, width, seed)
        labels = np.zeros((frames, height, width), dtype=np.uint16)
        for t, frame in enumerate(stream):
            labels[t] = frame
            if progress is not None:
                progress(t)
        return SimulatedVideo(labels, stream.lineage, stream.meta)

    def _frames(self, frames: int, height: int, width: int, seed: int) -> Generator[np.ndarray, None, np.ndarray]:
        """Yield each ``(H, W) uint16`` label frame; finally return the ``(N, 4)`` lineage."""
        cfg = self.config
        rng = np.random.default_rng(seed)
        start_count = cfg.n_cells if cfg.n_cells is not None else max(1, round(cfg.cells_per_10k_px * height * width / 1e4))
        cells = _Cells()
        cells.append(**self._sample_cells(rng, start_count, self._initial_centers(rng, start_count, height, width), newborn=False))
        self._relax(cells)

        tracks: dict[int, list[int]] = {}  # id -> [start, end, parent]
        next_id = 1
        for t in range(frames):
            if t > 0:
                self._move(rng, cells)
                self._divide(rng, cells)
                if cfg.replenish:
                    missing = start_count - len(cells)
                    entering = int(rng.poisson(0.3 * missing)) if missing > 0 else 0
                    if entering:
                        centers, inward = self._entering_centers(rng, entering, height, width)
                        newcomers = self._sample_cells(rng, entering, centers, newborn=False)
                        newcomers["velocity"] = inward * (cfg.speed + 0.5)
                        cells.append(**newcomers)
                self._relax(cells)
            owner, visible = self._rasterise(cells, height, width)
            gone = visible < cfg.min_visible_fraction
            if gone.any():
                owner[np.isin(owner, np.nonzero(gone)[0])] = -1
            # Every remaining cell keeps at least its centre pixel (it can only lose it to a coincident centre).
            counts = np.bincount(owner[owner >= 0], minlength=len(cells))
            for index in np.nonzero((counts == 0) & ~gone)[0]:
                cy, cx = np.clip(cells.center[index].astype(int), 0, [height - 1, width - 1])
                if owner[cy, cx] >= 0 and counts[owner[cy, cx]] <= 1:
                    gone[index] = True  # would steal the last pixel of another cell: treat as left
                    continue
                if owner[cy, cx] >= 0:
                    counts[owner[cy, cx]] -= 1
                owner[cy, cx] = index
                counts[index] = 1
            # New cells get ids now that they are visible; cells not visible on arrival are dropped.
            for index in np.nonzero((cells.ids == 0) & ~gone)[0]:
                if next_id > _MAX_ID:
                    raise ValueError(f"more than {_MAX_ID} tracks: uint16 labels cannot hold them; simulate fewer frames or cells")
                cells.ids[index] = next_id
                tracks[next_id] = [t, t, int(cells.parent[index])]
                next_id += 1
            for index in np.nonzero(~gone)[0]:
                tracks[int(cells.ids[index])][1] = t
            lookup = np.concatenate([cells.ids, [0]]).astype(np.uint16)
            frame = lookup[owner]  # owner == -1 indexes the trailing 0
            cells.keep(~gone)
            yield frame
        return np.array([[i, s, e, p] for i, (s, e, p) in sorted(tracks.items())], dtype=np.int64).reshape(-1, 4)


class CellSimulator:
    """A mask simulator plugin built on :class:`CellSimulation`.

    Subclasses set :attr:`name` and :attr:`config_class` (and may adjust the config per video in
    :meth:`config_for`). Construct with a config object and/or keyword overrides::

        DivisionSimulator(cycle_mean=20).simulate(frames=30, height=128, width=128, seed=1)
    """

    name = "cells"
    config_class: type[CellSimConfig] = CellSimConfig

    def __init__(self, config: CellSimConfig | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, self.config_class):
            raise TypeError(f"{self.name} needs a {self.config_class.__name__}, got {type(config).__name__}")
        values = config.to_dict() if config is not None else {}
        values.update(overrides)
        self.config = self.config_class.from_dict(values)

    def config_for(self, frames: int, height: int, width: int) -> CellSimConfig:
        """The configuration used for one video of this size (default: :attr:`config` unchanged)."""
        return self.config

    def simulate(
        self, frames: int, height: int, width: int, seed: int = 0, progress: Callable[[int], None] | None = None
    ) -> SimulatedVideo:
        """Simulate a ``(frames, height, width)`` video; see :meth:`CellSimulation.run`."""
        check_video_size(frames, height, width)
        return CellSimulation(self.config_for(frames, height, width), self.name).run(frames, height, width, seed, progress)

    def simulate_stream(self, frames: int, height: int, width: int, seed: int = 0) -> SimulationStream:
        """Frame-by-frame variant of :meth:`simulate` (same frames for the same arguments)."""
        return CellSimulation(self.config_for(frames, height, width), self.name).stream(frames, height, width, seed)

    @classmethod
    def from_ctc(cls, path: str, frames: Any = "train", sequence: str = "01", **overrides: Any) -> CellSimulator:
        """A simulator whose parameters are estimated from a real CTC dataset (see :mod:`tganaug.simulation.fit`).

        ``frames``: a split name of ``sequence`` (default ``"train"``, so that eval frames stay unseen and an
        evaluation-only sequence is refused; ``"all"`` for every frame) or frame numbers, as in :func:`tganaug.read_ctc`.
        """
        from tganaug.simulation.fit import fit_config

        return cls(fit_config(cls.config_class, path, frames=frames, sequence=sequence, **overrides))
