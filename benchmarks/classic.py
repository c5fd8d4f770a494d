"""Benchmark of the classic networks: the figures in README's model table come from here.

    python benchmarks/classic.py --data-dir ../shared/data

Each model is trained by `kerazoo.train` with its recipe's defaults (exactly what `kerazoo train`
does: whatever the recipe selects, it selects on a validation split carved from the training split,
and the test split is read once, at the end), on full MNIST from the data directory for the image
classifiers, on 10 stratified splits for the breast cancer MLP (with scikit-learn's logistic
regression on the same splits beside it), and on the synthetic and the airline series for the
forecaster, with run seeds 0-2 (with the classic airline-model SARIMA(0,1,1)(0,1,1)12 of the log
series beside it, fitted on the same months before the test horizon and forecasting the same 48
months one step ahead; it needs statsmodels: `pip install "kerazoo[benchmarks]"`; and a ridge linear
autoregression on the forecaster's own windows). `--only` picks parts; a rerun keeps the parts of
the results file it did not run. Results go to
`benchmarks/results/classic.json` and a Markdown table to stdout. Timings are wall-clock on
whatever machine runs it; say which machine when you quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo.data import load_series, load_tabular, series_windows  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

TARGETS = {
    "cnn": "test accuracy >= 99.5% in <= 10 min of training",
    "mlp": "test accuracy >= 98.5%",
    "tabular_mlp": "mean test accuracy over 10 splits >= logistic regression's",
    "lstm_forecaster": "airline RMSE <= 14 (SARIMA's)",
}


def _train(name, workdir, **kwargs):
    out = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir)) / "run"
    return kerazoo.train(name, out=out, verbose=0, **kwargs)


def bench_logic_and_regression(workdir):
    rows = {}
    for name, kwargs in [
        ("neuron", {"dataset": "and"}),
        ("neuron", {"dataset": "or"}),
        ("xor_net", {}),
        ("xor_net", {"hparams": {"hand_wired": False}}),
        ("linear_regression", {}),
    ]:
        key = f"{name}:{kwargs.get('dataset') or ('trainable' if kwargs.get('hparams') else 'default')}"
        m = _train(name, workdir, **kwargs)
        rows[key] = {k: m[k] for k in ("test_accuracy", "w", "train_seconds", "epochs") if k in m}
        if "w" in m:
            rows[key]["test_mse"] = m["test_loss"]
    return rows


MNIST_KEYS = ("test_accuracy", "validation_accuracy", "train_seconds", "epochs", "epochs_trained")


def bench_mnist(name, workdir, data_dir, seeds=(0,)):
    """The recipe on full MNIST with each run seed in `seeds`: the headline `test_accuracy` is the
    mean over the seeds, each seed's figures beside it (one seed: that run's figures, as before)."""
    runs = [_train(name, workdir, dataset="mnist", data_dir=data_dir, seed=seed) for seed in seeds]
    row = {k: runs[0][k] for k in MNIST_KEYS if k in runs[0]}
    if len(seeds) > 1:
        accuracy = [r["test_accuracy"] for r in runs]
        row.update(
            test_accuracy=float(np.mean(accuracy)),
            test_accuracy_std=float(np.std(accuracy)),
            test_accuracy_per_seed=accuracy,
            validation_accuracy=float(np.mean([r["validation_accuracy"] for r in runs])),
            train_seconds=float(np.mean([r["train_seconds"] for r in runs])),
            epochs_trained_per_seed=[r.get("epochs_trained", r["epochs"]) for r in runs],
            seeds=list(seeds),
        )
    return row


def bench_other_data(workdir, data_dir):
    """The cnn recipe on image data it was not tuned on: the embedded digits, and MNIST with its
    gray levels inverted (white background, dark strokes) under a name the augmentation policy does
    not know (shifts only)."""
    from kerazoo.data import load_images

    rows = {"digits": {k: v for k, v in _train("cnn", workdir).items() if k in MNIST_KEYS}}
    folder = Path(tempfile.mkdtemp(prefix="inverted-", dir=workdir))
    arrays = {}
    for split in ("train", "test"):
        x, y = load_images("mnist", split, data_dir)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = 255 - x[..., 0], y
    np.savez(folder / "mnist_inverted.npz", **arrays)
    m = _train("cnn", workdir, dataset="mnist_inverted", data_dir=folder)
    rows["mnist_inverted"] = {k: m[k] for k in MNIST_KEYS if k in m}
    return rows


def bench_tabular(workdir, splits=10):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp, validation, logreg, seconds = [], [], [], 0.0
    for k in range(splits):
        m = _train("tabular_mlp", workdir, split_seed=k)
        mlp.append(m["test_accuracy"])
        validation.append(m.get("validation_accuracy", float("nan")))
        seconds += m["train_seconds"]
        x_tr, y_tr = load_tabular("breast_cancer", "train", split_seed=k)
        x_te, y_te = load_tabular("breast_cancer", "test", split_seed=k)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x_tr, y_tr)
        logreg.append(float(clf.score(x_te, y_te)))
    return {
        "mean_test_accuracy": float(np.mean(mlp)),
        "std_test_accuracy": float(np.std(mlp)),
        "per_split": mlp,
        "mean_validation_accuracy": float(np.mean(validation)),
        "logistic_regression_per_split": logreg,
        "logistic_regression_mean_test_accuracy": float(np.mean(logreg)),
        "train_seconds_total": seconds,
        "splits": splits,
    }


def sarima_rmse(dataset, test_size=48):
    """RMSE of the airline model, SARIMA(0,1,1)(0,1,1)12 of the log series, fitted on the months before
    the test horizon and forecasting each test month one step ahead from the actual months before it
    (the forecaster's protocol); None without statsmodels."""
    try:
        from statsmodels.tsa.statespace.sarimax import SARIMAX
    except ImportError:
        return None
    import warnings

    values = load_series(dataset).values
    n_train = len(values) - test_size
    spec = dict(order=(0, 1, 1), seasonal_order=(0, 1, 1, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence chatter
        params = SARIMAX(np.log(values[:n_train]), **spec).fit(disp=False).params
        whole = SARIMAX(np.log(values), **spec).filter(params)
        predicted = np.exp(whole.get_prediction(start=n_train, end=len(values) - 1).predicted_mean)
    return float(np.sqrt(np.mean((values[n_train:] - predicted) ** 2)))


def linear_ar_rmse(dataset, lookback):
    """RMSE of a linear autoregression on the forecaster's own windows (the transformed series, the
    same `lookback`, every window before the test horizon), ridge-regularised with the strength chosen
    by 5-fold time-series cross-validation inside those months (scikit-learn's `RidgeCV` with
    `TimeSeriesSplit`), forecasting the same 48 months one step ahead. It shows what the windows hold
    for a model that needs few examples."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import TimeSeriesSplit

    series = load_series(dataset)
    x, y, _, _ = series_windows(series, "train", lookback=lookback)
    x_test, _, targets, scaler = series_windows(series, "test", lookback=lookback)
    model = RidgeCV(alphas=np.logspace(-4, 2, 13), cv=TimeSeriesSplit(5)).fit(x[..., 0], y[:, 0])
    values = series.values
    predicted = scaler.invert(model.predict(x_test[..., 0]), values[targets - 1])
    return float(np.sqrt(np.mean((values[targets] - predicted) ** 2)))


def bench_forecaster(workdir, seeds=(0, 1, 2)):
    """The forecaster's recipe with run seeds 0-2 on each series (a few seconds each): the mean RMSE
    is the headline, each seed's beside it; the other keys are seed 0's run."""
    rows = {}
    for dataset in ("synthetic_monthly", "airline"):
        runs = [_train("lstm_forecaster", workdir, dataset=dataset, seed=seed) for seed in seeds]
        m = runs[0]
        keys = (
            "persistence_rmse",
            "seasonal_naive_rmse",
            "test_mape",
            "train_seconds",
            "epochs",
            "epochs_trained",
            "validation_loss",
        )
        rows[dataset] = {k: m.get(k) for k in keys}
        per_seed = [r["test_rmse"] for r in runs]
        rows[dataset].update(
            test_rmse=float(np.mean(per_seed)),
            test_rmse_per_seed=per_seed,
            seeds=list(seeds),
            epochs_trained_per_seed=[r.get("epochs_trained") for r in runs],
        )
        rows[dataset]["rmse_vs_persistence"] = rows[dataset]["test_rmse"] / m["persistence_rmse"]
        rows[dataset]["sarima_rmse"] = sarima_rmse(dataset)
        rows[dataset]["linear_ar_rmse"] = {str(k): linear_ar_rmse(dataset, k) for k in (12, 13, 24)}
    return rows


def _sarima(r) -> str:
    return f", SARIMA {r['sarima_rmse']:.1f}" if r.get("sarima_rmse") else ""


def markdown(results) -> str:
    lines = ["| model | data | figure | target | epochs | train time |", "|---|---|---|---|---|---|"]
    for name in ("cnn", "mlp"):
        if name in results:
            r = results[name]
            spread = ""
            if r.get("seeds"):
                each = ", ".join(f"{a:.2%}" for a in r["test_accuracy_per_seed"])
                spread = f" (mean of seeds {r['seeds'][0]}-{r['seeds'][-1]}: {each})"
            lines.append(
                f"| `{name}` | MNIST (54k train, 6k validation, 10k test) | {r['test_accuracy']:.2%} test accuracy{spread} | "
                f"{TARGETS[name]} | {r['epochs']} | {r['train_seconds']:.0f} s |"
            )
    if "tabular_mlp" in results:
        r = results["tabular_mlp"]
        lines.append(
            f"| `tabular_mlp` | breast_cancer, 10 stratified 80/20 splits | {r['mean_test_accuracy']:.2%} "
            f"mean test accuracy (± {r['std_test_accuracy']:.2%}); logistic regression "
            f"{r['logistic_regression_mean_test_accuracy']:.2%} | {TARGETS['tabular_mlp']} | 100 | "
            f"{r['train_seconds_total']:.0f} s for 10 |"
        )
    for dataset, r in results.get("lstm_forecaster", {}).items():
        seeds = ", ".join(f"{x:.2f}" for x in r["test_rmse_per_seed"])
        lines.append(
            f"| `lstm_forecaster` | {dataset}, last 48 months one step ahead | RMSE {r['test_rmse']:.2f} (mean of "
            f"seeds 0-2: {seeds}) vs persistence {r['persistence_rmse']:.1f}, seasonal naive "
            f"{r['seasonal_naive_rmse']:.1f}{_sarima(r)}, linear autoregression on the same windows "
            f"{r['linear_ar_rmse']['12']:.1f} | {TARGETS['lstm_forecaster']} | at most {r['epochs']} "
            f"(stopped after {min(r['epochs_trained_per_seed'])}-{max(r['epochs_trained_per_seed'])}) | "
            f"{r['train_seconds']:.0f} s |"
        )
    for key, r in results.get("toys", {}).items():
        figure = f"w = {r['w']:.5f}" if "w" in r else f"{r['test_accuracy']:.0%} truth-table accuracy"
        lines.append(
            f"| `{key.split(':')[0]}` | {key.split(':')[1]} | {figure} | | {r['epochs']} | "
            f"{r['train_seconds']:.1f} s |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("KERAZOO_DATA_DIR"),
        help="folder with mnist.npz or raw/mnist/*.gz (default: $KERAZOO_DATA_DIR)",
    )
    parser.add_argument(
        "--only",
        default="toys,cnn,mlp,tabular_mlp,lstm_forecaster,other_data",
        help="comma list of: toys, cnn, mlp, tabular_mlp, lstm_forecaster, other_data",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run seeds 0..N-1 for cnn and mlp; the figure is their mean, each beside it (default: 1)",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "classic.json"))
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: expected a positive number of seeds")
    only = args.only.split(",")
    if ({"cnn", "mlp", "other_data"} & set(only)) and not args.data_dir:
        parser.error("cnn and mlp are benchmarked on full MNIST: pass --data-dir (e.g. ../shared/data)")

    # `machine_by_part` records the machine each part ran on (a partial rerun must not relabel the
    # parts it keeps; parts it does not list ran on the top level's machine).
    machine = {"platform": platform.platform(), **machine_info()}
    results = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        if "toys" in only:
            results["toys"] = bench_logic_and_regression(workdir)
        for name in ("cnn", "mlp"):
            if name in only:
                results[name] = bench_mnist(name, workdir, args.data_dir, range(args.seeds))
                print(name, results[name], flush=True)
        if "other_data" in only:
            results["cnn_other_data"] = bench_other_data(workdir, args.data_dir)
            print("cnn_other_data", results["cnn_other_data"], flush=True)
        if "tabular_mlp" in only:
            results["tabular_mlp"] = bench_tabular(workdir)
        if "lstm_forecaster" in only:
            results["lstm_forecaster"] = bench_forecaster(workdir)
    ran = {part: machine for part in results}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_file():  # keep the parts not run this time
        old = json.loads(out.read_text())
        results = {**old, **results, "machine_by_part": {**old.get("machine_by_part", {}), **ran}}
    else:
        results.update(machine=machine, versions=library_versions(), machine_by_part=ran)
    results["total_seconds"] = time.perf_counter() - start
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
