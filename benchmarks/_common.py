"""What every benchmark report states: the machine it ran on and the exact command that made it.

Imported by the scripts beside it (``sys.path`` holds ``benchmarks/`` when one of them is run).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

__all__ = ["command_line", "machine", "name_path", "positive_int"]


def machine() -> str:
    """CPU model (with its family/model numbers and the instruction set torch's CPU kernels use), usable cores, Python,
    torch build and its intra-op threads, OS: one line.

    Virtual machines often name the CPU only "AMD EPYC": the family/model numbers tell its generation, and the kernels'
    instruction set (AVX2, AVX512, ...) changes float rounding, so the same code and seed can train slightly different
    weights on two such machines."""
    cpu = platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break  # the first processor is enough
    except OSError:
        pass
    cpu = fields.get("model name", cpu)
    if "cpu family" in fields and "model" in fields:
        cpu += f" (family {fields['cpu family']} model {fields['model']})"
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "?")()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpu}; {cores} usable core{'' if cores == 1 else 's'}; Python {platform.python_version()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} intra-op threads, {capability} kernels); {platform.system()} {platform.release()}"
    )


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
