"""Segment-then-track on real eval videos (and, when generators exist, on synthetic twins): paper Tables 2-3.

Protocol (issue 6, benchmark 1): for each eval split with dense ground truth (SIM+, E. coli; GOWT1
for DET/TRA only, its TRA masks are shrunken markers) run the same segmenter and each tracker on the
real video and on videos generated from the same GT masks by each requested generator, and score all
against the GT: MOTA, MT, ML, precision, recall (motmetrics, mask IoU >= 0.5), TRA, DET, SEG (CTC).
The goal of the paper's protocol: a good generator's row is close to Real (tGAN within 0.03 MOTA).

    python benchmarks/tracking_real_vs_synthetic.py [--data ../shared/data] [--trackers overlap,laptrack,btrack]
        [--segmenter threshold|gt] [--generators NAME,...] [--seed 0]

Writes ``benchmarks/results/tracking_real_vs_synthetic_<segmenter>.{md,csv}``. Generator rows are added by naming
generator plugins (``--generators``, default none); each must provide ``generate(labels, seed=...)``
returning a ``(T, H, W)`` image video (or an object with ``.images``).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np

import tganaug
from tganaug.tracking.metrics import format_table, read_seg_reference, score_tracking

#: dataset -> threshold segmenter settings, SEG reference, whether MOT measures are meaningful.
#: ``threshold: "train"`` = midpoint of the median cell and median background intensity of the *train*
#: frames (GT masks of train frames only, never eval); per-frame Otsu drifts on SIM+ as bright mitotic
#: cells appear. GOWT1 has no train frames: Otsu.
DATASETS: dict[str, dict] = {
    "Fluo-N2DH-SIM+": {"segmenter": {"sigma": 2.0, "threshold": "train", "min_distance": 15, "min_size": 100}, "seg": "SEG", "mot": True},
    "PhC-Ecoli-vanVliet": {
        "segmenter": {"invert": True, "sigma": 1.0, "threshold": "train", "watershed": False, "min_size": 200},
        "seg": "TRA",  # dense full outlines: the TRA masks are the segmentation GT
        "mot": True,
    },
    # TRA masks are markers (60-70 % of the nucleus): IoU-based MOT measures would punish correct
    # full-nucleus masks, so only DET/TRA (CTC matching: > 50 % of the GT marker covered) are reported.
    "Fluo-N2DH-GOWT1": {"segmenter": {"sigma": 2.0, "min_distance": 20, "min_size": 300}, "seg": "SEG", "mot": False},
}
COLUMNS = ("dataset", "source", "tracker", "MOTA", "MT", "ML", "precision", "recall", "IDSW", "TRA", "DET", "SEG", "seconds")
MOT_ONLY = ("MOTA", "MT", "ML", "precision", "recall", "IDSW")


def train_threshold(path: Path) -> float:
    """Midpoint of the median cell and median background intensity over the train frames."""
    train = tganaug.read_ctc(path, frames="train")
    return float(np.median(train.images[train.labels > 0]) + np.median(train.images[train.labels == 0])) / 2


def synthetic_images(generator_name: str, labels: np.ndarray, seed: int) -> np.ndarray:
    """A generator plugin's ``(T, H, W)`` video for GT ``labels`` (the generator API of the model issues)."""
    generator = tganaug.get_generator(generator_name)
    video = generator.generate(labels, seed=seed)
    images = np.asarray(getattr(video, "images", video))
    if images.shape != labels.shape:
        raise ValueError(f"generator {generator_name!r} returned shape {images.shape}, expected {labels.shape}")
    return images


def run_one(dataset: Path, spec: dict, source: str, images: np.ndarray, gt, seg_reference, trackers, segmenter: str):
    """Segment ``images`` (or take the GT masks) and track with each tracker; one score row per tracker."""
    if segmenter == "gt":
        labels = gt.labels
    else:
        labels = tganaug.get_segmenter("threshold", **spec["segmenter"]).segment(images)
    rows = []
    for name in trackers:
        started = time.perf_counter()
        try:
            tracked, lineage = tganaug.get_tracker(name).track(labels)
        except (RuntimeError, ImportError) as error:
            print(f"  {dataset.name} {source} {name}: skipped ({error})")
            continue
        seconds = time.perf_counter() - started
        scores = score_tracking(tracked, lineage, gt.labels, gt.lineage, seg_reference)
        if not spec["mot"]:
            scores.update({key: float("nan") for key in MOT_ONLY})
        rows.append({"dataset": dataset.name, "source": source, "tracker": name, "seconds": seconds, **scores})
        print(format_table([rows[-1]], COLUMNS).splitlines()[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--trackers", default="overlap,laptrack,btrack")
    parser.add_argument("--segmenter", choices=["threshold", "gt"], default="threshold")
    parser.add_argument("--generators", default="", help="comma-separated generator plugins for synthetic rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output stem (default results/tracking_real_vs_synthetic_<segmenter>)")
    args = parser.parse_args()
    trackers = [t for t in args.trackers.split(",") if t]
    generators = [g for g in args.generators.split(",") if g]
    rows: list[dict] = []
    print("| " + " | ".join(COLUMNS) + " |")
    for name in [d for d in args.datasets.split(",") if d]:
        spec = dict(DATASETS[name], segmenter=dict(DATASETS[name]["segmenter"]))
        path = Path(args.data) / name
        if args.segmenter == "threshold" and spec["segmenter"].get("threshold") == "train":
            spec["segmenter"]["threshold"] = train_threshold(path)
            print(f"  {name}: threshold {spec['segmenter']['threshold']:.1f} from train frames")
        gt = tganaug.read_ctc(path, frames="eval")
        frames = gt.frames.tolist()
        seg_reference = dict(enumerate(gt.labels)) if spec["seg"] == "TRA" else read_seg_reference(path, frames)
        rows += run_one(path, spec, "Real", gt.images, gt, seg_reference, trackers, args.segmenter)
        for generator in generators:
            try:
                images = synthetic_images(generator, gt.labels, args.seed)
            except Exception as error:  # a generator under development may fail in any way; report it
                print(f"  {name} {generator}: generator failed ({type(error).__name__}: {error})")
                continue
            rows += run_one(path, spec, generator, images, gt, seg_reference, trackers, args.segmenter)
    out = Path(args.out or Path(__file__).parent / "results" / f"tracking_real_vs_synthetic_{args.segmenter}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    machine = f"{platform.machine()} ({os.cpu_count()} CPUs), Python {platform.python_version()}"
    text = [
        "# Tracking on real vs synthetic videos (paper Tables 2-3 protocol)",
        "",
        f"Machine: {machine}. `python benchmarks/tracking_real_vs_synthetic.py --segmenter {args.segmenter}"
        + (f" --generators {args.generators}" if generators else "") + "`.",
        "Split: **eval** frames of each dataset (SIM+ t045-t064, E. coli t029-t040, GOWT1 t000-t049).",
        f"Segmenter: `{args.segmenter}`" + (" (per-dataset settings in the script)" if args.segmenter == "threshold" else " (GT masks: tracker only)")
        + ". MOT measures match by mask IoU >= 0.5; MT/ML are fractions of GT tracks; GOWT1: DET/TRA only (marker masks).",
        "SEG: SIM+ from its SEG masks, GOWT1 from its 30 manually segmented frames, E. coli from its dense TRA masks.",
        "",
        format_table(rows, COLUMNS),
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(text))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
