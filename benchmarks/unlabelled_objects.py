"""Unlabelled cell-like objects and invisible masks in tGAN videos on the default background, by model, frame size and masks.

Usage (from the repository root):

    python benchmarks/unlabelled_objects.py [--models fluo-nuclei,...] [--sizes 512,768,1024,2048] [--masks sim,gowt1]
        [--frames 3] [--frames-2048 2] [--seed 0] [--backgrounds default] [--guards 2,0] [--data-root ../shared/data] [--out STEM]

Each video is rendered by a shipped tGAN model with no background given, i.e. on a seeded crop of one of the
model's reference backgrounds, mirrored beyond its size (:func:`tganaug.models.tgan.reference_crop`):

* ``raw``: the crop of the reference as stored in the checkpoint (what ``background_default="reference"``
  rendered on before remnant removal; the same crop, passed as the background);
* ``default``: the crop of :meth:`tganaug.models.tgan.TGAN.rendered_reference` (remnants removed), what a video
  given no background is rendered on now;
* ``flat``: the flat training median (``background_default="flat"``), the control.

Guards: ``TGAN(background_guard=...)`` px (:mod:`tganaug.models.guard`): ``2``, the default, or ``0``, none.

Masks: ``sim``: the ``division`` simulator's default config at the frame size (seed ``--seed``); ``gowt1``: the
whole nuclei of ``Fluo-N2DH-GOWT1/01`` frames 0.., 1024² (:func:`tganaug.outlines.read_outlined_ctc`: the TRA
markers grown by the distance fitted on the manual SEG outlines of frames 2 and 5, so that a mask covers the nucleus
the real frame shows): cropped to smaller sizes, mirror-tiled (ids kept apart) to 2048². Sequence 01 only (02 is
evaluation-only). At 1024² the real frames of the same masks exist and their unlabelled objects are subtracted
(``excess``). ``u373``: the full outlines of the ``PhC-C2DH-U373/01`` eval frames (TRA markers joined to the
``01_ST`` silver truth), the cells the phase-contrast models were made for; up to 520² the real frames are cropped
alike and subtracted.

Measure: :func:`tganaug.faithfulness.annotation_faithfulness` with the ``threshold`` segmenter, settings derived
from each video and its masks (threshold halfway between the local background and the median cell intensity),
counting the detections without a mask that contrast with their surroundings by at least one background s.d.
(``unlabelled``) and those that do not (``faint``) apart.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tganaug
from tganaug.faithfulness import annotation_faithfulness
from tganaug.models.guard import DEFAULT_GUARD_PX
from tganaug.models.tgan import SHIPPED_MODELS, TGAN, _BACKGROUND_STREAM, reference_crop, resolve_model
from tganaug.outlines import read_outlined_ctc
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, command_line, machine, positive_int  # benchmarks/_common.py

COLUMNS = ("model", "size", "masks", "background", "guard", "frames", "unlabelled", "unlabelled_last", "unlabelled_real", "excess", "faint",
           "invisible", "masks_per_frame", "seconds")
#: GOWT1/01 frames read for the outlines: the marker growth is fitted on the manual SEG outlines among them (frames 2, 5)
GOWT1_OUTLINE_FRAMES = 6
#: mask kinds read from a dataset -> that dataset's folder name
MASK_DATASETS = {"gowt1": "Fluo-N2DH-GOWT1", "u373": "PhC-C2DH-U373"}
BACKGROUNDS = ("raw", "default", "flat")


def raw_background(model: TGAN, size: int, seed: int) -> np.ndarray:
    """The crop a video of ``seed`` was rendered on before remnant removal: :meth:`TGAN.default_background_image`'s
    draws on the stored reference."""
    rng = np.random.default_rng([int(seed) % 2**64, _BACKGROUND_STREAM])
    choice = model.reference_backgrounds[int(rng.integers(0, len(model.reference_backgrounds)))]
    return reference_crop(choice, size, size, rng)


def gowt1_masks(data_root: Path, frames: int, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(T, size, size) uint32`` GOWT1/01 whole-nucleus masks (TRA markers grown to the SEG outlines) of frames
    0..T-1 (cropped, or mirror-tiled with distinct ids), and the real frames when ``size`` is theirs (else ``None``)."""
    video, _ = read_outlined_ctc(data_root / MASK_DATASETS["gowt1"], "01", frames=range(max(frames, GOWT1_OUTLINE_FRAMES)))
    return _sized(video.images[:frames], video.labels[:frames], size, crop_real=False)


def u373_masks(data_root: Path, frames: int, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(T, size, size) uint32`` full outlines of the first T *eval* frames of PhC-C2DH-U373/01 (TRA markers joined
    to the ``01_ST`` silver truth), the model's own kind of cells, with the real frames cropped alike (``None`` when
    ``size`` is beyond the 520 x 696 px frames and the masks are mirror-tiled)."""
    video, _ = read_outlined_ctc(data_root / MASK_DATASETS["u373"], "01", frames="eval")
    return _sized(video.images[:frames], video.labels[:frames], size, crop_real=True)


def _sized(images: np.ndarray, labels: np.ndarray, size: int, crop_real: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``labels (T, H, W)`` cropped at the top-left to ``size``² or mirror-tiled (ids kept apart) as ``uint32``, and
    ``images`` alike when they cover the crop (at ``size == H == W`` only, unless ``crop_real``), else ``None``."""
    labels = labels.astype(np.uint32)
    height, width = labels.shape[1:]
    if size <= min(height, width):
        real = images[:, :size, :size] if crop_real or (size, size) == (height, width) else None
        return np.ascontiguousarray(labels[:, :size, :size]), real
    offset = int(labels.max()) + 1
    reps_y, reps_x = -(-size // height), -(-size // width)
    rows = []
    for i in range(reps_y):
        row = []
        for j in range(reps_x):
            tile = labels[:, :: -1 if i % 2 else 1, :: -1 if j % 2 else 1]
            row.append(np.where(tile > 0, tile + offset * (i * reps_x + j), 0))
        rows.append(np.concatenate(row, axis=2))
    return np.ascontiguousarray(np.concatenate(rows, axis=1)[:, :size, :size]), None


def sim_masks(frames: int, size: int, seed: int) -> np.ndarray:
    """``(T, size, size)`` labels of the ``division`` simulator's default config."""
    return tganaug.get_simulator("division").simulate(frames, size, size, seed=seed).labels


#: mask kinds read from a dataset (with its real frames where they cover the frame)
REAL_MASKS = {"gowt1": gowt1_masks, "u373": u373_masks}


def measure(name: str, sizes: list[int], masks_kinds: list[str], backgrounds: list[str], frames: int, frames_large: int, seed: int,
            data_root: Path, guards: tuple[int, ...] = (DEFAULT_GUARD_PX,)) -> list[dict]:
    """The rows of one model (loaded once)."""
    model = TGAN.from_pretrained(resolve_model(name))
    rows = []
    for size in sizes:
        count = frames if size < 2048 else frames_large
        for kind in masks_kinds:
            labels, real = REAL_MASKS[kind](data_root, count, size) if kind in REAL_MASKS else (sim_masks(count, size, seed), None)
            for background in backgrounds:
                model.background_default = "flat" if background == "flat" else "reference"
                given = raw_background(model, size, seed) if background == "raw" else None
                for guard in guards:
                    model.background_guard = guard
                    rows.append(_row(model, name, size, kind, background, guard, labels, real, given, seed))
    return rows


def _row(model: TGAN, name: str, size: int, kind: str, background: str, guard: int, labels: np.ndarray, real: np.ndarray | None,
         given: np.ndarray | None, seed: int) -> dict:
    """Render one video and measure it."""
    start = time.perf_counter()
    video = model.generate(labels, given, seed=seed)
    seconds = time.perf_counter() - start
    result = annotation_faithfulness(video, labels, real)
    centroids = [np.round(c).astype(int).tolist() for c in (f.unlabelled_centroids for f in result.frames)]
    print(f"{name} {size}² {kind} {background} guard {guard}: unlabelled per frame {result.unlabelled.tolist()} (faint "
          f"{result.faint.tolist()}), invisible {result.invisible.tolist()} of {result.masks.tolist()}, last frame's at "
          f"{centroids[-1]} ({seconds:.0f} s)", flush=True)
    return {"model": name, "size": size, "masks": kind, "background": background, "guard": guard, "frames": len(labels),
            "unlabelled": round(result.mean_unlabelled, 3), "unlabelled_last": int(result.unlabelled[-1]),
            "unlabelled_real": "" if result.unlabelled_real is None else round(float(result.unlabelled_real.mean()), 3),
            "excess": round(result.mean_excess, 3), "faint": round(float(result.faint.mean()), 3),
            "invisible": round(result.mean_invisible, 3),
            "masks_per_frame": round(float(result.masks.mean()), 1), "seconds": round(seconds, 1)}


def report(rows: list[dict], args: argparse.Namespace) -> str:
    """The Markdown report."""
    lines = ["# Unlabelled objects in tGAN videos on the default background", "",
             f"Command: `{command_line()}`", "", f"Machine: {machine()}", "",
             f"Seed {args.seed}; sizes {', '.join(f'{s}²' for s in args.sizes)}; {args.frames} frames per video "
             f"({args.frames_2048} at 2048²); masks: {', '.join(args.masks)}; background guard (px): "
             f"{', '.join(map(str, args.guards))} (`guard`: `TGAN(background_guard=...)`, {DEFAULT_GUARD_PX} the default, 0 none).", "",
             "`unlabelled`: mean per frame of the threshold detections that match no mask and contrast with their "
             "surroundings by at least 1 background s.d. (`tganaug.faithfulness.annotation_faithfulness`: threshold halfway "
             "between the local background and the median cell, settings derived from each video); `unlabelled_last`: in the "
             "last frame (ghosts grow over the first frames); `excess`: less those of the real frames (GOWT1 at 1024², U373 "
             "at 512²: its eval frames cropped, whose silver truth leaves some cells unannotated); "
             "`faint`: detections per frame that match no mask with a lower contrast (background texture, not counted); "
             "`invisible`: masks per frame with no covering detection or a contrast under 1 background s.d. "
             "Backgrounds: `default` the seeded crop of the model's reference background with its remnants removed (what a "
             "video given no background is rendered on), `raw` the same crop of the stored reference, `flat` the flat "
             "training median. `seconds`: rendering only.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(sorted(SHIPPED_MODELS)), type=lambda s: s.split(","))
    parser.add_argument("--sizes", default="512,768,1024,2048", type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--masks", default="sim,gowt1", type=lambda s: s.split(","))
    parser.add_argument("--backgrounds", default="default", type=lambda s: s.split(","))
    parser.add_argument("--frames", type=positive_int, default=3)
    parser.add_argument("--frames-2048", type=positive_int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guards", default=f"{DEFAULT_GUARD_PX},0", type=lambda s: tuple(int(v) for v in s.split(",")),
                        help="TGAN(background_guard=...) px to measure (0: no guard)")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, help="write STEM.md and STEM.csv")
    args = parser.parse_args(argv)
    for model in args.models:
        if model not in SHIPPED_MODELS:
            parser.error(f"unknown model {model!r}; shipped: {', '.join(sorted(SHIPPED_MODELS))}")
    if not set(args.masks) <= {"sim", *REAL_MASKS} or not set(args.backgrounds) <= set(BACKGROUNDS):
        parser.error(f"--masks takes sim,{','.join(REAL_MASKS)} and --backgrounds {','.join(BACKGROUNDS)}")
    for kind, dataset in MASK_DATASETS.items():
        if kind in args.masks and not (args.data_root / dataset).is_dir():
            parser.error(f"no {dataset} under --data-root {args.data_root}")
    rows = [row for model in args.models for row in measure(model, args.sizes, args.masks, args.backgrounds, args.frames,
                                                            args.frames_2048, args.seed, args.data_root, args.guards)]
    if args.out:
        atomic_write_bytes(args.out.with_suffix(".md"), report(rows, args).encode())
        atomic_write_csv(args.out.with_suffix(".csv"), rows, COLUMNS)
        print(f"wrote {args.out.with_suffix('.md')} and .csv")


if __name__ == "__main__":
    main()
