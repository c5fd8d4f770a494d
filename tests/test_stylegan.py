"""StyleGAN: weight demodulation, the tracked average w and truncation, style mixing, noise inputs,
training with `fit`, the run's pictures, the exports (generator and synthesis network) against
Keras, TF-free sampling and mixing, and bad psi / crossover / resolution."""

import json

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo import runtime
from kerazoo.cli import main
from kerazoo.models.stylegan import (
    StyledConv,
    Truncation,
    _modulated_conv,
    num_styles,
    random_noise,
    stylegan_mapping,
)
from kerazoo.trainers.stylegan import StyleGAN

TINY = dict(latent_dim=16, w_dim=16, mapping_layers=2, width=4, max_width=8)


def _tiny(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return kerazoo.build("stylegan", seed=seed, **{**TINY, **kwargs})


def _noise(n, dim=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def _set_noise_strength(model, value):
    for layer in model.synthesis._flatten_layers():
        if isinstance(layer, StyledConv):
            layer.noise_strength.assign(value)


def test_weight_demodulation_gives_each_output_map_unit_variance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 24, 24, 16)).astype(np.float32)  # unit-variance input
    kernel = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)
    styles = rng.uniform(0.2, 3.0, (64, 16)).astype(np.float32)  # very different per sample
    for demodulate in (True, False):
        y = np.asarray(_modulated_conv(x, styles, kernel, demodulate))[:, 1:-1, 1:-1]  # away from the border
        per_map = y.var(axis=(1, 2))  # (batch, filters): each output feature map of each sample
        if demodulate:
            np.testing.assert_allclose(per_map.mean(), 1.0, atol=0.05)
            assert 0.6 < per_map.min() and per_map.max() < 1.6
        else:  # without demodulation the styles' and the kernel's scale come through
            assert per_map.mean() > 10


def test_the_mapping_network_tracks_the_average_w():
    mapping = stylegan_mapping(8, 8, 2, w_avg_beta=0.9)
    truncation = next(layer for layer in mapping.layers if isinstance(layer, Truncation))
    np.testing.assert_array_equal(np.asarray(truncation.w_avg), 0.0)
    rng = np.random.default_rng(0)
    for _ in range(80):
        noise = rng.standard_normal((256, 8)).astype(np.float32)
        w = mapping([noise, np.ones(256, np.float32)], training=True)  # training: w returned as is
        np.testing.assert_allclose(w, mapping([noise, np.ones(256, np.float32)]), atol=1e-5)
    big = rng.standard_normal((20_000, 8)).astype(np.float32)
    mean_w = np.asarray(mapping([big, np.ones(len(big), np.float32)])).mean(axis=0)
    np.testing.assert_allclose(np.asarray(truncation.w_avg), mean_w, atol=0.05 * np.abs(mean_w).max() + 1e-3)


def test_truncation_zero_gives_the_average_image_for_every_z():
    gan = _tiny()
    truncation = next(layer for layer in gan.mapping.layers if isinstance(layer, Truncation))
    truncation.w_avg.assign(np.linspace(-1, 1, 16).astype(np.float32))
    noise = _noise(6)
    images = np.asarray(gan.generator([noise, np.zeros(6, np.float32)]))
    np.testing.assert_allclose(images, np.repeat(images[:1], 6, axis=0), atol=1e-6)
    average = np.asarray(gan.synthesis(gan.styles(np.asarray(truncation.w_avg)[None])))
    np.testing.assert_allclose(images[0], average[0], atol=1e-5)
    full = np.asarray(gan.generator([noise, np.ones(6, np.float32)]))
    assert np.abs(full - full[:1]).max() > 1e-3  # at psi 1 the z's differ
    half = np.asarray(gan.generator([noise, np.full(6, 0.5, np.float32)]))
    w = np.asarray(gan.mapping([noise, np.ones(6, np.float32)]))
    expected = gan.synthesis(
        gan.styles(np.asarray(truncation.w_avg) + 0.5 * (w - np.asarray(truncation.w_avg)))
    )
    np.testing.assert_allclose(half, expected, atol=1e-5)


def test_style_mixing_at_crossover_zero_is_the_second_w_and_at_the_end_the_first():
    gan = _tiny()
    ones = np.ones(4, np.float32)
    first, second = (np.asarray(gan.mapping([_noise(4, seed=s), ones])) for s in (1, 2))
    synth = gan.synthesis
    for crossover, expected in ((0, second), (gan.num_ws, first)):
        for styles in (
            gan.styles(first, second, crossover),
            runtime.mixed_styles(first, second, crossover, gan.num_ws),
        ):
            np.testing.assert_allclose(synth(styles), synth(gan.styles(expected)), atol=1e-6)
    mixed = np.asarray(synth(gan.styles(first, second, 3)))
    assert np.abs(mixed - np.asarray(synth(gan.styles(first)))).max() > 1e-4
    with pytest.raises(ValueError, match="crossover must be a layer index in 0..6"):
        gan.styles(first, second, 7)


def _pool(images, factor=7):
    n, h, w, c = images.shape
    return images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def test_noise_inputs_change_only_fine_detail():
    gan = _tiny(seed=3)
    styles = gan.styles(np.asarray(gan.mapping([_noise(8), np.ones(8, np.float32)])))
    fixed = np.asarray(gan.synthesis(styles))
    with random_noise(gan.synthesis):  # strengths start at 0: the noise changes nothing yet
        np.testing.assert_array_equal(np.asarray(gan.synthesis(styles)), fixed)
    # Noise where the last full-resolution layer takes it (its learned strength made nonzero).
    for layer in gan.synthesis._flatten_layers():
        if isinstance(layer, StyledConv) and layer.name.endswith("_28_conv"):  # the last one
            layer.noise_strength.assign(0.3)
    fixed = np.asarray(gan.synthesis(styles))
    np.testing.assert_array_equal(fixed, np.asarray(gan.synthesis(styles)))  # fixed noise: deterministic
    with random_noise(gan.synthesis):
        a, b = np.asarray(gan.synthesis(styles)), np.asarray(gan.synthesis(styles))
    other = np.asarray(
        gan.synthesis(gan.styles(np.asarray(gan.mapping([_noise(8, seed=9), np.ones(8, np.float32)]))))
    )
    noise_change, style_change = np.abs(a - b).mean(), np.abs(fixed - other).mean()
    assert 0 < noise_change < 0.5 * style_change, (noise_change, style_change)
    # Fine detail: averaged over 7x7 patches the noise's change mostly cancels; a new w's does not.
    noise_coarse = np.abs(_pool(a) - _pool(b)).mean() / noise_change
    style_coarse = np.abs(_pool(fixed) - _pool(other)).mean() / style_change
    assert noise_coarse < 0.5 * style_coarse, (noise_coarse, style_coarse)


def test_stylegan_trains_with_fit_mixing_styles_and_saves_and_loads(tmp_path):
    gan = _tiny()
    gan.compile(r1_gamma=0.1, penalty_every=2, pl_weight=2.0, pl_every=2)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    history = gan.fit(x, batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert float(gan.pl_mean.numpy()) > 0  # the path length average moved
    w_avg = next(layer for layer in gan.mapping.layers if isinstance(layer, Truncation)).w_avg
    assert np.abs(np.asarray(w_avg)).max() > 0  # tracked during training
    gan.save(tmp_path / "m.keras")
    loaded = kerazoo.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, StyleGAN) and loaded.mixing_probability == 0.9 and loaded.pl_weight == 2.0
    noise = _noise(3)
    np.testing.assert_allclose(loaded(noise), gan(noise), atol=1e-5)
    np.testing.assert_allclose(
        loaded.generator([noise, np.full(3, 0.5, np.float32)]),
        gan.generator([noise, np.full(3, 0.5, np.float32)]),
        atol=1e-5,
    )


def test_bad_resolution_truncation_and_options_are_one_clear_error():
    with pytest.raises(ValueError, match="square images"):
        kerazoo.build("stylegan", image_shape=(28, 20, 1))
    with pytest.raises(ValueError, match="mixing_probability"):
        _tiny().compile(mixing_probability=1.5)
    with pytest.raises(ValueError, match="truncation"):
        from kerazoo.models.stylegan import check_truncation

        check_truncation(1.5)
    assert num_styles((28, 28, 1)) == 6 and num_styles((32, 32, 3)) == 8
    with pytest.raises(ValueError, match="mixing_probability"):
        kerazoo.get_entry("stylegan").recipe.replace({"mixing_probability": -0.1})
    with pytest.raises(ValueError, match="synthesis_input takes one of"):
        kerazoo.build("stylegan", synthesis_input="dense")


def test_the_mapped_input_varies_with_w_where_the_constant_does_not(tmp_path):
    styles = np.random.default_rng(0).standard_normal((3, 6, 16)).astype(np.float32)
    inputs = {}
    for kind in ("constant", "mapped"):
        gan = _tiny(synthesis_input=kind)
        layer = gan.synthesis.get_layer(f"stylegan_synthesis_{kind}")
        inputs[kind] = np.asarray(layer(styles))
        assert inputs[kind].shape == (3, 7, 7, 8)
    np.testing.assert_array_equal(inputs["constant"][0], inputs["constant"][1])
    assert np.abs(inputs["mapped"][0] - inputs["mapped"][1]).mean() > 0.1  # the whole map moves with w
    path = tmp_path / "generator.keras"
    gan.generator.save(path)  # the mapped generator saves and loads like the paper's
    noise = [_noise(2), np.ones(2, np.float32)]
    np.testing.assert_allclose(keras.models.load_model(path)(noise), gan.generator(noise), atol=1e-6)


@pytest.fixture(scope="module")
def tiny_stylegan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("stylegan") / "run"
    metrics = kerazoo.train("stylegan", epochs=1, hparams=TINY, out=run, verbose=0)
    return run, metrics


def test_kerazoo_train_stylegan_saves_the_networks_and_the_pictures(tiny_stylegan_run):
    from PIL import Image

    run, metrics = tiny_stylegan_run
    for name in ("generator.keras", "mapping.keras", "synthesis.keras", "samples.png"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "style" and config["recipe"]["mixing_probability"] == 0.9
    assert metrics["w_avg_norm"] > 0
    # 5 rows x 6 columns of mixes plus the sources: 6 x 7 tiles of 28 px, each pixel and the padding doubled.
    assert Image.open(run / "style_mixing.png").size == (7 * 60 + 4, 6 * 60 + 4)
    assert Image.open(run / "truncation.png").size == (6 * 60 + 4, 8 * 60 + 4)
    assert Image.open(run / "noise_variation.png").size == (9 * 60 + 4, 4 * 60 + 4)
    generator = keras.saving.load_model(run / "generator.keras")
    assert [t.name for t in generator.inputs] == ["noise", "truncation"]


def test_exports_match_keras_and_sample_and_mix_without_tensorflow(tiny_stylegan_run, tmp_path, capsys):
    run, _ = tiny_stylegan_run
    generator_out, synthesis_out = tmp_path / "g.tflite", tmp_path / "s.tflite"
    assert main(["export", str(run), "--out", str(generator_out)]) == 0
    assert main(["export", str(run), "--signature", "styles", "--out", str(synthesis_out)]) == 0
    meta = json.loads(runtime.metadata_path(synthesis_out).read_text())
    assert meta["role"] == "styles" and meta["signatures"] == ["serving_default", "mapping"]
    assert meta["verification"]["passed"] and meta["verification"]["max_abs_diff"] <= 1e-4
    assert meta["verification"]["signatures"]["mapping"]["max_abs_diff"] <= 1e-4
    assert meta["num_ws"] == 6 and meta["w_dim"] == 16
    g_meta = json.loads(runtime.metadata_path(generator_out).read_text())
    assert set(g_meta["inputs"]) == {"noise", "truncation"} and g_meta["verification"]["passed"]

    generator, synthesis = runtime.load(generator_out), runtime.load(synthesis_out)
    assert isinstance(generator, runtime.Generator) and generator.truncatable
    assert isinstance(synthesis, runtime.StyleSynthesis)
    for psi in (1.0, 0.7, 0.0):  # the two artifacts agree, and with Keras
        a = generator.sample(8, seed=5, truncation=psi)
        b = synthesis.sample(8, seed=5, truncation=psi)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    keras_generator = keras.saving.load_model(run / "generator.keras")
    noise = np.random.default_rng(5).standard_normal((8, 16)).astype(np.float32)
    expected = np.asarray(keras_generator([noise, np.full(8, 0.7, np.float32)]))
    np.testing.assert_allclose(generator.generate(noise, truncation=0.7)["images"], expected, atol=1e-4)
    zero = generator.sample(4, seed=1, truncation=0.0)
    assert (zero == zero[:1]).all()
    # Mixing: crossover 0 is the --mix seed's image, num_ws the --seed's.
    np.testing.assert_array_equal(
        synthesis.sample(4, seed=1, mix_seed=2, crossover=0), synthesis.sample(4, seed=2)
    )
    np.testing.assert_array_equal(
        synthesis.sample(4, seed=1, mix_seed=2, crossover=6), synthesis.sample(4, seed=1)
    )

    grid = tmp_path / "mix.png"
    argv = ["sample", str(synthesis_out), "--n", "8", "--mix", "3", "--crossover", "2", "--truncation", "0.7"]
    assert main([*argv, "--out", str(grid)]) == 0 and grid.is_file()
    assert main(["sample", str(generator_out), "--truncation", "0.5", "--out", str(tmp_path / "t.npz")]) == 0
    assert np.load(tmp_path / "t.npz")["images"].shape == (64, 28, 28, 1)
    capsys.readouterr()
    for bad, words in (
        (["sample", str(generator_out), "--truncation", "1.5"], "--truncation must be a number in [-1, 1]"),
        (
            ["sample", str(synthesis_out), "--mix", "1", "--crossover", "9"],
            "--crossover must be a layer index in 0..6",
        ),
        (["sample", str(synthesis_out), "--crossover", "2"], "--crossover needs --mix"),
        (
            ["sample", str(generator_out), "--mix", "1"],
            "--mix and --crossover are for a StyleGAN synthesis export",
        ),
        (
            ["export", str(run), "--signature", "bogus", "--out", str(tmp_path / "x.tflite")],
            "no signature 'bogus'",
        ),
        (
            [
                "export",
                str(run),
                "--signature",
                "styles",
                "--quantize",
                "int8",
                "--out",
                str(tmp_path / "y.tflite"),
            ],
            "--quantize dynamic",
        ),
    ):
        out = tmp_path / "bad.png"
        assert main([*bad, "--out", str(out)] if bad[0] == "sample" else bad) == 2, bad
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], (bad, err)
        assert (
            not out.exists() and not (tmp_path / "x.tflite").exists() and not (tmp_path / "y.tflite").exists()
        )


def test_default_export_paths_name_the_synthesis_network(tiny_stylegan_run):
    from kerazoo.export import default_out, load_servable

    run, _ = tiny_stylegan_run
    role = load_servable(run)
    assert default_out(role).name == "generator.tflite"
    assert default_out(role, signature="styles").name == "synthesis.tflite"
    assert default_out(role, quantize="dynamic", signature="styles").name == "synthesis_dynamic.tflite"


def test_same_arguments_give_the_same_stylegan(tiny_stylegan_run, tmp_path):
    run, _ = tiny_stylegan_run
    kerazoo.train("stylegan", epochs=1, hparams=TINY, out=tmp_path / "again", verbose=0)
    a, b = (kerazoo.load_model(p / "model.keras") for p in (run, tmp_path / "again"))
    assert len(a.weights) == len(b.weights)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.weights, b.weights))


def test_an_interrupted_stylegan_resumes_bit_for_bit(tmp_path):
    import tensorflow as tf
    from conftest import Interrupt

    from kerazoo.callbacks import BackupAndRestore, fit_resumable

    tf.config.experimental.enable_op_determinism()

    def fresh():
        gan = _tiny()
        recipe = kerazoo.get_entry("stylegan").recipe.replace({"pl_weight": 2.0, "pl_every": 2})
        gan.compile(**recipe.compile_options(8))  # lazy R1 every 16, the generator's average
        x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
        return gan, tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)

    def state(gan):
        return [v.numpy() for v in gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables]

    gan, ds = fresh()
    reference = gan.fit(ds, epochs=2, verbose=0, shuffle=False).history
    expected = state(gan)
    gan, ds = fresh()
    with pytest.raises(KeyboardInterrupt):
        gan.fit(
            ds,
            epochs=2,
            verbose=0,
            shuffle=False,
            callbacks=[Interrupt(1, 2), BackupAndRestore(tmp_path / "b", save_freq=2)],
        )
    gan, ds = fresh()
    history = fit_resumable(
        gan, ds, BackupAndRestore(tmp_path / "b", save_freq=2), epochs=2, verbose=0, shuffle=False
    )
    assert history.history == reference
    got = state(gan)
    assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))


MIRRORED = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import kerazoo
from kerazoo.models.stylegan import Truncation
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    gan = kerazoo.build("stylegan", latent_dim=16, w_dim=16, mapping_layers=2, width=4, max_width=8, seed=0)
    gan.compile(r1_gamma=0.1, penalty_every=2, pl_weight=2.0, pl_every=2)
x = np.random.default_rng(0).uniform(-1, 1, (32 * 3, 28, 28, 1)).astype("float32")
history = gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(32, drop_remainder=True), epochs=1, verbose=0)
w_avg = next(l for l in gan.mapping.layers if isinstance(l, Truncation)).w_avg
print(json.dumps({"d_loss": history.history["d_loss"][0], "w_avg": float(np.abs(np.asarray(w_avg)).max()),
                  "pl_mean": float(gan.pl_mean.numpy())}))
"""


def test_mirrored_strategy_trains_a_stylegan_with_its_lazy_penalties():
    from conftest import run_python

    out = run_python(MIRRORED)
    assert np.isfinite(out["d_loss"]) and out["w_avg"] > 0 and out["pl_mean"] > 0
