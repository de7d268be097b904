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


def test_sigterm_before_the_first_video_leaves_nothing_that_blocks_another_run(tmp_path):
    """A scheduler's time limit sends SIGTERM: cleaned up like Ctrl-C (no staging folder, no config.json of a set
    that has no video), so a corrected command is not refused as "a different configuration"."""
    out = tmp_path / "set"
    process = subprocess.Popen([*COMMAND, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    terminated = False
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and list(out.glob(".01.tmp-*/01/t0*.tif")) and not (out / "01_GT").exists():
            os.kill(process.pid, signal.SIGTERM)
            terminated = True
            break
        time.sleep(0.005)
    _, stderr = process.communicate(timeout=60)
    assert terminated, "the run finished its first video before it could be stopped"
    assert process.returncode == 143 and "terminated (SIGTERM)" in stderr
    assert not out.exists() or not any(out.iterdir())  # the run made the folder and had finished nothing
    changed = [*COMMAND, "--out", str(out)]
    changed[changed.index("--frames") + 1] = "5"
    subprocess.run(changed, check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert ctc_problems(out) == {"01": [], "02": [], "03": []}


def test_kill_training_mid_step_then_resume(tmp_path, shared_data):
    """kill -9 a real training process after a checkpoint: the checkpoint is intact, resume continues
    from it, and the result equals an uninterrupted run bit for bit."""
    import torch

    from tganaug.models.config import get_config
    from tganaug.training.checkpoint import load_checkpoint

    config = tmp_path / "tiny.json"
    config.write_text(__import__("json").dumps({**get_config("tiny").to_dict(), "total_steps": 60, "checkpoint_every": 10, "log_every": 1}))
    base = [sys.executable, "-m", "tganaug.cli", "train", "lowres", "--data", str(shared_data / "Fluo-N2DH-SIM+"),
            "--no-progress", "--threads", "1"]
    run = tmp_path / "run"
    process = subprocess.Popen([*base, "--config", str(config), "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    killed = False
    while time.monotonic() < deadline and process.poll() is None:
        log = run / "log.csv"
        if (run / "checkpoint.pt").is_file() and log.is_file() and len(log.read_text().splitlines()) >= 24:
            os.kill(process.pid, signal.SIGKILL)  # somewhere after step 23: mid-step, past the step-20 checkpoint
            killed = True
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    assert killed, "training finished before it could be killed"
    saved = load_checkpoint(run)  # never corrupt or half-written (atomic rename)
    assert saved["step"] in (20, 30, 40, 50) and not list(run.glob(".*tmp*"))
    subprocess.run([*base, "--resume", "--out", str(run)], check=True, stdout=subprocess.DEVNULL, timeout=300)
    steps = [int(line.split(",")[0]) for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 61))  # rows after the checkpoint were dropped and redone once
    subprocess.run([*base, "--config", str(config), "--out", str(tmp_path / "straight")], check=True, stdout=subprocess.DEVNULL, timeout=300)
    resumed, straight = load_checkpoint(run), load_checkpoint(tmp_path / "straight")
    for network in ("generator", "discriminator", "flownet"):
        for key, value in straight["models"][network].items():
            assert torch.equal(resumed["models"][network][key], value), (network, key)


def test_a_swallowed_sigterm_is_raised_again_at_the_next_frame_or_step():
    """Code that swallows the exception the SIGTERM handler raises (an extension module's import interrupted by the
    signal clears it) does not make the run go on to the end: the next frame or step raises it again."""
    import pytest

    from tganaug.utils.termination import Terminated, raise_if_terminated, sigterm_as_interrupt

    with sigterm_as_interrupt():
        raise_if_terminated()  # nothing requested yet
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
        except KeyboardInterrupt:
            pass  # swallowed, as third-party code does
        with pytest.raises(Terminated):
            raise_if_terminated()
    raise_if_terminated()  # forgotten once the block is left
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
