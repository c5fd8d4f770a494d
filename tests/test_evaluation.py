"""Quality figures are correct by test, and `kerazoo evaluate` writes figures and pictures for each
kind of run; bad input gives one clear error and leaves nothing behind."""

import json
import shutil

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo import quality
from kerazoo.cli import main
from kerazoo.data import load_images
from kerazoo.embeddings import embed
from kerazoo.evaluation import EvaluationError, evaluate
from kerazoo.reports import Row, forecast_rows, generative_rows, write_reports


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


# --- the figures ------------------------------------------------------------------------------


def test_frechet_distance_is_zero_on_itself_and_grows_with_noise():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((2000, 16)) @ rng.standard_normal((16, 16))
    assert quality.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    distances = [
        quality.frechet_distance(features, features + sigma * rng.standard_normal(features.shape))
        for sigma in (0.1, 0.3, 1.0, 3.0)
    ]
    assert distances == sorted(distances) and distances[0] > 0


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200_000, 2))
    b = rng.standard_normal((200_000, 2)) * 2.0 + np.array([1.0, 0.0])
    # mu diff^2 = 1; Tr(I + 4I - 2 * 2I) = 2 -> 3
    assert quality.frechet_distance(a, b) == pytest.approx(3.0, rel=0.02)


def test_frechet_distance_survives_dead_features():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((500, 8)), rng.standard_normal((500, 8))
    a[:, 3] = b[:, 3] = 0.0  # a unit that never fires: singular covariances
    assert np.isfinite(quality.frechet_distance(a, b))


def test_classifier_score_bounds():
    confident = np.eye(10)[np.arange(1000) % 10] * 0.97 + 0.003  # near one-hot, balanced
    assert quality.classifier_score(confident)[0] == pytest.approx(10, rel=0.2)
    assert quality.classifier_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)
    one_class = np.tile(np.eye(10)[3], (100, 1))
    assert quality.classifier_score(one_class)[0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="probabilities"):
        quality.classifier_score(np.ones(10))


def test_classifier_score_of_real_test_images_with_a_confident_evaluator(digits_cnn_run):
    classifier = keras.saving.load_model(digits_cnn_run / "model.keras")
    x, _ = load_images("digits", "test")
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(classifier.predict(x / 255.0, verbose=0)))
    confident = probs[probs.max(axis=1) >= 0.9]  # the images the evaluator is confident about
    assert len(confident) > 200
    # Near the 10 classes: 10 needs one-hot outputs over balanced classes; this ~98% CNN's outputs
    # of p >= 0.9 keep some entropy (7.94 with the dependencies installed on 2026-12-03, above 8
    # with earlier ones).
    assert quality.classifier_score(confident)[0] > 7.5
    noise = np.random.default_rng(0).random((360, 28, 28, 1)).astype(np.float32)
    noise_probs = keras.ops.convert_to_numpy(keras.ops.softmax(classifier.predict(noise, verbose=0)))
    assert quality.classifier_score(noise_probs)[0] < quality.classifier_score(probs)[0]


def test_coverage_and_recall_catch_a_collapsed_generator(digits_cnn_run):
    classifier = keras.saving.load_model(digits_cnn_run / "model.keras")
    train, train_y = load_images("digits", "train")
    test, _ = load_images("digits", "test")
    train, test = train / 255.0, test / 255.0
    collapsed = np.repeat(train[:4], 90, axis=0)  # a generator that emits a handful of images
    f_train, f_test, f_collapsed = (embed(classifier, x) for x in (train[:360], test, collapsed))
    healthy = quality.precision_recall(f_train, f_test)
    broken = quality.precision_recall(f_train, f_collapsed)
    assert healthy["recall"] > 0.5 and broken["recall"] < 0.1
    assert broken["precision"] > 0.9  # its few images are realistic: precision alone would not tell
    predicted = classifier.predict(collapsed, verbose=0).argmax(axis=1)
    coverage = quality.mode_coverage(predicted, 10)
    assert coverage["classes_present"] <= 4 and coverage["kl_to_uniform"] > 0.8
    assert quality.mode_coverage(train_y, 10)["classes_present"] == 10


def test_memorisation_flags_a_generator_that_returns_training_images():
    train, _ = load_images("digits", "train")
    test, _ = load_images("digits", "test")
    train, test = train / 255.0, test / 255.0
    rng = np.random.default_rng(0)
    copies = np.clip(train[:300] + rng.normal(0, 0.005, train[:300].shape), 0, 1)
    assert quality.memorisation(copies, train, test)["memorises"]
    honest = quality.memorisation(test[:300], train, test)
    assert not honest["memorises"] and honest["near_copy_share"] <= 0.05


# --- kerazoo evaluate ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_cgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cgan") / "run"
    kerazoo.train("cgan", epochs=2, out=run, verbose=0, hparams={"width": 8})
    return run


def test_evaluate_a_conditional_gan_run(tiny_cgan_run, digits_cnn_run, capsys):
    code = main(["evaluate", str(tiny_cgan_run), "--n", "300", "--evaluator", str(digits_cnn_run)])
    assert code == 0 and "fid" in capsys.readouterr().out
    report = tiny_cgan_run / "eval"
    figures = json.loads((report / "metrics.json").read_text())
    for part in ("samples", "real_test_vs_train"):
        for key in (
            "fid",
            "classifier_score",
            "classifier_score_b32",
            "classes_present",
            "precision",
            "recall",
        ):
            assert key in figures[part], (part, key)
    assert figures["samples"]["n"] == 300
    # requested_accuracy, recomputed by hand: the evaluator's agreement with the asked-for labels on
    # the same seeded noise (seed 0, labels 0..9 in turn).
    generator = kerazoo.load_model(tiny_cgan_run / "generator.keras")
    noise = np.random.default_rng(0).standard_normal((300, generator.inputs[0].shape[-1])).astype(np.float32)
    asked = (np.arange(300) % 10).astype(np.int32)
    images = (generator.predict([noise, asked], verbose=0) + 1.0) / 2.0
    predicted = kerazoo.load_model(digits_cnn_run / "model.keras").predict(images, verbose=0).argmax(axis=1)
    assert figures["samples"]["requested_accuracy"] == pytest.approx(np.mean(predicted == asked), abs=1 / 300)
    assert figures["real_test_vs_train"]["fid"] < figures["samples"]["fid"]  # 2 tiny epochs: far from real
    assert "memorisation" in figures["samples"] and figures["evaluator"]["test_accuracy"] > 0.9
    for picture in ("samples.png", "samples_by_class.png", "nearest_training.png", "progression.png"):
        assert (report / picture).is_file(), picture
    assert (report / "progression.gif").is_file() and "![samples]" in (report / "report.md").read_text()
    # The readable report: each figure beside the real data's with a verdict in words, captions.
    markdown = (report / "report.md").read_text()
    fid, real_fid = figures["samples"]["fid"], figures["real_test_vs_train"]["fid"]
    assert (
        f"| classifier FID (lower is better) | {fid:.2f} | {real_fid:.2f} | FID {fid:.2f}: the samples'"
        in markdown
    )
    assert "memorisation" in markdown and "*Top: samples; bottom: the nearest training image" in markdown
    page = (report / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(list(report.glob("*.png")))
    assert "<figcaption>" in page and 'src="progression' not in page  # self-contained


def test_report_verdicts_follow_the_figures():
    real = {
        "fid": 0.5,
        "classifier_score": 9.0,
        "confident_share": 0.8,
        "classes_present": 10,
        "precision": 0.8,
        "recall": 0.8,
    }
    memo = dict(
        sample_nn_distance_median=5.0, test_nn_distance_median=4.0, near_copy_share=0.0, memorises=False
    )
    good = dict(real, fid=0.8, class_share=[0.1] * 10, memorisation=memo)
    rows = {r.figure: r for r in generative_rows({"samples": good, "real_test_vs_train": real})}
    assert "close to the real ones" in rows["classifier FID (lower is better)"].verdict
    assert rows["classes present"].verdict.startswith("all 10 classes appear")
    assert rows["distance to the nearest training image (median)"].verdict.startswith("no memorisation")
    collapsed = dict(
        good, fid=30.0, classes_present=4, memorisation=dict(memo, near_copy_share=0.3, memorises=True)
    )
    rows = {r.figure: r for r in generative_rows({"samples": collapsed, "real_test_vs_train": real})}
    assert "far from the real ones" in rows["classifier FID (lower is better)"].verdict
    assert "mode collapse" in rows["classes present"].verdict
    assert rows["distance to the nearest training image (median)"].verdict.startswith("memorisation: 30.0%")
    rows = forecast_rows({"test_rmse": 10.0, "persistence_rmse": 20.0, "seasonal_naive_rmse": 8.0})
    assert (
        "50.0% below persistence's" in rows[0].verdict and "25.0% above seasonal naive's" in rows[1].verdict
    )


def test_report_escapes_names_from_run_files(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    figures = {"model": hostile, "task": "classification", "accuracy": 0.5, "n": 2}
    write_reports(tmp_path, hostile, "classification", figures, [Row(hostile, "1", "", hostile)])
    page = (tmp_path / "report.html").read_text()
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_evaluate_classifier_forecaster_and_autoencoder_runs(digits_cnn_run, tmp_path):
    figures = evaluate(digits_cnn_run)
    assert figures["accuracy"] > 0.9 and len(figures["confusion_matrix"]) == 10
    assert sum(map(sum, figures["confusion_matrix"])) == figures["n"] == 360
    assert (digits_cnn_run / "eval" / "confusion_matrix.png").is_file()
    report = (digits_cnn_run / "eval" / "report.md").read_text()
    assert (
        f"| test accuracy | {100 * figures['accuracy']:.2f}% | {100 * figures['accuracy']:.2f}% of 360 test"
        in report
    )
    assert "most confused" in report
    assert (digits_cnn_run / "eval" / "worst_mistakes.png").is_file() and "highest confidence" in report

    kerazoo.train("lstm_forecaster", epochs=2, out=tmp_path / "lstm", verbose=0)
    figures = evaluate(tmp_path / "lstm")
    assert {"test_rmse", "test_mae", "test_mape", "persistence_rmse", "seasonal_naive_rmse"} <= set(figures)
    assert (tmp_path / "lstm" / "eval" / "forecast.png").is_file()
    assert "test RMSE vs persistence" in (tmp_path / "lstm" / "eval" / "report.md").read_text()

    kerazoo.train("autoencoder", epochs=1, out=tmp_path / "ae", verbose=0)
    assert evaluate(tmp_path / "ae")["test_reconstruction_mse"] > 0


def test_evaluate_bad_input_one_line_and_nothing_left(tmp_path, tiny_cgan_run, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model": "dcgan", "task": "generation"}))
    (broken / "model.keras").write_bytes(b"garbage")
    cases = [
        ([str(tmp_path / "missing")], "not a run directory"),
        ([str(broken)], "is not a readable Keras model"),
        ([str(tiny_cgan_run), "--n", "10"], "--n must be an integer >= 64"),
        ([str(tiny_cgan_run), "--evaluator", str(tmp_path / "nope.keras")], "No model at"),
    ]
    for argv, message in cases:
        assert _exit_code(["evaluate", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert not (broken / "eval").exists() and not list(broken.glob(".eval.*"))
    with pytest.raises(EvaluationError):
        evaluate(tmp_path / "missing")


def test_perceptual_path_length_is_the_trimmed_mean_squared_step_over_epsilon_squared():
    from kerazoo.quality import perceptual_path_length

    rng = np.random.default_rng(0)
    start = rng.standard_normal((200, 5))
    steps = np.zeros_like(start)
    steps[:, 0] = 1e-4 * np.sqrt(np.arange(200))  # pair i: squared distance i * eps^2
    figures = perceptual_path_length(start, start + steps, epsilon=1e-4, trim=0.01)
    kept = np.arange(200)[2:-2]  # the lowest and highest 1% dropped
    assert figures["n"] == len(kept)
    np.testing.assert_allclose(figures["ppl"], kept.mean(), rtol=1e-6)
    assert perceptual_path_length(start, start, 1e-4)["ppl"] == 0.0
    with pytest.raises(ValueError, match="same shape"):
        perceptual_path_length(start, start[:10])


# --- the pinned evaluators ------------------------------------------------------------------------


def _template_generator():
    """A fixed generator: noise (16) -> tanh of a mix of 16 training digits (no randomness, no
    training), so the images it draws from seeded noise are the same on every machine."""
    train, _ = load_images("digits", "train")
    templates = train[:16].reshape(16, -1).astype("float32") / 255.0 - 0.5
    noise = keras.Input((16,), name="noise")
    mix = keras.layers.Dense(784, use_bias=False, name="mix")
    x = keras.layers.Activation("tanh")(mix(noise))
    generator = keras.Model(noise, keras.layers.Reshape((28, 28, 1))(x))
    mix.set_weights([templates])
    return generator


def test_the_pinned_digits_evaluator_gives_these_figures_on_any_machine():
    # The yardstick is shipped, not trained here: a fixed set of images gets these figures wherever
    # the test runs (to the rounding of the CPU's float32 kernels: 4 significant digits).
    from kerazoo.evaluation import evaluate_generator, pinned_evaluators

    entry = pinned_evaluators()["digits"]
    figures = evaluate_generator(_template_generator(), dataset="digits", n=500)
    assert (
        figures["evaluator"]["pinned"] and figures["evaluator"]["weights_sha256"] == entry["weights_sha256"]
    )
    samples, real = figures["samples"], figures["real_test_vs_train"]
    expected = {
        "fid": 45.5565,
        "classifier_score": 2.17696,
        "confident_share": 0.086,
        "precision": 0.014,
        "recall": 0.174,
    }
    for key, value in expected.items():
        assert samples[key] == pytest.approx(value, rel=1e-4), key
    assert samples["class_share"] == [0.02, 0.342, 0.112, 0.068, 0.178, 0.032, 0.118, 0.064, 0.0, 0.066]
    assert real["fid"] == pytest.approx(0.941125, rel=1e-4)
    assert real["confident_share"] == pytest.approx(311 / 360)
    assert real["classifier_score"] == pytest.approx(7.42488, rel=1e-4)
    # The report names it, with its hash.
    rows = {row.figure: row for row in generative_rows(figures)}
    assert rows["evaluator"].value == f"pinned, weights sha256 {entry['weights_sha256'][:12]}"
    assert "any machine" in rows["evaluator"].verdict


def test_a_pinned_evaluator_that_does_not_match_its_hash_is_refused(tmp_path, monkeypatch):
    from kerazoo import evaluation

    shutil.copy(evaluation.PINNED / "digits.keras", tmp_path / "digits.keras")
    entry = {**evaluation.pinned_evaluators()["digits"], "weights_sha256": "0" * 64}
    (tmp_path / "evaluators.json").write_text(json.dumps({"evaluators": {"digits": entry}}))
    monkeypatch.setattr(evaluation, "PINNED", tmp_path)
    with pytest.raises(evaluation.EvaluationError, match="does not match its recorded hash") as info:
        evaluation.evaluator_for("digits")
    assert "\n" not in str(info.value) and "--evaluator" in str(info.value)


def test_the_shipped_evaluators_are_package_data_with_their_command():
    from kerazoo.evaluation import PINNED, pinned_evaluators

    shipped = pinned_evaluators()
    assert set(shipped) == {"digits", "mnist"}
    for name, entry in shipped.items():
        assert (PINNED / entry["file"]).is_file(), name
        assert entry["command"].startswith("python benchmarks/evaluators.py") and entry["deterministic"]
        assert len(entry["weights_sha256"]) == 64 and entry["test_accuracy"] > 0.98
