"""Render one synthetic video: simulator (or given masks) → checked masks + lineage → generator → checked frames.

The one core behind every path that makes synthetic videos: ``tganaug generate``
(:func:`tganaug.generation.render_video`, also run by each task of sharded generation) and
:class:`tganaug.data.SyntheticVideoDataset` / :class:`tganaug.data.SyntheticVideoStream`. Video ``index`` of a
global ``seed`` draws its seeds from :func:`tganaug.data.seeding.video_seeds` ``(seed, index)`` on every path, so
``tganaug generate --seed S`` video ``i + 1`` is ``SyntheticVideoDataset(seed=S)[i]`` (same simulator, generator,
size, frames and background; same torch threads for a torch generator):

* the ``simulator`` seed goes to ``simulate`` / ``simulate_stream``;
* the ``generator`` seed goes to ``iter_frames`` / ``generate`` / ``generate_batch``;
* the ``background`` seed picks which of the given backgrounds the video is rendered on (always the one
  when one is given; the generator's own default when none is).

States: label frames ``(H, W)`` integer instance ids in 0..65535 (the source's dtype, e.g. uint16); lineage
``(N, 4) int64`` (id, start, end, parent; CTC ``man_track``); generated frames ``(H, W) float32`` in [0, 1].
Every check names the plugin that broke its contract (``simulator 'NAME'`` / ``generator 'NAME'`` / the masks folder).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tganaug.contracts import SimulationStream, plugin_name, supports_frame_stream, supports_simulation_stream
from tganaug.lineage import LineageError, as_lineage, track_problems_streaming
from tganaug.plugin_objects import checked_simulation
from tganaug.utils.arrays import to_numpy

if TYPE_CHECKING:
    from tganaug.data.seeding import VideoSeeds

__all__ = ["FrameStream", "GivenMasks", "RenderedVideo", "VideoRenderer"]


@dataclass(frozen=True)
class GivenMasks:
    """A label video rendered instead of a simulation.

    Attributes:
        labels: ``(T, H, W)`` integer instance ids, or a sequence of ``T`` such ``(H, W)`` frames (read in order, once).
        lineage: ``(N, 4)`` id, start, end, parent.
        source: names them in error messages (e.g. ``"masks /data/set"``).
    """

    labels: Sequence[np.ndarray] | np.ndarray
    lineage: np.ndarray
    source: str


@dataclass(frozen=True)
class RenderedVideo:
    """One rendered video.

    Attributes:
        labels: ``(T, H, W)`` integer instance ids in 0..65535, as the simulator (or the masks) gave them.
        lineage: ``(N, 4) int64`` id, start, end, parent, consistent with ``labels``.
        frames: ``(T, H, W) float32`` in [0, 1], the generator's rendering of ``labels``.
        seeds: the seeds the video was made from.
    """

    labels: np.ndarray
    lineage: np.ndarray
    frames: np.ndarray
    seeds: VideoSeeds


class _LabelSource:
    """The label frames of one video, read once, with what checking them needs.

    ``frames``: iterable of ``(H, W)`` frames; ``length``: how many it must give; ``size``: every frame's ``(H, W)``
    when it must match a requested size; ``name``: the source in messages; ``lineage``: the lineage, or an object
    whose ``.lineage`` is set once its frames are read (a ``simulate_stream()`` result); ``checked``: labels and
    lineage were already validated against each other."""

    def __init__(self, frames: Iterable[np.ndarray], length: int, size: tuple[int, int] | None, name: str,
                 lineage: Any = None, stream: Any = None, checked: bool = False) -> None:
        self.frames, self.length, self.size, self.name = frames, length, size, name
        self._lineage, self._stream, self.checked = lineage, stream, checked

    def lineage(self) -> Any:
        """The lineage as the source gave it (a stream's once its frames are read)."""
        if self._stream is None:
            return self._lineage
        if not isinstance(self._stream, SimulationStream):
            raise TypeError(f"{self.name}: simulate_stream() must return an iterable of frames with a .lineage "
                            f"(set once the frames are read), got {type(self._stream).__name__}")
        return self._stream.lineage


class _LabelTee:
    """Iterate a source's label frames once for the generator, checking each one, keeping each frame's ids (when the
    lineage is still to be validated) and the frames the generator has read but whose image was not handed out yet."""

    def __init__(self, source: _LabelSource) -> None:
        self.source = source
        self.pending: deque[np.ndarray] = deque()
        self.presence: list[np.ndarray] = []
        self.count = 0  # frames read so far

    def __iter__(self) -> Iterator[np.ndarray]:
        source = self.source
        for t, frame in enumerate(source.frames):
            if t >= source.length:
                raise ValueError(f"{source.name} gave more than the {source.length} frames asked for")
            frame = np.asarray(frame)
            if source.size is not None and frame.shape != source.size:
                raise ValueError(f"{source.name} gave frame {t} of shape {frame.shape}, expected (H, W) = {source.size}")
            if not np.issubdtype(frame.dtype, np.integer):
                raise ValueError(f"{source.name} gave frame {t} of dtype {frame.dtype}, expected integer instance ids")
            if frame.size and (frame.min() < 0 or frame.max() > 65535):  # written as uint16: others would wrap into other ids
                raise ValueError(f"{source.name} gave frame {t} with ids {int(frame.min())}..{int(frame.max())}, outside 0..65535")
            if not source.checked:
                self.presence.append(np.unique(frame))
            self.count += 1
            self.pending.append(frame)
            yield frame


def _iter_generated(generator: Any, label_frames: Iterable[np.ndarray], background: np.ndarray | None, seed: int,
                    name: str) -> Iterator[Any]:
    """Frames of the generator ``name``: streamed through ``iter_frames`` when it has one, else all at once
    (``generate()`` must return a ``(T, H, W)`` array for the ``(T, H, W)`` labels)."""
    if supports_frame_stream(generator):
        yield from generator.iter_frames(label_frames, background=background, seed=seed)
        return
    labels = np.stack(list(label_frames))
    frames = generator.generate(labels, background=background, seed=seed)
    if not (isinstance(frames, (np.ndarray, list, tuple)) or hasattr(frames, "shape")):
        raise ValueError(f"{name}: generate() returned {type(frames).__name__} for labels of shape {labels.shape}, "
                         "expected a (T, H, W) array")
    frames = to_numpy(frames)
    if frames.shape != labels.shape:
        raise ValueError(f"{name}: generate() returned shape {frames.shape} for labels of shape {labels.shape}, "
                         "expected the same (T, H, W)")
    yield from frames


def _checked_frame(image: Any, labels: np.ndarray, t: int, name: str, video: str) -> np.ndarray:
    """Generator ``name``'s frame ``t`` of ``video`` as ``(H, W) float32`` clipped to [0, 1]; ``ValueError`` unless it
    has the labels' shape, is finite and lies in [0, 1] (up to 1e-6)."""
    image = to_numpy(image).astype(np.float32, copy=False)
    if image.shape != labels.shape:
        raise ValueError(f"{name} returned a frame of shape {image.shape} for labels of shape {labels.shape} "
                         f"(frame {t} of {video})")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} returned NaN/Inf in frame {t} of {video}")
    if image.size and (image.min() < -1e-6 or image.max() > 1 + 1e-6):
        raise ValueError(f"{name} returned values in [{image.min():g}, {image.max():g}] in frame {t} of {video}, outside [0, 1]")
    return np.clip(image, 0, 1)


class FrameStream:
    """The frames of one video as they are rendered (memory independent of ``T`` with a streaming source and generator).

    Iterate it once: it yields ``(labels_t, frame_t)``, the ``(H, W)`` integer label frame and its generated
    ``(H, W) float32`` frame in [0, 1], each checked. Once every frame was read, :attr:`lineage` is the ``(N, 4) int64``
    lineage, validated against the labels (``LineageError`` otherwise); frame counts that differ from :attr:`length`
    raise ``ValueError`` naming the source or the generator.
    """

    def __init__(self, generator: Any, generator_name: str, source: _LabelSource, background: np.ndarray | None,
                 seeds: VideoSeeds, video: str) -> None:
        self.generator, self.generator_name, self.source = generator, generator_name, source
        self.background, self.seeds, self.video = background, seeds, video
        #: the number of frames
        self.length = source.length
        self._lineage: np.ndarray | None = None
        self._started = False

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._started:
            raise RuntimeError(f"the frames of {self.video} can be iterated once")
        self._started = True
        tee = _LabelTee(self.source)
        rendered_by = f"generator {self.generator_name!r}"
        t = -1
        for t, image_t in enumerate(_iter_generated(self.generator, tee, self.background, self.seeds.generator, rendered_by)):
            if not tee.pending:
                raise ValueError(f"{self.video}: {rendered_by} produced more frames than it was given")
            labels_t = tee.pending.popleft()
            yield labels_t, _checked_frame(image_t, labels_t, t, rendered_by, self.video)
        if tee.count != self.length:  # the label source gave another count: the simulator's fault, not the generator's
            raise ValueError(f"{self.video}: expected {self.length} frames, {self.source.name} gave {tee.count}")
        if t + 1 != self.length:
            raise ValueError(f"{self.video}: expected {self.length} frames, {rendered_by} produced {t + 1}")
        lineage = self.source.lineage()
        if not self.source.checked:
            problems = track_problems_streaming(tee.presence, lineage)
            if problems:
                raise LineageError(f"{self.video}: {self.source.name}: labels and lineage disagree: " + "; ".join(problems[:5]))
        self._lineage = as_lineage(lineage)

    @property
    def lineage(self) -> np.ndarray:
        """The ``(N, 4) int64`` lineage, once every frame was read."""
        if self._lineage is None:
            raise RuntimeError(f"the lineage of {self.video} is known only after every frame was read")
        return self._lineage


class VideoRenderer:
    """Renders video ``index`` of a global ``seed``: simulate (or take given masks) → check the simulation →
    generate → check the frames (see the module docstring for the seeds and states).

    Args:
        simulator: object with ``simulate(frames, height, width, seed)`` (and optionally ``simulate_stream``); may be
            None when only given masks are rendered.
        generator: object with ``generate(labels, background=None, seed=None)`` (optionally ``iter_frames``,
            ``generate_batch``).
        seed: the global seed (non-negative).
        frames, height, width: the simulated videos' ``T``, ``H``, ``W`` (given masks keep their own).
        backgrounds: ``(H, W) float32`` backgrounds in [0, 1] (checked by the caller); video ``i`` is rendered on
            ``backgrounds[seeds.background % len(backgrounds)]``, or on the generator's own default when empty.
        simulator_name / generator_name: the plugin names in error messages (default: the object's ``name``).
    """

    def __init__(self, simulator: Any, generator: Any, *, seed: int, frames: int, height: int, width: int,
                 backgrounds: Sequence[np.ndarray] = (), simulator_name: str | None = None, generator_name: str | None = None) -> None:
        from tganaug.data.seeding import check_seed

        self.simulator, self.generator = simulator, generator
        self.seed = check_seed(seed)
        self.frames, self.height, self.width = frames, height, width
        self.backgrounds = list(backgrounds)
        self.simulator_name = simulator_name if simulator_name is not None else plugin_name(simulator)
        self.generator_name = generator_name if generator_name is not None else plugin_name(generator)

    def seeds(self, index: int) -> VideoSeeds:
        """The seeds of video ``index`` (:func:`tganaug.data.seeding.video_seeds`)."""
        from tganaug.data.seeding import video_seeds

        return video_seeds(self.seed, index)

    def background(self, seeds: VideoSeeds) -> np.ndarray | None:
        """The ``(H, W) float32`` background of the video with ``seeds`` (None: the generator's default)."""
        return self.backgrounds[seeds.background % len(self.backgrounds)] if self.backgrounds else None

    def _source(self, seeds: VideoSeeds, masks: GivenMasks | None, streamed: bool) -> _LabelSource:
        if masks is not None:
            return _LabelSource(masks.labels, len(masks.labels), None, masks.source, lineage=masks.lineage)
        name = f"simulator {self.simulator_name!r}"
        size = (self.height, self.width)
        if streamed and supports_simulation_stream(self.simulator):
            stream = self.simulator.simulate_stream(self.frames, self.height, self.width, seed=seeds.simulator)
            return _LabelSource(stream, self.frames, size, name, stream=stream)
        video = self.simulator.simulate(self.frames, self.height, self.width, seed=seeds.simulator)
        labels, lineage = checked_simulation(video, self.simulator_name, (self.frames, self.height, self.width))
        return _LabelSource(labels, self.frames, size, name, lineage=lineage, checked=True)

    def stream(self, index: int, masks: GivenMasks | None = None, video: str | None = None, streamed: bool = True) -> FrameStream:
        """Video ``index`` frame by frame (:class:`FrameStream`), from ``masks`` when given, else simulated.

        ``streamed``: simulate through ``simulate_stream`` when the simulator has one (the same frames, memory
        independent of ``T``; labels and lineage validated once every frame was read); otherwise ``simulate`` and
        validate before the generator runs. ``video`` names the video in messages (default ``"video <index>"``)."""
        seeds = self.seeds(index)
        video = video if video is not None else f"video {index}"
        source = self._source(seeds, masks, streamed)
        return FrameStream(self.generator, self.generator_name, source, self.background(seeds), seeds, video)

    def render(self, index: int, masks: GivenMasks | None = None, video: str | None = None) -> RenderedVideo:
        """Video ``index`` as whole arrays (:class:`RenderedVideo`), from ``masks`` when given, else simulated."""
        frames = self.stream(index, masks, video, streamed=False)
        labels, images = [], []
        for labels_t, image_t in frames:
            labels.append(labels_t)
            images.append(image_t)
        return RenderedVideo(np.stack(labels), frames.lineage, np.stack(images), frames.seeds)

    def render_batch(self, indices: Sequence[int], videos: Sequence[str] | None = None) -> list[RenderedVideo]:
        """Videos ``indices`` simulated, then rendered together through the generator's ``generate_batch(labels,
        backgrounds, seeds)`` (``(B, T, H, W)``; each video equals its :meth:`render` up to float rounding: labels and
        lineage exactly). ``videos`` name them in messages (default ``"video <index>"``)."""
        videos = list(videos) if videos is not None else [f"video {index}" for index in indices]
        seeds = [self.seeds(index) for index in indices]
        sources = [self._source(s, None, streamed=False) for s in seeds]
        labels = [np.asarray(source.frames) for source in sources]
        rendered_by = f"generator {self.generator_name!r}"
        images = to_numpy(self.generator.generate_batch(labels, [self.background(s) for s in seeds], [s.generator for s in seeds]))
        if images.shape[:1] != (len(labels),):
            raise ValueError(f"{rendered_by} generate_batch returned shape {images.shape} for {len(labels)} videos")
        out = []
        for video, s, source, labels_b, images_b in zip(videos, seeds, sources, labels, images):
            if images_b.shape != labels_b.shape:
                raise ValueError(f"{rendered_by} generate_batch returned shape {images_b.shape} for the labels {labels_b.shape} of {video}")
            frames = np.stack([_checked_frame(image_t, labels_t, t, rendered_by, video) for t, (labels_t, image_t) in enumerate(zip(labels_b, images_b))])
            out.append(RenderedVideo(labels_b, as_lineage(source.lineage()), frames, s))
        return out
