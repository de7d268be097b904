"""Moved to :mod:`tganaug.plugin_objects` (light: no torch); kept so that existing imports work."""

from tganaug.plugin_objects import checked_simulation, describe, resolve

__all__ = ["checked_simulation", "describe", "resolve"]
