"""Generated samples judged by an evaluator classifier: the figures and pictures that the generative
tasks (`generation`, `progressive`, `reconstruction`'s VAE) report.

The evaluator (a classifier trained on the real data) is handed in: the drivers resolve it
(`kerazoo.evaluation.evaluator_for` trains the zoo's `cnn` once and caches it), so that tasks need no
driver. Every figure comes with its real-against-real baseline (the test split against the training
split) in the same dict; see `kerazoo.evaluation` for what each figure means.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np

from kerazoo import data as zdata
from kerazoo import quality
from kerazoo.plots import save_image_grid
from kerazoo.serving import as_float32

__all__ = ["EvaluationError", "generator_figures", "run_sample_figures", "progression_pictures"]


class EvaluationError(ValueError):
    """A run directory or evaluator that cannot be evaluated (the CLI exits 2 with this)."""


def _softmax(logits) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _judge(classifier):
    """images in [0, 1] -> (features, probabilities)."""
    from kerazoo.embeddings import feature_model

    features = feature_model(classifier)
    both = keras.Model(classifier.inputs, [features.outputs[0], classifier.outputs[0]])

    def run(images):
        f, logits = both.predict(np.asarray(images, np.float32), batch_size=500, verbose=0)
        return np.asarray(f).reshape(len(f), -1), _softmax(np.asarray(logits, np.float64))

    return run


def _sample_figures(judge, images, labels_asked, train_x, train_f) -> dict:
    features, probs = judge(images)
    predicted = probs.argmax(axis=1)
    score, spread = quality.classifier_score(probs, splits=10)
    score32, spread32 = quality.classifier_score(probs, splits=max(1, len(probs) // 32))
    size = min(len(features), len(train_f))
    figures = {
        "n": len(images),
        "fid": quality.frechet_distance(features, train_f),
        "classifier_score": score,
        "classifier_score_std": spread,
        "classifier_score_b32": score32,
        "classifier_score_b32_std": spread32,
        "confident_share": float(np.mean(probs.max(axis=1) >= 0.9)),
        **quality.mode_coverage(predicted, probs.shape[1]),
        **quality.precision_recall(train_f[:size], features[:size], k=3),
    }
    if labels_asked is not None:
        figures["requested_accuracy"] = float(np.mean(predicted == labels_asked))
    return figures


def generator_figures(servable, evaluator, *, dataset, data_dir=None, n=10_000, seed=0, report=None) -> dict:
    """The generative figures of a generator role (`kerazoo.serving.GeneratorServable`) against `dataset`.

    Args:
        servable: the generator's role (its model, inputs, value range, class count).
        evaluator: `(classifier, test accuracy or None, info)`: the classifier that judges and what
            identifies it (`kerazoo.evaluation.evaluator_for`).
        dataset, data_dir: the real data the samples are compared with (its train and test splits).
        n: samples to draw from seeded noise. Defaults to 10,000.
        seed: the noise seed.
        report: a folder for the pictures (`samples.png`, `nearest_training.png`, ...), or None.

    Returns:
        `{"evaluator": ..., "samples": figures, "real_test_vs_train": baseline figures}`.

    Raises:
        EvaluationError: the evaluator takes images of another shape than the data's.
    """
    classifier, accuracy, info = evaluator
    servable.model = as_float32(servable.model)  # a mixed-precision run samples in float32
    train_x, _ = zdata.load_images(dataset, "train", data_dir)
    test_x, _ = zdata.load_images(dataset, "test", data_dir)
    train_x, test_x = train_x.astype(np.float32) / 255.0, test_x.astype(np.float32) / 255.0
    if tuple(classifier.input_shape[1:]) != train_x.shape[1:]:
        raise EvaluationError(
            f"The evaluator takes images of shape {classifier.input_shape[1:]} but '{dataset}' has "
            f"{train_x.shape[1:]}. Pass an evaluator trained on this data set."
        )
    samples, labels = servable.draw(n, seed)

    judge = _judge(classifier)
    train_f, _ = judge(train_x)
    figures = {
        "evaluator": {**info, "test_accuracy": accuracy, "dataset": dataset},
        "samples": _sample_figures(judge, samples, labels, train_x, train_f),
        "real_test_vs_train": _sample_figures(judge, test_x, None, train_x, train_f),
    }
    figures["samples"]["memorisation"] = quality.memorisation(samples, train_x, test_x)
    if report is not None:
        _generative_pictures(Path(report), samples, labels, train_x, servable)
    return figures


def run_sample_figures(
    servable, config, run_dir, report, *, evaluator, data_dir=None, n=10_000, seed=0
) -> dict:
    """`generator_figures` for a run's generator (against the run's data set, pictures into
    `report`), plus the run's epoch progression pictures: what the generative tasks' `evaluate`
    computes. `evaluator(dataset, data_dir)` gives the judging classifier (the driver's)."""
    data_dir = data_dir or config.data_dir
    figures = generator_figures(
        servable,
        evaluator(config.dataset, data_dir),
        dataset=config.dataset,
        data_dir=data_dir,
        n=n,
        seed=seed,
        report=report,
    )
    progression_pictures(Path(run_dir), Path(report))
    return figures


def _generative_pictures(report, samples, labels, train_x, servable):
    if labels is not None:  # one row per class
        classes = servable.num_classes
        order = np.concatenate([np.flatnonzero(labels == c)[:10] for c in range(classes)])
        save_image_grid(samples[order], report / "samples_by_class.png", rows=classes)
    save_image_grid(samples[:64], report / "samples.png", rows=8)
    # A few samples, each above its nearest training image (pixel distance).
    shown = samples[:10]
    _, index = quality.nearest_distances(shown, train_x, return_index=True)
    nearest = train_x[index]
    save_image_grid(np.concatenate([shown, nearest]), report / "nearest_training.png", rows=2)


def progression_pictures(run_dir, report):
    """The run's epoch progression: first, middle and last grid side by side, and all as a GIF; and
    its loss and D(x), D(G(z)) curves."""
    from PIL import Image, ImageDraw

    grids = sorted((run_dir / "grids").glob("grid_epoch_*.png"))
    if grids:
        frames = [Image.open(p).convert("L") for p in grids]
        picks = sorted({0, len(frames) // 2, len(frames) - 1})
        width = sum(frames[i].width for i in picks) + 20 * (len(picks) - 1)
        strip = Image.new("L", (width, max(frames[i].height for i in picks) + 24), 255)
        draw, left = ImageDraw.Draw(strip), 0
        for i in picks:
            strip.paste(frames[i], (left, 24))
            draw.text((left + 4, 6), f"epoch {int(grids[i].stem.rsplit('_', 1)[-1])}", fill=0)
            left += frames[i].width + 20
        strip.save(report / "progression.png")
        frames[0].save(
            report / "progression.gif", save_all=True, append_images=frames[1:], duration=300, loop=0
        )
    if (run_dir / "training_curves.png").is_file():
        shutil.copyfile(run_dir / "training_curves.png", report / "training_curves.png")
