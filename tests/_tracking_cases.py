"""Small synthetic label videos with known tracks, shared by the tracking tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.draw import disk

#: the shared data folder (``../shared/data`` from the repository root); tests skip without it
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def disc_video(
    frames: int = 8,
    size: int = 96,
    divide_at: int | None = None,
    split: int = 5,
    gap: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """``(T, size, size) uint16`` video of three moving discs A (row 25), B (row 55), C (row 80).

    A divides at frame ``divide_at`` into two discs ``split`` px above/below its path (moving apart
    2 px per frame); B is missing in frame ``gap``. With ``shuffle`` the ids are permuted in every
    frame (a detector's output); without, A=1 (daughters 1, 2 -> see :func:`gt_lineage`), B=2, C=3.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros((frames, size, size), np.uint16)
    for t in range(frames):
        objects = []
        if divide_at is None or t < divide_at:
            objects.append((25, 15 + 2 * t, 8))
        else:
            d = split + 2 * (t - divide_at)
            objects += [(25 - d, 15 + 2 * t, 5), (25 + d, 15 + 2 * t, 5)]
        if gap is None or t != gap:
            objects.append((55, 15 + 3 * t, 7))
        objects.append((80, 70 - 2 * t, 7))
        ids = rng.permutation(len(objects)) + 1 if shuffle else np.arange(1, len(objects) + 1)
        for (row, col, radius), label in zip(objects, ids):
            rr, cc = disk((row, col), radius, shape=(size, size))
            labels[t, rr, cc] = label
    return labels


def tracked_gt(frames: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A perfectly tracked ground truth: three discs, ids 1..3 over all ``frames``, and its lineage."""
    labels = disc_video(frames=frames, shuffle=False)
    lineage = np.array([[i, 0, frames - 1, 0] for i in (1, 2, 3)], dtype=np.int64)
    return labels, lineage


def division_gt(frames: int = 6, divide_at: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A tracked GT with one division: mother 1 (frames ``0..divide_at-1``) divides into 4 and 5; discs 2 and 3
    throughout. Returns ``(T, 96, 96) uint16`` labels and the ``(5, 4)`` lineage."""
    video = disc_video(frames=frames, divide_at=divide_at, shuffle=False)  # after the division: daughters 1, 2, B 3, C 4
    gt = video.copy()
    for old, new in ((1, 4), (2, 5), (3, 2), (4, 3)):
        gt[divide_at:][video[divide_at:] == old] = new
    last = frames - 1
    lineage = np.array([[1, 0, divide_at - 1, 0], [2, 0, last, 0], [3, 0, last, 0], [4, divide_at, last, 1], [5, divide_at, last, 1]])
    return gt, lineage


def image_video(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(T, H, W) uint16`` fluorescence-like frames: bright cells (~600) on a dark noisy background (~100)."""
    rng = np.random.default_rng(seed)
    images = 100.0 + 500.0 * (labels > 0) + rng.normal(0, 20, labels.shape)
    return np.clip(images, 0, 65535).astype(np.uint16)
