"""``division``: moving cells that grow and divide, with a valid lineage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tganaug.hookspecs import hookimpl
from tganaug.simulation.cells import CellSimConfig, CellSimulator


@dataclass
class DivisionConfig(CellSimConfig):
    """Random-walk cells that grow (area doubles over ``cycle_mean`` frames) and divide.

    At division the parent's track ends; two daughters, half its size, start in the next frame
    at its position along its long axis with ``parent`` set in the lineage. Founders start at a
    random phase of their cycle. All fields: :class:`~tganaug.simulation.cells.CellSimConfig`.
    """

    cycle_mean: float = 24.0
    cycle_sd: float = 3.0
    growth: bool = True
    replenish: bool = True


class DivisionSimulator(CellSimulator):
    """The ``division`` mask simulator."""

    name = "division"
    config_class = DivisionConfig


@hookimpl
def tganaug_simulators() -> dict[str, Callable[..., Any]]:
    return {DivisionSimulator.name: DivisionSimulator}
