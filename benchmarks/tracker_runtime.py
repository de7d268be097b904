"""Runtime of each tracker per frame and per object.

Tracks the GT masks of each dataset's eval frames (so every tracker links the same detections and
segmentation time is excluded) and reports wall-clock seconds per frame and milliseconds per object
(object = one instance in one frame), the best of ``--repeats`` runs, side by side.

    python benchmarks/tracker_runtime.py [--data ../shared/data] [--repeats 3] [--trackers overlap,laptrack,btrack,linker]

Writes ``benchmarks/results/tracker_runtime.{md,csv}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import tganaug
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, positive_int  # benchmarks/_common.py

DATASETS = ("Fluo-N2DH-SIM+", "PhC-Ecoli-vanVliet", "Fluo-N2DH-GOWT1")
COLUMNS = ("dataset", "frames", "objects", "tracker", "seconds", "s_per_frame", "ms_per_object")

#: shipped linker per dataset (its modality)
LINKER_MODELS = {"Fluo-N2DH-SIM+": "fluo-nuclei", "PhC-Ecoli-vanVliet": "phase-contrast", "Fluo-N2DH-GOWT1": "fluo-nuclei"}

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--trackers", default="overlap,laptrack,btrack,linker")
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "tracker_runtime"))
    args = parser.parse_args()
    rows = []
    print("| " + " | ".join(COLUMNS) + " |")
    for name in DATASETS:
        # GOWT1 sequence 01: the cross-dataset test of the SIM+-trained linker, every frame
        gt = tganaug.read_ctc(Path(args.data) / name, frames="all" if name == "Fluo-N2DH-GOWT1" else "eval", read_images=False)
        n_frames = gt.labels.shape[0]
        n_objects = sum(int(np.count_nonzero(np.unique(frame))) for frame in gt.labels)
        for tracker_name in [t for t in args.trackers.split(",") if t]:
            config = {"model": LINKER_MODELS[name]} if tracker_name == "linker" else {}
            tracker = tganaug.get_tracker(tracker_name, **config)
            tracker.track(gt.labels[:2])  # warm-up: imports, library loading
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tracker.track(gt.labels)
                times.append(time.perf_counter() - started)
            best = min(times)
            rows.append({
                "dataset": name, "frames": n_frames, "objects": n_objects, "tracker": tracker_name,
                "seconds": best, "s_per_frame": best / n_frames, "ms_per_object": 1000 * best / n_objects,
            })
            print(format_table([rows[-1]], COLUMNS, digits=4).splitlines()[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out.with_suffix(".csv"), rows, COLUMNS)
    atomic_write_bytes(out.with_suffix(".md"), "\n".join([
        "# Tracker runtime",
        "",
        f"Machine: {machine()}. `{command_line()}`: best of {args.repeats} runs.",
        "Input: GT masks of the **eval** frames (segmentation excluded); btrack includes its GLPK hypothesis",
        "optimisation (time limit 60 s); `linker` uses the shipped model of the modality. Object = one instance in one frame.",
        "",
        format_table(rows, COLUMNS, digits=4),
        "",
    ]).encode())
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
