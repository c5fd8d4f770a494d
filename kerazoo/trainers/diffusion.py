"""`Diffusion`: a denoising diffusion model trained with plain `fit` (Ho et al. 2020).

Each step draws a step `t` and noise `eps` per image, makes `x_t = sqrt(alpha_bar_t) x_0 +
sqrt(1 - alpha_bar_t) eps` and trains the denoiser to predict `eps` (the mean squared error, the
paper's simple loss). A class-conditional model (`num_classes`) sees its label replaced by the null
class `num_classes` with probability `label_dropout`, so that one network makes both the conditional
and the unconditional predictions that classifier-free guidance mixes (Ho & Salimans 2022).
With `min_snr_gamma` (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting
Strategy"), each image's squared error is weighted by `min(SNR_t, gamma) / SNR_t`, where
`SNR_t = alpha_bar_t / (1 - alpha_bar_t)`: the nearly clean steps, whose noise is easy to tell
and which dominate the simple loss's gradients, count less.

The weights' moving average is what diffusion papers sample from: `compile(..., ema_momentum=0.999)`
keeps one with TensorFlow's warm-up (`ExponentialMovingAverage(num_updates=...)`: the momentum is
`min(ema_momentum, (1 + n) / (10 + n))` after n updates, so a short run is not dominated by its
first weights, as Keras' fixed-momentum `use_ema` would be) and `fit` ends with the average in the
weights: what is saved, exported and sampled. Sampling is `kerazoo.sampling`'s NumPy loops.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerazoo import sampling
from kerazoo.trainers.gan import replica_draw, scale_for_replicas

__all__ = ["Diffusion"]


@keras.saving.register_keras_serializable(package="kerazoo")
class Diffusion(keras.Model):
    """A denoising diffusion model: a noise-predicting denoiser and its noise schedule.

    Example:
        ```python
        model = kerazoo.trainers.Diffusion(denoiser, schedule="cosine", timesteps=1000)
        model.compile(optimizer=keras.optimizers.Adam(2e-4), ema_momentum=0.999)
        model.fit(images_in_minus_one_to_one, epochs=10)
        samples = model.sample(16, steps=25, seed=0)      # uint8-ready floats in [-1, 1]
        ```

    Args:
        denoiser: Functional model `[x_t, t]` (and `labels` for a conditional one) -> predicted
            noise, shaped like `x_t`; `t` int32 `(batch,)`, `labels` int32 `(batch,)` with
            `num_classes` meaning "no label".
        schedule: `"linear"` or `"cosine"`. Defaults to `"linear"`.
        timesteps: the number of diffusion steps. Defaults to `1000`.
        num_classes: the class count of a conditional denoiser, else None.
        label_dropout: for a conditional denoiser, the probability that training drops a label to
            the null class. Defaults to `0.1`.
        min_snr_gamma: None for the simple loss (every step alike), or a positive number (the paper's
            5) for the min-SNR weighting. Defaults to `None`.
        seed: seed of the steps, noise and label drops drawn in training.

    Shapes:
        `fit` data: images `(batch, H, W, C)` in [-1, 1], or `(images, labels)` for a conditional
        model. `call([x_t, t(, labels)])` is the denoiser's noise prediction.
    """

    def __init__(
        self,
        denoiser,
        schedule="linear",
        timesteps=1000,
        num_classes=None,
        label_dropout=0.1,
        min_snr_gamma=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.schedule = sampling.Schedule.make(schedule, timesteps)
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
        ):
            raise ValueError(
                f"`num_classes` must be a positive integer or None. Received: num_classes={num_classes!r}"
            )
        if not (isinstance(label_dropout, (int, float)) and 0.0 <= label_dropout < 1.0):
            raise ValueError(f"`label_dropout` must be in [0, 1). Received: label_dropout={label_dropout!r}")
        if min_snr_gamma is not None and (
            isinstance(min_snr_gamma, bool)
            or not isinstance(min_snr_gamma, (int, float))
            or not min_snr_gamma > 0
        ):
            raise ValueError(
                f"`min_snr_gamma` must be a positive number or None. Received: min_snr_gamma={min_snr_gamma!r}"
            )
        expected = 3 if num_classes is not None else 2
        if len(denoiser.inputs) != expected:
            raise ValueError(
                f"A {'conditional' if num_classes else 'unconditional'} denoiser takes {expected} inputs "
                f"([x_t, t{', labels' if num_classes else ''}]). Received {len(denoiser.inputs)}."
            )
        self.denoiser = denoiser
        self.num_classes = num_classes
        self.label_dropout = float(label_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._alpha_bar = ops.convert_to_tensor(self.schedule.alpha_bar.astype(np.float32))
        self.min_snr_gamma = None if min_snr_gamma is None else float(min_snr_gamma)
        self._loss_weight = None
        if self.min_snr_gamma is not None:
            self._loss_weight = ops.convert_to_tensor(self.loss_weights().astype(np.float32))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self._predict = None
        self.ema_momentum = None
        # The weights' moving average: always held (so that saved files load the same way), used
        # and updated only when `compile` is given `ema_momentum`.
        self._ema = [
            self.add_weight(shape=w.shape, initializer="zeros", trainable=False, name=f"ema_{i}")
            for i, w in enumerate(self.denoiser.trainable_weights)
        ]
        self._ema_updates = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False, name="ema_updates"
        )
        self.built = True

    def compile(self, optimizer="adam", ema_momentum=None, **kwargs):
        """Compile with an optimizer and, with `ema_momentum` (e.g. `0.999`), a moving average of the
        denoiser's weights (with warm-up; see the module) that `fit` leaves in the weights.

        Raises:
            ValueError: `ema_momentum` not in [0, 1).
        """
        if ema_momentum is not None and not (
            isinstance(ema_momentum, (int, float)) and 0.0 <= ema_momentum < 1.0
        ):
            raise ValueError(
                f"`ema_momentum` must be in [0, 1) or None. Received: ema_momentum={ema_momentum!r}"
            )
        super().compile(optimizer=optimizer, **kwargs)
        self.ema_momentum = None if ema_momentum is None else float(ema_momentum)
        if self.ema_momentum is not None and int(ops.convert_to_numpy(self._ema_updates)) == 0:
            for average, weight in zip(self._ema, self.denoiser.trainable_weights):
                average.assign(weight)  # the average starts at the weights

    def get_compile_config(self):
        return {**(super().get_compile_config() or {}), "ema_momentum": self.ema_momentum}

    def compile_from_config(self, config):
        """Compile a loaded model as it was saved (optimizer and `ema_momentum`), with the
        optimizer's variables built so that a saved optimizer state loads into them."""
        if not config:
            return
        config = dict(config)
        momentum = config.pop("ema_momentum", None)
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config, ema_momentum=momentum)
        if self.built:
            self.optimizer.build(self.denoiser.trainable_weights)

    def loss_weights(self) -> np.ndarray:
        """Each step's weight in the loss (float64, one per step): all ones for the simple loss,
        `min(SNR_t, gamma) / SNR_t` with `min_snr_gamma`."""
        if self.min_snr_gamma is None:
            return np.ones(self.schedule.timesteps)
        ab = self.schedule.alpha_bar
        snr = ab / (1.0 - ab)
        return np.minimum(snr, self.min_snr_gamma) / snr

    @property
    def conditional(self) -> bool:
        """Whether the denoiser takes class labels."""
        return self.num_classes is not None

    @property
    def deployable(self):
        """What gets deployed: the denoiser (the sampling loop runs around it)."""
        return self.denoiser

    @property
    def metrics(self):
        """The loss tracker (the mean squared error of the noise prediction)."""
        return [self.loss_tracker]

    def call(self, inputs, training=False):
        """The denoiser's noise prediction for `[x_t, t(, labels)]`."""
        return self.denoiser(inputs, training=training)

    def noised(self, images, t, eps):
        """`x_t` for clean `images`, steps `t` and noise `eps` (the forward process's closed form)."""
        ab = ops.take(self._alpha_bar, t)
        ab = ops.reshape(ab, (-1,) + (1,) * (len(images.shape) - 1))
        return ops.sqrt(ab) * images + ops.sqrt(1.0 - ab) * eps

    def _loss(self, data, training):
        images, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        images = ops.cast(images, "float32")
        batch = ops.shape(images)[0]
        t = replica_draw(
            keras.random.randint,
            (batch,),
            minval=0,
            maxval=self.schedule.timesteps,
            dtype="int32",
            seed=self.seed_generator,
        )
        eps = replica_draw(keras.random.normal, ops.shape(images), dtype="float32", seed=self.seed_generator)
        inputs = [self.noised(images, t, eps), t]
        if self.conditional:
            if labels is None:
                raise ValueError("A conditional Diffusion model trains on (images, labels) batches.")
            labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
            if training and self.label_dropout > 0:
                drop = (
                    replica_draw(keras.random.uniform, (batch,), seed=self.seed_generator)
                    < self.label_dropout
                )
                labels = ops.where(drop, ops.full_like(labels, self.num_classes), labels)
            inputs.append(labels)
        predicted = ops.cast(self.denoiser(inputs, training=training), "float32")
        if self._loss_weight is None:
            return ops.mean(ops.square(predicted - eps))
        per_image = ops.mean(ops.square(predicted - eps), axis=tuple(range(1, len(images.shape))))
        return ops.mean(ops.take(self._loss_weight, t) * per_image)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._loss(data, training=True)
            scaled = self.optimizer.scale_loss(scale_for_replicas(loss))
        grads = tape.gradient(scaled, self.denoiser.trainable_weights)
        self.optimizer.apply(grads, self.denoiser.trainable_weights)
        if self.ema_momentum is not None:
            n = ops.cast(self._ema_updates, "float32")
            decay = ops.minimum(self.ema_momentum, (1.0 + n) / (10.0 + n))
            for average, weight in zip(self._ema, self.denoiser.trainable_weights):
                average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))
            self._ema_updates.assign_add(1)
        self.loss_tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        self.loss_tracker.update_state(self._loss(data, training=False))
        return {m.name: m.result() for m in self.metrics}

    def fit(self, *args, **kwargs):
        """Keras' `fit`, ending with the moving average in the denoiser's weights (with
        `ema_momentum`): the weights that get saved, exported and sampled."""
        history = super().fit(*args, **kwargs)
        if self.ema_momentum is not None:
            for average, weight in zip(self._ema, self.denoiser.trainable_weights):
                weight.assign(average)
        return history

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block the denoiser holds the moving average of its weights, its own weights
        again after; nothing changes without an average."""
        if self.ema_momentum is None:
            yield self
            return
        weights = self.denoiser.trainable_weights
        saved = [ops.convert_to_numpy(w) for w in weights]
        for average, weight in zip(self._ema, weights):
            weight.assign(average)
        try:
            yield self
        finally:
            for weight, value in zip(weights, saved):
                weight.assign(value)

    def predict_eps(self, x, t, labels=None, batch_size=256):
        """The denoiser's noise prediction as NumPy, in batches; `labels=None` on a conditional model
        asks for the unconditional prediction (the null class)."""
        inputs = [np.asarray(x, np.float32), np.asarray(t, np.int32)]
        if self.conditional:
            labels = (
                np.full((len(x),), self.num_classes, np.int32)
                if labels is None
                else np.asarray(labels, np.int32)
            )
            inputs.append(labels)
        if self._predict is None:  # one traced graph per batch shape: far faster than eager calls
            self._predict = tf.function(
                lambda *a: self.denoiser(list(a), training=False), reduce_retracing=True
            )
        out = [
            ops.convert_to_numpy(self._predict(*(a[i : i + batch_size] for a in inputs)))
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(out).astype(np.float32)

    def sample(self, n, steps=50, *, eta=0.0, seed=0, labels=None, guidance=1.0, trajectory=False):
        """`n` images in [-1, 1] by DDIM (`kerazoo.sampling.ddim_sample`) around this denoiser.

        Args:
            n: how many images.
            steps: denoising steps (1 to `timesteps`). Defaults to `50`.
            eta: DDIM's noise, 0 (deterministic) to 1. Defaults to `0.0`.
            seed: the noise seed.
            labels: a class per image (or one int for all) for a conditional model.
            guidance: classifier-free guidance weight (0: unconditional, 1: conditional).
            trajectory: also return `x_t` after every step.

        Raises:
            ValueError: bad steps, eta, guidance or labels.
        """
        if labels is not None:
            if not self.conditional:
                raise ValueError("This model is unconditional: it takes no labels.")
            labels = np.broadcast_to(np.asarray(labels, np.int32), (n,))
            if labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(
                    f"Labels must be between 0 and {self.num_classes - 1}. Received: {sorted(set(labels.tolist()))}"
                )
        shape = (int(n), *(int(d) for d in self.denoiser.inputs[0].shape[1:]))
        return sampling.ddim_sample(
            self.predict_eps,
            shape,
            self.schedule,
            steps,
            eta=eta,
            seed=seed,
            labels=labels,
            guidance=guidance,
            trajectory=trajectory,
        )

    def count_params(self):
        """The denoiser's parameters: the moving average's copy of them is state, not parameters
        (as a GAN's `use_ema` average lives in its optimizer and is not counted either)."""
        return self.denoiser.count_params()

    def get_config(self):
        return {
            **super().get_config(),
            "denoiser": keras.saving.serialize_keras_object(self.denoiser),
            "schedule": self.schedule.kind,
            "timesteps": self.schedule.timesteps,
            "num_classes": self.num_classes,
            "label_dropout": self.label_dropout,
            "min_snr_gamma": self.min_snr_gamma,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["denoiser"] = keras.saving.deserialize_keras_object(config["denoiser"])
        return cls(**config)
