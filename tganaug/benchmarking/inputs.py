"""Which frames a benchmark scores, which frames its settings are fitted on, and the protocol that makes them.

A benchmark scores frames of one sequence of a CTC dataset folder (any folder: nothing here knows dataset names).
Its per-dataset settings (intensity space, reference background, the threshold segmenter's threshold, the
procedural renderer) are *fitted* on train frames (:mod:`tganaug.splits`): those of the scored sequence when it
has any, else those of sequence ``01`` (an evaluation-only sequence, e.g. ``02`` of ``Fluo-N2DH-SIM+``, is never
fitted to), or of another dataset folder (``fit_data``, a cross-dataset test). The protocol follows:

* **same sequence**: eval frames of the sequence whose train frames were fitted on;
* **unseen sequence**: a sequence nothing was fitted on (its settings come from sequence ``01``'s train frames);
* **cross-dataset**: settings fitted on another dataset folder;
* **not held out**: the scored frames include frames fitted on (stated, never silent).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tganaug.splits import parse_frames  # re-exported: the frames option of every command
from tganaug.io import _IMAGE_NAME, _LABEL_NAME, CTCFormatError, annotation_dir, describe_sequences, find_sequences, list_frames, read_tiff
from tganaug.splits import SPLITS_FILE, _read_splits_file, sequence_split, split_frames

__all__ = ["BenchmarkInputs", "FrameSource", "ScoredOutlines", "check_splits_against_data", "iter_frames", "parse_frames", "read_outlines",
           "resolve_inputs", "sequence_length"]


@dataclass(frozen=True)
class FrameSource:
    """Frames of one sequence of a CTC dataset folder.

    Attributes:
        data: the dataset folder.
        sequence: the sequence name (``"02"``).
        frames: the original frame numbers, contiguous and increasing.
        how: how they were chosen (``"eval split (per .../splits.json)"``, ``"frames 3-8"``, ...).
    """

    data: Path
    sequence: str
    frames: tuple[int, ...]

    how: str = ""

    @property
    def span(self) -> str:
        """``"t045-t064 (20 frames)"``."""
        return f"t{self.frames[0]:03d}-t{self.frames[-1]:03d} ({len(self.frames)} frame{'s' if len(self.frames) != 1 else ''})"

    def describe(self) -> str:
        """``"MyNuclei sequence 02, frames t000-t011 (12 frames; eval split per ...)"``."""
        return f"`{self.data.name}` sequence {self.sequence}, frames {self.span[:-1]}; {self.how})" if self.how else \
            f"`{self.data.name}` sequence {self.sequence}, frames {self.span}"


@dataclass(frozen=True)
class BenchmarkInputs:
    """The scored frames, the frames settings are fitted on (``None``: nothing to fit on), and the protocol.

    Attributes:
        scored: the frames scored.
        fit: train frames the per-dataset settings are fitted on, or ``None`` when no train frames are known.
        protocol: ``"same sequence"``, ``"unseen sequence"``, ``"cross-dataset"``, ``"not held out"`` or ``"nothing fitted"``.
        protocol_text: one sentence for the report.
    """

    scored: FrameSource
    fit: FrameSource | None
    protocol: str
    protocol_text: str

    def require_fit(self, what: str) -> FrameSource:
        """The fit frames, or a ``ValueError`` saying that ``what`` needs train frames and how to give them."""
        if self.fit is None:
            raise ValueError(f"{what} is fitted on train frames, but neither sequence {self.scored.sequence} nor sequence 01 of "
                             f"{self.scored.data} has a train split: declare one in {self.scored.data / SPLITS_FILE} "
                             '({"01": {"train": [first, last], "eval": [first, last]}}) or pass --fit-data / --fit-sequence')
        return self.fit


def sequence_length(data: str | Path, sequence: str) -> int:
    """How many raw frames ``data/<sequence>/tNNN.tif`` there are (they must run from 0 without gaps)."""
    root = Path(data)
    found = sorted(list_frames(root / sequence, _IMAGE_NAME))
    if not found:
        raise CTCFormatError(f"{root}: no raw frames {sequence}/tNNN.tif ({describe_sequences(root)})")
    if found != list(range(len(found))):
        raise CTCFormatError(f"{root / sequence}: frame numbers must run from 0 without gaps (found {found[0]}..{found[-1]}, "
                             f"{len(found)} files)")
    return len(found)


def check_splits_against_data(data: str | Path) -> None:
    """Refuse a ``splits.json`` that contradicts the folder it describes: a declared sequence that is not there, or
    a split reaching past the sequence's frames (``ValueError`` naming the file, the sequence and the frames)."""
    root = Path(data)
    path = root / SPLITS_FILE
    if not path.is_file():
        return
    for sequence, entry in _read_splits_file(path).items():
        if not (root / sequence).is_dir():
            raise ValueError(f"{path} declares sequence {sequence}, which {root} does not hold ({describe_sequences(root)})")
        n_frames = sequence_length(root, sequence)
        for split, bounds in entry.items():
            if isinstance(bounds, tuple) and bounds[1] >= n_frames:
                raise ValueError(f"{path} gives sequence {sequence} the {split} frames {bounds[0]}..{bounds[1]}, but it has "
                                 f"frames 0..{n_frames - 1} in {root / sequence}")


def _choose(root: Path, sequence: str, frames: str | range, n_frames: int) -> FrameSource:
    if isinstance(frames, range):
        if frames.start < 0 or frames[-1] >= n_frames:
            raise ValueError(f"frames {frames.start}-{frames[-1]} are outside sequence {sequence} of {root} "
                             f"(it has frames 0-{n_frames - 1})")
        return FrameSource(root, sequence, tuple(frames), f"frames {frames.start}-{frames[-1]} as asked")
    chosen = split_frames(root, frames, n_frames, sequence)
    if frames == "all":
        how = "every frame"
    else:
        how = f"{frames} split per {sequence_split(root, sequence).source}"
    return FrameSource(root, sequence, tuple(chosen), how)


def _train_frames(root: Path, sequence: str) -> FrameSource | None:
    """The train frames of ``sequence`` of ``root``, or None when it has none (or no known split)."""
    if not (root / sequence).is_dir():
        return None
    try:
        info = sequence_split(root, sequence)
    except ValueError:
        return None
    if info.train is None:
        return None
    return _choose(root, sequence, "train", sequence_length(root, sequence))


def resolve_inputs(data: str | Path, sequence: str = "01", frames: str | range = "eval", *, fit_data: str | Path | None = None,
                   fit_sequence: str | None = None) -> BenchmarkInputs:
    """The frames a benchmark scores and fits on, checked against the data.

    ``frames``: ``"train"``, ``"eval"``, ``"all"`` (that split of ``sequence``) or a ``range`` of frame numbers.
    ``fit_data`` / ``fit_sequence``: where settings are fitted (default: ``data``; the train frames of ``sequence``
    when it has any, else of sequence ``01``). Raises ``FileNotFoundError`` for a missing folder, and
    ``ValueError`` / :class:`tganaug.CTCFormatError` naming the problem for an unknown sequence, frames outside the
    data, a sequence without the split asked for, or a ``splits.json`` that contradicts the data.
    """
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    check_splits_against_data(root)
    find_sequences(root, sequence, raw=True, annotated=True)
    scored = _choose(root, sequence, frames, sequence_length(root, sequence))

    fit_root = Path(fit_data) if fit_data is not None else root
    if fit_data is not None:
        if not fit_root.is_dir():
            raise FileNotFoundError(f"--fit-data folder not found: {fit_root}")
        check_splits_against_data(fit_root)
    if fit_sequence is not None:
        find_sequences(fit_root, fit_sequence, raw=True, annotated=True)
        fit: FrameSource | None = _choose(fit_root, fit_sequence, "train", sequence_length(fit_root, fit_sequence))
    else:
        fit = (_train_frames(fit_root, sequence) if fit_root == root else None) or _train_frames(fit_root, "01")

    if fit is None:
        protocol, text = "nothing fitted", (f"nothing fitted: no train frames are known for sequence {sequence} or 01 of "
                                            f"`{root.name}` (fitted settings are not available)")
    elif fit.data.resolve() != root.resolve():
        protocol, text = "cross-dataset", (f"cross-dataset: settings fitted on the train frames {fit.span} of `{fit.data.name}` "
                                           f"sequence {fit.sequence}, none on `{root.name}`")
    elif fit.sequence != sequence:
        protocol, text = "unseen sequence", (f"unseen sequence: sequence {sequence} was never fitted to; settings fitted on the "
                                             f"train frames {fit.span} of sequence {fit.sequence}")
    else:
        overlap = sorted(set(scored.frames) & set(fit.frames))
        if overlap:
            protocol, text = "not held out", (f"not held out: the scored frames include the train frames t{overlap[0]:03d}-"
                                              f"t{overlap[-1]:03d} that settings were fitted on")
        else:
            protocol, text = "same sequence", (f"same sequence: eval frames of sequence {sequence}, whose train frames "
                                               f"{fit.span} settings were fitted on")
    return BenchmarkInputs(scored, fit, protocol, text)


@dataclass(frozen=True)
class ScoredOutlines:
    """The full outlines of a :class:`FrameSource`'s frames, where its TRA masks are markers.

    Attributes:
        labels: ``(T, H, W) uint16`` full outlines with track ids (markers joined to ``NN_ST/SEG`` or ``NN_GT/SEG``, or
            grown; :func:`tganaug.outlines.read_outlined_ctc`), or ``None`` when the TRA masks are the outlines (then
            they are read frame by frame, as they are).
        how: one phrase for reports: where the outlines come from.
    """

    labels: np.ndarray | None
    how: str


def read_outlines(source: FrameSource) -> ScoredOutlines:
    """The full outlines of ``source``'s frames: a mask-to-image generator must be given whole cells, and a CTC TRA
    mask of a real dataset is a marker inside each cell. Without ``NN_ST/SEG`` or ``NN_GT/SEG`` outlines to check
    them against, the TRA masks are taken as the outlines (nothing is read here)."""
    from tganaug.outlines import read_outlined_ctc  # noqa: PLC0415

    root, sequence = source.data, source.sequence
    if not any((root / f"{sequence}_{kind}" / "SEG").is_dir() for kind in ("ST", "GT")):
        return ScoredOutlines(None, "TRA masks used as they are (no SEG outlines to check them against)")
    outlined, report = read_outlined_ctc(root, sequence, list(source.frames), read_images=False)
    return ScoredOutlines(None if report.method == "as-is" else outlined.labels, report.describe())


def iter_frames(source: FrameSource, *, images: bool = True, labels: bool = True,
                outlines: ScoredOutlines | None = None) -> Iterator[tuple[np.ndarray | None, np.ndarray | None]]:
    """``(image, labels)`` of each frame of ``source``, read one at a time: ``image`` ``(H, W)`` as stored,
    ``labels`` ``(H, W) uint16`` TRA instance ids (``NN_GT`` preferred, else ``NN_ST``), or the frame's full outlines
    where ``outlines`` (:func:`read_outlines`) holds them; ``None`` for what is not asked."""
    root, sequence = source.data, source.sequence
    image_files = list_frames(root / sequence, _IMAGE_NAME) if images else {}
    joined = outlines.labels if outlines is not None else None
    if joined is not None and len(joined) != len(source.frames):
        raise ValueError(f"{len(joined)} outline frames for the {len(source.frames)} frames of {source.describe()}")
    label_files: dict[int, Path] = {}
    if labels and joined is None:
        found = annotation_dir(root, sequence)
        if found is None:
            raise CTCFormatError(f"{root}: no annotation folder {sequence}_GT/TRA or {sequence}_ST/TRA ({describe_sequences(root)})")
        label_files = list_frames(found[0], _LABEL_NAME)
    for index, t in enumerate(source.frames):
        image = read_tiff(image_files[t]) if images and t in image_files else None
        if images and image is None:
            raise CTCFormatError(f"{root / sequence}: raw frame t{t:03d}.tif is missing")
        mask = None
        if labels and joined is not None:
            mask = joined[index]
        elif labels:
            if t not in label_files:
                raise CTCFormatError(f"{root}: label frame man_track{t:03d}.tif of sequence {sequence} is missing")
            mask = read_tiff(label_files[t])
            if not np.issubdtype(mask.dtype, np.integer) and not np.all(mask == np.round(mask)):
                raise CTCFormatError(f"{label_files[t]}: labels must be integers, got {mask.dtype}")
            mask = mask.astype(np.uint16)
        yield image, mask
