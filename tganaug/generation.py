"""Write annotated synthetic video datasets: simulator → masks + lineage → generator → CTC folders.

One dataset folder holds videos ``01``, ``02``, ... in CTC layout::

    DIR/config.json                      GenerationConfig of the whole set
    DIR/generator.json                   the generator that rendered it (name, config, weights sha256)
    DIR/01/t000.tif ...                  generated frames, (H, W) uint16 (intensity x 65535)
    DIR/01_GT/TRA/man_track000.tif ...   (H, W) uint16 instance labels = the exact annotation
    DIR/01_GT/TRA/man_track.txt          lineage id start end parent
    DIR/01_montage.png, DIR/01.gif       masks | generated, to look at

Each video is rendered frame by frame (memory does not grow with the number of frames) into a
hidden staging folder and moved into place when complete, ``01_GT`` last: a video is finished
exactly when ``DIR/<name>_GT`` exists. Re-running the same configuration skips finished videos.
Each video's seed derives from ``(seed, video index)`` only, so any subset of videos, in any
order or process, gives the same bytes. A shipped model name can come with other weights after an
update, so resuming also checks the weights' sha256 in ``generator.json`` (see :func:`prepare_output`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tganaug.io import SequenceWriter, annotation_dir, read_ctc, read_tiff
from tganaug.lineage import LineageError, track_problems_streaming
from tganaug.utils.arrays import to_numpy
from tganaug.utils.fsutil import (OUTPUT_RECORD, OutputExistsError, OutputKind, atomic_write_json, describe_entries, foreign_entries,
                                  move_output_aside, put_back, write_output_record)
from tganaug.visualize import colorize_labels, frame_indices, montage, save_gif, save_png, to_uint8

__all__ = [
    "GenerationConfig",
    "check_inputs",
    "video_name",
    "video_seed",
    "finished_videos",
    "load_background",
    "generator_record",
    "DATASET_OUTPUT",
    "prepare_output",
    "old_content_kept_until_done",
    "output_prepared",
    "recorded_weights",
    "records_removed_unless_a_video_finishes",
    "render_video",
    "generate_dataset",
]

_GIF_FRAMES = 60  # the preview GIF shows at most this many frames (memory stays bounded)
GENERATOR_FILE = "generator.json"


@dataclass
class GenerationConfig:
    """Everything that determines a generated dataset (saved as ``config.json``).

    Attributes:
        generator / generator_config: generator plugin name and its keyword configuration.
        simulator / simulator_config: simulator plugin name and configuration (ignored with ``masks``).
        videos, frames, height, width: number and size of the videos (``frames``/size ignored with ``masks``).
        seed: global seed; video ``k`` uses :func:`video_seed` ``(seed, k)``.
        background: optional path to a reference background image (TIFF/PNG), ``(H, W)``.
        masks: optional CTC folder whose label videos are rendered instead of simulating.
        torch_threads: torch CPU threads while rendering. CPU convolutions round differently with
            another thread count, so the bytes of a video depend on it; with the default 1 they do
            not depend on the machine or on sharding (parallelism comes from ``--workers``).
    """

    generator: str = "procedural"
    generator_config: dict[str, Any] = field(default_factory=dict)
    simulator: str = "division"
    simulator_config: dict[str, Any] = field(default_factory=dict)
    videos: int = 1
    frames: int = 30
    height: int = 256
    width: int = 256
    seed: int = 0
    background: str | None = None
    masks: str | None = None
    torch_threads: int = 1

    def __post_init__(self) -> None:
        for name in ("videos", "frames", "height", "width", "torch_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.videos > 99:
            raise ValueError(f"at most 99 videos per folder (CTC sequence names 01..99), got {self.videos}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def same_videos_as(self, other: GenerationConfig) -> list[str]:
        """Names of the fields (other than ``videos``) in which two configs differ."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k != "videos" and mine[k] != theirs[k])


def video_name(index: int) -> str:
    """CTC sequence name of video ``index`` (0-based): ``01``, ``02``, ..."""
    return f"{index + 1:02d}"


def video_seed(seed: int, index: int) -> int:
    """The seed of video ``index`` in a set with global ``seed`` (independent of every other video)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def finished_videos(out: str | Path) -> set[int]:
    """Indices of the videos that are complete in ``out`` (their ``NN_GT`` folder exists)."""
    out = Path(out)
    if not out.is_dir():
        return set()
    done = set()
    for entry in out.iterdir():
        name = entry.name
        if entry.is_dir() and name.endswith("_GT") and name[:-3].isdigit():
            done.add(int(name[:-3]) - 1)
    return done


def load_background(path: str | Path, height: int, width: int) -> np.ndarray:
    """Read a reference background image as ``(H, W) float32`` in [0, 1] (scaled by its dtype's range:
    8-bit by 255, 16-bit TIFF or PNG by 65535; colour PNG/JPEG converted to grey).

    Raises ``ValueError`` naming the file if its size is not ``height x width`` or its values do not fit.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        image = read_tiff(path)
    else:
        from PIL import Image

        if not path.is_file():
            raise FileNotFoundError(f"background image not found: {path}")
        with Image.open(path) as handle:
            if handle.mode.startswith("I;16"):  # 16-bit grey: convert("L") would clip it to 0..255
                image = np.asarray(handle).astype(np.uint16)
            elif handle.mode == "I":  # 32-bit grey (how older Pillow opens a 16-bit PNG)
                image = np.asarray(handle)
                if image.min() < 0 or image.max() > 65535:
                    raise ValueError(f"background image {path} holds 32-bit values outside 0..65535; save it as 8- or 16-bit")
                image = image.astype(np.uint16)
            else:
                image = np.asarray(handle.convert("L"))
    if image.shape != (height, width):
        raise ValueError(f"background image {path} is {image.shape[0]}x{image.shape[1]}, the videos are {height}x{width}")
    if np.issubdtype(image.dtype, np.integer):
        if image.dtype.itemsize > 2:  # scaled by 2**31 or more, 16-bit levels would render black
            raise ValueError(f"background image {path} is {image.dtype}: save it as 8- or 16-bit, or as float in [0, 1]")
        if image.min() < 0:
            raise ValueError(f"background image {path} has negative values ({image.dtype}); it must be an unsigned or non-negative image")
        return (image.astype(np.float32) / np.iinfo(image.dtype).max).astype(np.float32)
    image = image.astype(np.float32)
    if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1:
        raise ValueError(f"background image {path} is floating point: it must be finite and in [0, 1]")
    return image


def _iter_generated(generator: Any, label_frames: Iterable[np.ndarray], background: np.ndarray | None, seed: int,
                    name: str = "generator") -> Iterator[np.ndarray]:
    """Frames of the generator ``name``: streamed through ``iter_frames`` when it has one, else all at once
    (``generate()`` must return a ``(T, H, W)`` array for the ``(T, H, W)`` labels)."""
    if callable(getattr(generator, "iter_frames", None)):
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


class _LabelTee:
    """Iterate label frames once for the generator, keeping each frame's ids (for validation)
    and the frames the generator has read but whose image has not been written yet."""

    def __init__(self, frames: Iterable[np.ndarray], shape: tuple[int, int] | None = None, source: str = "masks",
                 length: int | None = None) -> None:
        self.frames = frames
        self.shape = shape  # every frame's (H, W) when the source must match the requested size
        self.source = source
        self.length = length  # the number of frames the source must give, when known
        self.pending: deque[np.ndarray] = deque()
        self.presence: list[np.ndarray] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        for t, frame in enumerate(self.frames):
            if self.length is not None and t >= self.length:
                raise ValueError(f"{self.source} gave more than the {self.length} frames asked for")
            frame = np.asarray(frame)
            if self.shape is not None and frame.shape != self.shape:
                raise ValueError(f"{self.source} gave frame {t} of shape {frame.shape}, expected (H, W) = {self.shape}")
            if not np.issubdtype(frame.dtype, np.integer):
                raise ValueError(f"{self.source} gave frame {t} of dtype {frame.dtype}, expected integer instance ids")
            if frame.size and (frame.min() < 0 or frame.max() > 65535):  # written as uint16: others would wrap into other ids
                raise ValueError(f"{self.source} gave frame {t} with ids {int(frame.min())}..{int(frame.max())}, outside 0..65535")
            self.presence.append(np.unique(frame))
            self.pending.append(frame)
            yield frame


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Use ``threads`` torch CPU threads inside the block (restored after); nothing when torch is not loaded."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def render_video(config: GenerationConfig, index: int, out: str | Path, generator: Any, simulator: Any = None,
                 background: np.ndarray | None = None, progress: bool = True) -> Path:
    """Render video ``index`` of ``config`` into ``out`` atomically; return ``out/<name>_GT``.

    Runs with ``config.torch_threads`` torch threads (see :class:`GenerationConfig`); the rest is
    :func:`_render_video`.
    """
    with _torch_threads(config.torch_threads):
        return _render_video(config, index, out, generator, simulator, background, progress)


def _render_video(config: GenerationConfig, index: int, out: str | Path, generator: Any, simulator: Any,
                  background: np.ndarray | None, progress: bool) -> Path:
    """Render video ``index`` of ``config`` into ``out`` atomically; return ``out/<name>_GT``.

    Streams simulator (or ``config.masks``) frames through ``generator`` and writes each frame
    as it comes. The lineage is validated against the written labels before the video is moved
    into place; a failure leaves no partial video behind.
    """
    out = Path(out)
    name = video_name(index)
    seed = video_seed(config.seed, index)
    stream_source: Any = None  # a simulator's simulate_stream() result: its frames, then its .lineage
    if config.masks:
        source = read_ctc(config.masks, sequence=video_name(index), read_images=False)
        label_frames: Iterable[np.ndarray] = source.labels
        n_frames = len(source.labels)
        lineage_source: Any = source.lineage
    else:
        n_frames = config.frames
        if callable(getattr(simulator, "simulate_stream", None)):
            stream_source = simulator.simulate_stream(config.frames, config.height, config.width, seed=seed)
            label_frames, lineage_source = stream_source, None  # its .lineage is read once its frames are
        else:
            from tganaug.data.plugins import checked_simulation

            video = simulator.simulate(config.frames, config.height, config.width, seed=seed)
            shape = (config.frames, config.height, config.width)
            # validated below, against the labels as written
            label_frames, lineage_source = checked_simulation(video, config.simulator, shape, validate=False)
    shown = frame_indices(n_frames)
    keep = set(shown) | set(range(min(n_frames, _GIF_FRAMES)))
    size = None if config.masks else (config.height, config.width)
    tee = _LabelTee(label_frames, size, f"simulator {config.simulator!r}" if size else f"masks {config.masks}", n_frames)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out))
    try:
        writer = SequenceWriter(staging, n_frames, sequence=name)
        labels_kept: dict[int, np.ndarray] = {}
        generated_kept: dict[int, np.ndarray] = {}
        bar = tqdm(total=n_frames, desc=f"video {name}", unit="frame", leave=False, disable=not progress)
        t = -1
        rendered_by = f"generator {config.generator!r}"
        for t, image_t in enumerate(_iter_generated(generator, tee, background, seed, rendered_by)):
            if not tee.pending:
                raise ValueError(f"video {name}: {rendered_by} produced more frames than it was given")
            labels_t = tee.pending.popleft()
            image_t = to_numpy(image_t).astype(np.float32, copy=False)
            if image_t.shape != labels_t.shape:
                raise ValueError(f"{rendered_by} returned a frame of shape {image_t.shape} for labels of shape {labels_t.shape}")
            if not np.all(np.isfinite(image_t)):
                raise ValueError(f"{rendered_by} returned NaN/Inf in frame {t} of video {name}")
            if image_t.size and (image_t.min() < -1e-6 or image_t.max() > 1 + 1e-6):  # as SyntheticVideoDataset
                raise ValueError(f"{rendered_by} returned values in [{image_t.min():g}, {image_t.max():g}] in frame {t} of video "
                                 f"{name}, outside [0, 1]")
            writer.write(t, labels=labels_t, image=(np.clip(image_t, 0, 1) * 65535).round().astype(np.uint16))
            if t in keep:
                labels_kept[t] = colorize_labels(labels_t)
                generated_kept[t] = to_uint8(image_t, 0.0, 1.0)
            bar.update(1)
        bar.close()
        if len(tee.presence) != n_frames:  # the label source gave another count: the simulator's fault, not the generator's
            raise ValueError(f"video {name}: expected {n_frames} frames, {tee.source} gave {len(tee.presence)}")
        if t + 1 != n_frames:
            raise ValueError(f"video {name}: expected {n_frames} frames, {rendered_by} produced {t + 1}")
        if stream_source is not None and not hasattr(stream_source, "lineage"):
            raise TypeError(f"{tee.source}: simulate_stream() must return an iterable of frames with a .lineage "
                            f"(set once the frames are read), got {type(stream_source).__name__}")
        lineage = stream_source.lineage if stream_source is not None else lineage_source
        problems = track_problems_streaming(tee.presence, lineage)
        if problems:
            raise LineageError(f"video {name}: masks and lineage disagree: " + "; ".join(problems[:5]))
        writer.finish(lineage)
        save_png(staging / f"{name}_montage.png", montage([[labels_kept[t] for t in shown], [generated_kept[t] for t in shown]]))
        gif_frames = sorted(t for t in generated_kept if t < _GIF_FRAMES)
        save_gif(staging / f"{name}.gif", [montage([[labels_kept[t], generated_kept[t]]]) for t in gif_frames])
        # Move into place; <name>_GT last, so its presence means the video is complete.
        for item in (name, f"{name}_montage.png", f"{name}.gif", f"{name}_GT"):
            os.replace(staging / item, out / item)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / f"{name}_GT"


def generator_record(generator: Any, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """What :func:`prepare_output` records in ``generator.json``: ``{"name", "config"}`` of the generator
    (:func:`tganaug.data.plugins.describe`; a generator without a ``config``: the parameters ``given`` to it);
    the ``tgan`` plugin's config holds its ``weights_sha256``."""
    from tganaug.data.plugins import describe

    return json.loads(json.dumps(describe(generator, given), default=repr))  # a third party's config may hold non-JSON values


def recorded_weights(record: dict[str, Any] | None) -> str | None:
    """The ``weights_sha256`` in a :func:`generator_record` (None for a generator without one)."""
    config = (record or {}).get("config")
    return config.get("weights_sha256") if isinstance(config, dict) else None


def _check_same_weights(out: Path, record: dict[str, Any] | None) -> None:
    """Refuse to resume ``out`` with a generator whose weights differ from those that made its videos."""
    wanted = recorded_weights(record)
    if wanted is None:
        return  # a generator without weight files (procedural, or a third party's): the config decides
    saved_file = out / GENERATOR_FILE
    if not saved_file.is_file():
        if finished_videos(out):
            raise OutputExistsError(
                f"output directory {out} holds videos but no {GENERATOR_FILE}, so the weights that rendered them are "
                f"unknown; pass --overwrite to replace them or choose another output directory"
            )
        return
    try:
        saved = recorded_weights(json.loads(saved_file.read_text()))
    except (ValueError, AttributeError) as error:
        raise OutputExistsError(f"{saved_file} is corrupt ({error}); pass --overwrite to replace the output directory") from error
    if saved != wanted:
        raise OutputExistsError(
            f"output directory {out} was rendered with other generator weights (sha256 {str(saved)[:12]}..., now "
            f"{wanted[:12]}...: the model was retrained or replaced); pass --overwrite to replace it or choose another output directory"
        )


def _is_generated_dataset(folder: Path) -> bool:
    """A dataset folder written before the ownership record existed: its ``config.json`` is a :class:`GenerationConfig`."""
    try:
        GenerationConfig.from_dict(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    return True


#: what a dataset folder holds (see the module docstring); folders of earlier versions are recognised by their config.json
DATASET_OUTPUT = OutputKind(
    "dataset",
    ("config.json", GENERATOR_FILE, "[0-9][0-9]", "[0-9][0-9]_GT", "[0-9][0-9]_montage.png", "[0-9][0-9].gif"),
    "a dataset written by tganaug generate",
    _is_generated_dataset,
)


def _overwrite_would(out: Path) -> str:
    """What ``--overwrite`` would do with the non-empty ``out``, for a refusal's message."""
    unknown = foreign_entries(out, DATASET_OUTPUT)
    if unknown:
        return (f"; it holds {describe_entries(unknown)} that tganaug did not write there, so --overwrite would refuse it "
                "too: choose an empty or new folder, or move those files out first")
    return (f"; pass --overwrite to replace it, which deletes everything in it ({len(finished_videos(out))} finished "
            "video(s)), or choose another output directory")


def prepare_output(out: str | Path, config: GenerationConfig, overwrite: bool = False,
                   record: dict[str, Any] | None = None, inputs: Sequence[str | Path] = ()) -> set[int]:
    """Make ``out`` ready for ``config``; return the indices of videos already finished there.

    A new or empty folder is created. A folder made earlier with the same configuration (any
    number of videos) and, when ``record`` (a :func:`generator_record`) names weights, the same
    weights, is resumed: leftovers of an interrupted video are removed and finished videos are
    kept (``config.json`` keeps the larger of the two video counts). Anything else needs
    ``overwrite=True``, which moves the old content aside and removes it only once the new
    ``config.json`` is written; it is refused when ``out`` holds anything tganaug did not write there
    (:data:`DATASET_OUTPUT`; the refusal names it), what the run reads (the masks folder, the
    background image, a model path of ``config``, or other ``inputs`` such as config files) or the
    current working directory. ``record`` is written to ``generator.json``; the ownership record
    :data:`~tganaug.utils.fsutil.OUTPUT_RECORD` too.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output path {out} exists and is not a directory")
    existing = out / "config.json"
    previous = None
    if out.is_dir() and any(out.iterdir()):
        if existing.is_file():
            try:
                previous = GenerationConfig.from_dict(json.loads(existing.read_text()))
            except (ValueError, TypeError, AttributeError):  # not JSON, not an object, or not a GenerationConfig
                previous = None
        if overwrite:
            aside = _move_aside(out, config, inputs)
            out.mkdir()
            _write_records(out, config, record)
            shutil.rmtree(aside, ignore_errors=True)
            return set()
        if previous is None:
            raise OutputExistsError(f"output directory {out} is not empty and holds no tganaug config.json{_overwrite_would(out)}")
        differences = config.same_videos_as(previous)
        if differences:
            raise OutputExistsError(
                f"output directory {out} was generated with a different configuration (differs in: "
                f"{', '.join(differences)}){_overwrite_would(out)}"
            )
        _check_same_weights(out, record)
    out.mkdir(parents=True, exist_ok=True)
    # Leftovers of an interrupted run: staging folders, and raw frames whose _GT never arrived (its own names only).
    for entry in out.iterdir():
        if entry.is_dir() and fnmatch.fnmatchcase(entry.name, ".[0-9][0-9].tmp-*"):  # render_video's staging
            shutil.rmtree(entry, ignore_errors=True)
    done = finished_videos(out)
    for entry in out.iterdir():
        if entry.is_dir() and fnmatch.fnmatchcase(entry.name, "[0-9][0-9]") and int(entry.name) - 1 not in done:
            shutil.rmtree(entry)
    if previous is not None and previous.videos > config.videos:
        config = replace(config, videos=previous.videos)  # config.json describes every video the folder holds
    _write_records(out, config, record)
    return done


def _move_aside(out: Path, config: GenerationConfig, inputs: Sequence[str | Path]) -> Path:
    """Move ``out`` to ``<aside>/content`` beside it and return ``<aside>``; refused when it holds what the run reads,
    the working directory, or anything tganaug did not write there (:func:`~tganaug.utils.fsutil.move_output_aside`)."""
    _refuse_replacing_inputs(out, config, inputs)
    return move_output_aside(out, DATASET_OUTPUT)


def _refuse_replacing_inputs(out: Path, config: GenerationConfig, inputs: Sequence[str | Path]) -> None:
    """Raise :class:`OutputExistsError` when replacing ``out`` would delete something the run reads, or the working directory."""
    model = config.generator_config.get("model")
    candidates = [config.masks, config.background, model if isinstance(model, (str, Path)) else None, *inputs]
    root = out.resolve()
    inside = [str(path) for path in candidates if path and Path(path).exists() and root in (Path(path).resolve(), *Path(path).resolve().parents)]
    if inside:
        raise OutputExistsError(f"--overwrite would delete {', '.join(inside)}, which this run reads, inside {out}; choose another output directory")
    if root in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
        raise OutputExistsError(f"--overwrite would replace {out}, which holds the current working directory; choose another output directory")


@contextlib.contextmanager
def old_content_kept_until_done(out: Path, config: GenerationConfig, overwrite: bool, inputs: Sequence[str | Path] = ()) -> Iterator[None]:
    """With ``overwrite`` and a non-empty ``out``: move its content aside (refused when it holds what the run
    reads or what tganaug did not write, :func:`prepare_output`), and put it back if the block fails before any
    new video is finished (removing only what the run wrote); remove it once the block succeeds or fails after
    a new video finished (the set was replaced, as asked). Without ``overwrite``, or for an empty ``out``,
    nothing happens."""
    if not (overwrite and out.is_dir() and any(out.iterdir())):
        yield
        return
    aside = _move_aside(out, config, inputs)
    try:
        yield
    except BaseException:
        if finished_videos(out):
            shutil.rmtree(aside, ignore_errors=True)
        else:  # nothing new is worth more than what the user had
            put_back(out, aside, DATASET_OUTPUT)
        raise
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def records_removed_unless_a_video_finishes(out: Path, existed: bool) -> Iterator[None]:
    """On an error before any video of ``out`` is finished, remove the ``config.json`` / ``generator.json`` and the
    ownership record that :func:`prepare_output` wrote (and ``out`` itself when this run made it), so that the
    corrected command is not refused as "a different configuration". Enter it only after :func:`prepare_output` succeeded."""
    try:
        yield
    except BaseException:
        if not finished_videos(out):
            for name in ("config.json", GENERATOR_FILE, OUTPUT_RECORD):
                with contextlib.suppress(FileNotFoundError):
                    (out / name).unlink()
            for entry in out.iterdir():  # a video stopped during its final renames (no _GT yet): only its own names
                if fnmatch.fnmatchcase(entry.name, "[0-9][0-9]") and entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                elif any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in ("[0-9][0-9]_montage.png", "[0-9][0-9].gif")):
                    entry.unlink()
            if not existed:
                with contextlib.suppress(OSError):
                    out.rmdir()
        raise


@contextlib.contextmanager
def output_prepared(out: Path, config: GenerationConfig, overwrite: bool, record: dict[str, Any] | None,
                    inputs: Sequence[str | Path] = ()) -> Iterator[set[int]]:
    """``out`` made ready for rendering ``config`` inside the block; yields the indices of videos already finished.

    The old content is kept aside until a new video finishes (:func:`old_content_kept_until_done`), the folder is
    prepared (:func:`prepare_output`, writing ``record``), and the records of a run that finished no video are
    removed again (:func:`records_removed_unless_a_video_finishes`). Used by both the one-process and the sharded run.
    """
    with old_content_kept_until_done(out, config, overwrite, inputs):
        existed = out.exists()
        done = prepare_output(out, config, overwrite, record=record, inputs=inputs)
        with records_removed_unless_a_video_finishes(out, existed):
            yield done


def _write_records(out: Path, config: GenerationConfig, record: dict[str, Any] | None) -> None:
    """``config.json``, (when known) ``generator.json`` and the ownership record of ``out``, each written atomically."""
    write_output_record(out, DATASET_OUTPUT)
    atomic_write_json(out / "config.json", config.to_dict())
    if record is not None:
        atomic_write_json(out / GENERATOR_FILE, record)


def check_inputs(config: GenerationConfig) -> np.ndarray | None:
    """Check what ``config`` reads before anything is written; return its background (``(H, W) float32`` or None).

    The masks folder must hold every sequence of ``config.videos`` and, with a background, each
    must have the background's size; the background must load (:func:`load_background`).
    """
    if config.masks:
        missing = [video_name(i) for i in range(config.videos) if annotation_dir(config.masks, video_name(i)) is None]
        if missing:
            raise FileNotFoundError(f"masks folder {config.masks}: no annotation (NN_GT/TRA or NN_ST/TRA) for sequence(s) {', '.join(missing)}")
    background = load_background(config.background, config.height, config.width) if config.background else None
    if background is not None and config.masks:
        for i in range(config.videos):
            tra = annotation_dir(config.masks, video_name(i))[0]
            first = min(tra.glob("man_track*.tif*"), default=None)
            shape = read_tiff(first).shape if first is not None else None
            if shape is not None and shape != background.shape:
                raise ValueError(f"masks sequence {video_name(i)} is {shape[0]}x{shape[1]}, the background {config.background} is "
                                 f"{background.shape[0]}x{background.shape[1]}: one background serves every video")
    return background


def generate_dataset(config: GenerationConfig, out: str | Path, overwrite: bool = False, progress: bool = True,
                     indices: Iterable[int] | None = None, inputs: Sequence[str | Path] = ()) -> list[Path]:
    """Generate the videos of ``config`` into ``out`` (resuming, see :func:`prepare_output`).

    ``indices`` restricts the work to some videos (for sharding); ``inputs``: further files the run
    read (e.g. config files), never deleted by ``overwrite``. Returns the ``<name>_GT`` folders of
    every finished video in ``out``.
    """
    from tganaug import get_generator, get_simulator

    generator = get_generator(config.generator, **config.generator_config)
    simulator = None if config.masks else get_simulator(config.simulator, **config.simulator_config)
    background = check_inputs(config)
    with output_prepared(Path(out), config, overwrite, generator_record(generator, config.generator_config), inputs) as done:
        todo = [i for i in (range(config.videos) if indices is None else indices) if i not in done]
        for index in tqdm(todo, desc="videos", unit="video", disable=not progress or len(todo) < 2):
            render_video(config, index, out, generator, simulator, background, progress=progress)
    return [Path(out) / f"{video_name(i)}_GT" for i in sorted(finished_videos(out))]
