"""GAN callbacks for anyone's `fit`: `SampleGrid` and `GANMonitor`.

Everything else (checkpoints, backup and restore, early stopping, CSV logs) is Keras' own.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerazoo.plots import save_image_grid

__all__ = ["SampleGrid", "GANMonitor", "require_tensorboard"]


def require_tensorboard() -> None:
    """Raise a one-line ImportError with the fix when the `tensorboard` package is missing (it is no
    longer a TensorFlow dependency since 2.21)."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(
            'TensorBoard logging needs the tensorboard package: pip install "kerazoo[tensorboard]" '
            "(or pip install tensorboard)."
        )


def _fixed_inputs(gan, num_samples, seed):
    """Fixed noise (and, for a conditional GAN, labels 0..C-1, one row per class)."""
    rng = np.random.default_rng(seed)
    if gan.conditional:
        per_class = max(1, num_samples // gan.num_classes)
        labels = np.repeat(np.arange(gan.num_classes, dtype=np.int32), per_class)
        noise = rng.standard_normal((len(labels), gan.latent_dim)).astype(np.float32)
        return [noise, labels], gan.num_classes
    noise = rng.standard_normal((num_samples, gan.latent_dim)).astype(np.float32)
    return noise, int(np.sqrt(num_samples))


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of samples from fixed noise at the end of every epoch.

    The same noise every epoch, so the grids show the generator's progress: noise at first, then
    recognisable digits, then sharp ones. For a conditional GAN each row is one class.
    Files: `{directory}/grid_epoch_{epoch:03d}.png` (epochs counted from 1).

    With `log_dir`, each grid also goes to TensorBoard as an image (tag `samples`), beside the
    scalars that Keras' own `keras.callbacks.TensorBoard(log_dir)` writes; this needs the
    `tensorboard` package (`pip install "kerazoo[tensorboard]"`).

    Example:
        gan.fit(ds, epochs=20, callbacks=[kerazoo.callbacks.SampleGrid("runs/dcgan/grids")])

    Args:
        directory: where to write the grids (created if missing).
        num_samples: samples per grid (rounded to full rows). Defaults to `64`.
        every: write every `every` epochs (the last epoch is always written). Defaults to `1`.
        seed: seed of the fixed noise. Defaults to `0`.
        log_dir: a TensorBoard log directory for the grids (images under `log_dir/samples`), or None.
    """

    def __init__(self, directory, num_samples=64, every=1, seed=0, log_dir=None):
        super().__init__()
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(
                f"Invalid value for argument `num_samples`. Received: num_samples={num_samples!r}"
            )
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"Invalid value for argument `every`. Expected a positive integer. Received: every={every!r}"
            )
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
        self._inputs, self._rows = _fixed_inputs(self.model, self._num_samples, self._seed)
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
        images = np.asarray(self.model.generator(self._inputs, training=False))
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
        monitor = kerazoo.callbacks.GANMonitor(reference_images=x_real[:256])
        gan.fit(ds, epochs=20, callbacks=[monitor])

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
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"Invalid value for argument `patience`. Received: patience={patience!r}")
        self._reference = reference.reshape(len(reference), -1)
        self._real_pairwise = _mean_pairwise(self._reference)
        self._real_nn = _mean_nearest(self._reference, self._reference, exclude_self=True)
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
        self._inputs, _ = _fixed_inputs(self.model, self._num_samples, self._seed)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        samples = np.asarray(self.model.generator(self._inputs, training=False), dtype=np.float32)
        samples = samples.reshape(len(samples), -1)
        diversity = _mean_pairwise(samples) / max(self._real_pairwise, 1e-12)
        realism = _mean_nearest(samples, self._reference) / max(self._real_nn, 1e-12)
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


def _mean_pairwise(x):
    """Mean Euclidean distance over all pairs of rows."""
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2)[~np.eye(n, dtype=bool)].mean())


def _mean_nearest(x, ref, exclude_self=False):
    """Mean distance from each row of x to its nearest row of ref."""
    d2 = np.maximum(np.sum(x * x, 1)[:, None] + np.sum(ref * ref, 1)[None, :] - 2 * x @ ref.T, 0.0)
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    return float(np.sqrt(d2.min(axis=1)).mean())
