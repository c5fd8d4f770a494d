"""The `regression` task: predict a number. Two kinds of model train here.

- `linear_regression` on the seed's `doubling` data: a single weight fits points. Reports the test
  loss and the learned weight `w` (and bias `b`) in `metrics.json`, and `w` after every epoch in
  `history.json` (`kerazoo.callbacks.WeightHistory`). Deploys `inputs` -> `predictions`.
- `regression_mlp` on a table: scikit-learn's bundled `diabetes` (the offline default) or any CSV
  (`--dataset table --csv PATH --target COLUMN`; every other column must be numeric). 80/20 train/test
  split seeded by `--split-seed`, validation rows carved from the training rows (recipe
  `validation_split`), the epoch with the lowest validation loss kept. The loss is MSE or Huber
  (recipe `loss`, `huber_delta` in the target's units); MAE and RMSE are reported in the target's
  units, beside the mean-target baseline's. Pictures: `predicted_vs_true.png` (with the identity
  line) and `residuals.png`. Deploys `features` -> `predictions` with the standardization inside
  and the input columns in the metadata, so `kerazoo predict ARTIFACT rows.csv` needs no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np

from kerazoo import data as zdata
from kerazoo import tables
from kerazoo._checks import check_choice, check_number
from kerazoo.callbacks import WeightHistory
from kerazoo.serving import Servable
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, UsageError, ValidatedRecipe, evaluate_figures

__all__ = ["Regression", "RegressionRecipe", "RegressorServable", "regression_table"]

TEST_FRACTION = 0.2
LOSSES = ("mse", "huber")


@dataclasses.dataclass(frozen=True)
class RegressionRecipe(ValidatedRecipe):
    """`ValidatedRecipe` (no validation split by default: `doubling` has five points) plus the loss:
    `"mse"` or `"huber"` (with `huber_delta`, in the target's units)."""

    validation_split: float = 0.0
    loss: str = "mse"
    huber_delta: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check_choice("loss", self.loss, LOSSES)
        check_number("huber_delta", self.huber_delta, 0.0, strict=True)


@dataclasses.dataclass
class RegressionTable:
    """A regression table split for a run: the feature columns, the target's name, and arrays."""

    columns: list
    target: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def regression_table(dataset: str, csv=None, target=None, split_seed: int = 0) -> RegressionTable:
    """The table of a `regression_mlp` run, split 80/20 (seeded by `split_seed`): `diabetes`, or
    `table` read from `csv` with `target` as the number to predict.

    Raises:
        UsageError: a missing --csv or --target, a CSV that cannot be used (no such target column, a
            target that is not a number or is constant, a feature column that is not numeric).
    """
    from sklearn.model_selection import train_test_split

    if dataset == "table":
        if csv is None or target is None:
            raise UsageError(
                "Dataset 'table' needs a file and the column to predict: --csv PATH --target COLUMN."
            )
        try:
            table = tables.read_table(csv, label=target, numeric_label=True)
        except tables.TableError as e:
            raise UsageError(
                str(e).replace(f"no label column '{target}'", f"no target column '{target}'")
            ) from None
        names = table.features
        text = [n for n in names if table.kinds[n] == "categorical"]
        if text:
            raise UsageError(
                f"'{csv}' column '{text[0]}' is not numeric: regression_mlp takes numbers; one-hot encode "
                "it or drop it."
            )
        x = np.stack([table.columns[n] for n in names], axis=1).astype(np.float32)
        y = np.asarray(table.columns[target], np.float32)
    elif dataset in zdata.REGRESSION_TABLES:
        names, x, y = zdata.tabular_columns(dataset)
        target = "progression" if dataset == "diabetes" else "target"
    else:
        raise UsageError(
            f"regression_mlp reads a table: 'diabetes' or 'table' (--csv PATH --target COLUMN). Received: {dataset!r}"
        )
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, random_state=split_seed)
    return RegressionTable(list(names), target, x_tr, y_tr, x_te, y_te)


def _weight_layer(model) -> str:
    return f"{model.name}_weight"


def _is_table(dataset: str) -> bool:
    return zdata.dataset_kind(dataset) in ("tabular_regression", "table")


def _table_of(config) -> RegressionTable:
    return regression_table(
        config.dataset, getattr(config, "csv", None), getattr(config, "column", None), config.split_seed
    )


def _errors(y, predicted) -> dict:
    residuals = np.ravel(predicted) - np.ravel(y)
    return {"mae": float(np.mean(np.abs(residuals))), "rmse": float(np.sqrt(np.mean(residuals**2)))}


def regression_pictures(y, predicted, folder: Path, title: str) -> None:
    """`predicted_vs_true.png` (with the identity line) and `residuals.png` (residual against the
    prediction, and their histogram) in `folder`."""
    from kerazoo.plots import save_figure, subplots

    y, predicted = np.ravel(y), np.ravel(predicted)
    errors = _errors(y, predicted)
    fig, ax = subplots(figsize=(5.5, 5.5))
    ax.scatter(y, predicted, s=14, alpha=0.7)
    low, high = float(min(y.min(), predicted.min())), float(max(y.max(), predicted.max()))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="predicted = true")
    ax.set(
        xlabel="true",
        ylabel="predicted",
        title=f"{title}: RMSE {errors['rmse']:.3g}, MAE {errors['mae']:.3g}",
    )
    ax.legend()
    save_figure(fig, folder / "predicted_vs_true.png")
    fig, (left, right) = subplots(1, 2, figsize=(10, 4))
    left.scatter(predicted, predicted - y, s=14, alpha=0.7)
    left.axhline(0, color="black", linewidth=1)
    left.set(xlabel="predicted", ylabel="predicted - true", title="residuals")
    right.hist(predicted - y, bins=30)
    right.set(xlabel="predicted - true", ylabel="rows", title="residual histogram")
    save_figure(fig, folder / "residuals.png")


@register_task
class Regression(Task):
    """The `regression` task: `linear_regression` on `doubling`, `regression_mlp` on a table (see the
    module docstring)."""

    name = "regression"
    data_kinds = ("regression", "tabular_regression", "table")
    recipe_class = RegressionRecipe
    headline_keys = ("rmse", "mae", "baseline_rmse")

    shuffle_train = False  # `doubling`'s five points in order (a table's rows are shuffled by EpochOrder)

    # --- training --------------------------------------------------------------------------------

    def prepare(self, run):
        if not _is_table(run.dataset):
            if run.entry.name == "regression_mlp":
                raise UsageError(
                    f"regression_mlp reads a table: 'diabetes' or 'table' (--csv PATH --target COLUMN). "
                    f"Received: --dataset {run.dataset}"
                )
            prepared = super().prepare(run)
            if prepared.val_ds is None:  # the seed's curves: the five points' loss after every epoch
                prepared.val_ds = prepared.extras["test"]()
            return prepared
        table = _table_of(run)
        x, y = table.x_train, table.y_train
        fraction = run.recipe.validation_split
        parts = {
            split: zdata.carve_validation(x, y, split, fraction, run.split_seed)
            for split in ("train", "validation")
        }
        x_fit, y_fit = parts["train"]
        batch_size = run.recipe.batch_size
        order = zdata.EpochOrder(len(x_fit), batch_size, run.seed, drop_remainder=False)
        train_ds = order.dataset((x_fit, y_fit[:, None]))
        val_ds = _batches(*parts["validation"], batch_size) if fraction else None
        run.derive(num_features=len(table.columns))
        model = run.build()
        if tuple(model.input_shape[1:]) != (len(table.columns),):
            raise UsageError(
                f"The table has {len(table.columns)} feature columns but model '{run.entry.name}' takes "
                f"{model.input_shape[1]}. Drop the num_features override."
            )
        # Standardization statistics from the rows the network trains on only.
        model.get_layer(f"{model.name}_normalize").adapt(x_fit)
        model.get_layer(f"{model.name}_target").adapt(y_fit[:, None])
        test = lambda: _batches(table.x_test, table.y_test, batch_size)  # noqa: E731
        return Prepared(train_ds, val_ds, model, {"test": test, "table": table})

    def loss(self, run):
        if run.recipe.loss == "huber":
            return keras.losses.Huber(delta=run.recipe.huber_delta)
        return "mse"

    def metrics(self, run):
        if not _is_table(run.dataset):
            return []
        return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]

    def callbacks(self, prepared, run, run_dir):
        if "table" in prepared.extras:
            return self.selection_callbacks(run)
        return [WeightHistory(_weight_layer(prepared.model))]

    def finish(self, prepared, run, run_dir):
        model = prepared.model
        if "table" not in prepared.extras:
            figures = evaluate_figures(model, prepared.val_ds)
            weights = model.get_layer(_weight_layer(model)).get_weights()
            figures["w"] = float(np.ravel(weights[0])[0])
            if len(weights) > 1:
                figures["b"] = float(np.ravel(weights[1])[0])
            return figures
        table = prepared.extras["table"]
        figures = self.test_figures(prepared, run)
        predicted = model.predict(table.x_test, batch_size=1024, verbose=0)
        figures.update(_table_figures(table, predicted))
        regression_pictures(table.y_test, predicted, run_dir, f"{run.entry.name} on the test rows")
        return figures

    # --- evaluation and export ---------------------------------------------------------------------

    def split_arrays(self, entry, config, split, *, data_dir=None, dataset=None, limit=None):
        dataset = dataset or (config.dataset if config else None) or entry.dataset
        if not _is_table(dataset):
            return super().split_arrays(entry, config, split, data_dir=data_dir, dataset=dataset, limit=limit)
        table = _table_of(config) if config else regression_table(dataset)
        x, y = (table.x_train, table.y_train) if split == "train" else (table.x_test, table.y_test)
        return x[:limit], y[:limit, None]

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        if not _is_table(config.dataset):
            return super().evaluate(model, config, run_dir, report, data_dir=data_dir)
        table = _table_of(config)
        predicted = model.predict(table.x_test, batch_size=1024, verbose=0)
        regression_pictures(table.y_test, predicted, report, f"{config.model} on the test rows")
        return _table_figures(table, predicted)

    def servable(self, model, name, config):
        if len(model.inputs[0].shape) == 2 and any(layer.name.endswith("_target") for layer in model.layers):
            if config is not None:
                table = _table_of(config)
            else:  # a bare model: its zoo entry's default table
                from kerazoo._registry import get_entry

                table = regression_table(get_entry(name).dataset)
            return RegressorServable(
                model, name, self, config, ("features",), columns=table.columns, target=table.target
            )
        return super().servable(model, name, config)


def _batches(x, y, batch_size):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, np.asarray(y)[:, None])).batch(batch_size)


def _table_figures(table: RegressionTable, predicted) -> dict:
    """MAE and RMSE on the test rows in the target's units, and the mean-target baseline's."""
    errors = _errors(table.y_test, predicted)
    baseline = _errors(table.y_test, np.full(len(table.y_test), table.y_train.mean()))
    return {
        "target": table.target,
        "n_test": int(len(table.y_test)),
        **errors,
        "baseline_mae": baseline["mae"],
        "baseline_rmse": baseline["rmse"],
        "target_std": float(np.std(table.y_test)),
    }


@dataclasses.dataclass
class RegressorServable(Servable):
    """A table regressor: `features` (the columns in `columns`' order, raw) -> `predictions` in the
    target's units; the metadata names the columns and the target for `kerazoo predict`."""

    columns: list | None = None
    target: str | None = None

    def processing(self):
        return {
            "preprocessing": "features: float32 raw column values in the metadata's `columns` order "
            "(the model standardizes them itself)",
            "postprocessing": f"predictions: {self.target}, in its own units",
        }

    def metadata(self):
        return {**super().metadata(), "columns": list(self.columns or []), "target": self.target}
