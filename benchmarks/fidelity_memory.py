"""Peak memory of the streamed fidelity benchmark vs the number of frames.

Each run is a fresh subprocess (peak RSS via ``resource.getrusage``) running :func:`tganaug.benchmarking.fidelity.run_fidelity`
on the first N frames of a sequence (default ``Fluo-N2DH-SIM+`` sequence 02, 773 x 739; it is evaluation-only, and measuring
memory on it neither trains nor fits nor selects anything) with the procedural renderer and/or tGAN, one seed.

    python benchmarks/fidelity_memory.py [--data ../shared/data/Fluo-N2DH-SIM+] [--sequence 02] [--frames 10,30,60] [--generator procedural]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # benchmarks/_common.py

CHILD = """
import json, resource, sys, time
from tganaug.benchmarking import fidelity
from tganaug.benchmarking.inputs import FrameSource, iter_frames, resolve_inputs
data, sequence, n, generators = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
inputs = resolve_inputs(data, sequence, range(0, n))
_, first = next(iter_frames(inputs.scored, images=False))
fit = fidelity.fit_reference(inputs, first.shape)
started = time.perf_counter()
rows, _ = fidelity.run_fidelity(inputs, fit, fidelity.make_renderers(generators, fit), [0], progress=False)
print(json.dumps({"frames": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - started, "SSIM": {r["method"]: r["SSIM"] for r in rows}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "Fluo-N2DH-SIM+"))
    parser.add_argument("--sequence", default="02")
    parser.add_argument("--frames", default="10,30,60")
    parser.add_argument("--generator", default="procedural")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    print("| frames | peak RSS (MB) | seconds | SSIM |\n| --- | --- | --- | --- |")
    for n in [int(x) for x in args.frames.split(",")]:
        done = subprocess.run([sys.executable, "-c", CHILD, args.data, args.sequence, str(n), args.generator],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {n} | {result['peak_rss_mb']:.0f} | {result['seconds']:.0f} | {result['SSIM']} |", flush=True)


if __name__ == "__main__":
    main()
