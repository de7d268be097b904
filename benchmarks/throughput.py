"""Throughput of the training-loop datasets, printed with the machine it ran on.

Measures, in one process and one run:
  1. frames/s of ``SyntheticVideoDataset`` through a ``DataLoader`` (0 and 2 workers, 128² and 256²)
     next to ``CTCVideoDataset`` loading the same number of real frames from TIFF (``preload=False``),
     for a first pass (worker start-up included) and a second pass with the same workers, each the
     median of ``--repeats`` interleaved runs, plus where the synthetic time goes (simulation vs
     rendering vs the rest, main process);
  2. the generator's forward FLOP rate as a fraction of the matmul FLOP rate measured here
     (torch generators only: FLOPs counted with ``torch.utils.flop_counter.FlopCounterMode``);
  3. peak memory of writing one long vs one short video to disk (separate processes, streaming the
     rendered frames through ``tganaug.data.cache.write_video``).

    python benchmarks/throughput.py                      # procedural generator
    python benchmarks/throughput.py --generator tgan     # once the tgan plugin exists
    python benchmarks/throughput.py --generator tgan --render-batch 4 --batch-size 4   # videos rendered 4 at a time
    python benchmarks/throughput.py --appearance random                 # every video in a seeded random look
    python benchmarks/throughput.py --reference ../shared/data/Fluo-N2DH-SIM+/01/t000.tif   # in a reference frame's look

``--appearance`` / ``--reference`` are ``SyntheticVideoDataset(appearance=..., reference=...)``
(:mod:`tganaug.appearance`); the generator's FLOP rate and the memory runs use the bare generator
(``--loaders-only`` measures the loaders alone: no per-frame breakdown, FLOP rate or memory runs).

``--batch-size`` is the ``DataLoader`` batch size of both loaders (videos per batch); ``--render-batch``
is ``SyntheticVideoDataset(render_batch=...)`` (fixed blocks of videos rendered together; with the same
batch size each worker renders one block per batch).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

import tganaug
from tganaug.appearance import load_reference
from tganaug.data import CTCVideoDataset, SyntheticVideoDataset, collate_videos
from tganaug.data.synthetic import renders_in_batches

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, command_line, machine  # benchmarks/_common.py

DEFAULT_REAL = REPO.parent / "shared" / "data" / "Fluo-N2DH-SIM+"


def loader_rates(dataset: Any, workers: int, batch_size: int = 1) -> tuple[float, float]:
    """(cold, warm) frames/s of iterating ``dataset`` in batches of ``batch_size`` videos, twice through one ``DataLoader``.

    Cold: the first pass, worker start-up and first-call warm-up included. Warm: the second pass,
    with the same workers (``persistent_workers``, as a training loop keeps them from its second
    epoch on); with 0 workers simply the second pass.
    """
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_videos, persistent_workers=workers > 0)
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        frames = sum(int(batch["image"].shape[0] * batch["image"].shape[1]) for batch in loader)
        rates.append(frames / (time.perf_counter() - start))
    return rates[0], rates[1]


def breakdown(dataset: SyntheticVideoDataset, videos: int) -> dict[str, float]:
    """Milliseconds per frame spent simulating, rendering, and in the rest of ``__getitem__`` (blocks of ``render_batch``
    videos rendered together, as the dataset does; ``videos`` is rounded up to whole blocks)."""
    factory = dataset.factory
    size = factory.render_batch
    sim_t = gen_t = total_t = 0.0
    blocks = -(-videos // size)
    for block in range(blocks):
        indices = range(block * size, (block + 1) * size)
        seeds = [tganaug.data.seeding.video_seeds(factory.seed, index) for index in indices]
        t0 = time.perf_counter()
        labels = [factory.simulator.simulate(factory.frames, factory.height, factory.width, seed=s.simulator).labels for s in seeds]
        t1 = time.perf_counter()
        if renders_in_batches(factory.generator, size):
            factory.generator.generate_batch(labels, [None] * size, [s.generator for s in seeds])
        else:
            for video, s in zip(labels, seeds):
                factory.generator.generate(video, seed=s.generator)
        t2 = time.perf_counter()
        for index in indices:
            dataset[index]
        t3 = time.perf_counter()
        sim_t, gen_t, total_t = sim_t + t1 - t0, gen_t + t2 - t1, total_t + t3 - t2
    n = blocks * size * factory.frames
    return {"simulate": 1e3 * sim_t / n, "render": 1e3 * gen_t / n, "other": 1e3 * max(total_t - sim_t - gen_t, 0.0) / n}


def matmul_flops(n: int = 1024, seconds: float = 1.0) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        reps += 1
    return 2.0 * n**3 * reps / (time.perf_counter() - start)


def generator_flops(generator: Any, videos: list[np.ndarray]) -> tuple[float, float]:
    """(FLOPs counted by torch in rendering ``videos`` (one ``generate`` call for one video, one ``generate_batch``
    call for several), seconds of the call)."""
    from torch.utils.flop_counter import FlopCounterMode

    def render() -> None:
        if len(videos) == 1:
            generator.generate(videos[0], seed=0)
        else:
            generator.generate_batch(videos, [None] * len(videos), list(range(len(videos))))

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        render()
    start = time.perf_counter()
    with torch.no_grad():
        render()
    return float(counter.get_total_flops()), time.perf_counter() - start


def memory_run(args: argparse.Namespace) -> None:
    """Child process: the main job's path for one video (streamed simulation -> generator -> TIFFs); print peak memory as JSON."""
    from tganaug.generation import GenerationConfig, prepare_output, render_video

    torch.set_num_threads(1)
    config = GenerationConfig(generator=args.generator, generator_config=json.loads(args.generator_config),
                              simulator=args.memory_simulator, frames=args.memory_run,
                              height=args.memory_size, width=args.memory_size)
    generator = tganaug.get_generator(config.generator, **config.generator_config)
    simulator = tganaug.get_simulator(config.simulator)
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        prepare_output(tmp, config)
        render_video(config, 0, tmp, generator, simulator, progress=False)
    _, traced_peak = tracemalloc.get_traced_memory()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    labels_bytes = args.memory_run * args.memory_size**2 * 2  # what a whole uint16 label video would take
    print(json.dumps({"frames": args.memory_run, "rss_peak": rss_peak, "traced_peak": traced_peak, "labels_bytes": labels_bytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", default="procedural", help="generator plugin name (default: procedural)")
    parser.add_argument("--generator-config", default="{}", help="JSON keyword configuration of the generator")
    parser.add_argument("--simulator", default="division")
    parser.add_argument("--videos", type=int, default=4, help="videos per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every loader measurement (median reported)")
    parser.add_argument("--frames", type=int, default=16, help="frames per video")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch-size", type=int, default=1, help="DataLoader batch size of both loaders (videos)")
    parser.add_argument("--render-batch", type=int, default=1, help="SyntheticVideoDataset(render_batch=...): videos rendered together")
    parser.add_argument("--appearance", default=None, help="SyntheticVideoDataset(appearance=...): 'random' or a JSON file of ranges")
    parser.add_argument("--reference", type=Path, nargs="+", default=None, metavar="IMAGE",
                        help="SyntheticVideoDataset(reference=...): reference frame file(s) (TIFF, PNG)")
    parser.add_argument("--loaders-only", action="store_true", help="only the DataLoader rates: no breakdown, FLOP rate or memory runs")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="CTC folder for the real-data loader")
    parser.add_argument("--memory-frames", type=int, nargs=2, default=[1000, 10], metavar=("LONG", "SHORT"))
    parser.add_argument("--memory-size", type=int, default=128)
    parser.add_argument("--memory-simulator", default="random-walk", help="steady population over long videos")
    parser.add_argument("--memory-run", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for option in ("repeats", "batch_size", "render_batch"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1, got {getattr(args, option)}")
    if args.memory_run is not None:
        memory_run(args)
        return

    config = json.loads(args.generator_config)
    reference = load_reference(args.reference)
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"generator {args.generator!r} {config or ''}, simulator {args.simulator!r}, {args.videos} videos x {args.frames} frames, "
          f"DataLoader batches of {args.batch_size} video(s), render_batch {args.render_batch}")
    if args.appearance is not None or reference is not None:
        what = f"appearance {args.appearance!r}" if args.appearance is not None else f"reference {len(reference)} frame(s) {reference.shape[1:]}"
        print(f"synthetic videos re-rendered by tganaug.appearance: {what}")
    print()
    print(f"frames/s of one pass (cold: worker start-up included) and of a second pass with the same workers (warm); "
          f"median of {args.repeats} repeats, synthetic and real interleaved (this VM's speed varies by tens of % within minutes), "
          f"ratio = median real / median synthetic; videos/s = frames/s / {args.frames}")
    print(f"{'size':>6} {'workers':>7} {'synthetic cold':>15} {'real TIFF cold':>15} {'ratio':>6}"
          f" {'synthetic warm':>15} {'real TIFF warm':>15} {'ratio':>6}   range synthetic warm, real warm")
    for size in args.sizes:
        synthetic = SyntheticVideoDataset(
            args.simulator, args.generator, num_videos=args.videos, frames=args.frames, size=size, generator_config=config,
            render_batch=args.render_batch, appearance=args.appearance, reference=reference,
        )
        real = None
        if args.real.is_dir():
            real_all = CTCVideoDataset(args.real, split="train", clip_frames=args.frames, stride=1, size=size, preload=False)
            real = Subset(real_all, range(min(args.videos, len(real_all))))
        for workers in args.workers:
            syn, rea = [], []
            for _ in range(args.repeats):
                syn.append(loader_rates(synthetic, workers, args.batch_size))
                rea.append(loader_rates(real, workers, args.batch_size) if real is not None else (float("nan"), float("nan")))
            (syn_cold, syn_warm), (real_cold, real_warm) = np.median(syn, axis=0), np.median(rea, axis=0)
            spread = (f"{min(r[1] for r in syn):.1f}-{max(r[1] for r in syn):.1f}, "
                      f"{min(r[1] for r in rea):.1f}-{max(r[1] for r in rea):.1f}")
            print(f"{size:>5}² {workers:>7} {syn_cold:>15.1f} {real_cold:>15.1f} {real_cold / syn_cold:>6.2f}"
                  f" {syn_warm:>15.1f} {real_warm:>15.1f} {real_warm / syn_warm:>6.2f}   {spread}")
        if args.loaders_only:
            continue
        parts = breakdown(synthetic, min(args.videos, 2))
        print(f"       time per synthetic frame at {size}² (main process): "
              + ", ".join(f"{k} {v:.2f} ms" for k, v in parts.items()))
    print()
    if args.loaders_only:
        return

    generator = tganaug.get_generator(args.generator, **config)
    batched = renders_in_batches(generator, args.render_batch)
    simulator = tganaug.get_simulator(args.simulator)
    videos = [simulator.simulate(args.frames, args.sizes[-1], args.sizes[-1], seed=seed).labels for seed in range(args.render_batch if batched else 1)]
    flops, seconds = generator_flops(generator, videos)
    peak = matmul_flops()
    print(f"matmul FLOP rate (1024² float32, this process): {peak / 1e9:.1f} GFLOP/s")
    if flops > 0:
        rate = flops / seconds
        print(f"generator forward ({len(videos)} video(s) of {args.frames} frames at {args.sizes[-1]}², rendered together): "
              f"{flops / 1e9:.2f} GFLOP in {seconds:.2f} s = {rate / 1e9:.1f} GFLOP/s = {100 * rate / peak:.0f} % of matmul")
    else:
        print(f"generator forward: no torch FLOPs counted ({args.generator!r} is not a torch model; "
              f"{seconds * 1e3 / (args.frames * len(videos)):.2f} ms/frame at {args.sizes[-1]}²)")
    print()

    results = {}
    for n in args.memory_frames:
        command = [sys.executable, __file__, "--memory-run", str(n), "--memory-size", str(args.memory_size),
                   "--generator", args.generator, "--generator-config", args.generator_config,
                   "--memory-simulator", args.memory_simulator]
        start = time.perf_counter()
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        results[n] = json.loads(out.stdout.strip().splitlines()[-1]) | {"seconds": time.perf_counter() - start}
    long_n, short_n = args.memory_frames
    mib = 2**20
    for n in args.memory_frames:
        r = results[n]
        print(f"write one {n}-frame {args.memory_size}² video: peak RSS {r['rss_peak'] / mib:.0f} MiB, "
              f"peak traced (numpy/Python) {r['traced_peak'] / mib:.1f} MiB, label array {r['labels_bytes'] / mib:.1f} MiB, {r['seconds']:.1f} s")
    print(f"peak RSS ratio {long_n}/{short_n} frames: {results[long_n]['rss_peak'] / results[short_n]['rss_peak']:.2f}x; "
          f"traced ratio {results[long_n]['traced_peak'] / results[short_n]['traced_peak']:.1f}x")


if __name__ == "__main__":
    main()
