"""Train the shipped trackastra model (``trackastra`` tracker, ``model="fluo-nuclei"``) from scratch, on CPU.

Data: the GT label videos + lineage of the Fluo-N2DH-SIM+ sequence 01 **train** frames (t000-t044) only,
as a masks-only model (the tracker contract gives a tracker labels, not images). Training goes through
trackastra's Python API (``TrackingTransformer``, wrfeat features and augmentations, block-causal
normalisation; see :func:`tganaug.tracking.trackastra_model.train_trackastra`). Seeded; a checkpoint is
written every ``--checkpoint-every`` epochs to ``--work`` and a rerun with the same arguments resumes from it.

Writes ``--out`` (default ``tganaug/weights/trackastra-fluo-nuclei.pt``) and the JSON beside it (config,
training record, machine, command), then links the GT masks of the **eval** frames (t045-t064) with it and
with ``laptrack``, scores both with the project's tracking metrics, and adds the table to that JSON.

    python benchmarks/train_trackastra.py [--epochs 60] [--seed 0] [--threads 1] [--work runs/train_trackastra]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, positive_int  # noqa: E402

import tganaug  # noqa: E402
from tganaug.splits import DATASET_CITATIONS  # noqa: E402
from tganaug.tracking.metrics import score_tracking  # noqa: E402
from tganaug.tracking.trackastra_model import (  # noqa: E402
    SHIPPED_TRACKASTRA,
    TrackastraModelConfig,
    TrackastraTrainConfig,
    save_trackastra,
    train_trackastra,
)
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_json  # noqa: E402
from tganaug.utils.weights import WEIGHTS_DIR  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DATASET = "Fluo-N2DH-SIM+"
COLUMNS = ("MOTA", "IDSW", "DET", "TRA", "LNK", "DIV_precision", "DIV_recall", "DIV_F1", "CHOTA")


def evaluate(data: Path, model: Path) -> list[dict[str, Any]]:
    """trackastra (this model) vs laptrack on the GT masks of the SIM+ 01 eval frames."""
    sequence = tganaug.read_ctc(data / DATASET, "01", frames="eval", read_images=False)
    rows = []
    for tracker, config in (("trackastra", {"model": str(model)}), ("laptrack", {})):
        linker = tganaug.get_tracker(tracker, **config)
        started = time.perf_counter()  # linking only (model loading and imports not counted)
        tracked, lineage = tganaug.segment_and_track(sequence.labels, linker, tracker_name=tracker).tracks
        seconds = time.perf_counter() - started
        scores = score_tracking(tracked, lineage, sequence.labels, sequence.lineage)
        frames = f"t{int(sequence.frames[0]):03d}-t{int(sequence.frames[-1]):03d}"
        rows.append({"dataset": DATASET, "sequence": "01", "frames": frames, "annotation": sequence.annotation,
                     "tracker": tracker, "seconds": round(seconds, 2),
                     **{c: float(scores[c]) for c in COLUMNS if c in scores}})
        print(f"{DATASET} 01 {frames} GT masks, {tracker}: "
              + ", ".join(f"{c} {scores[c]:.4f}" for c in COLUMNS if c in scores), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="the shared data folder holding Fluo-N2DH-SIM+")
    parser.add_argument("--epochs", type=positive_int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--work", default=str(REPO / "runs" / "train_trackastra"), help="checkpoint folder (resumed from)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=5)
    parser.add_argument("--out", default=str(WEIGHTS_DIR / SHIPPED_TRACKASTRA["fluo-nuclei"]))
    parser.add_argument("--no-eval", action="store_true", help="skip the eval-frame comparison with laptrack")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data, work, out = Path(args.data), Path(args.work), Path(args.out)

    sequence = tganaug.read_ctc(data / DATASET, "01", frames="train", read_images=False)
    frames = f"t{int(sequence.frames[0]):03d}-t{int(sequence.frames[-1]):03d}"
    model_config, train_config = TrackastraModelConfig(), TrackastraTrainConfig(epochs=args.epochs, seed=args.seed)
    settings = {"model": model_config.to_dict(), "train": train_config.to_dict(), "dataset": DATASET, "frames": frames}

    state_path = work / "state.pt"
    state = None
    if state_path.is_file():
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
        if saved.get("settings_json") != json.dumps(settings, sort_keys=True):
            raise SystemExit(f"{state_path} was written with other settings; remove it or pass another --work")
        state = saved
        print(f"resuming from epoch {state['epoch']} ({state_path})", flush=True)

    def checkpoint(current: dict) -> None:
        buffer = io.BytesIO()
        torch.save({**current, "settings_json": json.dumps(settings, sort_keys=True)}, buffer)
        atomic_write_bytes(state_path, buffer.getvalue())

    started = time.perf_counter()

    def progress(epoch: int, loss: float) -> None:
        print(f"epoch {epoch}/{args.epochs}  loss {loss:.4f}  {time.perf_counter() - started:.0f} s", flush=True)

    print(f"training on {DATASET} 01 {frames} GT masks ({sequence.labels.shape}), {machine()}", flush=True)
    transformer, record = train_trackastra([(sequence.labels, sequence.lineage)], model_config, train_config,
                                           progress=progress, state=state, checkpoint=checkpoint,
                                           checkpoint_every=args.checkpoint_every)
    wall = time.perf_counter() - started
    meta = {
        "name": "fluo-nuclei", "data": [DATASET], "citation": DATASET_CITATIONS[DATASET], "sequence": "01",
        "split": "train", "frames": frames, "input": "masks (binary foreground as the image)",
        "train": train_config.to_dict(), "losses": [round(x, 5) for x in record["losses"]],
        "windows": record["windows"], "parameters": record["parameters"],
        "cpu_seconds_this_run": record["cpu_seconds"], "wall_seconds_this_run": round(wall, 1),
        "resumed_from_epoch": int(state["epoch"]) if state else 0,
        "machine": machine() + " (2 cores shared with other jobs)", "command": command_line(),
        "trackastra": _version("trackastra"),
    }
    save_trackastra(out, model_config, transformer, meta)
    meta["file_bytes"] = out.stat().st_size
    if not args.no_eval:
        meta["eval_gt_masks"] = evaluate(data, out)
    card = json.loads(out.with_suffix(".json").read_text())
    card["meta"] = meta
    atomic_write_json(out.with_suffix(".json"), card)
    print(f"wrote {out} ({meta['file_bytes']} bytes) and {out.with_suffix('.json')}", flush=True)


def _version(package: str) -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version(package)


if __name__ == "__main__":
    main()
