"""StyleGAN: a mapping network, styles per layer, style mixing and truncation (StyleGAN2's networks).

References: Karras et al., "A Style-Based Generator Architecture for Generative Adversarial
Networks", CVPR 2019 (StyleGAN); Karras et al., "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020 (StyleGAN2, whose networks these follow where they are simpler: weight
demodulation instead of AdaIN, skip toRGB outputs and a residual discriminator, no progressive
growing).

Three networks:
- mapping (`stylegan_mapping`): noise z -> pixel norm -> `mapping_layers` equalized dense layers
  (learning rate x0.01) -> w; its `Truncation` layer tracks the average w during training and, at
  sampling time, moves w towards it: `w_avg + psi * (w - w_avg)` (psi is the `truncation` input).
- synthesis (`stylegan_synthesis`): `styles` `(batch, num_ws, w_dim)`, one w per layer -> a learned
  constant at the lowest resolution -> per resolution two `StyledConv`s (the first upsampling: a
  modulated 3x3 convolution with weight demodulation, per-pixel noise with a learned strength, bias,
  leaky ReLU) and a `ToRGB` (modulated 1x1, no demodulation), summed into the upsampled RGB image
  of the resolution below (skip outputs). Resolutions as ProGAN's (`kerazoo.models.progan.resolutions`):
  7 -> 14 -> 28 for MNIST-sized images, 4 -> ... for any power of two.
- discriminator (`stylegan_discriminator`): residual blocks of equalized convolutions, minibatch
  standard deviation, two dense layers; logits.

`stylegan` returns a `kerazoo.trainers.stylegan.StyleGAN`, whose generator is
`[noise, truncation] -> mapping -> w repeated per layer -> synthesis -> images` (no tanh: the
paper's linear output, clipped to [-1, 1] when converted to pixels).

Noise inputs are random while training; at sampling time each layer adds its own fixed noise image
(drawn once, saved with the weights), so a generator is a deterministic function of z and psi
(exports are verifiable); `random_noise(synthesis)` draws fresh noise in a block (the pictures of
noise-only variation).
"""

from __future__ import annotations

import contextlib
import math

import keras
from keras import layers, ops

from kerazoo._checks import check_number, check_positive_int
from kerazoo._registry import register_model
from kerazoo.models._common import check_shape
from kerazoo.models.progan import (
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    NearestUpsampling2D,
    PixelNorm,
    _channels,
    resolutions,
)

__all__ = [
    "ConstantInput",
    "MappedInput",
    "StyledConv",
    "ToRGB",
    "Truncation",
    "BilinearUpsampling2D",
    "stylegan_mapping",
    "stylegan_synthesis",
    "stylegan_discriminator",
    "stylegan_generator",
    "num_styles",
    "random_noise",
    "check_truncation",
]  # the registry appends `stylegan`

# Karras et al. 2020: Adam(beta_1=0, beta_2=0.99, epsilon=1e-8) for both networks (at 2e-3); the
# generator's moving average (here Keras' `use_ema`) is what is saved and exported.
_STYLEGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}}

default_cfgs = {
    "stylegan": dict(
        task="style",
        dataset="digits",
        input_spec=dict(shape=(28, 28, 1), dtype="float32", range=(-1.0, 1.0)),
        normalization="symmetric",
        # The paper's Adam(2e-3) for both collapsed to one or two digits within 400 MNIST steps here;
        # the generator at 5e-4 and the discriminator at 1e-4 kept D's outputs balanced longest in
        # the probes (benchmarks/stylegan.py --sweep; docs/benchmarks/stylegan.md).
        recipe=dict(
            epochs=60,
            loss="non_saturating",
            r1_gamma=0.1,
            penalty_every=16,
            learning_rate=5e-4,
            d_optimizer={
                "class_name": "kerazoo>Adam",
                "config": {**_STYLEGAN_ADAM["config"], "learning_rate": 1e-4},
            },
            g_optimizer={
                "class_name": "kerazoo>Adam",
                "config": {**_STYLEGAN_ADAM["config"], "use_ema": True, "ema_momentum": 0.995},
            },
        ),
    ),
}

_SQRT2 = math.sqrt(2.0)


# --- layers ----------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerazoo")
class BilinearUpsampling2D(NearestUpsampling2D):
    """Bilinear upsampling by an integer `factor`, as a resize to the static output size (exported to
    TFLite as RESIZE_BILINEAR; see `NearestUpsampling2D`). StyleGAN2 upsamples with a [1, 3, 3, 1]
    low-pass filter; bilinear interpolation is the same kind of smooth doubling."""

    def call(self, x):
        _, height, width, _ = x.shape
        return ops.image.resize(x, (height * self.factor, width * self.factor), interpolation="bilinear")


@keras.saving.register_keras_serializable(package="kerazoo")
class ConstantInput(layers.Layer):
    """The synthesis network's learned input: one `(size, size, channels)` tensor drawn from N(0, 1),
    repeated for every row of the batch it is called with (any tensor whose first axis is the
    batch)."""

    def __init__(self, size, channels, **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int("size", size)
        self.channels = check_positive_int("channels", channels)

    def build(self, input_shape):
        self.constant = self.add_weight(
            shape=(1, self.size, self.size, self.channels),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            name="constant",
        )

    def call(self, x):
        return ops.tile(ops.cast(self.constant, self.compute_dtype), (ops.shape(x)[0], 1, 1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels}


@keras.saving.register_keras_serializable(package="kerazoo")
class MappedInput(ConstantInput):
    """A w-driven synthesis input: the learned constant plus an equalized dense map of the first w
    of the styles to the whole `(size, size, channels)` input, so that the first layer already varies
    with z across the whole map (as the DCGAN generator's first layer does) instead of only through
    per-channel scales. Called on `styles` `(batch, num_ws, w_dim)`. Not in the paper (StyleGAN2
    starts from the constant alone; StyleGAN3's input is also driven by w)."""

    def build(self, input_shape):
        super().build(input_shape)
        self.dense = EqualizedDense(self.size * self.size * self.channels, gain=1.0, name="dense")
        self.dense.build((None, input_shape[-1]))

    def call(self, styles):
        y = ops.reshape(self.dense(styles[:, 0]), (-1, self.size, self.size, self.channels))
        return y + ops.cast(self.constant, y.dtype)


SYNTHESIS_INPUTS = {"constant": ConstantInput, "mapped": MappedInput}


def _affine_and_kernel(layer, w_dim, channels, kernel_size, filters):
    """A modulated layer's weights: the affine map from w to one scale per input channel (equalized,
    bias initialised to 1: the styles start as identity), and the equalized kernel."""
    layer.affine = EqualizedDense(channels, gain=1.0, bias_initializer=1.0, name="affine")
    layer.affine.build((None, w_dim))
    layer.kernel = layer.add_weight(
        shape=(kernel_size, kernel_size, channels, filters),
        initializer=keras.initializers.RandomNormal(0.0, 1.0),
        name="kernel",
    )
    layer.kernel_scale = 1.0 / math.sqrt(kernel_size * kernel_size * channels)
    layer.bias = layer.add_weight(shape=(filters,), initializer="zeros", name="bias")


def _modulated_conv(x, styles, kernel, demodulate):
    """StyleGAN2's modulated convolution, computed as its paper's Figure 2c says it may be: scale the
    input's channels by the styles, convolve with the shared kernel, and (demodulation) scale each
    output channel by `1 / sqrt(sum over taps and input channels of (s_i * k)^2)`, which restores unit
    expected variance for unit-variance inputs. No grouped convolution is needed (TFLite: MUL,
    CONV_2D)."""
    y = ops.conv(x * styles[:, None, None, :], kernel, padding="same")
    if not demodulate:
        return y
    # sum_{taps, in} (s_in * k)^2 = (s^2) @ (sum over taps of k^2): (batch, filters), in float32.
    squared = ops.sum(ops.square(ops.cast(kernel, "float32")), axis=(0, 1))
    demod = ops.rsqrt(ops.matmul(ops.square(ops.cast(styles, "float32")), squared) + 1e-8)
    return y * ops.cast(demod, y.dtype)[:, None, None, :]


@keras.saving.register_keras_serializable(package="kerazoo")
class StyledConv(layers.Layer):
    """One synthesis layer: (optional bilinear x2 upsampling), a modulated `kernel_size` convolution
    with weight demodulation driven by the w at `style_index` of the styles, per-pixel noise times a
    learned strength (initially 0), bias, leaky ReLU 0.2 times sqrt(2).

    Called on `[x, styles]`, `styles` `(batch, num_ws, w_dim)`. The noise is a fresh N(0, 1) image
    per sample while training (or inside `random_noise`), else this layer's fixed noise image.
    """

    def __init__(self, filters, kernel_size=3, style_index=0, upsample=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.style_index = int(style_index)
        self.upsample = bool(upsample)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.random_noise = False  # set by `random_noise`: fresh noise outside training too

    def build(self, input_shape):
        x_shape, styles_shape = input_shape
        height, width, channels = x_shape[1:]
        if self.upsample:
            height, width = 2 * height, 2 * width
        _affine_and_kernel(self, styles_shape[-1], channels, self.kernel_size, self.filters)
        self.noise_strength = self.add_weight(shape=(), initializer="zeros", name="noise_strength")
        self.noise_image = self.add_weight(
            shape=(1, height, width, 1),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
            trainable=False,
            name="noise_image",
        )

    def call(self, inputs, training=None):
        x, styles = inputs
        if self.upsample:
            _, height, width, _ = x.shape
            x = ops.image.resize(x, (2 * height, 2 * width), interpolation="bilinear")
        s = self.affine(styles[:, self.style_index])
        y = _modulated_conv(x, s, self.kernel * self.kernel_scale, demodulate=True)
        if training or self.random_noise:
            shape = (ops.shape(y)[0], y.shape[1], y.shape[2], 1)
            noise = keras.random.normal(shape, seed=self.seed_generator, dtype=y.dtype)
        else:
            noise = ops.cast(self.noise_image, y.dtype)
        y = y + noise * ops.cast(self.noise_strength, y.dtype) + self.bias
        return ops.leaky_relu(y, 0.2) * _SQRT2

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        factor = 2 if self.upsample else 1
        return (batch, height * factor, width * factor, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "style_index": self.style_index,
            "upsample": self.upsample,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="kerazoo")
class ToRGB(layers.Layer):
    """A modulated 1x1 convolution to `channels` image channels, no demodulation, plus bias: one
    resolution's contribution to the image (StyleGAN2's skip generator)."""

    def __init__(self, channels, style_index=0, **kwargs):
        super().__init__(**kwargs)
        self.channels = check_positive_int("channels", channels)
        self.style_index = int(style_index)

    def build(self, input_shape):
        x_shape, styles_shape = input_shape
        _affine_and_kernel(self, styles_shape[-1], x_shape[-1], 1, self.channels)

    def call(self, inputs):
        x, styles = inputs
        s = self.affine(styles[:, self.style_index])
        return _modulated_conv(x, s, self.kernel * self.kernel_scale, demodulate=False) + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "style_index": self.style_index}


def check_truncation(psi, error=ValueError) -> float:
    """`psi` as a float if it is a number in [-1, 1] (1: no truncation, 0: the average w, negative:
    the opposite side of the average); `error` with one line otherwise."""
    return check_number("truncation", psi, -1.0, 1.0, error=error)


@keras.saving.register_keras_serializable(package="kerazoo")
class Truncation(layers.Layer):
    """The truncation trick, and the average w it needs.

    Called on `[w, psi]` (`psi` `(batch,)`). While training it returns `w` unchanged (psi is
    ignored) and moves its tracked average towards the batch mean: `w_avg <- beta * w_avg + (1 - beta)
    * mean(w)` (StyleGAN2's `w_avg_beta`, 0.995). Otherwise it returns `w_avg + psi * (w - w_avg)`.
    """

    def __init__(self, beta=0.995, **kwargs):
        super().__init__(**kwargs)
        self.beta = check_number("beta", beta, 0.0, 1.0)

    def build(self, input_shape):
        self.w_avg = self.add_weight(
            shape=(input_shape[0][-1],),
            initializer="zeros",
            trainable=False,
            autocast=False,
            aggregation="mean",
            name="w_avg",
        )

    def call(self, inputs, training=None):
        w, psi = inputs
        if training:
            mean = ops.mean(ops.cast(w, "float32"), axis=0)
            self.w_avg.assign(self.beta * self.w_avg + (1.0 - self.beta) * mean)
            return w
        avg = ops.cast(self.w_avg, w.dtype)
        return avg + ops.cast(psi, w.dtype)[:, None] * (w - avg)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@contextlib.contextmanager
def random_noise(model):
    """Within the block every `StyledConv` of `model` (a synthesis network, or a generator holding
    one) draws fresh noise at sampling time too, instead of its fixed noise image: the same w with
    different noise shows what the noise inputs control (call the model eagerly inside the block)."""
    convs = [layer for layer in model._flatten_layers() if isinstance(layer, StyledConv)]
    for layer in convs:
        layer.random_noise = True
    try:
        yield model
    finally:
        for layer in convs:
            layer.random_noise = False


# --- networks --------------------------------------------------------------------------------------


def num_styles(image_shape) -> int:
    """How many w's the synthesis network for `image_shape` takes: two per resolution (the lowest
    resolution's convolution and toRGB; above it two convolutions, the toRGB sharing the next
    block's first w, as in StyleGAN2). 28x28 -> 6, 32x32 -> 8."""
    return 2 * len(resolutions(image_shape))


def stylegan_mapping(
    latent_dim=128, w_dim=128, mapping_layers=8, lr_multiplier=0.01, w_avg_beta=0.995, name="mapping"
):
    """The mapping network: `[noise (batch, latent_dim), truncation (batch,)]` -> w `(batch, w_dim)`.

    Pixel normalisation of z, `mapping_layers` equalized dense layers with leaky ReLU (learning rate
    times `lr_multiplier`), then `Truncation`, which tracks the average w while training.
    """
    check_positive_int("latent_dim", latent_dim)
    check_positive_int("w_dim", w_dim)
    check_positive_int("mapping_layers", mapping_layers)
    noise = keras.Input(shape=(latent_dim,), name="noise")
    psi = keras.Input(shape=(), name="truncation")
    x = PixelNorm(name=f"{name}_pixel_norm")(noise)
    for i in range(mapping_layers):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, name=f"{name}_dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_lrelu{i}")(x)
    w = Truncation(w_avg_beta, name=f"{name}_truncation")([x, psi])
    return keras.Model([noise, psi], w, name=name)


def stylegan_synthesis(
    image_shape=(28, 28, 1),
    w_dim=128,
    width=32,
    max_width=256,
    seed=None,
    synthesis_input="constant",
    name="synthesis",
):
    """The synthesis network: `styles` `(batch, num_styles(image_shape), w_dim)` -> images.

    From a learned constant at the lowest resolution (`synthesis_input="constant"`, the paper's;
    `"mapped"`: the constant plus a dense map of the first w, `MappedInput`), `StyledConv` layers (the first of each higher
    resolution upsampling) and a `ToRGB` per resolution summed into the bilinearly upsampled image
    below. `width` feature maps at the full resolution, doubling per halving, at most `max_width`.
    """
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    check_positive_int("w_dim", w_dim)
    check_positive_int("width", width)
    check_positive_int("max_width", max_width)
    if synthesis_input not in SYNTHESIS_INPUTS:
        raise ValueError(
            f"synthesis_input takes one of {sorted(SYNTHESIS_INPUTS)}. Received: {synthesis_input!r}"
        )
    sizes = resolutions(image_shape)
    channels = _channels(sizes, width, max_width)
    count = 2 * len(sizes)
    styles = keras.Input(shape=(count, w_dim), name="styles")

    def noise_seed(i):
        return None if seed is None else seed + 1000 + i

    x = SYNTHESIS_INPUTS[synthesis_input](sizes[0], channels[0], name=f"{name}_{synthesis_input}")(styles)
    x = StyledConv(channels[0], 3, 0, seed=noise_seed(0), name=f"{name}_{sizes[0]}_conv")([x, styles])
    image = ToRGB(image_shape[2], 1, name=f"{name}_{sizes[0]}_torgb")([x, styles])
    for k in range(1, len(sizes)):
        r = sizes[k]
        x = StyledConv(
            channels[k], 3, 2 * k - 1, upsample=True, seed=noise_seed(2 * k - 1), name=f"{name}_{r}_conv_up"
        )([x, styles])
        x = StyledConv(channels[k], 3, 2 * k, seed=noise_seed(2 * k), name=f"{name}_{r}_conv")([x, styles])
        rgb = ToRGB(image_shape[2], 2 * k + 1, name=f"{name}_{r}_torgb")([x, styles])
        image = layers.Add(name=f"{name}_{r}_skip")(
            [BilinearUpsampling2D(2, name=f"{name}_{r}_rgb_up")(image), rgb]
        )
    return keras.Model(styles, image, name=name)


def stylegan_generator(mapping, synthesis, name="generator"):
    """The generator: `[noise, truncation]` -> `mapping` -> w repeated once per synthesis layer ->
    `synthesis` -> images. Both networks are used as they are (their weights are shared)."""
    count = int(synthesis.inputs[0].shape[1])
    noise = keras.Input(shape=mapping.inputs[0].shape[1:], name="noise")
    psi = keras.Input(shape=(), name="truncation")
    w = mapping([noise, psi])
    styles = layers.RepeatVector(count, name=f"{name}_broadcast")(w)
    return keras.Model([noise, psi], synthesis(styles), name=name)


def stylegan_discriminator(
    image_shape=(28, 28, 1), width=32, max_width=256, mbstd_group_size=4, name="discriminator"
):
    """StyleGAN2's residual discriminator: from RGB (1x1), per resolution above the lowest two
    equalized 3x3 convolutions and 2x2 average pooling beside a pooled 1x1 skip, summed and scaled by
    1/sqrt(2); then minibatch standard deviation over groups of `mbstd_group_size` images, a 3x3
    convolution, two dense layers -> one logit.
    """
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    sizes = resolutions(image_shape)
    channels = _channels(sizes, width, max_width)
    images = keras.Input(shape=image_shape, name="images")
    top = len(sizes) - 1
    x = EqualizedConv2D(channels[top], 1, name=f"{name}_from_rgb")(images)
    x = layers.LeakyReLU(0.2, name=f"{name}_from_rgb_lrelu")(x)
    for k in range(top, 0, -1):
        r = sizes[k]
        y = EqualizedConv2D(channels[k], 3, name=f"{name}_{r}_conv1")(x)
        y = layers.LeakyReLU(0.2, name=f"{name}_{r}_lrelu1")(y)
        y = EqualizedConv2D(channels[k - 1], 3, name=f"{name}_{r}_conv2")(y)
        y = layers.LeakyReLU(0.2, name=f"{name}_{r}_lrelu2")(y)
        y = layers.AveragePooling2D(2, name=f"{name}_{r}_pool")(y)
        skip = layers.AveragePooling2D(2, name=f"{name}_{r}_skip_pool")(x)
        skip = EqualizedConv2D(channels[k - 1], 1, gain=1.0, name=f"{name}_{r}_skip")(skip)
        x = layers.Add(name=f"{name}_{r}_add")([y, skip])
        x = layers.Rescaling(1.0 / _SQRT2, name=f"{name}_{r}_scale")(x)
    x = MinibatchStdDev(mbstd_group_size, name=f"{name}_stddev")(x)
    x = EqualizedConv2D(channels[0], 3, name=f"{name}_conv")(x)
    x = layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = EqualizedDense(channels[0], name=f"{name}_dense")(x)
    x = layers.LeakyReLU(0.2, name=f"{name}_dense_lrelu")(x)
    logits = EqualizedDense(1, gain=1.0, name=f"{name}_logits")(x)
    return keras.Model(images, logits, name=name)


@register_model
def stylegan(
    latent_dim=128,
    w_dim=128,
    mapping_layers=8,
    image_shape=(28, 28, 1),
    width=32,
    max_width=256,
    mbstd_group_size=4,
    seed=None,
    synthesis_input="constant",
    name="stylegan",
):
    """StyleGAN with StyleGAN2's networks: a mapping network, styles per layer, mixing, truncation.

    Mapping network to w, modulated convolutions with weight demodulation, noise inputs, skip toRGB
    outputs, residual discriminator; style mixing, lazy R1, the truncation trick.

    Reference: Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020.
    Default optimizers: Adam(beta_1=0, beta_2=0.99) as in the paper, at 5e-4 for the generator and
    1e-4 for the discriminator (the paper's 2e-3 for both collapsed on MNIST here); the generator's
    moving average (`use_ema`, momentum 0.995) is saved and exported.

    Args:
        latent_dim: size of z. Defaults to `128`.
        w_dim: size of w (and of each layer's style input). Defaults to `128`.
        mapping_layers: dense layers of the mapping network. Defaults to `8` (the paper's).
        image_shape: square images whose side halves down to at least 4 (28, 32, 64, ...). Defaults
            to `(28, 28, 1)`.
        width: feature maps at the full resolution, doubling per halving. Defaults to `32`.
        max_width: the most feature maps at any resolution. Defaults to `256`.
        mbstd_group_size: images per group of the discriminator's minibatch standard deviation.
            Defaults to `4`.
        seed: the training noise's seed (and the fixed noise images').
        synthesis_input: `"constant"` (the paper's learned 4x4 / 7x7 constant) or `"mapped"` (that
            constant plus a dense map of the first w: `MappedInput`). Defaults to `"constant"`.
        name: model name.

    Returns:
        A `kerazoo.trainers.stylegan.StyleGAN` (a `kerazoo.GAN`).
    """
    from kerazoo.trainers.stylegan import StyleGAN

    image_shape = check_shape("image_shape", image_shape, ndim=3)
    try:
        resolutions(image_shape)
    except ValueError as e:
        raise ValueError(
            f"StyleGAN makes square images whose side halves to at least 4 (28x28, 32x32, 64x64, ...). {e}"
        ) from None
    mapping = stylegan_mapping(latent_dim, w_dim, mapping_layers, name=f"{name}_mapping")
    synthesis = stylegan_synthesis(
        image_shape,
        w_dim,
        width,
        max_width,
        seed=seed,
        synthesis_input=synthesis_input,
        name=f"{name}_synthesis",
    )
    discriminator = stylegan_discriminator(
        image_shape, width, max_width, mbstd_group_size, name=f"{name}_discriminator"
    )
    return StyleGAN(mapping, synthesis, discriminator, seed=seed, name=name)
