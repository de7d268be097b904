"""A third-party simulator: ``static-disks`` draws ``count`` motionless disks (one track each)."""

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
