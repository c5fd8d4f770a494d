"""
Title: Forecasting a monthly series with an LSTM
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-24
Description: One step ahead on a series with trend and multiplicative yearly seasonality, against
persistence and seasonal naive, with early stopping on the months before the test horizon.
"""

"""
## Setup
"""

import os

import keras
import numpy as np

import kerazoo
from kerazoo.data import load_series, series_windows

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run

"""
## Prepare the data

`synthetic_monthly` is generated (trend x season x noise); `airline` is the classic airline
passengers series, bundled. The windows hold log differences, standardized on the training part:
trend gone, season additive, and a 12-month window sees the same month last year. The last 48
months are the test horizon; the last 15% of the windows before it (the 12 months just before the
test horizon) validate, and the model trains on the windows before those.
"""

dataset = "airline"
lookback = 12
recipe = kerazoo.get_entry("lstm_forecaster").recipe  # the zoo's: Adam(3e-3), batch 16
series = load_series(dataset)
train_ds, val_ds = (
    kerazoo.make_dataset(
        dataset, split, batch_size=16, lookback=lookback, validation_split=recipe.validation_split
    )
    for split in ("train", "validation")
)
x_test, _, targets, scaler = series_windows(series, "test", lookback=lookback)

"""
## Build the model

The LSTM reads the window; its output is added to the window's value of 12 months back times a
learned weight that starts at 1 (`seasonal_skip`), so the LSTM learns the change from last year and
an early-stopped one falls back to "this year's change is last year's".
"""

model = kerazoo.build("lstm_forecaster", lookback=lookback, units=32)
model.summary()

"""
## Train the model

At most 200 epochs; Keras' `EarlyStopping` keeps the epoch with the lowest validation loss and stops
10 epochs after it (the recipe's `early_stopping=10`; on the airline series that is after about 20
epochs).
"""

epochs = 5 if quick else recipe.epochs
model.compile(optimizer=recipe.build_optimizer("optimizer", steps=1), loss="mse")
model.fit(
    train_ds,
    epochs=epochs,
    validation_data=val_ds,
    callbacks=[keras.callbacks.EarlyStopping(patience=recipe.early_stopping, restore_best_weights=True)],
    verbose=0,
)

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
