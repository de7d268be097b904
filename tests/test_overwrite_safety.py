"""``--overwrite`` replaces only what tganaug wrote: every command refuses a folder holding anything else, naming it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tganaug.cli import main
from tganaug.utils import fsutil
from tganaug.utils.fsutil import OUTPUT_RECORD, OutputExistsError, OutputKind

GENERATE = ["generate", "--generator", "procedural", "--simulator", "random-walk", "--frames", "3", "--height", "24", "--width", "24",
            "--quiet"]
NOTES = OutputKind("notes", ("*.txt", "data"), "a notes folder")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the shared mechanism ---------------------------------------------------------------------------------------

def test_foreign_entries_by_record_by_layout_and_unrecognised(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    (folder / "photo.jpg").write_text("x")
    assert fsutil.foreign_entries(folder, NOTES) == ["a.txt", "photo.jpg"]  # no record, no layout check: nothing is its own
    fsutil.write_output_record(folder, NOTES)
    (folder / ".a.txt.tmp-123").write_text("staging of its own file")
    assert fsutil.foreign_entries(folder, NOTES) == ["photo.jpg"]
    assert fsutil.output_kind_of(folder) == "notes"
    other = OutputKind("other", ("*.txt",), "another output")
    assert fsutil.foreign_entries(folder, other) == sorted(p.name for p in folder.iterdir())  # recorded as another kind
    legacy = OutputKind("notes", ("*.txt",), "a notes folder", recognise=lambda f: (f / "a.txt").is_file())
    (folder / OUTPUT_RECORD).unlink()
    assert fsutil.foreign_entries(folder, legacy) == ["photo.jpg"]  # an earlier version's folder, by its layout
    assert fsutil.foreign_entries(tmp_path / "missing", NOTES) == []


def test_refusal_names_the_first_entries_and_their_count(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(8):
        (folder / f"user{i}.dat").write_text("mine")
    with pytest.raises(OutputExistsError) as caught:
        fsutil.check_output_dir(folder, overwrite=True, kind=NOTES)
    message = str(caught.value)
    assert "user0.dat, user1.dat, user2.dat, user3.dat, user4.dat and 3 more (8 entries) that tganaug did not write" in message
    assert "choose an empty or new folder, or move those files out first" in message
    with pytest.raises(OutputExistsError, match="so --overwrite would refuse it too"):
        fsutil.check_output_dir(folder, overwrite=False, kind=NOTES)
    assert len(list(folder.iterdir())) == 8


def test_replaced_output_dir_replaces_its_own_and_puts_it_back_on_failure(tmp_path):
    folder = tmp_path / "model"
    with fsutil.replaced_output_dir(folder, NOTES, overwrite=False) as out:
        (out / "a.txt").write_text("first")
    with pytest.raises(OutputExistsError, match="pass overwrite=True"):
        with fsutil.replaced_output_dir(folder, NOTES, overwrite=False):
            pass
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while the new content is written
        with fsutil.replaced_output_dir(folder, NOTES, overwrite=True) as out:
            (out / "b.txt").write_text("half")
            raise KeyboardInterrupt
    assert (folder / "a.txt").read_text() == "first" and not (folder / "b.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no aside folder left
    with fsutil.replaced_output_dir(folder, NOTES, overwrite=True) as out:
        (out / "b.txt").write_text("second")
    assert sorted(p.name for p in folder.iterdir()) == [OUTPUT_RECORD, "b.txt"]
    (folder / "mine.jpg").write_text("user")
    with pytest.raises(OutputExistsError, match=r"holds mine.jpg \(1 entry\)"):
        with fsutil.replaced_output_dir(folder, NOTES, overwrite=True):
            pass
    assert (folder / "mine.jpg").read_text() == "user" and (folder / "b.txt").read_text() == "second"


def test_failure_unwinding_keeps_a_file_put_into_the_new_folder(tmp_path):
    folder = tmp_path / "model"
    with fsutil.replaced_output_dir(folder, NOTES, overwrite=False) as out:
        (out / "a.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="while it was replaced; its previous content is kept in"):
        with fsutil.replaced_output_dir(folder, NOTES, overwrite=True) as out:
            (out / "photo.jpg").write_text("the user's, saved here meanwhile")
            raise RuntimeError("crash")
    assert (folder / "photo.jpg").read_text() == "the user's, saved here meanwhile"
    kept = list(tmp_path.glob(".model.old-*/content/a.txt"))
    assert [p.read_text() for p in kept] == ["old"]  # the old content is not lost either


def test_a_file_put_there_while_it_is_moved_aside_is_not_deleted(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    fsutil.write_output_record(folder, NOTES)
    (folder / "a.txt").write_text("old")
    real_rename = os.rename

    def rename_after_a_user_write(source, destination):
        if Path(source) == folder.absolute() and not (folder / "late.jpg").exists():
            (folder / "late.jpg").write_text("user")  # between the check and the move
        return real_rename(source, destination)

    monkeypatch.setattr(fsutil.os, "rename", rename_after_a_user_write)
    with pytest.raises(OutputExistsError, match="late.jpg"):
        with fsutil.atomic_directory(folder, overwrite=True, kind=NOTES) as staging:
            (staging / "b.txt").write_text("new")
    assert (folder / "late.jpg").read_text() == "user" and (folder / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- tganaug generate (one process and sharded) ---------------------------------------------------------------

def test_generate_overwrite_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "important_notes.txt").write_text("mine")
    assert main([*GENERATE, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds important_notes.txt (1 entry) that tganaug did not write there, so --overwrite would refuse it too" in err
    assert main([*GENERATE, "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "holds important_notes.txt (1 entry) that tganaug did not write there as a dataset written by tganaug generate" in err
    assert "choose an empty or new folder, or move those files out first" in err
    assert sorted(p.name for p in out.iterdir()) == ["important_notes.txt"]
    assert (out / "important_notes.txt").read_text() == "mine"
    assert not list(tmp_path.glob(".notes.*"))


def test_generate_overwrite_replaces_its_own_dataset_and_an_old_layout_one(tmp_path, capsys):
    out = tmp_path / "set"
    assert main([*GENERATE, "--videos", "2", "--out", str(out)]) == 0
    assert json.loads((out / OUTPUT_RECORD).read_text())["kind"] == "dataset"
    assert main([*GENERATE, "--seed", "4", "--out", str(out)]) == 2
    assert "pass --overwrite to replace it, which deletes everything in it (2 finished video(s))" in capsys.readouterr().err
    assert main([*GENERATE, "--seed", "4", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.name.endswith("_GT")) == ["01_GT"]
    assert json.loads((out / "config.json").read_text())["seed"] == 4
    # a folder written before the record existed: recognised by its config.json and layout
    (out / OUTPUT_RECORD).unlink()
    assert main([*GENERATE, "--seed", "5", "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 5
    (out / OUTPUT_RECORD).unlink()
    (out / "README.txt").write_text("my notes on this set")  # ... but not with anything else in it
    assert main([*GENERATE, "--seed", "6", "--out", str(out), "--overwrite"]) == 2
    assert "holds README.txt (1 entry)" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["seed"] == 5 and (out / "README.txt").is_file()


def test_a_real_ctc_dataset_is_never_replaced(tmp_path, capsys):
    data = tmp_path / "ctc"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "24", "--width", "24", "--out",
                 str(data), "--quiet"]) == 0
    shutil.copytree(data / "01_GT", data / "02_GT")
    (data / OUTPUT_RECORD).unlink()
    (data / "config.json").unlink()
    before = _files(data)
    assert main([*GENERATE, "--out", str(data), "--overwrite"]) == 2  # its layout alone (01_GT, 02_GT) is not enough
    assert "holds 01_GT, 02_GT, montage.png (3 entries)" in capsys.readouterr().err
    assert _files(data) == before


def test_a_failed_resume_leaves_the_users_files(tmp_path, monkeypatch):
    from tganaug.generation import GenerationConfig, generate_dataset

    out = tmp_path / "set"
    config = GenerationConfig(simulator="random-walk", frames=3, height=24, width=24)
    generate_dataset(config, out, progress=False)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"differs in: seed\); it holds notes.txt \(1 entry\) that tganaug did not write"):
        generate_dataset(GenerationConfig(**{**config.to_dict(), "seed": 3}), out, progress=False)
    with pytest.raises(OutputExistsError, match=r"holds notes.txt \(1 entry\)"):
        generate_dataset(GenerationConfig(**{**config.to_dict(), "seed": 3}), out, overwrite=True, progress=False)
    import tganaug.generation as generation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generation, "render_video", interrupted)
    with pytest.raises(KeyboardInterrupt):  # resumes: video 02 is interrupted
        generate_dataset(GenerationConfig(**{**config.to_dict(), "videos": 2}), out, progress=False)
    assert (out / "notes.txt").read_text() == "mine" and (out / "01_GT").is_dir()


def test_sharded_overwrite_refuses_before_any_worker_starts(tmp_path):
    pytest.importorskip("dask.distributed")
    from tganaug.generation import GenerationConfig
    from tganaug.sharding import generate_dataset_sharded

    out = tmp_path / "set"
    out.mkdir()
    (out / "01").mkdir()
    (out / "01" / "raw_microscope_frame.tif").write_text("the user's")
    config = GenerationConfig(simulator="random-walk", frames=3, height=24, width=24)
    with pytest.raises(OutputExistsError, match=r"holds 01 \(1 entry\) that tganaug did not write"):
        generate_dataset_sharded(config, out, workers=1, overwrite=True, progress=False)
    assert (out / "01" / "raw_microscope_frame.tif").read_text() == "the user's"


# --- tganaug track ----------------------------------------------------------------------------------------------

@pytest.fixture
def ctc(tmp_path: Path) -> Path:
    from tganaug import write_ctc

    labels = np.zeros((3, 16, 16), np.uint16)
    labels[:, 4:8, 4:8] = 1
    return write_ctc(tmp_path / "data", labels, np.array([[1, 0, 2, 0]]))


def test_track_overwrite_replaces_only_a_tracking_result(tmp_path, ctc, capsys):
    out = tmp_path / "out"
    args = ["track", "--tracker", "overlap", str(ctc), "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2
    assert "it holds a tracking result written by tganaug track (mask000.tif, mask001.tif, mask002.tif, res_track.txt)" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    (out / "01_RES" / OUTPUT_RECORD).unlink()  # an earlier version's result: recognised by its res_track.txt
    assert main([*args, "--overwrite"]) == 0
    (out / "01_RES" / "my_analysis.csv").write_text("mine")
    assert main([*args, "--overwrite"]) == 2
    assert "holds my_analysis.csv (1 entry) that tganaug did not write there as a tracking result" in capsys.readouterr().err
    assert (out / "01_RES" / "my_analysis.csv").read_text() == "mine"
    foreign = tmp_path / "foreign"
    (foreign / "01_RES").mkdir(parents=True)
    (foreign / "01_RES" / "mask000.tif").write_text("another tool's result, no res_track.txt")
    assert main(["track", "--tracker", "overlap", str(ctc), "--out", str(foreign), "--overwrite"]) == 2
    assert "holds mask000.tif (1 entry)" in capsys.readouterr().err
    assert (foreign / "01_RES" / "mask000.tif").read_text().startswith("another tool's")


# --- tganaug train, exported models, the segmenter, simulate ----------------------------------------------------

def _tiny_ctc(path: Path) -> None:
    from tganaug.io import write_ctc

    rng = np.random.default_rng(0)
    labels = np.zeros((6, 64, 64), np.uint16)
    for t in range(6):
        labels[t, 10 + t:20 + t, 10:20] = 1
        labels[t, 40:50, 30 + t:40 + t] = 2
    images = (rng.normal(300, 10, labels.shape) + 500 * (labels > 0)).clip(0, 65535).astype(np.uint16)
    write_ctc(path, labels=labels, lineage=np.array([[1, 0, 5, 0], [2, 0, 5, 0]]), images=images)
    (path / "splits.json").write_text(json.dumps({"train": [0, 5], "eval": None}))


def test_train_overwrite_refuses_foreign_files_and_replaces_its_own_run(tmp_path, capsys):
    from tganaug.training.checkpoint import load_checkpoint

    _tiny_ctc(tmp_path / "ctc")
    run = tmp_path / "run"
    start = ["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", "tiny", "--out", str(run), "--no-progress"]
    assert main([*start, "--steps", "2"]) == 0
    assert json.loads((run / OUTPUT_RECORD).read_text())["kind"] == "tgan-training-run"
    assert main([*start, "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "pass overwrite=True (--overwrite) to replace it, which deletes everything in it (or --resume to continue it)" in err
    (run / "thesis_figure.png").write_text("mine")
    assert main([*start, "--steps", "3", "--overwrite"]) == 2
    assert "holds thesis_figure.png (1 entry) that tganaug did not write there as a tGAN training run" in capsys.readouterr().err
    assert load_checkpoint(run)["config"]["total_steps"] == 2 and (run / "thesis_figure.png").read_text() == "mine"
    (run / "thesis_figure.png").unlink()
    (run / OUTPUT_RECORD).unlink()  # a run of an earlier version: recognised by its config.json
    assert main([*start, "--steps", "3", "--overwrite"]) == 0
    assert load_checkpoint(run)["config"]["total_steps"] == 3


def test_export_and_segmenter_training_keep_files_they_did_not_write(tmp_path):
    from tganaug.data import SyntheticVideoDataset
    from tganaug.segmentation.model import SegmenterConfig
    from tganaug.segmentation.train import train_segmenter
    from tganaug.training.checkpoint import export_generator

    model = tmp_path / "model"
    model.mkdir()
    (model / "weights_notes.md").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"model folder .* holds weights_notes.md \(1 entry\)"):
        export_generator(tmp_path / "no-run-needed", model)
    assert (model / "weights_notes.md").read_text() == "mine"

    seg = tmp_path / "seg"
    seg.mkdir()
    (seg / "model.pt").write_bytes(b"someone else's model")
    dataset = SyntheticVideoDataset(simulator="division", generator="procedural", num_videos=2, frames=2, size=(32, 32), seed=1)
    config = SegmenterConfig(features=(4, 4, 8, 8, 16, 4))
    with pytest.raises(OutputExistsError, match=r"holds model.pt \(1 entry\) that no segmenter training wrote there"):
        train_segmenter(dataset, seg, steps=1, batch_size=1, config=config, progress=False)
    assert (seg / "model.pt").read_bytes() == b"someone else's model"
    (seg / "model.pt").unlink()
    (seg / "scores.json").write_text("{}")  # other files beside a run are left alone
    train_segmenter(dataset, seg, steps=1, batch_size=1, config=config, progress=False)
    train_segmenter(dataset, seg, steps=1, batch_size=1, config=config, progress=False)  # its own run: resumed
    assert (seg / "scores.json").read_text() == "{}" and (seg / "model.pt").is_file()


def test_simulate_overwrite_refuses_foreign_files(tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "24", "--width", "24", "--out", str(out), "--quiet"]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    assert main([*args, "--overwrite"]) == 2
    assert "holds notes.txt (1 entry) that tganaug did not write there as a simulation" in capsys.readouterr().err
    (out / "notes.txt").unlink()
    assert main([*args, "--seed", "3", "--overwrite"]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 3
