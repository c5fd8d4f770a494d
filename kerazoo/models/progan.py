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

import keras
from keras import layers, ops

from kerazoo._checks import check_positive_int
from kerazoo._registry import register_model
from kerazoo.models._common import check_shape

__all__ = [
    "EqualizedConv2D",
    "EqualizedDense",
    "PixelNorm",
    "MinibatchStdDev",
    "Fade",
    "NearestUpsampling2D",
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
    same relative speed (Karras et al. 2018, section 4.1).

    `lr_multiplier` slows the layer's learning by that factor (StyleGAN's mapping network uses 0.01,
    Karras et al. 2019): the weights are drawn from N(0, 1 / lr_multiplier^2) and both kernel and bias
    are multiplied by it at run time, so the function is unchanged and Adam's steps shrink.
    `bias_initializer` is the initial value of the effective bias (StyleGAN's affine style maps start
    at 1)."""

    def __init__(self, units, gain=_HE_GAIN, lr_multiplier=1.0, bias_initializer=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.gain = float(gain)
        self.lr_multiplier = float(lr_multiplier)
        if not self.lr_multiplier > 0:
            raise ValueError(f"`lr_multiplier` must be positive. Received: lr_multiplier={lr_multiplier!r}")
        self.bias_initializer = float(bias_initializer)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier
        self.kernel = self.add_weight(
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Constant(self.bias_initializer / self.lr_multiplier),
            name="bias",
        )

    def call(self, x):
        bias = self.bias if self.lr_multiplier == 1.0 else self.bias * self.lr_multiplier
        return ops.matmul(x, self.kernel * self.scale) + bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = {**super().get_config(), "units": self.units, "gain": self.gain}
        if self.lr_multiplier != 1.0 or self.bias_initializer:
            config.update(lr_multiplier=self.lr_multiplier, bias_initializer=self.bias_initializer)
        return config


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
    from kerazoo.trainers.progan import ProGAN

    return ProGAN(latent_dim, image_shape, start_resolution, width, max_width, seed=seed, name=name)
