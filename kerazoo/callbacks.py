"""Callbacks for anyone's `fit`: `SampleGrid` and `GANMonitor` for GANs, `WeightHistory` for small
networks.

Everything else (checkpoints, backup and restore, early stopping, CSV logs) is Keras' own.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerazoo._checks import check_positive_int
from kerazoo.plots import save_image_grid
from kerazoo.quality import mean_pairwise_distance, nearest_distances

__all__ = ["SampleGrid", "GANMonitor", "WeightHistory", "fixed_inputs", "require_tensorboard"]


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

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        samples = np.asarray(self.model.generator(self._inputs, training=False), dtype=np.float32)
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
        model.fit(ds, epochs=100, callbacks=[WeightHistory("linear_regression_weight")])
        history.history["w"]  # w after each epoch

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
