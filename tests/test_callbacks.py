"""SampleGrid writes its grids; GANMonitor reports each failure mode when it is provoked."""

import keras
import numpy as np
import pytest
from keras import layers
from test_gan import TINY, tiny_gan, tiny_images

from kerazoo.callbacks import GANMonitor, SampleGrid
from kerazoo.trainers.gan import GAN, LOSSES


def test_sample_grid_writes_a_png_per_epoch(tmp_path):
    gan = tiny_gan()
    gan.compile()
    callback = SampleGrid(tmp_path / "grids", num_samples=16)
    gan.fit(tiny_images()[0], batch_size=32, epochs=3, verbose=0, callbacks=[callback])
    names = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert names == ["grid_epoch_001.png", "grid_epoch_002.png", "grid_epoch_003.png"]
    assert (tmp_path / "grids" / "grid_epoch_003.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_grid_conditional_has_one_row_per_class(tmp_path):
    import matplotlib.pyplot as plt

    gan = tiny_gan(conditional=True)
    gan.compile()
    x, y = tiny_images()
    callback = SampleGrid(tmp_path, num_samples=12, every=5)
    gan.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[callback])
    assert [p.name for p in callback.paths] == ["grid_epoch_002.png"]  # the last epoch is always written
    image = plt.imread(callback.paths[0])
    rows, cols = 3, 4  # 3 classes x 4 samples of 8x8, 2-pixel gaps, enlarged by the same factor
    assert image.shape[0] * (cols * 10 + 2) == image.shape[1] * (rows * 10 + 2)


def test_sample_grid_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: every=0"):
        SampleGrid("x", every=0)


def test_monitor_rejects_bad_reference_images():
    with pytest.raises(ValueError, match=r"Received shape \(8, 8\)"):
        GANMonitor(np.zeros((8, 8)))


def _run(gan, epochs=4, n=128, **monitor_kwargs):
    x, _ = tiny_images(n)
    monitor = GANMonitor(x, num_samples=32, **monitor_kwargs)
    history = gan.fit(x, batch_size=32, epochs=epochs, verbose=0, callbacks=[monitor]).history
    return monitor, history


def test_monitor_reports_discriminator_too_strong():
    # Freeze the generator and let a fast discriminator win: D(G(z)) falls to ~0 and stays there.
    gan = tiny_gan()
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.SGD(0.0))
    monitor, history = _run(gan, epochs=8, n=1024, patience=3)
    assert "d_too_strong" in [mode for _, mode, _ in monitor.events]
    assert history["d_too_strong"][-1] == 1.0 and history["d_too_strong"][0] == 0.0


def test_monitor_reports_generator_too_strong():
    # A discriminator that cannot tell anything apart (zero logits, frozen) says 0.5 to all, while
    # the generator, getting no signal, keeps emitting its initial noise.
    gan = tiny_gan()
    for w in gan.discriminator.weights:
        w.assign(np.zeros(w.shape, np.float32))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    monitor, history = _run(gan, epochs=2)
    assert [mode for _, mode, _ in monitor.events] == ["g_too_strong"]
    assert history["sample_realism"][-1] > 1.5


def test_monitor_reports_mode_collapse():
    # A generator that ignores its noise: every sample is the same image.
    noise = keras.Input((8,))
    zero = layers.Dense(64, kernel_initializer="zeros", trainable=False, use_bias=False)(noise)
    x = layers.Dense(64, activation="tanh")(zero)
    g = keras.Model(noise, layers.Reshape(TINY)(x))
    gan = GAN(g, tiny_gan().discriminator)
    gan.compile()
    monitor, history = _run(gan, epochs=1)
    assert "mode_collapse" in [mode for _, mode, _ in monitor.events]
    assert history["sample_diversity"][0] < 0.05


def test_monitor_is_quiet_on_real_looking_diverse_samples():
    # A stand-in "GAN" whose generator returns real images: healthy by every measure.
    x, _ = tiny_images(128)

    class RealImages:
        conditional, latent_dim = False, 8
        gan_loss = LOSSES["non_saturating"]

        def generator(self, noise, training=False):
            return x[::2][: len(noise)]  # both modes

        __call__ = generator  # GAN.call: the generator's images

    monitor = GANMonitor(x, num_samples=64)
    monitor.set_model(RealImages())
    monitor.on_train_begin()
    logs = {"d_real": 0.7, "d_fake": 0.3}
    monitor.on_epoch_end(0, logs)
    assert monitor.events == []
    assert logs["sample_realism"] < 1.0 and logs["sample_diversity"] > 0.5
    assert logs["d_too_strong"] == logs["g_too_strong"] == logs["mode_collapse"] == 0.0


def test_tensorboard_gets_scalars_and_sample_images(tmp_path):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    import kerazoo

    logs = tmp_path / "tb"
    kerazoo.train("dcgan", epochs=2, out=tmp_path / "run", verbose=0, hparams={"width": 8}, tensorboard=logs)
    mux = EventMultiplexer().AddRunsFromDirectory(str(logs))
    mux.Reload()
    runs = mux.Runs()
    scalars = {tag for run in runs.values() for tag in run.get("tensors", []) + run.get("scalars", [])}
    assert {"epoch_d_loss", "epoch_g_loss", "epoch_d_real", "epoch_d_fake"} <= scalars
    images = mux.Tensors("samples", "samples")
    assert [event.step for event in images] == [1, 2]


def test_tensorboard_missing_is_one_clear_error(tmp_path, monkeypatch):
    import importlib.util

    import kerazoo
    from kerazoo.training import UsageError

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a),
    )
    with pytest.raises(UsageError, match=r'pip install "kerazoo\[tensorboard\]"'):
        kerazoo.train("dcgan", epochs=1, out=tmp_path / "run", verbose=0, tensorboard=tmp_path / "tb")
    assert not (tmp_path / "run").exists()
