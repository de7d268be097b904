"""Is a video inside what a segmenter was trained on? Input statistics, their training range, and the warning.

A learned segmenter fails quietly on a recording whose look it never saw (dimmer, noisier, another
microscope): it splits nuclei into fragments rather than raising. Each video is normalised as the
segmenter normalises it (its own percentiles), and a few per-frame statistics are compared with the
range they had over the training frames:

- ``noise``: robust s.d. (1.4826 MAD) of the image minus its Gaussian blur (sigma 2 px), normalised units;
- ``background``: the median normalised intensity;
- ``contrast_to_noise``: (99th percentile - median) / ``noise``;
- ``grey_levels``: raw intensity levels between the video's 0.1st and 99.9th percentiles (quantisation).

A statistic warns when the video's median over frames lies outside the training range widened by
``factor`` (a ratio, for the positive scales) or ``margin`` (for ``background``, in [0, 1]).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from tganaug.data.normalize import fit_normalization

__all__ = ["INPUT_STATISTICS", "SegmenterInputWarning", "frame_statistics", "input_differences", "input_reference",
           "read_input_reference", "write_input_reference"]

INPUT_STATISTICS = ("noise", "background", "contrast_to_noise", "grey_levels")
#: frames per video the statistics are measured on (evenly spaced), enough for a median and cheap on long videos
_MAX_FRAMES = 8


class SegmenterInputWarning(UserWarning):
    """A video's statistics lie outside the range of the segmenter's training frames."""


def frame_statistics(images: np.ndarray, percentiles: Sequence[float] = (0.1, 99.9)) -> dict[str, np.ndarray]:
    """Per-frame statistics (see the module docstring) of a ``(T, H, W)`` real video, normalised with its own
    ``percentiles``; at most 8 evenly spaced frames are measured. Returns name -> ``(T',) float64``."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty (T, H, W) video, got shape {images.shape}")
    low, high = np.percentile(images, percentiles)
    normalized = fit_normalization(images, "percentile", tuple(percentiles))(images)
    picked = np.unique(np.linspace(0, len(images) - 1, min(len(images), _MAX_FRAMES)).round().astype(int))
    values: dict[str, list[float]] = {name: [] for name in INPUT_STATISTICS}
    for t in picked.tolist():
        frame = np.asarray(normalized[t], dtype=np.float32)
        residual = frame - ndimage.gaussian_filter(frame, 2.0)
        noise = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
        median = float(np.median(frame))
        values["noise"].append(noise)
        values["background"].append(median)
        values["contrast_to_noise"].append((float(np.percentile(frame, 99)) - median) / max(noise, 1e-6))
        values["grey_levels"].append(float(high - low))
    return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}


def input_reference(videos: Iterable[np.ndarray], percentiles: Sequence[float] = (0.1, 99.9)) -> dict[str, list[float]]:
    """The ``[min, max]`` of every statistic over the frames of the training ``videos`` (each ``(T, H, W)``)."""
    pooled: dict[str, list[np.ndarray]] = {name: [] for name in INPUT_STATISTICS}
    for video in videos:
        for name, values in frame_statistics(video, percentiles).items():
            pooled[name].append(values)
    if not pooled["noise"]:
        raise ValueError("input_reference needs at least one training video")
    return {name: [float(np.min(np.concatenate(v))), float(np.max(np.concatenate(v)))] for name, v in pooled.items()}


def input_differences(images: np.ndarray, reference: dict[str, Sequence[float]], percentiles: Sequence[float] = (0.1, 99.9),
                      factor: float = 1.5, margin: float = 0.1) -> list[str]:
    """What makes a ``(T, H, W)`` video unlike the training frames: one message per statistic outside the widened
    ``reference`` range (:func:`input_reference`), naming the value and the range; empty when it looks familiar."""
    measured = frame_statistics(images, percentiles)
    found = []
    for name in INPUT_STATISTICS:
        if name not in reference:
            continue
        low, high = (float(v) for v in reference[name])
        value = float(np.median(measured[name]))
        if name == "background":
            lo, hi = low - margin, high + margin
        else:
            lo, hi = low / factor, high * factor
        if not lo <= value <= hi:
            side = "below" if value < lo else "above"
            found.append(f"{name.replace('_', ' ')} {value:.3g} is {side} the training range {low:.3g}..{high:.3g}")
    return found


def _reference_path(checkpoint: str | Path) -> Path:
    return Path(checkpoint).with_suffix(".inputs.json")


def write_input_reference(checkpoint: str | Path, reference: dict[str, Sequence[float]], described: Sequence[str]) -> Path:
    """Write ``reference`` beside ``checkpoint`` (``<name>.inputs.json``, atomically) with the frames it came from."""
    from tganaug.utils.fsutil import atomic_write_json

    path = _reference_path(checkpoint)
    atomic_write_json(path, {"statistics": {k: list(v) for k, v in reference.items()}, "measured_on": list(described)})
    return path


def read_input_reference(checkpoint: str | Path) -> dict[str, list[float]] | None:
    """The training input range written beside ``checkpoint``, or None when it has none."""
    path = _reference_path(checkpoint)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
        return {str(k): [float(v[0]), float(v[1])] for k, v in payload["statistics"].items()}
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise ValueError(f"{path}: not a segmenter input reference ({type(error).__name__}: {error})") from None
