"""Fixed train/eval frame splits of the real datasets, per sequence.

A split is keyed by (dataset folder, sequence). The built-in table (:data:`KNOWN_SPLITS`) follows
``shared/data/README.md`` (project data notes): models that ship are trained on *train* frames only and
every reported figure uses *eval* frames or an evaluation-only sequence (sequence ``02`` of
``Fluo-N2DH-SIM+`` and ``Fluo-N2DH-GOWT1``: the "unseen sequence" protocol).

A dataset folder may carry its own ``splits.json``, which takes precedence over the built-in table:

* per sequence: ``{"01": {"train": [0, 44], "eval": [45, 64]}, "02": {"train": null, "eval": "all"}}``;
* flat (sequence ``01`` only): ``{"train": [0, 29], "eval": [30, 45]}``.

Each split is ``[first, last]`` (inclusive frame numbers), ``"all"`` (every frame of the sequence) or
``null`` (none). A sequence the table does not name has no known split: asking for its train or eval
frames is an error naming the dataset, the sequence and how to declare it (never another sequence's frames).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

__all__ = [
    "DATASET_CITATIONS",
    "KNOWN_SPLITS",
    "SPLIT_NAMES",
    "SPLITS_FILE",
    "SequenceSplit",
    "sequence_split",
    "sequences_with_split",
    "split_frames",
    "split_range",
    "parse_frames",
]

SPLIT_NAMES = ("train", "eval", "all")
SPLITS_FILE = "splits.json"

#: ``(first, last)`` inclusive frame numbers, ``"all"`` (every frame of the sequence) or ``None`` (no frames).
Bounds = Union[tuple[int, int], str, None]

#: Per dataset folder name, per sequence: the bounds of its ``train`` and ``eval`` splits.
KNOWN_SPLITS: dict[str, dict[str, dict[str, Bounds]]] = {
    "Fluo-N2DH-SIM+": {"01": {"train": (0, 44), "eval": (45, 64)}, "02": {"train": None, "eval": "all"}},
    "PhC-T98G-Usiigaci": {"01": {"train": (0, 25), "eval": (26, 36)}},
    "PhC-Ecoli-vanVliet": {"01": {"train": (0, 28), "eval": (29, 40)}},
    # 01: the train sequence of the unseen-sequence protocol (models trained elsewhere may be scored on all of it)
    "Fluo-N2DH-GOWT1": {"01": {"train": (0, 49), "eval": None}, "02": {"train": None, "eval": "all"}},
}

#: How to cite each shared dataset (from its README in ``shared/data``); model cards and reports use these.
DATASET_CITATIONS: dict[str, str] = {
    "Fluo-N2DH-SIM+": "Cell Tracking Challenge Fluo-N2DH-SIM+ (Svoboda & Ulman, IEEE TMI 2017; Maška et al., Nat Methods 2023)",
    "Fluo-N2DH-GOWT1": "Cell Tracking Challenge Fluo-N2DH-GOWT1 (Maška et al., Nat Methods 2023; Ulman et al., Nat Methods 2017)",
    "PhC-T98G-Usiigaci": "Usiigaci T98G example data (Tsai et al., SoftwareX 2019), silver-truth masks",
    "PhC-Ecoli-vanVliet": "E. coli micro-colony (van Vliet et al., Cell Systems 2018; Trackastra benchmark subset)",
    **{name: f"Cell Tracking Challenge {name} (Maška et al., Nat Methods 2023; Ulman et al., Nat Methods 2017; CTC conditions of use)"
       for name in ("Fluo-N2DL-HeLa", "PhC-C2DL-PSC", "PhC-C2DH-U373", "DIC-C2DH-HeLa")},
}

_HOW_TO_DECLARE = (
    'declare it in {file} as {{"{sequence}": {{"train": [first, last], "eval": [first, last]}}}} '
    '(or "all" / null per split), or read frames="all"'
)


@dataclass(frozen=True)
class SequenceSplit:
    """The train/eval split of one sequence and where it was declared (``source``: a ``splits.json`` or the built-in table)."""

    dataset: str
    sequence: str
    train: Bounds
    eval: Bounds
    source: str

    def bounds(self, split: str) -> Bounds:
        """The bounds of ``"train"`` or ``"eval"``."""
        return self.train if split == "train" else self.eval

    @property
    def evaluation_only(self) -> bool:
        """No train frames but some eval frames (a sequence kept for the unseen-sequence protocol)."""
        return self.train is None and self.eval is not None


def sequence_split(dataset: str | Path, sequence: str = "01") -> SequenceSplit:
    """The split of ``sequence`` of a dataset folder: from its ``splits.json``, else from :data:`KNOWN_SPLITS`.

    Raises ``ValueError`` naming the dataset, the sequence and how to declare it when neither knows the sequence,
    and naming ``splits.json`` when that file is malformed.
    """
    dataset = Path(dataset)
    custom = dataset / SPLITS_FILE
    if custom.is_file():
        table, source = _read_splits_file(custom), str(custom)
    elif dataset.name in KNOWN_SPLITS:
        table, source = KNOWN_SPLITS[dataset.name], f"the built-in split table of {dataset.name} (tganaug.splits.KNOWN_SPLITS)"
    else:
        known = ", ".join(sorted(KNOWN_SPLITS))
        raise ValueError(
            f"no train/eval split known for dataset {dataset.name!r} sequence {sequence} (built-in: {known}); "
            + _HOW_TO_DECLARE.format(file=custom, sequence=sequence)
        )
    if sequence not in table:
        declared = ", ".join(sorted(table)) or "none"
        raise ValueError(
            f"no train/eval split known for sequence {sequence} of dataset {dataset.name!r} ({source} declares "
            f"sequence(s) {declared}); " + _HOW_TO_DECLARE.format(file=custom, sequence=sequence)
        )
    entry = table[sequence]
    return SequenceSplit(dataset.name, sequence, entry.get("train"), entry.get("eval"), source)


def split_range(dataset: str | Path, split: str, n_frames: int | None = None, sequence: str = "01") -> range | None:
    """Frame numbers of ``split`` of one sequence, or ``None`` when that split is empty for it (e.g. the train
    frames of an evaluation-only sequence). ``n_frames`` (the frames present, numbered from 0) resolves ``"all"``
    and is checked against the split: frames outside those present raise ``ValueError`` naming the split's source,
    the sequence and the frames.
    """
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_NAMES)}")
    if split == "all":
        if n_frames is None:
            raise ValueError("split 'all' needs the number of frames")
        return range(n_frames)
    info = sequence_split(dataset, sequence)
    bounds = info.bounds(split)
    if bounds is None:
        return None
    if bounds == "all":
        if n_frames is None:
            raise ValueError(f"the {split} split of {info.dataset} sequence {sequence} is every frame: give the number of frames")
        return range(n_frames)
    first, last = bounds  # type: ignore[misc]
    if n_frames is not None and last >= n_frames:
        raise ValueError(
            f"{info.source} gives sequence {sequence} of {info.dataset} the {split} frames {first}..{last}, but the "
            f"sequence has frames 0..{n_frames - 1}: frames {max(first, n_frames)}..{last} are not present"
        )
    return range(int(first), int(last) + 1)


def split_frames(dataset: str | Path, split: str, n_frames: int | None = None, sequence: str = "01") -> range:
    """Frame numbers of ``split`` (``"train"``, ``"eval"`` or ``"all"``) of one sequence of a dataset folder.

    ``"all"`` (and a split declared ``"all"``) needs ``n_frames``. Raises ``ValueError`` for an unknown split
    name, a sequence with no known split, a split outside the ``n_frames`` present, or an empty split: the
    train frames of an evaluation-only sequence (e.g. ``Fluo-N2DH-SIM+`` sequence 02) are refused as such.
    """
    frames = split_range(dataset, split, n_frames, sequence)
    if frames is not None:
        return frames
    info = sequence_split(dataset, sequence)
    if split == "train" and info.evaluation_only:
        raise ValueError(
            f"sequence {sequence} of {info.dataset} is evaluation-only (no train frames, per {info.source}): never "
            "train on it, fit to it or estimate backgrounds from it; use its eval frames, or a sequence with train frames"
        )
    raise ValueError(f"sequence {sequence} of {info.dataset} has no {split!r} frames (per {info.source})")


def _check_bounds(path: Path, where: str, value: object) -> Bounds:
    if value is None or value == "all":
        return value  # type: ignore[return-value]
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 <= value[0] <= value[1]):
        raise ValueError(f"{path}: {where} must be [first, last] frame numbers with 0 <= first <= last, \"all\" or null; got {value!r}")
    return (value[0], value[1])


def _read_split_entry(path: Path, sequence: str, entry: object) -> dict[str, Bounds]:
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: sequence {sequence} must map to {{\"train\": ..., \"eval\": ...}}, got {entry!r}")
    unknown = sorted(set(entry) - {"train", "eval"})
    if unknown:
        raise ValueError(f"{path}: sequence {sequence} has unknown split(s) {', '.join(map(repr, unknown))} (known: train, eval)")
    return {key: _check_bounds(path, f"sequence {sequence} split {key!r}", value) for key, value in entry.items()}


def _read_splits_file(path: Path) -> dict[str, dict[str, Bounds]]:
    """A dataset's ``splits.json`` as ``{sequence: {split: bounds}}``; the flat form is sequence ``01``.
    ``ValueError`` naming the file for anything else."""
    try:
        raw = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a JSON object ({{\"01\": {{\"train\": [first, last], \"eval\": [first, last]}}}}), "
                         f"got {type(raw).__name__}")
    keys = list(raw)
    if keys and all(key.isdigit() for key in keys):
        return {key: _read_split_entry(path, key, value) for key, value in raw.items()}
    if any(key.isdigit() for key in keys):
        raise ValueError(f"{path} mixes sequence names and split names at the top level ({', '.join(keys)}): "
                         "use either {\"01\": {...}, \"02\": {...}} or the flat {\"train\": ..., \"eval\": ...} (sequence 01)")
    return {"01": _read_split_entry(path, "01", raw)}


def sequences_with_split(dataset: str | Path, split: str, sequences: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split ``sequences`` into those with ``split`` frames and those without (an evaluation-only sequence has no
    train frames). ``"all"`` keeps every sequence. A sequence with no known split raises (:func:`sequence_split`)."""
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_NAMES)}")
    keep, skip = [], []
    for sequence in sequences:
        if split == "all" or sequence_split(dataset, sequence).bounds(split) is not None:
            keep.append(sequence)
        else:
            skip.append(sequence)
    return keep, skip


def parse_frames(text: str, choices: tuple[str, ...] = ("all", "train", "eval"), what: str = "--frames") -> str | range:
    """A frames option: one of ``choices`` (split names), or an inclusive range ``A-B`` of original frame numbers.
    ``ValueError`` naming ``what`` and the choices otherwise."""
    if text in choices:
        return text
    first, sep, last = str(text).partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit() or int(last) < int(first):
        raise ValueError(f"{what} must be {', '.join(choices)} or FIRST-LAST (e.g. 45-64), got {text!r}")
    return range(int(first), int(last) + 1)
