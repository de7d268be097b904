"""Does synthetic data help? Train the learned segmenter on K real frames, K real + synthetic, or synthetic only.

Issue 6, benchmark 2. For one dataset (default Fluo-N2DH-SIM+):

* (a) ``real-K``: the ``unet`` segmenter trained on the first K *train* frames (K = 2, 5, all);
* (b) ``real-K+syn``: the same K frames mixed 50/50 with synthetic videos from
  :class:`tganaug.SyntheticVideoDataset` (``division`` simulator fitted with ``from_ctc`` on the
  same K frames, rendered by ``--generator``; the procedural renderer is also fitted on those K frames);
* (c) ``syn-only``: synthetic videos only (simulator and renderer fitted on all train frames).

Each model segments the *eval* frames; the segmentation is linked by ``--tracker`` (laptrack by
default: the learned part here is the segmenter; a learned linker is not trained in this script)
and scored against the GT: SEG, DET, TRA (CTC, py-ctcmetrics) and MOTA (motmetrics, IoU >= 0.5).
Three seeds, mean ± sd. Training state is kept per run in ``runs/downstream/``; re-running resumes
and skips finished runs. Writes ``benchmarks/results/downstream_gain_<dataset>.md`` and ``.csv``.

    python benchmarks/downstream_gain.py [--dataset Fluo-N2DH-SIM+] [--steps 300] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.transforms import Compose, RandFlipd, RandRotate90d
from torch.utils.data import Dataset

import tganaug
from tganaug.data import CTCVideoDataset, MixedVideoDataset, SyntheticVideoDataset
from tganaug.segmentation import SegmenterConfig, UNetSegmenter
from tganaug.segmentation.train import train_segmenter
from tganaug.tracking.metrics import read_seg_reference, score_tracking
from tganaug_plugins.generators.procedural import ProceduralRenderer
from tganaug_plugins.simulators.division import DivisionSimulator

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


def synthetic(dataset_dir: Path, frames: range, generator: str, seed: int, crop: int) -> SyntheticVideoDataset:
    """Synthetic 2-frame videos whose simulator (and procedural renderer) are fitted on ``frames``."""
    simulator = DivisionSimulator.from_ctc(dataset_dir, frames=frames)
    if generator == "procedural":
        renderer: Any = ProceduralRenderer.from_ctc(dataset_dir, frames=frames)
    else:
        renderer = tganaug.get_generator(generator)
    return SyntheticVideoDataset(simulator=simulator, generator=renderer, num_videos=200, frames=2, size=(crop, crop),
                                 transform=_augment(), seed=1000 + seed)


def training_set(kind: str, k: int | None, dataset_dir: Path, generator: str, seed: int, crop: int) -> Dataset:
    real = CTCVideoDataset(dataset_dir, split="train", clip_frames=1, size=(crop, crop), crop="random", transform=_augment(), seed=seed)
    n_real = len(real) if k is None else k
    if kind == "syn-only":
        return synthetic(dataset_dir, "train", generator, seed, crop)
    first = FirstFrames(real, n_real)
    if kind == "real":
        return first
    train_frames = range(int(real.frames[0]), int(real.frames[0]) + n_real)
    return MixedVideoDataset([first, synthetic(dataset_dir, train_frames, generator, seed, crop)], weights=[0.5, 0.5],
                             num_items=400, seed=seed)


def evaluate(model: Path, dataset_dir: Path, tracker: str) -> dict[str, float]:
    evaluation = tganaug.read_ctc(dataset_dir, frames="eval")
    labels = UNetSegmenter(model, device="cpu").segment(evaluation.images)
    tracked, lineage = tganaug.get_tracker(tracker).track(labels)
    reference = read_seg_reference(dataset_dir, evaluation.frames.tolist())
    scores = score_tracking(tracked, lineage, evaluation.labels, evaluation.lineage, seg_reference=reference)
    return {key: float(scores[key]) for key in COLUMNS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Fluo-N2DH-SIM+")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--generator", default="procedural")
    parser.add_argument("--tracker", default="laptrack")
    parser.add_argument("--k", type=int, nargs="+", default=[2, 5, 0], help="real train frames; 0 = all")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default=str(REPO / "runs" / "downstream"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset_dir = Path(args.data) / args.dataset
    config = SegmenterConfig()
    setups = [(f"real-{k or 'all'}", "real", k or None) for k in args.k]
    setups += [(f"real-{k or 'all'}+syn", "mixed", k or None) for k in args.k]
    setups += [("syn-only", "syn-only", None)]
    results: dict[str, list[dict[str, float]]] = {}
    started = time.perf_counter()
    for name, kind, k in setups:
        for seed in args.seeds:
            run = Path(args.runs) / args.dataset / args.generator / f"{name}-seed{seed}"
            scores_file = run / "scores.json"
            if scores_file.is_file():
                scores = json.loads(scores_file.read_text())
            else:
                data = training_set(kind, k, dataset_dir, args.generator, seed, args.crop)
                model = train_segmenter(data, run, steps=args.steps, batch_size=args.batch, config=config, seed=seed,
                                        meta={"setup": name, "dataset": args.dataset, "generator": args.generator})
                scores = evaluate(model, dataset_dir, args.tracker)
                run.mkdir(parents=True, exist_ok=True)
                scores_file.write_text(json.dumps(scores))
            results.setdefault(name, []).append(scores)
            print(f"{name} seed {seed}: " + ", ".join(f"{c} {scores[c]:.3f}" for c in COLUMNS), flush=True)
    lines = [
        f"# Downstream gain on {args.dataset}: segmenter trained on real / real + synthetic / synthetic",
        "",
        f"Machine: {platform.machine()} with {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
        f"{time.perf_counter() - started:.0f} s for the runs not already finished. Generated by `benchmarks/downstream_gain.py`.",
        f"Training: `unet` segmenter (BasicUNet {config.features}), {args.steps} steps of batch {args.batch} "
        f"({args.crop}² crops, flips/rot90); real frames are the first K of the *train* split; synthetic: `division` "
        f"fitted with `from_ctc` + `{args.generator}` generator. Evaluation: *eval* frames, segment then `{args.tracker}`, "
        f"scored against GT (SEG/DET/TRA: py-ctcmetrics; MOTA: motmetrics, IoU >= 0.5). Mean ± sd over seeds {args.seeds}.",
        "",
        "| training data | " + " | ".join(COLUMNS) + " |",
        "| --- | " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    rows = []
    for name, scores in results.items():
        values = {c: np.array([s[c] for s in scores]) for c in COLUMNS}
        lines.append(f"| {name} | " + " | ".join(f"{values[c].mean():.3f} ± {values[c].std():.3f}" for c in COLUMNS) + " |")
        rows.append({"setup": name, **{f"{c}_mean": values[c].mean() for c in COLUMNS}, **{f"{c}_sd": values[c].std() for c in COLUMNS}})
    report = "\n".join(lines) + "\n"
    print(report)
    out = REPO / "benchmarks" / "results" / f"downstream_gain_{args.dataset}_{args.generator}"
    out.with_suffix(".md").write_text(report)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
