"""How close do simulators fitted with ``from_ctc`` come to the real data they were fitted on?

For each shared dataset: fit the simulator on the *train* frames, simulate videos of the source
field size and train length (several seeds), and compare area, shape, speed, density and
division statistics with the train frames and the eval frames. Then the default ``colony`` simulator's
coverage of the field (not fitted: how dense its videos get). Prints a table per dataset and writes
``benchmarks/results/simulator_fit.md``.

    python benchmarks/simulator_fit.py [--data ../shared/data] [--seeds 12] [--colony-seeds 6]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import tganaug
from tganaug.simulation.fit import video_statistics
from tganaug.utils.fsutil import atomic_write_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, positive_int  # benchmarks/_common.py

# dataset -> (simulator, train split used for fitting). GOWT1 (a cross-dataset test; its
# sequence 02 is evaluation-only) has shrunken-marker masks, so it is not used for fitting.
DATASETS = {
    "Fluo-N2DH-SIM+": "division",
    "PhC-Ecoli-vanVliet": "division",
    "PhC-T98G-Usiigaci": "random-walk",
}
#: (frames, height, width) of the default colony videos whose coverage the report gives
COLONY_SIZES = ((40, 128, 128), (20, 128, 128), (20, 256, 256))
STATS = ("cells_per_10k_px", "coverage", "area_mean", "area_sd", "aspect_mean", "speed_mean", "persistence", "division_rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--seeds", type=positive_int, default=12)
    parser.add_argument("--colony-seeds", type=positive_int, default=6)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "simulator_fit.md"))
    args = parser.parse_args()
    data = Path(args.data)
    lines = [
        "# Simulator fit to real data (`from_ctc` on train frames)",
        "",
        f"Machine: {machine()}. `{command_line()}`: {args.seeds} seeds per dataset.",
        "Data: shared CTC datasets (see each dataset README for source and citation). Simulated videos have the",
        "source field size and the train split's length. Values are means over frames (sd over seeds).",
        "",
    ]
    for name, simulator_name in DATASETS.items():
        path = data / name
        train = tganaug.read_ctc(path, frames="train", read_images=False)
        evaluation = tganaug.read_ctc(path, frames="eval", read_images=False)
        train_stats = video_statistics(train.labels, train.lineage)
        eval_stats = video_statistics(evaluation.labels, evaluation.lineage)
        factory = tganaug.default_registry().info("simulator", simulator_name).factory
        simulator = factory.from_ctc(path, frames="train")
        frames, height, width = train.labels.shape
        simulated = []
        started = time.perf_counter()
        for seed in tqdm(range(args.seeds), desc=f"{name} ({simulator_name})"):
            video = simulator.simulate(frames=frames, height=height, width=width, seed=seed)
            video.validate()
            simulated.append(video_statistics(video.labels, video.lineage))
        seconds = (time.perf_counter() - started) / args.seeds
        lines += [
            f"## {name}: `{simulator_name}` fitted on train frames {train.frames[0]}-{train.frames[-1]}",
            "",
            f"Simulation time: {seconds:.2f} s per {frames}-frame {height}x{width} video.",
            "",
            "| statistic | real train | real eval | simulated (mean ± sd) | simulated / train |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key in STATS:
            values = np.array([s[key] for s in simulated])
            ratio = values.mean() / train_stats[key] if train_stats[key] else float("nan")
            lines.append(
                f"| {key} | {train_stats[key]:.4g} | {eval_stats[key]:.4g} | {values.mean():.4g} ± {values.std():.2g} | {ratio:.2f} |"
            )
        lines.append("")
    lines += colony_coverage(args.colony_seeds)
    report = "\n".join(lines)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(args.out), report.encode())
    print(f"wrote {args.out}")


def colony_coverage(seeds: int) -> list[str]:
    """Report lines: the default ``colony`` simulator's fraction of the field covered by cells at the frame where its
    config aims for ``target_coverage`` and at the last frame, over ``seeds`` seeds per video size."""
    config = tganaug.get_simulator("colony").config
    lines = ["## Default `colony` simulator: coverage of the field", "",
             f"Default config (`target_coverage` {config.target_coverage}, `fill_fraction` {config.fill_fraction}), "
             f"seeds 0-{seeds - 1}; fraction of pixels inside a cell, mean (lowest) over seeds.", "",
             "| frames | height x width | coverage at the fill frame | coverage at the last frame |", "| --- | --- | --- | --- |"]
    for frames, height, width in COLONY_SIZES:
        fill_frame = min(frames - 1, round(config.fill_fraction * (frames - 1)))
        at_fill, at_last = [], []
        for seed in tqdm(range(seeds), desc=f"colony {frames}x{height}x{width}"):
            simulator = tganaug.get_simulator("colony")
            video = simulator.simulate(frames=frames, height=height, width=width, seed=seed)
            video.validate()
            coverage = (video.labels > 0).mean(axis=(1, 2))
            at_fill.append(coverage[fill_frame])
            at_last.append(coverage[-1])
        lines.append(f"| {frames} | {height}x{width} | {np.mean(at_fill):.2f} ({min(at_fill):.2f}) | "
                     f"{np.mean(at_last):.2f} ({min(at_last):.2f}) |")
    return lines + [""]


if __name__ == "__main__":
    main()
