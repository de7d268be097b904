"""Draw the README's picture: real eval frames next to shipped tGAN renderings of their masks, and a simulated video.

    python docs/make_figures.py [--data ../shared/data] [--out docs/images/real_vs_synthetic.png]

Rows (each a 256 x 256 crop):

1. Fluo-N2DH-SIM+, eval frame t050: GT masks | real frame | `fluo-nuclei` rendering of those masks;
2. PhC-T98G-Usiigaci, eval frame t031: silver-truth masks | real frame | `phase-contrast` rendering;
3. a `division` simulation (seed 0): masks | `fluo-nuclei` rendering at frames 5 and 11 of the same video.

Real rows render the eval frames' masks from the first eval frame on (the model needs the previous frames), on the
reference background estimated from the dataset's **train** frames (as ``benchmarks/fidelity.py`` does), with
generation seed 0; the real frame and the rendering are shown on the same grey scale (1st..99.8th percentile of the
train frames = the generator's [0, 1]). Nothing is trained or fitted here. Takes about a minute on one CPU core.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tganaug
from tganaug.models.tgan import background_from_video
from tganaug.visualize import colorize_labels, montage, save_png, to_uint8

REPO = Path(__file__).resolve().parents[1]
CROP = 256
#: dataset -> (shipped model, eval frame shown, crop corner (row, col))
REAL_ROWS = {"Fluo-N2DH-SIM+": ("fluo-nuclei", 50, (352, 64)), "PhC-T98G-Usiigaci": ("phase-contrast", 31, (96, 96))}


def real_row(data: Path, dataset: str, model: str, frame: int, corner: tuple[int, int]) -> list[np.ndarray]:
    """masks | real | tGAN for one eval frame of ``dataset`` (crops of ``CROP`` px at ``corner``)."""
    train = tganaug.read_ctc(data / dataset, frames="train")
    evaluation = tganaug.read_ctc(data / dataset, frames="eval")
    low, high = np.percentile(train.images, [1, 99.8])
    background = background_from_video(train.images, train.labels)
    r, c = corner
    window = (slice(None), slice(r, r + CROP), slice(c, c + CROP))
    index = int(np.flatnonzero(evaluation.frames == frame)[0])
    labels = evaluation.labels[window][: index + 1]
    rendered = tganaug.get_generator("tgan", model=model).generate(labels, background=background[r:r + CROP, c:c + CROP], seed=0)
    real = evaluation.images[window][index]
    return [colorize_labels(labels[-1]), to_uint8(real.astype(np.float32), low, high), to_uint8(rendered[-1], 0.0, 1.0)]


def simulated_row() -> list[np.ndarray]:
    """masks | tGAN frame 5 | tGAN frame 11 of a simulated ``division`` video rendered by ``fluo-nuclei``."""
    video = tganaug.get_simulator("division").simulate(frames=12, height=CROP, width=CROP, seed=0)
    frames = tganaug.get_generator("tgan", model="fluo-nuclei").generate(video.labels, seed=0)
    return [colorize_labels(video.labels[-1]), to_uint8(frames[5], 0.0, 1.0), to_uint8(frames[-1], 0.0, 1.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "real_vs_synthetic.png")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = [real_row(args.data, dataset, *spec) for dataset, spec in REAL_ROWS.items()] + [simulated_row()]
    save_png(args.out, montage(rows, row_titles=["SIM+ eval", "T98G eval", "simulated"],
                               column_titles=["masks", "real | tGAN t5", "tGAN | tGAN t11"]), max_side=600)
    print(f"wrote {args.out} (rows: SIM+ masks | real | fluo-nuclei; T98G masks | real | phase-contrast; "
          "division masks | fluo-nuclei frames 5 and 11)")


if __name__ == "__main__":
    main()
