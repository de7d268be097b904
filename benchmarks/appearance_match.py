"""Real vs rendered appearance on Fluo-N2DH-SIM+ 01 eval frames, with and without a reference frame.

The GT masks of eval frames t045..t045+FRAMES-1 (a CROP x CROP crop) are rendered by the ``procedural``
generator (default parameters) and by ``tgan`` (``fluo-nuclei``), as they are, with random appearance, and
with one raw frame of the same crop (t045) as the reference (:mod:`tganaug.appearance`). Every video is
percentile-normalised and described by :func:`tganaug.appearance.appearance_stats` with the GT masks (noise
in the background, background / cell medians, contrast-to-noise, percentiles). Also the cost of the wrapper
(ms per frame) at 256 x 256, 16 frames, and of reading the same number of real TIFF frames.

    python benchmarks/appearance_match.py [--frames 8] [--crop 192] [--no-tgan]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tganaug import get_generator
from tganaug.appearance import appearance_stats, with_appearance
from tganaug.io import read_ctc

DATA = "/work/shared/data/Fluo-N2DH-SIM+"
KEYS = ("background", "cells", "noise", "cnr", "p1", "p50", "p99")


def row(name: str, stats: dict[str, float]) -> str:
    return f"{name:<34}" + "".join(f"{stats[k]:>11.3f}" for k in KEYS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--no-tgan", action="store_true")
    args = parser.parse_args()
    real = read_ctc(DATA, "01", frames=range(45, 45 + args.frames))
    y0, x0 = 200, 200  # a crop with several nuclei
    images = real.images[:, y0:y0 + args.crop, x0:x0 + args.crop]
    labels = real.labels[:, y0:y0 + args.crop, x0:x0 + args.crop].astype(np.uint16)
    reference = images[0]
    print(f"SIM+ 01 eval t045-t{44 + args.frames:03d}, crop {args.crop}x{args.crop} at ({y0}, {x0}); reference: raw t045 of the crop")
    print(f"{'video':<34}" + "".join(f"{k:>11}" for k in KEYS))
    print(row("real", appearance_stats(images, labels)))
    from tganaug.data.normalize import fit_normalization

    in_reference_units = fit_normalization(reference)(images)
    rows_ref = [row("real", appearance_stats(in_reference_units, labels, normalise=False))]
    generators = [("procedural", get_generator("procedural"))]
    if not args.no_tgan:
        generators.append(("tgan fluo-nuclei", get_generator("tgan", model="fluo-nuclei")))
    for name, generator in generators:
        for how, wrapped in (("as is", generator), ("random look", with_appearance(generator, appearance="random")),
                             ("reference t045", with_appearance(generator, reference=reference))):
            video = wrapped.generate(labels, seed=3)
            print(row(f"{name}, {how}", appearance_stats(video, labels)))
            rows_ref.append(row(f"{name}, {how}", appearance_stats(video, labels, normalise=False)))
    print("\nthe same, not renormalised: real frames in the reference's units (its 0.1 / 99.9 percentiles = 0 / 1), "
          "rendered videos as they come")
    print("\n".join(rows_ref))

    # throughput of the wrapper: procedural at 256 x 256, 16 frames
    sim = get_generator("procedural")
    big = read_ctc(DATA, "01", frames=range(45, 61), read_images=False).labels[:, :256, :256].astype(np.uint16)
    for name, gen in (("procedural", sim), ("procedural + random look", with_appearance(sim, appearance="random")),
                      ("procedural + reference", with_appearance(sim, reference=reference))):
        gen.generate(big[:2], seed=0)
        start = time.perf_counter()
        gen.generate(big, seed=1)
        print(f"{name:<34} {1000 * (time.perf_counter() - start) / len(big):8.1f} ms/frame (256x256, 16 frames)")
    from tganaug.io import read_tiff
    import glob

    files = sorted(glob.glob(f"{DATA}/01/t0*.tif"))[45:61]
    start = time.perf_counter()
    for f in files:
        read_tiff(f)[:256, :256].astype(np.float32)
    print(f"{'real TIFF read (full frame)':<34} {1000 * (time.perf_counter() - start) / len(files):8.1f} ms/frame")


if __name__ == "__main__":
    main()
