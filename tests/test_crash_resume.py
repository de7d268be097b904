"""Kill -9 a real `tganaug generate` process mid-video and resume it."""

import os
import signal
import subprocess
import sys
import time

from tganaug.io import ctc_problems

COMMAND = [sys.executable, "-m", "tganaug.cli", "generate", "--generator", "procedural", "--simulator", "division",
           "--videos", "3", "--frames", "60", "--height", "96", "--width", "96", "--seed", "2", "--quiet"]


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_kill_generate_mid_video_then_resume(tmp_path):
    out = tmp_path / "set"
    process = subprocess.Popen([*COMMAND, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed_mid_video = False
    while time.monotonic() < deadline and process.poll() is None:
        staging = list(out.glob(".02.tmp-*/02/t0*.tif")) if out.is_dir() else []
        if (out / "01_GT").is_dir() and staging:
            os.kill(process.pid, signal.SIGKILL)
            killed_mid_video = True
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert killed_mid_video, "the run finished before it could be killed mid-video 02"
    # finished video intact and valid; the partial one does not look finished
    assert not (out / "02_GT").exists() and not (out / "03_GT").exists()
    assert ctc_problems(out, "01") == {"01": []}
    # resume completes the set, and the result equals an uninterrupted run
    subprocess.run([*COMMAND, "--out", str(out)], check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert ctc_problems(out) == {"01": [], "02": [], "03": []}
    assert not list(out.glob(".*tmp-*"))
    subprocess.run([*COMMAND, "--out", str(tmp_path / "clean")], check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert _files(out) == _files(tmp_path / "clean")
