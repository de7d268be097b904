"""One seed scheme: ``tganaug generate --seed S`` video ``i + 1`` (in one process and sharded) is ``SyntheticVideoDataset(seed=S)[i]``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import torch

import tganaug
from tganaug.cli import main
from tganaug.data import SyntheticVideoDataset
from tganaug.data.seeding import video_seeds
from tganaug.generation import GenerationConfig, generate_dataset, load_background, prepare_output, video_name
from tganaug.io import read_ctc
from tganaug.render import GivenMasks, VideoRenderer

FRAMES, HEIGHT, WIDTH = 4, 40, 48


class _TinyTGANPlugin:
    """The tiny random tGAN as a generator plugin, with the ``tgan`` plugin's three methods."""

    name = "tiny-tgan"

    def __init__(self) -> None:
        from _tiny_tgan import tiny_tgan

        self.model = tiny_tgan()
        with torch.no_grad():  # non-zero noise scales (they start at zero): a video rendered with another seed would show
            for name, parameter in [*self.model.lowres.named_parameters(), *self.model.sr.named_parameters()]:
                if name.endswith("noise.weight"):
                    parameter.fill_(0.3)

    def generate(self, labels, background=None, seed=None):
        return self.model.generate(labels, background=background, seed=seed)

    def generate_batch(self, labels, backgrounds, seeds):
        return self.model.generate_batch(labels, backgrounds, seeds)

    def iter_frames(self, labels, background=None, seed=None):
        return self.model.iter_frames(labels, background=background, seed=seed)


class _TestPlugins:
    @tganaug.hookimpl
    def tganaug_generators(self):
        return {"tiny-tgan": _TinyTGANPlugin}


@pytest.fixture
def tiny_plugin(monkeypatch):
    """The installed plugins plus ``tiny-tgan``, as the registry every command and function uses."""
    registry = tganaug.PluginRegistry()
    registry.register(_TestPlugins(), where="test plugins", distribution="tests")
    monkeypatch.setattr(tganaug.registry, "default_registry", lambda: registry)
    monkeypatch.setattr(tganaug, "default_registry", lambda: registry)


def _assert_same_as_dataset(out, dataset, videos):
    """Every video of the CTC folder ``out`` equals the dataset's item: labels, lineage and frames (as written, uint16)."""
    for i in range(videos):
        sequence = read_ctc(out, sequence=video_name(i))
        item = dataset[i]
        np.testing.assert_array_equal(sequence.labels, item["label"].numpy())
        np.testing.assert_array_equal(sequence.lineage, item["lineage"].numpy())
        written = (item["image"][:, 0].numpy() * 65535).round().astype(np.uint16)
        assert sequence.images.dtype == np.uint16 and np.array_equal(sequence.images, written), f"video {video_name(i)} differs"
    # and the videos are not all alike (the comparison would pass for any constant)
    assert not np.array_equal(read_ctc(out, sequence="01").images, read_ctc(out, sequence="02").images)


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_procedural_cli_and_sharded_videos_are_the_dataset_items(tmp_path):
    """division (a streaming simulator: ``generate`` reads ``simulate_stream``, the dataset ``simulate``) → procedural,
    with a background image given to both."""
    pytest.importorskip("dask.distributed")
    from tganaug.sharding import generate_dataset_sharded

    rng = np.random.default_rng(0)
    background_file = tmp_path / "bg.tif"
    tifffile.imwrite(background_file, rng.integers(3000, 9000, (HEIGHT, WIDTH), dtype=np.uint16))
    size = ["--frames", str(FRAMES), "--height", str(HEIGHT), "--width", str(WIDTH)]
    command = ["generate", "--quiet", "--generator", "procedural", "--simulator", "division", *size, "--videos", "3", "--seed", "5",
               "--background", str(background_file), "--param", "cells_per_10k_px=15"]
    assert main([*command, "--out", str(tmp_path / "cli")]) == 0
    dataset = SyntheticVideoDataset("division", "procedural", num_videos=3, frames=FRAMES, size=(HEIGHT, WIDTH), seed=5,
                                    simulator_config={"cells_per_10k_px": 15}, background=load_background(background_file, HEIGHT, WIDTH))
    _assert_same_as_dataset(tmp_path / "cli", dataset, 3)
    # the sharded path: the same folder, byte for byte
    config = GenerationConfig(**json.loads((tmp_path / "cli" / "config.json").read_text()))
    generate_dataset_sharded(config, tmp_path / "sharded", workers=2, progress=False)
    assert _files(tmp_path / "sharded") == _files(tmp_path / "cli")


def test_tiny_tgan_cli_and_sharded_task_videos_are_the_dataset_items(tmp_path, tiny_plugin):
    """A torch generator (``iter_frames`` in ``generate``, ``generate``/``generate_batch`` in the dataset), on its own seeded
    default background: same bytes with the same torch threads (``generate`` renders with one)."""
    from tganaug.sharding import _render_task, _worker_objects

    size = ["--frames", str(FRAMES), "--height", str(HEIGHT), "--width", str(WIDTH)]
    assert main(["generate", "--quiet", "--generator", "tiny-tgan", "--simulator", "random-walk", *size, "--videos", "2", "--seed", "7",
                 "--out", str(tmp_path / "cli")]) == 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset = SyntheticVideoDataset("random-walk", "tiny-tgan", num_videos=2, frames=FRAMES, size=(HEIGHT, WIDTH), seed=7)
        _assert_same_as_dataset(tmp_path / "cli", dataset, 2)
        # and an item is the whole-video generate() of its labels with its generator seed
        item = dataset[1]
        expected = _TinyTGANPlugin().generate(item["label"].numpy(), seed=video_seeds(7, 1).generator)
        assert np.array_equal(item["image"][:, 0].numpy(), expected)
    finally:
        torch.set_num_threads(threads)
    # each task of a sharded run (in this process: the registry with the test plugin is not in a Dask worker's)
    config = GenerationConfig(**json.loads((tmp_path / "cli" / "config.json").read_text()))
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    prepare_output(tmp_path / "sharded", config, record=json.loads((tmp_path / "cli" / "generator.json").read_text()))
    _worker_objects.cache_clear()
    try:
        for index in (1, 0):
            assert _render_task(config_json, index, str(tmp_path / "sharded")) == video_name(index)
    finally:
        _worker_objects.cache_clear()
    assert _files(tmp_path / "sharded") == _files(tmp_path / "cli")


def test_rendering_the_written_masks_again_gives_the_same_video(tmp_path):
    """``generate --masks`` seeds the generator as for simulated masks: re-rendering a set's own annotation with its seed
    reproduces its frames; another seed does not."""
    size = ["--frames", str(FRAMES), "--height", str(HEIGHT), "--width", str(WIDTH)]
    assert main(["generate", "--quiet", "--simulator", "division", *size, "--videos", "2", "--seed", "3", "--out", str(tmp_path / "sim")]) == 0
    assert main(["generate", "--quiet", "--masks", str(tmp_path / "sim"), "--seed", "3", "--out", str(tmp_path / "again")]) == 0
    assert main(["generate", "--quiet", "--masks", str(tmp_path / "sim"), "--seed", "4", "--out", str(tmp_path / "other")]) == 0
    for name in ("01", "02"):
        simulated, again, other = (read_ctc(tmp_path / out, sequence=name) for out in ("sim", "again", "other"))
        np.testing.assert_array_equal(again.images, simulated.images)
        np.testing.assert_array_equal(again.lineage, simulated.lineage)
        np.testing.assert_array_equal(other.labels, simulated.labels)
        assert not np.array_equal(other.images, simulated.images)


def test_renderer_stream_render_and_batch_agree_and_check_given_masks():
    """The core's three ways to one video: frame by frame (streamed simulation), whole and in a batch."""
    renderer = VideoRenderer(tganaug.get_simulator("division"), tganaug.get_generator("procedural"), seed=2, frames=FRAMES,
                             height=HEIGHT, width=WIDTH)
    whole = renderer.render(1)
    stream = renderer.stream(1)
    with pytest.raises(RuntimeError, match="lineage of video 1 is known only after every frame was read"):
        stream.lineage
    pairs = list(stream)
    np.testing.assert_array_equal(np.stack([labels for labels, _ in pairs]), whole.labels)
    np.testing.assert_array_equal(np.stack([frame for _, frame in pairs]), whole.frames)
    np.testing.assert_array_equal(stream.lineage, whole.lineage)
    with pytest.raises(RuntimeError, match="can be iterated once"):
        list(stream)
    assert whole.frames.dtype == np.float32 and whole.frames.shape == (FRAMES, HEIGHT, WIDTH) and whole.lineage.dtype == np.int64
    assert whole.seeds == video_seeds(2, 1)
    expected = tganaug.get_simulator("division").simulate(FRAMES, HEIGHT, WIDTH, seed=video_seeds(2, 1).simulator)
    np.testing.assert_array_equal(whole.labels, expected.labels)

    class Batched:
        name = "batched"

        def generate(self, labels, background=None, seed=None):
            return tganaug.get_generator("procedural").generate(labels, background, seed)

        def generate_batch(self, labels, backgrounds, seeds):
            return np.stack([self.generate(*args) for args in zip(labels, backgrounds, seeds)])

    batched = VideoRenderer(tganaug.get_simulator("division"), Batched(), seed=2, frames=FRAMES, height=HEIGHT, width=WIDTH)
    first, second = batched.render_batch([0, 1])
    np.testing.assert_array_equal(second.frames, whole.frames)
    np.testing.assert_array_equal(second.lineage, whole.lineage)
    assert not np.array_equal(first.labels, second.labels)
    # given masks: their lineage is checked against their frames, naming them and the video
    labels = expected.labels.copy()
    labels[0][labels[0] > 0] = 0
    with pytest.raises(tganaug.LineageError, match="video 01: masks of test: labels and lineage disagree: track"):
        list(renderer.stream(0, masks=GivenMasks(labels, expected.lineage, "masks of test"), video="video 01"))


def test_a_folder_of_the_previous_seed_scheme_is_not_resumed(tmp_path, capsys):
    """A config.json without seed_scheme was rendered with one SeedSequence([seed, k]) seed: adding videos to it with
    video_seeds would mix two schemes in one set, so resuming is refused like any other configuration change."""
    out = tmp_path / "set"
    args = ["generate", "--quiet", "--frames", "3", "--height", "32", "--width", "32", "--out", str(out)]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["seed_scheme"] == 2
    del config["seed_scheme"]
    (out / "config.json").write_text(json.dumps(config))
    assert main([*args, "--videos", "2"]) == 2
    assert "different configuration (differs in: seed_scheme); pass --overwrite" in capsys.readouterr().err
    assert not (out / "02_GT").exists()
    with pytest.raises(ValueError, match="seed_scheme 1 cannot be rendered"):
        generate_dataset(GenerationConfig(seed_scheme=1, frames=3, height=32, width=32), tmp_path / "old", progress=False)
    assert not (tmp_path / "old").exists()
