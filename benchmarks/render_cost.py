"""What a lighter tGAN would buy in rendering time (goal: a synthetic loader within 3x of the real one).

Times the shipped ``fluo-nuclei`` model and width-scaled variants of the same architecture, frame by
frame through ``TGAN.iter_frames`` (the path ``SyntheticVideoDataset`` uses), on the same masks in
the same process. The variants are **untrained** (random weights, seed 0): their time per frame is
what a trained model of that size would cost, their images mean nothing. Best of ``--repeats``.

    python benchmarks/render_cost.py [--size 256] [--frames 16] [--threads 2] [--trained NAME_OR_PATH ...]

``--trained`` adds rows for trained models (a shipped name or a run folder), timed the same way;
``--report NAME`` writes ``benchmarks/results/NAME.md`` instead of ``render_cost.md``.

Prints ms/frame and the speed-up over the shipped model, and writes
``benchmarks/results/render_cost.md`` with the machine it ran on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import tganaug
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.models.tgan import TGAN, resolve_model
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import atomic_write_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine  # benchmarks/_common.py

RESULTS = Path(__file__).resolve().parent / "results"
#: (low-res encoder/decoder widths, SR widths, SR up-sampling) of the variants, beside the shipped (16, 32, 64, 128), (16, 32, 64), bilinear
VARIANTS = [((8, 16, 32, 64), (16, 32, 64), "bilinear"), ((16, 32, 64, 128), (8, 16, 32), "bilinear"),
            ((8, 16, 32, 64), (8, 16, 32), "bilinear"), ((8, 16, 32, 64), (8, 16, 32), "pixel_shuffle"),
            ((16, 32, 64, 128), (16, 32, 64), "pixel_shuffle")]


def parse_variant(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """``"8,16,32,64/8,16,32/pixel_shuffle"`` -> ((8, 16, 32, 64), (8, 16, 32), "pixel_shuffle")."""
    try:
        lowres, sr, upsampling = text.split("/")
        return tuple(int(c) for c in lowres.split(",")), tuple(int(c) for c in sr.split(",")), upsampling
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r} is not LOWRES/SR/UPSAMPLING, e.g. 4,8,16,32/4,8,16/pixel_shuffle") from None


def ms_per_frame(model: TGAN, labels, repeats: int) -> float:
    """Best-of-``repeats`` milliseconds per rendered frame of ``labels (T, H, W)`` (after a 2-frame warm-up)."""
    list(model.iter_frames(labels[:2], seed=0))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _frame in model.iter_frames(labels, seed=0):
            pass
        times.append((time.perf_counter() - started) / len(labels) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trained", action="append", default=[], metavar="NAME_OR_PATH", help="also time this trained model")
    parser.add_argument("--report", default="render_cost", help="writes benchmarks/results/REPORT.md")
    parser.add_argument("--variant", action="append", default=[], metavar="LOWRES/SR/UPSAMPLING", type=parse_variant,
                        help="time this untrained variant instead of the built-in list, e.g. 4,8,16,32/4,8,16/pixel_shuffle")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    labels = tganaug.get_simulator("division").simulate(args.frames, args.size, args.size, seed=0).labels
    shipped = TGAN.from_pretrained(resolve_model("fluo-nuclei"))
    base = ms_per_frame(shipped, labels, args.repeats)
    rows = [{"model": "shipped fluo-nuclei", "lowres_channels": str(shipped.config.g_channels),
             "sr_channels": str(shipped.config.sr_channels), "sr_upsampling": shipped.config.sr_upsampling, "ms_per_frame": base, "speedup": 1.0}]
    for name in args.trained:
        trained = TGAN.from_pretrained(resolve_model(name))
        ms = ms_per_frame(trained, labels, args.repeats)
        rows.append({"model": f"trained {name}", "lowres_channels": str(trained.config.g_channels),
                     "sr_channels": str(trained.sr.channels if trained.sr is not None else "none"),
                     "sr_upsampling": trained.sr.decoder.upsampling if trained.sr is not None else "none", "ms_per_frame": ms, "speedup": base / ms})
    for lowres_channels, sr_channels, sr_upsampling in args.variant or VARIANTS:
        config = shipped.config.replace(g_channels=lowres_channels, sr_channels=sr_channels, sr_upsampling=sr_upsampling)
        torch.manual_seed(0)
        variant = TGAN(LowResGenerator.from_config(config), config, SRGenerator.from_config(config))
        ms = ms_per_frame(variant, labels, args.repeats)
        rows.append({"model": "untrained variant", "lowres_channels": str(lowres_channels), "sr_channels": str(sr_channels),
                     "sr_upsampling": sr_upsampling, "ms_per_frame": ms, "speedup": base / ms})
    table = format_table(rows, ["model", "lowres_channels", "sr_channels", "sr_upsampling", "ms_per_frame", "speedup"], digits=2)
    report = "\n".join([
        "# Render cost of lighter tGAN variants",
        "",
        (f"Machine: {machine()}. `{command_line()}`: {args.frames} `division` frames at {args.size}², `TGAN.iter_frames` (low-res + SR), "
         f"best of {args.repeats}. Untrained variants have random weights: timing only."),
        "",
        table,
        "",
    ])
    print(report)
    atomic_write_bytes(RESULTS / f"{args.report}.md", report.encode())


if __name__ == "__main__":
    main()
