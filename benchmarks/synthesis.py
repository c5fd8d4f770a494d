"""Benchmark of tabular synthesis: is `tabular_gan`'s synthetic breast_cancer data good for training,
faithful, and not a copy?

    python benchmarks/synthesis.py [--splits 5]

For each stratified 80/20 split (`--split-seed` 0..N-1), `kerazoo train tabular_gan` with its recipe
(300 epochs) trains on the 455 training rows; as many synthetic rows as real ones (same class
balance) then train a logistic regression and a random forest that are tested on the split's 114
real test rows (TSTR), beside the same models trained on the real rows (TRTR). Fidelity: mean
Kolmogorov-Smirnov statistic over the 30 columns, mean absolute difference of the correlation
matrices. Privacy: median distance to the closest real training row for synthetic rows and for the
real test rows (DCR), exact copies. Mean and standard deviation over the splits go to
`benchmarks/results/synthesis.json`, a Markdown table to stdout.

The anchor, CTGAN (the `ctgan` package, PyTorch), runs in its own venv on the same splits and figures:
`benchmarks/ctgan_anchor.py`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo.training import library_versions  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "synthesis.json"


def summarize(runs) -> dict:
    """Mean and standard deviation over splits of each run's figures (also benchmarks/ctgan_anchor.py's)."""

    def stat(values):
        return {"mean": float(np.mean(values)), "std": float(np.std(values))}

    summary = {
        f"{kind}_{model}": stat([r[kind][model] for r in runs])
        for kind in ("tstr", "trtr")
        for model in ("logistic_regression", "random_forest")
    }
    summary["mean_ks"] = stat([r["mean_ks"] for r in runs])
    summary["correlation_mean_abs_diff"] = stat([r["correlation_mean_abs_diff"] for r in runs])
    summary["dcr_synthetic_median"] = stat([r["privacy"]["dcr_synthetic_median"] for r in runs])
    summary["dcr_holdout_median"] = stat([r["privacy"]["dcr_holdout_median"] for r in runs])
    summary["exact_copies_total"] = int(sum(r["privacy"]["exact_copies"] for r in runs))
    summary["train_seconds"] = stat([r["train_seconds"] for r in runs])
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    runs = []
    for seed in range(args.splits):
        out = args.workdir / f"synthesis_split{seed}"
        metrics = kerazoo.train("tabular_gan", split_seed=seed, out=out, overwrite=True, verbose=0)
        runs.append(
            {
                "split_seed": seed,
                "train_seconds": metrics["train_seconds"],
                "tstr": metrics["tstr"],
                "trtr": metrics["trtr"],
                "mean_ks": metrics["fidelity"]["mean_ks"],
                "correlation_mean_abs_diff": metrics["fidelity"]["correlation_mean_abs_diff"],
                "privacy": metrics["privacy"],
            }
        )
        print(json.dumps(runs[-1]), flush=True)

    summary = summarize(runs)
    report = {
        "command": f"python benchmarks/synthesis.py --splits {args.splits}",
        "versions": library_versions(),
        "summary": summary,
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print("\n| figure | synthetic (TSTR) | real (TRTR) |\n|---|---|---|")
    for model in ("logistic_regression", "random_forest"):
        s, r = summary[f"tstr_{model}"], summary[f"trtr_{model}"]
        print(f"| {model} accuracy | {s['mean']:.4f} ± {s['std']:.4f} | {r['mean']:.4f} ± {r['std']:.4f} |")


if __name__ == "__main__":
    main()
