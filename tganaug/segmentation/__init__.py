"""A small learned segmenter (MONAI BasicUNet, 3 classes) for the segment-then-track pipeline.

Images -> per-pixel background / interior / boundary probabilities -> instance labels by a
marker-controlled watershed. Trained here on real train frames and/or synthetic videos
(:func:`tganaug.segmentation.train.train_segmenter`); shipped weights load by name.
"""

from tganaug.segmentation.model import SegmenterConfig, UNetSegmenter, build_network
from tganaug.segmentation.postprocess import probabilities_to_instances
from tganaug.segmentation.targets import instance_targets

__all__ = ["SegmenterConfig", "UNetSegmenter", "build_network", "instance_targets", "probabilities_to_instances"]
