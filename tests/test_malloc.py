"""glibc allocator settings for inference loops (:mod:`tganaug.utils.malloc`)."""

from __future__ import annotations

import platform
import subprocess
import sys

import numpy as np
import pytest
from _tiny_tgan import tiny_tgan

from tganaug.models import tgan as tgan_module
from tganaug.utils.malloc import keep_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Like a forward pass: several large buffers alive at once, all freed, 40 times over (the first
# round is warm-up); prints the minor page faults the 40 rounds cost.
_FAULTS = """
import resource, sys
import numpy as np
from tganaug.utils.malloc import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def forward():
    held = [np.ones(n) for n in (1 << 19, 1 << 20, 3 << 18, 1 << 21)]
    return sum(float(h[0]) for h in held)
forward()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    forward()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True)
    return int(result.stdout.strip())


def test_applies_exactly_where_glibc_runs():
    assert keep_freed_memory() is GLIBC
    assert keep_freed_memory() is GLIBC  # idempotent


@pytest.mark.skipif(not GLIBC, reason="mallopt settings are glibc-specific")
def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    default, kept = _faults("default"), _faults("keep")
    assert default > 40 * 1000  # most of the 7,680 pages of a round are faulted in afresh every round
    assert kept < default / 20


def test_tgan_asks_once_per_video_only_when_opted_in_and_output_is_unchanged(monkeypatch):
    calls = []
    monkeypatch.setattr(tgan_module.malloc, "keep_freed_memory", lambda: calls.append(1) or True)
    masks = np.zeros((3, 24, 24), np.uint16)
    masks[:, 4:12, 6:14] = 1
    untouched = tiny_tgan().generate(masks, seed=3)  # default: the allocator is left alone
    assert calls == []
    kept = tiny_tgan(keep_freed_memory=True).generate(masks, seed=3)
    assert calls == [1]
    assert kept.tobytes() == untouched.tobytes()


def test_generate_command_applies_it_to_its_own_process(monkeypatch, tmp_path):
    from tganaug.cli import main
    from tganaug.utils import malloc

    calls = []
    monkeypatch.setattr(malloc, "keep_freed_memory", lambda: calls.append(1) or True)
    assert main(["generate", "--generator", "procedural", "--videos", "1", "--frames", "2", "--height", "32", "--width", "32", "--out", str(tmp_path / "out")]) == 0
    assert calls == [1]
