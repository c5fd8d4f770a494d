"""The GAN family: MLP GAN, DCGAN, conditional DCGAN and WGAN-GP.

Each registry entry returns a `kerazoo.GAN` holding two Functional models, ready for `compile` and
`fit`; the generator and discriminator builders are public functions of their own.
"""

from __future__ import annotations

import keras
from keras import layers

from kerazoo._registry import register_model
from kerazoo.models._common import (
    BatchNormalization,
    check_positive_int,
    check_rate,
    check_shape,
    check_units,
)
from kerazoo.trainers.gan import GAN

__all__ = [
    "mlp_generator",
    "mlp_discriminator",
    "dcgan_generator",
    "dcgan_discriminator",
]  # the registry appends each registered builder's name

_image = dict(shape=(28, 28, 1), dtype="float32", range=(-1.0, 1.0))
# Radford et al.'s beta_1 with a shorter second-moment memory (StyleGAN's 0.99): the main job's.
_DCGAN_ADAM_099 = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.5, "beta_2": 0.99}}
# Gulrajani et al. 2017, at learning rate 1e-4.
_WGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.0, "beta_2": 0.9}}


def _cfg(input_spec=_image, **recipe):
    """A GAN's registry cfg: the recipe's differences from the generation task's `GANRecipe`
    (non-saturating loss, Adam(2e-4, beta_1=0.5) for both networks, one update each, batches of 64,
    30 epochs) as keyword arguments. `epochs` is for the default `digits` data (about 22 steps an epoch)."""
    return dict(
        task="generation",
        dataset="digits",
        input_spec=input_spec,
        normalization="symmetric",
        recipe=recipe,
    )


default_cfgs = {
    "gan": _cfg(epochs=100),
    # Two generator updates per step: on MNIST D outruns G with one (the sample quality levels off
    # lower). The R1 penalty (gamma 0.1) keeps D smooth at the data and lifts the MNIST curve at every
    # epoch (88.0% -> 90.3% confident after 15); README's GAN benchmark has the curves. The rest is
    # tuned for README's main job on the `digits` (docs/benchmarks/first-picture.md): with the
    # builder's width 32, many small steps (batches of 32, 40 epochs) at a high learning rate, the
    # penalty on every 4th update, and the generator's moving average, which is what gets saved.
    "dcgan": _cfg(
        epochs=40,
        batch_size=32,
        g_steps=2,
        r1_gamma=0.1,
        penalty_every=4,
        learning_rate=8e-4,
        d_optimizer=_DCGAN_ADAM_099,
        g_optimizer={
            **_DCGAN_ADAM_099,
            "config": {**_DCGAN_ADAM_099["config"], "use_ema": True, "ema_momentum": 0.99},
        },
    ),
    "cgan": _cfg(input_spec=dict(_image, labels="int32 (batch,)")),
    "wgan_gp": _cfg(
        loss="wasserstein_gp",
        d_steps=5,
        gp_weight=10.0,
        learning_rate=1e-4,
        d_optimizer=_WGAN_ADAM,
        g_optimizer=_WGAN_ADAM,
    ),
}


def _check_image_shape(image_shape):
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    return image_shape


def _check_dcgan_shape(image_shape):
    image_shape = _check_image_shape(image_shape)
    if image_shape[0] != image_shape[1] or image_shape[0] % 4:
        raise ValueError(
            "The DCGAN builders make square images whose side is a multiple of 4 (7x7 -> x2 -> x2). "
            f"Received: image_shape={image_shape}"
        )
    return image_shape


def _label_embedding(labels, num_classes, size, name):
    """int32 labels `(batch,)` -> a learned embedding `(batch, size)`."""
    return layers.Flatten(name=f"{name}_label_flatten")(
        layers.Embedding(num_classes, size, name=f"{name}_label_embedding")(labels)
    )


def mlp_generator(
    latent_dim=100, hidden_units=(256, 512, 1024), image_shape=(28, 28, 1), num_classes=None, name="generator"
):
    """The basic GAN's generator: noise -> Dense + LeakyReLU layers -> tanh image.

    Shapes:
        Input: noise `(batch, latent_dim)` (and labels `(batch,)` int32 if `num_classes`).
        Output: `(batch, *image_shape)` in [-1, 1].
    """
    check_positive_int("latent_dim", latent_dim)
    hidden_units = check_units("hidden_units", hidden_units)
    image_shape = _check_image_shape(image_shape)
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = [noise], noise
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        x = layers.Concatenate(name=f"{name}_condition")([x, _label_embedding(labels, num_classes, 50, name)])
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, name=f"{name}_block{i}_dense")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_block{i}_lrelu")(x)
    size = image_shape[0] * image_shape[1] * image_shape[2]
    x = layers.Dense(size, activation="tanh", name=f"{name}_output_dense")(x)
    outputs = layers.Reshape(image_shape, name=f"{name}_output")(x)
    return keras.Model(inputs if len(inputs) > 1 else noise, outputs, name=name)


def mlp_discriminator(
    image_shape=(28, 28, 1), hidden_units=(512, 256), dropout=0.3, num_classes=None, name="discriminator"
):
    """The basic GAN's discriminator: image -> Dense + LeakyReLU layers -> one logit.

    Shapes:
        Input: `(batch, *image_shape)` in [-1, 1] (and labels if `num_classes`). Output: `(batch, 1)` logits.
    """
    image_shape = _check_image_shape(image_shape)
    hidden_units = check_units("hidden_units", hidden_units)
    check_rate("dropout", dropout)
    images = keras.Input(shape=image_shape, name="images")
    inputs = [images]
    x = layers.Flatten(name=f"{name}_flatten")(images)
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        x = layers.Concatenate(name=f"{name}_condition")([x, _label_embedding(labels, num_classes, 50, name)])
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, name=f"{name}_block{i}_dense")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_block{i}_lrelu")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_block{i}_dropout")(x)
    outputs = layers.Dense(1, name=f"{name}_logit")(x)
    return keras.Model(inputs if len(inputs) > 1 else images, outputs, name=name)


def dcgan_generator(latent_dim=100, image_shape=(28, 28, 1), width=64, num_classes=None, name="generator"):
    """The DCGAN generator: noise -> 1x1x100 -> Conv2DTranspose to 7x7x256 -> 14x14x128 -> 28x28x64 ->
    28x28x1, BatchNorm + ReLU after each but the tanh output (for 28x28x1 and `width=64`).

    Conditional (`num_classes` set): the label's learned 50-d embedding is concatenated to the noise.

    Shapes:
        Input: noise `(batch, latent_dim)` (and labels `(batch,)` int32). Output: `(batch, *image_shape)`
        in [-1, 1].
    """
    check_positive_int("latent_dim", latent_dim)
    check_positive_int("width", width)
    image_shape = _check_dcgan_shape(image_shape)
    base = image_shape[0] // 4
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = [noise], noise
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        x = layers.Concatenate(name=f"{name}_condition")([x, _label_embedding(labels, num_classes, 50, name)])
    # Stem: the noise as a 1x1 feature map
    x = layers.Reshape((1, 1, x.shape[-1]), name=f"{name}_stem_reshape")(x)
    # Block 1: 1x1 -> 7x7x256
    x = layers.Conv2DTranspose(4 * width, base, use_bias=False, name=f"{name}_block1_deconv")(x)
    x = BatchNormalization(name=f"{name}_block1_bn")(x)
    x = layers.ReLU(name=f"{name}_block1_relu")(x)
    # Block 2: 7x7 -> 14x14x128
    x = layers.Conv2DTranspose(
        2 * width, 4, strides=2, padding="same", use_bias=False, name=f"{name}_block2_deconv"
    )(x)
    x = BatchNormalization(name=f"{name}_block2_bn")(x)
    x = layers.ReLU(name=f"{name}_block2_relu")(x)
    # Block 3: 14x14 -> 28x28x64
    x = layers.Conv2DTranspose(
        width, 4, strides=2, padding="same", use_bias=False, name=f"{name}_block3_deconv"
    )(x)
    x = BatchNormalization(name=f"{name}_block3_bn")(x)
    x = layers.ReLU(name=f"{name}_block3_relu")(x)
    # Output: 28x28x1 in [-1, 1]
    outputs = layers.Conv2DTranspose(
        image_shape[2], 3, padding="same", activation="tanh", name=f"{name}_output_deconv"
    )(x)
    return keras.Model(inputs if len(inputs) > 1 else noise, outputs, name=name)


def dcgan_discriminator(
    image_shape=(28, 28, 1), width=64, batch_norm=True, num_classes=None, name="discriminator"
):
    """The DCGAN discriminator: Conv2D to 14x14x64 (no BatchNorm) -> 7x7x128 -> 4x4x256 -> one logit,
    LeakyReLU 0.2, BatchNorm after every conv but the first (none with `batch_norm=False`, the
    WGAN-GP critic, whose gradient penalty is per image).

    Conditional (`num_classes` set): the label's learned embedding, reshaped to one image-sized
    channel, is concatenated to the image.

    Shapes:
        Input: `(batch, *image_shape)` in [-1, 1] (and labels `(batch,)` int32). Output: `(batch, 1)` logits.
    """
    check_positive_int("width", width)
    image_shape = _check_dcgan_shape(image_shape)
    images = keras.Input(shape=image_shape, name="images")
    inputs, x = [images], images
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        h, w = image_shape[:2]
        label_map = layers.Reshape((h, w, 1), name=f"{name}_label_map")(
            _label_embedding(labels, num_classes, h * w, name)
        )
        x = layers.Concatenate(name=f"{name}_condition")([x, label_map])
    for i, filters in enumerate((width, 2 * width, 4 * width), start=1):
        # Block i: strided conv halves the size (28 -> 14 -> 7 -> 4)
        x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"{name}_block{i}_conv")(x)
        if batch_norm and i > 1:
            x = BatchNormalization(name=f"{name}_block{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_block{i}_lrelu")(x)
    # Head: one logit
    x = layers.Flatten(name=f"{name}_flatten")(x)
    outputs = layers.Dense(1, name=f"{name}_logit")(x)
    return keras.Model(inputs if len(inputs) > 1 else images, outputs, name=name)


def _check_latent(latent_dim):
    check_positive_int("latent_dim", latent_dim)


@register_model
def gan(
    latent_dim=100,
    generator_units=(256, 512, 1024),
    discriminator_units=(512, 256),
    image_shape=(28, 28, 1),
    dropout=0.3,
    seed=None,
    name="gan",
):
    """The basic GAN: MLP generator (Dense + LeakyReLU, tanh output) and MLP discriminator (one logit).

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.

    Args:
        latent_dim: noise size. Defaults to `100`.
        generator_units, discriminator_units: hidden layer widths.
        image_shape: image shape. Defaults to `(28, 28, 1)`.
        dropout: dropout rate after each of the discriminator's hidden layers. Defaults to `0.3`.
        seed: noise seed.
        name: model name.

    Returns:
        A `kerazoo.GAN`.
    """
    _check_latent(latent_dim)
    return GAN(
        mlp_generator(latent_dim, generator_units, image_shape, name=f"{name}_generator"),
        mlp_discriminator(image_shape, discriminator_units, dropout, name=f"{name}_discriminator"),
        seed=seed,
        name=name,
    )


@register_model
def dcgan(latent_dim=100, image_shape=(28, 28, 1), width=32, seed=None, name="dcgan"):
    """The DCGAN: transposed-conv generator and strided-conv discriminator with BatchNorm.

    Reference: Radford et al., "Unsupervised Representation Learning with Deep Convolutional GANs",
    ICLR 2016 (their width is 128; 32 trains the main job's digits faster and better, and `cgan` and
    `wgan_gp` keep 64). Default optimizers (`GAN.compile`): Adam(2e-4, beta_1=0.5) for both; the
    `dcgan` recipe of `kerazoo train` sets its own (docs/benchmarks/first-picture.md).

    Args:
        latent_dim: noise size. Defaults to `100`.
        image_shape: square images with a side divisible by 4. Defaults to `(28, 28, 1)`.
        width: filters of the last generator / first discriminator block (x2, x4 deeper). Defaults to `32`.
        seed: noise seed.
        name: model name.

    Returns:
        A `kerazoo.GAN`.
    """
    _check_latent(latent_dim)
    return GAN(
        dcgan_generator(latent_dim, image_shape, width, name=f"{name}_generator"),
        dcgan_discriminator(image_shape, width, name=f"{name}_discriminator"),
        seed=seed,
        name=name,
    )


@register_model
def cgan(latent_dim=100, num_classes=10, image_shape=(28, 28, 1), width=64, seed=None, name="cgan"):
    """The conditional DCGAN: generator `[noise, labels]`, discriminator `[images, labels]`, labels
    int32 `(batch,)` through learned embeddings.

    Reference: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.

    Args:
        latent_dim: noise size. Defaults to `100`.
        num_classes: label classes. Defaults to `10`.
        image_shape, width: as for `dcgan`.
        seed: noise seed.
        name: model name.

    Returns:
        A conditional `kerazoo.GAN`; `fit` it on `(images, labels)` batches.
    """
    _check_latent(latent_dim)
    check_positive_int("num_classes", num_classes)
    return GAN(
        dcgan_generator(latent_dim, image_shape, width, num_classes=num_classes, name=f"{name}_generator"),
        dcgan_discriminator(image_shape, width, num_classes=num_classes, name=f"{name}_discriminator"),
        num_classes=num_classes,
        seed=seed,
        name=name,
    )


@register_model
def wgan_gp(latent_dim=100, image_shape=(28, 28, 1), width=64, seed=None, name="wgan_gp"):
    """WGAN-GP: the DCGAN generator and a critic without BatchNorm, trained with the Wasserstein loss
    and a gradient penalty (weight 10), 5 critic steps per generator step, Adam(1e-4, 0, 0.9).

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.

    Returns:
        A `kerazoo.GAN`; compile it with `loss="wasserstein_gp", d_steps=5` (`kerazoo train` does).
    """
    _check_latent(latent_dim)
    return GAN(
        dcgan_generator(latent_dim, image_shape, width, name=f"{name}_generator"),
        dcgan_discriminator(image_shape, width, batch_norm=False, name=f"{name}_critic"),
        seed=seed,
        name=name,
    )
