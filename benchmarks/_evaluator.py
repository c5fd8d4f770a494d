"""The evaluator shared by the generative benchmarks: the zoo's CNN trained on real MNIST."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

import kerazoo


def evaluator(workdir: Path, data_dir):
    """The zoo's CNN trained on real MNIST (cached in workdir)."""
    run = workdir / "evaluator_cnn"
    if not (run / "model.keras").is_file():
        kerazoo.train("cnn", dataset="mnist", data_dir=data_dir, out=run, verbose=0)
    metrics = json.loads((run / "metrics.json").read_text())
    return kerazoo.load_model(run / "model.keras"), metrics["test_accuracy"]


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
