"""Resolve simulators and generators given as plugin names or as ready objects."""

from __future__ import annotations

import dataclasses
from typing import Any

from tganaug.registry import PluginRegistry, get_plugin

__all__ = ["describe", "resolve"]

_METHOD = {"simulator": "simulate", "generator": "generate"}


def resolve(kind: str, spec: Any, config: dict[str, Any] | None = None, registry: PluginRegistry | None = None) -> Any:
    """Return a ready ``kind`` object (``"simulator"`` or ``"generator"``).

    ``spec`` is a plugin name (created with ``config`` as keyword arguments; an unknown name raises
    :class:`tganaug.UnknownPluginError` listing the installed ones) or an object with the
    ``simulate`` / ``generate`` method (``config`` must then be None).
    """
    method = _METHOD[kind]
    if isinstance(spec, str):
        return get_plugin(kind, spec, registry, **(config or {}))
    if config:
        raise ValueError(f"{kind}_config is only used with a {kind} plugin name, not with a ready {kind} object")
    if not callable(getattr(spec, method, None)):
        raise TypeError(f"{kind} must be a plugin name or an object with a {method}() method, got {type(spec).__name__}")
    return spec


def describe(obj: Any) -> dict[str, Any]:
    """``{"name": ..., "config": ...}`` of a simulator/generator for item metadata (JSON-friendly)."""
    name = getattr(obj, "name", type(obj).__name__)
    config = getattr(obj, "config", None)
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    elif config is not None and not isinstance(config, (dict, str, int, float, bool)):
        config = repr(config)
    return {"name": str(name), "config": config}
