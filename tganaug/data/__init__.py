"""Datasets for training loops: synthetic videos made on access, real CTC clips, and mixtures.

Every dataset yields the same item format (dict of tensors)::

    "image":   float32 (T, 1, H, W) in [0, 1]
    "label":   int64   (T, H, W)  instance ids, label = track id, consistent over time
    "lineage": int64   (N, 4)     id, start, end, parent (CTC man_track, frames from 0 in the clip)
    "meta":    dict               where the item came from

Batch with :func:`collate_videos` (pads lineages with -1 rows and adds ``lineage_length``).

The datasets need torch and MONAI: they are imported on first use, so that light submodules
(``tganaug.data.normalize``, ``tganaug.data.seeding``) can be imported without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "LINEAGE_PAD": "tganaug.data.collate",
    "collate_videos": "tganaug.data.collate",
    "CTCVideoDataset": "tganaug.data.ctc",
    "MixedVideoDataset": "tganaug.data.mixed",
    "Normalization": "tganaug.data.normalize",
    "fit_normalization": "tganaug.data.normalize",
    "SyntheticVideoDataset": "tganaug.data.synthetic",
    "SyntheticVideoStream": "tganaug.data.synthetic",
    "VideoTransformError": "tganaug.data.transforms",
}

__all__ = [
    "LINEAGE_PAD",
    "CTCVideoDataset",
    "MixedVideoDataset",
    "Normalization",
    "SyntheticVideoDataset",
    "SyntheticVideoStream",
    "VideoTransformError",
    "collate_videos",
    "fit_normalization",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tganaug.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
