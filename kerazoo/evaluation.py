"""`kerazoo evaluate`: figures and pictures for a run directory, in `RUN_DIR/eval/`.

    kerazoo.evaluation.evaluate("runs/dcgan", n=10_000)

Generative runs (GANs, the VAE) are judged by an evaluator classifier: the zoo's `cnn` trained on
the real training split of the run's data set. For the zoo's own image data sets (`digits`,
`mnist`) the evaluator is pinned: shipped with the package (`kerazoo/_data/evaluators/`, rebuilt by
`python benchmarks/evaluators.py`), checked against the hash of its weights when loaded and named
with that hash in every report, so figures judged on any machine are judged by the same network.
Other data sets get one trained on first use and cached under `$KERAZOO_CACHE` (default
`~/.cache/kerazoo`), and the report says so; `evaluator=` takes any classifier run or `.keras` file.
Every figure comes with its real-against-real baseline (the test split against the training split)
in the same file:

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
import time
from pathlib import Path

from kerazoo import data as zdata
from kerazoo._checks import check_int
from kerazoo._io import atomic_write
from kerazoo._registry import load_model
from kerazoo.export import ExportError, load_servable
from kerazoo.judging import EvaluationError, generator_figures, progression_pictures
from kerazoo.reports import write_reports

__all__ = [
    "evaluate",
    "evaluate_generator",
    "evaluator_for",
    "pinned_evaluators",
    "weights_sha256",
    "cache_dir",
    "judges",
    "progression_pictures",
    "EvaluationError",
]


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


def judges(path=None):
    """The `evaluator` a task's `evaluate` gets: `evaluator(dataset, data_dir)` -> `(classifier, test
    accuracy or None, info)`, the classifier at `path`, else the pinned or cached one
    (`evaluator_for`)."""

    def evaluator(dataset, data_dir=None):
        return evaluator_for(dataset, data_dir, path)

    return evaluator


PINNED = Path(__file__).parent / "_data" / "evaluators"


def pinned_evaluators() -> dict:
    """The evaluators shipped with kerazoo, by data set: `{dataset: {"file", "weights_sha256",
    "test_accuracy", "command", ...}}` from `kerazoo/_data/evaluators/evaluators.json` (empty if
    this installation has none)."""
    manifest = PINNED / "evaluators.json"
    return json.loads(manifest.read_text())["evaluators"] if manifest.is_file() else {}


def weights_sha256(model) -> str:
    """SHA-256 of a model's weights (each as little-endian float32 bytes, in `model.weights` order):
    what identifies an evaluator, whatever file or format holds it."""
    import numpy as np

    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(np.asarray(weight), dtype="<f4").tobytes())
    return digest.hexdigest()


def _pinned(dataset: str, entry: dict):
    model = load_model(PINNED / entry["file"])
    found = weights_sha256(model)
    if found != entry["weights_sha256"]:
        raise EvaluationError(
            f"The pinned evaluator for '{dataset}' ({PINNED / entry['file']}) does not match its recorded "
            f"hash (weights sha256 {found[:12]}, expected {entry['weights_sha256'][:12]}): reinstall "
            "kerazoo, or pass --evaluator RUN_DIR."
        )
    info = {
        "pinned": True,
        "path": f"kerazoo/_data/evaluators/{entry['file']}",
        "weights_sha256": found,
        "rebuilt_by": entry["command"],
    }
    return model, entry["test_accuracy"], info


def evaluator_for(dataset: str, data_dir=None, path=None, verbose: int = 0):
    """`(classifier, test_accuracy or None, info)`: the given evaluator; else the pinned one shipped
    for `dataset` (`pinned_evaluators`); else the zoo's `cnn` trained on `dataset`'s training split
    with its recipe, cached per data set and data folder. `info` says which (`path`, `pinned`,
    `weights_sha256`; what reports and metrics record)."""
    if path is not None:
        model = _load_model(path)
        metrics = Path(path) / "metrics.json"
        accuracy = json.loads(metrics.read_text()).get("test_accuracy") if metrics.is_file() else None
        return model, accuracy, {"pinned": False, "path": str(path), "weights_sha256": weights_sha256(model)}
    entry = pinned_evaluators().get(dataset)
    if entry is not None:
        return _pinned(dataset, entry)
    local = zdata.resolve_data_dir(data_dir) if dataset != "digits" else None
    folder = str(Path(local).resolve()) if local else ""
    key = hashlib.sha1(f"{dataset}|{folder}".encode()).hexdigest()[:10]
    from kerazoo.tasks.classification import EVALUATOR

    run = cache_dir() / f"evaluator_{EVALUATOR}_{dataset}_{key}"
    if not (run / "model.keras").is_file():
        import kerazoo

        print(
            f"No pinned evaluator for '{dataset}': training one (the zoo's {EVALUATOR}) once on this "
            f"machine; cached in {run}"
        )
        run.parent.mkdir(parents=True, exist_ok=True)
        kerazoo.train(EVALUATOR, dataset=dataset, data_dir=data_dir, out=run, overwrite=True, verbose=verbose)
    accuracy = json.loads((run / "metrics.json").read_text())["test_accuracy"]
    model = load_model(run / "model.keras")
    info = {"pinned": False, "path": str(run), "weights_sha256": weights_sha256(model), "trained_here": True}
    return model, accuracy, info


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
    judge = evaluator_for(dataset, data_dir, evaluator)
    return generator_figures(
        servable, judge, dataset=dataset, data_dir=data_dir, n=n, seed=seed, report=report
    )


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
                model, config, run_dir, report, data_dir=data_dir, n=n, evaluator=judges(evaluator), seed=seed
            )
        except ExportError as e:
            raise EvaluationError(str(e)) from None
        figures = {"model": config.model, "task": config.task, **figures}
        figures["eval_seconds"] = round(time.perf_counter() - start, 2)
        (report / "metrics.json").write_text(json.dumps(figures, indent=2) + "\n")
        write_reports(report, config.model, config.task, figures, task.report_rows(figures))
    return figures
