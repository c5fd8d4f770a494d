"""Autoencoders and the VAE: encoder -> bottleneck (latent_dim) -> decoder.

The encoder and decoder are Functional models of their own, reachable from the whole as
`model.get_layer(f"{name}_encoder")` / `f"{name}_decoder"` (and `vae.encoder` / `vae.decoder`).
"""

from __future__ import annotations

import keras
from keras import layers

from kerazoo._registry import register_model
from kerazoo.models._common import check_positive_int, check_shape, check_units
from kerazoo.trainers.vae import VAE, Sampling

__all__ = [
    "dense_encoder",
    "dense_decoder",
    "conv_encoder",
    "conv_decoder",
]  # the registry appends each registered builder's name

_image = dict(shape=(28, 28, 1), dtype="float32", range=(0.0, 1.0))


def _cfg(epochs=30, **recipe):
    """An autoencoder's registry cfg: Adam at 1e-3 (the task's defaults), batches of 128, and any
    other recipe keys given; `epochs` is for the default `digits` data."""
    return dict(
        task="reconstruction",
        dataset="digits",
        input_spec=_image,
        normalization="unit",
        recipe=dict(epochs=epochs, batch_size=128, **recipe),
    )


default_cfgs = {
    "autoencoder": _cfg(),
    "conv_autoencoder": _cfg(),
    "denoising_autoencoder": _cfg(),
    "vae": _cfg(epochs=50, schedule="cosine"),  # cosine decay: README, the autoencoder benchmark
}


def _check_latent(latent_dim):
    check_positive_int("latent_dim", latent_dim)


def _check_conv_shape(image_shape):
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    if image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(
            "The convolutional encoder halves the image twice: height and width must be multiples of 4. "
            f"Received: image_shape={image_shape}"
        )
    return image_shape


def dense_encoder(
    image_shape=(28, 28, 1),
    hidden_units=(256, 128),
    latent_dim=32,
    variational=False,
    seed=None,
    name="encoder",
):
    """Flatten -> Dense + ReLU layers -> `latent_dim` (or `[z_mean, z_log_var, z]` if variational)."""
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    _check_latent(latent_dim)
    inputs = keras.Input(shape=image_shape, name="images")
    x = layers.Flatten(name=f"{name}_flatten")(inputs)
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"{name}_block{i}_dense")(x)
    return keras.Model(inputs, _bottleneck(x, latent_dim, variational, seed, name), name=name)


def dense_decoder(image_shape=(28, 28, 1), hidden_units=(128, 256), latent_dim=32, name="decoder"):
    """`latent_dim` -> Dense + ReLU layers -> sigmoid image in [0, 1]."""
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    _check_latent(latent_dim)
    inputs = keras.Input(shape=(latent_dim,), name="latent")
    x = inputs
    for i, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"{name}_block{i}_dense")(x)
    x = layers.Dense(
        image_shape[0] * image_shape[1] * image_shape[2], activation="sigmoid", name=f"{name}_output_dense"
    )(x)
    return keras.Model(inputs, layers.Reshape(image_shape, name=f"{name}_output")(x), name=name)


def conv_encoder(
    image_shape=(28, 28, 1),
    filters=(32, 64),
    latent_dim=16,
    variational=False,
    seed=None,
    dense_units=(128,),
    name="encoder",
):
    """Two strided 3x3 convs (28 -> 14 -> 7) -> Flatten -> Dense + ReLU layers (`dense_units`) ->
    `latent_dim` (or the VAE's three outputs)."""
    image_shape = _check_conv_shape(image_shape)
    filters = check_units("filters", filters)
    dense_units = check_units("dense_units", dense_units, allow_empty=True)
    _check_latent(latent_dim)
    inputs = keras.Input(shape=image_shape, name="images")
    x = inputs
    for i, f in enumerate(filters[:2], start=1):
        # Block i: strided conv halves the size
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"{name}_block{i}_conv")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"{name}_dense{i}")(x)
    return keras.Model(inputs, _bottleneck(x, latent_dim, variational, seed, name), name=name)


def conv_decoder(image_shape=(28, 28, 1), filters=(64, 32), latent_dim=16, dense_units=(), name="decoder"):
    """`latent_dim` -> Dense + ReLU layers (`dense_units`) -> 7x7 map -> two strided 3x3 transposed
    convs (7 -> 14 -> 28) -> sigmoid image."""
    image_shape = _check_conv_shape(image_shape)
    filters = check_units("filters", filters)
    dense_units = check_units("dense_units", dense_units, allow_empty=True)
    _check_latent(latent_dim)
    h, w = image_shape[0] // 4, image_shape[1] // 4
    inputs = keras.Input(shape=(latent_dim,), name="latent")
    x = inputs
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"{name}_dense{i}")(x)
    x = layers.Dense(h * w * filters[0], activation="relu", name=f"{name}_project")(x)
    x = layers.Reshape((h, w, filters[0]), name=f"{name}_reshape")(x)
    for i, f in enumerate(filters[:2], start=1):
        # Block i: strided transposed conv doubles the size
        x = layers.Conv2DTranspose(
            f, 3, strides=2, padding="same", activation="relu", name=f"{name}_block{i}_deconv"
        )(x)
    outputs = layers.Conv2D(image_shape[2], 3, padding="same", activation="sigmoid", name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


def _bottleneck(x, latent_dim, variational, seed, name):
    """The code: one Dense, or the VAE's `[z_mean, z_log_var, z]`."""
    if not variational:
        return layers.Dense(latent_dim, name=f"{name}_code")(x)
    z_mean = layers.Dense(latent_dim, name=f"{name}_z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name=f"{name}_z_log_var")(x)
    return [z_mean, z_log_var, Sampling(seed=seed, name=f"{name}_sampling")([z_mean, z_log_var])]


def _join(encoder, decoder, name, noise_stddev=0.0):
    """encoder -> decoder as one Functional model (with training-only noise on its input)."""
    inputs = keras.Input(shape=encoder.input_shape[1:], name=f"{name}_inputs")
    x = inputs
    if noise_stddev:
        # Corrupts the input in training only; silent at inference.
        x = layers.GaussianNoise(noise_stddev, name=f"{name}_corrupt")(x)
    return keras.Model(inputs, decoder(encoder(x)), name=name)


@register_model
def autoencoder(image_shape=(28, 28, 1), hidden_units=(256, 128), latent_dim=32, name="autoencoder"):
    """A dense autoencoder: encoder (Dense 256-128) -> bottleneck `latent_dim` -> mirrored decoder,
    trained on the MSE of its reconstruction.

    Shapes:
        Input and output: `(batch, *image_shape)` in [0, 1].

    Returns:
        A Functional `keras.Model`; its parts are `get_layer("autoencoder_encoder")` and
        `get_layer("autoencoder_decoder")`.
    """
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    return _join(
        dense_encoder(image_shape, hidden_units, latent_dim, name=f"{name}_encoder"),
        dense_decoder(image_shape, tuple(reversed(hidden_units)), latent_dim, name=f"{name}_decoder"),
        name,
    )


@register_model
def conv_autoencoder(image_shape=(28, 28, 1), filters=(32, 64), latent_dim=16, name="conv_autoencoder"):
    """A convolutional autoencoder for 28x28x1: strided convs down to a `latent_dim` code, strided
    transposed convs back up, trained on the MSE of its reconstruction.

    Returns:
        A Functional `keras.Model` with parts `conv_autoencoder_encoder` and `conv_autoencoder_decoder`.
    """
    filters = check_units("filters", filters)
    return _join(
        conv_encoder(image_shape, filters, latent_dim, name=f"{name}_encoder"),
        conv_decoder(image_shape, tuple(reversed(filters)), latent_dim, name=f"{name}_decoder"),
        name,
    )


@register_model
def denoising_autoencoder(
    image_shape=(28, 28, 1), filters=(32, 64), latent_dim=16, noise_stddev=0.3, name="denoising_autoencoder"
):
    """The convolutional autoencoder with Gaussian noise on its input during training only: it learns
    to reconstruct the clean image from a corrupted one (train it on clean targets).

    Args:
        noise_stddev: standard deviation of the training noise, on the [0, 1] scale. Defaults to `0.3`.

    Returns:
        A Functional `keras.Model`; the noise layer `denoising_autoencoder_corrupt` is silent at inference.
    """
    if isinstance(noise_stddev, bool) or not isinstance(noise_stddev, (int, float)) or noise_stddev <= 0:
        raise ValueError(f"`noise_stddev` must be a positive number. Received: noise_stddev={noise_stddev!r}")
    filters = check_units("filters", filters)
    return _join(
        conv_encoder(image_shape, filters, latent_dim, name=f"{name}_encoder"),
        conv_decoder(image_shape, tuple(reversed(filters)), latent_dim, name=f"{name}_decoder"),
        name,
        noise_stddev=noise_stddev,
    )


@register_model
def vae(
    image_shape=(28, 28, 1),
    filters=(32, 64),
    latent_dim=2,
    hidden_units=(512, 512),
    seed=None,
    name="vae",
):
    """A convolutional VAE: encoder (two strided convs, then Dense layers) -> (z_mean, z_log_var) ->
    Sampling -> mirrored decoder; loss = BCE summed over pixels + KL, per image (the keras.io VAE
    example's definition).

    The keras.io example has one Dense(16) layer in its encoder and none between z and the decoder's
    7x7 map; the default here is two Dense(512) layers on each side, which reach a lower loss at the
    same latent size (README: the autoencoder benchmark).

    Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

    Args:
        latent_dim: size of z. Defaults to `2` (so the latent space can be drawn).
        hidden_units: Dense + ReLU layers after the encoder's convolutions; the decoder mirrors them
            between z and its 7x7 map. Defaults to `(512, 512)`; `()` for none.
        seed: seed of the Sampling layer.

    Returns:
        A `kerazoo.VAE`; its `decoder` is a generator (noise `(batch, latent_dim)` -> images in [0, 1]).
    """
    filters = check_units("filters", filters)
    hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
    return VAE(
        conv_encoder(
            image_shape,
            filters,
            latent_dim,
            variational=True,
            seed=seed,
            dense_units=hidden_units,
            name=f"{name}_encoder",
        ),
        conv_decoder(
            image_shape,
            tuple(reversed(filters)),
            latent_dim,
            dense_units=tuple(reversed(hidden_units)),
            name=f"{name}_decoder",
        ),
        name=name,
    )
