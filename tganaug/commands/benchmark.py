"""``tganaug benchmark``: the library's benchmarks on any CTC dataset folder and sequence.

Examples::

    tganaug benchmark fidelity --data ../shared/data/Fluo-N2DH-SIM+ --sequence 02 --out runs/fid-sim02
    tganaug benchmark tracking --data ../shared/data/PhC-C2DH-U373 --frames eval --segmenter gt --out runs/trk-u373

The work is done by :mod:`tganaug.benchmarking`; this module only parses the options.
"""

from __future__ import annotations

import argparse

from tganaug.commands._options import add_quiet_option, parse_params

__all__ = ["add_parser", "run_fidelity", "run_tracking"]


def _common_options(parser: argparse.ArgumentParser, default_generators: str) -> None:
    from tganaug.benchmarking.report import seed_list  # noqa: PLC0415

    parser.add_argument("--data", required=True, metavar="DIR", help="CTC dataset folder (holding NN/, NN_GT/ ...; any name)")
    parser.add_argument("--sequence", default="01", metavar="NN", help="sequence to score (default 01)")
    parser.add_argument("--frames", default="eval",
                        help="frames scored: train, eval, all (that split of the sequence, from the folder's splits.json or the "
                        "built-in table) or FIRST-LAST (default eval)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (its parent must exist); refused when it "
                        "exists and is not empty, unless --overwrite")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out folder")
    parser.add_argument("--seeds", type=seed_list, default=[0], help="generation seeds, comma-separated (default 0)")
    parser.add_argument("--generator", default=default_generators,
                        help=f"generator plugins rendering the GT masks, comma-separated (default {default_generators or 'none'})")
    parser.add_argument("--model", default="fluo-nuclei", help="tgan model: a shipped name or a checkpoint folder (default fluo-nuclei)")
    parser.add_argument("--fit-data", metavar="DIR", help="fit per-dataset settings on this dataset folder's train frames instead "
                        "(a cross-dataset test)")
    parser.add_argument("--fit-sequence", metavar="NN", help="fit on this sequence's train frames (default: the scored sequence's, "
                        "else sequence 01's)")
    add_quiet_option(parser)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tganaug benchmark`` and its sub-commands."""
    parser = subparsers.add_parser("benchmark", help="benchmark generators and trackers on a CTC dataset folder",
                                   description="Run a benchmark on one sequence of a CTC dataset folder and write its report "
                                   "(Markdown + CSV) into --out. The report states the dataset, sequence, frames, protocol, "
                                   "seeds and machine.")
    kinds = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")

    fidelity = kinds.add_parser("fidelity", help="generated vs real videos of the same GT masks (SSIM, PSNR, FVD-like, ...)",
                                description="Render the scored frames' GT masks with each generator and compare with the real "
                                "frames, streamed frame by frame (memory does not grow with the number of frames).")
    _common_options(fidelity, "tgan,procedural")
    fidelity.add_argument("--clip-len", type=int, default=8, help="frames per clip of the FVD-like measure (default 8)")
    fidelity.add_argument("--no-sr", action="store_true", help="tgan without its SR stage (low-res frames up-sampled)")
    fidelity.set_defaults(func=run_fidelity)

    tracking = kinds.add_parser("tracking", help="segment-then-track on real and synthetic videos of the same GT masks",
                                description="Segment the real scored frames (and each generator's video of their GT masks), "
                                "track with each tracker and score against the GT.")
    _common_options(tracking, "")
    tracking.add_argument("--segmenter", default="threshold", help="segmenter plugin, or gt for the GT masks (default threshold: "
                          "threshold, invert, min_size, min_distance fitted on the fit frames unless given)")
    tracking.add_argument("--segmenter-config", action="append", metavar="KEY=VALUE",
                          help="segmenter parameter (repeatable), e.g. sigma=2 or model=phase-contrast for unet")
    tracking.add_argument("--tracker", default="overlap,laptrack", help="tracker plugins, comma-separated (default overlap,laptrack)")
    seg = tracking.add_mutually_exclusive_group()
    seg.add_argument("--seg", choices=["auto", "seg", "tra", "none"], default="auto",
                     help="SEG reference: GT SEG masks, the TRA masks, none, or auto (GT SEG when present among the frames, else "
                     "the TRA masks when they are full outlines, else n/a; default)")
    seg.add_argument("--seg-from-tra", dest="seg", action="store_const", const="tra", help="same as --seg tra (dense GT only)")
    tracking.add_argument("--mot", choices=["auto", "yes", "no"], default="auto",
                          help="score the IoU-matched MOT measures (auto: against the TRA masks when they are full outlines, against the joined full outlines when they are markers)")
    tracking.add_argument("--no-graph-measures", action="store_true", help="skip traccuracy's LNK, CHOTA and division measures")
    tracking.add_argument("--reference-frames", type=int, default=0, metavar="N",
                          help="give the generators the first N raw frames of the scored frames, unannotated, as the look to "
                          "render in (tganaug.appearance; the twin of a new recording of which a user has a frame but no "
                          "annotation; default 0: none)")
    tracking.set_defaults(func=run_tracking)

    # --- downstream: `tganaug benchmark downstream` is registered by tganaug.benchmarking.downstream when that
    # --- module exists (its add_downstream_parser(subparsers) adds the sub-command and its func).
    try:
        from tganaug.benchmarking.downstream import add_downstream_parser  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if error.name != "tganaug.benchmarking.downstream":
            raise
    else:
        add_downstream_parser(kinds)
    # --- end downstream


def _inputs(args: argparse.Namespace):  # noqa: ANN202
    from tganaug.benchmarking.inputs import parse_frames, resolve_inputs  # noqa: PLC0415
    from tganaug.benchmarking.report import check_out  # noqa: PLC0415

    check_out(args.out, args.overwrite)  # before any work
    return resolve_inputs(args.data, args.sequence, parse_frames(args.frames), fit_data=args.fit_data, fit_sequence=args.fit_sequence)


def _names(text: str, kind: str) -> list[str]:
    from tganaug.registry import default_registry  # noqa: PLC0415

    names = [name.strip() for name in text.split(",") if name.strip()]
    known = set(default_registry().names(kind))
    if kind == "generator":
        from tganaug.benchmarking.tracking import SR_ON_REAL  # noqa: PLC0415

        known.add(SR_ON_REAL)
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"unknown {kind}(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return names


def _finish(args: argparse.Namespace, files: dict[str, bytes]) -> int:
    from tganaug.benchmarking.report import write_outputs  # noqa: PLC0415

    out = write_outputs(args.out, files, args.overwrite)
    report = next(name for name in files if name.endswith(".md"))
    print(files[report].decode())
    print(f"wrote {', '.join(str(out / name) for name in files)}")
    return 0


def run_fidelity(args: argparse.Namespace) -> int:
    """Run ``tganaug benchmark fidelity``."""
    from tganaug.benchmarking import fidelity  # noqa: PLC0415
    from tganaug.benchmarking.inputs import iter_frames, read_outlines  # noqa: PLC0415
    from tganaug.benchmarking.report import shell_command  # noqa: PLC0415

    names = _names(args.generator, "generator")
    if not names:
        raise ValueError("--generator: name at least one generator to compare with the real frames")
    if args.clip_len < 2:
        raise ValueError(f"--clip-len must be >= 2, got {args.clip_len}")
    inputs = _inputs(args)
    _, first = next(iter_frames(inputs.scored, images=False))
    fit = fidelity.fit_reference(inputs, first.shape)
    methods = fidelity.make_renderers(names, fit, model=args.model, use_sr=not args.no_sr)
    outlines = read_outlines(inputs.scored)
    rows, _ = fidelity.run_fidelity(inputs, fit, methods, args.seeds, clip_len=args.clip_len, progress=not args.quiet,
                                    outlines=outlines)
    files = fidelity.fidelity_report(inputs, fit, rows, args.seeds, shell_command(), model=args.model,
                                     clip_len=min(args.clip_len, len(inputs.scored.frames)), candidate=names[0], outlines=outlines)
    return _finish(args, files)


def run_tracking(args: argparse.Namespace) -> int:
    """Run ``tganaug benchmark tracking``."""
    from tganaug.benchmarking import tracking  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from tganaug.benchmarking.inputs import FrameSource, iter_frames, read_outlines  # noqa: PLC0415
    from tganaug.benchmarking.report import shell_command  # noqa: PLC0415
    from tganaug.io import read_ctc  # noqa: PLC0415

    generators = _names(args.generator, "generator")
    if args.reference_frames < 0 or (args.reference_frames and not generators):
        raise ValueError(f"--reference-frames {args.reference_frames}: give a count >= 0, and a --generator to render in that look")
    trackers = _names(args.tracker, "tracker")
    if not trackers:
        raise ValueError("--tracker: name at least one tracker")
    if args.segmenter not in ("gt", "none"):
        _names(args.segmenter, "segmenter")
    inputs = _inputs(args)
    use_gt = args.segmenter in ("gt", "none")
    gt = read_ctc(inputs.scored.data, inputs.scored.sequence, frames=list(inputs.scored.frames), read_images=not use_gt)
    outlines = read_outlines(inputs.scored)
    settings = tracking.resolve_settings(inputs, gt, args.segmenter, parse_params(args.segmenter_config, "--segmenter-config"),
                                         seg=args.seg, mot=args.mot, outlines=outlines)
    look, look_text = None, ""
    if args.reference_frames:
        if args.reference_frames > len(inputs.scored.frames):
            raise ValueError(f"--reference-frames {args.reference_frames}: the scored frames are only {len(inputs.scored.frames)}")
        shown = inputs.scored.frames[:args.reference_frames]
        first = FrameSource(inputs.scored.data, inputs.scored.sequence, shown)
        look = np.stack([image for image, _ in iter_frames(first, labels=False)])
        look_text = (f"{len(shown)} unannotated raw frame{'s' if len(shown) > 1 else ''} of the scored sequence "
                     f"(t{shown[0]:03d}" + (f"-t{shown[-1]:03d})" if len(shown) > 1 else ")"))
    sources = {}
    for name in generators:
        for seed in args.seeds:
            label = name if len(args.seeds) == 1 else f"{name} (seed {seed})"
            sources[label] = (lambda name=name, seed=seed: tracking.synthetic_images(name, inputs, gt, seed, model=args.model,
                                                                                     outlines=outlines, look=look))
    if use_gt and sources:
        raise ValueError("--segmenter gt tracks the GT masks: a synthetic video would give the same rows; name a segmenter "
                         "to compare real and synthetic videos")
    rows = tracking.run_tracking(inputs, gt, settings, trackers, sources, progress=not args.quiet,
                                 graph_measures=not args.no_graph_measures, outlines=outlines)
    if not rows:
        raise ValueError(f"no tracker could run here ({', '.join(trackers)}): nothing to report")
    files = tracking.tracking_report(inputs, settings, rows, args.seeds, shell_command(), generators=generators, model=args.model,
                                     outlines=outlines, look_text=look_text)
    return _finish(args, files)
