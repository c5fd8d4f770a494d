"""The `translation` task: image-to-image GANs (`kerazoo.trainers.translation.Translator`: pix2pix,
SRGAN) trained on `(input, target)` pairs in [-1, 1].

The data is a paired dataset (`synthetic_maps`, `pix2pix_folder`) or any image dataset made into
pairs (`pairs="edges"`, `pairs="lowres:K"`; see `kerazoo.pairs`). The recipe is `GANRecipe` plus the
reconstruction loss and its weight, the adversarial weight, and the data's `pairs`, `direction` and
`jitter`. Each epoch writes a grid of (input | output | target) triplets of fixed test pairs, and
validation reports the test split's reconstruction loss and PSNR. `metrics.json` and
`kerazoo evaluate`: L1, PSNR and SSIM on the test split (with the identity and bicubic baselines
where they apply), the outputs' sharpness against the targets', map-colour accuracy for translated
maps, and for labelled sources the evaluator classifier's accuracy on outputs against real images.
Deploys the generator: `images` (input images in [-1, 1]) -> `images`, `images_uint8`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerazoo import data as zdata
from kerazoo import pairs as zpairs
from kerazoo._checks import check_choice, check_number
from kerazoo.plots import to_uint8
from kerazoo.serving import ImageServable
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, UsageError, dataset_arrays
from kerazoo.tasks.generation import GANRecipe, keep_last_grid

__all__ = ["TranslationRecipe", "Translation", "TripletGrid", "TranslatorServable", "translation_figures"]

GRID_PAIRS = 8  # test pairs in each epoch's triplet grid


@dataclasses.dataclass(frozen=True)
class TranslationRecipe(GANRecipe):
    """A translator's recipe: `GANRecipe` plus the generator's reconstruction loss (`"l1"`, `"mse"`, or
    `"perceptual"` with a classifier's run directory or `.keras` file as `feature_model`) and its weight, the adversarial weight (0: reconstruction alone, no discriminator), and the data:
    `pairs` (`"edges"`, `"lowres:K"` for an image dataset), `direction` (`synthetic_maps`:
    `map2aerial`, `aerial2map`; `pix2pix_folder`: `AtoB`, `BtoA`) and pix2pix's `jitter`."""

    epochs: int = 20
    batch_size: int = 16
    reconstruction: str = "l1"
    reconstruction_weight: float = 100.0
    adversarial_weight: float = 1.0
    feature_model: str | None = None
    pairs: str | None = None
    direction: str | None = None
    jitter: bool = False

    def __post_init__(self):
        super().__post_init__()
        from kerazoo.trainers.translation import RECONSTRUCTIONS

        check_choice("reconstruction", self.reconstruction, RECONSTRUCTIONS)
        check_number("reconstruction_weight", self.reconstruction_weight)
        check_number("adversarial_weight", self.adversarial_weight)
        if self.reconstruction == "perceptual" and not self.feature_model:
            raise ValueError(
                "reconstruction=perceptual needs feature_model: a classifier run directory or .keras "
                "file trained on the same images (e.g. --recipe feature_model=runs/cnn)."
            )
        if self.feature_model is not None and not Path(self.feature_model).exists():
            raise ValueError(
                f"feature_model '{self.feature_model}' does not exist: pass a run directory or .keras file."
            )
        if not self.reconstruction_weight and not self.adversarial_weight:
            raise ValueError(
                "reconstruction_weight and adversarial_weight cannot both be 0: nothing to learn."
            )
        if self.pairs is not None:
            zpairs.parse_pairs(self.pairs)
        check_choice("jitter", self.jitter, (True, False))

    def compile_options(self, steps: int = 1) -> dict:
        return {
            **super().compile_options(steps),
            "reconstruction": self.reconstruction,
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "feature_model": self.feature_model,
        }


def _recipe_value(entry, run, key):
    """A data option of the recipe: the run's (a `Run`'s recipe, or a finished run's config), else
    the model's default."""
    recipe = getattr(run, "recipe", None)
    if isinstance(recipe, dict):  # a RunConfig
        return recipe.get(key, getattr(entry.recipe, key, None))
    return getattr(recipe if recipe is not None else entry.recipe, key, None)


@register_task
class Translation(Task):
    """The `translation` task: image-to-image GANs (`pix2pix`, `srgan`) trained by `Translator`.

    Trains on (input, target) pairs in [-1, 1], writes (input | output | target) triplets per epoch,
    reports L1, PSNR, SSIM, sharpness and, for labelled sources, the evaluator's accuracy on the
    outputs; deploys the generator (`images` -> `images`).
    """

    name = "translation"
    data_kinds = ("image", "paired")
    recipe_class = TranslationRecipe
    panels = [
        ("reconstruction", "val_reconstruction"),
        ("psnr", "val_psnr"),
        ("d_loss", "g_loss"),
        ("d_real", "d_fake"),
    ]
    headline_keys = (
        "l1",
        "psnr",
        "ssim",
        "sharpness_ratio",
        "map_colour_accuracy",
        "classifier_accuracy_ratio",
    )

    def data_kwargs(self, entry, dataset, data_dir=None, run=None):
        pairs = _recipe_value(entry, run, "pairs")
        direction = _recipe_value(entry, run, "direction")
        if zdata.dataset_kind(dataset) == "paired":
            pairs = None
        elif pairs is None:
            raise UsageError(
                f"'{dataset}' holds single images: say how to make pairs from them with --pairs edges "
                "or --pairs lowres:4 (recipe key `pairs`), or use synthetic_maps or pix2pix_folder."
            )
        else:
            direction = None
        options = dict(data_dir=data_dir, normalization="symmetric", pairs=pairs, direction=direction)
        shape = (getattr(run, "hparams", None) or {}).get("image_shape")
        if dataset == "synthetic_maps" and shape:  # tiles are drawn at the model's size
            options["image_size"] = tuple(shape[:2])
        return dataset, options

    def prepare(self, run):
        name, kwargs = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)
        batch_size = run.recipe.batch_size
        train_ds = zdata.make_dataset(
            name, "train", batch_size, seed=run.seed, drop_remainder=True, jitter=run.recipe.jitter, **kwargs
        )
        test_ds = zdata.make_dataset(name, "test", batch_size, shuffle=False, **kwargs)
        source_spec, target_spec = train_ds.element_spec
        source, target = tuple(source_spec.shape[1:]), tuple(target_spec.shape[1:])
        run.hparams.setdefault("seed", run.seed)
        run.derive(image_shape=target)
        if "source_channels" in run.entry.hparams and source[-1] != target[-1]:
            run.derive(source_channels=source[-1])
        if "scale" in run.entry.hparams:
            if source[0] == 0 or target[0] % source[0]:
                raise UsageError(f"Inputs {source} are not a whole fraction of the targets {target}.")
            run.derive(scale=target[0] // source[0])
        try:
            model = run.build()
        except ValueError as e:
            raise UsageError(f"Model '{run.entry.name}' on '{name}' ({source} -> {target}): {e}") from None
        if (model.source_shape, model.image_shape) != (source, target):
            raise UsageError(
                f"Dataset '{name}' pairs {source} inputs with {target} targets but model "
                f"'{run.entry.name}' maps {model.source_shape} to {model.image_shape}. Drop the shape "
                "overrides or pick matching data"
                + (" (srgan upsamples lowres:K pairs)." if source[:2] != target[:2] else ".")
            )
        fixed = next(iter(test_ds.unbatch().batch(GRID_PAIRS)))
        extras = {"fixed": tuple(np.asarray(t) for t in fixed), "kwargs": kwargs, "dataset": name}
        return Prepared(train_ds, test_ds, model, extras)

    def compile(self, prepared, run, steps):
        prepared.model.compile(**run.recipe.compile_options(steps))

    def callbacks(self, prepared, run, run_dir):
        return [TripletGrid(run_dir / "grids", *prepared.extras["fixed"])]

    def finish(self, prepared, run, run_dir):
        model = prepared.model
        keep_last_grid(run_dir, "triplets_epoch_*.png")
        from kerazoo.models._common import save_with_keras_layers

        save_with_keras_layers(model.generator, run_dir / "generator.keras")
        history = model.history.history
        figures = {k: float(v[-1]) for k, v in history.items() if v and k in _HISTORY_KEYS}
        x, y = dataset_arrays(prepared.val_ds)
        figures.update(
            translation_figures(model.generator, x, y, prepared.extras["dataset"], prepared.extras["kwargs"])
        )
        return figures

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        generator = model.generator if self.claims(model) else model
        entry = _entry(config)
        name, kwargs = self.data_kwargs(entry, config.dataset, data_dir or config.data_dir, config)
        x, y = self.split_arrays(entry, config, "test", data_dir=data_dir, limit=n)
        outputs = generator.predict(x, batch_size=256, verbose=0)
        figures = translation_figures(generator, x, y, name, kwargs, outputs=outputs)
        save_triplets(x[:GRID_PAIRS], outputs[:GRID_PAIRS], y[:GRID_PAIRS], report / "triplets.png")
        if zdata.dataset_kind(name) == "image":  # labelled images made into pairs: the "FCN score"
            classifier, accuracy, info = evaluator(name, kwargs["data_dir"])
            if tuple(classifier.input_shape[1:]) == tuple(y.shape[1:]):
                _, labels = zdata.load_images(name, "test", kwargs["data_dir"])
                figures.update(classifier_figures(classifier, outputs, y, labels[: len(y)]))
                figures["evaluator"] = {**info, "test_accuracy": accuracy, "dataset": name}
        return figures

    def report_rows(self, figures):
        from kerazoo.reports import translation_rows

        return translation_rows(figures)

    def claims(self, model):
        from kerazoo.trainers.translation import Translator

        return isinstance(model, Translator)

    def servable(self, model, name, config):
        generator = model.generator if self.claims(model) else model
        return TranslatorServable(
            generator, name, self, config, ("images",), value_range=(-1.0, 1.0), stem="generator"
        )


_HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")  # the rest of history.json is the test figures' kin


def _entry(config):
    from kerazoo._registry import get_entry

    return get_entry(config.model)


# --- figures --------------------------------------------------------------------------------------


def sharpness(images) -> float:
    """Mean image-gradient magnitude (finite differences, [-1, 1] scale): blurry images score low."""
    dy, dx = tf.image.image_gradients(tf.convert_to_tensor(images, tf.float32))
    return float(tf.reduce_mean(tf.sqrt(dy**2 + dx**2 + 1e-12)))


def _scores(outputs, targets) -> dict:
    outputs, targets = tf.convert_to_tensor(outputs, tf.float32), tf.convert_to_tensor(targets, tf.float32)
    return {
        "l1": float(tf.reduce_mean(tf.abs(outputs - targets))),
        "psnr": float(tf.reduce_mean(tf.image.psnr(outputs, targets, 2.0))),
        "ssim": float(
            tf.reduce_mean(tf.image.ssim(outputs, targets, 2.0, filter_size=min(11, targets.shape[1])))
        ),
    }


def translation_figures(generator, inputs, targets, dataset=None, kwargs=None, outputs=None) -> dict:
    """The test figures of a translator's generator on `(inputs, targets)` in [-1, 1]: `l1` (mean
    absolute error, [-1, 1] scale), `psnr` (dB) and `ssim` of its outputs; the same for the identity
    (inputs of the targets' shape) and bicubic upsampling (smaller inputs) as `baselines`;
    `sharpness` of outputs and targets (mean gradient magnitude) and their ratio; for maps translated
    from aerial tiles (`synthetic_maps`, `aerial2map`), `map_colour_accuracy` (the share of pixels
    whose map colour is right). `outputs`: the generator's outputs for `inputs`, if already made."""
    if outputs is None:
        outputs = generator.predict(inputs, batch_size=256, verbose=0)
    outputs = np.asarray(outputs, np.float32)
    figures = {"n": int(len(inputs)), **_scores(outputs, targets)}
    baselines = {}
    if inputs.shape == targets.shape:
        baselines["identity"] = _scores(inputs, targets)
    elif inputs.shape[-1] == targets.shape[-1]:
        bicubic = tf.clip_by_value(tf.image.resize(inputs, targets.shape[1:3], method="bicubic"), -1.0, 1.0)
        baselines["bicubic"] = _scores(bicubic, targets)
    figures["baselines"] = baselines
    figures["sharpness"] = sharpness(outputs)
    figures["target_sharpness"] = sharpness(targets)
    figures["sharpness_ratio"] = figures["sharpness"] / max(figures["target_sharpness"], 1e-12)
    if dataset == "synthetic_maps" and (kwargs or {}).get("direction") == "aerial2map":
        figures["map_colour_accuracy"] = zpairs.map_colour_accuracy(
            to_uint8(outputs, (-1, 1)), to_uint8(targets, (-1, 1))
        )
    return figures


def classifier_figures(classifier, outputs, targets, labels) -> dict:
    """The evaluator's accuracy on translated images against on the real targets (the pix2pix paper's
    "FCN score" idea): images in [-1, 1] are shown to the classifier in [0, 1]."""

    def accuracy(images):
        probabilities = classifier.predict((np.asarray(images) + 1.0) / 2.0, batch_size=500, verbose=0)
        return float(np.mean(np.argmax(probabilities, axis=-1) == labels))

    on_outputs, on_real = accuracy(outputs), accuracy(targets)
    return {
        "classifier_accuracy": on_outputs,
        "classifier_accuracy_real": on_real,
        "classifier_accuracy_ratio": on_outputs / max(on_real, 1e-12),
    }


# --- pictures -------------------------------------------------------------------------------------


def save_triplets(inputs, outputs, targets, path) -> None:
    """A PNG of (input | output | target) triplets, two per row; [-1, 1] images, smaller inputs
    enlarged by repeating pixels, grey inputs shown in colour where the targets have it."""
    from kerazoo.runtime import save_grid, side_by_side

    tiles = side_by_side(*(to_uint8(a, (-1, 1)) for a in (inputs, outputs, targets)))
    scale = max(1, 128 // targets.shape[1])
    save_grid(tiles, path, columns=6 if len(inputs) > 1 else 3, scale=scale)


class TripletGrid(keras.callbacks.Callback):
    """Writes `directory/triplets_epoch_NNN.png` at the end of every epoch: the translator's outputs for
    fixed `(inputs, targets)`, as (input | output | target) triplets (`save_triplets`).

    Args:
        directory: where the grids go (created if missing).
        inputs, targets: the fixed pairs, [-1, 1].
    """

    def __init__(self, directory, inputs, targets):
        super().__init__()
        self.directory = directory
        self._inputs, self._targets = inputs, targets

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        outputs = np.asarray(self.model(self._inputs, training=False))
        save_triplets(
            self._inputs, outputs, self._targets, self.directory / f"triplets_epoch_{epoch + 1:03d}.png"
        )


# --- export ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class TranslatorServable(ImageServable):
    """A translator's generator: `images` (inputs in [-1, 1]) -> `images` in [-1, 1] and
    `images_uint8`, verified on the test split's inputs."""

    role = "translator"

    def processing(self):
        shape = tuple(int(d) for d in self.model.inputs[0].shape[1:])
        return {
            "preprocessing": f"images: {shape[0]}x{shape[1]}x{shape[2]} uint8 pixels / 127.5 - 1 ([-1, 1])",
            "postprocessing": "images: float32 in [-1, 1]; images_uint8 = round((images + 1) * 127.5)",
        }

    def metadata(self):
        return {
            **super().metadata(),
            "input_shape": [int(d) for d in self.model.inputs[0].shape[1:]],
            "input_range": [-1.0, 1.0],
        }
