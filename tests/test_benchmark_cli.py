"""``tganaug benchmark fidelity|tracking`` on a hand-made CTC folder (``MyNuclei``, sequences 01 and 02, per-sequence
``splits.json``): headers name the frames used and the protocol, ``--out`` is refused unless ``--overwrite``, and
each bad input gets a clear error."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from _benchdata import make_nuclei

from tganaug.cli import main


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def nuclei(tmp_path: Path) -> Path:
    return make_nuclei(tmp_path / "data")


def test_fidelity_on_an_unseen_sequence_of_a_new_dataset(nuclei: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fid"
    code, printed, _ = _run(["benchmark", "fidelity", "--data", str(nuclei), "--sequence", "02", "--out", str(out),
                             "--generator", "procedural", "--seeds", "0,1", "--quiet"], capsys)
    assert code == 0
    report = (out / "fidelity.md").read_text()
    assert report in printed
    assert "`MyNuclei`" in report and "sequence 02, frames t000-t011 (12 frames; eval split per" in report
    assert "Protocol: unseen sequence: sequence 02 was never fitted to; settings fitted on the train frames t000-t007 (8 frames) " \
           "of sequence 01" in report
    assert "Seeds: 0, 1." in report and "Machine: " in report and "usable core" in report
    per_seed = _rows(out / "fidelity_per_seed.csv")
    assert [(r["method"], r["seed"]) for r in per_seed] == [("procedural", "0"), ("procedural", "1")]
    for row in per_seed:
        assert 0 < float(row["SSIM"]) <= 1 and 10 < float(row["PSNR"]) < 60 and math.isfinite(float(row["FVD_like"]))
        assert float(row["warp_error_real"]) > 0
    summary = _rows(out / "fidelity.csv")
    assert len(summary) == 1 and summary[0]["seeds"] == "2"
    assert float(summary[0]["SSIM"]) == pytest.approx((float(per_seed[0]["SSIM"]) + float(per_seed[1]["SSIM"])) / 2)


def test_fidelity_header_names_a_frame_range(nuclei: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fid"
    code, _, _ = _run(["benchmark", "fidelity", "--data", str(nuclei), "--sequence", "01", "--frames", "8-11", "--out", str(out),
                       "--generator", "procedural", "--clip-len", "2", "--quiet"], capsys)
    assert code == 0
    report = (out / "fidelity.md").read_text()
    assert "sequence 01, frames t008-t011 (4 frames; frames 8-11 as asked)" in report
    assert "Protocol: same sequence: eval frames of sequence 01, whose train frames t000-t007 (8 frames)" in report


def test_tracking_with_gt_masks_and_the_seg_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_nuclei(tmp_path / "data", seg=True)
    out = tmp_path / "trk"
    code, _, _ = _run(["benchmark", "tracking", "--data", str(data), "--sequence", "02", "--segmenter", "gt", "--tracker", "overlap",
                       "--out", str(out), "--quiet"], capsys)
    assert code == 0
    report = (out / "tracking.md").read_text()
    assert "sequence 02, frames t000-t011 (12 frames; eval split per" in report and "Protocol: unseen sequence" in report
    assert "SEG from 02_GT/SEG (2 of the 12 scored frames)" in report and "MOT measures (mask IoU >= 0.5) scored" in report
    (row,) = _rows(out / "tracking.csv")
    assert row["source"] == "Real" and row["tracker"] == "overlap"
    for measure in ("MOTA", "TRA", "DET", "SEG"):  # the GT masks, linked by overlap: perfect
        assert float(row[measure]) == pytest.approx(1.0)
    # --seg-from-tra and --seg none say so, and SEG follows
    code, _, _ = _run(["benchmark", "tracking", "--data", str(data), "--sequence", "02", "--segmenter", "gt", "--tracker", "overlap",
                       "--out", str(tmp_path / "none"), "--seg", "none", "--quiet"], capsys)
    assert code == 0 and "SEG n/a (as asked: --seg none)" in (tmp_path / "none" / "tracking.md").read_text()
    assert _rows(tmp_path / "none" / "tracking.csv")[0]["SEG"] == "nan"


def test_tracking_threshold_segmenter_fitted_on_train_frames_with_a_synthetic_row(
        nuclei: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trk"
    code, _, _ = _run(["benchmark", "tracking", "--data", str(nuclei), "--sequence", "02", "--generator", "procedural",
                       "--tracker", "overlap", "--segmenter-config", "sigma=1", "--out", str(out), "--no-graph-measures", "--quiet"],
                      capsys)
    assert code == 0
    report = (out / "tracking.md").read_text()
    assert "fitted on the fit frames: threshold, invert, min_size, min_distance" in report and "sigma=1" in report
    assert "SEG from the TRA masks: the data has no SEG masks" in report
    rows = _rows(out / "tracking.csv")
    assert [r["source"] for r in rows] == ["Real", "procedural"]
    assert float(rows[0]["DET"]) > 0.9  # bright disks on a dark background, threshold midway: found


def test_out_is_refused_unless_overwrite(nuclei: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trk"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    argv = ["benchmark", "tracking", "--data", str(nuclei), "--sequence", "02", "--segmenter", "gt", "--tracker", "overlap",
            "--out", str(out), "--quiet", "--no-graph-measures"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "is not empty" in err and "--overwrite" in err
    assert (out / "mine.txt").read_text() == "keep" and sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    code, _, err = _run([*argv, "--overwrite"], capsys)  # a file tganaug did not write is never deleted
    assert code == 2 and "mine.txt" in err and (out / "mine.txt").read_text() == "keep"
    (out / "mine.txt").unlink()
    assert _run(argv, capsys)[0] == 0
    assert _run(argv, capsys)[0] == 2  # its own report: refused without --overwrite ...
    code, _, _ = _run([*argv, "--overwrite"], capsys)  # ... and replaced with it
    assert code == 0 and sorted(p.name for p in out.iterdir()) == [".tganaug-output.json", "tracking.csv", "tracking.md"]
    code, _, err = _run([*argv[:-4], "--out", str(tmp_path / "no" / "such" / "out"), "--quiet"], capsys)
    assert code == 2 and "parent folder" in err and str(tmp_path / "no" / "such") in err
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--sequence", "03"], "sequence 03 not found"),
    (["--sequence", "02", "--frames", "5-40"], "frames 5-40 are outside sequence 02"),
    (["--sequence", "02", "--frames", "train"], "sequence 02 of MyNuclei is evaluation-only"),
    (["--sequence", "02", "--frames", "x"], "--frames must be all, train, eval or FIRST-LAST"),
    (["--sequence", "02", "--generator", "nosuch"], "unknown generator(s) nosuch"),
])
def test_bad_inputs_are_named(nuclei: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    for kind in ("fidelity", "tracking"):
        code, _, err = _run(["benchmark", kind, "--data", str(nuclei), "--out", str(tmp_path / kind), "--quiet", *extra], capsys)
        assert code == 2 and message in err, err
        assert not (tmp_path / kind).exists()


@pytest.mark.parametrize(("splits", "message"), [
    ({"01": {"train": [0, 7], "eval": [8, 11]}, "02": {"train": None, "eval": [0, 30]}},
     "gives sequence 02 the eval frames 0..30, but it has frames 0..11"),
    ({"01": {"train": [0, 7], "eval": [8, 11]}, "03": {"train": None, "eval": "all"}}, "declares sequence 03, which"),
])
def test_a_splits_file_that_contradicts_the_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], splits: dict,
                                                            message: str) -> None:
    data = make_nuclei(tmp_path / "data", splits=splits)
    code, _, err = _run(["benchmark", "tracking", "--data", str(data), "--sequence", "02", "--segmenter", "gt", "--out",
                         str(tmp_path / "trk"), "--quiet"], capsys)
    assert code == 2 and message in err and "splits.json" in err, err


def test_frames_overlapping_the_fit_frames_are_reported_as_not_held_out(nuclei: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trk"
    code, _, _ = _run(["benchmark", "tracking", "--data", str(nuclei), "--sequence", "01", "--frames", "all", "--tracker", "overlap",
                       "--out", str(out), "--quiet", "--no-graph-measures"], capsys)
    assert code == 0
    assert "Protocol: not held out: the scored frames include the train frames t000-t007" in (out / "tracking.md").read_text()


def test_no_train_split_anywhere_is_a_clear_error_for_fitted_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_nuclei(tmp_path / "data", splits={"01": {"train": None, "eval": "all"}, "02": {"train": None, "eval": "all"}})
    code, _, err = _run(["benchmark", "tracking", "--data", str(data), "--sequence", "02", "--out", str(tmp_path / "t"), "--quiet"],
                        capsys)
    assert code == 2 and "threshold segmenter's threshold" in err and "splits.json" in err and "--fit-data" in err
    assert json.loads((data / "splits.json").read_text())["02"]["eval"] == "all"  # the data is untouched


def test_a_downstream_module_registers_its_sub_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tganaug.benchmarking.downstream.add_downstream_parser`` is called with the benchmark sub-parsers when it exists."""
    import sys
    import types

    from tganaug.cli import build_parser

    module = types.ModuleType("tganaug.benchmarking.downstream")
    module.add_downstream_parser = lambda kinds: kinds.add_parser("downstream").set_defaults(func=lambda args: 7)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tganaug.benchmarking.downstream", module)
    args = build_parser().parse_args(["benchmark", "downstream"])
    assert args.func(args) == 7


def test_tracking_renders_whole_cells_of_a_marker_recording_in_a_reference_look(tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """On marker TRA masks the generator is given the joined outlines (a marker is a 3 px disk, far smaller than the
    cells a segmenter finds), and ``--reference-frames 1`` renders in the look of the first scored raw frame."""
    from _marker_recording import make_recording

    data = make_recording(tmp_path / "rec")
    out = tmp_path / "trk"
    code, _, _ = _run(["benchmark", "tracking", "--data", str(data), "--out", str(out), "--generator", "procedural",
                       "--tracker", "overlap", "--reference-frames", "1", "--no-graph-measures", "--quiet"], capsys)
    assert code == 0
    report = (out / "tracking.md").read_text()
    assert "render the scored frames' full outlines (marker TRA masks joined to 01_ST/SEG) in the look of 1 unannotated raw " \
           "frame of the scored sequence (t006)" in report
    rows = {r["source"]: r for r in _rows(out / "tracking.csv")}
    assert set(rows) == {"Real", "procedural"}
    # The threshold segmenter finds the same whole cells on the real and on the synthetic frames.
    assert float(rows["Real"]["DET"]) > 0.9 and float(rows["procedural"]["DET"]) > 0.9, rows
    # MOT measures are scored against the joined outlines: whole cells match them (IoU >= 0.5), the 3 px markers never.
    assert "MOT measures (mask IoU >= 0.5) scored against the full outlines with the markers' track ids (marker TRA masks " \
           "joined to 01_ST/SEG): the TRA masks are markers" in report
    assert float(rows["Real"]["MOTA"]) > 0.9 and float(rows["procedural"]["MOTA"]) > 0.9, rows
    code, _, _ = _run(["benchmark", "tracking", "--data", str(data), "--out", str(tmp_path / "markers"), "--tracker", "overlap",
                       "--mot", "no", "--no-graph-measures", "--quiet"], capsys)
    assert code == 0 and _rows(tmp_path / "markers" / "tracking.csv")[0]["MOTA"] == "nan"
    code, _, err = _run(["benchmark", "tracking", "--data", str(data), "--out", str(tmp_path / "bad"), "--reference-frames", "1",
                         "--quiet"], capsys)
    assert code == 2 and "--reference-frames 1: give a count >= 0, and a --generator" in err
