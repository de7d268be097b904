"""A hand-made marker-annotated CTC recording: markers in ``01_GT/TRA``, full outlines in ``01_ST/SEG``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import tifffile

from tganaug.io import write_ctc

SHAPE, FRAMES, RADIUS = (96, 96), 9, 13
#: per train frame (0-5): 4 outline objects, 3 holding a marker; frame 2 also has a marker without an object
COUNTS = {"objects": 24, "joined": 18, "objects_without_marker": 6, "markers": 19, "markers_without_object": 1}


def disk(centre: tuple[int, int], radius: float) -> np.ndarray:
    yy, xx = np.indices(SHAPE)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def outlines_and_markers() -> tuple[np.ndarray, np.ndarray]:
    outlines = np.zeros((FRAMES, *SHAPE), np.uint16)
    markers = np.zeros_like(outlines)
    for t in range(FRAMES):
        for k, centre in enumerate([(20, 20 + t), (70, 70 - t), (20, 72)]):  # two moving cells, one still
            outlines[t][disk(centre, RADIUS)] = 10 + k
            markers[t][disk(centre, 3)] = k + 1
        outlines[t][disk((72, 22 + t), 12)] = 20  # an unannotated cell
        if t == 2:
            markers[t][disk((48, 48), 2)] = 4  # a marker without an outline
    return outlines, markers


def images_of(outlines: np.ndarray, cell_level: float = 160.0) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0, 3, outlines.shape)
    return (40 + noise + cell_level * (outlines > 0)).clip(0, 255).astype(np.uint8)


def make_recording(root: Path, splits: bool = True) -> Path:
    """Markers in ``01_GT/TRA``, full outlines in ``01_ST/SEG``; frames 0-5 train, 6-8 eval, sequence 02 evaluation-only."""
    outlines, markers = outlines_and_markers()
    lineage = np.array([[1, 0, FRAMES - 1, 0], [2, 0, FRAMES - 1, 0], [3, 0, FRAMES - 1, 0], [4, 2, 2, 0]])
    write_ctc(root, markers, lineage, images_of(outlines))
    (root / "01_ST" / "SEG").mkdir(parents=True)
    for t in range(FRAMES):
        tifffile.imwrite(root / "01_ST" / "SEG" / f"man_seg{t:03d}.tif", outlines[t])
    if splits:
        shutil.copytree(root / "01", root / "02")
        (root / "splits.json").write_text(json.dumps({"01": {"train": [0, 5], "eval": [6, 8]}, "02": {"train": None, "eval": "all"}}))
    return root
