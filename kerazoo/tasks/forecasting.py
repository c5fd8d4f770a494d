"""The `forecasting` task: one month ahead from the `lookback` months before it.

Trains on a monthly series (`synthetic_monthly`, `airline`, or `csv` with `--csv PATH --column NAME`)
as windows of the transformed series (`kerazoo.data.series_windows`). Reports RMSE, MAE and MAPE
over the last 48 months against persistence and seasonal naive, `predictions.csv` and
`forecast.png`. Deploys the forecaster: `windows` -> `predictions`, with the transform in the metadata.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import keras
import numpy as np

from kerazoo import data as zdata
from kerazoo.plots import plot_forecast
from kerazoo.serving import Servable
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, ValidatedRecipe

__all__ = ["Forecasting", "forecast_report"]


def _lookback(entry, run) -> int:
    return {**entry.hparams, **(getattr(run, "hparams", None) or {})}["lookback"]


@register_task
class Forecasting(Task):
    """The `forecasting` task: the LSTM forecaster on a monthly series.

    One-step forecasts from `lookback` months of log differences, validated on the months just
    before the test horizon; RMSE, MAE and MAPE beside persistence and seasonal naive.
    """

    name = "forecasting"
    data_kinds = ("series",)
    recipe_class = ValidatedRecipe  # validates on the months just before the test horizon
    headline_keys = ("test_rmse", "rmse_vs_persistence", "rmse_vs_seasonal_naive")

    def data_kwargs(self, entry, dataset, data_dir=None, run=None):
        return dataset, dict(
            lookback=_lookback(entry, run), csv=getattr(run, "csv", None), column=getattr(run, "column", None)
        )

    def prepare(self, run):
        name, kwargs = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)
        series = zdata.load_series(name, csv=kwargs["csv"], column=kwargs["column"])
        zdata.series_windows(series, "test", lookback=kwargs["lookback"])  # a too-short series fails now
        prepared = super().prepare(run)
        prepared.extras.update(series=series, lookback=kwargs["lookback"])
        return prepared

    def finish(self, prepared: Prepared, run, run_dir):
        figures = self.test_figures(prepared, run)
        title = f"{run.entry.name} on {run.dataset}"
        figures.update(
            forecast_report(
                prepared.model, prepared.extras["series"], prepared.extras["lookback"], run_dir, title
            )
        )
        return figures

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        series = zdata.load_series(config.dataset, csv=config.csv, column=config.column)
        title = f"{config.model} on {config.dataset}"
        return forecast_report(model, series, config.hparams["lookback"], report, title)

    def report_rows(self, figures):
        from kerazoo.reports import forecast_rows

        return forecast_rows(figures)

    def servable(self, model, name, config):
        return ForecastServable(_unrolled(model), name, self, config, ("windows",))


@dataclasses.dataclass
class ForecastServable(Servable):
    """The forecaster's role: `windows` of the transformed series -> `predictions`; the metadata
    carries the transform and, for a run, the scaler's statistics."""

    def processing(self):
        spec = {
            "preprocessing": (
                "windows: z[t] = (diff(log(values))[t] - mean) / std with mean and std of the training part "
                "(kerazoo.data.LogDiffScaler), the last `lookback` steps, shape (N, lookback, 1)"
            ),
            "postprocessing": "next value = last value * exp(prediction * std + mean)",
        }
        if self.config is not None:
            try:
                series = zdata.load_series(
                    self.config.dataset, csv=self.config.csv, column=self.config.column
                )
                scaler = zdata.series_windows(series, "test", lookback=self.config.hparams["lookback"])[3]
                spec["scaler"] = {"mean": scaler.mean_, "std": scaler.std_}
            except (zdata.DataError, KeyError, ValueError):
                pass
        return spec


def _unrolled(model):
    """A copy of `model` with its recurrent layers unrolled, same weights: a dynamic batch then
    converts to plain TFLite ops (the rolled loop's TensorList ops need a static batch or the Flex
    delegate, which ai-edge-litert does not ship). The window is short (`lookback` steps)."""

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN) or "unroll" in config:
            config["unroll"] = True
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def forecast_report(model, series, lookback: int, folder: Path, title: str) -> dict:
    """One-step forecasts over the test horizon: the figures of `forecast_figures`, plus
    `predictions.csv` (date, actual, predicted) and `forecast.png` in `folder`."""
    x_test, _, targets, scaler = zdata.series_windows(series, "test", lookback=lookback)
    values = series.values
    predicted = scaler.invert(model.predict(x_test, verbose=0)[:, 0], values[targets - 1])
    figures = forecast_figures(values, targets, predicted)
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


def forecast_figures(values, targets, predicted) -> dict:
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
