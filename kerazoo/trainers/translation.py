"""The translators' trainer: a `kerazoo.GAN` whose condition is an image (pix2pix, SRGAN).

The generator maps an input image to an output image; the discriminator judges (output, input)
pairs or outputs alone; the generator's loss adds a reconstruction term (L1, MSE, or MSE plus a
classifier's feature distance, `perceptual_features`) to the adversarial one. The networks are the
builders' (`kerazoo.models.translation`).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from kerazoo._checks import check_choice, check_number
from kerazoo.trainers.gan import GAN, _float32, scale_for_replicas

__all__ = ["Translator", "perceptual_features", "RECONSTRUCTIONS"]

RECONSTRUCTIONS = ("l1", "mse", "perceptual")  # the generator's reconstruction term


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
        if kwargs.get("augment"):
            raise ValueError(
                "A translator's discriminator judges (output, input) pairs, which an augmentation of "
                "the output alone would misalign: compile it without `augment`."
            )
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
