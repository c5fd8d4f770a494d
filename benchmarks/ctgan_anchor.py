"""The anchor for `tabular_gan`: CTGAN (the `ctgan` package, PyTorch) on the same breast_cancer splits,
judged by the same figures.

    python -m venv /tmp/ctgan-venv && /tmp/ctgan-venv/bin/pip install ctgan   # PyTorch comes with it
    python benchmarks/ctgan_anchor.py --python /tmp/ctgan-venv/bin/python [--splits 5]

CTGAN needs PyTorch, which kerazoo does not, so it runs in its own venv: for each stratified 80/20
split (the synthesis task's `split_table`, seeds 0..N-1) this script writes the 455 training rows to a
CSV, runs itself there with `--fit` (CTGAN with its defaults, 300 epochs, `diagnosis` discrete; as
many rows of each class as the training rows have, by conditional sampling; `--epochs` to train
longer: with 455 rows and CTGAN's batch of 500 an epoch is one update), reads the synthetic CSV
back and computes the synthesis task's figures (`synthesis_figures`: TSTR/TRTR with the same models on
the same encoding, KS, correlations, DCR, copies). Results: `benchmarks/results/ctgan_anchor.json` (by epochs),
beside `benchmarks/results/synthesis.json` for `tabular_gan`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "ctgan_anchor.json"


def fit(folder: Path, seed: int, epochs: int) -> None:
    """In the CTGAN venv: train.csv -> synthetic.csv (no kerazoo here)."""
    import pandas as pd
    import torch
    from ctgan import CTGAN

    torch.manual_seed(seed)
    train = pd.read_csv(folder / "train.csv")
    model = CTGAN(epochs=epochs)
    start = time.perf_counter()
    model.fit(train, discrete_columns=["diagnosis"])
    seconds = time.perf_counter() - start
    parts = [
        model.sample(int(count), condition_column="diagnosis", condition_value=value)
        for value, count in train["diagnosis"].value_counts().items()
    ]
    pd.concat(parts).to_csv(folder / "synthetic.csv", index=False)
    (folder / "fit.json").write_text(json.dumps({"train_seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", help="the Python of a venv where `ctgan` is installed")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300, help="CTGAN epochs (default: CTGAN's 300)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--fit", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        return fit(args.fit, args.seed, args.epochs)
    if not args.python:
        parser.error("--python: the Python of a venv with ctgan installed is required")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from synthesis import summarize  # this folder's benchmarks/synthesis.py

    from kerazoo import tables
    from kerazoo.tasks.synthesis import split_table, synthesis_figures

    runs = []
    for seed in range(args.splits):
        folder = args.workdir / f"ctgan_epochs{args.epochs}_split{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        train, test = split_table(tables.load_breast_cancer_table(), seed)
        tables.write_csv(train, folder / "train.csv", overwrite=True)
        subprocess.run(
            [args.python, __file__, "--fit", str(folder), "--seed", str(seed), "--epochs", str(args.epochs)],
            check=True,
        )
        synthetic = tables.read_table(folder / "synthetic.csv", label="diagnosis")
        figures = synthesis_figures(synthetic, train, test, tables.TableTransform.fit(train), seed=seed)
        run = {
            "split_seed": seed,
            "train_seconds": json.loads((folder / "fit.json").read_text())["train_seconds"],
            **{k: figures[k] for k in ("tstr", "trtr", "privacy")},
            "mean_ks": figures["fidelity"]["mean_ks"],
            "correlation_mean_abs_diff": figures["fidelity"]["correlation_mean_abs_diff"],
        }
        runs.append(run)
        print(json.dumps(run), flush=True)

    summary = summarize(runs)
    versions = subprocess.run(
        [args.python, "-c", "import ctgan, torch; print(ctgan.__version__, torch.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.split()
    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    saved[f"epochs{args.epochs}"] = {
        "command": f"python benchmarks/ctgan_anchor.py --python CTGAN_VENV/bin/python --splits {args.splits} "
        f"--epochs {args.epochs}",
        "versions": {"ctgan": versions[0] if versions else None, "torch": versions[1] if versions else None},
        "summary": summary,
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(saved, indent=2) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
