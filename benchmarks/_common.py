"""What every benchmark report states: the machine it ran on and the exact command that made it.

Imported by the scripts beside it (``sys.path`` holds ``benchmarks/`` when one of them is run).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from tganaug.benchmarking.report import machine  # noqa: F401 (re-exported: every script imports it from here)

REPO = Path(__file__).resolve().parents[1]

__all__ = ["command_line", "machine", "name_path", "positive_int", "write_report"]


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as a user would type it from the repository root.

    ``argv`` defaults to ``sys.argv``: the script (shown relative to the repository when it lies
    inside it) and its arguments exactly as given, quoted for a POSIX shell.
    """
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve() if argv else Path("?")
    try:
        shown = str(script.relative_to(REPO))
    except ValueError:
        shown = argv[0] if argv else "?"
    return shlex.join(["python", shown, *argv[1:]])


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1 (a clear usage error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def name_path(text: str) -> tuple[str, str]:
    """argparse ``type``: ``NAME=PATH`` as ``(name, path)`` (a clear usage error without the ``=``)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def write_report(results: Path, name: str, lines: list[str], rows: list[dict], columns: Sequence[str]) -> None:
    """Print the Markdown report ``lines`` and write it as ``results/<name>.md`` with its ``rows`` as
    ``results/<name>.csv`` (both atomically; ``name`` may be an absolute path stem)."""
    from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

    report = "\n".join(lines) + "\n"
    print(report)
    atomic_write_bytes(results / f"{name}.md", report.encode())
    atomic_write_csv(results / f"{name}.csv", rows, columns)
