"""Where the downstream segmenters' MOTA goes on a target: errors by cause (:mod:`tganaug.benchmarking.mot_breakdown`).

    python benchmarks/mota_breakdown.py --target Fluo-N2DH-SIM+/02 \\
        --runs runs/downstream/Fluo-N2DH-SIM+/real-intensity/real-5-seed0 ... [--tracker laptrack] [--report NAME]

Each run folder is one segmenter of ``benchmarks/downstream_gain.py`` (its ``model.pt``). The target's every frame
(an evaluation-only sequence) or eval frames are segmented, linked with ``--tracker`` exactly as the downstream
benchmark does, and scored against the full outlines with track ids. Writes ``benchmarks/results/<REPORT>.md`` and
``.csv``: one row per run and a mean row per setup (the run folder's name without ``-seedN``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, command_line, machine, write_report  # benchmarks/_common.py

from tganaug.benchmarking.mot_breakdown import BREAKDOWN_COLUMNS, FRAGMENT_FRACTION, WRONG_SHAPE_IOU, mot_breakdown


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder of CTC dataset folders")
    parser.add_argument("--target", required=True, metavar="DATASET[/SEQ]", help="scored sequence, as downstream_gain.py's --targets")
    parser.add_argument("--runs", nargs="+", required=True, type=Path, help="downstream run folders (each holds model.pt)")
    parser.add_argument("--tracker", default="laptrack")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--report", default=None, help="report name (default mota_breakdown_<dataset>_<seq>)")
    args = parser.parse_args()
    import numpy as np
    import torch

    from tganaug.benchmarking.downstream import parse_target, read_target
    from tganaug.segmentation import UNetSegmenter
    from tganaug.tracking.pipeline import segment_and_track, segment_video

    torch.set_num_threads(args.threads)
    missing = [str(run) for run in args.runs if not (run / "model.pt").is_file()]
    if missing:
        raise SystemExit(f"no model.pt in run folder(s) {', '.join(missing)}")
    target = parse_target(args.target)
    evaluation = read_target(Path(args.data), target)
    rows: list[dict] = []
    started = time.perf_counter()
    for run in args.runs:
        labels = segment_video(evaluation.images, UNetSegmenter(run / "model.pt", device="cpu"), name="unet")
        tracked, _ = segment_and_track(labels, args.tracker).tracks
        scores = mot_breakdown(evaluation.outlines, tracked)
        rows.append({"run": f"{run.parent.name}/{run.name}", **{c: round(scores[c], 4) for c in BREAKDOWN_COLUMNS}})
        print(" ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    setups: dict[str, list[dict]] = {}
    for row in rows:
        setups.setdefault(re.sub(r"-seed\d+$", "", row["run"]), []).append(row)
    means = [{"run": f"{name} (mean of {len(group)})", **{c: round(float(np.mean([r[c] for r in group])), 4) for c in BREAKDOWN_COLUMNS}}
             for name, group in setups.items()]
    columns = ["run", *BREAKDOWN_COLUMNS]
    table = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    table += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows + means]
    lines = [
        f"# MOTA by cause: downstream segmenters on {target}", "",
        f"Machine: {machine()}; {time.perf_counter() - started:.0f} s. `{command_line()}`.",
        f"Scored: {evaluation.frames.size} frames (t{int(evaluation.frames[0]):03d}-t{int(evaluation.frames[-1]):03d}) of "
        f"{target}; GT: full outlines with track ids ({evaluation.outline_method}). Each run's segmenter "
        f"(`benchmarks/downstream_gain.py`), linked with `{args.tracker}` as that benchmark does.",
        f"MOTA, FN, FP, IDSW: motmetrics, mask IoU >= 0.5 (the downstream benchmark's MOTA). FP by cause: `FP_fragment` "
        f"smaller than {FRAGMENT_FRACTION} x the median GT object; `FP_wrong_shape` best IoU with a GT object in "
        f"[{WRONG_SHAPE_IOU}, 0.5): a cell found with the wrong outline, which also counts as a miss; `FP_spurious` the rest. "
        "`GT_IoU_*`: each GT object's best IoU with a result object. `MOTA_IoU_0.3` and `MOTA_centroid_10px`: the same "
        "tracks matched more loosely, a diagnostic only.", "",
        *table,
    ]
    write_report(REPO / "benchmarks" / "results", args.report or f"mota_breakdown_{target.slug}", lines, rows + means, columns)


if __name__ == "__main__":
    main()
