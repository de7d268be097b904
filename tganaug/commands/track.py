"""``tganaug track``: segment (optionally) and track a CTC sequence, write a CTC result folder.

Example::

    tganaug track --tracker laptrack --segmenter threshold ../shared/data/Fluo-N2DH-SIM+ --frames eval --out runs/sim-lap
    # -> runs/sim-lap/01_RES/mask045.tif ... mask064.tif + res_track.txt (sequence 01's eval frames) and
    #    runs/sim-lap/02_RES/mask000.tif ... mask059.tif (sequence 02 is evaluation-only: all its frames)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tganaug.commands._options import add_quiet_option, parse_params
from tganaug.splits import parse_frames  # the frames option of every command

__all__ = ["add_parser", "run", "parse_frames"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tganaug track``."""
    parser = subparsers.add_parser(
        "track",
        help="track a CTC sequence (optionally segmenting it first) and write CTC results",
        description="Read IN_DIR (a CTC dataset folder), segment its raw frames with --segmenter "
        "(or use its GT/ST label masks with --segmenter gt, the default), link them with --tracker and "
        "write OUT/<sequence>_RES/maskNNN.tif + res_track.txt (frame numbers as in IN_DIR).",
    )
    parser.add_argument("in_dir", metavar="IN_DIR", help="CTC dataset folder (holding 01/ and/or 01_GT|01_ST/)")
    parser.add_argument("--tracker", required=True, help="tracker plugin name (see `tganaug plugins`)")
    parser.add_argument("--segmenter", default="gt", help="segmenter plugin name, or 'gt' to track the given label masks (default)")
    parser.add_argument("--out", required=True, help="output folder; results go to OUT/<sequence>_RES")
    parser.add_argument("--sequence", action="append", metavar="NN",
                        help="sequence to track (repeatable; default: every sequence of IN_DIR with what the segmenter needs, "
                        "raw frames or label masks)")
    parser.add_argument("--frames", default="all",
                        help="all, train, eval (that split of each sequence; a sequence without such frames is skipped unless "
                        "named with --sequence), or FIRST-LAST (default all)")
    parser.add_argument("--tracker-config", action="append", metavar="KEY=VALUE",
                        help="tracker parameter (repeatable), e.g. model=phase-contrast for the linker on phase-contrast "
                        "data (its default: fluo-nuclei)")
    parser.add_argument("--segmenter-config", action="append", metavar="KEY=VALUE",
                        help="segmenter parameter (repeatable), e.g. model=phase-contrast for the unet segmenter on "
                        "phase-contrast data (its default: fluo-nuclei)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing result folder (only one written by tganaug track)")
    add_quiet_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tganaug track``; returns 0 on success, 1 when the tracker's backend cannot run here."""
    from tganaug.contracts import check_plugin  # noqa: PLC0415
    from tganaug.registry import get_segmenter, get_tracker  # noqa: PLC0415
    from tganaug.io import find_sequences  # noqa: PLC0415

    from tganaug.tracking.results import TRACKING_RESULT  # noqa: PLC0415
    from tganaug.utils.fsutil import check_output_dir  # noqa: PLC0415

    frames = parse_frames(args.frames)
    use_gt = args.segmenter in (None, "", "gt", "none")
    if use_gt and args.segmenter_config:
        raise ValueError("--segmenter-config needs a --segmenter plugin (the default, gt, tracks the given masks and "
                         "takes no parameters)")
    # made once for every sequence; refused, naming the member, when it lacks track() / segment() (tganaug.contracts)
    tracker = check_plugin("tracker", get_tracker(args.tracker, **parse_params(args.tracker_config, "--tracker-config")),
                           f"tracker plugin {args.tracker!r}")
    segmenter = None if use_gt else check_plugin(
        "segmenter", get_segmenter(args.segmenter, **parse_params(args.segmenter_config, "--segmenter-config")),
        f"segmenter plugin {args.segmenter!r}")
    names = find_sequences(args.in_dir, args.sequence, raw=not use_gt, annotated=use_gt)
    if frames in ("train", "eval") and not args.sequence:  # every sequence: those without the split's frames are skipped
        kept = [name for name in names if _has_split(args.in_dir, frames, name)]
        for name in sorted(set(names) - set(kept)):
            print(f"sequence {name} of {args.in_dir} has no {frames} frames: skipped")
        if not kept:
            raise ValueError(f"{args.in_dir}: no sequence has {frames} frames (sequences {', '.join(names)})")
        names = kept
    for name in names:  # every result folder is checked before the tracking work
        check_output_dir(Path(args.out) / f"{name}_RES", args.overwrite, TRACKING_RESULT)
    for name in names:
        code = _track_one(args, name, frames, use_gt, tracker, segmenter)
        if code:
            return code
    return 0


def _has_split(path: str, split: str, sequence: str) -> bool:
    """Whether ``split`` has frames in ``sequence`` of ``path`` (an unknown split raises, naming how to declare it)."""
    from tganaug.splits import sequence_split  # noqa: PLC0415

    return sequence_split(path, sequence).bounds(split) is not None


def _track_one(args: argparse.Namespace, name: str, frames: str | range, use_gt: bool, tracker, segmenter) -> int:  # noqa: ANN001
    """Track sequence ``name`` of ``args.in_dir`` and write ``OUT/<name>_RES``; 1 when the tracker cannot run here."""
    from tganaug.io import read_ctc  # noqa: PLC0415
    from tganaug.tracking.pipeline import TrackerFailed, segment_and_track  # noqa: PLC0415

    sequence = read_ctc(args.in_dir, name, frames, read_images=not use_gt, read_labels=use_gt)
    try:
        result = segment_and_track(sequence.labels if use_gt else sequence.images, tracker, segmenter, progress=not args.quiet,
                                   out=args.out, sequence=name, first_frame=int(sequence.frames[0]), overwrite=args.overwrite,
                                   segmenter_name=args.segmenter, tracker_name=args.tracker)
    except TrackerFailed as error:  # e.g. btrack's C++ library cannot be loaded
        print(f"tganaug track: {error}")
        return 1
    source = f"{sequence.annotation} masks" if use_gt else f"segmenter {args.segmenter} ({result.segment_seconds:.1f} s)"
    print(
        f"tracked frames {int(sequence.frames[0])}-{int(sequence.frames[-1])} of sequence {name} of {args.in_dir} from {source} with "
        f"{args.tracker} in {result.track_seconds:.1f} s: {len(result.lineage)} tracks, {result.divisions} division(s) -> {result.folder}"
    )
    return 0
