"""Which ``unet`` segmenter ships as a default: the shipped one against candidates, by a rule fixed before scoring.

Every segmenter segments, ``laptrack`` links, and the downstream benchmark's scoring
(:func:`tganaug.benchmarking.downstream.score_target`: DET / SEG / TRA by py-ctcmetrics, MOTA by motmetrics,
division recall by traccuracy) scores, on two kinds of targets:

* **decision targets**, the only ones the choice reads: the eval frames of the dataset the segmenters were trained on
  (``--same``, default Fluo-N2DH-SIM+ t045-t064) and the eval frames of a dataset none of them was trained on
  (``--cross``, default Fluo-N2DL-HeLa t030-t045);
* **reported targets**, never used to choose (``--report-only``, default every frame of the evaluation-only
  sequences Fluo-N2DH-SIM+/02 and Fluo-N2DH-GOWT1/02: what a user's next recording would see).

Rule: a candidate replaces the shipped segmenter when, on the cross-dataset target, its DET and its TRA are both
higher, and on the same-dataset eval frames its DET is at most ``--tolerance`` (0.01) lower. Among several winners,
the highest cross-dataset TRA.

    python benchmarks/segmenter_choice.py --segmenter shipped=fluo-nuclei --segmenter candidate=runs/.../model.pt

Writes ``benchmarks/results/segmenter_choice.md`` and ``.csv`` (``--report``); scores are kept per segmenter and
target in ``--runs`` (default ``runs/segmenter_choice``), keyed by the checkpoint's sha256, and reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, command_line, machine, name_path, write_report  # benchmarks/_common.py

from tganaug.benchmarking.downstream import COLUMNS, parse_target, read_target, score_target
from tganaug.segmentation import UNetSegmenter
from tganaug.segmentation.model import SHIPPED_SEGMENTERS, CheckpointError
from tganaug.tracking.pipeline import segment_video
from tganaug.utils.fsutil import atomic_write_json
from tganaug.utils.weights import resolve_weights, weights_fingerprint


def describe(path: Path) -> str:
    """What a checkpoint was trained on, from the JSON beside it."""
    info = path.with_suffix(".json")
    if not info.is_file():
        return "?"
    meta = json.loads(info.read_text()).get("meta", {})
    return "; ".join(f"{key} {meta[key]}" for key in ("trained_on", "setup", "dataset", "generator", "augment", "steps", "batch_size")
                     if key in meta)


def choose(scores: dict[str, dict[str, dict[str, float]]], shipped: str, same: str, cross: str, tolerance: float) -> str:
    """The segmenter the rule picks (module docstring): ``shipped`` unless a candidate wins."""
    base_same, base_cross = scores[shipped][same], scores[shipped][cross]
    winners = [name for name, by_target in scores.items() if name != shipped
               and by_target[cross]["DET"] > base_cross["DET"] and by_target[cross]["TRA"] > base_cross["TRA"]
               and by_target[same]["DET"] >= base_same["DET"] - tolerance]
    return max(winners, key=lambda name: scores[name][cross]["TRA"]) if winners else shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segmenter", type=name_path, action="append", required=True, metavar="NAME=MODEL",
                        help="a segmenter: shipped name or checkpoint path; the first is the shipped one")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--same", default="Fluo-N2DH-SIM+")
    parser.add_argument("--cross", default="Fluo-N2DL-HeLa")
    parser.add_argument("--report-only", nargs="*", default=["Fluo-N2DH-SIM+/02", "Fluo-N2DH-GOWT1/02"])
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "segmenter_choice")
    parser.add_argument("--report", default="segmenter_choice")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    try:
        segmenters = {name: resolve_weights(model, SHIPPED_SEGMENTERS, what="segmenter model", error=CheckpointError)
                      for name, model in args.segmenter}
    except CheckpointError as error:
        parser.error(str(error))
    digests = {name: weights_fingerprint(path)[:16] for name, path in segmenters.items()}
    networks: dict[str, UNetSegmenter] = {}
    targets = [parse_target(t) for t in [args.same, args.cross, *args.report_only]]
    scores: dict[str, dict[str, dict[str, float]]] = {name: {} for name in segmenters}
    started = time.perf_counter()
    for target in targets:
        evaluation = None
        for name, path in segmenters.items():
            file = args.runs / digests[name] / f"{target.slug}.json"
            if not file.is_file():
                evaluation = evaluation or read_target(args.data, target)
                if name not in networks:
                    networks[name] = UNetSegmenter(path, device="cpu")
                labels = segment_video(evaluation.images, networks[name], name="unet")
                atomic_write_json(file, score_target(evaluation, labels, "laptrack"))
            scores[name][str(target)] = json.loads(file.read_text())
            print(f"{name} on {target}: " + ", ".join(f"{c} {scores[name][str(target)][c]:.3f}" for c in COLUMNS), flush=True)
    shipped = next(iter(segmenters))
    chosen = choose(scores, shipped, str(targets[0]), str(targets[1]), args.tolerance)
    lines = [f"# Choosing the shipped `unet` segmenter: {', '.join(segmenters)}", "",
             f"Machine: {machine()}; {time.perf_counter() - started:.0f} s for the scores not already kept. `{command_line()}`.",
             "Segment with each `unet` checkpoint, link with `laptrack`, score with the downstream benchmark's scoring "
             "(DET / SEG / TRA: py-ctcmetrics against the TRA masks and SEG masks; MOTA: motmetrics, IoU >= 0.5, against full "
             "outlines with track ids; DIV_recall: traccuracy). One trained network per segmenter (no seed spread).",
             f"Rule, fixed before scoring: a candidate replaces `{shipped}` when on {targets[1]} (a dataset none was trained on) "
             f"its DET and TRA are both higher and on {targets[0]}'s eval frames its DET is at most {args.tolerance} lower. "
             f"Only these two targets decide; {', '.join(map(str, targets[2:])) or 'no other target'} are reported and never "
             "used to choose (evaluation-only sequences).", "",
             f"**Chosen: `{chosen}`.**", "", "Segmenters:", ""]
    lines += [f"- `{name}`: `{path.relative_to(REPO) if path.is_relative_to(REPO) else path}` ({describe(path)})"
              for name, path in segmenters.items()]
    rows = []
    for index, target in enumerate(targets):
        role = "decides" if index < 2 else "reported only"
        lines += ["", f"## {target} ({role})", "", "| segmenter | " + " | ".join(COLUMNS) + " |",
                  "| --- | " + " | ".join("---" for _ in COLUMNS) + " |"]
        for name in segmenters:
            values = scores[name][str(target)]
            lines.append(f"| {name} | " + " | ".join(f"{values[c]:.3f}" for c in COLUMNS) + " |")
            rows.append({"target": str(target), "role": role, "segmenter": name, "chosen": name == chosen,
                         **{c: round(values[c], 4) for c in COLUMNS}})
    write_report(REPO / "benchmarks" / "results", args.report, lines, rows, ["target", "role", "segmenter", "chosen", *COLUMNS])
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
