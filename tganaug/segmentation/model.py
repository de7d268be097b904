"""The learned segmenter: network config, checkpoint I/O and inference."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from monai.networks.nets import BasicUNet

from tganaug.data.normalize import fit_normalization
from tganaug.segmentation.input_check import SegmenterInputWarning, input_differences, read_input_reference
from tganaug.segmentation.postprocess import probabilities_to_instances
from tganaug.utils.config import ConfigMixin
from tganaug.utils.device import check_device
from tganaug.utils.weights import load_weights, resolve_weights, save_weights

__all__ = ["SegmenterConfig", "build_network", "UNetSegmenter", "SHIPPED_SEGMENTERS", "CheckpointError"]

CHECKPOINT_FORMAT = "tganaug-segmenter-v1"
#: shipped model name -> checkpoint file in ``tganaug/weights`` (see its model card)
SHIPPED_SEGMENTERS = {
    "fluo-nuclei": "segmenter-fluo-nuclei.pt",
    "phase-contrast": "segmenter-phase-contrast.pt",
}


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, not a tganaug checkpoint, or does not fit the network."""


@dataclass
class SegmenterConfig(ConfigMixin):
    """Size of the 3-class BasicUNet (background / interior / boundary).

    Attributes:
        features: MONAI ``BasicUNet`` widths (6 numbers: 5 encoder levels + the last decoder).
        dropout: dropout probability inside the network.
        percentiles: per-video intensity normalisation used at training and inference.
    """

    features: tuple[int, ...] = (16, 16, 32, 64, 128, 16)
    dropout: float = 0.0
    percentiles: tuple[float, float] = (0.1, 99.9)

    def __post_init__(self) -> None:
        self.features = tuple(int(f) for f in self.features)
        self.percentiles = tuple(float(p) for p in self.percentiles)  # type: ignore[assignment]
        if len(self.features) != 6 or min(self.features) < 1:
            raise ValueError(f"SegmenterConfig.features needs 6 positive widths, got {self.features}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"SegmenterConfig.dropout must be in [0, 1), got {self.dropout}")


def build_network(config: SegmenterConfig) -> BasicUNet:
    """``(B, 1, H, W)`` float32 image in [0, 1] -> ``(B, 3, H, W)`` logits; H, W multiples of 16."""
    return BasicUNet(spatial_dims=2, in_channels=1, out_channels=3, features=config.features, dropout=config.dropout)


class UNetSegmenter:
    """Segment ``(T, H, W)`` videos into instance labels with a trained 3-class UNet.

    Args:
        model: a shipped name (:data:`SHIPPED_SEGMENTERS`) or a checkpoint path.
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available).
        interior_threshold / foreground_threshold / min_size: see :func:`probabilities_to_instances`.
    """

    name = "unet"

    def __init__(self, model: str | Path = "fluo-nuclei", device: str | None = None, interior_threshold: float = 0.5,
                 foreground_threshold: float = 0.5, min_size: int = 10) -> None:
        self.device = check_device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        path = resolve_weights(model, SHIPPED_SEGMENTERS, what="segmenter model", error=CheckpointError)
        self.config, self.network, self.meta = self.load(path)
        # the range of input statistics over the training frames, when the checkpoint has one beside it
        self.input_reference = read_input_reference(path)
        self.network.to(self.device).eval()
        self.interior_threshold = interior_threshold
        self.foreground_threshold = foreground_threshold
        self.min_size = min_size

    @staticmethod
    def load(model: str | Path) -> tuple[SegmenterConfig, BasicUNet, dict[str, Any]]:
        """Read a checkpoint (``torch.load(weights_only=True)``) into config, network and metadata."""
        path = resolve_weights(model, SHIPPED_SEGMENTERS, what="segmenter model", error=CheckpointError)

        def build(saved: dict) -> tuple[SegmenterConfig, BasicUNet]:
            config = SegmenterConfig.from_dict(saved)
            return config, build_network(config)

        return load_weights(path, CHECKPOINT_FORMAT, build, what="segmenter", error=CheckpointError)

    @staticmethod
    def save(path: str | Path, config: SegmenterConfig, network: torch.nn.Module, meta: dict[str, Any]) -> None:
        """Write a checkpoint atomically, with its config and metadata as JSON beside it."""
        save_weights(path, CHECKPOINT_FORMAT, config.to_dict(), network, meta)

    @torch.no_grad()
    def probabilities(self, images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """``(T, H, W)`` raw images (any real dtype) -> ``(T, 3, H, W) float32`` class probabilities;
        ``progress(t)`` is called after each frame.

        The video is normalised with its own percentiles (as in training) and padded to a
        multiple of 16 by reflection (to 16 x 32 at least: the deepest level needs two pixels).
        A :class:`~tganaug.segmentation.input_check.SegmenterInputWarning` names the statistics of a video that lie
        outside the range of the training frames (:mod:`tganaug.segmentation.input_check`).
        """
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[0] == 0:
            raise ValueError(f"images must be a non-empty (T, H, W) video, got shape {images.shape}")
        if images.dtype == bool:
            images = images.astype(np.float32)
        if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating) or (
                np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images))):
            raise ValueError(f"images must be finite real numbers, got dtype {images.dtype}")
        if self.input_reference is not None:
            differences = input_differences(images, self.input_reference, self.config.percentiles)
            if differences:
                warnings.warn(f"this video is unlike the frames segmenter {self.meta.get('name', 'unet')!r} was trained on "
                              f"({'; '.join(differences)}): expect fragmented or missed cells; a segmenter trained on "
                              "data of this look (or synthetic videos rendered in it) will do better",
                              SegmenterInputWarning, stacklevel=3)
        normalized = fit_normalization(images, "percentile", self.config.percentiles)(images)
        height, width = images.shape[1:]
        pad_h, pad_w = (-height) % 16, (-width) % 16
        if (height + pad_h) * (width + pad_w) < 2 * 16 * 16:  # a 1 x 1 bottleneck: instance norm needs two pixels
            pad_w += 16
        mode = "reflect" if pad_h < height and pad_w < width else "edge"
        padded = np.pad(normalized, ((0, 0), (0, pad_h), (0, pad_w)), mode=mode)
        out = np.empty((len(images), 3, height, width), dtype=np.float32)
        for t, frame in enumerate(padded):
            logits = self.network(torch.from_numpy(np.ascontiguousarray(frame))[None, None].to(self.device))
            out[t] = torch.softmax(logits, dim=1)[0, :, :height, :width].cpu().numpy()
            if progress is not None:
                progress(t)
        return out

    def segment(self, images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """``(T, H, W)`` images -> ``(T, H, W) uint16`` per-frame instance labels (not tracked); ``progress(t)`` is
        called after each frame's network pass."""
        probabilities = self.probabilities(images, progress)
        return np.stack([
            probabilities_to_instances(p, self.interior_threshold, self.foreground_threshold, self.min_size)
            for p in probabilities
        ])
