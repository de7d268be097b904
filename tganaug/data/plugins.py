"""Resolve simulators and generators given as plugin names or as ready objects."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tganaug.lineage import LineageError, track_problems
from tganaug.registry import PluginRegistry, get_plugin

__all__ = ["checked_simulation", "describe", "resolve"]

_METHOD = {"simulator": "simulate", "generator": "generate"}


def resolve(kind: str, spec: Any, config: dict[str, Any] | None = None, registry: PluginRegistry | None = None) -> Any:
    """Return a ready ``kind`` object (``"simulator"`` or ``"generator"``).

    ``spec`` is a plugin name (created with ``config`` as keyword arguments; an unknown name raises
    :class:`tganaug.UnknownPluginError` listing the installed ones) or an object with the
    ``simulate`` / ``generate`` method (``config`` must then be None).
    """
    method = _METHOD[kind]
    if isinstance(spec, str):
        made = get_plugin(kind, spec, registry, **(config or {}))
        if not callable(getattr(made, method, None)):
            raise TypeError(f"{kind} plugin {spec!r} made a {type(made).__name__}, which has no {method}() method")
        return made
    if config:
        raise ValueError(f"{kind}_config is only used with a {kind} plugin name, not with a ready {kind} object")
    if not callable(getattr(spec, method, None)):
        raise TypeError(f"{kind} must be a plugin name or an object with a {method}() method, got {type(spec).__name__}")
    return spec


def checked_simulation(video: Any, name: str, shape: tuple[int, int, int], validate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The labels and lineage of simulator ``name``'s ``simulate()`` result, checked.

    Returns ``(T, H, W)`` integer instance labels (as returned) and the ``(N, 4) int64`` lineage.
    Raises :class:`TypeError` when ``video`` has no ``labels`` / ``lineage``, :class:`ValueError`
    when the labels are not ``shape`` or not integers, and (``validate``) :class:`LineageError`
    naming the simulator when labels and lineage disagree.
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
    """``{"name": ..., "config": ...}`` of a simulator/generator for item metadata (JSON-friendly): its own
    ``config``, or, for an object without one, the keyword configuration ``given`` to its factory."""
    name = getattr(obj, "name", type(obj).__name__)
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
    return {"name": str(name), "config": config}
