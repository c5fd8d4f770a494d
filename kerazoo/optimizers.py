"""`kerazoo.optimizers.Adam`: Keras' Adam whose update runs TensorFlow's fused kernel.

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

__all__ = ["Adam"]


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
