"""The export roles: what a task deploys from a model and how (`Servable` and its subclasses).

A task names its role (`Task.servable`); the export driver (`kerazoo.export`) writes, reloads and
verifies the artifact the role describes, and the evaluation uses the same role to draw samples. The
roles live here, below both drivers, so that tasks need neither.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from kerazoo import runtime
from kerazoo._registry import get_entry

__all__ = [
    "ExportError",
    "TOLERANCES",
    "Servable",
    "ImageServable",
    "GeneratorServable",
    "ClassifierServable",
    "as_float32",
    "rebuilt",
    "image_range",
]

TOLERANCES = {
    "float32": {"max_abs_diff": 1e-4},
    "float16": {"max_abs_diff": 1e-2},
    "quantized_classifier": {"top1_agreement": 0.99, "accuracy_drop_points": 0.5},
    "quantized_images": {"mean_abs_diff_pm1": 0.1},
    "quantized_other": {"mean_abs_diff_of_range": 0.05},
}


class ExportError(ValueError):
    """Bad arguments, an unusable source, or an artifact that failed verification."""


# --- export roles ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Servable:
    """A Keras model ready to export, and how: its signature, outputs, verification and metadata.

    The base class is the plain role (`regressor`): named inputs -> `predictions`, verified on the
    test split of the model's data. Tasks pick or subclass a role in `Task.servable`.
    """

    model: keras.Model  # what is exported (the generator of a GAN, the decoder of a VAE)
    name: str  # the zoo model name
    task: Any  # the kerazoo.tasks.Task the model belongs to
    config: Any  # the run's RunConfig, or None for a bare model
    input_names: tuple
    source: str = ""
    stem: str = "model"  # the default artifact name: model.tflite, generator.tflite, ...

    role: ClassVar[str] = "regressor"
    main_output: ClassVar[str] = "predictions"

    def input_signature(self, batch_size=None):
        """The `tf.TensorSpec`s of the serving signature (float32 inputs, int32 `labels`); the batch
        dimension is `batch_size` (None: dynamic).
        """
        specs = []
        for name, tensor in zip(self.input_names, self.model.inputs):
            shape = (batch_size, *tensor.shape[1:])
            dtype = "int32" if name == "labels" else "float32"
            specs.append(tf.TensorSpec(shape, dtype, name=name))
        return specs

    def serve(self, *args):
        """The exported computation: the model plus the named post-processing."""
        x = self.model(list(args) if len(args) > 1 else args[0], training=False)
        return self.outputs(tf.cast(x, tf.float32))

    def outputs(self, x) -> dict:
        """The signature's named outputs for the model's output `x`. Default: `predictions`."""
        return {"predictions": x}

    # Reference data.
    def arrays(self, split: str, data_dir, dataset, limit=None):
        """`(x, y or None)` from the model's data set (the run's, or the zoo default)."""
        entry = get_entry(self.name)
        x, y = self.task.split_arrays(
            entry, self.config, split, data_dir=data_dir, dataset=dataset, limit=limit
        )
        expected = tuple(self.model.inputs[0].shape[1:])
        if x.shape[1:] != expected:
            raise ExportError(
                f"Data set '{dataset or getattr(self.config, 'dataset', None) or entry.dataset}' has inputs "
                f"of shape {x.shape[1:]} but the model takes {expected}. Pass the dataset (and --data-dir) "
                "the model was trained on."
            )
        return x, y

    def verification_inputs(self, quantized: bool, data_dir, dataset):
        """Named inputs (and labels, where the role uses them) to compare the artifact with Keras on."""
        x, y = self.arrays("test", data_dir, dataset, limit=256)
        return {self.input_names[0]: x}, None

    def representative(self, n: int, data_dir, dataset) -> dict:
        """Named int8 calibration inputs: `n` training inputs."""
        return {self.input_names[0]: self.arrays("train", data_dir, dataset, limit=n)[0]}

    # Verification.
    def check_quantized(self, figures: dict, expected: dict) -> tuple:
        """`(tolerance, passed)` for a `dynamic` or `int8` artifact; `figures` may be extended."""
        return check_of_range(figures, expected[self.main_output])

    def compare(self, quantize: str, expected: dict, actual: dict, labels) -> dict:
        """The verification figures and whether they pass."""
        return compare_output(
            quantize,
            expected,
            actual,
            self.main_output,
            lambda figures: self.extra_figures(figures, expected, actual, labels),
            lambda figures: self.check_quantized(figures, expected),
        )

    def extra_figures(self, figures: dict, expected: dict, actual: dict, labels) -> None:
        """Role-specific verification figures, added to `figures`."""

    # Metadata.
    def processing(self) -> dict:
        """The pre- and post-processing the metadata describes."""
        return {
            "preprocessing": "inputs: float32 as in training",
            "postprocessing": "predictions: the model's output",
        }

    def metadata(self) -> dict:
        """Role facts for the metadata (what the TF-free runtime reads)."""
        return {"num_classes": None, "latent_dim": None, "value_range": None}

    def after_export(self, run_dir: Path, results: dict, seed: int) -> None:
        """Anything the role adds to a run directory after `export_run` (e.g. a sample grid)."""

    # Other signatures.
    SIGNATURES: ClassVar[tuple] = ("default",)  # what `variant` (`kerazoo export --signature`) takes

    def variant(self, signature: str | None) -> Servable:
        """The role to export for `signature` (`kerazoo export --signature`): this one for
        `"default"`; a role with other signatures (a StyleGAN's `"styles"`) returns another."""
        if signature in (None, "default"):
            return self
        raise ExportError(
            f"'{self.name}' has no signature {signature!r} to export: it has {', '.join(self.SIGNATURES)}."
        )

    def extra_signatures(self) -> dict:
        """Signatures the artifact holds beside `serving_default`: `{name: (function of named
        tensors -> {output: tensor}, specs(batch_size) -> TensorSpecs, inputs() -> {name: array}
        to verify on)}`. Default: none."""
        return {}


@dataclasses.dataclass
class ImageServable(Servable):
    """Images in, images out (autoencoders): `images` float32 and `images_uint8`."""

    value_range: tuple = (0.0, 1.0)

    role: ClassVar[str] = "autoencoder"
    main_output: ClassVar[str] = "images"

    def outputs(self, x) -> dict:
        """`images` as the model makes them and `images_uint8` (0..255, rounded, ready for PNG)."""
        low, high = self.value_range
        scaled = tf.clip_by_value((x - low) * (255.0 / (high - low)), 0.0, 255.0)
        return {"images": x, "images_uint8": tf.cast(tf.round(scaled), tf.uint8)}

    def extra_figures(self, figures, expected, actual, labels):
        figures["uint8_max_abs_diff"] = int(
            np.abs(expected["images_uint8"].astype(int) - actual["images_uint8"].astype(int)).max()
        )

    def check_quantized(self, figures, expected):
        tolerance = TOLERANCES["quantized_images"]
        low, high = self.value_range
        figures["mean_abs_diff_pm1"] = figures["mean_abs_diff"] * 2.0 / (high - low)
        return tolerance, figures["mean_abs_diff_pm1"] <= tolerance["mean_abs_diff_pm1"]

    def processing(self):
        return {
            "preprocessing": "images: float32 pixels divided by 255 ([0, 1])",
            "postprocessing": "images: float32 in [0, 1]; images_uint8 = round(images * 255)",
        }

    def metadata(self):
        return {**super().metadata(), "value_range": list(self.value_range)}


@dataclasses.dataclass
class GeneratorServable(ImageServable):
    """A generator (GAN generator, VAE decoder): `noise` (and `labels`) -> images, verified on seeded
    noise."""

    num_classes: int | None = None

    role: ClassVar[str] = "generator"

    def noise_inputs(self, n: int, seed: int) -> dict:
        """`n` seeded standard-normal noise vectors (and labels `i % num_classes` for a conditional
        generator), as the signature's inputs.
        """
        rng = np.random.default_rng(seed)
        latent_dim = int(self.model.inputs[0].shape[-1])
        inputs = {"noise": rng.standard_normal((n, latent_dim)).astype(np.float32)}
        if "labels" in self.input_names:
            inputs["labels"] = (np.arange(n) % self.num_classes).astype(np.int32)
        return inputs

    def verification_inputs(self, quantized, data_dir, dataset):
        return self.noise_inputs(256 if quantized else 64, seed=1234), None

    def representative(self, n, data_dir, dataset):
        return self.noise_inputs(n, seed=99)

    def draw(self, n: int, seed: int) -> tuple:
        """`n` samples from seeded noise as float32 images in [0, 1], and the labels asked for (every
        class in turn for a conditional generator, else None): what the evaluation judges."""
        inputs = self.noise_inputs(n, seed)
        low, high = self.value_range
        samples = self.model.predict(
            [inputs[k] for k in self.input_names] if len(inputs) > 1 else inputs["noise"],
            batch_size=500,
            verbose=0,
        )
        return np.clip((samples - low) / (high - low), 0.0, 1.0).astype(np.float32), inputs.get("labels")

    def processing(self):
        low, high = self.value_range
        labels = f"; labels: int32 class ids in 0..{self.num_classes - 1}" if self.num_classes else ""
        return {
            "preprocessing": "noise: float32 draws from N(0, 1)" + labels,
            "postprocessing": (
                f"images: float32 in [{low:g}, {high:g}]; images_uint8 = round((images - {low:g}) * 255 / {high - low:g})"
            ),
        }

    def metadata(self):
        return {
            **super().metadata(),
            "num_classes": self.num_classes,
            "latent_dim": int(self.model.inputs[0].shape[-1]),
        }

    def after_export(self, run_dir, results, seed):
        """`RUN_DIR/samples_tflite.png`: the grid of `samples.png` (same noise, same layout) drawn from
        the exported TFLite file by the TensorFlow-free runtime."""
        if "tflite" not in results:
            return
        from kerazoo.callbacks import fixed_inputs

        generator = runtime.Generator(results["tflite"]["path"])
        inputs, rows = fixed_inputs(
            generator.latent_dim, self.num_classes, 100 if self.num_classes else 64, seed
        )
        noise, labels = inputs if self.num_classes else (inputs, None)
        images = generator.generate(noise, labels)["images_uint8"]
        runtime.save_grid(images, run_dir / "samples_tflite.png", columns=len(images) // rows)


@dataclasses.dataclass
class ClassifierServable(Servable):
    """A classifier: `images` or `features` -> `probabilities` and `class_ids`, verified on the test
    split (quantized: top-1 agreement and accuracy drop on the whole split)."""

    num_classes: int | None = None
    columns: list | None = None  # a table classifier's input columns (for `kerazoo predict`)

    role: ClassVar[str] = "classifier"
    main_output: ClassVar[str] = "probabilities"

    def outputs(self, x):
        """`probabilities` (softmax of the logits) and `class_ids` (int32 argmax)."""
        return {"probabilities": tf.nn.softmax(x, axis=-1), "class_ids": tf.argmax(x, -1, tf.int32)}

    def verification_inputs(self, quantized, data_dir, dataset):
        # Quantized classifiers are judged on the whole test split (accuracy drop); others on a slice.
        x, y = self.arrays("test", data_dir, dataset, limit=None if quantized else 256)
        return {self.input_names[0]: x}, y

    def extra_figures(self, figures, expected, actual, labels):
        figures["top1_agreement"] = float(np.mean(expected["class_ids"] == actual["class_ids"]))
        if labels is not None:
            figures["keras_accuracy"] = float(np.mean(expected["class_ids"] == labels))
            figures["artifact_accuracy"] = float(np.mean(actual["class_ids"] == labels))
            figures["accuracy_drop_points"] = 100 * (figures["keras_accuracy"] - figures["artifact_accuracy"])

    def check_quantized(self, figures, expected):
        tolerance = TOLERANCES["quantized_classifier"]
        passed = (
            figures["top1_agreement"] >= tolerance["top1_agreement"]
            and figures.get("accuracy_drop_points", 0.0) <= tolerance["accuracy_drop_points"]
        )
        return tolerance, passed

    def processing(self):
        post = "probabilities = softmax(logits); class_ids = argmax"
        if self.input_names[0] == "images":
            return {"preprocessing": "images: float32 pixels divided by 255 ([0, 1])", "postprocessing": post}
        return {
            "preprocessing": "features: float32 raw values (the model standardizes them itself)",
            "postprocessing": post,
        }

    def metadata(self):
        extra = {"columns": list(self.columns)} if self.columns else {}
        return {**super().metadata(), "num_classes": self.num_classes, **extra}


def check_of_range(figures: dict, expected) -> tuple:
    """`(tolerance, passed)` for a quantized artifact of any output: the mean absolute difference
    (in `figures`) at most 5% of the Keras output's range (added to `figures`)."""
    tolerance = TOLERANCES["quantized_other"]
    figures["mean_abs_diff_of_range"] = figures["mean_abs_diff"] / (float(np.ptp(expected)) or 1.0)
    return tolerance, figures["mean_abs_diff_of_range"] <= tolerance["mean_abs_diff_of_range"]


def compare_output(quantize: str, expected: dict, actual: dict, key: str, extra=None, quantized=None) -> dict:
    """Verification figures of output `key` (artifact against Keras) and whether they pass: the float32
    and float16 tolerances on the max absolute difference; for a quantized artifact `quantized(figures)`
    (default: `check_of_range`). `extra(figures)` adds a role's own figures."""
    diff = np.abs(expected[key].astype(np.float64) - actual[key].astype(np.float64))
    figures = {
        "compared_output": key,
        "rows": int(len(diff)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }
    if extra is not None:
        extra(figures)
    if quantize in ("float32", "float16"):
        tolerance = TOLERANCES[quantize]
        passed = figures["max_abs_diff"] <= tolerance["max_abs_diff"]
    else:
        tolerance, passed = (quantized or (lambda f: check_of_range(f, expected[key])))(figures)
    return {**figures, "tolerance": tolerance, "passed": bool(passed)}


def as_float32(model):
    """`model` itself if it computes in float32, else a float32 copy with the same weights: a model
    trained under a mixed-precision policy is exported in float32 (the TFLite converter has no
    bfloat16 kernels, and a SavedModel would otherwise record the compute dtype)."""
    if all(layer.dtype_policy.compute_dtype == "float32" for layer in model._flatten_layers()):
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    return rebuilt(model, clone)


def rebuilt(model, clone):
    """A copy of `model` (nested models included) whose layers are `clone(layer)`, new layers built
    from each one's config, with `model`'s weights."""
    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def image_range(model) -> tuple:
    """[-1, 1] for a tanh output, else [0, 1] (sigmoid decoders, autoencoders)."""
    activation = getattr(model.layers[-1], "activation", None)
    return (-1.0, 1.0) if getattr(activation, "__name__", "") == "tanh" else (0.0, 1.0)
