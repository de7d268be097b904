"""``tganaug simulate``: write a simulated mask video (CTC layout) with its lineage."""

from __future__ import annotations

import argparse
import inspect

import numpy as np
from tqdm import tqdm

from tganaug.commands._options import load_config_file, parse_params
from tganaug.io import write_sequence_files
from tganaug.utils.fsutil import OutputKind, atomic_directory, atomic_write_json, check_output_dir
from tganaug.visualize import colorize_labels, frame_indices, montage, save_png


def _is_simulation(folder) -> bool:
    """A folder ``tganaug simulate`` wrote before the ownership record existed: its config.json says so."""
    import json

    try:
        return json.loads((folder / "config.json").read_text()).get("command") == "simulate"
    except (OSError, ValueError, AttributeError):
        return False


#: what ``tganaug simulate`` writes
SIMULATION = OutputKind("simulation", ("config.json", "montage.png", "[0-9][0-9]_GT"), "a simulation written by tganaug simulate",
                        _is_simulation)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate an annotated mask video (CTC layout)",
        description="Simulate cell masks with a simulator plugin and write DIR/01_GT/TRA (masks + man_track.txt), "
        "config.json and montage.png.",
    )
    parser.add_argument("--simulator", default="division", help="simulator plugin name (see `tganaug plugins`; default division)")
    parser.add_argument("--frames", type=int, default=30, help="frames per video (default 30)")
    parser.add_argument("--height", type=int, default=256, help="frame height, px (default 256)")
    parser.add_argument("--width", type=int, default=256, help="frame width, px (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0): same seed, same masks and lineage")
    parser.add_argument("--out", required=True, help="output folder (must not exist or be empty)")
    parser.add_argument("--overwrite", action="store_true", help="replace an output folder written by tganaug simulate")
    parser.add_argument("--config", help="JSON file of simulator parameters")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="simulator parameter (repeatable)")
    parser.add_argument("--from-ctc", metavar="CTC_DIR", help="estimate simulator parameters from a real CTC dataset")
    parser.add_argument("--from-ctc-frames", default="train",
                        help="frames used by --from-ctc: train (default; that split of the sequence), eval or all")
    parser.add_argument("--sequence", metavar="NN",
                        help="sequence of --from-ctc to fit (default: the first annotated one with --from-ctc-frames frames; "
                        "an evaluation-only sequence has no train frames)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tganaug.registry import default_registry
    from tganaug.version import __version__
    from tganaug.data.plugins import checked_simulation, describe

    check_output_dir(args.out, args.overwrite, SIMULATION)
    params = {**load_config_file(args.config), **parse_params(args.param)}
    factory = default_registry().info("simulator", args.simulator).factory
    sequence = None
    if args.sequence and not args.from_ctc:
        raise ValueError("--sequence names the sequence of --from-ctc CTC_DIR to fit: give --from-ctc")
    if args.from_ctc:
        if not hasattr(factory, "from_ctc"):
            raise ValueError(f"simulator {args.simulator!r} cannot estimate parameters from CTC data")
        sequence = args.sequence or _fitted_sequence(args.from_ctc, args.from_ctc_frames)
        simulator = factory.from_ctc(args.from_ctc, frames=args.from_ctc_frames, sequence=sequence, **params)
    else:
        simulator = factory(**params)
    kwargs = {}
    with tqdm(total=args.frames, desc=f"simulate {args.simulator}", unit="frame", disable=args.quiet) as bar:
        if "progress" in inspect.signature(simulator.simulate).parameters:
            kwargs["progress"] = lambda _t: bar.update(1)
        video = simulator.simulate(frames=args.frames, height=args.height, width=args.width, seed=args.seed, **kwargs)
        bar.update(args.frames - bar.n)
    # size, dtype, ids and lineage checked and named by plugin, as generate and the datasets do
    labels, lineage = checked_simulation(video, args.simulator, (args.frames, args.height, args.width))
    config = {
        "tganaug_version": __version__,
        "command": "simulate",
        "simulator": args.simulator,
        # the simulator's own full config; a plugin without one: the parameters it was given
        "simulator_config": describe(simulator, params)["config"] or {},
        "from_ctc": args.from_ctc,
        "from_ctc_frames": args.from_ctc_frames if args.from_ctc else None,
        "from_ctc_sequence": sequence,
        "frames": args.frames,
        "height": args.height,
        "width": args.width,
        "seed": args.seed,
        "tracks": int(len(lineage)),
        "divisions": int(np.sum(np.unique(lineage[:, 3][lineage[:, 3] > 0], return_counts=True)[1] >= 2)),
    }
    with atomic_directory(args.out, overwrite=args.overwrite, kind=SIMULATION) as staging:
        write_sequence_files(staging, labels=labels, lineage=lineage)
        atomic_write_json(staging / "config.json", config)
        shown = frame_indices(len(labels))
        save_png(staging / "montage.png", montage([[colorize_labels(labels[t]) for t in shown]], row_titles=("masks",),
                                                  column_titles=[f"t={t}" for t in shown]))
    print(f"wrote {args.out}: {args.frames} frames {args.height}x{args.width}, {config['tracks']} tracks, "
          f"{config['divisions']} divisions (lineage validated)")
    return 0


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
