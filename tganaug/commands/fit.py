"""``tganaug fit DATA --out MODEL_DIR``: a user's annotated recording to a generator in one command
(:func:`tganaug.fitting.fit_recording`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

#: tganaug.fitting.RECIPE_MODELS, written out so that building the CLI does not import torch (a test keeps them equal)
_RECIPES = ("fluo-nuclei", "phase-contrast", "fluo-nuclei-fast", "fluo-nuclei-x4")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``fit`` on the top-level sub-parsers."""
    parser = subparsers.add_parser(
        "fit",
        help="fit a tGAN generator and a simulator to one annotated recording (CTC folder)",
        description="Read the train frames of one sequence as full outlines with track ids (marker TRA masks joined to "
        "NN_ST/SEG or NN_GT/SEG), fit the simulator to them (MODEL_DIR/simulator.json: the default simulator config of "
        "`tganaug generate --model MODEL_DIR`), estimate the reference background off the outlines, train the low-res "
        "and SR stages with a shipped model's recipe (steps scaled to --hours), and write MODEL_DIR/card.json and "
        "MODEL_CARD.md with the fidelity on the sequence's held-out eval frames. Prints the expected CPU hours first.",
    )
    parser.add_argument("data", metavar="DATA", help="CTC folder of the recording (NN/ raw frames, NN_GT/TRA, NN_ST/SEG or NN_GT/SEG)")
    parser.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    parser.add_argument("--sequence", metavar="NN", help="sequence to fit (default 01)")
    parser.add_argument("--frames", metavar="train|all|A-B",
                        help="frames to fit (default train: the train frames of the sequence's split; all: every frame, for a "
                        "folder without splits; A-B: frames A..B); eval frames are refused")
    parser.add_argument("--hours", type=float, help="CPU hours (one torch thread) to train for: every stage's steps are scaled by "
                        "HOURS / the recipe's measured hours (default: the recipe's full length)")
    parser.add_argument("--simulator", help="simulator plugin to fit (default division)")
    parser.add_argument("--recipe", help=f"shipped model whose stage configs are trained ({', '.join(_RECIPES)}; default "
                        "fluo-nuclei) or the path of a model card.json with stage configs, steps and cpu_hours_estimate")
    parser.add_argument("--seed", type=int, help="training seed (default 0)")
    parser.add_argument("--per-frame-baseline", action="store_true", default=None,
                        help="also train the per-frame baseline (a second low-res training) for the card's fidelity table")
    parser.add_argument("--resume", action="store_true", help="continue the fit in MODEL_DIR (options left out: its own)")
    parser.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR when it is a folder tganaug fit made")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the fit; returns 0. Bad input raises ValueError/FileNotFoundError (exit 2 in the CLI)."""
    from dataclasses import replace

    from tganaug.fitting import FitConfig, fit_recording, read_fit_config

    if args.resume and args.overwrite:
        raise ValueError("--resume continues MODEL_DIR and --overwrite replaces it: give one of them")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    given = {key: value for key, value in (("data", str(Path(args.data).resolve())), ("sequence", args.sequence),
                                           ("frames", args.frames), ("hours", args.hours), ("simulator", args.simulator),
                                           ("recipe", args.recipe), ("seed", args.seed),
                                           ("per_frame_baseline", args.per_frame_baseline)) if value is not None}
    if args.recipe and Path(args.recipe).is_file():
        given["recipe"] = str(Path(args.recipe).resolve())
    config = replace(read_fit_config(args.out)[0], **given) if args.resume else FitConfig(**given)
    fit_recording(config, args.out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
    return 0
