"""The LSTM forecaster for monthly series."""

from __future__ import annotations

import keras
from keras import layers

from kerazoo._registry import register_model
from kerazoo.models._common import check_positive_int, check_rate

__all__ = []  # the registry appends each builder's name

default_cfgs = {
    "lstm_forecaster": dict(
        task="forecasting",
        dataset="synthetic_monthly",
        input_spec=dict(shape=(12, 1), dtype="float32", transform="log-diff-standardized"),
        # Validates on the 12 months before the test horizon (15% of the training windows of 144 months).
        recipe=dict(epochs=200, batch_size=16, learning_rate=3e-3, validation_split=0.15),
    ),
}


@register_model
def lstm_forecaster(lookback=12, units=32, num_layers=1, dropout=0.0, name="lstm_forecaster"):
    """A many-to-one LSTM that predicts the next month from the last `lookback` months.

    It works on the transformed series that `kerazoo.data.series_windows` makes: log, first
    difference, standardized on the training part. That removes the trend, turns the
    multiplicative season into an additive one, and with `lookback >= 12` the window holds the
    same month of last year. `kerazoo.data.LogDiffScaler.invert` maps predictions back.

    Args:
        lookback: months in each input window. Defaults to `12`.
        units: LSTM units per layer. Defaults to `32`.
        num_layers: stacked LSTM layers. Defaults to `1`.
        dropout: dropout on the LSTM inputs. Defaults to `0.0`.
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

    inputs = keras.Input(shape=(lookback, 1), name=f"{name}_inputs")
    x = inputs
    for i in range(1, num_layers + 1):
        x = layers.LSTM(
            units, dropout=dropout, return_sequences=i < num_layers, name=f"{name}_block{i}_lstm"
        )(x)
    outputs = layers.Dense(1, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)
