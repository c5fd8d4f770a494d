"""
Title: Why the optimizer matters: eight optimizers, one network
Author: kerazoo
Date created: 2026-12-05
Last modified: 2026-12-05
Description: SGD, momentum, Nesterov, RMSprop, Adagrad, Adam, AdamW and Lion on a 2-D valley and on
the same MLP with the same initial weights, each at the learning rate it does best with.
"""

"""
## Setup
"""

import os

import keras
import matplotlib.pyplot as plt
import numpy as np

import kerazoo
from kerazoo.callbacks import StepValidation
from kerazoo.optimizers import COMPARED, SURFACE_RATES, make, rosenbrock, surface_paths

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out = os.environ.get("KERAZOO_OUT", "runs/optimizers")
os.makedirs(out, exist_ok=True)

"""
## The optimizers on a 2-D surface

An optimizer only sees gradients. On Rosenbrock's valley, `(1 - x)^2 + 100 (y - x^2)^2`, the
gradient points across the curved valley while the way to the minimum at (1, 1) runs along it. The
very Keras optimizer objects that train networks here move one variable of two numbers; each gets a
learning rate that moves it without diverging from the start.
"""

rates = SURFACE_RATES["Rosenbrock"]  # SGD 0.001 ... Adam 0.05, Lion 0.01
steps = 100 if quick else 1000
paths = surface_paths({name: make(name, lr) for name, lr in rates.items()}, rosenbrock, (-1.5, 2.0), steps)

xs, ys = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
plt.figure(figsize=(8, 6))
plt.contour(xs, ys, rosenbrock(xs, ys), levels=np.logspace(-1, 3.5, 25), colors="lightgrey")
for name, path in paths.items():
    plt.plot(path[:, 0], path[:, 1], label=name)
    print(f"{name:13s} ends at ({path[-1, 0]:+.3f}, {path[-1, 1]:+.3f}), loss {rosenbrock(*path[-1]):.4f}")
plt.plot(1, 1, "k*", markersize=12)
plt.legend()
plt.title(f"Rosenbrock's valley: {steps} steps")
plt.savefig(f"{out}/surface.png")

"""
Plain SGD barely moves: a step small enough for the steep walls is tiny along the valley floor.
Momentum builds speed along the floor; the adaptive methods (RMSprop, Adam) scale each coordinate by
its own gradient history, so the floor's small gradients still make steps.

## The same network, eight optimizers

The zoo's `mlp` on the embedded digits: the same seed, the same initial weights, the batches in the
same order for every run; only the optimizer changes. Each optimizer first tries the learning rates
of its grid (`COMPARED[name][1]`) for a few epochs and keeps the one with the lowest validation loss.
"""

split = dict(validation_split=0.1)
train_ds = kerazoo.make_dataset("digits", "train", 128, seed=0, **split)
val_ds = kerazoo.make_dataset("digits", "validation", 512, **split)
test_ds = kerazoo.make_dataset("digits", "test", 512)

keras.utils.set_random_seed(0)
model = kerazoo.build("mlp")
initial = model.get_weights()


def fit(name, learning_rate, epochs, curve=None):
    keras.utils.set_random_seed(0)
    model.set_weights(initial)
    model.compile(
        optimizer=make(name, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_ds, epochs=epochs, verbose=0, callbacks=[curve] if curve else [])
    return model.evaluate(val_ds, verbose=0, return_dict=True)["loss"]


grid_epochs, epochs = (1, 2) if quick else (5, 20)
results = {}
for name, (_, grid) in COMPARED.items():
    tried = {lr: fit(name, lr, grid_epochs) for lr in (grid[:2] if quick else grid)}
    best = min(tried, key=lambda lr: tried[lr] if np.isfinite(tried[lr]) else np.inf)
    curve = StepValidation(val_ds, every=5)
    fit(name, best, epochs, curve)
    test = model.evaluate(test_ds, verbose=0, return_dict=True)
    results[name] = (best, curve, test["accuracy"])
    print(
        f"{name:13s} lr {best:<8g} validation loss {curve.losses[-1]:.4f}, test accuracy {test['accuracy']:.2%}"
    )

"""
## The curves
"""

plt.figure(figsize=(9, 5))
for name, (best, curve, _) in results.items():
    plt.plot(curve.steps, curve.losses, label=f"{name} (lr {best:g})")
plt.yscale("log")
plt.xlabel("training step")
plt.ylabel("validation loss")
plt.legend()
plt.title("The mlp on digits, the same initial weights")
plt.savefig(f"{out}/validation_loss.png")

"""
What to look for: with its best rate every optimizer gets somewhere on this small problem, but not
at the same speed, and the best rates differ by orders of magnitude (plain SGD's is the largest,
Lion's the smallest: its step is a sign, as large as the rate for every weight). The MNIST and
diabetes figures, with the time each takes to reach a target loss, are in
`benchmarks/optimizers.py` and the "Optimizers compared" benchmark page.
"""
