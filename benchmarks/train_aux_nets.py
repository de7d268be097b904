"""Train the small auxiliary networks shipped in tganaug/weights (perceptual feature net, FlowNet).

Usage: python benchmarks/train_aux_nets.py {feature|flow} [--steps N] [--out PATH]
Uses the *train* frames of SIM+, T98G and E. coli (GOWT1 is a cross-dataset test and its sequence 02 is evaluation-only). One CPU thread.
"""

from __future__ import annotations

import argparse
import json

import torch

from tganaug.training.losses import shipped_weights_path
from tganaug.training.pretrain import pretrain_flownet, save_aux, train_feature_net

DATA = [
    "/work/shared/data/Fluo-N2DH-SIM+",
    "/work/shared/data/PhC-T98G-Usiigaci",
    "/work/shared/data/PhC-Ecoli-vanVliet",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["feature", "flow"])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.which == "feature":
        net, info = train_feature_net(DATA, steps=args.steps)
        out = args.out or shipped_weights_path("feature_net.pt")
    else:
        net, info = pretrain_flownet(DATA, steps=args.steps)
        out = args.out or shipped_weights_path("flownet.pt")
    save_aux(out, net, info)
    print(json.dumps(info, indent=1))
    print("saved", out)


if __name__ == "__main__":
    main()
