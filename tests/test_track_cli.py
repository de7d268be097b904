"""``tganaug track`` and ``tganaug score`` end to end on small CTC folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _tracking_cases import SHARED_DATA, disc_video, image_video, tracked_gt

from tganaug import cli, write_ctc
from tganaug.tracking.results import read_result


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    """``tganaug.cli.main`` with only the tracking commands (other commands are other modules' business)."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("tganaug.commands.track", "tganaug.commands.score"))
    return cli.main


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A CTC dataset: 8 frames of three discs (one divides at frame 4), raw images + GT."""
    labels = disc_video(divide_at=4, shuffle=False)
    # GT ids: mother 1 (frames 0-3), daughters 4 and 5 (4-7), discs 2 and 3 throughout
    gt = labels.copy()
    gt[4:][labels[4:] == 1] = 4
    gt[4:][labels[4:] == 2] = 5
    gt[4:][labels[4:] == 3] = 2
    gt[4:][labels[4:] == 4] = 3
    lineage = np.array([[1, 0, 3, 0], [2, 0, 7, 0], [3, 0, 7, 0], [4, 4, 7, 1], [5, 4, 7, 1]])
    return write_ctc(tmp_path / "data", gt, lineage, images=image_video(gt))


def _scores(output: str) -> dict[str, str]:
    header, _, values = output.strip().splitlines()[-3:]
    names = [c.strip() for c in header.strip("|").split("|")]
    return dict(zip(names, [c.strip() for c in values.strip("|").split("|")]))


@pytest.mark.parametrize("tracker", ["overlap", "laptrack", "linker"])
def test_track_gt_masks_then_score_perfect(run_cli, dataset: Path, tmp_path: Path, capsys, tracker: str) -> None:
    out = tmp_path / "out"
    assert run_cli(["track", "--tracker", tracker, str(dataset), "--out", str(out)]) == 0
    assert "5 tracks, 1 division(s)" in capsys.readouterr().out
    names = sorted(p.name for p in (out / "01_RES").iterdir())
    assert names == [".tganaug-output.json", *(f"mask{t:03d}.tif" for t in range(8)), "res_track.txt"]
    assert run_cli(["score", str(out), str(dataset)]) == 0
    scores = _scores(capsys.readouterr().out)
    assert scores["MOTA"] == "1.000" and scores["TRA"] == "1.000" and scores["DET"] == "1.000"
    assert scores["IDSW"] == "0" and scores["GT_tracks"] == "5"
    assert scores["LNK"] == scores["CHOTA"] == scores["DIV_F1"] == "1.000" and scores["GT_divisions"] == "1"
    result = read_result(out)
    assert sorted(result.lineage[:, 3].tolist()).count(0) == 3  # two daughters with a parent


def test_segment_then_track_and_frame_subset(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "seg"
    code = run_cli(
        ["track", "--tracker", "overlap", "--segmenter", "threshold", "--frames", "1-3",
         "--segmenter-config", "min_size=20", str(dataset), "--out", str(out)]  # the option must not swallow IN_DIR
    )
    assert code == 0
    assert sorted(p.name for p in (out / "01_RES").glob("mask*.tif")) == ["mask001.tif", "mask002.tif", "mask003.tif"]
    assert (out / "01_RES" / "res_track.txt").read_text().splitlines()[0].split()[1:3] == ["1", "3"]
    capsys.readouterr()
    assert run_cli(["score", str(out / "01_RES"), str(dataset)]) == 0
    scores = _scores(capsys.readouterr().out)
    assert float(scores["DET"]) == 1.0 and float(scores["MOTA"]) > 0.9


def test_errors_exit_2_with_a_clear_message(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert run_cli(["track", "--tracker", "nope", str(dataset), "--out", str(out)]) == 2
    assert "unknown tracker 'nope'" in capsys.readouterr().err
    assert run_cli(["track", "--tracker", "overlap", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert run_cli(["track", "--tracker", "overlap", "--frames", "5-2", str(dataset), "--out", str(out)]) == 2
    assert "--frames" in capsys.readouterr().err
    assert run_cli(["track", "--tracker", "overlap", str(dataset), "--out", str(out)]) == 0
    assert run_cli(["track", "--tracker", "overlap", str(dataset), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run_cli(["track", "--tracker", "overlap", str(dataset), "--out", str(out), "--overwrite"]) == 0
    capsys.readouterr()
    # score: missing GT folder, GT folder without 01_GT, missing result
    assert run_cli(["score", str(out), str(tmp_path / "nogt")]) == 2
    assert "ground-truth folder not found" in capsys.readouterr().err
    assert run_cli(["score", str(out), str(out)]) == 2
    assert "no ground truth 01_GT/TRA" in capsys.readouterr().err
    assert run_cli(["score", str(tmp_path / "nothing"), str(dataset)]) == 2
    assert "no tracking result" in capsys.readouterr().err


def test_score_takes_the_sequence_from_an_nn_res_folder(run_cli, dataset: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Scoring ``02_RES`` against sequence 01's GT would compare two different videos: the folder's name decides,
    and a contradicting --sequence is refused."""
    import shutil

    from tganaug import read_ctc

    first = read_ctc(dataset)
    mirrored = write_ctc(tmp_path / "second", first.labels[:, :, ::-1].copy(), first.lineage,
                         images=first.images[:, :, ::-1].copy(), sequence="02")
    for name in ("02", "02_GT"):
        shutil.move(str(mirrored / name), str(dataset / name))
    out = tmp_path / "out"
    assert run_cli(["track", "--tracker", "overlap", "--sequence", "02", str(dataset), "--out", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["score", str(out / "02_RES"), str(dataset)]) == 0
    assert _scores(capsys.readouterr().out)["MOTA"] == "1.000"
    assert run_cli(["score", str(out), str(dataset), "--sequence", "02"]) == 0
    assert _scores(capsys.readouterr().out)["MOTA"] == "1.000"
    monkeypatch.chdir(out / "02_RES")  # "." names no folder: its resolved name does
    assert run_cli(["score", ".", str(dataset)]) == 0
    assert _scores(capsys.readouterr().out)["MOTA"] == "1.000"
    assert run_cli(["score", str(out / "02_RES"), str(dataset), "--sequence", "01"]) == 2
    assert "is the result of sequence 02, not of sequence 01: pass --sequence 02" in capsys.readouterr().err


def test_score_rejects_a_result_with_shape_or_gap_problems(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    gt, lineage = tracked_gt(frames=8)
    res = tmp_path / "res" / "01_RES"
    res.mkdir(parents=True)
    import tifffile

    for t in range(8):
        tifffile.imwrite(res / f"mask{t:03d}.tif", gt[t, :50])
    (res / "res_track.txt").write_text("1 0 7 0\n2 0 7 0\n3 0 7 0\n")
    assert run_cli(["score", str(res), str(dataset)]) == 2
    assert "differ in shape" in capsys.readouterr().err
    gappy = gt.copy()
    gappy[3][gappy[3] == 2] = 0  # track 2 missing in frame 3 but its line says 0..7
    for t in range(8):
        tifffile.imwrite(res / f"mask{t:03d}.tif", gappy[t])
    assert run_cli(["score", str(res), str(dataset)]) == 2
    assert "track 2: missing from frame 3" in capsys.readouterr().err


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
def test_real_sim_frames_laptrack_on_gt_masks(run_cli, tmp_path: Path, capsys) -> None:
    data = SHARED_DATA / "Fluo-N2DH-SIM+"
    out = tmp_path / "sim"
    assert run_cli(["track", "--tracker", "laptrack", "--frames", "45-52", "--sequence", "01", str(data), "--out", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["score", str(out), str(data), "--json"]) == 0
    import json

    scores = json.loads(capsys.readouterr().out)
    assert scores["DET"] == 1.0 and scores["SEG"] == 1.0  # GT masks in, so detection is exact
    assert scores["TRA"] > 0.98 and scores["MOTA"] > 0.98


def test_score_json_is_strict_json(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    """Without segmentation GT, SEG is NaN: printed as null, since NaN is not JSON and strict parsers refuse it."""
    import json

    out = tmp_path / "out"
    assert run_cli(["track", "--tracker", "overlap", str(dataset), "--out", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["score", str(out), str(dataset), "--json"]) == 0

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    scores = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert scores["SEG"] is None and scores["DET"] == 1.0 and scores["MOTA"] == 1.0


class _ShortSegmenter:
    def segment(self, images):
        return (images[:-1] > images.mean()).astype(np.uint16)  # one frame short


class _FloatSegmenter:
    def segment(self, images):
        return images.astype(np.float32)


class _LabelsOnlyTracker:
    def track(self, labels):
        return labels


class _CroppedTracker:
    def track(self, labels):
        return labels[:, :20, :20], np.zeros((0, 4), np.int64)


class _WrongLineageTracker:
    def track(self, labels):
        return labels, np.array([[1, 0, 1, 0]])  # ids 2.. have no line, id 1 lives longer


@pytest.mark.parametrize(("segmenter", "tracker", "message"), [
    (_ShortSegmenter, None, "segmenter 'bad' returned labels of shape (7, 96, 96) for input of shape (8, 96, 96)"),
    (_FloatSegmenter, None, "segmenter 'bad' returned labels of dtype float32, expected integer instance ids"),
    (None, _LabelsOnlyTracker, "tracker 'bad': track() must return (labels, lineage), got ndarray"),
    (None, _CroppedTracker, "tracker 'bad' returned tracked labels of shape (8, 20, 20) for input of shape (8, 96, 96)"),
    (None, _WrongLineageTracker, "tracker 'bad': tracked labels and lineage disagree: "),
])
def test_track_names_a_plugin_whose_output_is_wrong_and_writes_nothing(run_cli, dataset: Path, tmp_path: Path, capsys,
                                                                      monkeypatch, segmenter, tracker, message) -> None:
    import tganaug.registry as registry

    real_segmenter, real_tracker = registry.get_segmenter, registry.get_tracker
    monkeypatch.setattr(registry, "get_segmenter", lambda name, **c: segmenter() if name == "bad" else real_segmenter(name, **c))
    monkeypatch.setattr(registry, "get_tracker", lambda name, **c: tracker() if name == "bad" else real_tracker(name, **c))
    out = tmp_path / "out"
    argv = ["track", "--tracker", "bad" if tracker else "overlap", *(["--segmenter", "bad"] if segmenter else []),
            str(dataset), "--out", str(out)]
    assert run_cli(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_segmenter_config_without_a_segmenter_is_refused(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    assert run_cli(["track", "--tracker", "overlap", "--segmenter-config", "model=phase-contrast", str(dataset),
                    "--out", str(tmp_path / "out")]) == 2
    assert "--segmenter-config needs a --segmenter plugin" in capsys.readouterr().err


def test_track_defaults_to_every_sequence_present_and_names_what_is_there(run_cli, dataset: Path, tmp_path: Path, capsys) -> None:
    """A folder holding only sequence 02 is tracked as 02 (not refused for lacking 01); a missing one is named with
    what the folder holds; the result folder's one NN_RES decides the sequence scored."""
    import json
    import shutil

    only = tmp_path / "only02"
    for name in ("01", "01_GT"):
        shutil.copytree(dataset / name, only / name.replace("01", "02"))
    out = tmp_path / "out"
    assert run_cli(["track", "--tracker", "overlap", str(only), "--out", str(out)]) == 0
    assert "of sequence 02 of" in capsys.readouterr().out and sorted(p.name for p in out.iterdir()) == ["02_RES"]
    assert run_cli(["score", str(out), str(only)]) == 0  # its one 02_RES: sequence 02
    assert _scores(capsys.readouterr().out)["MOTA"] == "1.000"
    assert run_cli(["track", "--tracker", "overlap", "--sequence", "01", str(only), "--out", str(tmp_path / "x")]) == 2
    assert "sequence 01 not found with annotation NN_GT/TRA or NN_ST/TRA (sequences present: 02 (raw, GT))" in capsys.readouterr().err
    # per-sequence splits: --frames eval tracks each sequence's eval frames; 02 is all eval, 01 has t006-t007
    for name in ("01", "01_GT"):
        shutil.copytree(dataset / name, only / name)
    (only / "splits.json").write_text(json.dumps({"01": {"train": [0, 5], "eval": [6, 7]}, "02": {"train": None, "eval": "all"}}))
    both = tmp_path / "both"
    assert run_cli(["track", "--tracker", "overlap", "--frames", "eval", str(only), "--out", str(both)]) == 0
    assert read_result(both, "01").frames.tolist() == [6, 7] and read_result(both, "02").frames.tolist() == list(range(8))
    capsys.readouterr()
    assert run_cli(["score", str(both), str(only)]) == 2
    assert "holds the results of several sequences (01_RES, 02_RES): pass --sequence NN" in capsys.readouterr().err
    train = tmp_path / "train"
    assert run_cli(["track", "--tracker", "overlap", "--frames", "train", str(only), "--out", str(train)]) == 0
    assert "sequence 02 of" in capsys.readouterr().out and sorted(p.name for p in train.iterdir()) == ["01_RES"]
    assert run_cli(["track", "--tracker", "overlap", "--frames", "train", "--sequence", "02", str(only), "--out", str(train), "--overwrite"]) == 2
    assert "sequence 02 of only02 is evaluation-only" in capsys.readouterr().err
