"""``tganaug validate DIR``: check a CTC folder like the CTC consistency checker."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a CTC folder's masks against its lineage",
        description="Check every sequence of a CTC folder (or one with --sequence): readable TIFFs, lineage file, "
        "every track present in exactly its frames start..end, parents ending before daughters start.",
    )
    parser.add_argument("path", help="CTC dataset folder (holding 01/, 01_GT/ ...)")
    parser.add_argument("--sequence", help="check only this sequence, e.g. 01")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tganaug.io import ctc_problems

    report = ctc_problems(args.path, args.sequence)
    failed = False
    for sequence, problems in report.items():
        if problems:
            failed = True
            print(f"{args.path} sequence {sequence}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{args.path} sequence {sequence}: OK")
    return 1 if failed else 0
