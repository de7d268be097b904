"""Export trained tGAN runs into ``tganaug/weights`` and write the model cards (markdown + JSON).

    python benchmarks/ship_tgan.py --name fluo-nuclei --run runs/tgan-fluo-nuclei
    python benchmarks/ship_tgan.py --name fluo-nuclei-fast --run runs/x --stages sr   # replace one stage only
    python benchmarks/ship_tgan.py --cards-only      # refresh MODEL_CARD.md / model_cards.json
    python benchmarks/ship_tgan.py --add-backgrounds  # put reference backgrounds into weights shipped without them
    python benchmarks/ship_tgan.py --name fluo-nuclei --run runs/perframe-res/lowres --per-frame-baseline

``--per-frame-baseline`` exports the low-res run of a model's per-frame baseline (the fidelity benchmark's baseline b,
rendered through the model's own SR stage) into ``benchmarks/baselines/perframe-<model>/``, with a card, so that
``benchmarks/fidelity.py`` compares against the same weights on any machine. A run folder holds ``lowres/`` and
``sr/`` training runs (``tganaug train lowres|sr``). Only the
generators are exported (no discriminator, FlowNet, optimiser or RNG state), so the shipped
files stay small. The cards collect, per model: data and split, citation, config, steps,
CPU time (from the runs' CSV logs) and the fidelity figures measured by
``benchmarks/fidelity.py`` (``benchmarks/results/fidelity.csv``) and the noise ceiling of
``benchmarks/noise_ceiling.py`` (``benchmarks/results/noise_ceiling.csv``) and the segment-then-track
scores of ``benchmarks/tracking_real_vs_synthetic.py --segmenter unet``, when present.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
from pathlib import Path

import numpy as np

import tganaug
from tganaug.fitting import RECIPE_MODELS, run_cpu_hours
from tganaug.models.tgan import SHIPPED_MODELS
from tganaug.splits import DATASET_CITATIONS
from tganaug.training.background import reference_backgrounds
from tganaug.training.checkpoint import (
    export_generator,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from tganaug.training.data import load_videos
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_json
from tganaug.utils.weights import WEIGHTS_DIR

REPO = Path(__file__).resolve().parents[1]
FIDELITY_DATASETS = {"fluo-nuclei": ["Fluo-N2DH-SIM+"], "phase-contrast": ["PhC-T98G-Usiigaci", "PhC-Ecoli-vanVliet"],
                     "fluo-nuclei-fast": ["Fluo-N2DH-SIM+"], "fluo-nuclei-x4": ["Fluo-N2DH-SIM+"]}
#: model -> the reports its card quotes, where they are not the main ones (fidelity, tracking_real_vs_synthetic_unet,
#: which score the shipped defaults): a model that is not its modality's default has reports of its own
MODEL_REPORTS = {"fluo-nuclei-fast": {"fidelity": "fidelity_fast_subpixel", "tracking_real_vs_synthetic_unet": "tracking_real_vs_synthetic_unet_fast_subpixel"},
                 "fluo-nuclei-x4": {"fidelity": "fidelity_x4s", "tracking_real_vs_synthetic_unet": "tracking_real_vs_synthetic_unet_x4s"}}

#: model -> training seed -> the fidelity report of a replicate trained with that seed (the model's low-res config, data
#: and steps, and the per-frame baseline's likewise; not shipped): its card shows how much a retrain moves each figure
TRAINING_SEED_REPORTS = {"fluo-nuclei": {1: "probe_trainseed1_fluo", 2: "probe_trainseed2_fluo"},
                         "phase-contrast": {1: "probe_trainseed1_phase", 2: "probe_trainseed2_phase"}}
#: model -> the report that judges it against the baselines across those training seeds (benchmarks/training_seeds.py)
ACROSS_SEEDS_REPORTS = {"fluo-nuclei": "training_seeds_fluo", "phase-contrast": "training_seeds_phase"}


BASELINES_DIR = REPO / "benchmarks" / "baselines"
#: shipped model -> folder (in BASELINES_DIR) of its per-frame baseline's low-res generator
PER_FRAME_BASELINES = {"fluo-nuclei": "perframe-fluo-nuclei", "phase-contrast": "perframe-phase-contrast"}


def _log_summary(run: Path) -> dict[str, float]:
    """Steps, an estimate of the CPU time (mean logged step time x steps) and the last logged L1. A logged step time
    above 10x the median is a pause (a run stopped and resumed, or suspended while CI ran) and is left out."""
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {"cpu_hours_estimate": round(run_cpu_hours(run), 2), "final_l1": float(rows[-1].get("l1", "nan"))}


def export(name: str, run: Path, stages: tuple[str, ...] = ("lowres", "sr")) -> dict:
    """Export the generators of ``run/<stage>`` for ``stages`` into the shipped folder of ``name``; returns its card,
    in which a stage not exported keeps what the shipped card says of it."""
    target = WEIGHTS_DIR / SHIPPED_MODELS[name]
    card: dict = {"name": name, "machine": f"{platform.machine()} CPU, no GPU", "stages": {}}
    if set(stages) != {"lowres", "sr"}:
        card["stages"] = json.loads((target / "card.json").read_text())["stages"]
    for stage in stages:
        data = load_checkpoint(run / stage)
        summary = _log_summary(run / stage)
        card["stages"][stage] = {"steps": int(data["step"]), "data": data.get("data"), "seed": data.get("seed"),
                                 "config": data["config"], **summary}
        export_generator(run / stage, target / stage, card={"name": name, "stage": stage})
    card["data"] = sorted({d for s in card["stages"].values() for d in (s["data"] or [])})
    card["split"] = "train"
    return card


def export_per_frame_baseline(name: str, run: Path) -> Path:
    """Export the generator of ``run`` (a low-res run without previous-frame input) as the per-frame baseline of the
    shipped model ``name``, with a ``card.json`` (data, split, seed, steps, config, CPU time); returns its folder."""
    if name not in PER_FRAME_BASELINES:
        raise SystemExit(f"no per-frame baseline is kept for {name!r}; models with one: {sorted(PER_FRAME_BASELINES)}")
    data = load_checkpoint(run)
    if data["config"].get("use_previous_frame", True) or data.get("mode") != "lowres":
        raise SystemExit(f"{run} is not a per-frame low-res run (use_previous_frame must be false)")
    target = BASELINES_DIR / PER_FRAME_BASELINES[name]
    card = {"name": PER_FRAME_BASELINES[name], "baseline_of": name, "stage": "lowres", "split": "train", "data": data.get("data"),
            "seed": data.get("seed"), "steps": int(data["step"]), "machine": f"{platform.machine()} CPU, no GPU",
            "config": data["config"], **_log_summary(run)}
    export_generator(run, target, card=card)
    return target


def add_backgrounds(name: str, data_root: Path) -> None:
    """Write into a shipped low-res checkpoint the reference backgrounds its training run would have saved
    (:func:`tganaug.training.background.reference_backgrounds` of the *train* frames of its training data; weights
    exported before checkpoints carried them). Leaves a checkpoint that has them alone."""
    file = resolve_checkpoint(WEIGHTS_DIR / SHIPPED_MODELS[name] / "lowres")
    data = load_checkpoint(file)
    if data.get("reference_backgrounds"):
        print(f"{name}: already has reference backgrounds ({', '.join(data['reference_backgrounds'])})")
        return
    folders = list(dict.fromkeys(name.partition("/")[0] for name in data["data"]))  # video names: "folder" or "folder/NN"
    videos = load_videos([data_root / folder for folder in folders], "train", data["config_obj"])
    data["reference_backgrounds"] = reference_backgrounds(videos)
    data.pop("config_obj")
    save_checkpoint(file, data)
    sizes = {k: tuple(v.shape) for k, v in data["reference_backgrounds"].items()}
    print(f"{name}: added reference backgrounds {sizes} from the train frames; {file.stat().st_size / 1e6:.1f} MB")


def background_figure(data_root: Path, out: Path = REPO / "benchmarks" / "results" / "figures" / "reference_backgrounds.png") -> None:
    """Per shipped training video: the plain reference (:func:`tganaug.models.background.background_from_video`, what
    training and the fidelity benchmark use) | the cleaned one shipped for rendering without a background, on the
    same grey scale (1st..99.8th percentile of the plain one)."""
    from tganaug.models.background import background_from_video
    from tganaug.visualize import montage, save_png, to_uint8

    rows, seen, names = [], set(), []
    for folder in SHIPPED_MODELS.values():
        data = load_checkpoint(WEIGHTS_DIR / folder / "lowres")
        for name, cleaned in data.get("reference_backgrounds", {}).items():
            if name in seen:
                continue
            seen.add(name)
            folder, _, number = name.partition("/")  # "Fluo-N2DH-SIM+" (its first sequence read) or "mydata/02"
            sequence = tganaug.read_ctc(data_root / folder, number or _first_train_sequence(data_root / folder), frames="train")
            plain = background_from_video(sequence.images, sequence.labels, percentiles=data["config_obj"].norm_percentiles)
            low, high = np.percentile(plain, [1, 99.8])
            rows.append([to_uint8(plain, low, high), to_uint8(cleaned.float().numpy(), low, high)])
            names.append(name)
    save_png(out, montage(rows, row_titles=names, column_titles=("plain", "cleaned")), max_side=1600)
    print(f"wrote {out} (rows: {', '.join(sorted(seen))}; plain | cleaned)")


def _first_train_sequence(folder: Path) -> str:
    """The sequence a training video named after ``folder`` alone came from: its first with train frames."""
    from tganaug.training.data import training_sequences

    return next(choice.sequence for choice in training_sequences([folder], "train") if choice.frames is not None)


def result_rows(report: str, name: str) -> list[dict]:
    """Rows of ``benchmarks/results/<report>.csv`` (or the model's own report of that kind, :data:`MODEL_REPORTS`)
    for the model's eval datasets (none if it is missing)."""
    report = MODEL_REPORTS.get(name, {}).get(report, report)
    path = REPO / "benchmarks" / "results" / f"{report}.csv"
    if not path.is_file():
        return []
    with open(path) as handle:
        return [r for r in csv.DictReader(handle) if r["dataset"] in FIDELITY_DATASETS[name]]


#: MODEL_CARD.md keeps everything from this line on when the tGAN cards are rewritten
OTHER_CARDS_MARKER = "<!-- linker cards: written by benchmarks/train_linker.py -->"


def write_cards() -> None:
    cards = {}
    for name in RECIPE_MODELS:  # the models this script ships; those `tganaug fit` made carry their own MODEL_CARD.md
        folder = SHIPPED_MODELS[name]
        card_file = WEIGHTS_DIR / folder / "card.json"
        if card_file.is_file():
            cards[name] = json.loads(card_file.read_text())
            # a method the report did not run (e.g. no per-frame baseline given) has NaN figures: left off the card
            # each row names its report; reports written before fidelity.py took --seeds ran generation seed 0 only
            main_report = MODEL_REPORTS.get(name, {}).get("fidelity", "fidelity")
            cards[name]["fidelity_eval"] = [{"seeds": "1", **r, "report": main_report}
                                            for r in result_rows("fidelity", name) if r["SSIM"] != "nan"]
            # a replicate's report also holds the rows it was compared with, labelled "<method> (<report>)": left off
            cards[name]["fidelity_eval"] += [{"seeds": "1", **r, "report": report,
                                              "method": f"{r['method']}, trained with seed {seed}, not shipped"}
                                             for seed, report in TRAINING_SEED_REPORTS.get(name, {}).items()
                                             for r in result_rows(report, name) if "(" not in r["method"] and r["SSIM"] != "nan"]
            cards[name]["noise_ceiling_eval"] = result_rows("noise_ceiling", name)
            cards[name]["tracking_eval"] = [r for r in result_rows("tracking_real_vs_synthetic_unet", name)
                                            if r["tracker"] == "laptrack" and r["source"] in ("Real", "tgan")]
            references = load_checkpoint(WEIGHTS_DIR / folder / "lowres").get("reference_backgrounds", {})
            cards[name]["reference_backgrounds"] = {k: list(v.shape) for k, v in references.items()}
    lines = ["# tGAN model cards", "",
             "Shipped tGAN generators (low-res video-to-video + super-resolution), trained here on CPU, on the **train**",
             "frames of the shared data only. Load by name: `tganaug.get_generator(\"tgan\", model=NAME)` or",
             "`tganaug generate --generator tgan --model NAME`. Output: (T, H, W) float32 in [0, 1] = 1st..99.8th",
             "percentile of the training videos' intensities. Figures measured on **eval** frames by",
             "`benchmarks/fidelity.py` (see benchmarks/results/fidelity.md); LPIPS-like and FVD-like use our feature network.",
             "Noise-ceiling rows (`benchmarks/noise_ceiling.py`): the best SSIM/PSNR any mask-conditioned generator can reach",
             "against the noisy real frames. Real-previous-frame rows (same script): each eval frame's own predecessor scored",
             "against it, as imaged and moved into place by the flow of the real pair (a real image of the same cells one",
             "frame earlier, with the motion undone by an oracle).",
             "Brightness far from cells: mean of generated - real over background pixels >= 15 px from any cell (the masks do",
             "not determine it; `ref_offset_far` in benchmarks/results/noise_ceiling.md: how far the eval frames drift from",
             "the train-frame reference background there).", ""]
    for name, card in cards.items():
        lines += [f"## {name}", "", f"- Data ({card['split']} frames): " + "; ".join(f"{d} — {DATASET_CITATIONS.get(d, d)}" for d in card["data"]),
                  f"- Machine: {card['machine']}"]
        if card.get("reference_backgrounds"):
            lines.append("- Reference backgrounds (rendered on, cropped, when a video is given none; cleaned of cell ghosts, "
                         "train frames): " + "; ".join(f"{k} {h}x{w}" for k, (h, w) in card["reference_backgrounds"].items()))
        for stage, info in card["stages"].items():
            config = info["config"]
            lines.append(f"- {stage}: {info['steps']} steps, config `{config['name']}` (generator widths "
                         f"{config['g_channels'] if stage == 'lowres' else config['sr_channels']}, crop {config['crop_size'] if stage == 'lowres' else config['sr_crop_size']}, "
                         f"batch {config['batch_size']}, max clip {config['max_clip_len']}), about {info['cpu_hours_estimate']} h of one torch thread "
                         "(logged wall-clock step time x steps; more than the CPU time when runs shared the CPU)")
        if card["fidelity_eval"]:
            lines += ["", f"Fidelity on eval frames: `benchmarks/results/{MODEL_REPORTS.get(name, {}).get('fidelity', 'fidelity')}.md`"
                      + ("" if name not in TRAINING_SEED_REPORTS else
                         " and the replicates' reports " + ", ".join(f"`{r}.md`" for r in TRAINING_SEED_REPORTS[name].values()))
                      + ".", "", "| eval dataset | method | SSIM | PSNR | LPIPS-like | FVD-like | warp error (real) | brightness far from cells |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- |"]
            for r in card["fidelity_eval"]:
                def f(key: str) -> str:
                    value = float(r[key]) if r.get(key) not in (None, "", "nan") else float("nan")
                    return "n/a" if np.isnan(value) else f"{value:.3g}"
                seeds = f" (mean of {r['seeds']} generation seeds)" if r["seeds"] != "1" else " (generation seed 0)"
                lines.append(f"| {r['dataset']} | {r['method']}{seeds} | {f('SSIM')} | {f('PSNR')} | {f('feature_dist')} | {f('FVD_like')} | "
                             f"{f('warp_error')} ({f('warp_error_real')}) | {f('brightness_far')} |")
            for r in card.get("noise_ceiling_eval", []):
                lines.append(f"| {r['dataset']} | noise ceiling: exact clean image | {float(r['SSIM_clean']):.3g} | {float(r['PSNR_clean']):.3g} | | | | |")
                lines.append(f"| {r['dataset']} | noise ceiling: clean image + real noise level | {float(r['SSIM_noisy']):.3g} | {float(r['PSNR_noisy']):.3g} | | | | |")
                if r.get("SSIM_previous"):  # real-vs-real reference rows (noise ceilings written without them have none)
                    lines.append(f"| {r['dataset']} | real previous frame (real vs real) | {float(r['SSIM_previous']):.3g} | "
                                 f"{float(r['PSNR_previous']):.3g} | | | | |")
                    lines.append(f"| {r['dataset']} | real previous frame moved into place by the real flow | "
                                 f"{float(r['SSIM_previous_aligned']):.3g} | {float(r['PSNR_previous_aligned']):.3g} | | | | |")
            if name in TRAINING_SEED_REPORTS:
                lines += ["", "Rows \"trained with seed N\": the low-res stage and its per-frame baseline trained again with the same configs, "
                          f"data and steps but another seed (the shipped ones: seed {card['stages']['lowres'].get('seed', 0)}), rendered through the "
                          "shipped SR stage; not shipped: how much a retrain alone moves each figure. tGAN against the baselines across "
                          f"training seeds: `benchmarks/results/{ACROSS_SEEDS_REPORTS[name]}.md`."]
        if card.get("tracking_eval"):
            lines += ["", "Segment-then-track on the real eval video and on this model's rendering of its GT masks (shipped `unet`",
                      "segmenter + laptrack; `benchmarks/tracking_real_vs_synthetic.py --segmenter unet`):", "",
                      "| eval dataset | video | MOTA | DET | SEG |", "| --- | --- | --- | --- | --- |"]
            lines += [f"| {r['dataset']} | {r['source']} | {float(r['MOTA']):.3f} | {float(r['DET']):.3f} | {float(r['SEG']):.3f} |"
                      for r in card["tracking_eval"]]
        lines.append("")
    fitted = [name for name in SHIPPED_MODELS if name not in RECIPE_MODELS]
    if fitted:
        lines += ["## Models made by `tganaug fit`", "", "Each has its own card beside its weights (data, outlines, fitted simulator, "
                  "steps, CPU hours, held-out fidelity):", ""]
        lines += [f"- `{name}`: `tganaug/weights/{SHIPPED_MODELS[name]}/MODEL_CARD.md`" for name in fitted] + [""]
    lines += ["Citation of the method: Zargari A, Mashhadi N, Shariati SA. Enhanced cell tracking using a GAN-based",
              "super-resolution video-to-video time-lapse microscopy generative model. bioRxiv 2024.06.11.598572.", ""]
    # keep the sections other scripts own (linker cards: benchmarks/train_linker.py) after their marker
    existing = (WEIGHTS_DIR / "MODEL_CARD.md").read_text() if (WEIGHTS_DIR / "MODEL_CARD.md").is_file() else ""
    kept = existing[existing.index(OTHER_CARDS_MARKER):] if OTHER_CARDS_MARKER in existing else ""
    atomic_write_bytes(WEIGHTS_DIR / "MODEL_CARD.md", ("\n".join(lines) + ("\n" + kept if kept else "")).encode())
    atomic_write_json(WEIGHTS_DIR / "model_cards.json", cards)
    print(f"wrote {WEIGHTS_DIR / 'MODEL_CARD.md'} and model_cards.json ({', '.join(cards) or 'no models'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", choices=sorted(RECIPE_MODELS))
    parser.add_argument("--run", help="folder holding lowres/ and sr/ runs")
    parser.add_argument("--stages", nargs="+", choices=("lowres", "sr"), default=["lowres", "sr"],
                        help="stages to export from --run (default both; the other keeps its shipped weights and card)")
    parser.add_argument("--cards-only", action="store_true")
    parser.add_argument("--add-backgrounds", action="store_true", help="add reference backgrounds to shipped weights without them")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data", help="the shared CTC folders")
    parser.add_argument("--per-frame-baseline", action="store_true",
                        help=f"--run is the low-res run of --name's per-frame baseline: export it to {BASELINES_DIR.relative_to(REPO)}/")
    args = parser.parse_args()
    if args.per_frame_baseline:
        if not args.name or not args.run:
            parser.error("--per-frame-baseline needs --name and --run")
        target = export_per_frame_baseline(args.name, Path(args.run))
        print(f"exported the per-frame baseline of {args.name} from {args.run} to {target}: "
              f"{(target / 'checkpoint.pt').stat().st_size / 1e6:.1f} MB")
        return
    if args.add_backgrounds:
        for name in [args.name] if args.name else RECIPE_MODELS:
            add_backgrounds(name, args.data_root)
        background_figure(args.data_root)
        return
    if not args.cards_only:
        if not args.name or not args.run:
            parser.error("--name and --run are needed (or --cards-only)")
        card = export(args.name, Path(args.run), tuple(args.stages))
        atomic_write_json(WEIGHTS_DIR / SHIPPED_MODELS[args.name] / "card.json", card)
        sizes = sum(p.stat().st_size for p in (WEIGHTS_DIR / SHIPPED_MODELS[args.name]).rglob("*.pt"))
        print(f"exported {args.name} from {args.run}: {sizes / 1e6:.1f} MB")
    write_cards()


if __name__ == "__main__":
    main()
