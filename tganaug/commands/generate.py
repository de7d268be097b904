"""``tganaug generate``: the main job — an annotated synthetic video dataset in CTC layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from tganaug.commands._options import load_config_file, parse_params


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate an annotated synthetic video dataset (CTC layout)",
        description="Simulate masks + lineage (or read them with --masks), render them with a generator, and write "
        "DIR/NN/tTTT.tif (frames), DIR/NN_GT/TRA (exact annotation), DIR/config.json, DIR/generator.json "
        "(generator and weights sha256) and a montage/GIF per video. Re-running the same command resumes: finished videos are "
        "skipped (with other generator weights it is refused without --overwrite).",
    )
    parser.add_argument("--generator", default="procedural",
                        help="generator plugin name (see `tganaug plugins`; default procedural, the fast fitted renderer; "
                        "tgan for the learned model)")
    parser.add_argument("--model", help="model name or checkpoint path for generators that load one (e.g. tgan)")
    # tganaug.models.tgan.PRECISIONS, written out so that building the CLI does not import torch
    parser.add_argument("--precision", choices=("float32", "bfloat16", "float16"),
                        help="inference precision for generators that take one (tgan): float32 is the default; bfloat16 "
                        "is opt-in, faster on CPUs with AMX and numerically different; float16 CUDA only")
    parser.add_argument("--generator-config", help="JSON file of generator parameters")
    parser.add_argument("--generator-param", action="append", metavar="KEY=VALUE", help="generator parameter (repeatable)")
    parser.add_argument("--simulator", help="simulator plugin name (default division; not with --masks)")
    parser.add_argument("--simulator-config", help="JSON file of simulator parameters (not with --masks)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="simulator parameter (repeatable; not with --masks)")
    parser.add_argument("--videos", type=int, help="number of videos (default 1; with --masks: every sequence 01, 02, ... of CTC_DIR)")
    parser.add_argument("--frames", type=int, help="frames per video (default 30; with --masks: those of the masks)")
    parser.add_argument("--height", type=int, help="frame height, px (default 256; with --masks: that of the masks)")
    parser.add_argument("--width", type=int, help="frame width, px (default 256; with --masks: that of the masks)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole set (default 0): same seed, same bytes")
    parser.add_argument("--background", help="reference background image (TIFF/PNG, HEIGHT x WIDTH) in the generator's intensity "
                        "units, 0..1 = the training frames' 1st..99.8th percentile: a float image in [0, 1], or 8/16-bit "
                        "scaled by 255/65535 (a raw camera frame is not in these units: make one from your own annotated "
                        "frames with tganaug.models.tgan.background_from_video, see README). Without it tgan renders each "
                        "video on a seeded crop of its training videos' backgrounds (--generator-param background_default=flat: flat)")
    parser.add_argument("--appearance", metavar="random|FILE.json",
                        help="re-render every video in a seeded random look (intensity, contrast, noise, blur, nucleus texture, "
                        "illumination): 'random' for the default ranges or a JSON file of ranges (tganaug.appearance)")
    parser.add_argument("--reference", nargs="+", metavar="IMG",
                        help="unannotated frame(s) (TIFF/PNG) of a recording whose look the videos take: background, cell "
                        "intensities, texture, noise and blur, in the frames' own 0.1..99.9 percentile units (tganaug.appearance)")
    parser.add_argument("--masks", metavar="CTC_DIR", help="render the label videos of this CTC folder instead of simulating")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an output folder made with another configuration")
    parser.add_argument("--workers", type=int, default=1,
                        help="render videos in parallel on a Dask LocalCluster with this many processes (default 1; same "
                        "bytes as 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler (e.g. tcp://host:8786)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads per rendering process (default 1: bytes independent of machine and --workers)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tganaug.generation import GenerationConfig, generate_dataset, video_name
    from tganaug.io import annotation_dir, read_ctc
    from tganaug.utils.malloc import keep_freed_memory

    keep_freed_memory()  # this command's own process: fewer page faults while rendering (same output)

    generator_config = {**load_config_file(args.generator_config), **parse_params(args.generator_param, "--generator-param")}
    if args.model:
        generator_config["model"] = args.model
    if args.precision:
        generator_config["precision"] = args.precision  # recorded in config.json with the other generator parameters
    def given_or(value: int | None, default: int) -> int:
        return default if value is None else value

    frames, height, width, videos = given_or(args.frames, 30), given_or(args.height, 256), given_or(args.width, 256), args.videos
    masks = None
    if args.masks:
        given = [f"--{name.replace('_', '-')}" for name in ("frames", "height", "width", "simulator", "simulator_config", "param")
                 if getattr(args, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} cannot be used with --masks: the videos, their size and length come "
                             "from the masks of CTC_DIR")
        masks = str(Path(args.masks).absolute())
        first = read_ctc(masks, sequence="01", read_images=False)
        frames, height, width = first.labels.shape
        if videos is None:
            videos = 1
            while annotation_dir(masks, video_name(videos)) is not None:
                videos += 1
    videos = 1 if videos is None else videos
    config = GenerationConfig(
        generator=args.generator,
        generator_config=generator_config,
        simulator=args.simulator or "division",
        simulator_config={**load_config_file(args.simulator_config), **parse_params(args.param)},
        videos=videos,
        frames=frames,
        height=height,
        width=width,
        seed=args.seed,
        background=str(Path(args.background).absolute()) if args.background else None,
        masks=masks,
        torch_threads=args.torch_threads,
        appearance=args.appearance if args.appearance in (None, "random") else str(Path(args.appearance).absolute()),
        reference=[str(Path(path).absolute()) for path in args.reference] if args.reference else None,
    )
    appearance_file = args.appearance if args.appearance not in (None, "random") else None
    config_files = [path for path in (args.generator_config, args.simulator_config, appearance_file, *(args.reference or [])) if path]
    if args.workers > 1 or args.scheduler:
        from tganaug.sharding import generate_dataset_sharded

        finished = generate_dataset_sharded(config, args.out, workers=args.workers, scheduler=args.scheduler,
                                            overwrite=args.overwrite, progress=not args.quiet, inputs=config_files)
    elif args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    else:
        finished = generate_dataset(config, args.out, overwrite=args.overwrite, progress=not args.quiet, inputs=config_files)
    print(f"{args.out}: {len(finished)} finished video(s) "
          f"({config.generator} on {'masks from ' + masks if masks else config.simulator}); annotations validated")
    return 0
