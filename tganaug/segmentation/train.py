"""Train the 3-class segmenter on any tganaug video dataset (real, synthetic or mixed); resumable."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.losses import DiceCELoss
from tqdm import tqdm

from tganaug.data.normalize import fit_normalization
from tganaug.segmentation.model import SegmenterConfig, UNetSegmenter, build_network
from tganaug.segmentation.targets import instance_targets
from tganaug.utils.fsutil import OutputExistsError, OutputKind, atomic_write_bytes, describe_entries, output_kind_of, write_output_record
from tganaug.utils.termination import raise_if_terminated

__all__ = ["SEGMENTER_RUN", "train_segmenter"]

STATE_FILE = "training_state.pt"
MODEL_FILE = "model.pt"
#: the files a segmenter training writes into its folder (earlier versions: recognised by their training state)
SEGMENTER_RUN = OutputKind("segmenter-run", (STATE_FILE, MODEL_FILE, "model.json"), "a segmenter training run",
                           lambda folder: (folder / STATE_FILE).is_file())


def _check_run_folder(out_dir: Path) -> None:
    """Refuse an ``out_dir`` whose ``model.pt`` / ``model.json`` / ``training_state.pt`` a segmenter training did not
    write (they would be replaced); other files there are left alone."""
    recorded = output_kind_of(out_dir)
    if recorded == SEGMENTER_RUN.name or (recorded is None and SEGMENTER_RUN.recognise(out_dir)):
        return
    if recorded is not None:
        raise OutputExistsError(f"{out_dir} is a tganaug {recorded!r} output, not a segmenter training run: choose an empty or new folder")
    taken = [name for name in SEGMENTER_RUN.entries if (out_dir / name).exists()]
    if taken:
        raise OutputExistsError(f"{out_dir} holds {describe_entries(taken)} that no segmenter training wrote there; training "
                                "would replace them: choose an empty or new folder, or move those files out first")


def _batch(dataset: Any, step: int, batch_size: int, seed: int, percentiles: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of ``batch_size`` items chosen by ``(seed, step)``: ``(B*T, 1, H, W)`` images, ``(B*T, H, W)`` classes."""
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(step)
    rng = np.random.default_rng([seed, step])
    images, targets = [], []
    for index in rng.integers(0, len(dataset), batch_size).tolist():
        item = dataset[index]
        video = item["image"].numpy()[:, 0]  # (T, H, W) in [0, 1]
        # the same per-video percentile normalisation as at inference
        video = fit_normalization(video, "percentile", percentiles)(video)
        images.append(torch.from_numpy(video)[:, None])
        targets.append(torch.from_numpy(instance_targets(item["label"].numpy())))
    return torch.cat(images), torch.cat(targets)


def train_segmenter(
    dataset: Any,
    out_dir: str | Path,
    steps: int = 500,
    batch_size: int = 4,
    learning_rate: float = 2e-3,
    config: SegmenterConfig | None = None,
    seed: int = 0,
    checkpoint_every: int = 100,
    meta: dict[str, Any] | None = None,
    resume: bool = True,
    progress: bool = True,
) -> Path:
    """Train on ``dataset`` items (``image (T,1,H,W)``, ``label (T,H,W)``); return the model checkpoint path.

    Every ``checkpoint_every`` steps the full training state (network, optimiser, step) is written
    atomically to ``out_dir/training_state.pt``; with ``resume`` a run continues from it, giving the
    same weights as an uninterrupted run. The final model is ``out_dir/model.pt`` (+ ``model.json``). A folder
    holding such files that no segmenter training wrote is refused (:data:`SEGMENTER_RUN`); other files there
    are left alone.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    if len(dataset) == 0:
        raise ValueError("the training dataset is empty")
    out_dir = Path(out_dir)
    if out_dir.is_dir():
        _check_run_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_output_record(out_dir, SEGMENTER_RUN)
    config = config or SegmenterConfig()
    torch.manual_seed(seed)
    network = build_network(config)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.1)
    # boundary pixels are rare and decide whether touching cells split: weight them up
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True, weight=torch.tensor([1.0, 1.0, 3.0]))
    start = 0
    state_path = out_dir / STATE_FILE
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        # states written before batch_size / learning_rate were saved take the given ones
        same = (state["config"] == config.to_dict() and state["steps"] == steps and state["seed"] == seed
                and state.get("batch_size", batch_size) == batch_size and state.get("learning_rate", learning_rate) == learning_rate)
        if not same:
            raise ValueError(f"{state_path} was written by a run with another config, step count, seed, batch size or learning "
                             "rate; use a new out_dir")
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        start = int(state["step"])
    network.train()
    started = time.perf_counter()
    bar = tqdm(range(start, steps), initial=start, total=steps, desc="segmenter", unit="step", disable=not progress)
    for step in bar:
        raise_if_terminated()
        images, targets = _batch(dataset, step, batch_size, seed, config.percentiles)
        loss = loss_fn(network(images), targets[:, None])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            buffer = io.BytesIO()
            torch.save({"config": config.to_dict(), "steps": steps, "seed": seed, "step": step + 1,
                        "batch_size": batch_size, "learning_rate": learning_rate,
                        "network": network.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()}, buffer)
            atomic_write_bytes(state_path, buffer.getvalue())
    network.eval()
    info = {**(meta or {}), "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
            "cpu_seconds_this_run": round(time.perf_counter() - started, 1)}
    model_path = out_dir / MODEL_FILE
    UNetSegmenter.save(model_path, config, network, info)
    return model_path
