"""A third-party plugin package: ``static-disks`` (simulator) and ``flaky`` (generator) here; the segmenter
``half-max`` is in :mod:`.segment` and the tracker ``max-overlap`` in :mod:`.track`.

``static-disks`` draws ``count`` motionless disks (one track each)."""

from dataclasses import dataclass

import numpy as np

from tganaug import SimulatedVideo, hookimpl


@dataclass
class StaticDisks:
    count: int = 3
    radius: int = 4
    name: str = "static-disks"

    def simulate(self, frames, height, width, seed=0):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[:height, :width]
        frame = np.zeros((height, width), dtype=np.uint16)
        for track_id in range(1, self.count + 1):
            cy, cx = rng.integers(self.radius, [height - self.radius, width - self.radius])
            frame[(yy - cy) ** 2 + (xx - cx) ** 2 <= self.radius**2] = track_id
        present = np.unique(frame[frame > 0])
        lineage = np.array([[i, 0, frames - 1, 0] for i in present])
        return SimulatedVideo(np.repeat(frame[None], frames, axis=0), lineage, {"simulator": self.name})


@hookimpl
def tganaug_simulators():
    return {"static-disks": StaticDisks}


class FlakyGenerator:
    """Fails the first time it renders each video (a marker file per seed in ``marker_dir``), then works.

    Used to check that sharded generation retries failed tasks.
    """

    def __init__(self, marker_dir: str):
        from pathlib import Path

        self.marker_dir = Path(marker_dir)

    def generate(self, labels, background=None, seed=None):
        marker = self.marker_dir / f"failed-once-{seed}"
        if not marker.exists():
            marker.write_text("x")
            raise RuntimeError(f"flaky failure for seed {seed}")
        return (labels > 0).astype(np.float32) * 0.8 + 0.1


@hookimpl
def tganaug_generators():
    return {"flaky": FlakyGenerator}
