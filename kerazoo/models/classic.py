"""The classic networks: the artificial neuron and logic gates, the XOR network, single-weight
regression, the MNIST MLP and CNN, and the tabular MLP for the breast cancer data.

Each builder returns a Functional `keras.Model`; every hparam is one keyword argument.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from kerazoo._checks import check_number
from kerazoo._registry import register_model
from kerazoo.models._common import (
    ACTIVATIONS,
    BatchNormalization,
    augmentation,
    check_augment,
    check_choice,
    check_positive_int,
    check_rate,
    check_shape,
    check_units,
)
from kerazoo.models._common import activation as get_activation

__all__ = ["GATES"]  # the registry appends each builder's name

# Hand-set (weights, bias) of the logic gates. Scaled by 20 so that the same weights give exact
# 0/1 outputs with the step and, rounded at 0.5, with the sigmoid.
GATES = {
    "and": ((20.0, 20.0), -30.0),
    "or": ((20.0, 20.0), -10.0),
    "nand": ((-20.0, -20.0), 30.0),
}

# Each cfg's `recipe` lists what differs from its task's recipe defaults (kerazoo.tasks.FitRecipe:
# Adam, learning rate 1e-3, no schedule); `kerazoo train` uses them.

default_cfgs = {
    "neuron": dict(
        task="logic",
        dataset="and",
        input_spec=dict(shape=(2,), dtype="float32"),
        recipe=dict(epochs=300, batch_size=4, learning_rate=0.1),
    ),
    "xor_net": dict(
        task="logic",
        dataset="xor",
        input_spec=dict(shape=(2,), dtype="float32"),
        recipe=dict(epochs=500, batch_size=4, learning_rate=0.05),
    ),
    "linear_regression": dict(
        task="regression",
        dataset="doubling",
        input_spec=dict(shape=(1,), dtype="float32"),
        recipe=dict(epochs=100, batch_size=5, optimizer="SGD", learning_rate=0.01),
    ),
    "mlp": dict(
        task="classification",
        dataset="digits",
        input_spec=dict(shape=(28, 28, 1), dtype="float32", range=(0.0, 1.0)),
        normalization="unit",
        data_kinds=("image",),
        # No augmentation: a dense net has no notion of a shift, and would need many more epochs.
        recipe=dict(epochs=30, batch_size=128, schedule="cosine", augment="none", early_stopping=8),
    ),
    "cnn": dict(
        task="classification",
        dataset="digits",
        input_spec=dict(shape=(28, 28, 1), dtype="float32", range=(0.0, 1.0)),
        normalization="unit",
        data_kinds=("image",),
        # At most 14 epochs (about 9 minutes on MNIST on 2 cores, 37 s an epoch); the epoch kept is the
        # best on the validation split, and 8 epochs without a better one stop the run.
        recipe=dict(epochs=14, batch_size=128, schedule="cosine", early_stopping=8),
    ),
    "regression_mlp": dict(
        task="regression",
        dataset="diabetes",
        input_spec=dict(shape=(10,), dtype="float32"),
        data_kinds=("tabular_regression", "table"),
        # 20% of the training rows for validation; the epoch with the lowest validation loss is kept
        # (benchmarks/regression.py; docs/benchmarks/regression.md says which variants were tried).
        recipe=dict(
            epochs=500,
            batch_size=32,
            learning_rate=1e-3,
            validation_split=0.2,
            early_stopping=100,
            loss="mse",
        ),
    ),
    "tabular_mlp": dict(
        task="classification",
        dataset="breast_cancer",
        input_spec=dict(shape=(30,), dtype="float32"),
        data_kinds=("tabular",),
        recipe=dict(epochs=100, batch_size=32),
    ),
}


def _set_dense(layer, weights, bias) -> None:
    """Load hand-set weights into a built Dense layer: `weights` (inputs, units), `bias` (units,)."""
    layer.set_weights([np.asarray(weights, "float32"), np.asarray(bias, "float32")])


@register_model
def neuron(
    num_inputs=2,
    activation="sigmoid",
    gate=None,
    weights=None,
    bias=None,
    trainable=True,
    name="neuron",
):
    """One artificial neuron: `y = activation(w . x + b)`.

    With `gate="and"` or `"or"` (or `"nand"`) the weights are hand-set to compute that logic gate
    exactly on its truth table (outputs 0/1 with `activation="step"`, and rounded at 0.5 with
    `"sigmoid"`). With no gate, the sigmoid neuron learns AND or OR with `fit`.

    Args:
        num_inputs: number of inputs. Defaults to `2`.
        activation: one of `"step"`, `"sigmoid"`, `"tanh"`, `"relu"`, `"linear"`.
            Defaults to `"sigmoid"`.
        gate: `None`, `"and"`, `"or"` or `"nand"`: hand-set weights of that gate (2 inputs).
        weights: explicit weights, one per input (overrides `gate`).
        bias: explicit bias (with `weights`). Defaults to `0.0`.
        trainable: whether `fit` may change the weights. Defaults to `True`; a step neuron
            is never trainable (the step has no gradient).
        name: model name.

    Shapes:
        Input: `(batch, num_inputs)` float32. Output: `(batch, 1)`.

    Returns:
        A Functional `keras.Model`.
    """
    check_positive_int("num_inputs", num_inputs)
    check_choice("activation", activation, ACTIVATIONS)
    if gate is not None:
        check_choice("gate", gate, sorted(GATES))
        if num_inputs != 2:
            raise ValueError(f"A logic gate has 2 inputs. Received: gate={gate!r}, num_inputs={num_inputs}")
    if weights is not None and len(weights) != num_inputs:
        raise ValueError(
            f"`weights` needs one value per input. Received: weights={weights!r}, num_inputs={num_inputs}"
        )
    if bias is not None and weights is None:
        raise ValueError("`bias` is set by hand only together with `weights`. Received: weights=None")

    inputs = keras.Input(shape=(num_inputs,), name=f"{name}_inputs")
    unit = layers.Dense(1, activation=get_activation(activation), name=f"{name}_unit")
    outputs = unit(inputs)
    if weights is not None:
        _set_dense(unit, np.reshape(weights, (num_inputs, 1)), [0.0 if bias is None else bias])
    elif gate is not None:
        w, b = GATES[gate]
        _set_dense(unit, np.reshape(w, (2, 1)), [b])
    # The step has no gradient: a step neuron is wired by hand, never trained.
    unit.trainable = trainable and activation != "step"
    return keras.Model(inputs, outputs, name=name)


@register_model
def xor_net(
    hand_wired=True, hidden_units=None, hidden_activation=None, output_activation=None, name="xor_net"
):
    """The two-layer XOR network: two hidden neurons (OR and NAND) feeding an AND neuron.

    Hand-wired, the weights are set so that `xor(a, b) = and(or(a, b), nand(a, b))` holds exactly
    on the truth table with step activations. With `hand_wired=False` the network starts from
    random weights (tanh hidden, sigmoid output) and learns XOR with `fit`. Two hidden neurons are
    enough in principle, but gradient descent from random weights then often stalls in a local
    minimum of the 2-2-1 network, so the trainable default is 8 hidden neurons.

    Args:
        hand_wired: set the OR/NAND/AND weights by hand. Defaults to `True`.
        hidden_units: hidden neurons; must be 2 when hand-wired. Defaults to `2` hand-wired, `8`
            trainable.
        hidden_activation: defaults to `"step"` hand-wired, `"tanh"` trainable.
        output_activation: defaults to `"step"` hand-wired, `"sigmoid"` trainable.
        name: model name.

    Shapes:
        Input: `(batch, 2)` float32 in {0, 1}. Output: `(batch, 1)`.

    Returns:
        A Functional `keras.Model` (9 parameters with 2 hidden units).
    """
    if hidden_units is None:
        hidden_units = 2 if hand_wired else 8
    check_positive_int("hidden_units", hidden_units)
    if hand_wired and hidden_units != 2:
        raise ValueError(
            f"The hand-wired XOR network has 2 hidden neurons (OR, NAND). Received: hidden_units={hidden_units}"
        )
    hidden_activation = hidden_activation or ("step" if hand_wired else "tanh")
    output_activation = output_activation or ("step" if hand_wired else "sigmoid")
    check_choice("hidden_activation", hidden_activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, ACTIVATIONS)

    inputs = keras.Input(shape=(2,), name=f"{name}_inputs")
    # Block 1: the hidden neurons (OR and NAND when hand-wired)
    hidden = layers.Dense(hidden_units, activation=get_activation(hidden_activation), name=f"{name}_hidden")
    x = hidden(inputs)
    # Block 2: the output neuron (AND of the two when hand-wired)
    out = layers.Dense(1, activation=get_activation(output_activation), name=f"{name}_output")
    outputs = out(x)
    if hand_wired:
        (w_or, b_or), (w_nand, b_nand), (w_and, b_and) = GATES["or"], GATES["nand"], GATES["and"]
        _set_dense(hidden, np.stack([w_or, w_nand], axis=1), [b_or, b_nand])
        _set_dense(out, np.reshape(w_and, (2, 1)), [b_and])
    # The step has no gradient: step layers are wired by hand, never trained.
    hidden.trainable = hidden_activation != "step"
    out.trainable = output_activation != "step"
    return keras.Model(inputs, outputs, name=name)


@register_model
def linear_regression(initial_weight=3.0, use_bias=False, name="linear_regression"):
    """Single-weight regression `y = w * x`, learned by gradient descent on the MSE.

    With plain SGD each step is the delta rule: `w <- w + lr * 2 * mean((y - w x) x)`.

    Args:
        initial_weight: the starting `w`. Defaults to `3.0` (the seed's start).
        use_bias: add a bias `b` (`y = w x + b`). Defaults to `False`.
        name: model name.

    Shapes:
        Input: `(batch, 1)` float32. Output: `(batch, 1)`.

    Returns:
        A Functional `keras.Model` with one weight (two with `use_bias`).
    """
    if isinstance(initial_weight, bool) or not isinstance(initial_weight, (int, float)):
        raise ValueError(f"`initial_weight` must be a number. Received: initial_weight={initial_weight!r}")
    inputs = keras.Input(shape=(1,), name=f"{name}_inputs")
    outputs = layers.Dense(
        1,
        use_bias=use_bias,
        kernel_initializer=keras.initializers.Constant(float(initial_weight)),
        name=f"{name}_weight",
    )(inputs)
    return keras.Model(inputs, outputs, name=name)


@register_model
def mlp(
    input_shape=(28, 28, 1),
    hidden_units=(512, 512),
    num_classes=10,
    hidden_activation="relu",
    dropout=0.3,
    augment="none",
    name="mlp",
):
    """The MNIST multilayer perceptron: 784-512-512-10 (Keras' classic mnist_mlp layout), ReLU hidden
    layers with dropout, log-softmax output.

    The default has 669,706 parameters: 401,920 + 262,656 + 5,130. Change the depth and width with
    one argument: `hidden_units=(128, 64)` (109,386 parameters), `(256, 128, 64)`. The log-softmax
    output is a valid logit vector, so train it with `SparseCategoricalCrossentropy(from_logits=True)`.

    Args:
        input_shape: image shape. Defaults to `(28, 28, 1)`.
        hidden_units: units of each hidden layer. Defaults to `(512, 512)`.
        num_classes: output classes. Defaults to `10`.
        hidden_activation: activation of the hidden layers. Defaults to `"relu"`.
        dropout: dropout rate after each hidden layer (adds no parameters). Defaults to `0.3`.
        augment: image augmentation in the stem, active in training only: `"none"` or transforms
            joined by `+` from `shift`, `rotate`, `flip` (see the cnn's). Defaults to `"none"`;
            `kerazoo train` sets it from the recipe's policy.
        name: model name.

    Shapes:
        Input: `(batch, *input_shape)` float32 in [0, 1]. Output: `(batch, num_classes)`
        log-probabilities.

    Returns:
        A Functional `keras.Model`.
    """
    input_shape = check_shape("input_shape", input_shape)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    check_positive_int("num_classes", num_classes)
    check_choice("hidden_activation", hidden_activation, ACTIVATIONS)
    check_rate("dropout", dropout)
    check_augment(augment)

    inputs = keras.Input(shape=input_shape, name=f"{name}_inputs")
    if augment not in (False, None, "none"):
        check_shape("input_shape", input_shape, ndim=3)  # augmentation needs (H, W, C) images
    x = layers.Flatten(name=f"{name}_flatten")(augmentation(inputs, augment, name))
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation=get_activation(hidden_activation), name=f"{name}_block{i}_dense")(
            x
        )
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_block{i}_dropout")(x)
    x = layers.Dense(num_classes, name=f"{name}_logits")(x)
    outputs = layers.Activation("log_softmax", name=f"{name}_log_softmax")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model
def cnn(
    input_shape=(28, 28, 1),
    filters=(32, 64),
    kernel_size=3,
    dense_units=128,
    num_classes=10,
    dropout=0.5,
    batch_norm=True,
    augment="shift+rotate",
    convs_per_block=2,
    name="cnn",
):
    """The MNIST convnet: two Conv2D 32 3x3 -> MaxPool 2 -> two Conv2D 64 3x3 -> MaxPool 2 ->
    Flatten -> Dense 128 -> 10 logits, each hidden layer batch-normalized before its ReLU.

    The default has 272,170 parameters: 288 + 9,216 + 18,432 + 36,864 (convolutions, no biases) +
    204,800 (Dense 1600 -> 128, no bias) + 1,280 (batch normalization: scale, offset and the two
    moving statistics of 320 units) + 1,290 (Dense 128 -> 10). Dropout and augmentation add none.
    `convs_per_block=1` is the classic one-convolution-a-block layout (225,706 parameters).

    Args:
        input_shape: image shape. Defaults to `(28, 28, 1)`.
        filters: filters of each conv block (each block is conv + 2x2 max-pool). Defaults to
            `(32, 64)`.
        kernel_size: square kernel size. Defaults to `3`.
        dense_units: units of the hidden dense layer. Defaults to `128`.
        num_classes: output classes. Defaults to `10`.
        dropout: rate before and after the hidden dense layer (half of it before). Defaults to `0.5`.
        batch_norm: batch normalization after each convolution and the hidden dense layer (whose
            biases it replaces; moving statistics with momentum 0.9). Defaults to `True`; `False` is
            the classic layout.
        augment: image augmentation in the stem, active in training only (no parameters, nothing at
            inference): `"none"` or transforms joined by `+` from `shift` (up to 10% of the size),
            `rotate` (up to about 11 degrees) and `flip` (left-right). Defaults to `"shift+rotate"`,
            the digits policy; `kerazoo train` sets it from the recipe's policy for the data.
        convs_per_block: convolutions in each block; the first is `valid`-padded, the ones after it
            `same`-padded (same size, same filters). Defaults to `2`.
        name: model name.

    Shapes:
        Input: `(batch, H, W, C)` float32 in [0, 1]. Output: `(batch, num_classes)` logits.

    Returns:
        A Functional `keras.Model`.
    """
    input_shape = check_shape("input_shape", input_shape, ndim=3)
    filters = check_units("filters", filters)
    check_positive_int("kernel_size", kernel_size)
    check_positive_int("dense_units", dense_units)
    check_positive_int("num_classes", num_classes)
    check_rate("dropout", dropout)
    if not isinstance(batch_norm, bool):
        raise ValueError(f"`batch_norm` must be True or False. Received: batch_norm={batch_norm!r}")
    check_augment(augment)
    check_positive_int("convs_per_block", convs_per_block)
    size = min(input_shape[:2])
    for _ in filters:
        size = (size - kernel_size + 1) // 2
    if size < 1:
        raise ValueError(
            f"Images of shape {input_shape} are too small for {len(filters)} conv blocks with "
            f"kernel_size={kernel_size}. Received: input_shape={input_shape}, filters={filters}"
        )

    inputs = keras.Input(shape=input_shape, name=f"{name}_inputs")
    x = inputs
    # Stem: augmentation, active in training only
    x = augmentation(x, augment, name)
    for i, f in enumerate(filters, start=1):
        # Block i: conv (+ batch norm) + ReLU + max-pool
        for j in range(1, convs_per_block + 1):
            suffix = "" if j == 1 else str(j)
            x = layers.Conv2D(
                f,
                kernel_size,
                padding="valid" if j == 1 else "same",
                use_bias=not batch_norm,
                name=f"{name}_block{i}_conv{suffix}",
            )(x)
            x = _normalized_relu(x, batch_norm, f"{name}_block{i}{'_' + suffix if suffix else ''}")
        x = layers.MaxPooling2D(2, name=f"{name}_block{i}_pool")(x)
    # Head
    x = layers.Flatten(name=f"{name}_flatten")(x)
    if dropout:
        x = layers.Dropout(dropout / 2, name=f"{name}_head_dropout1")(x)
    x = layers.Dense(dense_units, use_bias=not batch_norm, name=f"{name}_head_dense")(x)
    x = _normalized_relu(x, batch_norm, f"{name}_head")
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_head_dropout2")(x)
    outputs = layers.Dense(num_classes, name=f"{name}_logits")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model
def regression_mlp(
    num_features=10,
    hidden_units=(16,),
    dropout=0.2,
    l2=1e-2,
    linear=True,
    linear_l2=0.0,
    name="regression_mlp",
):
    """An MLP that predicts a number from a table row, in the target's own units.

    Input standardization (`{name}_normalize`, a `Normalization` layer adapted on the training rows),
    ReLU dense layers, one linear output, and `{name}_target` (a `Normalization(invert=True)` adapted
    on the training targets) that maps the output back to the target's units: the network learns a
    standardized target, the model predicts the real one, and MAE and RMSE come out in its units.
    With `linear`, a linear map of the standardized inputs is added to the output (a "wide and
    deep" model): the network then starts from, and can stay near, a linear regression, which is
    hard to beat on small tables. `kerazoo train` adapts both layers; by hand:
    `model.get_layer("regression_mlp_normalize").adapt(x_train)` and
    `model.get_layer("regression_mlp_target").adapt(y_train[:, None])`.

    Args:
        num_features: input columns. Defaults to `10` (scikit-learn's `diabetes`).
        hidden_units: units of each hidden layer (empty: a linear regression). Defaults to `(16,)`.
        dropout: dropout rate after each hidden layer. Defaults to `0.2`.
        l2: L2 penalty on the hidden layers' kernels. Defaults to `0.01`.
        linear: add the linear map of the inputs. Defaults to `True`.
        linear_l2: L2 penalty on the linear map's weights (a ridge penalty). Defaults to `0.0`.
        name: model name.

    Shapes:
        Input: `(batch, num_features)` float32, raw. Output: `(batch, 1)`, in the target's units.

    Returns:
        A Functional `keras.Model`.
    """
    check_positive_int("num_features", num_features)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    check_rate("dropout", dropout)
    check_number("l2", l2)
    check_number("linear_l2", linear_l2)

    inputs = keras.Input(shape=(num_features,), name=f"{name}_inputs")
    x = layers.Normalization(dtype="float32", name=f"{name}_normalize")(inputs)
    h = x
    regularizer = keras.regularizers.L2(l2) if l2 else None
    for i, units in enumerate(hidden_units, start=1):
        h = layers.Dense(
            units, activation="relu", kernel_regularizer=regularizer, name=f"{name}_block{i}_dense"
        )(h)
        if dropout:
            h = layers.Dropout(dropout, name=f"{name}_block{i}_dropout")(h)
    wide = bool(linear and hidden_units)
    # With the linear path, the deep output starts at zero: the model starts as a linear regression
    # and the hidden layers add only what the data supports (zero-initialised residual branches).
    out = layers.Dense(1, kernel_initializer="zeros" if wide else "glorot_uniform", name=f"{name}_output")(h)
    if wide:
        ridge = keras.regularizers.L2(linear_l2) if linear_l2 else None
        linear_map = layers.Dense(1, kernel_regularizer=ridge, name=f"{name}_linear")(x)
        out = layers.Add(name=f"{name}_wide_and_deep")([out, linear_map])
    outputs = layers.Normalization(invert=True, dtype="float32", name=f"{name}_target")(out)
    return keras.Model(inputs, outputs, name=name)


def _normalized_relu(x, batch_norm: bool, prefix: str):
    """BatchNormalization (if asked) then ReLU. The moving statistics use momentum 0.9, not Keras'
    0.99: they then settle within about 50 steps, and a small data set (the 1,300 training digits
    make 11 batches an epoch) is judged with its own statistics, not with the initial ones."""
    if batch_norm:
        x = BatchNormalization(momentum=0.9, name=f"{prefix}_norm")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


@register_model
def tabular_mlp(num_features=30, hidden_units=(16,), num_classes=2, dropout=0.2, name="tabular_mlp"):
    """An MLP for tabular data (the 30-feature breast cancer set), with input standardization.

    The first layer is a `Normalization` layer named `{name}_normalize`. Adapt it on the training
    split only before `fit`: `model.get_layer("tabular_mlp_normalize").adapt(x_train)`;
    `kerazoo train` does so.

    Args:
        num_features: input features. Defaults to `30`.
        hidden_units: units of each hidden layer. Defaults to `(16,)`.
        num_classes: output classes. Defaults to `2`.
        dropout: dropout rate after each hidden layer. Defaults to `0.2`.
        name: model name.

    Shapes:
        Input: `(batch, num_features)` float32, raw. Output: `(batch, num_classes)` logits.

    Returns:
        A Functional `keras.Model`.
    """
    check_positive_int("num_features", num_features)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    check_positive_int("num_classes", num_classes)
    check_rate("dropout", dropout)

    inputs = keras.Input(shape=(num_features,), name=f"{name}_inputs")
    # Statistics and standardization in float32, also under a mixed-precision policy.
    x = layers.Normalization(dtype="float32", name=f"{name}_normalize")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"{name}_block{i}_dense")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_block{i}_dropout")(x)
    outputs = layers.Dense(num_classes, name=f"{name}_logits")(x)
    return keras.Model(inputs, outputs, name=name)
