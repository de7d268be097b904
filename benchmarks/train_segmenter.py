"""Train a shipped segmenter on the *train* frames of the shared data and install it in tganaug/weights.

    python benchmarks/train_segmenter.py --model fluo-nuclei   [--steps 800]
    python benchmarks/train_segmenter.py --model phase-contrast [--steps 800]

``fluo-nuclei``: Fluo-N2DH-SIM+ train frames t000-t044. ``phase-contrast``: PhC-T98G-Usiigaci
(t000-t025, silver-truth masks) and PhC-Ecoli-vanVliet (t000-t028) train frames, mixed 50/50.
Random 128x128 crops, 2-frame clips, flips and 90-degree rotations. The run folder keeps the
resumable training state; re-running continues where it stopped. Prints measured time only.
Beside the installed checkpoint goes the range of input statistics over the same train frames
(``<name>.inputs.json``, :mod:`tganaug.segmentation.input_check`); ``--inputs-only`` writes just that.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import time
from pathlib import Path

import torch
from monai.transforms import Compose, RandFlipd, RandRotate90d

import tganaug
from tganaug.data import CTCVideoDataset, MixedVideoDataset
from tganaug.segmentation.input_check import input_reference, write_input_reference
from tganaug.segmentation.model import SHIPPED_SEGMENTERS
from tganaug.utils.weights import WEIGHTS_DIR
from tganaug.segmentation.train import train_segmenter

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SOURCES = {
    "fluo-nuclei": ["Fluo-N2DH-SIM+"],
    "phase-contrast": ["PhC-T98G-Usiigaci", "PhC-Ecoli-vanVliet"],
}


def training_dataset(name: str, data: Path, seed: int) -> tuple[object, list[str]]:
    augment = Compose([RandFlipd(["image", "label"], prob=0.5, spatial_axis=0), RandFlipd(["image", "label"], prob=0.5, spatial_axis=1),
                       RandRotate90d(["image", "label"], prob=0.5)])
    parts = [CTCVideoDataset(data / source, split="train", clip_frames=2, size=(128, 128), crop="random", transform=augment, seed=seed)
             for source in SOURCES[name]]
    described = [f"{source} train frames t{part.frames[0]:03d}-t{part.frames[-1]:03d}" for source, part in zip(SOURCES[name], parts)]
    if len(parts) == 1:
        return parts[0], described
    return MixedVideoDataset(parts, weights=[1.0] * len(parts), num_items=1000, seed=seed), described


def write_inputs(name: str, data: Path, target: Path) -> Path:
    """The input-statistics range of ``name``'s train frames, written beside the installed ``target`` checkpoint."""
    videos = [tganaug.read_ctc(data / source, frames="train", read_labels=False) for source in SOURCES[name]]
    described = [f"{source} train frames t{v.frames[0]:03d}-t{v.frames[-1]:03d}" for source, v in zip(SOURCES[name], videos)]
    return write_input_reference(target, input_reference(v.images for v in videos), described)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(SOURCES), required=True)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--run", help="run folder (default runs/segmenter-MODEL)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--inputs-only", action="store_true", help="only (re)write the installed model's input-statistics range")
    args = parser.parse_args()
    target = WEIGHTS_DIR / SHIPPED_SEGMENTERS[args.model]
    if args.inputs_only:
        print(f"wrote {write_inputs(args.model, Path(args.data), target)}")
        return
    torch.set_num_threads(args.threads)
    dataset, described = training_dataset(args.model, Path(args.data), seed=0)
    run = Path(args.run or REPO / "runs" / f"segmenter-{args.model}")
    started = time.perf_counter()
    meta = {"name": args.model, "trained_on": described, "split": "train",
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
            "data_citation": "see shared/data/*/README.md (CTC conditions of use; van Vliet et al. 2018; Tsai et al. 2019)"}
    model = train_segmenter(dataset, run, steps=args.steps, batch_size=args.batch, meta=meta)
    seconds = time.perf_counter() - started
    WEIGHTS_DIR.mkdir(exist_ok=True)
    shutil.copyfile(model, target)
    shutil.copyfile(model.with_suffix(".json"), target.with_suffix(".json"))
    write_inputs(args.model, Path(args.data), target)
    print(f"trained {args.model} for {args.steps} steps in {seconds:.0f} s on {meta['machine']}; installed {target} "
          f"({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
