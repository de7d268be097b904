"""Training data: CTC videos normalised for tGAN, reference backgrounds, curriculum clip sampling.

The normalisation, reference background and down-sampling are inference's too: they live in
:mod:`tganaug.models.normalize`, :mod:`tganaug.models.background` and :mod:`tganaug.models.downsample`
and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tganaug.models.background import background_from_video
from tganaug.models.config import TGANConfig
from tganaug.models.downsample import downsample_image, downsample_mask
from tganaug.models.normalize import normalize_video

__all__ = [
    "ClipSampler",
    "SequenceChoice",
    "VideoData",
    "background_from_video",
    "clip_length",
    "downsample_image",
    "downsample_mask",
    "load_videos",
    "normalize_video",
    "training_sequences",
]


@dataclass
class VideoData:
    """One training video at low resolution and full resolution.

    Attributes:
        name: dataset folder name (``folder/NN`` for a folder's further sequences).
        images: ``(T, H, W) float32`` in [-1, 1] (full resolution, normalised).
        masks: ``(T, H, W) float32`` in {0, 1}.
        background: ``(H, W) float32`` in [-1, 1].
        lr_images, lr_masks, lr_background: the same down-sampled by ``sr_scale``.
        sequence: the CTC sequence read (``""`` when not read from a CTC folder).
        frames: ``(first, last)`` original frame numbers read (inclusive), or None.
    """

    name: str
    images: torch.Tensor
    masks: torch.Tensor
    background: torch.Tensor
    lr_images: torch.Tensor
    lr_masks: torch.Tensor
    lr_background: torch.Tensor
    sequence: str = ""
    frames: tuple[int, int] | None = None


@dataclass(frozen=True)
class SequenceChoice:
    """One sequence of a training folder and whether it is read: ``frames`` (first, last) of the split, or None with
    the ``reason`` it is skipped (e.g. evaluation-only)."""

    path: Path
    sequence: str
    frames: tuple[int, int] | None
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-able record: folder name, sequence, frames (or null) and the reason a skipped one was skipped."""
        out: dict[str, object] = {"data": self.path.name, "sequence": self.sequence,
                                  "frames": None if self.frames is None else list(self.frames)}
        if self.reason:
            out["skipped"] = self.reason
        return out


def training_sequences(data_dirs: Sequence[str | Path], frames: str, sequences: Sequence[str] | None = None) -> list[SequenceChoice]:
    """Which sequences of each CTC folder training reads, and which frames (:mod:`tganaug.splits`, per sequence).

    Every sequence with raw frames and annotation (or only those named in ``sequences``) whose split ``frames`` has
    frames is read; a sequence without them (the train frames of an evaluation-only sequence) is skipped, with the
    reason. Raises ``ValueError`` when a folder holds no such sequence, a named sequence is missing, a sequence has
    no known split, or every sequence of a folder is skipped.
    """
    from tganaug.io import _IMAGE_NAME, describe_sequences, find_sequences, list_frames
    from tganaug.splits import sequence_split, split_range

    if not data_dirs:
        raise ValueError("no training data given (--data CTC_DIR)")
    choices: list[SequenceChoice] = []
    for path in map(Path, data_dirs):
        try:
            names = find_sequences(path, sequences, raw=True, annotated=True)
        except ValueError as error:
            if sequences is None and path.is_dir():
                raise ValueError(f"{path}: no sequence with both raw frames (NN/) and annotation (NN_GT/TRA or NN_ST/TRA) "
                                 f"({describe_sequences(path)})") from None
            raise
        here = []
        for name in names:
            n_frames = len(list_frames(path / name, _IMAGE_NAME))
            frames_here = split_range(path, frames, n_frames, sequence=name)
            if frames_here is None:
                info = sequence_split(path, name)
                why = "evaluation-only" if info.evaluation_only else f"no {frames} frames"
                here.append(SequenceChoice(path, name, None, f"{why} (per {info.source})"))
            else:
                here.append(SequenceChoice(path, name, (frames_here[0], frames_here[-1])))
        if not any(choice.frames is not None for choice in here):
            skipped = "; ".join(f"sequence {c.sequence}: {c.reason}" for c in here)
            raise ValueError(f"{path}: no sequence has {frames} frames to train on ({skipped})")
        choices += here
    return choices


def load_videos(data_dirs: Sequence[str | Path], frames: str, config: TGANConfig,
                sequences: Sequence[str] | None = None) -> list[VideoData]:
    """Read the split ``frames`` of every annotated sequence of each CTC folder that has such frames
    (:func:`training_sequences`: an evaluation-only sequence is never read for ``"train"``) with
    :func:`tganaug.io.read_ctc` and prepare them. A video is named after its folder, with ``/NN`` for sequences
    after the first one read (``"Fluo-N2DH-SIM+"``, ``"mydata/02"``); ``sequences`` restricts the sequences read.

    Raises ``ValueError`` when a folder holds no sequence with raw frames and annotation and frames of the split,
    or a sequence yields fewer than 2 frames.
    """
    from tganaug.io import read_ctc

    videos = []
    first_of: dict[Path, str] = {}
    for choice in training_sequences(data_dirs, frames, sequences):
        if choice.frames is None:
            continue
        path, sequence = choice.path, choice.sequence
        name = path.name if first_of.setdefault(path, sequence) == sequence else f"{path.name}/{sequence}"
        seq = read_ctc(path, sequence, frames=range(choice.frames[0], choice.frames[1] + 1))
        if seq.images is None or seq.labels is None or seq.images.shape[0] < 2:
            raise ValueError(f"{path} sequence {sequence}: need images, labels and at least 2 frames for training")
        norm, _ = normalize_video(seq.images, config.norm_percentiles)
        background = background_from_video(seq.images, seq.labels, percentiles=config.norm_percentiles)
        images = torch.from_numpy(norm) * 2 - 1
        masks = torch.from_numpy((seq.labels > 0).astype(np.float32))
        bg = torch.from_numpy(background) * 2 - 1
        s = config.sr_scale
        videos.append(VideoData(name, images, masks, bg, downsample_image(images, s), downsample_mask(masks, s), downsample_image(bg, s),
                                sequence=sequence, frames=choice.frames))
    return videos


def clip_length(step: int, config: TGANConfig) -> int:
    """Curriculum: clip length grows linearly from 1 (step 0) to ``max_clip_len`` at ``curriculum_steps``."""
    if config.curriculum_steps <= 0:
        return config.max_clip_len
    return int(min(config.max_clip_len, 1 + (config.max_clip_len - 1) * step // config.curriculum_steps))


def _pad_to(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h >= size and w >= size:
        return x
    pad = (0, max(0, size - w), 0, max(0, size - h))
    return F.pad(x.unsqueeze(0), pad, mode="replicate").squeeze(0)


class ClipSampler:
    """Random low-res training clips with video-level augmentation, from a seeded torch generator.

    Every random choice comes from ``generator`` (checkpointed by the trainer), so sampling is
    reproducible and resumable.
    """

    def __init__(self, videos: Sequence[VideoData], config: TGANConfig, generator: torch.Generator) -> None:
        if not videos:
            raise ValueError("no videos to sample from")
        self.videos, self.config, self.generator = list(videos), config, generator
        self.context = max(config.n_masks - 1, 1)

    def _randint(self, high: int) -> int:
        return int(torch.randint(0, max(high, 1), (), generator=self.generator))

    def _rand(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def sample_clip(self, batch: int, length: int) -> dict[str, torch.Tensor]:
        """A batch of clips of ``length`` frames plus ``context`` earlier frames.

        Returns (``C = context``, ``h = w = crop_size``):
            ``masks (B, C+L, h, w)`` {0,1}; ``images (B, C+L, h, w)`` [-1,1]; ``background (B, 1, h, w)``;
            ``starts (B,)`` index of the first target frame in its video (at least ``context``: never frame 0).
        """
        crop = self.config.crop_size
        out: dict[str, list[torch.Tensor]] = {"masks": [], "images": [], "background": [], "starts": []}
        for _ in range(batch):
            video = self.videos[self._randint(len(self.videos))]
            n_frames = video.lr_images.shape[0]
            length_here = min(length, n_frames - self.context)
            first = self._randint(n_frames - self.context - length_here + 1)  # context frames start here
            t_slice = slice(first, first + self.context + length_here)
            h, w = video.lr_images.shape[-2:]
            top, left = self._randint(h - crop + 1), self._randint(w - crop + 1)
            region = (slice(top, top + crop), slice(left, left + crop))
            images = _pad_to(video.lr_images[t_slice][(slice(None),) + region], crop)
            masks = _pad_to(video.lr_masks[t_slice][(slice(None),) + region], crop)
            background = _pad_to(video.lr_background[region].unsqueeze(0), crop)
            if length_here < length:  # video too short: repeat the last frame
                extra = length - length_here
                images = torch.cat([images, images[-1:].expand(extra, -1, -1)])
                masks = torch.cat([masks, masks[-1:].expand(extra, -1, -1)])
            images, masks, background = video_augment(images, masks, background, self.config.p_video_aug, self.generator)
            out["masks"].append(masks)
            out["images"].append(images)
            out["background"].append(background)
            out["starts"].append(torch.tensor(first + self.context))
        return {key: torch.stack(value) for key, value in out.items()}

    def sample_frames(self, batch: int, crop: int, history: int = 0) -> dict[str, torch.Tensor]:
        """Full-resolution crops for SR training: ``hr (B, 1, crop, crop)`` in [-1, 1], ``masks (B, 1, crop, crop)``
        in {0, 1} (the same crops of the binary masks, augmented alike) and ``lr (B, 1, crop/s, crop/s)``.

        With ``history = k > 0`` each sample also carries what a low-res generator needs to render frame
        ``t`` on the low-res grid (``s = sr_scale``; the same crop and augmentation): ``lr_masks (B, k+1,
        crop/s, crop/s)`` the masks ``t-k .. t`` (frame 0's mask repeated before the video starts, as at
        inference), ``lr_prev (B, 1, ...)`` the real frame ``t-1`` (the reference background for ``t = 0``)
        and ``lr_background (B, 1, ...)``. ``history = 0`` draws the same random numbers as before it existed.
        """
        s = self.config.sr_scale
        hr, hr_masks, lr_masks, lr_prev, lr_background = [], [], [], [], []
        for _ in range(batch):
            video = self.videos[self._randint(len(self.videos))]
            t = self._randint(video.images.shape[0])
            h, w = video.images.shape[-2:]
            top, left = self._randint(h - crop + 1), self._randint(w - crop + 1)
            region = (slice(top, top + crop), slice(left, left + crop))
            if history == 0:
                patch = _pad_to(video.images[t][region].unsqueeze(0), crop)
                masks = _pad_to(video.masks[t][region].unsqueeze(0), crop)
                patch, masks, _ = video_augment(patch, masks, patch[:1], self.config.p_video_aug, self.generator)
            else:
                times = [max(t - k, 0) for k in range(history, -1, -1)]  # t-k .. t, clamped at frame 0
                background = _pad_to(video.background[region].unsqueeze(0), crop)
                previous = _pad_to(video.images[t - 1][region].unsqueeze(0), crop) if t > 0 else background
                images = torch.cat([previous, _pad_to(video.images[t][region].unsqueeze(0), crop)])
                stack = _pad_to(video.masks[(times,) + region], crop)  # only the crop of each mask frame is gathered
                images, stack, background = video_augment(images, stack, background, self.config.p_video_aug, self.generator)
                patch, masks = images[1:], stack[-1:]
                lr_masks.append(downsample_mask(stack, s))
                lr_prev.append(downsample_image(images[:1], s))
                lr_background.append(downsample_image(background, s))
            hr.append(patch)
            hr_masks.append(masks)
        hr_t = torch.stack(hr)
        out = {"hr": hr_t, "masks": torch.stack(hr_masks), "lr": downsample_image(hr_t, s)}
        if history:
            out.update(lr_masks=torch.stack(lr_masks), lr_prev=torch.stack(lr_prev), lr_background=torch.stack(lr_background))
        return out


def video_augment(
    images: torch.Tensor, masks: torch.Tensor, background: torch.Tensor, p: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Video-level augmentation, identical for every frame of the clip, its masks and its background.

    With probability ``p``: random horizontal/vertical flip and 90-degree rotation (images, masks,
    background alike) and an intensity gain/offset (images and background only), result kept in
    [-1, 1]. The random draws are made whether or not the augmentation applies, so the RNG stream
    does not depend on it. Shapes: ``images, masks (T, h, w)``, ``background (1, h, w)`` (square).
    """
    draws = torch.rand(6, generator=generator)
    if float(draws[0]) >= p:
        return images, masks, background
    geo = [images, masks, background]
    if draws[1] < 0.5:
        geo = [g.flip(-1) for g in geo]
    if draws[2] < 0.5:
        geo = [g.flip(-2) for g in geo]
    if images.shape[-1] == images.shape[-2]:
        k = int(draws[3] * 4) % 4
        geo = [torch.rot90(g, k, dims=(-2, -1)) for g in geo]
    gain, offset = 0.8 + 0.4 * float(draws[4]), -0.1 + 0.2 * float(draws[5])
    images, masks, background = geo
    images = torch.clamp((images + 1) * gain - 1 + offset, -1, 1)
    background = torch.clamp((background + 1) * gain - 1 + offset, -1, 1)
    return images, masks, background
