"""``procedural``: the transparent, parameter-driven renderer of :mod:`tganaug.procedural` as a generator plugin.

Factory: ``procedural(**config)`` is :class:`tganaug.procedural.ProceduralRenderer` (keyword fields of
:class:`tganaug.procedural.ProceduralConfig`, e.g. ``rim=True, noise_sd=0.03``); fit it to real frames with
:meth:`~tganaug.procedural.ProceduralRenderer.from_ctc`.

Contract: ``generate(labels (T, H, W) int, background=None, seed=None) -> (T, H, W) float32 in [0, 1]``;
``iter_frames`` streams the same frames from any iterable of label frames. The engine's names are
re-exported here for code that imports them from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tganaug.hookspecs import hookimpl
from tganaug.procedural import (
    ProceduralConfig,
    ProceduralRenderer,
    ProceduralState,
    estimate_background,
    estimate_config,
    halo_map,
)

__all__ = ["ProceduralConfig", "ProceduralRenderer", "ProceduralState", "estimate_background", "estimate_config", "halo_map"]


@hookimpl
def tganaug_generators() -> dict[str, Callable[..., Any]]:
    """Register ``procedural``."""
    return {ProceduralRenderer.name: ProceduralRenderer}
