"""The tGAN paper's Table 1 on its own two datasets (PhC-C2DH-U373, PhC-C2DL-PSC), measured here.

For each dataset, on the eval frames of sequence 01 (full outlines: markers joined to ``01_ST/SEG``), every method
renders the GT outlines on the reference background estimated off the *train* frames' outlines
(:mod:`tganaug.benchmarking.fidelity`, the fidelity benchmark's code), in its intensity space ([0, 1] = 1st / 99.8th
percentile of the train frames):

* ``tGAN (fitted)``: a model made by ``tganaug fit DATA --per-frame-baseline`` on the train frames (``--model``);
* ``per-frame model``: the low-res run of the same fit without the previous frame (``MODEL_DIR/perframe``), the SR
  stage shared; the closest we have to the paper's vid2vid row (a frame-by-frame model, not vid2vid itself);
* ``procedural``: the procedural renderer fitted on the same train frames;
* two real-data references (no model): the noise ceiling (the real frames plus noise of their own estimated level
  against themselves, :func:`tganaug.fidelity.noise_ceiling`) and each eval frame's real predecessor, as imaged and
  moved into place by the real pair's own flow (:func:`tganaug.fidelity.previous_frame_reference`);
* the paper's tGAN and vid2vid numbers, quoted.

Our LPIPS-like and FVD-like columns use tganaug's feature network (a mask-predicting UNet encoder trained here), not
VGG-LPIPS or I3D-FVD: they rank methods within this table and are not comparable with the paper's LPIPS.

    python benchmarks/paper_table1.py --model PhC-C2DH-U373=MODEL_DIR --model PhC-C2DL-PSC=MODEL_DIR [--seeds 0,1,2]

Writes ``benchmarks/results/paper_table1.md`` and ``.csv`` (``--report``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tganaug import fidelity as measures
from tganaug.benchmarking import fidelity
from tganaug.benchmarking.inputs import BenchmarkInputs, ScoredOutlines, iter_frames, read_outlines, resolve_inputs
from tganaug.io import read_ctc
from tganaug.models.tgan import TGAN
from tganaug.tracking.metrics import format_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, write_report  # benchmarks/_common.py
from noise_ceiling import real_data_references  # benchmarks/noise_ceiling.py

RESULTS = Path(__file__).resolve().parent / "results"
#: the paper's Table 1 (Zargari, Mashhadi & Shariati, bioRxiv 2024.06.11.598572): SSIM, PSNR, LPIPS (VGG)
PAPER = {"PhC-C2DH-U373": {"tGAN": (0.91, 26.58, 0.18), "vid2vid": (0.88, 25.91, 0.25)},
         "PhC-C2DL-PSC": {"tGAN": (0.84, 15.68, 0.13), "vid2vid": (0.51, 10.03, 0.39)}}
COLUMNS = ("dataset", "method", "source", "seeds", "SSIM", "SSIM_sd", "PSNR", "PSNR_sd", "LPIPS", "LPIPS_sd", "FVD", "FVD_sd")
MEASURED = {"SSIM": "SSIM", "PSNR": "PSNR", "LPIPS": "feature_dist", "FVD": "FVD_like"}
_NO_SPREAD = {f"{column}_sd": float("nan") for column in MEASURED}  # rows of one value: a reference or a quoted number


def prepare(data: Path) -> tuple[BenchmarkInputs, ScoredOutlines, fidelity.FidelityFit]:
    """The eval frames of sequence 01, their full outlines and the settings fitted on its train frames."""
    inputs = resolve_inputs(data, "01", "eval")
    outlines = read_outlines(inputs.scored)
    _, first = next(iter_frames(inputs.scored, images=False))
    return inputs, outlines, fidelity.fit_reference(inputs, first.shape)


def model_rows(prepared: tuple[BenchmarkInputs, ScoredOutlines, fidelity.FidelityFit], model_dir: Path, seeds: list[int],
               notes: list[str]) -> list[dict]:
    """The measured rows of one dataset (mean and sample sd over ``seeds``)."""
    inputs, outlines, fit = prepared
    name = inputs.scored.data.name
    model = TGAN.from_pretrained(model_dir)
    notes.append(f"{name}: tGAN frames rendered with an edge margin of {model.edge_margin} px (`TGAN.edge_margin`) and a background "
                 f"guard of {model.background_guard} px (`TGAN.background_guard`)")
    methods: dict[str, fidelity.Renderer] = {"tGAN (fitted)": fidelity.streamed_renderer(model, fit.background)}
    if (model_dir / "perframe").is_dir():
        per_frame = TGAN.from_pretrained(model_dir / "perframe", sr_path=model_dir / "sr")
        methods["per-frame model"] = fidelity.streamed_renderer(per_frame, fit.background)
    else:
        notes.append(f"{model_dir} has no per-frame baseline (fit it with --per-frame-baseline)")
    methods["procedural"] = fidelity.procedural_renderer(fit)
    per_seed, _ = fidelity.run_fidelity(inputs, fit, methods, seeds, dataset=name, outlines=outlines,
                                        on_row=lambda row: print(f"{row['dataset']} {row['method']} seed {row['seed']}: SSIM "
                                                                 f"{row['SSIM']:.4f} PSNR {row['PSNR']:.2f}", flush=True))
    rows = []
    for summary in fidelity.summarize(per_seed):
        row = {"dataset": name, "method": summary["method"], "source": "measured", "seeds": summary["seeds"]}
        for column, measure in MEASURED.items():
            row[column], row[f"{column}_sd"] = summary[measure], summary[f"{measure}_sd"]
        rows.append(row)
    return rows


def reference_rows(prepared: tuple[BenchmarkInputs, ScoredOutlines, fidelity.FidelityFit], seed: int) -> list[dict]:
    """The noise ceiling and the real predecessor rows of one dataset's eval frames (no model), in the fitted space."""
    inputs, outlines, fit = prepared
    data = inputs.scored.data
    train_last = fit.fit.frames[-1]
    if train_last + 1 != inputs.scored.frames[0]:
        raise ValueError(f"{data.name}: the last train frame t{train_last:03d} is not just before the first eval frame")
    frames = list(iter_frames(inputs.scored, outlines=outlines))
    real = np.stack([fidelity.to_space(image, fit.space) for image, _ in frames])
    labels = np.stack([mask for _, mask in frames])
    before = fidelity.to_space(read_ctc(data, "01", frames=[train_last], read_labels=False).images[0], fit.space)
    found = real_data_references(real, labels, before, seed)
    previous_video = np.concatenate([before[None], real[:-1]])
    base = {"dataset": data.name, "source": "real-data reference", "seeds": 1, **_NO_SPREAD, "FVD": float("nan")}
    return [
        {**base, "method": f"noise ceiling: real + noise (sigma {found['sigma']:.4f}) vs real", "SSIM": found["SSIM_clean"],
         "PSNR": found["PSNR_clean"], "LPIPS": float("nan")},
        {**base, "method": "real previous frame", "SSIM": found["SSIM_previous"], "PSNR": found["PSNR_previous"],
         "LPIPS": measures.feature_distance(real, previous_video), "FVD": measures.fvd_like(real, previous_video, clip_len=8)},
        {**base, "method": "real previous frame, aligned by the real flow", "SSIM": found["SSIM_previous_aligned"],
         "PSNR": found["PSNR_previous_aligned"], "LPIPS": float("nan")},
    ]


def paper_rows(name: str) -> list[dict]:
    return [{"dataset": name, "method": f"{method} (paper)", "source": "paper, Table 1", "seeds": "", "SSIM": ssim, "PSNR": psnr,
             "LPIPS": lpips, "FVD": float("nan"), **_NO_SPREAD} for method, (ssim, psnr, lpips) in PAPER[name].items()]


def _cell(row: dict, column: str, decimals: int) -> str:
    value = row[column]
    if isinstance(value, str) or value is None or not np.isfinite(value):
        return "n/a" if not isinstance(value, str) else value
    sd = row.get(f"{column}_sd")
    return f"{value:.{decimals}f}" + (f" ± {sd:.{decimals}f}" if sd is not None and np.isfinite(sd) else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--model", action="append", required=True, metavar="DATASET=MODEL_DIR",
                        help="a dataset of the table and the `tganaug fit` model folder fitted on its train frames")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", default="paper_table1")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    models = dict(item.split("=", 1) for item in args.model)
    unknown = sorted(set(models) - set(PAPER))
    if unknown:
        raise SystemExit(f"--model: {', '.join(unknown)} is not a dataset of the paper's Table 1 ({', '.join(PAPER)})")
    rows: list[dict] = []
    described, notes = [], []
    for name, model_dir in models.items():
        card = json.loads((Path(model_dir) / "card.json").read_text())
        prepared = prepare(Path(args.data) / name)
        measured = model_rows(prepared, Path(model_dir), seeds, notes)
        scored, how = prepared[0].scored.describe(), prepared[1].how
        stages = ", ".join(f"{stage} {info['steps']} steps" for stage, info in card["stages"].items())
        hours = sum(info["cpu_hours_measured"] for info in card["stages"].values())
        described.append(f"`{name}`: scored {scored}; masks: {how}; model `tganaug fit` on train frames "
                         f"{card['data']['frames'][0]}-{card['data']['frames'][1]}, recipe {card['recipe']['name']} x "
                         f"{card['recipe']['scale']:.3g} ({stages}; {hours:.2f} CPU hours measured)")
        rows += measured + reference_rows(prepared, seeds[0]) + paper_rows(name)
    lines = ["# The paper's Table 1 on U373 and PSC: tGAN, per-frame model and procedural renderer fitted here", "",
             f"- Machine: {machine()}.", f"- Command: `{command_line()}`.",
             f"- Generation seeds: {', '.join(map(str, seeds))} (mean ± sample sd; each model is one training run, seed 0).",
             *(f"- {line}." for line in described), *(f"- Note: {note}." for note in notes),
             "- Protocol: same sequence (eval frames of the sequence whose train frames were fitted on); the paper's split "
             "is not stated in the same terms, so its rows are quoted, not reproduced.",
             "- LPIPS-like and FVD-like use tganaug's feature network, not VGG-LPIPS / I3D-FVD: compare them within this "
             "table only, never with the paper's LPIPS column. FVD-like: clips of 8 frames.",
             "- Real-data references: the noise ceiling is the best SSIM / PSNR a generator that knows the exact clean "
             "image could reach against these noisy frames; the real previous frame is a real image of the same cells one "
             "frame earlier (aligned: moved into place by the flow of the real pair itself, which no generator knows).", ""]
    shown = [{"dataset": r["dataset"], "method": r["method"], "source": r["source"], "SSIM": _cell(r, "SSIM", 3),
              "PSNR": _cell(r, "PSNR", 2), "LPIPS (paper) / LPIPS-like (ours)": _cell(r, "LPIPS", 3), "FVD-like (ours)": _cell(r, "FVD", 3)}
             for r in rows]
    lines.append(format_table(shown, list(shown[0])))
    write_report(RESULTS, args.report, lines, rows, COLUMNS)


if __name__ == "__main__":
    main()
