"""Plugin contracts (tganaug.contracts), the light plugin helpers, and the library functions under the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tracking_cases import disc_video, image_video

import tganaug
from tganaug import cli, contracts, write_ctc
from tganaug.contracts import (Configured, FitsFromCTC, SimulationResult, Simulator, SupportsBatchGeneration,
                               SupportsFrameStream, SupportsSimulationStream, check_plugin, fits_from_ctc, has_config,
                               missing_members, plugin_name, reports_progress, supports_batch_generation, supports_frame_stream,
                               supports_simulation_stream)
from tganaug.lineage import LineageError
from tganaug.plugin_objects import describe, resolve
from tganaug.simulation.writing import write_simulation
from tganaug.tracking.pipeline import TrackerFailed, segment_and_track, segment_video, track_video

ROOT = Path(__file__).resolve().parents[1]

# -- light commands ----------------------------------------------------------------------------------------------------

_WRAPPER = """
import json, sys
import tganaug.cli
code = tganaug.cli.main(sys.argv[1:])
print(json.dumps({"code": code, "heavy": sorted(m for m in ("torch", "monai") if m in sys.modules)}))
"""


@pytest.mark.parametrize("argv", [
    ["simulate", "--frames", "3", "--height", "32", "--width", "32", "--quiet"],
    ["generate", "--generator", "procedural", "--frames", "3", "--height", "32", "--width", "32", "--quiet"],
])
def test_simulate_and_procedural_generate_import_neither_torch_nor_monai(tmp_path: Path, argv: list[str]) -> None:
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv, "--out", str(out)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
    assert (out / "01_GT" / "TRA" / "man_track.txt").is_file()


def test_contract_modules_are_light() -> None:
    code = ("import sys, tganaug.contracts, tganaug.plugin_objects, tganaug.data.plugins, tganaug.simulation.writing;"
            "print(sorted(m for m in ('torch', 'monai') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_data_plugins_is_the_light_module_reexported() -> None:
    from tganaug.data import plugins

    assert plugins.resolve is resolve and plugins.describe is describe
    assert tganaug.Simulator is Simulator  # the simulator contract has one definition


# -- built-in plugins satisfy their contracts --------------------------------------------------------------------------

def _created(kind: str, name: str):
    try:
        return tganaug.default_registry().create(kind, name)
    except (ImportError, RuntimeError) as error:  # an optional backend missing here (trackastra, btrack's library)
        pytest.skip(f"{kind} {name}: {error}")


BUILTIN = {"simulator": ["colony", "division", "random-walk"], "generator": ["procedural", "tgan"], "segmenter": ["threshold", "unet"],
           "tracker": ["btrack", "laptrack", "linker", "overlap", "trackastra"]}


def test_the_builtin_list_is_every_builtin_plugin() -> None:
    registry = tganaug.default_registry()
    assert {kind: sorted(n for n in registry.names(kind) if registry.info(kind, n).distribution == "tganaug")
            for kind in BUILTIN} == BUILTIN


@pytest.mark.parametrize(("kind", "name"), [(kind, name) for kind, names in BUILTIN.items() for name in names])
def test_every_builtin_plugin_satisfies_its_kinds_protocol(kind: str, name: str) -> None:
    made = _created(kind, name)
    assert isinstance(made, contracts.PLUGIN_PROTOCOLS[kind])
    assert missing_members(kind, made) == []
    assert check_plugin(kind, made) is made
    others = [k for k in contracts.PLUGIN_PROTOCOLS if k != kind]
    assert all(missing_members(k, made) for k in others)  # e.g. a tracker is no segmenter
    assert isinstance(plugin_name(made), str) and plugin_name(made) == name


def test_builtin_plugins_expose_their_known_capabilities() -> None:
    registry = tganaug.default_registry()
    division = registry.create("simulator", "division")
    assert supports_simulation_stream(division) and isinstance(division, SupportsSimulationStream)
    assert fits_from_ctc(registry.info("simulator", "division").factory)
    assert has_config(division) and isinstance(division, Configured)
    procedural = registry.create("generator", "procedural")
    assert supports_frame_stream(procedural) and isinstance(procedural, SupportsFrameStream)
    assert reports_progress(registry.create("segmenter", "threshold").segment)
    assert reports_progress(registry.create("tracker", "overlap").track)
    video = division.simulate(frames=3, height=32, width=32, seed=0)
    assert isinstance(video, SimulationResult)


# -- third-party objects missing a required member are refused, naming it ---------------------------------------------

class _Nothing:
    pass


class _NotCallable:
    simulate = generate = segment = track = "not a method"


@pytest.mark.parametrize(("kind", "member"), [("simulator", "simulate()"), ("generator", "generate()"),
                                              ("segmenter", "segment()"), ("tracker", "track()")])
@pytest.mark.parametrize("obj", [_Nothing(), _NotCallable()], ids=["absent", "not-callable"])
def test_an_object_without_a_required_member_is_refused_naming_it(kind: str, member: str, obj) -> None:
    name = member[:-2]
    assert missing_members(kind, obj) == [name]  # a member that cannot be called counts as missing (isinstance sees presence only)
    with pytest.raises(TypeError, match=rf"{kind} plugin 'mine' \(a {type(obj).__name__}\) has no {name}\(\) method: a {kind} needs"):
        check_plugin(kind, obj, f"{kind} plugin 'mine'")
    with pytest.raises(TypeError, match=rf"^{kind} \(a {type(obj).__name__}\) has no {name}\(\) method"):
        check_plugin(kind, obj)
    with pytest.raises(TypeError, match=rf"{kind} must be a plugin name or an object with a {name}\(\) method, got {type(obj).__name__}"):
        resolve(kind, obj)


def test_isinstance_refuses_an_object_without_the_member() -> None:
    assert not any(isinstance(_Nothing(), protocol) for protocol in contracts.PLUGIN_PROTOCOLS.values())


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown plugin kind 'painter'; expected one of simulator, generator, segmenter, tracker"):
        missing_members("painter", object())


def test_track_refuses_a_tracker_plugin_without_track(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(tganaug.registry, "get_tracker", lambda name, **config: _Nothing())
    data = write_ctc(tmp_path / "data", disc_video(), np.array([[1, 0, 7, 0], [2, 0, 7, 0], [3, 0, 7, 0]]))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("tganaug.commands.track",))
    assert cli.main(["track", "--tracker", "mine", str(data), "--out", str(tmp_path / "out")]) == 2
    assert "tracker plugin 'mine' (a _Nothing) has no track() method" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- capability detection ----------------------------------------------------------------------------------------------

class _Full:
    name = "full"
    config = {"a": 1}

    def generate(self, labels, background=None, seed=None):
        return np.zeros(np.shape(labels), np.float32)

    def generate_batch(self, labels, backgrounds, seeds):
        return np.stack([self.generate(x) for x in labels])

    def iter_frames(self, label_frames, background=None, seed=None):
        for frame in label_frames:
            yield np.zeros(np.shape(frame), np.float32)

    def simulate(self, frames, height, width, seed=0):
        raise AssertionError("not called")

    def simulate_stream(self, frames, height, width, seed=0):
        raise AssertionError("not called")

    @classmethod
    def from_ctc(cls, path, frames="train", sequence="01", **params):
        return cls()

    def segment(self, images, progress=None):
        return np.zeros(np.shape(images), np.uint16)


class _Bare:
    def generate(self, labels, background=None, seed=None):
        return np.zeros(np.shape(labels), np.float32)

    def segment(self, images):
        return np.zeros(np.shape(images), np.uint16)


class _Wrapper:
    """Like tganaug.appearance.AppearanceGenerator: a property that raises AttributeError when the wrapped one lacks it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.config = None

    @property
    def generate_batch(self):
        if not callable(getattr(self.inner, "generate_batch", None)):
            raise AttributeError("no generate_batch")
        return self.inner.generate_batch


def test_capabilities_are_detected_with_and_without_each_member() -> None:
    full, bare = _Full(), _Bare()
    for check, protocol in ((supports_batch_generation, SupportsBatchGeneration), (supports_frame_stream, SupportsFrameStream),
                            (supports_simulation_stream, SupportsSimulationStream)):
        assert check(full) and isinstance(full, protocol)
        assert not check(bare) and not isinstance(bare, protocol)
    assert fits_from_ctc(_Full) and isinstance(_Full, FitsFromCTC) and not fits_from_ctc(_Bare)
    assert has_config(full) and not has_config(bare) and not has_config(_Wrapper(bare))  # config None: none recorded
    assert plugin_name(full) == "full" and plugin_name(bare) == "_Bare"
    assert reports_progress(full.segment) and not reports_progress(bare.segment)
    assert not reports_progress(object())  # nothing to read a signature from
    assert supports_batch_generation(_Wrapper(full)) and not supports_batch_generation(_Wrapper(bare))
    odd = _Bare()
    odd.iter_frames = "not callable"
    assert not supports_frame_stream(odd)


def test_describe_records_config_or_the_given_parameters() -> None:
    assert describe(_Full()) == {"name": "full", "config": {"a": 1}}
    assert describe(_Bare(), {"k": 2}) == {"name": "_Bare", "config": {"k": 2}}
    assert describe(tganaug.get_simulator("division", speed=2.0))["config"]["speed"] == 2.0


def test_renderer_uses_the_frame_stream_only_when_there_is_one() -> None:
    from tganaug.appearance import with_appearance

    labels = disc_video()[:3]
    wrapped = with_appearance(_Bare(), appearance="random")
    assert not supports_batch_generation(wrapped) and supports_frame_stream(wrapped)  # iter_frames falls back to generate
    frames = list(wrapped.iter_frames(iter(labels), seed=1))
    assert np.array_equal(np.stack(frames), wrapped.generate(labels, seed=1))


# -- the library under tganaug simulate --------------------------------------------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_simulate_command_writes_what_write_simulation_writes(tmp_path: Path) -> None:
    argv = ["simulate", "--simulator", "random-walk", "--frames", "5", "--height", "48", "--width", "40", "--seed", "7",
            "--param", "speed=2.5", "--quiet"]
    assert cli.main([*argv, "--out", str(tmp_path / "cli")]) == 0
    written = write_simulation(tmp_path / "lib", "random-walk", frames=5, height=48, width=40, seed=7, simulator_config={"speed": 2.5})
    by_cli, by_lib = _files(tmp_path / "cli"), _files(tmp_path / "lib")
    assert sorted(by_cli) == sorted(by_lib) == ["01_GT/TRA/man_track.txt", *(f"01_GT/TRA/man_track{t:03d}.tif" for t in range(5)),
                                                "config.json", "montage.png"]
    assert by_cli == by_lib
    assert written.folder == tmp_path / "lib" and written.labels.shape == (5, 48, 40)
    assert written.config["simulator_config"]["speed"] == 2.5 and written.config["tracks"] == len(written.lineage)
    read = tganaug.read_ctc(tmp_path / "lib", read_images=False)
    assert np.array_equal(read.labels, written.labels) and np.array_equal(read.lineage, written.lineage)


def test_write_simulation_takes_a_ready_simulator_and_keeps_what_exists(tmp_path: Path) -> None:
    simulator = tganaug.get_simulator("division")
    written = write_simulation(tmp_path / "sim", simulator, frames=3, height=32, width=32)
    assert written.config["simulator"] == "division"
    before = _files(tmp_path / "sim")
    with pytest.raises(FileExistsError):
        write_simulation(tmp_path / "sim", simulator, frames=4, height=32, width=32)
    assert _files(tmp_path / "sim") == before
    with pytest.raises(ValueError, match="from_ctc fits a simulator plugin given by name"):
        write_simulation(tmp_path / "fit", simulator, from_ctc=tmp_path / "sim")
    with pytest.raises(ValueError, match="simulator_config is only used with a simulator plugin name"):
        write_simulation(tmp_path / "cfg", simulator, simulator_config={"speed": 1.0})
    with pytest.raises(TypeError, match=r"simulator must be a plugin name or an object with a simulate\(\) method, got _Bare"):
        write_simulation(tmp_path / "bare", _Bare())
    assert not (tmp_path / "fit").exists() and not (tmp_path / "cfg").exists() and not (tmp_path / "bare").exists()


def test_write_simulation_writes_nothing_for_a_wrong_simulation(tmp_path: Path) -> None:
    class Short:
        def simulate(self, frames, height, width, seed=0):
            return tganaug.get_simulator("division").simulate(frames - 1, height, width, seed)

    with pytest.raises(ValueError, match=r"simulator 'Short' returned labels \(2, 32, 32\), expected \(3, 32, 32\)"):
        write_simulation(tmp_path / "short", Short(), frames=3, height=32, width=32)
    assert not (tmp_path / "short").exists()


# -- the library under tganaug track -----------------------------------------------------------------------------------

@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    labels = disc_video(divide_at=4, shuffle=False)
    lineage = np.array([[1, 0, 3, 0], [2, 0, 7, 0], [3, 0, 7, 0], [4, 4, 7, 1], [5, 4, 7, 1]])
    gt = labels.copy()
    gt[4:][labels[4:] == 1] = 4
    gt[4:][labels[4:] == 2] = 5
    gt[4:][labels[4:] == 3] = 2
    gt[4:][labels[4:] == 4] = 3
    return write_ctc(tmp_path / "data", gt, lineage, images=image_video(gt))


def test_track_command_writes_what_segment_and_track_writes(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("tganaug.commands.track",))
    assert cli.main(["track", "--segmenter", "threshold", "--tracker", "overlap", str(dataset), "--out", str(tmp_path / "cli"),
                     "--quiet"]) == 0
    sequence = tganaug.read_ctc(dataset, "01")
    result = segment_and_track(sequence.images, "overlap", "threshold", out=tmp_path / "lib", sequence="01")
    assert result.folder == tmp_path / "lib" / "01_RES"
    assert _files(tmp_path / "cli") == _files(tmp_path / "lib")
    # the same as the steps by hand
    segmented = tganaug.get_segmenter("threshold").segment(sequence.images)
    tracked, lineage = tganaug.get_tracker("overlap").track(segmented)
    assert np.array_equal(result.segmentation, segmented) and result.segmentation.dtype == np.uint16
    assert np.array_equal(result.labels, tracked) and np.array_equal(result.lineage, lineage)
    assert result.tracks[0] is result.labels and result.divisions == int(np.sum(np.unique(lineage[lineage[:, 3] > 0, 3],
                                                                                         return_counts=True)[1] >= 2))


def test_segment_and_track_given_labels_and_steps(dataset: Path, tmp_path: Path) -> None:
    sequence = tganaug.read_ctc(dataset, "01", read_images=False)
    result = segment_and_track(sequence.labels, "laptrack")
    assert result.segmentation is None and result.folder is None and result.segment_seconds < 0.5
    assert len(result.lineage) == 5 and result.divisions == 1
    tracked, lineage = track_video(sequence.labels, tganaug.get_tracker("laptrack"))
    assert np.array_equal(tracked, result.labels) and np.array_equal(lineage, result.lineage)
    images = tganaug.read_ctc(dataset, "01").images
    assert np.array_equal(segment_video(images, "threshold"), tganaug.get_segmenter("threshold").segment(images))
    with pytest.raises(ValueError, match="segmenter_config needs a segmenter"):
        segment_and_track(sequence.labels, "overlap", segmenter_config={"x": 1})


class _WrongLineage:
    def track(self, labels):
        return labels, np.array([[1, 0, 1, 0]])


class _Broken:
    def track(self, labels):
        raise ImportError("backend missing")


class _FloatSegmenter:
    def segment(self, images):
        return np.asarray(images, np.float32)


def test_segment_and_track_checks_each_step_and_writes_nothing(dataset: Path, tmp_path: Path) -> None:
    sequence = tganaug.read_ctc(dataset, "01")
    out = tmp_path / "out"
    with pytest.raises(LineageError, match="tracker 'mine': tracked labels and lineage disagree"):
        segment_and_track(sequence.labels, _WrongLineage(), out=out, tracker_name="mine")
    with pytest.raises(ValueError, match="segmenter '_FloatSegmenter' returned labels of dtype float32"):
        segment_and_track(sequence.images, "overlap", _FloatSegmenter(), out=out)
    with pytest.raises(TrackerFailed, match=r"tracker '_Broken' failed \(ImportError: backend missing\)") as failed:
        segment_and_track(sequence.labels, _Broken(), out=out)
    assert isinstance(failed.value.__cause__, ImportError) and isinstance(failed.value, RuntimeError)
    with pytest.raises(TypeError, match=r"tracker must be a plugin name or an object with a track\(\) method, got _FloatSegmenter"):
        segment_and_track(sequence.labels, _FloatSegmenter(), out=out)
    assert not out.exists()
