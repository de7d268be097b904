"""Segment-then-track on real eval videos (and, when generators exist, on synthetic twins): paper Tables 2-3.

Protocol (the tGAN paper's Tables 2-3): for each eval split with dense ground truth (SIM+, E. coli; GOWT1
for DET/TRA only, its TRA masks are shrunken markers) run the same segmenter and each tracker on the
real video and on videos generated from the same GT masks by each requested generator, and score all
against the GT: MOTA, MT, ML, precision, recall (motmetrics, mask IoU >= 0.5), TRA, DET, SEG (CTC).
The goal of the paper's protocol: a good generator's row is close to Real (tGAN within 0.03 MOTA).

    python benchmarks/tracking_real_vs_synthetic.py [--data ../shared/data] [--trackers overlap,laptrack,btrack]
        [--segmenter threshold|unet|gt] [--generators NAME,...] [--seed 0] [--tgan-model NAME=PATH] [--out STEM]

Writes ``benchmarks/results/tracking_real_vs_synthetic_<segmenter>.{md,csv}``. Generator rows are added by naming
generator plugins (``--generators procedural,tgan``): ``procedural`` is fitted on the dataset's train frames,
``tgan`` uses the shipped model for the modality with a background estimated from train frames
(``tgan-sr-on-real``: its SR stage alone on the real frames down-sampled to the low-res grid, a diagnostic); the
synthetic video is mapped to the real video's intensity units before segmentation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tganaug
from tganaug.tracking.metrics import format_table, read_seg_reference, score_tracking
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, name_path  # benchmarks/_common.py

#: dataset -> threshold segmenter settings, SEG reference, whether MOT measures are meaningful.
#: ``threshold: "train"`` = midpoint of the median cell and median background intensity of the *train*
#: frames (GT masks of train frames only, never eval); per-frame Otsu drifts on SIM+ as bright mitotic
#: cells appear. GOWT1 (a cross-dataset test, nothing fitted on it): Otsu.
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


#: dataset -> shipped model used by the ``unet`` segmenter and the ``tgan`` generator
MODELS = {"Fluo-N2DH-SIM+": "fluo-nuclei", "Fluo-N2DH-GOWT1": "fluo-nuclei", "PhC-Ecoli-vanVliet": "phase-contrast"}


def make_generator(name: str, dataset: Path, tgan_models: dict[str, str] | None = None):
    """A generator for ``dataset``: fitted to (procedural) or trained on (tgan) its train frames only.

    ``tgan_models`` maps a shipped model name to another checkpoint folder to render with instead
    (the segmenter keeps the shipped weights).

    GOWT1 is a cross-dataset test: the procedural renderer is then fitted on SIM+ train frames (the
    other fluorescence-nuclei dataset), as a user without annotations would.
    """
    fit_on = dataset if dataset.name != "Fluo-N2DH-GOWT1" else dataset.parent / "Fluo-N2DH-SIM+"
    if name == "procedural":
        from tganaug.procedural import ProceduralRenderer

        return ProceduralRenderer.from_ctc(fit_on, frames="train")
    if name == "tgan":
        model = MODELS[dataset.name]
        return tganaug.get_generator("tgan", model=(tgan_models or {}).get(model, model))
    return tganaug.get_generator(name)


#: Datasets scored as a cross-dataset test of models trained and fitted on another dataset (GOWT1 on SIM+): nothing
#: here trains or fits on them, so every frame of their sequence 01 is scored (its split marks it train-only, for the
#: unseen-sequence protocol of models trained on GOWT1 itself, which this benchmark does not run).
CROSS_DATASET = ("Fluo-N2DH-GOWT1",)


def scored_split(dataset: Path) -> str:
    """The frames scored: the eval split, or every frame of a cross-dataset test (:data:`CROSS_DATASET`)."""
    return "all" if dataset.name in CROSS_DATASET else "eval"


def reference_split(dataset: Path) -> str:
    """The frames a generator's background and intensity scale come from: train (the scored frames for a
    cross-dataset test, whose models were trained elsewhere)."""
    return "train" if dataset.name not in CROSS_DATASET else scored_split(dataset)


def synthetic_images(generator_name: str, dataset: Path, gt, seed: int, tgan_models: dict[str, str] | None = None) -> np.ndarray:
    """A generator's video for the GT masks, mapped back to the real data's intensity units.

    Generators return ``[0, 1]``; the inverse of the real *train* frames' percentile normalisation
    (the scored frames for GOWT1, a cross-dataset test) puts the synthetic video on the raw scale of
    the real one, so the segmenter runs with identical settings on both.
    """
    from tganaug.data.normalize import fit_normalization

    if generator_name == SR_ON_REAL:
        return sr_on_real_images(dataset, gt, seed, tgan_models)
    generator = make_generator(generator_name, dataset, tgan_models)
    # the intensity space the generator renders in: tgan's training percentiles, the procedural fit's (0.1, 99.9)
    percentiles = tuple(generator.model.config.norm_percentiles) if generator_name == "tgan" else (0.1, 99.9)
    reference = tganaug.read_ctc(dataset, frames=reference_split(dataset))
    norm = fit_normalization(reference.images, percentiles=percentiles)
    background = None
    if generator_name == "tgan":
        from tganaug.models.tgan import background_from_video

        background = background_from_video(norm(reference.images), reference.labels)
    video = np.asarray(generator.generate(gt.labels, background=background, seed=seed), dtype=np.float32)
    if video.shape != gt.labels.shape:
        raise ValueError(f"generator {generator_name!r} returned shape {video.shape}, expected {gt.labels.shape}")
    return video * np.float32(norm.scale) + np.float32(norm.offset)


#: pseudo-generator: the tgan model's SR stage alone, on the real eval frames down-sampled to its low-res grid (diagnostic)
SR_ON_REAL = "tgan-sr-on-real"


def sr_on_real_images(dataset: Path, gt, seed: int, tgan_models: dict[str, str] | None = None) -> np.ndarray:
    """The ``tgan`` model's SR stage on the area down-sampling of the real eval frames (and the GT masks), raw units.

    A perfect low-res stage would hand the SR stage these frames, so the row separates the two stages' share
    of a gap to Real. Frames are normalised with the *train* frames' percentiles of the model's training
    (``norm_percentiles``, clipped to [0, 1]) and mapped back.
    """
    from tganaug.data.normalize import fit_normalization
    from tganaug.models.tgan import TGAN, resolve_model

    model_name = MODELS[dataset.name]
    model = TGAN.from_pretrained(resolve_model((tgan_models or {}).get(model_name, model_name)))
    reference = tganaug.read_ctc(dataset, frames=reference_split(dataset), read_labels=False).images
    norm = fit_normalization(reference, percentiles=model.config.norm_percentiles)  # the intensity scale the model was trained on
    video = model.super_resolve(np.clip(norm(gt.images), 0, 1), gt.labels, seed=seed)
    return video * np.float32(norm.scale) + np.float32(norm.offset)


def run_one(dataset: Path, spec: dict, source: str, images: np.ndarray, gt, seg_reference, trackers, segmenter: str):
    """Segment ``images`` (or take the GT masks) and track with each tracker; one score row per tracker."""
    if segmenter == "gt":
        labels = gt.labels
    elif segmenter == "unet":
        labels = tganaug.tracking.segment_video(images, "unet", config={"model": MODELS[dataset.name]})
    else:
        labels = tganaug.tracking.segment_video(images, "threshold", config=spec["segmenter"])
    rows = []
    for name in trackers:
        started = time.perf_counter()
        try:
            tracked, lineage = tganaug.segment_and_track(labels, name).tracks
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
    parser.add_argument("--segmenter", choices=["threshold", "unet", "gt"], default="threshold")
    parser.add_argument("--generators", default="", help=f"comma-separated generator plugins for synthetic rows; {SR_ON_REAL!r}: the tgan "
                        "model's SR stage alone on the real frames down-sampled to its low-res grid (diagnostic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output stem (default results/tracking_real_vs_synthetic_<segmenter>)")
    parser.add_argument("--tgan-model", action="append", default=[], metavar="NAME=PATH", type=name_path,
                        help="render the tgan rows with this checkpoint folder instead of shipped model NAME (e.g. fluo-nuclei=runs/x)")
    args = parser.parse_args()
    tgan_models = dict(args.tgan_model)
    trackers = [t for t in args.trackers.split(",") if t]
    generators = [g for g in args.generators.split(",") if g]
    unknown_datasets = sorted(set(d for d in args.datasets.split(",") if d) - set(DATASETS))
    if unknown_datasets:
        parser.error(f"unknown dataset(s) {unknown_datasets}; choose from {', '.join(DATASETS)}")
    known_generators = {*tganaug.default_registry().names("generator"), SR_ON_REAL}
    if set(generators) - known_generators:
        parser.error(f"unknown generator(s) {sorted(set(generators) - known_generators)}; choose from {', '.join(sorted(known_generators))}")
    rows: list[dict] = []
    print("| " + " | ".join(COLUMNS) + " |")
    for name in [d for d in args.datasets.split(",") if d]:
        spec = dict(DATASETS[name], segmenter=dict(DATASETS[name]["segmenter"]))
        path = Path(args.data) / name
        if args.segmenter == "threshold" and spec["segmenter"].get("threshold") == "train":
            spec["segmenter"]["threshold"] = train_threshold(path)
            print(f"  {name}: threshold {spec['segmenter']['threshold']:.1f} from train frames")
        gt = tganaug.read_ctc(path, frames=scored_split(path))
        frames = gt.frames.tolist()
        seg_reference = dict(enumerate(gt.labels)) if spec["seg"] == "TRA" else read_seg_reference(path, frames)
        rows += run_one(path, spec, "Real", gt.images, gt, seg_reference, trackers, args.segmenter)
        for generator in generators:
            try:
                images = synthetic_images(generator, path, gt, args.seed, tgan_models)
            except Exception as error:  # a generator under development may fail in any way; report it
                print(f"  {name} {generator}: generator failed ({type(error).__name__}: {error})")
                continue
            rows += run_one(path, spec, generator, images, gt, seg_reference, trackers, args.segmenter)
    out = Path(args.out or Path(__file__).parent / "results" / f"tracking_real_vs_synthetic_{args.segmenter}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out.with_suffix(".csv"), [{c: row.get(c, "") for c in COLUMNS} for row in rows], COLUMNS)
    text = [
        "# Tracking on real vs synthetic videos (paper Tables 2-3 protocol)",
        "",
        f"Machine: {machine()}. `{command_line()}` (segmenter `{args.segmenter}`, seed {args.seed}).",
        "Split: **eval** frames of each dataset (SIM+ t045-t064, E. coli t029-t040); GOWT1, a cross-dataset test of "
        "models trained and fitted on SIM+, on every frame of its sequence 01 (t000-t049).",
        f"Segmenter: `{args.segmenter}`" + {"threshold": " (per-dataset settings in the script)", "gt": " (GT masks: tracker only)",
                                            "unet": " (shipped weights: fluo-nuclei for SIM+/GOWT1, phase-contrast for E. coli)"}[args.segmenter]
        + ". MOT measures match by mask IoU >= 0.5; MT/ML are fractions of GT tracks; GOWT1: DET/TRA only (marker masks).",
        "SEG: SIM+ from its SEG masks, GOWT1 from its 30 manually segmented frames, E. coli from its dense TRA masks.",
        "",
        format_table(rows, COLUMNS),
        "",
    ]
    atomic_write_bytes(out.with_suffix(".md"), "\n".join(text).encode())
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
