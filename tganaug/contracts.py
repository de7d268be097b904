"""What tganaug calls on a plugin object: the four plugin kinds and their optional capabilities, as Protocols.

Light on purpose (numpy and the standard library only): commands that never touch torch or MONAI
(``tganaug simulate``, ``tganaug generate --generator procedural``) import it.

Plugin kinds (required members, called exactly as written here; keep the parameter names, some calls use keywords):

========== =================== ================================================================================
kind       Protocol            required member
========== =================== ================================================================================
simulator  :class:`Simulator`  ``simulate(frames, height, width, seed=0)`` -> :class:`SimulationResult`
generator  :class:`Generator`  ``generate(labels, background=None, seed=None)`` -> ``(T, H, W) float32``
segmenter  :class:`Segmenter`  ``segment(images)`` -> ``(T, H, W)`` integer instance labels
tracker    :class:`Tracker`    ``track(labels)`` -> ``(tracked, lineage)``
========== =================== ================================================================================

Optional capabilities, each with one test used wherever the library asks (a member of that name must mean exactly
what its Protocol says): :func:`supports_batch_generation`, :func:`supports_frame_stream`,
:func:`supports_simulation_stream`, :func:`fits_from_ctc`, :func:`has_config`, :func:`reports_progress`
(and :func:`plugin_name` for ``.name``). :func:`check_plugin` refuses an object without its kind's required members,
naming them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeGuard, runtime_checkable

import numpy as np

__all__ = [
    "PLUGIN_PROTOCOLS",
    "REQUIRED_MEMBERS",
    "Configured",
    "FitsFromCTC",
    "Generator",
    "Named",
    "ReportsProgress",
    "Segmenter",
    "SimulationResult",
    "SimulationStream",
    "Simulator",
    "SupportsBatchGeneration",
    "SupportsFrameStream",
    "SupportsSimulationStream",
    "Tracker",
    "check_plugin",
    "fits_from_ctc",
    "has_config",
    "missing_members",
    "plugin_name",
    "reports_progress",
    "supports_batch_generation",
    "supports_frame_stream",
    "supports_simulation_stream",
]


# -- what plugins return ---------------------------------------------------------------------------------------------

@runtime_checkable
class SimulationResult(Protocol):
    """What ``simulate()`` returns (e.g. :class:`tganaug.SimulatedVideo`).

    ``labels``: ``(T, H, W)`` integer instance labels, ids 0..65535 (0 = background), label = track id, consistent
    over time. ``lineage``: ``(N, 4)`` integer CTC rows ``id start end parent`` (frames from 0, inclusive), one per id.
    """

    labels: Any
    lineage: Any


@runtime_checkable
class SimulationStream(Protocol):
    """What ``simulate_stream()`` returns: a once-iterable of ``(H, W)`` integer label frames whose ``lineage``
    (``(N, 4)`` integer CTC rows) is readable after the last frame."""

    lineage: Any

    def __iter__(self) -> Iterator[np.ndarray]: ...


# -- the four plugin kinds -------------------------------------------------------------------------------------------

@runtime_checkable
class Simulator(Protocol):
    """A mask simulator.

    ``simulate(frames, height, width, seed=0)``: ``frames``, ``height``, ``width`` positive ints, ``seed`` a
    non-negative int < 2**32; the same arguments give the same video. Returns a :class:`SimulationResult` whose
    labels have shape ``(frames, height, width)``. Called as ``simulate(frames=, height=, width=, seed=)`` by
    ``tganaug simulate`` and as ``simulate(frames, height, width, seed=seed)`` by ``tganaug generate`` and the
    datasets.
    """

    def simulate(self, frames: int, height: int, width: int, seed: int = 0) -> SimulationResult: ...


@runtime_checkable
class Generator(Protocol):
    """A video generator.

    ``generate(labels, background=None, seed=None)``: ``labels`` ``(T, H, W)`` integer instance labels (uint16 when
    read from CTC masks), ``background`` an ``(H, W) float32`` image in [0, 1] or None (the generator's own),
    ``seed`` an int or None. Returns the ``(T, H, W) float32`` video in [0, 1], one frame per label frame.
    """

    def generate(self, labels: np.ndarray, background: np.ndarray | None = None, seed: int | None = None) -> np.ndarray: ...


@runtime_checkable
class Segmenter(Protocol):
    """A segmenter.

    ``segment(images)``: ``images`` the ``(T, H, W)`` raw frames in the dtype stored (e.g. uint8 or uint16), not
    normalised. Returns ``(T, H, W)`` integer instance labels (ids 0..65535, per frame; need not be consistent
    over time). May also take ``progress`` (:class:`ReportsProgress`).
    """

    def segment(self, images: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Tracker(Protocol):
    """A tracker.

    ``track(labels)``: ``labels`` ``(T, H, W)`` uint16 instance labels (ids per frame). Returns ``(tracked, lineage)``:
    ``tracked`` ``(T, H, W)`` integer labels by track id, ``lineage`` ``(N, 4)`` integer CTC rows of those ids
    (frames from 0 = the first frame given). May also take ``progress`` (:class:`ReportsProgress`).
    """

    def track(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


#: plugin kind -> its Protocol
PLUGIN_PROTOCOLS: dict[str, type] = {"simulator": Simulator, "generator": Generator, "segmenter": Segmenter, "tracker": Tracker}
#: plugin kind -> the methods an object of that kind must have (its Protocol's members)
REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "simulator": ("simulate",), "generator": ("generate",), "segmenter": ("segment",), "tracker": ("track",),
}


# -- optional capabilities -------------------------------------------------------------------------------------------

@runtime_checkable
class SupportsBatchGeneration(Protocol):
    """A generator that renders several videos at once.

    ``generate_batch(labels, backgrounds, seeds)``: positional lists of B same-shape ``(T, H, W)`` integer label
    videos, B backgrounds (``(H, W) float32`` or None), B seeds. Returns ``(B, T, H, W) float32`` in [0, 1], video
    ``b`` equal (up to float rounding) to ``generate(labels[b], background=backgrounds[b], seed=seeds[b])``. Used by
    the datasets with ``render_batch > 1``.
    """

    def generate_batch(self, labels: Sequence[np.ndarray], backgrounds: Sequence[np.ndarray | None],
                       seeds: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class SupportsFrameStream(Protocol):
    """A generator that renders frame by frame.

    ``iter_frames(label_frames, background=None, seed=None)``: ``label_frames`` a one-pass iterable of ``(H, W)``
    integer label frames; yields one ``(H, W) float32`` frame in [0, 1] per label frame, reading them as it goes
    (the same bytes as ``generate``). ``tganaug generate`` uses it instead of ``generate`` whenever it exists.
    """

    def iter_frames(self, label_frames: Iterable[np.ndarray], background: np.ndarray | None = None,
                    seed: int | None = None) -> Iterator[np.ndarray]: ...


@runtime_checkable
class SupportsSimulationStream(Protocol):
    """A simulator that simulates frame by frame.

    ``simulate_stream(frames, height, width, seed=0)`` -> :class:`SimulationStream` of the same video as
    ``simulate`` with the same arguments; ``tganaug generate`` uses it (memory independent of ``frames``).
    """

    def simulate_stream(self, frames: int, height: int, width: int, seed: int = 0) -> SimulationStream: ...


@runtime_checkable
class FitsFromCTC(Protocol):
    """A simulator factory (e.g. a class with a classmethod) that estimates its parameters from real data.

    ``from_ctc(path, frames="train", sequence=..., **params)``: ``path`` a CTC dataset folder, ``frames`` a split name
    (``train``, ``eval``, ``all``) of ``sequence``; returns a ready :class:`Simulator`. Used by
    ``tganaug simulate --from-ctc``.
    """

    def from_ctc(self, path: str, frames: Any = "train", sequence: str = "01", **params: Any) -> Simulator: ...


@runtime_checkable
class Configured(Protocol):
    """An object whose ``config`` is the configuration recorded for it (``to_dict()`` when it has one, a dataclass,
    a dict, list, str or number; anything else as ``repr``). Without one, the factory's keyword parameters are
    recorded."""

    config: Any


@runtime_checkable
class Named(Protocol):
    """An object with a ``name`` (a str, its public plugin name) used in records and messages."""

    name: str


class ReportsProgress(Protocol):
    """A ``segment`` / ``track`` / ``simulate`` method that takes a ``progress`` keyword: a callable it calls as
    ``progress(t)`` after frame ``t``. Parameter names cannot be tested with ``isinstance``: use
    :func:`reports_progress`."""

    def __call__(self, data: Any, /, *args: Any, progress: Callable[[int], None] | None = None, **kwargs: Any) -> Any: ...


def _has_method(obj: Any, name: str) -> bool:
    # getattr, not isinstance: a property that raises AttributeError (a wrapper without the member) counts as absent
    return callable(getattr(obj, name, None))


def supports_batch_generation(generator: Any) -> TypeGuard[SupportsBatchGeneration]:
    """Whether ``generator`` has a callable ``generate_batch`` (:class:`SupportsBatchGeneration`)."""
    return _has_method(generator, "generate_batch")


def supports_frame_stream(generator: Any) -> TypeGuard[SupportsFrameStream]:
    """Whether ``generator`` has a callable ``iter_frames`` (:class:`SupportsFrameStream`)."""
    return _has_method(generator, "iter_frames")


def supports_simulation_stream(simulator: Any) -> TypeGuard[SupportsSimulationStream]:
    """Whether ``simulator`` has a callable ``simulate_stream`` (:class:`SupportsSimulationStream`)."""
    return _has_method(simulator, "simulate_stream")


def fits_from_ctc(factory: Any) -> TypeGuard[FitsFromCTC]:
    """Whether the simulator ``factory`` has a callable ``from_ctc`` (:class:`FitsFromCTC`)."""
    return _has_method(factory, "from_ctc")


def has_config(obj: Any) -> TypeGuard[Configured]:
    """Whether ``obj`` has a ``config`` that is not None (:class:`Configured`)."""
    return getattr(obj, "config", None) is not None


def plugin_name(obj: Any) -> str:
    """``obj.name`` as a str (:class:`Named`), else its class name."""
    return str(getattr(obj, "name", type(obj).__name__))


def reports_progress(method: Callable[..., Any]) -> TypeGuard[ReportsProgress]:
    """Whether ``method`` takes a ``progress`` parameter (:class:`ReportsProgress`); False when it has no signature
    to read (e.g. a C extension)."""
    try:
        return "progress" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def missing_members(kind: str, obj: Any) -> list[str]:
    """The required members of plugin ``kind`` (:data:`REQUIRED_MEMBERS`) that ``obj`` lacks or has but cannot call."""
    if kind not in REQUIRED_MEMBERS:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(REQUIRED_MEMBERS)}")
    return [member for member in REQUIRED_MEMBERS[kind] if not _has_method(obj, member)]


def check_plugin(kind: str, obj: Any, source: str | None = None) -> Any:
    """``obj`` when it has every required member of plugin ``kind``; else ``TypeError`` naming ``source`` (default:
    ``"<kind> <class name>"``) and each missing member, e.g. ``tracker 'mine' (a Mine) has no track() method``."""
    missing = missing_members(kind, obj)
    if missing:
        what = source or kind
        methods = " and ".join(f"{member}()" for member in missing)
        raise TypeError(f"{what} (a {type(obj).__name__}) has no {methods} method{'s' if len(missing) > 1 else ''}: "
                        f"a {kind} needs {', '.join(f'{m}()' for m in REQUIRED_MEMBERS[kind])} (tganaug.contracts.{PLUGIN_PROTOCOLS[kind].__name__})")
    return obj
