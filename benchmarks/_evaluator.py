"""The evaluator shared by the generative benchmarks: the pinned MNIST evaluator kerazoo ships (the
zoo's CNN trained on real MNIST by `python benchmarks/evaluators.py`, checked against its weights'
hash when loaded), so every benchmark on every machine judges with the same network."""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np

import kerazoo
from kerazoo.evaluation import evaluator_for


@functools.cache
def judge(data_dir):
    """`(classifier, test accuracy, info)` of the pinned MNIST evaluator, loaded (and its hash
    checked) once per process."""
    return evaluator_for("mnist", data_dir)


def evaluator(workdir: Path, data_dir):
    """`(classifier, test accuracy)`: the pinned MNIST evaluator (`workdir` is not used: nothing is
    trained; kept so that every benchmark calls it the same way)."""
    classifier, accuracy, _ = judge(data_dir)
    return classifier, accuracy


def evaluator_record(data_dir) -> dict:
    """What results files record of the evaluator: pinned or not, its weights' hash, its accuracy."""
    _, accuracy, info = judge(data_dir)
    return {**info, "test_accuracy": accuracy}


def mnist_cnn_run(workdir: Path, data_dir) -> Path:
    """A run directory of the zoo's CNN trained on MNIST (cached in `workdir`): a classifier run to
    export and time, not the yardstick."""
    run = workdir / "evaluator_cnn"
    if not (run / "model.keras").is_file():
        kerazoo.train("cnn", dataset="mnist", data_dir=data_dir, out=run, verbose=0)
    return run


def score(classifier, images, requested=None, value_range=(0.0, 1.0)) -> dict:
    """Confident share, class histogram and (conditional) agreement with the requested labels."""
    # The classifier reads [0, 1]; GAN generators make [-1, 1] (pass value_range=(-1, 1)).
    low, high = value_range
    logits = classifier.predict((images - low) / (high - low), batch_size=500, verbose=0)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
    share = np.bincount(predicted, minlength=10) / len(predicted)
    figures = {
        "confident_share": float(np.mean(confidence >= 0.9)),
        "class_share": [round(float(s), 4) for s in share],
        "digits_present": int(np.sum(share > 0.01)),
        "min_class_share": float(share.min()),
        "max_class_share": float(share.max()),
    }
    if requested is not None:
        figures["requested_accuracy"] = float(np.mean(predicted == requested))
    return figures
