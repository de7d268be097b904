"""``SyntheticVideoDataset`` and ``SyntheticVideoStream``: annotated videos made on access.

Item ``index`` is simulated (masks + lineage) and rendered by the generator from seeds derived
from ``(seed, index)`` (:func:`tganaug.data.seeding.video_seeds`) through the render core
:class:`tganaug.render.VideoRenderer`, so it is the same video in every worker, process and run, and
the same as video ``index + 1`` of ``tganaug generate --seed seed`` with the same simulator, generator,
size, frames and background. Items are dicts::

    "image":   torch.float32 (T, 1, H, W) in [0, 1]
    "label":   torch.int64   (T, H, W)  instance ids, consistent over time (label = track id);
               int64 so it indexes / feeds torch losses directly (ids fit uint16)
    "lineage": torch.int64   (N, 4)     id, start, end, parent (CTC man_track)
    "meta":    dict          source, index, seeds, simulator/generator names and configs, size

Batch them with :func:`tganaug.data.collate_videos` (lineages differ in length).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.utils.data

from tganaug.contracts import supports_batch_generation
from tganaug.data.indexing import resolve_index
from tganaug.data.cache import read_cached_video, write_video
from tganaug.data.seeding import EpochMixin, check_seed, transform_seed, worker_shard
from tganaug.data.transforms import apply_video_transform
from tganaug.plugin_objects import describe, resolve
from tganaug.registry import PluginRegistry
from tganaug.render import RenderedVideo, VideoRenderer
from tganaug.simulation.base import check_video_size
from tganaug.utils.fsutil import OutputExistsError

__all__ = ["SyntheticVideoDataset", "SyntheticVideoStream", "check_size", "renders_in_batches", "to_tensors"]

Transform = Callable[[dict[str, Any]], Any]


def check_size(size: int | Sequence[int]) -> tuple[int, int]:
    """``size`` (an int or ``(H, W)``) as a pair of positive ints; ``ValueError`` otherwise."""
    pair = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else tuple(size)  # type: ignore[arg-type]
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"size must be an int or a pair of ints (H, W), got {size!r}")
    if min(pair) < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return int(pair[0]), int(pair[1])


def check_frames(frames: object, what: str = "frames") -> int:
    """``frames`` as a positive int; ``ValueError`` naming ``what`` otherwise (``frames=0`` included)."""
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"{what} must be a positive integer, got {frames!r}")
    return int(frames)


def to_tensors(item: dict[str, Any]) -> dict[str, Any]:
    """Numpy video item -> tensors (image float32, label int64, lineage int64); other keys unchanged."""
    out = dict(item)
    out["image"] = torch.from_numpy(np.ascontiguousarray(item["image"], dtype=np.float32))
    out["label"] = torch.from_numpy(np.ascontiguousarray(item["label"], dtype=np.int64))
    out["lineage"] = torch.from_numpy(np.ascontiguousarray(item["lineage"], dtype=np.int64).reshape(-1, 4))
    return out


def renders_in_batches(generator: Any, render_batch: int) -> bool:
    """Whether ``render_batch`` videos go through ``generator.generate_batch`` together (``render_batch > 1`` and the
    generator has one); otherwise each video is rendered alone with ``generate``."""
    return render_batch > 1 and supports_batch_generation(generator)


def _backgrounds_sha256(backgrounds: list[np.ndarray]) -> str:
    """``"sha256:<hex>"`` of the ``(H, W) float32`` backgrounds, in order."""
    digest = hashlib.sha256()
    for background in backgrounds:
        digest.update(np.ascontiguousarray(background, dtype=np.float32).tobytes())
    return f"sha256:{digest.hexdigest()}"


class _VideoFactory:
    """Render (:class:`tganaug.render.VideoRenderer`) + (cache) + transform one video item; shared by the dataset and
    the stream."""

    def __init__(
        self,
        simulator: Any,
        generator: Any,
        frames: int,
        size: int | Sequence[int],
        transform: Transform | None,
        seed: int,
        simulator_config: dict[str, Any] | None,
        generator_config: dict[str, Any] | None,
        background: np.ndarray | Sequence[np.ndarray] | None,
        cache_dir: str | Path | None,
        registry: PluginRegistry | None,
        render_batch: int = 1,
        appearance: Any = None,
        reference: Any = None,
    ) -> None:
        from tganaug.appearance import with_appearance

        self.frames = check_frames(frames)
        self.render_batch = check_frames(render_batch, "render_batch")
        #: the rendered items of the last block not yet handed out (render_batch > 1), by index
        self._block_items: dict[int, dict[str, Any]] = {}
        self.height, self.width = check_size(size)
        check_video_size(self.frames, self.height, self.width)  # the simulators' own minimum size
        self.seed = check_seed(seed)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable (a MONAI dict transform), got {type(transform).__name__}")
        self.transform = transform
        generator = resolve("generator", generator, generator_config, registry)
        if isinstance(simulator, str):  # a model fitted by tganaug fit brings its simulator's config (given parameters win)
            from tganaug.fitting import apply_simulator_defaults

            simulator, simulator_config = apply_simulator_defaults(simulator, simulator_config, getattr(generator, "simulator_defaults", None))
        self.simulator = resolve("simulator", simulator, simulator_config, registry)
        self.generator = with_appearance(generator, appearance, reference)
        self.backgrounds = self._check_backgrounds(background)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.description = {
            "simulator": describe(self.simulator, simulator_config),
            "generator": describe(self.generator, generator_config),
            "frames": self.frames,
            "size": [self.height, self.width],
            "seed": self.seed,
            # the backgrounds' content, so that a cache made on other backgrounds is not taken for this one
            "background": _backgrounds_sha256(self.backgrounds) if self.backgrounds else "generator default",
            **({"render_batch": self.render_batch} if self.render_batch > 1 else {}),
        }
        self.renderer = VideoRenderer(self.simulator, self.generator, seed=self.seed, frames=self.frames, height=self.height,
                                      width=self.width, backgrounds=self.backgrounds,
                                      simulator_name=self.description["simulator"]["name"],
                                      generator_name=self.description["generator"]["name"])

    def _check_backgrounds(self, background: Any) -> list[np.ndarray]:
        if background is None:
            return []
        candidates = [background] if isinstance(background, np.ndarray) or torch.is_tensor(background) else list(background)
        if not candidates:
            raise ValueError("background must be None, an (H, W) array, or a non-empty sequence of them")
        checked = []
        for k, bg in enumerate(candidates):
            bg = np.asarray(bg, dtype=np.float32)
            if bg.shape != (self.height, self.width):
                raise ValueError(f"background {k} has shape {bg.shape}, expected (H, W) = {(self.height, self.width)}")
            if not np.all(np.isfinite(bg)):
                raise ValueError(f"background {k} contains NaN or Inf")
            if bg.min() < 0 or bg.max() > 1:
                raise ValueError(f"background {k} must be in [0, 1] (output units), got {float(bg.min()):g}..{float(bg.max()):g}")
            checked.append(bg)
        return checked

    def _item(self, index: int, video: RenderedVideo) -> dict[str, Any]:
        """The numpy item of video ``index`` from its rendering."""
        meta = {
            "source": "synthetic",
            "index": int(index),
            "simulator_seed": video.seeds.simulator,
            "generator_seed": video.seeds.generator,
            **self.description,
        }
        return {
            "image": video.frames[:, None],
            "label": video.labels.astype(np.int64),
            "lineage": video.lineage,
            "meta": meta,
        }

    def _render(self, index: int) -> dict[str, Any]:
        if not renders_in_batches(self.generator, self.render_batch):
            # one video at a time (a generator without generate_batch: the same items as render_batch=1)
            return self._item(index, self.renderer.render(index, video=f"item {index}"))
        if index not in self._block_items:
            self._block_items = self._render_block(index // self.render_batch)
        return self._block_items.pop(index)  # handed out once: no later caller sees what this one's consumer changed

    def _render_block(self, block: int) -> dict[int, dict[str, Any]]:
        """The items of videos ``block * B .. block * B + B - 1`` (``B = render_batch``), rendered together through the
        generator's ``generate_batch``. The block is fixed by ``B`` alone, so an item is the same bytes however it is reached."""
        indices = range(block * self.render_batch, (block + 1) * self.render_batch)
        videos = self.renderer.render_batch(indices, [f"item {index}" for index in indices])
        return {index: self._item(index, video) for index, video in zip(indices, videos)}

    def _cached(self, index: int) -> dict[str, Any]:
        assert self.cache_dir is not None
        folder = self.cache_dir / f"{index:06d}"
        if (folder / "meta.json").is_file():
            images, labels, lineage, meta = read_cached_video(folder, expected=self.description)
            return {"image": images[:, None], "label": labels.astype(np.int64), "lineage": lineage, "meta": meta}
        item = self._render(index)
        try:
            # a folder without meta.json is never a finished entry (write_video moves it in complete): replace it
            write_video(folder, item["label"], item["lineage"], item["image"][:, 0], item["meta"], overwrite=folder.exists())
        except (OutputExistsError, OSError):
            if not (folder / "meta.json").is_file():
                raise
            # another process (a worker, a second job) cached this video first: same seeds, same video
        return item

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        """Item ``index`` as tensors (transform seeded from ``(seed, index, epoch)``)."""
        item = self._cached(index) if self.cache_dir is not None else self._render(index)
        if self.transform is not None:
            item = apply_video_transform(self.transform, item, seed=transform_seed(self.seed, index, epoch))
        return to_tensors(item)


class SyntheticVideoDataset(EpochMixin, torch.utils.data.Dataset):
    """A fixed-size, map-style dataset of synthetic annotated videos (MONAI ``Dataset`` conventions).

    Args:
        simulator: plugin name (e.g. ``"division"``) or an object with ``simulate(frames, height, width, seed)``.
        generator: plugin name (e.g. ``"procedural"``, ``"tgan"``) or an object with
            ``generate(labels, background=None, seed=None)``.
        num_videos: number of items (positive).
        frames: frames per video ``T`` (positive).
        size: ``(H, W)`` or an int for square videos.
        transform: MONAI dict transform on ``image``/``label``, applied identically to every frame
            (see :mod:`tganaug.data.transforms`); seeded per item and epoch.
        seed: global seed (non-negative); item ``i`` depends only on ``(seed, i)`` (and on the epoch
            for random transforms, see :meth:`set_epoch`).
        simulator_config / generator_config: keyword configuration when given by plugin name.
        background: ``(H, W)`` float array in [0, 1] given to the generator, or a sequence of them
            (one chosen per video from its seed); None lets the generator draw its own.
        cache_dir: if set, each video is written there on first access (CTC layout, atomic) and
            read back afterwards (a fixed synthetic set; a cache made with another configuration
            raises :class:`tganaug.data.cache.CacheMismatchError`).
        registry: plugin registry (default: installed plugins).
        render_batch: ``B > 1`` renders videos in fixed blocks ``kB .. kB+B-1``, all ``B`` at once through the
            generator's ``generate_batch`` (the ``tgan`` plugin has one: fewer, larger operations, faster on CPU for
            small models), handing out each item once and keeping the rest of its block until asked for. Item ``i``
            is then the same bytes whatever the access order, workers or batch size (with the same number of torch
            threads: convolutions round differently with more, as they do with ``render_batch=1``; DataLoader
            workers run one), and equals its ``render_batch=1`` rendering up to float rounding (labels and lineage
            exactly). Read the blocks whole:
            ``DataLoader(..., batch_size=B, shuffle=False)`` gives each worker one block per batch (synthetic videos
            are independent draws, so there is nothing to shuffle); random access renders a block per miss.
            A generator without ``generate_batch`` renders one video at a time: the ``render_batch=1`` items.
        appearance / reference: re-render each video in a seeded random look (``"random"``, a JSON file, a dict of
            ranges) or in the look of ``(H, W)`` / ``(N, H, W)`` unannotated reference frames (:mod:`tganaug.appearance`).

    Item ``i`` is a dict (see :mod:`tganaug.data.synthetic`). Use ``collate_fn=collate_videos``.
    """

    def __init__(
        self,
        simulator: Any = "division",
        generator: Any = "procedural",
        num_videos: int = 16,
        frames: int = 16,
        size: int | Sequence[int] = (128, 128),
        transform: Transform | None = None,
        seed: int = 0,
        *,
        simulator_config: dict[str, Any] | None = None,
        generator_config: dict[str, Any] | None = None,
        background: np.ndarray | Sequence[np.ndarray] | None = None,
        cache_dir: str | Path | None = None,
        registry: PluginRegistry | None = None,
        render_batch: int = 1,
        appearance: Any = None,
        reference: Any = None,
    ) -> None:
        self.num_videos = check_frames(num_videos, "num_videos")
        self.factory = _VideoFactory(
            simulator, generator, frames, size, transform, seed, simulator_config, generator_config, background, cache_dir, registry,
            render_batch, appearance, reference,
        )
        self._init_epoch()

    def __len__(self) -> int:
        return self.num_videos

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random transforms are drawn (videos themselves do not change; reaches persistent
        DataLoader workers)."""
        super().set_epoch(epoch)

    def __getitem__(self, index: int | slice | Sequence[int]) -> Any:
        """Item ``index`` (negative counts from the end); a slice or sequence gives a ``torch.utils.data.Subset``."""
        index = resolve_index(self, index, self.num_videos, "videos")
        if isinstance(index, torch.utils.data.Subset):
            return index
        return self.factory.item(index, self.epoch)

    def __repr__(self) -> str:
        d = self.factory.description
        return (
            f"SyntheticVideoDataset({d['simulator']['name']!r} -> {d['generator']['name']!r}, num_videos={self.num_videos}, "
            f"frames={d['frames']}, size={tuple(d['size'])}, seed={d['seed']})"
        )


class SyntheticVideoStream(EpochMixin, torch.utils.data.IterableDataset):
    """Fresh synthetic videos forever (``torch.utils.data.IterableDataset``).

    Same arguments as :class:`SyntheticVideoDataset` minus ``num_videos`` and ``cache_dir``, plus ``start`` (first
    video index). The stream yields videos ``start, start + 1, ...``; with ``DataLoader(num_workers=W)``
    worker ``w`` yields indices ``start + w, start + w + W, ...`` (with ``render_batch=B``: the videos of
    every ``W``-th block of ``B``, from the block holding ``start``), so no two workers repeat a video
    and video ``k`` is the same as ``SyntheticVideoDataset(...)[k]`` with the same seed and ``render_batch``
    (order across workers follows the DataLoader). Each new iteration starts again at ``start`` (reproducible);
    for unseen videos call :meth:`set_epoch` (shifts every index by ``epoch * 2**40``) or change the
    seed. ``max_videos`` optionally ends the stream (per iteration, over all workers).
    """

    def __init__(
        self,
        simulator: Any = "division",
        generator: Any = "procedural",
        frames: int = 16,
        size: int | Sequence[int] = (128, 128),
        transform: Transform | None = None,
        seed: int = 0,
        *,
        start: int = 0,
        max_videos: int | None = None,
        simulator_config: dict[str, Any] | None = None,
        generator_config: dict[str, Any] | None = None,
        background: np.ndarray | Sequence[np.ndarray] | None = None,
        registry: PluginRegistry | None = None,
        render_batch: int = 1,
        appearance: Any = None,
        reference: Any = None,
    ) -> None:
        self.factory = _VideoFactory(
            simulator, generator, frames, size, transform, seed, simulator_config, generator_config, background, None, registry,
            render_batch, appearance, reference,
        )
        self.start = check_seed(start, "start")
        self.max_videos = None if max_videos is None else check_frames(max_videos, "max_videos")
        self._init_epoch()

    def set_epoch(self, epoch: int) -> None:
        """Move to a disjoint block of video indices (``epoch * 2**40`` onwards; reaches persistent DataLoader workers)."""
        super().set_epoch(epoch)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker, workers = worker_shard()
        first = self.start + self.epoch * 2**40
        size = self.factory.render_batch
        block = first // size + worker
        while True:  # this worker's blocks of render_batch videos (one video each when it is 1)
            for index in range(max(block * size, first), (block + 1) * size):
                if self.max_videos is not None and index - first >= self.max_videos:
                    return
                yield self.factory.item(index, self.epoch)
            block += workers
