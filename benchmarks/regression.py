"""Benchmark of `regression_mlp` against honest anchors on the same splits.

    python benchmarks/regression.py [--splits 10] [--recipe key=value ...] [--set key=value ...]

On scikit-learn's `diabetes` table (442 rows, 10 raw features, the target in its own units), for
each of `--splits` seeded 80/20 train/test splits (`--split-seed` 0, 1, ...): `kerazoo train
regression_mlp` with its recipe (validation rows carved from the training rows, the best
validation epoch kept), the mean-target baseline, scikit-learn's RidgeCV (standardized features,
alphas 1e-3..1e3) and HistGradientBoostingRegressor (its defaults, early stopping on its own
validation share). All of them see the same training rows and are judged on the same test rows.
Target: the MLP's mean test RMSE at most RidgeCV's. Results: `benchmarks/results/regression.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo.tasks.regression import regression_table  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "regression.json"


def _rmse(y, p):
    return float(np.sqrt(np.mean((np.ravel(p) - np.ravel(y)) ** 2)))


def _mae(y, p):
    return float(np.mean(np.abs(np.ravel(p) - np.ravel(y))))


def anchors(table) -> dict:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, xt, yt = table.x_train, table.y_train, table.x_test, table.y_test
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(x, y)
    trees = HistGradientBoostingRegressor(random_state=0).fit(x, y)
    predictions = {
        "mean_target": np.full(len(yt), y.mean()),
        "ridge_cv": ridge.predict(xt),
        "hist_gradient_boosting": trees.predict(xt),
    }
    return {k: {"rmse": _rmse(yt, p), "mae": _mae(yt, p)} for k, p in predictions.items()}


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--recipe", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--set", action="append", default=[], help="hparam override key=value")
    parser.add_argument("--dry", action="store_true", help="print, do not write the results file")
    args = parser.parse_args()
    recipe = {k: _value(v) for k, v in (item.split("=", 1) for item in args.recipe)}
    hparams = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for split in range(args.splits):
            table = regression_table("diabetes", split_seed=split)
            out = Path(tmp) / f"split{split}"
            kerazoo.train(
                "regression_mlp",
                out=out,
                verbose=0,
                split_seed=split,
                recipe=recipe or None,
                hparams=hparams or None,
            )
            metrics = json.loads((out / "metrics.json").read_text())
            row = {"split_seed": split, **anchors(table)}
            row["regression_mlp"] = {
                "rmse": metrics["rmse"],
                "mae": metrics["mae"],
                "epochs_trained": metrics.get("epochs_trained"),
            }
            rows.append(row)
            print(split, {k: round(v["rmse"], 2) for k, v in row.items() if isinstance(v, dict)}, flush=True)
    models = ("mean_target", "ridge_cv", "hist_gradient_boosting", "regression_mlp")
    summary = {
        m: {
            "rmse_mean": statistics.mean(r[m]["rmse"] for r in rows),
            "rmse_std": statistics.stdev(r[m]["rmse"] for r in rows) if len(rows) > 1 else 0.0,
            "mae_mean": statistics.mean(r[m]["mae"] for r in rows),
        }
        for m in models
    }
    wins = sum(r["regression_mlp"]["rmse"] <= r["ridge_cv"]["rmse"] for r in rows)
    result = {
        "dataset": "diabetes",
        "splits": len(rows),
        "recipe_overrides": recipe,
        "hparam_overrides": hparams,
        "summary": summary,
        "mlp_at_most_ridge_on": wins,
        "target_met": summary["regression_mlp"]["rmse_mean"] <= summary["ridge_cv"]["rmse_mean"],
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "command": "python benchmarks/regression.py",
        "machine": machine_info(),
        "versions": library_versions(),
    }
    print(json.dumps(summary, indent=1), "target met:", result["target_met"], f"({wins}/{len(rows)} splits)")
    if not args.dry:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
