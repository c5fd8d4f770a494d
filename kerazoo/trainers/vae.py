"""`kerazoo.VAE` and its `Sampling` layer.

The loss per image is the reconstruction term, binary cross-entropy summed over pixels, plus the KL
divergence of `N(z_mean, exp(z_log_var))` from `N(0, I)`, summed over latent dimensions; both are
averaged over the batch and tracked apart as `reconstruction_loss` and `kl_loss`, with their sum as
`loss` (nats per image, the keras.io VAE example's definition).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kerazoo.trainers.gan import replica_draw, scale_for_replicas

__all__ = ["VAE", "Sampling", "kl_divergence"]


@keras.saving.register_keras_serializable(package="kerazoo")
class Sampling(keras.layers.Layer):
    """Draws `z = z_mean + exp(z_log_var / 2) * eps`, `eps ~ N(0, I)`, from its own seed generator.

    Args:
        seed: seed of the layer's `keras.random.SeedGenerator`; the same seed gives the same draws.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = replica_draw(
            keras.random.normal, ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over latent dimensions."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def reconstruction_loss(x, reconstruction):
    """Binary cross-entropy summed over pixels, per example (x and reconstruction in [0, 1])."""
    bce = keras.losses.binary_crossentropy(x, reconstruction)  # mean over the last axis
    return ops.sum(bce, axis=tuple(range(1, len(bce.shape)))) * x.shape[-1]


@keras.saving.register_keras_serializable(package="kerazoo")
class VAE(keras.Model):
    """A variational autoencoder trained with plain `fit` on images in [0, 1].

    Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

    Args:
        encoder: Functional model, images -> `[z_mean, z_log_var, z]` (its last layer a `Sampling`).
        decoder: Functional model, `(batch, latent_dim)` -> images in [0, 1]; a generator of its own.

    Shapes:
        `fit` data: images `(batch, H, W, C)` in [0, 1]. `call(images)` returns reconstructions
        (deterministic at inference: decoded from z_mean).
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        if len(encoder.outputs) != 3:
            raise ValueError(
                f"The VAE encoder must return [z_mean, z_log_var, z]. Received {len(encoder.outputs)} outputs."
            )
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # both networks are built Functional models

    @property
    def deployable(self):
        """What gets deployed from a trained VAE: its decoder (a generator of its own)."""
        return self.decoder

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs, training=False):
        """Reconstructions: decoded from a sample of z in training, from z_mean at inference."""
        z_mean, _, z = self.encoder(inputs, training=training)
        return self.decoder(z if training else z_mean, training=training)

    def _vae_losses(self, data, training):
        images = data[0] if isinstance(data, (tuple, list)) else data
        z_mean, z_log_var, z = self.encoder(images, training=training)
        reconstruction = self.decoder(z, training=training)
        # Under a mixed-precision policy the networks compute in (b)float16; the losses in float32.
        z_mean, z_log_var, reconstruction = (
            ops.cast(t, "float32") for t in (z_mean, z_log_var, reconstruction)
        )
        rec = ops.mean(reconstruction_loss(ops.cast(images, "float32"), reconstruction))
        kl = ops.mean(kl_divergence(z_mean, z_log_var))
        return rec, kl

    def _track(self, rec, kl):
        self.total_loss_tracker.update_state(rec + kl)
        self.reconstruction_loss_tracker.update_state(rec)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            rec, kl = self._vae_losses(data, training=True)
            scaled = self.optimizer.scale_loss(scale_for_replicas(rec + kl))
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        return self._track(rec, kl)

    def test_step(self, data):
        return self._track(*self._vae_losses(data, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)
