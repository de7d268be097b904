"""What every benchmark report states and how it is written: the header (dataset, sequence, frames, protocol,
seeds, machine, command), tables, and the output folder (refused when it exists, unless ``overwrite``; written
atomically)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tganaug.benchmarking.inputs import BenchmarkInputs
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import OutputKind, atomic_directory, check_output_dir

__all__ = ["BENCHMARK_REPORT", "check_out", "csv_bytes", "header", "machine", "mean_sd_table", "seed_list", "shell_command", "write_outputs"]


def machine() -> str:
    """CPU model (with its family/model numbers and the instruction set torch's CPU kernels use), usable cores, Python,
    torch build and its intra-op threads, OS: one line.

    Virtual machines often name the CPU only "AMD EPYC": the family/model numbers tell its generation, and the kernels'
    instruction set (AVX2, AVX512, ...) changes float rounding, so the same code and seed can train slightly different
    weights on two such machines."""
    import torch  # noqa: PLC0415

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


def shell_command(argv: Sequence[str] | None = None) -> str:
    """The running ``tganaug`` command as a user would type it (``argv`` defaults to ``sys.argv[1:]``)."""
    return shlex.join(["tganaug", *(sys.argv[1:] if argv is None else argv)])


def seed_list(text: str) -> list[int]:
    """argparse ``type``: ``"0,1,2"`` -> ``[0, 1, 2]`` (distinct integers >= 0, at least one)."""
    try:
        seeds = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be one or more distinct integers >= 0, got {text!r}")
    return seeds


#: a benchmark's output folder: its reports, tables and figures (``--overwrite`` replaces only such a folder)
BENCHMARK_REPORT = OutputKind("benchmark-report", ("*.md", "*.csv", "*.png"), "a benchmark report written by tganaug benchmark")


def check_out(out: str | Path, overwrite: bool) -> Path:
    """The output folder, checked before any work: its parent must exist (``FileNotFoundError``), and an existing
    non-empty folder is refused without ``overwrite`` (:class:`tganaug.utils.fsutil.OutputExistsError`)."""
    out = Path(out)
    if not out.absolute().parent.is_dir():
        raise FileNotFoundError(f"--out {out}: its parent folder {out.absolute().parent} does not exist (create it first)")
    return check_output_dir(out, overwrite, BENCHMARK_REPORT)


def write_outputs(out: str | Path, files: Mapping[str, bytes], overwrite: bool) -> Path:
    """Write ``files`` (name -> content) as the folder ``out``, atomically: it appears complete or not at all; an
    existing non-empty ``out`` is replaced only with ``overwrite`` (:func:`tganaug.utils.fsutil.atomic_directory`)."""
    out = check_out(out, overwrite)
    with atomic_directory(out, overwrite=overwrite, kind=BENCHMARK_REPORT) as staging:
        for name, content in files.items():
            (staging / name).write_bytes(content)
    return out


def header(title: str, inputs: BenchmarkInputs, seeds: Sequence[int], command: str, notes: Sequence[str] = ()) -> list[str]:
    """The report's first lines: title, dataset / sequence / frames used, protocol, fitted-on frames, seeds, machine,
    command, then ``notes`` (one line each)."""
    scored = inputs.scored
    lines = [
        f"# {title}",
        "",
        f"- Dataset: `{scored.data.name}` (`{scored.data}`), sequence {scored.sequence}, frames {scored.span[:-1]}; {scored.how}).",
        f"- Protocol: {inputs.protocol_text}.",
        f"- Seeds: {', '.join(str(s) for s in seeds)}.",
        f"- Machine: {machine()}.",
        f"- Command: `{command}`.",
    ]
    lines += [f"- {note}" for note in notes]
    return lines + [""]


def mean_sd_table(summary: Sequence[Mapping[str, object]], columns: Sequence[str], digits: int = 4) -> str:
    """A markdown table of summary rows, each measure as ``mean ± sd`` where a finite ``<measure>_sd`` exists."""
    cells = []
    for row in summary:
        cell = {}
        for column in columns:
            value = row.get(column, "")
            sd = row.get(f"{column}_sd", float("nan"))
            if isinstance(value, float) and not np.isnan(value) and isinstance(sd, float) and not np.isnan(sd):
                cell[column] = f"{value:.{digits}f} ± {sd:.{digits}f}"
            else:
                cell[column] = value
        cells.append(cell)
    return format_table(cells, columns, digits=digits)


def csv_bytes(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> bytes:
    """``rows`` (dicts) as CSV with the header ``columns`` (other keys ignored), for :func:`write_outputs`."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return table.getvalue().encode()
