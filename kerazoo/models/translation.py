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
from keras import layers, ops

from kerazoo._checks import check_choice, check_number
from kerazoo._registry import register_model
from kerazoo.gan import GAN, _float32, scale_for_replicas
from kerazoo.models._common import BatchNormalization, check_positive_int, check_shape

__all__ = ["Translator", "PixelShuffle", "unet_generator", "patch_discriminator", "pix2pix", "srgan"]

RECONSTRUCTIONS = ("l1", "mse", "perceptual")

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


@keras.saving.register_keras_serializable(package="kerazoo")
class Translator(GAN):
    """An image-to-image GAN trained with plain `fit` on `(input, target)` batches in [-1, 1].

    Example:
        ```python
        model = kerazoo.build("pix2pix")
        model.compile()  # Adam(2e-4, beta_1=0.5) for both, non-saturating loss, 100 x L1
        model.fit(kerazoo.make_dataset("synthetic_maps", "train", 16, normalization="symmetric"), epochs=5)
        aerial = model.generator(map_tiles)
        ```

    One training step is `GAN`'s: update the discriminator on (target, input) and (output, input)
    pairs, then the generator through the updated discriminator on the same outputs, its loss
    `adversarial_weight * adversarial + reconstruction_weight * reconstruction(output, target)`.
    With `adversarial_weight=0` only the generator is trained, on the reconstruction alone.

    Args:
        generator: Functional model, input images -> output images.
        discriminator: Functional model, `[images, inputs]` (conditional, pix2pix) or images alone
            (SRGAN) -> logits of any shape (a PatchGAN's map of patch logits; each counts once).
        seed: seeds the dropout-free randomness of the step (gradient-penalty mixing).

    Metrics: `d_loss`, `g_loss` (adversarial part), `d_real`, `d_fake` as `GAN`'s, plus
    `reconstruction` (the L1 or MSE on the [-1, 1] scale) and `psnr` (dB, peak-to-peak 2); validation
    reports `reconstruction` and `psnr`.
    """

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        keras.Model.__init__(self, **kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise ValueError(
                "Translator needs two keras.Model instances. Received: "
                f"generator={type(generator).__name__}, discriminator={type(discriminator).__name__}"
            )
        if len(generator.inputs) != 1 or len(discriminator.inputs) not in (1, 2):
            raise ValueError(
                "A translator's generator takes one input image; its discriminator takes images, or "
                f"[images, inputs]. Received: {len(generator.inputs)} and {len(discriminator.inputs)} inputs."
            )
        self.generator, self.discriminator = generator, discriminator
        self.source_shape = tuple(int(d) for d in generator.inputs[0].shape[1:])
        self.image_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])
        self.conditional_discriminator = len(discriminator.inputs) == 2
        d_shapes = [tuple(int(d) for d in t.shape[1:]) for t in discriminator.inputs]
        expected = [self.image_shape, self.source_shape][: len(d_shapes)]
        if d_shapes != expected:
            raise ValueError(
                f"The discriminator takes {d_shapes} but the generator maps {self.source_shape} to "
                f"{self.image_shape}: it must take the outputs{' and the inputs' * (len(d_shapes) == 2)}."
            )
        self.latent_dim = None
        self.num_classes = None
        self._init_training_state(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.psnr_tracker = keras.metrics.Mean(name="psnr")

    @property
    def metrics(self):
        own = [self.reconstruction_tracker, self.psnr_tracker]
        if getattr(self, "adversarial_weight", 1.0) == 0:
            return own
        return super().metrics + own

    def compile(
        self,
        *args,
        reconstruction="l1",
        reconstruction_weight=100.0,
        adversarial_weight=1.0,
        feature_model=None,
        **kwargs,
    ):
        """`GAN.compile`'s arguments, plus:

        Args:
            reconstruction: `"l1"` (pix2pix), `"mse"` (SRResNet's pixel loss) between output and
                target, or `"perceptual"`: the pixel MSE plus the MSE between the feature maps of
                `feature_model`'s last convolution for output and target (SRGAN's content loss, with
                a classifier trained on the same data in place of VGG). Defaults to `"l1"`.
            reconstruction_weight: its weight (pix2pix's lambda). Defaults to `100.0`.
            adversarial_weight: the adversarial loss's weight; `0` trains the generator on the
                reconstruction alone (no discriminator). Defaults to `1.0` (SRGAN: `1e-3`).
            feature_model: for `"perceptual"`, a classifier's run directory or `.keras` file (e.g. the
                zoo's `cnn` trained on the same images, `runs/cnn`); it reads images in [0, 1].
        """
        self.reconstruction = check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
        self.reconstruction_weight = check_number("reconstruction_weight", reconstruction_weight)
        self.adversarial_weight = check_number("adversarial_weight", adversarial_weight)
        self.feature_model = None if feature_model is None else str(feature_model)
        self._features = None
        if reconstruction == "perceptual":
            self._features = perceptual_features(feature_model, self.image_shape)
        super().compile(*args, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            config.update(
                reconstruction=self.reconstruction,
                reconstruction_weight=self.reconstruction_weight,
                adversarial_weight=self.adversarial_weight,
                feature_model=self.feature_model,
            )
        return config

    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(
                "A translator trains on (input, target) image batches: make the dataset with "
                "pairs='edges' or 'lowres:K', or use a paired dataset (synthetic_maps, pix2pix_folder)."
            )
        source, target = data
        for what, tensor, shape in (
            ("Inputs", source, self.source_shape),
            ("Targets", target, self.image_shape),
        ):
            if tuple(tensor.shape[1:]) != shape:
                raise ValueError(
                    f"{what} of shape {tuple(tensor.shape[1:])} given to a translator from "
                    f"{self.source_shape} to {self.image_shape}. Build it for this data's shapes."
                )
        return source, target

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _generate(self, generator, labels, batch, training=True):
        return generator(labels, training=training)  # the "labels" of GAN's step are the input images

    def _discriminator_condition(self, labels):
        return labels if self.conditional_discriminator else None

    def _reconstruction(self, outputs, targets):
        diff = _float32(outputs) - _float32(targets)
        loss = ops.mean(ops.abs(diff)) if self.reconstruction == "l1" else ops.mean(ops.square(diff))
        if self._features is not None:  # the classifier reads [0, 1]
            features = [_float32(self._features((x + 1.0) / 2.0, training=False)) for x in (outputs, targets)]
            loss = loss + ops.mean(ops.square(features[0] - features[1]))
        self.reconstruction_tracker.update_state(loss)
        self.psnr_tracker.update_state(ops.mean(tf.image.psnr(_float32(outputs), _float32(targets), 2.0)))
        return loss

    def _generator_objective(self, g_loss, generated, real):
        reconstruction = self._reconstruction(generated, real)
        return self.adversarial_weight * g_loss + self.reconstruction_weight * reconstruction

    def train_step(self, data):
        source, target = self._unpack(data)
        if self.adversarial_weight:
            return self._adversarial_step(target, source)
        with tf.GradientTape() as tape:  # the reconstruction alone: no discriminator
            outputs = self.generator(source, training=True)
            loss = self.reconstruction_weight * self._reconstruction(outputs, target)
            scaled = self.g_optimizer.scale_loss(scale_for_replicas(loss))
        grads = tape.gradient(scaled, self.generator.trainable_weights)
        self.g_optimizer.apply(grads, self.generator.trainable_weights)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        source, target = self._unpack(data)
        self._reconstruction(self.generator(source, training=False), target)
        return {m.name: m.result() for m in (self.reconstruction_tracker, self.psnr_tracker)}

    def get_config(self):
        config = keras.Model.get_config(self)
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def perceptual_features(path, image_shape):
    """The frozen feature extractor of a perceptual loss: a classifier (run directory or `.keras`
    file) up to its last convolution (its penultimate layer if it has none), for images of
    `image_shape` in [0, 1]."""
    from pathlib import Path

    from kerazoo._registry import load_model
    from kerazoo.embeddings import feature_model

    if path is None:
        raise ValueError(
            "reconstruction='perceptual' needs a feature_model: the run directory or .keras file of a "
            "classifier trained on the same images (e.g. `kerazoo train cnn --out runs/cnn`, then "
            "--recipe feature_model=runs/cnn)."
        )
    path = Path(path)
    classifier = load_model(path / "model.keras" if path.is_dir() else path)
    if tuple(classifier.input_shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"feature_model '{path}' reads images of shape {tuple(classifier.input_shape[1:])}, not "
            f"the translator's {tuple(image_shape)}: train it on the same images."
        )
    convs = [layer.name for layer in classifier.layers if isinstance(layer, layers.Conv2D)]
    extractor = feature_model(classifier, convs[-1] if convs else None)
    extractor.trainable = False
    return extractor


# --- pix2pix --------------------------------------------------------------------------------------


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
    return Translator(generator, sr_discriminator(image_shape, d_filters), seed=seed, name=name)
