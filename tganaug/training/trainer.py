"""Resumable tGAN training loops: low-res video-to-video (G + D + FlowNet) and super-resolution.

A run directory holds::

    config.json          the TGANConfig (also inside the checkpoint)
    checkpoint.pt        latest checkpoint: networks, optimizers, schedulers, AMP scaler, RNG states
    log.csv              scalar losses every ``log_every`` steps (TensorBoard too when installed)
    samples/step_NNNNNN.png   montage masks | real | generated every ``sample_every`` steps

Every random draw comes from torch generators whose states are checkpointed, so training N steps
straight equals N/2 steps + resume + N/2 steps bit for bit on CPU.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from monai.losses import SSIMLoss
from torch import nn

from tganaug.models.config import TGANConfig
from tganaug.models.discriminator import AttentionPatchDiscriminator
from tganaug.models.flownet import FlowNet
from tganaug.models.lowres_generator import LowResGenerator
from tganaug.models.sr_generator import SRGenerator
from tganaug.training.augment import diff_augment
from tganaug.training.background import reference_backgrounds
from tganaug.training.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    load_network_state,
    save_checkpoint,
)
from tganaug.training.data import ClipSampler, VideoData, clip_length, load_videos, training_sequences
from tganaug.training.distributed import Distributed
from tganaug.training.losses import (
    PerceptualLoss,
    flow_loss,
    flow_training_loss,
    gaussian_blur,
    lsgan_loss,
    shipped_weights_path,
    temporal_warp_loss,
)
from tganaug.utils.device import check_device
from tganaug.utils.fsutil import (OutputExistsError, OutputKind, atomic_write_bytes, check_replaceable, foreign_entries, not_empty_message,
                                  output_kind_of, write_output_record)
from tganaug.utils.termination import raise_if_terminated

__all__ = ["TRAINING_RUN", "LowResTrainer", "SRTrainer", "make_optimizer", "make_scheduler", "make_trainer", "montage"]

_RUN_FILES = (CHECKPOINT_NAME, "config.json", "log.csv", "samples", "tensorboard")


def _is_training_run(folder: Path) -> bool:
    """A run directory written before the ownership record existed: its ``config.json`` is a :class:`TGANConfig`."""
    try:
        TGANConfig.from_dict(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError, TypeError):
        return False
    return True


#: what a training run directory holds (see the module docstring); runs of earlier versions are recognised by their config.json
TRAINING_RUN = OutputKind("tgan-training-run", _RUN_FILES, "a tGAN training run written by tganaug train", _is_training_run)
#: config keys a resumed run may be given other values of (how often it logs, samples and checkpoints; its name)
_RESUME_MAY_CHANGE = ("log_every", "sample_every", "checkpoint_every", "name")


def _same_as_saved(what: str, given: Any, saved: Any) -> Any:
    """The value a resumed run uses: the saved one; ``CheckpointError`` when ``given`` (not None) differs from it."""
    if given is not None and saved is not None and given != saved:
        raise CheckpointError(f"the run was started with {what} {saved!r}, not {given!r}: resume with the same one or start a new run")
    return saved if saved is not None else given


def _remove_run_files(out_dir: Path) -> None:
    """Remove what a run writes into ``out_dir`` (nothing else there is touched)."""
    for name in _RUN_FILES:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def make_optimizer(params: Any, config: TGANConfig, lr: float) -> torch.optim.Optimizer:
    """Adam(0.5, 0.999) or RMSprop (paper) at ``lr``."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TGANConfig, lr: float) -> torch.optim.lr_scheduler.LRScheduler:
    """OneCycle over exactly ``config.total_steps`` optimizer steps (one ``step()`` per training step),
    using ``lr / (div_factor * final_div_factor)`` = ``lr / 1e4`` on the last step.

    The warm-up fraction is raised to at least 1.5 steps (OneCycle divides by zero below one step);
    runs shorter than 4 steps use a constant LR.
    """
    if config.total_steps < 4:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _step: 1.0)
    pct_start = min(max(config.onecycle_pct_start, 1.5 / config.total_steps), 0.5)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=config.total_steps, pct_start=pct_start, cycle_momentum=False)


def montage(columns: Sequence[torch.Tensor], signed: Sequence[bool]) -> np.ndarray:
    """Grid image: each column a ``(T, h, w)`` tensor, frames as rows; ``signed[k]``: column ``k`` is in
    [-1, 1] (rescaled to [0, 1]) rather than [0, 1].

    Returns ``(T*h, n_cols*w) uint8``.
    """
    cols = []
    for column, in_signed_range in zip(columns, signed):
        c = column.detach().float().cpu()
        if in_signed_range:
            c = (c + 1) / 2
        cols.append(torch.cat(list(c.clamp(0, 1)), dim=0))
    grid = torch.cat(cols, dim=1)
    return (grid.numpy() * 255).round().astype(np.uint8)


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


class _Trainer:
    """Shared machinery: run directory, generators, checkpoint/resume, logging, the step loop."""

    mode = ""
    log_fields: tuple[str, ...] = ()
    sample_signed: tuple[bool, ...] = ()  # per sample-montage column: in [-1, 1] (else [0, 1])

    def __init__(
        self,
        config: TGANConfig,
        out_dir: str | Path,
        *,
        data: Sequence[str | Path] | Sequence[VideoData] = (),
        frames: str | None = None,
        sequences: Sequence[str] | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.device = check_device(device)
        self.dist = Distributed()
        self.progress = progress
        self.resume_from: dict[str, Any] | None = None
        clear_run_files = False
        if resume:
            saved = load_checkpoint(self.out_dir / CHECKPOINT_NAME)
            if saved["mode"] != self.mode:
                raise CheckpointError(f"{self.out_dir} holds a {saved['mode']!r} run, not {self.mode!r}")
            saved_config: TGANConfig = saved["config_obj"]
            if config is not None:
                diffs = [k for k, v in config.to_dict().items() if k not in _RESUME_MAY_CHANGE and saved["config"].get(k) != v]
                if diffs:
                    shown = "; ".join(f"{k}: run {saved['config'].get(k)!r} != given {config.to_dict()[k]!r}" for k in diffs[:5])
                    raise CheckpointError(f"the given config differs from the run's saved config ({shown}); omit --config to resume")
                # how often to log, sample and checkpoint may change; the run's name and everything else may not
                saved_config = saved_config.replace(**{k: getattr(config, k) for k in _RESUME_MAY_CHANGE if k != "name"})
            config = saved_config
            seed = _same_as_saved("seed", seed, saved.get("seed"))
            frames = _same_as_saved("frames split", frames, saved.get("frames"))  # None in checkpoints saved before it was
            sequences = _same_as_saved("sequences", None if sequences is None else list(sequences), saved.get("sequences"))
            self.resume_from = saved
        else:
            if self.out_dir.exists() and not self.out_dir.is_dir():
                raise NotADirectoryError(f"output path {self.out_dir} exists and is not a directory")
            if self.out_dir.is_dir() and any(self.out_dir.iterdir()) and self.dist.is_main:
                # a run of this version that never checkpointed holds nothing to resume: started over without --overwrite
                leftovers_only = (output_kind_of(self.out_dir) == TRAINING_RUN.name and not (self.out_dir / CHECKPOINT_NAME).exists()
                                  and not foreign_entries(self.out_dir, TRAINING_RUN))
                if not (overwrite or leftovers_only):
                    resumable = " (or --resume to continue it)" if (self.out_dir / CHECKPOINT_NAME).is_file() else ""
                    raise OutputExistsError(not_empty_message(self.out_dir, TRAINING_RUN, "run directory") + resumable)
                check_replaceable(self.out_dir, TRAINING_RUN, "run directory")  # nothing tganaug did not write is there
                clear_run_files = True  # once the data and config are known to be good
        config.validate()
        self.config = config
        seed = 0 if seed is None else seed
        self.frames = "train" if frames is None else frames
        self.sequences = None if sequences is None else list(sequences)
        self.seed = seed
        torch.manual_seed(seed)
        self.data_gen = torch.Generator().manual_seed(seed)
        self.aug_gen = torch.Generator().manual_seed(seed + 1)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(seed + 2)
        if data and isinstance(next(iter(data)), VideoData):
            self.videos = list(data)  # type: ignore[arg-type]
            #: which sequences and frames the run reads, and which it skips (and why)
            self.data_sequences = [{"data": v.name, "sequence": v.sequence, "frames": None if v.frames is None else list(v.frames)}
                                   for v in self.videos]
        else:
            choices = training_sequences(list(data), self.frames, self.sequences)  # type: ignore[arg-type]
            self.data_sequences = [choice.to_dict() for choice in choices]
            self.videos = load_videos(list(data), self.frames, config, self.sequences)  # type: ignore[arg-type]
        self.data_names = [v.name for v in self.videos]
        if self.resume_from is not None and "frames" not in self.resume_from:
            # saved before training read every sequence of a folder: such a run trained on each folder's first one
            first_only = [v for v in self.videos if v.name in self.resume_from.get("data", [])]
            if [v.name for v in first_only] == list(self.resume_from.get("data", [])):
                self.videos, self.data_names = first_only, [v.name for v in first_only]
        if self.resume_from is not None and list(self.resume_from.get("data", self.data_names)) != self.data_names:
            raise CheckpointError(f"the run was trained on {self.resume_from['data']}, not {self.data_names}: resume with the same --data")
        if clear_run_files:
            _remove_run_files(self.out_dir)
        self.default_background = float(np.median([float(torch.median(v.background)) for v in self.videos]) + 1) / 2
        self._references: dict[str, torch.Tensor] | None = None  # clean reference backgrounds, made at the first save
        self.sampler = ClipSampler(self.videos, config, self.data_gen)
        self.amp = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.step = 0
        self.build()
        if self.resume_from is not None:
            self.load_state(self.resume_from)
        self.dist.barrier()  # rank 0 has checked / cleared the run directory
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            write_output_record(self.out_dir, TRAINING_RUN)
            config.save(self.out_dir / "config.json")
        self._tb = None

    # --- to implement --------------------------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def schedulers(self) -> dict[str, Any]:
        raise NotImplementedError

    def train_step(self) -> tuple[dict[str, float], list[torch.Tensor]]:
        raise NotImplementedError

    # --- state ---------------------------------------------------------------------------------
    def _reference_backgrounds(self) -> dict[str, torch.Tensor]:
        """:func:`~tganaug.training.background.reference_backgrounds` of the training videos, computed once (seconds each)."""
        if self._references is None:
            self._references = reference_backgrounds(self.videos)
        return self._references

    def state(self) -> dict[str, Any]:
        """Everything needed to resume exactly."""
        return {
            "mode": self.mode,
            "config": self.config.to_dict(),
            "step": self.step,
            "seed": self.seed,
            "data": self.data_names,
            "frames": self.frames,
            "sequences": self.sequences,
            "data_sequences": self.data_sequences,
            "default_background": self.default_background,
            # only the low-res generator takes a reference background
            **({"reference_backgrounds": self._reference_backgrounds()} if self.mode == "lowres" else {}),
            "models": {k: m.state_dict() for k, m in self.networks().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers().items()},
            "scaler": self.scaler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "data": self.data_gen.get_state(),
                "aug": self.aug_gen.get_state(),
                "noise": self.noise_gen.get_state(),
            },
        }

    def load_state(self, saved: dict[str, Any]) -> None:
        """Restore from a checkpoint dict (see :func:`load_checkpoint`)."""
        for key, module in self.networks().items():
            if key not in saved["models"]:
                raise CheckpointError(f"checkpoint lacks network {key!r}")
            load_network_state(module, saved["models"][key], what=f"{self.mode} {key}")
        for key, opt in self.optimizers().items():
            opt.load_state_dict(saved["optimizers"][key])
        for key, sched in self.schedulers().items():
            sched.load_state_dict(saved["schedulers"][key])
        if saved.get("scaler"):
            self.scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["rng"]["torch"])
        self.data_gen.set_state(saved["rng"]["data"])
        self.aug_gen.set_state(saved["rng"]["aug"])
        self.noise_gen.set_state(saved["rng"]["noise"])
        self.step = int(saved["step"])

    def save(self) -> Path:
        """Write ``checkpoint.pt`` and ``config.json`` atomically."""
        path = self.out_dir / CHECKPOINT_NAME
        if self.dist.is_main:
            save_checkpoint(path, self.state())
            self.config.save(self.out_dir / "config.json")
        self.dist.barrier()
        return path

    # --- logging -------------------------------------------------------------------------------
    def _open_log(self) -> None:
        if not self.dist.is_main:
            return
        path = self.out_dir / "log.csv"
        rows: list[list[str]] = []
        if path.is_file():  # keep the rows up to the resumed step (a crash may have left later ones)
            with path.open(newline="") as handle:
                reader = list(csv.reader(handle))
            rows = [r for r in reader[1:] if r and int(r[0]) <= self.step]
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("step", "lr_g", "clip_len", "seconds") + self.log_fields)
            writer.writerows(rows)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out_dir / "tensorboard"))
        except Exception:  # tensorboard is optional
            self._tb = None

    def _log(self, logs: dict[str, float], seconds: float) -> None:
        if not self.dist.is_main:
            return
        row = [self.step, f"{logs.get('lr_g', float('nan')):.6g}", int(logs.get("clip_len", 1)), f"{seconds:.3f}"] + [f"{logs.get(k, float('nan')):.6g}" for k in self.log_fields]
        with (self.out_dir / "log.csv").open("a", newline="") as handle:
            csv.writer(handle).writerow(row)
        if self._tb is not None:
            for k in self.log_fields:
                if k in logs:
                    self._tb.add_scalar(f"{self.mode}/{k}", logs[k], self.step)

    def _sample(self, columns: list[torch.Tensor]) -> None:
        if not self.dist.is_main:
            return
        (self.out_dir / "samples").mkdir(exist_ok=True)
        atomic_write_bytes(self.out_dir / "samples" / f"step_{self.step:06d}.png", _png_bytes(montage(columns, self.sample_signed)))

    # --- loop ----------------------------------------------------------------------------------
    def train(self, until: int | None = None) -> dict[str, float]:
        """Train up to global step ``until`` (default ``config.total_steps``), then checkpoint.

        Returns the losses of the last step.
        """
        from tqdm.auto import tqdm

        until = self.config.total_steps if until is None else int(until)
        if until > self.config.total_steps:
            raise ValueError(f"cannot train to step {until}: the OneCycle schedule ends at total_steps={self.config.total_steps}")
        self._open_log()
        logs: dict[str, float] = {}
        bar = tqdm(total=until, initial=self.step, disable=not self.progress or not self.dist.is_main, desc=f"train {self.mode}", dynamic_ncols=True)
        try:
            while self.step < until:
                raise_if_terminated()
                start = time.perf_counter()
                lr_used = self.optimizers()["generator"].param_groups[0]["lr"]  # the LR of this step
                logs, columns = self.train_step()
                if not self.amp and not math.isfinite(logs.get("g_total", 0.0)):  # (under AMP the grad scaler skips such steps)
                    raise ValueError(f"the generator loss is {logs['g_total']} at step {self.step + 1} (diverged: lower the learning "
                                     "rates or check the data); the last checkpoint is kept")
                logs["lr_g"] = lr_used
                self.step += 1
                seconds = time.perf_counter() - start
                if self.step % self.config.log_every == 0 or self.step == until:
                    logs = self.dist.average_scalars(logs)  # every rank takes part
                    self._log(logs, seconds)
                if self.step % self.config.sample_every == 0 or self.step == until:
                    self._sample(columns)
                if self.step % self.config.checkpoint_every == 0 and self.step != until:
                    self.save()
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k in ("g_total", "d", "l1", "flow_sup")})
        finally:
            bar.close()
        self.save()
        if self._tb is not None:
            self._tb.close()
        return logs

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: Any) -> None:
        params = list(params)
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.dist.average_gradients(params)
        if self.config.grad_clip > 0:
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()


class LowResTrainer(_Trainer):
    """Low-res video-to-video training: generator + discriminator + FlowNet (trained jointly).

    One training step (clip length from the curriculum):

    1. FlowNet step: self-supervised photometric + smoothness loss on the real pairs of the clip,
       plus a supervised term on real frames warped by known random flows.
    2. The generator runs frame by frame; the first frame's previous-frame input is the reference
       background with probability ``p_first_from_background`` (how every video starts at inference)
       or else the real previous frame; later frames get the previous generated frame. A clip's first
       target frame is never its video's frame 0 (the clip's context frames come before it).
    3. D step on ``[mask t-1, mask t, frame t-1, frame t]`` (DiffAugment on real and fake alike).
    4. G step: ``w_adv`` LSGAN + ``w_l1`` L1 + ``w_perceptual`` perceptual + ``w_flow`` flow +
       ``w_temporal`` temporal-warp loss (+ ``w_ssim`` (1 - SSIM) when it is > 0).
    """

    mode = "lowres"
    # "ssim" last: logs of runs started before it keep their column order
    log_fields = ("g_total", "g_adv", "l1", "perceptual", "flow", "temporal", "d", "flow_photo", "flow_smooth", "flow_sup", "ssim")
    sample_signed = (False, True, True)  # sample columns: masks {0, 1} | real | generated in [-1, 1]

    def build(self) -> None:
        c = self.config
        self.generator = LowResGenerator.from_config(c).to(self.device)
        self.discriminator = AttentionPatchDiscriminator.from_config(c, in_channels=4).to(self.device)
        self.flownet = FlowNet.from_config(c).to(self.device)
        if self.resume_from is None and c.flow_init != "none":
            path = shipped_weights_path("flownet.pt") if c.flow_init == "shipped" else Path(c.flow_init)
            if path.is_file():
                state = torch.load(path, map_location="cpu", weights_only=True)
                shipped_channels = tuple(state.get("info", {}).get("channels", ()))
                if c.flow_init == "shipped" and shipped_channels != tuple(c.flow_channels):
                    warnings.warn(f"shipped FlowNet has channels {shipped_channels}, config {c.flow_channels}: starting from random", stacklevel=2)
                else:
                    load_network_state(self.flownet, state["model"], what=f"pre-trained FlowNet {path}")
            elif c.flow_init != "shipped":
                raise FileNotFoundError(f"FlowNet weights not found: {path}")
        self.perceptual = PerceptualLoss(c.perceptual, c.feature_channels).to(self.device)
        self.ssim_loss = SSIMLoss(spatial_dims=2, data_range=1.0)  # on [0, 1] frames: SSIM is not shift-invariant
        self.opt_g = make_optimizer(self.generator.parameters(), c, c.lr_g)
        self.opt_d = make_optimizer(self.discriminator.parameters(), c, c.lr_d)
        self.opt_f = make_optimizer(self.flownet.parameters(), c, c.lr_flow)
        self.sched_g = make_scheduler(self.opt_g, c, c.lr_g)
        self.sched_d = make_scheduler(self.opt_d, c, c.lr_d)
        self.sched_f = make_scheduler(self.opt_f, c, c.lr_flow)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator, "flownet": self.flownet}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d, "flownet": self.opt_f}

    def schedulers(self) -> dict[str, Any]:
        return {"generator": self.sched_g, "discriminator": self.sched_d, "flownet": self.sched_f}

    def generate_clip(self, clip: dict[str, torch.Tensor], styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run G over a sampled clip. Returns ``fakes (B, L, h, w)`` and the first frame's
        previous-frame input ``(B, 1, h, w)``."""
        c = self.config
        ctx = self.sampler.context
        masks, images, background = clip["masks"], clip["images"], clip["background"]
        batch, total = masks.shape[:2]
        length = total - ctx
        draws = torch.rand(batch * self.dist.world, generator=self.data_gen)[self.dist.local_slice(batch)]
        use_bg = (draws < c.p_first_from_background).view(batch, 1, 1, 1).to(self.device)
        first_prev = torch.where(use_bg, background, images[:, ctx - 1 : ctx]) if c.use_previous_frame else background
        prev = first_prev
        fakes = []
        for i in range(length):
            t = ctx + i
            stack = masks[:, t - c.n_masks + 1 : t + 1]
            with torch.autocast(self.device.type, enabled=self.amp):
                fake = self.generator(stack, prev, background, styles, self.noise_gen).float()
            fakes.append(fake)
            if c.use_previous_frame:
                prev = fake.detach() if c.detach_prev else fake
        return torch.cat(fakes, dim=1), first_prev

    def train_step(self) -> tuple[dict[str, float], list[torch.Tensor]]:
        c = self.config
        length = clip_length(self.step, c)
        mine = self.dist.local_slice(c.batch_size)
        clip = {k: v[mine].to(self.device) for k, v in self.sampler.sample_clip(c.batch_size * self.dist.world, length).items()}
        ctx = self.sampler.context
        images, masks = clip["images"], clip["masks"]
        batch = images.shape[0]
        real = images[:, ctx:]  # (B, L, h, w)
        real_prev = images[:, ctx - 1 : -1]
        flat = lambda x: x.reshape(-1, 1, *x.shape[-2:])
        logs: dict[str, float] = {"clip_len": float(length)}

        # 1. FlowNet (jointly trained; the reference code never optimised it)
        f_loss, f_logs = flow_training_loss(
            self.flownet, flat(real_prev), flat(real), smoothness=c.flow_smoothness, supervised=c.flow_supervised, generator=self.aug_gen
        )
        self._backward_step(f_loss, self.opt_f, self.flownet.parameters())
        logs.update(f_logs)

        # 2. generator forward
        styles = self.generator.styles(batch * self.dist.world, mixing_prob=c.style_mixing_prob, generator=self.noise_gen)[mine]
        fake, first_prev = self.generate_clip(clip, styles)
        fake_prev = torch.cat([first_prev, fake[:, :-1]], dim=1)
        mask_pairs = torch.stack([masks[:, ctx - 1 : -1], masks[:, ctx:]], dim=2).reshape(-1, 2, *real.shape[-2:])
        # real and fake alike get the generator's previous-frame input for the clip's first frame
        real_prev_d = torch.cat([first_prev, real[:, :-1]], dim=1)
        d_real_in = torch.cat([mask_pairs, flat(real_prev_d), flat(real)], dim=1)
        d_fake_in = torch.cat([mask_pairs, flat(fake_prev), flat(fake)], dim=1)

        # 3. discriminator
        with torch.autocast(self.device.type, enabled=self.amp):
            d_real = self.discriminator(diff_augment(d_real_in, c.diff_aug_policy, c.p_diff_aug, self.aug_gen))
            d_fake = self.discriminator(diff_augment(d_fake_in.detach(), c.diff_aug_policy, c.p_diff_aug, self.aug_gen))
            d_loss = 0.5 * (lsgan_loss(d_real, True, True) + lsgan_loss(d_fake, False, True))
        self._backward_step(d_loss, self.opt_d, self.discriminator.parameters())
        logs["d"] = float(d_loss.detach())

        # 4. generator losses
        self.discriminator.requires_grad_(False)
        self.flownet.requires_grad_(False)
        try:
            with torch.autocast(self.device.type, enabled=self.amp):
                g_adv = lsgan_loss(self.discriminator(diff_augment(d_fake_in, c.diff_aug_policy, c.p_diff_aug, self.aug_gen)), True, False)
            l1 = F.l1_loss(fake, real)
            perc = self.perceptual(flat(fake), flat(real)) if c.w_perceptual > 0 else fake.new_zeros(())
            flw = flow_loss(self.flownet, flat(real_prev), flat(real), flat(fake)) if c.w_flow > 0 else fake.new_zeros(())
            if length > 1 and c.w_temporal > 0:
                temporal = temporal_warp_loss(self.flownet, flat(real_prev[:, 1:]), flat(real[:, 1:]), flat(fake[:, :-1]), flat(fake[:, 1:]),
                                              c.temporal_target)
            else:
                temporal = fake.new_zeros(())
            structural = self.ssim_loss((flat(fake) + 1) / 2, (flat(real) + 1) / 2) if c.w_ssim > 0 else fake.new_zeros(())
            g_loss = c.w_adv * g_adv + c.w_l1 * l1 + c.w_perceptual * perc + c.w_flow * flw + c.w_temporal * temporal + c.w_ssim * structural
            self._backward_step(g_loss, self.opt_g, self.generator.parameters())
        finally:
            self.discriminator.requires_grad_(True)
            self.flownet.requires_grad_(True)
        for sched in (self.sched_f, self.sched_d, self.sched_g):
            sched.step()
        logs.update({k: float(v.detach()) for k, v in dict(g_total=g_loss, g_adv=g_adv, l1=l1, perceptual=perc, flow=flw, temporal=temporal,
                                                                  ssim=structural).items()})
        return logs, [masks[0, ctx:], real[0], fake[0].detach()]


class SRTrainer(_Trainer):
    """Super-resolution training on real frames: area-downsampled crop -> original crop.

    With ``sr_lowres_input`` (a trained low-res run) the input is instead that low-res generator's rendering
    of the crop (frozen, no gradient; real masks t-n+1..t, real frame t-1 (the reference background for a
    per-frame model, as at inference), reference background; fresh
    styles and noise from the trainer's noise generator), so the SR stage trains on the kind of frame it
    gets at inference.

    Loss: ``sr_w_adv`` LSGAN + ``sr_w_perceptual`` perceptual + ``sr_w_l1`` L1, the last two on frames blurred by
    ``sr_content_sigma`` pixels when it is > 0 (:func:`~tganaug.training.losses.gaussian_blur`); D sees
    ``[bilinear-upsampled low-res, high-res]`` with DiffAugment on real and fake alike.
    """

    mode = "sr"
    log_fields = ("g_total", "g_adv", "l1", "perceptual", "d")
    sample_signed = (True, True, True)  # sample columns: up-sampled low-res | real | generated, all in [-1, 1]

    def build(self) -> None:
        c = self.config
        self.generator = SRGenerator.from_config(c).to(self.device)
        self.discriminator = AttentionPatchDiscriminator.from_config(c, in_channels=2).to(self.device)
        self.perceptual = PerceptualLoss(c.perceptual, c.feature_channels).to(self.device)
        self.opt_g = make_optimizer(self.generator.parameters(), c, c.lr_g)
        self.opt_d = make_optimizer(self.discriminator.parameters(), c, c.lr_d)
        self.sched_g = make_scheduler(self.opt_g, c, c.lr_g)
        self.sched_d = make_scheduler(self.opt_d, c, c.lr_d)
        self.lowres_input, self.lowres_input_config = self._lowres_input_generator()

    def _lowres_input_generator(self) -> tuple[LowResGenerator | None, TGANConfig | None]:
        """The frozen low-res generator of ``sr_lowres_input`` and its config, or Nones (input = real frames down-sampled)."""
        path = self.config.sr_lowres_input
        if not path:
            return None, None
        if not Path(path).exists():
            raise FileNotFoundError(f"sr_lowres_input: low-res run {path!r} not found")
        from tganaug.models.tgan import load_lowres_generator

        lowres, lowres_config = load_lowres_generator(path)
        if lowres_config.sr_scale != self.config.sr_scale:
            raise ValueError(f"sr_lowres_input {path!r} was trained with sr_scale {lowres_config.sr_scale}, this SR config has {self.config.sr_scale}")
        grid = self.config.sr_crop_size // self.config.sr_scale
        if grid % lowres.divisor:
            raise ValueError(f"sr_crop_size / sr_scale = {grid} must be a multiple of {lowres.divisor} for the low-res run {path!r}")
        return lowres.to(self.device).requires_grad_(False), lowres_config

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def schedulers(self) -> dict[str, Any]:
        return {"generator": self.sched_g, "discriminator": self.sched_d}

    def train_step(self) -> tuple[dict[str, float], list[torch.Tensor]]:
        c = self.config
        mine = self.dist.local_slice(c.batch_size)
        history = self.lowres_input.n_masks - 1 if self.lowres_input is not None else 0
        sampled = self.sampler.sample_frames(c.batch_size * self.dist.world, c.sr_crop_size, history=history)
        batch = {k: v[mine].to(self.device) for k, v in sampled.items()}
        hr, lr = batch["hr"], batch["lr"]
        if self.lowres_input is not None:
            # a per-frame model (use_previous_frame false) gets the reference background as its previous frame, as at inference
            prev = batch["lr_prev"] if self.lowres_input_config.use_previous_frame else batch["lr_background"]
            with torch.no_grad():
                lr = self.lowres_input(batch["lr_masks"], prev, batch["lr_background"], None, self.noise_gen)
        masks = batch["masks"] if c.sr_mask_input else None
        up = F.interpolate(lr, scale_factor=c.sr_scale, mode="bilinear", align_corners=False)
        styles = self.generator.styles(hr.shape[0] * self.dist.world, mixing_prob=c.style_mixing_prob, generator=self.noise_gen)[mine]
        with torch.autocast(self.device.type, enabled=self.amp):
            fake = self.generator(lr, styles, self.noise_gen, masks=masks).float()
            d_real = self.discriminator(diff_augment(torch.cat([up, hr], 1), c.diff_aug_policy, c.p_diff_aug, self.aug_gen))
            d_fake = self.discriminator(diff_augment(torch.cat([up, fake.detach()], 1), c.diff_aug_policy, c.p_diff_aug, self.aug_gen))
            d_loss = 0.5 * (lsgan_loss(d_real, True, True) + lsgan_loss(d_fake, False, True))
        self._backward_step(d_loss, self.opt_d, self.discriminator.parameters())
        self.discriminator.requires_grad_(False)
        try:
            with torch.autocast(self.device.type, enabled=self.amp):
                g_adv = lsgan_loss(self.discriminator(diff_augment(torch.cat([up, fake], 1), c.diff_aug_policy, c.p_diff_aug, self.aug_gen)), True, False)
            # content losses on blurred frames when sr_content_sigma > 0: the pixel noise is left to the adversarial term
            fake_content, hr_content = gaussian_blur(fake, c.sr_content_sigma), gaussian_blur(hr, c.sr_content_sigma)
            l1 = F.l1_loss(fake_content, hr_content)
            perc = self.perceptual(fake_content, hr_content) if c.sr_w_perceptual > 0 else fake.new_zeros(())
            g_loss = c.sr_w_adv * g_adv + c.sr_w_l1 * l1 + c.sr_w_perceptual * perc
            self._backward_step(g_loss, self.opt_g, self.generator.parameters())
        finally:
            self.discriminator.requires_grad_(True)
        self.sched_d.step()
        self.sched_g.step()
        logs = {k: float(v.detach()) for k, v in dict(g_total=g_loss, g_adv=g_adv, l1=l1, perceptual=perc, d=d_loss).items()}
        logs["clip_len"] = 1.0
        return logs, [up[:4, 0], hr[:4, 0], fake[:4, 0].detach()]


def make_trainer(mode: str, config: TGANConfig | None, out_dir: str | Path, **kwargs: Any) -> _Trainer:
    """``LowResTrainer`` (``mode="lowres"``) or ``SRTrainer`` (``"sr"``); ``config`` may be None on resume."""
    classes = {"lowres": LowResTrainer, "sr": SRTrainer}
    if mode not in classes:
        raise ValueError(f"unknown training mode {mode!r}; choose lowres or sr")
    if config is None and not kwargs.get("resume"):
        raise ValueError("a config is needed to start a run")
    return classes[mode](config, out_dir, **kwargs)  # type: ignore[arg-type]
