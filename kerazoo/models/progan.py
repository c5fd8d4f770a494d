"""Progressive growing of GANs (ProGAN): generator and discriminator grow from a low resolution to the
data's, each new block faded in.

Reference: Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
Variation", ICLR 2018.

Training runs through phases, each `phase_images` real images long (a `compile` option; the
`progressive` task's recipe key): the lowest resolution alone, then for each doubling a fade-in
(the new block's output blended with the upsampled old one, `alpha` going 0 -> 1) and a stabilising
phase; the last phase (full resolution) lasts to the end of training. The paper's mechanics:
- minibatch standard deviation as an extra feature map before the discriminator's last block
  (`MinibatchStdDev`);
- equalized learning rate: weights drawn from N(0, 1) and scaled at run time by He's constant
  (`EqualizedConv2D`, `EqualizedDense`);
- pixelwise feature normalization after each generator convolution (`PixelNorm`);
- WGAN-GP with the drift term (`kerazoo.GAN`'s `wasserstein_gp_drift` loss and its gradient penalty).

All phases' networks are Functional models built once from shared layers, so growing keeps every
trained weight; the step trains the current phase's pair (`ProGAN._networks`). `ProGAN.generator`
is the full-resolution generator (what `generator.keras` and the exports hold): noise -> images in
[-1, 1], plain Functional. Both optimizers' states (Adam moments and step count) are reset whenever a
phase begins, as the paper's code does (`reset_opt_for_new_lod`): moments gathered for the previous
network's function do not fit the new one's, and a fresh step count gives the new layers Adam's
bias-corrected first steps instead of oversized ones.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from kerazoo._checks import check_positive_int
from kerazoo._registry import register_model
from kerazoo.gan import GAN
from kerazoo.models._common import check_shape

__all__ = [
    "EqualizedConv2D",
    "EqualizedDense",
    "PixelNorm",
    "MinibatchStdDev",
    "Fade",
    "NearestUpsampling2D",
    "ProGAN",
    "ProgressiveGrowing",
    "resolutions",
]  # the registry appends `progan`

# Karras et al. 2018: Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8), one critic step per generator step.
_PROGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}}

default_cfgs = {
    "progan": dict(
        task="progressive",
        dataset="digits",
        input_spec=dict(shape=(28, 28, 1), dtype="float32", range=(-1.0, 1.0)),
        normalization="symmetric",
        # For the default `digits` data (about 1,400 images an epoch): 5 phases of 8,000 images
        # (7x7; 14x14 fade-in, stable; 28x28 fade-in, stable) then 28x28 to the end of 40 epochs.
        recipe=dict(
            epochs=40,
            phase_images=8_000,
            loss="wasserstein_gp_drift",
            gp_weight=10.0,
            learning_rate=1e-3,
            d_optimizer=_PROGAN_ADAM,
            g_optimizer=_PROGAN_ADAM,
        ),
    ),
}

_HE_GAIN = math.sqrt(2.0)


# --- the paper's layers ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerazoo")
class EqualizedDense(layers.Layer):
    """A Dense layer with an equalized learning rate: the kernel is drawn from N(0, 1) and multiplied
    at run time by `gain / sqrt(fan_in)` (He's constant), so Adam's updates move every layer at the
    same relative speed (Karras et al. 2018, section 4.1)."""

    def __init__(self, units, gain=_HE_GAIN, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.gain = float(gain)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        return ops.matmul(x, self.kernel * self.scale) + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain}


@keras.saving.register_keras_serializable(package="kerazoo")
class EqualizedConv2D(layers.Layer):
    """A stride-1 "same" Conv2D with an equalized learning rate (see `EqualizedDense`); fan-in is
    `kernel_size**2 * input channels`."""

    def __init__(self, filters, kernel_size, gain=_HE_GAIN, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.gain = float(gain)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(self.kernel_size**2 * channels)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x):
        return ops.conv(x, self.kernel * self.scale, padding="same") + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "gain": self.gain,
        }


@keras.saving.register_keras_serializable(package="kerazoo")
class PixelNorm(layers.Layer):
    """Pixelwise feature normalization: each pixel's feature vector divided by its root mean square,
    `x / sqrt(mean(x^2 over channels) + epsilon)` (Karras et al. 2018, section 4.2)."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kerazoo")
class MinibatchStdDev(layers.Layer):
    """Minibatch standard deviation (Karras et al. 2018, section 3): the standard deviation of each
    feature at each pixel over a group of `group_size` images, averaged into one number per group,
    appended to every image of the group as one constant feature map. A discriminator that sees how
    varied a batch is can tell a collapsed generator's batches from real ones.

    The batch is split as the paper's code does: image `i` belongs to group `i mod (batch/group)`.
    A batch not divisible by `group_size` is one group.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = check_positive_int("group_size", group_size)

    def call(self, x):
        batch, height, width, channels = ops.shape(x)
        group = ops.where(ops.equal(batch % self.group_size, 0), self.group_size, batch)
        y = ops.reshape(ops.cast(x, "float32"), (group, -1, height, width, channels))
        y = ops.sqrt(ops.var(y, axis=0) + 1e-8)  # (batch / group, H, W, C)
        y = ops.mean(y, axis=(1, 2, 3), keepdims=True)  # one figure per group
        y = ops.tile(y, (group, height, width, 1))
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="kerazoo")
class Fade(layers.Layer):
    """`old + alpha * (new - old)`: a new block faded in. `alpha` is a non-trainable weight that the
    training step sets (0: the old path alone, 1: the new block alone)."""

    def build(self, input_shape):
        self.alpha = self.add_weight(
            shape=(), initializer="zeros", trainable=False, aggregation="only_first_replica", name="alpha"
        )

    def call(self, inputs):
        old, new = inputs
        alpha = ops.cast(self.alpha, old.dtype)
        return old + alpha * (new - old)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


# --- resolutions and phases ------------------------------------------------------------------------


def resolutions(image_shape, start_resolution=None) -> tuple:
    """The resolutions a ProGAN grows through for square images of `image_shape`: from
    `start_resolution` (default: the smallest side >= 4 reached by halving the image's side) up to the
    side, doubling. 28x28 -> (7, 14, 28); 32x32 -> (4, 8, 16, 32); 64x64 -> (4, ..., 64).

    Raises:
        ValueError: non-square images, or a start resolution the side is not a power-of-two multiple of.
    """
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    side = image_shape[0]
    if image_shape[1] != side:
        raise ValueError(f"ProGAN makes square images. Received: image_shape={image_shape}")
    valid = [side]
    while valid[-1] % 2 == 0 and valid[-1] // 2 >= 4:
        valid.append(valid[-1] // 2)
    if start_resolution is None:
        start_resolution = valid[-1]
    if start_resolution not in valid:
        raise ValueError(
            f"`start_resolution` must be the image side {side} divided by a power of two, at least 4: "
            f"one of {sorted(valid)}. Received: start_resolution={start_resolution!r}"
        )
    out = [start_resolution]
    while out[-1] < side:
        out.append(out[-1] * 2)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of the schedule: the resolution level trained, whether its block fades in, and the
    number of real images shown before it begins."""

    index: int
    level: int
    resolution: int
    fade: bool
    start: int

    @property
    def label(self) -> str:
        return f"{self.resolution}x{self.resolution}" + (" fade-in" if self.fade else "")


def _schedule(resolutions_, phase_images) -> list:
    """The phases for these resolutions: level 0, then a fade-in and a stable phase per level."""
    levels = [(0, False)] + [(k, fade) for k in range(1, len(resolutions_)) for fade in (True, False)]
    return [Phase(i, k, resolutions_[k], fade, i * phase_images) for i, (k, fade) in enumerate(levels)]


def _channels(resolutions_, width, max_width):
    """Feature maps per level: `width` at the full resolution, doubling per halving, at most `max_width`."""
    top = len(resolutions_) - 1
    return tuple(min(max_width, width * 2 ** (top - k)) for k in range(len(resolutions_)))


# --- the networks ---------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerazoo")
class NearestUpsampling2D(layers.Layer):
    """Nearest-neighbour upsampling by an integer `factor` (each pixel repeated factor x factor), as a
    resize to the static output size: exported to TFLite as RESIZE_NEAREST_NEIGHBOR with known shapes
    (Keras' `UpSampling2D` repeats along dynamic axes, which leaves the converter a convolution of
    unknown height it cannot lower)."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor)

    def call(self, x):
        _, height, width, _ = x.shape
        return ops.image.resize(x, (height * self.factor, width * self.factor), interpolation="nearest")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height * self.factor, width * self.factor, channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _upsample(name):
    return NearestUpsampling2D(2, name=name)


def progan_generators(latent_dim, image_shape, resolutions_, channels, name="generator"):
    """The generator of every phase, as Functional models over shared layers: `(stable, fade)`, where
    `stable[k]` makes images at `resolutions_[k]` and `fade[k]` (k >= 1, None for k = 0) blends
    `stable[k]`'s new block with the upsampled output of level k - 1 through its `Fade` layer.
    `stable[-1]` is named `name`: the full-resolution generator.

    Level 0: pixel-normalized noise -> EqualizedDense to `r0 x r0 x c0` -> conv 3x3. Each further
    level: nearest-neighbour x2 upsampling, two conv 3x3. Every conv: LeakyReLU 0.2, PixelNorm. To
    RGB: a 1x1 conv per level with tanh.
    """
    r0, c0 = resolutions_[0], channels[0]

    def conv(k, j):
        return [
            EqualizedConv2D(channels[k], 3, name=f"{name}_block{k}_conv{j}"),
            layers.LeakyReLU(0.2, name=f"{name}_block{k}_lrelu{j}"),
            PixelNorm(name=f"{name}_block{k}_pixnorm{j}"),
        ]

    stem = [
        PixelNorm(name=f"{name}_noise_pixnorm"),
        EqualizedDense(r0 * r0 * c0, gain=_HE_GAIN / 4, name=f"{name}_block0_dense"),
        layers.Reshape((r0, r0, c0), name=f"{name}_block0_reshape"),
        layers.LeakyReLU(0.2, name=f"{name}_block0_lrelu0"),
        PixelNorm(name=f"{name}_block0_pixnorm0"),
        *conv(0, 1),
    ]
    blocks = [stem] + [
        [_upsample(f"{name}_block{k}_upsample"), *conv(k, 1), *conv(k, 2)]
        for k in range(1, len(resolutions_))
    ]
    to_rgb = [
        EqualizedConv2D(image_shape[2], 1, gain=1.0, name=f"{name}_to_rgb{k}")
        for k in range(len(resolutions_))
    ]
    tanh = layers.Activation("tanh", name=f"{name}_tanh")

    def run(x, sequence):
        for layer in sequence:
            x = layer(x)
        return x

    stable, fade = [], [None]
    for k, r in enumerate(resolutions_):
        top = k == len(resolutions_) - 1
        noise = keras.Input(shape=(latent_dim,), name="noise")
        h = noise
        for level in range(k + 1):
            h = run(h, blocks[level])
        stable.append(keras.Model(noise, tanh(to_rgb[k](h)), name=name if top else f"{name}_{r}x{r}"))
        if k:
            noise = keras.Input(shape=(latent_dim,), name="noise")
            h = noise
            for level in range(k):
                h = run(h, blocks[level])
            old = _upsample(f"{name}_fade{k}_upsample")(tanh(to_rgb[k - 1](h)))
            new = tanh(to_rgb[k](run(h, blocks[k])))
            out = Fade(name=f"{name}_fade{k}")([old, new])
            fade.append(keras.Model(noise, out, name=f"{name}_{r}x{r}_fade"))
    return stable, fade


def progan_discriminators(image_shape, resolutions_, channels, name="discriminator"):
    """The discriminator (critic) of every phase, over shared layers, mirroring `progan_generators`:
    `stable[k]` judges images at `resolutions_[k]`; `fade[k]` blends the new level's block with the
    old level's input path (the image halved by average pooling). `stable[-1]` is named `name`.

    From RGB: a 1x1 conv per level. Each level above 0: two conv 3x3 (the second to the next level's
    width), 2x2 average pooling. Level 0: minibatch standard deviation, conv 3x3, EqualizedDense to
    `c0`, EqualizedDense to one score. LeakyReLU 0.2 after every conv and hidden dense; no
    normalization (the gradient penalty is per image).
    """
    depth = len(resolutions_)
    from_rgb = [
        [
            EqualizedConv2D(channels[k], 1, name=f"{name}_from_rgb{k}"),
            layers.LeakyReLU(0.2, name=f"{name}_from_rgb{k}_lrelu"),
        ]
        for k in range(depth)
    ]
    blocks = [
        [
            MinibatchStdDev(name=f"{name}_block0_stddev"),
            EqualizedConv2D(channels[0], 3, name=f"{name}_block0_conv1"),
            layers.LeakyReLU(0.2, name=f"{name}_block0_lrelu1"),
            layers.Flatten(name=f"{name}_block0_flatten"),
            EqualizedDense(channels[0], name=f"{name}_block0_dense"),
            layers.LeakyReLU(0.2, name=f"{name}_block0_lrelu2"),
            EqualizedDense(1, gain=1.0, name=f"{name}_score"),
        ]
    ] + [
        [
            EqualizedConv2D(channels[k], 3, name=f"{name}_block{k}_conv1"),
            layers.LeakyReLU(0.2, name=f"{name}_block{k}_lrelu1"),
            EqualizedConv2D(channels[k - 1], 3, name=f"{name}_block{k}_conv2"),
            layers.LeakyReLU(0.2, name=f"{name}_block{k}_lrelu2"),
            layers.AveragePooling2D(2, name=f"{name}_block{k}_pool"),
        ]
        for k in range(1, depth)
    ]

    def run(x, sequence):
        for layer in sequence:
            x = layer(x)
        return x

    def trunk(h, k):  # levels k .. 0 from features at level k
        for level in range(k, -1, -1):
            h = run(h, blocks[level])
        return h

    stable, fade = [], [None]
    for k, r in enumerate(resolutions_):
        top = k == depth - 1
        images = keras.Input(shape=(r, r, image_shape[2]), name="images")
        stable.append(
            keras.Model(images, trunk(run(images, from_rgb[k]), k), name=name if top else f"{name}_{r}x{r}")
        )
        if k:
            images = keras.Input(shape=(r, r, image_shape[2]), name="images")
            new = run(run(images, from_rgb[k]), blocks[k])
            old = run(layers.AveragePooling2D(2, name=f"{name}_fade{k}_pool")(images), from_rgb[k - 1])
            h = Fade(name=f"{name}_fade{k}")([old, new])
            fade.append(keras.Model(images, trunk(h, k - 1), name=f"{name}_{r}x{r}_fade"))
    return stable, fade


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


def _reset_optimizer(optimizer) -> None:
    """Zero an optimizer's step count and per-weight state (Adam's moments); keep its learning rate
    and, for a loss-scale optimizer, its loss scale."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    keep = {id(getattr(inner, "_learning_rate", None))}
    for variable in inner.variables:
        if id(variable) not in keep:
            variable.assign(ops.zeros(variable.shape, variable.dtype))


class ProgressiveGrowing(keras.callbacks.Callback):
    """Grows a `ProGAN` during `fit`: before each step, moves it to the phase of the images shown so
    far (a new phase: optimizers reset, the step traced anew). `ProGAN.fit` adds one unless given.

    It also times each phase (`phase_figures()`: images, seconds and images/s per phase, carried
    across a resumed run by `kerazoo.callbacks.BackupAndRestore`) and, with `directory`, writes a grid
    of samples from fixed noise at the end of each phase and of training, upsampled to the full
    size: `phase{N}_{R}x{R}[_fade].png`.

    Args:
        directory: where to write the phase grids, or None.
        num_samples: samples per grid. Defaults to `64`.
        seed: seed of the fixed noise. Defaults to `0`.
    """

    def __init__(self, directory=None, num_samples=64, seed=0):
        super().__init__()
        self.directory = None if directory is None else Path(directory)
        self._num_samples = check_positive_int("num_samples", num_samples)
        self._seed = seed
        self.paths = []
        self._timings = {}  # phase index -> [images, seconds]
        self._mark = None  # (time, images_seen) where the current phase's timing resumed

    def on_train_begin(self, logs=None):
        if not isinstance(self.model, ProGAN):
            raise ValueError(f"ProgressiveGrowing grows a ProGAN. Received: {type(self.model).__name__}")
        if self.model.phase_images is None:
            raise ValueError("Compile the ProGAN first: compile(phase_images=...) sets its schedule.")
        self._mark = None

    def on_train_batch_begin(self, batch, logs=None):
        model = self.model
        shown = int(model.images_seen.numpy())
        if self._mark is None:  # the first step of this fit (after any restore)
            self._mark = (time.perf_counter(), shown)
        before = model.phase
        if model.grow_to(shown):
            self._close(before, shown)
            self._save(before)
            model.make_train_function(force=True)

    def on_train_end(self, logs=None):
        if self._mark is not None:
            self._close(self.model.phase, int(self.model.images_seen.numpy()))
        self._save(self.model.phase)

    def get_state(self) -> dict:
        """The phase timings so far (JSON-ready), the running phase's included."""
        timings = {k: list(v) for k, v in self._timings.items()}
        if self._mark is not None:
            images, seconds = self._segment(int(self.model.images_seen.numpy()))
            done = timings.setdefault(self.model.phase.index, [0, 0.0])
            done[0], done[1] = done[0] + images, done[1] + seconds
        return {"timings": {str(k): v for k, v in timings.items()}}

    def set_state(self, state: dict) -> None:
        """Continue from `get_state()`'s result (the phase timings of a resumed run)."""
        self._timings = {int(k): list(v) for k, v in state.get("timings", {}).items()}

    def phase_figures(self) -> list:
        """Per phase trained: its label, the real images shown, seconds and images per second."""
        phases = {p.index: p for p in self.model.phases}
        return [
            dict(
                phase=index + 1,
                label=phases[index].label,
                images=int(images),
                seconds=round(seconds, 3),
                images_per_second=round(images / max(seconds, 1e-9), 1),
            )
            for index, (images, seconds) in sorted(self._timings.items())
        ]

    def _segment(self, shown):
        started, at = self._mark
        return shown - at, time.perf_counter() - started

    def _close(self, phase, shown):
        images, seconds = self._segment(shown)
        done = self._timings.setdefault(phase.index, [0, 0.0])
        done[0], done[1] = done[0] + images, done[1] + seconds
        self._mark = (time.perf_counter(), shown)

    def _save(self, phase):
        if self.directory is None:
            return
        from kerazoo.callbacks import fixed_inputs
        from kerazoo.plots import save_image_grid

        model = self.model
        current = model.phase
        if phase.index != current.index:  # the phase that just ended
            model._set_phase(phase.index)
        try:
            inputs, rows = fixed_inputs(model.latent_dim, None, self._num_samples, self._seed)
            images = np.asarray(model(inputs, training=False), dtype=np.float32)
        finally:
            model._set_phase(current.index)
        self.directory.mkdir(parents=True, exist_ok=True)
        suffix = "_fade" if phase.fade else ""
        path = self.directory / f"phase{phase.index + 1}_{phase.resolution}x{phase.resolution}{suffix}.png"
        save_image_grid(images, path, rows=rows, value_range=(-1.0, 1.0))
        self.paths.append(path)


@register_model
def progan(
    latent_dim=100,
    image_shape=(28, 28, 1),
    start_resolution=None,
    width=32,
    max_width=256,
    seed=None,
    name="progan",
):
    """ProGAN: generator and critic that grow from a low resolution (7x7 for 28x28 images) to the
    data's, each new block faded in; minibatch stddev, equalized learning rate, pixel norm, WGAN-GP
    with drift.

    Reference: Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
    Variation", ICLR 2018. Default optimizers: Adam(1e-3, beta_1=0, beta_2=0.99) for both.

    Args:
        latent_dim: noise size. Defaults to `100`.
        image_shape: square images whose side halves down to the start resolution. Defaults to
            `(28, 28, 1)`.
        start_resolution: the first phase's resolution; None: the smallest side >= 4 reached by
            halving (7 for 28, 4 for 32 or 64).
        width: feature maps at the full resolution, doubling per halving. Defaults to `32`.
        max_width: the most feature maps at any level. Defaults to `256`.
        seed: noise seed.
        name: model name.

    Returns:
        A `ProGAN` (a `kerazoo.GAN`); compile it with `phase_images` (`kerazoo train` does).
    """
    return ProGAN(latent_dim, image_shape, start_resolution, width, max_width, seed=seed, name=name)
