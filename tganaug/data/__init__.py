"""Datasets for training loops: synthetic videos made on access, real CTC clips, and mixtures.

Every dataset yields the same item format (dict of tensors)::

    "image":   float32 (T, 1, H, W) in [0, 1]
    "label":   int64   (T, H, W)  instance ids, label = track id, consistent over time
    "lineage": int64   (N, 4)     id, start, end, parent (CTC man_track, frames from 0 in the clip)
    "meta":    dict               where the item came from

Batch with :func:`collate_videos` (pads lineages with -1 rows and adds ``lineage_length``).
"""

from tganaug.data.collate import LINEAGE_PAD, collate_videos
from tganaug.data.ctc import CTCVideoDataset
from tganaug.data.mixed import MixedVideoDataset
from tganaug.data.normalize import Normalization, fit_normalization
from tganaug.data.synthetic import SyntheticVideoDataset, SyntheticVideoStream
from tganaug.data.transforms import VideoTransformError

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
