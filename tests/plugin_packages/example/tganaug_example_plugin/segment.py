"""A third-party segmenter: ``half-max`` thresholds each frame and labels its connected components."""

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from tganaug import hookimpl


@dataclass
class HalfMaxConfig:
    threshold: float | None = None  # in the images' own units; None: halfway between each frame's min and max
    min_size: int = 5  # smaller components are dropped (pixels)

    def to_dict(self):
        return asdict(self)


class HalfMaxSegmenter:
    name = "half-max"

    def __init__(self, **config):
        self.config = HalfMaxConfig(**config)

    def segment(self, images):
        """``(T, H, W)`` raw frames, any real dtype (as stored in the CTC TIFFs) -> ``(T, H, W) uint16`` labels."""
        images = np.asarray(images)
        if images.ndim != 3:
            raise ValueError(f"half-max: images must be (T, H, W), got shape {images.shape}")
        out = np.zeros(images.shape, dtype=np.uint16)
        for t, frame in enumerate(images.astype(np.float64)):  # never assume [0, 1]: raw uint8/uint16 come as they are
            level = self.config.threshold
            if level is None:
                level = (frame.min() + frame.max()) / 2
            labels, count = ndimage.label(frame > level)  # ids 1..count in this frame (not tracked)
            kept = np.bincount(labels.ravel(), minlength=count + 1) >= self.config.min_size
            kept[0] = False
            if kept.sum() > 65535:
                raise ValueError(f"half-max: {kept.sum()} objects in frame {t} do not fit uint16 labels")
            renumber = np.zeros(count + 1, dtype=np.uint16)
            renumber[kept] = np.arange(1, kept.sum() + 1)  # the kept components become 1..n; ids need not be consecutive, but it is tidy
            out[t] = renumber[labels]
        return out


@hookimpl
def tganaug_segmenters():
    return {"half-max": HalfMaxSegmenter}
