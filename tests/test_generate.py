import json

import numpy as np
import pytest
import tifffile

import tganaug
from tganaug.cli import main
from tganaug.data.seeding import video_seeds
from tganaug.generation import GenerationConfig, prepare_output, render_video
from tganaug.io import ctc_problems, read_ctc
from tganaug.simulation.base import SimulatedVideo

ARGS = ["generate", "--generator", "procedural", "--simulator", "division", "--frames", "8", "--height", "48",
        "--width", "64", "--quiet"]


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generate_layout_and_valid_annotation(tmp_path, capsys):
    out = tmp_path / "set"
    assert main([*ARGS, "--videos", "2", "--seed", "3", "--out", str(out)]) == 0
    assert "2 finished video(s)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        ".tganaug-output.json", "01", "01.gif", "01_GT", "01_montage.png", "02", "02.gif", "02_GT", "02_montage.png", "config.json", "generator.json"]
    assert ctc_problems(out) == {"01": [], "02": []}
    for name in ("01", "02"):
        sequence = read_ctc(out, sequence=name)
        assert sequence.images.shape == sequence.labels.shape == (8, 48, 64)
        assert sequence.images.dtype == np.uint16
        # cells are brighter than background in the procedural fluorescence default
        assert sequence.images[sequence.labels > 0].mean() > sequence.images[sequence.labels == 0].mean()
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 3 and config["videos"] == 2 and config["generator"] == "procedural"
    assert json.loads((out / "generator.json").read_text())["name"] == "procedural"
    # the annotation is exactly the simulator's output with that video's simulator seed
    from tganaug import get_simulator

    expected = get_simulator("division").simulate(8, 48, 64, seed=video_seeds(3, 1).simulator)
    np.testing.assert_array_equal(read_ctc(out, sequence="02", read_images=False).labels, expected.labels)
    np.testing.assert_array_equal(read_ctc(out, sequence="02", read_images=False).lineage, expected.lineage)


def test_same_seed_same_bytes_and_resume(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main([*ARGS, "--videos", "2", "--out", str(first)]) == 0
    assert main([*ARGS, "--videos", "1", "--out", str(second)]) == 0
    marker = (second / "01" / "t000.tif").stat().st_mtime_ns
    # re-run with more videos: video 01 is skipped (untouched), 02 is added, result equals a one-shot run
    assert main([*ARGS, "--videos", "2", "--out", str(second)]) == 0
    assert (second / "01" / "t000.tif").stat().st_mtime_ns == marker
    assert _files(first) == _files(second)


def test_resume_refuses_other_generator_weights(tmp_path, capsys):
    """A model folder retrained under the same path must not silently finish a set begun with the old weights."""
    import shutil

    from tganaug.models.tgan import resolve_model
    from tganaug.utils.weights import weights_fingerprint

    model = tmp_path / "model"
    shutil.copytree(resolve_model("fluo-nuclei"), model)
    out = tmp_path / "set"
    args = ["generate", "--generator", "tgan", "--model", str(model), "--simulator", "random-walk", "--frames", "2",
            "--height", "32", "--width", "32", "--quiet", "--out", str(out)]
    assert main([*args, "--videos", "1"]) == 0
    record = json.loads((out / "generator.json").read_text())
    assert record["name"] == "tgan" and record["config"]["weights_sha256"] == weights_fingerprint(model)
    assert main([*args, "--videos", "2"]) == 0  # same weights: resumes
    first_video = (out / "01" / "t000.tif").read_bytes()
    # "retrain": other SR weights under the same folder
    shutil.copy(resolve_model("phase-contrast") / "sr" / "checkpoint.pt", model / "sr" / "checkpoint.pt")
    capsys.readouterr()
    assert main([*args, "--videos", "3"]) == 2
    assert "rendered with other generator weights" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir() if p.name.endswith("_GT")) == ["01_GT", "02_GT"]
    assert (out / "01" / "t000.tif").read_bytes() == first_video
    # a set without generator.json (made before it was recorded) cannot be checked: refused too
    (out / "generator.json").unlink()
    assert main([*args, "--videos", "3"]) == 2
    assert "no generator.json, so the weights that rendered them are unknown" in capsys.readouterr().err
    assert main([*args, "--videos", "3", "--overwrite"]) == 0
    assert json.loads((out / "generator.json").read_text())["config"]["weights_sha256"] == weights_fingerprint(model)


def test_refuses_other_content_without_overwrite(tmp_path, capsys):
    out = tmp_path / "set"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    assert main([*ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not empty and holds no tganaug config.json; it holds mine.txt (1 entry)" in err
    assert "--overwrite would refuse it too" in err
    assert main([*ARGS, "--out", str(out), "--overwrite"]) == 2  # a folder tganaug did not make is never replaced
    assert "holds mine.txt (1 entry) that tganaug did not write there" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "user data" and not (out / "01_GT").exists()
    (out / "mine.txt").unlink()
    assert main([*ARGS, "--out", str(out)]) == 0
    assert main([*ARGS, "--out", str(out), "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "different configuration (differs in: seed); pass --overwrite to replace it, which deletes everything in it (1 finished video(s))" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--generator", "nope"], "unknown generator 'nope'; available generators:"),
        (["--simulator", "nope"], "unknown simulator 'nope'; available simulators:"),
        (["--videos", "0"], "videos must be a positive integer"),
        (["--generator-param", "blur_sigma=-1"], "blur_sigma"),
    ],
)
def test_bad_names_and_values(tmp_path, capsys, extra, message):
    assert main([*ARGS, "--out", str(tmp_path / "x"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_background_image_size_is_checked(tmp_path, capsys):
    wrong = tmp_path / "bg.tif"
    tifffile.imwrite(wrong, np.zeros((40, 64), dtype=np.uint16))
    assert main([*ARGS, "--out", str(tmp_path / "x"), "--background", str(wrong)]) == 2
    assert "is 40x64, the videos are 48x64" in capsys.readouterr().err
    right = tmp_path / "bg2.tif"
    tifffile.imwrite(right, np.full((48, 64), 30000, dtype=np.uint16))
    assert main([*ARGS, "--out", str(tmp_path / "y"), "--background", str(right)]) == 0
    sequence = read_ctc(tmp_path / "y")
    background_pixels = sequence.images[0][sequence.labels[0] == 0].astype(float) / 65535
    assert abs(np.median(background_pixels) - 30000 / 65535) < 0.05


def test_render_user_masks(tmp_path):
    assert main(["simulate", "--simulator", "random-walk", "--frames", "5", "--height", "40", "--width", "40",
                 "--out", str(tmp_path / "masks")]) == 0
    assert main(["generate", "--generator", "procedural", "--masks", str(tmp_path / "masks"), "--out",
                 str(tmp_path / "rendered"), "--quiet"]) == 0
    source = read_ctc(tmp_path / "masks", read_images=False)
    rendered = read_ctc(tmp_path / "rendered")
    np.testing.assert_array_equal(rendered.labels, source.labels)
    np.testing.assert_array_equal(rendered.lineage, source.lineage)
    assert rendered.images.shape == (5, 40, 40)


def test_masks_refuse_size_and_simulator_options(tmp_path, capsys):
    """With --masks the videos come from the masks: a --frames/--height/--simulator the user gave would be ignored."""
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "40", "--width", "40",
                 "--out", str(tmp_path / "masks")]) == 0
    out = tmp_path / "rendered"
    assert main(["generate", "--masks", str(tmp_path / "masks"), "--frames", "2", "--height", "32", "--out", str(out)]) == 2
    assert ("--frames, --height cannot be used with --masks: the videos, their size and length come from the masks"
            in capsys.readouterr().err)
    assert main(["generate", "--masks", str(tmp_path / "masks"), "--simulator", "colony", "--param", "n_cells=2",
                 "--out", str(out)]) == 2
    assert "--simulator, --param cannot be used with --masks" in capsys.readouterr().err
    assert not out.exists()


def test_masks_default_to_every_sequence_and_one_background_must_fit_all(tmp_path, capsys):
    import shutil

    masks = tmp_path / "masks"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "40", "--width", "40", "--out", str(masks)]) == 0
    shutil.copytree(masks / "01_GT", masks / "02_GT")
    assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--out", str(tmp_path / "all"), "--quiet"]) == 0
    assert "2 finished video(s)" in capsys.readouterr().out
    assert json.loads((tmp_path / "all" / "config.json").read_text())["videos"] == 2
    wide = tmp_path / "wide"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "40", "--width", "48", "--out", str(wide)]) == 0
    shutil.copytree(wide / "01_GT", masks / "03_GT")
    tifffile.imwrite(tmp_path / "bg.tif", np.full((40, 40), 9000, np.uint16))
    out = tmp_path / "bg-set"
    assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--background", str(tmp_path / "bg.tif"), "--out", str(out), "--quiet"]) == 2
    assert "masks sequence 03 is 40x48, the background" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written or rendered


def test_failed_run_leaves_no_config_that_blocks_the_corrected_one(tmp_path, capsys):
    out = tmp_path / "set"
    assert main([*ARGS[:-7], "--height", "8", "--width", "8", "--frames", "2", "--quiet", "--out", str(out)]) == 2
    assert "height and width must be >= 16" in capsys.readouterr().err
    assert not out.exists()  # this run made the folder; nothing of it is left
    out.mkdir()
    assert main([*ARGS[:-7], "--height", "8", "--width", "8", "--frames", "2", "--quiet", "--out", str(out)]) == 2
    assert out.is_dir() and not any(out.iterdir())  # the user's (empty) folder stays
    assert main([*ARGS, "--out", str(out)]) == 0


def test_overwrite_never_deletes_what_the_run_reads(tmp_path, capsys, monkeypatch):
    out = tmp_path / "set"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "32", "--width", "32", "--out", str(out / "masks")]) == 0
    assert main(["generate", "--generator", "procedural", "--masks", str(out / "masks"), "--out", str(out), "--overwrite", "--quiet"]) == 2
    assert f"--overwrite would delete {out / 'masks'}, which this run reads" in capsys.readouterr().err
    assert (out / "masks" / "01_GT" / "TRA" / "man_track.txt").is_file()
    (out / "gen.json").write_text("{}")
    assert main([*ARGS, "--generator-config", str(out / "gen.json"), "--out", str(out), "--overwrite"]) == 2
    assert "gen.json, which this run reads" in capsys.readouterr().err
    monkeypatch.chdir(out / "masks")
    assert main([*ARGS, "--out", str(out), "--overwrite"]) == 2
    assert "holds the current working directory" in capsys.readouterr().err
    assert (out / "gen.json").is_file() and (out / "masks" / "01_GT").is_dir()


def test_overwrite_that_fails_before_a_video_finishes_gives_the_old_set_back(tmp_path, capsys):
    out = tmp_path / "set"
    assert main([*ARGS, "--videos", "2", "--out", str(out)]) == 0
    before = _files(out)
    too_small = ["generate", "--generator", "tgan", "--model", "fluo-nuclei-x4", "--frames", "3", "--height", "32", "--width", "32",
                 "--quiet", "--out", str(out), "--overwrite"]
    assert main(too_small) == 2
    assert "too small for this model" in capsys.readouterr().err
    assert _files(out) == before  # the failed replacement put the old set back
    assert not list(tmp_path.glob(".set.old-*"))



def test_overwrite_that_fails_after_a_new_video_drops_the_old_set(tmp_path):
    out = tmp_path / "set"
    assert main([*ARGS, "--videos", "2", "--seed", "1", "--out", str(out)]) == 0
    config = GenerationConfig(generator="procedural", frames=3, height=16, width=16, videos=2, seed=9)

    class SecondFails:
        calls = 0

        def simulate(self, frames, height, width, seed=0):
            SecondFails.calls += 1
            if SecondFails.calls == 2:
                raise RuntimeError("crash in video 02")
            return _FixedSimulator().simulate(frames, height, width, seed)

    import tganaug.generation as generation

    with pytest.raises(RuntimeError, match="crash in video 02"):
        with generation.old_content_kept_until_done(out, config, overwrite=True):
            generation.prepare_output(out, config)
            for index in range(2):
                render_video(config, index, out, tganaug.get_generator("procedural"), SecondFails(), progress=False)
    assert sorted(p.name for p in out.iterdir() if p.name.endswith("_GT")) == ["01_GT"]  # the new video, not the old set
    assert not list(tmp_path.glob(".set.old-*"))  # the replaced set is not kept hidden beside it


def test_fewer_videos_on_resume_keep_the_recorded_count_and_outputs_follow_the_umask(tmp_path, capsys):
    import os
    import stat

    out = tmp_path / "set"
    old = os.umask(0o022)
    try:
        assert main([*ARGS, "--videos", "2", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert main([*ARGS, "--videos", "1", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["videos"] == 2  # the folder still holds both
    for name in ("config.json", "generator.json", "01_montage.png", "01.gif", "01/t000.tif"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    (out / "config.json").write_text("[1]")  # corrupt: not an object
    assert main([*ARGS, "--out", str(out)]) == 2
    assert "holds no tganaug config.json" in capsys.readouterr().err


def test_sixteen_bit_png_background_keeps_its_levels(tmp_path):
    from PIL import Image

    from tganaug.generation import load_background

    image = np.full((48, 64), 30000, np.uint16)
    Image.fromarray(image).save(tmp_path / "bg.png")
    np.testing.assert_allclose(load_background(tmp_path / "bg.png", 48, 64), 30000 / 65535, rtol=1e-6)
    tifffile.imwrite(tmp_path / "signed.tif", np.full((48, 64), -5, np.int16))
    with pytest.raises(ValueError, match="has negative values"):
        load_background(tmp_path / "signed.tif", 48, 64)
    tifffile.imwrite(tmp_path / "wide.tif", np.full((48, 64), 999, np.int32))  # would scale by 2**31 - 1: black
    with pytest.raises(ValueError, match="is int32: save it as 8- or 16-bit"):
        load_background(tmp_path / "wide.tif", 48, 64)


def test_interrupt_exits_130_with_a_resume_hint(monkeypatch, capsys):
    import tganaug.generation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tganaug.generation, "generate_dataset", interrupted)
    assert main([*ARGS, "--out", "unused"]) == 130
    assert "interrupted; finished outputs are kept" in capsys.readouterr().err


class _FailingGenerator:
    def iter_frames(self, labels, background=None, seed=None):
        for t, frame in enumerate(labels):
            if t == 3:
                raise RuntimeError("generator crashed")
            yield np.zeros(frame.shape, dtype=np.float32)


class _FixedSimulator:
    def simulate(self, frames, height, width, seed=0):
        labels = np.zeros((frames, height, width), dtype=np.uint16)
        labels[:, 2:6, 2:6] = 1
        return SimulatedVideo(labels, np.array([[1, 0, frames - 1, 0]]))


def test_failed_video_leaves_nothing_that_looks_finished(tmp_path):
    config = GenerationConfig(generator="procedural", frames=6, height=16, width=16)
    out = tmp_path / "set"
    prepare_output(out, config)
    with pytest.raises(RuntimeError, match="generator crashed"):
        render_video(config, 0, out, _FailingGenerator(), _FixedSimulator(), progress=False)
    assert sorted(p.name for p in out.iterdir()) == [".tganaug-output.json", "config.json"]
    # a leftover raw folder without its _GT (crash between the final renames) is cleaned on resume
    (out / "01").mkdir()
    assert prepare_output(out, config) == set()
    assert sorted(p.name for p in out.iterdir()) == [".tganaug-output.json", "config.json"]


def test_generator_producing_bad_frames_is_refused(tmp_path):
    class NaNGenerator:
        def generate(self, labels, background=None, seed=None):
            return np.full(labels.shape, np.nan, dtype=np.float32)

    config = GenerationConfig(generator="procedural", frames=3, height=16, width=16)
    prepare_output(tmp_path, config)
    with pytest.raises(ValueError, match="NaN/Inf in frame 0 of video 01"):
        render_video(config, 0, tmp_path, NaNGenerator(), _FixedSimulator(), progress=False)


class _OneRowTooManySimulator:
    def simulate(self, frames, height, width, seed=0):
        return _FixedSimulator().simulate(frames, height + 1, width, seed)


class _StreamOfOtherSize:
    def simulate_stream(self, frames, height, width, seed=0):
        video = _FixedSimulator().simulate(frames, height, width + 2, seed)
        return iter(video.labels)


def test_simulator_output_of_another_size_is_refused_before_anything_is_written(tmp_path):
    """A simulator plugin ignoring the requested size must not give TIFFs of another size under a config that says 16 x 16."""
    config = GenerationConfig(generator="procedural", simulator="odd", frames=3, height=16, width=16)
    prepare_output(tmp_path, config)
    with pytest.raises(ValueError, match=r"simulator 'odd' returned labels \(3, 17, 16\), expected \(3, 16, 16\)"):
        render_video(config, 0, tmp_path, tganaug.get_generator("procedural"), _OneRowTooManySimulator(), progress=False)
    with pytest.raises(ValueError, match=r"simulator 'odd' gave frame 0 of shape \(16, 18\), expected \(H, W\) = \(16, 16\)"):
        render_video(config, 0, tmp_path, tganaug.get_generator("procedural"), _StreamOfOtherSize(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tganaug-output.json", "config.json"]


def test_tgan_default_background_is_a_reference_crop_and_flat_is_opt_in(tmp_path, capsys):
    """``tganaug generate`` with tgan and no ``--background``: each video on its seeded reference crop (the frames
    equal a rendering with that crop given); ``--generator-param background_default=flat`` the flat level, recorded."""
    from tganaug import get_generator

    args = ["generate", "--generator", "tgan", "--model", "fluo-nuclei", "--simulator", "random-walk", "--frames", "2",
            "--height", "32", "--width", "32", "--quiet", "--seed", "4"]
    assert main([*args, "--out", str(tmp_path / "default")]) == 0
    assert main([*args, "--generator-param", "background_default=flat", "--out", str(tmp_path / "flat")]) == 0
    default, flat = read_ctc(tmp_path / "default"), read_ctc(tmp_path / "flat")
    np.testing.assert_array_equal(default.labels, flat.labels)  # same masks, other background
    assert not np.array_equal(default.images, flat.images)
    records = {name: json.loads((tmp_path / name / "generator.json").read_text())["config"] for name in ("default", "flat")}
    assert records["default"]["background_default"] == "reference" and records["flat"]["background_default"] == "flat"
    generator = get_generator("tgan", model="fluo-nuclei")
    seed = video_seeds(4, 0).generator
    crop = generator.model.default_background_image(32, 32, seed)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as `generate` renders (--torch-threads 1): convolutions round differently with more
    try:
        expected = generator.generate(default.labels, background=crop, seed=seed)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(default.images, np.round(expected * 65535).astype(np.uint16))
    capsys.readouterr()
    assert main([*args, "--generator-param", "background_default=real", "--out", str(tmp_path / "bad")]) == 2
    assert "background_default must be one of 'reference', 'flat', got 'real'" in capsys.readouterr().err


class _BadPlugins:
    """Third-party simulators and generators whose output breaks the contract, one way each."""

    class WideIds:  # ids beyond uint16, with a lineage that matches them
        def simulate(self, frames, height, width, seed=0):
            labels = np.zeros((frames, height, width), np.int64)
            labels[:, 4:12, 4:12] = 65537
            return SimulatedVideo(labels, np.array([[65537, 0, frames - 1, 0]]))

    class Small:  # one size smaller than asked, with a matching lineage
        def simulate(self, frames, height, width, seed=0):
            labels = np.zeros((frames, 16, 16), np.uint16)
            labels[:, 2:6, 2:6] = 1
            return SimulatedVideo(labels, np.array([[1, 0, frames - 1, 0]]))

    class Nothing:
        def simulate(self, frames, height, width, seed=0):
            return None

    class ShortStream:  # its stream ends a frame early
        def simulate(self, frames, height, width, seed=0):
            raise AssertionError("generate streams when simulate_stream exists")

        def simulate_stream(self, frames, height, width, seed=0):
            return iter([np.zeros((height, width), np.uint16)] * (frames - 1))

    class LongStream(ShortStream):  # and this one a frame late
        def simulate_stream(self, frames, height, width, seed=0):
            return iter([np.zeros((height, width), np.uint16)] * (frames + 1))

    class Plain:  # no .config: generator.json records the parameters it was given
        def __init__(self, level: float = 0.5):
            self.level = level

        def generate(self, labels, background=None, seed=None):
            return np.where(labels > 0, self.level, 0.1).astype(np.float32)

    class Grad:  # a torch tensor that still requires grad (a model run without torch.no_grad())
        def generate(self, labels, background=None, seed=None):
            import torch

            return torch.from_numpy(np.where(labels > 0, 0.6, 0.2).astype(np.float32)).requires_grad_()

    class Bytes:  # 8-bit intensities instead of [0, 1]
        def generate(self, labels, background=None, seed=None):
            return np.where(labels > 0, 204, 25).astype(np.uint8)

    class NoFrames:
        def generate(self, labels, background=None, seed=None):
            return None

    @tganaug.hookimpl
    def tganaug_simulators(self):
        return {"wide-ids": self.WideIds, "small": self.Small, "nothing": self.Nothing, "short-stream": self.ShortStream,
                "long-stream": self.LongStream}

    @tganaug.hookimpl
    def tganaug_generators(self):
        return {"bytes": self.Bytes, "no-frames": self.NoFrames, "plain": self.Plain, "grad": self.Grad}


@pytest.fixture
def bad_plugins(monkeypatch):
    """The installed plugins plus :class:`_BadPlugins`, as the registry every command and function uses."""
    registry = tganaug.PluginRegistry()
    registry.register(_BadPlugins(), where="test plugins", distribution="tests")
    monkeypatch.setattr(tganaug.registry, "default_registry", lambda: registry)
    monkeypatch.setattr(tganaug, "default_registry", lambda: registry)


@pytest.mark.parametrize(("argv", "message"), [
    (["--simulator", "wide-ids"], "simulator 'wide-ids' returned label ids 0..65537, outside 0..65535"),
    (["--simulator", "small"], "simulator 'small' returned labels (3, 16, 16), expected (3, 32, 32)"),
    (["--simulator", "nothing"], "simulator 'nothing': simulate() must return an object with .labels and .lineage, got NoneType"),
    (["--generator", "bytes"], "generator 'bytes' returned values in [25, 204] in frame 0 of video 01, outside [0, 1]"),
    (["--generator", "no-frames"], "generator 'no-frames': generate() returned NoneType for labels of shape (3, 32, 32)"),
])
def test_generate_and_simulate_name_a_plugin_whose_output_breaks_the_contract(tmp_path, capsys, bad_plugins, argv, message):
    """Before, ids beyond uint16 wrapped into other cells' ids and 8-bit frames were clipped to white, with exit 0."""
    size = ["--frames", "3", "--height", "32", "--width", "32"]
    out = tmp_path / "set"
    assert main(["generate", "--quiet", "--generator", "procedural", *size, *argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "01_GT").exists()
    if argv[0] == "--simulator":  # the simulate command checks the same way
        assert main(["simulate", *size, *argv, "--out", str(tmp_path / "masks")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "masks").exists()


def test_a_short_simulator_stream_is_blamed_on_the_simulator_and_plain_generator_params_are_recorded(tmp_path, capsys,
                                                                                                      bad_plugins):
    size = ["--frames", "3", "--height", "32", "--width", "32"]
    assert main(["generate", "--quiet", "--generator", "procedural", *size, "--simulator", "short-stream", "--out", str(tmp_path / "a")]) == 2
    assert "video 01: expected 3 frames, simulator 'short-stream' gave 2" in capsys.readouterr().err
    assert main(["generate", "--quiet", "--generator", "procedural", *size, "--simulator", "long-stream", "--out", str(tmp_path / "a")]) == 2
    assert "simulator 'long-stream' gave more than the 3 frames asked for" in capsys.readouterr().err
    out = tmp_path / "b"
    assert main(["generate", "--quiet", *size, "--generator", "plain", "--generator-param", "level=0.7", "--out", str(out)]) == 0
    assert json.loads((out / "generator.json").read_text()) == {"name": "Plain", "config": {"level": 0.7}}
    sequence = read_ctc(out)
    assert np.all(sequence.images[sequence.labels > 0] == round(0.7 * 65535))
    assert main(["generate", "--quiet", *size, "--generator", "grad", "--out", str(tmp_path / "c")]) == 0
    sequence = read_ctc(tmp_path / "c")
    assert np.all(sequence.images[sequence.labels == 0] == round(0.2 * 65535))


def test_masks_of_a_folder_holding_only_sequence_02(tmp_path, capsys):
    """``--masks`` renders the sequences present (here only 02, written as video 01 and recorded in config.json);
    ``--sequence`` picks some; a missing one is named with what the folder holds."""
    import shutil

    masks = tmp_path / "masks"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "40", "--width", "40", "--out", str(masks)]) == 0
    shutil.move(str(masks / "01_GT"), str(masks / "02_GT"))
    out = tmp_path / "rendered"
    assert main(["generate", "--masks", str(masks), "--out", str(out), "--quiet"]) == 0
    assert "masks from" in (printed := capsys.readouterr().out) and "sequence(s) 02 -> 01" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["videos"] == 1 and config["mask_sequences"] == ["02"]
    np.testing.assert_array_equal(read_ctc(out).labels, read_ctc(masks, "02", read_images=False).labels)
    assert main(["generate", "--masks", str(masks), "--sequence", "01", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "sequence 01 not found with annotation NN_GT/TRA or NN_ST/TRA (sequences present: 02 (GT))" in capsys.readouterr().err
    assert main(["generate", "--sequence", "02", "--out", str(tmp_path / "y"), "--quiet"]) == 2
    assert "--sequence names sequences of the --masks folder" in capsys.readouterr().err
    shutil.copytree(masks / "02_GT", masks / "01_GT")
    assert main(["generate", "--masks", str(masks), "--sequence", "02", "--sequence", "01", "--out", str(tmp_path / "z"), "--quiet"]) == 0
    assert json.loads((tmp_path / "z" / "config.json").read_text())["mask_sequences"] == ["02", "01"]
    assert main(["generate", "--masks", str(masks), "--out", str(tmp_path / "w"), "--quiet"]) == 0
    assert json.loads((tmp_path / "w" / "config.json").read_text())["mask_sequences"] == ["01", "02"]  # always spelt out
