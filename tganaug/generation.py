"""Write annotated synthetic video datasets: simulator → masks + lineage → generator → CTC folders.

One dataset folder holds videos ``01``, ``02``, ... in CTC layout::

    DIR/config.json                      GenerationConfig of the whole set
    DIR/generator.json                   the generator that rendered it (name, config, weights sha256)
    DIR/01/t000.tif ...                  generated frames, (H, W) uint16 (intensity x 65535)
    DIR/01_GT/TRA/man_track000.tif ...   (H, W) uint16 instance labels = the exact annotation
    DIR/01_GT/TRA/man_track.txt          lineage id start end parent
    DIR/01_montage.png, DIR/01.gif       masks | generated (titled rows/columns), to look at

Each video is rendered frame by frame (memory does not grow with the number of frames) into a
hidden staging folder and moved into place when complete, ``01_GT`` last: a video is finished
exactly when ``DIR/<name>_GT`` exists. Re-running the same configuration skips finished videos.
Each video's seeds derive from ``(seed, video index)`` only (:func:`tganaug.data.seeding.video_seeds`,
the scheme of :class:`tganaug.data.SyntheticVideoDataset`: video ``NN`` is item ``NN - 1`` of the
dataset with the same seed, see :mod:`tganaug.render`), so any subset of videos, in any order or
process, gives the same bytes. A shipped model name can come with other weights after an
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
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tganaug.io import SequenceWriter, annotation_dir, describe_sequences, read_ctc, read_tiff
from tganaug.render import GivenMasks, VideoRenderer
from tganaug.utils.fsutil import (OUTPUT_RECORD, OutputExistsError, OutputKind, atomic_write_json, describe_entries, foreign_entries,
                                  move_output_aside, put_back, write_output_record)
from tganaug.utils.termination import raise_if_terminated
from tganaug.visualize import colorize_labels, frame_indices, montage, save_gif, save_png, to_uint8

__all__ = [
    "GenerationConfig",
    "SEED_SCHEME",
    "check_inputs",
    "masks_sequence",
    "video_name",
    "finished_videos",
    "stored_frames",
    "BackgroundUnitsWarning",
    "CAMERA_FRAME_P99",
    "camera_frame_problem",
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
#: the seed scheme videos are rendered with (:attr:`GenerationConfig.seed_scheme`)
SEED_SCHEME = 2


@dataclass
class GenerationConfig:
    """Everything that determines a generated dataset (saved as ``config.json``).

    Attributes:
        generator / generator_config: generator plugin name (default ``"tgan"``, as ``tganaug generate``: the
            shipped ``fluo-nuclei`` model unless ``generator_config["model"]`` names another) and its keyword configuration.
        simulator / simulator_config: simulator plugin name and configuration; with ``masks`` there is no
            simulator: both become ``None`` / ``{}`` (``config.json`` records where the labels came from).
        videos, frames, height, width: number and size of the videos (``frames``/size ignored with ``masks``).
        seed: global seed; video ``k`` (0-based, named ``k + 1``) uses the seeds
            :func:`tganaug.data.seeding.video_seeds` ``(seed, k)``, as item ``k`` of
            ``SyntheticVideoDataset(seed=seed)`` does: the same video (:mod:`tganaug.render`).
        background: optional path to a reference background image (TIFF/PNG), ``(H, W)``.
        masks: optional CTC folder whose label videos are rendered instead of simulating.
        mask_sequences: the sequences of ``masks`` rendered as videos ``01, 02, ...`` in this order (e.g. ``["02"]``);
            None: video ``k`` renders sequence :func:`video_name` ``(k)``.
        appearance: ``"random"``, a JSON file or a dict of appearance ranges (:class:`tganaug.appearance.AppearanceConfig`).
        reference: image files of unannotated frames whose look the videos take (:mod:`tganaug.appearance`).
        torch_threads: torch CPU threads while rendering. CPU convolutions round differently with
            another thread count, so the bytes of a video depend on it; with the default 1 they do
            not depend on the machine or on sharding (parallelism comes from ``--workers``).
        seed_scheme: how the videos' seeds derive from ``seed``; only :data:`SEED_SCHEME` (``video_seeds``) is
            rendered. A ``config.json`` without it was written under scheme 1 (one ``SeedSequence([seed, k])`` seed
            shared by simulator and generator), so resuming such a folder is refused as a different configuration
            instead of mixing two schemes in one set.
    """

    generator: str = "tgan"
    generator_config: dict[str, Any] = field(default_factory=dict)
    simulator: str | None = "division"
    simulator_config: dict[str, Any] = field(default_factory=dict)
    videos: int = 1
    frames: int = 30
    height: int = 256
    width: int = 256
    seed: int = 0
    background: str | None = None
    masks: str | None = None
    torch_threads: int = 1
    seed_scheme: int = SEED_SCHEME
    mask_sequences: list[str] | None = None
    appearance: str | dict[str, Any] | None = None
    reference: list[str] | None = None

    def __post_init__(self) -> None:
        for name in ("videos", "frames", "height", "width", "torch_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.videos > 99:
            raise ValueError(f"at most 99 videos per folder (CTC sequence names 01..99), got {self.videos}")
        if self.masks:  # the labels come from the masks: no simulator made them
            self.simulator, self.simulator_config = None, {}
        elif not self.simulator:
            raise ValueError("simulator must name a simulator plugin when no masks are given")
        if self.mask_sequences is not None:
            if not self.masks or not all(isinstance(name, str) and name.isdigit() for name in self.mask_sequences):
                raise ValueError(f"mask_sequences must name sequences (e.g. ['02']) of a masks folder, got {self.mask_sequences!r}")
            if self.videos > len(self.mask_sequences):
                raise ValueError(f"{self.videos} videos asked, but mask_sequences names only {', '.join(self.mask_sequences)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def record(self) -> dict[str, Any]:
        """What ``config.json`` holds: :meth:`to_dict`, with ``mask_sequences`` always spelt out when there are
        ``masks`` (the sequence of ``masks`` each video was rendered from). :meth:`from_dict` reads it back."""
        values = self.to_dict()
        if self.masks:
            values["mask_sequences"] = [masks_sequence(self, i) for i in range(self.videos)]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationConfig:
        known = {f.name for f in fields(cls)}
        values = {"seed_scheme": 1, **values}  # a config.json without the field is scheme 1
        if values.get("mask_sequences") == [video_name(i) for i in range(int(values.get("videos", 1)))]:
            values["mask_sequences"] = None  # the usual 01, 02, ... in order, as a config given none
        return cls(**{k: v for k, v in values.items() if k in known})

    def same_videos_as(self, other: GenerationConfig) -> list[str]:
        """Names of the fields (other than ``videos``) in which two configs differ."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k != "videos" and mine[k] != theirs[k])


def video_name(index: int) -> str:
    """CTC sequence name of video ``index`` (0-based): ``01``, ``02``, ..."""
    return f"{index + 1:02d}"


def masks_sequence(config: GenerationConfig, index: int) -> str:
    """The sequence of ``config.masks`` that video ``index`` renders (``config.mask_sequences``, else :func:`video_name`)."""
    return config.mask_sequences[index] if config.mask_sequences is not None else video_name(index)


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

    Raises ``ValueError`` naming the file if its size is not ``height x width`` or its values do not fit;
    warns (:class:`BackgroundUnitsWarning`, :func:`camera_frame_problem`) when it looks like a raw camera frame.
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
        scaled = (image.astype(np.float32) / np.iinfo(image.dtype).max).astype(np.float32)
    else:
        scaled = image.astype(np.float32)
        if not np.all(np.isfinite(scaled)) or scaled.min() < 0 or scaled.max() > 1:
            raise ValueError(f"background image {path} is floating point: it must be finite and in [0, 1]")
    problem = camera_frame_problem(image, scaled)
    if problem:
        warnings.warn(f"background image {path} {problem}", BackgroundUnitsWarning, stacklevel=2)
    return scaled


class BackgroundUnitsWarning(UserWarning):
    """A ``--background`` image whose values look like a raw camera frame, not the generator's intensity units."""


#: a background whose 99th percentile lies below this, in the generator's units (0..1 = the training frames'
#: 1st..99.8th percentile), is darker than any background in those units: raw camera counts scaled by their
#: dtype's range (a raw Fluo-N2DH-SIM+ frame, uint16: 0.0032; every background estimated with
#: background_from_video from the train frames of the data sets in shared/data, and the shipped references: 0.08 or more)
CAMERA_FRAME_P99 = 0.02


def camera_frame_problem(image: np.ndarray, scaled: np.ndarray) -> str | None:
    """Why a background ``image (H, W)`` (as read) whose values in the generator's units are ``scaled (H, W) float32``
    looks like a raw camera frame (its 99th percentile below :data:`CAMERA_FRAME_P99`), or None."""
    if not scaled.size:
        return None
    p99 = float(np.percentile(scaled, 99))
    if p99 >= CAMERA_FRAME_P99:
        return None
    kind = f"{image.dtype}, read as value / {np.iinfo(image.dtype).max}" if np.issubdtype(image.dtype, np.integer) else f"{image.dtype}, read as is"
    return (f"looks like a raw camera frame, not a background in the generator's units: its values are "
            f"{image.min()}..{image.max()} ({kind}: {scaled.min():.4g}..{scaled.max():.4g}, 99% of pixels below {p99:.4g}), "
            f"while the model expects values in 0..1 = its training frames' 1st..99.8th percentile, where a background's "
            f"99th percentile lies at {CAMERA_FRAME_P99:g} or more (the shipped reference backgrounds' median: 0.066 for "
            "fluo-nuclei, 0.22..0.32 for phase-contrast); rendered on it the videos come out nearly black. Make a background in these units from your own annotated "
            "frames with tganaug.models.tgan.background_from_video (see README, --background)")



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


def stored_frames(images: np.ndarray) -> np.ndarray:
    """Generated frames (any shape) float in [0, 1] -> ``uint16`` ``round(x * 65535)``: the frames as ``tganaug generate``
    writes them (and ``tganaug track`` reads them back)."""
    return (np.asarray(images) * 65535).round().astype(np.uint16)


def _render_video(config: GenerationConfig, index: int, out: str | Path, generator: Any, simulator: Any,
                  background: np.ndarray | None, progress: bool) -> Path:
    """Render video ``index`` of ``config`` into ``out`` atomically; return ``out/<name>_GT``.

    Streams simulator (or ``config.masks``) frames through ``generator`` (:meth:`tganaug.render.VideoRenderer.stream`:
    the same video as ``SyntheticVideoDataset(seed=config.seed)[index]``) and writes each frame as it comes. The
    lineage is validated against the labels before the video is moved into place; a failure leaves no partial video
    behind.
    """
    out = Path(out)
    name = video_name(index)
    renderer = VideoRenderer(simulator, generator, seed=config.seed, frames=config.frames, height=config.height, width=config.width,
                             backgrounds=[] if background is None else [background], simulator_name=config.simulator,
                             generator_name=config.generator)
    masks = None
    if config.masks:
        source = read_ctc(config.masks, sequence=masks_sequence(config, index), read_images=False)
        masks = GivenMasks(source.labels, source.lineage, f"masks {config.masks}")
    frames = renderer.stream(index, masks=masks, video=f"video {name}")
    n_frames = frames.length
    shown = frame_indices(n_frames)
    keep = set(shown) | set(range(min(n_frames, _GIF_FRAMES)))
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out))
    try:
        writer = SequenceWriter(staging, n_frames, sequence=name)
        labels_kept: dict[int, np.ndarray] = {}
        generated_kept: dict[int, np.ndarray] = {}
        bar = tqdm(total=n_frames, desc=f"video {name}", unit="frame", leave=False, disable=not progress)
        for t, (labels_t, image_t) in enumerate(frames):
            raise_if_terminated()
            writer.write(t, labels=labels_t, image=stored_frames(image_t))
            if t in keep:
                labels_kept[t] = colorize_labels(labels_t)
                generated_kept[t] = to_uint8(image_t, 0.0, 1.0)
            bar.update(1)
        bar.close()
        writer.finish(frames.lineage)
        save_png(staging / f"{name}_montage.png", montage([[labels_kept[t] for t in shown], [generated_kept[t] for t in shown]],
                                                          row_titles=("masks", "synthetic"), column_titles=[f"t={t}" for t in shown]))
        gif_frames = sorted(t for t in generated_kept if t < _GIF_FRAMES)
        save_gif(staging / f"{name}.gif", [montage([[labels_kept[t], generated_kept[t]]], column_titles=(f"masks t={t}", "synthetic"))
                                           for t in gif_frames])
        # Move into place; <name>_GT last, so its presence means the video is complete.
        for item in (name, f"{name}_montage.png", f"{name}.gif", f"{name}_GT"):
            os.replace(staging / item, out / item)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / f"{name}_GT"


def generator_record(generator: Any, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """What :func:`prepare_output` records in ``generator.json``: ``{"name", "config"}`` of the generator
    (:func:`tganaug.plugin_objects.describe`; a generator without a ``config``: the parameters ``given`` to it);
    the ``tgan`` plugin's config holds its ``weights_sha256``."""
    from tganaug.plugin_objects import describe

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
    atomic_write_json(out / "config.json", config.record())
    if record is not None:
        atomic_write_json(out / GENERATOR_FILE, record)


def check_inputs(config: GenerationConfig) -> np.ndarray | None:
    """Check what ``config`` reads before anything is written; return its background (``(H, W) float32`` or None).

    The masks folder must hold every sequence of ``config.videos`` and, with a background, each
    must have the background's size; the background must load (:func:`load_background`); the seed scheme must
    be :data:`SEED_SCHEME`.
    """
    if config.seed_scheme != SEED_SCHEME:
        raise ValueError(f"seed_scheme {config.seed_scheme!r} cannot be rendered: videos are seeded by scheme {SEED_SCHEME} "
                         "(tganaug.data.seeding.video_seeds)")
    if config.masks:
        missing = [masks_sequence(config, i) for i in range(config.videos) if annotation_dir(config.masks, masks_sequence(config, i)) is None]
        if missing:
            raise FileNotFoundError(f"masks folder {config.masks}: no annotation (NN_GT/TRA or NN_ST/TRA) for sequence(s) "
                                    f"{', '.join(missing)} ({describe_sequences(config.masks)})")
    background = load_background(config.background, config.height, config.width) if config.background else None
    if background is not None and config.masks:
        for i in range(config.videos):
            tra = annotation_dir(config.masks, masks_sequence(config, i))[0]
            first = min(tra.glob("man_track*.tif*"), default=None)
            shape = read_tiff(first).shape if first is not None else None
            if shape is not None and shape != background.shape:
                raise ValueError(f"masks sequence {masks_sequence(config, i)} is {shape[0]}x{shape[1]}, the background {config.background} is "
                                 f"{background.shape[0]}x{background.shape[1]}: one background serves every video")
    return background


def generate_dataset(config: GenerationConfig, out: str | Path, overwrite: bool = False, progress: bool = True,
                     indices: Iterable[int] | None = None, inputs: Sequence[str | Path] = ()) -> list[Path]:
    """Generate the videos of ``config`` into ``out`` (resuming, see :func:`prepare_output`).

    ``indices`` restricts the work to some videos (for sharding); ``inputs``: further files the run
    read (e.g. config files), never deleted by ``overwrite``. Returns the ``<name>_GT`` folders of
    every finished video in ``out``.
    """
    from tganaug.registry import get_generator, get_simulator

    from tganaug.appearance import configured

    generator = configured(get_generator(config.generator, **config.generator_config), config)
    simulator = None if config.masks else get_simulator(config.simulator, **config.simulator_config)
    background = check_inputs(config)
    with output_prepared(Path(out), config, overwrite, generator_record(generator, config.generator_config), inputs) as done:
        todo = [i for i in (range(config.videos) if indices is None else indices) if i not in done]
        for index in tqdm(todo, desc="videos", unit="video", disable=not progress or len(todo) < 2):
            render_video(config, index, out, generator, simulator, background, progress=progress)
    return [Path(out) / f"{video_name(i)}_GT" for i in sorted(finished_videos(out))]
