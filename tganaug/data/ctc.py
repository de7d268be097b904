"""``CTCVideoDataset``: clips of real Cell Tracking Challenge sequences, in the synthetic item format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.utils.data

from tganaug.data.normalize import fit_normalization
from tganaug.data.seeding import EpochMixin, check_seed, transform_seed
from tganaug.data.indexing import resolve_index
from tganaug.data.synthetic import check_frames, check_size, to_tensors
from tganaug.data.tracks import restrict_lineage
from tganaug.data.transforms import apply_video_transform
from tganaug.io import read_ctc
from tganaug.lineage import crop_lineage

__all__ = ["CTCVideoDataset"]

CROPS = ("random", "center")
LABELS = ("tra", "outlines")


class CTCVideoDataset(EpochMixin, torch.utils.data.Dataset):
    """Fixed-length clips of one real CTC sequence, restricted to a split's frames.

    Args:
        path: CTC dataset folder (``01/``, ``01_GT/TRA`` or ``01_ST/TRA``).
        split: ``"train"``, ``"eval"`` or ``"all"``: that split of ``sequence``
            (:func:`tganaug.splits.split_frames`; the train split of an evaluation-only sequence is refused); clips
            never contain a frame outside the split.
        clip_frames: frames per clip ``T``; None = the whole split as one clip.
        stride: frames between the starts of consecutive clips (1 = every start; ``clip_frames`` =
            non-overlapping). Item ``i`` starts at split frame ``i * stride``.
        sequence / annotation: CTC sequence name and ``"GT"``/``"ST"`` (default GT, else ST).
        labels: ``"tra"`` (default): the TRA masks as they are, i.e. *markers* on datasets whose TRA masks are
            markers; ``"outlines"``: full outlines with track ids (:func:`tganaug.outlines.read_outlined_ctc`,
            fitted on the whole split; needs ``preload``; its report is :attr:`outline_report`). Train a segmenter
            on ``"outlines"``: a network trained on markers learns shrunken cells.
        size: optional ``(H, W)`` (or int) spatial crop, so real clips batch with synthetic ones.
        crop: ``"random"`` (position drawn from ``(seed, index, epoch)``) or ``"center"``.
        transform: MONAI dict transform, as in :class:`tganaug.data.SyntheticVideoDataset`.
        normalize: ``"percentile"`` (default), ``"dtype"`` or ``"none"`` (see
            :mod:`tganaug.data.normalize`); the scale is fitted once on all frames of the split, so
            every clip of the sequence shares it. ``percentiles``: for ``"percentile"``.
        preload: keep the split's frames in memory (default); False reads each clip's TIFFs on access.
        seed: seeds random crops and transforms.

    Items: ``image (T, 1, H, W) float32`` in [0, 1], ``label (T, H, W) int64`` (track ids),
    ``lineage (N, 4) int64`` cropped to the clip with frames counted from the clip's first frame
    (tracks cut by a spatial crop shrink, vanish or split at gaps: :mod:`tganaug.data.tracks`),
    ``meta`` (``source="ctc"``, path, split, original frame numbers, crop, normalisation).
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        clip_frames: int | None = 8,
        *,
        stride: int = 1,
        sequence: str = "01",
        annotation: str | None = None,
        size: int | Sequence[int] | None = None,
        crop: str = "random",
        transform: Callable[[dict[str, Any]], Any] | None = None,
        normalize: str = "percentile",
        percentiles: tuple[float, float] = (0.1, 99.9),
        preload: bool = True,
        labels: str = "tra",
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.split = split
        self.sequence = sequence
        self.annotation = annotation
        self.stride = check_frames(stride, "stride")
        self.seed = check_seed(seed)
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        self.crop = crop
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable (a MONAI dict transform), got {type(transform).__name__}")
        self.transform = transform
        self.preload = bool(preload)
        if labels not in LABELS:
            raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
        self.labels = labels
        self.outline_report = None
        if labels == "outlines":
            if not self.preload:
                raise ValueError("labels='outlines' needs preload=True: the outlines are joined over the whole split")
            if annotation is not None:
                raise ValueError(f"labels='outlines' reads {sequence}_GT/TRA joined to the ST/SEG outlines; "
                                 f"annotation={annotation!r} applies to labels='tra' only")
            from tganaug.outlines import read_outlined_ctc

            data, self.outline_report = read_outlined_ctc(self.path, sequence, split)
        else:
            data = read_ctc(self.path, sequence, frames=split, read_labels=self.preload, annotation=annotation)
        assert data.images is not None
        self.frames = data.frames  # original frame numbers of the split
        self.frame_shape: tuple[int, int] = tuple(data.images.shape[1:])  # type: ignore[assignment]
        self.normalization = fit_normalization(data.images, normalize, percentiles)
        self.clip_frames = len(self.frames) if clip_frames is None else check_frames(clip_frames, "clip_frames")
        if self.clip_frames > len(self.frames):
            raise ValueError(
                f"clip_frames={self.clip_frames} exceeds the {len(self.frames)} frames of split {split!r} of sequence {sequence} "
                f"({int(self.frames[0])}..{int(self.frames[-1])}) of {self.path.name}"
            )
        self.size = None if size is None else check_size(size)
        if self.size is not None and (self.size[0] > self.frame_shape[0] or self.size[1] > self.frame_shape[1]):
            raise ValueError(f"crop size {self.size} is larger than the frames {self.frame_shape} of {self.path.name}")
        self.num_clips = (len(self.frames) - self.clip_frames) // self.stride + 1
        self._images = self.normalization(data.images) if self.preload else None
        self._labels = data.labels
        self._lineage = data.lineage
        self.kind = data.annotation
        self._init_epoch()

    def __len__(self) -> int:
        return self.num_clips

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random crops and transforms are drawn (reaches persistent DataLoader workers)."""
        super().set_epoch(epoch)

    def _clip(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        stop = start + self.clip_frames - 1
        if self.preload:
            assert self._images is not None and self._labels is not None and self._lineage is not None
            images = self._images[start : stop + 1]
            labels = self._labels[start : stop + 1]
            return images, labels, crop_lineage(self._lineage, start, stop), self.kind
        frames = range(int(self.frames[start]), int(self.frames[stop]) + 1)
        data = read_ctc(self.path, self.sequence, frames=frames, annotation=self.annotation)
        assert data.images is not None and data.labels is not None and data.lineage is not None
        return self.normalization(data.images), data.labels, data.lineage, data.annotation

    def __getitem__(self, index: int | slice | Sequence[int]) -> Any:
        """Clip ``index`` as a video item; a slice or sequence gives a ``torch.utils.data.Subset``."""
        index = resolve_index(self, index, self.num_clips, "clips")
        if isinstance(index, torch.utils.data.Subset):
            return index
        start = index * self.stride
        images, labels, lineage, kind = self._clip(start)
        height, width = self.frame_shape
        y = x = 0
        if self.size is not None:
            h, w = self.size
            if self.crop == "center":
                y, x = (height - h) // 2, (width - w) // 2
            else:
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index, self.epoch)))
                y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            images = images[:, y : y + h, x : x + w]
            labels, lineage = restrict_lineage(labels[:, y : y + h, x : x + w], lineage)
        item = {
            "image": np.ascontiguousarray(images, dtype=np.float32)[:, None],
            "label": np.asarray(labels, dtype=np.int64),
            "lineage": lineage,
            "meta": {
                "source": "ctc",
                "index": index,
                "path": str(self.path),
                "sequence": self.sequence,
                "annotation": kind,
                "labels": self.labels,
                "split": self.split,
                "frames": [int(f) for f in self.frames[start : start + self.clip_frames]],
                "crop": [y, x, int(images.shape[1]), int(images.shape[2])],
                "normalization": self.normalization.to_dict(),
            },
        }
        if self.transform is not None:
            item = apply_video_transform(self.transform, item, seed=transform_seed(self.seed, index, self.epoch))
        return to_tensors(item)

    def __repr__(self) -> str:
        return (
            f"CTCVideoDataset({self.path.name!r}, split={self.split!r}, clips={self.num_clips} x {self.clip_frames} frames, "
            f"size={self.size or self.frame_shape})"
        )
