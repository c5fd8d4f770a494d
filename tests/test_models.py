"""Every registry entry, then the behaviour each classic builder promises."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo._registry import get_entry

TRUTH_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


def _tiny_input(entry, model, batch=3):
    """A small batch for the model: data of its input spec, or noise (and labels) for a GAN."""
    rng = np.random.default_rng(0)
    if hasattr(model, "source_shape"):  # a translator (pix2pix, SRGAN): input images
        return rng.uniform(-1, 1, (batch, *model.source_shape)).astype(np.float32)
    if isinstance(model, kerazoo.Diffusion):  # a denoiser: noisy images, steps (and labels)
        x_t = rng.standard_normal((batch, *model.denoiser.inputs[0].shape[1:])).astype(np.float32)
        inputs = [x_t, np.array([0, 500, 999][:batch], np.int32)]
        return (
            inputs + [np.arange(batch, dtype=np.int32) % model.num_classes] if model.conditional else inputs
        )
    if isinstance(model, kerazoo.GAN):
        noise = rng.standard_normal((batch, model.latent_dim)).astype(np.float32)
        labels = np.arange(batch, dtype=np.int32) % model.num_classes if model.conditional else None
        return [noise, labels] if model.conditional else noise
    return rng.random((batch, *entry.input_spec["shape"])).astype(np.float32)


def _sub_models(model):
    return [model.generator, model.discriminator] if hasattr(model, "generator") else [model]


@pytest.mark.parametrize("name", kerazoo.list_models())
def test_model_builds_and_runs_on_a_tiny_batch(name):
    entry = get_entry(name)
    model = kerazoo.build(name)
    out = model(_tiny_input(entry, model), training=False)
    assert out.shape[0] == 3
    assert not np.isnan(np.asarray(out)).any(), "Output included NaNs"
    for sub in _sub_models(model):
        names = [layer.name for layer in sub.layers]
        assert len(names) == len(set(names))


@pytest.mark.parametrize("name", kerazoo.list_models())
def test_model_config_and_keras_file_round_trip(name, tmp_path):
    entry = get_entry(name)
    model = kerazoo.build(name)
    x = _tiny_input(entry, model)
    clone = model.__class__.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


# -- neuron and logic gates ------------------------------------------------------------------


@pytest.mark.parametrize("gate,table", [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("nand", [1, 1, 1, 0])])
def test_hand_wired_step_neuron_computes_gate_exactly(gate, table):
    model = kerazoo.build("neuron", gate=gate, activation="step")
    np.testing.assert_array_equal(model(TRUTH_INPUTS).numpy().ravel(), table)


@pytest.mark.parametrize("gate,table", [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1])])
def test_hand_wired_sigmoid_neuron_rounds_to_gate(gate, table):
    out = kerazoo.build("neuron", gate=gate)(TRUTH_INPUTS).numpy().ravel()
    np.testing.assert_array_equal(out > 0.5, np.array(table, bool))


def test_neuron_with_explicit_weights():
    model = kerazoo.build("neuron", weights=(1.0, 1.0), bias=-1.5, activation="step")
    np.testing.assert_array_equal(model(TRUTH_INPUTS).numpy().ravel(), [0, 0, 0, 1])


def test_step_neuron_is_not_trainable():
    assert kerazoo.build("neuron", gate="and", activation="step").trainable_weights == []


def _fit_full_batch(model, table, steps):
    """`steps` updates on the whole truth table (what `epochs=steps, batch_size=4` does), as one
    epoch of a repeated batch: the same updates without Keras' per-epoch overhead."""
    batch = (TRUTH_INPUTS.astype(np.float32), np.array(table, np.float32))
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(steps), epochs=1, verbose=0)


@pytest.mark.parametrize("table", [[0, 0, 0, 1], [0, 1, 1, 1]], ids=["and", "or"])
def test_sigmoid_neuron_learns_and_or_with_fit(table):
    keras.utils.set_random_seed(0)
    model = kerazoo.build("neuron")
    model.compile(keras.optimizers.Adam(0.1), "mse")
    _fit_full_batch(model, table, steps=300)
    np.testing.assert_array_equal(model(TRUTH_INPUTS).numpy().ravel() > 0.5, np.array(table, bool))


def test_neuron_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: activation='softsign'"):
        kerazoo.build("neuron", activation="softsign")
    with pytest.raises(ValueError, match="Received: weights=\\(1.0,\\), num_inputs=2"):
        kerazoo.build("neuron", weights=(1.0,))
    with pytest.raises(ValueError, match="Received: gate='xor'"):
        kerazoo.build("neuron", gate="xor")


# -- XOR ------------------------------------------------------------------------------------


def test_hand_wired_xor_is_exact_on_truth_table():
    model = kerazoo.build("xor_net")
    np.testing.assert_array_equal(model(TRUTH_INPUTS).numpy().ravel(), [0, 1, 1, 0])
    assert model.count_params() == 9


def test_hand_wired_xor_hidden_layer_is_or_and_nand():
    model = kerazoo.build("xor_net")
    hidden = keras.Model(model.inputs, model.get_layer("xor_net_hidden").output)
    np.testing.assert_array_equal(hidden(TRUTH_INPUTS).numpy(), [[0, 1], [1, 1], [1, 1], [1, 0]])


def test_trainable_xor_learns_with_fit():
    keras.utils.set_random_seed(0)
    model = kerazoo.build("xor_net", hand_wired=False)
    entry = get_entry("xor_net")
    model.compile(keras.optimizers.Adam(entry.recipe.learning_rate), "mse")
    _fit_full_batch(model, [0, 1, 1, 0], steps=entry.recipe.epochs)
    np.testing.assert_array_equal(model(TRUTH_INPUTS).numpy().ravel() > 0.5, [False, True, True, False])


def test_hand_wired_xor_refuses_other_widths():
    with pytest.raises(ValueError, match="Received: hidden_units=3"):
        kerazoo.build("xor_net", hidden_units=3)


# -- single-weight regression ------------------------------------------------------------------


def test_linear_regression_converges_to_two_by_the_delta_rule():
    from kerazoo.training import WeightHistory

    x = np.arange(5, dtype=np.float32)[:, None]
    y = 2 * x
    lr = 0.01
    model = kerazoo.build("linear_regression")
    assert model.count_params() == 1
    model.compile(keras.optimizers.SGD(lr), "mse")
    history = model.fit(
        x,
        y,
        epochs=100,
        batch_size=5,
        shuffle=False,
        verbose=0,
        callbacks=[WeightHistory("linear_regression_weight")],
    )
    ws = np.array([3.0] + history.history["w"])
    assert abs(ws[-1] - 2.0) < 1e-3
    # Each step is the delta rule: w <- w + lr * 2 * mean((y - w x) x).
    expected = ws[:-1] + lr * 2 * np.mean((y - ws[:-1, None, None] * x) * x, axis=(1, 2))
    np.testing.assert_allclose(ws[1:], expected, rtol=1e-5)
    # The loss shrinks geometrically with w.
    np.testing.assert_allclose(history.history["loss"], 6 * (ws[:-1] - 2) ** 2, rtol=1e-3, atol=1e-8)


# -- MLP and CNN ---------------------------------------------------------------------------


def test_mlp_784_512_512_10_has_669706_parameters_and_log_softmax_output():
    model = kerazoo.build("mlp")
    assert model.count_params() == 669_706 and "669,706" in kerazoo.models.classic.mlp.__doc__
    assert kerazoo.build("mlp", hidden_units=(128, 64)).count_params() == 109_386
    out = model(np.random.rand(4, 28, 28, 1).astype(np.float32)).numpy()
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-5)


def test_cnn_has_272170_parameters_as_its_docstring_says():
    model = kerazoo.build("cnn")
    assert model.count_params() == 272_170
    assert "272,170" in kerazoo.models.classic.cnn.__doc__
    assert [layer.name for layer in model.layers if "conv" in layer.name] == [
        "cnn_block1_conv",
        "cnn_block1_conv2",
        "cnn_block2_conv",
        "cnn_block2_conv2",
    ]
    classic = kerazoo.build("cnn", convs_per_block=1)
    assert classic.count_params() == 225_706
    assert "225,706" in kerazoo.models.classic.cnn.__doc__
    # One convolution a block without batch normalization: the classic layout, 225,034 parameters.
    classic = kerazoo.build("cnn", convs_per_block=1, batch_norm=False)
    assert classic.count_params() == 225_034
    assert not [layer for layer in classic.layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_seed_worked_examples_hold_through_the_builders():
    # Dense 100 -> 50 has 5,050 parameters; an MLP 1000-100-20 has 102,120.
    assert kerazoo.build("mlp", input_shape=(100,), hidden_units=(), num_classes=50).count_params() == 5_050
    assert (
        kerazoo.build("mlp", input_shape=(1000,), hidden_units=(100,), num_classes=20).count_params()
        == 102_120
    )


def test_depth_and_width_are_one_argument():
    model = kerazoo.build("mlp", hidden_units=(256, 128, 64))
    assert [layer.units for layer in model.layers if "dense" in layer.name] == [256, 128, 64]
    assert kerazoo.build("cnn", filters=(16, 32)).get_layer("cnn_block2_conv").filters == 32


def test_cnn_rejects_images_too_small_for_its_blocks():
    with pytest.raises(ValueError, match="too small"):
        kerazoo.build("cnn", input_shape=(8, 8, 1))


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("mlp", {"hidden_units": (0,)}, r"Received: hidden_units=\(0,\)"),
        ("mlp", {"dropout": 1.5}, "Received: dropout=1.5"),
        ("cnn", {"input_shape": (28, 28)}, r"Received: input_shape=\(28, 28\)"),
        ("cnn", {"num_classes": 0}, "Received: num_classes=0"),
        ("lstm_forecaster", {"lookback": 0}, "Received: lookback=0"),
    ],
)
def test_builders_reject_bad_hparams(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kerazoo.build(name, **kwargs)


def test_mlp_learns_tiny_data(mnist_npz_dir):
    ds = kerazoo.make_dataset("mnist", "train", 20, data_dir=mnist_npz_dir)
    keras.utils.set_random_seed(0)
    model = kerazoo.build("mlp")
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(ds, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0] / 3


# -- tabular and forecaster ------------------------------------------------------------------


def test_tabular_mlp_normalization_adapts_to_training_split_only():
    from kerazoo.data import load_tabular

    x_train, _ = load_tabular("breast_cancer", "train")
    model = kerazoo.build("tabular_mlp")
    layer = model.get_layer("tabular_mlp_normalize")
    layer.adapt(x_train)
    np.testing.assert_allclose(np.ravel(layer.mean), x_train.mean(axis=0), rtol=1e-4)
    x_test, _ = load_tabular("breast_cancer", "test")
    assert not np.allclose(np.ravel(layer.mean), x_test.mean(axis=0), rtol=1e-3)


def test_lstm_forecaster_is_many_to_one():
    model = kerazoo.build("lstm_forecaster", lookback=24, num_layers=2)
    assert model.input_shape == (None, 24, 1)
    assert model.output_shape == (None, 1)


@pytest.mark.parametrize("lookback", [12, 13, 24])
def test_lstm_forecaster_seasonal_skip_starts_at_last_years_value(lookback):
    # With the LSTM's output layer at zero, the forecast is the window's value of 12 steps back
    # (its learned weight starts at 1); doubling that weight doubles it.
    model = kerazoo.build("lstm_forecaster", lookback=lookback)
    output = model.get_layer("lstm_forecaster_output")
    output.set_weights([np.zeros_like(w) for w in output.get_weights()])
    x = np.random.default_rng(0).normal(size=(5, lookback, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], x[:, -12, 0], rtol=1e-6)
    model.get_layer("lstm_forecaster_last_year_weight").set_weights([np.array([[2.0]], "float32")])
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], 2 * x[:, -12, 0], rtol=1e-6)


def test_lstm_forecaster_without_seasonal_skip():
    with pytest.raises(ValueError, match="needs lookback >= 12. Received: lookback=6"):
        kerazoo.build("lstm_forecaster", lookback=6)
    model = kerazoo.build("lstm_forecaster", lookback=6, seasonal_skip=False)
    assert model.input_shape == (None, 6, 1)
    assert not any("last_year" in layer.name for layer in model.layers)
    with_skip = kerazoo.build("lstm_forecaster")
    assert (
        with_skip.count_params() == kerazoo.build("lstm_forecaster", seasonal_skip=False).count_params() + 1
    )


# The zoo's BatchNormalization: TensorFlow's fused kernel in training, Keras' own layer otherwise.


def _bn_pair(shape, **kwargs):
    from kerazoo.models._common import BatchNormalization

    stock, zoo = keras.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    stock.build(shape)
    zoo.build(shape)
    rng = np.random.default_rng(0)
    for layer in (stock, zoo):
        if layer.scale:
            layer.gamma.assign(rng.normal(size=layer.gamma.shape) if layer is stock else stock.gamma)
        if layer.center:
            layer.beta.assign(rng.normal(size=layer.beta.shape) if layer is stock else stock.beta)
    return stock, zoo


def _bn_train_step(layer, x, w, mask=None):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True, mask=mask)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * w)
    weights = [v for v in (getattr(layer, "gamma", None), getattr(layer, "beta", None)) if v is not None]
    grads = tape.gradient(loss, [x, *weights])
    return [y, *grads, layer.moving_mean, layer.moving_variance]


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((8, 7, 7, 16), {}),
        ((3, 5, 5, 2), {"momentum": 0.9, "epsilon": 1e-5}),
        ((1, 1, 1, 4), {}),  # one value per channel: variance 0, as Keras has it
        ((4, 3, 3, 5), {"center": False, "scale": False}),
        ((6, 5), {}),  # 2-D: Keras' own path
    ],
)
def test_zoo_batch_norm_trains_as_keras_does(shape, kwargs):
    stock, zoo = _bn_pair(shape, **kwargs)
    x = tf.random.stateless_normal(shape, (1, 2)) * 3.0 + 1.0
    w = tf.random.stateless_normal(shape, (3, 4))
    for _ in range(2):  # the second step starts from the updated moving statistics
        for a, b in zip(_bn_train_step(stock, x, w), _bn_train_step(zoo, x, w)):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=2e-5)
    # Inference is Keras' own code: identical from the same moving statistics.
    zoo.moving_mean.assign(stock.moving_mean)
    zoo.moving_variance.assign(stock.moving_variance)
    np.testing.assert_array_equal(zoo(x, training=False), stock(x, training=False))


def test_zoo_batch_norm_under_mixed_precision_matches_keras():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        stock, zoo = _bn_pair((8, 6, 6, 8))
        x = tf.cast(tf.random.stateless_normal((8, 6, 6, 8), (1, 2)) * 3.0 + 1.0, "bfloat16")
        w = tf.random.stateless_normal((8, 6, 6, 8), (3, 4))
        a, b = _bn_train_step(stock, x, w), _bn_train_step(zoo, x, w)
    finally:
        keras.config.set_dtype_policy("float32")
    assert b[0].dtype == "bfloat16" and zoo.moving_mean.dtype == "float32"
    for u, v in zip(a, b):
        np.testing.assert_allclose(
            np.asarray(tf.cast(v, "float32")), np.asarray(tf.cast(u, "float32")), rtol=0.02, atol=0.05
        )


@pytest.mark.parametrize("policy", ["bfloat16", "float16"])
def test_zoo_batch_norm_under_a_pure_half_policy_matches_keras(policy):
    # A pure (b)float16 policy makes the moving statistics (b)float16 too: updated in float32 and
    # stored back, as Keras does (this raised "cannot compute AddV2" before).
    keras.config.set_dtype_policy(policy)
    try:
        stock, zoo = _bn_pair((8, 6, 6, 8))
        x = tf.cast(tf.random.stateless_normal((8, 6, 6, 8), (1, 2)) * 3.0 + 1.0, policy)
        w = tf.random.stateless_normal((8, 6, 6, 8), (3, 4))
        for _ in range(2):
            a, b = _bn_train_step(stock, x, w), _bn_train_step(zoo, x, w)
        from kerazoo.models._common import BatchNormalization

        model = keras.Sequential([keras.Input((6, 6, 8)), BatchNormalization(), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        history = model.fit(np.ones((4, 6, 6, 8)), np.zeros((4, 6, 6, 1)), epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert b[0].dtype == policy and zoo.moving_mean.dtype == policy
    assert np.isfinite(history.history["loss"][0])
    for u, v in zip(a, b):
        np.testing.assert_allclose(
            np.asarray(tf.cast(v, "float32")), np.asarray(tf.cast(u, "float32")), rtol=0.02, atol=0.05
        )


def test_zoo_batch_norm_second_order_gradient_is_exact():
    """The R1 penalty's gradient through the layer equals a float64 batch normalisation written out
    (no stop_gradient); the bias of the convolution before it, which cannot change the output, gets 0."""
    from kerazoo.models._common import BatchNormalization

    conv, bn, dense = keras.layers.Conv2D(4, 3), BatchNormalization(), keras.layers.Dense(1)
    x = tf.random.stateless_normal((6, 8, 8, 2), (5, 6))
    conv.build(x.shape)
    conv.bias.assign(tf.random.stateless_normal((4,), (7, 8)))

    def penalty_grads(forward, x, weights):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                out = tf.reduce_sum(forward(x))
            gx = inner.gradient(out, x)
            penalty = tf.reduce_sum(gx * gx)
        return outer.gradient(penalty, weights)

    def zoo(x):
        return dense(keras.layers.Flatten()(tf.nn.leaky_relu(bn(conv(x), training=True), 0.2)))

    got = penalty_grads(zoo, x, [conv.kernel, conv.bias])
    k64, b64 = (tf.Variable(tf.cast(v, tf.float64)) for v in (conv.kernel, conv.bias))
    d64 = [tf.cast(v, tf.float64) for v in dense.weights]

    def exact(x):
        h = tf.nn.conv2d(x, k64, 1, "VALID") + b64
        mean = tf.reduce_mean(h, [0, 1, 2])
        var = tf.reduce_mean(tf.square(h - mean), [0, 1, 2])
        h = (h - mean) / tf.sqrt(var + bn.epsilon) * tf.cast(bn.gamma, tf.float64) + tf.cast(
            bn.beta, tf.float64
        )
        return tf.reshape(tf.nn.leaky_relu(h, 0.2), (6, -1)) @ d64[0] + d64[1]

    want = penalty_grads(exact, tf.cast(x, tf.float64), [k64, b64])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-6 * float(np.abs(want[0]).max()))
    np.testing.assert_allclose(got[1], 0.0, atol=1e-5 * float(np.abs(want[0]).max()))


def test_zoo_batch_norm_saves_as_kerazoo_layer(tmp_path):
    from kerazoo.models._common import BatchNormalization

    gan = kerazoo.build("dcgan", width=8)
    assert any(isinstance(layer, BatchNormalization) for layer in gan.generator.layers)
    gan.generator.save(tmp_path / "g.keras")
    loaded = kerazoo.load_model(tmp_path / "g.keras")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in gan.generator.layers]
    noise = np.random.default_rng(0).standard_normal((2, 100)).astype("float32")
    np.testing.assert_array_equal(loaded(noise), gan.generator(noise))


def test_the_zoos_files_load_with_keras_load_model_in_fresh_interpreters(tmp_path):
    # `import kerazoo` (before or after keras) is enough for keras.models.load_model on a run's files,
    # and the deployable generator.keras loads with plain Keras, kerazoo absent, to the same outputs.
    from conftest import run_python

    run = tmp_path / "run"
    kerazoo.train("dcgan", epochs=1, hparams={"width": 8}, out=run, verbose=0)
    noise = np.random.default_rng(0).standard_normal((3, 100)).astype("float32")
    np.save(tmp_path / "noise.npy", noise)
    expected = kerazoo.load_model(run / "generator.keras")(noise)
    for first in ("import kerazoo, keras", "import keras, kerazoo", "import kerazoo.trainers.gan, keras"):
        figures = run_python(
            f"{first}\nimport json\n"
            f"gan = keras.models.load_model({str(run / 'model.keras')!r})\n"
            f"generator = keras.saving.load_model({str(run / 'generator.keras')!r})\n"
            "print(json.dumps([type(gan).__name__, type(generator).__name__]))"
        )
        assert figures[0] == "GAN", figures
    plain = run_python(
        "import sys\nsys.modules['kerazoo'] = None  # kerazoo cannot be imported\n"
        "import json, keras, numpy as np\n"
        f"generator = keras.models.load_model({str(run / 'generator.keras')!r})\n"
        f"images = generator(np.load({str(tmp_path / 'noise.npy')!r}))\n"
        f"np.save({str(tmp_path / 'plain.npy')!r}, np.asarray(images))\n"
        "print(json.dumps(sorted({type(layer).__module__.split('.')[0] for layer in generator.layers})))"
    )
    assert plain == ["keras"]
    np.testing.assert_allclose(np.load(tmp_path / "plain.npy"), np.asarray(expected), atol=1e-6)


def test_a_classifiers_model_keras_loads_and_trains_on_with_plain_keras(digits_cnn_run, tmp_path):
    # The run's model.keras is saved with Keras' BatchNormalization and Keras' Adam (the zoo's Adam
    # subclasses it: same config and slots), so plain Keras, kerazoo absent, loads it to the same
    # predictions and goes on training from the saved optimizer state.
    from conftest import run_python

    model = kerazoo.load_model(digits_cnn_run / "model.keras")
    x = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    plain = run_python(
        "import sys\nsys.modules['kerazoo'] = None  # kerazoo cannot be imported\n"
        "import json, keras, numpy as np\n"
        f"model = keras.models.load_model({str(digits_cnn_run / 'model.keras')!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'plain.npy')!r}, model.predict(x, verbose=0))\n"
        "before = int(model.optimizer.iterations)\n"
        "model.fit(x, np.arange(4), epochs=1, verbose=0)\n"
        "print(json.dumps([type(model.optimizer).__name__, before, int(model.optimizer.iterations),\n"
        "                  sorted({type(layer).__module__.split('.')[0] for layer in model.layers})]))"
    )
    assert plain == ["Adam", int(model.optimizer.iterations), int(model.optimizer.iterations) + 1, ["keras"]]
    np.testing.assert_allclose(np.load(tmp_path / "plain.npy"), model.predict(x, verbose=0), atol=1e-6)


def test_a_file_saved_before_the_trainers_moved_still_loads(tmp_path):
    # Files written before kerazoo.trainers existed name the module their class then lived in
    # (kerazoo.models.progan); kerazoo.load_model finds the class by its registered name anyway.
    import json
    import zipfile

    from conftest import run_python

    gan = kerazoo.build("progan", width=4, max_width=8)
    new = tmp_path / "new.keras"
    gan.save(new)
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(new) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                assert config["module"] == "kerazoo.trainers.progan"
                config["module"] = "kerazoo.models.progan"
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    loaded = run_python(
        f"import json, kerazoo\nprint(json.dumps(type(kerazoo.load_model({str(old)!r})).__name__))"
    )
    assert loaded == "ProGAN"
