"""
Title: Forecasting a monthly series with an LSTM
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: One step ahead on a series with trend and multiplicative yearly seasonality, against
persistence and seasonal naive.
"""

"""
## Setup
"""

import os

import numpy as np

import kerazoo
from kerazoo.data import load_series, series_windows

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run

"""
## Prepare the data

`synthetic_monthly` is generated (trend x season x noise); `airline` is the classic airline
passengers series, bundled. The windows hold log differences, standardized on the training part:
trend gone, season additive, and a 12-month window sees the same month last year.
"""

dataset = "airline"
lookback = 12
series = load_series(dataset)
train_ds = kerazoo.make_dataset(dataset, "train", batch_size=16, lookback=lookback)
x_test, _, targets, scaler = series_windows(series, "test", lookback=lookback)

"""
## Build the model
"""

model = kerazoo.build("lstm_forecaster", lookback=lookback, units=32)
model.summary()

"""
## Train the model
"""

recipe = kerazoo.get_entry("lstm_forecaster").recipe  # the zoo's: Adam(3e-3), 200 epochs
epochs = 5 if quick else recipe.epochs
model.compile(optimizer=recipe.build_optimizer("optimizer", steps=1), loss="mse")
model.fit(train_ds, epochs=epochs, verbose=0)

"""
## Evaluate against the naive forecasts
"""

actual = series.values[targets]
predicted = scaler.invert(model.predict(x_test, verbose=0)[:, 0], series.values[targets - 1])
for label, forecast in (
    ("lstm", predicted),
    ("persistence", series.values[targets - 1]),
    ("seasonal naive", series.values[targets - 12]),
):
    print(f"{label:>15}: RMSE {np.sqrt(np.mean((actual - forecast) ** 2)):.2f}")
