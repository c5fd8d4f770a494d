"""The LSTM forecaster for monthly series."""

from __future__ import annotations

import keras
from keras import layers

from kerazoo._registry import register_model
from kerazoo.models._common import check_positive_int, check_rate

__all__ = []  # the registry appends each builder's name

SEASON = 12  # months in a year: the period the seasonal skip reads

default_cfgs = {
    "lstm_forecaster": dict(
        task="forecasting",
        dataset="synthetic_monthly",
        input_spec=dict(shape=(12, 1), dtype="float32", transform="log-diff-standardized"),
        # Validates on the 12 months before the test horizon (15% of the training windows of 144
        # months); keeps the epoch best on them and stops 10 epochs after it.
        recipe=dict(epochs=200, batch_size=16, learning_rate=3e-3, validation_split=0.15, early_stopping=10),
    ),
}


@register_model
def lstm_forecaster(
    lookback=12, units=32, num_layers=1, dropout=0.0, seasonal_skip=True, name="lstm_forecaster"
):
    """A many-to-one LSTM that predicts the next month from the last `lookback` months.

    It works on the transformed series that `kerazoo.data.series_windows` makes: log, first
    difference, standardized on the training part. That removes the trend, turns the
    multiplicative season into an additive one, and with `lookback >= 12` the window holds the
    same month of last year. `kerazoo.data.LogDiffScaler.invert` maps predictions back.

    With `seasonal_skip`, the output is the LSTM's output plus that month of last year's value times a
    learned weight that starts at 1: the LSTM learns the change from last year (the seasonal
    difference), and an untrained or early-stopped LSTM falls back to "this year's change is last
    year's" instead of to the mean. On a series of a few dozen training windows that is what keeps
    it from fitting noise (see README's forecaster figures).

    Args:
        lookback: months in each input window. Defaults to `12`.
        units: LSTM units per layer. Defaults to `32`.
        num_layers: stacked LSTM layers. Defaults to `1`.
        dropout: dropout on the LSTM inputs. Defaults to `0.0`.
        seasonal_skip: add the window's value of 12 steps back, times a learned weight, to the
            output (needs `lookback >= 12`; one parameter). Defaults to `True`.
        name: model name.

    Shapes:
        Input: `(batch, lookback, 1)` float32. Output: `(batch, 1)`, the next transformed value.

    Returns:
        A Functional `keras.Model`.
    """
    check_positive_int("lookback", lookback)
    check_positive_int("units", units)
    check_positive_int("num_layers", num_layers)
    check_rate("dropout", dropout)
    if not isinstance(seasonal_skip, bool):
        raise ValueError(f"`seasonal_skip` must be True or False. Received: seasonal_skip={seasonal_skip!r}")
    if seasonal_skip and lookback < SEASON:
        raise ValueError(
            f"`seasonal_skip` reads the value {SEASON} steps back: it needs lookback >= {SEASON}. "
            f"Received: lookback={lookback}"
        )

    inputs = keras.Input(shape=(lookback, 1), name=f"{name}_inputs")
    x = inputs
    for i in range(1, num_layers + 1):
        x = layers.LSTM(
            units, dropout=dropout, return_sequences=i < num_layers, name=f"{name}_block{i}_lstm"
        )(x)
    outputs = layers.Dense(1, name=f"{name}_output")(x)
    if seasonal_skip:
        # The window's step t - 12: crop all but that one step, (batch, 1, 1) -> (batch, 1).
        last_year = layers.Cropping1D((lookback - SEASON, SEASON - 1), name=f"{name}_last_year")(inputs)
        last_year = layers.Flatten(name=f"{name}_last_year_flatten")(last_year)
        # Its weight starts at 1 (last year's change as is) and is learned: a series whose season
        # is fixed and whose noise does not carry over wants less of last year than one whose
        # season drifts.
        last_year = layers.Dense(
            1, use_bias=False, kernel_initializer="ones", name=f"{name}_last_year_weight"
        )(last_year)
        outputs = layers.Add(name=f"{name}_seasonal_skip")([outputs, last_year])
    return keras.Model(inputs, outputs, name=name)
