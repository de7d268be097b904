"""Persistent on-disk cache of synthetic videos in CTC layout (one folder per video).

``<cache_dir>/<index:06d>/`` holds ``01/tNNN.tif`` (float32 frames in [0, 1]), ``01_GT/TRA/``
(uint16 labels + ``man_track.txt``, the exact annotation) and ``meta.json``; it is written
atomically (:func:`tganaug.utils.fsutil.atomic_directory`, the machinery of
:func:`tganaug.io.write_ctc`) frame by frame, so a crash never leaves a half video and memory does
not grow with the number of frames beyond the label video itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from tganaug.io import SequenceWriter, read_ctc
from tganaug.lineage import LineageError, track_problems
from tganaug.utils.fsutil import OutputKind, atomic_directory

__all__ = ["CacheMismatchError", "read_cached_video", "write_video"]


class CacheMismatchError(ValueError):
    """A cached video was made with a different configuration than the dataset asks for."""


#: one slot of a dataset's cache folder (``CACHE/000123``): named by the dataset, everything in it is the cache's own
CACHED_VIDEO = OutputKind("cached-video", ("*",), "a cached video", lambda folder: True)


def write_video(
    path: str | Path,
    labels: np.ndarray,
    lineage: np.ndarray,
    frames: Iterable[np.ndarray],
    meta: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
    validate: bool = True,
) -> Path:
    """Write one annotated video as a CTC folder, streaming the rendered frames.

    Args:
        path: output folder (refused if non-empty unless ``overwrite``).
        labels: ``(T, H, W)`` integer labels (stored uint16); lineage ``(N, 4)``.
        frames: iterable of ``T`` rendered ``(H, W)`` float frames (e.g. a generator's ``iter_frames``),
            consumed one at a time.
        meta: JSON-serialisable metadata, written to ``meta.json``.
        validate: check labels against lineage first (:func:`tganaug.lineage.track_problems`).
    """
    labels = np.asarray(labels)
    if labels.ndim != 3 or labels.shape[0] == 0:
        raise ValueError(f"labels must be a non-empty (T, H, W) video, got shape {labels.shape}")
    if validate:
        problems = track_problems(labels, lineage)
        if problems:
            raise LineageError("refusing to cache inconsistent tracks: " + "; ".join(problems[:5]))
    n_frames = labels.shape[0]
    with atomic_directory(path, overwrite=overwrite, kind=CACHED_VIDEO) as staging:
        writer = SequenceWriter(staging, n_frames)
        written = 0
        for t, frame in enumerate(frames):
            if t >= n_frames:
                raise ValueError(f"the generator yielded more than {n_frames} frames")
            frame = np.asarray(frame, dtype=np.float32)
            if frame.shape != labels.shape[1:]:
                raise ValueError(f"frame {t} has shape {frame.shape}, expected {labels.shape[1:]}")
            writer.write(t, labels=labels[t], image=frame)
            written += 1
        if written != n_frames:
            raise ValueError(f"the generator yielded {written} frames for a {n_frames}-frame label video")
        writer.finish(lineage)
        (staging / "meta.json").write_text(json.dumps(meta or {}, indent=1, sort_keys=True, default=str))
    return Path(path)


def read_cached_video(path: str | Path, expected: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Read a video written by :func:`write_video`: ``(images float32 (T,H,W), labels uint16, lineage, meta)``.

    ``expected``: keys that ``meta.json`` must hold with equal values, else :class:`CacheMismatchError`.
    """
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
    except ValueError as error:
        raise CacheMismatchError(f"{path / 'meta.json'} is corrupt ({error}); delete {path} to render that video again") from None
    for key, value in (expected or {}).items():
        if json.loads(json.dumps(value, default=str)) != meta.get(key):
            raise CacheMismatchError(
                f"cached video {path} was made with a different {key!r} ({meta.get(key)!r} != {value!r}); "
                "use another cache_dir or delete it"
            )
    data = read_ctc(path, "01", annotation="GT")
    return data.images.astype(np.float32), data.labels, data.lineage, meta
