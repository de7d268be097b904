"""Fixed train/eval frame splits of the real datasets.

The splits of the four shared datasets come from ``shared/data/README.md`` (project data notes):
models that ship are trained on *train* frames only and every reported figure uses *eval* frames.
A dataset folder may carry its own ``splits.json`` (``{"train": [first, last], "eval": [first, last]}``,
inclusive frame numbers, ``null`` for none) which takes precedence.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["DATASET_CITATIONS", "KNOWN_SPLITS", "SPLIT_NAMES", "split_frames"]

SPLIT_NAMES = ("train", "eval", "all")

#: Inclusive (first, last) frame numbers per dataset folder name; ``None`` means the split is empty.
KNOWN_SPLITS: dict[str, dict[str, tuple[int, int] | None]] = {
    "Fluo-N2DH-SIM+": {"train": (0, 44), "eval": (45, 64)},
    "PhC-T98G-Usiigaci": {"train": (0, 25), "eval": (26, 36)},
    "PhC-Ecoli-vanVliet": {"train": (0, 28), "eval": (29, 40)},
    "Fluo-N2DH-GOWT1": {"train": None, "eval": (0, 49)},
}

#: How to cite each shared dataset (from its README in ``shared/data``); model cards and reports use these.
DATASET_CITATIONS: dict[str, str] = {
    "Fluo-N2DH-SIM+": "Cell Tracking Challenge Fluo-N2DH-SIM+ (Svoboda & Ulman, IEEE TMI 2017; Maška et al., Nat Methods 2023)",
    "Fluo-N2DH-GOWT1": "Cell Tracking Challenge Fluo-N2DH-GOWT1 (Maška et al., Nat Methods 2023; Ulman et al., Nat Methods 2017)",
    "PhC-T98G-Usiigaci": "Usiigaci T98G example data (Tsai et al., SoftwareX 2019), silver-truth masks",
    "PhC-Ecoli-vanVliet": "E. coli micro-colony (van Vliet et al., Cell Systems 2018; Trackastra benchmark subset)",
}


def split_frames(dataset: str | Path, split: str, n_frames: int | None = None) -> range:
    """Frame numbers of ``split`` (``"train"``, ``"eval"`` or ``"all"``) for a dataset folder.

    ``"all"`` needs ``n_frames``. Raises ``ValueError`` for an unknown split name, a dataset with no
    known splits, or a split that is empty for that dataset (e.g. GOWT1 has no train frames).
    """
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_NAMES)}")
    dataset = Path(dataset)
    if split == "all":
        if n_frames is None:
            raise ValueError("split 'all' needs the number of frames")
        return range(n_frames)
    custom = dataset / "splits.json"
    if custom.is_file():
        table = _read_splits_file(custom)
    elif dataset.name in KNOWN_SPLITS:
        table = KNOWN_SPLITS[dataset.name]
    else:
        known = ", ".join(sorted(KNOWN_SPLITS))
        raise ValueError(
            f"no train/eval split known for dataset {dataset.name!r} (known: {known}); "
            f"add {custom} with {{\"train\": [first, last], \"eval\": [first, last]}} or use split='all'"
        )
    if split not in table:
        raise ValueError(f"dataset {dataset.name!r} defines no {split!r} split")
    bounds = table[split]
    if bounds is None:
        raise ValueError(f"dataset {dataset.name!r} has no {split!r} frames (see its README)")
    first, last = bounds
    return range(int(first), int(last) + 1)


def _read_splits_file(path: Path) -> dict[str, tuple[int, int] | None]:
    """A dataset's ``splits.json``; ``ValueError`` naming the file unless it maps split names to ``[first, last]`` or null."""
    try:
        raw = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a JSON object {{\"train\": [first, last], \"eval\": [first, last]}}, got {type(raw).__name__}")
    table: dict[str, tuple[int, int] | None] = {}
    for key, value in raw.items():
        if value is None:
            table[key] = None
            continue
        if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not 0 <= value[0] <= value[1]):
            raise ValueError(f"{path}: split {key!r} must be [first, last] frame numbers with 0 <= first <= last, or null; got {value!r}")
        table[key] = (value[0], value[1])
    return table
