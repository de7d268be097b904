"""``tganaug generate``: the main job — an annotated synthetic video dataset in CTC layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from tganaug.commands._options import add_quiet_option, load_config_file, parse_params

#: the generator of ``tganaug generate`` without ``--generator`` (also the default of
#: :class:`tganaug.generation.GenerationConfig`), and the model it loads without ``--model``
DEFAULT_GENERATOR = "tgan"
DEFAULT_MODEL = "fluo-nuclei"
#: tganaug.models.tgan.SHIPPED_MODELS, written out so that building the CLI does not import torch (a test keeps them equal)
SHIPPED_NAMES = ("fluo-nuclei", "phase-contrast", "fluo-nuclei-fast", "fluo-nuclei-x4", "phase-contrast-u373",
                 "phase-contrast-psc", "dic-hela", "fluo-nuclei-hela")
#: generators that load no model and take no precision
_WITHOUT_MODEL = ("procedural",)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate an annotated synthetic video dataset (CTC layout)",
        description="Simulate masks + lineage (or read them with --masks), render them with a generator, and write "
        "DIR/NN/tTTT.tif (frames), DIR/NN_GT/TRA (exact annotation), DIR/config.json, DIR/generator.json "
        "(generator and weights sha256) and a montage/GIF per video. Re-running the same command resumes: finished videos are "
        "skipped (with other generator weights it is refused without --overwrite). Without options: one 30-frame "
        f"256x256 video of the division simulator rendered by the {DEFAULT_GENERATOR} generator with the shipped "
        f"{DEFAULT_MODEL} model (seed 0).",
    )
    parser.add_argument("--generator",
                        help=f"generator plugin name (see `tganaug plugins`; default {DEFAULT_GENERATOR}, the learned model, with "
                        f"--model {DEFAULT_MODEL}; procedural for the fast fitted renderer, which takes no --model/--precision)")
    parser.add_argument("--model", help=f"model name or checkpoint path for generators that load one (implies --generator "
                        f"{DEFAULT_GENERATOR}; its default: the shipped {DEFAULT_MODEL}; shipped: {', '.join(SHIPPED_NAMES)})")
    # tganaug.models.tgan.PRECISIONS, written out so that building the CLI does not import torch
    parser.add_argument("--precision", choices=("float32", "bfloat16", "float16"),
                        help="inference precision for generators that take one (tgan): float32 is the default; bfloat16 "
                        "is opt-in, faster on CPUs with AMX and numerically different; float16 CUDA only")
    parser.add_argument("--generator-config", help="JSON file of generator parameters")
    parser.add_argument("--generator-param", action="append", metavar="KEY=VALUE", help="generator parameter (repeatable)")
    parser.add_argument("--simulator", help="simulator plugin name (default division, or the one fitted with a --model made by "
                        "tganaug fit, whose simulator.json config is then the default; not with --masks)")
    parser.add_argument("--simulator-config", help="JSON file of simulator parameters (not with --masks)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE",
                        help="simulator parameter (repeatable; not with --masks; overrides the fitted config of a tganaug fit model)")
    parser.add_argument("--videos", type=int, help="number of videos (default 1; with --masks: every annotated sequence of CTC_DIR, "
                        "or of --sequence)")
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
    parser.add_argument("--sequence", action="append", metavar="NN",
                        help="with --masks: render this sequence of CTC_DIR (repeatable; default every annotated sequence, in "
                        "order); the videos are written as 01, 02, ... and config.json records which sequence each renders")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an output folder made with another configuration")
    parser.add_argument("--workers", type=int, default=1,
                        help="render videos in parallel on a Dask LocalCluster with this many processes (default 1; same "
                        "bytes as 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler (e.g. tcp://host:8786)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads per rendering process (default 1: bytes independent of machine and --workers)")
    add_quiet_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tganaug.generation import GenerationConfig, generate_dataset, video_name
    from tganaug.io import find_sequences, read_ctc
    from tganaug.utils.malloc import keep_freed_memory

    keep_freed_memory()  # this command's own process: fewer page faults while rendering (same output)

    generator = resolve_generator(args.generator, args.model, args.precision)
    generator_config = {**load_config_file(args.generator_config), **parse_params(args.generator_param, "--generator-param")}
    if args.model:
        generator_config["model"] = args.model
    if args.precision:
        generator_config["precision"] = args.precision  # recorded in config.json with the other generator parameters
    def given_or(value: int | None, default: int) -> int:
        return default if value is None else value

    frames, height, width, videos = given_or(args.frames, 30), given_or(args.height, 256), given_or(args.width, 256), args.videos
    masks = mask_sequences = None
    if args.sequence and not args.masks:
        raise ValueError("--sequence names sequences of the --masks folder: give --masks CTC_DIR")
    if args.masks:
        given = [f"--{name.replace('_', '-')}" for name in ("frames", "height", "width", "simulator", "simulator_config", "param")
                 if getattr(args, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} cannot be used with --masks: the videos, their size and length come "
                             "from the masks of CTC_DIR")
        masks = str(Path(args.masks).absolute())
        names = find_sequences(masks, args.sequence, annotated=True)
        if videos is not None and videos > len(names):
            raise ValueError(f"--videos {videos}: {args.masks} has only {len(names)} annotated sequence(s) to render ({', '.join(names)})")
        videos = len(names) if videos is None else videos
        # the usual 01, 02, ... in order is left implicit (config.json as before); anything else is recorded
        mask_sequences = None if names[:videos] == [video_name(i) for i in range(videos)] else names
        first = read_ctc(masks, sequence=names[0], read_images=False)
        frames, height, width = first.labels.shape
    videos = 1 if videos is None else videos
    simulator, simulator_config = args.simulator, {**load_config_file(args.simulator_config), **parse_params(args.param)}
    fitted = fitted_simulator_of(generator, generator_config) if not masks else None
    if fitted:  # a model fitted by tganaug fit: its simulator config is the default, given parameters win
        from tganaug.fitting import apply_simulator_defaults

        simulator, simulator_config = apply_simulator_defaults(simulator, simulator_config, fitted)
    config = GenerationConfig(
        generator=generator,
        generator_config=generator_config,
        simulator=None if masks else simulator or "division",
        simulator_config=simulator_config,
        videos=videos,
        frames=frames,
        height=height,
        width=width,
        seed=args.seed,
        background=str(Path(args.background).absolute()) if args.background else None,
        masks=masks,
        torch_threads=args.torch_threads,
        mask_sequences=mask_sequences,
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
          f"({config.generator} on {_masks_text(masks, mask_sequences, videos) if masks else config.simulator}"
          f"{' with the config fitted with the model' if fitted and config.simulator == fitted['simulator'] else ''}); "
          "annotations validated")
    return 0


def fitted_simulator_of(generator: str, generator_config: dict) -> dict | None:
    """The simulator fitted with the model a ``tgan`` generator loads (``{"simulator", "config"}``, from the model
    folder's ``simulator.json``), or None (another generator, a shipped model)."""
    if generator != DEFAULT_GENERATOR:
        return None
    from tganaug.models.tgan import fitted_simulator

    return fitted_simulator(generator_config.get("model", DEFAULT_MODEL))


def resolve_generator(generator: str | None, model: str | None, precision: str | None) -> str:
    """The generator plugin of ``--generator``/``--model``/``--precision``: the one named, else
    :data:`DEFAULT_GENERATOR` (``--model`` alone implies it). Raises ``ValueError`` when a generator that
    loads no model (``procedural``) is given ``--model`` or ``--precision``."""
    if generator is None:
        return DEFAULT_GENERATOR
    if generator in _WITHOUT_MODEL:
        given = [option for option, value in (("--model", model), ("--precision", precision)) if value]
        if given:
            raise ValueError(f"--generator {generator} loads no model: {' and '.join(given)} cannot be used with it "
                             f"(leave out --generator, or give --generator {DEFAULT_GENERATOR}, to render with a model)")
    return generator


def _masks_text(masks: str, names: list[str] | None, videos: int) -> str:
    """``masks from DIR`` (sequences 01..NN) or ``masks from DIR sequence(s) 02 -> 01, ...`` when renamed."""
    if names is None:
        return f"masks from {masks}"
    from tganaug.generation import video_name

    return f"masks from {masks} sequence(s) " + ", ".join(f"{name} -> {video_name(i)}" for i, name in enumerate(names[:videos]))
