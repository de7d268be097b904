"""``tganaug simulate``: write a simulated mask video (CTC layout) with its lineage (:func:`tganaug.simulation.writing.write_simulation`)."""

from __future__ import annotations

import argparse

from tganaug.commands._options import load_config_file, parse_params
from tganaug.simulation.writing import SIMULATION, write_simulation

__all__ = ["SIMULATION", "add_parser", "run"]


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
    params = {**load_config_file(args.config), **parse_params(args.param)}
    written = write_simulation(args.out, args.simulator, frames=args.frames, height=args.height, width=args.width, seed=args.seed,
                               simulator_config=params, from_ctc=args.from_ctc, from_ctc_frames=args.from_ctc_frames,
                               sequence=args.sequence, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {args.out}: {args.frames} frames {args.height}x{args.width}, {written.config['tracks']} tracks, "
          f"{written.config['divisions']} divisions (lineage validated)")
    return 0
