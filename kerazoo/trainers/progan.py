"""ProGAN's trainer: a `kerazoo.GAN` that grows its networks phase by phase.

Reference: Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
Variation", ICLR 2018. The networks, the schedule and the paper's layers are the builder's
(`kerazoo.models.progan`); this module holds the `train_step` model that grows them. The
`ProgressiveGrowing` callback that moves it from phase to phase is in `kerazoo.callbacks`.
"""

from __future__ import annotations

import warnings

import keras
import tensorflow as tf
from keras import ops

from kerazoo._checks import check_positive_int
from kerazoo.models._common import check_shape
from kerazoo.models.progan import (
    Fade,
    Phase,
    _channels,
    _schedule,
    progan_discriminators,
    progan_generators,
    resolutions,
)
from kerazoo.trainers.gan import GAN

__all__ = ["ProGAN"]

# --- the GAN that grows ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerazoo")
class ProGAN(GAN):
    """A `kerazoo.GAN` that grows: it trains the networks of its current phase and moves to the next
    phase when `phase_images` more real images have been shown (`fit` adds a `ProgressiveGrowing`
    callback for it unless one is given). Real images are average-pooled to the phase's resolution;
    during a fade-in they are blended like the generator's output (upsampled lower-resolution image
    to full-detail image by `alpha`), as in the paper.

    Example:
        ```python
        gan = kerazoo.build("progan")
        gan.compile(phase_images=8_000)  # the `progressive` task's recipe does this
        gan.fit(kerazoo.make_dataset("digits", "train", 64, normalization="symmetric",
                                     labels=False, drop_remainder=True), epochs=40)
        gan.generator.save("generator.keras")  # the full-resolution generator
        ```

    `fit` logs `resolution` and `alpha` (their values at the epoch's last step) beside the losses.
    The images shown so far (`images_seen`) and each `Fade` layer's alpha are model variables, so a
    backup (`kerazoo.callbacks.BackupAndRestore`) resumes the right phase at the right alpha.
    `call` returns the current phase's images upsampled (nearest) to the full size.

    Args:
        latent_dim: noise size. Defaults to `100`.
        image_shape: square images `(side, side, channels)`. Defaults to `(28, 28, 1)`.
        start_resolution: the first phase's resolution (see `resolutions`); None: the smallest.
        width: feature maps at the full resolution, doubled per halving. Defaults to `32`.
        max_width: at most this many feature maps at any level. Defaults to `256`.
        seed: noise seed.
    """

    def __init__(
        self,
        latent_dim=100,
        image_shape=(28, 28, 1),
        start_resolution=None,
        width=32,
        max_width=256,
        seed=None,
        name="progan",
        **kwargs,
    ):
        check_positive_int("latent_dim", latent_dim)
        check_positive_int("width", width)
        check_positive_int("max_width", max_width)
        image_shape = check_shape("image_shape", image_shape, ndim=3)
        res = resolutions(image_shape, start_resolution)
        channels = _channels(res, width, max_width)
        g_stable, g_fade = progan_generators(latent_dim, image_shape, res, channels, f"{name}_generator")
        d_stable, d_fade = progan_discriminators(image_shape, res, channels, f"{name}_discriminator")
        super().__init__(g_stable[-1], d_stable[-1], seed=seed, name=name, **kwargs)
        self.hparams = dict(
            latent_dim=latent_dim,
            image_shape=image_shape,
            start_resolution=start_resolution,
            width=width,
            max_width=max_width,
        )
        self.resolutions = res
        self.channels = channels
        # Every phase's networks in schedule order: level 0, then per level its fade-in and stable
        # pair (tracked: all their weights are the model's, whatever the phase).
        self.phase_generators = [m for k in range(len(res)) for m in (g_fade[k], g_stable[k]) if m]
        self.phase_discriminators = [m for k in range(len(res)) for m in (d_fade[k], d_stable[k]) if m]
        # Under a distribution strategy every replica adds the global batch and sets the same alpha;
        # the first replica's update is kept.
        self.images_seen = self.add_weight(
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
            name="images_seen",
        )
        # The last phase whose start reset the optimizers (so a resumed run does not reset twice).
        self.reset_phase = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False, name="reset_phase"
        )
        self.phase_images = None
        self.phase = None
        self._set_phase(0)

    # -- schedule ----------------------------------------------------------------------------------

    @property
    def phases(self) -> list:
        """The schedule: `Phase`s in order (needs `compile(phase_images=...)`)."""
        if self.phase_images is None:
            raise ValueError("Compile the ProGAN first: compile(phase_images=...) sets its schedule.")
        return _schedule(self.resolutions, self.phase_images)

    def phase_at(self, images: int) -> Phase:
        """The phase in which the `images`-th real image is shown."""
        phases = self.phases
        return phases[min(int(images) // self.phase_images, len(phases) - 1)]

    def _set_phase(self, index: int) -> None:
        self.phase = _schedule(self.resolutions, self.phase_images or 0)[index]
        self._phase_pair = (self.phase_generators[index], self.phase_discriminators[index])
        self._fades = [layer for m in self._phase_pair for layer in m.layers if isinstance(layer, Fade)]

    def grow_to(self, images: int) -> bool:
        """Move to the phase of the `images`-th image if not there (resetting both optimizers' states
        when that phase begins, once); True if the phase changed (the step must be traced anew)."""
        phase = self.phase_at(images)
        changed = phase.index != self.phase.index
        if changed:
            self._set_phase(phase.index)
        if phase.index > int(self.reset_phase.numpy()):
            for optimizer in (self.d_optimizer, self.g_optimizer):
                _reset_optimizer(optimizer)
            self.reset_phase.assign(phase.index)
        return changed

    # -- training ----------------------------------------------------------------------------------

    PHASE_IMAGES = 600_000  # the default schedule: the paper's 800k images a phase, at a smaller scale

    def compile(self, *args, phase_images=None, **kwargs):
        """`GAN.compile`'s arguments, plus `phase_images`: real images shown in each fade-in and each
        stabilising phase (the full-resolution phase lasts to the end). Defaults to `PHASE_IMAGES`
        (600,000). Both optimizers are built for every phase's weights."""
        phase_images = self.PHASE_IMAGES if phase_images is None else phase_images
        self.phase_images = check_positive_int("phase_images", phase_images)
        super().compile(*args, **kwargs)
        self._set_phase(self.phase.index)
        self.build_optimizers()

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            config["phase_images"] = self.phase_images
        return config

    def build_optimizers(self):
        """Build each optimizer for the weights of every phase's network (the full-resolution
        networks lack the lower levels' to-RGB / from-RGB layers)."""
        for optimizer, networks in (
            (self.g_optimizer, self.phase_generators),
            (self.d_optimizer, self.phase_discriminators),
        ):
            if not optimizer.built:
                optimizer.build(_unique(v for network in networks for v in network.trainable_variables))

    def _networks(self):
        return self._phase_pair

    def fit(self, *args, callbacks=None, **kwargs):
        from kerazoo.callbacks import ProgressiveGrowing

        callbacks = list(callbacks or [])
        if not any(isinstance(c, ProgressiveGrowing) for c in callbacks):
            callbacks.insert(0, ProgressiveGrowing())
        history = super().fit(*args, callbacks=callbacks, **kwargs)
        last = self.phases[-1]
        if self.phase.index < last.index:
            warnings.warn(
                f"{self.name} stopped in phase {self.phase.index + 1} of {len(self.phases)} "
                f"({self.phase.label}): its full-resolution generator is not trained yet. Fit for at "
                f"least {last.start:,} real images in all ({int(self.images_seen.numpy()):,} so far).",
                stacklevel=2,
            )
        return history

    def train_step(self, data):
        real, labels = self._unpack(data)
        phase = self.phase
        batch = ops.shape(real)[0]
        if phase.fade:
            shown = ops.cast(self.images_seen, "float32") - float(phase.start)
            alpha = ops.clip(shown / float(self.phase_images), 0.0, 1.0)
            for layer in self._fades:
                layer.alpha.assign(alpha)
        else:
            alpha = ops.ones((), "float32")
        real = self.real_at(real, phase, alpha)
        logs = self._adversarial_step(real, labels)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.images_seen.assign_add(ops.cast(batch * replicas, "int64"))
        return {**logs, "resolution": ops.convert_to_tensor(float(phase.resolution)), "alpha": alpha}

    def _apply_gradients(self, optimizer, grads, weights):
        """`GAN`'s update, keeping an optimizer's moving average through a phase's start: Keras
        starts the average afresh (from the weights) on an optimizer's first step, which a phase's
        reset (step count back to 0, for Adam's bias correction) would otherwise repeat at every
        growth. After a reset the first step's average is `momentum * kept + (1 - momentum) *
        weights` instead, as on any other step."""
        averages = [a for a in _moving_averages(optimizer) if a is not None]
        if not averages:
            return super()._apply_gradients(optimizer, grads, weights)
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        kept = [tf.identity(a.value) for a in averages]  # read (copied) before the step writes them
        restarted = ops.logical_and(ops.equal(inner.iterations, 0), self.reset_phase > 0)
        super()._apply_gradients(optimizer, grads, weights)
        for average, before in zip(averages, kept):
            # After a restarted step Keras' average is the weights: blend the kept one back in.
            momentum = ops.cast(restarted, average.dtype) * ops.cast(inner.ema_momentum, average.dtype)
            average.assign(average + momentum * (before - average))

    def real_at(self, images, phase: Phase, alpha=1.0):
        """Real images as the phase's discriminator sees them: average-pooled to its resolution and,
        during a fade-in, blended from the half-resolution image (upsampled) to that one by `alpha`."""
        images = ops.cast(images, "float32")
        factor = self.image_shape[0] // phase.resolution
        if factor > 1:
            images = ops.average_pool(images, factor, factor)
        if phase.fade:
            low = ops.repeat(ops.repeat(ops.average_pool(images, 2, 2), 2, axis=1), 2, axis=2)
            images = low + alpha * (images - low)
        return images

    def call(self, inputs, training=False):
        images = self._phase_pair[0](inputs, training=training)
        factor = self.image_shape[0] // self.phase.resolution
        if factor > 1:
            images = ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)
        return images

    def test_step(self, data):
        raise NotImplementedError(
            "ProGAN has no validation step: judge its samples with kerazoo.evaluate (fit it without "
            "validation_data)."
        )

    # -- saving ------------------------------------------------------------------------------------

    def get_config(self):
        config = keras.Model.get_config(self)
        config.update(self.hparams, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        # A loaded ProGAN is at the phase of the images it had shown (the last, once trained).
        if self.phase_images is not None:
            self._set_phase(self.phase_at(int(self.images_seen.numpy())).index)


def _unique(variables) -> list:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _moving_averages(optimizer) -> list:
    """The moving averages an optimizer keeps of its weights (`use_ema=True`; None for a weight it
    keeps none of), or [] when it keeps none."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not getattr(inner, "use_ema", False):
        return []
    return list(getattr(inner, "_model_variables_moving_average", None) or [])


def _reset_optimizer(optimizer) -> None:
    """Zero an optimizer's step count and per-weight state (Adam's moments); keep its learning rate,
    for a loss-scale optimizer its loss scale, and its moving averages of the weights (`use_ema`),
    which run through the growth as the paper's averaged generator does."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    keep = {id(getattr(inner, "_learning_rate", None))}
    keep.update(id(average) for average in _moving_averages(optimizer) if average is not None)
    for variable in inner.variables:
        if id(variable) not in keep:
            variable.assign(ops.zeros(variable.shape, variable.dtype))
