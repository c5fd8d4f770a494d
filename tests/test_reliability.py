"""Reliability: resume after kill -9, the GAN optimizers' state across a restore, divergence, determinism."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest
from conftest import Interrupt

import kerazoo
from kerazoo.callbacks import BackupAndRestore, DivergenceError, StopOnDivergence, fit_resumable
from kerazoo.cli import main

SMALL_GAN = ["--set", "generator_units=32,32", "--set", "discriminator_units=32"]


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _small_gan(seed=0, ema=False):
    keras.utils.set_random_seed(seed)
    gan = kerazoo.build("dcgan", width=8, seed=seed)
    # With ema, the generator's moving average, which each fit swaps in at its end (fit_resumable's
    # second fit restores the raw weights from the backup: the resume stays exact).
    gan.compile(g_optimizer=kerazoo.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True) if ema else None)
    ds = kerazoo.make_dataset(
        "digits", "train", 64, normalization="symmetric", labels=False, drop_remainder=True, seed=seed
    )
    return gan, ds


def _state(gan):
    """Everything a resumed GAN must get back: weights, seed state, both optimizers' variables."""
    return [v.numpy() for v in gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables]


def _fit_one_epoch_keeping_the_backup(gan, ds, backup_dir):
    backup = BackupAndRestore(backup_dir, delete_checkpoint=False)
    gan.fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[backup])


def test_gan_optimizers_state_survives_a_restore_without_warnings(tmp_path):
    gan, ds = _small_gan()
    _fit_one_epoch_keeping_the_backup(gan, ds, tmp_path)
    before = {
        name: [v.numpy() for v in getattr(gan, name).variables] for name in ("d_optimizer", "g_optimizer")
    }
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 22  # 22 steps, g_steps=1

    fresh, ds = _small_gan()
    assert not fresh.d_optimizer.built
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras' "Skipping variable loading for optimizer" would fail here
        _fit_one_epoch_keeping_the_backup(fresh, ds, tmp_path)  # restores; the epoch is done already
    for name, values in before.items():
        after = [v.numpy() for v in getattr(fresh, name).variables]
        assert len(after) == len(values) > 2  # iterations, learning rate, Adam moments
        assert all(np.array_equal(a, b) for a, b in zip(after, values)), name
    assert int(fresh.d_optimizer.iterations) == 22
    assert _same_weights(_weights(fresh), _weights(gan))


@pytest.mark.parametrize("epoch, batch, ema", [(1, 0, False), (1, 10, False), (1, 10, True)])
def test_resume_matches_an_uninterrupted_fit_bit_for_bit(tmp_path, epoch, batch, ema):
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    gan, ds = _small_gan(ema=ema)
    history = gan.fit(
        ds, epochs=2, verbose=0, shuffle=False, callbacks=[BackupAndRestore(tmp_path / "a", data=ds)]
    )
    reference, reference_history = _state(gan), history.history

    gan, ds = _small_gan(ema=ema)
    interrupt = Interrupt(epoch, batch)
    with pytest.raises(KeyboardInterrupt):
        gan.fit(
            ds,
            epochs=2,
            verbose=0,
            shuffle=False,
            callbacks=[interrupt, BackupAndRestore(tmp_path / "b", save_freq=4, data=ds)],
        )
    state = BackupAndRestore.read_state(tmp_path / "b")
    assert (state["epoch"], state["batch"]) == ((1, 6) if batch else (1, 0))  # every 4 steps: 24, 28

    gan, ds = _small_gan(ema=ema)
    backup = BackupAndRestore(tmp_path / "b", save_freq=4, data=ds)
    history = fit_resumable(gan, ds, backup, epochs=2, verbose=0, shuffle=False)
    assert history.history == reference_history  # the interrupted epoch's means included
    assert all(np.array_equal(a, b) for a, b in zip(_state(gan), reference))
    assert not (tmp_path / "b").exists()  # a finished fit leaves no backup


def test_plain_fit_refuses_a_backup_taken_within_an_epoch(tmp_path):
    gan, ds = _small_gan()
    with pytest.raises(KeyboardInterrupt):
        gan.fit(
            ds,
            epochs=2,
            verbose=0,
            callbacks=[Interrupt(0, 6), BackupAndRestore(tmp_path, save_freq=5, data=ds)],
        )
    gan, ds = _small_gan()
    with pytest.raises(ValueError, match="fit_resumable"):
        gan.fit(ds, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path, save_freq=5, data=ds)])


def test_backup_and_restore_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
        BackupAndRestore(tmp_path, save_freq=0)
    with pytest.raises(ValueError, match="made by kerazoo.make_dataset"):
        BackupAndRestore(tmp_path, data=kerazoo.make_dataset("digits", "test", 8))
    with pytest.raises(ValueError, match="get_state"):
        BackupAndRestore(tmp_path, callbacks=[keras.callbacks.History()])


def test_a_backup_of_another_model_is_refused(tmp_path):
    gan, ds = _small_gan()
    gan.fit(ds, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)])
    other = kerazoo.build("gan", generator_units=(8,), discriminator_units=(8,))
    other.compile()
    with pytest.raises(ValueError, match="does not match this model"):
        other.fit(ds, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


def test_stop_on_divergence_raises_with_epoch_step_and_value():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e30), "mse")
    x = np.linspace(0, 1, 64).reshape(-1, 1).astype("float32")
    with pytest.raises(DivergenceError, match=r"Training diverged at epoch 1, step \d+: loss = (nan|inf)"):
        model.fit(x, 1e20 * x, batch_size=8, epochs=2, verbose=0, callbacks=[StopOnDivergence()])


def test_divergence_exits_3_with_one_line_and_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "gan",
        *SMALL_GAN,
        "--epochs",
        "2",
        "--recipe",
        "learning_rate=1e30",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Training diverged at epoch 1" in err and "nan" in err
    assert list(tmp_path.iterdir()) == []  # no run, and no partial run (no backup was taken yet)


class _Poison(keras.callbacks.Callback):
    """Makes the generator's weights NaN when epoch `epoch` begins (a divergence, on cue)."""

    def __init__(self, epoch):
        super().__init__()
        self._epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self._epoch:
            weights = self.model.generator.get_weights()
            self.model.generator.set_weights([np.full_like(w, np.nan) for w in weights])


def test_divergence_keeps_the_last_good_backup_and_resume_takes_a_new_learning_rate(tmp_path):
    out = tmp_path / "run"
    options = dict(
        hparams={"generator_units": (32,), "discriminator_units": (32,)}, epochs=3, out=out, verbose=0
    )
    with pytest.raises(DivergenceError, match="epoch 2, step 1.*after epoch 1.*--resume"):
        kerazoo.train("gan", callbacks=[_Poison(1)], **options)
    partial = tmp_path / ".run.partial"
    assert not out.exists() and BackupAndRestore.read_state(partial / "backup")["epoch"] == 1
    result = kerazoo.train("gan", resume=True, recipe={"learning_rate": 1e-4}, **options)
    assert result["epochs"] == 3 and not partial.exists()
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["learning_rate"] == 1e-4
    history = json.loads((out / "history.json").read_text())
    assert len(history["d_loss"]) == 3 and all(np.isfinite(history["d_loss"]))


def test_partial_runs_are_reported_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "gan", *SMALL_GAN, "--epochs", "2", "--out", str(out), "--quiet"]
    assert main([*base, "--resume"]) == 2
    assert "Nothing to resume" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        kerazoo.train(
            "gan",
            hparams={"generator_units": (32, 32), "discriminator_units": 32},
            epochs=2,
            out=out,
            verbose=0,
            callbacks=[Interrupt(1, 3)],
        )
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "A partial run" in err and "after epoch 1" in err and "--resume" in err
    assert main([*base, "--seed", "1", "--resume"]) == 2
    assert "seed=1 (the partial run has 0)" in capsys.readouterr().err
    assert main([*base, "--resume"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert (out / "model.keras").is_file() and not (tmp_path / ".run.partial").exists()


@pytest.mark.parametrize(
    "name, hparams",
    [
        ("cnn", {}),
        ("vae", {}),
        ("gan", {"generator_units": (32,), "discriminator_units": (32,)}),
    ],
)
def test_same_arguments_give_the_same_weights(tmp_path, name, hparams):
    runs = [
        kerazoo.train(name, epochs=1, hparams=hparams, out=tmp_path / str(i), verbose=0) for i in range(2)
    ]
    models = [kerazoo.load_model(os.path.join(r["run_dir"], "model.keras")) for r in runs]
    assert _same_weights(_weights(models[0]), _weights(models[1]))
    assert json.loads((tmp_path / "0" / "config.json").read_text())["deterministic"] is True


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume_ends_like_an_uninterrupted_run(tmp_path):
    """A real `kerazoo train` subprocess, killed with SIGKILL within its second epoch."""
    base = [
        sys.executable,
        "-m",
        "kerazoo.cli",
        "train",
        "gan",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--backup-every",
        "7",
        "--quiet",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [*base, "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    state = None
    while time.time() < deadline and proc.poll() is None:
        state = BackupAndRestore.read_state(tmp_path / ".killed.partial" / "backup")
        if state and state["epoch"] >= 1 and state["batch"] > 0:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    resumed = subprocess.run([*base, "--out", str(out), "--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout and f"in epoch {state['epoch'] + 1}, after step" in resumed.stdout
    # The uninterrupted run, in this process (the same code and arguments: `kerazoo.train`).
    kerazoo.train("gan", epochs=3, batch_size=16, backup_every=7, out=tmp_path / "whole", verbose=0)

    for name in ("history.json",):
        assert (out / name).read_text() == (tmp_path / "whole" / name).read_text()
    whole, killed = (kerazoo.load_model(p / "model.keras") for p in (tmp_path / "whole", out))
    assert _same_weights(_weights(whole), _weights(killed))
    assert not (tmp_path / ".killed.partial").exists()
