"""Does synthetic data help? Train the learned segmenter on K real frames, K real + synthetic, or synthetic only.

For one dataset (default Fluo-N2DH-SIM+):

* (a) ``real-K``: the ``unet`` segmenter trained on the first K *train* frames (K = 2, 5, all);
* (b) ``real-K+syn``: the same K frames mixed 50/50 with synthetic videos from
  :class:`tganaug.SyntheticVideoDataset` (``division`` simulator fitted with ``from_ctc`` on the
  same K frames, rendered by ``--generator``; the procedural renderer is also fitted on those K frames; a
  learned generator renders on its default background (``tgan``: seeded crops of the clean reference
  backgrounds of its own training videos), with ``--background real`` on crops of the reference
  background estimated from those K frames, as the paper's tGAN is given one, or with ``--background flat``
  (``tgan`` only) on its flat training median);
* (c) ``syn-only``: synthetic videos only (simulator and renderer fitted on all train frames).

For every setup and seed the learned ``linker`` (:mod:`tganaug.tracking.linker`) is trained too, on the
same kind of data: (a) the GT label videos of the same K real train frames, (b) those plus
``--linker-videos`` videos from the same ``from_ctc``-fitted ``division`` simulator, (c) simulated videos
only. The linker sees masks only, so the image generator does not change its training data: its
runs are shared by all generators (``runs/downstream/<dataset>/linker/<setup>-seed<k>/``).

Each segmenter segments the *eval* frames; the segmentation is linked by ``--tracker`` (laptrack by
default) and by the linker of the same setup and seed, and scored against the GT: SEG, DET, TRA
(CTC, py-ctcmetrics) and MOTA (motmetrics, IoU >= 0.5). Three seeds, mean ± sd. Training state is
kept per run in ``runs/downstream/``; re-running resumes and skips finished runs (``scores_<tracker>.json`` for
the segmenter + ``--tracker``, ``scores_linker.json`` for the linker). ``generator.json`` beside a
generator's runs records the model they were rendered with (a hash of its weights) and the segmenter's
training settings (steps, batch, crop), ``linker/linker_training.json`` the linker's: a folder made otherwise
is refused, so pass another ``--runs`` after retraining a model or changing them. Writes
``benchmarks/results/downstream_gain_<dataset>_<generator>.md`` and ``.csv``.

    python benchmarks/downstream_gain.py [--dataset Fluo-N2DH-SIM+] [--steps 300] [--seeds 0 1 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.transforms import Compose, RandFlipd, RandRotate90d
from tganaug_plugins.simulators.division import DivisionSimulator
from torch.utils.data import Dataset

import tganaug
from tganaug.data import CTCVideoDataset, MixedVideoDataset, SyntheticVideoDataset
from tganaug.lineage import crop_lineage
from tganaug.procedural import ProceduralRenderer
from tganaug.segmentation import SegmenterConfig, UNetSegmenter
from tganaug.segmentation.train import train_segmenter
from tganaug.splits import split_frames
from tganaug.tracking.linker import LinkerConfig, train_linker
from tganaug.tracking.metrics import read_seg_reference, score_tracking
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv, atomic_write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine  # benchmarks/_common.py

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
COLUMNS = ("SEG", "DET", "TRA", "MOTA")


class FirstFrames(Dataset):
    """The first ``k`` single-frame clips of a :class:`CTCVideoDataset` (``set_epoch`` forwarded)."""

    def __init__(self, dataset: CTCVideoDataset, k: int) -> None:
        self.dataset, self.k = dataset, k

    def __len__(self) -> int:
        return self.k

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)


def _augment() -> Compose:
    return Compose([RandFlipd(["image", "label"], prob=0.5, spatial_axis=0), RandFlipd(["image", "label"], prob=0.5, spatial_axis=1),
                    RandRotate90d(["image", "label"], prob=0.5)])


#: reference-background crops handed to the generator with ``--background real``
BACKGROUND_CROPS = 16
#: ``--background`` -> how the report describes it
BACKGROUND_TEXT = {"default": "the generator's default (tgan: seeded crops of the clean reference backgrounds of its training videos)",
                   "real": f"{BACKGROUND_CROPS} random crops of the one estimated from the same real frames",
                   "flat": "flat (the model's training median)"}


def background_crops(dataset_dir: Path, frames: Any, crop: int, seed: int) -> list[np.ndarray]:
    """``BACKGROUND_CROPS`` random ``(crop, crop) float32`` crops of the reference background estimated from the real
    ``frames`` (temporal median of their non-cell pixels, :func:`tganaug.models.tgan.background_from_video`)."""
    from tganaug.models.tgan import background_from_video

    real = tganaug.read_ctc(dataset_dir, frames=frames)
    background = background_from_video(real.images, real.labels)
    height, width = background.shape
    if height < crop or width < crop:
        raise SystemExit(f"{dataset_dir.name} frames are {height}x{width}, smaller than --crop {crop}")
    rng = np.random.default_rng(3000 + seed)
    corners = zip(rng.integers(0, height - crop + 1, BACKGROUND_CROPS), rng.integers(0, width - crop + 1, BACKGROUND_CROPS))
    return [background[y:y + crop, x:x + crop].copy() for y, x in corners]


def synthetic(dataset_dir: Path, frames: Any, generator: str, seed: int, crop: int, model: str | None = None,
              background: str = "default") -> SyntheticVideoDataset:
    """Synthetic 2-frame videos whose simulator (and procedural renderer) are fitted on ``frames``; a learned
    generator renders on its default background, with ``background="real"`` on crops of the one estimated from
    ``frames``, with ``"flat"`` on its flat level (``tgan``'s ``background_default="flat"``)."""
    simulator = DivisionSimulator.from_ctc(dataset_dir, frames=frames)
    references = None
    if generator == "procedural":
        renderer: Any = ProceduralRenderer.from_ctc(dataset_dir, frames=frames)
    else:
        options = {**({"model": model} if model else {}), **({"background_default": "flat"} if background == "flat" else {})}
        renderer = tganaug.get_generator(generator, **options)
        references = background_crops(dataset_dir, frames, crop, seed) if background == "real" else None
    return SyntheticVideoDataset(simulator=simulator, generator=renderer, num_videos=200, frames=2, size=(crop, crop),
                                 transform=_augment(), seed=1000 + seed, background=references)


def training_set(kind: str, k: int | None, dataset_dir: Path, generator: str, seed: int, crop: int, model: str | None = None,
                 background: str = "default") -> Dataset:
    real = CTCVideoDataset(dataset_dir, split="train", clip_frames=1, size=(crop, crop), crop="random", transform=_augment(), seed=seed)
    n_real = len(real) if k is None else k
    if kind == "syn-only":
        return synthetic(dataset_dir, "train", generator, seed, crop, model, background)
    first = FirstFrames(real, n_real)
    if kind == "real":
        return first
    train_frames = range(int(real.frames[0]), int(real.frames[0]) + n_real)
    return MixedVideoDataset([first, synthetic(dataset_dir, train_frames, generator, seed, crop, model, background)], weights=[0.5, 0.5],
                             num_items=400, seed=seed)


def linker_videos(kind: str, k: int | None, dataset_dir: Path, seed: int, videos: int, frames: int, size: int) -> list[Any]:
    """GT label videos for the linker of one setup: the first K real train frames and/or simulated videos.

    Real: ``(labels (K, H, W), lineage cropped to those frames)``. Simulated: ``videos`` videos of
    ``frames`` x ``size``² from the ``division`` simulator fitted with ``from_ctc`` on the same real
    frames (all train frames for ``syn-only``), seeds ``2000 + 100 * seed + v``.
    """
    real = tganaug.read_ctc(dataset_dir, frames="train", read_images=False)
    n_real = len(real.frames) if k is None else k
    items: list[Any] = []
    if kind != "syn-only":
        items.append((real.labels[:n_real], crop_lineage(real.lineage, 0, n_real - 1)))
    if kind != "real":
        fit_frames: Any = "train" if kind == "syn-only" else range(int(real.frames[0]), int(real.frames[0]) + n_real)
        simulator = DivisionSimulator.from_ctc(dataset_dir, frames=fit_frames)
        items += [simulator.simulate(frames, size, size, seed=2000 + 100 * seed + v) for v in range(videos)]
    return items


#: datasets without SEG masks whose TRA masks are dense, full segmentations (see their READMEs)
DENSE_TRA = {"PhC-Ecoli-vanVliet", "PhC-T98G-Usiigaci"}


def segment_eval(model: Path, dataset_dir: Path) -> tuple[Any, np.ndarray, dict[int, np.ndarray]]:
    """The eval sequence, its segmentation by ``model`` and the SEG reference masks.

    The reference is the dataset's SEG masks, or its dense TRA masks for :data:`DENSE_TRA` datasets.
    """
    evaluation = tganaug.read_ctc(dataset_dir, frames="eval")
    labels = tganaug.tracking.segment_video(evaluation.images, UNetSegmenter(model, device="cpu"), name="unet")
    reference = read_seg_reference(dataset_dir, evaluation.frames.tolist())
    if not reference and dataset_dir.name in DENSE_TRA:
        reference = dict(enumerate(evaluation.labels))
    return evaluation, labels, reference


def score(evaluation: Any, labels: np.ndarray, reference: dict[int, np.ndarray], tracker: str, **config: Any) -> dict[str, float]:
    tracked, lineage = tganaug.segment_and_track(labels, tracker, tracker_config=config).tracks
    scores = score_tracking(tracked, lineage, evaluation.labels, evaluation.lineage, seg_reference=reference)
    return {key: float(scores[key]) for key in COLUMNS}


def aggregate(scores: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """Per column, the seeds' values."""
    return {c: np.array([s[c] for s in scores], dtype=float) for c in COLUMNS}


def generator_fingerprint(generator: str, model: str | None, background: str = "default") -> dict[str, str]:
    """What the cached ``+syn`` / ``syn-only`` runs were rendered with: the generator, its model, the reference
    background (recorded when not the generator's default) and, for a model loaded from files (``tgan``), a sha256
    of its weight files, so a retrained model is not mixed with runs of the old one."""
    fingerprint = {"generator": generator, "model": str(model)}
    if background != "default" and generator != "procedural":
        fingerprint["background"] = background
    if generator == "tgan":
        from tganaug.models.tgan import resolve_model
        from tganaug.utils.weights import weights_fingerprint

        fingerprint["weights_sha256"] = weights_fingerprint(resolve_model(model or "fluo-nuclei"))
    return fingerprint


def check_runs_fingerprint(runs: Path, fingerprint: dict[str, str], file_name: str = "generator.json") -> None:
    """Refuse to reuse a runs folder made with other settings (generator model, training); record them in a new one."""
    file = runs / file_name
    if file.is_file():
        saved = json.loads(file.read_text())
        if saved != fingerprint:
            raise SystemExit(f"{runs} holds runs rendered with {saved}, not {fingerprint}: pass another --runs folder")
        return
    if any(runs.glob("*+syn-seed*/scores*.json")) or any(runs.glob("syn-only-seed*/scores*.json")):
        raise SystemExit(f"{runs} holds synthetic-data runs without a record of the generator model they used "
                         "(made before fingerprints): pass another --runs folder")
    runs.mkdir(parents=True, exist_ok=True)
    atomic_write_json(file, fingerprint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Fluo-N2DH-SIM+")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--generator", default="procedural")
    parser.add_argument("--model", default=None, help="generator model (e.g. tgan: fluo-nuclei, phase-contrast); default: the generator's own")
    parser.add_argument("--tracker", default="laptrack")
    parser.add_argument("--k", type=int, nargs="+", default=[2, 5, 0], help="real train frames; 0 = all")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default=str(REPO / "runs" / "downstream"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--linker-steps", type=int, default=1500)
    parser.add_argument("--linker-videos", type=int, default=6, help="simulated videos for the linker (+syn, syn-only)")
    parser.add_argument("--linker-frames", type=int, default=20)
    parser.add_argument("--linker-size", type=int, default=256)
    parser.add_argument("--no-linker", action="store_true", help="segmenter + --tracker only")
    parser.add_argument("--background", choices=["default", "real", "flat"], default="default",
                        help="reference background for a learned generator: its default (tgan: crops of its training videos' "
                             "clean backgrounds), crops of the one estimated from the real frames the simulator is fitted on, "
                             "or (tgan) its flat training median; the procedural renderer always fits its own")
    parser.add_argument("--report", default=None, help="report name (default downstream_gain_<dataset>_<generator>): writes benchmarks/results/REPORT.md and .csv")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset_dir = Path(args.data) / args.dataset
    config = SegmenterConfig()
    setups = [(f"real-{k or 'all'}", "real", k or None) for k in args.k]
    setups += [(f"real-{k or 'all'}+syn", "mixed", k or None) for k in args.k]
    setups += [("syn-only", "syn-only", None)]
    linker_config = LinkerConfig()
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    gt_scores: dict[str, list[dict[str, float]]] = {}  # the linker alone, on the GT masks of the eval frames
    if not dataset_dir.is_dir():
        raise SystemExit(f"no dataset folder {dataset_dir}")
    registry = tganaug.default_registry()
    for kind, name in (("tracker", args.tracker), ("generator", args.generator)):
        if name not in registry.names(kind):
            raise SystemExit(f"unknown {kind} {name!r}; available: {', '.join(registry.names(kind))}")
    n_train = len(split_frames(dataset_dir, "train"))
    if any(not 0 <= k <= n_train for k in args.k):
        raise SystemExit(f"--k must be between 0 (all) and the {n_train} train frames of {args.dataset}, got {args.k}")
    # a runs folder is reused only with the same generator and segmenter training; the linker's runs with the same linker training
    check_runs_fingerprint(Path(args.runs) / args.dataset / args.generator,
                           {**generator_fingerprint(args.generator, args.model, args.background),
                            "segmenter_steps": str(args.steps), "batch": str(args.batch), "crop": str(args.crop)})
    if not args.no_linker:
        check_runs_fingerprint(Path(args.runs) / args.dataset / "linker",
                               {key: str(getattr(args, key)) for key in ("linker_steps", "linker_videos", "linker_frames", "linker_size")},
                               file_name="linker_training.json")
    started = time.perf_counter()
    for name, kind, k in setups:
        for seed in args.seeds:
            run = Path(args.runs) / args.dataset / args.generator / f"{name}-seed{seed}"
            scores_file, linker_file = run / f"scores_{args.tracker}.json", run / "scores_linker.json"  # one file per tracker
            linker = Path(args.runs) / args.dataset / "linker" / f"{name}-seed{seed}" / "linker.pt"
            model = run / "model.pt"
            if not scores_file.is_file():  # train (or resume) the segmenter; a finished one is only reloaded
                data = training_set(kind, k, dataset_dir, args.generator, seed, args.crop, args.model, args.background)
                model = train_segmenter(data, run, steps=args.steps, batch_size=args.batch, config=config, seed=seed,
                                        meta={"setup": name, "dataset": args.dataset, "generator": args.generator, "model": args.model})
            if not args.no_linker and not linker.is_file():
                videos = linker_videos(kind, k, dataset_dir, seed, args.linker_videos, args.linker_frames, args.linker_size)
                train_linker(videos, linker, steps=args.linker_steps, seed=seed, config=linker_config, progress=False,
                             meta={"setup": name, "dataset": args.dataset, "real_frames": "all" if k is None else k,
                                   "simulated_videos": 0 if kind == "real" else args.linker_videos})
            if not scores_file.is_file() or (not args.no_linker and not linker_file.is_file()):
                evaluation, labels, reference = segment_eval(model, dataset_dir)
                if not scores_file.is_file():
                    atomic_write_json(scores_file, score(evaluation, labels, reference, args.tracker))
                if not args.no_linker and not linker_file.is_file():
                    atomic_write_json(linker_file, score(evaluation, labels, reference, "linker", model=str(linker)))
            gt_file = linker.parent / "scores_gt_masks.json"
            if not args.no_linker:
                if not gt_file.is_file():
                    evaluation = tganaug.read_ctc(dataset_dir, frames="eval", read_images=False)
                    atomic_write_json(gt_file, score(evaluation, evaluation.labels, dict(enumerate(evaluation.labels)), "linker",
                                                     model=str(linker)))
                gt_scores.setdefault(name, []).append(json.loads(gt_file.read_text()))
            for tracker, file in ((args.tracker, scores_file), ("linker", linker_file)):
                if tracker == "linker" and args.no_linker:
                    continue
                scores = json.loads(file.read_text())
                results.setdefault((name, tracker), []).append(scores)
                print(f"{name} seed {seed} {tracker}: " + ", ".join(f"{c} {scores[c]:.3f}" for c in COLUMNS), flush=True)
    trackers = [args.tracker] + ([] if args.no_linker else ["linker"])
    lines = [
        f"# Downstream gain on {args.dataset}: segmenter{'' if args.no_linker else ' (+ linker)'} trained on real / real + synthetic / synthetic",
        "",
        (f"Machine: {machine()}; {time.perf_counter() - started:.0f} s for the runs not already finished. `{command_line()}`."),
        (f"Segmenter: `unet` (BasicUNet {config.features}), {args.steps} steps of batch {args.batch} "
        f"({args.crop}² crops, flips/rot90); real frames are the first K of the *train* split; synthetic: `division` "
        f"fitted with `from_ctc` + `{args.generator}` generator{f' (model `{args.model}`)' if args.model else ''}"
        + ("" if args.generator == "procedural" else
           f", reference background: {BACKGROUND_TEXT[args.background]}")
        + "."),
        ("No learned linker (`--no-linker`)." if args.no_linker else
         f"Linker (`linker`, MLP {linker_config.hidden}, {args.linker_steps} steps): GT label videos of the same K real train frames "
         f"and/or {args.linker_videos} simulated `division` videos ({args.linker_frames} frames, {args.linker_size}²) from the same "
         "`from_ctc` fit; it sees masks only, so the generator does not change its training data (the same linker serves every generator)."),
        (f"Evaluation: *eval* frames, segment then link with {' / '.join(f'`{t}`' for t in trackers)}, scored against GT "
        f"(SEG/DET/TRA: py-ctcmetrics; SEG against the SEG masks, or the dense TRA masks where there are no SEG masks (E. coli, T98G), 0 when nothing was segmented; MOTA: motmetrics, IoU >= 0.5). Mean ± sd (population sd) over seeds {args.seeds}."),
        "",
        "| training data | tracker | seeds | " + " | ".join(COLUMNS) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    rows = []
    for (name, tracker), scores in sorted(results.items(), key=lambda item: ([s[0] for s in setups].index(item[0][0]), trackers.index(item[0][1]))):
        values = aggregate(scores)
        lines.append(f"| {name} | {tracker} | {len(scores)} | " + " | ".join(f"{values[c].mean():.3f} ± {values[c].std():.3f}" for c in COLUMNS) + " |")
        rows.append({"setup": name, "tracker": tracker, "seeds": len(scores), **{f"{c}_mean": values[c].mean() for c in COLUMNS},
                     **{f"{c}_sd": values[c].std() for c in COLUMNS}})
    if gt_scores:
        lines += ["", ("The linker alone: the same linkers on the **GT masks** of the eval frames (perfect detections; "
                  "SEG and DET are 1 by construction, so only TRA and MOTA are shown):"), "",
                  "| linker training data | seeds | TRA | MOTA |", "| --- | --- | --- | --- |"]
        reference_file = Path(args.runs) / args.dataset / "linker" / f"{args.tracker}_gt_masks.json"
        if not reference_file.is_file():
            evaluation = tganaug.read_ctc(dataset_dir, frames="eval", read_images=False)
            atomic_write_json(reference_file, score(evaluation, evaluation.labels, dict(enumerate(evaluation.labels)), args.tracker))
        reference_scores = json.loads(reference_file.read_text())
        lines.append(f"| (`{args.tracker}`, not trained) | - | {reference_scores['TRA']:.4f} | {reference_scores['MOTA']:.4f} |")
        for name, scores in gt_scores.items():
            values = aggregate(scores)
            lines.append(f"| {name} | {len(scores)} | " + " | ".join(f"{values[c].mean():.4f} ± {values[c].std():.4f}" for c in ("TRA", "MOTA")) + " |")
            rows.append({"setup": name, "tracker": "linker on GT masks", "seeds": len(scores),
                         **{f"{c}_mean": values[c].mean() for c in COLUMNS}, **{f"{c}_sd": values[c].std() for c in COLUMNS}})
    report = "\n".join(lines) + "\n"
    print(report)
    out = REPO / "benchmarks" / "results" / (args.report or f"downstream_gain_{args.dataset}_{args.generator}")
    atomic_write_bytes(out.with_suffix(".md"), report.encode())
    atomic_write_csv(out.with_suffix(".csv"), rows, list(rows[0]))


if __name__ == "__main__":
    main()
