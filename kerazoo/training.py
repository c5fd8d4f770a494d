"""`kerazoo.train`: one model, one recipe, one run directory.

The run directory (`runs/NAME` by default) is the contract that the CLI, the benchmarks and later
tools rely on:

| file | what |
|---|---|
| `model.keras` | the trained model |
| `config.json` | every argument, the effective hparams, the recipe, the seed, library versions |
| `history.json` | per-epoch metrics from `fit` (`val_*`: on the validation split carved from the training split, where the recipe has one) |
| `metrics.json` | final figures on the test split, read once after training (`test_accuracy`, `test_rmse`, ...), the validation split's (`validation_*`), and `train_seconds` |
| `training_curves.png` | loss (and accuracy) against epochs |
| `predictions.csv`, `forecast.png` | forecaster only: date, actual, predicted over the test horizon |
| `decision_boundary.png` | logic models only: the output over the input plane, with the truth table |
| `generator.keras`, `grids/`, `samples.png` | GANs only: the generator alone (for `cgan`, inputs `[noise, labels]`), a fixed-noise grid per epoch, and the last grid |

For GANs, `history.json` also holds the health monitor's per-epoch `sample_diversity`,
`sample_realism` and failure flags, `training_curves.png` shows the losses, D(x) and D(G(z)), and
`metrics.json` the last epoch's figures, `failure_modes` and `images_per_second`.

A run is written into a sibling folder `.NAME.partial/` and renamed into place when it is complete,
so `runs/NAME` is never half-written. While it trains, that folder also holds a backup of the whole
training state (`kerazoo.callbacks.BackupAndRestore`: weights, every optimizer's state, random seed
states, the epoch and the data order) at the end of every epoch, and every `backup_every` steps when
asked: `train(..., resume=True)` (`kerazoo train ... --resume`) continues a killed or failed run from
its last backup with the same arguments; without it, an existing partial run is refused with a
message that says so. A finished run leaves no partial folder and no backup. A non-finite loss stops
training at once (`kerazoo.callbacks.DivergenceError`), keeping the last good backup. Everything that
can be checked (arguments, hparams, recipe, data) is checked before training starts.

Training is deterministic by default (`tf.config.experimental.enable_op_determinism()` and every seed
set): the same arguments give the same weights; `deterministic=False` (`--nondeterministic`) trades
that for speed where it costs some.

Model selection is honest: the classifiers, the forecaster and the autoencoders select (early
stopping, the epoch kept) on a validation split carved from the training split
(`recipe.validation_split`, `--validation-split F`); the test split is not read before training ends.

This module is the generic driver: everything that differs by task (data, derived hparams, compile,
callbacks, final figures and pictures) is the model's task's (`kerazoo.tasks`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import kerazoo
from kerazoo import data as zdata
from kerazoo._checks import MAX_SEED, check_at_most, check_int
from kerazoo._io import check_output, remove, write_json
from kerazoo._registry import check_hparams, get_entry
from kerazoo.callbacks import (
    BackupAndRestore,
    DivergenceError,
    StopOnDivergence,
    WeightHistory,
    fit_resumable,
)
from kerazoo.distribute import STRATEGIES, get_strategy, is_chief, run_locally, worker_index
from kerazoo.models._common import is_plain_keras_model, save_with_keras_layers
from kerazoo.plots import plot_history
from kerazoo.tasks import Run, RunConfig, UsageError, get_task

__all__ = [
    "train",
    "UsageError",
    "DivergenceError",
    "partial_dir",
    "WeightHistory",
    "library_versions",
    "machine_info",
    "precision_policy",
    "STRATEGIES",
    "PRECISIONS",
]

PRECISIONS = ("float32", "mixed", "auto")


def _cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AMX or AVX512-BF16: Sapphire Rapids and later)."""
    _, flags = _cpu()
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def _cpu() -> tuple:
    """The CPU's model name and flags (from /proc/cpuinfo where there is one)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in open("/proc/cpuinfo").read().splitlines():
            if line.startswith("model name") and ":" in line:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and ":" in line and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


def machine_info() -> dict:
    """What a speed figure depends on: the CPU model, its core count, whether it has the vector
    and matrix units that bfloat16 and float32 kernels use (`cpu_flags`), and the GPUs TensorFlow
    sees. Every benchmark records it beside its figures."""
    model, flags = _cpu()
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "cpu_flags": {flag: flag in flags for flag in wanted},
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }


def precision_policy(precision: str | None) -> str:
    """The Keras dtype policy for `precision`: `float32`; `mixed`, which is `mixed_float16` (with
    loss scaling) where there is a GPU and `mixed_bfloat16` on CPUs; or `auto`, mixed where the
    hardware gains from it (a GPU, or a CPU with AMX / AVX512-BF16), float32 otherwise."""
    if precision in (None, "float32"):
        return "float32"
    if precision not in PRECISIONS:
        raise UsageError(f"`precision` must be one of {list(PRECISIONS)}. Received: precision={precision!r}")
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if precision == "auto" and not gpu and not _cpu_has_bf16():
        return "float32"
    return "mixed_float16" if gpu else "mixed_bfloat16"


def library_versions() -> dict:
    """Versions of kerazoo, TensorFlow, Keras, NumPy and Python, for config.json and reports."""
    return {
        "kerazoo": kerazoo.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _run(
    name,
    *,
    dataset,
    data_dir,
    epochs,
    batch_size,
    seed,
    hparams,
    recipe,
    csv,
    column,
    split_seed,
    tensorboard,
    validation_split=None,
):
    """The checked run: entry, effective recipe and arguments (nothing built yet)."""
    entry = get_entry(name)
    task = get_task(entry.task)
    hparams = dict(hparams or {})
    check_hparams(entry.name, hparams)
    overrides = dict(recipe or {})
    for key, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("validation_split", validation_split),
    ):
        if value is not None:
            overrides[key] = value
    if "validation_split" in overrides and "validation_split" not in entry.recipe.keys():
        raise UsageError(
            f"Model '{entry.name}' ({task.name}) selects nothing on a validation split: "
            "--validation-split is for the classifiers, the forecaster and the autoencoders."
        )
    try:
        effective = entry.recipe.replace(overrides)
        effective.check_optimizers()
    except ValueError as e:
        raise UsageError(str(e)) from None
    for arg, value in (("seed", seed), ("split_seed", split_seed)):
        check_at_most(arg, check_int(arg, value, 0, error=UsageError), MAX_SEED, error=UsageError)
    if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
        raise UsageError(
            f"`dataset` must be a dataset name, or None for the model's default. Received: dataset={dataset!r}"
        )
    dataset = dataset or entry.dataset
    kind = zdata.dataset_kind(dataset)
    if kind not in entry.data_kinds:
        raise UsageError(
            f"Model '{entry.name}' ({task.name}) cannot train on dataset '{dataset}' ({kind} data). "
            f"Its default dataset is '{entry.dataset}'."
        )
    if (csv is not None or column is not None) and dataset not in ("csv", "table"):
        raise UsageError(f"--csv and --column go with --dataset csv or table. Received: dataset={dataset!r}")
    return task, Run(
        entry=entry,
        recipe=effective,
        dataset=dataset,
        data_dir=data_dir,
        csv=csv,
        column=column,
        seed=seed,
        split_seed=split_seed,
        tensorboard=tensorboard,
        hparams=hparams,
    )


def train(
    name: str,
    *,
    dataset: str | None = None,
    data_dir=None,
    epochs: int | None = None,
    batch_size: int | None = None,
    validation_split: float | None = None,
    seed: int = 0,
    out=None,
    hparams: dict | None = None,
    recipe: dict | None = None,
    csv=None,
    column: str | None = None,
    overwrite: bool = False,
    split_seed: int = 0,
    strategy: str | None = None,
    precision: str | None = None,
    verbose="auto",
    callbacks=(),
    tensorboard=None,
    resume: bool = False,
    backup_every: int | None = None,
    deterministic: bool = True,
) -> dict:
    """Train zoo model `name` with its recipe and write a run directory.

    Example:
        ```python
        metrics = kerazoo.train("cnn", dataset="mnist", data_dir="../shared/data", epochs=2)
        metrics = kerazoo.train("dcgan", recipe={"g_steps": 1, "d_optimizer.beta_1": 0.9})
        ```

    Args:
        name: a registry name (`kerazoo.list_models()`).
        dataset: dataset name; defaults to the model's default (the embedded offline data).
        data_dir: folder with local MNIST-format files (else `$KERAZOO_DATA_DIR`).
        epochs, batch_size: default to the recipe's (shorthands for `recipe={"epochs": ...}`).
        validation_split: the share of the training split held out to select on (early stopping,
            the validation curves); `0` for none. Defaults to the recipe's (a shorthand for
            `recipe={"validation_split": ...}`; tasks that select nothing have none).
        seed: seeds Keras, NumPy, Python and TF, and the shuffling. Defaults to `0`.
        out: the run directory; defaults to `runs/NAME`. An existing non-empty one is refused
            unless `overwrite=True`.
        hparams: builder overrides, e.g. `{"hidden_units": (256, 128)}`.
        recipe: recipe overrides, e.g. `{"learning_rate": 3e-4, "schedule": "cosine"}`; a dotted key
            sets one option of an optimizer (`"optimizer.beta_1"`). `kerazoo.get_entry(name).recipe`
            shows the model's recipe and `.keys()` the valid keys. `config.json` records the result.
        csv, column: the file and column for `dataset="csv"`.
        split_seed: which stratified train/test split of `breast_cancer`. Defaults to `0`.
        strategy: `"default"`, `"mirrored"` (`tf.distribute.MirroredStrategy`: all local GPUs) or
            `"multi_worker"` (`tf.distribute.MultiWorkerMirroredStrategy`, the cluster in the
            `TF_CONFIG` environment variable; run the same call on every worker, before any other
            TensorFlow work in the process; see `kerazoo.distribute`). The model and its optimizers
            are built inside the strategy's scope. With `multi_worker` the chief writes `out`, the
            other workers `.NAME.workerI` beside it (removed when the run finishes).
        precision: `"float32"` (default), `"mixed"` (`mixed_bfloat16` on CPUs, `mixed_float16` with
            loss scaling on GPUs) or `"auto"` (mixed where the hardware gains from it: a GPU, or a CPU
            with AMX / AVX512-BF16). The model is built under that Keras dtype policy (the global
            policy is restored afterwards); losses, logits and penalties stay float32, and exports
            are float32. `config.json` records the policy used.
        verbose: passed to `fit` (`"auto"` shows the Keras progress bar).
        callbacks: extra Keras callbacks for `fit`.
        tensorboard: a TensorBoard log directory: Keras' `TensorBoard` callback writes the scalars
            there, and GANs add their sample grids as images. Needs `pip install "kerazoo[tensorboard]"`.
        resume: continue the partial run of `out` (`partial_dir(out)`, left by a killed or failed run)
            from its last backup. The arguments must be those of that run, except the recipe (a new
            learning rate, say) and `epochs`. Defaults to `False`, which refuses an existing partial run
            unless `overwrite=True` (which starts over).
        backup_every: also back up every N training steps (batches), not only at the end of each
            epoch. Defaults to None (epochs only).
        deterministic: turn TensorFlow's op determinism on (same arguments, same weights). It stays
            on for the rest of the process. Defaults to `True`.

    Returns:
        The final figures written to `metrics.json`, with `run_dir` added (None on a multi-worker
        run's workers other than the chief).

    Raises:
        UsageError: bad arguments (unknown model, unknown or invalid hparam or recipe key, ...).
        kerazoo.data.DataError: missing or bad data. In both cases nothing is written.
        DivergenceError: a loss became NaN or infinite; the partial run keeps its last good backup.
    """
    if strategy == "multi_worker":
        get_strategy(strategy)  # collectives must be set up before any other TensorFlow work
    if tensorboard is not None:
        from kerazoo.callbacks import require_tensorboard

        try:
            require_tensorboard()
        except ImportError as e:
            raise UsageError(str(e)) from None
        callbacks = [*callbacks, keras.callbacks.TensorBoard(str(tensorboard))]
    try:
        task, run = _run(
            name,
            dataset=dataset,
            data_dir=data_dir,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            hparams=hparams,
            recipe=recipe,
            csv=csv,
            column=column,
            split_seed=split_seed,
            tensorboard=tensorboard,
            validation_split=validation_split,
        )
    except (UsageError, zdata.DataError):
        raise
    except ValueError as e:  # unknown model or hparam: a usage error too
        raise UsageError(str(e)) from e
    if backup_every is not None:
        check_int("backup_every", backup_every, 1, error=UsageError)
    out = check_output(out or Path("runs") / run.entry.name, UsageError)
    if strategy == "multi_worker" and not is_chief():
        # Every worker writes a run (the same one); only the chief's is the user's.
        kind, index = worker_index()
        out = worker_out = out.parent / f".{out.name}.{kind}{index}"
    else:
        worker_out = None
    partial = partial_dir(out)
    if resume:
        if BackupAndRestore.read_state(partial / "backup") is None:
            raise UsageError(
                f"Nothing to resume for '{out}': no backup in {partial}. Start the run without --resume."
            )
    elif out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UsageError(f"Output '{out}' already exists. Choose another --out or pass --overwrite.")
    elif partial.exists() and not overwrite:
        state = BackupAndRestore.read_state(partial / "backup")
        where = f" (backed up {BackupAndRestore.describe(state)})" if state else ""
        raise UsageError(
            f"A partial run of '{out}' is in {partial}{where}: continue it with --resume (same "
            "arguments), or start over with --overwrite."
        )

    policy = precision_policy(precision)
    if precision is not None and precision != "float32":
        print(f"{run.entry.name}: precision {precision} -> Keras dtype policy {policy}")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        figures = _train(
            task, run, out, strategy, policy, verbose, callbacks, resume, backup_every, deterministic
        )
        if worker_out is not None:  # a duplicate of the chief's run
            remove(worker_out)
            figures["run_dir"] = None
        return figures
    finally:
        keras.config.set_dtype_policy(previous_policy)


def partial_dir(out) -> Path:
    """The folder where the run for `out` is written while it trains (and kept, with its backup, when
    it is killed or fails): `.NAME.partial` beside `out`."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


_SAME_ON_RESUME = (
    "model",
    "task",
    "dataset",
    "csv",
    "column",
    "batch_size",
    "seed",
    "split_seed",
    "hparams",
    "strategy",
    "precision",
)


def _check_resumable(config, saved):
    """A resumed run must have the arguments of the run it continues (the recipe and epochs may change)."""
    different = [
        f"{key}={getattr(config, key)!r} (the partial run has {saved.get(key)!r})"
        for key in _SAME_ON_RESUME
        if _plain(getattr(config, key)) != _plain(saved.get(key))
    ]
    if different:
        raise UsageError(
            "--resume needs the arguments of the run it continues: "
            + "; ".join(different)
            + ". Use them, or start over with --overwrite."
        )


def _plain(value):
    """JSON's view of a value (tuples become lists), for comparisons with a saved config."""
    return json.loads(json.dumps(value, default=str))


def _train(task, run, out, strategy, policy, verbose, callbacks, resume, backup_every, deterministic):
    """Build, compile, fit and write the run (see `train`), under the current dtype policy; the
    run's arguments are `run`'s."""
    # Build the model and its optimizers inside the strategy's scope (they must live there).
    with get_strategy(strategy).scope():
        try:
            prepared = task.prepare(run)
        except (UsageError, zdata.DataError):
            raise
        except ValueError as e:  # a bad hparam value: a usage error too
            raise UsageError(str(e)) from e
        model = prepared.model
        epochs = run.recipe.epochs if model.trainable_weights else 0
        task.compile(prepared, run, run.recipe.epochs * int(prepared.train_ds.cardinality()))
    config = RunConfig(
        model=run.entry.name,
        task=task.name,
        dataset=run.dataset,
        data_dir=str(run.data_dir) if run.data_dir else os.environ.get(zdata.DATA_DIR_ENV),
        csv=str(run.csv) if run.csv else None,
        column=run.column,
        epochs=epochs,
        batch_size=run.recipe.batch_size,
        seed=run.seed,
        split_seed=run.split_seed,
        hparams={**run.entry.hparams, **run.hparams},
        recipe=run.recipe.to_dict(),
        strategy=strategy or "default",
        precision=policy,
        deterministic=deterministic,
        versions=library_versions(),
    )

    partial = partial_dir(out)
    run_dir, backup_dir = partial / out.name, partial / "backup"
    if resume:
        _check_resumable(config, json.loads((partial / "run.json").read_text()))
    else:
        remove(partial)  # an old partial run, only with overwrite (checked in `train`)
        run_dir.mkdir(parents=True)
        config.write(partial / "run.json")
    task_callbacks = task.callbacks(prepared, run, run_dir)
    train_ds = prepared.train_ds
    backup = BackupAndRestore(
        backup_dir,
        save_freq=backup_every or "epoch",
        data=train_ds if zdata.epoch_order(train_ds) else None,
        callbacks=[c for c in task_callbacks if hasattr(c, "get_state")],
        delete_checkpoint=False,
    )
    if resume:
        state = BackupAndRestore.read_state(backup_dir)
        print(
            f"{run.entry.name}: resuming {partial} from its backup {BackupAndRestore.describe(state)} (of {epochs} epochs)."
        )
    if not epochs:
        # Hand-wired (step) networks have nothing to learn: evaluate them as they are.
        print(f"{run.entry.name}: no trainable weights (hand-wired); evaluating only.")
    start = time.perf_counter()
    try:
        history = fit_resumable(
            model,
            train_ds,
            backup,
            epochs=epochs,
            validation_data=prepared.val_ds,
            # Divergence is checked before the backup is taken, so a backup is never of a broken state.
            callbacks=[*task_callbacks, *callbacks, StopOnDivergence()],
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles
        )
    except DivergenceError as e:
        kept = BackupAndRestore.read_state(backup_dir)
        hint = (
            f"The last good backup ({BackupAndRestore.describe(kept)}) is kept in {partial}: "
            "continue with --resume and a smaller learning rate (--recipe learning_rate=...)."
            if kept
            else f"No backup was taken yet; {partial} is removed."
        )
        if not kept:
            remove(partial)
        raise DivergenceError(f"{e} {hint}") from None
    except BaseException:
        if BackupAndRestore.read_state(backup_dir) is None:
            remove(partial)  # nothing to resume from: leave nothing behind
        raise
    train_seconds = backup.previous_seconds + time.perf_counter() - start
    with _publishing(partial, out):
        hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        if strategy == "multi_worker":
            run_locally(model)
        figures = task.finish(prepared, run, run_dir)
        figures.update(
            train_seconds=round(train_seconds, 3),
            epochs=epochs,
            epochs_trained=len(next(iter(hist.values()), [])),
        )
        if "images_seen" in figures:
            figures["images_per_second"] = round(figures["images_seen"] / max(train_seconds, 1e-9), 1)
        if is_plain_keras_model(model):  # a classifier, regressor, forecaster: plain Keras loads it
            save_with_keras_layers(model, run_dir / "model.keras", training_state=True)
        else:  # a zoo trainer (GAN, VAE, ...): its own class
            model.save(run_dir / "model.keras")
        config.write(run_dir / "config.json")
        write_json(run_dir / "history.json", hist)
        write_json(run_dir / "metrics.json", figures)
        plot_history(
            hist,
            run_dir / "training_curves.png",
            title=f"{run.entry.name} on {run.dataset}",
            panels=task.panels,
            val_label="validation" if task.validation_kwargs(run) else "test",
        )
    return {**figures, "run_dir": str(out)}


class _publishing:
    """Write the finished run into `partial/NAME`, then move it to `out` and remove `partial` (with
    its backup). If writing fails, the partial run stays (its backup is still good: --resume)."""

    def __init__(self, partial, out):
        self.partial, self.out = Path(partial), Path(out)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            remove(self.out)
            os.replace(self.partial / self.out.name, self.out)
            shutil.rmtree(self.partial, ignore_errors=True)
        return False
