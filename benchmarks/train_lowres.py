"""Short CPU training benchmark of the tGAN low-res stage on the SIM+ *train* frames (t000-t044).

Usage::

    python benchmarks/train_lowres.py [--steps 200] [--config default] [--out /tmp/tgan-bench] [--threads 1] [--max-clip-len N]

Trains a fresh run (``--overwrite``), prints the measured seconds per step (data loading excluded)
and where the montage (masks | real | generated) and log are; the montage lets you check that the
generated nuclei follow the masks. The OneCycle schedule spans ``--steps``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from tganaug.models.config import get_config
from tganaug.training.trainer import LowResTrainer

DATA = "/work/shared/data/Fluo-N2DH-SIM+"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--config", default="default")
    parser.add_argument("--out", default="/tmp/tgan-bench-lowres")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-clip-len", type=int, default=None, help="cap the curriculum (default: the config's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    every = max(args.steps // 4, 1)
    config = get_config(args.config)
    if args.max_clip_len:
        config = config.replace(max_clip_len=args.max_clip_len)
    config = config.replace(
        total_steps=args.steps, curriculum_steps=max(args.steps // 2, 1), sample_every=every, checkpoint_every=every, log_every=max(args.steps // 50, 1)
    )
    start = time.perf_counter()
    trainer = LowResTrainer(config, args.out, data=[DATA], frames="train", seed=args.seed, overwrite=True, progress=False)
    loaded = time.perf_counter()
    logs = trainer.train()
    done = time.perf_counter()
    rows = list(csv.DictReader((Path(args.out) / "log.csv").open()))
    first = [float(r["l1"]) for r in rows[:3]]
    last = [float(r["l1"]) for r in rows[-3:]]
    n_g = sum(p.numel() for p in trainer.generator.parameters())
    print(f"config {config.name}: G {n_g / 1e6:.2f} M params, crop {config.crop_size}, batch {config.batch_size}, clip 1->{config.max_clip_len}")
    print(f"data load {loaded - start:.1f} s; {args.steps} steps in {done - loaded:.1f} s = {(done - loaded) / args.steps:.2f} s/step ({args.threads} thread(s))")
    print(f"L1 to real: first logged {sum(first) / len(first):.3f} -> last logged {sum(last) / len(last):.3f}; final {logs}")
    print(f"montages: {sorted(str(p) for p in (Path(args.out) / 'samples').iterdir())}")


if __name__ == "__main__":
    main()
