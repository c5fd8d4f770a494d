"""`kerazoo.optimizers.Adam`: Keras' Adam whose update runs TensorFlow's fused kernel; and the
optimizers the course compares (`COMPARED`, `make`, `surface_paths`), see `train/optimizers.py`.

Keras 3 writes Adam's update as a dozen separate tensor operations per variable (two moment updates,
the bias-corrected step), each a pass over the variable's memory; TensorFlow's `ResourceApplyAdam`
kernel does the same arithmetic in one pass. On the zoo's DCGAN (2.5 million weights, 2 CPU cores)
that is most of an optimizer step's time (`benchmarks/speed.py`, README "Training speed").

Everything else is Keras' `Adam`: its arguments, schedules, gradient clipping, weight decay,
`use_ema`, loss scaling (`keras.optimizers.LossScaleOptimizer` wraps it), its saved variables and
config. The fused kernel is used where it computes exactly Keras' update: float32/float64 variables
and dense gradients, no `amsgrad` (under a distribution strategy, on each replica's copy); elsewhere
Keras' own `update_step` runs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["Adam", "COMPARED", "SURFACE_RATES", "make", "surface_paths", "rosenbrock", "bowl"]


@keras.saving.register_keras_serializable(package="kerazoo")
class Adam(keras.optimizers.Adam):
    """Keras' `Adam` (same arguments and defaults) with its update on TensorFlow's fused kernel.

    Example:
        ```python
        optimizer = kerazoo.optimizers.Adam(2e-4, beta_1=0.5)  # the DCGAN paper's
        # or, in a recipe: {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.5}}
        ```

    The update is Keras' to float rounding: `m += (1 - beta_1) * (g - m)`,
    `v += (1 - beta_2) * (g^2 - v)`, `w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m /
    (sqrt(v) + epsilon)`, with `t` the step number.
    """

    def _fused(self, gradient, variable) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and not self.amsgrad
            and not isinstance(gradient, tf.IndexedSlices)
            and variable.dtype in (tf.float32, tf.float64)
            and isinstance(variable, tf.Variable)
        )

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )


# --- the optimizers compared (train/optimizers.py, benchmarks/optimizers.py) ----------------------

# name: (how it is made from a learning rate, the learning rates tried). The grids span the rates
# each family is used at: plain SGD a decade per step (its best rate depends most on the loss's
# scale: a regression's MSE in the target's units wants far smaller steps than a cross-entropy), the
# adaptive methods smaller ones, Lion (whose step is a sign, as large as the rate for every weight)
# the smallest (Chen et al. 2023).
COMPARED = {
    "SGD": (lambda lr: keras.optimizers.SGD(lr), (1.0, 0.1, 0.01, 0.001, 0.0001, 0.00001)),
    "SGD momentum": (lambda lr: keras.optimizers.SGD(lr, momentum=0.9), (0.1, 0.01, 0.001, 0.0001, 0.00001)),
    "Nesterov": (
        lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
        (0.1, 0.01, 0.001, 0.0001, 0.00001),
    ),
    "RMSprop": (lambda lr: keras.optimizers.RMSprop(lr), (0.03, 0.01, 0.003, 0.001, 0.0003)),
    "Adagrad": (lambda lr: keras.optimizers.Adagrad(lr), (1.0, 0.3, 0.1, 0.03, 0.01)),
    "Adam": (lambda lr: keras.optimizers.Adam(lr), (0.03, 0.01, 0.003, 0.001, 0.0003)),
    "AdamW": (lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.01), (0.03, 0.01, 0.003, 0.001, 0.0003)),
    "Lion": (lambda lr: keras.optimizers.Lion(lr), (0.003, 0.001, 0.0003, 0.0001, 0.00003)),
}


# Learning rates on the 2-D surfaces (their gradients are not a network's: each optimizer gets one
# rate per surface that moves it visibly without diverging from the start point).
SURFACE_RATES = {
    "Rosenbrock": {
        "SGD": 0.001,
        "SGD momentum": 0.0005,
        "Nesterov": 0.0005,
        "RMSprop": 0.01,
        "Adagrad": 0.5,
        "Adam": 0.05,
        "AdamW": 0.05,
        "Lion": 0.01,
    },
    "bowl": {
        "SGD": 0.1,
        "SGD momentum": 0.05,
        "Nesterov": 0.05,
        "RMSprop": 0.05,
        "Adagrad": 1.0,
        "Adam": 0.1,
        "AdamW": 0.1,
        "Lion": 0.05,
    },
}


def make(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer of `COMPARED[name]` at `learning_rate`.

    Raises:
        ValueError: an unknown name (the message lists them).
    """
    if name not in COMPARED:
        raise ValueError(f"Unknown optimizer {name!r}. Compared: {', '.join(COMPARED)}")
    return COMPARED[name][0](float(learning_rate))


def rosenbrock(x, y):
    """Rosenbrock's banana-shaped valley, `(1 - x)^2 + 100 (y - x^2)^2`: minimum 0 at (1, 1)."""
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def bowl(x, y):
    """An elongated quadratic bowl, `x^2 / 10 + 2 y^2` (condition number 20): minimum 0 at (0, 0)."""
    return 0.1 * x**2 + 2.0 * y**2


def surface_paths(optimizers: dict, surface=rosenbrock, start=(-1.5, 2.0), steps: int = 300) -> dict:
    """The points each optimizer visits minimizing `surface(x, y)` from `start`: `{name: array (steps
    + 1, 2)}`. `optimizers` maps names to Keras optimizer objects (the very objects that train
    networks; one variable of two numbers is all they see here)."""
    import numpy as np

    paths = {}
    for name, optimizer in optimizers.items():
        point = keras.Variable(np.asarray(start, "float32"), name="point")
        visited = [np.asarray(start, "float32")]
        for _ in range(steps):
            with tf.GradientTape() as tape:
                loss = surface(point[0], point[1])
            optimizer.apply([tape.gradient(loss, point)], [point])
            visited.append(point.numpy().copy())
        paths[name] = np.stack(visited)
    return paths
