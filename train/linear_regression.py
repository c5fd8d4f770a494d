"""
Title: One weight, learned by gradient descent
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: y = w * x on the points (0, 0) ... (4, 8), from w = 3 to w = 2 by plain SGD: each
step is the delta rule.
"""

"""
## Setup
"""

import os

import keras

import kerazoo
from kerazoo.training import WeightHistory

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run

"""
## Data
"""

train_ds = kerazoo.make_dataset("doubling", "train", batch_size=5, shuffle=False)

"""
## Model

One weight, no bias, starting at 3.
"""

model = kerazoo.build("linear_regression", initial_weight=3.0)
model.summary()

"""
## Train

The gradient of the MSE is `-2 * mean((y - w x) x)`, so each SGD step is
`w <- w + lr * 2 * mean((y - w x) x)`: the delta rule. `WeightHistory` logs w after every epoch.
"""

recipe = kerazoo.get_entry("linear_regression").recipe  # the zoo's: plain SGD at 0.01, 100 epochs
learning_rate = recipe.learning_rate
epochs = 10 if quick else recipe.epochs
model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
history = model.fit(train_ds, epochs=epochs, callbacks=[WeightHistory("linear_regression_weight")], verbose=0)

for epoch in (0, 1, 2, epochs - 1):
    print(
        f"epoch {epoch + 1:3d}: w = {history.history['w'][epoch]:.6f}  loss = {history.history['loss'][epoch]:.3g}"
    )
