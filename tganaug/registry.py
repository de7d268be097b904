"""Plugin discovery through entry points and pluggy, with broken plugins isolated.

Every plugin, built-in or third-party, is found through the entry-point groups of
:data:`tganaug.hookspecs.PLUGIN_KINDS`. A plugin that fails to import, or whose hook raises or
returns something other than a ``{name: factory}`` mapping, is reported by name in a
:class:`PluginWarning` and skipped; the other plugins keep working.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

import tganaug.hookspecs as hookspecs
from tganaug.hookspecs import PLUGIN_KINDS

__all__ = ["PluginWarning", "UnknownPluginError", "PluginInfo", "PluginRegistry", "default_registry", "get_generator", "get_plugin",
           "get_segmenter", "get_simulator", "get_tracker"]

_BUILTIN_DISTRIBUTION = "tganaug"  # the package whose entry points register the built-in plugins


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered; it is skipped."""


class UnknownPluginError(KeyError):
    """No plugin of that kind is registered under that name."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin name: what it is and where it comes from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    entry_point: str  # "group: name = module"
    distribution: str  # installed package providing it ("?" when registered in code)


class PluginRegistry:
    """The plugins of each kind, discovered from entry points (and optionally added in code).

    Args:
        load_entry_points: discover installed plugins (default). ``False`` starts empty, for tests
            or for applications that register plugins by hand with :meth:`register`.
    """

    def __init__(self, load_entry_points: bool = True) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self._sources: dict[str, tuple[str, str]] = {}
        self._where_by_group: dict[str, dict[str, str]] = {}  # plugin -> entry-point group -> its entry point
        self._plugins: dict[str, dict[str, PluginInfo]] | None = None
        if load_entry_points:
            for group, hook_name in PLUGIN_KINDS.values():
                self._load_group(group, hook_name)

    def _load_group(self, group: str, hook_name: str) -> None:
        for entry_point in importlib.metadata.entry_points(group=group):
            distribution = entry_point.dist.name if entry_point.dist is not None else "?"
            where = f"{group}: {entry_point.name} = {entry_point.value}"
            try:
                plugin = entry_point.load()
            except (Exception, SystemExit) as error:  # a third-party import can fail in any way, sys.exit() included
                warnings.warn(
                    f"tganaug plugin {entry_point.name!r} from {distribution} ({where}) failed to load and is "
                    f"skipped: {type(error).__name__}: {error}",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            self.register(plugin, where=where, distribution=distribution, group=group)
            self._check_hooks(plugin, hook_name, where, distribution)

    def _check_hooks(self, plugin: object, hook_name: str, where: str, distribution: str) -> None:
        """Warn, naming the plugin, when the module an entry point of ``hook_name``'s group names implements no
        ``hook_name`` (a missing ``@hookimpl``) or marks a function that is no tganaug hook (a misspelt name)."""
        known = [name for _group, name in PLUGIN_KINDS.values()]
        marked = [name for name in dir(plugin) if self.manager.parse_hookimpl_opts(plugin, name) is not None]
        for name in marked:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                warnings.warn(
                    f"tganaug plugin ({where}) from {distribution}: {name}() is marked @hookimpl but is no tganaug hook"
                    + (f" (did you mean {close[0]}?)" if close else f" (hooks: {', '.join(known)})"),
                    PluginWarning,
                    stacklevel=4,
                )
        if hook_name not in marked:
            unmarked = callable(getattr(plugin, hook_name, None))
            warnings.warn(
                f"tganaug plugin ({where}) from {distribution} provides no {hook_name}() hook and adds nothing"
                + (f": its {hook_name}() lacks the @tganaug.hookimpl decorator" if unmarked else ""),
                PluginWarning,
                stacklevel=4,
            )

    def register(self, plugin: object, where: str = "registered in code", distribution: str = "?", *, group: str | None = None) -> None:
        """Register a plugin object (module or instance implementing tganaug hooks); ``group``: the entry-point
        group it was found under (one module may be listed under several, each reported with its own entry point)."""
        if self.manager.is_registered(plugin):
            if group is not None:
                self._where_by_group.setdefault(self.manager.get_name(plugin), {}).setdefault(group, where)
            return
        try:
            self.manager.register(plugin, name=f"{where} #{len(self._sources)}")
        except Exception as error:  # pluggy validates hook signatures here
            warnings.warn(
                f"tganaug plugin ({where}) from {distribution} could not be registered and is skipped: {error}",
                PluginWarning,
                stacklevel=3,
            )
            return
        self._sources[self.manager.get_name(plugin)] = (where, distribution)
        if group is not None:
            self._where_by_group[self.manager.get_name(plugin)] = {group: where}
        self._plugins = None

    def _collect(self) -> dict[str, dict[str, PluginInfo]]:
        collected: dict[str, dict[str, PluginInfo]] = {kind: {} for kind in PLUGIN_KINDS}
        for kind, (group, hook_name) in PLUGIN_KINDS.items():
            impls = getattr(self.manager.hook, hook_name).get_hookimpls()
            # the built-in plugins first, so that a name collision never replaces a built-in
            impls = sorted(impls, key=lambda impl: self._sources.get(impl.plugin_name, ("?", "?"))[1] != _BUILTIN_DISTRIBUTION)
            for impl in impls:
                where, distribution = self._sources.get(impl.plugin_name, ("?", "?"))
                where = self._where_by_group.get(impl.plugin_name, {}).get(group, where)
                try:
                    provided = impl.function()  # a SystemExit in it is caught below too
                    if not isinstance(provided, dict):
                        raise TypeError(f"{hook_name}() must return a dict of name -> factory, got {type(provided).__name__}")
                    for name, factory in provided.items():
                        if not isinstance(name, str):
                            raise TypeError(f"{hook_name}() must return a dict of name -> factory; its key {name!r} is not a str")
                        if not callable(factory):
                            raise TypeError(
                                f"{hook_name}() must return a dict of name -> factory; {name!r} maps to a "
                                f"{type(factory).__name__}, which is not callable"
                            )
                except (Exception, SystemExit) as error:
                    warnings.warn(
                        f"tganaug plugin ({where}) from {distribution} failed in {hook_name}() and is skipped: "
                        f"{type(error).__name__}: {error}",
                        PluginWarning,
                        stacklevel=4,
                    )
                    continue
                for name, factory in provided.items():
                    if name in collected[kind]:
                        first = collected[kind][name]
                        warnings.warn(
                            f"{kind} {name!r} from {distribution} ({where}) is already provided by "
                            f"{first.distribution} ({first.entry_point}); keeping the first (built-ins always come first)",
                            PluginWarning,
                            stacklevel=4,
                        )
                        continue
                    collected[kind][name] = PluginInfo(kind, name, factory, where, distribution)
        return collected

    @property
    def plugins(self) -> dict[str, dict[str, PluginInfo]]:
        """kind -> name -> :class:`PluginInfo`, for every kind of :data:`PLUGIN_KINDS`."""
        if self._plugins is None:
            self._plugins = self._collect()
        return self._plugins

    def names(self, kind: str) -> list[str]:
        """Sorted plugin names of one kind."""
        return sorted(self._kind(kind))

    def _kind(self, kind: str) -> dict[str, PluginInfo]:
        if kind not in PLUGIN_KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; choose one of {', '.join(PLUGIN_KINDS)}")
        return self.plugins[kind]

    def info(self, kind: str, name: str) -> PluginInfo:
        """The :class:`PluginInfo` of ``name``; raises :class:`UnknownPluginError` listing the known names."""
        available = self._kind(kind)
        if name not in available:
            listing = ", ".join(sorted(available)) or "none installed"
            raise UnknownPluginError(f"unknown {kind} {name!r}; available {kind}s: {listing}")
        return available[name]

    def create(self, kind: str, name: str, **config: Any) -> Any:
        """Instantiate plugin ``name`` of ``kind`` with keyword configuration."""
        return self.info(kind, name).factory(**config)


@functools.lru_cache(maxsize=1)
def default_registry() -> PluginRegistry:
    """The registry of installed plugins, discovered once per process (``cache_clear()`` to rescan)."""
    return PluginRegistry()


def get_plugin(kind: str, name: str, registry: PluginRegistry | None = None, **config: Any) -> Any:
    """Create plugin ``name`` of ``kind`` from ``registry`` (default: installed plugins)."""
    return (registry or default_registry()).create(kind, name, **config)


def get_simulator(name: str, registry: PluginRegistry | None = None, **config: Any) -> Any:
    """Create the mask simulator registered as ``name`` with keyword configuration."""
    return get_plugin("simulator", name, registry, **config)


def get_generator(name: str, registry: PluginRegistry | None = None, **config: Any) -> Any:
    """Create the video generator registered as ``name`` with keyword configuration."""
    return get_plugin("generator", name, registry, **config)


def get_segmenter(name: str, registry: PluginRegistry | None = None, **config: Any) -> Any:
    """Create the segmenter registered as ``name`` with keyword configuration."""
    return get_plugin("segmenter", name, registry, **config)


def get_tracker(name: str, registry: PluginRegistry | None = None, **config: Any) -> Any:
    """Create the tracker registered as ``name`` with keyword configuration."""
    return get_plugin("tracker", name, registry, **config)
