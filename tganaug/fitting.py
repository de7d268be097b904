"""Fit a generator to one annotated recording: ``tganaug fit DATA --out MODEL_DIR`` (:func:`fit_recording`).

From the train frames of one sequence of a CTC folder, in this order:

1. the frames are read as full outlines with track ids (:func:`tganaug.outlines.read_outlined_ctc`: marker TRA
   masks joined to ``NN_ST/SEG`` / ``NN_GT/SEG``, dense TRA masks as they are) and written to
   ``MODEL_DIR/training-data/`` as a CTC folder (sequence ``01``, frames renumbered from 0);
2. the simulator's parameters are fitted to those outlines
   (:func:`tganaug.simulation.fit.fit_config_from_labels`) and saved as ``MODEL_DIR/simulator.json``
   (:data:`tganaug.models.tgan.SIMULATOR_FILE`), which ``tganaug generate --model MODEL_DIR`` and
   ``SyntheticVideoDataset(..., generator="tgan", generator_config={"model": MODEL_DIR})`` use when given no
   simulator parameters (:func:`apply_simulator_defaults`);
3. the reference background is estimated from the outlines (pixels under and near them unused,
   :func:`tganaug.training.background.clean_background`) and shipped in the low-res checkpoint, so the model renders
   on the recording's own background by default;
4. the low-res and SR stages are trained with the stage configs of a shipped model's card (the *recipe*), their steps
   (and curriculum) scaled by ``hours / recipe hours`` (:func:`plan_steps`), in resumable runs under
   ``MODEL_DIR/runs/``, then exported to ``MODEL_DIR/lowres`` and ``MODEL_DIR/sr``;
5. on the held-out frames (the eval frames of the same sequence, when its split has some) the model and the
   procedural renderer fitted on the same train frames (and, with ``per_frame_baseline``, a second low-res model
   trained without previous-frame input) render the outlines; SSIM, PSNR, LPIPS-like and FVD-like
   (:mod:`tganaug.fidelity`) against the real frames go into ``MODEL_DIR/card.json`` and ``MODEL_CARD.md``.

``MODEL_DIR`` is an owned output (:data:`FIT_MODEL`): ``overwrite`` replaces only a folder ``fit`` made, and
``resume`` continues one (its preparation is kept, its runs resume from their checkpoints).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.splits import parse_frames as split_frames_option
from tganaug.utils.fsutil import OutputKind, atomic_write_bytes, atomic_write_json, output_kind_of, replaced_output_dir

__all__ = ["FIT_MODEL", "RECIPE_MODELS", "FitConfig", "apply_simulator_defaults", "estimate_reference_background", "fit_frames", "fit_recording",
           "fit_simulator", "plan_steps", "read_fit_config", "recipe_stages", "run_cpu_hours"]

FIT_FILE = "fit.json"
TRAINING_DATA = "training-data"
STAGES = ("lowres", "sr")
#: the low-res config changes that make the per-frame baseline (``benchmarks/configs/tgan-cpu-ship-residual-perframe.json``)
PER_FRAME_CHANGES = {"use_previous_frame": False, "n_masks": 1, "w_flow": 0.0, "w_temporal": 0.0}
#: fewest steps a scaled stage gets (the OneCycle schedule needs 4)
MIN_STEPS = 4
#: a model folder written by :func:`fit_recording`
FIT_MODEL = OutputKind("tgan-fit", (FIT_FILE, "simulator.json", TRAINING_DATA, "runs", "lowres", "sr", "perframe", "background.tif",
                                    "background.png", "card.json", "MODEL_CARD.md"), "a model folder written by tganaug fit")

Log = Callable[[str], None]


@dataclass
class FitConfig:
    """What :func:`fit_recording` fits (saved as ``MODEL_DIR/fit.json``).

    Attributes:
        data: the CTC folder of the recording.
        sequence: its sequence to fit (``"01"``).
        frames: ``"train"`` (the train frames of the sequence's split), ``"all"`` (every frame: only for a folder
            with no split, or a split without eval frames) or ``"A-B"`` (frames A..B, none of them eval frames).
        simulator: the simulator plugin whose parameters are fitted (``"division"``).
        recipe: a shipped tGAN model name (its ``card.json`` gives the stage configs, steps and CPU hours) or the
            path of such a card.
        hours: CPU hours (one torch thread) to spend on training; None: the recipe's full length.
        seed: training seed.
        per_frame_baseline: also train the per-frame baseline (a second low-res run) for the card's fidelity table.
    """

    data: str
    sequence: str = "01"
    frames: str = "train"
    simulator: str = "division"
    recipe: str = "fluo-nuclei"
    hours: float | None = None
    seed: int = 0
    per_frame_baseline: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.sequence, str) and self.sequence.isdigit()):
            raise ValueError(f"sequence must be a CTC sequence name such as '01', got {self.sequence!r}")
        parse_frames(self.frames)
        if self.hours is not None and (isinstance(self.hours, bool) or not isinstance(self.hours, (int, float))
                                       or not math.isfinite(self.hours) or self.hours <= 0):
            raise ValueError(f"hours must be a positive number, got {self.hours!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


def read_fit_config(model_dir: str | Path) -> tuple[FitConfig, dict[str, Any]]:
    """The :class:`FitConfig` and the preparation record saved in ``model_dir/fit.json`` (``ValueError`` naming the
    folder when it holds no fit to resume)."""
    model_dir = Path(model_dir)
    file = model_dir / FIT_FILE
    if output_kind_of(model_dir) != FIT_MODEL.name or not file.is_file():
        raise ValueError(f"{model_dir} holds no model folder written by tganaug fit (no {FIT_FILE}): nothing to resume; "
                         "start it without --resume")
    record = json.loads(file.read_text())
    known = {f.name for f in fields(FitConfig)}
    return FitConfig(**{k: v for k, v in record["config"].items() if k in known}), record


def parse_frames(frames: str) -> str | range:
    """``"train"``, ``"all"`` or ``"A-B"`` (inclusive frame numbers) -> the split name or the range (eval is refused)."""
    return split_frames_option(frames, ("train", "all"), "frames")


def _span(frames: range | None) -> list[int] | None:
    return None if frames is None or len(frames) == 0 else [frames[0], frames[-1]]


def fit_frames(data: str | Path, sequence: str, frames: str, n_frames: int) -> tuple[range, range | None]:
    """The frames to fit on and the held-out frames to measure on (the eval frames of the sequence's split, or None).

    Refused (``ValueError`` naming the folder, sequence and frames, and what to do instead): an evaluation-only
    sequence; ``"train"`` for a folder without a split for the sequence (``--frames all`` trains on all of its
    frames); ``"all"`` or ``"A-B"`` that take eval frames.
    """
    from tganaug.splits import sequence_split, split_range

    data = Path(data)
    try:
        info = sequence_split(data, sequence)
    except ValueError as error:
        info, no_split = None, str(error)
    if info is not None and info.evaluation_only:
        raise ValueError(f"sequence {sequence} of {data} is evaluation-only (per {info.source}): never fit or train on it; "
                         "fit to a sequence with train frames (--sequence NN)")
    held_out = split_range(data, "eval", n_frames, sequence) if info is not None and info.eval is not None else None
    wanted = parse_frames(frames)
    if wanted == "train":
        if info is None:
            raise ValueError(f"{data} has no train/eval split for sequence {sequence}, so it has no train frames ({no_split}). "
                             f"To fit on every frame of a folder without splits, pass --frames all (or --frames A-B for "
                             f"frames A..B, e.g. --frames 0-{max(n_frames - 1, 0)}): then no frames are held out to measure the model on")
        chosen = split_range(data, "train", n_frames, sequence)
        if chosen is None:
            raise ValueError(f"sequence {sequence} of {data} has no train frames (per {info.source})")
    else:
        chosen = range(n_frames) if wanted == "all" else wanted  # type: ignore[assignment]
        if chosen[-1] >= n_frames:
            raise ValueError(f"frames {chosen[0]}-{chosen[-1]}: sequence {sequence} of {data} has frames 0..{n_frames - 1}")
        if held_out is not None and set(chosen) & set(held_out):
            train = split_range(data, "train", n_frames, sequence)
            how = f"--frames train (frames {train[0]}-{train[-1]})" if train else "a sequence with train frames"
            raise ValueError(f"--frames {frames} takes eval frames {held_out[0]}-{held_out[-1]} of sequence {sequence} of {data} "
                             f"(per {info.source}), which are held out to measure the model; use {how}")  # type: ignore[union-attr]
    if len(chosen) < 2:
        raise ValueError(f"sequence {sequence} of {data}: training needs at least 2 frames, got {len(chosen)}")
    return chosen, held_out


def fit_simulator(name: str, labels: np.ndarray, lineage: np.ndarray) -> dict[str, Any]:
    """Simulator ``name``'s config fitted to ``labels (T, H, W)`` integer full outlines (label = track id) with their
    ``(N, 4)`` lineage: ``{"simulator": name, "config": {...}}``. ``ValueError`` for a simulator with no fittable
    config (no ``config_class``)."""
    from tganaug.registry import default_registry
    from tganaug.simulation.fit import fit_config_from_labels

    factory = default_registry().info("simulator", name).factory
    config_class = getattr(factory, "config_class", None)  # the fitted fields: the project's cell simulators declare them
    if config_class is None:
        raise ValueError(f"simulator {name!r} has no config class to fit (fit works with cell simulators such as division)")
    config = fit_config_from_labels(config_class, labels, lineage)
    return {"simulator": name, "config": config.to_dict()}


def apply_simulator_defaults(simulator: str | None, simulator_config: dict[str, Any] | None,
                             defaults: dict[str, Any] | None) -> tuple[str | None, dict[str, Any] | None]:
    """The simulator and its config once a model's fitted simulator (``defaults``: ``{"simulator", "config"}`` from
    :func:`tganaug.models.tgan.fitted_simulator`) is taken into account: when no simulator is named, or the fitted one
    is, the fitted config with the given parameters on top (explicit parameters win); else unchanged."""
    if not defaults or (simulator is not None and simulator != defaults["simulator"]):
        return simulator, simulator_config
    return defaults["simulator"], {**defaults["config"], **(simulator_config or {})}


def estimate_reference_background(images: np.ndarray, outlines: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """The reference background of a recording: ``images (T, H, W)`` raw frames normalised by their ``percentiles``
    (as tGAN training does), then :func:`tganaug.training.background.clean_background` off the ``outlines (T, H, W)``
    integer full outlines (every pixel under an outline, or within the halo extent of one, is unused). Returns
    ``(H, W) float32`` in [0, 1]."""
    from tganaug.training.background import clean_background
    from tganaug.training.data import normalize_video

    video, _ = normalize_video(np.asarray(images), percentiles)
    return clean_background(video, np.asarray(outlines) > 0)


#: shipped models whose card records a training recipe (stage configs, steps, measured CPU hours) that fit can scale
RECIPE_MODELS = ("fluo-nuclei", "phase-contrast", "fluo-nuclei-fast", "fluo-nuclei-x4")


def recipe_stages(recipe: str | Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The stage configs of a recipe: a shipped model name (its ``card.json``) or a card file. Returns its name and,
    per stage (``lowres``, ``sr``), ``{"config": TGANConfig, "steps": int, "cpu_hours": float}``."""
    from tganaug.models.config import TGANConfig
    from tganaug.models.tgan import SHIPPED_MODELS
    from tganaug.utils.weights import WEIGHTS_DIR

    file = WEIGHTS_DIR / SHIPPED_MODELS[str(recipe)] / "card.json" if str(recipe) in RECIPE_MODELS else Path(recipe)
    if not file.is_file():
        raise ValueError(f"recipe {recipe!r} is neither a shipped recipe ({', '.join(RECIPE_MODELS)}) nor a model card file")
    card = json.loads(file.read_text())
    stages = {}
    for stage in STAGES:
        try:
            info = card["stages"][stage]
            stages[stage] = {"config": TGANConfig.from_dict(info["config"]), "steps": int(info["steps"]),
                             "cpu_hours": float(info["cpu_hours_estimate"])}
        except (KeyError, TypeError) as error:
            raise ValueError(f"{file}: stage {stage!r} needs config, steps and cpu_hours_estimate ({error})") from None
    return str(card.get("name", recipe)), stages


def plan_steps(stages: dict[str, dict[str, Any]], hours: float | None, per_frame_baseline: bool = False) -> dict[str, Any]:
    """Steps per stage for a budget of ``hours`` (None: the recipe's length): every stage's steps and curriculum scaled
    by ``hours / recipe hours`` (at least :data:`MIN_STEPS`), the expected CPU hours at the recipe's measured rate
    (its ``cpu_hours`` / its steps). The per-frame baseline is a second low-res run of the same length and rate.

    Returns ``{"scale", "recipe_hours", "expected_hours", "stages": {stage: {"steps", "recipe_steps",
    "seconds_per_step", "expected_hours", "config"}}}``.
    """
    recipe_hours = sum(info["cpu_hours"] for info in stages.values())
    if per_frame_baseline:
        recipe_hours += stages["lowres"]["cpu_hours"]
    scale = 1.0 if hours is None else float(hours) / recipe_hours
    plan: dict[str, Any] = {}
    names = [*STAGES, "perframe"] if per_frame_baseline else list(STAGES)
    for stage in names:
        info = stages["lowres" if stage == "perframe" else stage]
        config = info["config"]
        steps = max(MIN_STEPS, round(info["steps"] * scale))
        curriculum = min(steps, max(1, round(config.curriculum_steps * scale))) if config.curriculum_steps > 0 else config.curriculum_steps
        changes: dict[str, Any] = {"total_steps": steps, "curriculum_steps": curriculum}
        if stage == "perframe":
            changes.update(PER_FRAME_CHANGES, name=f"{config.name}-perframe")
        rate = info["cpu_hours"] * 3600 / info["steps"]
        plan[stage] = {"steps": steps, "recipe_steps": info["steps"], "seconds_per_step": rate, "expected_hours": steps * rate / 3600,
                       "config": config.replace(**changes)}
    return {"scale": scale, "recipe_hours": recipe_hours, "expected_hours": sum(p["expected_hours"] for p in plan.values()),
            "stages": plan}


def run_cpu_hours(run: str | Path) -> float:
    """CPU hours of a training run from its ``log.csv``: the mean logged step time times the steps (a logged step
    above 10x the median is a pause and left out), as the shipped model cards measure it."""
    with open(Path(run) / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return 0.0
    seconds = np.array([float(r["seconds"]) for r in rows])
    return float(seconds[seconds <= 10 * np.median(seconds)].mean()) * int(rows[-1]["step"]) / 3600


# ---------------------------------------------------------------------------------------------- steps
def _prepare(config: FitConfig, model_dir: Path, log: Log) -> dict[str, Any]:
    """Steps 1-3: training data, simulator fit and reference background; returns the preparation record."""
    import tifffile

    from tganaug.io import _IMAGE_NAME, list_frames, write_ctc
    from tganaug.outlines import read_outlined_ctc

    data = Path(config.data)
    if not (data / config.sequence).is_dir():
        raise ValueError(f"{data}: no sequence {config.sequence} (no folder {data / config.sequence} of raw frames)")
    n_frames = len(list_frames(data / config.sequence, _IMAGE_NAME))
    frames, held_out = fit_frames(data, config.sequence, config.frames, n_frames)
    log(f"reading {data.name} sequence {config.sequence} frames {frames[0]}-{frames[-1]} as full outlines with track ids")
    sequence, report = read_outlined_ctc(data, config.sequence, frames)
    counts = report.counts.to_dict() if report.counts is not None else None
    how = report.describe()
    log(f"outlines: {how}" + (f"; {counts['objects']} objects, {counts['joined']} with a marker, {counts['objects_without_marker']} "
                             f"objects without a marker (kept with ids of their own), {counts['markers']} markers, "
                             f"{counts['markers_without_object']} marker(s) without an object (kept as drawn)" if counts else ""))
    write_ctc(model_dir / TRAINING_DATA, sequence.labels, sequence.lineage, sequence.images)
    simulator = fit_simulator(config.simulator, sequence.labels, sequence.lineage)
    from tganaug.simulation.fit import video_statistics

    stats = video_statistics(sequence.labels, sequence.lineage)
    simulator["fitted_on"] = {"data": str(data), "sequence": config.sequence, "frames": _span(frames), "outlines": report.to_dict()}
    simulator["statistics"] = stats
    atomic_write_json(model_dir / "simulator.json", simulator)
    shown = {k: round(float(v), 3) for k, v in simulator["config"].items() if k in ("radius_mean", "cells_per_10k_px", "speed", "cycle_mean")}
    log(f"simulator {config.simulator} fitted to the outlines: {shown} -> {model_dir / 'simulator.json'}")
    _, stages = recipe_stages(config.recipe)
    percentiles = tuple(stages["lowres"]["config"].norm_percentiles)
    background = estimate_reference_background(sequence.images, sequence.labels, percentiles)  # type: ignore[arg-type]
    buffer_file = model_dir / "background.tif"
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, background.astype(np.float32))
    atomic_write_bytes(buffer_file, buffer.getvalue())
    from tganaug.visualize import save_png, to_uint8

    save_png(model_dir / "background.png", to_uint8(background))
    log(f"reference background estimated off the outlines: {background.shape[0]}x{background.shape[1]}, median "
        f"{float(np.median(background)):.3f} (training units) -> {buffer_file}")
    return {"frames": _span(frames), "held_out": _span(held_out), "outlines": report.to_dict(), "n_frames": n_frames,
            "background_name": f"{data.name}/{config.sequence}", "cells_per_frame": stats["cells_per_frame"],
            "cell_area_mean": stats["area_mean"]}


def _train(stage: str, plan: dict[str, Any], model_dir: Path, seed: int, progress: bool, log: Log) -> None:
    """Train (or resume) ``runs/<stage>`` to its planned steps."""
    from tganaug.training.checkpoint import CHECKPOINT_NAME
    from tganaug.training.trainer import make_trainer

    run = model_dir / "runs" / stage
    mode = "sr" if stage == "sr" else "lowres"
    data = [str(model_dir / TRAINING_DATA)]
    if (run / CHECKPOINT_NAME).is_file():
        trainer = make_trainer(mode, None, run, data=data, frames="all", resume=True, progress=progress)
    else:
        trainer = make_trainer(mode, plan["config"], run, data=data, frames="all", seed=seed, progress=progress)
    total = trainer.config.total_steps
    if trainer.step >= total:
        log(f"{stage}: already trained ({trainer.step} steps)")
        return
    left = (total - trainer.step) * plan["seconds_per_step"] / 3600
    log(f"{stage}: training steps {trainer.step}..{total} (about {left:.2f} CPU hours at the recipe's rate) -> {run}")
    trainer.train()


def _export(model_dir: Path, background: np.ndarray, name: str, card: dict[str, Any]) -> None:
    """Export the runs' generators to ``lowres/``, ``sr/`` (and ``perframe/``); the low-res one gets the reference
    background (replacing the one its run estimated) as ``reference_backgrounds[name]``."""
    import torch

    from tganaug.training.checkpoint import export_generator, load_checkpoint, save_checkpoint

    for stage in ("lowres", "sr", "perframe"):
        if (model_dir / "runs" / stage).is_dir():
            export_generator(model_dir / "runs" / stage, model_dir / stage, card={**card, "stage": stage})
            if stage != "sr":
                data = load_checkpoint(model_dir / stage)
                data.pop("config_obj")
                data["reference_backgrounds"] = {name: torch.from_numpy(background).half()}
                save_checkpoint(model_dir / stage / "checkpoint.pt", data)


def _fidelity(config: FitConfig, model_dir: Path, record: dict[str, Any], background: np.ndarray, seed: int, log: Log) -> list[dict[str, Any]]:
    """The model, the procedural renderer fitted on the same train frames (and the per-frame baseline) rendering the
    full outlines of the held-out frames, scored against the real frames in the model's training intensity space by
    the fidelity benchmark (:func:`tganaug.benchmarking.fidelity.run_fidelity`, streamed)."""
    from tganaug.benchmarking import fidelity as benchmark
    from tganaug.benchmarking.inputs import BenchmarkInputs, FrameSource, read_outlines
    from tganaug.io import read_ctc
    from tganaug.models.tgan import TGAN

    first, last = record["held_out"]
    scored = FrameSource(Path(config.data), config.sequence, tuple(range(first, last + 1)), "held-out eval frames")
    train_images = read_ctc(model_dir / TRAINING_DATA, "01", read_labels=False).images
    fitted = FrameSource(model_dir / TRAINING_DATA, "01", tuple(range(len(train_images))), "the fitted frames, outlined")
    inputs = BenchmarkInputs(scored, fitted, "same sequence", "same sequence: held-out eval frames of the sequence fitted")
    model = TGAN.from_pretrained(model_dir)
    low, high = np.percentile(train_images, model.config.norm_percentiles)
    fit = benchmark.FidelityFit((float(low), float(max(high - low, 1e-6))), background, fitted)
    methods = {"tGAN (fitted)": benchmark.streamed_renderer(model, background),
               "procedural (fitted on the same train frames)": benchmark.procedural_renderer(fit)}
    if (model_dir / "perframe").is_dir():
        per_frame = TGAN.from_pretrained(model_dir / "perframe", sr_path=model_dir / "sr")
        methods["per-frame model (same recipe, no previous frame)"] = benchmark.streamed_renderer(per_frame, background)
    clip_len = min(8, max(2, len(scored.frames) // 2))  # at least two clips per tile for the Fréchet distance
    measured, _ = benchmark.run_fidelity(inputs, fit, methods, [seed], clip_len=clip_len, progress=False, outlines=read_outlines(scored))
    rows = []
    for row in measured:
        rows.append({"method": row["method"], "frames": [first, last], "seed": seed, "SSIM": row["SSIM"], "PSNR": row["PSNR"],
                     "LPIPS_like": row["feature_dist"], "FVD_like": None if math.isnan(row["FVD_like"]) else row["FVD_like"],
                     "FVD_clip_len": clip_len,
                     "PSNR_cells": row["PSNR_cells"], "warp_error": row["warp_error"], "warp_error_real": row["warp_error_real"],
                     "seconds": round(row["seconds"], 1)})
        log(f"held-out frames {first}-{last}, {row['method']}: SSIM {row['SSIM']:.3f}, PSNR {row['PSNR']:.2f}, "
            f"LPIPS-like {row['feature_dist']:.4g}, FVD-like {_number(rows[-1]['FVD_like'])}")
    return rows


def _number(value: float | None) -> str:
    return "n/a (too few clips)" if value is None else f"{value:.4g}"


def _card_markdown(card: dict[str, Any]) -> str:
    d, o = card["data"], card["outlines"]
    counts = o.get("counts")
    lines = [f"# {card['name']}", "", "A tGAN generator fitted by `tganaug fit` to one annotated recording. Load it with "
             "`tganaug generate --model MODEL_DIR` or `tganaug.get_generator(\"tgan\", model=MODEL_DIR)`; without simulator "
             "parameters it simulates with the simulator fitted to the same frames (`simulator.json`).", "",
             f"- Data: {d['path']} (sequence {d['sequence']}, frames {d['frames'][0]}-{d['frames'][1]}"
             + (f"; {d['citation']}" if d.get("citation") else "") + ")",
             f"- Outlines: {o['method']} from {o['source']}"
             + (f"; {counts['objects_without_marker']} objects without a marker, {counts['markers_without_object']} marker(s) without "
                f"an object (of {counts['objects']} objects, {counts['markers']} markers)" if counts else ""),
             f"- Simulator: {card['simulator']['simulator']}, " + ", ".join(f"{k} {v:.3g}" for k, v in card['simulator']['config'].items()
                                                                          if isinstance(v, float) and abs(v) > 1e-9),
             f"- Reference background: {card['reference_background']}",
             f"- Recipe: the stage configs of {card['recipe']['name']}, steps and curriculum scaled by {card['recipe']['scale']:.3g} ("
             + ("the full recipe" if card['recipe']['hours_asked'] is None else f"--hours {card['recipe']['hours_asked']:g}")
             + f" of its {card['recipe']['recipe_hours']:.2f} measured CPU hours)", ""]
    lines += ["| stage | config | steps (recipe) | CPU hours expected | CPU hours measured |", "| --- | --- | --- | --- | --- |"]
    for stage, info in card["stages"].items():
        lines.append(f"| {stage} | {info['config']['name']} | {info['steps']} ({info['recipe_steps']}) | {info['expected_hours']:.2f} | "
                     f"{info['cpu_hours_measured']:.2f} |")
    lines.append("")
    if card["fidelity"]:
        lines += [f"Fidelity on the held-out frames {card['held_out'][0]}-{card['held_out'][1]} (generation seed {card['fidelity'][0]['seed']}; "
                  "LPIPS-like and FVD-like use tganaug's feature network, not VGG/I3D):", "",
                  "| method | SSIM | PSNR | LPIPS-like | FVD-like |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {r['method']} | {r['SSIM']:.4f} | {r['PSNR']:.2f} | {r['LPIPS_like']:.4g} | {_number(r['FVD_like'])} |"
                  for r in card["fidelity"]]
    else:
        lines.append(f"Fidelity: not measured ({card['fidelity_note']}).")
    if card.get("per_frame_baseline_note"):
        lines += ["", card["per_frame_baseline_note"]]
    return "\n".join(lines) + "\n"


def fit_recording(config: FitConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False, progress: bool = True,
                  log: Log = print) -> dict[str, Any]:
    """Fit a generator (and the simulator) to one annotated recording; returns the model card (also written as
    ``out/card.json`` and ``out/MODEL_CARD.md``). See the module docstring for the steps and the folder.

    ``resume``: continue the fit in ``out`` (its ``fit.json`` must match ``config``); ``overwrite``: replace a folder
    ``fit`` made (anything else in it refuses, :class:`~tganaug.utils.fsutil.OutputExistsError`). ``log`` gets the
    progress lines (expected hours, outline counts, fidelity).
    """
    out = Path(out)
    if resume:
        saved, record = read_fit_config(out)
        diffs = [f"{k}: fit {v!r} != given {getattr(config, k)!r}" for k, v in saved.to_dict().items() if getattr(config, k) != v]
        if diffs:
            raise ValueError(f"{out} was fitted with other options ({'; '.join(diffs)}): resume with the same ones")
        return _run(config, out, record, progress, log)
    keep = lambda folder: (folder / FIT_FILE).is_file()  # noqa: E731 - a fit that got past preparation resumes
    with replaced_output_dir(out, FIT_MODEL, overwrite, what="model folder", keep_new=keep) as model_dir:
        return _run(config, model_dir, None, progress, log)


def _run(config: FitConfig, model_dir: Path, record: dict[str, Any] | None, progress: bool, log: Log) -> dict[str, Any]:
    import tifffile

    from tganaug.splits import DATASET_CITATIONS

    recipe_name, stages = recipe_stages(config.recipe)
    plan = plan_steps(stages, config.hours, config.per_frame_baseline)
    log(f"recipe {recipe_name}: its stage configs, steps and measured CPU hours (one torch thread): "
        + ", ".join(f"{s} {i['steps']} steps {i['cpu_hours']:.2f} h" for s, i in stages.items()) + f" = {plan['recipe_hours']:.2f} h")
    how = "the full recipe" if config.hours is None else f"--hours {config.hours:g}: every stage's steps and curriculum x {plan['scale']:.3g}"
    log(f"training plan ({how}): " + ", ".join(f"{s} {p['steps']} steps (~{p['expected_hours']:.2f} h)" for s, p in plan["stages"].items())
        + f"; expected {plan['expected_hours']:.2f} CPU hours in all (one torch thread, the recipe's measured rate)")
    if record is None:
        record = {"config": config.to_dict(), **_prepare(config, model_dir, log)}
        atomic_write_json(model_dir / FIT_FILE, record)
    else:
        log(f"resuming the fit in {model_dir} (training data, simulator and background kept)")
    for stage, stage_plan in plan["stages"].items():
        _train(stage, stage_plan, model_dir, config.seed, progress, log)
    background = tifffile.imread(model_dir / "background.tif").astype(np.float32)
    data = Path(config.data)
    summary = {"name": f"fit-{data.name}-{config.sequence}", "data": data.name, "sequence": config.sequence, "frames": record["frames"]}
    _export(model_dir, background, record["background_name"], summary)
    held_out = record["held_out"]
    rows = _fidelity(config, model_dir, record, background, config.seed, log) if held_out else []
    simulator = json.loads((model_dir / "simulator.json").read_text())
    card = {
        "name": summary["name"], "split": "train", "machine": "CPU",
        "data": {"path": str(data), "name": data.name, "sequence": config.sequence, "frames": record["frames"],
                 "citation": DATASET_CITATIONS.get(data.name)},
        "outlines": record["outlines"], "held_out": held_out,
        "simulator": {"simulator": simulator["simulator"], "config": simulator["config"]},
        "reference_background": f"{background.shape[0]}x{background.shape[1]}, estimated off the outlines of the fitted frames "
                                "(background.tif), rendered on when a video is given no background",
        "recipe": {"name": recipe_name, "scale": plan["scale"], "hours_asked": config.hours, "recipe_hours": plan["recipe_hours"],
                   "expected_hours": plan["expected_hours"]},
        "stages": {stage: {"steps": p["steps"], "recipe_steps": p["recipe_steps"], "expected_hours": p["expected_hours"],
                           "cpu_hours_measured": run_cpu_hours(model_dir / "runs" / stage), "seed": config.seed,
                           "config": p["config"].to_dict()} for stage, p in plan["stages"].items()},
        "fidelity": rows,
        "fidelity_note": "" if held_out else ("the frames fitted leave no eval frames of this sequence to hold out "
                                               "(no split, or a split without eval frames)"),
        "per_frame_baseline_note": "" if config.per_frame_baseline else
        "No per-frame baseline: it needs a second low-res training (tganaug fit --per-frame-baseline).",
    }
    atomic_write_json(model_dir / "card.json", card)
    atomic_write_bytes(model_dir / "MODEL_CARD.md", _card_markdown(card).encode())
    measured = sum(s["cpu_hours_measured"] for s in card["stages"].values())
    log(f"done: {model_dir} (CPU hours measured {measured:.2f}, expected {plan['expected_hours']:.2f}); card: {model_dir / 'MODEL_CARD.md'}")
    return card
