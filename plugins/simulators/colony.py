"""``colony``: dense, touching cells growing from a few founders until they cover the field."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from tganaug.hookspecs import hookimpl
from tganaug.simulation.cells import CellSimConfig, CellSimulator, check_number


@dataclass
class ColonyConfig(CellSimConfig):
    """A dense colony: ``n_cells`` founders divide and push their neighbours apart.

    With ``cycle_mean = 0`` (default) the division cycle is chosen per video from a model of the
    cells' area so that the colony would reach ``target_coverage`` of the field after
    ``fill_fraction`` of the frames; packed cells are smaller than that model, so it gets there later
    (``benchmarks/results/simulator_fit.md``, 6 seeds: 0.41-0.54 coverage at that frame, 0.85-0.90 at the last one for
    20-40 frames of 128² and 256²). Cells pushed out of the field leave it, as at the edge of a real
    field of view. ``from_ctc`` takes the cycle from the data's division rate instead.

    Attributes (besides :class:`~tganaug.simulation.cells.CellSimConfig`):
        target_coverage: fraction of the field the colony should cover (the paper's dense test: > 0.6).
        fill_fraction: fraction of the video after which that coverage is reached.
    """

    n_cells: int | None = 4
    radius_mean: float = 7.0
    radius_sd: float = 0.8
    aspect_mean: float = 1.6
    aspect_sd: float = 0.2
    jitter: float = 0.04
    speed: float = 0.3
    persistence: float = 0.3
    cycle_mean: float = 0.0
    cycle_sd: float = 0.0
    growth: bool = True
    replenish: bool = False
    packing: float = 0.85
    relax_iterations: int = 25
    paint_scale: float = 1.15
    seed_layout: str = "seeds"
    target_coverage: float = 0.75
    fill_fraction: float = 0.75
    #: a colony divides whatever its default cycle_mean: fit_config takes its cycle from the division rate
    fit_divides: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("ColonyConfig", "target_coverage", self.target_coverage, low=0, high=1, low_open=True, high_open=True)
        check_number("ColonyConfig", "fill_fraction", self.fill_fraction, low=0, high=1, low_open=True)


class ColonySimulator(CellSimulator):
    """The ``colony`` mask simulator."""

    name = "colony"
    config_class = ColonyConfig

    def config_for(self, frames: int, height: int, width: int) -> ColonyConfig:
        """Choose the division cycle for this video size when ``cycle_mean`` is 0 (see :class:`ColonyConfig`)."""
        config = self.config
        if config.cycle_mean > 0:
            return config
        founders = config.n_cells or max(1, round(config.cells_per_10k_px * height * width / 1e4))
        # Cells live between half and full adult area (mean 0.75), painted larger by paint_scale².
        mean_cell_area = 0.75 * math.pi * config.radius_mean**2 * config.paint_scale**2
        final_cells = config.target_coverage * height * width / mean_cell_area
        generations = max(math.log2(max(final_cells / founders, 1.0)), 1.0)
        cycle = max(2.0, config.fill_fraction * max(frames - 1, 1) / generations)
        return replace(config, cycle_mean=cycle, cycle_sd=0.1 * cycle)


@hookimpl
def tganaug_simulators() -> dict[str, Callable[..., Any]]:
    return {ColonySimulator.name: ColonySimulator}
