"""Dask-sharded generation: same bytes as one process, skips finished videos, retries failures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask.distributed")

from tganaug.generation import GenerationConfig, generate_dataset  # noqa: E402
from tganaug.sharding import generate_dataset_sharded  # noqa: E402

PACKAGES = Path(__file__).parent / "plugin_packages"


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_workers_match_single_process_and_skip_finished(tmp_path):
    config = GenerationConfig(generator="procedural", simulator="random-walk", videos=3, frames=6, height=40, width=40, seed=11)
    generate_dataset(config, tmp_path / "single", progress=False)
    # one video already there: the cluster must only render the other two
    generate_dataset(GenerationConfig(**{**config.to_dict(), "videos": 1}), tmp_path / "sharded", progress=False)
    before = (tmp_path / "sharded" / "01" / "t000.tif").stat().st_mtime_ns
    finished = generate_dataset_sharded(config, tmp_path / "sharded", workers=2, progress=False)
    assert [p.name for p in finished] == ["01_GT", "02_GT", "03_GT"]
    assert (tmp_path / "sharded" / "01" / "t000.tif").stat().st_mtime_ns == before
    assert _files(tmp_path / "single") == _files(tmp_path / "sharded")


def test_worker_with_other_weights_is_refused(tmp_path):
    """A worker whose installed generator has other weights than the ones recorded in the output refuses to render."""
    import json

    from tganaug.generation import prepare_output
    from tganaug.sharding import _render_task

    config = GenerationConfig(generator="tgan", generator_config={"use_sr": False}, simulator="random-walk",
                              frames=2, height=32, width=32)
    prepare_output(tmp_path, config)
    with pytest.raises(RuntimeError, match="worker's generator weights .* differ from the ones recorded"):
        _render_task(json.dumps(config.to_dict(), sort_keys=True), 0, str(tmp_path), weights_sha256="0" * 64)
    assert not (tmp_path / "01_GT").exists()


def test_torch_generator_gives_the_same_bytes_sharded(tmp_path):
    """A torch generator's CPU rounding depends on the thread count: workers must use the client's."""
    from tganaug.models.config import get_config
    from tganaug.training.trainer import LowResTrainer

    LowResTrainer(get_config("tiny").replace(total_steps=1), tmp_path / "model" / "lowres", data=[_tiny_video()], progress=False).train()
    # through the CLI in fresh processes: there torch is first imported after the cluster started
    command = [sys.executable, "-m", "tganaug.cli", "generate", "--generator", "tgan", "--model", str(tmp_path / "model"),
               "--simulator", "division", "--videos", "2", "--frames", "4", "--height", "48", "--width", "48", "--seed", "3", "--quiet"]
    subprocess.run([*command, "--out", str(tmp_path / "single")], check=True, capture_output=True, timeout=300)
    subprocess.run([*command, "--out", str(tmp_path / "sharded"), "--workers", "2"], check=True, capture_output=True, timeout=300)
    assert _files(tmp_path / "single") == _files(tmp_path / "sharded")


def _tiny_video():
    """A 6-frame 64x64 training video with one square cell (tiny-config sized)."""
    import numpy as np
    import torch

    from tganaug.models.config import get_config
    from tganaug.training.data import VideoData, downsample_image, downsample_mask

    masks = torch.zeros(6, 64, 64)
    for t in range(6):
        masks[t, 10 + t : 30 + t, 12:32] = 1
    images = masks * 1.4 - 0.7 + 0.05 * torch.from_numpy(np.random.default_rng(0).normal(size=(6, 64, 64)).astype("float32"))
    background = torch.full((64, 64), -0.7)
    s = get_config("tiny").sr_scale
    return VideoData("tiny", images, masks, background, downsample_image(images, s), downsample_mask(masks, s), downsample_image(background, s))


def test_failed_tasks_are_retried(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
                    str(site), str(PACKAGES / "example")], check=True)
    markers = tmp_path / "markers"
    markers.mkdir()
    code = (
        "from tganaug.generation import GenerationConfig\n"
        "from tganaug.sharding import generate_dataset_sharded\n"
        f"config = GenerationConfig(generator='flaky', generator_config={{'marker_dir': {str(markers)!r}}}, "
        "simulator='random-walk', videos=2, frames=4, height=32, width=32)\n"
        f"print(len(generate_dataset_sharded(config, {str(tmp_path / 'out')!r}, workers=2, progress=False)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "2"
    assert len(list(markers.iterdir())) == 2  # each video failed once, then succeeded on retry
    import json

    # a generator without .config: the sharded run records the parameters it was given, as an unsharded one does
    assert json.loads((tmp_path / "out" / "generator.json").read_text()) == {
        "name": "FlakyGenerator", "config": {"marker_dir": str(markers)}}


def test_missing_mask_sequences_are_refused_before_a_cluster_starts(tmp_path):
    """As in one process: no video is rendered and no folder is written when --videos asks for sequences the masks lack."""
    from tganaug.cli import main

    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "32", "--width", "32", "--out", str(tmp_path / "masks")]) == 0
    config = GenerationConfig(generator="procedural", videos=3, frames=3, height=32, width=32, masks=str(tmp_path / "masks"))
    with pytest.raises(FileNotFoundError, match="no annotation .* for sequence\\(s\\) 02, 03"):
        generate_dataset_sharded(config, tmp_path / "out", workers=2, progress=False)
    assert not (tmp_path / "out").exists()
