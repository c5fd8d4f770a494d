"""The `generation` task: GANs (`kerazoo.GAN`) that learn to make images from noise.

Trains on image data in [-1, 1] (with labels for a conditional GAN) in full batches; the image
shape and class count come from the data unless set. The recipe is `GANRecipe`: `GAN.compile`'s
options (`kerazoo.trainers.gan.GANOptions`) plus epochs and batch size. Each epoch writes a sample grid from
fixed noise and the health monitor's figures. `kerazoo evaluate` judges samples with an evaluator
classifier (FID, classifier score, coverage, precision/recall, memorisation). Deploys the generator:
`noise` (and `labels`) -> `images`, `images_uint8`.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from kerazoo import data as zdata
from kerazoo._checks import check_choice, check_number, check_positive_int
from kerazoo.serving import ExportError, GeneratorServable, image_range
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Recipe, Task, UsageError
from kerazoo.trainers.augment import check_augment
from kerazoo.trainers.gan import GAN, LOSSES, UPDATES, GANOptions

__all__ = ["GANRecipe", "Generation", "SampledImages", "image_generator_data"]


@dataclasses.dataclass(frozen=True)
class GANRecipe(GANOptions, Recipe):
    """A GAN's recipe: `GAN.compile`'s options (`GANOptions`, whose defaults these are) plus epochs
    and batch size. `epochs` defaults to 30 for the `digits` data (about 22 steps an epoch)."""

    epochs: int = 30
    batch_size: int = 64

    OPTIMIZERS: ClassVar[tuple] = ("d_optimizer", "g_optimizer")

    def __post_init__(self):
        super().__post_init__()
        check_choice("loss", self.loss, sorted(LOSSES))
        check_positive_int("d_steps", self.d_steps)
        check_positive_int("g_steps", self.g_steps)
        check_number("gp_weight", self.gp_weight)
        check_number("r1_gamma", self.r1_gamma)
        check_choice("update", self.update, UPDATES)
        check_positive_int("penalty_every", self.penalty_every)
        check_augment(self.augment)

    def compile_options(self, steps: int = 1) -> dict:
        """Keyword arguments for `GAN.compile`: every `GANOptions` field but `learning_rate` (which goes
        into the optimizers), optimizers built (for `steps` steps, for schedules)."""
        options = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(GANOptions) if f.name != "learning_rate"
        }
        options.update({key: self.build_optimizer(key, steps) for key in self.OPTIMIZERS})
        return options


class SampledImages:
    """For a task whose models make images from noise: `kerazoo evaluate` judges the samples its
    export role draws (`Servable.draw`) with the evaluator classifier, and the report reads them."""

    headline_keys = (
        "fid",
        "classifier_score",
        "confident_share",
        "classes_present",
        "precision",
        "recall",
        "requested_accuracy",
    )

    def data_kwargs(self, entry, dataset, data_dir=None, run=None):
        """The images in the model's normalization, [-1, 1] by default."""
        return dataset, dict(data_dir=data_dir, normalization=entry.normalization or "symmetric")

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        """`n` samples of the run's export role judged against its data set by `evaluator`, with
        the run's progression pictures (`kerazoo.judging.run_sample_figures`)."""
        from kerazoo.judging import run_sample_figures

        servable = self.servable(model, config.model, config)
        options = dict(data_dir=data_dir, n=n, evaluator=evaluator, seed=seed)
        return run_sample_figures(servable, config, run_dir, report, **options)

    def report_rows(self, figures):
        """The sample figures beside the real data's, with verdicts (`kerazoo.reports.generative_rows`)."""
        from kerazoo.reports import generative_rows

        return generative_rows(figures)


@register_task
class Generation(SampledImages, Task):
    """The `generation` task: GANs (`gan`, `dcgan`, `cgan`, `wgan_gp`) trained by `kerazoo.GAN`'s step.

    It trains on images in [-1, 1] with the `GANRecipe` (losses, penalties, both optimizers), writes a
    sample grid per epoch, watches the GAN's health, judges samples with the evaluator classifier
    (`kerazoo evaluate`) and deploys the generator (`noise` [, `labels`] -> `images`).
    """

    name = "generation"
    data_kinds = ("image",)
    recipe_class = GANRecipe
    panels = [("d_loss", "g_loss"), ("d_real", "d_fake"), ("sample_diversity", "sample_realism")]

    def prepare(self, run):
        train_ds, reference, model, conditional = image_generator_data(self, run, lambda m: m.image_shape)
        return Prepared(train_ds, None, model, {"reference": reference.numpy(), "conditional": conditional})

    def compile(self, prepared, run, steps):
        prepared.model.compile(**run.recipe.compile_options(steps))

    def callbacks(self, prepared, run, run_dir):
        from kerazoo.callbacks import GANMonitor, SampleGrid

        epochs = run.recipe.epochs
        return [
            SampleGrid(
                run_dir / "grids",
                num_samples=100 if prepared.extras["conditional"] else 64,
                seed=run.seed,
                log_dir=run.tensorboard,
            ),
            GANMonitor(prepared.extras["reference"], warmup=min(5, max(0, epochs - 1)), seed=run.seed),
        ]

    def finish(self, prepared, run, run_dir):
        from kerazoo.callbacks import GANMonitor

        model = prepared.model
        keep_last_grid(run_dir, "grid_epoch_*.png")
        from kerazoo.models._common import save_with_keras_layers

        save_with_keras_layers(model.deployable, run_dir / "generator.keras")
        history = model.history.history
        figures = {
            k: float(history[k][-1])
            for k in ("d_loss", "g_loss", "d_real", "d_fake", "sample_diversity", "sample_realism")
            if history.get(k)
        }
        figures["failure_modes"] = sorted({mode for mode in GANMonitor.MODES if history.get(mode, [0])[-1]})
        steps = model.history.params.get("steps") or int(prepared.train_ds.cardinality())
        figures["images_seen"] = int(steps * run.recipe.batch_size * len(history.get("d_loss", [])))
        return figures

    def claims(self, model):
        inputs = getattr(model, "inputs", None)  # subclassed models have none
        return isinstance(model, GAN) or bool(inputs and inputs[0].name == "noise")

    def servable(self, model, name, config):
        if isinstance(model, GAN):
            names = ("noise", "labels") if model.conditional else ("noise",)
            return GeneratorServable(
                model.deployable,
                name,
                self,
                config,
                names,
                value_range=(-1.0, 1.0),
                num_classes=model.num_classes,
                stem="generator",
            )
        input_names = tuple(t.name for t in model.inputs)
        if input_names[0] != "noise":
            raise ExportError(
                f"'{name}' is a GAN: export the whole GAN or its generator (inputs named 'noise')."
            )
        return generator_servable(model, name, self, config)


def generator_servable(model, name, task, config, stem="generator") -> GeneratorServable:
    """The generator role for a bare generator or decoder (inputs `noise` and maybe `labels`)."""
    input_names = tuple(t.name for t in model.inputs)
    num_classes = None
    if "labels" in input_names:
        embeddings = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
        num_classes = embeddings[0].input_dim if embeddings else None
    return GeneratorServable(
        model,
        name,
        task,
        config,
        input_names,
        value_range=image_range(model),
        num_classes=num_classes,
        stem=stem,
    )


def keep_last_grid(run_dir, pattern) -> None:
    """Copy the run's last grid (`run_dir/grids/pattern`, sorted by name) to `run_dir/samples.png`."""
    grids = sorted((run_dir / "grids").glob(pattern))
    if grids:
        shutil.copyfile(grids[-1], run_dir / "samples.png")


def image_generator_data(task, run, made_shape, reference_size: int = 256):
    """A generative image model's training data and model: `(train_ds, reference images, model,
    conditional)`. Full batches in the task's normalization (with labels for a model whose builder
    takes `num_classes`); the image shape and class count derived from the data; `made_shape(model)`
    is the shape the model makes, checked against the data's (a clear error when they differ)."""
    name, kwargs = task.data_kwargs(run.entry, run.dataset, run.data_dir, run)
    conditional = "num_classes" in run.entry.hparams
    train_ds = zdata.make_dataset(
        name, "train", run.recipe.batch_size, labels=conditional, drop_remainder=True, seed=run.seed, **kwargs
    )
    # Real images (for the health monitor): a fixed slice of the training split.
    reference = next(
        iter(zdata.make_dataset(name, "train", reference_size, labels=False, shuffle=False, **kwargs))
    )
    shape = tuple(int(d) for d in reference.shape[1:])
    run.hparams.setdefault("seed", run.seed)
    run.derive(image_shape=shape)
    if conditional:
        labels = train_ds.unbatch().map(lambda x, y: y)
        run.derive(num_classes=int(labels.reduce(np.int32(0), tf.maximum)) + 1)
    model = run.build()
    if tuple(made_shape(model)) != shape:
        raise UsageError(
            f"Dataset '{name}' has images of shape {shape} but model '{run.entry.name}' makes "
            f"{tuple(made_shape(model))}. Drop the image_shape override or pick a matching dataset."
        )
    return train_ds, reference, model, conditional
