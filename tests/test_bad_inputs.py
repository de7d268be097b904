"""The bad-input index: every bad input we try, through the CLI or the API, and the error it gets.

Each row of ``API_CASES`` / ``CLI_CASES`` is one bad input: an id, what is wrong, how it is fed,
and the exception type / message it must produce. This module is the table;
``pytest tests/test_bad_inputs.py -v`` prints it row by row.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import tifffile
from _checkpoints import write_pickle_payload

import tganaug
from tganaug.cli import main
from tganaug.io import CTCFormatError, read_ctc, write_ctc
from tganaug.lineage import LineageError, read_man_track, validate_tracks


def _video(tmp: Path) -> Path:
    labels = np.zeros((3, 20, 20), dtype=np.uint16)
    labels[:, 3:8, 3:8] = 1
    images = np.full((3, 20, 20), 100, dtype=np.uint16)
    return write_ctc(tmp / "ctc", labels, np.array([[1, 0, 2, 0]]), images)


def _corrupt_label(tmp: Path) -> Path:
    root = _video(tmp)
    (root / "01_GT" / "TRA" / "man_track001.tif").write_bytes(b"II*\x00not a tiff")
    return root


def _truncated_image(tmp: Path) -> Path:
    root = _video(tmp)
    file = root / "01" / "t001.tif"
    file.write_bytes(file.read_bytes()[:40])
    return root


def _missing_lineage(tmp: Path) -> Path:
    root = _video(tmp)
    (root / "01_GT" / "TRA" / "man_track.txt").unlink()
    return root


def _bad_lineage_text(tmp: Path) -> Path:
    root = _video(tmp)
    (root / "01_GT" / "TRA" / "man_track.txt").write_text("1 0 two 0\n")
    return root


def _huge_ids(tmp: Path) -> Path:
    root = _video(tmp)
    tifffile.imwrite(root / "01_GT" / "TRA" / "man_track001.tif", np.full((20, 20), 70000, np.int32))
    return root


def _not_a_checkpoint(tmp: Path) -> Path:
    (tmp / "run").mkdir()
    (tmp / "run" / "checkpoint.pt").write_bytes(b"this is not a torch file")
    return tmp / "run"



def _tgan_from(path: Path):
    from tganaug.models.tgan import TGAN

    return TGAN.from_pretrained(path)


def _segmenter_from(path: Path):
    from tganaug.segmentation import UNetSegmenter

    return UNetSegmenter(path)


def _masks(values: np.ndarray):
    from tganaug.models.tgan import check_masks

    return check_masks(values)


LABELS = np.zeros((3, 20, 20), dtype=np.uint16)
LABELS[:, 2:6, 2:6] = 1
LINEAGE = np.array([[1, 0, 2, 0]])

# id, what is wrong, callable(tmp_path), exception, message fragment
API_CASES = [
    ("float-labels", "labels of a float dtype with fractions", lambda tmp: write_ctc(tmp / "o", LABELS.astype(np.float32) / 2, LINEAGE), TypeError, "not whole ids in 0..65535"),
    ("2d-labels", "labels without a time axis", lambda tmp: write_ctc(tmp / "o", LABELS[0], LINEAGE), ValueError, "(T, H, W)"),
    ("empty-video", "a video with T = 0", lambda tmp: write_ctc(tmp / "o", LABELS[:0], LINEAGE), ValueError, "empty video"),
    ("nan-images", "NaN pixels in images", lambda tmp: write_ctc(tmp / "o", LABELS, LINEAGE, np.full(LABELS.shape, np.nan)), ValueError, "NaN or Inf"),
    ("inf-images", "Inf pixels in images", lambda tmp: write_ctc(tmp / "o", LABELS, LINEAGE, np.full(LABELS.shape, np.inf)), ValueError, "NaN or Inf"),
    ("ids-too-large", "label ids beyond uint16", lambda tmp: write_ctc(tmp / "o", LABELS.astype(np.int64) * 70000, LINEAGE), ValueError, "0..65535"),
    ("lineage-gap", "a track missing from a frame of its span", lambda tmp: validate_tracks(LABELS * (np.arange(3)[:, None, None] != 1), LINEAGE), LineageError, "track 1: missing from frame 1"),
    ("lineage-shape", "a lineage table with 3 columns", lambda tmp: validate_tracks(LABELS, np.zeros((1, 3), dtype=int)), LineageError, "shape (N, 4)"),
    ("write-inconsistent", "writing labels whose lineage disagrees", lambda tmp: write_ctc(tmp / "o", LABELS, np.array([[1, 1, 2, 0]])), LineageError, "present in frame 0 outside its lineage span"),
    ("corrupt-tiff", "a label TIFF that is not a TIFF", lambda tmp: read_ctc(_corrupt_label(tmp)), CTCFormatError, "man_track001.tif"),
    ("truncated-tiff", "a truncated raw frame", lambda tmp: read_ctc(_truncated_image(tmp)), CTCFormatError, "t001.tif"),
    ("missing-lineage", "no man_track.txt", lambda tmp: read_ctc(_missing_lineage(tmp)), FileNotFoundError, "lineage file not found"),
    ("bad-lineage-text", "man_track.txt with a non-integer", lambda tmp: read_man_track(_bad_lineage_text(tmp) / "01_GT" / "TRA" / "man_track.txt"), LineageError, "expected 4 integers"),
    ("missing-folder", "a CTC folder that does not exist", lambda tmp: read_ctc(tmp / "nowhere"), CTCFormatError, "not a folder"),
    ("unknown-simulator", "an unknown simulator name", lambda tmp: tganaug.get_simulator("no-such-sim"), tganaug.UnknownPluginError, "available simulators"),
    ("unknown-generator", "an unknown generator name", lambda tmp: tganaug.get_generator("no-such-gen"), tganaug.UnknownPluginError, "available generators"),
    ("negative-size", "a negative image height", lambda tmp: tganaug.get_simulator("division").simulate(5, -8, 32), ValueError, "height and width must be >= 16"),
    ("zero-frames", "frames = 0", lambda tmp: tganaug.get_simulator("colony").simulate(0, 32, 32), ValueError, "frames must be >= 1"),
    ("unknown-parameter", "a simulator parameter that does not exist", lambda tmp: tganaug.get_simulator("colony", speeed=1), ValueError, "unknown ColonyConfig parameter"),
    ("bad-parameter", "a NaN simulator parameter", lambda tmp: tganaug.get_simulator("division", radius_mean=float("nan")), ValueError, "DivisionConfig.radius_mean must be a finite number"),
    ("string-parameter", "a simulator parameter given as a string", lambda tmp: tganaug.get_simulator("division", cycle_mean="20"), ValueError, "DivisionConfig.cycle_mean must be a finite number, got '20'"),
    ("frame-too-small-for-tgan", "frames smaller than the tGAN model's deepest level", lambda tmp: tganaug.get_generator("tgan", model="fluo-nuclei-x4").generate(LABELS[:, :16, :16]), ValueError, "too small for this model"),
    ("float-seed-tgan", "a fractional tGAN seed (was truncated silently)", lambda tmp: tganaug.get_generator("tgan", model="fluo-nuclei-x4").generate(LABELS, seed=1.5), ValueError, "seed must be an integer in 0 .. 2**64 - 1"),
    ("huge-seed-tgan", "a tGAN seed beyond 64 bits", lambda tmp: tganaug.get_generator("tgan", model="fluo-nuclei-x4").generate(LABELS, seed=2**70), ValueError, "seed must be an integer in 0 .. 2**64 - 1"),
    ("unknown-device", "a torch device that does not exist", lambda tmp: tganaug.get_generator("tgan", model="fluo-nuclei-x4", device="gpu0"), ValueError, "unknown torch device 'gpu0'"),
    ("ids-too-large-read", "a label TIFF with ids beyond uint16 (was wrapped silently)", lambda tmp: read_ctc(_huge_ids(tmp)), CTCFormatError, "outside 0..65535"),
    ("bad-split", "an unknown split name", lambda tmp: read_ctc(_video(tmp), frames="validation"), ValueError, "unknown split 'validation'"),
    ("non-binary-masks", "float masks that are not 0/1 where binary masks are needed", lambda tmp: _masks(np.full((2, 8, 8), 0.5, np.float32)), ValueError, "0 and 1"),
    ("nan-masks", "NaN in a mask video", lambda tmp: _masks(np.full((2, 8, 8), np.nan, np.float32)), ValueError, "NaN"),
    ("not-a-checkpoint", "a tGAN checkpoint file that is not a checkpoint", lambda tmp: _tgan_from(_not_a_checkpoint(tmp)), ValueError, "corrupt, truncated or not a torch file"),
    ("pickle-checkpoint", "a checkpoint carrying a pickle payload (refused by weights_only=True)", lambda tmp: _segmenter_from(write_pickle_payload(tmp)), ValueError, "cannot load segmenter checkpoint"),
    ("pickle-tgan-checkpoint", "a tGAN checkpoint carrying a pickle payload", lambda tmp: _tgan_from(write_pickle_payload(tmp)), ValueError, "corrupt, truncated or not a torch file"),
    ("unknown-tgan-model", "a tGAN model name that is not shipped", lambda tmp: tganaug.get_generator("tgan", model="no-such-model"), FileNotFoundError, "neither a shipped name"),
    ("unknown-linker-model", "a linker model name that is not shipped", lambda tmp: tganaug.get_tracker("linker", model="no-such-model"), ValueError, "linker model 'no-such-model' is neither a shipped name"),
    ("corrupt-linker", "a linker checkpoint that is not a torch file", lambda tmp: tganaug.get_tracker("linker", model=str(_not_a_checkpoint(tmp) / "checkpoint.pt")), ValueError, "cannot load linker checkpoint"),
]


@pytest.mark.parametrize(("case_id", "what", "call", "error", "message"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(tmp_path, case_id, what, call, error, message):
    with pytest.raises(error) as raised:
        call(tmp_path)
    assert message in str(raised.value), f"{case_id} ({what}): unexpected message {raised.value}"


def _file_as_out(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["simulate", "--frames", "2", "--height", "32", "--width", "32", "--out", str(tmp / "afile")]


def _background_wrong_size(tmp: Path) -> list[str]:
    tifffile.imwrite(tmp / "bg.tif", np.zeros((10, 10), dtype=np.uint8))
    return ["generate", "--generator", "procedural", "--frames", "2", "--height", "32", "--width", "32",
            "--background", str(tmp / "bg.tif"), "--out", str(tmp / "o"), "--quiet"]


def _nan_background(tmp: Path) -> list[str]:
    tifffile.imwrite(tmp / "bg.tif", np.full((32, 32), np.nan, dtype=np.float32))
    return ["generate", "--generator", "procedural", "--frames", "2", "--height", "32", "--width", "32",
            "--background", str(tmp / "bg.tif"), "--out", str(tmp / "o"), "--quiet"]


def _masks_without_annotation(tmp: Path) -> list[str]:
    (tmp / "masks" / "01").mkdir(parents=True)
    return ["generate", "--generator", "procedural", "--masks", str(tmp / "masks"), "--out", str(tmp / "o"), "--quiet"]


def _non_empty_out(tmp: Path) -> list[str]:
    (tmp / "o").mkdir()
    (tmp / "o" / "keep.txt").write_text("mine")
    return ["simulate", "--frames", "2", "--height", "32", "--width", "32", "--out", str(tmp / "o")]


def _read_only_out(tmp: Path) -> list[str]:
    target = tmp / "locked"
    target.mkdir()
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (immutable folder) is not available here")
    return ["simulate", "--frames", "2", "--height", "32", "--width", "32", "--out", str(target / "sim")]


# id, what is wrong, argv(tmp_path), message fragment on stderr (exit status 2)
CLI_CASES = [
    ("cli-unknown-simulator", "--simulator that is not registered", lambda tmp: ["simulate", "--simulator", "zzz", "--out", str(tmp / "o")], "unknown simulator 'zzz'"),
    ("cli-unknown-generator", "--generator that is not registered", lambda tmp: ["generate", "--generator", "zzz", "--out", str(tmp / "o"), "--quiet"], "unknown generator 'zzz'"),
    ("cli-negative-size", "--height -5", lambda tmp: ["simulate", "--height", "-5", "--out", str(tmp / "o")], "height and width must be >= 16"),
    ("cli-zero-frames", "--frames 0", lambda tmp: ["generate", "--frames", "0", "--out", str(tmp / "o"), "--quiet"], "frames must be a positive integer"),
    ("cli-bad-param", "--param without =", lambda tmp: ["simulate", "--param", "speed", "--out", str(tmp / "o")], "--param expects KEY=VALUE"),
    ("cli-bad-config", "--config file that is not JSON", lambda tmp: (tmp / "c.json").write_text("{oops") and ["simulate", "--config", str(tmp / "c.json"), "--out", str(tmp / "o")], "is not valid JSON"),
    ("cli-out-is-file", "--out names an existing file", _file_as_out, "is not a directory"),
    ("cli-non-empty-out", "--out holds other files, no --overwrite", _non_empty_out, "not empty"),
    ("cli-read-only-out", "--out inside a folder that cannot be written", _read_only_out, "Operation not permitted"),
    ("cli-background-size", "--background of the wrong size", _background_wrong_size, "is 10x10, the videos are 32x32"),
    ("cli-background-nan", "--background with NaN pixels", _nan_background, "must be finite and in [0, 1]"),
    ("cli-masks-no-annotation", "--masks folder without any NN_GT/TRA", _masks_without_annotation, "no sequence with annotation NN_GT/TRA or NN_ST/TRA (sequences present: 01 (raw))"),
    ("cli-unknown-linker-model", "--tracker linker with a model that does not exist", lambda tmp: ["track", str(_video(tmp)), "--tracker", "linker", "--out", str(tmp / "o"), "--tracker-config", "model=nope"], "linker model 'nope' is neither a shipped name"),
    ("cli-validate-missing", "validate a folder that does not exist", lambda tmp: ["validate", str(tmp / "nowhere")], "not a folder"),
]


@pytest.mark.parametrize(("case_id", "what", "argv", "message"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(tmp_path, capsys, case_id, what, argv, message):
    args = argv(tmp_path)
    try:
        status = main(args)
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / "locked")], capture_output=True)
    assert status == 2, f"{case_id} ({what}) exited {status}"
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, f"{case_id} ({what}): {err}"
    if case_id == "cli-non-empty-out":
        assert (tmp_path / "o" / "keep.txt").read_text() == "mine"
