"""tganaug: annotated synthetic time-lapse microscopy videos for training cell trackers.

Public entry points::

    from tganaug import get_simulator, read_ctc, write_ctc, validate_tracks
    video = get_simulator("division").simulate(frames=20, height=128, width=128, seed=0)
"""

from __future__ import annotations

from typing import Any

from tganaug.hookspecs import hookimpl
from tganaug.io import CTCFormatError, CTCSequence, read_ctc, write_ctc
from tganaug.lineage import LineageError, track_problems, validate_tracks
from tganaug.registry import (
    PluginRegistry,
    PluginWarning,
    UnknownPluginError,
    default_registry,
    get_generator,
    get_plugin,
    get_segmenter,
    get_simulator,
    get_tracker,
)
from tganaug.simulation import SimulatedVideo, Simulator
from tganaug.version import __version__

# Datasets need torch and MONAI: imported on first use so `import tganaug` and the CLI stay light.
_LAZY = {
    "SyntheticVideoDataset": "tganaug.data",
    "SyntheticVideoStream": "tganaug.data",
    "CTCVideoDataset": "tganaug.data",
    "MixedVideoDataset": "tganaug.data",
    "collate_videos": "tganaug.data",
    "generate": "tganaug.appearance",
    "segment_and_track": "tganaug.tracking.pipeline",
    "write_simulation": "tganaug.simulation.writing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tganaug' has no attribute {name!r}")


__all__ = [
    "__version__",
    "CTCVideoDataset",
    "MixedVideoDataset",
    "SyntheticVideoDataset",
    "SyntheticVideoStream",
    "collate_videos",
    "hookimpl",
    "CTCFormatError",
    "CTCSequence",
    "LineageError",
    "PluginRegistry",
    "PluginWarning",
    "SimulatedVideo",
    "Simulator",
    "UnknownPluginError",
    "default_registry",
    "generate",
    "get_generator",
    "get_plugin",
    "get_segmenter",
    "get_simulator",
    "get_tracker",
    "read_ctc",
    "segment_and_track",
    "track_problems",
    "validate_tracks",
    "write_ctc",
    "write_simulation",
]
