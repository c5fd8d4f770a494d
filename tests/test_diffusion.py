"""Diffusion: the schedules, the forward process, the samplers (against a denoiser known in closed
form), classifier-free guidance, and the `Diffusion` trainer with `fit`, saving and resuming."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo import sampling
from kerazoo.models.diffusion import ddpm_unet
from kerazoo.sampling import Schedule
from kerazoo.trainers import Diffusion

# Data x0 ~ N(MU, S^2) per pixel: the best noise prediction is known in closed form, so the samplers
# can be checked without training: E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) MU) / (ab S^2 + 1 - ab).
MU, S = 0.2, 0.3


def gaussian_eps(schedule):
    ab = schedule.alpha_bar

    def predict_eps(x, t, labels):
        a = ab[np.asarray(t)].reshape((-1,) + (1,) * (x.ndim - 1))
        return np.sqrt(1 - a) * (x - np.sqrt(a) * MU) / (a * S**2 + 1 - a)

    return predict_eps


def test_schedules_endpoints():
    linear = Schedule.make("linear", 1000)
    assert linear.betas[0] == pytest.approx(1e-4) and linear.betas[-1] == pytest.approx(0.02)
    assert np.all(np.diff(linear.alpha_bar) < 0) and linear.alpha_bar[-1] < 1e-4
    cosine = Schedule.make("cosine", 1000)
    assert cosine.alpha_bar[0] > 0.999 and cosine.alpha_bar[-1] < 1e-4 and cosine.betas.max() <= 0.999
    assert Schedule.from_json(cosine.to_json()).betas.tolist() == cosine.betas.tolist()
    with pytest.raises(ValueError, match="Unknown schedule 'square'"):
        Schedule.make("square")
    with pytest.raises(ValueError, match="Received: timesteps=0"):
        Schedule.make("linear", 0)


def test_forward_process_has_the_closed_form_mean_and_variance():
    schedule = Schedule.make("cosine", 100)
    x0 = np.full((20000, 1), 0.7)
    eps = np.random.default_rng(0).standard_normal(x0.shape)
    for t in (0, 40, 99):
        x_t = sampling.q_sample(x0, np.full(len(x0), t), eps, schedule)
        ab = schedule.alpha_bar[t]
        assert x_t.mean() == pytest.approx(np.sqrt(ab) * 0.7, abs=0.02)
        assert x_t.var() == pytest.approx(1 - ab, abs=0.02)


def test_trainer_noises_images_as_the_closed_form():
    model = Diffusion(ddpm_unet((8, 8, 1), widths=(8, 16), attention=(), groups=4), timesteps=50)
    rng = np.random.default_rng(1)
    x0, eps = rng.uniform(-1, 1, (4, 8, 8, 1)), rng.standard_normal((4, 8, 8, 1))
    t = np.array([0, 10, 25, 49])
    noised = keras.ops.convert_to_numpy(model.noised(x0.astype("float32"), t, eps.astype("float32")))
    np.testing.assert_allclose(noised, sampling.q_sample(x0, t, eps, model.schedule), atol=1e-5)


def test_ddim_is_deterministic_and_inverts():
    schedule = Schedule.make("linear", 1000)
    predict = gaussian_eps(schedule)
    a = sampling.ddim_sample(predict, (8, 4, 4, 1), schedule, steps=50, seed=3)
    b = sampling.ddim_sample(predict, (8, 4, 4, 1), schedule, steps=50, seed=3)
    c = sampling.ddim_sample(predict, (8, 4, 4, 1), schedule, steps=50, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1
    x0 = np.random.default_rng(0).normal(MU, S, (8, 4, 4, 1)).clip(-1, 1).astype("float32")
    errors = []
    for steps in (200, 500):  # the inversion's error is first order in the step size
        noise = sampling.ddim_invert(predict, x0, schedule, steps=steps)
        back = sampling.ddim_sample(predict, x0.shape, schedule, steps=steps, x_t=noise)
        errors.append(np.abs(back - x0).max())
    assert errors[1] < 0.01 and errors[1] < 0.5 * errors[0]


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_samplers_reach_the_data_distribution(sampler):
    schedule = Schedule.make("cosine", 1000)
    predict = gaussian_eps(schedule)
    shape = (4000, 1, 1, 1)
    if sampler == "ddpm":
        x = sampling.ddpm_sample(predict, shape, schedule, seed=0)
    else:
        x = sampling.ddim_sample(predict, shape, schedule, steps=50)
    assert x.mean() == pytest.approx(MU, abs=0.02) and x.std() == pytest.approx(S, abs=0.02)


def test_ddim_with_eta_one_and_every_step_is_ddpm():
    schedule = Schedule.make("linear", 100)
    predict = gaussian_eps(schedule)
    ddpm = sampling.ddpm_sample(predict, (16, 2, 2, 1), schedule, seed=5)
    ddim = sampling.ddim_sample(predict, (16, 2, 2, 1), schedule, steps=100, eta=1.0, seed=5)
    np.testing.assert_allclose(ddim, ddpm, atol=1e-5)


def test_guidance_zero_is_the_unconditional_prediction_and_one_the_conditional():
    schedule = Schedule.make("linear", 100)
    calls = []

    def predict(x, t, labels):
        calls.append(labels is None)
        shift = 0.0 if labels is None else 0.1 * labels.reshape(-1, 1, 1, 1)
        return gaussian_eps(schedule)(x, t, None) + shift

    labels = np.arange(4)
    unconditional = sampling.ddim_sample(predict, (4, 2, 2, 1), schedule, steps=10)
    np.testing.assert_array_equal(
        sampling.ddim_sample(predict, (4, 2, 2, 1), schedule, steps=10, labels=labels, guidance=0.0),
        unconditional,
    )
    conditional = sampling.ddim_sample(predict, (4, 2, 2, 1), schedule, steps=10, labels=labels, guidance=1.0)
    guided = sampling.ddim_sample(predict, (4, 2, 2, 1), schedule, steps=10, labels=labels, guidance=3.0)
    assert np.abs(conditional - unconditional).max() > 1e-3 and np.abs(guided - conditional).max() > 1e-3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=0), "Received: steps=0"),
        (dict(steps=101), "at most the schedule's 100 steps"),
        (dict(eta=1.5), "between 0 and 1"),
        (dict(guidance=-1.0, labels=np.zeros(2, int)), "guidance=-1.0"),
        (dict(guidance=2.0), "`guidance` needs `labels`"),
    ],
)
def test_bad_sampler_arguments_one_clear_error(kwargs, match):
    schedule = Schedule.make("linear", 100)
    with pytest.raises(ValueError, match=match):
        sampling.ddim_sample(gaussian_eps(schedule), (2, 1, 1, 1), schedule, **kwargs)


def _toy_images(n=64, seed=0):
    """Four 8x8 patterns (a bar in each corner) in [-1, 1], with their labels."""
    patterns = -np.ones((4, 8, 8, 1), "float32")
    for i, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        patterns[i, r : r + 4, c : c + 4] = 1.0
    labels = np.random.default_rng(seed).integers(0, 4, n)
    return patterns[labels], labels.astype("int32")


def _tiny(num_classes=None, seed=0):
    keras.utils.set_random_seed(seed)
    denoiser = ddpm_unet((8, 8, 1), widths=(8, 16), attention=(4,), num_classes=num_classes, groups=4)
    model = Diffusion(denoiser, schedule="cosine", timesteps=100, num_classes=num_classes, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model


def test_fit_lowers_the_loss_and_samples_come_out_shaped():
    images, _ = _toy_images()
    model = _tiny()
    history = model.fit(images, batch_size=16, epochs=25, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    samples = model.sample(6, steps=20, seed=0)
    assert (
        samples.shape == (6, 8, 8, 1)
        and np.isfinite(samples).all()
        and samples.min() >= -1
        and samples.max() <= 1
    )
    images_, path = model.sample(2, steps=5, trajectory=True)
    assert len(path) == 6 and path[0].shape == (2, 8, 8, 1)


def test_conditional_model_guidance_zero_equals_no_label(tmp_path):
    images, labels = _toy_images()
    model = _tiny(num_classes=4)
    model.fit(images, labels, batch_size=16, epochs=2, verbose=0)
    unconditional = model.sample(4, steps=5, seed=1)
    np.testing.assert_array_equal(model.sample(4, steps=5, seed=1, labels=2, guidance=0.0), unconditional)
    with pytest.raises(ValueError, match="Labels must be between 0 and 3"):
        model.sample(2, labels=4)
    # Saved and loaded, the same model: the same samples.
    model.save(tmp_path / "ddpm.keras")
    loaded = keras.saving.load_model(tmp_path / "ddpm.keras")
    np.testing.assert_allclose(
        loaded.sample(4, steps=5, seed=1, labels=1), model.sample(4, steps=5, seed=1, labels=1), atol=1e-5
    )
    assert loaded.schedule.kind == "cosine" and loaded.num_classes == 4


def test_moving_average_warms_up_and_is_what_fit_leaves():
    images, _ = _toy_images()
    model = _tiny()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), ema_momentum=0.999)
    before = [keras.ops.convert_to_numpy(w) for w in model.denoiser.trainable_weights]
    with model.averaged_weights():  # before any update the average is the weights
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(model.denoiser.trainable_weights[0]), before[0]
        )
    model.fit(images, batch_size=16, epochs=1, steps_per_epoch=1, verbose=0)  # one update
    # After one update the momentum is (1 + 0) / (10 + 0): the average is 0.1 old + 0.9 new weights.
    trained = [keras.ops.convert_to_numpy(w) for w in model.denoiser.trainable_weights]
    for w, a in zip(trained, model._ema):
        np.testing.assert_array_equal(w, keras.ops.convert_to_numpy(a))  # fit left the average in
    assert (
        int(model._ema_updates.numpy()) == 1 and max(np.abs(w - b).max() for w, b in zip(trained, before)) > 0
    )
    with pytest.raises(ValueError, match="ema_momentum=1.5"):
        model.compile(optimizer="adam", ema_momentum=1.5)


def test_resume_is_bit_for_bit(tmp_path):
    from kerazoo.callbacks import BackupAndRestore

    images, _ = _toy_images()

    def run(epochs, backup):
        model = _tiny()
        callbacks = [BackupAndRestore(backup, delete_checkpoint=False)]
        model.fit(images, batch_size=16, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
        return [keras.ops.convert_to_numpy(w) for w in model.weights]

    whole = run(4, tmp_path / "whole")
    run(2, tmp_path / "parts")
    resumed = run(4, tmp_path / "parts")
    for a, b in zip(whole, resumed):
        np.testing.assert_array_equal(a, b)


def test_min_snr_weighting_weighs_each_step_and_falls_back_to_the_simple_loss(tmp_path):
    denoiser = ddpm_unet((8, 8, 1), widths=(8, 16), attention=(), groups=4)
    model = Diffusion(denoiser, schedule="cosine", timesteps=100, min_snr_gamma=5)
    ab = model.schedule.alpha_bar
    snr = ab / (1 - ab)
    weights = model.loss_weights()
    np.testing.assert_allclose(weights[snr <= 5], 1.0)  # the noisy steps: the simple loss
    np.testing.assert_allclose(weights[snr > 5], 5 / snr[snr > 5])  # the nearly clean: gamma / SNR
    assert np.all(np.diff(weights) >= 0) and weights[0] < 0.01
    assert Diffusion(denoiser, timesteps=100).loss_weights().tolist() == [1.0] * 100

    # The weighted loss is each image's squared error times its step's weight; a gamma above every
    # step's SNR weighs every step 1, which is the simple loss on the same draws.
    images, _ = _toy_images(16)
    simple, weighted, huge = (
        Diffusion(denoiser, schedule="cosine", timesteps=100, seed=3, min_snr_gamma=g)
        for g in (None, 5, 1e12)
    )
    a, b, c = (float(m._loss(images, training=False)) for m in (simple, weighted, huge))
    assert c == pytest.approx(a, rel=1e-6) and b < a

    # Saved and loaded with its weighting.
    path = tmp_path / "m.keras"
    weighted.save(path)
    assert keras.models.load_model(path).min_snr_gamma == 5.0
    for bad in (0, -1, "5", True):
        with pytest.raises(ValueError, match="`min_snr_gamma` must be a positive number or None"):
            Diffusion(denoiser, min_snr_gamma=bad)


def test_denoiser_checks_its_arguments():
    with pytest.raises(ValueError, match="sides must halve 2 times"):
        ddpm_unet((30, 30, 1), widths=(8, 16, 32))
    with pytest.raises(ValueError, match="multiple of `groups`"):
        ddpm_unet((8, 8, 1), widths=(6, 12), groups=4)
    with pytest.raises(ValueError, match="takes 3 inputs"):
        Diffusion(ddpm_unet((8, 8, 1), widths=(8, 16), groups=4), num_classes=4)


# --- the zoo's ddpm and cddpm: train, pictures, evaluate, export, the TF-free sampler ------------

TINY = {"widths": (8, 16)}


@pytest.fixture(scope="module")
def cddpm_run(tmp_path_factory):
    import kerazoo

    run = tmp_path_factory.mktemp("cddpm") / "run"
    kerazoo.train("cddpm", epochs=1, hparams=TINY, recipe={"sample_steps": 3}, out=run, verbose=0)
    return run


def test_train_writes_the_diffusion_pictures(cddpm_run):
    import json

    for name in ("samples.png", "trajectory.png", "trajectory.gif", "guidance.png", "denoiser.keras"):
        assert (cddpm_run / name).is_file(), name
    assert len(list((cddpm_run / "grids").glob("trajectory_epoch_*.png"))) == 1
    metrics = json.loads((cddpm_run / "metrics.json").read_text())
    assert np.isfinite(metrics["loss"]) and np.isfinite(metrics["test_loss"])
    config = json.loads((cddpm_run / "config.json").read_text())
    assert config["task"] == "diffusion" and config["recipe"]["ema_momentum"] == 0.999


def test_exported_denoiser_samples_without_tensorflow_as_keras_does(cddpm_run, tmp_path):
    import kerazoo
    from kerazoo import runtime
    from kerazoo.export import export

    meta = export(cddpm_run, format="tflite", out=tmp_path / "denoiser.tflite")
    assert meta["schedule"] == {"kind": "cosine", "timesteps": 1000} and meta["role"] == "diffusion"
    sampler = runtime.load(tmp_path / "denoiser.tflite")
    assert isinstance(sampler, runtime.DiffusionSampler)
    lite = sampler.sample(10, label=3, seed=2, steps=4, guidance=2.0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Keras warns when a custom compile is not restored
        model = kerazoo.load_model(cddpm_run / "model.keras")
    assert model.ema_momentum == 0.999 and model.optimizer.built  # compiled as saved
    keras_images = model.sample(10, steps=4, seed=2, labels=3, guidance=2.0)
    keras_uint8 = np.round((keras_images + 1) * 127.5).clip(0, 255).astype(np.uint8)
    assert lite.shape == (10, 28, 28, 1) and np.abs(lite.astype(int) - keras_uint8.astype(int)).max() <= 1
    with pytest.raises(runtime.ArtifactError, match="--label must be a class id in 0..9"):
        sampler.sample(2, label=10)
    with pytest.raises(runtime.ArtifactError, match="--steps"):
        sampler.sample(2, steps=0)


def test_sample_command_on_a_diffusion_artifact(cddpm_run, tmp_path, capsys):
    from kerazoo.cli import main
    from kerazoo.export import export

    export(cddpm_run, format="tflite", out=tmp_path / "d.tflite")
    out = tmp_path / "sevens.png"
    args = [
        "sample",
        str(tmp_path / "d.tflite"),
        "--n",
        "4",
        "--label",
        "7",
        "--steps",
        "3",
        "--guidance",
        "2",
    ]
    assert main([*args, "--out", str(out)]) == 0 and out.is_file()
    from kerazoo import runtime

    assert main([*args, "--out", str(tmp_path / "sevens.npz")]) == 0
    with np.load(tmp_path / "sevens.npz") as saved:  # the same samples as the grid, as arrays
        assert saved["images"].shape == (4, 28, 28, 1) and list(saved["labels"]) == [7] * 4
        expected = runtime.DiffusionSampler(tmp_path / "d.tflite").sample(4, label=7, steps=3, guidance=2.0)
        assert np.array_equal(saved["images"], expected)
    capsys.readouterr()
    for bad, message in (
        (["--steps", "0"], "--steps"),
        (["--guidance", "-1"], "guidance"),
        (["--label", "12"], "--label must be a class id"),
    ):
        try:
            code = main(
                ["sample", str(tmp_path / "d.tflite"), "--n", "2", *bad, "--out", str(tmp_path / "x.png")]
            )
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (bad, err)
        assert not (tmp_path / "x.png").exists()


def test_evaluate_judges_diffusion_samples(cddpm_run, digits_cnn_run):
    from kerazoo.evaluation import evaluate

    figures = evaluate(cddpm_run, n=64, evaluator=digits_cnn_run)
    assert {"fid", "confident_share", "requested_accuracy", "memorisation"} <= set(figures["samples"])
    assert "classifier FID" in (cddpm_run / "eval" / "report.md").read_text()
