"""A tiny hand-made CTC dataset folder for the benchmark tests: ``MyNuclei`` with sequences 01 and 02 and a
per-sequence ``splits.json`` (02 evaluation-only)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tganaug.io import write_sequence_files


def nuclei_video(n_frames: int, height: int, width: int, seed: int, *, shift: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images uint16, labels uint16, lineage)`` of three bright disks drifting right on a noisy dark background;
    the third appears at frame 2 (a track that starts late)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    labels = np.zeros((n_frames, height, width), np.uint16)
    starts = [(20, 18 + shift), (52, 40 + shift), (30, 62 + shift)]
    for t in range(n_frames):
        for k, (y, x) in enumerate(starts, start=1):
            if k == 3 and t < 2:
                continue
            labels[t][(yy - y) ** 2 + (xx - x - t) ** 2 <= 9**2] = k
    images = (200 + 600 * (labels > 0) + rng.normal(0, 25, labels.shape)).clip(0, 4000).astype(np.uint16)
    lineage = np.array([[1, 0, n_frames - 1, 0], [2, 0, n_frames - 1, 0], [3, 2, n_frames - 1, 0]], dtype=np.int64)
    return images, labels, lineage


def make_nuclei(parent: Path, *, n_frames: int = 12, splits: dict | None = None, seg: bool = False) -> Path:
    """``parent/MyNuclei`` with sequences 01 and 02 (``n_frames`` frames of 80 x 96 each) and ``splits.json``
    (default: 01 train 0-7 / eval 8-11, 02 eval only); ``seg``: GT SEG masks (equal to the TRA masks) for 02."""
    root = parent / "MyNuclei"
    root.mkdir(parents=True)
    for sequence, seed, shift in (("01", 0, 0), ("02", 1, 4)):
        images, labels, lineage = nuclei_video(n_frames, 80, 96, seed, shift=shift)
        write_sequence_files(root, labels, lineage, images, sequence, "GT", True)
        if seg and sequence == "02":
            import tifffile

            (root / "02_GT" / "SEG").mkdir()
            for t in (1, 5):
                tifffile.imwrite(root / "02_GT" / "SEG" / f"man_seg{t:03d}.tif", labels[t])
    default = {"01": {"train": [0, 7], "eval": [8, n_frames - 1]}, "02": {"train": None, "eval": "all"}}
    (root / "splits.json").write_text(json.dumps(splits if splits is not None else default))
    return root
