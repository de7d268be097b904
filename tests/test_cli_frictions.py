"""What a new user meets first: the default generator, progress of track/score, titled montages, the record of a
``--masks`` run, a raw camera frame given as ``--background``, and float masks."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from _tracking_cases import disc_video, image_video
from PIL import Image

import tganaug
from tganaug import write_ctc
from tganaug.cli import build_parser, main
from tganaug.commands import generate as generate_command
from tganaug.generation import CAMERA_FRAME_P99, BackgroundUnitsWarning, GenerationConfig, load_background
from tganaug.io import CTCFormatError, FloatLabelsWarning, read_ctc
from tganaug.visualize import montage

SMALL = ["--frames", "3", "--height", "32", "--width", "32", "--quiet"]
SIM = Path(__file__).resolve().parents[2] / "shared" / "data" / "Fluo-N2DH-SIM+"
if not SIM.is_dir():
    SIM = Path("/work/shared/data/Fluo-N2DH-SIM+")


# --- the default generator ------------------------------------------------------------------------------------

def _captured_config(monkeypatch, argv):
    """The GenerationConfig that ``tganaug generate argv`` would render (nothing rendered)."""
    import tganaug.generation

    seen = []
    monkeypatch.setattr(tganaug.generation, "generate_dataset", lambda config, out, **kwargs: seen.append(config) or [])
    assert main(["generate", *argv]) == 0
    return seen[0]


def test_no_generator_option_means_tgan_with_the_default_model(monkeypatch, tmp_path):
    import inspect

    from tganaug.commands import fit as fit_command
    from tganaug.fitting import RECIPE_MODELS
    from tganaug.models.tgan import SHIPPED_MODELS
    from tganaug_plugins.generators.tgan import TGANGenerator

    config = _captured_config(monkeypatch, [*SMALL, "--out", str(tmp_path / "a")])
    assert config.generator == "tgan" and config.generator_config == {}
    assert inspect.signature(TGANGenerator).parameters["model"].default == generate_command.DEFAULT_MODEL == "fluo-nuclei"
    assert generate_command.SHIPPED_NAMES == tuple(SHIPPED_MODELS)  # the --help list is the real one
    assert fit_command._RECIPES == RECIPE_MODELS and set(RECIPE_MODELS) <= set(SHIPPED_MODELS)
    assert GenerationConfig().generator == "tgan"  # the API's record of a run follows the command
    config = _captured_config(monkeypatch, [*SMALL, "--model", "phase-contrast", "--out", str(tmp_path / "b")])
    assert config.generator == "tgan" and config.generator_config == {"model": "phase-contrast"}
    config = _captured_config(monkeypatch, [*SMALL, "--generator", "procedural", "--out", str(tmp_path / "c")])
    assert config.generator == "procedural" and config.generator_config == {}


def test_model_alone_renders_with_tgan_and_records_it(tmp_path):
    out = tmp_path / "set"
    assert main(["generate", "--model", "fluo-nuclei-x4", "--frames", "2", "--height", "64", "--width", "64", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["generator"] == "tgan"
    record = json.loads((out / "generator.json").read_text())
    assert record["name"] == "tgan" and record["config"]["model"] == "fluo-nuclei-x4"
    assert read_ctc(out).images.shape == (2, 64, 64)


@pytest.mark.parametrize("extra", [["--model", "fluo-nuclei"], ["--precision", "bfloat16"]])
def test_procedural_with_a_model_option_is_refused_clearly(tmp_path, capsys, extra):
    out = tmp_path / "set"
    assert main(["generate", "--generator", "procedural", *extra, *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--generator procedural loads no model: {extra[0]} cannot be used with it" in err
    assert "unknown ProceduralConfig" not in err and not out.exists()


def test_help_states_the_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default tgan, the learned model, with --model fluo-nuclei" in text
    assert "implies --generator tgan" in text and "fluo-nuclei-x4" in text


# --- progress of track and score ------------------------------------------------------------------------------

@pytest.fixture
def raw_dataset(tmp_path: Path) -> Path:
    labels = disc_video(shuffle=False)  # three discs, ids = track ids
    lineage = np.array([[i, 0, len(labels) - 1, 0] for i in np.unique(labels)[1:]])
    return write_ctc(tmp_path / "data", labels, lineage, images=image_video(labels))


def test_track_and_score_show_frame_progress_on_stderr_unless_quiet(raw_dataset, tmp_path, capsys):
    frames = read_ctc(raw_dataset, read_images=False).labels.shape[0]
    out = tmp_path / "res"
    assert main(["track", str(raw_dataset), "--segmenter", "threshold", "--tracker", "overlap", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "segment (threshold): 100%" in captured.err and f"{frames}/{frames}" in captured.err
    assert "track (overlap): 100%" in captured.err
    assert "segment (" not in captured.out  # stdout keeps only the result line
    assert main(["score", str(out / "01_RES"), str(raw_dataset), "--json"]) == 0
    captured = capsys.readouterr()
    assert "CLEAR-MOT: 100%" in captured.err and f"{frames}/{frames}" in captured.err and "CTC measures" in captured.err
    assert json.loads(captured.out)["MOTA"] > 0.9  # stdout is still plain JSON
    assert main(["track", str(raw_dataset), "--segmenter", "threshold", "--tracker", "overlap", "--out", str(out),
                 "--overwrite", "--quiet"]) == 0
    assert main(["score", str(out / "01_RES"), str(raw_dataset), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_segmenters_and_trackers_report_each_frame():
    labels = disc_video()
    images = image_video(labels)
    calls: list[int] = []
    segmented = tganaug.get_segmenter("threshold").segment(images, progress=calls.append)
    assert calls == list(range(len(images)))
    assert np.array_equal(segmented, tganaug.get_segmenter("threshold").segment(images))  # same result with a callback
    calls.clear()
    tracked, _ = tganaug.get_tracker("overlap").track(labels, progress=calls.append)
    assert calls == list(range(len(labels) - 1))
    assert np.array_equal(tracked, tganaug.get_tracker("overlap").track(labels)[0])


# --- titled montages ------------------------------------------------------------------------------------------

def _dark(band: np.ndarray) -> int:
    return int(np.sum(band.max(axis=-1) < 100))


def test_montage_titles_are_drawn_in_white_bands():
    panel = np.full((40, 50), 255, np.uint8)  # white panels: any dark pixel is title text
    plain = montage([[panel, panel], [panel, panel]], gap=4)
    titled = montage([[panel, panel], [panel, panel]], gap=4, row_titles=["real", "synthetic"], column_titles=["t=0", "t=9"],
                     title_size=12)
    top = titled.shape[0] - plain.shape[0]
    left = titled.shape[1] - plain.shape[1]
    assert top > 10 and left > 30  # a band above for the columns, one on the left for the rows
    assert np.array_equal(titled[top:, left:], plain)  # the panels are untouched
    assert _dark(titled[:top, left:left + 50]) > 10 and _dark(titled[:top, left + 54:]) > 10  # a title over each column
    assert _dark(titled[top:top + 40, :left]) > 10 and _dark(titled[top + 44:, :left]) > 10  # a title beside each row
    assert _dark(titled[:top, :left]) == 0
    with pytest.raises(ValueError, match="montage has 2 row\\(s\\), got 1 row title"):
        montage([[panel], [panel]], row_titles=["masks"])
    with pytest.raises(ValueError, match="montage has 2 column\\(s\\), got 3 column title"):
        montage([[panel, panel]], column_titles=["a", "b", "c"])


def test_generated_montage_has_row_and_column_titles(tmp_path):
    out = tmp_path / "set"
    assert main(["generate", "--generator", "procedural", "--frames", "6", "--height", "48", "--width", "48", "--quiet",
                 "--out", str(out)]) == 0
    image = np.asarray(Image.open(out / "01_montage.png").convert("RGB"))
    assert image.shape[0] > 2 * 48 + 4 and image.shape[1] > 6 * 48 + 5 * 4  # title bands above and to the left
    left = image.shape[1] - (6 * 48 + 5 * 4)
    top = image.shape[0] - (2 * 48 + 4)
    band = image[:top]
    assert (band.min(axis=-1) > 200).mean() > 0.7 and _dark(band) > 20  # white band with black frame numbers
    assert _dark(image[top:, :left]) > 20  # "masks" / "synthetic"
    frame = np.asarray(Image.open(out / "01.gif").convert("RGB"))
    assert frame.shape[0] > 48 and _dark(frame[: frame.shape[0] - 48]) > 10


# --- the record of a --masks run ------------------------------------------------------------------------------

def test_masks_run_records_the_masks_and_no_simulator(tmp_path):
    masks = tmp_path / "masks"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "32", "--width", "32", "--quiet",
                 "--out", str(masks)]) == 0
    shutil.copytree(masks / "01_GT", masks / "02_GT")
    out = tmp_path / "set"
    assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["simulator"] is None and config["simulator_config"] == {}
    assert config["masks"] == str(masks.absolute()) and config["mask_sequences"] == ["01", "02"]
    # a set recorded before (simulator "division" beside the masks) is the same configuration: it resumes
    old = {**config, "simulator": "division"}
    del old["mask_sequences"]
    (out / "config.json").write_text(json.dumps(old))
    assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["simulator"] is None
    with pytest.raises(ValueError, match="simulator must name a simulator plugin"):
        GenerationConfig(simulator=None)


# --- a raw camera frame as --background -----------------------------------------------------------------------

def test_raw_camera_counts_as_background_warn_naming_file_range_and_units(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(73, 315, (32, 32)).astype(np.uint16)  # a SIM+ frame's counts: 73..314 of 65535
    tifffile.imwrite(tmp_path / "raw.tif", raw)
    with pytest.warns(BackgroundUnitsWarning) as caught:
        load_background(tmp_path / "raw.tif", 32, 32)
    message = str(caught[0].message)
    assert str(tmp_path / "raw.tif") in message and f"{raw.min()}..{raw.max()}" in message and "uint16" in message
    assert "0..1 = its training frames' 1st..99.8th percentile" in message and "background_from_video" in message
    # the same counts rescaled into the model's units, and a flat level as dark as the darkest shipped reference: no warning
    tifffile.imwrite(tmp_path / "units.tif", (raw.astype(np.float32) / raw.max() * 0.1))
    tifffile.imwrite(tmp_path / "dark.tif", np.full((32, 32), round(0.05 * 65535), np.uint16))
    with warnings.catch_warnings():
        warnings.simplefilter("error", BackgroundUnitsWarning)
        load_background(tmp_path / "units.tif", 32, 32)
        load_background(tmp_path / "dark.tif", 32, 32)
    with pytest.warns(BackgroundUnitsWarning, match="raw.tif looks like a raw camera frame"):  # the command warns too
        assert main(["generate", "--generator", "procedural", *SMALL, "--background", str(tmp_path / "raw.tif"),
                     "--out", str(tmp_path / "set")]) == 0


def test_rule_separates_a_real_raw_frame_from_the_shipped_references():
    import torch

    from tganaug.utils.weights import WEIGHTS_DIR

    for folder in ("tgan-fluo-nuclei", "tgan-phase-contrast"):
        payload = torch.load(WEIGHTS_DIR / folder / "lowres" / "checkpoint.pt", map_location="cpu", weights_only=True)
        for name, reference in payload["reference_backgrounds"].items():
            assert np.percentile(reference.float().numpy(), 99) > 2 * CAMERA_FRAME_P99, name
    frame = SIM / "01" / "t000.tif"
    if not frame.is_file():
        pytest.skip("shared data not present")
    raw = tifffile.imread(frame)
    with pytest.warns(BackgroundUnitsWarning, match="looks like a raw camera frame"):
        load_background(frame, *raw.shape)


# --- float masks ----------------------------------------------------------------------------------------------

def _float_masks(tmp_path: Path, scale: float) -> Path:
    masks = tmp_path / f"masks-{scale}"
    assert main(["simulate", "--simulator", "random-walk", "--frames", "3", "--height", "32", "--width", "32", "--quiet",
                 "--out", str(masks)]) == 0
    for file in sorted((masks / "01_GT" / "TRA").glob("man_track*.tif")):
        tifffile.imwrite(file, tifffile.imread(file).astype(np.float32) * scale)
    return masks


def test_float_masks_holding_whole_ids_are_read_as_uint16_with_a_note(tmp_path):
    masks = _float_masks(tmp_path, 1.0)
    with pytest.warns(FloatLabelsWarning, match="3 label frame\\(s\\) .* are stored as floats holding whole ids: read as uint16"):
        sequence = read_ctc(masks, read_images=False)
    assert sequence.labels.dtype == np.uint16 and sequence.labels.max() > 0
    out = tmp_path / "set"
    with pytest.warns(FloatLabelsWarning):
        assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--quiet", "--out", str(out)]) == 0
    np.testing.assert_array_equal(read_ctc(out).labels, sequence.labels)
    with pytest.warns(FloatLabelsWarning, match="labels are float64 holding whole ids"):
        written = write_ctc(tmp_path / "api", sequence.labels.astype(np.float64), sequence.lineage)
    np.testing.assert_array_equal(read_ctc(written, read_images=False).labels, sequence.labels)


def test_float_masks_with_fractions_are_refused_with_how_to_convert(tmp_path, capsys):
    masks = _float_masks(tmp_path, 0.5)
    with pytest.raises(CTCFormatError, match="man_track000.tif: labels are float32 with .* not whole ids in 0..65535 "
                       "\\(first: 0.5 at index"):
        read_ctc(masks, read_images=False)
    assert main(["generate", "--generator", "procedural", "--masks", str(masks), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "man_track000.tif" in err and "skimage.measure.label(mask > 0.5)" in err
    with pytest.raises(TypeError, match="NaN|not whole ids"):
        write_ctc(tmp_path / "nan", np.full((2, 8, 8), np.nan, np.float32), np.zeros((0, 4), np.int64))
