"""The benchmark scripts: their shared report header and that each one starts (``--help``)."""

from __future__ import annotations

import contextlib
import io
import runpy
import shlex
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


def test_command_line_is_the_command_that_ran(common) -> None:
    argv = [str(BENCHMARKS / "fidelity.py"), "--model", "fluo-nuclei=runs/my run", "--report", "x"]
    line = common.command_line(argv)
    assert line == "python benchmarks/fidelity.py --model 'fluo-nuclei=runs/my run' --report x"
    assert shlex.split(line)[2:] == argv[1:]  # every argument survives, quoted


def test_command_line_keeps_a_script_outside_the_repository(common, tmp_path: Path) -> None:
    script = tmp_path / "mine.py"
    assert common.command_line([str(script), "--a", "1"]) == f"python {script} --a 1"


def test_machine_names_cpu_threads_and_torch(common) -> None:
    import torch

    line = common.machine()
    assert f"torch {torch.__version__}" in line
    assert f"({torch.get_num_threads()} intra-op threads, {torch.backends.cpu.get_cpu_capability()} kernels)" in line
    assert "usable core" in line


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_starts(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every script imports its dependencies and parses ``--help`` (a broken import shows here, not after an hour)."""
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / script), "--help"])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    assert stop.value.code == 0
    assert "usage" in out.getvalue().lower()


def test_downstream_reference_background_crops_and_fingerprint(shared_data: Path) -> None:
    """``downstream_gain.py --background real``: seeded crops of the background estimated from the fitting frames,
    and a runs fingerprint that tells such runs (and flat-background ones) from the generator's default ones."""
    import numpy as np

    from tganaug.benchmarking import downstream
    from tganaug.io import read_ctc
    from tganaug.models.tgan import background_from_video

    sim = shared_data / "Fluo-N2DH-SIM+"
    crops = downstream.background_crops(sim, range(2), 128, seed=0)
    assert len(crops) == downstream.BACKGROUND_CROPS
    assert all(c.shape == (128, 128) and c.dtype == np.float32 for c in crops)
    video = read_ctc(sim, frames=range(2))
    full = background_from_video(video.images, video.labels)
    for crop in crops[:3]:  # each crop is a window of the full estimate (candidates: both corner pixels match)
        corners = np.argwhere((full[:-127, :-127] == crop[0, 0]) & (full[127:, 127:] == crop[-1, -1]))
        assert any(np.array_equal(full[y:y + 128, x:x + 128], crop) for y, x in corners)
    again = downstream.background_crops(sim, range(2), 128, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again))
    assert not all(np.array_equal(a, b) for a, b in zip(crops, downstream.background_crops(sim, range(2), 128, seed=1)))
    with pytest.raises(ValueError, match="smaller than the crop 4096"):
        downstream.background_crops(sim, range(2), 4096, seed=0)

    def fingerprint(generator: str, model: str | None, background: str = "default", appearance: str | None = None) -> dict[str, str]:
        return downstream.generator_fingerprint(downstream.DownstreamSettings(
            data=shared_data, generator=generator, model=model, background=background, appearance=appearance))

    flat = fingerprint("procedural", None)
    assert flat == {"generator": "procedural", "model": "None", "simulator_fit": "outlines"}  # as the runs of the committed reports recorded it
    assert fingerprint("procedural", None, "real") == flat  # it fits its own background
    assert fingerprint("procedural", None, appearance="random") == {**flat, "appearance": "random"}
    real = fingerprint("tgan", "fluo-nuclei", "real")
    assert real["background"] == "real" and "background" not in fingerprint("tgan", "fluo-nuclei")
    assert fingerprint("tgan", "fluo-nuclei", "flat")["background"] == "flat"
    assert set(downstream.BACKGROUND_TEXT) == {"default", "real", "flat"}


def test_ship_tgan_add_backgrounds_reproduces_the_shipped_references(shared_data: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``ship_tgan.py --add-backgrounds`` on a copy of ``fluo-nuclei-fast`` stripped of its references writes them again
    from the train frames, equal to the shipped ones; a checkpoint that has them is left as it is."""
    import shutil

    import torch

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ship_tgan

    from tganaug.training.checkpoint import load_checkpoint, save_checkpoint

    shutil.copytree(ship_tgan.WEIGHTS_DIR / "tgan-fluo-nuclei-fast", tmp_path / "tgan-fluo-nuclei-fast")
    monkeypatch.setattr(ship_tgan, "WEIGHTS_DIR", tmp_path)
    file = tmp_path / "tgan-fluo-nuclei-fast" / "lowres" / "checkpoint.pt"
    shipped = load_checkpoint(file)
    references = shipped.pop("reference_backgrounds")
    shipped.pop("config_obj")
    save_checkpoint(file, shipped)
    ship_tgan.add_backgrounds("fluo-nuclei-fast", shared_data)
    again = load_checkpoint(file)["reference_backgrounds"]
    assert list(again) == list(references) == ["Fluo-N2DH-SIM+"]
    assert again["Fluo-N2DH-SIM+"].dtype == torch.float16 and torch.equal(again["Fluo-N2DH-SIM+"], references["Fluo-N2DH-SIM+"])
    written = file.read_bytes()
    ship_tgan.add_backgrounds("fluo-nuclei-fast", shared_data)
    assert file.read_bytes() == written


def test_ship_tgan_exports_one_stage_and_keeps_the_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ship_tgan.py --stages sr`` replaces a shipped model's SR weights and the SR part of its card only."""
    import json
    import shutil

    import numpy as np
    import torch

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ship_tgan

    from tganaug.models.config import PRESETS
    from tganaug.training.data import VideoData, downsample_image, downsample_mask
    from tganaug.training.trainer import SRTrainer

    shutil.copytree(ship_tgan.WEIGHTS_DIR / "tgan-fluo-nuclei-fast", tmp_path / "tgan-fluo-nuclei-fast")
    monkeypatch.setattr(ship_tgan, "WEIGHTS_DIR", tmp_path)
    shipped = tmp_path / "tgan-fluo-nuclei-fast"
    lowres_bytes = (shipped / "lowres" / "checkpoint.pt").read_bytes()
    old_card = json.loads((shipped / "card.json").read_text())
    config = PRESETS["tiny"].replace(sr_upsampling="pixel_shuffle", total_steps=2)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(-1, 1, (4, 32, 32)).astype(np.float32))
    masks = torch.from_numpy((rng.uniform(size=(4, 32, 32)) > 0.7).astype(np.float32))
    video = VideoData("v", images, masks, images[0], downsample_image(images, 2), downsample_mask(masks, 2), downsample_image(images[0], 2))
    torch.set_num_threads(1)
    SRTrainer(config, tmp_path / "run" / "sr", data=[video], progress=False).train()
    card = ship_tgan.export("fluo-nuclei-fast", tmp_path / "run", ("sr",))
    assert (shipped / "lowres" / "checkpoint.pt").read_bytes() == lowres_bytes
    assert card["stages"]["lowres"] == old_card["stages"]["lowres"]
    assert card["stages"]["sr"]["steps"] == 2 and card["stages"]["sr"]["config"]["sr_upsampling"] == "pixel_shuffle"
    assert json.loads((shipped / "sr" / "config.json").read_text())["sr_upsampling"] == "pixel_shuffle"
    assert set(torch.load(shipped / "sr" / "checkpoint.pt", weights_only=True)["models"]) == {"generator"}


def test_shipped_model_cards_are_the_ones_the_reports_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ship_tgan.py --cards-only`` run on a copy of the shipped weights rewrites MODEL_CARD.md and model_cards.json
    byte for byte: the committed cards quote the committed reports. Every fidelity row names its report and how many
    generation seeds it averages; rows of one-seed reports say so."""
    import json
    import shutil

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ship_tgan

    shutil.copytree(ship_tgan.WEIGHTS_DIR, tmp_path / "weights")
    monkeypatch.setattr(ship_tgan, "WEIGHTS_DIR", tmp_path / "weights")
    ship_tgan.write_cards()
    for name in ("MODEL_CARD.md", "model_cards.json"):
        assert (tmp_path / "weights" / name).read_text() == (ship_tgan.REPO / "tganaug" / "weights" / name).read_text(), name
    cards = json.loads((tmp_path / "weights" / "model_cards.json").read_text())
    for name, card in cards.items():
        main_report = ship_tgan.MODEL_REPORTS.get(name, {}).get("fidelity", "fidelity")
        assert card["fidelity_eval"] and {r["report"] for r in card["fidelity_eval"]} <= (
            {main_report} | set(ship_tgan.TRAINING_SEED_REPORTS.get(name, {}).values()))
        assert all(int(r["seeds"]) >= 1 for r in card["fidelity_eval"])
    x4_rows = [r for r in cards["fluo-nuclei-x4"]["fidelity_eval"] if r["report"] == "fidelity_x4s"]
    assert x4_rows and all(r["seeds"] == "1" for r in x4_rows)
    text = (tmp_path / "weights" / "MODEL_CARD.md").read_text()
    assert "| Fluo-N2DH-SIM+ | tGAN (generation seed 0) |" in text and "`benchmarks/results/fidelity_x4s.md`" in text


def test_ship_tgan_cpu_time_leaves_out_pauses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A logged step time above 10x the median (a run stopped and resumed) does not count in the card's CPU time."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ship_tgan

    def summary_of(rows: list[tuple[int, float, float]]) -> dict[str, float]:  # rows: step, seconds, l1
        (tmp_path / "log.csv").write_text("step,lr_g,seconds,l1\n" + "".join(f"{s},0.1,{sec},{l1}\n" for s, sec, l1 in rows))
        return ship_tgan._log_summary(tmp_path)

    paused = summary_of([(10, 2.0, 0.5), (20, 4.0, 0.4), (30, 1235.0, 0.3), (40, 3.0, 0.25)])
    assert paused == {"cpu_hours_estimate": round(3.0 * 40 / 3600, 2), "final_l1": 0.25}
    # no pause: the plain mean, 3 s x 3,600 steps
    assert summary_of([(10, 2.0, 0.5), (20, 4.0, 0.4), (3600, 3.0, 0.25)])["cpu_hours_estimate"] == 3.0


def test_throughput_loader_rates_time_a_cold_and_a_warm_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both passes read every item; with workers the second pass reuses them (persistent), so no new worker starts."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import throughput
    import torch.utils.data

    class Videos(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> dict:
            return {"image": torch.zeros(5, 1, 4, 4), "label": torch.zeros(5, 4, 4, dtype=torch.int64),
                    "lineage": torch.zeros(0, 4, dtype=torch.int64), "meta": {"index": index}}

    loaders, batches = [], []
    original_iter = torch.utils.data.DataLoader.__iter__

    def counting_iter(self):
        loaders.append(self)
        for batch in original_iter(self):
            batches.append(int(batch["image"].shape[1]))
            yield batch

    monkeypatch.setattr(torch.utils.data.DataLoader, "__iter__", counting_iter)
    for workers in (0, 1):
        loaders.clear(), batches.clear()
        cold, warm = throughput.loader_rates(Videos(), workers)
        assert cold > 0 and warm > 0 and batches == [5] * 6  # 3 videos x 5 frames, twice
        assert loaders[0] is loaders[1] and loaders[0].persistent_workers == (workers > 0)
    # batches of 2 videos: every frame of every video counted (3 x 5 per pass), here one second per pass
    clock = iter(range(100))
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: float(next(clock)))
    loaders.clear(), batches.clear()
    assert throughput.loader_rates(Videos(), 0, batch_size=2) == (15.0, 15.0)
    assert batches == [5, 5] * 2 and loaders[0].batch_size == 2


def test_render_cost_parses_variants_and_names_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import argparse

    import render_cost

    assert render_cost.parse_variant("4,8,16/4,8/pixel_shuffle") == ((4, 8, 16), (4, 8), "pixel_shuffle")
    assert render_cost.parse_variant("16,32,64,128/16,32,64/bilinear") == ((16, 32, 64, 128), (16, 32, 64), "bilinear")
    for bad in ("4,8,16/4,8", "4,x,16/4,8/bilinear", "4,8/4,8/bilinear/extra"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not LOWRES/SR/UPSAMPLING"):
            render_cost.parse_variant(bad)


def test_tracking_sr_on_real_row_renders_the_real_frames_through_the_sr_stage(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--generators tgan-sr-on-real``: the shipped model's SR stage on the real eval frames, back in raw units."""
    import numpy as np

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import tracking_real_vs_synthetic as tracking

    import tganaug

    sim = shared_data / "Fluo-N2DH-SIM+"
    gt = tganaug.read_ctc(sim, frames=[45, 46])
    video = tracking.synthetic_images(tracking.SR_ON_REAL, sim, gt, seed=0, tgan_models={"fluo-nuclei": "fluo-nuclei-fast"})
    assert video.shape == gt.images.shape and video.dtype == np.float32 and np.isfinite(video).all()
    real = gt.images.astype(np.float64)
    # same intensity units, and the same picture up to the SR stage's texture
    assert abs(video.mean() - real.mean()) < 0.1 * real.std()
    assert np.corrcoef(video.ravel(), real.ravel())[0, 1] > 0.9
    assert np.array_equal(video, tracking.synthetic_images(tracking.SR_ON_REAL, sim, gt, seed=0, tgan_models={"fluo-nuclei": "fluo-nuclei-fast"}))


def test_fidelity_report_summarizes_seeds_and_judges_each_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    """``benchmarks/fidelity.py``: ``--seeds`` parsing, mean / sd over seeds, and the verdict table that calls tGAN better
    or worse than a baseline only beyond the seed spread (targets: brightness 0, the real video's warp error)."""
    import argparse
    import math

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fidelity as script

    assert script.seed_list("0,1, 2") == [0, 1, 2]
    for bad in ("", "0,0", "a,1"):
        with pytest.raises(argparse.ArgumentTypeError, match="seeds"):
            script.seed_list(bad)

    def row(method: str, seed: int, ssim: float, warp: float, brightness: float) -> dict:
        values = {m: 0.5 for m in script.MEASURES}
        values.update(SSIM=ssim, warp_error=warp, brightness_far=brightness)
        return {"dataset": "D", "method": method, "seed": seed, **values, "warp_error_real": 0.03, "seconds": 1.0}

    rows = [row("tGAN", s, ssim, warp, b) for s, ssim, warp, b in ((0, 0.40, 0.031, 0.001), (1, 0.41, 0.030, -0.001), (2, 0.42, 0.032, 0.0))]
    rows += [row("per-frame model", s, ssim, warp, b) for s, ssim, warp, b in ((0, 0.30, 0.020, 0.05), (1, 0.31, 0.021, 0.06), (2, 0.32, 0.019, 0.04))]
    rows.append({"dataset": "D", "method": "procedural", **{c: float("nan") for c in script.COLUMNS[2:]}})  # did not run
    summary = {r["method"]: r for r in script.summarize(rows)}
    assert summary["tGAN"]["seeds"] == 3 and summary["tGAN"]["SSIM"] == pytest.approx(0.41)
    assert summary["tGAN"]["SSIM_sd"] == pytest.approx(0.01) and summary["tGAN"]["FVD_like_sd"] == 0.0
    assert summary["procedural"]["seeds"] == 0 and math.isnan(summary["procedural"]["SSIM"])
    (verdict,) = script.verdicts(rows)  # the baseline that did not run gets no row
    assert verdict["baseline"] == "per-frame model"
    assert verdict["SSIM"] == "better"
    assert verdict["warp_error"] == "better"  # larger, but closer to the real video's 0.03
    assert verdict["brightness_far"] == "better"  # closer to 0
    assert verdict["FVD_like"] == "tie"  # identical scores
    table = script.mean_sd_table(script.summarize(rows), ("method", "SSIM"))
    assert "| tGAN | 0.4100 ± 0.0100 |" in table and "| procedural | n/a |" in table


def test_fidelity_compare_with_reads_an_earlier_reports_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fidelity.earlier_rows``: an earlier per-seed CSV comes back for the asked datasets and seeds, every value a float,
    each method labelled with its report; the verdicts then judge this run's tGAN against it; bad files are refused."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fidelity as script
    from tganaug.utils.fsutil import atomic_write_csv

    def row(dataset: str, method: str, seed: int, ssim: float) -> dict:
        return {"dataset": dataset, "method": method, "seed": seed, **{m: 0.5 for m in script.MEASURES}, "SSIM": ssim,
                "warp_error_real": 0.03, "seconds": 1.0}

    earlier = [row(d, m, s, 0.30 + 0.01 * s) for d in ("D", "E") for m in ("tGAN", "per-frame model") for s in (0, 1, 2, 3)]
    path = tmp_path / "old_per_seed.csv"
    atomic_write_csv(path, earlier, ("seed", *script.COLUMNS))
    rows = script.earlier_rows(path, ["D"], [0, 1, 2])
    assert sorted({r["method"] for r in rows}) == ["per-frame model (old)", "tGAN (old)"]
    assert {r["dataset"] for r in rows} == {"D"} and sorted(r["seed"] for r in rows) == [0, 0, 1, 1, 2, 2]
    assert [r["SSIM"] for r in rows if r["method"] == "tGAN (old)"] == pytest.approx([0.30, 0.31, 0.32])
    assert all(isinstance(r[c], float) for r in rows for c in script.COLUMNS[2:])

    probe = [row("D", "tGAN", s, 0.40 + 0.01 * s) for s in (0, 1, 2)]
    verdict = {v["baseline"]: v for v in script.verdicts(probe + rows)}
    assert set(verdict) == {"tGAN (old)", "per-frame model (old)"} and verdict["tGAN (old)"]["SSIM"] == "better"
    assert verdict["tGAN (old)"]["FVD_like"] == "tie"

    with pytest.raises(FileNotFoundError, match="no such per-seed report"):
        script.earlier_rows(tmp_path / "missing.csv", ["D"], [0])
    with pytest.raises(ValueError, match="seeds"):
        script.earlier_rows(path, ["D"], [0, 4])  # seed 4 was not run
    with pytest.raises(ValueError, match="no rows"):
        script.earlier_rows(path, ["F"], [0])
    bad = tmp_path / "bad.csv"
    bad.write_text("seed,dataset,method,SSIM\n0,D,tGAN,0.3\n")
    with pytest.raises(ValueError, match="missing columns"):
        script.earlier_rows(bad, ["D"], [0])


def test_training_seeds_judges_tgan_across_training_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``benchmarks/training_seeds.py``: per-seed reports of two training seeds; a measure on which tGAN beats the
    per-frame model in one training seed only is a tie across runs, one on which it wins in every pairing is better;
    the procedural renderer (in one report only) counts as one run; the retrain table flags a run that moved; bad
    ``--run`` arguments are refused."""
    import csv

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fidelity
    import training_seeds as script
    from tganaug.utils.fsutil import atomic_write_csv

    def row(method: str, seed: int, ssim: float, psnr: float) -> dict:
        return {"dataset": "D", "method": method, "seed": seed, **{m: 0.5 for m in fidelity.MEASURES}, "SSIM": ssim + 0.001 * seed,
                "PSNR": psnr + 0.01 * seed, "warp_error_real": 0.5, "seconds": 1.0}

    # training seed 0: tGAN wins SSIM and PSNR; training seed 1: tGAN still wins PSNR, but the per-frame model wins SSIM
    run0 = [row("tGAN", s, 0.60, 20.0) for s in range(3)] + [row("per-frame model", s, 0.55, 19.0) for s in range(3)]
    run0 += [row("procedural", s, 0.40, 15.0) for s in range(3)]
    run1 = [row("tGAN", s, 0.58, 20.5) for s in range(3)] + [row("per-frame model", s, 0.62, 19.5) for s in range(3)]
    paths = [tmp_path / "run0_per_seed.csv", tmp_path / "run1_per_seed.csv"]
    for path, rows in zip(paths, (run0, run1)):
        atomic_write_csv(path, rows, ("seed", *fidelity.COLUMNS))
    monkeypatch.setattr(script, "RESULTS", tmp_path)
    argv = ["training_seeds.py", "--run", f"0={paths[0]}", "--run", f"1={paths[1]}", "--datasets", "D", "--report", "out"]
    monkeypatch.setattr(sys, "argv", argv)
    with contextlib.redirect_stdout(io.StringIO()):
        script.main()
    verdicts = {r["baseline"]: r for r in csv.DictReader((tmp_path / "out.csv").open())}
    assert verdicts["per-frame model"]["SSIM"] == "tie" and verdicts["per-frame model"]["SSIM_pairings"] == "2/2/0"
    assert verdicts["per-frame model"]["PSNR"] == "better" and verdicts["per-frame model"]["PSNR_pairings"] == "4/0/0"
    assert verdicts["per-frame model"]["FVD_like"] == "tie"  # identical scores everywhere
    assert verdicts["procedural"]["baseline_runs"] == "1" and verdicts["procedural"]["SSIM"] == "better"
    # runs as the samples (two runs each): PSNR run means 20.01, 20.51 vs 19.01, 19.51 give Welch t = 2.83 on 2
    # degrees of freedom, p = 0.106: a tie, although every pairing of runs is better; one untrained run: n/a
    assert verdicts["per-frame model"]["PSNR_run_means"] == "tie" and float(verdicts["per-frame model"]["PSNR_run_means_p"]) == pytest.approx(0.106, abs=0.001)
    assert verdicts["per-frame model"]["FVD_like_run_means"] == "tie" and verdicts["per-frame model"]["FVD_like_run_means_p"] == "1"
    assert verdicts["procedural"]["SSIM_run_means"] == "n/a" and verdicts["procedural"]["SSIM_run_means_p"] == ""
    report = (tmp_path / "out.md").read_text()
    assert "| tGAN, trained seed 1 | 0.5810 ± 0.0010 |" in report  # per-run means
    assert "- tGAN, trained seed 1 vs 0: 2 of 12 measures differ by the generation-seed test (SSIM, PSNR)" in report
    assert "- against per-frame model: better on 1, worse on 0, tie on 11 of 12 measures." in report
    assert "- against per-frame model, runs as samples: better on 0, worse on 0, tie on 12 of 12 measures." in report
    assert "against procedural, runs as samples" not in report

    no_tgan = tmp_path / "no_tgan_per_seed.csv"
    atomic_write_csv(no_tgan, [r for r in run1 if r["method"] != "tGAN"], ("seed", *fidelity.COLUMNS))
    for bad, message in (([f"0={paths[0]}"], "two or more"), ([f"0={paths[0]}", f"0={paths[1]}"], "given twice"),
                         ([f"0={paths[0]}", f"x={paths[1]}"], "TRAINING_SEED=PER_SEED_CSV"),
                         ([f"0={paths[0]}", f"1={tmp_path / 'missing.csv'}"], "no such per-seed report"),
                         ([f"0={paths[0]}", f"1={no_tgan}"], "has no 'tGAN' rows for D")):
        monkeypatch.setattr(sys, "argv", ["training_seeds.py", *[a for item in bad for a in ("--run", item)], "--datasets", "D"])
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit):
            script.main()
        assert message in err.getvalue()


def test_ship_tgan_keeps_a_per_frame_baseline_that_fidelity_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ship_tgan.py --per-frame-baseline`` exports a per-frame low-res run (generator only, card with steps and seed)
    into the baselines folder and refuses a video model's run; the exported weights render like the run's own."""
    import json

    import numpy as np
    import torch
    from test_training import TINY, _video

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ship_tgan

    from tganaug.models.tgan import TGAN
    from tganaug.training.checkpoint import load_checkpoint
    from tganaug.training.trainer import LowResTrainer

    monkeypatch.setattr(ship_tgan, "BASELINES_DIR", tmp_path / "baselines")
    torch.set_num_threads(1)
    LowResTrainer(TINY.replace(total_steps=2, use_previous_frame=False), tmp_path / "pf", data=[_video()], progress=False).train()
    target = ship_tgan.export_per_frame_baseline("fluo-nuclei", tmp_path / "pf")
    assert target == tmp_path / "baselines" / "perframe-fluo-nuclei"
    card = json.loads((target / "card.json").read_text())
    run = load_checkpoint(tmp_path / "pf")
    assert card["baseline_of"] == "fluo-nuclei" and card["steps"] == 2 and card["seed"] == run["seed"] and card["data"] == run["data"] == ["synthetic"]
    assert card["config"]["use_previous_frame"] is False and card["split"] == "train"
    assert set(torch.load(target / "checkpoint.pt", weights_only=True)["models"]) == {"generator"}
    masks = np.zeros((3, 64, 64), np.uint16)
    masks[:, 20:30, 20:34] = 1
    exported = TGAN.from_pretrained(target).generate(masks, seed=0)
    assert np.array_equal(exported, TGAN.from_pretrained(tmp_path / "pf").generate(masks, seed=0))
    LowResTrainer(TINY.replace(total_steps=1), tmp_path / "video", data=[_video()], progress=False).train()
    with pytest.raises(SystemExit, match="not a per-frame"):
        ship_tgan.export_per_frame_baseline("fluo-nuclei", tmp_path / "video")
    with pytest.raises(SystemExit, match="no per-frame baseline"):
        ship_tgan.export_per_frame_baseline("fluo-nuclei-x4", tmp_path / "pf")


def test_fidelity_per_frame_baseline_uses_its_own_sr_stage_when_it_has_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fidelity.load_per_frame``: a bare low-res run borrows the tGAN model's SR stage; a folder with ``lowres/`` and
    ``sr/`` renders through its own."""
    import numpy as np
    import torch
    from test_training import TINY, _video

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fidelity as script

    from tganaug.models.tgan import TGAN
    from tganaug.training.trainer import LowResTrainer, SRTrainer

    torch.set_num_threads(1)
    LowResTrainer(TINY.replace(total_steps=1, use_previous_frame=False), tmp_path / "pf" / "lowres", data=[_video()], progress=False).train()
    SRTrainer(TINY.replace(total_steps=1), tmp_path / "tgan_sr", data=[_video()], progress=False).train()
    SRTrainer(TINY.replace(total_steps=1), tmp_path / "pf" / "sr", data=[_video()], progress=False, seed=1).train()
    masks = np.zeros((2, 64, 64), np.uint16)
    masks[:, 20:30, 20:34] = 1
    borrowed = script.load_per_frame(tmp_path / "pf" / "lowres", tmp_path / "tgan_sr").generate(masks, seed=0)
    own = script.load_per_frame(tmp_path / "pf", tmp_path / "tgan_sr").generate(masks, seed=0)
    assert np.array_equal(borrowed, TGAN.from_pretrained(tmp_path / "pf" / "lowres", sr_path=tmp_path / "tgan_sr").generate(masks, seed=0))
    assert np.array_equal(own, TGAN.from_pretrained(tmp_path / "pf" / "lowres", sr_path=tmp_path / "pf" / "sr").generate(masks, seed=0))
    assert not np.array_equal(own, borrowed)


def test_fidelity_no_sr_scores_the_low_res_frames(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fidelity.py --no-sr``: tGAN is scored on its low-res frames, bilinearly up-sampled (the report says so), and the
    score is that of ``generate(..., use_sr=False)``, not of the SR output."""
    import csv
    import sys

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fidelity as script

    import tganaug
    from tganaug import fidelity
    from tganaug.models.tgan import TGAN, background_from_video, resolve_model

    monkeypatch.setattr(script, "RESULTS", tmp_path)
    monkeypatch.setattr(script, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(sys, "argv", ["fidelity.py", "--data", str(shared_data), "--datasets", "PhC-T98G-Usiigaci", "--methods", "tGAN",
                                      "--table-only", "--no-sr", "--threads", "1", "--report", "no_sr"])
    script.main()
    assert "**Without the SR stage** (`--no-sr`)" in (tmp_path / "no_sr.md").read_text()
    with open(tmp_path / "no_sr_per_seed.csv", newline="") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["method"] == "tGAN"]
    path = shared_data / "PhC-T98G-Usiigaci"
    train, evaluation = tganaug.read_ctc(path, frames="train"), tganaug.read_ctc(path, frames="eval")
    real = script.to_space(evaluation.images, script.intensity_space(train.images))
    model = TGAN.from_pretrained(resolve_model("phase-contrast"))
    background = background_from_video(train.images, train.labels)
    low = model.generate(evaluation.labels, background=background, seed=0, use_sr=False)
    assert float(row["SSIM"]) == pytest.approx(fidelity.ssim_by_frame(real, low).mean(), abs=1e-6)
    with_sr = model.generate(evaluation.labels, background=background, seed=0)
    assert abs(fidelity.ssim_by_frame(real, with_sr).mean() - float(row["SSIM"])) > 1e-3


def test_segmenter_choice_rule_reads_only_the_decision_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import segmenter_choice

    def scores(same_det: float, cross_det: float, cross_tra: float, unseen_det: float) -> dict:
        return {"same": {"DET": same_det}, "cross": {"DET": cross_det, "TRA": cross_tra}, "unseen": {"DET": unseen_det}}

    choose = lambda table: segmenter_choice.choose(table, "shipped", "same", "cross", 0.01)  # noqa: E731
    shipped = scores(0.98, 0.80, 0.79, 0.40)
    # better across datasets, same-dataset DET within the tolerance: chosen
    assert choose({"shipped": shipped, "a": scores(0.975, 0.85, 0.84, 0.41)}) == "a"
    # the unseen sequence never decides: a far better unseen score does not win on its own
    assert choose({"shipped": shipped, "b": scores(0.98, 0.79, 0.84, 0.95)}) == "shipped"
    # worse on the same dataset beyond the tolerance, or better on only one cross-dataset measure: kept
    assert choose({"shipped": shipped, "c": scores(0.96, 0.90, 0.90, 0.9)}) == "shipped"
    assert choose({"shipped": shipped, "d": scores(0.99, 0.85, 0.78, 0.9)}) == "shipped"
    # several winners: the highest cross-dataset TRA
    assert choose({"shipped": shipped, "a": scores(0.98, 0.85, 0.84, 0.4), "e": scores(0.98, 0.82, 0.88, 0.4)}) == "e"


def test_unlabelled_objects_masks_are_cropped_with_their_real_frames_or_tiled(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mask kinds of ``unlabelled_objects.py``: a crop keeps the real frames (cropped alike) only where they cover it
    and are asked for; a mirror tile has no real frames and keeps the ids of its tiles apart; ``u373`` reads the U373
    eval frames' full outlines."""
    import numpy as np

    from tganaug.io import read_ctc

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import unlabelled_objects

    images = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    labels = np.zeros((2, 6, 6), np.uint16)
    labels[:, 1:3, 1:3] = 1
    cropped, real = unlabelled_objects._sized(images, labels, 4, crop_real=True)
    assert cropped.dtype == np.uint32 and cropped.shape == (2, 4, 4) and np.array_equal(real, images[:, :4, :4])
    assert unlabelled_objects._sized(images, labels, 4, crop_real=False)[1] is None  # GOWT1: at its own size only
    assert np.array_equal(unlabelled_objects._sized(images, labels, 6, crop_real=False)[1], images)
    tiled, real = unlabelled_objects._sized(images, labels, 12, crop_real=True)
    assert real is None and tiled.shape == (2, 12, 12) and len(np.unique(tiled[0])) - 1 == 4  # 2 x 2 tiles, 4 ids
    masks, real = unlabelled_objects.u373_masks(shared_data, 2, 512)
    assert masks.shape == real.shape == (2, 512, 512) and masks.max() > 0
    eval_frames = read_ctc(shared_data / "PhC-C2DH-U373", "01", frames="eval", read_labels=False)
    assert np.array_equal(real, eval_frames.images[:2, :512, :512])
