"""`kerazoo.train`: one model, one recipe, one run directory.

The run directory (`runs/NAME` by default) is the contract that the CLI, the benchmarks and later
tools rely on:

| file | what |
|---|---|
| `model.keras` | the trained model |
| `config.json` | every argument, the effective hparams, the recipe, the seed, library versions |
| `history.json` | per-epoch metrics from `fit` (`val_*` are computed on the test split, for the curves only) |
| `metrics.json` | final figures on the test split (`test_accuracy`, `test_rmse`, ...) and `train_seconds` |
| `training_curves.png` | loss (and accuracy) against epochs |
| `predictions.csv`, `forecast.png` | forecaster only: date, actual, predicted over the test horizon |
| `decision_boundary.png` | logic models only: the output over the input plane, with the truth table |
| `generator.keras`, `grids/`, `samples.png` | GANs only: the generator alone (for `cgan`, inputs `[noise, labels]`), a fixed-noise grid per epoch, and the last grid |

For GANs, `history.json` also holds the health monitor's per-epoch `sample_diversity`,
`sample_realism` and failure flags, `training_curves.png` shows the losses, D(x) and D(G(z)), and
`metrics.json` the last epoch's figures, `failure_modes` and `images_per_second`.

A run is written into a temporary sibling folder and renamed into place when it is complete, so an
interrupted or failed run never leaves a partial run directory. Everything that can be checked
(arguments, hparams, data) is checked before training starts.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import kerazoo
from kerazoo import data as zdata
from kerazoo._registry import check_hparams, get_entry
from kerazoo.plots import plot_decision_boundary, plot_forecast, plot_history

__all__ = ["train", "UsageError", "WeightHistory", "make_optimizer", "library_versions"]

# Which dataset kinds each task can train on.
_TASK_DATA = {
    "logic": ("logic",),
    "regression": ("regression",),
    "classification": ("image", "tabular"),
    "forecasting": ("series",),
    "generation": ("image",),
    "reconstruction": ("image",),
}


class UsageError(ValueError):
    """Bad arguments to `train` (the CLI exits 2 with this message)."""


class WeightHistory(keras.callbacks.Callback):
    """Records a layer's weights at the end of every epoch into `logs` (so they land in History).

    Example:
        model.fit(ds, epochs=100, callbacks=[WeightHistory("linear_regression_weight")])
        history.history["w"]  # w after each epoch

    Args:
        layer_name: the Dense layer to watch.
        names: log keys for its kernel (and bias), flattened. Defaults to `("w", "b")`.
    """

    def __init__(self, layer_name: str, names=("w", "b")):
        super().__init__()
        if not isinstance(layer_name, str) or not layer_name:
            raise ValueError(f"`layer_name` must be a layer's name. Received: layer_name={layer_name!r}")
        self._layer_name = layer_name
        self._names = tuple(names)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        values = [float(v) for w in self.model.get_layer(self._layer_name).get_weights() for v in np.ravel(w)]
        for key, value in zip(self._names, values):
            logs[key] = value


def make_optimizer(recipe: dict, steps: int):
    """The recipe's optimizer; `schedule="cosine"` decays the learning rate over `steps`."""
    lr = recipe.get("learning_rate", 1e-3)
    if recipe.get("schedule") == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps), alpha=0.01)
    kind = recipe.get("optimizer", "adam")
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    raise UsageError(f"Unknown optimizer in recipe. Expected 'adam' or 'sgd'. Received: {kind!r}")


@dataclasses.dataclass
class _Task:
    """What a task's planner hands to `train`: data, model, and how to compile, watch and finish."""

    train_ds: Any
    test_ds: Any  # passed to fit as validation data (for the curves), or None
    model: keras.Model
    compile: Callable  # compile(model, steps)
    finish: Callable  # finish(model, run_dir) -> dict of final figures
    callbacks: Callable = lambda run_dir: []  # noqa: E731 - callbacks(run_dir) -> list
    panels: Any = None  # plot_history panels


@dataclasses.dataclass
class _Plan:
    """Everything a run needs, checked before anything is trained or written."""

    entry: Any
    dataset: str
    out: Path
    epochs: int
    task: _Task
    config: dict


def _standard_compile(recipe, loss, metrics=()):
    """compile(model, steps) with the recipe's optimizer, `loss` and `metrics`."""

    def compile_model(model, steps):
        model.compile(optimizer=make_optimizer(recipe, steps), loss=loss, metrics=list(metrics))

    return compile_model


def _check_int(arg, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"`{arg}` must be an integer >= {minimum}. Received: {arg}={value!r}")


def library_versions() -> dict:
    """Versions of kerazoo, TensorFlow, Keras, NumPy and Python, for config.json and reports."""
    return {
        "kerazoo": kerazoo.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _evaluate(model, test_ds) -> dict:
    return {f"test_{k}": float(v) for k, v in model.evaluate(test_ds, verbose=0, return_dict=True).items()}


def _plan_logic(plan_args, entry, hparams, recipe):
    ds_name, batch_size = plan_args["dataset"], plan_args["batch_size"]
    train_ds = zdata.make_dataset(ds_name, "train", batch_size, shuffle=False)
    test_ds = zdata.make_dataset(ds_name, "test", batch_size, shuffle=False)
    model = entry.builder(**hparams)
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)

    def finish(model, run_dir):
        figures = _evaluate(model, test_ds)
        outputs = model(inputs, training=False).numpy().ravel()
        figures["truth_table"] = [
            {"inputs": x.tolist(), "target": float(t), "output": float(o)}
            for x, t, o in zip(inputs, zdata.TRUTH_TABLES[ds_name], outputs)
        ]
        plot_decision_boundary(
            model,
            inputs,
            zdata.TRUTH_TABLES[ds_name],
            run_dir / "decision_boundary.png",
            title=f"{model.name} on '{ds_name}'",
        )
        return figures

    metrics = [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.5)]
    return _Task(train_ds, test_ds, model, _standard_compile(recipe, "mse", metrics), finish)


def _plan_regression(plan_args, entry, hparams, recipe):
    batch_size = plan_args["batch_size"]
    train_ds = zdata.make_dataset(plan_args["dataset"], "train", batch_size, shuffle=False)
    test_ds = zdata.make_dataset(plan_args["dataset"], "test", batch_size, shuffle=False)
    model = entry.builder(**hparams)
    layer = f"{model.name}_weight"

    def finish(model, run_dir):
        figures = _evaluate(model, test_ds)
        weights = model.get_layer(layer).get_weights()
        figures["w"] = float(np.ravel(weights[0])[0])
        if len(weights) > 1:
            figures["b"] = float(np.ravel(weights[1])[0])
        return figures

    return _Task(
        train_ds,
        test_ds,
        model,
        _standard_compile(recipe, "mse"),
        finish,
        lambda run_dir: [WeightHistory(layer)],
    )


def _plan_classification(plan_args, entry, hparams, recipe):
    ds_name, batch_size, seed = plan_args["dataset"], plan_args["batch_size"], plan_args["seed"]
    kind = zdata.dataset_kind(ds_name)
    common = dict(data_dir=plan_args["data_dir"], seed=seed, split_seed=plan_args["split_seed"])
    if kind == "image":
        common["normalization"] = entry.normalization or "unit"
    train_ds = zdata.make_dataset(ds_name, "train", batch_size, **common)
    test_ds = zdata.make_dataset(ds_name, "test", batch_size, **common)
    # Fit the model to the data: input shape and class count come from the dataset unless set.
    shape = tuple(int(d) for d in train_ds.element_spec[0].shape[1:])
    num_classes = int(train_ds.unbatch().map(lambda x, y: y).reduce(np.int32(0), tf.maximum)) + 1
    derived = {"num_features": shape[0]} if kind == "tabular" else {"input_shape": shape}
    derived["num_classes"] = num_classes
    for key, value in derived.items():
        if key in entry.hparams and key not in hparams:
            hparams[key] = value
    model = entry.builder(**hparams)
    model_shape = tuple(model.input_shape[1:])
    if model_shape != shape:
        raise UsageError(
            f"Dataset '{ds_name}' has inputs of shape {shape} but model '{entry.name}' expects "
            f"{model_shape}. Drop the shape override or pick a matching dataset."
        )
    if model.output_shape[-1] < num_classes:
        raise UsageError(
            f"Dataset '{ds_name}' has {num_classes} classes but the model outputs "
            f"{model.output_shape[-1]}. Received: num_classes={hparams.get('num_classes')}"
        )
    norm_layer = f"{model.name}_normalize"
    if any(layer.name == norm_layer for layer in model.layers):
        # Standardization statistics from the training split only.
        model.get_layer(norm_layer).adapt(train_ds.map(lambda x, y: x))

    def finish(model, run_dir):
        return _evaluate(model, test_ds)

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return _Task(train_ds, test_ds, model, _standard_compile(recipe, loss, metrics), finish)


def _plan_forecasting(plan_args, entry, hparams, recipe):
    ds_name, batch_size, seed = plan_args["dataset"], plan_args["batch_size"], plan_args["seed"]
    lookback = hparams.get("lookback", entry.hparams["lookback"])
    series = zdata.load_series(ds_name, csv=plan_args["csv"], column=plan_args["column"])
    zdata.series_windows(series, "test", lookback=lookback)  # a too-short series fails before training
    kwargs = dict(lookback=lookback, csv=plan_args["csv"], column=plan_args["column"], seed=seed)
    train_ds = zdata.make_dataset(ds_name, "train", batch_size, **kwargs)
    test_ds = zdata.make_dataset(ds_name, "test", batch_size, **kwargs)
    model = entry.builder(**hparams)

    def finish(model, run_dir):
        figures = {"test_loss": float(model.evaluate(test_ds, verbose=0))}
        figures.update(forecast_report(model, series, lookback, run_dir, f"{entry.name} on {ds_name}"))
        return figures

    return _Task(train_ds, test_ds, model, _standard_compile(recipe, "mse"), finish)


def _plan_generation(plan_args, entry, hparams, recipe):
    from kerazoo.callbacks import GANMonitor, SampleGrid

    ds_name, batch_size, seed = plan_args["dataset"], plan_args["batch_size"], plan_args["seed"]
    plan_epochs = plan_args["epochs"]
    conditional = "num_classes" in entry.hparams
    common = dict(data_dir=plan_args["data_dir"], normalization=entry.normalization or "symmetric")
    train_ds = zdata.make_dataset(
        ds_name, "train", batch_size, labels=conditional, drop_remainder=True, seed=seed, **common
    )
    # Real images for the health monitor: a fixed slice of the training split.
    reference = next(iter(zdata.make_dataset(ds_name, "train", 256, labels=False, shuffle=False, **common)))
    shape = tuple(int(d) for d in reference.shape[1:])
    hparams.setdefault("seed", seed)
    if "image_shape" in entry.hparams:
        hparams.setdefault("image_shape", shape)
    if conditional:
        labels = train_ds.unbatch().map(lambda x, y: y)
        hparams.setdefault("num_classes", int(labels.reduce(np.int32(0), tf.maximum)) + 1)
    model = entry.builder(**hparams)
    if model.image_shape != shape:
        raise UsageError(
            f"Dataset '{ds_name}' has images of shape {shape} but model '{entry.name}' makes "
            f"{model.image_shape}. Drop the image_shape override or pick a matching dataset."
        )

    def compile_model(model, steps):
        model.compile(
            d_optimizer=keras.optimizers.Adam(**recipe["d_optimizer"]),
            g_optimizer=keras.optimizers.Adam(**recipe["g_optimizer"]),
            loss=recipe["loss"],
            d_steps=recipe.get("d_steps", 1),
            gp_weight=recipe.get("gp_weight", 10.0),
            g_steps=recipe.get("g_steps", 1),
            r1_gamma=recipe.get("r1_gamma", 0.0),
        )

    def callbacks(run_dir):
        return [
            SampleGrid(
                run_dir / "grids",
                num_samples=100 if conditional else 64,
                seed=seed,
                log_dir=plan_args["tensorboard"],
            ),
            GANMonitor(reference.numpy(), warmup=min(5, max(0, plan_epochs - 1)), seed=seed),
        ]

    def finish(model, run_dir):
        grids = sorted((run_dir / "grids").glob("grid_epoch_*.png"))
        if grids:
            shutil.copyfile(grids[-1], run_dir / "samples.png")
        model.generator.save(run_dir / "generator.keras")
        history = model.history.history
        figures = {
            k: float(history[k][-1])
            for k in ("d_loss", "g_loss", "d_real", "d_fake", "sample_diversity", "sample_realism")
            if history.get(k)
        }
        figures["failure_modes"] = sorted({mode for mode in GANMonitor.MODES if history.get(mode, [0])[-1]})
        steps = model.history.params.get("steps") or int(train_ds.cardinality())
        figures["images_seen"] = int(steps * batch_size * len(history.get("d_loss", [])))
        return figures

    return _Task(
        train_ds,
        None,
        model,
        compile_model,
        finish,
        callbacks,
        panels=[("d_loss", "g_loss"), ("d_real", "d_fake"), ("sample_diversity", "sample_realism")],
    )


def _plan_reconstruction(plan_args, entry, hparams, recipe):
    from kerazoo.plots import plot_latent_space, save_image_grid

    ds_name, batch_size, seed = plan_args["dataset"], plan_args["batch_size"], plan_args["seed"]
    common = dict(data_dir=plan_args["data_dir"], normalization=entry.normalization or "unit", labels=False)
    train_ds = zdata.make_dataset(ds_name, "train", batch_size, seed=seed, **common)
    test_ds = zdata.make_dataset(ds_name, "test", batch_size, **common)
    shape = tuple(int(d) for d in train_ds.element_spec.shape[1:])
    if "image_shape" in entry.hparams:
        hparams.setdefault("image_shape", shape)
    if "seed" in entry.hparams:
        hparams.setdefault("seed", seed)
    model = entry.builder(**hparams)
    variational = hasattr(model, "encoder") and hasattr(model, "decoder")
    if not variational:  # plain autoencoders learn x -> x
        train_ds, test_ds = (d.map(lambda x: (x, x)) for d in (train_ds, test_ds))

    def compile_model(model, steps):
        optimizer = make_optimizer(recipe, steps)
        model.compile(optimizer=optimizer) if variational else model.compile(optimizer=optimizer, loss="mse")

    def finish(model, run_dir):
        encoder = model.encoder if variational else model.get_layer(f"{model.name}_encoder")
        decoder = model.decoder if variational else model.get_layer(f"{model.name}_decoder")
        encoder.save(run_dir / "encoder.keras")
        decoder.save(run_dir / "decoder.keras")
        results = model.evaluate(test_ds, verbose=0, return_dict=True)
        if variational:
            figures = {f"test_{k}": float(v) for k, v in results.items()}
        else:
            figures = {"test_reconstruction_loss": float(results["loss"])}  # MSE per pixel, [0, 1] scale
        x_test, y_test = zdata.load_images(ds_name, "test", plan_args["data_dir"])
        x_test = zdata.NORMALIZATIONS[common["normalization"]](x_test).numpy()
        shown = x_test[:10]
        rows = [shown]
        if any(layer.name.endswith("_corrupt") for layer in model.layers):
            noise_layer = next(layer for layer in model.layers if layer.name.endswith("_corrupt"))
            noisy = np.clip(
                shown + np.random.default_rng(seed).normal(0, noise_layer.stddev, shown.shape), 0, 1
            )
            rows = [noisy.astype(np.float32), model(noisy, training=False).numpy(), shown]
        else:
            rows.append(model(shown, training=False).numpy())
        save_image_grid(np.concatenate(rows), run_dir / "reconstructions.png", rows=len(rows))
        latent_dim = int(decoder.inputs[0].shape[-1])
        if latent_dim == 2:
            codes = encoder.predict(x_test, verbose=0, batch_size=256)
            means = codes[0] if variational else codes
            plot_latent_space(
                means, y_test, decoder, run_dir / "latent_space.png", title=f"{model.name} latent means"
            )
        return figures

    return _Task(train_ds, test_ds, model, compile_model, finish)


def forecast_report(model, series, lookback: int, folder: Path, title: str) -> dict:
    """One-step forecasts over the test horizon: the figures of `_forecast_figures`, plus
    `predictions.csv` (date, actual, predicted) and `forecast.png` in `folder`."""
    x_test, _, targets, scaler = zdata.series_windows(series, "test", lookback=lookback)
    values = series.values
    predicted = scaler.invert(model.predict(x_test, verbose=0)[:, 0], values[targets - 1])
    figures = _forecast_figures(values, targets, predicted)
    with open(folder / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["date", "actual", "predicted"])
        for t, a, p in zip(targets, values[targets], predicted):
            writer.writerow([series.dates[t], f"{a:.6g}", f"{p:.6g}"])
    plot_forecast(
        series.dates,
        values,
        int(targets[0]),
        predicted,
        folder / "forecast.png",
        title=f"{title}: test RMSE {figures['test_rmse']:.3g}",
    )
    return figures


def _forecast_figures(values, targets, predicted) -> dict:
    """RMSE, MAE, MAPE of a one-step forecast, against persistence and seasonal naive."""
    actual = values[targets]

    def rmse(p):
        return float(np.sqrt(np.mean((actual - p) ** 2)))

    figures = {
        "test_rmse": rmse(predicted),
        "test_mae": float(np.mean(np.abs(actual - predicted))),
        "test_mape": float(np.mean(np.abs(actual - predicted) / actual) * 100),
        "persistence_rmse": rmse(values[targets - 1]),
        "seasonal_naive_rmse": rmse(values[targets - 12]),
    }
    figures["rmse_vs_persistence"] = figures["test_rmse"] / figures["persistence_rmse"]
    figures["rmse_vs_seasonal_naive"] = figures["test_rmse"] / figures["seasonal_naive_rmse"]
    return figures


_PLANNERS = {
    "logic": _plan_logic,
    "regression": _plan_regression,
    "classification": _plan_classification,
    "forecasting": _plan_forecasting,
    "generation": _plan_generation,
    "reconstruction": _plan_reconstruction,
}


def _plan(
    name,
    *,
    dataset,
    data_dir,
    epochs,
    batch_size,
    seed,
    out,
    hparams,
    csv,
    column,
    overwrite,
    split_seed,
    tensorboard=None,
):
    entry = get_entry(name)
    hparams = dict(hparams or {})
    check_hparams(entry.name, hparams)
    if entry.task not in _PLANNERS:
        raise UsageError(f"Model '{entry.name}' ({entry.task}) has no training recipe in this version.")
    recipe = dict(entry.recipe)
    epochs = recipe["epochs"] if epochs is None else epochs
    batch_size = recipe["batch_size"] if batch_size is None else batch_size
    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
    _check_int("seed", seed, 0)
    _check_int("split_seed", split_seed, 0)
    dataset = dataset or entry.dataset
    kind = zdata.dataset_kind(dataset)
    if kind not in _TASK_DATA[entry.task]:
        raise UsageError(
            f"Model '{entry.name}' ({entry.task}) cannot train on dataset '{dataset}' ({kind} data). "
            f"Its default dataset is '{entry.dataset}'."
        )
    if entry.name == "tabular_mlp" and kind != "tabular" or entry.name in ("mlp", "cnn") and kind != "image":
        raise UsageError(f"Model '{entry.name}' cannot train on dataset '{dataset}' ({kind} data).")
    if (csv is not None or column is not None) and dataset != "csv":
        raise UsageError(f"--csv and --column go with --dataset csv. Received: dataset={dataset!r}")
    out = Path(out or Path("runs") / entry.name)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UsageError(f"Output '{out}' already exists. Choose another --out or pass --overwrite.")

    keras.utils.set_random_seed(seed)
    plan_args = dict(
        dataset=dataset,
        data_dir=data_dir,
        batch_size=batch_size,
        seed=seed,
        csv=csv,
        column=column,
        split_seed=split_seed,
        epochs=epochs,
        tensorboard=tensorboard,
    )
    task = _PLANNERS[entry.task](plan_args, entry, hparams, recipe)
    config = {
        "model": entry.name,
        "task": entry.task,
        "dataset": dataset,
        "data_dir": str(data_dir) if data_dir else os.environ.get(zdata.DATA_DIR_ENV),
        "csv": str(csv) if csv else None,
        "column": column,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "split_seed": split_seed,
        "hparams": {**entry.hparams, **hparams},
        "recipe": recipe,
        "versions": library_versions(),
    }
    return _Plan(entry, dataset, out, epochs, task, config)


STRATEGIES = ("default", "mirrored")


def _strategy(name):
    """A tf.distribute strategy by name: `default` (one device) or `mirrored` (all local GPUs, or
    the CPU's logical devices)."""
    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise UsageError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: strategy={name!r}")


def _write_json(path: Path, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
        f.write("\n")


def train(
    name: str,
    *,
    dataset: str | None = None,
    data_dir=None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    out=None,
    hparams: dict | None = None,
    csv=None,
    column: str | None = None,
    overwrite: bool = False,
    split_seed: int = 0,
    strategy: str | None = None,
    verbose="auto",
    callbacks=(),
    tensorboard=None,
) -> dict:
    """Train zoo model `name` with its recipe and write a run directory.

    Example:
        metrics = kerazoo.train("cnn", dataset="mnist", data_dir="../shared/data", epochs=2)

    Args:
        name: a registry name (`kerazoo.list_models()`).
        dataset: dataset name; defaults to the model's default (the embedded offline data).
        data_dir: folder with local MNIST-format files (else `$KERAZOO_DATA_DIR`).
        epochs, batch_size: default to the recipe's.
        seed: seeds Keras, NumPy, Python and TF, and the shuffling. Defaults to `0`.
        out: the run directory; defaults to `runs/NAME`. An existing non-empty one is refused
            unless `overwrite=True`.
        hparams: builder overrides, e.g. `{"hidden_units": (256, 128)}`.
        csv, column: the file and column for `dataset="csv"`.
        split_seed: which stratified train/test split of `breast_cancer`. Defaults to `0`.
        strategy: `"default"` or `"mirrored"` (`tf.distribute.MirroredStrategy`); the model and its
            optimizers are built inside the strategy's scope.
        verbose: passed to `fit` (`"auto"` shows the Keras progress bar).
        callbacks: extra Keras callbacks for `fit`.
        tensorboard: a TensorBoard log directory: Keras' `TensorBoard` callback writes the scalars
            there, and GANs add their sample grids as images. Needs `pip install "kerazoo[tensorboard]"`.

    Returns:
        The final figures written to `metrics.json`, with `run_dir` added.

    Raises:
        UsageError: bad arguments (unknown model, unknown or invalid hparam, ...).
        kerazoo.data.DataError: missing or bad data. In both cases nothing is written.
    """
    if tensorboard is not None:
        from kerazoo.callbacks import require_tensorboard

        try:
            require_tensorboard()
        except ImportError as e:
            raise UsageError(str(e)) from None
        callbacks = [*callbacks, keras.callbacks.TensorBoard(str(tensorboard))]
    # Build the model and its optimizers inside the strategy's scope (they must live there).
    with _strategy(strategy).scope():
        try:
            plan = _plan(
                name,
                dataset=dataset,
                data_dir=data_dir,
                epochs=epochs,
                batch_size=batch_size,
                seed=seed,
                out=out,
                hparams=hparams,
                csv=csv,
                column=column,
                overwrite=overwrite,
                split_seed=split_seed,
                tensorboard=tensorboard,
            )
        except (UsageError, zdata.DataError):
            raise
        except ValueError as e:  # unknown model or hparam, bad hparam value: a usage error too
            raise UsageError(str(e)) from e
        task, model = plan.task, plan.task.model
        epochs = plan.epochs if model.trainable_weights else 0
        task.compile(model, plan.epochs * int(task.train_ds.cardinality()))
    plan.config["strategy"] = strategy or "default"

    plan.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plan.out.name}.", suffix=".partial", dir=plan.out.parent))
    try:
        if not epochs:
            # Hand-wired (step) networks have nothing to learn: evaluate them as they are.
            print(f"{plan.entry.name}: no trainable weights (hand-wired); evaluating only.")
        plan.config["epochs"] = epochs
        start = time.perf_counter()
        history = model.fit(
            task.train_ds,
            epochs=epochs,
            validation_data=task.test_ds,
            callbacks=[*task.callbacks(tmp), *callbacks],
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles
        )
        train_seconds = time.perf_counter() - start
        hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        figures = task.finish(model, tmp)
        figures.update(train_seconds=round(train_seconds, 3), epochs=epochs)
        if "images_seen" in figures:
            figures["images_per_second"] = round(figures["images_seen"] / max(train_seconds, 1e-9), 1)
        model.save(tmp / "model.keras")
        _write_json(tmp / "config.json", plan.config)
        _write_json(tmp / "history.json", hist)
        _write_json(tmp / "metrics.json", figures)
        plot_history(
            hist,
            tmp / "training_curves.png",
            title=f"{plan.entry.name} on {plan.dataset}",
            panels=task.panels,
        )
        if plan.out.exists():
            shutil.rmtree(plan.out) if plan.out.is_dir() else plan.out.unlink()
        os.replace(tmp, plan.out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {**figures, "run_dir": str(plan.out)}
