"""CTC tracking-result folders (``01_RES``): ``maskNNN.tif`` label frames and ``res_track.txt``.

The layout py-ctcmetrics and the CTC evaluation tools read::

    <dataset>/01_RES/mask000.tif ...    (H, W) uint16, label = track id
    <dataset>/01_RES/res_track.txt      id start end parent, one line per track

Frame numbers in file names and in ``res_track.txt`` are the *original* frame numbers of the
input: a result for the eval frames 45..64 of a dataset holds ``mask045.tif`` .. ``mask064.tif``
(for a whole sequence this is exactly CTC's layout). :mod:`tganaug.tracking.metrics` renumbers
both result and ground truth from 0 before calling py-ctcmetrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from tganaug.io import check_labels, list_frames, read_tiff
from tganaug.lineage import as_lineage, format_man_track, read_man_track, validate_tracks
from tganaug.utils.fsutil import OutputKind, atomic_directory

__all__ = ["RESULT_MASK", "TRACKING_RESULT", "TrackingResult", "result_dir", "write_result_files", "write_result", "read_result"]

RESULT_MASK = re.compile(r"^mask(\d+)\.tif{1,2}$")
#: a ``<sequence>_RES`` folder written by :func:`write_result` (earlier versions: recognised by its ``res_track.txt``)
TRACKING_RESULT = OutputKind("tracking-result", ("mask[0-9]*.tif", "mask[0-9]*.tiff", "res_track.txt"),
                             "a tracking result written by tganaug track", lambda folder: (folder / "res_track.txt").is_file())


@dataclass
class TrackingResult:
    """A tracking result in memory.

    Attributes:
        labels: ``(T, H, W) uint16`` frames relabelled by track id.
        lineage: ``(N, 4) int64`` id/start/end/parent, frames counted from 0 (relative to ``frames[0]``).
        frames: ``(T,) int64`` original frame numbers.
    """

    labels: np.ndarray
    lineage: np.ndarray
    frames: np.ndarray


def result_dir(path: str | Path, sequence: str = "01") -> Path:
    """The RES folder for ``path``: ``path`` itself if it holds ``res_track.txt``, else ``path/<sequence>_RES``."""
    path = Path(path)
    if (path / "res_track.txt").is_file():
        return path
    candidate = path / f"{sequence}_RES"
    if (candidate / "res_track.txt").is_file():
        return candidate
    raise FileNotFoundError(f"no tracking result in {path}: expected {path}/res_track.txt or {candidate}/res_track.txt")


def write_result_files(folder: str | Path, labels: np.ndarray, lineage: np.ndarray, first_frame: int = 0) -> None:
    """Write ``maskNNN.tif`` + ``res_track.txt`` into an existing ``folder`` (validated first).

    ``labels`` ``(T, H, W)`` integer, ``lineage`` ``(N, 4)`` with frames counted from 0;
    ``first_frame`` is the original number of frame 0 (files and lineage are shifted by it).
    """
    folder = Path(folder)
    labels = check_labels(labels)  # before validation: ids beyond uint16 would wrap into other cells' ids
    lineage = as_lineage(lineage)
    validate_tracks(labels, lineage)
    last = first_frame + labels.shape[0] - 1
    digits = 3 if last < 1000 else 4
    for t, frame in enumerate(labels):
        tifffile.imwrite(folder / f"mask{first_frame + t:0{digits}d}.tif", frame, compression="zlib")
    shifted = lineage.copy()
    shifted[:, 1:3] += first_frame
    (folder / "res_track.txt").write_text(format_man_track(shifted))


def write_result(
    path: str | Path,
    labels: np.ndarray,
    lineage: np.ndarray,
    *,
    first_frame: int = 0,
    sequence: str = "01",
    overwrite: bool = False,
) -> Path:
    """Write a tracking result atomically to ``path/<sequence>_RES``; returns that folder.

    Raises :class:`tganaug.LineageError` if labels and lineage disagree, ``FileExistsError`` if the
    folder is not empty and ``overwrite`` is False, or holds anything but a tracking result
    (:data:`TRACKING_RESULT`; it is then never replaced).
    """
    folder = Path(path) / f"{sequence}_RES"
    with atomic_directory(folder, overwrite=overwrite, kind=TRACKING_RESULT) as staging:
        write_result_files(staging, labels, lineage, first_frame)
    return folder


def read_result(path: str | Path, sequence: str = "01") -> TrackingResult:
    """Read a RES folder (or a folder holding ``<sequence>_RES``) into a :class:`TrackingResult`."""
    folder = result_dir(path, sequence)
    files = list_frames(folder, RESULT_MASK)
    if not files:
        raise FileNotFoundError(f"{folder}: no result masks maskNNN.tif")
    numbers = list(files)
    if numbers != list(range(numbers[0], numbers[-1] + 1)):
        raise ValueError(f"{folder}: mask frame numbers are not contiguous ({numbers[:3]}...{numbers[-3:]})")
    labels = np.stack([read_tiff(files[t]) for t in numbers])
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{folder}: result masks must be integer labels, got {labels.dtype}")
    lineage = read_man_track(folder / "res_track.txt")
    lineage[:, 1:3] -= numbers[0]
    return TrackingResult(labels.astype(np.uint16), lineage, np.asarray(numbers, dtype=np.int64))
