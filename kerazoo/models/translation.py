"""Image-to-image translation: pix2pix (U-Net + PatchGAN) and SRGAN (super-resolution), trained by
`Translator`, a `kerazoo.GAN` whose generator is conditioned on an input image.

`Translator` reuses `GAN`'s training step (the adversarial losses, the discriminator update with its
penalties, mixed precision, distribution): the generator maps the input image to an output, the
discriminator judges `(output, input)` pairs (pix2pix) or outputs alone (SRGAN), and the generator's
objective adds a reconstruction loss to the adversarial one:

    generator loss = adversarial_weight * adversarial + reconstruction_weight * reconstruction

With `adversarial_weight=0` no discriminator is trained: the generator learns the reconstruction
alone (SRGAN's SRResNet baseline; pix2pix's "L1 only" ablation).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from kerazoo._registry import register_model
from kerazoo.models._common import BatchNormalization, check_positive_int, check_shape

__all__ = ["PixelShuffle", "unet_generator", "patch_discriminator", "pix2pix", "srgan"]

_TRANSLATION = dict(task="translation", normalization="symmetric")
default_cfgs = {
    "pix2pix": dict(
        dataset="synthetic_maps",
        input_spec=dict(shape=(64, 64, 3), dtype="float32", range=(-1.0, 1.0)),
        # Isola et al. 2017: Adam(2e-4, beta_1=0.5) (GAN's defaults), lambda = 100, batch 1 on
        # 256x256 tiles; here batches of 16 64x64 tiles, 10 epochs of the 1,000 synthetic tiles.
        recipe=dict(epochs=10, batch_size=16, reconstruction="l1", reconstruction_weight=100.0),
        **_TRANSLATION,
    ),
    "srgan": dict(
        dataset="digits",
        input_spec=dict(shape=(7, 7, 1), dtype="float32", range=(-1.0, 1.0)),
        # Ledig et al. 2017: pixel MSE + 1e-3 x adversarial; images shrunk 4 times by area averaging.
        recipe=dict(
            epochs=20,
            batch_size=32,
            pairs="lowres:4",
            reconstruction="mse",
            reconstruction_weight=1.0,
            adversarial_weight=1e-3,
            learning_rate=1e-4,
            d_optimizer={"class_name": "kerazoo>Adam", "config": {"beta_1": 0.9}},
            g_optimizer={"class_name": "kerazoo>Adam", "config": {"beta_1": 0.9}},
        ),
        **_TRANSLATION,
    ),
}


@keras.saving.register_keras_serializable(package="kerazoo")
class PixelShuffle(layers.Layer):
    """Sub-pixel upsampling (`depth_to_space`): `(H, W, C * r^2)` -> `(H * r, W * r, C)` (Shi et al.
    2016); TFLite runs it as its own DEPTH_TO_SPACE op."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_positive_int("factor", factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.factor
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def unet_depth(image_shape, depth=None) -> int:
    """How many times pix2pix's U-Net halves `image_shape`: `depth`, or as often as both sides stay
    even, down to 1x1 and at most 8 (256 -> 8, 64 -> 6, 28 -> 2). A clear error when it cannot."""
    h, w = image_shape[:2]
    if depth is None:
        depth = 0
        while depth < 8 and h % 2 ** (depth + 1) == 0 and w % 2 ** (depth + 1) == 0:
            depth += 1
    else:
        check_positive_int("depth", depth)
    if depth < 1 or h % 2**depth or w % 2**depth:
        need = 2 ** max(depth, 1)
        raise ValueError(
            f"pix2pix's U-Net halves the image {max(depth, 1)} time(s): its sides must be multiples of "
            f"{need}. Received: image_shape={tuple(image_shape)}. Resize the images (image_size=) or "
            "pass a smaller depth."
        )
    return depth


def unet_generator(image_shape, source_channels, depth, filters, max_filters, seed=None, name="generator"):
    """pix2pix's U-Net: `depth` 4x4 stride-2 convolutions down (BatchNorm after all but the first,
    LeakyReLU 0.2), as many transposed convolutions up (BatchNorm, ReLU, dropout 0.5 in the three
    deepest), each concatenated with the encoder's map of the same size; tanh output."""
    inputs = keras.Input((*image_shape[:2], source_channels), name="images")
    init = keras.initializers.RandomNormal(0.0, 0.02, seed=seed)
    widths = [min(max_filters, filters * 2**i) for i in range(depth)]
    x, skips = inputs, []
    for i, width in enumerate(widths):
        x = layers.Conv2D(
            width, 4, 2, "same", use_bias=False, kernel_initializer=init, name=f"down{i + 1}_conv"
        )(x)
        if i:
            x = BatchNormalization(name=f"down{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"down{i + 1}_lrelu")(x)
        skips.append(x)
    for i in reversed(range(depth - 1)):
        up = depth - 1 - i
        x = layers.Conv2DTranspose(
            widths[i], 4, 2, "same", use_bias=False, kernel_initializer=init, name=f"up{up}_conv"
        )(x)
        x = BatchNormalization(name=f"up{up}_bn")(x)
        if up <= 3:
            x = layers.Dropout(0.5, seed=seed, name=f"up{up}_dropout")(x)
        x = layers.ReLU(name=f"up{up}_relu")(x)
        x = layers.Concatenate(name=f"up{up}_skip")([x, skips[i]])
    outputs = layers.Conv2DTranspose(
        image_shape[-1], 4, 2, "same", activation="tanh", kernel_initializer=init, name="output"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def patch_discriminator(
    image_shape, source_channels, depth, filters, max_filters, seed=None, name="discriminator"
):
    """pix2pix's PatchGAN: the output and the input image concatenated, `min(3, depth)` 4x4 stride-2
    convolutions and one stride-1 (BatchNorm after all but the first, LeakyReLU 0.2), then a 4x4
    convolution to one logit per patch (70x70 patches on 256x256 images, 34x34 here on 64x64)."""
    images = keras.Input(image_shape, name="images")
    source = keras.Input((*image_shape[:2], source_channels), name="inputs")
    init = keras.initializers.RandomNormal(0.0, 0.02, seed=seed)
    x = layers.Concatenate(name="pair")([images, source])
    downs = min(3, depth)
    for i in range(downs + 1):
        stride = 2 if i < downs else 1
        width = min(max_filters, filters * 2**i)
        x = layers.Conv2D(
            width, 4, stride, "same", use_bias=not i, kernel_initializer=init, name=f"block{i + 1}_conv"
        )(x)
        if i:
            x = BatchNormalization(name=f"block{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"block{i + 1}_lrelu")(x)
    logits = layers.Conv2D(1, 4, 1, "same", kernel_initializer=init, name="patch_logits")(x)
    return keras.Model([images, source], logits, name=name)


@register_model
def pix2pix(
    image_shape=(64, 64, 3),
    source_channels=None,
    depth=None,
    filters=32,
    max_filters=256,
    seed=None,
    name="pix2pix",
):
    """pix2pix: a U-Net generator and a PatchGAN discriminator on (output, input) pairs, trained on
    adversarial + 100 x L1 (a `Translator`).

    Reference: Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
    CVPR 2017. The paper's widths are `filters=64, max_filters=512` on 256x256 images; the defaults
    here are halved for 64x64 tiles on a CPU.

    Args:
        image_shape: the target (and input) images' shape. Defaults to `(64, 64, 3)`.
        source_channels: channels of the input images; None: those of `image_shape`.
        depth: the U-Net's halvings; None: as many as the sides allow, down to 1x1, at most 8.
        filters: feature maps of the first layer, doubling per halving. Defaults to `32`.
        max_filters: the most feature maps of any layer. Defaults to `256`.
        seed: initializer and dropout seed.
        name: model name.

    Returns:
        A `Translator`.
    """
    image_shape = check_shape("image_shape", image_shape, 3)
    source_channels = (
        image_shape[-1] if source_channels is None else check_positive_int("source_channels", source_channels)
    )
    check_positive_int("filters", filters)
    check_positive_int("max_filters", max_filters)
    depth = unet_depth(image_shape, depth)
    args = (image_shape, source_channels, depth, filters, max_filters, seed)
    from kerazoo.trainers.translation import Translator

    return Translator(unet_generator(*args), patch_discriminator(*args), seed=seed, name=name)


# --- SRGAN ----------------------------------------------------------------------------------------


def sr_generator(source_shape, scale, filters, blocks, name="generator"):
    """SRGAN's generator (SRResNet): a 9x9 convolution, `blocks` residual blocks (conv-BN-PReLU-conv-BN
    + skip), a long skip, log2(scale) sub-pixel upsamplings by 2 (conv to 4x the maps, pixel shuffle,
    PReLU), and a 9x9 convolution to the image (tanh)."""
    inputs = keras.Input(source_shape, name="images")
    x = layers.Conv2D(filters, 9, padding="same", name="stem_conv")(inputs)
    x = stem = layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    for b in range(1, blocks + 1):
        y = layers.Conv2D(filters, 3, padding="same", name=f"res{b}_conv1")(x)
        y = BatchNormalization(name=f"res{b}_bn1")(y)
        y = layers.PReLU(shared_axes=[1, 2], name=f"res{b}_prelu")(y)
        y = layers.Conv2D(filters, 3, padding="same", name=f"res{b}_conv2")(y)
        y = BatchNormalization(name=f"res{b}_bn2")(y)
        x = layers.Add(name=f"res{b}_add")([x, y])
    x = layers.Conv2D(filters, 3, padding="same", name="trunk_conv")(x)
    x = BatchNormalization(name="trunk_bn")(x)
    x = layers.Add(name="trunk_add")([stem, x])
    for u in range(1, int(math.log2(scale)) + 1):
        x = layers.Conv2D(filters * 4, 3, padding="same", name=f"up{u}_conv")(x)
        x = PixelShuffle(2, name=f"up{u}_shuffle")(x)
        x = layers.PReLU(shared_axes=[1, 2], name=f"up{u}_prelu")(x)
    outputs = layers.Conv2D(source_shape[-1], 9, padding="same", activation="tanh", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def sr_discriminator(image_shape, filters, name="discriminator"):
    """SRGAN's discriminator on high-resolution images: 3x3 convolutions, alternately stride 1 and 2,
    widths doubling every two (BatchNorm after the first, LeakyReLU 0.2), then Dense(8 x filters),
    LeakyReLU and one logit."""
    images = keras.Input(image_shape, name="images")
    x = images
    halvings = min(3, int(math.log2(min(image_shape[:2]))) - 1)
    for i in range(2 * halvings + 1):
        width = filters * 2 ** ((i + 1) // 2)
        x = layers.Conv2D(width, 3, 1 + (i % 2 == 1), "same", name=f"block{i + 1}_conv")(x)
        if i:
            x = BatchNormalization(name=f"block{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"block{i + 1}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(filters * 8, name="dense")(x)
    x = layers.LeakyReLU(0.2, name="dense_lrelu")(x)
    return keras.Model(images, layers.Dense(1, name="logits")(x), name=name)


@register_model
def srgan(image_shape=(28, 28, 1), scale=4, filters=64, blocks=8, d_filters=32, seed=None, name="srgan"):
    """SRGAN: a residual generator with sub-pixel upsampling (SRResNet) from images `scale` times
    smaller, a discriminator on the high-resolution images, trained on pixel MSE + 1e-3 x adversarial
    (a `Translator`; `adversarial_weight=0` trains SRResNet alone).

    Reference: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
    Adversarial Network", CVPR 2017 (16 residual blocks of 64 maps; 8 here, for a CPU).

    Args:
        image_shape: the high-resolution images' shape. Defaults to `(28, 28, 1)`.
        scale: the upscaling factor, a power of 2 that divides both sides. Defaults to `4`.
        filters: the generator's feature maps. Defaults to `64`.
        blocks: residual blocks. Defaults to `8`.
        d_filters: the discriminator's first feature maps. Defaults to `32`.
        seed: the training step's seed.
        name: model name.

    Returns:
        A `Translator`.
    """
    image_shape = check_shape("image_shape", image_shape, 3)
    for arg, value in (("filters", filters), ("blocks", blocks), ("d_filters", d_filters)):
        check_positive_int(arg, value)
    check_positive_int("scale", scale)
    h, w, c = image_shape
    if scale < 2 or scale & (scale - 1) or h % scale or w % scale:
        raise ValueError(
            f"`scale` must be a power of 2 (2, 4, 8) that divides the image sides {h}x{w}. Received: scale={scale}"
        )
    generator = sr_generator((h // scale, w // scale, c), scale, filters, blocks)
    from kerazoo.trainers.translation import Translator

    return Translator(generator, sr_discriminator(image_shape, d_filters), seed=seed, name=name)
