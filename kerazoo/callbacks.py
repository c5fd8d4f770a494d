"""Callbacks for anyone's `fit`: `SampleGrid` and `GANMonitor` for GANs, `WeightHistory` for small
networks, `BackupAndRestore` (Keras' own, made whole for GANs and VAEs) and `StopOnDivergence`.

Everything else (checkpoints, early stopping, CSV logs) is Keras' own.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from kerazoo._checks import check_positive_int
from kerazoo.plots import save_image_grid
from kerazoo.quality import mean_pairwise_distance, nearest_distances

__all__ = [
    "EarlyStopping",
    "SampleGrid",
    "GANMonitor",
    "WeightHistory",
    "StepValidation",
    "BackupAndRestore",
    "StopOnDivergence",
    "DivergenceError",
    "ProgressiveGrowing",
    "DenoisingGrid",
    "fit_resumable",
    "fixed_inputs",
    "require_tensorboard",
]


def require_tensorboard() -> None:
    """Raise a one-line ImportError with the fix when the `tensorboard` package is missing (it is no
    longer a TensorFlow dependency since 2.21)."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(
            'TensorBoard logging needs the tensorboard package: pip install "kerazoo[tensorboard]" '
            "(or pip install tensorboard)."
        )


def fixed_inputs(latent_dim: int, num_classes: int | None, num_samples: int, seed: int):
    """`(inputs, rows)`: fixed noise for a sample grid, and its number of rows. For a conditional
    generator (`num_classes` set) the inputs are `[noise, labels]`, labels 0..C-1, one row per class.
    `SampleGrid`, `GANMonitor` and the exported generator's grid use the same draws."""
    rng = np.random.default_rng(seed)
    if num_classes:
        per_class = max(1, num_samples // num_classes)
        labels = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
        noise = rng.standard_normal((len(labels), latent_dim)).astype(np.float32)
        return [noise, labels], num_classes
    noise = rng.standard_normal((num_samples, latent_dim)).astype(np.float32)
    return noise, int(np.sqrt(num_samples))


def _gan_inputs(gan, num_samples, seed):
    return fixed_inputs(gan.latent_dim, gan.num_classes if gan.conditional else None, num_samples, seed)


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of samples from fixed noise at the end of every epoch.

    The same noise every epoch, so the grids show the generator's progress: noise at first, then
    recognisable digits, then sharp ones. For a conditional GAN each row is one class.
    Files: `{directory}/grid_epoch_{epoch:03d}.png` (epochs counted from 1).

    With `log_dir`, each grid also goes to TensorBoard as an image (tag `samples`), beside the
    scalars that Keras' own `keras.callbacks.TensorBoard(log_dir)` writes; this needs the
    `tensorboard` package (`pip install "kerazoo[tensorboard]"`).

    Example:
        ```python
        gan.fit(ds, epochs=20, callbacks=[kerazoo.callbacks.SampleGrid("runs/dcgan/grids")])
        ```

    Args:
        directory: where to write the grids (created if missing).
        num_samples: samples per grid (rounded to full rows). Defaults to `64`.
        every: write every `every` epochs (the last epoch is always written). Defaults to `1`.
        seed: seed of the fixed noise. Defaults to `0`.
        log_dir: a TensorBoard log directory for the grids (images under `log_dir/samples`), or None.
    """

    def __init__(self, directory, num_samples=64, every=1, seed=0, log_dir=None):
        super().__init__()
        check_positive_int("num_samples", num_samples, label="Invalid value for argument `num_samples`:")
        check_positive_int("every", every, label="Invalid value for argument `every`:")
        self.directory = Path(directory)
        self._num_samples = num_samples
        self._every = every
        self._seed = seed
        self._inputs = None
        self.paths = []
        self._log_dir = None if log_dir is None else Path(log_dir)
        self._writer = None
        if log_dir is not None:
            require_tensorboard()

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "generator"):
            raise ValueError("SampleGrid needs a model with a `generator` (a kerazoo.GAN).")
        self._inputs, self._rows = _gan_inputs(self.model, self._num_samples, self._seed)
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self._log_dir / "samples"))

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1
        if (epoch + 1) % self._every and not last:
            return
        self.paths.append(self._save(epoch))

    def _save(self, epoch):
        """Generate from the fixed inputs and write one grid."""
        with self.model.averaged_weights():  # the moving averages where the GAN keeps them (use_ema)
            images = np.asarray(self.model(self._inputs, training=False))  # GAN.call: the generator's images
        path = self.directory / f"grid_epoch_{epoch + 1:03d}.png"
        save_image_grid(images, path, rows=self._rows, value_range=(-1.0, 1.0))
        if self._writer is not None:
            import tensorflow as tf

            from kerazoo.plots import image_grid

            grid = image_grid(images, rows=self._rows, value_range=(-1.0, 1.0))
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()
        return path


class GANMonitor(keras.callbacks.Callback):
    """Watches a GAN for the three classic failure modes and reports them in the log and in History.

    At the end of each epoch it reads `d_real` and `d_fake` from the logs and draws samples from fixed
    noise, then adds to the logs (so to `history.json`):
    - `sample_diversity`: mean pairwise distance between the samples over that between real images
      (about 1 for a healthy generator, near 0 when samples collapse);
    - `sample_realism`: mean distance from each sample to its nearest real image over the same figure
      for real images among themselves (about 1 when samples look like data, large when poor);
    - `d_too_strong`, `g_too_strong`, `mode_collapse`: 1.0 on epochs the condition holds, else 0.0.

    Conditions:
    - discriminator too strong: `d_fake` below `d_fake_floor` (D is sure every sample is fake, so the
      generator's gradient vanishes) for `patience` epochs in a row. Probabilistic losses only.
    - generator too strong: D outputs about 0.5 for everything (`d_real` and `d_fake` within
      `confusion_band` of 0.5) while `sample_realism` stays above `poor_realism`.
    - mode collapse: `sample_diversity` below `collapse_ratio`.
    Each report is printed once when it starts and kept in `self.events` as (epoch, name, message).

    Example:
        ```python
        monitor = kerazoo.callbacks.GANMonitor(reference_images=x_real[:256])
        gan.fit(ds, epochs=20, callbacks=[monitor])
        ```

    Args:
        reference_images: real images, `(N, H, W, C)` in the generator's range, N >= 2.
        num_samples: fixed-noise samples drawn each epoch. Defaults to `128`.
        patience: epochs in a row before "discriminator too strong" is reported. Defaults to `3`.
        d_fake_floor: see above. Defaults to `0.05`.
        confusion_band: see above. Defaults to `0.05`.
        poor_realism: see above. Defaults to `1.5`.
        collapse_ratio: see above. Defaults to `0.2`.
        warmup: epochs at the start during which nothing is reported (an untrained generator's
            samples are all alike and poor). The figures are still logged. Defaults to `0`.
        seed: seed of the fixed noise. Defaults to `0`.
    """

    MODES = ("d_too_strong", "g_too_strong", "mode_collapse")

    def __init__(
        self,
        reference_images,
        num_samples=128,
        patience=3,
        d_fake_floor=0.05,
        confusion_band=0.05,
        poor_realism=1.5,
        collapse_ratio=0.2,
        warmup=0,
        seed=0,
    ):
        super().__init__()
        reference = np.asarray(reference_images, dtype=np.float32)
        if reference.ndim != 4 or len(reference) < 2:
            raise ValueError(
                "Invalid value for argument `reference_images`: expected (N, H, W, C) with N >= 2. "
                f"Received shape {reference.shape}."
            )
        check_positive_int("patience", patience, label="Invalid value for argument `patience`:")
        self._reference = reference.reshape(len(reference), -1)
        self._real_pairwise = mean_pairwise_distance(self._reference)
        self._real_nn = float(nearest_distances(self._reference, self._reference, exclude_self=True).mean())
        self._num_samples = num_samples
        self._patience = patience
        self._d_fake_floor = d_fake_floor
        self._band = confusion_band
        self._poor = poor_realism
        self._collapse = collapse_ratio
        self._warmup = warmup
        self._seed = seed
        self._low_d_fake_epochs = 0
        self._active = set()
        self.events = []

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "generator"):
            raise ValueError("GANMonitor needs a model with a `generator` (a kerazoo.GAN).")
        self._inputs, _ = _gan_inputs(self.model, self._num_samples, self._seed)

    def get_state(self) -> dict:
        """What the monitor carries from epoch to epoch (JSON-ready), for `BackupAndRestore`."""
        return {
            "low_d_fake_epochs": self._low_d_fake_epochs,
            "active": sorted(self._active),
            "events": self.events,
        }

    def set_state(self, state: dict) -> None:
        """Continue from `get_state()`'s result (a resumed run reports what an uninterrupted one would)."""
        self._low_d_fake_epochs = int(state["low_d_fake_epochs"])
        self._active = set(state["active"])
        self.events = [tuple(event) for event in state["events"]]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        samples = np.asarray(self.model(self._inputs, training=False), dtype=np.float32)
        samples = samples.reshape(len(samples), -1)
        diversity = mean_pairwise_distance(samples) / max(self._real_pairwise, 1e-12)
        realism = float(nearest_distances(samples, self._reference).mean()) / max(self._real_nn, 1e-12)
        logs["sample_diversity"] = float(diversity)
        logs["sample_realism"] = float(realism)

        probabilistic = getattr(getattr(self.model, "gan_loss", None), "probabilistic", True)
        d_real, d_fake = logs.get("d_real"), logs.get("d_fake")
        too_strong = False
        if probabilistic and d_fake is not None:
            self._low_d_fake_epochs = self._low_d_fake_epochs + 1 if d_fake < self._d_fake_floor else 0
            too_strong = self._low_d_fake_epochs >= self._patience
        confused = (
            probabilistic
            and d_real is not None
            and d_fake is not None
            and abs(d_real - 0.5) < self._band
            and abs(d_fake - 0.5) < self._band
            and realism > self._poor
        )
        found = {
            "d_too_strong": (
                too_strong,
                f"discriminator too strong: D(G(z)) = {d_fake} < {self._d_fake_floor} "
                f"for {self._low_d_fake_epochs} epochs; the generator gets no gradient",
            ),
            "g_too_strong": (
                confused,
                f"generator too strong: D outputs ~0.5 for everything (D(x) = {d_real}, "
                f"D(G(z)) = {d_fake}) while samples stay poor (realism {realism:.2f})",
            ),
            "mode_collapse": (
                diversity < self._collapse,
                f"mode collapse: samples from different noise are "
                f"nearly identical (diversity {diversity:.3f})",
            ),
        }
        for mode, (present, message) in found.items():
            present = present and epoch >= self._warmup
            logs[mode] = 1.0 if present else 0.0
            if present and mode not in self._active:
                self.events.append((epoch + 1, mode, message))
                print(f"\nGANMonitor, epoch {epoch + 1}: {message}")
            (self._active.add if present else self._active.discard)(mode)


class WeightHistory(keras.callbacks.Callback):
    """Records a layer's weights at the end of every epoch into `logs` (so they land in History).

    Example:
        ```python
        model.fit(ds, epochs=100, callbacks=[WeightHistory("linear_regression_weight")])
        history.history["w"]  # w after each epoch
        ```

    Args:
        layer_name: the Dense layer to watch.
        names: log keys for its kernel (and bias), flattened. Defaults to `("w", "b")`.
    """

    def __init__(self, layer_name: str, names=("w", "b")):
        super().__init__()
        if not isinstance(layer_name, str) or not layer_name:
            raise ValueError(f"`layer_name` must be a layer's name. Received: layer_name={layer_name!r}")
        self._layer_name = layer_name
        self._names = tuple(names)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        values = [float(v) for w in self.model.get_layer(self._layer_name).get_weights() for v in np.ravel(w)]
        for key, value in zip(self._names, values):
            logs[key] = value


class StepValidation(keras.callbacks.Callback):
    """The validation loss every `every` training steps (and at step 0), in `self.steps` and
    `self.losses` (and `self.seconds`, the training time so far): curves per step, finer than
    `fit`'s per-epoch `val_loss`, for comparing optimizers. The evaluation time is not counted.

    Example:
        ```python
        curve = StepValidation(val_ds, every=20)
        model.fit(train_ds, epochs=3, callbacks=[curve])
        plt.plot(curve.steps, curve.losses)
        ```
    """

    def __init__(self, data, every: int = 20):
        super().__init__()
        self.data = data
        self.every = check_positive_int("every", every)
        self.steps, self.losses, self.seconds = [], [], []

    def _record(self, step):
        import time

        paused = time.perf_counter()
        result = self.model.evaluate(self.data, verbose=0, return_dict=True)
        self.steps.append(step)
        self.losses.append(float(result["loss"]))
        self.seconds.append(self._trained)
        self._start += time.perf_counter() - paused  # evaluation is not training time

    def on_train_begin(self, logs=None):
        import time

        self.steps, self.losses, self.seconds = [], [], []
        self._step, self._trained, self._start = 0, 0.0, time.perf_counter()
        self._record(0)

    def on_train_batch_end(self, batch, logs=None):
        import time

        self._step += 1
        self._trained = time.perf_counter() - self._start
        if self._step % self.every == 0:
            self._record(self._step)


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the message names the epoch, step and value."""


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training at once, with a `DivergenceError`, when a logged figure becomes NaN or infinite.

    Keras' `TerminateOnNaN` watches `loss` only and ends `fit` normally, which would let a caller save
    the broken model; this watches every figure (`d_loss` and `g_loss` of a GAN too) after every batch
    and raises, so nothing after `fit` runs. Put it before `BackupAndRestore` in `callbacks`, so the
    diverged state is never backed up: the last backup is the last good state.

    Example:
        ```python
        model.fit(ds, epochs=10, callbacks=[kerazoo.callbacks.StopOnDivergence()])
        ```
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            try:
                value = float(np.asarray(value))
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                self.model.stop_training = True
                raise DivergenceError(
                    f"Training diverged at epoch {getattr(self, '_epoch', 0) + 1}, step {batch + 1}: "
                    f"{name} = {value}."
                )


def _optimizers(model) -> list:
    """`(attribute, optimizer)` for each optimizer a model holds with variables to keep (built ones;
    both of a GAN's), in a fixed order."""
    return [
        (name, value)
        for name, value in sorted(vars(model).items())
        if isinstance(value, keras.optimizers.Optimizer) and value.built
    ]


def _build_optimizers(model) -> None:
    """Create the optimizers' variables before a restore (Keras builds only `model.optimizer`, so a
    GAN's two optimizers would be skipped: keras-team/keras#19389)."""
    if hasattr(model, "build_optimizers"):
        model.build_optimizers()
    elif getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _build_compiled_metrics(model, spec) -> None:
    """Create the variables of `compile(metrics=...)` before a restore: Keras builds them with the
    first training step, after the restore, so a classifier's backup (loss and accuracy means) would
    not match a fresh model's (the loss mean alone). `spec` is the training data's element_spec."""
    metrics = getattr(model, "_compile_metrics", None)
    if spec is None or metrics is None or metrics.built:
        return
    import tensorflow as tf

    model._symbolic_build(
        data_batch=tf.nest.map_structure(lambda s: keras.KerasTensor(s.shape, s.dtype.name), spec)
    )


def _learning_rates(model) -> dict:
    """The current learning rates that are plain values (not schedules), by optimizer attribute."""
    rates = {}
    for name, optimizer in _optimizers(model):
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if not isinstance(inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            rates[name] = float(np.asarray(inner.learning_rate))
    return rates


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, made whole for every kerazoo model, GANs and VAEs included.

    Lifecycle as Keras': a backup at the end of every epoch (and every `save_freq` batches when that
    is an int); when `fit` starts and a backup exists, the training state is restored and `fit`
    continues from there; when `fit` ends, the backup is deleted. What differs:
    - every optimizer's state is restored, both of a GAN's included (Keras builds only
      `model.optimizer` before loading, so a GAN's Adam moments and step counts were silently reset:
      keras-team/keras#19389), and the random seed states (a GAN's noise, dropout) and the metric
      accumulators, which Keras' weights file leaves out;
    - with `data`, the data order is restored: a resumed run sees the same batches, epoch after
      epoch, as an uninterrupted one;
    - a backup taken within an epoch (`save_freq=N`) resumes within that epoch with `fit_resumable`,
      which first trains on the rest of that epoch (the epoch's logged means continue where they
      were); plain `fit` cannot start mid-epoch, so this callback refuses such a backup there when
      given `data` (without `data` it does what Keras' does: that epoch starts over from the backup);
    - the history of finished epochs is kept and put back in front of the resumed `fit`'s History;
    - each backup is written to a new folder and renamed into place, so a kill at any moment (even
      `kill -9` during a write) leaves the last complete backup;
    - a learning rate given anew (a plain value, not a schedule) is kept, not overwritten by the
      backup's: a run that diverged can resume with a smaller one.
    Put it last in `callbacks` (it records the logs that the other callbacks add), after
    `StopOnDivergence`.

    Example:
        ```python
        ds = kerazoo.make_dataset("digits", "train", 64, normalization="symmetric", labels=False,
                                  drop_remainder=True)
        backup = kerazoo.callbacks.BackupAndRestore("runs/backup", data=ds)
        gan.fit(ds, epochs=30, callbacks=[backup])  # run again after a crash: it continues
        ```

    Args:
        backup_dir: the folder for the backup (its own; nothing else may write there).
        save_freq: `"epoch"`, or an int N to also back up every N batches.
        data: the training dataset, when made by `kerazoo.make_dataset` (shuffled): its epoch order is
            restored. Without `data` a resumed run may see other data orders.
        callbacks: other callbacks whose state to back up: those with `get_state()` and
            `set_state(state)`, such as `GANMonitor`.
        delete_checkpoint: delete the backup when `fit` ends. Defaults to `True`.

    Attributes:
        restored: `(epoch, batch)` the last `fit` resumed from (0-based epoch, batches done in it),
            or None.
        previous_seconds: training seconds recorded in the restored backup (0 without one).
    """

    STATE = "state.json"
    VARIABLES = "variables.npz"
    HISTORY = "history.jsonl"

    def __init__(self, backup_dir, save_freq="epoch", data=None, callbacks=(), delete_checkpoint=True):
        if isinstance(save_freq, bool) or (isinstance(save_freq, int) and save_freq < 1):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. Expected either 'epoch' or a positive integer."
            )
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        from kerazoo.data import epoch_order

        self._order = epoch_order(data) if data is not None else None
        self._spec = data.element_spec if data is not None else None
        if data is not None and self._order is None:
            raise ValueError(
                "`data` must be a shuffled dataset made by kerazoo.make_dataset (its epoch order is "
                "what gets restored). Received a dataset without one; leave `data` out instead."
            )
        self._stateful = list(callbacks)
        for callback in self._stateful:
            if not (hasattr(callback, "get_state") and hasattr(callback, "set_state")):
                raise ValueError(
                    f"{type(callback).__name__} has no get_state()/set_state(): it cannot be backed up."
                )
        self._dir = Path(backup_dir)
        self.restored = None
        self.previous_seconds = 0.0

    # -- paths -------------------------------------------------------------------------------

    @property
    def latest(self) -> Path:
        """The folder of the last complete backup (`BACKUP_DIR/latest`)."""
        return self._dir / "latest"

    @classmethod
    def _last_backup(cls, backup_dir):
        """`(folder, state)` of the last complete backup in `backup_dir` (`latest`, else `previous`,
        which a kill between the two renames of a save leaves), or `(None, None)`."""
        for name in ("latest", "previous"):
            path = Path(backup_dir) / name / cls.STATE
            if path.is_file():
                try:
                    return path.parent, json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
        return None, None

    @classmethod
    def read_state(cls, backup_dir) -> dict | None:
        """The `state.json` of the last complete backup in `backup_dir`, or None if there is none."""
        return cls._last_backup(backup_dir)[1]

    @staticmethod
    def describe(state: dict) -> str:
        """Where a backup's `state` stands, in words: `after epoch 3` or `in epoch 2, after step 14`."""
        if state["batch"]:
            return f"in epoch {state['epoch'] + 1}, after step {state['batch']}"
        return f"after epoch {state['epoch']}"

    # -- Keras hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._history_lines = 0  # lines of `history.jsonl` that the current backup counts
        self._resume_batch = 0
        self._metric_values = None
        self._started = time.perf_counter()
        self._epoch = 0
        self._batches_done = 0
        self._steps = 0  # steps of this fit: a backup every `save_freq` of them
        self._load_model()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        within = self._order is not None and self.restored and epoch == self.restored[0]
        skip = self._resume_batch if within else 0
        self._batches_done = skip
        if self._order is not None:
            self._order.seek(epoch)
        if skip and self._metric_values is not None:
            # `fit` reset the metrics when the epoch began: continue the epoch's means.
            for variable, value in zip(self.model.metrics_variables, self._metric_values):
                variable.assign(value)

    def on_train_batch_end(self, batch, logs=None):
        self._batches_done += 1
        self._steps += 1
        steps = self._order.steps if self._order is not None else self.params.get("steps")
        if (
            self.save_freq == "epoch"
            or self._steps % self.save_freq
            or (steps and self._batches_done >= steps)
        ):
            return  # not due, or the epoch's last batch (the end-of-epoch backup follows)
        self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        # One line per finished epoch, appended (a backup counts its lines): O(1) per epoch.
        self._dir.mkdir(parents=True, exist_ok=True)
        entry = {"epoch": epoch, "logs": {k: _plain(v) for k, v in (logs or {}).items()}}
        with open(self._dir / self.HISTORY, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self._history_lines += 1
        self._batches_done = 0
        self._current_epoch = epoch + 1
        self._save_model()  # every epoch, also when backing up every N batches (Keras' does not then)

    def on_train_end(self, logs=None):
        history = getattr(self.model, "history", None)
        if self.restored and history is not None and self._restored_history:
            old = self._restored_history
            keys = dict.fromkeys(key for entry in old for key in entry["logs"])
            merged = {key: [entry["logs"].get(key) for entry in old] for key in keys}
            for key, values in history.history.items():
                merged[key] = merged.get(key, [None] * len(old)) + list(values)
            history.history = merged
            history.epoch = [entry["epoch"] for entry in old] + list(history.epoch)
        self.model._initial_epoch = None  # Keras leaves it set, which would skew a later fit
        super().on_train_end(logs)

    # -- backup and restore ----------------------------------------------------------------------

    def _groups(self) -> dict:
        """The variables a backup holds, by group."""
        groups = {"model": list(self.model.variables), "metrics": list(self.model.metrics_variables)}
        for name, optimizer in _optimizers(self.model):
            groups[f"optimizer:{name}"] = list(optimizer.variables)
        return groups

    def _save_model(self):
        epoch, batch = (self._epoch, self._batches_done) if self._batches_done else (self._current_epoch, 0)
        state = {
            "epoch": epoch,
            "batch": batch,
            "seconds": self.previous_seconds + time.perf_counter() - self._started,
            "history_lines": self._history_lines,
            "callbacks": [],
        }
        arrays = {
            f"{group}/{i}": np.asarray(variable)
            for group, variables in self._groups().items()
            for i, variable in enumerate(variables)
        }
        for k, callback in enumerate(self._stateful):  # a state's "arrays" go into the .npz
            callback_state = dict(callback.get_state())
            for j, array in enumerate(callback_state.pop("arrays", None) or []):
                arrays[f"callback{k}/{j}"] = np.asarray(array)
            state["callbacks"].append(callback_state)
        if not all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f"):
            return  # a broken state is never backed up: the last backup stays the last good one
        self._dir.mkdir(parents=True, exist_ok=True)
        fresh, previous = self._dir / ".next", self._dir / "previous"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        np.savez(fresh / self.VARIABLES, **arrays)
        (fresh / self.STATE).write_text(json.dumps(state))
        shutil.rmtree(previous, ignore_errors=True)
        if self.latest.exists():
            os.replace(self.latest, previous)
        os.replace(fresh, self.latest)
        shutil.rmtree(previous, ignore_errors=True)

    def _load_model(self):
        self._restored_history = None
        folder, state = self._last_backup(self._dir)
        if folder is None:
            return
        _build_optimizers(self.model)
        _build_compiled_metrics(self.model, self._spec)
        rates = _learning_rates(self.model)
        with np.load(folder / self.VARIABLES, allow_pickle=False) as saved:
            for group, variables in self._groups().items():
                keys = [k for k in saved.files if k.startswith(group + "/")]
                if len(keys) != len(variables):
                    raise ValueError(
                        f"The backup in {folder} does not match this model: it holds {len(keys)} "
                        f"variables for {group!r}, the model {len(variables)}. Was it made by another "
                        "model or optimizer? Remove it to start over."
                    )
                for i, variable in enumerate(variables):
                    value = saved[f"{group}/{i}"]
                    if tuple(value.shape) != tuple(variable.shape):
                        raise ValueError(
                            f"The backup in {folder} does not match this model: {variable.path} has "
                            f"shape {tuple(variable.shape)}, the backup {tuple(value.shape)}."
                        )
                    variable.assign(value)
            self._metric_values = [saved[f"metrics/{i}"] for i in range(len(self.model.metrics_variables))]
            callback_arrays = [
                [saved[key] for key in sorted(saved.files, key=_index) if key.startswith(f"callback{k}/")]
                for k in range(len(self._stateful))
            ]
        for name, rate in rates.items():  # a learning rate given anew wins over the backup's
            getattr(self.model, name).learning_rate = rate
        for k, (callback, callback_state) in enumerate(zip(self._stateful, state.get("callbacks", []))):
            callback.set_state({**callback_state, "arrays": callback_arrays[k]})
        self.restored = (int(state["epoch"]), int(state["batch"]))
        self._resume_batch = int(state["batch"])
        self.previous_seconds = float(state.get("seconds", 0.0))
        self._restored_history = self._read_history(int(state["history_lines"]))
        self._history_lines = len(self._restored_history)
        self._current_epoch = int(state["epoch"])
        self.model._initial_epoch = int(state["epoch"])
        rest = self._order.steps - self._resume_batch if self._order is not None else None
        if self._resume_batch and rest is not None and self.params.get("steps") != rest:
            raise ValueError(
                f"The backup in {folder} was taken within epoch {state['epoch'] + 1} (after "
                f"{self._resume_batch} batches): resume it with kerazoo.callbacks.fit_resumable, "
                "which trains on the rest of that epoch first (plain fit cannot start mid-epoch)."
            )

    def _read_history(self, lines: int) -> list:
        """The first `lines` epochs of `history.jsonl` (the ones the restored backup counts); the file
        is cut to them, so epochs logged after that backup are not kept twice."""
        path = self._dir / self.HISTORY
        kept = path.read_text().splitlines()[:lines] if path.is_file() else []
        if len(kept) != lines:
            raise ValueError(
                f"The backup in {self._dir} is incomplete: its history has {len(kept)} of {lines} epochs."
            )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, path)
        return [json.loads(line) for line in kept]


def fit_resumable(model, data, backup: BackupAndRestore, *, epochs: int, callbacks=(), **fit_kwargs):
    """`model.fit(data, epochs=epochs, callbacks=[*callbacks, backup])`, resuming exactly from
    `backup`'s last backup, including one taken within an epoch: then it first fits the rest of that
    epoch (`EpochOrder.rest_of_epoch`), then the following epochs. Returns the History of all epochs.

    Example:
        ```python
        ds = kerazoo.make_dataset("mnist", "train", 64, normalization="symmetric", labels=False,
                                  drop_remainder=True)
        backup = kerazoo.callbacks.BackupAndRestore("runs/backup", save_freq=200, data=ds)
        kerazoo.callbacks.fit_resumable(gan, ds, backup, epochs=15)  # again after a crash
        ```

    Args:
        model: a compiled model.
        data: a shuffled dataset made by `kerazoo.make_dataset` (the one `backup` was given).
        backup: the `BackupAndRestore` callback (put last).
        epochs, callbacks, **fit_kwargs: as for `fit`.
    """
    from kerazoo.data import epoch_order

    order = epoch_order(data)
    state = backup.read_state(backup.backup_dir)
    callbacks = [*callbacks, backup]
    if order is not None and state and state["batch"]:
        import warnings

        epoch, batch = int(state["epoch"]), int(state["batch"])
        delete, backup.delete_checkpoint = backup.delete_checkpoint, False  # the next fit needs it
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*shuffle=True.*")
                model.fit(
                    order.rest_of_epoch(epoch, batch), epochs=epoch + 1, callbacks=callbacks, **fit_kwargs
                )
        finally:
            backup.delete_checkpoint = delete
    return model.fit(data, epochs=epochs, callbacks=callbacks, **fit_kwargs)


def _index(key: str) -> int:
    """The number after the last `/` of a backup array's key (`callback0/12` -> 12)."""
    return int(key.rsplit("/", 1)[1])


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` that `BackupAndRestore` backs up (its counters, its best figure and, with
    `restore_best_weights`, the best epoch's weights): a resumed run stops, and keeps the weights,
    where an uninterrupted one would. `kerazoo train` uses it for a recipe's `early_stopping`.

    Example:
        ```python
        stop = kerazoo.callbacks.EarlyStopping("val_accuracy", patience=8, restore_best_weights=True)
        backup = kerazoo.callbacks.BackupAndRestore("runs/backup", callbacks=[stop])
        model.fit(train_ds, validation_data=val_ds, epochs=30, callbacks=[stop, backup])
        ```
    """

    def get_state(self) -> dict:
        """The state carried from epoch to epoch; `arrays` (the best weights) go to the backup's .npz."""
        return {
            "wait": int(self.wait),
            "stopped_epoch": int(self.stopped_epoch),
            "best": None if self.best is None else float(self.best),
            "best_epoch": int(self.best_epoch),
            "arrays": list(self.best_weights) if self.best_weights is not None else [],
        }

    def set_state(self, state: dict) -> None:
        """Continue from `get_state()`'s result."""
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best, self.best_epoch = state["best"], int(state["best_epoch"])
        self.best_weights = list(state["arrays"]) if state.get("arrays") else None


def _plain(value):
    """A log value as a JSON-ready Python number."""
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return str(value)


class ProgressiveGrowing(keras.callbacks.Callback):
    """Grows a `ProGAN` during `fit`: before each step, moves it to the phase of the images shown so
    far (a new phase: optimizers reset, the step traced anew). `ProGAN.fit` adds one unless given.

    It also times each phase (`phase_figures()`: images, seconds and images/s per phase, carried
    across a resumed run by `kerazoo.callbacks.BackupAndRestore`) and, with `directory`, writes a grid
    of samples from fixed noise at the end of each phase and of training, upsampled to the full
    size: `phase{N}_{R}x{R}[_fade].png`.

    Args:
        directory: where to write the phase grids, or None.
        num_samples: samples per grid. Defaults to `64`.
        seed: seed of the fixed noise. Defaults to `0`.
    """

    def __init__(self, directory=None, num_samples=64, seed=0):
        super().__init__()
        self.directory = None if directory is None else Path(directory)
        self._num_samples = check_positive_int("num_samples", num_samples)
        self._seed = seed
        self.paths = []
        self._timings = {}  # phase index -> [images, seconds]
        self._mark = None  # (time, images_seen) where the current phase's timing resumed

    def on_train_begin(self, logs=None):
        from kerazoo.trainers.progan import ProGAN

        if not isinstance(self.model, ProGAN):
            raise ValueError(f"ProgressiveGrowing grows a ProGAN. Received: {type(self.model).__name__}")
        if self.model.phase_images is None:
            raise ValueError("Compile the ProGAN first: compile(phase_images=...) sets its schedule.")
        self._mark = None

    def on_train_batch_begin(self, batch, logs=None):
        model = self.model
        shown = int(model.images_seen.numpy())
        if self._mark is None:  # the first step of this fit (after any restore)
            self._mark = (time.perf_counter(), shown)
        before = model.phase
        if model.grow_to(shown):
            self._close(before, shown)
            self._save(before)
            model.make_train_function(force=True)

    def on_train_end(self, logs=None):
        if self._mark is not None:
            self._close(self.model.phase, int(self.model.images_seen.numpy()))
        self._save(self.model.phase)

    def get_state(self) -> dict:
        """The phase timings so far (JSON-ready), the running phase's included."""
        timings = {k: list(v) for k, v in self._timings.items()}
        if self._mark is not None:
            images, seconds = self._segment(int(self.model.images_seen.numpy()))
            done = timings.setdefault(self.model.phase.index, [0, 0.0])
            done[0], done[1] = done[0] + images, done[1] + seconds
        return {"timings": {str(k): v for k, v in timings.items()}}

    def set_state(self, state: dict) -> None:
        """Continue from `get_state()`'s result (the phase timings of a resumed run)."""
        self._timings = {int(k): list(v) for k, v in state.get("timings", {}).items()}

    def phase_figures(self) -> list:
        """Per phase trained: its label, the real images shown, seconds and images per second."""
        phases = {p.index: p for p in self.model.phases}
        return [
            dict(
                phase=index + 1,
                label=phases[index].label,
                images=int(images),
                seconds=round(seconds, 3),
                images_per_second=round(images / max(seconds, 1e-9), 1),
            )
            for index, (images, seconds) in sorted(self._timings.items())
        ]

    def _segment(self, shown):
        started, at = self._mark
        return shown - at, time.perf_counter() - started

    def _close(self, phase, shown):
        images, seconds = self._segment(shown)
        done = self._timings.setdefault(phase.index, [0, 0.0])
        done[0], done[1] = done[0] + images, done[1] + seconds
        self._mark = (time.perf_counter(), shown)

    def _save(self, phase):
        if self.directory is None:
            return
        model = self.model
        current = model.phase
        if phase.index != current.index:  # the phase that just ended
            model._set_phase(phase.index)
        try:
            inputs, rows = fixed_inputs(model.latent_dim, None, self._num_samples, self._seed)
            images = np.asarray(model(inputs, training=False), dtype=np.float32)
        finally:
            model._set_phase(current.index)
        self.directory.mkdir(parents=True, exist_ok=True)
        suffix = "_fade" if phase.fade else ""
        path = self.directory / f"phase{phase.index + 1}_{phase.resolution}x{phase.resolution}{suffix}.png"
        save_image_grid(images, path, rows=rows, value_range=(-1.0, 1.0))
        self.paths.append(path)


class DenoisingGrid(keras.callbacks.Callback):
    """Saves, at the end of every epoch, a grid of a diffusion model's samples from fixed noise and a
    picture of their denoising trajectories (each row one sample, from noise on the left to the image).

    Samples are drawn by DDIM with the weights' moving average where the optimizer keeps one. Files:
    `{directory}/grid_epoch_{epoch:03d}.png` and `{directory}/trajectory_epoch_{epoch:03d}.png`.

    Example:
        ```python
        model.fit(ds, epochs=40, callbacks=[kerazoo.callbacks.DenoisingGrid("runs/ddpm/grids")])
        ```

    Args:
        directory: where to write the pictures (created if missing).
        num_samples: samples per grid. Defaults to `64` (`100`, ten a class, for a conditional model).
        steps: DDIM steps. Defaults to `25`.
        guidance: classifier-free guidance weight for a conditional model. Defaults to `1.0`.
        frames: columns of the trajectory picture. Defaults to `8`.
        seed: seed of the fixed noise. Defaults to `0`.
    """

    def __init__(self, directory, num_samples=None, steps=25, guidance=1.0, frames=8, seed=0):
        super().__init__()
        if num_samples is not None:
            check_positive_int("num_samples", num_samples, label="Invalid value for argument `num_samples`:")
        check_positive_int("steps", steps, label="Invalid value for argument `steps`:")
        check_positive_int("frames", frames, label="Invalid value for argument `frames`:")
        self.directory = Path(directory)
        self._num_samples, self._steps, self._guidance, self._frames, self._seed = (
            num_samples,
            steps,
            guidance,
            frames,
            seed,
        )
        self.paths = []

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "schedule"):
            raise ValueError("DenoisingGrid needs a diffusion model (kerazoo.trainers.Diffusion).")
        self.directory.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        self.paths.append(
            save_denoising(
                self.model,
                self.directory,
                f"epoch_{epoch + 1:03d}",
                self._num_samples,
                self._steps,
                self._guidance,
                self._frames,
                self._seed,
            )
        )


def save_denoising(model, directory, tag, num_samples=None, steps=25, guidance=1.0, frames=8, seed=0):
    """Write `grid_{tag}.png` (samples from fixed noise; a row per class for a conditional model) and
    `trajectory_{tag}.png` (a row per sample, noise to image) into `directory`; returns the grid's
    path."""
    directory = Path(directory)
    labels = None
    if model.conditional:
        per_class = max(1, (num_samples or 10 * model.num_classes) // model.num_classes)
        labels = np.repeat(np.arange(model.num_classes), per_class)
        n, rows = len(labels), model.num_classes
    else:
        n = num_samples or 64
        rows = max(1, int(math.sqrt(n)))
    with model.averaged_weights():
        images, path = model.sample(
            n,
            steps,
            seed=seed,
            labels=labels,
            guidance=guidance if model.conditional else 1.0,
            trajectory=True,
        )
    grid = directory / f"grid_{tag}.png"
    save_image_grid(images, grid, rows=rows, value_range=(-1.0, 1.0))
    picks = np.unique(np.round(np.linspace(0, len(path) - 1, frames)).astype(int))
    shown = min(8, n) if labels is None else model.num_classes
    index = np.arange(shown) if labels is None else np.arange(model.num_classes) * (n // model.num_classes)
    strip = np.stack([np.clip(path[p][index], -1, 1) for p in picks], axis=1).reshape(-1, *images.shape[1:])
    save_image_grid(strip, directory / f"trajectory_{tag}.png", rows=len(index), value_range=(-1.0, 1.0))
    return grid
