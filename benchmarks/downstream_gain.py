"""Downstream benchmark: the ``unet`` segmenter and the learned ``linker`` trained on K real frames (augmented),
K real + synthetic, or synthetic only, scored on the eval frames of the sequence trained on, on unseen sequences and
on other datasets (:mod:`tganaug.benchmarking.downstream`, which documents the protocol).

    python benchmarks/downstream_gain.py --train Fluo-N2DH-SIM+ --targets Fluo-N2DH-SIM+/02 Fluo-N2DH-GOWT1/02 \\
        [--k 2 5 0] [--generator procedural] [--appearance random] [--augment intensity] [--steps 300] [--seeds 0 1 2]

Writes ``benchmarks/results/<--report>.md`` and ``.csv`` (default ``downstream_<train>_<generator>``); training state
is kept in ``runs/downstream/`` and a rerun skips finished runs. The committed ``downstream_gain_*`` reports were made
with flips/rot90 only, no appearance randomisation and the training dataset's own eval frames:
``--augment flips --appearance none`` (and their other options, named in each report).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine  # benchmarks/_common.py

from tganaug.benchmarking.downstream import build_parser, run_downstream

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = build_parser(runs=str(REPO / "runs" / "downstream"), out=str(REPO / "benchmarks" / "results"),
                          data=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    try:
        run_downstream(args, machine=machine(), command=command_line())
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
