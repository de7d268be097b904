"""pluggy hook specifications: what a tganaug plugin module may implement.

A plugin is a module (or object) registered under one of the entry-point groups
``tganaug.simulators``, ``tganaug.generators``, ``tganaug.segmenters`` or ``tganaug.trackers``.
It implements one or more of the hooks below, each returning a mapping from the public plugin
name (e.g. ``"random-walk"``) to a factory: a callable taking keyword configuration and returning
the ready object (a simulator, generator, segmenter or tracker). What each object must and may provide, with
the exact calls, shapes and dtypes, is :mod:`tganaug.contracts` (``Simulator``, ``Generator``, ``Segmenter``,
``Tracker`` and the optional capabilities). Example::

    from tganaug import hookimpl

    @hookimpl
    def tganaug_simulators():
        return {"my-sim": MySimulator}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "tganaug"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: plugin kind -> (entry-point group, hook name)
PLUGIN_KINDS: dict[str, tuple[str, str]] = {
    "simulator": ("tganaug.simulators", "tganaug_simulators"),
    "generator": ("tganaug.generators", "tganaug_generators"),
    "segmenter": ("tganaug.segmenters", "tganaug_segmenters"),
    "tracker": ("tganaug.trackers", "tganaug_trackers"),
}


@hookspec
def tganaug_simulators() -> dict[str, Callable[..., Any]]:
    """Mask simulators: name -> factory(**config) with ``simulate(frames, height, width, seed)`` (:class:`tganaug.contracts.Simulator`)."""


@hookspec
def tganaug_generators() -> dict[str, Callable[..., Any]]:
    """Generators: name -> factory(**config) with ``generate(labels, background=None, seed=None)`` (:class:`tganaug.contracts.Generator`)."""


@hookspec
def tganaug_segmenters() -> dict[str, Callable[..., Any]]:
    """Segmenters: name -> factory(**config) with ``segment(images) -> (T, H, W) uint16 labels`` (:class:`tganaug.contracts.Segmenter`)."""


@hookspec
def tganaug_trackers() -> dict[str, Callable[..., Any]]:
    """Trackers: name -> factory(**config) with ``track(labels) -> (labels, lineage)`` (:class:`tganaug.contracts.Tracker`)."""
