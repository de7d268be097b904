"""``tganaug fit``: a hand-made marker-annotated CTC folder fitted with a tiny recipe (6 steps per stage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _marker_recording import COUNTS, FRAMES, RADIUS, SHAPE, images_of, outlines_and_markers, make_recording
from scipy import ndimage

from tganaug.cli import main
from tganaug.fitting import FitConfig, estimate_reference_background, fit_frames, fit_recording, plan_steps, recipe_stages
from tganaug.io import read_ctc
from tganaug.lineage import track_problems
from tganaug.models.config import PRESETS
from tganaug.outlines import read_outlined_ctc
from tganaug.simulation.fit import fit_config, fit_config_from_labels, video_statistics
from tganaug.utils.fsutil import OutputExistsError


def tiny_recipe(path: Path, steps: int = 6) -> Path:
    card = {"name": "tiny", "stages": {stage: {"config": PRESETS["tiny"].to_dict(), "steps": steps, "cpu_hours_estimate": 0.001}
                                       for stage in ("lowres", "sr")}}
    path.write_text(json.dumps(card))
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("fit")
    data = make_recording(base / "recording")
    lines: list[str] = []
    config = FitConfig(data=str(data), recipe=str(tiny_recipe(base / "card.json")))
    card = fit_recording(config, base / "model", progress=False, log=lines.append)
    return {"data": data, "model": base / "model", "card": card, "lines": lines}


def test_fit_trains_on_the_outlined_train_frames_and_reports_the_counts(fitted: dict) -> None:
    model = fitted["model"]
    written = read_ctc(model / "training-data", "01")
    expected, report = read_outlined_ctc(fitted["data"], "01", range(0, 6))
    assert written.labels.shape == (6, *SHAPE)
    np.testing.assert_array_equal(written.labels, expected.labels)  # full outlines with track ids, not the markers
    np.testing.assert_array_equal(written.images, expected.images)
    assert track_problems(written.labels, written.lineage) == []
    outlines, _ = outlines_and_markers()
    np.testing.assert_array_equal(written.labels > 0, (outlines[:6] > 0) | (outlines_and_markers()[1][:6] == 4))
    record = json.loads((model / "fit.json").read_text())
    assert record["outlines"]["method"] == "joined" and record["outlines"]["source"] == "01_ST/SEG"
    assert record["outlines"]["counts"] == COUNTS == report.counts.to_dict()
    assert record["frames"] == [0, 5] and record["held_out"] == [6, 8]
    printed = "\n".join(fitted["lines"])
    assert "6 objects without a marker" in printed and "1 marker(s) without an object" in printed
    assert "expected" in printed and "CPU hours" in printed  # stated before training
    runs = {stage: torch.load(model / "runs" / stage / "checkpoint.pt", weights_only=True) for stage in ("lowres", "sr")}
    assert all(run["step"] == 6 and run["data"] == ["training-data"] for run in runs.values())


def test_fitted_simulator_is_the_default_of_generate_and_the_dataset(fitted: dict, tmp_path: Path) -> None:
    from tganaug.data import SyntheticVideoDataset

    model = fitted["model"]
    saved = json.loads((model / "simulator.json").read_text())
    assert saved["simulator"] == "division" and saved["config"]["cycle_mean"] == 0  # no division in the recording
    data_area = saved["statistics"]["area_mean"]
    assert data_area == pytest.approx(np.pi * RADIUS**2, rel=0.15)

    def generated_area(out: Path, *extra: str) -> tuple[float, dict]:
        assert main(["generate", "--model", str(model), "--out", str(out), "--frames", "4", "--height", "96", "--width", "96",
                     "--quiet", *extra]) == 0
        labels = read_ctc(out, "01", read_images=False).labels
        return video_statistics(labels, read_ctc(out, "01", read_images=False).lineage)["area_mean"], json.loads((out / "config.json").read_text())

    area, config = generated_area(tmp_path / "fitted")
    assert config["simulator"] == "division" and config["simulator_config"] == saved["config"]
    assert 0.7 < area / data_area < 1.4  # the default division cells (radius 10, growing from half size) are far smaller
    small, config = generated_area(tmp_path / "explicit", "--param", "radius_mean=5")
    assert config["simulator_config"]["radius_mean"] == 5 and config["simulator_config"]["speed"] == saved["config"]["speed"]
    assert small < 0.3 * data_area  # an explicit parameter wins over the fitted one
    dataset = SyntheticVideoDataset(generator="tgan", generator_config={"model": str(model)}, frames=3, size=96, num_videos=1)
    assert dataset[0]["meta"]["simulator"]["config"] == saved["config"]
    other = SyntheticVideoDataset(generator="tgan", generator_config={"model": str(model)}, frames=3, size=96, num_videos=1,
                                  simulator_config={"radius_mean": 6.0})
    assert other[0]["meta"]["simulator"]["config"]["radius_mean"] == 6.0


def test_reference_background_comes_from_the_outlines(fitted: dict) -> None:
    from tganaug.models.tgan import TGAN

    outlines, _ = outlines_and_markers()
    train = slice(0, 6)
    # pixels under the outlines are not used: the cells' brightness does not reach the background estimated off them
    bright = images_of(outlines)[train]
    ringed = bright.copy()  # the cells' centres darker, their rims as bright (the intensity percentiles stay the same)
    ringed[(outlines[train] > 0) & (ndimage.distance_transform_edt(outlines[train] > 0, sampling=(1e9, 1, 1)) > 4)] = 90
    percentiles = PRESETS["tiny"].norm_percentiles
    from_outlines = estimate_reference_background(bright, outlines[train], percentiles)
    assert from_outlines.max() < 0.25  # flat background (~0.04 in these units), no ghost of the still cell (1.0)
    # equal up to the 99.8th percentile's move by one grey level (the noise on the cells): 1 / 174 of the range
    np.testing.assert_allclose(from_outlines, estimate_reference_background(ringed, outlines[train], percentiles), atol=2e-3)
    lit = np.where(outlines[train] > 0, bright, bright + np.linspace(0, 60, SHAPE[1])[None, None, :]).astype(np.uint8)
    from_lit = estimate_reference_background(lit, outlines[train], percentiles)  # illumination rising to the right, off the cells
    assert from_lit[:, -8:].mean() - from_lit[:, :8].mean() > 0.2  # the pixels off the outlines are the background
    model = TGAN.from_pretrained(fitted["model"])
    assert len(model.reference_backgrounds) == 1
    trained_on = read_ctc(fitted["model"] / "training-data", "01")  # the outlines, and the marker kept where no outline was
    expected = estimate_reference_background(trained_on.images, trained_on.labels, percentiles)
    np.testing.assert_allclose(model.reference_backgrounds[0], expected, atol=2e-4)  # float16 in the checkpoint
    shipped = torch.load(fitted["model"] / "lowres" / "checkpoint.pt", weights_only=True)["reference_backgrounds"]
    assert list(shipped) == ["recording/01"]


def test_card_records_data_outlines_steps_hours_and_held_out_fidelity(fitted: dict) -> None:
    card = json.loads((fitted["model"] / "card.json").read_text())
    assert card == json.loads(json.dumps(fitted["card"]))
    assert card["data"]["sequence"] == "01" and card["data"]["frames"] == [0, 5] and card["held_out"] == [6, 8]
    assert card["outlines"]["counts"] == COUNTS
    assert {stage: info["steps"] for stage, info in card["stages"].items()} == {"lowres": 6, "sr": 6}
    assert all(info["cpu_hours_measured"] > 0 for info in card["stages"].values())
    assert card["recipe"]["scale"] == 1 and card["recipe"]["expected_hours"] == pytest.approx(0.002)
    methods = [row["method"] for row in card["fidelity"]]
    assert methods == ["tGAN (fitted)", "procedural (fitted on the same train frames)"]
    for row in card["fidelity"]:
        assert row["frames"] == [6, 8] and -1 <= row["SSIM"] <= 1 and np.isfinite(row["PSNR"]) and row["LPIPS_like"] >= 0
        assert row["FVD_like"] is not None and row["FVD_like"] >= 0
    assert "--per-frame-baseline" in card["per_frame_baseline_note"]
    markdown = (fitted["model"] / "MODEL_CARD.md").read_text()
    assert "6 objects without a marker" in markdown and "| tGAN (fitted) |" in markdown and "held-out frames 6-8" in markdown


def test_eval_only_sequences_and_eval_frames_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = make_recording(tmp_path / "recording")
    with pytest.raises(ValueError, match="sequence 02 of .* is evaluation-only"):
        fit_frames(data, "02", "all", FRAMES)
    assert main(["fit", str(data), "--out", str(tmp_path / "m"), "--sequence", "02", "--no-progress"]) == 2
    assert "evaluation-only" in capsys.readouterr().err and not (tmp_path / "m").exists()
    assert main(["fit", str(data), "--out", str(tmp_path / "m"), "--frames", "all", "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "--frames all takes eval frames 6-8" in error and "use --frames train (frames 0-5)" in error
    with pytest.raises(ValueError, match="takes eval frames 6-8"):
        fit_frames(data, "01", "4-7", FRAMES)
    assert fit_frames(data, "01", "1-4", FRAMES) == (range(1, 5), range(6, 9))
    plain = make_recording(tmp_path / "mydata", splits=False)
    with pytest.raises(ValueError, match="pass --frames all"):
        fit_frames(plain, "01", "train", FRAMES)
    assert fit_frames(plain, "01", "all", FRAMES) == (range(FRAMES), None)


def test_foreign_files_are_refused_and_overwrite_replaces_only_a_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tganaug.fitting

    data = make_recording(tmp_path / "recording")
    config = FitConfig(data=str(data), recipe=str(tiny_recipe(tmp_path / "card.json")))
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="not empty"):
        fit_recording(config, user, progress=False, log=lambda _: None)
    with pytest.raises(OutputExistsError, match="notes.txt"):
        fit_recording(config, user, overwrite=True, progress=False, log=lambda _: None)
    assert [p.name for p in user.iterdir()] == ["notes.txt"]

    def stop(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tganaug.fitting, "_train", stop)  # stopped after the preparation: kept, so --resume continues it
    with pytest.raises(KeyboardInterrupt):
        fit_recording(config, tmp_path / "model", progress=False, log=lambda _: None)
    (tmp_path / "model" / "runs").mkdir()
    (tmp_path / "model" / "runs" / "stale").mkdir()
    with pytest.raises(OutputExistsError, match="not empty"):
        fit_recording(config, tmp_path / "model", progress=False, log=lambda _: None)
    with pytest.raises(KeyboardInterrupt):
        fit_recording(config, tmp_path / "model", overwrite=True, progress=False, log=lambda _: None)
    assert (tmp_path / "model" / "fit.json").is_file() and not (tmp_path / "model" / "runs").exists()  # replaced


def test_resume_continues_a_stopped_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tganaug.fitting

    data = make_recording(tmp_path / "recording")
    config = FitConfig(data=str(data), recipe=str(tiny_recipe(tmp_path / "card.json")))
    train = tganaug.fitting._train

    def stop_at_sr(stage: str, *args: object) -> None:
        if stage == "sr":
            raise KeyboardInterrupt
        train(stage, *args)

    monkeypatch.setattr(tganaug.fitting, "_train", stop_at_sr)
    with pytest.raises(KeyboardInterrupt):
        fit_recording(config, tmp_path / "model", progress=False, log=lambda _: None)
    lowres = tmp_path / "model" / "runs" / "lowres" / "checkpoint.pt"
    assert torch.load(lowres, weights_only=True)["step"] == 6 and not (tmp_path / "model" / "runs" / "sr").exists()
    stamp = lowres.stat().st_mtime_ns
    monkeypatch.setattr(tganaug.fitting, "_train", train)
    with pytest.raises(ValueError, match="seed: fit 0 != given 1"):
        fit_recording(FitConfig(data=str(data), recipe=config.recipe, seed=1), tmp_path / "model", resume=True, progress=False)
    lines: list[str] = []
    assert main(["fit", str(data), "--out", str(tmp_path / "model"), "--resume", "--no-progress"]) == 0
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["stages"]["sr"]["steps"] == 6 and lowres.stat().st_mtime_ns == stamp  # the low-res run was not trained again
    assert torch.load(tmp_path / "model" / "runs" / "sr" / "checkpoint.pt", weights_only=True)["step"] == 6
    with pytest.raises(ValueError, match="holds no model folder written by tganaug fit"):
        fit_recording(config, tmp_path / "recording", resume=True, progress=False, log=lines.append)


def test_plan_steps_scales_the_shipped_recipe_to_the_hours() -> None:
    name, stages = recipe_stages("fluo-nuclei")
    full = plan_steps(stages, None)
    assert name == "fluo-nuclei" and full["scale"] == 1 and full["stages"]["lowres"]["steps"] == 2200
    assert full["expected_hours"] == pytest.approx(1.68 + 0.63)
    tenth = plan_steps(stages, 0.231)
    assert tenth["scale"] == pytest.approx(0.1) and tenth["expected_hours"] == pytest.approx(0.231, rel=0.01)
    assert tenth["stages"]["lowres"]["steps"] == 220 and tenth["stages"]["sr"]["steps"] == 400
    assert tenth["stages"]["lowres"]["config"].total_steps == 220 and tenth["stages"]["lowres"]["config"].curriculum_steps == 50
    baseline = plan_steps(stages, None, per_frame_baseline=True)["stages"]["perframe"]["config"]
    assert not baseline.use_previous_frame and baseline.w_flow == 0 and baseline.total_steps == 2200
    with pytest.raises(ValueError, match="neither a shipped recipe"):
        recipe_stages("no-such-model")
    with pytest.raises(ValueError, match="neither a shipped recipe"):  # a shipped model fit made records no recipe
        recipe_stages("phase-contrast-u373")
    with pytest.raises(ValueError, match="hours must be a positive number"):
        FitConfig(data="x", hours=0)


def test_fit_config_from_labels_is_fit_config_and_fits_no_division(tmp_path: Path) -> None:
    from tganaug_plugins.simulators.division import DivisionConfig

    data = make_recording(tmp_path / "recording")
    by_path = fit_config(DivisionConfig, str(data), frames="train")
    outlined_train, _ = read_outlined_ctc(data, "01", "train", read_images=False)
    assert by_path == fit_config_from_labels(DivisionConfig, outlined_train.labels, outlined_train.lineage)
    assert by_path.radius_mean == pytest.approx(RADIUS, rel=0.1)  # from_ctc simulates cells, not their radius-3 markers
    markers = read_ctc(data, "01", frames="train", read_images=False)
    assert fit_config_from_labels(DivisionConfig, markers.labels, markers.lineage).radius_mean < RADIUS / 2
    outlined, _ = read_outlined_ctc(data, "01", range(0, 6))
    fitted = fit_config_from_labels(DivisionConfig, outlined.labels, outlined.lineage)
    assert fitted.cycle_mean == 0  # no division seen: none simulated
    assert fitted.radius_mean == pytest.approx(RADIUS, rel=0.1)  # from the outlines, not the radius-3 markers


def test_shipped_fitted_models_bring_their_simulator_by_name() -> None:
    """The shipped models made by ``tganaug fit`` (U373, PSC) give their fitted simulator by name, as a folder does;
    the others have none."""
    from tganaug.models.tgan import fitted_simulator, resolve_model

    u373, psc = fitted_simulator("phase-contrast-u373"), fitted_simulator("phase-contrast-psc")
    assert u373["simulator"] == psc["simulator"] == "division"
    assert u373["config"]["radius_mean"] > 25 > 10 > psc["config"]["radius_mean"]  # large U373 cells, small PSC cells
    saved = {name: json.loads((resolve_model(name) / "simulator.json").read_text()) for name in ("phase-contrast-u373", "phase-contrast-psc")}
    assert saved["phase-contrast-u373"]["fitted_on"]["frames"] == [0, 79]  # the train frames only
    assert saved["phase-contrast-psc"]["fitted_on"]["frames"] == [0, 69]
    dic = json.loads((resolve_model("dic-hela") / "simulator.json").read_text())
    assert dic["fitted_on"]["frames"] == [0, 59] and fitted_simulator("dic-hela")["config"]["radius_mean"] > 40  # large HeLa cells
    nuclei = json.loads((resolve_model("fluo-nuclei-hela") / "simulator.json").read_text())
    assert nuclei["fitted_on"]["frames"] == [0, 29] and 10 < fitted_simulator("fluo-nuclei-hela")["config"]["radius_mean"] < 20  # HeLa nuclei
    assert fitted_simulator("phase-contrast") is None and fitted_simulator("fluo-nuclei") is None
