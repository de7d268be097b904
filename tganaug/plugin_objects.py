"""Resolve plugins given as names or as ready objects, check a simulator's output, describe an object for records.

Light (no torch, no MONAI): used by ``tganaug simulate``, ``tganaug generate``, ``tganaug track`` and the datasets.
What each kind must provide is :mod:`tganaug.contracts`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tganaug.contracts import REQUIRED_MEMBERS, check_plugin, missing_members, plugin_name
from tganaug.lineage import LineageError, track_problems
from tganaug.registry import PluginRegistry, get_plugin

__all__ = ["checked_simulation", "describe", "resolve"]


def resolve(kind: str, spec: Any, config: dict[str, Any] | None = None, registry: PluginRegistry | None = None) -> Any:
    """Return a ready ``kind`` object (``"simulator"``, ``"generator"``, ``"segmenter"`` or ``"tracker"``).

    ``spec`` is a plugin name (created with ``config`` as keyword arguments; an unknown name raises
    :class:`tganaug.UnknownPluginError` listing the installed ones) or an object with the kind's required members
    (:data:`tganaug.contracts.REQUIRED_MEMBERS`: ``simulate`` / ``generate`` / ``segment`` / ``track``; ``config``
    must then be None). ``TypeError`` naming each missing member otherwise.
    """
    if kind not in REQUIRED_MEMBERS:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(REQUIRED_MEMBERS)}")
    if isinstance(spec, str):
        return check_plugin(kind, get_plugin(kind, spec, registry, **(config or {})), f"{kind} plugin {spec!r}")
    if config:
        raise ValueError(f"{kind}_config is only used with a {kind} plugin name, not with a ready {kind} object")
    missing = missing_members(kind, spec)
    if missing:
        methods = " and ".join(f"{member}()" for member in missing)
        raise TypeError(f"{kind} must be a plugin name or an object with a {methods} method, got {type(spec).__name__}")
    return spec


def checked_simulation(video: Any, name: str, shape: tuple[int, int, int], validate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The labels and lineage of simulator ``name``'s ``simulate()`` result, checked.

    Returns ``(T, H, W)`` integer instance labels (as returned) and the ``(N, 4) int64`` lineage.
    Raises :class:`TypeError` when ``video`` has no ``labels`` / ``lineage``
    (:class:`tganaug.contracts.SimulationResult`), :class:`ValueError` when the labels are not ``shape`` or not
    integers, and (``validate``) :class:`LineageError` naming the simulator when labels and lineage disagree.
    """
    if not hasattr(video, "labels") or not hasattr(video, "lineage"):
        raise TypeError(f"simulator {name!r}: simulate() must return an object with .labels and .lineage, got {type(video).__name__}")
    labels = np.asarray(video.labels)
    if labels.shape != tuple(shape):
        raise ValueError(f"simulator {name!r} returned labels {labels.shape}, expected {tuple(shape)}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"simulator {name!r} returned labels of dtype {labels.dtype}, expected integer instance ids")
    if labels.size and (labels.min() < 0 or labels.max() > 65535):  # CTC masks are uint16: others would wrap into other ids
        raise ValueError(f"simulator {name!r} returned label ids {int(labels.min())}..{int(labels.max())}, outside 0..65535")
    lineage = np.asarray(video.lineage, dtype=np.int64).reshape(-1, 4)
    if validate:
        problems = track_problems(labels, lineage)
        if problems:
            raise LineageError(f"simulator {name!r}: labels and lineage disagree: " + "; ".join(problems[:5]))
    return labels, lineage


def describe(obj: Any, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"name": ..., "config": ...}`` of a plugin object for records (JSON-friendly): its ``name``
    (:class:`tganaug.contracts.Named`) and its own ``config`` (:class:`tganaug.contracts.Configured`), or, for an
    object without one, the keyword configuration ``given`` to its factory."""
    config = getattr(obj, "config", None)
    if config is None and given:
        config = dict(given)
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    elif isinstance(config, (list, tuple)):
        config = list(config)
    elif config is not None and not isinstance(config, (dict, str, int, float, bool)):
        config = repr(config)
    return {"name": plugin_name(obj), "config": config}
