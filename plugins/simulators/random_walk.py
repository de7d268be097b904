"""``random-walk``: non-dividing cells with persistent random motion that leave and enter the field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tganaug.hookspecs import hookimpl
from tganaug.simulation.cells import CellSimConfig, CellSimulator


@dataclass
class RandomWalkConfig(CellSimConfig):
    """Cells of sampled size and shape moving by a persistent random walk; no division.

    Cells that drift out of the field end their track; new cells enter through the border to keep
    the population near its initial count. All fields: :class:`~tganaug.simulation.cells.CellSimConfig`.
    """

    cycle_mean: float = 0.0
    replenish: bool = True


class RandomWalkSimulator(CellSimulator):
    """The ``random-walk`` mask simulator."""

    name = "random-walk"
    config_class = RandomWalkConfig


@hookimpl
def tganaug_simulators() -> dict[str, Callable[..., Any]]:
    return {RandomWalkSimulator.name: RandomWalkSimulator}
