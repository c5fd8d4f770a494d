"""StyleGAN's trainer: a `kerazoo.GAN` whose generator is a mapping and a synthesis network.

Reference: Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020. The
networks and their layers are the builder's (`kerazoo.models.stylegan`); this module holds the
`train_step` model. What it adds to `GAN`'s step:

- style mixing regularisation: each generated batch maps two noise batches to w1 and w2 and, with
  probability `mixing_probability` (0.9), takes the styles of the layers from a random crossover
  layer on from w2 (one crossover per batch, as the paper's code does);
- the average w, tracked by the mapping network's `Truncation` layer during training;
- optional path length regularisation (`pl_weight`, off by default): the generator's loss adds
  `pl_weight * (|J_w^T y| - a)^2`, where `y` is random image-space noise scaled by 1/sqrt(pixels),
  `J_w` the Jacobian of the image with respect to the styles and `a` the moving average of the
  lengths (decay 0.01), computed every `pl_every`-th step on half a batch and weighted by
  `pl_every` (lazy regularisation).

Everything else is `GAN`'s: the losses (non-saturating by default), lazy R1 (`r1_gamma`,
`penalty_every`), both optimizers, the generator's moving average (`use_ema`, swapped in at the end
of `fit`), mixed precision, the distribution strategies.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import keras
import tensorflow as tf
from keras import ops

from kerazoo._checks import check_number, check_positive_int
from kerazoo.trainers.gan import GAN, GANOptions, _float32, replica_draw

__all__ = ["StyleGAN", "StyleGANOptions", "check_crossover"]


@dataclasses.dataclass(frozen=True)
class StyleGANOptions(GANOptions):
    """What `StyleGAN.compile` takes beyond `GAN.compile`, with its defaults (the only place they are
    written; the `style` task's recipe is these plus epochs and batch size)."""

    mixing_probability: float = 0.9
    pl_weight: float = 0.0
    pl_every: int = 4


STYLE_KEYS = ("mixing_probability", "pl_weight", "pl_every")
PL_DECAY = 0.01  # the path length average's update rate (the paper's code)


@keras.saving.register_keras_serializable(package="kerazoo")
class StyleGAN(GAN):
    """A GAN whose generator is `[noise, truncation] -> mapping -> styles -> synthesis`, trained with
    style mixing (and optionally path length regularisation).

    Example:
        ```python
        gan = kerazoo.build("stylegan")
        gan.compile()  # GAN's defaults plus mixing_probability=0.9; `kerazoo train` uses the recipe
        gan.fit(kerazoo.make_dataset("digits", "train", 64, normalization="symmetric",
                                     labels=False, drop_remainder=True), epochs=5)
        images = gan.generator([noise, np.full(len(noise), 0.7, "float32")])  # truncation 0.7
        ```

    Args:
        mapping: Functional model, `[noise (batch, latent_dim), truncation (batch,)]` -> w.
        synthesis: Functional model, `styles (batch, num_ws, w_dim)` -> images.
        discriminator: Functional model, images -> `(batch, 1)` logits.
        seed: seeds the training noise.

    `gan.generator` (what is saved as `generator.keras` and exported) is built here from the two
    networks; `gan(noise)` samples with truncation 1 (what the sample grids draw).
    """

    EXTRA_GENERATOR_INPUTS = ("truncation",)

    def __init__(self, mapping, synthesis, discriminator, seed=None, **kwargs):
        from kerazoo.models.stylegan import stylegan_generator

        for label, network in (("mapping", mapping), ("synthesis", synthesis)):
            if not isinstance(network, keras.Model):
                raise ValueError(
                    f"StyleGAN needs a keras.Model as `{label}`. Received: {type(network).__name__}"
                )
        if [t.name for t in mapping.inputs] != ["noise", "truncation"] or len(synthesis.inputs) != 1:
            raise ValueError(
                "StyleGAN needs a mapping network taking [noise, truncation] and a synthesis network "
                "taking styles (kerazoo.models.stylegan's builders make them)."
            )
        w_dim, styles_dim = int(mapping.outputs[0].shape[-1]), int(synthesis.inputs[0].shape[-1])
        if w_dim != styles_dim:
            raise ValueError(
                f"The mapping network makes w of size {w_dim}; the synthesis network takes {styles_dim}."
            )
        generator = stylegan_generator(
            mapping, synthesis, name=f"{kwargs.get('name') or 'stylegan'}_generator"
        )
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.mapping = mapping
        self.synthesis = synthesis
        self.num_ws = int(synthesis.inputs[0].shape[1])
        self.w_dim = w_dim
        self.pl_mean = self.add_weight(
            shape=(), initializer="zeros", trainable=False, aggregation="mean", name="pl_mean"
        )

    def compile(self, mixing_probability=None, pl_weight=None, pl_every=None, **kwargs):
        """`GAN.compile`'s options (see there) and StyleGAN's own; None takes `StyleGANOptions`' default.

        Args:
            mixing_probability: the share of generated batches whose styles mix two w's (0 to 1).
                Defaults to `0.9`.
            pl_weight: weight of path length regularisation (0: off). Defaults to `0.0`; the paper
                uses 2.
            pl_every: compute it on every `pl_every`-th generator update only (lazy). Defaults to `4`.
        """
        defaults = StyleGANOptions()
        p = defaults.mixing_probability if mixing_probability is None else mixing_probability
        self.mixing_probability = check_number("mixing_probability", p, 0.0, 1.0)
        self.pl_weight = check_number("pl_weight", defaults.pl_weight if pl_weight is None else pl_weight)
        self.pl_every = check_positive_int("pl_every", defaults.pl_every if pl_every is None else pl_every)
        super().compile(**kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is None:
            return None
        return {**config, **{key: getattr(self, key) for key in STYLE_KEYS}}

    # --- sampling --------------------------------------------------------------------------------

    def call(self, inputs, training=False):
        if not isinstance(inputs, (list, tuple)):  # noise alone: no truncation
            inputs = [inputs, ops.ones((ops.shape(inputs)[0],), "float32")]
        return self.generator(list(inputs), training=training)

    def styles(self, w, other=None, crossover=None):
        """Per-layer styles `(batch, num_ws, w_dim)` from w `(batch, w_dim)`: `w` for every layer, or
        with `other` and `crossover`, `w` for layers `0 .. crossover - 1` (the coarse styles) and
        `other` from layer `crossover` on (style mixing; crossover 0 is `other`'s image)."""
        styles = ops.repeat(ops.expand_dims(w, 1), self.num_ws, axis=1)
        if other is None:
            return styles
        check_crossover(crossover, self.num_ws)
        mask = ops.reshape(ops.arange(self.num_ws) < crossover, (1, self.num_ws, 1))
        return ops.where(mask, styles, ops.repeat(ops.expand_dims(other, 1), self.num_ws, axis=1))

    # --- training --------------------------------------------------------------------------------

    def _map(self, batch, training):
        noise = replica_draw(keras.random.normal, (batch, self.latent_dim), seed=self.seed_generator)
        return self.mapping([noise, ops.ones((batch,), "float32")], training=training)

    def _generate(self, generator, labels, batch, training=True):
        """Generated images for a training (or test) step: with probability `mixing_probability` the
        styles of two w's mixed at a random crossover layer (1 .. num_ws - 1)."""
        if not training or not self.mixing_probability:
            return self.synthesis(self.styles(self._map(batch, training)), training=training)
        w = self._map(2 * batch, training)
        first, second = w[:batch], w[batch:]
        mix = keras.random.uniform((), seed=self.seed_generator) < self.mixing_probability
        layer = keras.random.randint((), 1, self.num_ws, seed=self.seed_generator)
        crossover = ops.where(mix, layer, self.num_ws)
        mask = ops.reshape(ops.arange(self.num_ws) < crossover, (1, self.num_ws, 1))
        styles = ops.where(
            mask,
            ops.repeat(ops.expand_dims(first, 1), self.num_ws, axis=1),
            ops.repeat(ops.expand_dims(second, 1), self.num_ws, axis=1),
        )
        return self.synthesis(styles, training=training)

    def _generator_objective(self, g_loss, generated, real):
        if not self.pl_weight:
            return g_loss
        every, batch = self.pl_every, ops.shape(real)[0]
        if every == 1:
            penalty, mean = self._path_length_penalty(batch)
        else:
            due = ops.equal(ops.mod(self.g_optimizer.iterations, every), 0)
            penalty, mean = ops.cond(
                due,
                lambda: self._path_length_penalty(batch),
                lambda: (ops.zeros((), "float32"), ops.convert_to_tensor(self.pl_mean)),
            )
        # Updated outside the lazy branch: a synchronised variable cannot be assigned inside one.
        self.pl_mean.assign(mean)
        return g_loss + self.pl_weight * every * penalty

    def _path_length_penalty(self, batch):
        """`(mean((|J_w^T y| - a)^2), the updated average length a)` on half a batch."""
        half = ops.maximum(batch // 2, 1)
        # The mapping at sampling time with psi 1 is the training-time w without updating the average
        # w (inside a lazy branch, where a synchronised variable cannot be updated).
        styles = self.styles(self._map(half, False))
        with tf.GradientTape() as tape:
            tape.watch(styles)
            images = _float32(self.synthesis(styles, training=True))
            pixels = math.prod(self.image_shape[:2])
            y = keras.random.normal(ops.shape(images), seed=self.seed_generator) / math.sqrt(pixels)
            total = ops.sum(images * y)
        grads = _float32(tape.gradient(total, styles))
        lengths = ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))
        mean = ops.stop_gradient(self.pl_mean + PL_DECAY * (ops.mean(lengths) - self.pl_mean))
        return ops.mean(ops.square(lengths - mean)), mean

    # --- saving ----------------------------------------------------------------------------------

    def get_config(self):
        config = keras.Model.get_config(self)
        config.update(
            {
                "mapping": keras.saving.serialize_keras_object(self.mapping),
                "synthesis": keras.saving.serialize_keras_object(self.synthesis),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("mapping", "synthesis", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def check_crossover(crossover, num_ws, error=ValueError) -> int:
    """`crossover` as an int if it is a layer index in 0..num_ws (0: every style from the second w,
    num_ws: every style from the first); `error` with one line otherwise."""
    if (
        isinstance(crossover, bool)
        or not isinstance(crossover, numbers.Integral)
        or not 0 <= crossover <= num_ws
    ):
        raise error(
            f"The crossover must be a layer index in 0..{num_ws} for this synthesis network ({num_ws} "
            f"styles; 0: all from the second seed). Received: crossover={crossover!r}"
        )
    return int(crossover)
