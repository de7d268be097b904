"""``tganaug track``: segment (optionally) and track a CTC sequence, write a CTC result folder.

Example::

    tganaug track --tracker laptrack --segmenter threshold ../shared/data/Fluo-N2DH-SIM+ --frames eval --out runs/sim-lap
    # -> runs/sim-lap/01_RES/mask045.tif ... mask064.tif + res_track.txt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tganaug.commands._options import parse_params

__all__ = ["add_parser", "run", "parse_frames"]


def parse_frames(text: str) -> str | range:
    """``all`` / ``train`` / ``eval``, or an inclusive range ``A-B`` of original frame numbers."""
    if text in ("all", "train", "eval"):
        return text
    first, sep, last = text.partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit() or int(last) < int(first):
        raise ValueError(f"--frames must be all, train, eval or FIRST-LAST (e.g. 45-64), got {text!r}")
    return range(int(first), int(last) + 1)


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
    parser.add_argument("--sequence", default="01", help="sequence name (default 01)")
    parser.add_argument("--frames", default="all", help="all, train, eval, or FIRST-LAST (default all)")
    parser.add_argument("--tracker-config", action="append", metavar="KEY=VALUE",
                        help="tracker parameter (repeatable), e.g. model=phase-contrast for the linker on phase-contrast "
                        "data (its default: fluo-nuclei)")
    parser.add_argument("--segmenter-config", action="append", metavar="KEY=VALUE",
                        help="segmenter parameter (repeatable), e.g. model=phase-contrast for the unet segmenter on "
                        "phase-contrast data (its default: fluo-nuclei)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing result folder (only one written by tganaug track)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tganaug track``; returns 0 on success, 1 when the tracker's backend cannot run here."""
    from tganaug import get_segmenter, get_tracker  # noqa: PLC0415
    from tganaug.io import read_ctc  # noqa: PLC0415
    from tganaug.tracking.checks import checked_segmentation, checked_tracking  # noqa: PLC0415
    from tganaug.tracking.results import write_result  # noqa: PLC0415

    from tganaug.tracking.results import TRACKING_RESULT  # noqa: PLC0415
    from tganaug.utils.fsutil import check_output_dir  # noqa: PLC0415

    check_output_dir(Path(args.out) / f"{args.sequence}_RES", args.overwrite, TRACKING_RESULT)  # before the tracking work
    frames = parse_frames(args.frames)
    use_gt = args.segmenter in (None, "", "gt", "none")
    if use_gt and args.segmenter_config:
        raise ValueError("--segmenter-config needs a --segmenter plugin (the default, gt, tracks the given masks and "
                         "takes no parameters)")
    tracker = get_tracker(args.tracker, **parse_params(args.tracker_config, "--tracker-config"))
    segmenter = None if use_gt else get_segmenter(args.segmenter, **parse_params(args.segmenter_config, "--segmenter-config"))
    sequence = read_ctc(args.in_dir, args.sequence, frames, read_images=not use_gt, read_labels=use_gt)
    start = time.perf_counter()
    if use_gt:
        labels = sequence.labels
    else:
        labels = checked_segmentation(segmenter.segment(sequence.images), args.segmenter, sequence.images.shape)
    segmented = time.perf_counter()
    try:
        output = tracker.track(labels)
    except (RuntimeError, ImportError) as error:  # e.g. btrack's C++ library cannot be loaded
        print(f"tganaug track: tracker {args.tracker!r} failed ({type(error).__name__}: {error})")
        return 1
    tracked, lineage = checked_tracking(output, args.tracker, labels.shape)  # before anything is written
    done = time.perf_counter()
    folder = write_result(
        args.out, tracked, lineage, first_frame=int(sequence.frames[0]), sequence=args.sequence, overwrite=args.overwrite
    )
    _, children = np.unique(lineage[lineage[:, 3] > 0, 3], return_counts=True)
    divisions = int(np.sum(children >= 2))
    source = f"{sequence.annotation} masks" if use_gt else f"segmenter {args.segmenter} ({segmented - start:.1f} s)"
    print(
        f"tracked frames {int(sequence.frames[0])}-{int(sequence.frames[-1])} of {args.in_dir} from {source} with "
        f"{args.tracker} in {done - segmented:.1f} s: {len(lineage)} tracks, {divisions} division(s) -> {folder}"
    )
    return 0
