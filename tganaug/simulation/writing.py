"""Simulate a mask video, check it and write it as a CTC folder: the library under ``tganaug simulate``.

One simulation folder::

    DIR/01_GT/TRA/man_track000.tif ...   (H, W) uint16 instance labels
    DIR/01_GT/TRA/man_track.txt          lineage id start end parent
    DIR/config.json                      what made it (simulator, its full config, size, seed, counts)
    DIR/montage.png                      a few label frames, coloured

Light: no torch, no MONAI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tganaug.contracts import fits_from_ctc, plugin_name, reports_progress
from tganaug.plugin_objects import checked_simulation, describe, resolve
from tganaug.registry import PluginRegistry, default_registry
from tganaug.utils.fsutil import OutputKind, atomic_directory, atomic_write_json, check_output_dir

__all__ = ["SIMULATION", "WrittenSimulation", "fitted_simulator", "simulate_checked", "write_simulation"]


def _is_simulation(folder: Path) -> bool:
    """A folder ``tganaug simulate`` wrote before the ownership record existed: its config.json says so."""
    try:
        return json.loads((folder / "config.json").read_text()).get("command") == "simulate"
    except (OSError, ValueError, AttributeError):
        return False


#: what :func:`write_simulation` (``tganaug simulate``) writes
SIMULATION = OutputKind("simulation", ("config.json", "montage.png", "[0-9][0-9]_GT"), "a simulation written by tganaug simulate",
                        _is_simulation)


@dataclass
class WrittenSimulation:
    """What :func:`write_simulation` wrote.

    Attributes:
        folder: the simulation folder.
        labels: ``(T, H, W)`` integer instance labels as the simulator returned them (stored as uint16).
        lineage: ``(N, 4) int64`` CTC lineage (id, start, end, parent), validated against ``labels``.
        config: the contents of ``config.json``.
    """

    folder: Path
    labels: np.ndarray
    lineage: np.ndarray
    config: dict[str, Any]


def fitted_simulator(name: str, ctc_dir: str | Path, frames: str = "train", sequence: str | None = None,
                     registry: PluginRegistry | None = None, **params: Any) -> tuple[Any, str]:
    """Simulator plugin ``name`` with parameters estimated from the CTC dataset ``ctc_dir`` (its factory's
    ``from_ctc``, :class:`tganaug.contracts.FitsFromCTC`), and the sequence it was fitted to.

    ``frames``: ``train`` (default), ``eval`` or ``all``; ``sequence``: default the first annotated sequence with such
    frames (an evaluation-only sequence has no train frames). ``params`` override fitted values. ``ValueError`` when
    the plugin cannot fit or no sequence has those frames."""
    factory = (registry or default_registry()).info("simulator", name).factory
    if not fits_from_ctc(factory):
        raise ValueError(f"simulator {name!r} cannot estimate parameters from CTC data")
    sequence = sequence or _fitted_sequence(str(ctc_dir), frames)
    return factory.from_ctc(str(ctc_dir), frames=frames, sequence=sequence, **params), sequence


def simulate_checked(simulator: Any, frames: int, height: int, width: int, seed: int = 0, *, name: str | None = None,
                     progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``simulator.simulate(frames=, height=, width=, seed=)`` checked (:func:`tganaug.plugin_objects.checked_simulation`):
    ``(T, H, W)`` integer labels and the ``(N, 4) int64`` lineage that agrees with them. ``progress``: a tqdm bar on
    stderr, advanced per frame when ``simulate`` takes ``progress`` (:class:`tganaug.contracts.ReportsProgress`).
    ``name`` names the simulator in errors (default: its ``name``)."""
    name = name if name is not None else plugin_name(simulator)
    kwargs: dict[str, Any] = {}
    with tqdm(total=frames, desc=f"simulate {name}", unit="frame", disable=not progress) as bar:
        if reports_progress(simulator.simulate):
            kwargs["progress"] = lambda _t: bar.update(1)
        video = simulator.simulate(frames=frames, height=height, width=width, seed=seed, **kwargs)
        bar.update(frames - bar.n)
    # size, dtype, ids and lineage checked and named by plugin, as generate and the datasets do
    return checked_simulation(video, name, (frames, height, width))


def write_simulation(
    out: str | Path,
    simulator: Any = "division",
    *,
    frames: int = 30,
    height: int = 256,
    width: int = 256,
    seed: int = 0,
    simulator_config: dict[str, Any] | None = None,
    from_ctc: str | Path | None = None,
    from_ctc_frames: str = "train",
    sequence: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    registry: PluginRegistry | None = None,
) -> WrittenSimulation:
    """Simulate one mask video and write it atomically to ``out`` (the layout in this module's docstring).

    ``simulator``: a plugin name (made with ``simulator_config``, or fitted to ``from_ctc``'s ``from_ctc_frames`` of
    ``sequence`` with ``simulator_config`` overriding, :func:`fitted_simulator`) or a ready object with ``simulate``.
    The same arguments give the same bytes. ``out`` must not exist or be empty; ``overwrite`` replaces only a folder
    this function wrote (``FileExistsError`` otherwise). Nothing is written when the simulator's output is wrong
    (``TypeError`` / ``ValueError`` / :class:`tganaug.LineageError` naming it).
    """
    check_output_dir(out, overwrite, SIMULATION)
    params = dict(simulator_config or {})
    if sequence and not from_ctc:
        raise ValueError("sequence names the sequence of from_ctc to fit (tganaug simulate: --sequence needs --from-ctc CTC_DIR)")
    if from_ctc:
        if not isinstance(simulator, str):
            raise ValueError("from_ctc fits a simulator plugin given by name, not a ready simulator object")
        made, sequence = fitted_simulator(simulator, from_ctc, from_ctc_frames, sequence, registry, **params)
    else:
        made = resolve("simulator", simulator, params or None, registry)
    name = simulator if isinstance(simulator, str) else plugin_name(made)
    labels, lineage = simulate_checked(made, frames, height, width, seed, name=name, progress=progress)
    from tganaug.version import __version__

    config = {
        "tganaug_version": __version__,
        "command": "simulate",
        "simulator": name,
        # the simulator's own full config; a plugin without one: the parameters it was given
        "simulator_config": describe(made, params)["config"] or {},
        "from_ctc": str(from_ctc) if from_ctc else None,
        "from_ctc_frames": from_ctc_frames if from_ctc else None,
        "from_ctc_sequence": sequence,
        "frames": frames,
        "height": height,
        "width": width,
        "seed": seed,
        "tracks": int(len(lineage)),
        "divisions": int(np.sum(np.unique(lineage[:, 3][lineage[:, 3] > 0], return_counts=True)[1] >= 2)),
    }
    from tganaug.io import write_sequence_files
    from tganaug.visualize import colorize_labels, frame_indices, montage, save_png

    with atomic_directory(out, overwrite=overwrite, kind=SIMULATION) as staging:
        write_sequence_files(staging, labels=labels, lineage=lineage)
        atomic_write_json(staging / "config.json", config)
        shown = frame_indices(len(labels))
        save_png(staging / "montage.png", montage([[colorize_labels(labels[t]) for t in shown]], row_titles=("masks",),
                                                  column_titles=[f"t={t}" for t in shown]))
    return WrittenSimulation(Path(out), labels, lineage, config)


def _fitted_sequence(path: str, frames: str) -> str:
    """The first annotated sequence of ``path`` that has ``frames`` (a split name; any sequence for frame numbers)."""
    from tganaug.io import find_sequences
    from tganaug.splits import SPLIT_NAMES, sequences_with_split

    names = find_sequences(path, annotated=True)
    if frames not in SPLIT_NAMES or frames == "all":
        return names[0]
    kept, skipped = sequences_with_split(path, frames, names)
    if not kept:
        raise ValueError(f"{path}: no annotated sequence has {frames} frames to fit (sequences {', '.join(skipped)}); "
                         "pass --from-ctc-frames all or another --sequence")
    return kept[0]
