"""Train a tiny MONAI UNet to segment cells on mixed real + synthetic video batches (CPU, ~1 minute).

    python examples/train_mixed.py [--steps 60] [--real ../shared/data/Fluo-N2DH-SIM+]

Real clips come from the *train* frames of a CTC dataset; synthetic clips are ``division`` masks
rendered by the ``procedural`` generator whose parameters were fitted to the same train frames.
Batches mix them 30 % real / 70 % synthetic. The model is scored (foreground Dice) on the *eval*
frames, which it never saw. Videos are flattened to frames for this per-frame segmenter; a tracker
would consume ``batch["image"] (B, T, 1, H, W)``, ``batch["label"]`` and ``batch["lineage"]`` directly.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from monai.networks.nets import UNet
from monai.transforms import Compose, RandFlipd, RandRotate90d
from torch.utils.data import DataLoader

import tganaug
from tganaug.data import CTCVideoDataset, MixedVideoDataset, SyntheticVideoDataset, collate_videos
from tganaug.procedural import ProceduralRenderer

REPO = Path(__file__).resolve().parents[1]


def frames_of(batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, 1, H, W) images and (B, T, H, W) ids -> (B*T, 1, H, W) images and foreground masks."""
    image = batch["image"].flatten(0, 1)
    foreground = (batch["label"] > 0).flatten(0, 1)[:, None].float()
    return image, foreground


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data" / "Fluo-N2DH-SIM+",
                        help="annotated real CTC dataset; its train frames are used (default: ../shared/data/Fluo-N2DH-SIM+)")
    parser.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    parser.add_argument("--batch", type=int, default=4, help="clips per batch (default 4)")
    parser.add_argument("--frames", type=int, default=4, help="frames per clip (default 4)")
    parser.add_argument("--size", type=int, default=64, help="clip height and width, px (default 64)")
    parser.add_argument("--real-weight", type=float, default=0.3, help="share of real clips in the mixture (default 0.3)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the model (default 0)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    augment = Compose([RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0), RandRotate90d(keys=["image", "label"], prob=0.5)])
    real = CTCVideoDataset(args.real, split="train", clip_frames=args.frames, size=args.size, transform=augment, seed=args.seed)
    renderer = ProceduralRenderer.from_ctc(args.real, frames="train", max_frames=4)
    simulator = tganaug.get_simulator("division").from_ctc(str(args.real), frames="train")
    synthetic = SyntheticVideoDataset(
        simulator, renderer, num_videos=200, frames=args.frames, size=args.size, transform=augment, seed=args.seed
    )
    mixed = MixedVideoDataset([real, synthetic], weights=[args.real_weight, 1 - args.real_weight], num_items=args.steps * args.batch, seed=args.seed)
    loader = DataLoader(mixed, batch_size=args.batch, shuffle=False, num_workers=args.workers, collate_fn=collate_videos)
    print(f"real: {real}\nsynthetic: {synthetic}\nrenderer fitted to train frames: {renderer.config}")

    model = UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=(8, 16, 32), strides=(2, 2), num_res_units=1)
    loss_fn = DiceCELoss(sigmoid=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    model.train()
    for step, batch in enumerate(loader, start=1):
        image, target = frames_of(batch)
        loss = loss_fn(model(image), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0 or step == 1:
            n_real = sum(m["source"] == "ctc" for m in batch["meta"])
            print(f"step {step:4d}  loss {loss.item():.3f}  batch real/synthetic {n_real}/{len(batch['meta']) - n_real}  {time.perf_counter() - start:.0f} s")

    evaluation = CTCVideoDataset(args.real, split="eval", clip_frames=args.frames, stride=args.frames, size=256, crop="center")
    dice = DiceMetric(include_background=True, reduction="mean")
    model.eval()
    with torch.no_grad():
        for batch in DataLoader(evaluation, batch_size=1, collate_fn=collate_videos):
            image, target = frames_of(batch)
            dice(y_pred=(torch.sigmoid(model(image)) > 0.5).float(), y=target)
    print(f"foreground Dice on the eval frames ({len(evaluation)} clips, 256² centre crops): {dice.aggregate().item():.3f}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
