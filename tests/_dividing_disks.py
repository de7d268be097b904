"""A tiny tracked video for tests: three drifting disks, one dividing (shared by the split-leak and downstream tests)."""

from __future__ import annotations

import numpy as np

SIZE, FRAMES = 128, 8  # 128 px: the segmenter benchmark's crops


def dividing_disks(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three drifting disks, one dividing at frame 4: ``labels (T, H, W) uint16``, ``lineage (N, 4)``, ``images uint16``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    labels = np.zeros((FRAMES, SIZE, SIZE), np.uint16)
    centres = rng.uniform(30, SIZE - 30, size=(3, 2))
    for t in range(FRAMES):
        for i, (cy, cx) in enumerate(centres + t * 1.5):
            if i == 2 and t >= 4:  # track 3 divides into 4 and 5
                for j, dx in ((4, -9), (5, 9)):
                    labels[t][(yy - cy) ** 2 + (xx - cx - dx) ** 2 < 36] = j
            else:
                labels[t][(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = i + 1
    lineage = np.array([[1, 0, FRAMES - 1, 0], [2, 0, FRAMES - 1, 0], [3, 0, 3, 0], [4, 4, FRAMES - 1, 3], [5, 4, FRAMES - 1, 3]])
    images = (200 + 30 * rng.standard_normal((FRAMES, SIZE, SIZE)) + 800 * (labels > 0)).clip(0, 65535).astype(np.uint16)
    return labels, lineage, images
