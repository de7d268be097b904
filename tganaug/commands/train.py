"""``tganaug train lowres|sr``: train the tGAN low-res video-to-video or super-resolution stage."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train`` on the top-level sub-parsers."""
    parser = subparsers.add_parser(
        "train",
        help="train the tGAN low-res generator or the super-resolution stage",
        description="Train tGAN on CTC folders. The run directory gets config.json, checkpoint.pt "
        "(resumable), log.csv and samples/*.png montages (masks | real | generated).",
    )
    parser.add_argument("mode", choices=["lowres", "sr"], help="stage to train")
    parser.add_argument("--data", action="append", default=[], metavar="CTC_DIR", help="CTC dataset folder (repeat for several)")
    parser.add_argument("--frames-split", choices=["train", "eval", "all"],
                        help="frames to train on, per sequence (default: train; a sequence without them, such as an "
                        "evaluation-only one, is skipped; on --resume: the run's own)")
    parser.add_argument("--sequence", action="append", metavar="NN",
                        help="read only this sequence of each --data folder (repeatable; default: every annotated sequence "
                        "with frames of the split; on --resume: the run's own)")
    parser.add_argument("--config", default=None, help="preset (tiny, default, paper) or JSON file; default: 'default' (on --resume: the run's own)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its checkpoint")
    parser.add_argument("--steps", type=int, default=None, help="fresh run: total steps (sets the OneCycle length); resume: step to stop at")
    parser.add_argument("--stop-at", type=int, default=None, help="stop (and checkpoint) at this global step without changing the schedule")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty RUN_DIR")
    parser.add_argument("--seed", type=int, help="seed (default 0; on --resume: the run's own)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run training; returns 0. Bad input raises ValueError/FileNotFoundError (exit 2 in the CLI)."""
    import torch

    from tganaug.models.config import get_config
    from tganaug.training.trainer import make_trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    from tganaug.training.distributed import init_from_environment

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    # under torchrun (WORLD_SIZE > 1): one process per rank, gradients averaged over ranks
    distributed, device = init_from_environment(device)
    if not args.data:
        raise ValueError("give at least one --data CTC_DIR")
    if args.steps is not None and args.steps < 1:
        raise ValueError("--steps must be >= 1")
    config = get_config(args.config) if args.config else None
    if not args.resume and args.config and Path(args.config).is_file() and Path(args.config).resolve() == (Path(args.out) / "config.json").resolve():
        raise ValueError(f"--config {args.config} is the run directory's config.json, which a new run writes: keep it elsewhere")
    if not args.resume:
        config = config or get_config("default")
        if args.steps is not None:
            config = config.replace(total_steps=args.steps)
    trainer = make_trainer(
        args.mode, config, args.out, data=args.data, frames=args.frames_split, sequences=args.sequence, seed=args.seed, device=device,
        resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
    )
    until = args.stop_at if args.stop_at is not None else (args.steps if (args.resume and args.steps) else trainer.config.total_steps)
    if until < trainer.step:
        raise ValueError(f"run is already at step {trainer.step} > requested stop step {until}")
    logs = trainer.train(until=until)
    if distributed.is_main:
        summary = ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k in ("g_total", "l1", "d"))
        ranks = f" on {distributed.world} ranks" if distributed.world > 1 else ""
        print(f"trained {args.mode} to step {trainer.step}{ranks} -> {args.out}/checkpoint.pt ({summary})")
    if distributed.active:
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0
