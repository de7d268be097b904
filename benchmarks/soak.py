"""Soak test: many synthetic frames through a DataLoader with workers; RSS must not keep growing.

Streams ``--frames-total`` frames of :class:`tganaug.SyntheticVideoStream` through a
``DataLoader`` with ``--workers`` worker processes, samples the resident memory (RSS) of the main
process plus its workers every ``--sample-every`` batches, and reports the growth between the
first and the last quarter of the run against ``--bound-mib``. Prints measured numbers only and
exits 1 if the bound is exceeded.

    python benchmarks/soak.py [--frames-total 10000] [--workers 2] [--size 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from tganaug.data import SyntheticVideoStream, collate_videos
from tganaug.utils.fsutil import atomic_write_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, positive_int  # benchmarks/_common.py


def rss_bytes(pid: int) -> int:
    """Resident set size of one process from /proc (Linux)."""
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """RSS of a process and its direct children (the DataLoader workers)."""
    total = rss_bytes(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            try:
                total += rss_bytes(int(child))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames-total", type=positive_int, default=10_000)
    parser.add_argument("--frames", type=int, default=16, help="frames per video")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--simulator", default="division")
    parser.add_argument("--generator", default="procedural")
    parser.add_argument("--sample-every", type=int, default=10, help="batches between RSS samples")
    # Worker RSS moves up and down by tens of MiB as the allocator reuses freed arenas (seen in a
    # 21,000-frame diagnostic run: one worker 294 -> 404 -> 318 MiB), so the bound is ~10 % of the total.
    parser.add_argument("--bound-mib", type=float, default=100.0, help="allowed RSS growth, first to last quarter")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "soak.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    stream = SyntheticVideoStream(simulator=args.simulator, generator=args.generator, frames=args.frames,
                                  size=(args.size, args.size), seed=0)
    loader = DataLoader(stream, batch_size=args.batch, num_workers=args.workers, collate_fn=collate_videos,
                        persistent_workers=args.workers > 0)
    batches = -(-args.frames_total // (args.frames * args.batch))
    samples: list[tuple[int, float, int]] = []
    start = time.perf_counter()
    frames_seen = 0
    for index, batch in enumerate(tqdm(loader, total=batches, desc="soak", unit="batch")):
        frames_seen += int(batch["image"].shape[0] * batch["image"].shape[1])
        if index % args.sample_every == 0:
            samples.append((frames_seen, time.perf_counter() - start, tree_rss(os.getpid())))
        if index + 1 >= batches:
            break
    seconds = time.perf_counter() - start
    rss = np.array([s[2] for s in samples], dtype=float) / 2**20
    warm = samples[len(samples) // 10:]  # skip warm-up: workers import and fill caches first
    warm_rss = rss[len(samples) // 10:]
    quarter = max(1, len(warm_rss) // 4)
    growth = warm_rss[-quarter:].mean() - warm_rss[:quarter].mean()
    slope = np.polyfit([s[0] for s in warm], warm_rss, 1)[0] * 1000 if len(warm) > 1 else 0.0
    lines = [
        "# Soak: SyntheticVideoStream through a DataLoader",
        "",
        f"Machine: {machine()}. `{command_line()}`.",
        f"{frames_seen} frames ({args.simulator} + {args.generator}, {args.frames}-frame videos of {args.size}², batch {args.batch}, "
        f"{args.workers} workers) in {seconds:.0f} s = {frames_seen / seconds:.0f} frames/s.",
        "",
        f"RSS of main process + workers, sampled {len(samples)} times: first {rss[0]:.0f} MiB, min {rss.min():.0f}, "
        f"max {rss.max():.0f}, last {rss[-1]:.0f} MiB.",
        f"Growth after warm-up (first 10 % of samples), mean of last quarter minus first quarter: {growth:+.1f} MiB "
        f"(bound {args.bound_mib:.0f} MiB); "
        f"fitted slope {slope:+.2f} MiB per 1,000 frames.",
        f"Result: {'PASS' if growth <= args.bound_mib else 'FAIL'}",
    ]
    report = "\n".join(lines)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(args.out), (report + "\n").encode())
    return 0 if growth <= args.bound_mib else 1


if __name__ == "__main__":
    raise SystemExit(main())
