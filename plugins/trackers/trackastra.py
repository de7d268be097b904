"""``trackastra``: transformer link scoring (Trackastra, Gallusser & Weigert 2024) + its greedy/ILP solver.

``tganaug.get_tracker("trackastra")`` loads the shipped masks-only model
``tganaug/weights/trackastra-fluo-nuclei.pt`` (trained here from scratch on Fluo-N2DH-SIM+ 01 train frames by
``benchmarks/train_trackastra.py``); ``model`` may also be a tganaug trackastra checkpoint or a trackastra model
folder (``model.pt`` + ``config.yaml``). Nothing is downloaded. See :mod:`tganaug.tracking.trackastra_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tganaug.hookspecs import hookimpl


def _factory(**config: Any) -> Any:
    # imported on use: trackastra (torch, numba, dask) is only needed when this tracker is created
    from tganaug.tracking.trackastra_model import TrackastraTracker  # noqa: PLC0415

    return TrackastraTracker(**config)


@hookimpl
def tganaug_trackers() -> dict[str, Callable[..., Any]]:
    """Register ``trackastra``."""
    return {"trackastra": _factory}
