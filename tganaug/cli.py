"""The ``tganaug`` command line.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers
an ``argparse`` sub-parser whose ``func(args) -> int`` default runs it. Add new commands to
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tganaug.utils.termination import Terminated, sigterm_as_interrupt

#: modules providing ``add_parser(subparsers)``, in the order ``tganaug --help`` lists them
COMMAND_MODULES = (
    "tganaug.commands.generate",
    "tganaug.commands.simulate",
    "tganaug.commands.plugins",
    "tganaug.commands.validate",
    "tganaug.commands.track",
    "tganaug.commands.score",
    "tganaug.commands.train",
    "tganaug.commands.fit",
    "tganaug.commands.benchmark",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from tganaug.version import __version__

    parser = argparse.ArgumentParser(prog="tganaug", description="Annotated synthetic time-lapse microscopy videos.")
    parser.add_argument("--version", action="version", version=f"tganaug {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 bad input, 130 Ctrl-C, 143 SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except (ValueError, TypeError, KeyError, OSError) as error:
        # Bad input or an unusable path from the user: one clear line, no traceback.
        print(f"tganaug {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        print(f"tganaug {args.command}: {how}; finished outputs are kept (generate and train resume when re-run)", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130


if __name__ == "__main__":
    raise SystemExit(main())
