"""``tganaug score``: score a CTC tracking result against ground truth (MOTA, MT, ML, precision, recall, IDSW, DET, SEG, TRA,
LNK, division precision / recall / F1, CHOTA)."""

from __future__ import annotations

import argparse
import json
import math

from tganaug.commands._options import add_quiet_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tganaug score``."""
    parser = subparsers.add_parser(
        "score",
        help="score a tracking result against CTC ground truth",
        description="Compare RESULT_DIR (a RES folder with maskNNN.tif + res_track.txt, or a folder holding "
        "<sequence>_RES) with the GT of GT_DIR (a CTC dataset folder holding <sequence>_GT/TRA) on the frames "
        "the result covers. CLEAR-MOT measures (motmetrics) match instances by mask IoU >= 0.5 by default; "
        "MT/ML are fractions of GT tracks; DET/SEG/TRA come from py-ctcmetrics; LNK, CHOTA (CTC matching) and "
        "division precision/recall/F1 (IoU >= 0.5 one-to-one matching) from traccuracy.",
    )
    parser.add_argument("result_dir", metavar="RESULT_DIR")
    parser.add_argument("gt_dir", metavar="GT_DIR")
    parser.add_argument("--sequence", help="GT sequence to score against (default: NN for a RESULT_DIR named NN_RES or holding "
                        "one NN_RES folder, else 01)")
    parser.add_argument("--seg-from-tra", action="store_true", help="use the TRA masks as SEG reference (dense GT only)")
    parser.add_argument("--match", choices=["iou", "centroid"], default="iou", help="instance matching for MOT measures (default iou)")
    parser.add_argument("--iou-threshold", type=float, default=0.5, help="IoU needed for a match (default 0.5)")
    parser.add_argument("--max-distance", type=float, default=10.0, help="centroid distance for --match centroid (pixels, default 10)")
    parser.add_argument("--division-frame-buffer", type=int, default=0,
                        help="frames a division may be early or late and still count as found (default 0)")
    parser.add_argument("--no-graph-measures", action="store_true",
                        help="skip traccuracy's LNK, CHOTA and division measures (faster)")
    parser.add_argument("--json", action="store_true", help="print all scores as JSON instead of a table")
    add_quiet_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tganaug score``; prints the table and returns 0."""
    from tganaug.tracking.metrics import SCORE_COLUMNS, format_table, score_dirs  # noqa: PLC0415

    scores = score_dirs(
        args.result_dir,
        args.gt_dir,
        sequence=_sequence(args.result_dir, args.sequence),
        seg_from_tra=args.seg_from_tra,
        match=args.match,
        iou_threshold=args.iou_threshold,
        max_distance=args.max_distance,
        progress=not args.quiet,
        graph_measures=not args.no_graph_measures,
        division_frame_buffer=args.division_frame_buffer,
    )
    if args.json:
        # NaN (e.g. SEG without segmentation GT) is not JSON: null instead, so strict parsers read it
        strict = {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in scores.items()}
        print(json.dumps(strict, indent=2, sort_keys=True, allow_nan=False))
    else:
        columns = [c for c in SCORE_COLUMNS if c in scores] + ["GT_tracks", "AOGM"]
        columns += ["GT_divisions", "TP_divisions"] if "GT_divisions" in scores else []
        print(format_table([scores], columns))
    return 0


def _sequence(result_dir: str, sequence: str | None) -> str | None:
    """``--sequence``, else the NN of the one ``NN_RES`` folder inside RESULT_DIR; several are refused, naming them;
    None leaves it to :func:`tganaug.tracking.metrics.score_dirs` (a folder named NN_RES, or a bare RES folder: 01)."""
    import re  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    root = Path(result_dir)
    if sequence is not None or re.fullmatch(r"\d+_RES", root.resolve().name) or not root.is_dir():
        return sequence
    inside = sorted(m[1] for p in root.iterdir() if p.is_dir() and (m := re.fullmatch(r"(\d+)_RES", p.name)))
    if len(inside) > 1:
        raise ValueError(f"{root} holds the results of several sequences ({', '.join(n + '_RES' for n in inside)}): "
                         "pass --sequence NN (or give RESULT_DIR/NN_RES)")
    return inside[0] if inside else None
