"""The GAN model: one train_step for every loss, saving, conditioning, distribution, bad input."""

import json
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo.models.adversarial import mlp_discriminator, mlp_generator
from kerazoo.trainers.gan import GAN, LOSSES, gradient_penalty, r1_penalty

TINY = (8, 8, 1)


def tiny_gan(conditional=False, seed=0, **kwargs):
    num_classes = 3 if conditional else None
    g = mlp_generator(8, (16,), TINY, num_classes=num_classes, name="g")
    d = mlp_discriminator(TINY, (16,), dropout=0.0, num_classes=num_classes, name="d")
    return GAN(g, d, num_classes=num_classes, seed=seed, **kwargs)


def tiny_images(n=64, seed=0):
    """Two modes: a bright top half or a bright bottom half, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, *TINY), np.float32)
    x[: n // 2, :4] = 1.0
    x[n // 2 :, 4:] = 1.0
    return x + rng.normal(0, 0.05, x.shape).astype(np.float32), (np.arange(n) % 3).astype(np.int32)


def test_a_step_updates_both_networks():
    gan = tiny_gan()
    gan.compile()
    x, _ = tiny_images()
    g0 = [w.numpy().copy() for w in gan.generator.trainable_weights]
    d0 = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    logs = gan.fit(x, batch_size=32, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g0, gan.generator.trainable_weights))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(d0, gan.discriminator.trainable_weights))


def test_generator_weights_unchanged_by_discriminator_step():
    gan = tiny_gan()
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0))
    g0 = [w.numpy().copy() for w in gan.generator.trainable_weights]
    gan.fit(tiny_images()[0], batch_size=32, epochs=1, verbose=0)
    for a, b in zip(g0, gan.generator.trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())


def _mlp(inputs, outputs, name):
    x = keras.Input((inputs,))
    h = keras.layers.Dense(32, activation="leaky_relu")(x)
    h = keras.layers.Dense(32, activation="leaky_relu")(h)
    return keras.Model(x, keras.layers.Dense(outputs)(h), name=name)


@pytest.mark.parametrize(
    "loss, r1_gamma", [(name, 0.0) for name in sorted(LOSSES)] + [("non_saturating", 1.0)]
)
def test_every_loss_learns_a_mixture_of_two_gaussians(loss, r1_gamma):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0]], np.float32)
    x = (centers[rng.integers(0, 2, 1024)] + rng.normal(0, 0.2, (1024, 2))).astype(np.float32)

    def near_a_mode(samples):
        distances = np.linalg.norm(samples[:, None] - centers[None], axis=2)
        return np.mean(distances.min(axis=1) < 0.6)

    gan = GAN(_mlp(4, 2, "g"), _mlp(2, 1, "d"), seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        loss=loss,
        d_steps=5 if loss.startswith("wasserstein") else 1,  # n_critic = 5, as WGAN-GP trains
        r1_gamma=r1_gamma,
    )
    assert near_a_mode(gan.generator(gan.sample_noise(500)).numpy()) < 0.05
    history = gan.fit(x, batch_size=64, epochs=40, verbose=0).history
    assert all(np.isfinite(history["d_loss"])) and all(np.isfinite(history["g_loss"]))
    assert near_a_mode(gan.generator(gan.sample_noise(500)).numpy()) > 0.5, loss


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
@pytest.mark.parametrize("d_steps, g_steps", [(1, 1), (3, 1), (1, 2)])
def test_steps_per_network_count_optimizer_updates(d_steps, g_steps, update):
    gan = tiny_gan()
    gan.compile(d_steps=d_steps, g_steps=g_steps, update=update)
    gan.fit(tiny_images()[0], batch_size=32, epochs=1, verbose=0)  # two training steps
    assert int(gan.d_optimizer.iterations.numpy()) == 2 * d_steps
    assert int(gan.g_optimizer.iterations.numpy()) == 2 * g_steps
    assert gan.get_compile_config()["g_steps"] == g_steps


def test_simultaneous_update_is_the_tensorflow_tutorial_step():
    # One forward pass, two tapes, both gradients before either update (the TF DCGAN tutorial).
    gan = tiny_gan(seed=3)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
        update="simultaneous",
    )
    g, d = (keras.models.clone_model(m) for m in (gan.generator, gan.discriminator))
    g.set_weights(gan.generator.get_weights())
    d.set_weights(gan.discriminator.get_weights())
    g_opt, d_opt = keras.optimizers.Adam(1e-2, beta_1=0.5), keras.optimizers.Adam(1e-2, beta_1=0.5)
    real = tf.constant(tiny_images(32)[0])
    noise = keras.random.normal((32, gan.latent_dim), seed=keras.random.SeedGenerator(3))
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = g(noise, training=True)
        real_logits, fake_logits = d(real, training=True), d(fake, training=True)
        g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
    g_opt.apply(g_tape.gradient(g_loss, g.trainable_weights), g.trainable_weights)
    d_opt.apply(d_tape.gradient(d_loss, d.trainable_weights), d.trainable_weights)

    logs = gan.train_on_batch(real, return_dict=True)
    assert logs["g_loss"] == pytest.approx(float(g_loss), rel=1e-5)
    assert logs["d_loss"] == pytest.approx(float(d_loss), rel=1e-5)
    for ours, theirs in ((gan.generator, g), (gan.discriminator, d)):
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert gan.get_compile_config()["update"] == "simultaneous"


def test_alternating_update_goes_through_the_updated_discriminator():
    # Same start, same noise: the two updates differ only in the generator's step.
    weights = {}
    for update in ("alternating", "simultaneous"):
        keras.utils.set_random_seed(0)
        gan = tiny_gan(seed=3)
        gan.compile(update=update)
        gan.train_on_batch(tiny_images(32)[0])
        weights[update] = gan.generator.get_weights(), gan.discriminator.get_weights()
    for a, b in zip(weights["alternating"][1], weights["simultaneous"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)  # D's update is the same
    assert any(not np.allclose(a, b) for a, b in zip(weights["alternating"][0], weights["simultaneous"][0]))


@pytest.mark.parametrize("bad", ["together", "Simultaneous", 1])
def test_a_bad_update_is_one_clear_error(bad):
    with pytest.raises(
        ValueError, match="`update` must be one of \\['alternating', 'simultaneous'\\]. Received"
    ):
        tiny_gan().compile(update=bad)


@pytest.mark.parametrize("name", ["dcgan", "wgan_gp"])
def test_recipe_step_counts_reach_the_trained_model(name, tmp_path):
    recipe = kerazoo.get_entry(name).recipe
    kerazoo.train(name, epochs=1, out=tmp_path / "run", verbose=0, hparams={"width": 8})
    gan = keras.saving.load_model(tmp_path / "run" / "model.keras")
    config = gan.get_compile_config()
    for key in ("d_steps", "g_steps", "r1_gamma"):
        assert config[key] == getattr(recipe, key), key
    d_updates, g_updates = int(gan.d_optimizer.iterations.numpy()), int(gan.g_optimizer.iterations.numpy())
    assert d_updates > 0 and g_updates * recipe.d_steps == d_updates * recipe.g_steps


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_step_counts_are_one_clear_error(bad):
    for key in ("d_steps", "g_steps"):
        with pytest.raises(ValueError, match=f"`{key}` must be a positive integer. Received: {key}="):
            tiny_gan().compile(**{key: bad})


def test_gradient_penalty_matches_hand_computation():
    # D(x) = sum(w * x): its gradient is w everywhere, so GP = (||w|| - 1)^2.
    inputs = keras.Input(shape=(2, 2, 1))
    outputs = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(inputs))
    d = keras.Model(inputs, outputs)
    w = np.array([[3.0], [0.0], [4.0], [0.0]], np.float32)
    d.set_weights([w])
    real = tf.random.normal((5, 2, 2, 1))
    fake = tf.random.normal((5, 2, 2, 1))
    assert float(gradient_penalty(d, real, fake)) == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_interpolates_between_real_and_fake():
    # D(x) = sum(x^2) / 2 has gradient x: at alpha = 0 the penalty is computed at the real images.
    inputs = keras.Input(shape=(3,))
    d = keras.Model(
        inputs, keras.layers.Lambda(lambda x: 0.5 * tf.reduce_sum(x * x, axis=1, keepdims=True))(inputs)
    )
    real = tf.constant([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    fake = tf.zeros((2, 3))
    expected = np.mean([(5.0 - 1.0) ** 2, (2.0 - 1.0) ** 2])
    assert float(gradient_penalty(d, real, fake, alpha=tf.zeros((2, 1)))) == pytest.approx(expected, rel=1e-5)


def test_r1_penalty_matches_hand_computation():
    # D(x) = sum(x^2) / 2 has gradient x: R1 is the mean squared norm of the real images.
    inputs = keras.Input(shape=(3,))
    d = keras.Model(
        inputs, keras.layers.Lambda(lambda x: 0.5 * tf.reduce_sum(x * x, axis=1, keepdims=True))(inputs)
    )
    real = tf.constant([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    penalty, logits = r1_penalty(d, real)
    assert float(penalty) == pytest.approx((25.0 + 4.0) / 2, rel=1e-5)
    np.testing.assert_allclose(logits.numpy(), [[12.5], [2.0]], rtol=1e-6)


def test_r1_gamma_adds_half_gamma_times_r1_to_the_discriminator_loss():
    real = tiny_images(32)[0]
    d_loss = {}
    for gamma in (0.0, 4.0):
        keras.utils.set_random_seed(0)
        gan = tiny_gan(seed=0)
        gan.compile(r1_gamma=gamma)
        if not gamma:
            r1 = float(r1_penalty(gan.discriminator, tf.constant(real))[0])
        d_loss[gamma] = float(gan.train_on_batch(real, return_dict=True)["d_loss"])
    assert r1 > 0
    assert d_loss[4.0] - d_loss[0.0] == pytest.approx(0.5 * 4.0 * r1, rel=1e-4)
    assert gan.get_compile_config()["r1_gamma"] == 4.0


@pytest.mark.parametrize(
    "options, weight",
    [(dict(r1_gamma=0.5), "r1_gamma"), (dict(loss="wasserstein_gp", gp_weight=2.0), "gp_weight")],
)
def test_lazy_penalty_is_every_kth_update_k_times_heavier(options, weight):
    # penalty_every=3: the update whose step count is a multiple of 3 is the eager update with the
    # penalty's weight times 3; the others are updates without the penalty (same optimizer steps).
    real = tiny_images(32)[0]

    def step(iterations, **compile_options):
        keras.utils.set_random_seed(0)
        gan = tiny_gan(seed=0)
        gan.compile(**{**options, **compile_options})
        gan.build_optimizers()
        gan.d_optimizer.iterations.assign(iterations)
        gan.g_optimizer.iterations.assign(iterations)
        logs = gan.train_on_batch(real, return_dict=True)
        return [w.numpy() for w in gan.discriminator.trainable_weights], logs["d_loss"]

    for iterations, eager in ((0, 3 * options[weight]), (3, 3 * options[weight]), (1, 0.0), (5, 0.0)):
        lazy_weights, lazy_loss = step(iterations, penalty_every=3)
        eager_weights, eager_loss = step(iterations, **{weight: eager})
        assert lazy_loss == pytest.approx(eager_loss, rel=1e-5), iterations
        for a, b in zip(lazy_weights, eager_weights):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=str(iterations))
    gan = tiny_gan()
    gan.compile(penalty_every=4)
    assert gan.get_compile_config()["penalty_every"] == 4
    with pytest.raises(ValueError, match="`penalty_every` must be"):
        gan.compile(penalty_every=0)


def test_the_drift_term_adds_a_thousandth_of_the_mean_squared_real_score():
    real, fake = tf.constant([[3.0], [-1.0]]), tf.constant([[0.5], [1.5]])
    plain = float(LOSSES["wasserstein_gp"].discriminator_loss(real, fake))
    drift = float(LOSSES["wasserstein_gp_drift"].discriminator_loss(real, fake))
    assert plain == pytest.approx(1.0 - 1.0)
    assert drift - plain == pytest.approx(0.001 * (9.0 + 1.0) / 2)
    assert LOSSES["wasserstein_gp_drift"].gradient_penalty


@pytest.mark.parametrize("key", ["gp_weight", "r1_gamma"])
@pytest.mark.parametrize("bad", [-1.0, True, "10"])
def test_bad_penalty_weights_are_one_clear_error(key, bad):
    with pytest.raises(ValueError, match=f"`{key}` must be a number >= 0. Received: {key}="):
        tiny_gan().compile(**{key: bad})


def test_noise_is_reproducible_from_the_seed():
    a = tiny_gan(seed=7).sample_noise(4).numpy()
    b = tiny_gan(seed=7).sample_noise(4).numpy()
    c = tiny_gan(seed=8).sample_noise(4).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_conditioning_changes_the_output():
    gan = tiny_gan(conditional=True)
    noise = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    out = [gan.generator([noise, np.full(3, k, np.int32)]).numpy() for k in range(3)]
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])


def test_conditional_gan_trains_on_images_and_labels():
    gan = tiny_gan(conditional=True)
    gan.compile()
    x, y = tiny_images()
    history = gan.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0])


def test_conditional_gan_without_labels_is_one_clear_error():
    gan = tiny_gan(conditional=True)
    gan.compile()
    with pytest.raises(ValueError, match="needs \\(images, labels\\) batches"):
        gan.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0)


def test_wrong_image_shape_is_one_clear_error():
    gan = tiny_gan()
    gan.compile()
    with pytest.raises(
        ValueError, match=r"Images of shape \(28, 28, 1\) given to a GAN that makes \(8, 8, 1\)"
    ):
        gan.fit(np.zeros((16, 28, 28, 1), np.float32), batch_size=16, epochs=1, verbose=0)


def test_wrong_channel_count_for_dcgan_is_one_clear_error():
    gan = kerazoo.build("dcgan")
    gan.compile()
    with pytest.raises(
        ValueError, match=r"Images of shape \(28, 28, 3\) given to a GAN that makes \(28, 28, 1\)"
    ):
        gan.fit(np.zeros((8, 28, 28, 3), np.float32), batch_size=8, epochs=1, verbose=0)


def test_unknown_loss_is_one_clear_error():
    with pytest.raises(ValueError, match="Unknown GAN loss.*Received: loss='wasserstein'"):
        tiny_gan().compile(loss="wasserstein")


def test_mismatched_networks_are_refused():
    g = mlp_generator(8, (16,), TINY, name="g")
    d = mlp_discriminator((28, 28, 1), (16,), name="d")
    with pytest.raises(ValueError, match="makes images of shape \\(8, 8, 1\\) but the discriminator takes"):
        GAN(g, d)


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan", "wgan_gp"])
def test_registry_gans_have_the_documented_shapes(name):
    gan = kerazoo.build(name)
    assert gan.latent_dim == 100 and gan.image_shape == (28, 28, 1)
    noise = np.zeros((2, 100), np.float32)
    inputs = [noise, np.array([3, 4], np.int32)] if gan.conditional else noise
    images = gan.generator(inputs).numpy()
    assert images.shape == (2, 28, 28, 1) and np.abs(images).max() <= 1.0
    d_inputs = [images, np.array([3, 4], np.int32)] if gan.conditional else images
    assert gan.discriminator(d_inputs).shape == (2, 1)


def test_dcgan_layers_follow_the_paper_table():
    gan = kerazoo.build("dcgan", width=64)  # the default, 32, halves every width
    assert kerazoo.build("dcgan").generator.get_layer("dcgan_generator_block1_deconv").filters == 128
    g_shapes = [tuple(layer.output.shape[1:]) for layer in gan.generator.layers if "deconv" in layer.name]
    assert g_shapes == [(7, 7, 256), (14, 14, 128), (28, 28, 64), (28, 28, 1)]
    d_shapes = [
        tuple(layer.output.shape[1:]) for layer in gan.discriminator.layers if layer.name.endswith("_conv")
    ]
    assert d_shapes == [(14, 14, 64), (7, 7, 128), (4, 4, 256)]
    d_bn = [layer.name for layer in gan.discriminator.layers if layer.name.endswith("_bn")]
    assert d_bn == ["dcgan_discriminator_block2_bn", "dcgan_discriminator_block3_bn"]
    assert not any("bn" in layer.name for layer in kerazoo.build("wgan_gp").discriminator.layers)


def test_latent_dim_is_one_argument():
    assert kerazoo.build("dcgan", latent_dim=200).generator.input_shape == (None, 200)


def test_keras_round_trip_and_training_continues_with_optimizer_state(tmp_path):
    gan = tiny_gan()
    gan.compile(loss="hinge")
    x, _ = tiny_images()
    gan.fit(x, batch_size=32, epochs=1, verbose=0)
    iterations = int(gan.d_optimizer.iterations.numpy())
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GAN) and loaded.gan_loss.name == "hinge"
    assert int(loaded.d_optimizer.iterations.numpy()) == iterations
    for a, b in zip(gan.d_optimizer.variables, loaded.d_optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    noise = np.ones((2, 8), np.float32)
    np.testing.assert_allclose(loaded.generator(noise), gan.generator(noise), atol=1e-6)
    loaded.fit(x, batch_size=32, epochs=1, verbose=0)
    assert int(loaded.d_optimizer.iterations.numpy()) == 2 * iterations


def test_fit_ends_with_each_optimizers_moving_average_like_keras(tmp_path):
    # ema_momentum=1.0 freezes the average at the weights of the first update: after fit, each network
    # holds those, not its last raw weights (Keras does this only for `model.optimizer`).
    first, last = {}, {}

    class Snapshot(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for net in ("generator", "discriminator"):
                weights = [w.numpy().copy() for w in getattr(self.model, net).trainable_weights]
                first.setdefault(net, weights)
                last[net] = weights

    gan = tiny_gan()
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=1.0),
        g_optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=1.0),
    )
    gan.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0, callbacks=[Snapshot()])  # 4 steps
    for net in ("generator", "discriminator"):
        final = [w.numpy() for w in getattr(gan, net).trainable_weights]
        assert max(np.abs(a - b).max() for a, b in zip(final, last[net])) > 1e-3, net
        for a, b in zip(final, first[net]):
            np.testing.assert_allclose(a, b, err_msg=net)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert loaded.g_optimizer.use_ema and loaded.g_optimizer.ema_momentum == 1.0
    loaded.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0)  # continues with the averages


def test_averaged_weights_shows_the_moving_average_during_training_and_restores(tmp_path):
    # ema_momentum=1.0: the average is the weights after the first update. Inside the block the
    # generator holds those (what fit will save), after it its raw weights again; SampleGrid's grids
    # come from the average.
    seen = {}

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights = [w.numpy().copy() for w in self.model.generator.trainable_weights]
            seen.setdefault("first", weights)
            if batch == 3:
                with self.model.averaged_weights() as gan:
                    seen["inside"] = [w.numpy().copy() for w in gan.generator.trainable_weights]
                seen["after"] = [w.numpy().copy() for w in self.model.generator.trainable_weights]
                seen["raw"] = weights

    gan = tiny_gan()
    gan.compile(g_optimizer=kerazoo.optimizers.Adam(1e-2, use_ema=True, ema_momentum=1.0))
    grids = kerazoo.callbacks.SampleGrid(tmp_path / "grids", num_samples=4)
    gan.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0, callbacks=[Look(), grids])
    for inside, first in zip(seen["inside"], seen["first"]):
        np.testing.assert_allclose(inside, first)
    for after, raw in zip(seen["after"], seen["raw"]):
        np.testing.assert_array_equal(after, raw)
    assert max(np.abs(a - b).max() for a, b in zip(seen["raw"], seen["first"])) > 1e-3
    assert grids.paths[0].exists()

    plain = tiny_gan()
    plain.compile()
    plain.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0)
    before = [w.numpy().copy() for w in plain.generator.trainable_weights]
    with plain.averaged_weights():  # no moving average kept: nothing changes
        for w, b in zip(plain.generator.trainable_weights, before):
            np.testing.assert_array_equal(w.numpy(), b)


def test_averaged_weights_looks_inside_the_float16_loss_scale_wrapper():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = tiny_gan()
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=1.0))
        assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
        gan.fit(tiny_images()[0], batch_size=16, epochs=1, verbose=0)
        average = [v.numpy() for v in gan.g_optimizer.inner_optimizer._model_variables_moving_average]
        for w, a in zip(gan.generator.trainable_weights, average):  # fit ended with the average
            np.testing.assert_allclose(w.numpy(), a)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_generator_saves_and_loads_alone(tmp_path):
    gan = tiny_gan(conditional=True)
    gan.generator.save(tmp_path / "generator.keras")
    loaded = keras.saving.load_model(tmp_path / "generator.keras")
    inputs = [np.ones((2, 8), np.float32), np.array([0, 2], np.int32)]
    np.testing.assert_allclose(loaded(inputs), gan.generator(inputs), atol=1e-6)


DISTRIBUTED = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from keras import layers
    from kerazoo.trainers.gan import GAN

    def make_gan():
        # The generator ignores its noise (a frozen zero projection), so both runs see the same
        # generated images whatever noise each replica draws; the step differs only in how the
        # losses are averaged over the global batch.
        noise = keras.Input((4,))
        zero = layers.Dense(16, kernel_initializer="zeros", use_bias=False, trainable=False)(noise)
        x = layers.Dense(16, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=4),
                         bias_initializer=keras.initializers.RandomNormal(seed=1))(zero)
        g = keras.Model(noise, layers.Reshape((4, 4, 1))(x))
        images = keras.Input((4, 4, 1))
        h = layers.Dense(8, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=2))(
            layers.Flatten()(images))
        d = keras.Model(images, layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=3))(h))
        return GAN(g, d, seed=0)

    x = np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 1)).astype("float32")
    results = {}
    for mode in ("single", "mirrored"):
        strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mode == "mirrored"
                    else tf.distribute.get_strategy())
        with strategy.scope():
            gan = make_gan()
            gan.compile(d_optimizer=keras.optimizers.SGD(0.5), g_optimizer=keras.optimizers.SGD(0.5))
        ds = tf.data.Dataset.from_tensor_slices(x).batch(8)
        logs = gan.fit(ds, epochs=1, verbose=0).history
        results[mode] = {
            "replicas": strategy.num_replicas_in_sync,
            "d": [w.numpy().tolist() for w in gan.discriminator.trainable_weights],
            "g": [w.numpy().tolist() for w in gan.generator.trainable_weights],
            "d_loss": logs["d_loss"][0],
        }
    print(json.dumps(results))
    """
)


def test_distributed_step_matches_single_device_step():
    from conftest import run_python

    out = run_python(DISTRIBUTED)
    single, mirrored = out["single"], out["mirrored"]
    assert mirrored["replicas"] == 2
    for key in ("d", "g"):
        for a, b in zip(single[key], mirrored[key]):
            np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)
    assert mirrored["d_loss"] == pytest.approx(single["d_loss"], abs=1e-5)


def test_train_recipe_writes_generator_grids_and_curves(tmp_path):
    from kerazoo.training import train

    out = tmp_path / "run"
    metrics = train(
        "gan",
        epochs=2,
        batch_size=128,
        out=out,
        verbose=0,
        hparams={"generator_units": [32], "discriminator_units": [32], "latent_dim": 16},
    )
    for name in (
        "model.keras",
        "generator.keras",
        "samples.png",
        "training_curves.png",
        "history.json",
        "grids/grid_epoch_001.png",
        "grids/grid_epoch_002.png",
    ):
        assert (out / name).is_file(), name
    assert {"d_loss", "g_loss", "d_real", "d_fake", "images_per_second"} <= set(metrics)
    history = json.loads((out / "history.json").read_text())
    assert {"sample_diversity", "mode_collapse"} <= set(history)
    generator = keras.saving.load_model(out / "generator.keras")
    assert generator(np.zeros((2, 16), np.float32)).shape == (2, 28, 28, 1)


def test_train_cgan_recipe_generator_takes_noise_and_labels(tmp_path):
    from kerazoo.training import train

    out = tmp_path / "run"
    train("cgan", epochs=1, batch_size=256, out=out, verbose=0, hparams={"width": 8, "latent_dim": 8})
    generator = keras.saving.load_model(out / "generator.keras")
    assert [i.name for i in generator.inputs] == ["noise", "labels"]
    assert generator([np.zeros((2, 8), np.float32), np.array([3, 7], np.int32)]).shape == (2, 28, 28, 1)


def test_train_recipe_under_mirrored_strategy(tmp_path):
    from kerazoo.training import train

    class Placement(keras.callbacks.Callback):
        """What `fit` trains under: the model's strategy and where its variables live."""

        def on_train_batch_end(self, batch, logs=None):
            self.strategy = type(self.model.distribute_strategy).__name__
            self.mirrored = [
                isinstance(w.value, tf.distribute.DistributedValues)
                for w in (*self.model.generator.weights, *self.model.d_optimizer.variables)
            ]

    placement = Placement()
    out = tmp_path / "run"
    train(
        "gan",
        epochs=1,
        batch_size=256,
        out=out,
        verbose=0,
        strategy="mirrored",
        callbacks=[placement],
        hparams={"generator_units": [16], "discriminator_units": [16], "latent_dim": 8},
    )
    assert json.loads((out / "config.json").read_text())["strategy"] == "mirrored"
    # The networks and the optimizers' state were built in the strategy's scope: mirrored variables.
    assert placement.strategy == "MirroredStrategy" and placement.mirrored and all(placement.mirrored)
