"""Fidelity verdicts that hold across training seeds: is tGAN better than a baseline, or was one training run lucky?

``benchmarks/fidelity.py`` scores each model over several *generation* seeds, but each model there is one training
run, so its verdicts (Welch t-test over generation seeds) ignore what a retrain with another seed would change. This
script reads the per-seed reports of the same models trained with different seeds (``REPORT_per_seed.csv`` of
``fidelity.py``, one per training seed, the same datasets and generation seeds) and reports, per dataset:

* every method's mean ± sd over generation seeds, per training seed;
* the retrain alone: each trained method against its own run of the first training seed, measure by measure
  (``tganaug.fidelity.compare_scores``): how often another training seed of the *same* config is "significantly"
  better or worse by the generation-seed test;
* the candidate (tGAN) against each baseline across training runs (``tganaug.fidelity.compare_training_runs``):
  better / worse only when every pairing of a candidate run with a baseline run is, else tie; with the count of
  pairings better / worse / tie. A method with no training (the procedural renderer) is one run, whichever report
  holds it;
* where both sides have two or more training runs, the same comparison with the runs as the samples
  (``tganaug.fidelity.compare_run_means``: a Welch t-test over the runs' mean scores, with its p-value).

    python benchmarks/training_seeds.py --run 0=benchmarks/results/fidelity_per_seed.csv \\
        --run 1=benchmarks/results/probe_trainseed1_phase_per_seed.csv --datasets PhC-T98G-Usiigaci,PhC-Ecoli-vanVliet \\
        --seeds 0,1,2 --report training_seeds_phase

Writes ``benchmarks/results/REPORT.md`` and ``REPORT.csv`` (the across-runs verdicts). Prints measured numbers only;
the split and machine are those of the reports it reads (eval frames; their headers name the machine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tganaug import fidelity as measures
from tganaug.tracking.metrics import format_table
from tganaug.utils.fsutil import atomic_write_bytes, atomic_write_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line  # benchmarks/_common.py
from fidelity import DIRECTIONS, MEASURES, RESULTS, _ranked_values, mean_sd_table, read_per_seed, seed_list, summarize  # benchmarks/fidelity.py

VERDICTS = ("better", "worse", "tie")


def training_runs(per_seed_by_run: dict[int, list[dict]], dataset: str) -> dict[str, dict[int, list[dict]]]:
    """method -> training seed -> that run's per-generation-seed rows on ``dataset`` (only the runs that hold the method)."""
    runs: dict[str, dict[int, list[dict]]] = {}
    for training_seed, rows in per_seed_by_run.items():
        for row in rows:
            if row["dataset"] == dataset:
                runs.setdefault(row["method"], {}).setdefault(training_seed, []).append(row)
    return runs


def retrain_verdicts(runs: dict[str, dict[int, list[dict]]], dataset: str) -> list[dict]:
    """Per trained method (two or more runs) and later training seed: that run against the method's first run, every
    measure by :func:`tganaug.fidelity.compare_scores` (``better``: the later run scores better)."""
    table = []
    for method, by_seed in runs.items():
        first, *later = sorted(by_seed)
        for seed in later:
            row = {"dataset": dataset, "method": method, "runs": f"trained seed {seed} vs {first}"}
            for measure, direction in DIRECTIONS.items():
                row[measure] = measures.compare_scores(_ranked_values(by_seed[seed], measure), _ranked_values(by_seed[first], measure),
                                                       higher_is_better=direction == 1)
            table.append(row)
    return table


def across_runs_verdicts(runs: dict[str, dict[int, list[dict]]], dataset: str, candidate: str) -> list[dict]:
    """The candidate against every other method across training runs (:func:`tganaug.fidelity.compare_training_runs`'s rule),
    with ``<measure>_pairings``: how many run pairings were better / worse / tie; and, where both have two or more runs,
    ``<measure>_run_means`` / ``<measure>_run_means_p``: :func:`tganaug.fidelity.compare_run_means`'s verdict and p-value
    (``n/a`` and empty otherwise)."""
    if candidate not in runs:
        raise ValueError(f"no {candidate!r} rows for {dataset} in the reports (methods there: {sorted(runs)})")
    ours = runs[candidate]
    table = []
    for baseline, theirs in runs.items():
        if baseline == candidate:
            continue
        row = {"dataset": dataset, "baseline": baseline, "candidate_runs": len(ours), "baseline_runs": len(theirs)}
        for measure, direction in DIRECTIONS.items():
            a = [_ranked_values(rows, measure) for rows in ours.values()]
            b = [_ranked_values(rows, measure) for rows in theirs.values()]
            pairings = measures.training_run_pairings(a, b, higher_is_better=direction == 1)
            row[measure] = measures.agreed_verdict(pairings)  # = measures.compare_training_runs(a, b, ...), pairings computed once
            row[f"{measure}_pairings"] = "/".join(str(pairings.count(v)) for v in VERDICTS)
            if len(a) >= 2 and len(b) >= 2:
                verdict, p = measures.compare_run_means(a, b, higher_is_better=direction == 1)
                row[f"{measure}_run_means"], row[f"{measure}_run_means_p"] = verdict, f"{p:.3g}"
            else:
                row[f"{measure}_run_means"], row[f"{measure}_run_means_p"] = "n/a", ""
        table.append(row)
    return table


def verdict_section(across: list[dict], *, verdict: str, detail: str, detail_prefix: str = "", label: str = "") -> list[str]:
    """Report lines for :func:`across_runs_verdicts` rows: a table whose cell for measure ``m`` is the verdict in column
    ``m + verdict`` with ``detail_prefix`` + column ``m + verdict + detail`` in brackets, then one tally line per
    baseline ("against BASELINE``label``: better on ...") and a blank line."""
    lines = [format_table([{**{k: row[k] for k in ("baseline", "candidate_runs", "baseline_runs")},
                            **{m: f"{row[m + verdict]} ({detail_prefix}{row[m + verdict + detail]})" for m in DIRECTIONS}}
                           for row in across], ["baseline", "candidate_runs", "baseline_runs", *DIRECTIONS]), ""]
    for row in across:
        tally = {v: sum(row[m + verdict] == v for m in DIRECTIONS) for v in VERDICTS}
        lines.append(f"- against {row['baseline']}{label}: better on {tally['better']}, worse on {tally['worse']}, tie on "
                     f"{tally['tie']} of {len(DIRECTIONS)} measures.")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], metavar="TRAINING_SEED=PER_SEED_CSV", required=True,
                        help="a fidelity.py per-seed report of the models trained with this seed (repeat, two or more)")
    parser.add_argument("--datasets", required=True, help="comma-separated; every report must hold the candidate's rows on each")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="generation seeds, comma-separated (default 0,1,2)")
    parser.add_argument("--candidate", default="tGAN", help="the method judged against the others (default tGAN)")
    parser.add_argument("--report", default="training_seeds", help="writes benchmarks/results/REPORT.md and .csv")
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    per_seed_by_run: dict[int, list[dict]] = {}
    sources: dict[int, str] = {}
    try:
        for item in args.run:
            seed_text, sep, path = item.partition("=")
            if not sep or not seed_text.strip().lstrip("-").isdigit() or not path:
                raise ValueError(f"--run takes TRAINING_SEED=PER_SEED_CSV, got {item!r}")
            if int(seed_text) in per_seed_by_run:
                raise ValueError(f"--run: training seed {int(seed_text)} given twice")
            rows = read_per_seed(path, datasets, args.seeds, option="--run")
            lacking = [d for d in datasets if not any(r["dataset"] == d and r["method"] == args.candidate for r in rows)]
            if lacking:
                raise ValueError(f"--run: {path} has no {args.candidate!r} rows for {', '.join(lacking)}")
            per_seed_by_run[int(seed_text)] = rows
            sources[int(seed_text)] = path
        if len(per_seed_by_run) < 2:
            raise ValueError(f"--run: give the reports of two or more training seeds, got {len(per_seed_by_run)}")
    except (OSError, ValueError) as error:
        parser.error(str(error))

    lines = [
        "# Fidelity verdicts across training seeds (eval frames)",
        "",
        f"`{command_line()}`. Generation seeds {', '.join(map(str, args.seeds))}. Reports read, per training seed: "
        + "; ".join(f"{seed}: `{Path(path).name}`" for seed, path in sorted(sources.items()))
        + " (their headers name the machine, split and models; eval frames).",
        "",
    ]
    verdict_rows: list[dict] = []
    for dataset in datasets:
        runs = training_runs(per_seed_by_run, dataset)
        by_run = [{**row, "method": f"{method}, trained seed {seed}" if len(by_seed) > 1 else method}
                  for method, by_seed in runs.items() for seed, rows in sorted(by_seed.items()) for row in rows]
        retrain = retrain_verdicts({m: r for m, r in runs.items() if len(r) > 1}, dataset)
        across = across_runs_verdicts(runs, dataset, args.candidate)
        verdict_rows += across
        lines += [f"## {dataset}", "", "Mean ± sd over generation seeds, per training run:", "",
                  mean_sd_table(summarize(by_run), ("method", *MEASURES, "warp_error_real")), ""]
        if retrain:
            lines += ["The retrain alone: each trained method's run against its own first run, the same config and data "
                      "(`compare_scores`, Welch t-test over generation seeds; better: the later run scores better):", "",
                      format_table(retrain, ["method", "runs", *DIRECTIONS]), ""]
            for row in retrain:
                differs = [m for m in DIRECTIONS if row[m] != "tie"]
                lines.append(f"- {row['method']}, {row['runs']}: {len(differs)} of {len(DIRECTIONS)} measures differ by the "
                             f"generation-seed test ({', '.join(differs) or 'none'}).")
            lines.append("")
        lines += [f"{args.candidate} against each baseline across training runs (`compare_training_runs`: better / worse only "
                  "when every pairing of runs is; pairings better/worse/tie in brackets):", "",
                  *verdict_section(across, verdict="", detail="_pairings")]
        by_run_means = [row for row in across if min(row["candidate_runs"], row["baseline_runs"]) >= 2]
        if by_run_means:
            lines += [f"{args.candidate} against each baseline with two or more training runs, the runs as the samples "
                      "(`compare_run_means`: Welch t-test over the runs' mean scores, p in brackets; p < 0.05 per measure, "
                      f"not corrected for the {len(DIRECTIONS)} measures tested):", "",
                      *verdict_section(by_run_means, verdict="_run_means", detail="_p", detail_prefix="p=", label=", runs as samples")]
    report = "\n".join(lines)
    print(report)
    atomic_write_bytes(RESULTS / f"{args.report}.md", report.encode())
    columns = ["dataset", "baseline", "candidate_runs", "baseline_runs", *DIRECTIONS, *(f"{m}_pairings" for m in DIRECTIONS),
               *(f"{m}_run_means" for m in DIRECTIONS), *(f"{m}_run_means_p" for m in DIRECTIONS)]
    atomic_write_csv(RESULTS / f"{args.report}.csv", verdict_rows, columns)


if __name__ == "__main__":
    main()
