"""The downstream benchmark (:mod:`tganaug.benchmarking.downstream`) with tiny settings on a hand-made CTC folder.

The folder ``ctc/`` holds sequence 01 (train t000-t005, eval t006-t007) and sequence 02 (evaluation-only by its
``splits.json``). One tiny benchmark (K = 2, every setup, one seed, a few steps, 64 px crops, segmenter + laptrack +
linker) runs once per module while every TIFF opened is recorded.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
import torch

from tganaug.benchmarking import downstream
from tganaug.benchmarking.downstream import COLUMNS, DownstreamSettings, Target, parse_target
from tganaug.io import write_sequence_files

from _dividing_disks import dividing_disks as _sequence


def _make_ctc(root: Path) -> Path:
    for name, seed in (("01", 0), ("02", 1)):
        labels, lineage, images = _sequence(seed)
        write_sequence_files(root, labels, lineage, images, sequence=name)
    (root / "02_GT" / "SEG").mkdir()  # SEG masks of two frames of 02 (none for 01)
    for t in (0, 5):
        tifffile.imwrite(root / "02_GT" / "SEG" / f"man_seg{t:03d}.tif", labels[t])
    (root / "splits.json").write_text(json.dumps({"01": {"train": [0, 5], "eval": [6, 7]}, "02": {"train": None, "eval": "all"}}))
    return root


def _settings(data: Path, runs: Path, **changes: Any) -> DownstreamSettings:
    values: dict[str, Any] = dict(data=data, train="ctc", targets=[Target("ctc", "01"), Target("ctc", "02")], k=[2],
                                  steps=2, batch=1, crop=64, seeds=[0], runs=runs, linker_steps=3, linker_videos=1,
                                  linker_frames=3, linker_size=64)
    values.update(changes)
    return DownstreamSettings(**values)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny benchmark run: its result, settings, and the TIFFs opened outside / inside the reading of targets."""
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("downstream")
    data = base / "data"
    _make_ctc(data / "ctc")
    settings = _settings(data, base / "runs")
    training_reads: list[Path] = []
    evaluation_reads: list[Path] = []
    reading_target = [False]
    original_imread, original_read_target = tifffile.imread, downstream.read_target

    def recording(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        (evaluation_reads if reading_target[0] else training_reads).append(Path(file))
        return original_imread(file, *args, **kwargs)

    def read_target(*args: Any, **kwargs: Any) -> Any:
        reading_target[0] = True
        try:
            return original_read_target(*args, **kwargs)
        finally:
            reading_target[0] = False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tifffile, "imread", recording)
        patch.setattr(downstream, "read_target", read_target)
        result = downstream.run_benchmark(settings, log=lambda _: None)
    return {"result": result, "settings": settings, "root": data / "ctc", "training_reads": training_reads,
            "evaluation_reads": evaluation_reads}


def test_training_and_fitting_never_read_the_evaluation_only_sequence(tiny: dict[str, Any]) -> None:
    root = tiny["root"].resolve()
    # (scoring also reads the temporary CTC folders it writes for py-ctcmetrics: only the data folder counts)
    reads = [path.resolve().relative_to(root) for path in tiny["training_reads"] if path.resolve().is_relative_to(root)]
    assert reads, "training read no TIFF (the recorder is not in its path)"
    leaked = [str(path) for path in reads if path.parts[0].startswith("02")]
    assert not leaked, f"training / fitting read the evaluation-only sequence 02: {leaked[:5]}"
    frames = {int(m[1]) for path in reads if (m := re.search(r"(\d+)\.tif$", path.name))}
    assert frames <= set(range(6)), f"training / fitting read frames {sorted(frames - set(range(6)))} outside the train split"
    # the targets were read for scoring, 02 included: the recorder saw both phases
    evaluated = {path.resolve().relative_to(root).parts[0] for path in tiny["evaluation_reads"] if path.resolve().is_relative_to(root)}
    assert {"02", "02_GT", "01"} <= evaluated


def test_rows_and_report_columns(tiny: dict[str, Any], tmp_path: Path) -> None:
    result = tiny["result"]
    markdown = result.markdown
    expected_keys = ["target", "protocol", "setup", "augment", "generator", "tracker", "seeds",
                     *[f"{c}_mean" for c in COLUMNS], *[f"{c}_sd" for c in COLUMNS]]
    assert all(list(row) == expected_keys for row in result.rows)
    table = {(row["target"], row["setup"], row["tracker"]): row for row in result.rows}
    setups = ["real-2", "real-2+syn", "syn-only"]
    assert sorted(table) == sorted((t, s, tr) for t in ("ctc/01", "ctc/02") for s in setups for tr in ("laptrack", "linker"))
    assert {row["protocol"] for row in result.rows if row["target"] == "ctc/01"} == {"same sequence"}
    assert {row["protocol"] for row in result.rows if row["target"] == "ctc/02"} == {"unseen sequence"}
    assert {row["generator"] for row in result.rows if row["setup"] == "real-2"} == {""}
    assert {row["generator"] for row in result.rows if row["setup"] != "real-2"} == {"procedural"}
    for row in result.rows:
        assert row["seeds"] == 1 and row["augment"] == "intensity"
        for column in ("DET", "TRA"):
            assert 0.0 <= row[f"{column}_mean"] <= 1.0 and row[f"{column}_sd"] == 0.0
        assert row["MOTA_mean"] <= 1.0
        if row["target"] == "ctc/02":  # SEG masks and a division (t004) in these frames
            assert 0.0 <= row["SEG_mean"] <= 1.0 and 0.0 <= row["DIV_recall_mean"] <= 1.0
        else:  # no SEG masks, no division in t006-t007: not measurable, shown as n/a
            assert np.isnan(row["SEG_mean"]) and np.isnan(row["DIV_recall_mean"])
    assert "| real-2 | laptrack | 1 | n/a | " in markdown.split("## ctc/02")[0]
    assert "## ctc/02: unseen sequence, every frame (evaluation-only sequence" in markdown
    assert "## ctc/01: same sequence, eval frames t006-t007" in markdown
    assert "| training data | tracker | seeds | SEG | DET | TRA | MOTA | DIV_recall |" in markdown
    assert "appearance `random`" in markdown and "RandGaussianNoised" in markdown and "twin-style" not in markdown
    assert "seeds [0]" in markdown and "Machine: " in markdown
    assert re.search(r"Wall time per run .*: segmenter training \d+ s, segmenting \+ scoring ctc/01 \d+ s, "
                     r"segmenting \+ scoring ctc/02 \d+ s\.", markdown)
    timing = json.loads((downstream.run_folder(tiny["settings"], "real") / "real-2-seed0" / downstream.TIMING_FILE).read_text())
    assert sorted(timing) == ["ctc_01", "ctc_02"] and all(value >= 0 for value in timing.values())
    # the scores in the table are the saved scores of the run folders
    saved = json.loads((downstream.run_folder(tiny["settings"], "real") / "real-2-seed0" / "scores_laptrack_ctc_02.json").read_text())
    assert saved["DET"] == pytest.approx(table[("ctc/02", "real-2", "laptrack")]["DET_mean"])
    assert sorted(saved) == sorted(COLUMNS)


def test_resume_skips_finished_runs(tiny: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tiny["settings"]

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a finished run was trained or scored again")

    import tganaug.segmentation.train
    import tganaug.tracking.linker

    monkeypatch.setattr(tganaug.segmentation.train, "train_segmenter", fail)
    monkeypatch.setattr(tganaug.tracking.linker, "train_linker", fail)
    monkeypatch.setattr(downstream, "score_target", fail)
    again = downstream.run_benchmark(settings, log=lambda _: None)
    assert json.dumps(again.rows) == json.dumps(tiny["result"].rows)  # (NaN where not measurable)
    # one missing score file: only that target is scored again, nothing is trained
    run = downstream.run_folder(settings, "mixed") / "real-2+syn-seed0"
    missing = run / "scores_linker_ctc_02.json"
    kept = json.loads(missing.read_text())
    missing.unlink()
    scored: list[tuple[str, str]] = []

    def score(evaluation: Any, labels: np.ndarray, tracker: str, **config: Any) -> dict[str, float]:
        scored.append((str(evaluation.target), tracker))
        return dict(kept)

    monkeypatch.setattr(downstream, "score_target", score)
    downstream.run_benchmark(settings, log=lambda _: None)
    assert scored == [("ctc/02", "linker")]
    assert missing.is_file()


def test_a_runs_folder_made_with_other_settings_is_refused(tiny: dict[str, Any]) -> None:
    settings = _settings(tiny["settings"].data, tiny["settings"].runs, steps=3)
    with pytest.raises(ValueError, match="holds runs made with .*pass another runs folder"):
        downstream.run_benchmark(settings, log=lambda _: None)


def test_intensity_augmentation_changes_the_real_training_batches(tmp_path: Path) -> None:
    from tganaug.segmentation.train import _batch

    data = tmp_path / "data"
    _make_ctc(data / "ctc")
    augmented = downstream.training_set(_settings(data, tmp_path / "runs"), "real", 2, seed=0)
    plain = downstream.training_set(_settings(data, tmp_path / "runs", augment="flips"), "real", 2, seed=0)
    assert len(augmented) == len(plain) == 2
    changed = 0
    for step in range(6):
        images_a, targets_a = _batch(augmented, step, 4, 0, (0.1, 99.9))
        images_p, targets_p = _batch(plain, step, 4, 0, (0.1, 99.9))
        # the same crops and the same flips / rotations (labels equal), different intensities
        assert torch.equal(targets_a, targets_p)
        changed += int(not torch.allclose(images_a, images_p, atol=1e-3))
        assert images_a.shape == images_p.shape == (4, 1, 64, 64)
    assert changed >= 3, f"only {changed} of 6 batches changed by the intensity augmentation"
    stds = [float(_batch(augmented, s, 4, 0, (0.1, 99.9))[0].std()) for s in range(6)]
    plain_stds = [float(_batch(plain, s, 4, 0, (0.1, 99.9))[0].std()) for s in range(6)]
    assert not np.allclose(stds, plain_stds, atol=1e-3)


def test_real_frames_of_a_marker_recording_train_on_full_outlines(tmp_path: Path) -> None:
    from _marker_recording import make_recording, outlines_and_markers

    make_recording(tmp_path / "data" / "rec")
    outlines, _ = outlines_and_markers()
    settings = _settings(tmp_path / "data", tmp_path / "runs", train="rec", targets=[Target("rec", "01")], crop=96, augment="flips")
    real = downstream.training_set(settings, "real", 2, seed=0)
    for index in range(2):
        labels = real[index]["label"].numpy()
        # up to the flips: the whole cells (outline area), not the markers (radius 3)
        for track, outline_id in ((1, 10), (2, 11), (3, 12)):
            assert (labels == track).sum() == (outlines[index] == outline_id).sum()
    ((linker_labels, _),) = downstream.linker_videos(tmp_path / "data" / "rec", "real", 2, 0, 0, 3, 64)
    np.testing.assert_array_equal(linker_labels[:, :, :][outlines[:2] == 10], 1)


def test_augmentation_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown augmentation 'strong'; choose one of flips, intensity"):
        downstream.augmentation("strong")


def test_targets_and_protocols() -> None:
    assert parse_target("Fluo-N2DH-SIM+/02") == Target("Fluo-N2DH-SIM+", "02")
    assert parse_target("PhC-C2DL-PSC") == Target("PhC-C2DL-PSC", "01")
    assert Target("Fluo-N2DH-SIM+", "02").protocol("Fluo-N2DH-SIM+") == "unseen sequence"
    assert Target("Fluo-N2DH-SIM+", "01").protocol("Fluo-N2DH-SIM+") == "same sequence"
    assert Target("Fluo-N2DH-GOWT1", "02").protocol("Fluo-N2DH-SIM+") == "cross-dataset"
    assert Target("Fluo-N2DH-SIM+", "02").slug == "Fluo-N2DH-SIM+_02"
    with pytest.raises(ValueError, match="DATASET/SEQ"):
        parse_target("Fluo-N2DH-SIM+/2")
    assert [name for name, _, _ in downstream.setups([2, 5, 0])] == [
        "real-2", "real-5", "real-all", "real-2+syn", "real-5+syn", "real-all+syn", "syn-only"]


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _make_ctc(data / "ctc")
    with pytest.raises(ValueError, match="K must be between 0 .all. and the 6 train frames of ctc"):
        downstream.run_benchmark(_settings(data, tmp_path / "runs", k=[7]), log=lambda _: None)
    with pytest.raises(FileNotFoundError, match="no dataset folder"):
        downstream.run_benchmark(_settings(data, tmp_path / "runs", train="absent"), log=lambda _: None)
    with pytest.raises(ValueError, match="unknown generator 'nope'"):
        downstream.run_benchmark(_settings(data, tmp_path / "runs", generator="nope"), log=lambda _: None)


def test_sub_command_and_report_files(tiny: dict[str, Any], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="tganaug benchmark")
    sub = parser.add_subparsers(dest="command")
    downstream.add_downstream_parser(sub)
    settings = tiny["settings"]
    args = parser.parse_args(["downstream", "--data", str(settings.data), "--train", "ctc", "--targets", "ctc/01", "ctc/02",
                              "--k", "2", "--steps", "2", "--batch", "1", "--crop", "64", "--seeds", "0", "--runs", str(settings.runs),
                              "--linker-steps", "3", "--linker-videos", "1", "--linker-frames", "3", "--linker-size", "64",
                              "--out", str(tmp_path / "out"), "--report", "tiny"])
    assert args.func is downstream.run_downstream
    assert downstream.settings_from_args(args) == settings
    assert args.func(args) == 0  # every run is finished: only the report is written
    assert (tmp_path / "out" / "tiny.md").read_text() .startswith("# Downstream benchmark: segmenter (+ linker) trained on ctc 01")
    with (tmp_path / "out" / "tiny.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(tiny["result"].rows) == 12
    assert rows[0]["target"] == "ctc/01" and rows[0]["setup"] == "real-2" and rows[0]["tracker"] == "laptrack"
    missing = parser.parse_args(["downstream"])
    with pytest.raises(ValueError, match="--data"):
        downstream.run_downstream(missing)


def test_trackastra_is_trained_per_setup_on_the_linkers_videos(tiny: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """``trackastra=True`` trains one masks-only transformer per setup and seed (the finished segmenters and linkers are
    reused, not retrained) and scores it as a third tracker; a rerun trains nothing."""
    import tganaug.segmentation.train
    import tganaug.tracking.linker
    from tganaug.tracking.trackastra_model import load_trackastra

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a finished segmenter or linker was trained again")

    monkeypatch.setattr(tganaug.segmentation.train, "train_segmenter", fail)
    monkeypatch.setattr(tganaug.tracking.linker, "train_linker", fail)
    settings = _settings(tiny["settings"].data, tiny["settings"].runs, trackastra=True, trackastra_epochs=1)
    result = downstream.run_benchmark(settings, log=lambda _: None)
    table = {(row["target"], row["setup"], row["tracker"]): row for row in result.rows}
    setups = ["real-2", "real-2+syn", "syn-only"]
    assert sorted(table) == sorted((t, s, tr) for t in ("ctc/01", "ctc/02") for s in setups for tr in ("laptrack", "linker", "trackastra"))
    for setup in setups:
        path = settings.runs / "ctc" / "trackastra" / f"{setup}-seed0" / "trackastra.pt"
        _, _, meta = load_trackastra(path)
        assert meta["setup"] == setup and meta["epochs"] == 1 and meta["simulated_videos"] == (0 if setup == "real-2" else 1)
        # the window (4) shrinks to the shortest video so every one is used: 2 real frames, 3-frame simulated videos
        assert json.loads(path.with_suffix(".json").read_text())["config"]["window"] == (3 if setup == "syn-only" else 2)
        assert 0.0 <= table[("ctc/02", setup, "trackastra")]["DET_mean"] <= 1.0
    # the segmentation is shared: the trackers differ in linking only, so DET is the same for all three
    assert table[("ctc/02", "real-2", "trackastra")]["DET_mean"] == pytest.approx(table[("ctc/02", "real-2", "laptrack")]["DET_mean"])
    assert "Trackastra (`trackastra`, masks-only transformer, 1 epochs" in result.markdown
    monkeypatch.setattr(downstream, "_train_trackastra", fail)
    monkeypatch.setattr(downstream, "score_target", fail)
    assert json.dumps(downstream.run_benchmark(settings, log=lambda _: None).rows) == json.dumps(result.rows)  # (NaN: n/a)
    with pytest.raises(ValueError, match="--tracker linker is trained per setup already"):
        downstream.run_benchmark(_settings(settings.data, settings.runs, tracker="linker"), log=lambda _: None)


def test_a_training_sequence_without_eval_frames_has_no_linker_gt_table(tmp_path: Path) -> None:
    """GOWT1 01 is all train frames: the linker is still trained and scored on the targets, but its "alone on the GT
    masks of the training sequence's eval frames" table is left out instead of failing."""
    data = tmp_path / "data"
    root = _make_ctc(data / "ctc")
    (root / "splits.json").write_text(json.dumps({"01": {"train": [0, 7], "eval": None}, "02": {"train": None, "eval": "all"}}))
    torch.set_num_threads(1)
    result = downstream.run_benchmark(_settings(data, tmp_path / "runs", targets=[Target("ctc", "02")], setups=["real"]),
                                      log=lambda _: None)
    assert sorted((row["setup"], row["tracker"]) for row in result.rows) == [("real-2", "laptrack"), ("real-2", "linker")]
    assert "The linker alone" not in result.markdown
