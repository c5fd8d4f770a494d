"""`tabular_gan`: a conditional WGAN-GP for mixed tables (numbers and categories, with a class label).

Rows are encoded by `kerazoo.tables.TableTransform`: each number as its quantile rank in [0, 1], each
category one-hot. The generator ends in `ColumnActivations`: a sigmoid for each number, and for each
categorical column a softmax over its slots, sharpened by Gumbel noise and a low temperature while
training (Jang et al. 2017; CTGAN's choice) so that the critic cannot tell generated categories by
their softness. Generator and critic both see the class label (an embedding concatenated to their
input), so samples of a chosen class can be asked for.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from kerazoo._registry import register_model
from kerazoo.models._common import check_positive_int, check_units
from kerazoo.trainers.gan import GAN, replica_draw

__all__ = ["ColumnActivations", "tabular_gan"]

_WGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.5, "beta_2": 0.9}}  # Gulrajani et al. 2017

default_cfgs = {
    "tabular_gan": dict(
        task="synthesis",
        dataset="breast_cancer",
        # WGAN-GP: 5 critic steps per generator step, Adam(2e-4, 0.5, 0.9); 455 training rows an
        # epoch in batches of 64 (7 steps).
        recipe=dict(
            epochs=300,
            batch_size=64,
            loss="wasserstein_gp",
            d_steps=5,
            gp_weight=10.0,
            learning_rate=2e-4,
            d_optimizer=_WGAN_ADAM,
            g_optimizer=_WGAN_ADAM,
        ),
    ),
}


@keras.saving.register_keras_serializable(package="kerazoo")
class ColumnActivations(layers.Layer):
    """Per-slot output activations of an encoded table row: sigmoid for every slot outside `groups`,
    a softmax over each group's slots (a categorical column's one-hot), with Gumbel noise and
    `temperature` while training.

    Args:
        groups: `(start, stop)` slot ranges of the categorical columns.
        temperature: the Gumbel-softmax temperature in training. Defaults to `0.2`.
        seed: the Gumbel noise seed.
    """

    def __init__(self, groups=(), temperature=0.2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.groups = [tuple(int(v) for v in g) for g in groups]
        self.temperature = float(temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        width = inputs.shape[-1]
        parts, at = [], 0
        for start, stop in self.groups:
            if start > at:
                parts.append(ops.sigmoid(inputs[:, at:start]))
            logits = inputs[:, start:stop]
            if training:
                uniform = replica_draw(
                    keras.random.uniform,
                    ops.shape(logits),
                    minval=1e-6,
                    maxval=1.0 - 1e-6,
                    seed=self.seed_generator,
                )
                logits = (logits - ops.log(-ops.log(uniform))) / self.temperature
            parts.append(ops.softmax(logits, axis=-1))
            at = stop
        if at < width:
            parts.append(ops.sigmoid(inputs[:, at:]))
        return ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "temperature": self.temperature,
            "seed": self.seed,
        }


def _check_groups(groups, width):
    groups = [tuple(g) for g in groups]
    at = 0
    for g in groups:
        if len(g) != 2 or not (at <= g[0] < g[1] <= width) or g[1] - g[0] < 2:
            raise ValueError(
                f"`groups` must be increasing, non-overlapping (start, stop) slot ranges of at least 2 "
                f"slots within the {width} features. Received: groups={groups!r}"
            )
        at = g[1]
    return groups


@register_model
def tabular_gan(
    num_features=30,
    groups=(),
    num_classes=2,
    latent_dim=64,
    units=(256, 256),
    seed=None,
    name="tabular_gan",
):
    """A conditional WGAN-GP for encoded table rows (see the module docstring).

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017; the per-column
    outputs follow Xu et al., "Modeling Tabular Data using Conditional GAN" (CTGAN), NeurIPS 2019.

    Args:
        num_features: the encoded row's width (`TableTransform.width`). Defaults to `30`.
        groups: `(start, stop)` of each categorical column's one-hot slots (`TableTransform.groups`).
        num_classes: classes of the label. Defaults to `2`.
        latent_dim: noise size. Defaults to `64`.
        units: hidden layer widths of both networks. Defaults to `(256, 256)`.
        seed: noise and Gumbel seed.
        name: model name.

    Returns:
        A conditional `kerazoo.GAN`; its generator maps `[noise, labels]` to encoded rows.
    """
    check_positive_int("num_features", num_features)
    check_positive_int("num_classes", num_classes)
    check_positive_int("latent_dim", latent_dim)
    units = check_units("units", units)
    groups = _check_groups(groups, num_features)

    noise = keras.Input((latent_dim,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels")
    x = layers.Concatenate(name="g_condition")(
        [noise, layers.Embedding(num_classes, 16, name="g_label")(labels)]
    )
    for i, width in enumerate(units, start=1):
        x = layers.Dense(width, name=f"g_dense{i}")(x)
        x = layers.BatchNormalization(name=f"g_bn{i}")(x)
        x = layers.ReLU(name=f"g_relu{i}")(x)
    x = layers.Dense(num_features, name="g_slots")(x)
    rows = ColumnActivations(groups, seed=seed, name="columns")(x)
    generator = keras.Model([noise, labels], rows, name="generator")

    # The critic: no batch normalisation (the gradient penalty is per example); LeakyReLU, dropout.
    inputs = keras.Input((num_features,), name="rows")
    critic_labels = keras.Input((), dtype="int32", name="labels")
    x = layers.Concatenate(name="d_condition")(
        [inputs, layers.Embedding(num_classes, 16, name="d_label")(critic_labels)]
    )
    for i, width in enumerate(units, start=1):
        x = layers.Dense(width, name=f"d_dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
    critic = keras.Model([inputs, critic_labels], layers.Dense(1, name="d_score")(x), name="discriminator")
    return GAN(generator, critic, num_classes=num_classes, seed=seed, name=name)
