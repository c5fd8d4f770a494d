"""Why the optimizer matters: one network, one data set, one seed and initial weights, eight optimizers.

    python benchmarks/optimizers.py --data-dir ../shared/data     # MNIST mlp and diabetes regression_mlp
    python benchmarks/optimizers.py --quick                       # digits, a few steps (the test suite)

For each task and each optimizer of `kerazoo.optimizers.COMPARED` (SGD, SGD with momentum 0.9,
Nesterov, RMSprop, Adagrad, Adam, AdamW with weight decay 0.01, Lion):

1. the learning rate: each rate of the optimizer's grid trains the same initial weights (seeded, the
   batches in the same order) for a short budget; the rate with the lowest validation loss wins;
2. the run: that rate for the full budget, the validation loss recorded every few steps
   (`kerazoo.callbacks.StepValidation`), then the test figures of the weights at the end;
3. time to target: the first recorded step (and training seconds) at which the validation loss is at
   most the task's target (`TARGETS`), or "not reached".

Tasks: the zoo's `mlp` on MNIST (validation: 10% of the training split; test: the 10,000 test
images), and `regression_mlp` on `diabetes` (split 0; 20% of the training rows for validation; RMSE
in the target's units). Also the optimizers' paths on Rosenbrock's valley and on an elongated bowl,
drawn by the same Keras optimizer objects (`kerazoo.optimizers.surface_paths`).

Writes `benchmarks/results/optimizers.json` and the pictures in `docs/assets/optimizers/`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import data as zdata  # noqa: E402
from kerazoo.callbacks import StepValidation  # noqa: E402
from kerazoo.optimizers import COMPARED, SURFACE_RATES, bowl, make, rosenbrock, surface_paths  # noqa: E402
from kerazoo.tasks.regression import regression_table  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "optimizers.json"
PICTURES = ROOT / "docs" / "assets" / "optimizers"
# Validation losses a good run reaches: MNIST cross-entropy 0.10 (about 97% accuracy), diabetes MSE
# 3,600 (RMSE 60, in the target's units; the mean-target baseline is about 73).
TARGETS = {"mnist_mlp": 0.10, "diabetes_regression_mlp": 3600.0}


def mnist_task(data_dir, quick):
    name = "digits" if quick else "mnist"
    split = dict(validation_split=0.1, data_dir=data_dir)
    train = zdata.make_dataset(name, "train", 128, seed=0, **split)
    val = zdata.make_dataset(name, "validation", 512, **split)
    test = zdata.make_dataset(name, "test", 512, data_dir=data_dir)
    keras.utils.set_random_seed(0)
    model = kerazoo.build("mlp")
    return {
        "model": model,
        "train": train,
        "val": val,
        "test": test,
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "metric": keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        "grid_epochs": 1,
        "epochs": 1 if quick else 5,
        "every": 5 if quick else 50,
        "data": name,
        "quick": quick,
    }


def diabetes_task(quick):
    table = regression_table("diabetes", split_seed=0)
    x, y = table.x_train, table.y_train
    x_fit, y_fit = zdata.carve_validation(x, y, "train", 0.2, 0)
    x_val, y_val = zdata.carve_validation(x, y, "validation", 0.2, 0)
    import tensorflow as tf

    order = zdata.EpochOrder(len(x_fit), 32, 0, drop_remainder=False)
    train = order.dataset((x_fit, y_fit[:, None]))
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val[:, None])).batch(512)
    test = tf.data.Dataset.from_tensor_slices((table.x_test, table.y_test[:, None])).batch(512)
    keras.utils.set_random_seed(0)
    model = kerazoo.build("regression_mlp")
    model.get_layer("regression_mlp_normalize").adapt(x_fit)
    model.get_layer("regression_mlp_target").adapt(y_fit[:, None])
    return {
        "model": model,
        "train": train,
        "val": val,
        "test": test,
        "loss": "mse",
        "metric": keras.metrics.RootMeanSquaredError(name="rmse"),
        "grid_epochs": 5 if quick else 60,
        "epochs": 5 if quick else 200,
        "every": 5 if quick else 20,
        "data": "diabetes",
        "quick": quick,
    }


def train_once(task, initial, name, lr, epochs, every=None):
    """Fit the task's model from `initial` with optimizer `name` at `lr`: `(model, curve or None)`."""
    model = task["model"]
    keras.utils.set_random_seed(0)
    model.set_weights(initial)
    model.compile(optimizer=make(name, lr), loss=task["loss"], metrics=[task["metric"]])
    curve = StepValidation(task["val"], every) if every else None
    model.fit(task["train"], epochs=epochs, verbose=0, callbacks=[curve] if curve else [])
    return model, curve


def finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def compare(task_name, task):
    initial = task["model"].get_weights()
    results = {}
    for name, (_, grid) in COMPARED.items():
        started = time.perf_counter()
        scores = {}
        for lr in grid[:2] if task["quick"] else grid:
            model, _ = train_once(task, initial, name, lr, task["grid_epochs"])
            scores[lr] = model.evaluate(task["val"], verbose=0, return_dict=True)["loss"]
        best = min(scores, key=lambda lr: scores[lr] if np.isfinite(scores[lr]) else np.inf)
        model, curve = train_once(task, initial, name, best, task["epochs"], task["every"])
        val = model.evaluate(task["val"], verbose=0, return_dict=True)
        test = model.evaluate(task["test"], verbose=0, return_dict=True)
        target = TARGETS[task_name]
        reached = next((i for i, loss in enumerate(curve.losses) if loss <= target), None)
        metric = task["metric"].name
        results[name] = {
            "grid": {str(k): finite(v) for k, v in scores.items()},
            "learning_rate": best,
            "val_loss": finite(val["loss"]),
            f"val_{metric}": finite(val[metric]),
            "test_loss": finite(test["loss"]),
            f"test_{metric}": finite(test[metric]),
            "steps_to_target": curve.steps[reached] if reached is not None else None,
            "seconds_to_target": curve.seconds[reached] if reached is not None else None,
            "curve": {"steps": curve.steps, "val_loss": [finite(v) for v in curve.losses]},
            "seconds": time.perf_counter() - started,
        }
        print(
            task_name, name, best, {k: results[name][k] for k in ("val_loss", "steps_to_target")}, flush=True
        )
    return results


def plot_curves(task_name, task, results, title):
    from kerazoo.plots import save_figure, subplots

    fig, ax = subplots(figsize=(8, 5))
    for name, r in results.items():
        steps, losses = r["curve"]["steps"], r["curve"]["val_loss"]
        ax.plot(
            steps, [np.nan if v is None else v for v in losses], label=f"{name} (lr {r['learning_rate']:g})"
        )
    ax.axhline(TARGETS[task_name], color="grey", linestyle=":", label="target")
    ax.set(xlabel="training step", ylabel="validation loss", title=title)
    if task_name == "mnist_mlp":
        ax.set_yscale("log")
    else:
        ax.set_ylim(top=3 * TARGETS[task_name], bottom=0)
    ax.legend(fontsize=8)
    save_figure(fig, PICTURES / f"{task_name}.png")


def plot_surfaces(quick=False):
    from kerazoo.plots import save_figure, subplots

    fig, axes = subplots(1, 2, figsize=(14, 6))
    figures = {}
    for ax, (label, surface, start, box, steps) in zip(
        axes,
        (
            ("Rosenbrock", rosenbrock, (-1.5, 2.0), (-2.0, 2.0, -1.0, 3.0), 50 if quick else 1000),
            ("bowl", bowl, (-8.0, 1.5), (-9.0, 9.0, -2.5, 2.5), 20 if quick else 150),
        ),
    ):
        optimizers = {name: make(name, SURFACE_RATES[label][name]) for name in COMPARED}
        paths = surface_paths(optimizers, surface, start, steps)
        xs, ys = np.meshgrid(np.linspace(box[0], box[1], 300), np.linspace(box[2], box[3], 300))
        levels = np.logspace(-1, 3.5, 25) if label == "Rosenbrock" else np.logspace(-2, 1.5, 20)
        ax.contour(xs, ys, surface(xs, ys), levels=levels, colors="lightgrey", linewidths=0.8)
        for name, path in paths.items():
            ax.plot(path[:, 0], path[:, 1], linewidth=1.4, label=name)
        minimum = (1.0, 1.0) if label == "Rosenbrock" else (0.0, 0.0)
        ax.plot(*minimum, "k*", markersize=12)
        ax.set(xlim=box[:2], ylim=box[2:], title=f"{label}: {steps} steps from {start}")
        ax.legend(fontsize=8)
        figures[label] = {
            name: {
                "steps": steps,
                "learning_rate": SURFACE_RATES[label][name],
                "final": path[-1].tolist(),
                "final_loss": float(surface(*path[-1])),
            }
            for name, path in paths.items()
        }
    save_figure(fig, PICTURES / "surfaces.png")
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="digits and a few steps (a smoke run)")
    parser.add_argument("--only", default="surfaces,mnist_mlp,diabetes_regression_mlp")
    parser.add_argument("--out", help="write the results and pictures here instead (a smoke run's place)")
    args = parser.parse_args()
    global RESULTS, PICTURES
    if args.out:
        RESULTS, PICTURES = Path(args.out) / "optimizers.json", Path(args.out)
    PICTURES.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    only = args.only.split(",")
    if "surfaces" in only:
        results["surfaces"] = plot_surfaces(args.quick)
    tasks = {
        "mnist_mlp": (lambda: mnist_task(args.data_dir, args.quick), "mlp on MNIST"),
        "diabetes_regression_mlp": (lambda: diabetes_task(args.quick), "regression_mlp on diabetes"),
    }
    for task_name, (make_task, title) in tasks.items():
        if task_name not in only:
            continue
        task = make_task()
        results[task_name] = {
            "data": task["data"],
            "target_val_loss": TARGETS[task_name],
            "grid_epochs": task["grid_epochs"],
            "epochs": task["epochs"],
            "optimizers": compare(task_name, task),
        }
        plot_curves(task_name, task, results[task_name]["optimizers"], title)
        results.update(
            command="python benchmarks/optimizers.py --data-dir ../shared/data", machine=machine_info()
        )
        results["versions"] = library_versions()
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
