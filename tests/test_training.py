"""Training loops, checkpoints, resume, CLI and plugin (tiny config, synthetic or tiny CTC data)."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch

from tganaug.models.config import PRESETS, TGANConfig
from tganaug.training.checkpoint import CheckpointError, load_checkpoint
from tganaug.training.data import VideoData, downsample_image, downsample_mask
from tganaug.training.trainer import (
    LowResTrainer,
    SRTrainer,
    make_optimizer,
    make_scheduler,
)
from tganaug.utils.fsutil import OutputExistsError

torch.set_num_threads(1)
TINY = PRESETS["tiny"]


def _video_arrays(n_frames: int = 6, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Moving bright disks on a textured background: ``images (T, H, W) uint16``, ``labels uint16``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    background = 200 + 40 * np.sin(xx / 7.0) + 30 * np.cos(yy / 11.0)
    images = np.empty((n_frames, size, size), np.uint16)
    labels = np.zeros((n_frames, size, size), np.uint16)
    centres = rng.uniform(12, size - 12, (3, 2))
    for t in range(n_frames):
        frame = background + rng.normal(0, 5, (size, size))
        for i, (cy, cx) in enumerate(centres):
            disk = (yy - cy - t) ** 2 + (xx - cx) ** 2 < 36
            labels[t][disk] = i + 1
            frame[disk] = 900 + 50 * i
        images[t] = np.clip(frame, 0, 65535).astype(np.uint16)
    return images, labels


def _video(config: TGANConfig = TINY, n_frames: int = 6, size: int = 64, seed: int = 0) -> VideoData:
    images, labels = _video_arrays(n_frames, size, seed)
    norm = torch.from_numpy((images.astype(np.float32) - 150) / 900).clamp(0, 1) * 2 - 1
    masks = torch.from_numpy((labels > 0).astype(np.float32))
    bg = norm.median(dim=0).values
    s = config.sr_scale
    return VideoData("synthetic", norm, masks, bg, downsample_image(norm, s), downsample_mask(masks, s), downsample_image(bg, s))


def _states_equal(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a) and a.keys() == b.keys()


# --- schedule ---------------------------------------------------------------------------------------
def test_onecycle_schedule_ends_where_it_should() -> None:
    config = TINY.replace(total_steps=20, lr_g=1e-3)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = make_optimizer([param], config, config.lr_g)
    sched = make_scheduler(opt, config, config.lr_g)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(config.total_steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert max(lrs) == pytest.approx(1e-3)
    assert lrs[0] == pytest.approx(1e-3 / 25)  # OneCycle start: max_lr / div_factor
    assert lrs[config.total_steps - 1] == pytest.approx(1e-3 / 25 / 1e4, rel=1e-6)  # last step: min lr


def test_trainer_runs_exactly_the_schedule_and_refuses_to_overrun(tmp_path) -> None:
    config = TINY.replace(total_steps=6, max_clip_len=2, curriculum_steps=2)
    trainer = LowResTrainer(config, tmp_path / "run", data=[_video()], progress=False)
    trainer.train()
    assert trainer.step == 6
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    lrs = [float(r["lr_g"]) for r in rows]
    assert len(lrs) == 6 and lrs[0] == pytest.approx(config.lr_g / 25, rel=1e-5)  # warm-up start
    assert max(lrs) <= config.lr_g * (1 + 1e-5) and lrs[1:] == sorted(lrs[1:], reverse=True)
    assert lrs[-1] == pytest.approx(config.lr_g / 25 / 1e4, rel=1e-5)  # the last step uses the final LR
    assert trainer.sched_g.last_epoch == config.total_steps == trainer.sched_f.last_epoch == trainer.sched_d.last_epoch
    with pytest.raises(ValueError, match="total_steps"):
        trainer.train(until=7)


# --- what trains --------------------------------------------------------------------------------------
def test_one_step_updates_every_parameter_of_g_d_and_flownet(tmp_path) -> None:
    config = TINY.replace(total_steps=10, max_clip_len=2, curriculum_steps=1)
    trainer = LowResTrainer(config, tmp_path / "run", data=[_video()], progress=False)
    before = {name: {k: v.clone() for k, v in net.state_dict().items()} for name, net in trainer.networks().items()}
    trainer.train(until=2)  # step 0 clip length 1, step 1 length 2 (temporal loss active)
    for name, net in trainer.networks().items():
        unchanged = [k for k, p in net.named_parameters() if torch.equal(before[name][k], p.detach())]
        assert unchanged == [], f"{name}: parameters never updated: {unchanged}"


def test_temporal_target_reaches_the_temporal_loss(tmp_path, monkeypatch) -> None:
    """``temporal_target`` is passed to the temporal-warp loss on clips of two or more frames, and changes the logged value."""
    import tganaug.training.trainer as trainer_module

    targets = []
    real_loss = trainer_module.temporal_warp_loss
    monkeypatch.setattr(trainer_module, "temporal_warp_loss", lambda *args: targets.append(args[-1]) or real_loss(*args))
    logged = {}
    for target in ("still", "real"):
        config = TINY.replace(total_steps=2, max_clip_len=2, curriculum_steps=1, temporal_target=target)
        LowResTrainer(config, tmp_path / target, data=[_video()], progress=False).train()
        logged[target] = (tmp_path / target / "log.csv").read_text().splitlines()[-1].split(",")
    assert targets == ["still", "real"]  # step 0 has clips of one frame: no temporal term
    column = (tmp_path / "real" / "log.csv").read_text().splitlines()[0].split(",").index("temporal")
    assert float(logged["still"][column]) > 0 and float(logged["real"][column]) > 0 and logged["still"][column] != logged["real"][column]


def test_ssim_weight_adds_the_structural_term(tmp_path) -> None:
    """``w_ssim`` > 0 logs 1 - SSIM of the generated vs real low-res frames (in (0, 2]) and adds it to the G loss;
    0 (the default) logs 0 and leaves the loss as before."""
    logged = {}
    for weight in (0.0, 5.0):
        config = TINY.replace(total_steps=1, w_ssim=weight)
        LowResTrainer(config, tmp_path / str(weight), data=[_video()], progress=False).train()
        with (tmp_path / str(weight) / "log.csv").open(newline="") as handle:
            logged[weight] = {k: float(v) for k, v in next(csv.DictReader(handle)).items()}
    assert logged[0.0]["ssim"] == 0.0
    assert 0.0 < logged[5.0]["ssim"] <= 2.0
    terms = ("g_adv", "l1", "perceptual", "flow", "temporal", "ssim")
    weights = {"g_adv": TINY.w_adv, "l1": TINY.w_l1, "perceptual": TINY.w_perceptual, "flow": TINY.w_flow, "temporal": TINY.w_temporal}
    for weight, row in logged.items():
        expected = sum(weights.get(k, weight) * row[k] for k in terms)
        assert row["g_total"] == pytest.approx(expected, rel=1e-4)


def test_ssim_term_sees_frames_in_unit_range(tmp_path) -> None:
    """SSIM's luminance term is not shift-invariant: it must see the [0, 1] frames the fidelity benchmark scores,
    not the networks' [-1, 1] (where a +0.05 shift of a mid-grey frame cost 1 - SSIM = 0.997)."""
    trainer = LowResTrainer(TINY.replace(total_steps=1, w_ssim=5.0), tmp_path / "run", data=[_video()], progress=False)
    seen = []
    real_loss = trainer.ssim_loss

    def recording(fake, real):
        seen.append((float(fake.min()), float(fake.max()), float(real.min()), float(real.max())))
        return real_loss(fake, real)

    trainer.ssim_loss = recording
    trainer.train()
    assert seen and all(0.0 <= low and high <= 1.0 for low_high in seen for low, high in (low_high[:2], low_high[2:]))
    grey = torch.full((1, 1, 32, 32), 0.5) + 0.05 * torch.rand((1, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    assert float(real_loss(grey + 0.05, grey)) < 0.05


def test_sample_montage_rescales_by_declared_range() -> None:
    from tganaug.training.trainer import montage

    masks, mid_grey = torch.ones((2, 4, 4)), torch.zeros((2, 4, 4))  # 0.0 in [-1, 1] is mid-grey, not black
    image = montage([masks, mid_grey], (False, True))
    assert image.shape == (8, 8) and (image[:, :4] == 255).all() and (image[:, 4:] == 128).all()


def test_negative_or_nan_loss_weights_are_refused() -> None:
    with pytest.raises(ValueError, match=r"loss weights must be finite and >= 0, got \{'w_ssim': -1.0\}"):
        TINY.replace(w_ssim=-1.0)
    with pytest.raises(ValueError, match="'sr_w_l1': nan"):
        TINY.replace(sr_w_l1=float("nan"))


def test_sr_trainer_updates_every_parameter(tmp_path) -> None:
    trainer = SRTrainer(TINY.replace(total_steps=4), tmp_path / "sr", data=[_video()], progress=False)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    logs = trainer.train(until=2)
    assert {"g_total", "l1", "d"} <= logs.keys() and np.isfinite(logs["g_total"])
    unchanged = [k for k, p in trainer.generator.named_parameters() if torch.equal(before[k], p.detach())]
    assert unchanged == []


def test_sr_training_crops_keep_the_masks_aligned_with_the_frames() -> None:
    from tganaug.training.data import ClipSampler

    config = TINY.replace(p_video_aug=1.0, sr_scale=4)  # every crop flipped / rotated: masks must follow
    video = _video(config)
    sampler = ClipSampler([video], config, torch.Generator().manual_seed(0))
    for _ in range(5):
        batch = sampler.sample_frames(2, 32)
        assert batch["masks"].shape == batch["hr"].shape == (2, 1, 32, 32) and batch["lr"].shape == (2, 1, 8, 8)
        assert set(batch["masks"].unique().tolist()) <= {0.0, 1.0}
        # the disks are bright on a dark textured background: cell pixels are the bright ones, wherever the crop was turned
        for hr, masks in zip(batch["hr"], batch["masks"]):
            if 0 < masks.sum() < masks.numel():
                assert hr[masks > 0].min() > hr[masks == 0].max()


def test_sr_frame_history_gives_the_low_res_inputs_of_frame_t() -> None:
    """``sample_frames(history=k)``: masks t-k..t, the real frame t-1 (background at t = 0), all on the same crop."""
    from tganaug.training.data import ClipSampler

    config = TINY.replace(sr_scale=4, p_video_aug=0.0)
    n_frames, size = 5, 64
    _, labels = _video_arrays(n_frames, size)
    frames = torch.stack([torch.full((size, size), -0.9 + 0.2 * t) for t in range(n_frames)])  # frame t is flat at -0.9 + 0.2 t
    masks = torch.from_numpy((labels > 0).astype(np.float32))
    background = torch.full((size, size), -0.95)
    video = VideoData("steps", frames, masks, background, downsample_image(frames, 4), downsample_mask(masks, 4), downsample_image(background, 4))
    sampler = ClipSampler([video], config, torch.Generator().manual_seed(0))
    seen = set()
    for _ in range(20):
        batch = sampler.sample_frames(3, 32, history=1)
        assert batch["lr_masks"].shape == (3, 2, 8, 8) and batch["lr_prev"].shape == batch["lr_background"].shape == (3, 1, 8, 8)
        for hr, m, lr_masks, prev, bg in zip(batch["hr"], batch["masks"], batch["lr_masks"], batch["lr_prev"], batch["lr_background"]):
            t = round((float(hr.mean()) + 0.9) / 0.2)
            seen.add(t)
            expected_prev = -0.95 if t == 0 else -0.9 + 0.2 * (t - 1)
            assert torch.allclose(prev, torch.full_like(prev, expected_prev)) and torch.allclose(bg, torch.full_like(bg, -0.95))
            assert torch.equal(lr_masks[-1], downsample_mask(m[0], 4))  # the current mask, same crop
            if t == 0:
                assert torch.equal(lr_masks[0], lr_masks[1])  # no earlier mask: frame 0's repeated
    assert 0 in seen and len(seen) == n_frames
    # turned and flipped crops keep the low-res inputs aligned with the full-resolution ones
    turned = ClipSampler([_video(config)], config.replace(p_video_aug=1.0), torch.Generator().manual_seed(1))
    for _ in range(5):
        batch = turned.sample_frames(2, 32, history=1)
        assert torch.equal(batch["lr_masks"][:, -1:], downsample_mask(batch["masks"], 4))
    # history=0 draws the same numbers as the call without it
    a = ClipSampler([_video(config)], config, torch.Generator().manual_seed(3)).sample_frames(2, 32)
    b = ClipSampler([_video(config)], config, torch.Generator().manual_seed(3)).sample_frames(2, 32, history=0)
    assert a.keys() == b.keys() == {"hr", "masks", "lr"} and all(torch.equal(a[k], b[k]) for k in a)


def test_sr_stage_trains_on_a_low_res_runs_renderings(tmp_path) -> None:
    config = TINY.replace(sr_scale=4, sr_upsampling="pixel_shuffle", sr_mask_input=True, total_steps=2)
    LowResTrainer(config.replace(total_steps=1), tmp_path / "lowres", data=[_video(config)], progress=False).train()
    with_input = config.replace(sr_lowres_input=str(tmp_path / "lowres"))
    trainer = SRTrainer(with_input, tmp_path / "sr", data=[_video(config)], progress=False)
    assert trainer.lowres_input is not None and not any(p.requires_grad for p in trainer.lowres_input.parameters())
    frozen = {k: v.clone() for k, v in trainer.lowres_input.state_dict().items()}
    seen = []
    trainer.lowres_input.register_forward_hook(lambda module, args, out: seen.append((args, out)))
    trainer.train()
    assert len(seen) == 2 and _states_equal(frozen, trainer.lowres_input.state_dict())  # rendered every step, never trained
    masks, prev, background = seen[0][0][:3]
    assert masks.shape == (2, config.n_masks, 8, 8) and prev.shape == background.shape == (2, 1, 8, 8)
    assert seen[0][1].shape == (2, 1, 8, 8)
    assert json.loads((tmp_path / "sr" / "config.json").read_text())["sr_lowres_input"] == str(tmp_path / "lowres")
    resumed = SRTrainer(None, tmp_path / "sr", data=[_video(config)], progress=False, resume=True)
    assert resumed.lowres_input is not None
    # refused: a missing run, another sr_scale
    with pytest.raises(FileNotFoundError, match="sr_lowres_input: low-res run .*nowhere.* not found"):
        SRTrainer(config.replace(sr_lowres_input=str(tmp_path / "nowhere")), tmp_path / "x", data=[_video(config)], progress=False)
    LowResTrainer(TINY.replace(total_steps=1), tmp_path / "lowres2", data=[_video()], progress=False).train()
    with pytest.raises(ValueError, match="trained with sr_scale 2, this SR config has 4"):
        SRTrainer(config.replace(sr_lowres_input=str(tmp_path / "lowres2")), tmp_path / "y", data=[_video(config)], progress=False)
    # a per-frame model renders with the reference background as its previous frame, as it does at inference
    LowResTrainer(config.replace(total_steps=1, use_previous_frame=False), tmp_path / "pf", data=[_video(config)], progress=False).train()
    per_frame = SRTrainer(config.replace(sr_lowres_input=str(tmp_path / "pf"), total_steps=1), tmp_path / "z", data=[_video(config)], progress=False)
    seen.clear()
    per_frame.lowres_input.register_forward_hook(lambda module, args, out: seen.append((args, out)))
    per_frame.train()
    masks, prev, background = seen[0][0][:3]
    assert len(seen) == 1 and torch.equal(prev, background) and not torch.equal(background, torch.zeros_like(background))
    # the video model above got the real previous frame instead
    trainer = SRTrainer(with_input.replace(total_steps=1), tmp_path / "v", data=[_video(config)], progress=False)
    seen.clear()
    trainer.lowres_input.register_forward_hook(lambda module, args, out: seen.append((args, out)))
    trainer.train()
    assert not torch.equal(seen[0][0][1], seen[0][0][2])


def test_mask_conditioned_x4_sr_trains_and_renders_mask_detail(tmp_path) -> None:
    from tganaug.models.tgan import TGAN

    config = TINY.replace(sr_scale=4, sr_upsampling="pixel_shuffle", sr_mask_input=True, sr_content_sigma=1.0, total_steps=2)
    trainer = SRTrainer(config, tmp_path / "m" / "sr", data=[_video(config)], progress=False)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.train()
    unchanged = [k for k, p in trainer.generator.named_parameters() if torch.equal(before[k], p.detach())]
    assert unchanged == [] and trainer.generator.mask_input
    LowResTrainer(config.replace(total_steps=1), tmp_path / "m" / "lowres", data=[_video(config)], progress=False).train()
    model = TGAN.from_pretrained(tmp_path / "m")
    assert model.sr.mask_input and model.config.sr_scale == 4
    _, labels = _video_arrays(3, 40)
    video = model.generate(labels, seed=0)
    assert video.shape == (3, 40, 40) and np.isfinite(video).all() and 0 <= video.min() and video.max() <= 1
    assert np.array_equal(video, TGAN.from_pretrained(tmp_path / "m").generate(labels, seed=0))
    # one mask pixel less, the same masks on the low-res grid: only the mask-conditioned SR stage can see it
    edited = labels.copy()
    ys, xs = np.nonzero(labels[1] == 1)
    edited[1, int(np.median(ys)), int(np.median(xs))] = 0  # inside the disk: its 4x4 block stays >= half full
    assert np.array_equal(downsample_mask(torch.from_numpy((edited > 0).astype(np.float32)), 4),
                          downsample_mask(torch.from_numpy((labels > 0).astype(np.float32)), 4))
    changed = model.generate(edited, seed=0)
    assert np.array_equal(changed[0], video[0]) and not np.array_equal(changed[1], video[1])
    assert np.array_equal(changed[2], video[2])  # the low-res stage, which feeds the next frame, did not see it
    # the SR config beside the checkpoint must agree on the mask input
    config_path = tmp_path / "m" / "sr" / "config.json"
    data = json.loads(config_path.read_text())
    data["sr_mask_input"] = False
    config_path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="sr_mask_input"):
        TGAN.from_pretrained(tmp_path / "m")


def test_pixel_shuffle_sr_trains_and_loads_beside_a_lowres_of_other_widths(tmp_path) -> None:
    from tganaug.models.tgan import TGAN

    subpixel = TINY.replace(sr_upsampling="pixel_shuffle", total_steps=3)
    trainer = SRTrainer(subpixel, tmp_path / "m" / "sr", data=[_video(subpixel)], progress=False)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.train(until=2)  # after one step the zero-initialised noise scales are non-zero, so the second reaches all
    unchanged = [k for k, p in trainer.generator.named_parameters() if torch.equal(before[k], p.detach())]
    assert unchanged == [] and trainer.generator.decoder.shuffle == 2
    trainer.train()
    # the SR stage is trained on its own, so a low-res run of other widths pairs with it
    LowResTrainer(TINY.replace(g_channels=(4, 4, 8), total_steps=1), tmp_path / "m" / "lowres", data=[_video()], progress=False).train()
    model = TGAN.from_pretrained(tmp_path / "m")
    assert model.sr.decoder.upsampling == "pixel_shuffle" and model.config.g_channels == (4, 4, 8)
    _, labels = _video_arrays(3, 40)
    video = model.generate(labels, seed=0)
    assert video.shape == (3, 40, 40) and np.isfinite(video).all() and 0 <= video.min() and video.max() <= 1
    assert np.array_equal(video, TGAN.from_pretrained(tmp_path / "m").generate(labels, seed=0))
    assert not np.array_equal(video, model.generate(labels, seed=1))
    # the SR config beside the checkpoint must agree on the up-sampling
    config_path = tmp_path / "m" / "sr" / "config.json"
    data = json.loads(config_path.read_text())
    data["sr_upsampling"] = "bilinear"
    config_path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="sr_upsampling"):
        TGAN.from_pretrained(tmp_path / "m")


@pytest.mark.slow
def test_overfit_one_clip_lowers_l1(tmp_path) -> None:
    """100 steps on a single clip (one 3-frame video, crop = whole low-res frame, no augmentation)
    lower the L1 to the real frames to less than 60 % of the first steps' L1."""
    config = TINY.replace(
        total_steps=100, max_clip_len=2, curriculum_steps=0, p_video_aug=0.0, p_diff_aug=0.0, lr_g=5e-3, lr_d=1e-3,
        style_mixing_prob=0.0, log_every=1, sample_every=100, checkpoint_every=1000,
    )
    trainer = LowResTrainer(config, tmp_path / "run", data=[_video(config, n_frames=3)], progress=False)
    trainer.train()
    with (tmp_path / "run" / "log.csv").open() as handle:
        l1 = [float(row["l1"]) for row in csv.DictReader(handle)]
    assert len(l1) == 100
    first, last = np.mean(l1[:5]), np.mean(l1[-5:])
    assert last < 0.6 * first, f"L1 {first:.3f} -> {last:.3f}"


# --- resume -----------------------------------------------------------------------------------------
def test_resume_is_bit_exact(tmp_path) -> None:
    config = TINY.replace(total_steps=6, max_clip_len=3, curriculum_steps=2, p_video_aug=0.5, p_diff_aug=0.5, checkpoint_every=100)
    videos = [_video(seed=0), _video(seed=1)]
    straight = LowResTrainer(config, tmp_path / "a", data=videos, progress=False, seed=3)
    straight.train(until=6)
    half = LowResTrainer(config, tmp_path / "b", data=videos, progress=False, seed=3)
    half.train(until=3)
    del half
    resumed = LowResTrainer(None, tmp_path / "b", data=videos, progress=False, seed=3, resume=True)  # type: ignore[arg-type]
    assert resumed.step == 3
    resumed.train(until=6)
    for name, net in straight.networks().items():
        assert _states_equal(net.state_dict(), resumed.networks()[name].state_dict()), name
    a = load_checkpoint(tmp_path / "a")
    b = load_checkpoint(tmp_path / "b")
    assert torch.equal(a["rng"]["data"], b["rng"]["data"]) and torch.equal(a["rng"]["noise"], b["rng"]["noise"])
    assert a["optimizers"]["generator"]["state"][0]["step"] == b["optimizers"]["generator"]["state"][0]["step"]
    log_a = (tmp_path / "a" / "log.csv").read_text().splitlines()
    log_b = (tmp_path / "b" / "log.csv").read_text().splitlines()
    strip = lambda lines: [",".join(r.split(",")[:3] + r.split(",")[4:]) for r in lines]
    assert strip(log_a) == strip(log_b) and len(log_a) == 7


def test_same_seed_same_training_different_seed_different(tmp_path) -> None:
    config = TINY.replace(total_steps=2)
    runs = [LowResTrainer(config, tmp_path / str(i), data=[_video()], progress=False, seed=s) for i, s in enumerate([0, 0, 1])]
    for run in runs:
        run.train()
    g = [r.generator.state_dict() for r in runs]
    assert _states_equal(g[0], g[1]) and not _states_equal(g[0], g[2])


# --- run directory and checkpoint errors -----------------------------------------------------------------
def test_run_directory_outputs_and_errors(tmp_path) -> None:
    config = TINY.replace(total_steps=4, sample_every=2, log_every=1)
    run = tmp_path / "run"
    LowResTrainer(config, run, data=[_video()], progress=False).train()
    assert json.loads((run / "config.json").read_text()) == config.to_dict()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    from PIL import Image

    montage = np.asarray(Image.open(run / "samples" / "step_000004.png"))
    assert montage.shape[1] == 3 * config.crop_size and montage.shape[0] % config.crop_size == 0  # masks | real | fake
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4] and all(np.isfinite(float(r["g_total"])) for r in rows)
    saved = load_checkpoint(run)
    assert saved["step"] == 4 and saved["mode"] == "lowres" and 0 < saved["default_background"] < 1

    with pytest.raises(OutputExistsError, match="not empty"):
        LowResTrainer(config, run, data=[_video()], progress=False)
    LowResTrainer(config, run, data=[_video()], progress=False, overwrite=True)  # starts over
    assert not (run / "samples").exists()
    with pytest.raises(FileNotFoundError):
        LowResTrainer(config, tmp_path / "empty", data=[_video()], progress=False, resume=True)


def test_resume_with_a_different_config_names_the_mismatch(tmp_path) -> None:
    run = tmp_path / "run"
    LowResTrainer(TINY.replace(total_steps=2), run, data=[_video()], progress=False).train()
    with pytest.raises(CheckpointError, match="g_channels"):
        LowResTrainer(TINY.replace(total_steps=2, g_channels=(4, 8, 16)), run, data=[_video()], progress=False, resume=True)
    with pytest.raises(CheckpointError, match="'lowres' run, not 'sr'"):
        SRTrainer(None, run, data=[_video()], progress=False, resume=True)  # type: ignore[arg-type]


def test_corrupt_checkpoints_give_clear_errors(tmp_path) -> None:
    from tganaug.models.tgan import TGAN

    run = tmp_path / "run"
    LowResTrainer(TINY.replace(total_steps=1), run, data=[_video()], progress=False).train()
    good = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(CheckpointError, match="corrupt"):
        TGAN.from_pretrained(run)
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(run)
    torch.save({"hello": torch.zeros(1)}, run / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="not a tganaug"):
        load_checkpoint(run)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nowhere")


def test_from_pretrained_roundtrip_and_config_mismatch(tmp_path) -> None:
    from tganaug.models.tgan import TGAN

    LowResTrainer(TINY.replace(total_steps=2), tmp_path / "m" / "lowres", data=[_video()], progress=False).train()
    SRTrainer(TINY.replace(total_steps=2), tmp_path / "m" / "sr", data=[_video()], progress=False).train()
    model = TGAN.from_pretrained(tmp_path / "m")
    assert model.sr is not None
    _, labels = _video_arrays(3, 40)
    video = model.generate(labels, seed=0)
    assert video.shape == (3, 40, 40) and 0 <= video.min() and video.max() <= 1
    assert np.array_equal(video, TGAN.from_pretrained(tmp_path / "m").generate(labels, seed=0))
    config_path = tmp_path / "m" / "lowres" / "config.json"
    data = json.loads(config_path.read_text())
    data["g_channels"] = [4, 8, 32]
    config_path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="g_channels"):
        TGAN.from_pretrained(tmp_path / "m")
    with pytest.raises(CheckpointError, match="'sr' checkpoint, expected 'lowres'"):
        TGAN.from_pretrained(tmp_path / "m" / "sr")


# --- CLI and plugin -------------------------------------------------------------------------------------
def _tiny_ctc(path) -> None:
    from tganaug.io import write_ctc

    images, labels = _video_arrays(6, 64)
    lineage = np.array([[i, 0, 5, 0] for i in (1, 2, 3)], np.int64)
    write_ctc(path, labels=labels, lineage=lineage, images=images)
    (path / "splits.json").write_text(json.dumps({"train": [0, 5], "eval": None}))


def test_cli_train_and_resume(tmp_path, capsys) -> None:
    from tganaug.cli import main

    _tiny_ctc(tmp_path / "ctc")
    base = ["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", "tiny", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(base + ["--steps", "4", "--stop-at", "2"]) == 0
    assert load_checkpoint(tmp_path / "run")["step"] == 2
    assert main(["train", "lowres", "--data", str(tmp_path / "ctc"), "--out", str(tmp_path / "run"), "--resume", "--no-progress"]) == 0
    saved = load_checkpoint(tmp_path / "run")
    assert saved["step"] == 4 and saved["config"]["total_steps"] == 4
    assert main(base + ["--steps", "4"]) == 2  # not empty, no --overwrite
    assert "not empty" in capsys.readouterr().err
    assert main(["train", "sr", "--data", str(tmp_path / "ctc"), "--config", "tiny", "--out", str(tmp_path / "sr"), "--steps", "2", "--no-progress"]) == 0
    assert main(["train", "lowres", "--data", str(tmp_path / "missing"), "--config", "tiny", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert main(["train", "lowres", "--config", "tiny", "--out", str(tmp_path / "y")]) == 2
    assert main(["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", "nope", "--out", str(tmp_path / "z")]) == 2


def test_cli_resume_refuses_other_data_split_or_seed_and_overwrite_checks_inputs_first(tmp_path, capsys) -> None:
    import shutil

    from tganaug.cli import main

    _tiny_ctc(tmp_path / "ctc")
    shutil.copytree(tmp_path / "ctc", tmp_path / "other")
    run = tmp_path / "run"
    start = ["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", "tiny", "--out", str(run), "--no-progress"]
    assert main(start + ["--steps", "4", "--stop-at", "2", "--seed", "3"]) == 0
    saved = load_checkpoint(run)
    assert saved["frames"] == "train" and saved["seed"] == 3 and saved["data"] == ["ctc"]
    resume = ["train", "lowres", "--out", str(run), "--resume", "--no-progress"]
    for extra, message in (
        (["--data", str(tmp_path / "other")], r"trained on \['ctc'\], not \['other'\]"),
        (["--data", str(tmp_path / "ctc"), "--frames-split", "all"], "started with frames split 'train', not 'all'"),
        (["--data", str(tmp_path / "ctc"), "--seed", "0"], "started with seed 3, not 0"),
    ):
        assert main(resume + extra) == 2
        assert re.search(message, capsys.readouterr().err)
    assert load_checkpoint(run)["step"] == 2  # nothing was trained by the refused runs
    # the run's own split and seed when not given; a new checkpointing rate is taken, not silently dropped
    (tmp_path / "every.json").write_text(json.dumps({**TINY.to_dict(), "total_steps": 4, "checkpoint_every": 1, "log_every": 2}))
    assert main(resume + ["--data", str(tmp_path / "ctc"), "--config", str(tmp_path / "every.json"), "--stop-at", "3"]) == 0
    assert json.loads((run / "config.json").read_text())["log_every"] == 2 and load_checkpoint(run)["seed"] == 3
    # --overwrite with a mistyped --data: refused before the run is touched
    assert main(start + ["--steps", "4", "--overwrite", "--data", str(tmp_path / "typo")]) == 2
    assert load_checkpoint(run)["step"] == 3 and (run / "log.csv").is_file()


def test_training_reads_every_annotated_sequence_of_a_folder(tmp_path) -> None:
    from tganaug.io import write_ctc
    from tganaug.training.data import load_videos, training_sequences

    _tiny_ctc(tmp_path / "ctc")
    images, labels = _video_arrays(6, 64, seed=1)
    write_ctc(tmp_path / "two", labels=labels, lineage=np.array([[i, 0, 5, 0] for i in (1, 2, 3)]), images=images)
    import shutil

    for name in ("01", "01_GT"):
        shutil.copytree(tmp_path / "ctc" / name, tmp_path / "ctc" / name.replace("01", "02"))
        shutil.copytree(tmp_path / "two" / name, tmp_path / "ctc" / name.replace("01", "04"))
    shutil.copytree(tmp_path / "two" / "01", tmp_path / "ctc" / "03")  # raw frames only: not used
    # a sequence without a declared split is refused, never given sequence 01's frames
    with pytest.raises(ValueError, match=r"no train/eval split known for sequence 02 of dataset 'ctc'"):
        load_videos([tmp_path / "ctc"], "train", TINY)
    (tmp_path / "ctc" / "splits.json").write_text(json.dumps(
        {"01": {"train": [0, 5], "eval": None}, "02": {"train": [1, 4], "eval": None}, "04": {"train": None, "eval": "all"}}))
    videos = load_videos([tmp_path / "ctc"], "train", TINY)
    assert [(v.name, v.sequence, v.frames) for v in videos] == [("ctc", "01", (0, 5)), ("ctc/02", "02", (1, 4))]
    assert torch.equal(videos[0].masks[1:5], videos[1].masks) and videos[0].images.shape[0] == 6
    choices = [c.to_dict() for c in training_sequences([tmp_path / "ctc"], "train")]
    assert choices[2]["sequence"] == "04" and choices[2]["frames"] is None and choices[2]["skipped"].startswith("evaluation-only")
    assert [v.sequence for v in load_videos([tmp_path / "ctc"], "all", TINY)] == ["01", "02", "04"]  # asked for: every frame
    assert [v.name for v in load_videos([tmp_path / "ctc"], "train", TINY, sequences=["02"])] == ["ctc"]
    with pytest.raises(ValueError, match=r"ctc: no sequence has train frames to train on \(sequence 04: evaluation-only"):
        load_videos([tmp_path / "ctc"], "train", TINY, sequences=["04"])
    shutil.copytree(tmp_path / "two" / "01_GT", tmp_path / "gt-only" / "01_GT")
    (tmp_path / "gt-only" / "splits.json").write_text(json.dumps({"train": [0, 5]}))
    with pytest.raises(ValueError, match="gt-only: no sequence with both raw frames"):
        load_videos([tmp_path / "gt-only"], "train", TINY)


def test_a_run_saved_before_all_sequences_were_read_resumes_on_its_first_ones(tmp_path) -> None:
    import shutil

    from tganaug.training.checkpoint import save_checkpoint

    _tiny_ctc(tmp_path / "ctc")
    for name in ("01", "01_GT"):
        shutil.copytree(tmp_path / "ctc" / name, tmp_path / "ctc" / name.replace("01", "02"))
    (tmp_path / "ctc" / "splits.json").write_text(json.dumps({"01": {"train": [0, 5]}, "02": {"train": [0, 5]}}))
    run = tmp_path / "run"
    LowResTrainer(TINY.replace(total_steps=4), run, data=[tmp_path / "ctc"], progress=False).train(until=2)
    old = load_checkpoint(run)
    old["data"] = ["ctc"]  # what a checkpoint saved before the split was recorded looked like
    old.pop("frames")
    old.pop("config_obj")
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in old.items() if k not in ("format", "version")})
    resumed = LowResTrainer(None, run, data=[tmp_path / "ctc"], progress=False, resume=True)
    assert resumed.data_names == ["ctc"] and resumed.step == 2


def test_a_config_file_inside_a_new_run_directory_is_refused(tmp_path, capsys) -> None:
    from tganaug.cli import main

    _tiny_ctc(tmp_path / "ctc")
    (tmp_path / "run").mkdir()
    mine = tmp_path / "run" / "config.json"
    mine.write_text(json.dumps({**TINY.to_dict(), "total_steps": 7}))
    assert main(["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", str(mine), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "is the run directory's config.json" in capsys.readouterr().err
    assert json.loads(mine.read_text())["total_steps"] == 7
    (tmp_path / "run" / "sub").mkdir()
    kept = tmp_path / "run" / "sub" / "mine.json"  # not a file a run writes: --overwrite refuses the folder, naming it
    kept.write_text(json.dumps({**TINY.to_dict(), "total_steps": 2}))
    assert main(["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", str(kept), "--out", str(tmp_path / "run"),
                 "--overwrite", "--no-progress"]) == 2
    assert "holds sub (1 entry) that tganaug did not write there" in capsys.readouterr().err
    assert json.loads(kept.read_text())["total_steps"] == 2 and json.loads(mine.read_text())["total_steps"] == 7


def test_a_run_that_never_checkpointed_does_not_block_a_new_start(tmp_path, capsys) -> None:
    from tganaug.cli import main

    _tiny_ctc(tmp_path / "ctc")
    start = ["train", "lowres", "--data", str(tmp_path / "ctc"), "--config", "tiny", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(start + ["--stop-at", "200"]) == 2  # beyond the tiny schedule's 100 steps, after config.json was written
    assert "cannot train to step 200" in capsys.readouterr().err
    assert main(start + ["--steps", "2"]) == 0  # only the run's own leftovers there: no --overwrite needed
    (tmp_path / "run" / "notes.txt").write_text("mine")
    (tmp_path / "run" / "checkpoint.pt").unlink()
    assert main(start + ["--steps", "2"]) == 2  # something of the user's: refused as before
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"log_every": 0}, "'log_every' must be >= 1"),
        ({"crop_size": -32}, "'crop_size' must be >= 1"),
        ({"g_channels": (4, 0, 8)}, "'g_channels' must list positive integer widths"),
        ({"norm_percentiles": (99.8, 1.0)}, "'norm_percentiles' must be two percentiles 0 <= low < high <= 100"),
        ({"norm_percentiles": (1.0,)}, "'norm_percentiles' must be two percentiles"),
        ({"onecycle_pct_start": float("nan")}, "'onecycle_pct_start' must be a finite number"),
        ({"grad_clip": float("nan")}, "'grad_clip' must be a finite number"),
        ({"style_mixing_prob": 5.0}, "'style_mixing_prob' must be >= 0 and <= 1"),
        ({"latent_dim": 0}, "'latent_dim' must be >= 1"),
        ({"lr_g": 0.0}, "'lr_g' must be > 0"),
    ],
)
def test_config_values_out_of_range_are_named(changes, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TINY.replace(**changes)
    with pytest.raises(ValueError, match=re.escape(message)):
        TGANConfig.from_dict({**TINY.to_dict(), **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}})


def test_diverging_training_stops_with_a_clear_error(tmp_path, monkeypatch) -> None:
    trainer = LowResTrainer(TINY.replace(total_steps=3), tmp_path / "run", data=[_video()], progress=False)
    real_step = trainer.train_step
    monkeypatch.setattr(trainer, "train_step", lambda: ({**real_step()[0], "g_total": float("nan")}, real_step()[1]))
    with pytest.raises(ValueError, match="the generator loss is nan at step 1"):
        trainer.train()


def test_generator_plugin(tmp_path) -> None:
    from tganaug.generation import GenerationConfig, prepare_output, render_video
    from tganaug.io import read_ctc
    from tganaug.registry import get_plugin
    from tganaug.training.checkpoint import export_generator

    LowResTrainer(TINY.replace(total_steps=1), tmp_path / "run", data=[_video()], progress=False).train()
    generator = get_plugin("generator", "tgan", model=str(tmp_path / "run"))
    _, labels = _video_arrays(2, 36)
    video = generator.generate(labels, seed=1)
    assert video.shape == (2, 36, 36) and video.dtype == np.float32 and 0 <= video.min() and video.max() <= 1
    # streaming from an iterator of frames gives the same frames
    streamed = np.stack(list(generator.iter_frames(iter(list(labels)), seed=1)))
    np.testing.assert_array_equal(streamed, video)
    # the exported inference checkpoint is smaller and generates the same video
    exported = export_generator(tmp_path / "run", tmp_path / "export" / "lowres", card={"note": "test"})
    assert exported.stat().st_size < (tmp_path / "run" / "checkpoint.pt").stat().st_size
    again = get_plugin("generator", "tgan", model=str(tmp_path / "export")).generate(labels, seed=1)
    np.testing.assert_array_equal(again, video)
    # the main job renders with it, frame by frame
    config = GenerationConfig(generator="tgan", generator_config={"model": str(tmp_path / "export")}, simulator="random-walk",
                              frames=3, height=32, width=32)
    prepare_output(tmp_path / "set", config)
    render_video(config, 0, tmp_path / "set", generator, get_plugin("simulator", "random-walk"), progress=False)
    assert read_ctc(tmp_path / "set").images.shape == (3, 32, 32)
    with pytest.raises(FileNotFoundError, match="neither a shipped name"):
        get_plugin("generator", "tgan", model="no-such-model")
    with pytest.raises(ValueError, match=r"mask frame 1 must be \(H, W\)"):
        list(generator.iter_frames([labels[0], labels]))


def test_per_frame_baseline_ignores_previous_frames(tmp_path) -> None:
    """use_previous_frame=False: every frame depends only on its own mask (the per-frame baseline)."""
    from tganaug.models.tgan import TGAN

    config = TINY.replace(total_steps=1, use_previous_frame=False, n_masks=1, w_flow=0.0, w_temporal=0.0)
    LowResTrainer(config, tmp_path / "run", data=[_video()], progress=False).train()
    model = TGAN.from_pretrained(tmp_path / "run")
    _, labels = _video_arrays(3, 36)
    video = model.generate(labels, seed=2, use_sr=False)
    # frame 2 generated after frames 0-1, or alone: the same (only the noise stream differs, so compare
    # against a 3-frame video whose first two masks differ)
    other = labels.copy()
    other[:2] = 0
    np.testing.assert_allclose(model.generate(other, seed=2, use_sr=False)[2], video[2], atol=1e-6)
