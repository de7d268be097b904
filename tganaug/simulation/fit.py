"""Statistics of label videos, and simulator parameters estimated from real CTC data."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy as np
from scipy import ndimage

from tganaug.lineage import as_lineage
from tganaug.outlines import read_outlined_ctc

__all__ = ["video_statistics", "fit_config", "fit_config_from_labels"]


def _per_frame_regions(labels: np.ndarray) -> list[dict[int, tuple[float, float, float, float]]]:
    """Per frame: id -> (area, centroid y, centroid x, aspect ratio from second moments)."""
    regions = []
    for frame in labels:
        ids = np.unique(frame)
        ids = ids[ids > 0]
        if ids.size == 0:
            regions.append({})
            continue
        yy, xx = np.indices(frame.shape)
        area = ndimage.sum_labels(np.ones_like(frame, dtype=float), frame, ids)
        my = ndimage.sum_labels(yy, frame, ids) / area
        mx = ndimage.sum_labels(xx, frame, ids) / area
        # Second central moments -> eigenvalues -> axis ratio.
        syy = ndimage.sum_labels(yy.astype(float) ** 2, frame, ids) / area - my**2
        sxx = ndimage.sum_labels(xx.astype(float) ** 2, frame, ids) / area - mx**2
        sxy = ndimage.sum_labels(yy.astype(float) * xx, frame, ids) / area - my * mx
        half_trace, det_root = (syy + sxx) / 2, np.sqrt(((syy - sxx) / 2) ** 2 + sxy**2)
        major, minor = half_trace + det_root, np.maximum(half_trace - det_root, 1e-6)
        aspect = np.sqrt(major / minor)
        regions.append({int(i): (float(a), float(y), float(x), float(r)) for i, a, y, x, r in zip(ids, area, my, mx, aspect)})
    return regions


def video_statistics(labels: np.ndarray, lineage: np.ndarray) -> dict[str, float]:
    """Summary statistics of a ``(T, H, W)`` instance-label video with its ``(N, 4)`` lineage.

    Returns a dict with: ``cells_per_frame``, ``cells_per_10k_px`` (mean) and
    ``initial_cells_per_10k_px`` (first frame), ``coverage`` (fraction of
    pixels inside cells), ``area_mean`` / ``area_sd`` (px), ``aspect_mean`` / ``aspect_sd``
    (long/short axis from second moments), ``speed_mean`` (centroid displacement per frame of
    the same track), ``persistence`` (lag-1 correlation of displacement components),
    ``divisions_per_frame`` and ``division_rate`` (divisions per cell per frame; a division is a
    parent with two or more daughters).
    """
    labels = np.asarray(labels)
    lineage = as_lineage(lineage)
    n_frames, height, width = labels.shape
    regions = _per_frame_regions(labels)
    counts = np.array([len(r) for r in regions], dtype=float)
    areas = np.array([v[0] for r in regions for v in r.values()])
    aspects = np.array([v[3] for r in regions for v in r.values() if v[0] >= 9])
    steps = []  # (track, t, dy, dx)
    for t in range(1, n_frames):
        for track_id, (_a, y, x, _r) in regions[t].items():
            if track_id in regions[t - 1]:
                _a0, y0, x0, _r0 = regions[t - 1][track_id]
                steps.append((track_id, t, y - y0, x - x0))
    step_array = np.array(steps, dtype=float).reshape(-1, 4)
    speed = float(np.hypot(step_array[:, 2], step_array[:, 3]).mean()) if len(step_array) else 0.0
    pairs = []
    by_key = {(int(s[0]), int(s[1])): s[2:] for s in step_array}
    for (track_id, t), velocity in by_key.items():
        following = by_key.get((track_id, t + 1))
        if following is not None:
            pairs.append(np.concatenate([velocity, following]))
    persistence = 0.0
    if len(pairs) > 2:
        pair_array = np.array(pairs)
        first = np.concatenate([pair_array[:, 0], pair_array[:, 1]])
        second = np.concatenate([pair_array[:, 2], pair_array[:, 3]])
        if first.std() > 0 and second.std() > 0:
            persistence = float(np.corrcoef(first, second)[0, 1])
    parents, daughter_counts = np.unique(lineage[lineage[:, 3] > 0, 3], return_counts=True)
    divisions = int((daughter_counts >= 2).sum())
    return {
        "frames": float(n_frames),
        "cells_per_frame": float(counts.mean()),
        "cells_per_10k_px": float(counts.mean() / (height * width) * 1e4),
        "initial_cells_per_10k_px": float(counts[0] / (height * width) * 1e4),
        "coverage": float((labels > 0).mean()),
        "area_mean": float(areas.mean()) if areas.size else 0.0,
        "area_sd": float(areas.std()) if areas.size else 0.0,
        "aspect_mean": float(aspects.mean()) if aspects.size else 1.0,
        "aspect_sd": float(aspects.std()) if aspects.size else 0.0,
        "speed_mean": speed,
        "persistence": persistence,
        "divisions_per_frame": divisions / max(n_frames - 1, 1),
        "division_rate": divisions / max(counts[:-1].sum(), 1.0),
    }


def fit_config(config_class: type, path: str, frames: Any = None, sequence: str = "01", **overrides: Any) -> Any:
    """Estimate a :class:`~tganaug.simulation.cells.CellSimConfig` (subclass) from a CTC dataset.

    Reads the labels of ``frames`` of ``sequence`` (a split name such as ``"train"``: that split of this sequence,
    refused for an evaluation-only one, see :mod:`tganaug.splits`; a range; or None for all) as full outlines with
    track ids (:func:`tganaug.outlines.read_outlined_ctc`: dense TRA masks as they are, marker TRA masks joined to
    the sequence's ST/SEG outlines, so that cells get the size of the cells, not of their markers) and fits them
    with :func:`fit_config_from_labels`.
    """
    sequence_data, _ = read_outlined_ctc(path, sequence, frames, read_images=False)
    return fit_config_from_labels(config_class, sequence_data.labels, sequence_data.lineage, **overrides)


def fit_config_from_labels(config_class: type, labels: np.ndarray, lineage: np.ndarray, **overrides: Any) -> Any:
    """Estimate a :class:`~tganaug.simulation.cells.CellSimConfig` (subclass) from a label video.

    Args:
        config_class: the config class to fill (e.g. ``DivisionConfig``).
        labels: ``(T, H, W)`` integer instance labels, label = track id (full outlines: the cell size is their area).
        lineage: ``(N, 4)`` (id, start, end, parent), frames counted from 0.
        overrides: fields set explicitly afterwards.

    Initial cell density (first frame), size and shape distributions, speed and persistence come from the labels
    (:func:`video_statistics`); the division cycle is ``ln 2 / division_rate`` when the config class simulates
    divisions (its default ``cycle_mean > 0``, or its class attribute ``fit_divides``), and then the adult radius is
    chosen so that the mean area of growing cells matches; such a config fitted to labels without a division gets
    ``cycle_mean = 0`` (no division).
    """
    stats = video_statistics(np.asarray(labels), lineage)
    defaults = config_class()
    divides = (getattr(defaults, "cycle_mean", 0) > 0 or getattr(config_class, "fit_divides", False)) and stats["division_rate"] > 0
    # Growing cells live between half and full adult area (mean 0.75), so the adult radius is larger.
    radius = math.sqrt(stats["area_mean"] / ((0.75 if divides and defaults.growth else 1.0) * math.pi))
    values: dict[str, Any] = {
        "n_cells": None,
        # The simulation starts from the first frame's density; divisions and entries take it from there.
        "cells_per_10k_px": max(stats["initial_cells_per_10k_px"], 1e-3),
        "radius_mean": radius,
        "radius_sd": stats["area_sd"] / (2 * math.pi * radius),
        "aspect_mean": max(1.0, stats["aspect_mean"]),
        "aspect_sd": stats["aspect_sd"],
        "speed": stats["speed_mean"],
        "persistence": float(np.clip(stats["persistence"], 0.0, 0.95)),
    }
    if divides:
        # In a population growing by division, rate = ln 2 / cycle (age-structured growth).
        values["cycle_mean"] = float(math.log(2.0) / stats["division_rate"])
        values["cycle_sd"] = 0.15 * values["cycle_mean"]
    elif getattr(defaults, "cycle_mean", 0) > 0:
        # a dividing simulator fitted to a recording without divisions: none simulated (the rate's estimate is 0)
        values["cycle_mean"], values["cycle_sd"] = 0.0, 0.0
    known = {f.name for f in fields(config_class)}
    values = {k: v for k, v in values.items() if k in known}
    values.update(overrides)
    merged = defaults.to_dict()
    merged.update(values)
    return config_class.from_dict(merged)
