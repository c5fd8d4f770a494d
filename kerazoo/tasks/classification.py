"""The `classification` task: images or table rows -> class logits.

Trains on image data (digits, MNIST-format sets, TFDS; any size and channel count) or tables
(`breast_cancer`); the input shape and class count come from the data unless set. Everything the
recipe selects (the epoch kept by early stopping) is chosen on a validation split carved from the
training split (`ClassificationRecipe.validation_split`); the test split is read once, after
training, for the test loss and accuracy. `kerazoo evaluate` adds per-class precision and recall and
the confusion matrix. Deploys the classifier: `images` (or `features`) -> `probabilities`, `class_ids`.

Image augmentation follows what the data is (`AUGMENT_BY_DATASET`, the recipe's `augment="auto"`):
handwritten digits get small shifts and tilts but no mirrors (a mirrored 2 is no 2); photos of
objects and clothing get shifts and left-right mirrors but no rotations (they come upright); any other
data set gets shifts only, the one transform that rarely changes a class. `--recipe augment=POLICY`
sets it (`none`, or transforms joined by `+` from `shift`, `rotate`, `flip`).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from kerazoo import data as zdata
from kerazoo._checks import check_augment
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, UsageError, ValidatedRecipe

__all__ = ["Classification", "ClassificationRecipe", "AUGMENT_BY_DATASET", "augment_policy"]

# The augmentation `augment="auto"` picks, by data set name (TFDS names; local files by the same names).
AUGMENT_BY_DATASET = {
    **dict.fromkeys(("digits", "mnist", "emnist", "kmnist", "mnist_corrupted"), "shift+rotate"),
    **dict.fromkeys(
        ("fashion_mnist", "cifar10", "cifar100", "stl10", "imagenette", "cats_vs_dogs"), "shift+flip"
    ),
}
AUGMENT_DEFAULT = "shift"  # a data set not in the table


def augment_policy(recipe_value: str, dataset: str) -> str:
    """The augmentation policy a run uses: the recipe's, or for `"auto"` the data set's
    (`AUGMENT_BY_DATASET`, else shifts only)."""
    if recipe_value != "auto":
        return recipe_value
    return AUGMENT_BY_DATASET.get(dataset, AUGMENT_DEFAULT)


@dataclasses.dataclass(frozen=True)
class ClassificationRecipe(ValidatedRecipe):
    """`ValidatedRecipe` plus `augment`: the image augmentation, `"auto"` (by what the data is; see the
    module docstring), `"none"`, or transforms joined by `+` from `shift`, `rotate`, `flip`. It is
    built into the model's stem (the builder's `augment` hparam, active in training only); an
    `augment` hparam given with the run (`--set augment=...`) wins over it."""

    augment: str = "auto"

    def __post_init__(self):
        super().__post_init__()
        if self.augment != "auto":
            check_augment(self.augment)


# The classifier that judges generated images (`kerazoo evaluate`): trained with its recipe on the
# real training split of the generative run's data set.
EVALUATOR = "cnn"


@register_task
class Classification(Task):
    """The `classification` task: image and tabular classifiers (`mlp`, `cnn`, `tabular_mlp`).

    Sparse categorical cross-entropy on logits, accuracy, early stopping on the validation split's
    accuracy, augmentation picked by the data set; `kerazoo evaluate` reports accuracy, per-class
    precision and recall, the confusion matrix and the worst mistakes; deploys `probabilities`,
    `class_ids`.
    """

    name = "classification"
    data_kinds = ("image", "tabular")
    headline_keys = ("accuracy",)
    recipe_class = ClassificationRecipe
    monitor = "val_accuracy"

    def data_kwargs(self, entry, dataset, data_dir=None, run=None):
        kind = zdata.dataset_kind(dataset)
        if kind == "image":
            return dataset, dict(data_dir=data_dir, normalization=entry.normalization or "unit")
        if kind == "tabular":
            return dataset, dict(split_seed=getattr(run, "split_seed", 0) if run is not None else 0)
        return dataset, {}

    def prepare(self, run):
        name = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)[0]
        train_ds, val_ds, test = self.splits(run)
        # Fit the model to the data: input shape and class count come from the dataset unless set.
        shape = tuple(int(d) for d in train_ds.element_spec[0].shape[1:])
        num_classes = int(train_ds.unbatch().map(lambda x, y: y).reduce(np.int32(0), tf.maximum)) + 1
        tabular = zdata.dataset_kind(name) == "tabular"
        run.derive(
            num_classes=num_classes, **({"num_features": shape[0]} if tabular else {"input_shape": shape})
        )
        policy = augment_policy(run.recipe.augment, name)
        if tabular and run.recipe.augment not in ("auto", "none"):
            raise UsageError(
                f"Dataset '{name}' is a table: image augmentation does not apply. Received: augment={run.recipe.augment!r}"
            )
        if not tabular:
            if "augment" not in run.entry.hparams and run.recipe.augment not in ("auto", "none"):
                raise UsageError(
                    f"Model '{run.entry.name}' has no augmentation stem. Received: augment={run.recipe.augment!r}"
                )
            run.derive(augment=policy)
        model = run.build()
        model_shape = tuple(model.input_shape[1:])
        if model_shape != shape:
            raise UsageError(
                f"Dataset '{name}' has inputs of shape {shape} but model '{run.entry.name}' expects "
                f"{model_shape}. Drop the shape override or pick a matching dataset."
            )
        if model.output_shape[-1] < num_classes:
            raise UsageError(
                f"Dataset '{name}' has {num_classes} classes but the model outputs "
                f"{model.output_shape[-1]}. Received: num_classes={run.hparams.get('num_classes')}"
            )
        norm_layer = f"{model.name}_normalize"
        if any(layer.name == norm_layer for layer in model.layers):
            # Standardization statistics from the training split only.
            model.get_layer(norm_layer).adapt(train_ds.map(lambda x, y: x))
        return Prepared(train_ds, val_ds, model, {"test": test})

    def loss(self, run):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def metrics(self, run):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix, precision_recall_fscore_support

        from kerazoo._registry import get_entry
        from kerazoo.plots import save_figure, subplots

        x, y = self.split_arrays(get_entry(config.model), config, "test", data_dir=data_dir)
        probabilities = model.predict(x, batch_size=500, verbose=0)
        predicted = probabilities.argmax(axis=1)
        classes = int(model.output_shape[-1])
        precision, recall, _, support = precision_recall_fscore_support(
            y, predicted, labels=range(classes), zero_division=0
        )
        matrix = confusion_matrix(y, predicted, labels=range(classes))
        fig, ax = subplots(figsize=(6.5, 5.5))
        ConfusionMatrixDisplay(matrix).plot(ax=ax, colorbar=False, cmap="Blues")
        ax.set_title(f"{config.model} on {config.dataset}: accuracy {np.mean(predicted == y):.2%}")
        save_figure(fig, report / "confusion_matrix.png")
        if x.ndim == 4:
            _worst_mistakes(x, y, probabilities, report / "worst_mistakes.png")
        return {
            "n": int(len(y)),
            "accuracy": float(np.mean(predicted == y)),
            "per_class": {
                str(c): {
                    "precision": float(precision[c]),
                    "recall": float(recall[c]),
                    "support": int(support[c]),
                }
                for c in range(classes)
            },
            "confusion_matrix": matrix.tolist(),
        }

    def report_rows(self, figures):
        from kerazoo.reports import classification_rows

        return classification_rows(figures)

    def servable(self, model, name, config):
        from kerazoo.serving import ClassifierServable

        names = ("images",) if len(model.inputs[0].shape) == 4 else ("features",)
        columns = None
        if names == ("features",):  # a table: its columns, for `kerazoo predict`
            from kerazoo._registry import get_entry

            dataset = config.dataset if config else get_entry(name).dataset
            if zdata.dataset_kind(dataset) == "tabular":
                columns = zdata.tabular_columns(dataset)[0]
        return ClassifierServable(
            model, name, self, config, names, num_classes=int(model.output_shape[-1]), columns=columns
        )


def _worst_mistakes(x, y, logits, path, n: int = 16) -> None:
    """The `n` test images misclassified with the highest confidence, each titled "true -> predicted
    (probability)"; nothing when every image is right."""
    from kerazoo.plots import save_figure, subplots

    z = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    if not len(wrong):
        return
    worst = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:n]
    columns = min(8, len(worst))
    rows = -(-len(worst) // columns)
    fig, axes = subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, worst):
        image = x[i][..., 0] if x.shape[-1] == 1 else x[i]
        ax.imshow(np.clip(image, 0, 1), cmap="gray" if x.shape[-1] == 1 else None)
        ax.set_title(f"{y[i]} -> {predicted[i]} ({probabilities[i, predicted[i]]:.2f})", fontsize=8)
    save_figure(fig, path)
