"""Segment-then-track on real eval videos (and, when generators exist, on synthetic twins): paper Tables 2-3.

Protocol (the tGAN paper's Tables 2-3): for each eval split with dense ground truth (SIM+, E. coli; GOWT1
for DET/TRA only, its TRA masks are shrunken markers) run the same segmenter and each tracker on the
real video and on videos generated from the same GT masks by each requested generator, and score all
against the GT: MOTA, MT, ML, precision, recall (motmetrics, mask IoU >= 0.5), TRA, DET, SEG (CTC).
The goal of the paper's protocol: a good generator's row is close to Real (tGAN within 0.03 MOTA).

    python benchmarks/tracking_real_vs_synthetic.py [--data ../shared/data] [--trackers overlap,laptrack,btrack]
        [--segmenter threshold|unet|gt] [--generators NAME,...] [--seed 0] [--tgan-model NAME=PATH] [--out STEM]

Writes ``benchmarks/results/tracking_real_vs_synthetic_<segmenter>.{md,csv}``. The work is done by
:mod:`tganaug.benchmarking.tracking` (``tganaug benchmark tracking`` on one dataset folder); this script keeps the
presets of the committed reports, expressed as that library's options. Generator rows are added by naming
generator plugins (``--generators procedural,tgan``): ``procedural`` is fitted on the dataset's train frames,
``tgan`` uses the shipped model for the modality with a background estimated from train frames
(``tgan-sr-on-real``: its SR stage alone on the real frames down-sampled to the low-res grid, a diagnostic); the
synthetic video is mapped to the real video's intensity units before segmentation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tganaug
from tganaug.benchmarking import tracking as library
from tganaug.benchmarking.inputs import BenchmarkInputs, resolve_inputs
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, name_path  # benchmarks/_common.py

#: dataset -> the options of the committed reports: frames scored, threshold segmenter settings, SEG reference, whether MOT
#: measures are scored, the shipped model of the ``unet`` segmenter and ``tgan`` generator, and where generators are fitted.
#: ``threshold: "train"`` = midpoint of the median cell and median background intensity of the *train* frames (GT masks of
#: train frames only, never eval); per-frame Otsu drifts on SIM+ as bright mitotic cells appear.
DATASETS: dict[str, dict] = {
    "Fluo-N2DH-SIM+": {"frames": "eval", "segmenter": {"sigma": 2.0, "threshold": "train", "invert": False, "min_distance": 15,
                                                       "min_size": 100}, "seg": "seg", "mot": "yes", "model": "fluo-nuclei"},
    "PhC-Ecoli-vanVliet": {
        "frames": "eval",
        "segmenter": {"invert": True, "sigma": 1.0, "threshold": "train", "watershed": False, "min_size": 200, "min_distance": 7},
        "seg": "tra",  # dense full outlines: the TRA masks are the segmentation GT
        "mot": "yes", "model": "phase-contrast",
    },
    # A cross-dataset test of models trained and fitted on SIM+: nothing here trains or fits on GOWT1, so every frame of its
    # sequence 01 is scored (its split marks it train-only, for the unseen-sequence protocol of models trained on GOWT1
    # itself, which this benchmark does not run); a generator's intensity scale and background come from the scored frames.
    # TRA masks are markers (60-70 % of the nucleus): IoU-based MOT measures would punish correct full-nucleus masks, so
    # only DET/TRA (CTC matching: > 50 % of the GT marker covered) are reported. Otsu threshold (nothing fitted on GOWT1).
    "Fluo-N2DH-GOWT1": {"frames": "all", "segmenter": {"sigma": 2.0, "threshold": None, "invert": False, "min_distance": 20,
                                                       "min_size": 300}, "seg": "seg", "mot": "no", "model": "fluo-nuclei",
                        "fit_data": "Fluo-N2DH-SIM+", "reference": "scored"},
}
COLUMNS = ("dataset", "source", "tracker", "MOTA", "MT", "ML", "precision", "recall", "IDSW", "TRA", "DET", "SEG", "seconds")
SR_ON_REAL = library.SR_ON_REAL
#: dataset -> shipped model used by the ``unet`` segmenter and the ``tgan`` generator
MODELS = {name: spec["model"] for name, spec in DATASETS.items()}


def preset_inputs(dataset: Path) -> BenchmarkInputs:
    """The frames scored and fitted on for a preset dataset (sequence 01)."""
    spec = DATASETS[dataset.name]
    fit_data = dataset.parent / spec["fit_data"] if "fit_data" in spec else None
    return resolve_inputs(dataset, "01", spec["frames"], fit_data=fit_data)


def synthetic_images(generator_name: str, dataset: Path, gt, seed: int, tgan_models: dict[str, str] | None = None) -> np.ndarray:
    """A generator's video for the GT masks of a preset dataset, in the real data's intensity units
    (:func:`tganaug.benchmarking.tracking.synthetic_images` with the preset's model and reference frames)."""
    inputs = preset_inputs(dataset)
    model = MODELS[dataset.name]
    reference = inputs.scored if DATASETS[dataset.name].get("reference") == "scored" else None
    return library.synthetic_images(generator_name, inputs, gt, seed, model=(tgan_models or {}).get(model, model), reference=reference)


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
        parser.error(f"unknown dataset(s) {unknown_datasets}; choose from {', '.join(DATASETS)} (any other folder: "
                     "tganaug benchmark tracking --data DIR)")
    known_generators = {*tganaug.default_registry().names("generator"), SR_ON_REAL}
    if set(generators) - known_generators:
        parser.error(f"unknown generator(s) {sorted(set(generators) - known_generators)}; choose from {', '.join(sorted(known_generators))}")
    rows: list[dict] = []
    described: list[str] = []
    print("| " + " | ".join(COLUMNS) + " |")
    for name in [d for d in args.datasets.split(",") if d]:
        spec = DATASETS[name]
        path = Path(args.data) / name
        inputs = preset_inputs(path)
        params = {"threshold": dict(spec["segmenter"]), "unet": {"model": spec["model"]}, "gt": {}}[args.segmenter]
        gt = tganaug.read_ctc(path, frames=list(inputs.scored.frames))
        settings = library.resolve_settings(inputs, gt, args.segmenter, params, seg=spec["seg"], mot=spec["mot"])
        if "threshold" in settings.fitted:
            print(f"  {name}: threshold {settings.params['threshold']:.1f} from train frames")
        described.append(f"`{name}` sequence 01 frames {inputs.scored.span} ({inputs.scored.how}); {inputs.protocol_text}; "
                         f"{settings.seg_text}; {settings.mot_text}.")
        sources = {generator: (lambda generator=generator: synthetic_images(generator, path, gt, args.seed, tgan_models))
                   for generator in generators}
        rows += library.run_tracking(inputs, gt, settings, trackers, sources, progress=False, graph_measures=False,
                                     on_row=lambda row: print(format_table([row], COLUMNS).splitlines()[-1], flush=True))
    out = Path(args.out or Path(__file__).parent / "results" / f"tracking_real_vs_synthetic_{args.segmenter}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out.with_suffix(".csv"), [{c: row.get(c, "") for c in COLUMNS} for row in rows], COLUMNS)
    text = [
        "# Tracking on real vs synthetic videos (paper Tables 2-3 protocol)",
        "",
        f"Machine: {machine()}. `{command_line()}` (segmenter `{args.segmenter}`, seed {args.seed}).",
        "Frames, protocol, SEG reference and MOT per dataset:",
        "",
        *[f"- {line}" for line in described],
        "",
        f"Segmenter: `{args.segmenter}`" + {"threshold": " (per-dataset settings in the script)", "gt": " (GT masks: tracker only)",
                                            "unet": " (shipped weights: " + ", ".join(f"{m} for {d}" for d, m in MODELS.items()) + ")"}[args.segmenter]
        + ". MOT measures match by mask IoU >= 0.5; MT/ML are fractions of GT tracks.",
        "",
        format_table(rows, COLUMNS),
        "",
    ]
    atomic_write_bytes(out.with_suffix(".md"), "\n".join(text).encode())
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
