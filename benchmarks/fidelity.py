"""Fidelity benchmark (paper Table 1, Figs. 3-5): generated vs real videos of the same GT masks.

For each shared dataset with dense masks, on its **eval** frames only:

* **Real**: the eval frames, mapped to [0, 1] by the 1st / 99.8th percentiles of the dataset's
  *train* frames (the intensity space the tGAN models were trained in).
* **tGAN**: the shipped model for the modality (``fluo-nuclei``, ``phase-contrast``) renders the
  eval GT masks, with a reference background estimated from the *train* frames.
* **procedural** (baseline a): the procedural renderer fitted on the *train* frames, same masks,
  same background; its output is mapped into the same intensity space.
* **per-frame model** (baseline b): the same low-res generator trained with the same budget but
  without previous-frame input and without flow / temporal losses (config
  ``benchmarks/configs/tgan-cpu-ship-residual-perframe.json``), sharing the tGAN model's SR stage: the
  one kept in ``benchmarks/baselines/perframe-<model>/`` for each shipped model, or ``--per-frame
  NAME=RUN_DIR`` (a low-res run; or a folder holding ``lowres/`` and its own ``sr/``, used instead of
  the tGAN model's); reported as missing for a modality without one (e.g. a model replaced by ``--model``).

Measures (see :mod:`tganaug.fidelity`): SSIM and PSNR (torchmetrics, data range 1; PSNR also over
the GT cell pixels and the background pixels separately), an LPIPS-like
feature distance and an FVD-like clip distance (also split into its appearance and temporal parts),
both computed with **our** feature network (not VGG / I3D: not comparable with the paper's
LPIPS/FVD), and the warping error of consecutive
frames under the real video's flow (shipped FlowNet; the real video's own value is the reference).

Seeds (``--seeds 0,1,2``): every generator renders each eval video once per seed (styles, injected
noise; the procedural renderer's texture and noise). The report gives the mean and standard deviation
over seeds, ``SSIM_first_half`` / ``SSIM_second_half`` (does a video model drift from the real frames
as it feeds on its own output?), and a verdict per measure, tGAN against each baseline: better / worse
only when a Welch t-test over the per-seed scores says so (``tganaug.fidelity.compare_scores``), else
tie. The seeds vary generation only: each model is one training run (``benchmarks/training_seeds.py`` judges
models trained with several seeds from their reports). ``REPORT.csv`` holds the means
(``*_sd``: standard deviations), ``REPORT_per_seed.csv`` every seed's row.

Figures (``benchmarks/results/figures/``): real | tGAN | procedural montages per dataset; the
background swap of the paper's Fig. 3; FVD-like vs video length 10/20/30 for every method (Fig. 4);
a ``colony`` simulation rendered by the phase-contrast model (Fig. 5; the E. coli eval frames,
denser than any train frame, are the real high-density test in the table).

    python benchmarks/fidelity.py [--datasets ...] [--seeds 0,1,2] [--model NAME=RUN] [--per-frame NAME=RUN] [--report NAME]
        [--compare-with benchmarks/results/fidelity_per_seed.csv] [--no-sr]

``--compare-with`` adds an earlier report's per-seed rows (labelled ``"<method> (<report>)"``) to the tables and
verdicts: a probe of one retrained model is then judged against the shipped model and both baselines without
rendering them again.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tganaug_plugins.generators.tgan import TGANGenerator

import tganaug
from tganaug import fidelity
from tganaug.benchmarking import fidelity as library
from tganaug.benchmarking.fidelity import (  # noqa: F401 (the names other scripts and the tests import from here)
    COLUMNS,
    DIRECTIONS,
    FAR,
    MEASURES,
    PERCENTILES,
    _ranked_values,
    intensity_space,
    summarize,
    to_space,
    verdicts,
)
from tganaug.benchmarking.inputs import iter_frames, resolve_inputs
from tganaug.benchmarking.report import mean_sd_table, seed_list
from tganaug.models.tgan import TGAN, background_from_video
from tganaug.procedural import ProceduralRenderer
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv
from tganaug.visualize import (
    colorize_labels,
    frame_indices,
    line_plot,
    montage,
    save_gif,
    save_png,
    to_uint8,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, name_path  # benchmarks/_common.py
from ship_tgan import BASELINES_DIR, PER_FRAME_BASELINES  # benchmarks/ship_tgan.py

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
FIGURES = RESULTS / "figures"
DATASETS = {"Fluo-N2DH-SIM+": "fluo-nuclei", "PhC-T98G-Usiigaci": "phase-contrast", "PhC-Ecoli-vanVliet": "phase-contrast"}
METHODS = ("tGAN", "procedural", "per-frame")
FVD_LENGTHS = (10, 20, 30)  # video lengths of the FVD-like curve (paper Fig. 4)


def procedural_video(path: Path, labels: np.ndarray, background01: np.ndarray, space: tuple[float, float], seed: int) -> np.ndarray:
    """The procedural renderer fitted on ``path``'s train frames (sequence 01), rendering ``labels`` on ``background01``
    (in the common intensity ``space``), as a ``(T, H, W)`` video in that space."""
    inputs = resolve_inputs(path, "01", "eval")
    fit = library.FidelityFit(space, library.fit_background(background01, labels.shape[1:]), inputs.require_fit("the procedural renderer"))
    return np.stack(list(library.procedural_renderer(fit)(labels, seed)))


def load_per_frame(run: str | Path, tgan_sr: Path) -> TGAN:
    """The per-frame baseline of ``run``: a low-res run rendered through the tGAN model's SR stage ``tgan_sr``, or,
    for a folder holding ``lowres/`` and ``sr/``, through its own SR stage."""
    run = Path(run)
    own_sr = (run / "lowres").is_dir() and (run / "sr").is_dir()
    return TGAN.from_pretrained(run, sr_path=None if own_sr else tgan_sr)


def earlier_rows(path: str | Path, datasets: list[str], seeds: list[int]) -> list[dict]:
    """The per-seed rows of an earlier report (``REPORT_per_seed.csv``) for ``datasets`` and ``seeds``, each method
    renamed ``"<method> (<REPORT>)"``, so that this run's tGAN can be judged against them (the same seeds render the
    same videos with the same models, so the rows stand for models this run did not load). Errors: :func:`read_per_seed`.
    """
    label = Path(path).stem.removesuffix("_per_seed")
    return [{**row, "method": f"{row['method']} ({label})"} for row in read_per_seed(path, datasets, seeds, option="--compare-with")]


def read_per_seed(path: str | Path, datasets: list[str], seeds: list[int], option: str) -> list[dict]:
    """The rows of a per-seed fidelity report (``REPORT_per_seed.csv``) for ``datasets`` and ``seeds``: ``dataset``,
    ``method``, ``seed`` (int) and every measure (float).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file without the report's columns or
    without a row for every (dataset, method, seed) it names; messages start with ``option``, the argument that named it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{option}: no such per-seed report {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"seed", *COLUMNS} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{option}: {path} is not a per-seed fidelity report (missing columns {sorted(missing)})")
        found = [r for r in reader if r["dataset"] in datasets and int(r["seed"]) in seeds]
    rows = [{"dataset": r["dataset"], "method": r["method"], "seed": int(r["seed"]),
             **{c: float(r[c]) for c in COLUMNS[2:]}} for r in found]
    for dataset, method in dict.fromkeys((r["dataset"], r["method"]) for r in rows):
        have = {r["seed"] for r in rows if r["dataset"] == dataset and r["method"] == method}
        if have != set(seeds):
            raise ValueError(f"{option}: {path} has {method} on {dataset} for seeds {sorted(have)}, not {sorted(seeds)}")
    if not rows:
        raise ValueError(f"{option}: {path} has no rows for datasets {datasets} and seeds {seeds}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=seed_list, default=[0], help="generation seeds, comma-separated (default 0); "
                        "figures use the first")
    parser.add_argument("--clip-len", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", type=name_path,
                        help="use this checkpoint folder instead of a shipped model (e.g. fluo-nuclei=runs/x)")
    parser.add_argument("--figure-max-side", type=int, default=1200, help="longer side of the PNG montages, px (scaled down)")
    parser.add_argument("--gif-max-side", type=int, default=600, help="longer side of the GIF frames, px (scaled down)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"methods to run, comma-separated (default {','.join(METHODS)})")
    parser.add_argument("--table-only", action="store_true",
                        help="the eval-frame table only: no figures, no background swap, no FVD-vs-length, no colony video")
    parser.add_argument("--no-sr", action="store_true",
                        help="tGAN and the per-frame model without their SR stage: the low-res frames bilinearly up-sampled "
                        "(how much of their SSIM/PSNR the SR stage's texture and noise cost)")
    parser.add_argument("--report", default="fidelity", help="report name: writes benchmarks/results/REPORT.md and .csv")
    parser.add_argument("--per-frame", action="append", default=[], metavar="NAME=RUN_DIR", type=name_path,
                        help="low-res run of the per-frame baseline for a modality (e.g. fluo-nuclei=runs/perframe-fluo-nuclei/lowres), "
                        "or a folder with lowres/ and its own sr/; "
                        f"default: the one in {BASELINES_DIR.relative_to(REPO)}/ for each shipped model not replaced by --model")
    parser.add_argument("--compare-with", action="append", default=[], metavar="PER_SEED_CSV",
                        help="also judge tGAN against the methods of an earlier report's per-seed rows (same datasets and "
                        "seeds; e.g. benchmarks/results/fidelity_per_seed.csv), labelled '<method> (<report>)'")
    args = parser.parse_args()
    chosen = [m for m in args.methods.split(",") if m]
    if not chosen or set(chosen) - set(METHODS):
        parser.error(f"--methods: choose from {', '.join(METHODS)}, got {args.methods!r}")
    dataset_names = [d for d in args.datasets.split(",") if d]
    try:
        earlier = [row for report in args.compare_with for row in earlier_rows(report, dataset_names, args.seeds)]
    except (OSError, ValueError) as error:
        parser.error(str(error))
    extras = not args.table_only and "tGAN" in chosen  # background swap, FVD-vs-length, colony: tGAN figures
    overrides = dict(args.model)
    per_frame_runs = {name: str(BASELINES_DIR / folder) for name, folder in PER_FRAME_BASELINES.items()
                      if name not in overrides and (BASELINES_DIR / folder / "checkpoint.pt").is_file()}
    per_frame_runs.update(dict(args.per_frame))
    per_frame_models: dict[str, TGAN] = {}
    use_sr = not args.no_sr
    torch.set_num_threads(args.threads)
    figures = FIGURES if args.report == "fidelity" else FIGURES / args.report  # another report keeps its own figures
    if not args.table_only:
        figures.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    started_all = time.perf_counter()
    models: dict[str, TGANGenerator] = {}
    described: list[str] = []
    for name in dataset_names:
        path = Path(args.data) / name
        inputs = resolve_inputs(path, "01", "eval")  # the scored frames, checked against the data; fitted on train frames
        _, first = next(iter_frames(inputs.scored, images=False))
        fit = library.fit_reference(inputs, first.shape)
        described.append(f"`{name}` sequence 01 frames {inputs.scored.span} ({inputs.scored.how}), fitted on train frames "
                         f"{fit.fit.span}")
        model_name = DATASETS[name]
        if model_name not in models:
            models[model_name] = TGANGenerator(model=overrides.get(model_name, model_name), use_sr=use_sr)
        if model_name in per_frame_runs and model_name not in per_frame_models:
            per_frame_models[model_name] = load_per_frame(per_frame_runs[model_name], models[model_name].model_path / "sr")
        renderers: dict[str, library.Renderer] = {}
        if "tGAN" in chosen:
            renderers["tGAN"] = library.streamed_renderer(models[model_name], fit.background)
        if "procedural" in chosen:
            renderers["procedural"] = library.procedural_renderer(fit)
        if model_name in per_frame_models and "per-frame" in chosen:
            per_frame = per_frame_models[model_name]
            renderers["per-frame model"] = (lambda labels, seed, per_frame=per_frame, background=fit.background:
                                            per_frame.iter_frames(labels, background, seed, use_sr=use_sr))
        methods = list(renderers)
        shown = frame_indices(len(inputs.scored.frames), 4)
        new_rows, videos = library.run_fidelity(  # streamed frame by frame; videos: the first seed's shown frames
            inputs, fit, renderers, args.seeds, clip_len=args.clip_len, dataset=name, keep=shown, progress=False,
            on_row=lambda row: print(" | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])
                                                for c in ("seed", *COLUMNS)), flush=True))
        rows += new_rows
        if "per-frame model" not in renderers and "per-frame" in chosen:
            rows.append({"dataset": name, "method": "per-frame model", **{c: float("nan") for c in COLUMNS[2:]}})
        if not args.table_only:
            evaluation = tganaug.read_ctc(path, frames=list(inputs.scored.frames))
            real = to_space(evaluation.images[shown], fit.space)
            panels = [[colorize_labels(evaluation.labels[t]) for t in shown], [to_uint8(frame, 0, 1) for frame in real]]
            panels += [[to_uint8(videos[m][t], 0, 1) for t in shown] for m in methods]
            save_png(figures / f"fidelity_{name}.png", montage(panels, row_titles=["masks", "real", *methods],
                                                               column_titles=[f"t={int(evaluation.frames[t])}" for t in shown]),
                     max_side=args.figure_max_side)

    # Fig. 3: background swap (same SIM+ masks, two reference backgrounds).
    sim = Path(args.data) / "Fluo-N2DH-SIM+"
    if "fluo-nuclei" in models and sim.is_dir() and extras:
        train = tganaug.read_ctc(sim, frames="train")
        evaluation = tganaug.read_ctc(sim, frames=range(45, 49))
        height, width = evaluation.labels.shape[1:]
        own = background_from_video(train.images, train.labels)
        gowt1 = tganaug.read_ctc(Path(args.data) / "Fluo-N2DH-GOWT1", frames=range(0, 10))
        other = background_from_video(gowt1.images[:, :height, :width], gowt1.labels[:, :height, :width])
        panels = [[colorize_labels(f) for f in evaluation.labels]]
        for reference in (own, other):
            video = models["fluo-nuclei"].generate(evaluation.labels, background=reference, seed=args.seeds[0])
            panels.append([to_uint8(f, 0, 1) for f in video])
        save_png(figures / "background_swap.png", montage(panels, row_titles=["masks", "SIM+ background", "GOWT1 background"],
                                                          column_titles=[f"t={t}" for t in evaluation.frames]),
                 max_side=args.figure_max_side)

    # Fig. 4: FVD-like vs video length: the first 10 / 20 / 30 frames of one video per method and seed, rendered from
    # masks simulated with parameters fitted on SIM+ train (a per-frame model has nothing to keep it coherent).
    fvd_rows: dict[int, dict[str, float]] = {}
    fvd_sd: dict[int, dict[str, float]] = {}
    if "fluo-nuclei" in models and sim.is_dir() and extras:
        evaluation = tganaug.read_ctc(sim, frames="eval")
        train = tganaug.read_ctc(sim, frames="train")
        space = intensity_space(train.images)
        real_clips = fidelity.clip_features(to_space(evaluation.images, space), args.clip_len)
        simulator = tganaug.default_registry().info("simulator", "division").factory.from_ctc(sim, frames="train")
        height, width = evaluation.labels.shape[1:]
        background = background_from_video(train.images, train.labels)
        generators = {"tGAN": lambda labels, seed: models["fluo-nuclei"].generate(labels, background=background, seed=seed)}
        if "procedural" in chosen:
            generators["procedural"] = lambda labels, seed: procedural_video(sim, labels, background, space, seed)
        if "fluo-nuclei" in per_frame_models and "per-frame" in chosen:
            generators["per-frame model"] = lambda labels, seed: per_frame_models["fluo-nuclei"].generate(labels, background=background, seed=seed,
                                                                                                   use_sr=use_sr)
        by_seed: dict[str, dict[int, list[float]]] = {m: {n: [] for n in FVD_LENGTHS} for m in generators}
        for seed in args.seeds:  # each seed: a new simulated video, rendered by every method
            masks = simulator.simulate(max(FVD_LENGTHS), height, width, seed=seed)
            long_videos = {method: generate(masks.labels, seed) for method, generate in generators.items()}
            if seed == args.seeds[0]:
                first_masks, first_tgan = masks, long_videos["tGAN"]
            for method, video in long_videos.items():
                for length in FVD_LENGTHS:
                    by_seed[method][length].append(fidelity.frechet_distance(real_clips, fidelity.clip_features(video[:length], args.clip_len)))
        for length in FVD_LENGTHS:
            fvd_rows[length] = {method: float(np.mean(by_seed[method][length])) for method in generators}
            fvd_sd[length] = {method: float(np.std(by_seed[method][length], ddof=1)) if len(args.seeds) > 1 else float("nan")
                              for method in generators}
            print(f"FVD-like, first {length} frames: " + ", ".join(f"{m} {v:.4g}" for m, v in fvd_rows[length].items()), flush=True)
        save_png(figures / "fvd_vs_length.png", line_plot(FVD_LENGTHS, {m: [fvd_rows[n][m] for n in FVD_LENGTHS] for m in generators},
                                                         title="FVD-like (our feature net) vs video length, SIM+", x_label="video length (frames)"))
        save_gif(figures / "simulated_division_fluo.gif",
                 [montage([[colorize_labels(m), to_uint8(f, 0, 1)]], column_titles=(f"masks t={t}", "tGAN"))
                  for t, (m, f) in enumerate(zip(first_masks.labels, first_tgan))],
                 max_side=args.gif_max_side)

    # Fig. 5: a dense colony rendered by the phase-contrast model.
    if "phase-contrast" in models and extras:
        colony = tganaug.get_simulator("colony", radius_mean=9.0, aspect_mean=2.5).simulate(24, 256, 256, seed=args.seeds[0])
        video = models["phase-contrast"].generate(colony.labels, seed=args.seeds[0])
        shown = frame_indices(len(video), 4)
        save_png(figures / "colony_phase_contrast.png", montage([[colorize_labels(colony.labels[t]) for t in shown], [to_uint8(video[t], 0, 1) for t in shown]],
                                                                row_titles=("masks", "tGAN"), column_titles=[f"t={t}" for t in shown]),
                 max_side=args.figure_max_side)
        save_gif(figures / "colony_phase_contrast.gif", [montage([[colorize_labels(m), to_uint8(f, 0, 1)]], column_titles=(f"masks t={t}", "tGAN"))
                                                         for t, (m, f) in enumerate(zip(colony.labels, video))],
                 max_side=args.gif_max_side)

    own_rows, rows = rows, rows + earlier
    summary = summarize(rows)
    seeds_text = ", ".join(str(seed) for seed in args.seeds)
    lines = [
        "# Fidelity: generated vs real videos of the same GT masks (eval frames)",
        "",
        f"Machine: {machine()}; {time.perf_counter() - started_all:.0f} s. `{command_line()}` (generation seeds {seeds_text}).",
        "Split: **eval** frames (same-sequence protocol): " + "; ".join(described) + ". E. coli eval frames are denser than",
        "any train frame. Intensity space: [0, 1] = 1st/99.8th percentile of each dataset's *train* frames. Backgrounds: estimated",
        "from train frames. `feature_dist` (LPIPS-like) and `FVD_like` use **our** feature network (mask-predicting UNet",
        f"encoder trained on the shared train frames), clips of {args.clip_len} frames x 128 px tiles: not the paper's LPIPS/FVD.",
        "`warp_error`: |warp(frame t-1, real flow) - frame t| with the shipped FlowNet; `warp_error_real` is the real video's own.",
        "`PSNR_cells` / `PSNR_background`: PSNR over the GT cell pixels / the other pixels. `brightness_far`: mean of",
        f"generated - real over background pixels >= {FAR} px from any cell (a brightness the masks do not determine;",
        "how far the eval frames drift from the train-frame reference: `ref_offset_far` in noise_ceiling.md). The best SSIM/PSNR any",
        "mask-conditioned generator can reach against these noisy frames: [noise_ceiling.md](noise_ceiling.md).",
        "`FVD_appearance` / `FVD_temporal`: the same Fréchet distance on the clips' mean features only (how the frames look) /",
        "on their spread and frame-to-frame change only (how they move; `tganaug.fidelity.frechet_distance_parts`).",
        "`SSIM_first_half` / `SSIM_second_half`: mean SSIM over the first / the other half of the eval frames (a video model",
        "that drifts as it feeds on its own output loses more in the second half than a per-frame one).",
        *(["**Without the SR stage** (`--no-sr`): tGAN and the per-frame model render their low-res frames, bilinearly",
           "up-sampled by the model's SR scale; the procedural renderer is unchanged."] if args.no_sr else []),
        "",
        f"Mean ± standard deviation over the generation seeds (each model is one training run; `seconds` per seed):" if len(args.seeds) > 1 else
        "One generation seed:",
        "",
        mean_sd_table(summary, COLUMNS),
    ]
    verdict_rows = verdicts(rows)
    if verdict_rows:
        rule = ("better / worse: a two-sided Welch t-test over the per-seed scores gives p < 0.05; tie: it does not"
                if len(args.seeds) > 1 else "one seed: the sign of the difference, no test")
        lines += ["", f"tGAN against each baseline, measure by measure ({rule}; `brightness_far` by its distance to 0, `warp_error` by its",
                  "distance to the real video's):", "", format_table(verdict_rows, ["dataset", "baseline", *DIRECTIONS])]
    if fvd_rows:
        methods = list(next(iter(fvd_rows.values())))
        title = (f"FVD-like vs video length (paper Fig. 4): the first L frames of one video per method and seed, rendered from a "
                 f"{max(FVD_LENGTHS)}-frame `division` simulation (seeded like the generator) fitted on SIM+ train, vs the real "
                 f"SIM+ eval clips ({args.clip_len}-frame clips; lower is better" + ("; mean ± sd over seeds):" if len(args.seeds) > 1 else "):"))
        table = [{"frames": length, **values, **{f"{m}_sd": fvd_sd[length][m] for m in methods}} for length, values in fvd_rows.items()]
        lines += ["", title, "", mean_sd_table(table, ("frames", *methods))]
    where = figures.relative_to(RESULTS).as_posix() if figures.is_relative_to(RESULTS) else figures.as_posix()
    lines += [] if args.table_only else ["", f"Figures (seed {args.seeds[0]}): `{where}/fidelity_<dataset>.png` (rows: masks, real, tGAN, procedural[, per-frame]), "
              f"`{where}/background_swap.png`",
              f"(rows: masks, SIM+ background, GOWT1 background), `{where}/fvd_vs_length.png`, `{where}/simulated_division_fluo.gif`,",
              f"`{where}/colony_phase_contrast.{{png,gif}}` (the last two when the models they need were run)."]
    lines += ["", f"Per-seed rows: `{args.report}_per_seed.csv`" + (
        "; rows labelled `(REPORT)` were not rendered by this run: they are the same seeds' rows of "
        + ", ".join(f"`{Path(report).name}`" for report in args.compare_with) + " (`--compare-with`)." if earlier else ".")]
    report = "\n".join(lines) + "\n"
    print(report)
    atomic_write_bytes(RESULTS / f"{args.report}.md", report.encode())
    summary_columns = ("dataset", "method", "seeds", *MEASURES, "warp_error_real", "seconds", *(f"{m}_sd" for m in MEASURES))
    atomic_write_csv(RESULTS / f"{args.report}.csv", summary, summary_columns)
    atomic_write_csv(RESULTS / f"{args.report}_per_seed.csv", [r for r in own_rows if "seed" in r], ("seed", *COLUMNS))

if __name__ == "__main__":
    main()
