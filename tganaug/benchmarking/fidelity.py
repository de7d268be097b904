"""Fidelity benchmark: generated vs real videos of the same GT masks, streamed frame by frame.

For the scored frames (:class:`tganaug.benchmarking.inputs.BenchmarkInputs`):

* **real**: the frames mapped to [0, 1] by the 1st / 99.8th percentiles of the *fit* (train) frames (the intensity
  space the tGAN models were trained in);
* each **method** renders the scored frames' full outlines (the TRA masks, or, where those are markers, the markers
  joined to the ``NN_ST/SEG`` / ``NN_GT/SEG`` outlines: :func:`tganaug.benchmarking.inputs.read_outlines`; only these
  ``uint16`` labels are held whole) (``tgan``: a tGAN model with the reference background estimated from
  the fit frames, mirrored to the scored frames' size when that differs; ``procedural``: the procedural renderer
  fitted on the fit frames, mapped into the same space; any other generator plugin: its [0, 1] output as is);
* the measures of :class:`tganaug.fidelity.StreamingScores` are accumulated frame by frame: neither the real nor the
  generated video is ever held whole, so memory does not grow with the number of frames.

Per seed (styles, noise) one row per method; :func:`summarize` gives mean and standard deviation over seeds,
:func:`verdicts` a Welch-test verdict per measure against each other method.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

import tganaug.fidelity as fidelity
from tganaug.contracts import supports_frame_stream
from tganaug.benchmarking.inputs import BenchmarkInputs, FrameSource, ScoredOutlines, iter_frames, read_outlines
from tganaug.benchmarking.report import csv_bytes, header, mean_sd_table
from tganaug.tracking.metrics import format_table

__all__ = ["COLUMNS", "DIRECTIONS", "FAR", "MEASURES", "PERCENTILES", "SUMMARY_COLUMNS", "FidelityFit", "Renderer", "fidelity_report", "fit_background",
           "fit_reference", "make_renderers", "procedural_renderer", "streamed_renderer", "run_fidelity", "summarize", "to_space", "intensity_space", "verdicts"]

MEASURES = ("SSIM", "PSNR", "PSNR_cells", "PSNR_background", "brightness_far", "feature_dist", "FVD_like", "FVD_appearance",
            "FVD_temporal", "warp_error", "SSIM_first_half", "SSIM_second_half")
COLUMNS = ("dataset", "method", *MEASURES, "warp_error_real", "seconds")
#: how a measure ranks methods: +1 higher is better, -1 lower is better, or the name of the target it should be close to
DIRECTIONS: dict[str, int | str] = {
    "SSIM": 1, "PSNR": 1, "PSNR_cells": 1, "PSNR_background": 1, "brightness_far": "zero", "feature_dist": -1, "FVD_like": -1,
    "FVD_appearance": -1, "FVD_temporal": -1, "warp_error": "warp_error_real", "SSIM_first_half": 1, "SSIM_second_half": 1}
FAR = 15  # px from any cell: background pixels for the brightness column
PERCENTILES = (1.0, 99.8)  # the tGAN training normalisation (TGANConfig.norm_percentiles)

#: a method: ``(label frames, seed) -> generated frames``, each ``(H, W) float32`` in the common [0, 1] space, one per
#: label frame, in order; it may read the label frames lazily
Renderer = Callable[[Iterable[np.ndarray], int], Iterator[np.ndarray]]


def intensity_space(train_images: np.ndarray) -> tuple[float, float]:
    """``(offset, scale)``: the 1st / 99.8th percentiles (:data:`PERCENTILES`) of ``train_images``."""
    low, high = np.percentile(train_images, PERCENTILES)
    return float(low), float(max(high - low, 1e-6))


def to_space(raw: np.ndarray, space: tuple[float, float]) -> np.ndarray:
    """Raw intensities mapped into the common space: ``clip((raw - offset) / scale, 0, 1)`` as float32."""
    return np.clip((np.asarray(raw, dtype=np.float32) - space[0]) / space[1], 0.0, 1.0).astype(np.float32)


def fit_background(background: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A ``(H, W)`` reference background for frames of ``shape``: itself when the shape matches, else mirrored
    (``numpy.pad`` ``"symmetric"``) up to the size and cropped at the top-left (deterministic)."""
    height, width = shape
    h, w = background.shape
    grown = np.pad(background, ((0, max(0, height - h)), (0, max(0, width - w))), mode="symmetric")
    return np.ascontiguousarray(grown[:height, :width], dtype=np.float32)


@dataclass
class FidelityFit:
    """What is fitted on the fit (train) frames: the common intensity ``space`` (offset, scale), the reference
    ``background`` ``(H, W) float32`` in [0, 1] at the scored frames' size (estimated off the fit frames' full
    outlines, made as ``outlines_how`` says), and the ``fit`` frames themselves."""

    space: tuple[float, float]
    background: np.ndarray
    fit: FrameSource
    resized: bool = False
    outlines_how: str = ""


def fit_reference(inputs: BenchmarkInputs, shape: tuple[int, int]) -> FidelityFit:
    """Fit the intensity space and the reference background on ``inputs.fit`` (train frames only) for frames of
    ``shape`` ``(H, W)``."""
    from tganaug.models.tgan import background_from_video  # noqa: PLC0415
    from tganaug.outlines import read_outlined_ctc  # noqa: PLC0415

    fit = inputs.require_fit("the fidelity benchmark's intensity space and reference background")
    train, report = read_outlined_ctc(fit.data, fit.sequence, list(fit.frames))  # whole cells: markers would leave ghosts
    background = background_from_video(train.images, train.labels)  # [0, 1] in the same space
    return FidelityFit(intensity_space(train.images), fit_background(background, shape), fit, background.shape != tuple(shape),
                       report.describe())


def procedural_renderer(fit: FidelityFit) -> Renderer:
    """The procedural renderer fitted on ``fit.fit`` (its own (0.1, 99.9) percentile space), rendering on the fitted
    background, its frames mapped into the common space."""
    from tganaug.procedural import ProceduralRenderer  # noqa: PLC0415

    from tganaug.data.normalize import fit_normalization  # noqa: PLC0415
    from tganaug.io import read_ctc  # noqa: PLC0415

    source = fit.fit
    renderer = ProceduralRenderer.from_ctc(source.data, frames=list(source.frames), sequence=source.sequence)
    own = fit_normalization(read_ctc(source.data, source.sequence, frames=list(source.frames), read_labels=False).images)
    background_raw = fit.background * fit.space[1] + fit.space[0]
    background_own = np.clip((background_raw - own.offset) / own.scale, 0, 1).astype(np.float32)

    def render(labels: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
        for frame in renderer.iter_frames(labels, background=background_own, seed=seed):
            yield to_space(frame * own.scale + own.offset, fit.space)

    return render


def streamed_renderer(generator: Any, background: np.ndarray | None) -> Renderer:
    """A generator's frames on ``background``, streamed through its ``iter_frames`` when it has one."""
    def render(labels: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
        if supports_frame_stream(generator):
            yield from generator.iter_frames(labels, background=background, seed=seed)
        else:  # a generator without iter_frames renders the whole video at once
            yield from np.asarray(generator.generate(np.stack(list(labels)), background=background, seed=seed), dtype=np.float32)

    return render


def make_renderers(names: Sequence[str], fit: FidelityFit, model: str = "fluo-nuclei", use_sr: bool = True) -> dict[str, Renderer]:
    """The methods named (generator plugins): ``tgan`` (``model``, with the fitted background), ``procedural`` (fitted
    on the fit frames), any other generator plugin with the fitted background."""
    from tganaug.registry import get_generator  # noqa: PLC0415

    methods: dict[str, Renderer] = {}
    for name in names:
        if name == "procedural":
            methods[name] = procedural_renderer(fit)
        elif name == "tgan":
            methods[name] = streamed_renderer(get_generator("tgan", model=model, use_sr=use_sr), fit.background)
        else:
            methods[name] = streamed_renderer(get_generator(name), fit.background)
    return methods


def _real_frames(source: FrameSource, space: tuple[float, float], outlines: ScoredOutlines) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for image, labels in iter_frames(source, outlines=outlines):
        yield to_space(image, space), labels


def run_fidelity(inputs: BenchmarkInputs, fit: FidelityFit, methods: Mapping[str, Renderer], seeds: Sequence[int], *,
                 clip_len: int = 8, dataset: str | None = None, keep: Sequence[int] = (), progress: bool = True,
                 on_row: Callable[[dict], None] | None = None,
                 outlines: ScoredOutlines | None = None) -> tuple[list[dict], dict[str, dict[int, np.ndarray]]]:
    """Score every method and seed on the scored frames of ``inputs``, streamed frame by frame; the methods render the
    full outlines ``outlines`` (default: :func:`tganaug.benchmarking.inputs.read_outlines` of the scored frames).

    Returns ``(rows, kept)``: one row per (method, seed) with ``dataset`` (default: the folder's name), ``method``,
    ``seed``, every measure of :data:`MEASURES`, ``warp_error_real`` and ``seconds``; ``kept[method][i]`` the first
    seed's generated frame at index ``i`` for each ``i`` in ``keep`` (for figures; nothing else is kept).
    ``on_row`` is called with each row as it is done.
    """
    scored = inputs.scored
    outlines = read_outlines(scored) if outlines is None else outlines
    clip_len = min(clip_len, len(scored.frames))
    dataset = dataset or scored.data.name
    reference = fidelity.RealReference(clip_len)
    for real, _ in tqdm(_real_frames(scored, fit.space, outlines), total=len(scored.frames), desc="real frames (features, flow)",
                        unit="frame", disable=not progress):
        reference.update(real)
    rows: list[dict] = []
    kept: dict[str, dict[int, np.ndarray]] = {}
    keep_set = set(keep)
    for method, render in methods.items():
        for seed in seeds:
            started = time.perf_counter()
            scores = fidelity.StreamingScores(clip_len, far=FAR)
            pending: deque[tuple[np.ndarray, np.ndarray]] = deque()

            def labels_of(frames: Iterator[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
                for real, labels in frames:
                    pending.append((real, labels))
                    yield labels

            generated = render(labels_of(_real_frames(scored, fit.space, outlines)), seed)
            bar = tqdm(total=len(scored.frames), desc=f"{method} seed {seed}", unit="frame", disable=not progress)
            with bar:
                for index, frame in enumerate(generated):
                    if not pending:
                        raise ValueError(f"{method} gave more frames than the {len(scored.frames)} label frames it was given")
                    real, labels = pending.popleft()
                    frame = np.asarray(frame, dtype=np.float32)
                    if frame.shape != labels.shape:
                        raise ValueError(f"{method} returned a frame of shape {frame.shape} for labels of shape {labels.shape}")
                    scores.update(real, frame, labels)
                    if index in keep_set and seed == seeds[0]:
                        kept.setdefault(method, {})[index] = frame
                    bar.update(1)
            if scores.frames != len(scored.frames):
                raise ValueError(f"{method} gave {scores.frames} frames for {len(scored.frames)} label frames")
            row = {"dataset": dataset, "method": method, "seed": seed, **scores.result(reference),
                   "warp_error_real": reference.warp_error, "seconds": time.perf_counter() - started}
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows, kept


def summarize(per_seed: Sequence[Mapping[str, Any]]) -> list[dict]:
    """One row per (dataset, method): the mean of every measure over its seeds, ``<measure>_sd`` the sample standard
    deviation (NaN for one seed), ``seeds`` their number; a method that did not run keeps its NaN row."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in per_seed:
        groups.setdefault((row["dataset"], row["method"]), []).append(row)
    summary = []
    for (dataset, method), rows in groups.items():
        out: dict = {"dataset": dataset, "method": method, "seeds": len([r for r in rows if "seed" in r])}
        for column in (*MEASURES, "warp_error_real", "seconds"):
            values = np.array([r[column] for r in rows], dtype=np.float64)
            out[column] = float(values.mean())
            if column in MEASURES:
                out[f"{column}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        summary.append(out)
    return summary


def verdicts(per_seed: Sequence[Mapping[str, Any]], candidate: str = "tGAN") -> list[dict]:
    """Per dataset and other method: ``better`` / ``worse`` / ``tie`` of ``candidate`` on every measure (Welch t-test over
    the per-seed scores, :func:`tganaug.fidelity.compare_scores`); target measures compare distances to their target."""
    table = []
    for dataset in dict.fromkeys(r["dataset"] for r in per_seed):
        rows = [r for r in per_seed if r["dataset"] == dataset and "seed" in r]
        ours = [r for r in rows if r["method"] == candidate]
        for baseline in dict.fromkeys(r["method"] for r in rows if r["method"] != candidate):
            theirs = [r for r in rows if r["method"] == baseline]
            if not ours or not theirs:
                continue
            verdict = {"dataset": dataset, "baseline": baseline}
            for measure, direction in DIRECTIONS.items():
                a, b = _ranked_values(ours, measure), _ranked_values(theirs, measure)
                verdict[measure] = (fidelity.compare_scores(a, b, higher_is_better=direction == 1)
                                    if np.all(np.isfinite(a)) and np.all(np.isfinite(b)) else "n/a")
            table.append(verdict)
    return table


def _ranked_values(rows: Sequence[Mapping[str, Any]], measure: str) -> list[float]:
    """A measure's per-seed values as ranked by :data:`DIRECTIONS`: the value itself, or its distance to its target."""
    direction = DIRECTIONS[measure]
    if direction == "zero":
        return [abs(r[measure]) for r in rows]
    if isinstance(direction, str):
        return [abs(r[measure] - r[direction]) for r in rows]
    return [r[measure] for r in rows]


SUMMARY_COLUMNS = ("dataset", "method", "seeds", *MEASURES, "warp_error_real", "seconds", *(f"{m}_sd" for m in MEASURES))


def fidelity_report(inputs: BenchmarkInputs, fit: FidelityFit, rows: Sequence[Mapping[str, Any]], seeds: Sequence[int], command: str, *,
                    model: str, clip_len: int, candidate: str = "tgan", outlines: ScoredOutlines | None = None) -> dict[str, bytes]:
    """The files of a fidelity benchmark: ``fidelity.md`` (header, mean ± sd table, verdicts), ``fidelity.csv`` (means,
    ``*_sd``) and ``fidelity_per_seed.csv``."""
    summary = summarize(rows)
    notes = [
        f"Fitted on: frames {fit.fit.span} of `{fit.fit.data.name}` sequence {fit.fit.sequence} (train split): intensity space "
        f"[0, 1] = {PERCENTILES[0]}th / {PERCENTILES[1]}th percentile ({fit.space[0]:.4g} .. {fit.space[0] + fit.space[1]:.4g}), "
        "reference background" + (" (mirrored to the scored frames' size)" if fit.resized else "") + ", procedural fit"
        + (f"; outlines: {fit.outlines_how}" if fit.outlines_how else "") + ".",
        *([f"Masks rendered: the scored frames' full outlines, {outlines.how}."] if outlines is not None else []),
        f"Methods: {', '.join(dict.fromkeys(r['method'] for r in rows))}; tgan model `{model}`.",
        f"`feature_dist` (LPIPS-like) and `FVD_like` use our feature network, clips of {clip_len} frames x min(128, H, W) px tiles: not "
        "the paper's LPIPS/FVD. `warp_error_real`: the real video's own warp error. `brightness_far`: generated - real over "
        f"background >= {FAR} px from any cell. Measures streamed frame by frame (`tganaug.fidelity.StreamingScores`).",
    ]
    lines = header(f"Fidelity: generated vs real videos of the same masks ({inputs.scored.data.name} {inputs.scored.sequence})",
                   inputs, seeds, command, notes)
    lines += [mean_sd_table(summary, COLUMNS)]
    table = verdicts(rows, candidate=candidate)
    if table:
        rule = ("a two-sided Welch t-test over the per-seed scores, p < 0.05" if len(seeds) > 1 else "one seed: the sign of the "
                "difference, no test")
        lines += ["", f"{candidate} against each other method ({rule}):", "", format_table(table, ["dataset", "baseline", *DIRECTIONS])]
    return {
        "fidelity.md": ("\n".join(lines) + "\n").encode(),
        "fidelity.csv": csv_bytes(summary, SUMMARY_COLUMNS),
        "fidelity_per_seed.csv": csv_bytes(rows, ("seed", *COLUMNS)),
    }
