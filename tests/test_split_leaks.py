"""No frame of an evaluation-only sequence reaches training, fitting or background estimation.

A tiny CTC folder holds sequences 01 (train t000-t005, eval t006-t007) and 02 (evaluation-only by its
``splits.json``); every TIFF opened is recorded while each training / fitting / background entry point runs on it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import tifffile
import torch

import tganaug
from tganaug.io import write_sequence_files
from tganaug.models.config import PRESETS

REPO = Path(__file__).resolve().parents[1]
TINY = PRESETS["tiny"]
from _dividing_disks import FRAMES, SIZE
from _dividing_disks import dividing_disks as _sequence


@pytest.fixture
def ctc(tmp_path: Path) -> Path:
    """``ctc/`` with sequences 01 and 02 (02 evaluation-only); different content, so a leak would also change results."""
    root = tmp_path / "ctc"
    for name, seed in (("01", 0), ("02", 1)):
        labels, lineage, images = _sequence(seed)
        write_sequence_files(root, labels, lineage, images, sequence=name)
    (root / "splits.json").write_text(json.dumps({"01": {"train": [0, 5], "eval": [6, 7]}, "02": {"train": None, "eval": "all"}}))
    return root


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path ``tifffile.imread`` opens from now on (the project's TIFF reader goes through it)."""
    paths: list[Path] = []
    original = tifffile.imread

    def recording(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        paths.append(Path(file))
        return original(file, *args, **kwargs)

    monkeypatch.setattr(tifffile, "imread", recording)
    return paths


def _assert_only_train_frames(opened: list[Path], root: Path, what: str) -> None:
    """Something was read, all of it from sequence 01 (never ``02/`` or ``02_GT/``), none of it an eval frame (t006, t007)."""
    assert opened, f"{what} read no TIFF (the recorder is not in its path)"
    inside = [path.resolve().relative_to(root.resolve()) for path in opened]
    leaked = [str(path) for path in inside if path.parts[0] in ("02", "02_GT", "02_ST")]
    assert not leaked, f"{what} read the evaluation-only sequence 02: {leaked[:5]}"
    frames = {int(m[1]) for path in inside if (m := re.search(r"(\d+)\.tif$", path.name))}
    assert frames <= set(range(6)), f"{what} read frames {sorted(frames - set(range(6)))} outside the train split t000-t005"


def test_low_res_and_sr_training_read_only_train_frames(ctc: Path, opened: list[Path], tmp_path: Path) -> None:
    from tganaug.training.checkpoint import load_checkpoint
    from tganaug.training.trainer import LowResTrainer, SRTrainer

    torch.set_num_threads(1)
    trainer = LowResTrainer(TINY.replace(total_steps=2), tmp_path / "lowres", data=[ctc], progress=False)
    trainer.train(until=1)
    _assert_only_train_frames(opened, ctc, "low-res training")
    saved = load_checkpoint(tmp_path / "lowres")
    assert saved["data"] == ["ctc"] and list(saved["reference_backgrounds"]) == ["ctc"]
    # the run's record says which sequences and frames it used and which it skipped, and why
    assert saved["data_sequences"][0] == {"data": "ctc", "sequence": "01", "frames": [0, 5]}
    assert saved["data_sequences"][1]["sequence"] == "02" and saved["data_sequences"][1]["frames"] is None
    assert saved["data_sequences"][1]["skipped"].startswith("evaluation-only (per ") and "splits.json" in saved["data_sequences"][1]["skipped"]
    opened.clear()
    SRTrainer(TINY.replace(total_steps=2), tmp_path / "sr", data=[ctc], progress=False).train(until=1)
    _assert_only_train_frames(opened, ctc, "SR training")


def test_pretraining_reads_only_train_frames(ctc: Path, opened: list[Path]) -> None:
    from tganaug.training.pretrain import pretrain_flownet, train_feature_net

    _, info = train_feature_net([ctc], channels=(2, 4, 4), steps=1, batch=1, crop=32, log_every=0)
    assert info["data_sequences"] == [{"data": "ctc", "sequence": "01", "frames": [0, 5]}]
    _assert_only_train_frames(opened, ctc, "feature-net pre-training")
    opened.clear()
    pretrain_flownet([ctc], channels=(2, 4, 4), steps=1, batch=1, crop=32, log_every=0)
    _assert_only_train_frames(opened, ctc, "FlowNet pre-training")


def test_background_estimation_reads_only_train_frames(ctc: Path, opened: list[Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`reference_backgrounds` of the training videos and ``ship_tgan.py --add-backgrounds``."""
    from tganaug.training.background import reference_backgrounds
    from tganaug.training.checkpoint import load_checkpoint, save_checkpoint
    from tganaug.training.data import load_videos
    from tganaug.training.trainer import LowResTrainer

    backgrounds = reference_backgrounds(load_videos([ctc], "train", TINY))
    assert list(backgrounds) == ["ctc"] and backgrounds["ctc"].shape == (SIZE, SIZE)
    _assert_only_train_frames(opened, ctc, "reference background estimation")
    # ship_tgan's background step on a checkpoint of a run on this folder, its references removed
    LowResTrainer(TINY.replace(total_steps=1), tmp_path / "run", data=[ctc], progress=False).train(until=1)
    run = load_checkpoint(tmp_path / "run")
    run.pop("reference_backgrounds")
    run.pop("config_obj")
    save_checkpoint(tmp_path / "weights" / "model" / "lowres" / "checkpoint.pt", {k: v for k, v in run.items() if k not in ("format", "version")})
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import ship_tgan

    monkeypatch.setattr(ship_tgan, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(ship_tgan, "SHIPPED_MODELS", {"tiny": "model"})
    opened.clear()
    ship_tgan.add_backgrounds("tiny", ctc.parent)
    _assert_only_train_frames(opened, ctc, "ship_tgan --add-backgrounds")
    again = load_checkpoint(tmp_path / "weights" / "model" / "lowres")["reference_backgrounds"]
    assert list(again) == ["ctc"] and torch.equal(again["ctc"], backgrounds["ctc"])


def test_simulator_and_renderer_fits_read_only_train_frames(ctc: Path, opened: list[Path]) -> None:
    from tganaug.procedural import ProceduralRenderer

    registry = tganaug.default_registry()
    fitted = []
    for name in registry.names("simulator"):
        factory = registry.info("simulator", name).factory
        if not hasattr(factory, "from_ctc"):
            continue
        opened.clear()
        factory.from_ctc(ctc, frames="train")
        _assert_only_train_frames(opened, ctc, f"simulator {name}.from_ctc")
        fitted.append(name)
    assert "division" in fitted
    opened.clear()
    ProceduralRenderer.from_ctc(ctc, frames="train", max_frames=3)
    _assert_only_train_frames(opened, ctc, "ProceduralRenderer.from_ctc")
    for fit in (lambda: registry.info("simulator", "division").factory.from_ctc(ctc, frames="train", sequence="02"),
                lambda: ProceduralRenderer.from_ctc(ctc, frames="train", sequence="02")):
        with pytest.raises(ValueError, match="sequence 02 of ctc is evaluation-only"):
            fit()


def test_segmenter_and_linker_training_read_only_train_frames(ctc: Path, opened: list[Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The segmenter and linker training benchmarks' data choices, and one training step each."""
    from tganaug.segmentation.train import train_segmenter
    from tganaug.tracking.linker import train_linker

    torch.set_num_threads(1)
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import train_segmenter as segmenter_benchmark

    monkeypatch.setattr(segmenter_benchmark, "SOURCES", {"mine": ["ctc"]})
    dataset, described = segmenter_benchmark.training_dataset("mine", ctc.parent, seed=0)
    assert described == ["ctc train frames t000-t005"]
    train_segmenter(dataset, tmp_path / "segmenter", steps=1, batch_size=1, progress=False)
    _assert_only_train_frames(opened, ctc, "segmenter training")
    opened.clear()
    sequences = [tganaug.read_ctc(ctc, frames="train", read_images=False)]  # what benchmarks/train_linker.py trains on
    train_linker(sequences, tmp_path / "linker.pt", steps=1, progress=False)
    _assert_only_train_frames(opened, ctc, "linker training")


def test_downstream_training_sets_read_only_train_frames(ctc: Path, opened: list[Path]) -> None:
    from tganaug.benchmarking import downstream

    settings = downstream.DownstreamSettings(data=ctc.parent, train=ctc.name, crop=64)
    for kind in ("real", "mixed", "syn-only"):
        opened.clear()
        downstream.training_set(settings, kind, 3, seed=0)
        _assert_only_train_frames(opened, ctc, f"downstream training set {kind}")
    opened.clear()
    downstream.linker_videos(ctc, "mixed", 3, seed=0, videos=1, frames=3, size=64)
    _assert_only_train_frames(opened, ctc, "downstream linker videos")


def test_cli_training_and_fitting_skip_the_evaluation_only_sequence(ctc: Path, opened: list[Path], tmp_path: Path) -> None:
    from tganaug.cli import main
    from tganaug.training.checkpoint import load_checkpoint

    assert main(["train", "lowres", "--data", str(ctc), "--config", "tiny", "--steps", "1", "--out", str(tmp_path / "run"),
                 "--no-progress"]) == 0
    _assert_only_train_frames(opened, ctc, "tganaug train")
    assert [s["sequence"] for s in load_checkpoint(tmp_path / "run")["data_sequences"] if s["frames"]] == ["01"]
    opened.clear()
    assert main(["simulate", "--from-ctc", str(ctc), "--frames", "3", "--height", "32", "--width", "32", "--out",
                 str(tmp_path / "sim"), "--quiet"]) == 0
    _assert_only_train_frames(opened, ctc, "tganaug simulate --from-ctc")
    assert json.loads((tmp_path / "sim" / "config.json").read_text())["from_ctc_sequence"] == "01"
    # asked for explicitly, the evaluation-only sequence is refused, naming it
    assert main(["train", "lowres", "--data", str(ctc), "--sequence", "02", "--config", "tiny", "--steps", "1", "--out",
                 str(tmp_path / "run2"), "--no-progress"]) == 2
    assert main(["simulate", "--from-ctc", str(ctc), "--sequence", "02", "--out", str(tmp_path / "sim2"), "--quiet"]) == 2


def test_train_frames_of_an_evaluation_only_shared_sequence_are_refused(shared_data: Path) -> None:
    for name in ("Fluo-N2DH-SIM+", "Fluo-N2DH-GOWT1"):
        with pytest.raises(ValueError, match=rf"sequence 02 of {re.escape(name)} is evaluation-only \(no train frames, per the "
                           r"built-in split table"):
            tganaug.read_ctc(shared_data / name, sequence="02", frames="train", read_images=False)


def test_sim_like_copy_without_splits_file_refuses_sequence_02_train_frames(tmp_path: Path) -> None:
    """A folder named like the shared SIM+ gets the built-in per-sequence table: its 02 is evaluation-only."""
    root = tmp_path / "Fluo-N2DH-SIM+"
    for name, seed in (("01", 0), ("02", 1)):
        labels, lineage, images = _sequence(seed)
        write_sequence_files(root, labels, lineage, images, sequence=name)
    with pytest.raises(ValueError, match=r"sequence 02 of Fluo-N2DH-SIM\+ is evaluation-only"):
        tganaug.read_ctc(root, sequence="02", frames="train")
    assert tganaug.read_ctc(root, sequence="02", frames="eval").frames.tolist() == list(range(FRAMES))
    # the built-in train split of 01 (t000-t044) does not fit these 8 frames: named, with the sequence and frames
    with pytest.raises(ValueError, match=r"gives sequence 01 of Fluo-N2DH-SIM\+ the train frames 0..44, but the sequence has "
                       r"frames 0..7: frames 8..44 are not present"):
        tganaug.read_ctc(root, sequence="01", frames="train")
