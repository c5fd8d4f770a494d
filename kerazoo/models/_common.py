"""Argument checks and custom pieces shared by the builders."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

# The scalar checks live in kerazoo._checks (the whole library uses them); the builders import them here.
from kerazoo._checks import check_augment, check_choice, check_positive_int, check_rate  # noqa: F401


def check_units(arg: str, value, *, allow_empty: bool = False) -> tuple:
    """`value` must be a sequence of positive ints (one per layer); returns it as a tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or (not value and not allow_empty):
        raise ValueError(
            f"`{arg}` must be a list of positive integers, one per layer. Received: {arg}={value!r}"
        )
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(
                f"`{arg}` must be a list of positive integers, one per layer. Received: {arg}={value!r}"
            )
    return tuple(value)


def check_shape(arg: str, value, ndim: int | None = None) -> tuple:
    """A shape of positive ints (a list from JSON or the CLI is accepted); returns a tuple."""
    if not isinstance(value, (list, tuple)) or not value or (ndim is not None and len(value) != ndim):
        want = f"{ndim} positive integers" if ndim else "positive integers"
        raise ValueError(f"`{arg}` must be a tuple of {want}. Received: {arg}={value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"`{arg}` must be a tuple of positive integers. Received: {arg}={value!r}")
    return tuple(value)


@keras.saving.register_keras_serializable(package="kerazoo")
def step(x):
    """The Heaviside step: 1 where x >= 0, else 0 (the threshold unit of the classic neuron)."""
    return ops.cast(ops.greater_equal(x, 0), x.dtype)


def _op_determinism() -> bool:
    """Whether TensorFlow's op determinism is on (True when this TensorFlow cannot tell)."""
    try:
        from tensorflow.python.framework.config import is_op_determinism_enabled
    except ImportError:
        return True
    return bool(is_op_determinism_enabled())


@keras.saving.register_keras_serializable(package="kerazoo")
class BatchNormalization(layers.BatchNormalization):
    """Keras' `BatchNormalization` whose training pass on 4-D batches (channels last) runs
    TensorFlow's fused kernel (`FusedBatchNormV3` and its gradient) instead of Keras' separate moment,
    normalisation and update ops: the same outputs, gradients and moving statistics, to float
    rounding, 2.7 times as fast on CPU at float32 and 4 times under mixed_bfloat16 (forward and
    backward on 64 x 28 x 28 x 64; `benchmarks/speed.py --only bn_keras,bn_zoo,...`), where Keras
    casts each batch to float32 and back while the kernel takes (b)float16 batches as they are and
    keeps float32 statistics.
    Second-order gradients (the R1 penalty's) are the exact ones, where Keras' (`tf.nn.moments`
    stops the gradient of the mean inside the variance) are not: a convolution bias just before
    the layer, which cannot change its output, gets an R1 gradient of 0 here, not Keras' nonzero
    one. Everything else is Keras' own code path: inference, masks, renorm, `synchronized`, other
    ranks and axes, float64, epsilon under the kernel's 1.001e-5 floor, other backends, and GPUs
    while op determinism is on (the kernel's gradient for `beta` is not deterministic there).
    Saved as `kerazoo>BatchNormalization`."""

    def _fused(self, inputs, training, mask) -> bool:
        return bool(
            training
            and self.trainable
            and mask is None
            and not getattr(self, "renorm", False)  # absent from older Keras 3 releases
            and not getattr(self, "synchronized", False)
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis % 4 == 3
            and inputs.shape[-1] is not None
            and keras.backend.standardize_dtype(inputs.dtype) in ("float16", "bfloat16", "float32")
            and self.epsilon >= 1.001e-5
            and not (_op_determinism() and tf.config.list_physical_devices("GPU"))
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        # As Keras, the statistics are float32 whatever the compute dtype: the kernel takes (b)float16
        # batches as they are and accumulates in float32 (its scale, offset and statistics dtype).
        x = inputs
        channels = x.shape[-1]
        gamma = ops.cast(self.gamma, "float32") if self.scale else ops.ones((channels,), "float32")
        beta = ops.cast(self.beta, "float32") if self.center else ops.zeros((channels,), "float32")
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, is_training=True
        )
        # The kernel returns the variance with Bessel's correction (n / (n - 1)); Keras' moving
        # average takes the batch's own, which normalised it.
        n = ops.cast(ops.size(x) // channels, "float32")
        variance = variance * ops.maximum(n - 1.0, 0.0) / n
        # As Keras, in float32 whatever the variables' dtype (a pure bfloat16/float16 policy gives
        # (b)float16 moving statistics), stored back in it.
        moving_mean = ops.cast(self.moving_mean, "float32")
        moving_variance = ops.cast(self.moving_variance, "float32")
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(y, self.compute_dtype)


def save_with_keras_layers(model, path, *, training_state: bool = False) -> None:
    """Save `model` as a `.keras` file that plain Keras loads: each of the zoo's `BatchNormalization`
    layers (numerically Keras' own at inference, the fused kernel is training-only) is saved as
    Keras' `BatchNormalization` with the same config and weights, so a deployable file (a
    generator, a decoder, a classifier) needs no kerazoo to load where its other layers are Keras'.
    The model itself is left as it is.

    Without `training_state` the file is for inference (no optimizer, no compile config). With it,
    a compiled model keeps its compile config and optimizer state, the zoo's `Adam` saved as Keras'
    (the class it subclasses, with the same config and slots), so plain Keras can go on training."""
    path = str(path)
    if not training_state and not any(isinstance(layer, BatchNormalization) for layer in _all_layers(model)):
        model.save(path, include_optimizer=False) if _compiled(model) else model.save(path)
        return
    clone = keras.models.clone_model(model, clone_function=_keras_layer, recursive=True)
    clone.set_weights(model.get_weights())
    # clone_model compiles the clone like the model (with the zoo's optimizer class): a new Functional
    # model over the clone's graph shares its layers and weights, uncompiled.
    plain = keras.Model(clone.inputs, clone.outputs, name=clone.name)
    if training_state and _compiled(model):
        from kerazoo.optimizers import Adam

        config = model.get_compile_config()
        if isinstance(model.optimizer, Adam):
            keras_adam = keras.optimizers.Adam.from_config(model.optimizer.get_config())
            config["optimizer"] = keras.saving.serialize_keras_object(keras_adam)
        plain.compile_from_config(config)
        if model.optimizer.built:
            plain.optimizer.build(plain.trainable_variables)
            for mine, theirs in zip(plain.optimizer.variables, model.optimizer.variables, strict=True):
                mine.assign(theirs)
    plain.save(path)


def _keras_layer(layer):
    if isinstance(layer, BatchNormalization):
        return layers.BatchNormalization.from_config(layer.get_config())
    return layer.__class__.from_config(layer.get_config())


def is_plain_keras_model(model) -> bool:
    """Whether `model` is one of Keras' own model classes (Functional, Sequential), not a zoo trainer."""
    return type(model).__module__.startswith("keras.")


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _compiled(model) -> bool:
    return getattr(model, "optimizer", None) is not None


ACTIVATIONS = ("step", "sigmoid", "tanh", "relu", "linear")


def activation(name: str):
    """A Keras activation by name, with `step` mapped to the serializable Heaviside step."""
    return step if name == "step" else name


def augmentation(x, policy, name: str):
    """Apply the augmentation `policy` (see `check_augment`) to the image tensor `x`: shifts of up to
    10% of the size, rotations of up to about 11 degrees, left-right mirrors. Pixels moved in from
    outside repeat the nearest edge pixel, so no data set gets borders it does not have (on MNIST's
    empty 4-pixel margin that is the black a constant fill gives)."""
    transforms = check_augment(policy)
    if "shift" in transforms:
        x = layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", name=f"{name}_stem_shift")(x)
    if "rotate" in transforms:
        x = layers.RandomRotation(0.03, fill_mode="nearest", name=f"{name}_stem_rotate")(x)
    if "flip" in transforms:
        x = layers.RandomFlip("horizontal", name=f"{name}_stem_flip")(x)
    return x
