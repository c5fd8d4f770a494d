"""kerazoo.optimizers.Adam: Keras' Adam on TensorFlow's fused kernel, the same updates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo.optimizers import Adam


def _train(optimizer, steps=5, sparse=False, seed=0):
    """`steps` updates of two variables from fixed gradients; their values and the slots after."""
    rng = np.random.default_rng(seed)
    kernel = keras.Variable(rng.normal(size=(6, 4)).astype(np.float32), name="kernel")
    bias = keras.Variable(rng.normal(size=(4,)).astype(np.float32), name="bias")
    variables = [kernel, bias]
    for _ in range(steps):
        grads = [tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in variables]
        if sparse:
            grads[0] = tf.IndexedSlices(grads[0][:2], tf.constant([1, 4]), tf.constant([6, 4]))
        optimizer.apply(grads, variables)
    return [v.numpy() for v in variables], [v.numpy() for v in optimizer.variables]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(learning_rate=2e-4, beta_1=0.5),
        dict(learning_rate=0.1, beta_1=0.0, beta_2=0.99, epsilon=1e-8),
        dict(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5)),
        dict(learning_rate=0.01, weight_decay=0.1, clipnorm=0.5),
        dict(learning_rate=0.01, use_ema=True, ema_overwrite_frequency=2),
        dict(learning_rate=0.01, amsgrad=True),  # Keras' own update (not the fused kernel's)
    ],
)
def test_the_fused_update_is_keras_adams(kwargs):
    ours, ours_slots = _train(Adam(**kwargs))
    keras_, keras_slots = _train(keras.optimizers.Adam(**kwargs))
    for a, b in zip(ours + ours_slots, keras_ + keras_slots):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_fused_update_inside_a_tf_function_and_with_sparse_gradients():
    fused, keras_ = Adam(0.01), keras.optimizers.Adam(0.01)
    ours, _ = _train(fused, sparse=True)  # IndexedSlices: Keras' update
    theirs, _ = _train(keras_, sparse=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    variable = keras.Variable(np.ones(3, np.float32))
    optimizer = Adam(0.5)

    @tf.function
    def step():
        optimizer.apply([tf.constant([1.0, -1.0, 0.0])], [variable])

    step()
    # First step: m = 0.5 g... bias-corrected m / sqrt(v) = sign(g) where g != 0.
    np.testing.assert_allclose(variable.numpy(), [0.5, 1.5, 1.0], rtol=1e-5)


def test_it_serializes_as_kerazoo_adam_and_a_model_saves_and_loads(tmp_path):
    optimizer = Adam(3e-4, beta_1=0.5)
    config = keras.optimizers.serialize(optimizer)
    assert config["registered_name"] == "kerazoo>Adam"
    again = keras.optimizers.deserialize(config)
    assert type(again) is Adam and again.beta_1 == 0.5
    assert type(keras.optimizers.get({"class_name": "kerazoo>Adam", "config": {}})) is Adam

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=Adam(0.01), loss="mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is Adam and int(loaded.optimizer.iterations) == 2
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_loss_scaling_wraps_it_as_keras_adam():
    scaled = keras.optimizers.LossScaleOptimizer(Adam(0.01))
    plain = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01))
    ours, _ = _train(scaled)
    theirs, _ = _train(plain)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_zoo_recipes_train_with_it():
    gan = kerazoo.get_entry("dcgan").recipe.compile_options()
    assert type(gan["d_optimizer"]) is Adam and type(gan["g_optimizer"]) is Adam
    assert type(kerazoo.get_entry("cnn").recipe.build_optimizer("optimizer", 10)) is Adam


# --- the optimizers compared (benchmarks/optimizers.py, train/optimizers.py) ----------------------


def test_every_compared_optimizer_is_a_keras_optimizer_and_names_are_checked():
    from kerazoo.optimizers import COMPARED, make

    assert list(COMPARED) == [
        "SGD",
        "SGD momentum",
        "Nesterov",
        "RMSprop",
        "Adagrad",
        "Adam",
        "AdamW",
        "Lion",
    ]
    for name, (_, grid) in COMPARED.items():
        optimizer = make(name, grid[0])
        assert isinstance(optimizer, keras.optimizers.Optimizer)
        assert float(optimizer.learning_rate) == pytest.approx(grid[0])
    assert make("Nesterov", 0.1).nesterov and make("AdamW", 0.1).weight_decay == 0.01
    with pytest.raises(ValueError, match="Unknown optimizer 'adamax'. Compared: SGD"):
        make("adamax", 0.1)


def test_surface_paths_reach_the_bowls_minimum_and_start_where_asked():
    from kerazoo.optimizers import bowl, make, surface_paths

    paths = surface_paths({"Adam": make("Adam", 0.1), "SGD": make("SGD", 0.1)}, bowl, (-8.0, 1.5), 300)
    for path in paths.values():
        assert path.shape == (301, 2) and tuple(path[0]) == (-8.0, 1.5)
        assert bowl(*path[-1]) < 1e-3 < bowl(*path[0])


@pytest.mark.slow
def test_the_optimizer_benchmark_runs_in_its_quick_mode(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "optimizers.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "optimizers.json").read_text())
    for task in ("mnist_mlp", "diabetes_regression_mlp"):
        runs = figures[task]["optimizers"]
        assert len(runs) == 8
        adam = runs["Adam"]
        assert adam["val_loss"] < adam["curve"]["val_loss"][0]  # it learned
        assert adam["curve"]["steps"][0] == 0 and adam["learning_rate"] in (0.03, 0.01)
    assert set(figures["surfaces"]) == {"Rosenbrock", "bowl"}
    for picture in ("mnist_mlp.png", "diabetes_regression_mlp.png", "surfaces.png"):
        assert (tmp_path / picture).stat().st_size > 10_000, picture
