"""`kerazoo evaluate`: figures and pictures for a run directory, in `RUN_DIR/eval/`.

    kerazoo.evaluation.evaluate("runs/dcgan", n=10_000)

Generative runs (GANs, the VAE) are judged by an evaluator classifier: the zoo's `cnn` trained on
the real training split of the run's data set (trained once and cached under `$KERAZOO_CACHE`,
default `~/.cache/kerazoo`, or given as `evaluator=`). Every figure comes with its real-against-real
baseline (the test split against the training split) in the same file:

- `fid`: Frechet distance in the evaluator's penultimate features, samples against the training
  split (`kerazoo.quality.frechet_distance`);
- `classifier_score`: Inception-Score style with the evaluator's softmax, over 10 splits, and over
  splits of 32 samples (`classifier_score_b32`, as the TF-GAN MNIST tutorial scores);
- `coverage`: class histogram, classes present, KL to uniform; `confident_share` (p >= 0.9);
- `precision`/`recall` (k-NN manifolds in feature space, k = 3);
- `memorisation`: nearest-training-image distances against those of real test images;
- conditional models: `requested_accuracy`, the evaluator's agreement with the asked-for labels.

Classifiers get accuracy, per-class precision and recall and the confusion matrix; the forecaster
RMSE, MAE and MAPE against persistence and seasonal naive; autoencoders the test reconstruction
error; logic and regression models their test loss.

What is computed is the run's task's (`Task.evaluate`); this module holds the generative figures
and pictures that the `generation` and `reconstruction` tasks share, and the generic driver.
`eval/` is written to a temporary sibling and renamed into place (replacing an earlier `eval/`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from kerazoo import data as zdata
from kerazoo import quality
from kerazoo._checks import check_int
from kerazoo._io import atomic_write
from kerazoo._registry import load_model
from kerazoo.export import ExportError, load_servable
from kerazoo.plots import save_image_grid
from kerazoo.reports import write_reports

__all__ = [
    "evaluate",
    "evaluate_generator",
    "evaluator_for",
    "cache_dir",
    "evaluate_run_samples",
    "progression_pictures",
    "EvaluationError",
]


class EvaluationError(ValueError):
    """A run directory or evaluator that cannot be evaluated (the CLI exits 2 with this)."""


def cache_dir() -> Path:
    """Where trained evaluators are kept: `$KERAZOO_CACHE`, else `~/.cache/kerazoo`."""
    return Path(os.environ.get("KERAZOO_CACHE") or Path.home() / ".cache" / "kerazoo")


def _load_model(path: Path, unsafe: bool = False):
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise EvaluationError(f"No model at '{path}'. Pass a run directory or a .keras file.")
    try:
        return load_model(path, unsafe=unsafe)
    except ValueError as e:
        raise EvaluationError(str(e)) from None


def evaluator_for(dataset: str, data_dir=None, path=None, verbose: int = 0):
    """`(classifier, test_accuracy or None, where)`: the given evaluator, or the zoo's `cnn` trained on
    `dataset`'s training split with its recipe, cached per data set and data folder."""
    if path is not None:
        model = _load_model(path)
        metrics = Path(path) / "metrics.json"
        accuracy = json.loads(metrics.read_text()).get("test_accuracy") if metrics.is_file() else None
        return model, accuracy, str(path)
    local = zdata.resolve_data_dir(data_dir) if dataset != "digits" else None
    folder = str(Path(local).resolve()) if local else ""
    key = hashlib.sha1(f"{dataset}|{folder}".encode()).hexdigest()[:10]
    from kerazoo.tasks.classification import EVALUATOR

    run = cache_dir() / f"evaluator_{EVALUATOR}_{dataset}_{key}"
    if not (run / "model.keras").is_file():
        import kerazoo

        print(f"Training the evaluator (the zoo's {EVALUATOR} on {dataset}) once; cached in {run}")
        run.parent.mkdir(parents=True, exist_ok=True)
        kerazoo.train(EVALUATOR, dataset=dataset, data_dir=data_dir, out=run, overwrite=True, verbose=verbose)
    accuracy = json.loads((run / "metrics.json").read_text())["test_accuracy"]
    return load_model(run / "model.keras"), accuracy, str(run)


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


def evaluate_generator(
    model,
    *,
    dataset: str = "digits",
    data_dir=None,
    n: int = 10_000,
    evaluator=None,
    seed: int = 0,
    report=None,
) -> dict:
    """The generative figures for a GAN, a VAE or a bare generator, against `dataset`.

    Example:
        ```python
        figures = evaluate_generator(gan, n=2000)        # after gan.fit(...) on the digits
        figures["samples"]["fid"], figures["real_test_vs_train"]["fid"]
        ```

    Args:
        model: a `kerazoo.GAN`, a `kerazoo.VAE`, or a generator (inputs named `noise`).
        dataset, data_dir: the real data the samples are compared with (its train and test splits).
        n: samples to draw. Defaults to 10,000.
        evaluator: a classifier run directory or `.keras` file; default: the zoo's `cnn` trained on
            `dataset` (cached, see `evaluator_for`).
        seed: the noise seed.
        report: a folder for the pictures (`samples.png`, `nearest_training.png`, ...), or None.

    Returns:
        `{"evaluator": ..., "samples": figures, "real_test_vs_train": baseline figures}`.
    """
    servable = load_servable(model, model_name=getattr(model, "name", None))
    classifier, accuracy, where = evaluator_for(dataset, data_dir, evaluator)
    train_x, _ = zdata.load_images(dataset, "train", data_dir)
    test_x, _ = zdata.load_images(dataset, "test", data_dir)
    train_x, test_x = train_x.astype(np.float32) / 255.0, test_x.astype(np.float32) / 255.0
    if tuple(classifier.input_shape[1:]) != train_x.shape[1:]:
        raise EvaluationError(
            f"The evaluator takes images of shape {classifier.input_shape[1:]} but '{dataset}' has "
            f"{train_x.shape[1:]}. Pass an evaluator trained on this data set."
        )
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, int(servable.model.inputs[0].shape[-1]))).astype(np.float32)
    labels = None
    inputs = noise
    if "labels" in servable.input_names:
        labels = (np.arange(n) % servable.num_classes).astype(np.int32)
        inputs = [noise, labels]
    low, high = servable.value_range
    samples = servable.model.predict(inputs, batch_size=500, verbose=0)
    samples = np.clip((samples - low) / (high - low), 0.0, 1.0).astype(np.float32)

    judge = _judge(classifier)
    train_f, _ = judge(train_x)
    figures = {
        "evaluator": {"path": where, "test_accuracy": accuracy, "dataset": dataset},
        "samples": _sample_figures(judge, samples, labels, train_x, train_f),
        "real_test_vs_train": _sample_figures(judge, test_x, None, train_x, train_f),
    }
    figures["samples"]["memorisation"] = quality.memorisation(samples, train_x, test_x)
    if report is not None:
        _generative_pictures(Path(report), samples, labels, train_x, servable)
    return figures


def evaluate_run_samples(model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
    """`evaluate_generator` for a run (against its data set, pictures into `report`), plus the run's
    epoch progression pictures: what the generative tasks' `evaluate` computes."""
    figures = evaluate_generator(
        model,
        dataset=config.dataset,
        data_dir=data_dir or config.data_dir,
        n=n,
        evaluator=evaluator,
        seed=seed,
        report=report,
    )
    progression_pictures(run_dir, report)
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


def evaluate(
    run_dir, *, data_dir=None, n: int = 10_000, evaluator=None, seed: int = 0, unsafe: bool = False
) -> dict:
    """Evaluate a run directory; writes `RUN_DIR/eval/`: `metrics.json`, pictures, `report.md`, `report.html`.

    What is computed is the run's task's (`kerazoo.tasks.Task.evaluate`).

    Args:
        run_dir: a run directory written by `kerazoo train`.
        data_dir: the data folder (default: the run's).
        n: generated samples to judge (generative runs). Defaults to 10,000.
        evaluator: a classifier run directory or `.keras` file to judge samples with (default: the
            zoo's `cnn` trained on the run's data set, cached).
        seed: seed of the noise.
        unsafe: load a run model that holds Python code (see `kerazoo.load_model`).

    Returns:
        The figures written to `eval/metrics.json`.
    """
    from kerazoo.tasks import RunConfig, get_task

    run_dir = Path(run_dir)
    config = RunConfig.read(run_dir, error=EvaluationError)
    check_int("n", n, 64, label="--n", error=EvaluationError)
    try:
        task = get_task(config.task)
    except ValueError as e:
        raise EvaluationError(
            f"{e} (from {run_dir / 'config.json'}; load its plugin with --plugin)"
        ) from None
    model = _load_model(run_dir, unsafe)
    start = time.perf_counter()
    with atomic_write(run_dir / "eval") as tmp:
        report = tmp / "eval"
        report.mkdir()
        try:
            figures = task.evaluate(
                model, config, run_dir, report, data_dir=data_dir, n=n, evaluator=evaluator, seed=seed
            )
        except ExportError as e:
            raise EvaluationError(str(e)) from None
        figures = {"model": config.model, "task": config.task, **figures}
        figures["eval_seconds"] = round(time.perf_counter() - start, 2)
        (report / "metrics.json").write_text(json.dumps(figures, indent=2) + "\n")
        write_reports(report, config.model, config.task, figures, task.report_rows(figures))
    return figures
