"""Write the results pages (``docs/results/*.md``) and README's results summary from the committed result files.

    python docs/build_results.py            # rewrite docs/results/*.md and the summary block of README.md
    python docs/build_results.py --check    # exit 1 naming every file that differs from what it would write

Every number on those pages is read from a CSV under ``benchmarks/results/`` (the file each table names); the machine
and the command of a table are read from the header of the report written beside that CSV (``REPORT.md``). Nothing is
measured or recomputed here: means, standard deviations and verdicts are the ones the benchmark scripts wrote.
``tests/test_docs.py`` checks that the committed pages are what this script writes, so a page cannot drift from its
data. The results of benchmarks that write no CSV (simulator fit, throughput, soak, bfloat16) are linked, not copied.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tganaug.utils.fsutil import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PAGES = REPO / "docs" / "results"
README = REPO / "README.md"
SUMMARY_BEGIN = "<!-- results summary: written by docs/build_results.py from benchmarks/results/*.csv; do not edit -->"
SUMMARY_END = "<!-- end of results summary -->"

#: links from a page in docs/results/ and from README.md to the result files
FROM_PAGE = "../../benchmarks/results/"
FROM_README = "benchmarks/results/"

SHORT = {"Fluo-N2DH-SIM+": "SIM+", "PhC-T98G-Usiigaci": "T98G", "PhC-Ecoli-vanVliet": "E. coli",
         "Fluo-N2DH-GOWT1": "GOWT1", "PhC-C2DH-U373": "U373", "PhC-C2DL-PSC": "PSC", "Fluo-N2DL-HeLa": "N2DL-HeLa",
         "DIC-C2DH-HeLa": "DIC-HeLa"}
EVAL_FRAMES = ("**eval** frames of sequence 01 (SIM+ t045-t064, T98G t026-t036, E. coli t029-t040); every model was "
               "trained on **train** frames only (same-sequence protocol)")
TRACKING_FRAMES = ("**eval** frames of sequence 01 (SIM+ t045-t064, E. coli t029-t040; GOWT1 t000-t049, a dataset no "
                   "model was trained on); every model was trained on **train** frames only")
#: datasets the procedural renderer's fidelity was measured on (results/fidelity_procedural_<name>/)
PROCEDURAL_FIDELITY = ("Fluo-N2DH-GOWT1_02", "Fluo-N2DL-HeLa", "PhC-C2DH-U373", "PhC-C2DL-PSC", "DIC-C2DH-HeLa")
#: datasets whose eval GT masks ``tganaug benchmark tracking --segmenter gt`` scored (results/tracking_gt_masks_<name>/)
GT_MASK_DATASETS = ("Fluo-N2DH-SIM+", "Fluo-N2DL-HeLa", "PhC-C2DH-U373", "DIC-C2DH-HeLa", "PhC-C2DL-PSC")
#: tracking report sources -> what the row is
VIDEO = {"Real": "real video", "tgan": "tGAN (shipped default)", "procedural": "procedural"}
#: fidelity measures: CSV column -> (heading, decimals)
FIDELITY = {"SSIM": ("SSIM ↑", 3), "PSNR": ("PSNR ↑", 2), "PSNR_cells": ("PSNR cells ↑", 2),
            "PSNR_background": ("PSNR background ↑", 2), "brightness_far": ("brightness far", 3),
            "feature_dist": ("LPIPS-like ↓", 3), "FVD_like": ("FVD-like ↓", 3), "warp_error": ("warp error", 3)}
VERDICT_MEASURES = {"SSIM": "SSIM", "PSNR": "PSNR", "PSNR_cells": "PSNR cells", "PSNR_background": "PSNR background",
                    "brightness_far": "brightness far", "feature_dist": "LPIPS-like", "FVD_like": "FVD-like",
                    "FVD_appearance": "FVD appearance", "FVD_temporal": "FVD temporal", "warp_error": "warp error",
                    "SSIM_first_half": "SSIM 1st half", "SSIM_second_half": "SSIM 2nd half"}
#: dense colony report sources -> what the row is
DENSE = {"tgan": "tGAN `phase-contrast`", "procedural": "procedural (E. coli fit)", "mask components": "mask components",
         "real E. coli": "real E. coli", "E. coli mask components": "E. coli mask components"}
TRACKING = {"MOTA": 3, "MT": 3, "ML": 3, "precision": 3, "recall": 3, "IDSW": 0, "TRA": 3, "DET": 3, "SEG": 3}


# --- reading -------------------------------------------------------------------------------------------------------

def rows(name: str) -> list[dict[str, str]]:
    """The rows of ``benchmarks/results/<name>.csv``; a missing file is an error naming it."""
    path = RESULTS / f"{name}.csv"
    if not path.is_file():
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        raise SystemExit(f"build_results: {shown} is missing (a results page quotes it)")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def select(table: list[dict[str, str]], **match: str) -> list[dict[str, str]]:
    return [r for r in table if all(r.get(k) == v for k, v in match.items())]


def one(table: list[dict[str, str]], **match: str) -> dict[str, str]:
    found = select(table, **match)
    if len(found) != 1:
        raise SystemExit(f"build_results: expected one row with {match}, found {len(found)}")
    return found[0]


def provenance(name: str) -> tuple[str, str]:
    """(machine, command) from the header of ``benchmarks/results/<name>.md``: the machine line's text before the
    command, without the run time; the first backticked ``python ...`` command ("" where the report names none)."""
    text = (RESULTS / f"{name}.md").read_text()
    machine = ""
    for line in text.splitlines():
        found = re.search(r"(?i)machine: ([^`]*)", line)
        if found:
            machine = re.sub(r";\s*\d+ s\b.*$", "", found[1]).strip().rstrip(".;,").strip()
            break
    command = re.search(r"`((?:python|tganaug) [^`]+)`", text)
    if command:
        return machine, f"`{command[1]}`"
    script = re.search(r"Generated by `([^`]+)`", text)
    return machine, f"`python {script[1]}` (its arguments are not recorded in the report)" if script else ""


# --- formatting ----------------------------------------------------------------------------------------------------

def number(value: str | float, decimals: int = 3) -> str:
    """A CSV value at fixed decimals; NaN or empty as ``n/a``."""
    if value in ("", None):
        return "n/a"
    x = float(value)
    if math.isnan(x):
        return "n/a"
    return f"{x:.{decimals}f}" if decimals else f"{int(round(x))}"


def mean_sd(row: dict[str, str], key: str, decimals: int = 3, *, mean: str | None = None) -> str:
    """``mean ± sd`` where the CSV has the ``KEY_sd`` column (several seeds), else the value; the mean is column
    ``mean`` (default ``KEY``; a downstream report's is ``KEY_mean``)."""
    value = row[mean or key]
    sd = row.get(f"{key}_sd", "")
    if sd not in ("", None) and not math.isnan(float(sd)) and row.get("seeds", "1") not in ("1", ""):
        return f"{number(value, decimals)} ± {number(sd, decimals)}"
    return number(value, decimals)


def table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
            *("| " + " | ".join(cells) + " |" for cells in body)]


def source(names: Sequence[str], link: str = FROM_PAGE, seeds: str = "", protocol: str = EVAL_FRAMES) -> list[str]:
    """The provenance lines of a table: files, machine, command(s), seeds, split."""
    files = ", ".join(f"[{n}.csv]({link}{n}.csv)" for n in names)
    reports = ", ".join(f"[{n}.md]({link}{n}.md)" for n in names)
    lines = [f"- Data: {files} (reports: {reports})."]
    seen: dict[str, list[str]] = {}
    for n in names:
        machine, command = provenance(n)
        seen.setdefault(machine or "not recorded in the report", []).append(command)
    for machine, commands in seen.items():
        lines.append(f"- Machine: {machine}.")
        for command in dict.fromkeys(commands):
            lines.append(f"- Command: {command}." if command else "- Command: not recorded in the report.")
    if seeds:
        lines.append(f"- Seeds: {seeds}.")
    lines.append(f"- Split: {protocol}.")
    return lines


# --- pages ---------------------------------------------------------------------------------------------------------

def fidelity_page() -> list[str]:
    main = rows("fidelity")
    lines = ["# Generator fidelity", "",
             "Each generator renders the eval GT masks on a background estimated from the train frames; the rendering is",
             "compared with the real eval frames in one intensity space (1st / 99.8th percentile of the train frames).",
             "LPIPS-like and FVD-like use this project's own feature network (a mask-predicting UNet encoder trained on the",
             "train frames), so they are not comparable with the paper's LPIPS / FVD. Warp error: lower than the real",
             "video's own value means too static. PSNR cells / background: over the GT cell pixels / the other pixels.",
             "Brightness far: mean of generated - real over background pixels at least 15 px from any cell.",
             "Methods: tGAN (the shipped model), procedural (`procedural` generator fitted to the train frames) and the",
             "per-frame model (the same low-res generator trained without the previous-frame input and the flow losses,",
             "same frames, steps and seed, rendered through the tGAN's SR stage; `benchmarks/baselines/`).", "",
             "## Shipped defaults, mean ± sd over generation seeds", ""]
    lines += table(["eval data", "method", *(h for h, _ in FIDELITY.values()), "warp error of the real video"],
                   [[SHORT[r["dataset"]], r["method"], *(mean_sd(r, k, d) for k, (_, d) in FIDELITY.items()),
                     number(r["warp_error_real"])] for r in main])
    lines += [""] + source(["fidelity"], seeds="generation seeds 0, 1, 2 (the `seeds` column); each model is one training "
                           "run, so the spread is that of generation, not of training")
    lines += ["", "Single-run verdicts (a Welch t-test over the generation seeds, per measure), the FVD-like score against",
              f"video length and the figures are in the report: [fidelity.md]({FROM_PAGE}fidelity.md),",
              f"[figures]({FROM_PAGE}figures/).", "",
              "## Across training seeds", "",
              "The low-res stages of both defaults and their per-frame baselines were trained twice more (training seeds 1",
              "and 2; same configs, train frames and steps) and scored like the shipped ones. Verdict of tGAN against each",
              "baseline per measure: (a) better / worse only when all nine pairings of the three runs of each model agree",
              "(`tganaug.fidelity.compare_training_runs`); (b) a Welch t-test over the three runs' mean scores per model",
              "(`tganaug.fidelity.compare_run_means`, p < 0.05 per measure, not corrected for the 12 measures; the",
              "procedural renderer is one run, so only (a) applies to it).", ""]
    body = []
    for name in ("training_seeds_fluo", "training_seeds_phase"):
        for r in rows(name):
            body.append([SHORT[r["dataset"]], r["baseline"], "(a) all pairings", *(r[m] for m in VERDICT_MEASURES)])
            if r.get("SSIM_run_means", "n/a") != "n/a":
                body.append([SHORT[r["dataset"]], r["baseline"], "(b) run means",
                             *(r[f"{m}_run_means"] for m in VERDICT_MEASURES)])
    lines += table(["eval data", "baseline", "rule", *VERDICT_MEASURES.values()], body)
    lines += ["", f"- Data: [training_seeds_fluo.csv]({FROM_PAGE}training_seeds_fluo.csv), "
              f"[training_seeds_phase.csv]({FROM_PAGE}training_seeds_phase.csv) (reports: "
              f"[training_seeds_fluo.md]({FROM_PAGE}training_seeds_fluo.md), "
              f"[training_seeds_phase.md]({FROM_PAGE}training_seeds_phase.md)), made by `benchmarks/training_seeds.py` from the",
              "  per-seed fidelity reports `fidelity_per_seed.csv` (training seed 0, the shipped models) and",
              "  `probe_trainseed{1,2}_{fluo,phase}_per_seed.csv`, whose headers name the machine.",
              f"- Commands: {provenance('training_seeds_fluo')[1]}; {provenance('training_seeds_phase')[1]}.",
              "- Seeds: training seeds 0, 1, 2; generation seeds 0, 1, 2 for each.", f"- Split: {EVAL_FRAMES}.", "",
              "## Noise ceiling and a real-vs-real reference", "",
              "The best SSIM / PSNR a mask-conditioned generator can reach against the noisy real frames (the real frame as",
              "the clean image, without and with noise at the real level; generous, since they grant the cells' real",
              "texture), and each eval frame's own predecessor scored against it, as imaged and moved into place by the",
              "flow of the real pair (an oracle).", ""]
    lines += table(["eval data", "noise sigma", "exact clean image", "clean image + realistic noise", "real previous frame",
                    "real previous frame, aligned"],
                   [[SHORT[r["dataset"]], number(r["sigma"], 4), f"{number(r['SSIM_clean'])} / {number(r['PSNR_clean'], 1)}",
                     f"{number(r['SSIM_noisy'])} / {number(r['PSNR_noisy'], 1)}",
                     f"{number(r['SSIM_previous'])} / {number(r['PSNR_previous'], 1)}",
                     f"{number(r['SSIM_previous_aligned'])} / {number(r['PSNR_previous_aligned'], 1)}"]
                    for r in rows("noise_ceiling")])
    lines += ["", "(SSIM / PSNR.)", ""] + source(["noise_ceiling"], seeds="noise seed 0")
    lines += ["", "## Without the SR stage", "",
              "tGAN and the per-frame model scored on their low-res frames, bilinearly up-sampled",
              "(`get_generator(\"tgan\", model=NAME, use_sr=False)`), beside the shipped models with their SR stage.", ""]
    no_sr = rows("probe_no_sr")
    lines += table(["eval data", "method", "SSIM ↑", "PSNR ↑", "FVD-like ↓", "warp error", "warp error of the real video"],
                   [[SHORT[r["dataset"]], r["method"].replace(" (fidelity)", ", with SR stage"), mean_sd(r, "SSIM"),
                     mean_sd(r, "PSNR", 2), mean_sd(r, "FVD_like"), mean_sd(r, "warp_error"), number(r["warp_error_real"])]
                    for r in no_sr if "procedural" not in r["method"]])
    lines += [""] + source(["probe_no_sr"], seeds="generation seeds 0, 1, 2")
    lines += ["", "## The other fluorescence models (one generation seed)", ""]
    body, seen = [], set()
    for name, model in (("fidelity_fast_subpixel", "fluo-nuclei-fast"), ("fidelity_x4s", "fluo-nuclei-x4")):
        for r in rows(name):
            values = tuple(number(r[k], d) for k, (_, d) in FIDELITY.items())  # the same baseline run twice
            if r["SSIM"] != "nan" and (r["method"], values) not in seen:
                seen.add((r["method"], values))
                label = f"tGAN `{model}`" if r["method"] == "tGAN" else r["method"]
                body.append([SHORT[r["dataset"]], label, *(number(r[k], d) for k, (_, d) in FIDELITY.items()),
                             number(r["warp_error_real"])])
    lines += table(["eval data", "method", *(h for h, _ in FIDELITY.values()), "warp error of the real video"], body)
    lines += [""] + source(["fidelity_fast_subpixel", "fidelity_x4s"], seeds="generation seed 0")
    lines += ["", "## Procedural renderer on the other datasets", "",
              "`tganaug benchmark fidelity --generator procedural` on 10 frames of each of these datasets (the shipped",
              "`fluo-nuclei` and `phase-contrast` were trained on none of them): the renderer and the intensity space",
              "fitted on the train frames of the same sequence (GOWT1 02: on GOWT1 01's, an unseen-sequence test). A first measurement that the benchmark runs on any dataset, not a",
              "comparison: tGANs fitted to U373 and PSC are compared with it in the next section.", ""]
    runs = [f"fidelity_procedural_{d}/fidelity" for d in PROCEDURAL_FIDELITY if (RESULTS / f"fidelity_procedural_{d}" / "fidelity.csv").is_file()]
    lines += table(["data", *(h for h, _ in FIDELITY.values())],
                   [[f"{r['dataset']}{' 02' if name.endswith('_02/fidelity') else ''}", *(number(r[k], d) for k, (_, d) in FIDELITY.items())]
                    for name in runs for r in rows(name)])
    lines += [""] + source(runs, seeds="generation seed 0", protocol="10 eval frames of sequence 01 (GOWT1: frames 0-9 of the evaluation-only sequence 02)")
    lines += ["", "## The paper's Table 1: U373 and PSC", "",
              "tGAN and its per-frame baseline fitted here by `tganaug fit --per-frame-baseline` on the train frames (a short,",
              "CPU-budgeted training: the steps are in the report), the procedural renderer fitted on the same frames, two",
              "real-data references, and the paper's numbers quoted. Masks: the eval frames' full outlines (markers joined to",
              "`01_ST/SEG`). Our LPIPS-like and FVD-like use our feature network: compare them within the table, not with the",
              "paper's LPIPS. The fitted tGAN beats the procedural renderer on SSIM, PSNR and LPIPS-like on both datasets",
              "(FVD-like: on PSC, not on U373); its per-frame baseline is level with it or slightly ahead. The paper's U373",
              "SSIM / PSNR lie above what a real image of the same cells one frame earlier scores against these eval frames,",
              "so its protocol (frames, intensity scaling) must differ from ours: its rows are quoted, not reproduced. The",
              "tGAN rows were rendered with the defaults: a 32-px mirrored edge margin and the 2-px background guard.", ""]
    lines += table(["data", "method", "source", "SSIM ↑", "PSNR ↑", "LPIPS (paper) / LPIPS-like (ours) ↓", "FVD-like ↓"],
                   [[SHORT.get(r["dataset"], r["dataset"]), r["method"], r["source"], mean_sd(r, "SSIM"), mean_sd(r, "PSNR", 2),
                     mean_sd(r, "LPIPS"), mean_sd(r, "FVD")] for r in rows("paper_table1")])
    lines += [""] + source(["paper_table1"], seeds="generation seeds 0, 1, 2 for the fitted methods; noise seed 0",
                           protocol="**eval** frames of sequence 01 (U373 t080-t114, PSC t070-t100); models fitted on the **train** frames")
    return lines


def _tracking_rows(name: str, dataset: str, sources: Sequence[str] = ("Real", "tgan")) -> list[dict[str, str]]:
    return [one(rows(name), dataset=dataset, source=s, tracker="laptrack") for s in sources]


def tracking_page() -> list[str]:
    lines = ["# Tracking on real vs synthetic twins", "",
             "The tGAN paper's Tables 2-3 protocol: render each eval video's GT masks with a generator, segment the real",
             "video and its synthetic twin with the shipped `unet` segmenter, link with `laptrack`, and score both against",
             "the same GT (MOTA, MT, ML, precision, recall, ID switches: motmetrics with mask IoU >= 0.5; TRA, DET, SEG:",
             "py-ctcmetrics). A twin that tracks like the real video is realistic where a tracker looks. tGAN: the shipped",
             "default of the modality (`fluo-nuclei` for SIM+ and GOWT1, `phase-contrast` for E. coli). GOWT1: no MOT",
             "measures (its TRA masks are markers); SEG from its 30 manually segmented frames; its twins in these reports",
             "were rendered from the markers (the benchmark now renders whole nuclei). E. coli: SEG from its dense",
             "TRA masks.", "",
             "## Shipped defaults (generation seed 0)", ""]
    main = [r for r in rows("tracking_real_vs_synthetic_unet") if r["tracker"] == "laptrack"]
    lines += table(["eval data", "video", *TRACKING],
                   [[SHORT[r["dataset"]], VIDEO[r["source"]], *(number(r[k], d) for k, d in TRACKING.items())] for r in main])
    lines += [""] + source(["tracking_real_vs_synthetic_unet"], seeds="generation seed 0", protocol=TRACKING_FRAMES)
    lines += ["", "## MOTA per generation seed, SIM+", "",
              "`tgan` rendered by the shipped `fluo-nuclei`, by its per-frame baseline (through `fluo-nuclei`'s SR stage), and",
              "by both retrained with training seeds 1 and 2 (not shipped); `fluo-nuclei-fast` and `fluo-nuclei-x4` with",
              "generation seed 0.", ""]
    sim = "Fluo-N2DH-SIM+"
    real = one(rows("tracking_real_vs_synthetic_unet"), dataset=sim, source="Real", tracker="laptrack")
    body = [["real video", "-", number(real["MOTA"]), "", ""]]
    groups = [("tGAN `fluo-nuclei` (shipped)", "0", ["tracking_real_vs_synthetic_unet", "tracking_real_vs_synthetic_unet_s1",
                                                      "tracking_real_vs_synthetic_unet_s2"]),
              ("per-frame model (shipped baseline)", "0", [f"tracking_real_vs_synthetic_unet_perframe_s{g}" for g in range(3)])]
    for seed in (1, 2):
        groups.append(("tGAN", str(seed), [f"tracking_real_vs_synthetic_unet_trainseed{seed}_s{g}" for g in range(3)]))
        groups.append(("per-frame model", str(seed), [f"tracking_real_vs_synthetic_unet_trainseed{seed}_perframe_s{g}" for g in range(3)]))
    groups += [("tGAN `fluo-nuclei-fast`", "0", ["tracking_real_vs_synthetic_unet_fast_subpixel"]),
               ("tGAN `fluo-nuclei-x4`", "0", ["tracking_real_vs_synthetic_unet_x4s"])]
    data = []
    for label, training_seed, files in groups:
        values = [number(one(rows(f), dataset=sim, source="tgan", tracker="laptrack")["MOTA"]) for f in files]
        body.append([label, training_seed, *values, *([""] * (3 - len(values)))])
        data.append(f"  - {label}, training seed {training_seed}: "
                    + ", ".join(f"[{f}.csv]({FROM_PAGE}{f}.csv)" for f in files))
    lines += table(["video", "training seed", "generation seed 0", "1", "2"], body)
    lines += ["", "- Data: the `tgan` / laptrack rows of these files (the real video's row: the first file); the `.md`",
              "  report beside each names its run folders and its exact command:", *data,
              f"- Machine: {provenance('tracking_real_vs_synthetic_unet_s1')[0]} (`fluo-nuclei-fast`: "
              f"{provenance('tracking_real_vs_synthetic_unet_fast_subpixel')[0]}).",
              "- Seeds: generation seeds 0, 1, 2 (`--seed`); training seeds as in the table.", f"- Split: {TRACKING_FRAMES}.", "",
              "## MOTA per generation seed, E. coli", ""]
    eco = "PhC-Ecoli-vanVliet"
    files = ["tracking_real_vs_synthetic_unet", "tracking_real_vs_synthetic_unet_ecoli_s1", "tracking_real_vs_synthetic_unet_ecoli_s2"]
    body = []
    for s, label in (("Real", "real video"), ("tgan", "tGAN `phase-contrast`")):
        body.append([label, *(number(one(rows(f), dataset=eco, source=s, tracker="laptrack")[k])
                              for f in files for k in ("MOTA",)),
                     *(number(one(rows(f), dataset=eco, source=s, tracker="laptrack")["DET"]) for f in files)])
    lines += table(["video", "MOTA seed 0", "MOTA seed 1", "MOTA seed 2", "DET seed 0", "DET seed 1", "DET seed 2"], body)
    lines += [""] + source(files, seeds="generation seeds 0, 1, 2", protocol=TRACKING_FRAMES)
    lines += ["", "## Dense colonies", "",
              "Video 01 of `tganaug generate --simulator colony --seed SEED` (the simulator's defaults, 30 frames of 256²)",
              "rendered by the shipped `phase-contrast` tGAN and by `procedural` fitted on the E. coli train frames, segmented",
              "by the shipped `phase-contrast` `unet` segmenter and scored against the simulator's labels on the last frame",
              "(CTC DET; merged / missed / spurious: its split, false-negative and false-positive counts). Mask components:",
              "the connected components of the binarised labels as the segmentation, i.e. the objects a binary mask shows",
              "(the tGAN renders binarised masks). Reference: the same segmenter on the last E. coli eval frame. DET by frame",
              f"and the measured reasons: [dense_colony.md]({FROM_PAGE}dense_colony.md).", ""]
    dense = rows("dense_colony")
    lines += table(["video", "seed", "coverage", "cells", "median cell area (px)", "DET", "merged", "missed", "spurious"],
                   [[DENSE[r["source"]], r["seed"] or "-", number(r["coverage"], 2), r["cells"], number(r["cell_area"], 0),
                     number(r["DET"]), r["merged"], r["missed"], r["spurious"]] for r in dense])
    lines += [""] + source(["dense_colony"], seeds="0, 1, 2 (simulation and rendering)",
                           protocol=f"the last frame ({one(dense, source='tgan', seed='0')['frame']}) of each simulated video; "
                           f"E. coli: eval frame t{int(one(dense, source='real E. coli')['frame']):03d} of sequence 01")
    lines += twin_section()
    lines += ["", "## The `threshold` segmenter", ""]
    thr = [r for r in rows("tracking_real_vs_synthetic_threshold") if r["tracker"] == "laptrack"]
    lines += table(["eval data", "video", *TRACKING],
                   [[SHORT[r["dataset"]], VIDEO[r["source"]], *(number(r[k], d) for k, d in TRACKING.items())] for r in thr])
    lines += [""] + source(["tracking_real_vs_synthetic_threshold"], seeds="generation seed 0", protocol=TRACKING_FRAMES)
    lines += ["", "## Trackers on GT masks", "", "Segmentation left out: each tracker links the eval GT masks.", ""]
    gt = rows("tracking_real_vs_synthetic_gt")
    lines += table(["eval data", "tracker", "MOTA", "IDSW", "TRA", "DET"],
                   [[SHORT[r["dataset"]], r["tracker"], number(r["MOTA"]), number(r["IDSW"], 0), number(r["TRA"]),
                     number(r["DET"])] for r in gt])
    lines += [""] + source(["tracking_real_vs_synthetic_gt"], protocol="eval GT masks of sequence 01, as above")
    lines += ["", "## Trackers on GT masks, with graph measures", "",
              "The eval GT masks of each dataset linked by `overlap`, `laptrack` and `trackastra` (the shipped masks-only",
              "model, trained on SIM+ 01 train frames: a cross-dataset test everywhere else), scored with motmetrics,",
              "py-ctcmetrics and traccuracy (LNK, CHOTA, division F1). MOT measures only where the TRA masks are full",
              "outlines (SIM+); elsewhere they are markers, so SEG compares markers with the SEG outlines and says little.",
              "`tganaug benchmark tracking --segmenter gt` (one run each). The SIM+-trained trackastra model tracks SIM+",
              "best of the three, but links almost nothing on U373 and PSC (LNK 0.000; cause not investigated): train",
              "it on the data it is to track (`benchmarks/train_trackastra.py`).", ""]
    gt_runs = [f"tracking_gt_masks_{d}/tracking" for d in GT_MASK_DATASETS if (RESULTS / f"tracking_gt_masks_{d}" / "tracking.csv").is_file()]
    lines += table(["eval data", "tracker", "MOTA", "TRA", "DET", "LNK", "CHOTA", "division F1", "seconds"],
                   [[r["dataset"], r["tracker"], *(number(r[k]) for k in ("MOTA", "TRA", "DET", "LNK", "CHOTA", "DIV_F1")),
                     number(r["seconds"], 2)] for name in gt_runs for r in rows(name)])
    lines += [""] + source(gt_runs, protocol="eval GT masks of sequence 01 (each folder's split)")
    lines += ["", "## Tracker runtime", "",
              "GT masks of the eval frames (segmentation excluded); btrack includes its GLPK hypothesis optimisation (time",
              "limit 60 s); `linker` uses the shipped model of the modality. Object = one instance in one frame.", ""]
    lines += table(["eval data", "frames", "objects", "tracker", "seconds", "ms per object"],
                   [[SHORT[r["dataset"]], r["frames"], r["objects"], r["tracker"], number(r["seconds"], 3),
                     number(r["ms_per_object"], 2)] for r in rows("tracker_runtime")])
    lines += [""] + source(["tracker_runtime"], seeds="best of 2 runs", protocol="eval GT masks of sequence 01, as above")
    return lines


#: twins of the unseen sequence SIM+ 02 (results/<name>/tracking.csv): folder -> what the generator was given
#: the twins of unseen sequences: report folder -> (sequence, what the generator was given)
TWINS = {"twin_unseen_Fluo-N2DH-SIM+_02_no_reference": ("SIM+ 02", "GT masks only"),
         "twin_unseen_Fluo-N2DH-SIM+_02_reference1": ("SIM+ 02", "GT masks + 1 unannotated frame (t000)"),
         "twin_unseen_Fluo-N2DH-GOWT1_02_reference1": ("GOWT1 02", "GT masks + 1 unannotated frame (t000)")}


def _mean_sd(values: Sequence[float]) -> str:
    """``mean ± sample sd`` of several values, the value alone for one, ``n/a`` for values not measured (NaN)."""
    if any(math.isnan(v) for v in values):
        return "n/a"
    if len(values) < 2:
        return number(values[0])
    return f"{number(statistics.mean(values))} ± {number(statistics.stdev(values))}"


def twin_section() -> list[str]:
    """The twin on the unseen sequence SIM+ 02 beside the same-sequence twin of SIM+ 01 (laptrack rows); nothing
    while no twin report exists."""
    runs = [name for name in TWINS if (RESULTS / name / "tracking.csv").is_file()]
    if not runs:
        return []
    lines = ["", "## Twin of an unseen sequence (SIM+ 02, GOWT1 02)", "",
             "The same protocol on every frame of SIM+ sequence 02, which no model was trained or fitted on: the shipped",
             "`fluo-nuclei` tGAN renders its GT masks, alone or in the look of one unannotated frame of it",
             "(`tganaug benchmark tracking --reference-frames 1`, `tganaug.appearance`); the shipped `unet` segmenter and",
             "`laptrack` run on the real video and on each twin. Gaps: tGAN mean minus real (the twin should track as the",
             "real video does). Beside it, the same-sequence rows of SIM+ 01 eval frames (above). On SIM+ 02 neither twin",
             "fails as the real video does: on the real frames the segmenter misses most nuclei and fragments the rest (low",
             "recall and precision); on both twins it finds nearly every nucleus and adds fragments (high recall, low",
             "precision). The one-frame look brings the twin's MOTA close to the real video's, its DET not: the MOTA match",
             "is not a faithful twin. On GOWT1 02 (markers as TRA masks; MOTA is scored against them grown by 9 px, as",
             "GOWT1 02 has no silver-truth outlines) the one-frame twin tracks worse than the real video: DET and TRA",
             "somewhat, MOTA far (the segmenter adds more false positives on the twin: lower precision). The SIM+ twins",
             "were rendered without the background guard (`background_guard=0`), the GOWT1 twin with it.", ""]
    same = [one(rows(name), dataset="Fluo-N2DH-SIM+", source="tgan", tracker="laptrack")
            for name in ("tracking_real_vs_synthetic_unet", "tracking_real_vs_synthetic_unet_s1", "tracking_real_vs_synthetic_unet_s2")]
    real_same = one(rows("tracking_real_vs_synthetic_unet"), dataset="Fluo-N2DH-SIM+", source="Real", tracker="laptrack")
    groups = [("same sequence: SIM+ 01 eval", "GT masks only", real_same, same)]
    for name in runs:
        table_rows = [r for r in rows(f"{name}/tracking") if r["tracker"] == "laptrack"]
        real = next(r for r in table_rows if r["source"] == "Real")
        sequence, given = TWINS[name]
        groups.append((f"unseen sequence: {sequence}, every frame", given, real, [r for r in table_rows if r["source"] != "Real"]))
    body = []
    for protocol, given, real, twins in groups:
        body.append([protocol, "real video", "", *(number(real[k]) for k in ("MOTA", "DET", "TRA", "precision", "recall")), "", "", ""])
        values = {k: [float(r[k]) for r in twins] for k in ("MOTA", "DET", "TRA", "precision", "recall")}
        body.append([protocol, "tGAN twin", given, *(_mean_sd(values[k]) for k in ("MOTA", "DET", "TRA", "precision", "recall")),
                     *(number(sum(values[k]) / len(values[k]) - float(real[k])) for k in ("MOTA", "DET", "TRA"))])
    lines += table(["protocol", "video", "generator given", "MOTA", "DET", "TRA", "precision", "recall", "MOTA gap", "DET gap",
                    "TRA gap"], body)
    sequences = ", ".join(dict.fromkeys(TWINS[name][0] for name in runs))
    lines += [""] + source(["tracking_real_vs_synthetic_unet"] + [f"{name}/tracking" for name in runs],
                           seeds="generation seeds 0, 1, 2", protocol=f"SIM+ 01 eval frames t045-t064; every frame of {sequences}")
    return lines


DOWNSTREAM = ("SEG", "DET", "TRA", "MOTA")
#: the unseen-sequence downstream reports: (report, dataset trained and scored on, its train frames)
UNSEEN = [("downstream_unseen_sequence_Fluo-N2DH-SIM+_02_procedural_random_appearance", "Fluo-N2DH-SIM+", "t000-t044"),
          ("downstream_unseen_sequence_Fluo-N2DH-GOWT1_02_procedural_random_appearance", "Fluo-N2DH-GOWT1", "t000-t049")]


def tgan_variant(name: str) -> str:
    """The report of the same downstream runs with videos of the shipped tGAN instead of the procedural renderer."""
    return name.replace("_procedural_", "_tgan_")


#: the SIM+ 02 report with videos of the shipped tGAN (the summary's row)
UNSEEN_TGAN = tgan_variant(UNSEEN[0][0])
#: the project's targets on each unseen sequence (best setup with at most 5 real frames)
UNSEEN_TARGETS = {"Fluo-N2DH-SIM+": {"DET": 0.90, "MOTA": 0.75}, "Fluo-N2DH-GOWT1": {"TRA": 0.85}}
#: what the numbers of an unseen sequence mean, where they need saying
UNSEEN_NOTES = {"Fluo-N2DH-GOWT1": ["Two GOWT1 01 frames hold 23 large, well separated nuclei each, labelled with their outlines:",
                                    "the augmented real baseline already detects them on GOWT1 02 as well as the synthetic",
                                    "setups do. With 5 real frames or all 50 the real baseline is less stable over seeds (see its",
                                    "sd; why was not measured) and the synthetic videos steady it: the K = 5 gain comes from that."]}


def _setup_table(name: str, protocol: str) -> list[str]:
    """A downstream report's rows (one per training setup, mean ± sd over seeds) and their provenance."""
    lines = table(["training data", "seeds", "SEG", "DET", "TRA", "MOTA", "division recall"],
                  [[r["setup"], r["seeds"], *(mean_sd(r, k, mean=f"{k}_mean") for k in ("SEG", "DET", "TRA", "MOTA", "DIV_recall"))]
                   for r in rows(name)])
    return lines + [""] + source([name], seeds="0, 1, 2 (segmenter training, simulation and rendering)", protocol=protocol)


def learned_trackers_variant(name: str) -> str:
    """The report of the same downstream runs (K = 2) linked by the learned trackers trained per setup too."""
    return f"{name}_linker"


def _tracker_table(name: str, protocol: str) -> list[str]:
    """A downstream report with several trackers: one row per training setup and tracker (mean ± sd over seeds)."""
    lines = table(["training data", "tracker", "seeds", "SEG", "DET", "TRA", "MOTA", "division recall"],
                  [[r["setup"], r["tracker"], r["seeds"], *(mean_sd(r, k, mean=f"{k}_mean")
                                                            for k in ("SEG", "DET", "TRA", "MOTA", "DIV_recall"))]
                   for r in rows(name)])
    return lines + [""] + source([name], seeds="0, 1, 2 (segmenter, linker and trackastra training, simulation and rendering)",
                                 protocol=protocol)


def _learned_verdict(name: str) -> str:
    """One sentence: per setup, each learned tracker's MOTA less laptrack's, and whether it exceeds the larger of the two
    seed sds."""
    by_key = {(r["setup"], r["tracker"]): r for r in rows(name)}
    parts = []
    for setup in dict.fromkeys(r["setup"] for r in rows(name)):
        base = by_key[(setup, "laptrack")]
        for tracker in ("linker", "trackastra"):
            if (setup, tracker) in by_key:
                other = by_key[(setup, tracker)]
                change = float(other["MOTA_mean"]) - float(base["MOTA_mean"])
                spread = max(float(other["MOTA_sd"]), float(base["MOTA_sd"]))
                parts.append(f"{tracker} on {setup} {change:+.3f}{'' if abs(change) > spread else ' (within the seed sd)'}")
    return f"MOTA of the learned trackers less `laptrack`'s: {'; '.join(parts)}."


def _gain(by_setup: dict[str, dict[str, str]], setup: str, baseline: str, key: str) -> float:
    """Mean ``key`` of a downstream setup less that of its baseline setup (rows of one report by setup name)."""
    return float(by_setup[setup][f"{key}_mean"]) - float(by_setup[baseline][f"{key}_mean"])


def _unseen_verdict(dataset: str, by_setup: dict[str, dict[str, str]]) -> list[str]:
    """The gains of the synthetic setups over the augmented real baseline for each K <= 5 reported, and the targets
    (judged on the synthetic setups, ``real-K+syn`` and ``syn-only``, with K <= 5)."""
    mean = lambda setup, key: float(by_setup[setup][f"{key}_mean"])  # noqa: E731
    lines = []
    for k in (2, 5, "all"):
        real, mixed = f"real-{k}", f"real-{k}+syn"
        if real not in by_setup or mixed not in by_setup:
            continue
        gains = ", ".join(f"{key} by {_gain(by_setup, mixed, real, key):+.3f}" for key in ("DET", "TRA", "MOTA"))
        text = f"With {'every train frame' if k == 'all' else f'{k} real frames'} the synthetic videos change {gains}"
        if "syn-only" in by_setup:
            text += (f"; synthetic videos alone differ from {real} by DET {_gain(by_setup, 'syn-only', real, 'DET'):+.3f}, "
                     f"TRA {_gain(by_setup, 'syn-only', real, 'TRA'):+.3f}")
        if k == "all":  # the gain target is for K <= 5
            lines.append(f"{text}.")
            continue
        best_gain = max(_gain(by_setup, setup, real, key) for setup in (mixed, "syn-only") if setup in by_setup for key in ("DET", "TRA"))
        lines.append(f"{text}. A gain of 0.05 DET or TRA at K = {k}: {'reached' if best_gain >= 0.05 else 'not reached'} "
                     f"(best {best_gain:+.3f}).")
    synthetic = [setup for setup in by_setup if setup == "syn-only" or (setup.endswith("+syn") and setup[5:-4].isdigit()
                                                                        and int(setup[5:-4]) <= 5)]
    reached = []
    for key, goal in UNSEEN_TARGETS[dataset].items():
        if synthetic:
            best = max(mean(setup, key) for setup in synthetic)
            reached.append(f"{key} >= {goal:.2f} {'reached' if best >= goal else 'not reached'} (best synthetic setup {best:.3f})")
    if reached:
        lines.append(f"Target, best synthetic setup with at most 5 real frames: {', '.join(reached)}.")
    return [part for line in lines for part in (line, "")][:-1]  # one paragraph each


#: the MOTA-by-cause report of the best SIM+ 02 setups (benchmarks/mota_breakdown.py)
MOTA_BREAKDOWN = "mota_breakdown_Fluo-N2DH-SIM+_02"


def mota_breakdown_section() -> list[str]:
    """Why MOTA stays below its target on SIM+ 02: the best setups' MOTA errors by cause (mean rows of the report)."""
    if not (RESULTS / f"{MOTA_BREAKDOWN}.csv").is_file():
        return []
    means = [r for r in rows(MOTA_BREAKDOWN) if r["run"].endswith(")")]
    lines = ["", "#### Where MOTA goes on SIM+ 02", "",
             "The two best setups' segmenters, linked by `laptrack` as above, against SIM+ 02's outlines (mean over the",
             "three seeds' runs). MOTA counts a nucleus found with the wrong outline (IoU with its mask below 0.5) as a",
             "miss *and* a false positive, and every fragment as a false positive. Looser matching (a diagnostic, not",
             "the reported MOTA) shows how much of the loss is outline and fragment, not detection:", ""]
    body = [[r["run"].replace(" (mean of 3)", ""), number(r["MOTA"]), number(r["GT_objects"], 0), number(r["FN"], 0),
             number(r["FP"], 0), number(r["FP_fragment"], 0), number(r["FP_wrong_shape"], 0), number(r["FP_spurious"], 0),
             number(r["IDSW"], 0), number(r["GT_IoU_median"]), number(r["GT_IoU_over_half"]), number(r["MOTA_IoU_0.3"]),
             number(r["MOTA_centroid_10px"])] for r in means]
    lines += table(["segmenters (3 seeds)", "MOTA", "GT objects", "misses", "false pos.", "of which fragments",
                    "wrong outline", "spurious", "ID switches", "median GT IoU", "GT IoU >= 0.5", "MOTA at IoU 0.3",
                    "MOTA, centroids 10 px"], body)
    fragments = max(float(r["FP_fragment"]) / float(r["GT_objects"]) for r in means)
    shape = max(2 * float(r["FP_wrong_shape"]) / float(r["GT_objects"]) for r in means)
    loose = max(max(float(r["MOTA_IoU_0.3"]), float(r["MOTA_centroid_10px"])) for r in means)
    switches = max(float(r["IDSW"]) / float(r["GT_objects"]) for r in means)
    lines += ["", f"Fragments alone cost up to {fragments:.2f} MOTA and nuclei found with the wrong outline up to {shape:.2f}",
              f"(a miss and a false positive each); identity switches cost at most {switches:.2f}. Even matched by centroids",
              f"or at IoU 0.3 these tracks reach at most {loose:.2f}. So the 0.75 target needs segmenters that keep SIM+ 02's",
              "dim, blotchy nuclei whole and outline them as its masks do; better linking alone cannot reach it.", ""]
    return lines + source([MOTA_BREAKDOWN], seeds="the runs' seeds 0, 1, 2",
                          protocol="the downstream runs above (train frames of SIM+ 01); every frame of SIM+ 02")


def _downstream(r: dict[str, str], decimals: int = 3) -> list[str]:
    return [f"{number(r[f'{k}_mean'], decimals)} ± {number(r[f'{k}_sd'], decimals)}" for k in DOWNSTREAM]


def downstream_page() -> list[str]:
    lines = ["# Does synthetic data help?", "",
             "Per setup and seed, the `unet` segmenter (200 steps) is trained on (a) the first K real *train* frames",
             "(`real-K`), (b) the same frames plus synthetic videos (`real-K+syn`), or (c) synthetic videos only",
             "(`syn-only`). Synthetic videos: the `division` simulator fitted with `from_ctc` on the same real frames,",
             "rendered by the generator on its default background. The segmenter segments the *eval* frames, `laptrack`",
             "(and, where run, the learned `linker`, 1,500 steps, trained on the same data) link them; SEG / DET / TRA:",
             "py-ctcmetrics, MOTA: motmetrics. Mean ± sd (population sd) over seeds 0, 1, 2.", "",
             "## Unseen sequence: trained on sequence 01, scored on every frame of sequence 02", "",
             "The protocol a user needs: models trained on a few annotated frames of one recording, scored on the next",
             "recording (sequence 02 of SIM+ and GOWT1 is evaluation-only: nothing is trained, fitted or selected on it).",
             "The real baseline gets MONAI intensity, contrast, noise and blur augmentation besides flips and rotations;",
             "real frames are labelled with full outlines (GOWT1's markers grown to its SEG outlines). The synthetic",
             "videos are `procedural` renderings of the `division` simulator fitted on the same real frames, with a",
             "seeded random appearance per video (`tganaug.appearance`); `laptrack` links. Mean ± sd (population sd)",
             "over seeds 0, 1, 2."]
    for name, dataset, frames in UNSEEN:
        if not (RESULTS / f"{name}.csv").is_file():
            continue
        by_setup = {r["setup"]: r for r in rows(name)}
        lines += ["", f"### {SHORT[dataset]} 02 (trained on {SHORT[dataset]} 01)", "", *_unseen_verdict(dataset, by_setup),
                  *([""] + UNSEEN_NOTES[dataset] if dataset in UNSEEN_NOTES else []), ""]
        protocol = f"train frames {frames} of {SHORT[dataset]} 01 (the first K for real-K); every frame of {SHORT[dataset]} 02"
        lines += _setup_table(name, protocol)
        tgan_name = tgan_variant(name)
        if (RESULTS / f"{tgan_name}.csv").is_file():
            lines += ["", "The same with the synthetic videos rendered by the shipped tGAN `fluo-nuclei` (on its default",
                      "background, with the same seeded random appearance) instead of the procedural renderer:", "",
                      *_unseen_verdict(dataset, {r["setup"]: r for r in rows(tgan_name)}), ""]
            lines += _setup_table(tgan_name, protocol)
        learned = learned_trackers_variant(name)
        if (RESULTS / f"{learned}.csv").is_file():
            lines += ["", "The K = 2 setups linked three ways: `laptrack`, and the learned `linker` (MLP, 1,500 steps) and a",
                      "masks-only trackastra transformer (40 epochs from scratch), each trained per setup and seed on the",
                      "same kind of data as the segmenter (the K frames' tracks and / or simulated `division` videos).",
                      "The segmentation is the same for all three, so DET and SEG are too:", ""]
            lines += _tracker_table(learned, protocol)
            lines += ["", _learned_verdict(learned)]
        if dataset == "Fluo-N2DH-SIM+":
            lines += mota_breakdown_section()
    lines += eval_frames_section()
    lines += segmenter_choice_section()
    lines += ["",
             "## Shipped tGAN models, K = 2", "",
             "Rendered on the default background as it was before cell-sized remnants were removed from the reference",
             "backgrounds (`tganaug.models.reference`), and without the mirrored edge margin (`TGAN(edge_margin=0)`):",
             "those remnants showed as nuclei without masks in some videos, and the frame edges as a dark band",
             "([unlabelled_objects.md](" + FROM_PAGE + "unlabelled_objects.md)); these rows have not been re-run since.", ""]
    body = []
    for dataset, model in (("Fluo-N2DH-SIM+", "fluo-nuclei"), ("PhC-Ecoli-vanVliet", "phase-contrast")):
        for r in rows(f"downstream_gain_{dataset}_tgan"):
            body.append([SHORT[dataset], f"`{model}`", r["setup"], r["tracker"], *_downstream(r)])
    lines += table(["eval data", "generator", "training data", "tracker", *DOWNSTREAM], body)
    lines += [""] + source(["downstream_gain_Fluo-N2DH-SIM+_tgan", "downstream_gain_PhC-Ecoli-vanVliet_tgan"],
                           seeds="0, 1, 2 (segmenter training, simulation and rendering)")
    lines += ["", "## Procedural videos, K = 2, 5 and all, with the learned linker", "",
              "Made with an earlier version of the `division` simulator (before the fractional division cycle was",
              "rounded at random and new cells started at the size of their age).", ""]
    body = []
    for dataset in ("Fluo-N2DH-SIM+", "PhC-Ecoli-vanVliet"):
        for r in rows(f"downstream_gain_{dataset}_procedural"):
            if r["tracker"] != "linker on GT masks":
                body.append([SHORT[dataset], r["setup"], r["tracker"], *_downstream(r)])
    lines += table(["eval data", "training data", "tracker", *DOWNSTREAM], body)
    lines += ["", "The learned linker alone, trained per setup and linking the eval **GT** masks (the simulated videos",
              "give it masks and tracks, so the generator plays no part):", ""]
    body = []
    for dataset in ("Fluo-N2DH-SIM+", "PhC-Ecoli-vanVliet"):
        for r in rows(f"downstream_gain_{dataset}_procedural"):
            if r["tracker"] == "linker on GT masks":
                body.append([SHORT[dataset], r["setup"], *(f"{number(r[f'{k}_mean'], 4)} ± {number(r[f'{k}_sd'], 4)}"
                                                          for k in ("TRA", "MOTA"))])
    lines += table(["eval data", "linker training data", "TRA", "MOTA"], body)
    lines += [""] + source(["downstream_gain_Fluo-N2DH-SIM+_procedural", "downstream_gain_PhC-Ecoli-vanVliet_procedural"],
                           seeds="0, 1, 2")
    return lines


#: datasets new to the project scored on their own eval frames: (dataset, train frames, eval frames, the synthetic look)
EVAL_FRAME_DATASETS = (("Fluo-N2DL-HeLa", "t000-t029", "t030-t045", "random_appearance"),
                       ("PhC-C2DH-U373", "t000-t079", "t080-t114", "no_appearance"),
                       ("PhC-C2DL-PSC", "t000-t069", "t070-t100", "no_appearance"),
                       ("DIC-C2DH-HeLa", "t000-t059", "t060-t083", "no_appearance"))


#: what the eval-frame rows of a dataset mean, where they need saying (cell counts: the full outlines of the two frames)
EVAL_FRAME_NOTES = {
    "Fluo-N2DL-HeLa": ["The two real frames hold 43 nuclei each. The synthetic videos lower DET and TRA here, and widen",
                       "the spread over seeds; why was not measured."],
    "PhC-C2DH-U373": ["The two real frames hold 6 cells each: trained on them alone the segmenter finds almost none of",
                      "the eval frames' cells, with the synthetic videos two thirds of them. MOTA stays negative (more",
                      "errors than cells to track)."],
    "PhC-C2DL-PSC": ["The two real frames hold 183 and 185 cells: the synthetic videos change nothing beyond the spread",
                     "over seeds. SEG is n/a: PSC has no manual SEG masks, which py-ctcmetrics' SEG needs."],
    "DIC-C2DH-HeLa": ["The segmenter fails on the DIC eval frames with and without the synthetic videos (DET about 0.4,",
                      "SEG 0.04); the synthetic videos change nothing beyond the spread over seeds."],
}


def eval_frames_section() -> list[str]:
    """The downstream setups on the eval frames of the datasets no shipped model was trained on (same sequence)."""
    present = [(d, train, scored, look) for d, train, scored, look in EVAL_FRAME_DATASETS
               if (RESULTS / f"downstream_eval_frames_{d}_procedural_{look}.csv").is_file()]
    if not present:
        return []
    lines = ["", "## Eval frames of datasets new to the project", "",
             "The same setups trained on K = 2 train frames of sequence 01 of each dataset (full outlines: its markers",
             "joined to the `01_ST` silver truth) and scored on that sequence's eval frames. The synthetic videos are",
             "`procedural` renderings of the `division` simulator, both fitted on the same two frames; on the",
             "fluorescence dataset with a seeded random appearance per video, on the phase-contrast and DIC datasets in",
             "the fitted renderer's own look (the random appearance models fluorescent nuclei). `syn-only`, where run,",
             "trains on synthetic videos alone, simulator and renderer fitted on every train frame. `laptrack` links.",
             "Mean ± sd (population sd) over seeds 0, 1, 2."]
    for dataset, train, scored, look in present:
        name = f"downstream_eval_frames_{dataset}_procedural_{look}"
        by_setup = {r["setup"]: r for r in rows(name)}
        lines += ["", f"### {SHORT[dataset]}", ""]
        if "real-2" in by_setup and "real-2+syn" in by_setup:
            gain = {k: _gain(by_setup, "real-2+syn", "real-2", k) for k in ("DET", "TRA", "MOTA")}
            alone = ""
            if "syn-only" in by_setup:
                alone = (f" Synthetic videos alone differ from real-2 by DET {_gain(by_setup, 'syn-only', 'real-2', 'DET'):+.3f} "
                         f"and TRA {_gain(by_setup, 'syn-only', 'real-2', 'TRA'):+.3f}.")
            lines += [f"With 2 real frames the synthetic videos change DET by {gain['DET']:+.3f}, TRA by {gain['TRA']:+.3f} and "
                      f"MOTA by {gain['MOTA']:+.3f}.{alone}", *EVAL_FRAME_NOTES.get(dataset, []), ""]
        lines += _setup_table(name, f"train frames {train} of {SHORT[dataset]} 01 (the first 2 for real-2); eval frames {scored} of 01")
    return lines


def segmenter_choice_section() -> list[str]:
    """The shipped ``unet`` segmenter against a candidate trained with synthetic data, and which the fixed rule ships."""
    name = "segmenter_choice"
    if not (RESULTS / f"{name}.csv").is_file():
        return []
    table_rows = rows(name)
    chosen = next(r["segmenter"] for r in table_rows if r["chosen"] == "True")
    targets = list(dict.fromkeys(r["target"] for r in table_rows))
    decide = [t for t in targets if one(table_rows, target=t, segmenter=chosen)["role"] == "decides"]
    lines = ["", "## Which segmenter ships", "",
             "The shipped `fluo-nuclei` `unet` segmenter (800 steps on every SIM+ 01 train frame, flips and rotations) against",
             "a candidate trained as the downstream benchmark's `real-all+syn` setup (800 steps of batch 8 on every SIM+ 01",
             "train frame, MONAI intensity augmentation, half of the items `procedural` videos with a random appearance). A",
             f"rule fixed before scoring decides, on {' and '.join(decide)} only: the candidate ships if its DET and TRA are",
             "higher on the dataset neither was trained on and its DET on the training dataset's eval frames is at most 0.01",
             f"lower. The evaluation-only sequences are reported, never used to choose. Chosen: `{chosen}`.", ""]
    body = [[r["target"], r["role"], r["segmenter"], *(number(r[k]) for k in ("SEG", "DET", "TRA", "MOTA"))] for r in table_rows]
    lines += table(["scored on", "role", "segmenter", "SEG", "DET", "TRA", "MOTA"], body)
    better = {t: max(select(table_rows, target=t), key=lambda r: float(r["DET"]))["segmenter"] for t in targets}
    lines += ["", "Higher DET: " + "; ".join(f"{t}: `{better[t]}`" for t in targets) + ". The candidate's training run: "
              f"[downstream_all_train_frames_Fluo-N2DH-SIM+_procedural_random_appearance.md]({FROM_PAGE}"
              "downstream_all_train_frames_Fluo-N2DH-SIM+_procedural_random_appearance.md)."]
    lines += [""] + source([name], seeds="one trained network per segmenter (seed 0)",
                           protocol="eval frames of SIM+ 01 (t045-t064) and Fluo-N2DL-HeLa 01 (t030-t045); every frame of "
                                    "SIM+ 02 and GOWT1 02")
    return lines


def index_page() -> list[str]:
    return ["# Results", "",
            "Every table in these pages is written by `docs/build_results.py` from the result files the benchmark scripts",
            "committed under `benchmarks/results/`; each table names its CSV, the report beside it, the machine, the exact",
            "command, the seeds and the split. Protocol: the fixed frame splits of the shared data (`tganaug.splits`):",
            "every model was trained on **train** frames, every figure is measured on **eval** frames of the same sequence",
            "(GOWT1 01: a dataset no shipped model was trained on). All were measured on CPU (2 cores, no GPU).",
            "Second protocol, what a user needs: sequence 02 of SIM+ and GOWT1 is **evaluation-only** (nothing is trained,",
            "fitted or selected on it); models trained on sequence 01 are scored on every frame of it (unseen sequence:",
            "[downstream.md](downstream.md), and the twins in [tracking.md](tracking.md)).", "",
            "| page | what |", "| --- | --- |",
            "| [fidelity.md](fidelity.md) | generated vs real eval frames: SSIM, PSNR, LPIPS-like, FVD-like, warp error; across training seeds; noise ceiling |",
            "| [tracking.md](tracking.md) | segment-then-track on the real eval video vs its synthetic twin; detection in dense colonies; trackers on GT masks; tracker runtime |",
            "| [downstream.md](downstream.md) | a segmenter (and linker) trained on few real frames, real + synthetic, or synthetic only |", "",
            "Benchmarks that write no CSV, with their reports:", "",
            "| report | what |", "| --- | --- |",
            f"| [simulator_fit.md]({FROM_PAGE}simulator_fit.md) | simulators fitted with `from_ctc` vs the real train frames (density, area, speed, division rate); coverage of the `colony` simulator |",
            f"| [throughput_tgan_x4_render_batch4.txt]({FROM_PAGE}throughput_tgan_x4_render_batch4.txt), [throughput_tgan_x4.txt]({FROM_PAGE}throughput_tgan_x4.txt), [throughput_tgan_fast_render_batch4.txt]({FROM_PAGE}throughput_tgan_fast_render_batch4.txt) | `SyntheticVideoDataset` frames/s next to the real TIFF loader, generator FLOP rate, memory vs video length |",
            f"| [throughput_appearance.md]({FROM_PAGE}throughput_appearance.md) | the same with the appearance wrapper (random look, reference frame), and its CPU cost per frame |",
            f"| [throughput_tgan_x4_defaults.txt]({FROM_PAGE}throughput_tgan_x4_defaults.txt) | `fluo-nuclei-x4` with its default background guard and edge margin, with and without each and a random look |",
            f"| [soak.md]({FROM_PAGE}soak.md) | 10,000 synthetic frames through a 2-worker DataLoader, RSS over time |",
            f"| [precision_check.md]({FROM_PAGE}precision_check.md) | opt-in bfloat16 vs float32 tGAN inference |",
            f"| [training/README.md]({FROM_PAGE}training/README.md) | training logs of the shipped tGAN models |"]


def summary_block() -> list[str]:
    """README's results summary: a few figures, each from the CSV its row links."""
    sim, eco = "Fluo-N2DH-SIM+", "PhC-Ecoli-vanVliet"
    t = [one(rows(f), dataset=sim, source="tgan", tracker="laptrack")["MOTA"] for f in
         ("tracking_real_vs_synthetic_unet", "tracking_real_vs_synthetic_unet_s1", "tracking_real_vs_synthetic_unet_s2")]
    p = [one(rows(f"tracking_real_vs_synthetic_unet_perframe_s{g}"), dataset=sim, source="tgan", tracker="laptrack")["MOTA"]
         for g in range(3)]
    real = one(rows("tracking_real_vs_synthetic_unet"), dataset=sim, source="Real", tracker="laptrack")["MOTA"]
    down = {r["setup"]: r for r in rows("downstream_gain_Fluo-N2DH-SIM+_tgan")}
    down_eco = {r["setup"]: r for r in rows("downstream_gain_PhC-Ecoli-vanVliet_tgan")}
    unseen = {r["setup"]: r for r in rows(UNSEEN[0][0])}
    unseen_gowt1 = {r["setup"]: r for r in rows(UNSEEN[1][0])} if (RESULTS / f"{UNSEEN[1][0]}.csv").is_file() else {}
    unseen_tgan = {r["setup"]: r for r in rows(UNSEEN_TGAN)} if (RESULTS / f"{UNSEEN_TGAN}.csv").is_file() else {}
    fid = {(r["dataset"], r["method"]): r for r in rows("fidelity")}

    def mean_pm(r: dict[str, str], key: str) -> str:
        return f"{number(r[f'{key}_mean'])} ± {number(r[f'{key}_sd'])}"

    link = lambda name: f"[{name}.csv]({FROM_README}{name}.csv)"  # noqa: E731
    body = [
        ["SIM+ eval video rendered by `fluo-nuclei` from its GT masks, segmented (`unet`) and tracked (`laptrack`)",
         f"MOTA {' / '.join(number(x) for x in t)} (generation seeds 0 / 1 / 2); real video {number(real)}; "
         f"per-frame model {' / '.join(number(x) for x in p)}",
         f"{link('tracking_real_vs_synthetic_unet')}, `_s1`, `_s2`, `_perframe_s*`"],
        ["SIM+: segmenter trained on 2 real frames / + tGAN videos / tGAN videos only, eval MOTA (3 seeds; tGAN videos "
         "on the default background before its remnants were removed, without the edge margin)",
         f"{mean_pm(down['real-2'], 'MOTA')} / {mean_pm(down['real-2+syn'], 'MOTA')} / **{mean_pm(down['syn-only'], 'MOTA')}**",
         link("downstream_gain_Fluo-N2DH-SIM+_tgan")],
        ["**Unseen recording**: trained on SIM+ 01, scored on every frame of SIM+ 02. 2 real frames (MONAI intensity, "
         "noise, blur augmentation) / + `procedural` videos with random appearance: DET, MOTA (3 seeds)",
         " / ".join(f"{mean_sd(unseen[k], 'DET', mean='DET_mean')}, {mean_sd(unseen[k], 'MOTA', mean='MOTA_mean')}" for k in ("real-2", "real-2+syn")),
         link(UNSEEN[0][0])],
        *([["**Unseen recording** SIM+ 02, the same with videos of the shipped tGAN `fluo-nuclei` (random appearance): "
            "2 real frames + tGAN videos / tGAN videos only: DET, MOTA (3 seeds)",
            " / ".join(f"{mean_sd(unseen_tgan[k], 'DET', mean='DET_mean')}, {mean_sd(unseen_tgan[k], 'MOTA', mean='MOTA_mean')}"
                       for k in ("real-2+syn", "syn-only")),
            link(UNSEEN_TGAN)]] if unseen_tgan else []),
        *([["**Unseen recording**: trained on GOWT1 01, scored on every frame of GOWT1 02, same setups: DET, TRA (3 seeds)",
            " / ".join(f"{mean_sd(unseen_gowt1[k], 'DET', mean='DET_mean')}, {mean_sd(unseen_gowt1[k], 'TRA', mean='TRA_mean')}"
                       for k in ("real-2", "real-2+syn")),
            link(UNSEEN[1][0])]] if unseen_gowt1 else []),
        ["E. coli: the same with `phase-contrast` videos, eval SEG (3 seeds)",
         f"{mean_pm(down_eco['real-2'], 'SEG')} / {mean_pm(down_eco['real-2+syn'], 'SEG')} / {mean_pm(down_eco['syn-only'], 'SEG')}",
         link("downstream_gain_PhC-Ecoli-vanVliet_tgan")],
        ["SIM+ fidelity, tGAN / procedural / per-frame model: SSIM, FVD-like (3 generation seeds)",
         " / ".join(f"{number(fid[(sim, m)]['SSIM'])}, {number(fid[(sim, m)]['FVD_like'])}"
                    for m in ("tGAN", "procedural", "per-frame model")),
         link("fidelity")],
        ["E. coli (eval frames denser than any train frame) fidelity, same order",
         " / ".join(f"{number(fid[(eco, m)]['SSIM'])}, {number(fid[(eco, m)]['FVD_like'])}"
                    for m in ("tGAN", "procedural", "per-frame model")),
         link("fidelity")],
    ]
    return [SUMMARY_BEGIN, ""] + table(["measured (eval frames, CPU)", "result", "data"], body) + ["", SUMMARY_END]


PAGE_BUILDERS: dict[str, Callable[[], list[str]]] = {"index.md": index_page, "fidelity.md": fidelity_page,
                                                     "tracking.md": tracking_page, "downstream.md": downstream_page}
NOTICE = "<!-- written by docs/build_results.py from benchmarks/results/*.csv; do not edit: run the script -->"


def outputs() -> dict[Path, str]:
    """Every file this script writes -> its content."""
    out = {PAGES / name: "\n".join([NOTICE, "", *build()]) + "\n" for name, build in PAGE_BUILDERS.items()}
    readme = README.read_text()
    if SUMMARY_BEGIN not in readme or SUMMARY_END not in readme:
        raise SystemExit(f"build_results: README.md lacks the results summary markers ({SUMMARY_BEGIN!r} ... {SUMMARY_END!r})")
    head, rest = readme.split(SUMMARY_BEGIN, 1)
    tail = rest.split(SUMMARY_END, 1)[1]
    out[README] = head + "\n".join(summary_block()) + tail
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each file that differs")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if path.is_file() and path.read_text() == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(REPO)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, text.encode())
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print("not what docs/build_results.py writes (run it): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
