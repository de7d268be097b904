"""``linker``: the learned linker (a small MLP scoring candidate links, trained here; see :mod:`tganaug.tracking.linker`).

``tganaug.get_tracker("linker", model="fluo-nuclei")`` loads the shipped weights
``tganaug/weights/linker-fluo-nuclei.pt`` (+ ``.json``); ``model`` may also be a checkpoint path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tganaug.hookspecs import hookimpl


def _factory(**config: Any) -> Any:
    # imported on use: torch is only needed when this tracker is created
    from tganaug.tracking.linker import LearnedLinker

    return LearnedLinker(**config)


@hookimpl
def tganaug_trackers() -> dict[str, Callable[..., Any]]:
    """Register ``linker``."""
    return {"linker": _factory}
