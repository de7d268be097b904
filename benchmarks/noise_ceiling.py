"""Noise ceiling of the fidelity benchmark: how high can SSIM / PSNR against a real frame go?

A real frame is ``clean + noise``. A generator that sees only the masks (and a background) cannot
know the noise realisation of the real frame it is compared with, so even a perfect generator has
SSIM < 1 and finite PSNR. For each shared dataset's **eval** frames, in the intensity space of
``benchmarks/fidelity.py`` ([0, 1] = 1st / 99.8th percentile of the *train* frames):

* the noise level, estimated twice (:func:`tganaug.fidelity.noise_sigma_laplacian`, Immerkaer's
  estimator, over-estimates on fine texture; :func:`tganaug.fidelity.noise_sigma_temporal`, from
  background pixels of consecutive frames, over-estimates under flicker or drift); the ceiling uses
  the *smaller* one, i.e. the more generous ceiling;
* :func:`tganaug.fidelity.noise_ceiling`: SSIM / PSNR of the real frames + that noise against the
  real frames (a generator outputting the exact clean image) and against another noisy copy (a
  generator that renders the clean image exactly and adds realistic noise of its own);
* :func:`tganaug.fidelity.reference_background_error`: how far the reference background that every
  method is given (estimated from the train frames) is from the eval frames away from the cells,
  including a brightness drift between train and eval frames, which no mask-conditioned generator can know;
* :func:`tganaug.fidelity.previous_frame_reference`: a real-vs-real reference, each eval frame's own
  predecessor (the last train frame for the first) as a guess of it, as imaged and moved into place by the
  flow of the real pair: a real image of the same cells one frame earlier. A generator knows the cells'
  outlines in the frame it renders from the masks, which the predecessor as imaged does not, but neither
  their texture nor the noise; the aligned predecessor has the motion undone by an oracle. A reference, not
  a bound;
* next to them, the measured rows of ``benchmarks/results/fidelity.csv`` (read, not recomputed) and the
  SSIM / PSNR goals (SIM+ 0.90 / 28, phase contrast 0.85 / 24).

    python benchmarks/noise_ceiling.py [--data ../shared/data] [--seed 0] [--report NAME]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

import tganaug
from tganaug import fidelity
from tganaug.models.tgan import background_from_video
from tganaug.tracking.metrics import format_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, write_report  # benchmarks/_common.py
from fidelity import DATASETS, RESULTS, intensity_space, to_space  # benchmarks/fidelity.py

GOALS = {"Fluo-N2DH-SIM+": (0.90, 28.0), "PhC-T98G-Usiigaci": (0.85, 24.0), "PhC-Ecoli-vanVliet": (0.85, 24.0)}
COLUMNS = ("dataset", "sigma_laplacian", "sigma_temporal", "sigma", "SSIM_clean", "PSNR_clean", "SSIM_noisy", "PSNR_noisy",
           "ref_PSNR_background", "ref_PSNR_far", "ref_offset_far", "ref_PSNR_far_no_offset", "SSIM_previous", "PSNR_previous",
           "SSIM_previous_aligned", "PSNR_previous_aligned")
MARGIN = 15  # px from any cell: "far" background for the reference-background check


def measured_rows(path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """``{dataset: {method: (SSIM, PSNR)}}`` from a fidelity report CSV (empty if it is missing)."""
    if not path.is_file():
        return {}
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["dataset"], {})[row["method"]] = (float(row["SSIM"]), float(row["PSNR"]))
    return rows


def real_data_references(real: np.ndarray, labels: np.ndarray, before: np.ndarray, seed: int = 0) -> dict[str, float]:
    """What a real video scores against itself, no model: ``real`` ``(T, H, W)`` float in [0, 1], ``labels`` ``(T, H, W)``
    its cells (for the temporal noise estimate), ``before`` ``(H, W)`` the real frame just before ``real[0]``. The noise
    level both ways and the smaller one (``sigma_laplacian``, ``sigma_temporal``, ``sigma``), the noise ceiling at
    ``sigma`` (:func:`tganaug.fidelity.noise_ceiling`) and the real previous frame, as imaged and aligned
    (:func:`tganaug.fidelity.previous_frame_reference`)."""
    sigma_laplacian = fidelity.noise_sigma_laplacian(real)
    sigma_temporal = fidelity.noise_sigma_temporal(real, labels)
    sigma = min(sigma_laplacian, sigma_temporal)
    return {"sigma_laplacian": sigma_laplacian, "sigma_temporal": sigma_temporal, "sigma": sigma,
            **fidelity.noise_ceiling(real, sigma, seed=seed), **fidelity.previous_frame_reference(real, before)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fidelity-csv", default=str(RESULTS / "fidelity.csv"))
    parser.add_argument("--report", default="noise_ceiling",
                        help="report name, as fidelity.py's: writes benchmarks/results/REPORT.md and .csv (an absolute path: there), replacing them")
    args = parser.parse_args()
    measured = measured_rows(Path(args.fidelity_csv))
    rows = []
    for name in [d for d in args.datasets.split(",") if d]:
        path = Path(args.data) / name
        train = tganaug.read_ctc(path, frames="train")
        evaluation = tganaug.read_ctc(path, frames="eval")
        space = intensity_space(train.images)
        real = to_space(evaluation.images, space)
        if train.frames[-1] + 1 != evaluation.frames[0]:
            raise ValueError(f"{name}: the last train frame ({train.frames[-1]}) does not come just before the first eval frame "
                             f"({evaluation.frames[0]}): no previous frame for the real-vs-real reference")
        # the reference background every method of fidelity.py is given (train frames only)
        background = background_from_video(train.images, train.labels)
        reference = fidelity.reference_background_error(real, background, evaluation.labels, MARGIN)
        near_too = fidelity.reference_background_error(real, background, evaluation.labels, 0)
        references = real_data_references(real, evaluation.labels, to_space(train.images[-1], space), args.seed)
        row = {"dataset": name, **{k: references[k] for k in ("sigma_laplacian", "sigma_temporal", "sigma")},
               **{k: references[k] for k in ("SSIM_clean", "PSNR_clean", "SSIM_noisy", "PSNR_noisy")},
               "ref_PSNR_background": near_too["PSNR"], "ref_PSNR_far": reference["PSNR"],
               "ref_offset_far": reference["offset"], "ref_PSNR_far_no_offset": reference["PSNR_offset_removed"],
               **{k: references[k] for k in ("SSIM_previous", "PSNR_previous", "SSIM_previous_aligned", "PSNR_previous_aligned")}}
        rows.append(row)
        print(" | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else row[c] for c in COLUMNS), flush=True)

    lines = [
        "# Noise ceiling of SSIM / PSNR against real eval frames",
        "",
        f"Machine: {machine()}. `{command_line()}` (seed {args.seed}). Split: **eval** frames of each dataset (as in",
        "[fidelity.md](fidelity.md)); intensity space [0, 1] = 1st/99.8th percentile of the *train* frames; SSIM/PSNR",
        "with torchmetrics, data range 1. Noise model: real = clean + N(0, sigma²), independent of the masks.",
        "`sigma_laplacian`: Immerkaer's estimator (texture counts as noise); `sigma_temporal`: background pixels",
        "(>= 5 px from any cell) of consecutive frames (flicker and drift count as noise); `sigma` = the smaller one.",
        "`SSIM_clean`/`PSNR_clean`: real frames + noise vs the real frames, i.e. a generator that outputs the exact",
        "clean image; `SSIM_noisy`/`PSNR_noisy`: two noisy copies, i.e. a generator that renders the clean image",
        "exactly and adds noise of the real level. The real frames stand in for the clean image, so their own noise",
        "counts as structure and the SSIM ceilings are, if anything, too high.",
        "`ref_*`: the reference background that [fidelity.md](fidelity.md) gives every method (temporal median of the",
        "*train* frames' non-cell pixels) against the eval frames: `ref_PSNR_background` its PSNR over all background",
        f"pixels (compare `PSNR_background` in fidelity.md); over the pixels >= {MARGIN} px from any cell `ref_PSNR_far` its",
        "PSNR, `ref_offset_far` the mean of real - reference (a brightness drift between the",
        "train and eval frames, which masks do not tell a generator), `ref_PSNR_far_no_offset` the PSNR after removing",
        "each frame's own mean offset.",
        "`*_previous`: each eval frame's own predecessor (the last train frame for the first eval frame) scored against",
        "it, a real-vs-real reference: a real image of the same cells one frame earlier, with their real texture and",
        "noise; `*_previous_aligned`: the predecessor moved into place by the shipped FlowNet's flow estimated from the",
        "real pair itself (motion undone with knowledge of the frame being scored; its bilinear warp also smooths some",
        "noise away). A mask-conditioned generator knows the cells' outlines in the frame it renders, but not their",
        "texture or the noise realisation: a reference, not a bound.",
        "",
        format_table(rows, COLUMNS, digits=4),
    ]
    lines += ["", f"Against the SSIM / PSNR goals and the measured methods (SSIM / PSNR from `{Path(args.fidelity_csv).name}`):", "",
              "| dataset | goal | ceiling, clean output | ceiling, realistic noise | real previous frame | "
              "real previous frame, aligned | " + " | ".join(
                  methods := sorted({m for d in measured.values() for m in d})) + " |",
              "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in methods) + " |"]
    for row in rows:
        goal = GOALS.get(row["dataset"], (math.nan, math.nan))
        cells = [f"{goal[0]:.2f} / {goal[1]:.0f}", f"{row['SSIM_clean']:.3f} / {row['PSNR_clean']:.1f}",
                 f"{row['SSIM_noisy']:.3f} / {row['PSNR_noisy']:.1f}", f"{row['SSIM_previous']:.3f} / {row['PSNR_previous']:.1f}",
                 f"{row['SSIM_previous_aligned']:.3f} / {row['PSNR_previous_aligned']:.1f}"]
        for method in methods:
            value = measured.get(row["dataset"], {}).get(method)
            cells.append("n/a" if value is None or math.isnan(value[0]) else f"{value[0]:.3f} / {value[1]:.1f}")
        lines.append(f"| {row['dataset']} | " + " | ".join(cells) + " |")
    write_report(RESULTS, args.report, lines, rows, COLUMNS)


if __name__ == "__main__":
    main()
