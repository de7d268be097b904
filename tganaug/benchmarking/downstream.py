"""Downstream benchmark: does synthetic data make a segmenter + tracker work on a recording it never saw?

The ``unet`` segmenter (:mod:`tganaug.segmentation`) and the learned ``linker``
(:mod:`tganaug.tracking.linker`) are trained on sequence ``01`` of one dataset (``--train``), per setup:

* (a) ``real-K``: the first K *train* frames (K = 2, 5, all), with image augmentation: flips / rot90 and, with
  ``augment="intensity"`` (the default), MONAI's ``RandScaleIntensityd``, ``RandShiftIntensityd``,
  ``RandAdjustContrastd``, ``RandGaussianNoised`` and ``RandGaussianSmoothd`` (the honest real-data baseline;
  ``augment="flips"`` is flips / rot90 only);
* (b) ``real-K+syn``: the same frames mixed 50/50 with :class:`tganaug.SyntheticVideoDataset` videos (``division``
  simulator fitted with ``from_ctc`` on the same K frames, rendered by the ``generator``; the procedural renderer is
  fitted on those frames too), optionally re-rendered in seeded random looks (``appearance="random"``,
  :mod:`tganaug.appearance`) or in the look of one *unannotated* frame of a target recording (``reference``: the
  twin-style setup, which reads that frame's image and is stated as such in the report);
* (c) ``syn-only``: synthetic videos only (simulator and renderer fitted on all train frames).

The linker (and, with ``trackastra=True``, a masks-only trackastra transformer,
:mod:`tganaug.tracking.trackastra_model`) is trained on the same kind of data (GT label videos of the K real frames
and / or simulated videos); they see masks only, so their runs are shared by every generator.

Each trained pair is scored on every *target* (``DATASET/SEQ``), on that sequence's *eval* frames (every frame of an
evaluation-only sequence such as ``Fluo-N2DH-SIM+/02``; such a sequence is never read for training, fitting or
background estimation). The protocol of a row is named in the report: ``same sequence`` (eval frames of the
sequence trained on), ``unseen sequence`` (another sequence of the dataset trained on), ``cross-dataset``. Scores:
DET, SEG, TRA (py-ctcmetrics, against the TRA masks, which may be markers; SEG against the dataset's ``SEG`` masks,
or its dense TRA masks where it has none), MOTA (motmetrics, mask IoU >= 0.5, against full outlines with track ids
from :func:`tganaug.outlines.read_outlined_ctc`, i.e. the TRA masks themselves where they are dense) and division
recall (traccuracy). Mean ± population sd over the seeds.

Training state is kept per run under ``runs``; a rerun resumes, and skips runs whose score files exist (one per
tracker and target). A runs folder records the settings its runs were made with and refuses other ones.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.benchmarking.report import machine as report_machine

__all__ = [
    "COLUMNS",
    "DENSE_TRA",
    "DownstreamSettings",
    "Target",
    "add_downstream_parser",
    "augmentation",
    "background_crops",
    "generator_fingerprint",
    "build_parser",
    "linker_videos",
    "parse_target",
    "run_benchmark",
    "run_downstream",
    "score_target",
    "setups",
    "training_set",
]

#: per run folder: wall seconds of segmenting + scoring each target
TIMING_FILE = "timing.json"
#: the measures in the report (means and sds in the CSV)
COLUMNS = ("SEG", "DET", "TRA", "MOTA", "DIV_recall")
#: datasets without SEG masks whose TRA masks are dense, full segmentations (see their READMEs)
DENSE_TRA = {"PhC-Ecoli-vanVliet", "PhC-T98G-Usiigaci"}
#: reference-background crops handed to a learned generator with ``background="real"``
BACKGROUND_CROPS = 16
BACKGROUND_TEXT = {"default": "the generator's default (tgan: seeded crops of the clean reference backgrounds of its training videos)",
                   "real": f"{BACKGROUND_CROPS} random crops of the one estimated from the same real frames",
                   "flat": "flat (the model's training median)"}
AUGMENT_TEXT = {"flips": "flips/rot90",
                "intensity": "flips/rot90 + MONAI RandScaleIntensityd, RandShiftIntensityd, RandAdjustContrastd (gamma 0.6-1.6), "
                             "RandGaussianNoised (sd <= 0.08), RandGaussianSmoothd (sigma 0.3-1.5)"}


@dataclass(frozen=True)
class Target:
    """A sequence scored on: its *eval* frames (every frame of an evaluation-only sequence)."""

    dataset: str
    sequence: str = "01"

    @property
    def slug(self) -> str:
        """``DATASET_SEQ`` (file-name safe)."""
        return re.sub(r"[^A-Za-z0-9+._-]", "_", f"{self.dataset}_{self.sequence}")

    def protocol(self, train_dataset: str, train_sequence: str = "01") -> str:
        """``"same sequence"``, ``"unseen sequence"`` or ``"cross-dataset"`` relative to what was trained on."""
        if self.dataset != train_dataset:
            return "cross-dataset"
        return "same sequence" if self.sequence == train_sequence else "unseen sequence"

    def __str__(self) -> str:
        return f"{self.dataset}/{self.sequence}"


def parse_target(text: str) -> Target:
    """``"DATASET/SEQ"`` (``"Fluo-N2DH-SIM+/02"``) or ``"DATASET"`` (sequence 01) as a :class:`Target`."""
    dataset, _, sequence = text.partition("/")
    sequence = sequence or "01"
    if not dataset or not re.fullmatch(r"\d{2}", sequence):
        raise ValueError(f"a target is DATASET or DATASET/SEQ (two digits, e.g. Fluo-N2DH-SIM+/02), got {text!r}")
    return Target(dataset, sequence)


@dataclass
class DownstreamSettings:
    """Everything a downstream benchmark run depends on (the command-line options, one to one)."""

    data: Path
    train: str = "Fluo-N2DH-SIM+"
    targets: list[Target] = field(default_factory=list)  # default: the eval frames of the dataset trained on
    generator: str = "procedural"
    model: str | None = None
    background: str = "default"
    appearance: str | None = "random"
    reference: str | None = None  # "DATASET/SEQ:FRAME": twin-style, one unannotated frame of a target
    augment: str = "intensity"
    tracker: str = "laptrack"
    k: list[int] = field(default_factory=lambda: [2, 5, 0])
    setups: list[str] = field(default_factory=lambda: ["real", "mixed", "syn-only"])
    steps: int = 300
    batch: int = 8
    crop: int = 128
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    runs: Path = Path("runs/downstream")
    linker: bool = True
    linker_steps: int = 1500
    linker_videos: int = 6
    linker_frames: int = 20
    linker_size: int = 256
    linker_gt: bool = True  # the "linker alone on GT masks" table of the training dataset's eval frames
    trackastra: bool = False  # also train a masks-only trackastra transformer per setup, on the linker's videos
    trackastra_epochs: int = 40

    def target_list(self) -> list[Target]:
        return self.targets or [Target(self.train, "01")]


# --------------------------------------------------------------------------------------------- training data
class FirstFrames:
    """The first ``k`` single-frame clips of a :class:`tganaug.data.CTCVideoDataset` (``set_epoch`` forwarded); a
    map-style dataset for a ``DataLoader`` (torch is not imported here, so registering the command stays light)."""

    def __init__(self, dataset: Any, k: int) -> None:
        self.dataset, self.k = dataset, k

    def __len__(self) -> int:
        return self.k

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)


def augmentation(kind: str = "intensity") -> Any:
    """The MONAI dict transform of the training items (``image`` and ``label`` as ``(T, H, W)`` channel-first arrays):
    ``"flips"`` (random flips on both axes, rot90) or ``"intensity"`` (those, then scale / shift / gamma contrast on
    the ``[0, 1]`` image, Gaussian noise and Gaussian blur, each with probability 0.5, on the image only)."""
    from monai.transforms import (Compose, RandAdjustContrastd, RandFlipd, RandGaussianNoised, RandGaussianSmoothd,
                                  RandRotate90d, RandScaleIntensityd, RandShiftIntensityd)

    if kind not in AUGMENT_TEXT:
        raise ValueError(f"unknown augmentation {kind!r}; choose one of {', '.join(AUGMENT_TEXT)}")
    both = ["image", "label"]
    spatial = [RandFlipd(both, prob=0.5, spatial_axis=0), RandFlipd(both, prob=0.5, spatial_axis=1), RandRotate90d(both, prob=0.5)]
    if kind == "flips":
        return Compose(spatial)
    return Compose(spatial + [
        RandScaleIntensityd("image", factors=0.3, prob=0.5),
        RandShiftIntensityd("image", offsets=0.1, prob=0.5),
        RandAdjustContrastd("image", gamma=(0.6, 1.6), prob=0.5),
        RandGaussianSmoothd("image", sigma_x=(0.3, 1.5), sigma_y=(0.3, 1.5), prob=0.5),
        RandGaussianNoised("image", mean=0.0, std=0.08, prob=0.5),
    ])


def background_crops(dataset_dir: Path, frames: Any, crop: int, seed: int) -> list[np.ndarray]:
    """``BACKGROUND_CROPS`` random ``(crop, crop) float32`` crops of the reference background estimated off the full
    outlines of the real ``frames`` of sequence 01."""
    from tganaug.models.tgan import background_from_video
    from tganaug.outlines import read_outlined_ctc

    real, _ = read_outlined_ctc(dataset_dir, "01", frames)
    background = background_from_video(real.images, real.labels)
    height, width = background.shape
    if height < crop or width < crop:
        raise ValueError(f"{dataset_dir.name} frames are {height}x{width}, smaller than the crop {crop}")
    rng = np.random.default_rng(3000 + seed)
    corners = zip(rng.integers(0, height - crop + 1, BACKGROUND_CROPS), rng.integers(0, width - crop + 1, BACKGROUND_CROPS))
    return [background[y:y + crop, x:x + crop].copy() for y, x in corners]


def read_reference_frame(data: Path, spec: str) -> np.ndarray:
    """The image of one frame named ``"DATASET/SEQ:FRAME"`` (``(1, H, W)``, its own dtype; no annotation read)."""
    from tganaug.io import read_ctc

    where, sep, frame = spec.rpartition(":")
    if not sep or not frame.isdigit():
        raise ValueError(f"a reference frame is DATASET/SEQ:FRAME (e.g. Fluo-N2DH-SIM+/02:0), got {spec!r}")
    target = parse_target(where)
    sequence = read_ctc(data / target.dataset, target.sequence, frames=[int(frame)], read_labels=False)
    assert sequence.images is not None
    return sequence.images


def synthetic(settings: DownstreamSettings, frames: Any, seed: int) -> Any:
    """Synthetic 2-frame videos (``SyntheticVideoDataset``, 200 videos) whose ``division`` simulator (and procedural
    renderer) are fitted on ``frames`` of the training sequence."""
    from tganaug.data import SyntheticVideoDataset
    from tganaug.procedural import ProceduralRenderer
    from tganaug.registry import default_registry, get_generator

    dataset_dir = settings.data / settings.train
    simulator = default_registry().info("simulator", "division").factory.from_ctc(dataset_dir, frames=frames)
    references = None
    if settings.generator == "procedural":
        renderer: Any = ProceduralRenderer.from_ctc(dataset_dir, frames=frames)
    else:
        options = {**({"model": settings.model} if settings.model else {}),
                   **({"background_default": "flat"} if settings.background == "flat" else {})}
        renderer = get_generator(settings.generator, **options)
        references = background_crops(dataset_dir, frames, settings.crop, seed) if settings.background == "real" else None
    extra: dict[str, Any] = {}
    if settings.appearance:
        extra["appearance"] = settings.appearance
    if settings.reference:
        extra["reference"] = read_reference_frame(settings.data, settings.reference)
    return SyntheticVideoDataset(simulator=simulator, generator=renderer, num_videos=200, frames=2, size=(settings.crop, settings.crop),
                                 transform=augmentation(settings.augment), seed=1000 + seed, background=references, **extra)


def training_set(settings: DownstreamSettings, kind: str, k: int | None, seed: int) -> Any:
    """The segmenter's training items for one setup: ``kind`` ``"real"`` (first ``k`` train frames, all when None),
    ``"mixed"`` (those + synthetic, 50/50, 400 items) or ``"syn-only"``."""
    from tganaug.data import CTCVideoDataset, MixedVideoDataset

    dataset_dir = settings.data / settings.train
    if kind == "syn-only":
        return synthetic(settings, "train", seed)
    real = CTCVideoDataset(dataset_dir, split="train", clip_frames=1, size=(settings.crop, settings.crop), crop="random",
                           transform=augmentation(settings.augment), labels="outlines", seed=seed)
    n_real = len(real) if k is None else k
    first = FirstFrames(real, n_real)
    if kind == "real":
        return first
    train_frames = range(int(real.frames[0]), int(real.frames[0]) + n_real)
    return MixedVideoDataset([first, synthetic(settings, train_frames, seed)], weights=[0.5, 0.5], num_items=400, seed=seed)


def linker_videos(dataset_dir: Path, kind: str, k: int | None, seed: int, videos: int, frames: int, size: int) -> list[Any]:
    """GT label videos for the linker of one setup: ``(labels (K, H, W) uint16, lineage (N, 4))``, the full outlines
    with track ids of the first K real train frames of sequence 01 and / or ``videos`` videos of ``frames`` x ``size``² from the ``division`` simulator
    fitted with ``from_ctc`` on the same frames (all train frames for ``syn-only``), seeds ``2000 + 100 * seed + v``."""
    from tganaug.lineage import crop_lineage
    from tganaug.outlines import read_outlined_ctc
    from tganaug.registry import default_registry

    real, _ = read_outlined_ctc(dataset_dir, "01", "train", read_images=False)
    n_real = len(real.frames) if k is None else k
    items: list[Any] = []
    if kind != "syn-only":
        items.append((real.labels[:n_real], crop_lineage(real.lineage, 0, n_real - 1)))
    if kind != "real":
        fit_frames: Any = "train" if kind == "syn-only" else range(int(real.frames[0]), int(real.frames[0]) + n_real)
        simulator = default_registry().info("simulator", "division").factory.from_ctc(dataset_dir, frames=fit_frames)
        simulated = (simulator.simulate(frames, size, size, seed=2000 + 100 * seed + v) for v in range(videos))
        items += [(video.labels, video.lineage) for video in simulated]
    return items


def setups(k_values: Sequence[int], kinds: Sequence[str] = ("real", "mixed", "syn-only")) -> list[tuple[str, str, int | None]]:
    """``(name, kind, k)`` per setup, in report order: ``real-K`` for each K, ``real-K+syn`` for each K, ``syn-only``
    (K = 0 means all train frames, named ``all``)."""
    out = []
    if "real" in kinds:
        out += [(f"real-{k or 'all'}", "real", k or None) for k in k_values]
    if "mixed" in kinds:
        out += [(f"real-{k or 'all'}+syn", "mixed", k or None) for k in k_values]
    if "syn-only" in kinds:
        out.append(("syn-only", "syn-only", None))
    return out


# --------------------------------------------------------------------------------------------- evaluation
@dataclass
class EvaluationData:
    """One target's eval frames: ``markers`` (``(T, H, W)`` TRA masks, the CTC GT), ``outlines`` (full outlines with
    track ids, for MOTA), ``lineage``, ``images``, ``seg`` (SEG reference per frame index) and how they were made."""

    target: Target
    frames: np.ndarray
    images: np.ndarray
    markers: np.ndarray
    outlines: np.ndarray
    lineage: np.ndarray
    seg: dict[int, np.ndarray]
    outline_method: str


def read_target(data: Path, target: Target) -> EvaluationData:
    """Read the eval frames of ``target`` (images, TRA masks, outlines, SEG reference)."""
    from tganaug.io import read_ctc
    from tganaug.outlines import read_outlined_ctc
    from tganaug.tracking.metrics import read_seg_reference

    dataset_dir = data / target.dataset
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"no dataset folder {dataset_dir} (target {target})")
    sequence = read_ctc(dataset_dir, target.sequence, frames="eval")
    frames = sequence.frames.tolist()
    outlined, report = read_outlined_ctc(dataset_dir, target.sequence, frames, read_images=False)
    seg = read_seg_reference(dataset_dir, frames, target.sequence)
    if not seg and target.dataset in DENSE_TRA:
        seg = dict(enumerate(sequence.labels))
    assert sequence.images is not None
    return EvaluationData(target, sequence.frames, sequence.images, sequence.labels, outlined.labels, sequence.lineage, seg,
                          f"{report.method} ({report.source})")


def score_target(evaluation: EvaluationData, labels: np.ndarray, tracker: str, **config: Any) -> dict[str, float]:
    """Link ``labels`` (``(T, H, W)`` per-frame instances) with ``tracker`` and score against the target's GT:
    DET / SEG / TRA against its TRA masks and SEG reference, MOTA against its outlines, division recall (traccuracy)."""
    from tganaug.tracking.graph_metrics import traccuracy_measures
    from tganaug.tracking.pipeline import segment_and_track
    from tganaug.tracking.metrics import ctc_measures, mot_metrics

    tracked, lineage = segment_and_track(labels, tracker, tracker_config=config).tracks
    scores = dict(mot_metrics(evaluation.outlines, tracked))
    scores.update(ctc_measures(tracked, lineage, evaluation.markers, evaluation.lineage, evaluation.seg))
    scores.update(traccuracy_measures(tracked, lineage, evaluation.markers, evaluation.lineage))
    return {key: float(scores[key]) for key in COLUMNS}


# --------------------------------------------------------------------------------------------- runs folders
def generator_fingerprint(settings: DownstreamSettings) -> dict[str, str]:
    """What the synthetic-data runs were rendered with: generator, model, a non-default reference background, for a model
    loaded from files (``tgan``) a sha256 of its weights, the appearance option, the twin-style reference frame, and
    what the simulator was fitted on (full outlines: runs of a simulator fitted on marker TRA masks are refused)."""
    fingerprint = {"generator": settings.generator, "model": str(settings.model), "simulator_fit": "outlines"}
    if settings.background != "default" and settings.generator != "procedural":
        fingerprint["background"] = settings.background
    if settings.generator == "tgan":
        from tganaug.models.tgan import resolve_model
        from tganaug.utils.weights import weights_fingerprint

        fingerprint["weights_sha256"] = weights_fingerprint(resolve_model(settings.model or "fluo-nuclei"))
    if settings.appearance:
        fingerprint["appearance"] = str(settings.appearance)
    if settings.reference:
        fingerprint["reference"] = settings.reference
    return fingerprint


def _segmenter_fingerprint(settings: DownstreamSettings) -> dict[str, str]:
    """The segmenter's training settings (augmentation recorded when not flips-only; the real frames' labels)."""
    fingerprint = {"segmenter_steps": str(settings.steps), "batch": str(settings.batch), "crop": str(settings.crop),
                   "real_labels": "outlines"}
    if settings.augment != "flips":
        fingerprint["augment"] = settings.augment
    return fingerprint


def check_runs_fingerprint(runs: Path, fingerprint: dict[str, str], file_name: str = "settings.json") -> None:
    """Refuse to reuse a runs folder made with other settings; record them in a new one."""
    file = runs / file_name
    from tganaug.utils.fsutil import atomic_write_json

    if file.is_file():
        saved = json.loads(file.read_text())
        if saved != fingerprint:
            raise ValueError(f"{runs} holds runs made with {saved}, not {fingerprint}: pass another runs folder")
        return
    runs.mkdir(parents=True, exist_ok=True)
    atomic_write_json(file, fingerprint)


def run_folder(settings: DownstreamSettings, kind: str) -> Path:
    """The folder of a setup kind's segmenter runs: real-data runs do not depend on the generator."""
    base = Path(settings.runs) / settings.train
    if kind == "real":
        return base / f"real-{settings.augment}"
    variant = "" if settings.augment == "flips" else f"-{settings.augment}"
    variant += f"-appearance-{settings.appearance}" if settings.appearance else ""
    variant += "-reference" if settings.reference else ""
    return base / f"{settings.generator}{variant}"


# --------------------------------------------------------------------------------------------- the protocol
@dataclass
class BenchmarkResult:
    """Per ``(target, setup, tracker)`` the scores of each seed; the report lines; the CSV rows."""

    scores: dict[tuple[str, str, str], list[dict[str, float]]]
    markdown: str
    rows: list[dict[str, Any]]
    seconds: float


def _check(settings: DownstreamSettings) -> None:
    from tganaug.registry import default_registry
    from tganaug.splits import split_frames

    dataset_dir = settings.data / settings.train
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"no dataset folder {dataset_dir}")
    registry = default_registry()
    for kind, name in (("tracker", settings.tracker), ("generator", settings.generator)):
        if name not in registry.names(kind):
            raise ValueError(f"unknown {kind} {name!r}; available: {', '.join(registry.names(kind))}")
    n_train = len(split_frames(dataset_dir, "train"))
    if any(not 0 <= k <= n_train for k in settings.k):
        raise ValueError(f"K must be between 0 (all) and the {n_train} train frames of {settings.train}, got {settings.k}")
    unknown = sorted(set(settings.setups) - {"real", "mixed", "syn-only"})
    if unknown:
        raise ValueError(f"unknown setup kind(s) {unknown}; choose from real, mixed, syn-only")
    if settings.augment not in AUGMENT_TEXT:
        raise ValueError(f"unknown augmentation {settings.augment!r}; choose one of {', '.join(AUGMENT_TEXT)}")
    trained = [name for name, on in (("linker", settings.linker), ("trackastra", settings.trackastra)) if on]
    if settings.tracker in trained:
        raise ValueError(f"--tracker {settings.tracker} is trained per setup already (the {settings.tracker} rows); name an untrained "
                         "tracker such as laptrack")
    if settings.trackastra and settings.trackastra_epochs < 1:
        raise ValueError(f"--trackastra-epochs must be >= 1, got {settings.trackastra_epochs}")


def _trackers(settings: DownstreamSettings) -> list[str]:
    """The trackers of a benchmark: ``settings.tracker`` first, then the learned ones trained per setup."""
    return [settings.tracker] + (["linker"] if settings.linker else []) + (["trackastra"] if settings.trackastra else [])


def _train_trackastra(videos: list[Any], path: Path, epochs: int, seed: int, meta: dict[str, Any]) -> None:
    """Train a masks-only trackastra transformer on a setup's label videos and save it to ``path`` (atomically). Its
    window is the default one (4 frames), or the length of the shortest video where that is shorter (K = 2 real
    frames), so that every video is used."""
    from tganaug.tracking.trackastra_model import TrackastraModelConfig, TrackastraTrainConfig, save_trackastra, train_trackastra

    shortest = min(len(labels) for labels, _ in videos)
    model_config = replace(TrackastraModelConfig(), window=min(TrackastraModelConfig.window, shortest))
    transformer, record = train_trackastra(videos, model_config, TrackastraTrainConfig(epochs=epochs, seed=seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_trackastra(path, model_config, transformer, {**meta, "epochs": epochs, "seed": seed,
                                                      "cpu_seconds_this_run": round(record["cpu_seconds"], 1)})


def _score_file(run: Path, tracker: str, target: Target, settings: DownstreamSettings) -> Path:
    own = target == Target(settings.train, "01")
    return run / (f"scores_{tracker}.json" if own else f"scores_{tracker}_{target.slug}.json")


def _log(message: str) -> None:
    print(message, flush=True)


def run_benchmark(settings: DownstreamSettings, *, log: Any = _log, machine: str | None = None,
                  command: str | None = None) -> BenchmarkResult:
    """Train (or resume) every setup x seed, score on every target, and build the report (see the module doc)."""
    from tganaug.segmentation import SegmenterConfig, UNetSegmenter
    from tganaug.segmentation.train import train_segmenter
    from tganaug.tracking.pipeline import segment_video
    from tganaug.tracking.linker import LinkerConfig, train_linker
    from tganaug.utils.fsutil import atomic_write_json

    from tganaug.splits import sequence_split

    _check(settings)
    dataset_dir = settings.data / settings.train
    # the "linker alone on GT masks" table links the training sequence's own eval frames: none where it has none
    linker_gt = settings.linker and settings.linker_gt and sequence_split(dataset_dir, "01").eval is not None
    targets = settings.target_list()
    trackers = _trackers(settings)
    config, linker_config = SegmenterConfig(), LinkerConfig()
    runs = Path(settings.runs) / settings.train
    plan = setups(settings.k, settings.setups)
    kinds = {kind for _, kind, _ in plan}
    if "real" in kinds:
        check_runs_fingerprint(run_folder(settings, "real"), _segmenter_fingerprint(settings))
    if kinds - {"real"}:
        check_runs_fingerprint(run_folder(settings, "mixed"), {**generator_fingerprint(settings), **_segmenter_fingerprint(settings)})
    if settings.linker:
        check_runs_fingerprint(runs / "linker", {key: str(getattr(settings, f"linker_{key}")) for key in ("steps", "videos", "frames", "size")},
                               file_name="linker_training.json")
    if settings.trackastra:
        check_runs_fingerprint(runs / "trackastra", {"epochs": str(settings.trackastra_epochs),
                                                     **{key: str(getattr(settings, f"linker_{key}")) for key in ("videos", "frames", "size")}},
                               file_name="trackastra_training.json")
    evaluations: dict[Target, EvaluationData] = {}
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    gt_scores: dict[str, list[dict[str, float]]] = {}
    seconds_taken: dict[str, list[float]] = {}  # "training" and per target slug: wall seconds of each run
    started = time.perf_counter()
    for name, kind, k in plan:
        for seed in settings.seeds:
            run = run_folder(settings, kind) / f"{name}-seed{seed}"
            linker = runs / "linker" / f"{name}-seed{seed}" / "linker.pt"
            transformer = runs / "trackastra" / f"{name}-seed{seed}" / "trackastra.pt"
            learned = {"linker": linker, "trackastra": transformer}
            files = {(t, tracker): _score_file(run, tracker, t, settings) for t in targets for tracker in trackers}
            model = run / "model.pt"
            if not all(f.is_file() for f in files.values()):
                if not model.is_file() or not (run / "model.json").is_file():
                    began = time.perf_counter()
                    model = train_segmenter(training_set(settings, kind, k, seed), run, steps=settings.steps, batch_size=settings.batch,
                                            config=config, seed=seed, progress=False,
                                            meta={"setup": name, "dataset": settings.train, "generator": settings.generator,
                                                  "model": settings.model, "augment": settings.augment})
                    log(f"{name} seed {seed}: segmenter trained in {time.perf_counter() - began:.0f} s")
                videos = None
                meta = {"setup": name, "dataset": settings.train, "real_frames": "all" if k is None else k,
                        "simulated_videos": 0 if kind == "real" else settings.linker_videos}
                for tracker in trackers[1:]:
                    if learned[tracker].is_file():
                        continue
                    began = time.perf_counter()
                    if videos is None:
                        videos = linker_videos(dataset_dir, kind, k, seed, settings.linker_videos, settings.linker_frames,
                                               settings.linker_size)
                    if tracker == "linker":
                        train_linker(videos, linker, steps=settings.linker_steps, seed=seed, config=linker_config, progress=False,
                                     meta=meta)
                    else:
                        _train_trackastra(videos, transformer, settings.trackastra_epochs, seed, meta)
                    log(f"{name} seed {seed}: {tracker} trained in {time.perf_counter() - began:.0f} s")
                for target in targets:
                    if all(files[(target, tracker)].is_file() for tracker in trackers):
                        continue
                    began = time.perf_counter()
                    if target not in evaluations:
                        evaluations[target] = read_target(settings.data, target)
                    evaluation = evaluations[target]
                    labels = segment_video(evaluation.images, UNetSegmenter(model, device="cpu"), name="unet")
                    for tracker in trackers:
                        if not files[(target, tracker)].is_file():
                            options = {"model": str(learned[tracker])} if tracker in learned else {}
                            atomic_write_json(files[(target, tracker)], score_target(evaluation, labels, tracker, **options))
                    elapsed = time.perf_counter() - began
                    timing = json.loads((run / TIMING_FILE).read_text()) if (run / TIMING_FILE).is_file() else {}
                    atomic_write_json(run / TIMING_FILE, {**timing, target.slug: round(elapsed, 1)})
                    log(f"{name} seed {seed}: scored on {target} in {elapsed:.0f} s")
            if linker_gt:
                gt_file = linker.parent / "scores_gt_masks.json"
                if not gt_file.is_file():
                    own = read_target(settings.data, Target(settings.train, "01"))
                    atomic_write_json(gt_file, score_target(own, own.markers, "linker", model=str(linker)))
                gt_scores.setdefault(name, []).append(json.loads(gt_file.read_text()))
            if (run / "model.json").is_file():
                seconds_taken.setdefault("training", []).append(
                    float(json.loads((run / "model.json").read_text())["meta"].get("cpu_seconds_this_run", np.nan)))
            if (run / TIMING_FILE).is_file():
                for slug, value in json.loads((run / TIMING_FILE).read_text()).items():
                    seconds_taken.setdefault(slug, []).append(float(value))
            for (target, tracker), file in files.items():
                scores = json.loads(file.read_text())
                results.setdefault((str(target), name, tracker), []).append(scores)
                log(f"{name} seed {seed} {tracker} on {target}: " + ", ".join(f"{c} {scores.get(c, float('nan')):.3f}" for c in COLUMNS))
    seconds = time.perf_counter() - started
    if linker_gt:
        reference_file = runs / "linker" / f"{settings.tracker}_gt_masks.json"
        if not reference_file.is_file():
            own = read_target(settings.data, Target(settings.train, "01"))
            atomic_write_json(reference_file, score_target(own, own.markers, settings.tracker))
        gt_reference = json.loads(reference_file.read_text())
    else:
        gt_reference = None
    markdown, rows = _report(settings, results, gt_scores, gt_reference, plan, trackers, seconds, machine, command, seconds_taken)
    return BenchmarkResult(results, markdown, rows, seconds)


def _mean_sd(values: np.ndarray, digits: int = 3) -> str:
    if np.all(np.isnan(values)):
        return "n/a"
    return f"{np.nanmean(values):.{digits}f} ± {np.nanstd(values):.{digits}f}"


def _frames_text(settings: DownstreamSettings, target: Target) -> str:
    from tganaug.splits import sequence_split

    split = sequence_split(settings.data / target.dataset, target.sequence)
    bounds = split.eval
    if bounds == "all":
        return f"every frame (evaluation-only sequence, per {split.source})"
    return f"eval frames t{bounds[0]:03d}-t{bounds[1]:03d}"  # type: ignore[index]


def _report(settings: DownstreamSettings, results: dict[tuple[str, str, str], list[dict[str, float]]],
            gt_scores: dict[str, list[dict[str, float]]], gt_reference: dict[str, float] | None,
            plan: list[tuple[str, str, int | None]], trackers: list[str], seconds: float,
            machine: str | None = None, command: str | None = None,
            seconds_taken: dict[str, list[float]] | None = None) -> tuple[str, list[dict[str, Any]]]:
    from tganaug.segmentation import SegmenterConfig
    from tganaug.tracking.linker import LinkerConfig

    config, linker_config = SegmenterConfig(), LinkerConfig()
    names = [name for name, _, _ in plan]
    synthetic_text = (f"`division` fitted with `from_ctc` + `{settings.generator}` generator"
                      + (f" (model `{settings.model}`)" if settings.model else "")
                      + ("" if settings.generator == "procedural" else f", reference background: {BACKGROUND_TEXT[settings.background]}")
                      + (f", appearance `{settings.appearance}` (seeded random look per video, tganaug.appearance)" if settings.appearance else "")
                      + (f"; **twin-style**: rendered in the look of one unannotated frame of a target recording ({settings.reference}), "
                         "so that recording's image (not its annotation) was read for training" if settings.reference else ""))
    lines = [
        f"# Downstream benchmark: segmenter{'' if not settings.linker else ' (+ linker)'} trained on {settings.train} 01, "
        "real / real + synthetic / synthetic",
        "",
        f"Machine: {machine or report_machine()}; {seconds:.0f} s for the runs not already finished."
        + (f" `{command}`." if command else ""),
        (f"Segmenter: `unet` (BasicUNet {config.features}), {settings.steps} steps of batch {settings.batch} "
         f"({settings.crop}² crops; augmentation: {AUGMENT_TEXT[settings.augment]}); real frames are the first K of the *train* "
         f"split of {settings.train} 01, labelled with full outlines (`read_outlined_ctc`: markers joined to ST/SEG outlines "
         f"where the TRA masks are markers); synthetic: {synthetic_text}."),
        ("No learned linker." if not settings.linker else
         f"Linker (`linker`, MLP {linker_config.hidden}, {settings.linker_steps} steps): GT label videos of the same K real train frames "
         f"and/or {settings.linker_videos} simulated `division` videos ({settings.linker_frames} frames, {settings.linker_size}²) from the "
         "same `from_ctc` fit (masks only: the same linker serves every generator)."),
        *([f"Trackastra (`trackastra`, masks-only transformer, {settings.trackastra_epochs} epochs from scratch, tganaug.tracking."
           "trackastra_model): trained per setup and seed on the linker's label videos; window 4 frames, or the shortest "
           "video's length where that is shorter (K real frames)."] if settings.trackastra else []),
        (f"Scores: segment then link with {' / '.join(f'`{t}`' for t in trackers)}; DET/SEG/TRA: py-ctcmetrics against the TRA "
         "masks (markers where the dataset has markers) and the SEG masks (or dense TRA masks where there are none); MOTA: "
         "motmetrics, mask IoU >= 0.5, against full outlines with track ids (`read_outlined_ctc`); DIV_recall: traccuracy "
         f"(n/a where the frames hold no division). Mean ± sd (population sd) over seeds {settings.seeds}."),
    ]
    timing = {key: [v for v in values if np.isfinite(v)] for key, values in (seconds_taken or {}).items()}
    if timing.get("training"):
        spent = [f"segmenter training {np.mean(timing['training']):.0f} s"]
        spent += [f"segmenting + scoring {t} {np.mean(timing[t.slug]):.0f} s" for t in settings.target_list() if timing.get(t.slug)]
        lines.append(f"Wall time per run (mean over the runs that recorded it): {', '.join(spent)}.")
    rows: list[dict[str, Any]] = []
    for target in settings.target_list():
        protocol = target.protocol(settings.train)
        lines += ["", f"## {target}: {protocol}, {_frames_text(settings, target)}", "",
                  "| training data | tracker | seeds | " + " | ".join(COLUMNS) + " |",
                  "| --- | --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |"]
        for name in names:
            for tracker in trackers:
                scores = results.get((str(target), name, tracker))
                if not scores:
                    continue
                values = {c: np.array([s.get(c, np.nan) for s in scores], dtype=float) for c in COLUMNS}
                lines.append(f"| {name} | {tracker} | {len(scores)} | " + " | ".join(_mean_sd(values[c]) for c in COLUMNS) + " |")
                rows.append({"target": str(target), "protocol": protocol, "setup": name, "augment": settings.augment,
                             "generator": settings.generator if name.endswith("+syn") or name == "syn-only" else "",
                             "tracker": tracker, "seeds": len(scores),
                             **{f"{c}_mean": float(np.nanmean(values[c])) if not np.all(np.isnan(values[c])) else float("nan") for c in COLUMNS},
                             **{f"{c}_sd": float(np.nanstd(values[c])) if not np.all(np.isnan(values[c])) else float("nan") for c in COLUMNS}})
    if gt_scores and gt_reference is not None:
        lines += ["", (f"The linker alone: the same linkers on the **GT masks** of the eval frames of {settings.train} 01 (perfect "
                       "detections; only TRA and MOTA are shown):"), "",
                  "| linker training data | seeds | TRA | MOTA |", "| --- | --- | --- | --- |",
                  f"| (`{settings.tracker}`, not trained) | - | {gt_reference['TRA']:.4f} | {gt_reference['MOTA']:.4f} |"]
        for name in names:
            if name in gt_scores:
                values = {c: np.array([s[c] for s in gt_scores[name]], dtype=float) for c in ("TRA", "MOTA")}
                lines.append(f"| {name} | {len(gt_scores[name])} | " + " | ".join(_mean_sd(values[c], 4) for c in ("TRA", "MOTA")) + " |")
    return "\n".join(lines) + "\n", rows


# --------------------------------------------------------------------------------------------- command line
def _add_arguments(parser: argparse.ArgumentParser, runs: str = "runs/downstream", out: str = "benchmarks/results") -> None:
    parser.add_argument("--data", required=False, default=None, help="folder of CTC dataset folders (required)")
    parser.add_argument("--train", "--dataset", dest="train", default="Fluo-N2DH-SIM+", help="dataset trained on (sequence 01's train frames)")
    parser.add_argument("--targets", nargs="+", default=None, metavar="DATASET[/SEQ]",
                        help="sequences scored on (their eval frames; every frame of an evaluation-only sequence such as "
                             "Fluo-N2DH-SIM+/02); default: the eval frames of the dataset trained on")
    parser.add_argument("--generator", default="procedural")
    parser.add_argument("--model", default=None, help="generator model (tgan: fluo-nuclei, fluo-nuclei-x4, ...)")
    parser.add_argument("--background", choices=sorted(BACKGROUND_TEXT), default="default",
                        help="reference background of a learned generator (the procedural renderer fits its own)")
    parser.add_argument("--appearance", default="random", help="appearance randomisation of the synthetic videos ('random', a "
                        "JSON file of ranges, or 'none')")
    parser.add_argument("--reference", default=None, metavar="DATASET/SEQ:FRAME",
                        help="twin-style: render synthetic videos in the look of this one unannotated frame of a target")
    parser.add_argument("--augment", choices=sorted(AUGMENT_TEXT), default="intensity", help="augmentation of every training item")
    parser.add_argument("--tracker", default="laptrack")
    parser.add_argument("--k", type=int, nargs="+", default=[2, 5, 0], help="real train frames; 0 = all")
    parser.add_argument("--setups", nargs="+", choices=["real", "mixed", "syn-only"], default=["real", "mixed", "syn-only"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default=runs)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--linker-steps", type=int, default=1500)
    parser.add_argument("--linker-videos", type=int, default=6, help="simulated videos for the linker (+syn, syn-only)")
    parser.add_argument("--linker-frames", type=int, default=20)
    parser.add_argument("--linker-size", type=int, default=256)
    parser.add_argument("--no-linker", action="store_true", help="segmenter + --tracker only")
    parser.add_argument("--trackastra", action="store_true", help="also train a masks-only trackastra transformer per setup "
                        "(on the linker's label videos) and score it as a tracker")
    parser.add_argument("--trackastra-epochs", type=int, default=40)
    parser.add_argument("--out", default=out, help="folder of the report")
    parser.add_argument("--report", default=None, help="report name (default downstream_<train>_<generator>): writes OUT/REPORT.md and .csv")


def build_parser(runs: str = "runs/downstream", out: str = "benchmarks/results", data: str | None = None) -> argparse.ArgumentParser:
    """The stand-alone parser (``benchmarks/downstream_gain.py``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    _add_arguments(parser, runs, out)
    if data is not None:
        parser.set_defaults(data=data)
    return parser


def add_downstream_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``downstream`` sub-command on an argparse sub-parsers object; its handler is :func:`run_downstream`."""
    parser = subparsers.add_parser("downstream", help="train segmenter + linker on real / real + synthetic / synthetic data, "
                                   "score on unseen recordings", description=(__doc__ or "").splitlines()[0])
    _add_arguments(parser)
    parser.set_defaults(handler=run_downstream, func=run_downstream)
    return parser


def settings_from_args(args: argparse.Namespace) -> DownstreamSettings:
    """The parsed options as :class:`DownstreamSettings`."""
    if not args.data:
        raise ValueError("--data (the folder of CTC dataset folders) is required")
    appearance = None if args.appearance in (None, "", "none") else args.appearance
    return DownstreamSettings(
        data=Path(args.data), train=args.train, targets=[parse_target(t) for t in (args.targets or [])], generator=args.generator,
        model=args.model, background=args.background, appearance=appearance, reference=args.reference, augment=args.augment,
        tracker=args.tracker, k=list(args.k), setups=list(args.setups), steps=args.steps, batch=args.batch, crop=args.crop,
        seeds=list(args.seeds), runs=Path(args.runs), linker=not args.no_linker, linker_steps=args.linker_steps,
        linker_videos=args.linker_videos, linker_frames=args.linker_frames, linker_size=args.linker_size,
        trackastra=args.trackastra, trackastra_epochs=args.trackastra_epochs)


def run_downstream(args: argparse.Namespace, *, machine: str | None = None, command: str | None = None) -> int:
    """Run the benchmark for parsed options and write ``OUT/REPORT.md`` and ``.csv`` (atomically); returns 0."""
    import torch

    from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

    torch.set_num_threads(args.threads)
    settings = settings_from_args(args)
    result = run_benchmark(settings, machine=machine, command=command)
    markdown, rows = result.markdown, result.rows
    print(markdown)
    out = Path(args.out) / (args.report or f"downstream_{settings.train}_{settings.generator}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out.with_suffix(".md"), markdown.encode())
    if rows:
        atomic_write_csv(out.with_suffix(".csv"), rows, list(rows[0]))
    return 0
