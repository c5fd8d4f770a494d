"""Argument checks and custom pieces shared by the builders."""

from __future__ import annotations

import keras
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
