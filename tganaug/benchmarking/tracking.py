"""Segment-then-track on a real video and on synthetic videos of the same GT masks (the tGAN paper's Tables 2-3).

The same segmenter and each tracker run on the real scored frames and on each generator's video of their GT masks;
all are scored against the GT (:func:`tganaug.tracking.metrics.score_tracking`). Per-dataset settings come from the
data or from options, never from the dataset's name:

* **segmenter**: ``gt`` (the GT masks: trackers only), ``threshold`` (its ``threshold``, ``invert``, ``min_size`` and
  ``min_distance`` fitted on the fit frames unless given; ``threshold="train"`` asks for the fit explicitly and
  ``threshold=None`` keeps Otsu), or any segmenter plugin with its parameters;
* **SEG reference** (:func:`seg_rule`): ``NN_GT/SEG`` masks among the scored frames; else the TRA masks when they are
  full outlines (they match ``NN_ST/SEG``, or the data has no SEG masks at all, the convention of
  :mod:`tganaug.outlines`); else none (SEG n/a); or as asked (``seg="tra"`` / ``"seg"`` / ``"none"``);
* **MOT measures** (IoU matching) are scored against the TRA masks when they are full outlines, against the full
  outlines with the markers' track ids where the TRA masks are markers and outlines are given (markers would punish
  correct full-cell masks), else not; or as asked;
* **generators** render the scored frames' full outlines (the TRA masks, or the markers joined to the SEG outlines:
  :func:`tganaug.benchmarking.inputs.read_outlines`), and are fitted on (``procedural``) or take their intensity scale
  and reference background from (``tgan``) the fit frames' full outlines, never the scored ones (see
  :mod:`tganaug.benchmarking.inputs`); with ``look`` (a few *unannotated* raw frames of the scored sequence), they
  render in that recording's look (:mod:`tganaug.appearance`) and in its intensity scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tganaug.benchmarking.inputs import BenchmarkInputs, FrameSource, ScoredOutlines, read_outlines
from tganaug.benchmarking.report import csv_bytes, header
from tganaug.io import CTCSequence, list_frames, read_ctc, read_tiff
from tganaug.tracking.metrics import MOT_COLUMNS, format_table, read_seg_reference, score_tracking

__all__ = ["COLUMNS", "SR_ON_REAL", "TrackingSettings", "fit_threshold_params", "resolve_settings", "run_tracking", "seg_rule",
           "synthetic_images", "tracking_report"]

COLUMNS = ("dataset", "source", "tracker", "MOTA", "MT", "ML", "precision", "recall", "IDSW", "TRA", "DET", "SEG", "LNK", "CHOTA",
           "DIV_F1", "seconds")
#: pseudo-generator: the tgan model's SR stage alone, on the real frames down-sampled to its low-res grid (diagnostic)
SR_ON_REAL = "tgan-sr-on-real"
SEG_RULES = ("auto", "seg", "tra", "none")


@dataclass
class TrackingSettings:
    """How one dataset is segmented and scored.

    Attributes:
        segmenter: ``"gt"`` or a segmenter plugin name; ``params`` its parameters; ``fitted`` the names of those
            fitted on the fit frames.
        seg: ``"seg"`` (``NN_GT/SEG``), ``"tra"`` (the TRA masks) or ``"none"``; ``seg_text`` why, for the report.
        mot: whether MOT measures are scored; ``mot_text`` why.
        mot_outlines: whether they are scored against the full outlines (``run_tracking``'s ``outlines``) rather than
            the TRA masks.
    """

    segmenter: str
    params: dict[str, Any] = field(default_factory=dict)
    fitted: tuple[str, ...] = ()
    seg: str = "none"
    seg_text: str = ""
    mot: bool = True
    mot_text: str = ""
    mot_outlines: bool = False


def _seg_files(source: FrameSource, kind: str) -> dict[int, Any]:
    from tganaug.outlines import _SEG_NAME  # noqa: PLC0415

    files = list_frames(source.data / f"{source.sequence}_{kind}" / "SEG", _SEG_NAME)
    return {t: path for t, path in files.items() if t in set(source.frames)}


def seg_rule(source: FrameSource, gt: CTCSequence, asked: str = "auto") -> tuple[str, str, bool | None]:
    """``(rule, why, full_outlines)`` for the SEG reference of the scored frames (see the module doc);
    ``full_outlines``: whether the TRA masks were found to be full outlines (None: not known)."""
    from tganaug.outlines import markers_are_outlines  # noqa: PLC0415

    if asked not in SEG_RULES:
        raise ValueError(f"--seg must be one of {', '.join(SEG_RULES)}, got {asked!r}")
    gt_seg, st_seg = _seg_files(source, "GT"), _seg_files(source, "ST")
    full: bool | None = None
    for kind, files in (("GT", gt_seg), ("ST", st_seg)):
        if files:
            rows = [source.frames.index(t) for t in files]
            full = markers_are_outlines(gt.labels[rows], np.stack([read_tiff(p) for p in files.values()]))
            break
    any_seg = any((source.data / f"{source.sequence}_{kind}" / "SEG").is_dir() for kind in ("GT", "ST"))
    if full is None and not any_seg:
        full = True  # no outlines anywhere: the TRA masks are the outlines (tganaug.outlines' convention)
    if asked == "tra":
        return "tra", "SEG from the TRA masks (as asked: --seg-from-tra / --seg tra)", full
    if asked == "none":
        return "none", "SEG n/a (as asked: --seg none)", full
    if gt_seg:
        return "seg", f"SEG from {source.sequence}_GT/SEG ({len(gt_seg)} of the {len(source.frames)} scored frames)", full
    if asked == "seg":
        raise ValueError(f"--seg seg: {source.data} has no {source.sequence}_GT/SEG masks among frames {source.span}")
    if full and not any_seg:
        return "tra", ("SEG from the TRA masks: the data has no SEG masks, so its TRA masks are taken as full outlines "
                       "(pass --seg none for n/a)"), full
    if full:
        return "tra", f"SEG from the TRA masks: they match {source.sequence}_ST/SEG (full outlines), and there is no GT SEG", full
    return "none", (f"SEG n/a: no {source.sequence}_GT/SEG among the scored frames and the TRA masks are markers "
                    "(pass --seg-from-tra to use them anyway)"), full


def fit_threshold_params(fit: CTCSequence) -> dict[str, Any]:
    """Threshold-segmenter parameters fitted on train frames (``images`` and TRA ``labels`` ``(T, H, W)``):
    ``threshold`` midway between the median cell and the median background intensity, ``invert`` when cells are
    darker, ``min_size`` a tenth of the median object area and ``min_distance`` half its equivalent radius."""
    cells, background = fit.images[fit.labels > 0], fit.images[fit.labels == 0]
    if not cells.size or not background.size:
        raise ValueError(f"{fit.path}: the fit frames need cell and background pixels to fit a threshold")
    cell_level, background_level = float(np.median(cells)), float(np.median(background))
    areas = np.concatenate([np.bincount(frame.ravel().astype(np.int64))[1:] for frame in fit.labels])
    area = float(np.median(areas[areas > 0]))
    return {"threshold": (cell_level + background_level) / 2, "invert": cell_level < background_level,
            "min_size": max(1, int(round(0.1 * area))), "min_distance": max(1, int(round(0.5 * np.sqrt(area / np.pi))))}


def resolve_settings(inputs: BenchmarkInputs, gt: CTCSequence, segmenter: str = "threshold", params: Mapping[str, Any] | None = None,
                     *, seg: str = "auto", mot: str = "auto", outlines: ScoredOutlines | None = None) -> TrackingSettings:
    """The settings for the scored frames ``gt`` of ``inputs`` (see the module doc); ``mot``: ``auto`` / ``yes`` / ``no``;
    ``outlines``: :func:`read_outlines` of the scored frames, which MOT measures are scored against where the TRA masks
    are markers (pass the same to :func:`run_tracking`)."""
    params = dict(params or {})
    fitted: tuple[str, ...] = ()
    if segmenter in ("gt", "none", ""):
        if params:
            raise ValueError("--segmenter-config needs a --segmenter plugin (gt tracks the GT masks and takes no parameters)")
        segmenter = "gt"
    elif segmenter == "threshold":
        wanted = [key for key in ("threshold", "invert", "min_size", "min_distance") if key not in params or params[key] == "train"]
        if wanted:
            fit = inputs.require_fit(f"the threshold segmenter's {', '.join(wanted)}")
            values = fit_threshold_params(read_ctc(fit.data, fit.sequence, frames=list(fit.frames)))
            params.update({key: values[key] for key in wanted})
            fitted = tuple(wanted)
    rule, seg_text, full = seg_rule(inputs.scored, gt, seg)
    if mot not in ("auto", "yes", "no"):
        raise ValueError(f"--mot must be auto, yes or no, got {mot!r}")
    joined, against = False, ""
    if full is False and outlines is not None and outlines.labels is not None:
        if len(outlines.labels) != len(gt.frames):
            raise ValueError(f"{len(outlines.labels)} outline frames for the {len(gt.frames)} scored frames")
        joined, against = True, f"against the full outlines with the markers' track ids ({outlines.how})"
    if mot == "auto":
        score_mot = full is not False or joined
        mot_text = (f"MOT measures (mask IoU >= 0.5) scored {against}: the TRA masks are markers" if joined else
                    "MOT measures (mask IoU >= 0.5) scored: the TRA masks are full outlines" if score_mot else
                    "MOT measures n/a: the TRA masks are markers, which IoU matching would punish, and no outlines were "
                    "given (DET/TRA use CTC matching)")
    else:
        score_mot = mot == "yes"
        mot_text = f"MOT measures {'scored' if score_mot else 'n/a'} (as asked: --mot {mot})"
        mot_text += f", {against}" if score_mot and joined else ""
    return TrackingSettings(segmenter, params, fitted, rule, seg_text, score_mot, mot_text, score_mot and joined)


def _reference(inputs: BenchmarkInputs, reference: FrameSource | None, what: str) -> FrameSource:
    return reference if reference is not None else inputs.require_fit(what)


def synthetic_images(generator_name: str, inputs: BenchmarkInputs, gt: CTCSequence, seed: int, *, model: str = "fluo-nuclei",
                     reference: FrameSource | None = None, outlines: ScoredOutlines | None = None,
                     look: np.ndarray | None = None) -> np.ndarray:
    """A generator's video ``(T, H, W) float32`` of the scored frames' full outlines, in the real frames' raw units.

    ``outlines``: :func:`tganaug.benchmarking.inputs.read_outlines` of the scored frames (read when None); where the
    TRA masks are the outlines, ``gt.labels`` are rendered. Generators return ``[0, 1]``; the inverse of the
    percentile normalisation of the ``reference`` frames (default: the fit frames; tgan's training percentiles, else
    (0.1, 99.9)) puts it on the raw scale of the real video, so the segmenter runs with identical settings on both.
    ``procedural`` is fitted on the fit frames; ``tgan`` renders with ``model`` and a background estimated off the
    reference frames' full outlines (mirrored to the size when it differs). ``look``: ``(N, H, W)`` unannotated raw
    frames whose look the video takes (:func:`tganaug.appearance.with_appearance`); the output is then in those
    frames' (0.1, 99.9) percentile scale, mapped back to raw with it.
    """
    from tganaug.benchmarking.fidelity import fit_background  # noqa: PLC0415
    from tganaug.data.normalize import fit_normalization  # noqa: PLC0415
    from tganaug.outlines import read_outlined_ctc  # noqa: PLC0415
    from tganaug.registry import get_generator  # noqa: PLC0415

    if generator_name == SR_ON_REAL:
        return sr_on_real_images(inputs, gt, seed, model=model, reference=reference)
    if generator_name == "procedural":
        from tganaug.procedural import ProceduralRenderer  # noqa: PLC0415

        fit = inputs.require_fit("the procedural renderer")
        generator = ProceduralRenderer.from_ctc(fit.data, frames=list(fit.frames), sequence=fit.sequence)
    elif generator_name == "tgan":
        generator = get_generator("tgan", model=model)
    else:
        generator = get_generator(generator_name)
    source = _reference(inputs, reference, f"the {generator_name} generator's intensity scale")
    percentiles = tuple(generator.model.config.norm_percentiles) if generator_name == "tgan" else (0.1, 99.9)
    ref, _ = read_outlined_ctc(source.data, source.sequence, list(source.frames))  # whole cells: markers leave ghosts
    norm = fit_normalization(ref.images, percentiles=percentiles)
    background = None
    if generator_name == "tgan":
        from tganaug.models.tgan import background_from_video  # noqa: PLC0415

        background = fit_background(background_from_video(norm(ref.images), ref.labels), gt.labels.shape[1:])
    if look is not None:
        from tganaug.appearance import with_appearance  # noqa: PLC0415

        generator = with_appearance(generator, reference=look)
        norm = fit_normalization(np.asarray(look))  # the wrapper renders in the look frames' own scale
    outlines = read_outlines(inputs.scored) if outlines is None else outlines
    labels = gt.labels if outlines.labels is None else outlines.labels
    video = np.asarray(generator.generate(labels, background=background, seed=seed), dtype=np.float32)
    if video.shape != gt.labels.shape:
        raise ValueError(f"generator {generator_name!r} returned shape {video.shape}, expected {gt.labels.shape}")
    return video * np.float32(norm.scale) + np.float32(norm.offset)


def sr_on_real_images(inputs: BenchmarkInputs, gt: CTCSequence, seed: int, *, model: str = "fluo-nuclei",
                      reference: FrameSource | None = None) -> np.ndarray:
    """The tgan ``model``'s SR stage on the area down-sampling of the real frames (and the GT masks), raw units: a
    perfect low-res stage would hand the SR stage these frames, so the row separates the two stages' share of a gap
    to Real. Frames are normalised with the reference (fit) frames' percentiles of the model's training and mapped back."""
    from tganaug.data.normalize import fit_normalization  # noqa: PLC0415
    from tganaug.models.tgan import TGAN, resolve_model  # noqa: PLC0415

    tgan = TGAN.from_pretrained(resolve_model(model))
    source = _reference(inputs, reference, "the SR-on-real row's intensity scale")
    images = read_ctc(source.data, source.sequence, frames=list(source.frames), read_labels=False).images
    norm = fit_normalization(images, percentiles=tgan.config.norm_percentiles)
    video = tgan.super_resolve(np.clip(norm(gt.images), 0, 1), gt.labels, seed=seed)
    return video * np.float32(norm.scale) + np.float32(norm.offset)


def _segment(settings: TrackingSettings, images: np.ndarray, gt: CTCSequence, progress: bool) -> np.ndarray:
    from tganaug.tracking.pipeline import segment_video  # noqa: PLC0415

    if settings.segmenter == "gt":
        return gt.labels
    return segment_video(images, settings.segmenter, config=dict(settings.params), progress=progress)


def run_tracking(inputs: BenchmarkInputs, gt: CTCSequence, settings: TrackingSettings, trackers: Sequence[str],
                 sources: Mapping[str, Callable[[], np.ndarray]] | None = None, *, dataset: str | None = None, progress: bool = True,
                 graph_measures: bool = True, log: Callable[[str], None] = print,
                 on_row: Callable[[dict], None] | None = None, outlines: ScoredOutlines | None = None) -> list[dict]:
    """Segment (per ``settings``) and track the real scored frames (``gt``: images, TRA labels and lineage) and each
    synthetic source (``name -> () -> (T, H, W) images`` in the real raw units, made when its turn comes; a source
    that raises is reported through ``log`` and skipped), with every tracker; one score row per (source, tracker).

    Rows: ``dataset`` (default: the folder's name), ``source`` (``Real`` or the source name), ``tracker``, every score
    of :func:`tganaug.tracking.metrics.score_tracking` (MOT measures NaN when ``settings.mot`` is false) and ``seconds``
    (the tracker's time). A tracker whose backend cannot run here (``RuntimeError`` / ``ImportError``) is skipped,
    through ``log``. Where ``settings.mot_outlines``, MOT measures are scored against ``outlines.labels`` (the scored
    frames' full outlines with track ids) instead of the TRA masks."""
    from tganaug.tracking.metrics import mot_metrics  # noqa: PLC0415
    from tganaug.tracking.pipeline import track_video  # noqa: PLC0415

    reference = outlines.labels if settings.mot_outlines and outlines is not None else None
    if settings.mot_outlines and reference is None:
        raise ValueError("these settings score MOT measures against the full outlines: pass the same outlines given to resolve_settings")

    dataset = dataset or inputs.scored.data.name
    if settings.seg == "seg":
        seg_reference = read_seg_reference(inputs.scored.data, list(inputs.scored.frames), inputs.scored.sequence)
    elif settings.seg == "tra":
        seg_reference = dict(enumerate(gt.labels))
    else:
        seg_reference = {}
    rows: list[dict] = []
    todo: list[tuple[str, Callable[[], np.ndarray]]] = [("Real", lambda: gt.images), *(sources or {}).items()]
    for source, make in todo:
        try:
            images = make()
        except Exception as error:  # noqa: BLE001 - a generator under development may fail in any way; report it
            log(f"  {dataset} {source}: generator failed ({type(error).__name__}: {error})")
            continue
        labels = _segment(settings, images, gt, progress)
        for name in trackers:
            started = time.perf_counter()
            try:
                tracked, lineage = track_video(labels, name, progress=progress)  # checked output
            except (RuntimeError, ImportError) as error:  # TrackerFailed is a RuntimeError: the backend cannot run here
                log(f"  {dataset} {source} {name}: skipped ({error})")
                continue
            seconds = time.perf_counter() - started
            scores = score_tracking(tracked, lineage, gt.labels, gt.lineage, seg_reference, progress=progress,
                                    graph_measures=graph_measures)
            if not settings.mot:
                scores.update({key: float("nan") for key in MOT_COLUMNS})
            elif reference is not None:
                scores.update(mot_metrics(reference, tracked, progress=progress))
            rows.append({"dataset": dataset, "source": source, "tracker": name, "seconds": seconds, **scores})
            if on_row is not None:
                on_row(rows[-1])
    return rows


def tracking_report(inputs: BenchmarkInputs, settings: TrackingSettings, rows: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                    command: str, *, generators: Sequence[str] = (), model: str = "fluo-nuclei",
                    columns: Sequence[str] = COLUMNS, outlines: ScoredOutlines | None = None, look_text: str = "") -> dict[str, bytes]:
    """The files of a tracking benchmark: ``tracking.md`` (header, settings, table) and ``tracking.csv``."""
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.params.items())
    segmenter = ("`gt` (the GT masks: trackers only)" if settings.segmenter == "gt" else
                 f"`{settings.segmenter}` ({params or 'defaults'}" + (f"; fitted on the fit frames: {', '.join(settings.fitted)}" if
                                                                      settings.fitted else "") + ")")
    notes = [f"Segmenter: {segmenter}.", f"{settings.seg_text}.", f"{settings.mot_text}; MT/ML are fractions of GT tracks."]
    if inputs.fit is not None:
        notes.append(f"Fitted on: frames {inputs.fit.span} of `{inputs.fit.data.name}` sequence {inputs.fit.sequence} (train split).")
    if generators:
        which = ", ".join(generators) + (f" (tgan model `{model}`)" if "tgan" in generators else "")
        rendered = f"the scored frames' full outlines ({outlines.how})" if outlines is not None else "the scored GT masks"
        notes.append(f"Synthetic rows: {which} render {rendered}, mapped to the real frames' raw units with the fit "
                     "frames' normalisation; one row per seed." if not look_text else
                     f"Synthetic rows: {which} render {rendered} in the look of {look_text} (tganaug.appearance), mapped to "
                     "raw units with those frames' normalisation; one row per seed.")
    lines = header(f"Tracking on real vs synthetic videos ({inputs.scored.data.name} {inputs.scored.sequence})", inputs, seeds, command,
                   notes)
    lines += [format_table([dict(r) for r in rows], columns)]
    return {"tracking.md": ("\n".join(lines) + "\n").encode(), "tracking.csv": csv_bytes(rows, columns)}
