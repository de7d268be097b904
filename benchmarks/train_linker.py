"""Train and ship the learned linkers (``linker`` tracker) and write their model cards.

* ``linker-fluo-nuclei``: GT label videos of the Fluo-N2DH-SIM+ *train* frames (t000-t044);
* ``linker-phase-contrast``: PhC-T98G-Usiigaci *train* frames (silver truth) + PhC-Ecoli-vanVliet *train* frames.

Each is then run on the GT masks of the *eval* frames (and of Fluo-N2DH-GOWT1, never trained on)
next to ``laptrack``, so the card says how well it links when the detections are right. Writes
``tganaug/weights/linker-<name>.pt`` + ``.json`` and the linker section of ``tganaug/weights/MODEL_CARD.md``.

    python benchmarks/train_linker.py [--name fluo-nuclei phase-contrast] [--steps 1500] [--seed 0] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

import tganaug
from tganaug.splits import DATASET_CITATIONS
from tganaug.tracking.linker import SHIPPED_LINKERS, LinkerConfig, train_linker
from tganaug.tracking.metrics import score_tracking
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_json
from tganaug.utils.weights import WEIGHTS_DIR

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MARKER = "<!-- linker cards: written by benchmarks/train_linker.py -->"  # same as benchmarks/ship_tgan.py
TRAIN = {"fluo-nuclei": ["Fluo-N2DH-SIM+"], "phase-contrast": ["PhC-T98G-Usiigaci", "PhC-Ecoli-vanVliet"]}
# GOWT1 sequence 01 is a cross-dataset test of the SIM+-trained linker: every frame of it is scored
EVAL = {"fluo-nuclei": [("Fluo-N2DH-SIM+", "eval"), ("Fluo-N2DH-GOWT1", "all")],
        "phase-contrast": [("PhC-T98G-Usiigaci", "eval"), ("PhC-Ecoli-vanVliet", "eval")]}
COLUMNS = ("MOTA", "IDSW", "TRA", "DET")


def evaluate(name: str, data: Path) -> list[dict[str, Any]]:
    """Linker vs laptrack on the GT masks of the eval frames."""
    rows = []
    for dataset, frames in EVAL[name]:
        sequence = tganaug.read_ctc(data / dataset, frames=frames, read_images=False)
        for tracker, config in (("linker", {"model": name}), ("laptrack", {})):
            linker = tganaug.get_tracker(tracker, **config)
            started = time.perf_counter()  # linking only (loading the model and imports not counted)
            tracked, lineage = tganaug.segment_and_track(sequence.labels, linker, tracker_name=tracker).tracks
            seconds = time.perf_counter() - started
            scores = score_tracking(tracked, lineage, sequence.labels, sequence.lineage)
            rows.append({"dataset": dataset, "frames": f"t{int(sequence.frames[0]):03d}-t{int(sequence.frames[-1]):03d}",
                         "annotation": sequence.annotation, "tracker": tracker, "seconds": round(seconds, 2),
                         **{c: float(scores[c]) for c in COLUMNS}})
            print(f"{name} on {dataset} {frames} GT masks, {tracker}: " + ", ".join(f"{c} {scores[c]:.4f}" for c in COLUMNS), flush=True)
    return rows


def write_card_section(cards: dict[str, dict[str, Any]]) -> None:
    lines = [MARKER, "", "# Linker model cards", "",
             "Shipped learned linkers (`linker` tracker: a small MLP scoring candidate links from mask features, Hungarian",
             "linking, divisions, one-frame gap closing; see `tganaug/tracking/linker.py`), trained here on CPU on the GT label",
             "videos of the **train** frames only by `benchmarks/train_linker.py`. Load by name:",
             "`tganaug.get_tracker(\"linker\", model=NAME)` or `tganaug track --tracker linker --tracker-config model=NAME ...`.",
             "The figures below link the **GT masks** of eval frames (perfect detections), next to `laptrack` on the same masks.", ""]
    for name, card in cards.items():
        meta = card["meta"]
        lines += [f"## linker {name}", "",
                  "- Data (train frames, label masks and lineage only): " + "; ".join(f"{d} — {DATASET_CITATIONS[d]}" for d in meta["data"]),
                  (f"- Machine: {meta['machine']}; {meta['steps']} steps of batch {meta['batch_size']}, seed {meta['seed']}, "
                  f"{meta['cpu_seconds']} s; {meta['parameters']} parameters (MLP {card['config']['hidden']}), file {meta['file_bytes']} bytes"),
                  f"- Training links: {meta['examples']['continuation']} continuations, {meta['examples']['daughter']} mother -> daughter, "
                  f"{meta['examples']['no_link']} negatives; recall on them: " + ", ".join(f"{k} {v:.3f}" for k, v in meta["train_recall"].items() if v is not None),
                  "", "| eval data (GT masks) | frames | tracker | MOTA | ID switches | TRA | DET | seconds to link |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in meta["eval_gt_masks"]:
            lines.append(f"| {r['dataset']} ({r['annotation']}) | {r['frames']} | {r['tracker']} | {r['MOTA']:.4f} | {r['IDSW']:.0f} | "
                         f"{r['TRA']:.4f} | {r['DET']:.4f} | {r['seconds']} |")
        lines.append("")
    path = WEIGHTS_DIR / "MODEL_CARD.md"
    text = path.read_text()
    text = text[: text.index(MARKER)].rstrip("\n") + "\n" if MARKER in text else text.rstrip("\n") + "\n"
    atomic_write_bytes(path, (text + "\n" + "\n".join(lines)).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", nargs="+", default=list(TRAIN), choices=list(TRAIN))
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    for name in args.name:
        sequences = [tganaug.read_ctc(data / dataset, frames="train", read_images=False) for dataset in TRAIN[name]]
        out = WEIGHTS_DIR / SHIPPED_LINKERS[name]
        meta = {"name": name, "data": TRAIN[name], "split": "train",
                "frames": {d: f"t{int(s.frames[0]):03d}-t{int(s.frames[-1]):03d}" for d, s in zip(TRAIN[name], sequences)},
                "machine": f"{platform.machine()} CPU, no GPU, {args.threads} torch thread(s)"}
        train_linker(sequences, out, steps=args.steps, seed=args.seed, config=LinkerConfig(), meta=meta, progress=True)
        card = json.loads(out.with_suffix(".json").read_text())
        card["meta"]["file_bytes"] = out.stat().st_size
        card["meta"]["eval_gt_masks"] = evaluate(name, data)
        atomic_write_json(out.with_suffix(".json"), card)
    cards = {name: json.loads((WEIGHTS_DIR / file).with_suffix(".json").read_text()) for name, file in SHIPPED_LINKERS.items()
             if (WEIGHTS_DIR / file).is_file()}
    write_card_section(cards)
    print(f"wrote {', '.join(SHIPPED_LINKERS[n] for n in cards)} and the linker section of {WEIGHTS_DIR / 'MODEL_CARD.md'}")


if __name__ == "__main__":
    main()
