"""Read and write Cell Tracking Challenge (CTC) folders.

Layout of one sequence ``01`` inside a dataset folder::

    01/t000.tif ...                     raw frames, (H, W)
    01_GT/TRA/man_track000.tif ...      (H, W) uint16 instance labels, label = track id
    01_GT/TRA/man_track.txt             lineage: id start end parent (one line per track)

``01_ST`` (silver truth, computer-made annotation) is read like ``01_GT``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from tganaug.lineage import LineageError, as_lineage, crop_lineage, format_man_track, read_man_track, track_problems
from tganaug.splits import split_frames
from tganaug.utils.fsutil import OutputKind, atomic_directory

__all__ = [
    "CTCFormatError",
    "CTCSequence",
    "FloatLabelsWarning",
    "annotation_dir",
    "check_labels",
    "ctc_sequences",
    "describe_sequences",
    "find_sequences",
    "list_frames",
    "read_tiff",
    "whole_float_ids",
    "read_ctc",
    "write_ctc",
    "write_sequence_files",
    "SequenceWriter",
    "ctc_problems",
]

_IMAGE_NAME = re.compile(r"^t(\d+)\.tif{1,2}$")
_LABEL_NAME = re.compile(r"^man_track(\d+)\.tif{1,2}$")


class CTCFormatError(ValueError):
    """A CTC folder is missing pieces or holds files that cannot be read."""


class FloatLabelsWarning(UserWarning):
    """Labels stored as floats holding whole ids were converted to uint16."""


_HOW_TO_LABEL = ("instance ids must be whole numbers 0..65535 (0 = background); if these are probabilities or a "
                 "soft mask, make ids first, e.g. skimage.measure.label(mask > 0.5), and save them as uint16")


def whole_float_ids(labels: np.ndarray, what: str) -> np.ndarray | None:
    """``labels`` (any shape) of a float dtype holding only whole numbers in 0..65535 -> the same ids as uint16;
    None for a non-float dtype. Raises ``TypeError`` naming ``what`` (e.g. the file) for NaN/Inf, fractions or
    values outside 0..65535, with the first such value and its index."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.floating):
        return None
    bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0) | (labels > np.iinfo(np.uint16).max)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise TypeError(f"{what}: labels are {labels.dtype} with {int(bad.sum())} value(s) that are not whole ids in "
                        f"0..65535 (first: {float(labels[where])} at index {where}); {_HOW_TO_LABEL}")
    return labels.astype(np.uint16)


@dataclass
class CTCSequence:
    """One CTC sequence in memory.

    Attributes:
        images: ``(T, H, W)`` raw frames in their stored dtype, or ``None`` when not read.
        labels: ``(T, H, W) uint16`` instance labels (label = track id), or ``None``.
        lineage: ``(N, 4) int64`` (id, start, end, parent) with frames counted from 0 in this
            object (i.e. relative to ``frames[0]``), or ``None``.
        frames: ``(T,) int64`` original frame numbers of the rows above.
        path: the dataset folder read from.
        annotation: ``"GT"``, ``"ST"`` or ``""`` when no annotation was read.
    """

    images: np.ndarray | None
    labels: np.ndarray | None
    lineage: np.ndarray | None
    frames: np.ndarray
    path: Path
    annotation: str = ""


def read_tiff(path: str | Path) -> np.ndarray:
    """Read one 2-D TIFF; raise :class:`CTCFormatError` naming the file if it is missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise CTCFormatError(f"missing TIFF file: {path}")
    try:
        array = tifffile.imread(path)
    except Exception as error:  # tifffile raises several types for truncated/corrupt files
        raise CTCFormatError(f"cannot read TIFF {path}: {type(error).__name__}: {error}") from error
    if array.size == 0:
        raise CTCFormatError(f"cannot read TIFF {path}: no image data (corrupt or truncated file)")
    array = np.squeeze(array)
    if array.ndim != 2:
        raise CTCFormatError(f"{path}: expected a 2-D image, got shape {array.shape}")
    return array


def list_frames(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """Map frame number to file for the files of ``folder`` matching ``pattern``."""
    if not folder.is_dir():
        return {}
    found = {}
    for entry in folder.iterdir():
        match = pattern.match(entry.name)
        if match:
            found[int(match.group(1))] = entry
    return dict(sorted(found.items()))


def annotation_dir(root: str | Path, sequence: str = "01", annotation: str | None = None) -> tuple[Path, str] | None:
    """Return ``(root/<sequence>_<GT|ST>/TRA, kind)``; GT is preferred when ``annotation`` is None."""
    root = Path(root)
    for kind in [annotation] if annotation else ["GT", "ST"]:
        tra = root / f"{sequence}_{kind}" / "TRA"
        if tra.is_dir():
            return tra, kind
    return None


def _resolve_frames(root: Path, available: Sequence[int], frames: Sequence[int] | str | None, sequence: str = "01") -> list[int]:
    """Frame numbers to read: ``frames`` as given, a split of ``sequence`` (:func:`tganaug.splits.split_frames`), or all."""
    if frames is None:
        return list(available)
    if isinstance(frames, str):
        frames = split_frames(root, frames, n_frames=len(available), sequence=sequence)
    wanted = [int(f) for f in frames]
    if not wanted:
        raise CTCFormatError(f"{root}: no frames requested of sequence {sequence}")
    if wanted != list(range(wanted[0], wanted[-1] + 1)):
        raise CTCFormatError("frames must be a contiguous increasing range (lineage spans are intervals)")
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise CTCFormatError(
            f"{root}: frame(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} of sequence {sequence} requested but not "
            f"present (it has frames {available[0]}..{available[-1]})")
    return wanted


def describe_sequences(path: str | Path) -> str:
    """What a folder holds, for error messages: ``"sequences present: 02 (raw, GT)"`` or ``"no CTC sequence folders"``."""
    root = Path(path)
    try:
        names = ctc_sequences(root)
    except CTCFormatError:
        return "no CTC sequence folders (NN/, NN_GT/ or NN_ST/) present"
    parts = []
    for name in names:
        kinds = (["raw"] if (root / name).is_dir() else []) + [k for k in ("GT", "ST") if (root / f"{name}_{k}" / "TRA").is_dir()]
        parts.append(f"{name} ({', '.join(kinds) or 'no raw frames or TRA annotation'})")
    return "sequences present: " + "; ".join(parts)


def find_sequences(path: str | Path, sequence: str | Sequence[str] | None = None, *, raw: bool = False, annotated: bool = False) -> list[str]:
    """The sequences of a CTC folder a command works on: ``sequence`` (a name or several) when given, else every
    sequence present that has raw frames (``raw``) and/or a TRA annotation (``annotated``).

    Raises :class:`CTCFormatError` naming the sequence(s) looked for and what the folder holds when a named
    sequence lacks what is needed, or when no sequence has it.
    """
    root = Path(path)
    if not root.is_dir():
        raise CTCFormatError(f"not a folder: {root}")
    needs = " and ".join((["raw frames NN/tTTT.tif"] if raw else []) + (["annotation NN_GT/TRA or NN_ST/TRA"] if annotated else []))

    def usable(name: str) -> bool:
        return (not raw or (root / name).is_dir()) and (not annotated or annotation_dir(root, name) is not None)

    if sequence is not None:
        names = [sequence] if isinstance(sequence, str) else list(sequence)
        try:
            present = set(ctc_sequences(root))
        except CTCFormatError:
            present = set()
        lacking = [name for name in names if name not in present or not usable(name)]
        if lacking:
            raise CTCFormatError(f"{root}: sequence {', '.join(lacking)} not found{' with ' + needs if needs else ''} "
                                 f"({describe_sequences(root)})")
        return names
    names = [name for name in ctc_sequences(root) if usable(name)]
    if not names:
        raise CTCFormatError(f"{root}: no sequence{' with ' + needs if needs else ''} ({describe_sequences(root)})")
    return names


def read_ctc(
    path: str | Path,
    sequence: str = "01",
    frames: Sequence[int] | str | None = None,
    *,
    read_images: bool = True,
    read_labels: bool = True,
    annotation: str | None = None,
) -> CTCSequence:
    """Read a CTC sequence into arrays.

    Args:
        path: dataset folder holding ``<sequence>/`` and ``<sequence>_GT`` (or ``_ST``).
        sequence: sequence name, e.g. ``"01"``.
        frames: original frame numbers to read (a contiguous range), a split name (``"train"``,
            ``"eval"``, ``"all"``: that split *of this sequence*, see :mod:`tganaug.splits`; the train frames of an
            evaluation-only sequence are refused) or ``None`` for all frames.
        read_images / read_labels: skip the raw frames or the annotation.
        annotation: ``"GT"`` or ``"ST"``; default: GT if present, else ST.

    Returns:
        A :class:`CTCSequence`. Reading some frames, its lineage is cropped to them and counted
        from 0; reading all, it is the table as written (a span beyond the frames is left for
        validation to report).
    """
    root = Path(path)
    if not root.is_dir():
        raise CTCFormatError(f"not a folder: {root}")
    image_files = list_frames(root / sequence, _IMAGE_NAME) if read_images else {}
    if read_images and not image_files:
        raise CTCFormatError(f"{root}: no raw frames {sequence}/tNNN.tif found ({describe_sequences(root)})")
    label_files: dict[int, Path] = {}
    lineage = None
    kind = ""
    if read_labels:
        found = annotation_dir(root, sequence, annotation)
        if found is None:
            which = f"{sequence}_{annotation}" if annotation else f"{sequence}_GT or {sequence}_ST"
            raise CTCFormatError(f"{root}: no annotation folder {which}/TRA ({describe_sequences(root)})")
        tra, kind = found
        label_files = list_frames(tra, _LABEL_NAME)
        if not label_files:
            raise CTCFormatError(f"{tra}: no label frames man_trackNNN.tif found")
        lineage = read_man_track(tra / "man_track.txt")
    if read_images and read_labels and set(image_files) != set(label_files):
        only_images = sorted(set(image_files) - set(label_files))[:5]
        only_labels = sorted(set(label_files) - set(image_files))[:5]
        raise CTCFormatError(
            f"{root}: raw frames and label frames differ (only raw: {only_images}, only labels: {only_labels})"
        )
    available = sorted(image_files or label_files)
    if available != list(range(available[-1] + 1)):
        missing = sorted(set(range(available[-1] + 1)) - set(available))
        folder = (root / sequence).relative_to(root) if image_files else tra.relative_to(root)
        raise CTCFormatError(
            f"{root}: frame numbers must run from 0 without gaps; {folder} lacks {len(missing)} of frames 0..{available[-1]}: "
            f"{', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''}")
    wanted = _resolve_frames(root, available, frames, sequence)
    images = _stack_frames([read_tiff(image_files[t]) for t in wanted], [image_files[t] for t in wanted]) if read_images else None
    labels = None
    if read_labels:
        label_frames = [read_tiff(label_files[t]) for t in wanted]
        converted = []
        for k, (t, frame) in enumerate(zip(wanted, label_frames)):
            try:
                whole = whole_float_ids(frame, str(label_files[t]))
            except TypeError as error:
                raise CTCFormatError(str(error)) from None
            if whole is not None:
                label_frames[k] = frame = whole
                converted.append(label_files[t].name)
            if not np.issubdtype(frame.dtype, np.integer):
                raise CTCFormatError(f"{label_files[t]}: labels must be integers (or floats holding whole ids), got {frame.dtype}")
            if frame.size and (frame.min() < 0 or frame.max() > np.iinfo(np.uint16).max):
                raise CTCFormatError(
                    f"{label_files[t]}: label ids {int(frame.min())}..{int(frame.max())} outside 0..65535 (CTC labels are uint16)"
                )
        if converted:
            warnings.warn(f"{tra}: {len(converted)} label frame(s) ({', '.join(converted[:3])}{' ...' if len(converted) > 3 else ''}) "
                          "are stored as floats holding whole ids: read as uint16 (save them as uint16 to skip this)",
                          FloatLabelsWarning, stacklevel=2)
        labels = _stack_frames(label_frames, [label_files[t] for t in wanted]).astype(np.uint16)
        if list(wanted) != available:  # all frames: the table as written, so that validation sees spans beyond them
            lineage = crop_lineage(lineage, wanted[0], wanted[-1])
    if images is not None and labels is not None and images.shape != labels.shape:
        raise CTCFormatError(f"{root}: raw frames {images.shape} and labels {labels.shape} differ in shape")
    return CTCSequence(images, labels, lineage, np.asarray(wanted, dtype=np.int64), root, kind)


def _stack_frames(frames: list[np.ndarray], files: list[Path]) -> np.ndarray:
    """Stack 2-D frames read from ``files`` into ``(T, H, W)``; a frame of another shape than most is named."""
    shapes = [frame.shape for frame in frames]
    usual = max(set(shapes), key=shapes.count)
    odd = [file.name for file, shape in zip(files, shapes) if shape != usual]
    if odd:
        first = next(shape for shape in shapes if shape != usual)
        raise CTCFormatError(f"{files[0].parent / odd[0]}: frame of shape {first} differs from the other frames' {usual} ({len(odd)} odd: {odd[:5]})")
    return np.stack(frames)


def check_labels(labels: np.ndarray) -> np.ndarray:
    """``labels`` as ``(T, H, W) uint16`` instance ids; ``ValueError`` / ``TypeError`` for another shape, an empty
    video, a non-integer dtype or ids outside 0..65535 (CTC masks are uint16: larger ids would wrap and merge cells).
    Floats holding only whole ids in 0..65535 are converted (with a :class:`FloatLabelsWarning`); other floats are
    refused with a hint (:func:`whole_float_ids`)."""
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"labels must be a (T, H, W) array, got shape {labels.shape}")
    if labels.shape[0] == 0:
        raise ValueError("labels is an empty video (T = 0)")
    whole = whole_float_ids(labels, "labels")
    if whole is not None:
        warnings.warn(f"labels are {labels.dtype} holding whole ids 0..{int(whole.max())}: converted to uint16",
                      FloatLabelsWarning, stacklevel=2)
        return whole
    if not np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool:
        raise TypeError(f"labels must have an integer dtype (instance ids), got {labels.dtype}; {_HOW_TO_LABEL}")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.uint16).max):
        raise ValueError("label ids must lie in 0..65535 to be stored as uint16")
    return labels.astype(np.uint16)


def write_sequence_files(
    root: str | Path,
    labels: np.ndarray | None = None,
    lineage: np.ndarray | None = None,
    images: np.ndarray | None = None,
    sequence: str = "01",
    annotation: str = "GT",
    validate: bool = True,
) -> None:
    """Write one sequence's files into ``root`` (not atomic on its own; see :func:`write_ctc`).

    ``labels`` is ``(T, H, W)`` integer (stored uint16), ``lineage`` ``(N, 4)``; ``images`` is
    ``(T, H, W)`` in any TIFF-able dtype (stored as is). Labels without lineage get none written
    only if ``lineage`` is None and ``validate`` is False. Frame names use 3 digits (4 past 1000 frames).
    """
    root = Path(root)
    if labels is None and images is None:
        raise ValueError("nothing to write: give labels and/or images")
    if labels is not None:
        labels = check_labels(labels)
        if lineage is None:
            raise ValueError("labels need a lineage table (id, start, end, parent) to be written as CTC")
        lineage = as_lineage(lineage)
        if validate:
            problems = track_problems(labels, lineage)
            if problems:
                raise LineageError("refusing to write inconsistent tracks: " + "; ".join(problems[:5]))
    if images is not None:
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[0] == 0:
            raise ValueError(f"images must be a non-empty (T, H, W) array, got shape {images.shape}")
        if np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images)):
            raise ValueError("images contain NaN or Inf values")
        if labels is not None and images.shape != labels.shape:
            raise ValueError(f"images {images.shape} and labels {labels.shape} must have the same shape")
    n_frames = (labels if labels is not None else images).shape[0]
    writer = SequenceWriter(root, n_frames, sequence, annotation)
    for t in range(n_frames):
        writer.write(t, labels=None if labels is None else labels[t], image=None if images is None else images[t])
    if labels is not None:
        writer.finish(lineage)


class SequenceWriter:
    """Write one CTC sequence into ``root`` frame by frame (memory independent of the length).

    ``write(t, labels, image)`` stores ``<sequence>/tNNN.tif`` and/or
    ``<sequence>_<annotation>/TRA/man_trackNNN.tif``; ``finish(lineage)`` writes ``man_track.txt``
    (write it last: a sequence without it is incomplete). Not atomic by itself: write into a
    staging folder (:func:`write_ctc`, :func:`tganaug.generation.render_video`). Frame names use
    3 digits (4 past 1000 frames). Images are stored in their dtype; labels as uint16.
    """

    def __init__(self, root: str | Path, n_frames: int, sequence: str = "01", annotation: str = "GT") -> None:
        self.root = Path(root)
        self.digits = 3 if n_frames <= 1000 else 4
        self.images_dir = self.root / sequence
        self.tra_dir = self.root / f"{sequence}_{annotation}" / "TRA"

    def write(self, t: int, labels: np.ndarray | None = None, image: np.ndarray | None = None) -> None:
        """Store frame ``t``: ``(H, W)`` integer ``labels`` and/or an ``(H, W)`` ``image``."""
        if image is not None:
            self.images_dir.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(self.images_dir / f"t{t:0{self.digits}d}.tif", image, compression="zlib")
        if labels is not None:
            self.tra_dir.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(self.tra_dir / f"man_track{t:0{self.digits}d}.tif", np.asarray(labels).astype(np.uint16), compression="zlib")

    def finish(self, lineage: np.ndarray) -> None:
        """Write the lineage file ``man_track.txt`` (marks the annotation complete)."""
        self.tra_dir.mkdir(parents=True, exist_ok=True)
        (self.tra_dir / "man_track.txt").write_text(format_man_track(lineage))


#: a folder written by :func:`write_ctc` (only folders with its record are replaced: a CTC dataset looks the same)
CTC_FOLDER = OutputKind("ctc", ("[0-9][0-9]", "[0-9][0-9]_GT", "[0-9][0-9]_ST"), "a CTC folder written by tganaug's write_ctc")


def write_ctc(
    path: str | Path,
    labels: np.ndarray | None = None,
    lineage: np.ndarray | None = None,
    images: np.ndarray | None = None,
    *,
    sequence: str = "01",
    annotation: str = "GT",
    overwrite: bool = False,
    validate: bool = True,
) -> Path:
    """Write a CTC dataset folder atomically (temporary folder, then rename).

    Refuses a non-empty ``path`` unless ``overwrite=True``, and with it one that holds anything but what
    ``write_ctc`` wrote (:data:`CTC_FOLDER`); validates labels against the lineage first unless
    ``validate=False``. Returns the folder written.
    """
    with atomic_directory(path, overwrite=overwrite, kind=CTC_FOLDER) as staging:
        write_sequence_files(staging, labels, lineage, images, sequence, annotation, validate)
    return Path(path)


def ctc_sequences(path: str | Path) -> list[str]:
    """Sorted names of the sequences of a CTC folder (``01`` for any of ``01/``, ``01_GT/``, ``01_ST/``).

    Raises :class:`CTCFormatError` when ``path`` is not a folder or holds no sequence folder.
    """
    root = Path(path)
    if not root.is_dir():
        raise CTCFormatError(f"not a folder: {root}")
    names = sorted({m.group(1) for p in root.iterdir() if (m := re.match(r"^(\d+)(_GT|_ST)?$", p.name)) and p.is_dir()})
    if not names:
        raise CTCFormatError(f"{root}: no CTC sequence folders (01, 01_GT, ...) found")
    return names


def ctc_problems(path: str | Path, sequence: str | None = None) -> dict[str, list[str]]:
    """Check every sequence of a CTC folder (or just ``sequence``); map sequence name to problems.

    Reports unreadable files, missing lineage, raw/label frame mismatches and every track
    inconsistency of :func:`tganaug.lineage.track_problems`. Empty lists mean valid.
    """
    root = Path(path)
    if not root.is_dir():
        raise CTCFormatError(f"not a folder: {root}")
    names = ctc_sequences(root) if sequence is None else [sequence]
    report: dict[str, list[str]] = {}
    for name in names:
        has_raw = (root / name).is_dir()
        has_annotation = annotation_dir(root, name) is not None
        try:
            sequence_data = read_ctc(root, name, read_images=has_raw, read_labels=has_annotation or not has_raw)
        except (CTCFormatError, LineageError, FileNotFoundError) as error:
            report[name] = [str(error)]
            continue
        if sequence_data.labels is None:
            report[name] = []
            continue
        report[name] = track_problems(sequence_data.labels, sequence_data.lineage)
    return report
