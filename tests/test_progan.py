"""ProGAN: each mechanic by hand (fade-in, minibatch stddev, equalized learning rate, pixel norm),
growth that keeps the trained weights, the schedule in history, resume of phase and alpha, bad
schedules and resolutions."""

import json

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.callbacks import BackupAndRestore, fit_resumable
from kerazoo.cli import main
from kerazoo.models.progan import (
    EqualizedConv2D,
    EqualizedDense,
    Fade,
    MinibatchStdDev,
    PixelNorm,
    resolutions,
)
from kerazoo.tasks import UsageError
from kerazoo.trainers.progan import ProGAN

TINY = dict(width=4, max_width=8)


def _tiny(phase_images=128, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    gan = kerazoo.build("progan", seed=seed, **TINY, **kwargs)
    gan.compile(
        loss="wasserstein_gp_drift",
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99),
        phase_images=phase_images,
    )
    ds = kerazoo.make_dataset(
        "digits", "train", 64, normalization="symmetric", labels=False, drop_remainder=True, seed=seed
    )
    return gan, ds


def _fade_layer(model):
    (layer,) = [layer for layer in model.layers if isinstance(layer, Fade)]
    return layer


def _upsample(images, factor=2):
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


def _pool(images, factor=2):
    n, h, w, c = images.shape
    return images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def test_resolutions_follow_the_image_side():
    assert resolutions((28, 28, 1)) == (7, 14, 28)
    assert resolutions((32, 32, 3)) == (4, 8, 16, 32)
    assert resolutions((64, 64, 3), start_resolution=16) == (16, 32, 64)
    gan = kerazoo.build("progan", **TINY)
    assert gan.resolutions == (7, 14, 28) and gan.channels == (8, 8, 4)
    assert [m.output.shape[1] for m in gan.phase_generators] == [7, 14, 14, 28, 28]
    assert gan.generator is gan.phase_generators[-1] and gan.generator.name == "progan_generator"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_shape=(28, 32, 1)), "square"),
        (dict(start_resolution=5), r"one of \[7, 14, 28\]. Received: start_resolution=5"),
        (dict(start_resolution=2), "at least 4"),
        (dict(width=0), "width"),
    ],
)
def test_resolutions_the_data_does_not_support_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kerazoo.build("progan", **{**TINY, **kwargs})


def test_generator_fade_in_is_the_upsampled_old_output_at_0_and_the_new_block_at_1():
    gan = kerazoo.build("progan", **TINY)
    noise = np.random.default_rng(0).standard_normal((5, 100)).astype("float32")
    old, new, fading = gan.phase_generators[0], gan.phase_generators[2], gan.phase_generators[1]
    fade = _fade_layer(fading)
    fade.alpha.assign(0.0)
    np.testing.assert_allclose(fading(noise), _upsample(np.asarray(old(noise))), atol=1e-6)
    fade.alpha.assign(1.0)
    np.testing.assert_allclose(fading(noise), new(noise), atol=1e-6)
    fade.alpha.assign(0.25)
    expected = 0.75 * _upsample(np.asarray(old(noise))) + 0.25 * np.asarray(new(noise))
    np.testing.assert_allclose(fading(noise), expected, atol=1e-5)


def test_discriminator_fade_in_is_the_pooled_old_path_at_0_and_the_new_block_at_1():
    gan = kerazoo.build("progan", **TINY)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    old, new, fading = gan.phase_discriminators[2], gan.phase_discriminators[4], gan.phase_discriminators[3]
    fade = _fade_layer(fading)
    fade.alpha.assign(0.0)
    np.testing.assert_allclose(fading(images), old(_pool(images)), rtol=1e-5, atol=1e-5)
    fade.alpha.assign(1.0)
    np.testing.assert_allclose(fading(images), new(images), rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_appends_the_mean_group_stddev_as_a_feature_map():
    x = np.random.default_rng(1).standard_normal((8, 3, 3, 2)).astype("float32")
    out = np.asarray(MinibatchStdDev(group_size=4)(x))
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    groups = x.reshape(4, 2, 3, 3, 2)  # image i is in group i mod 2, as in the paper's code
    per_group = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))
    for i in range(8):
        np.testing.assert_allclose(out[i, ..., 2], per_group[i % 2], rtol=1e-5)
    odd = np.asarray(MinibatchStdDev(group_size=4)(x[:6]))  # 6 is not divisible by 4: one group
    np.testing.assert_allclose(odd[..., 2], np.sqrt(x[:6].var(axis=0) + 1e-8).mean(), rtol=1e-5)


def test_equalized_layers_scale_unit_normal_weights_by_he_constant_at_run_time():
    x = np.random.default_rng(2).standard_normal((4, 50)).astype("float32")
    dense = EqualizedDense(30)
    y = np.asarray(dense(x))
    kernel = np.asarray(dense.kernel)
    assert 0.9 < kernel.std() < 1.1  # stored at unit scale
    np.testing.assert_allclose(y, x @ (kernel * np.sqrt(2.0) / np.sqrt(50)), rtol=1e-4, atol=1e-5)
    conv = EqualizedConv2D(6, 3, gain=1.0)
    images = np.random.default_rng(3).standard_normal((2, 5, 5, 4)).astype("float32")
    plain = keras.layers.Conv2D(6, 3, padding="same")
    plain.build(images.shape)
    conv.build(images.shape)
    plain.set_weights([np.asarray(conv.kernel) / np.sqrt(9 * 4), np.asarray(conv.bias)])
    np.testing.assert_allclose(conv(images), plain(images), rtol=1e-4, atol=1e-5)


def test_pixel_norm_gives_each_pixel_unit_mean_square():
    x = np.random.default_rng(4).standard_normal((2, 4, 4, 8)).astype("float32") * 7
    y = np.asarray(PixelNorm()(x))
    np.testing.assert_allclose((y**2).mean(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y, x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + 1e-8), rtol=1e-5)


def test_growth_keeps_the_trained_weights_and_resets_the_optimizers():
    gan, ds = _tiny(phase_images=64 * 3)
    gan.fit(ds.take(3), epochs=1, verbose=0)  # 3 steps of 64: the whole first phase
    assert gan.phase.index == 0 and int(gan.images_seen.numpy()) == 192
    trained = {v.path: np.asarray(v) for v in gan.phase_generators[0].trainable_variables}
    assert int(gan.g_optimizer.iterations) == 3
    assert gan.grow_to(192)  # the fade-in of 14x14 begins
    assert gan.phase.label == "14x14 fade-in"
    grown = {v.path: np.asarray(v) for v in gan.phase_generators[1].trainable_variables}
    assert set(trained) < set(grown)  # the old layers are in the new network, with their weights
    assert all(np.array_equal(trained[k], grown[k]) for k in trained)
    assert all(
        v is w for v, w in zip(gan.phase_generators[0].layers[2].weights, gan.generator.layers[2].weights)
    )
    assert (
        int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 0
    )  # reset as the paper's code
    assert not gan.grow_to(200)  # same phase: nothing changes, no second reset
    assert int(gan.reset_phase.numpy()) == 1


def test_fit_grows_through_every_phase_and_logs_resolution_and_alpha():
    gan, ds = _tiny(phase_images=128)
    history = gan.fit(ds.take(4), epochs=3, verbose=0).history  # 256 images an epoch
    # Steps at 0, 64, ... images shown: 14x14 fades in from 128, 28x28 from 384, stable from 512.
    assert history["resolution"] == [14.0, 28.0, 28.0]
    assert history["alpha"] == [0.5, 0.5, 1.0]  # (192 - 128) / 128 and (448 - 384) / 128: mid fade-in
    assert gan.phase.label == "28x28" and int(gan.images_seen.numpy()) == 768
    assert all(np.isfinite(history["d_loss"]))


def _average_generator(gan, phase_images):
    """Compile `gan` again with a moving average of its generator (momentum 0.9)."""
    gan.compile(
        loss="wasserstein_gp_drift",
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99, use_ema=True, ema_momentum=0.9),
        phase_images=phase_images,
    )


def test_a_generator_moving_average_spans_every_phase():
    # use_ema on a growing GAN: the optimizer keeps the average of every phase's weights (the ones a
    # phase does not train stay put), and fit ends with it swapped in.
    gan, ds = _tiny(phase_images=128)
    _average_generator(gan, phase_images=128)
    raw = {}

    class Raw(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raw.update({v.path: np.asarray(v).copy() for v in self.model.generator.trainable_variables})

    gan.fit(ds.take(4), epochs=3, verbose=0, callbacks=[Raw()])
    averages = gan.g_optimizer._model_variables_moving_average
    for variable, average in zip(gan.g_optimizer._trainable_variables, averages):
        np.testing.assert_array_equal(np.asarray(variable), np.asarray(average))
    gaps = [np.abs(v - np.asarray(_variable(gan.generator, k))).max() for k, v in raw.items()]
    assert max(gaps) > 0  # the full-resolution generator now holds averages, not its last raw weights
    assert max(gaps) < 0.05  # ...of its recent weights (lr 1e-3), not of zeros
    noise = np.random.default_rng(0).standard_normal((4, gan.latent_dim)).astype("float32")
    with gan.averaged_weights():
        assert np.isfinite(np.asarray(gan.generator(noise))).all()


def test_the_moving_average_runs_through_a_phase_reset():
    # The paper's averaged generator runs through the growth. Keras starts an optimizer's average
    # afresh (from the weights) on its first step; a phase's reset puts the step count back to 0 (for
    # Adam's bias correction), so ProGAN blends the kept average back in on that step.
    gan, ds = _tiny(phase_images=256)
    _average_generator(gan, phase_images=256)
    gan.fit(ds.take(3), epochs=1, verbose=0)  # fit ends with the average swapped into the weights;
    optimizer = gan.g_optimizer
    gan.train_on_batch(next(iter(ds)))  # one more step (no callbacks: no growth) parts them again
    before = [np.asarray(a).copy() for a in optimizer._model_variables_moving_average]
    assert gan.grow_to(256) and int(optimizer.iterations) == 0  # the fade-in: Adam restarts...
    for kept, average in zip(before, optimizer._model_variables_moving_average):
        np.testing.assert_array_equal(kept, np.asarray(average))  # ...the average is kept
    gan.make_train_function(force=True)  # as ProgressiveGrowing does after a growth
    weights = gan.phase_generators[1].trainable_variables
    gan.train_on_batch(next(iter(ds)))
    assert int(optimizer.iterations) == 1
    averages = dict(
        zip((id(v) for v in optimizer._trainable_variables), optimizer._model_variables_moving_average)
    )
    index = {id(v): i for i, v in enumerate(optimizer._trainable_variables)}
    moved = 0
    for variable in weights:
        kept, average = before[index[id(variable)]], np.asarray(averages[id(variable)])
        np.testing.assert_allclose(average, 0.9 * kept + 0.1 * np.asarray(variable), rtol=1e-5, atol=1e-6)
        moved += not np.allclose(average, np.asarray(variable))
    assert moved  # not restarted from the weights (Keras' first step)
    gan.train_on_batch(next(iter(ds)))  # later steps: Keras' own update
    for variable in weights:
        i = index[id(variable)]
        assert np.isfinite(np.asarray(optimizer._model_variables_moving_average[i])).all()


def _variable(model, path):
    (variable,) = [v for v in model.trainable_variables if v.path == path]
    return variable


def test_stopping_before_the_last_phase_warns():
    gan, ds = _tiny(phase_images=1_000)
    with pytest.warns(UserWarning, match="not trained yet"):
        gan.fit(ds.take(1), epochs=1, verbose=0)


def test_resume_restores_phase_and_alpha_bit_for_bit(tmp_path):
    import tensorflow as tf
    from conftest import Interrupt

    tf.config.experimental.enable_op_determinism()
    grow = dict(phase_images=128, start_resolution=14)  # phases: 14x14, 28x28 fade-in, 28x28
    gan, ds = _tiny(**grow)
    reference = gan.fit(ds, epochs=1, verbose=0, shuffle=False).history
    reference_state = [
        v.numpy() for v in gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables
    ]

    gan, ds = _tiny(**grow)
    with pytest.raises(KeyboardInterrupt):  # killed in the 28x28 fade-in, alpha 0.5
        gan.fit(
            ds,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[Interrupt(0, 3), BackupAndRestore(tmp_path, save_freq=1, data=ds)],
        )
    assert int(gan.images_seen.numpy()) == 192 and gan.phase.label == "28x28 fade-in"

    gan, ds = _tiny(**grow)
    history = fit_resumable(gan, ds, BackupAndRestore(tmp_path, save_freq=1, data=ds), epochs=1, verbose=0)
    assert gan.phase.label == "28x28"
    assert history.history == reference
    state = [v.numpy() for v in gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(state, reference_state))


def test_save_and_load_keep_phase_and_weights(tmp_path):
    gan, ds = _tiny(phase_images=64, start_resolution=14)
    gan.fit(ds.take(3), epochs=1, verbose=0)
    gan.save(tmp_path / "model.keras")
    loaded = kerazoo.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, ProGAN) and loaded.phase.label == "28x28"
    assert loaded.phase_images == 64
    noise = np.random.default_rng(0).standard_normal((3, 100)).astype("float32")
    np.testing.assert_allclose(loaded.generator(noise), gan.generator(noise), atol=1e-6)
    gan.generator.save(tmp_path / "generator.keras")
    generator = kerazoo.load_model(tmp_path / "generator.keras")
    assert isinstance(generator, keras.Model) and [t.name for t in generator.inputs] == ["noise"]
    images = np.asarray(generator(noise))
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0


@pytest.mark.parametrize("phase_images", [0, -5, 1.5])
def test_bad_schedules_are_refused(phase_images):
    with pytest.raises(ValueError, match="phase_images"):
        kerazoo.get_entry("progan").recipe.replace({"phase_images": phase_images})
    gan = kerazoo.build("progan", **TINY)
    with pytest.raises(ValueError, match="phase_images"):
        gan.compile(phase_images=phase_images)


def test_too_few_epochs_for_the_schedule_is_one_usage_error(tmp_path, capsys):
    with pytest.raises(UsageError, match=r"Pass --epochs 6 or more"):
        kerazoo.train("progan", epochs=5, recipe={"phase_images": 2_000}, hparams=TINY, out=tmp_path / "r")
    assert not (tmp_path / "r").exists() and not list(tmp_path.iterdir())
    assert main(["train", "progan", "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--epochs" in err[0]


@pytest.fixture(scope="module")
def tiny_progan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("progan") / "run"
    metrics = kerazoo.train(
        "progan", epochs=1, recipe={"phase_images": 200}, hparams=TINY, out=run, verbose=0
    )
    return run, metrics


def test_kerazoo_train_progan_writes_the_growth_pictures_and_phase_figures(tiny_progan_run):
    run, metrics = tiny_progan_run
    assert [p["label"] for p in metrics["phases"]] == [
        "7x7",
        "14x14 fade-in",
        "14x14",
        "28x28 fade-in",
        "28x28",
    ]
    assert sum(p["images"] for p in metrics["phases"]) == metrics["images_seen"] == 22 * 64
    assert sorted(p.name for p in (run / "growth").iterdir()) == [
        "phase1_7x7.png",
        "phase2_14x14_fade.png",
        "phase3_14x14.png",
        "phase4_28x28_fade.png",
        "phase5_28x28.png",
    ]
    assert (run / "growth.png").is_file() and (run / "growth.gif").is_file()
    history = json.loads((run / "history.json").read_text())
    assert history["resolution"] == [28.0] and history["alpha"] == [1.0]
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "progressive" and config["recipe"]["phase_images"] == 200
    generator = kerazoo.load_model(run / "generator.keras")
    assert generator.output.shape[1:] == (28, 28, 1)


@pytest.mark.slow
def test_progan_run_evaluates_exports_and_samples_like_the_dcgan(tiny_progan_run, digits_cnn_run, tmp_path):
    from kerazoo import runtime

    run, _ = tiny_progan_run
    assert main(["evaluate", str(run), "--n", "300", "--evaluator", str(digits_cnn_run)]) == 0
    figures = json.loads((run / "eval" / "metrics.json").read_text())
    assert figures["task"] == "progressive" and np.isfinite(figures["samples"]["fid"])
    assert (run / "eval" / "progression.gif").is_file()
    out = tmp_path / "generator.tflite"
    assert main(["export", str(run), "--format", "tflite", "--out", str(out)]) == 0
    meta = json.loads(runtime.metadata_path(out).read_text())
    assert meta["verification"]["passed"] and meta["latent_dim"] == 100
    assert main(["sample", str(out), "--n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").is_file()


DISTRIBUTED = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import kerazoo
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    gan = kerazoo.build("progan", width=4, max_width=8, start_resolution=14, seed=0)
    gan.compile(loss="wasserstein_gp_drift", phase_images=32)
x = np.random.default_rng(0).uniform(-1, 1, (32 * 4, 28, 28, 1)).astype("float32")
history = gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(32, drop_remainder=True), epochs=1, verbose=0)
print(json.dumps({"seen": int(gan.images_seen.numpy()), "phase": gan.phase.label,
                  "d_loss": history.history["d_loss"][0]}))
"""


def test_mirrored_strategy_counts_the_global_batch_and_grows():
    from conftest import run_python

    out = run_python(DISTRIBUTED)
    assert out["seen"] == 32 * 4  # two replicas of 16 a step: the global batch counted once
    assert out["phase"] == "28x28" and np.isfinite(out["d_loss"])


def test_mixed_precision_grows_with_float32_images_and_losses():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        gan, ds = _tiny(phase_images=64, start_resolution=14)
        history = gan.fit(ds.take(3), epochs=1, verbose=0).history
    finally:
        keras.config.set_dtype_policy(previous)
    assert gan.phase.label == "28x28" and np.isfinite(history["d_loss"][0])
    images = gan.generator(np.zeros((2, 100), "float32"))
    assert images.shape == (2, 28, 28, 1)
