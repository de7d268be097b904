import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tganaug.cli import main
from tganaug.io import read_ctc
from tganaug.lineage import track_problems


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_simulate_writes_valid_ctc_with_config_and_montage(tmp_path, capsys):
    out = tmp_path / "sim"
    status = main(["simulate", "--simulator", "division", "--frames", "12", "--height", "64", "--width", "80",
                   "--seed", "7", "--out", str(out), "--param", "cycle_mean=5"])
    assert status == 0
    assert "lineage validated" in capsys.readouterr().out
    sequence = read_ctc(out, read_images=False)
    assert sequence.labels.shape == (12, 64, 80)
    assert track_problems(sequence.labels, sequence.lineage) == []
    assert (sequence.lineage[:, 3] > 0).any(), "cycle_mean=5 over 12 frames must produce divisions"
    config = json.loads((out / "config.json").read_text())
    assert config["simulator"] == "division" and config["seed"] == 7
    assert config["simulator_config"]["cycle_mean"] == 5
    assert config["tracks"] == len(sequence.lineage)
    with Image.open(out / "montage.png") as montage:
        assert montage.mode == "RGB" and montage.height > 64  # the panels and a band of frame numbers above them
        assert np.asarray(montage).max() > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


def test_simulate_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        assert main(["simulate", "--simulator", "colony", "--frames", "6", "--height", "48", "--width", "48",
                     "--seed", "1", "--out", str(tmp_path / name)]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_simulate_refuses_existing_output_without_overwrite(tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "32", "--width", "32", "--out", str(out)]
    assert main(args) == 0
    before = _files(out)
    assert main(args + ["--seed", "9"]) == 2
    assert "pass overwrite=True (--overwrite) to replace it, which deletes everything in it" in capsys.readouterr().err
    assert _files(out) == before
    assert main(args + ["--seed", "9", "--overwrite"]) == 0
    assert _files(out) != before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--simulator", "nope"], "unknown simulator 'nope'; available simulators:"),
        (["--param", "radius"], "--param expects KEY=VALUE"),
        (["--param", "speed=-1"], "DivisionConfig.speed must be in [0, inf), got -1"),
        (["--frames", "0"], "frames must be >= 1"),
        (["--config", "missing.json"], "config file not found"),
    ],
)
def test_simulate_bad_input(tmp_path, capsys, extra, message):
    assert main(["simulate", "--out", str(tmp_path / "x"), "--height", "32", "--width", "32", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_validate_reports_problems(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--frames", "5", "--height", "40", "--width", "40", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    assert "sequence 01: OK" in capsys.readouterr().out
    track_file = out / "01_GT" / "TRA" / "man_track.txt"
    first = track_file.read_text().splitlines()[0].split()
    track_file.write_text("\n".join(track_file.read_text().splitlines()[1:]) + "\n")
    assert main(["validate", str(out)]) == 1
    assert f"label {first[0]} in frame {first[1]} is not in the lineage" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "nowhere")]) == 2


def test_console_script_and_plugins_listing():
    result = subprocess.run(["tganaug", "plugins"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "division" in result.stdout and "[tganaug.simulators: division = tganaug_plugins.simulators.division]" in result.stdout
    version = subprocess.run([sys.executable, "-m", "tganaug.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("tganaug ")
