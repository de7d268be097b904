"""bfloat16 vs float32 inference of the shipped tGAN models, on real eval data (opt-in speed-up).

For each dataset, on its **eval** frames: the shipped model for the modality renders the eval GT
masks (reference background from the *train* frames, as in ``benchmarks/fidelity.py``; seed 0)
once in float32 (the default) and once in bfloat16 (``precision="bfloat16"``). Reported:

* max and mean ``|bf16 - fp32|`` over all pixels (also the max in the first and the last frame and
  the share of pixels differing by more than 0.1: each frame feeds the next, so differences can
  grow along the video), and SSIM / PSNR of the bf16 video against the fp32 video
  (:func:`tganaug.fidelity.ssim_psnr`, data range 1);
* SSIM / PSNR of each video against the real eval frames, mapped to [0, 1] by the 1st / 99.8th
  percentiles of the *train* frames (exactly as ``benchmarks/fidelity.py``);
* milliseconds per frame: the full eval video, and a 256² crop of the same masks (the size of the
  throughput goal), best of ``--repeats`` interleaved runs.

    python benchmarks/precision_check.py [--datasets Fluo-N2DH-SIM+,PhC-T98G-Usiigaci] [--threads 2]

Writes ``benchmarks/results/precision_check.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tganaug_plugins.generators.tgan import TGANGenerator

import tganaug
from tganaug.fidelity import ssim_psnr
from tganaug.models.tgan import background_from_video
from tganaug.utils.fsutil import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from _common import command_line, machine  # benchmarks/_common.py
from fidelity import DATASETS as MODELS  # dataset -> shipped model, as in the fidelity benchmark
from fidelity import PERCENTILES, intensity_space, to_space

RESULTS = REPO / "benchmarks" / "results"
PRECISIONS = ("float32", "bfloat16")


def timed(generator: TGANGenerator, labels: np.ndarray, background: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    video = generator.generate(labels, background=background, seed=seed)
    return video, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--datasets", default="Fluo-N2DH-SIM+,PhC-T98G-Usiigaci")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--crop", type=int, default=256, help="square crop of the masks for the ms/frame timing")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing runs per precision (best is kept)")
    parser.add_argument("--out", type=Path, default=RESULTS / "precision_check.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    header = f"machine: {machine()}"
    print(header)
    rows = []
    for name in [d for d in args.datasets.split(",") if d]:
        path = args.data / name
        train = tganaug.read_ctc(path, frames="train")
        evaluation = tganaug.read_ctc(path, frames="eval")
        space = intensity_space(train.images)
        real = to_space(evaluation.images, space)
        background = background_from_video(train.images, train.labels)
        generators = {p: TGANGenerator(model=MODELS[name], precision=p) for p in PRECISIONS}
        videos, full_ms = {}, {}
        for p, generator in generators.items():
            timed(generator, evaluation.labels[:2], background, args.seed)  # warm-up (oneDNN kernels for this size)
            videos[p], seconds = timed(generator, evaluation.labels, background, args.seed)
            full_ms[p] = 1e3 * seconds / len(evaluation.labels)
            again, _ = timed(generator, evaluation.labels, background, args.seed)
            assert again.tobytes() == videos[p].tobytes(), f"{name} {p}: same seed gave different bytes"
            assert videos[p].dtype == np.float32 and np.isfinite(videos[p]).all()
        c = min(args.crop, *evaluation.labels.shape[1:])
        crop_labels, crop_bg = evaluation.labels[:, :c, :c], background[:c, :c]
        crop_s = {p: [] for p in PRECISIONS}
        for p in PRECISIONS:
            timed(generators[p], crop_labels[:2], crop_bg, args.seed)
        for _ in range(args.repeats):
            for p in PRECISIONS:
                crop_s[p].append(timed(generators[p], crop_labels, crop_bg, args.seed)[1])
        crop_ms = {p: 1e3 * min(s) / len(crop_labels) for p, s in crop_s.items()}
        fp32, bf16 = videos["float32"], videos["bfloat16"]
        diff = np.abs(bf16.astype(np.float64) - fp32)
        ssim_bf_fp, psnr_bf_fp = ssim_psnr(fp32, bf16)
        real_scores = {p: ssim_psnr(real, videos[p]) for p in PRECISIONS}
        row = {
            "dataset": name, "model": MODELS[name], "frames": len(evaluation.labels),
            "size": "x".join(map(str, evaluation.labels.shape[1:])), "crop": c,
            "max_abs": float(diff.max()), "mean_abs": float(diff.mean()),
            "max_abs_first": float(diff[0].max()), "max_abs_last": float(diff[-1].max()), "over_01": float((diff > 0.1).mean()),
            "ssim_bf_fp": ssim_bf_fp, "psnr_bf_fp": psnr_bf_fp,
            **{f"ssim_real_{p}": real_scores[p][0] for p in PRECISIONS},
            **{f"psnr_real_{p}": real_scores[p][1] for p in PRECISIONS},
            **{f"full_ms_{p}": full_ms[p] for p in PRECISIONS},
            **{f"crop_ms_{p}": crop_ms[p] for p in PRECISIONS},
        }
        rows.append(row)
        print(f"{name} ({row['model']}, {row['frames']} eval frames {row['size']}): |bf16-fp32| max {row['max_abs']:.4f} "
              f"(frame 0: {row['max_abs_first']:.4f}, last: {row['max_abs_last']:.4f}; > 0.1 at {100 * row['over_01']:.3f} % "
              f"of pixels) mean {row['mean_abs']:.5f}; bf16 vs fp32 SSIM {ssim_bf_fp:.4f} PSNR {psnr_bf_fp:.2f} dB; vs real: "
              f"fp32 SSIM {real_scores['float32'][0]:.4f} PSNR {real_scores['float32'][1]:.2f}, "
              f"bf16 SSIM {real_scores['bfloat16'][0]:.4f} PSNR {real_scores['bfloat16'][1]:.2f}; "
              f"ms/frame {c}²: fp32 {crop_ms['float32']:.1f} bf16 {crop_ms['bfloat16']:.1f} "
              f"(x{crop_ms['float32'] / crop_ms['bfloat16']:.2f}); full size: fp32 {full_ms['float32']:.1f} "
              f"bf16 {full_ms['bfloat16']:.1f}", flush=True)

    lines = [
        "# bfloat16 vs float32 tGAN inference (shipped models, eval GT masks)",
        "",
        f"`{command_line()}`; {header};",
        f"torch threads {args.threads}. Each shipped model renders the eval GT masks of its dataset (reference background",
        f"from the train frames, seed {args.seed}) in float32 and in bfloat16 (`precision=\"bfloat16\"`); real eval frames mapped to",
        f"[0, 1] by the train frames' {PERCENTILES[0]} / {PERCENTILES[1]} percentiles, as in `benchmarks/fidelity.py`.",
        "Both precisions gave the same bytes when run twice with the same seed.",
        "",
        "## Difference bfloat16 - float32 (same masks, background, seed)",
        "",
        "| dataset | model | frames | size | max abs diff | mean abs diff | max abs diff frame 0 | max abs diff last frame "
        "| pixels with diff > 0.1 | SSIM bf16 vs fp32 | PSNR bf16 vs fp32 (dB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r['dataset']} | {r['model']} | {r['frames']} | {r['size']} | {r['max_abs']:.4f} | {r['mean_abs']:.5f} | "
              f"{r['max_abs_first']:.4f} | {r['max_abs_last']:.4f} | {100 * r['over_01']:.3f} % | "
              f"{r['ssim_bf_fp']:.4f} | {r['psnr_bf_fp']:.2f} |" for r in rows]
    lines += ["", "## Against the real eval frames", "",
              "| dataset | SSIM fp32 | SSIM bf16 | Δ SSIM | PSNR fp32 (dB) | PSNR bf16 (dB) | Δ PSNR (dB) |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['dataset']} | {r['ssim_real_float32']:.4f} | {r['ssim_real_bfloat16']:.4f} | "
              f"{r['ssim_real_bfloat16'] - r['ssim_real_float32']:+.4f} | {r['psnr_real_float32']:.2f} | "
              f"{r['psnr_real_bfloat16']:.2f} | {r['psnr_real_bfloat16'] - r['psnr_real_float32']:+.2f} |" for r in rows]
    lines += ["", f"## Milliseconds per frame (torch threads {args.threads}, best of {args.repeats} interleaved runs for the crop)", "",
              "| dataset | crop | fp32 ms/frame | bf16 ms/frame | speed-up | full size | fp32 ms/frame | bf16 ms/frame |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['dataset']} | {r['crop']}² | {r['crop_ms_float32']:.1f} | {r['crop_ms_bfloat16']:.1f} | "
              f"{r['crop_ms_float32'] / r['crop_ms_bfloat16']:.2f}x | {r['size']} | {r['full_ms_float32']:.1f} | "
              f"{r['full_ms_bfloat16']:.1f} |" for r in rows]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
