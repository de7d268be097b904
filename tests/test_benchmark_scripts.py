"""The benchmark scripts: their shared report header and that each one starts (``--help``)."""

from __future__ import annotations

import contextlib
import io
import runpy
import shlex
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


def test_command_line_is_the_command_that_ran(common) -> None:
    argv = [str(BENCHMARKS / "fidelity.py"), "--model", "fluo-nuclei=runs/my run", "--report", "x"]
    line = common.command_line(argv)
    assert line == "python benchmarks/fidelity.py --model 'fluo-nuclei=runs/my run' --report x"
    assert shlex.split(line)[2:] == argv[1:]  # every argument survives, quoted


def test_command_line_keeps_a_script_outside_the_repository(common, tmp_path: Path) -> None:
    script = tmp_path / "mine.py"
    assert common.command_line([str(script), "--a", "1"]) == f"python {script} --a 1"


def test_machine_names_cpu_threads_and_torch(common) -> None:
    import torch

    line = common.machine()
    assert f"torch {torch.__version__}" in line
    assert f"({torch.get_num_threads()} intra-op threads)" in line
    assert "usable core" in line


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_starts(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every script imports its dependencies and parses ``--help`` (a broken import shows here, not after an hour)."""
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / script), "--help"])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    assert stop.value.code == 0
    assert "usage" in out.getvalue().lower()
