"""Autoencoders, the VAE and embeddings: wiring, the KL term, noise, sampling, saving, search."""

import json

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.embeddings import cosine_search, embed, feature_model
from kerazoo.trainers.vae import VAE, Sampling, kl_divergence


def _images(n=8, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype(np.float32)


@pytest.mark.parametrize("name", ["autoencoder", "conv_autoencoder", "denoising_autoencoder"])
def test_autoencoder_parts_are_reachable_and_wired(name):
    model = kerazoo.build(name, latent_dim=7)
    encoder, decoder = model.get_layer(f"{name}_encoder"), model.get_layer(f"{name}_decoder")
    x = _images()
    assert encoder(x).shape == (8, 7)
    np.testing.assert_allclose(model(x), decoder(encoder(x)), atol=1e-6)
    assert model(x).numpy().min() >= 0 and model(x).numpy().max() <= 1


def test_vae_parts_and_shapes():
    vae = kerazoo.build("vae", latent_dim=3)
    z_mean, z_log_var, z = vae.encoder(_images())
    assert z_mean.shape == z_log_var.shape == z.shape == (8, 3)
    assert vae.decoder(z).shape == (8, 28, 28, 1)
    assert vae.latent_dim == 3


def _dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_vae_hidden_units_are_mirrored_between_encoder_and_decoder():
    vae = kerazoo.build("vae")  # two Dense(512) each side by default
    assert _dense_units(vae.encoder) == [512, 512, 2, 2]  # then z_mean, z_log_var
    assert _dense_units(vae.decoder) == [512, 512, 7 * 7 * 64]  # then the 7x7 map
    vae = kerazoo.build("vae", hidden_units=(256, 32))
    assert _dense_units(vae.encoder) == [256, 32, 2, 2]
    assert _dense_units(vae.decoder) == [32, 256, 7 * 7 * 64]
    bare = kerazoo.build("vae", hidden_units=())  # z straight to the 7x7 map
    assert _dense_units(bare.decoder) == [7 * 7 * 64]
    assert bare.decoder(np.zeros((3, 2), np.float32)).shape == (3, 28, 28, 1)
    # The conv autoencoders keep their single Dense(128) after the convolutions.
    conv = kerazoo.build("conv_autoencoder").get_layer("conv_autoencoder_encoder")
    assert _dense_units(conv) == [128, 16]
    with pytest.raises(ValueError, match=r"Received: hidden_units=\[0\]"):
        kerazoo.build("vae", hidden_units=[0])


def test_kl_term_matches_hand_computation():
    # KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - log s^2) / 2 per dimension.
    mu = np.array([[0.0, 1.0], [2.0, -1.0]], np.float32)
    var = np.array([[1.0, 0.5], [2.0, 0.25]], np.float32)
    expected = 0.5 * np.sum(mu**2 + var - 1.0 - np.log(var), axis=1)
    np.testing.assert_allclose(kl_divergence(mu, np.log(var)), expected, rtol=1e-5)
    np.testing.assert_allclose(kl_divergence(np.zeros((1, 4)), np.zeros((1, 4))), [0.0], atol=1e-7)


def test_noise_layer_is_active_only_in_training():
    model = kerazoo.build("denoising_autoencoder", noise_stddev=0.5)
    corrupt = model.get_layer("denoising_autoencoder_corrupt")
    x = _images()
    np.testing.assert_array_equal(corrupt(x, training=False), x)
    assert not np.allclose(corrupt(x, training=True), x)
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))


def test_sampling_is_reproducible_from_a_seed():
    mean, log_var = np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)
    a = Sampling(seed=3)([mean, log_var]).numpy()
    b = Sampling(seed=3)([mean, log_var]).numpy()
    c = Sampling(seed=4)([mean, log_var]).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_vae_trains_tracks_its_losses_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    vae = kerazoo.build("vae", seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    ds = kerazoo.make_dataset("digits", "test", 64, labels=False)
    history = vae.fit(ds, epochs=2, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert history["loss"][-1] < history["loss"][0]
    np.testing.assert_allclose(
        history["loss"][-1], history["reconstruction_loss"][-1] + history["kl_loss"][-1], rtol=1e-4
    )
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert isinstance(loaded, VAE)
    z = np.zeros((2, 2), np.float32)
    np.testing.assert_allclose(loaded.decoder(z), vae.decoder(z), atol=1e-6)
    loaded.fit(ds, epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == 3 * int(ds.cardinality())


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="Received: latent_dim=0"):
        kerazoo.build("vae", latent_dim=0)
    with pytest.raises(ValueError, match=r"multiples of 4. Received: image_shape=\(30, 30, 1\)"):
        kerazoo.build("conv_autoencoder", image_shape=(30, 30, 1))
    with pytest.raises(ValueError, match=r"Received shape \(2, 32, 32, 1\)"):
        embed(kerazoo.build("cnn"), np.zeros((2, 32, 32, 1)))
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        feature_model(kerazoo.build("cnn"), "nope")


def test_embeddings_have_the_stated_size():
    assert embed(kerazoo.build("cnn"), _images()).shape == (8, 128)
    assert embed(kerazoo.build("mlp"), _images()).shape == (8, 512)
    assert embed(kerazoo.build("conv_autoencoder", latent_dim=16), _images()).shape == (8, 16)
    assert embed(kerazoo.build("vae", latent_dim=2), _images()).shape == (8, 2)
    ds = kerazoo.make_dataset("digits", "test", 100)  # (images, labels) batches
    assert embed(kerazoo.build("cnn"), ds).shape == (360, 128)


def test_cosine_search_returns_the_query_itself_first():
    features = embed(kerazoo.build("cnn"), kerazoo.make_dataset("digits", "test", 100, shuffle=False))
    idx, sims = cosine_search(features[[3, 50, 200]], features, k=4)
    np.testing.assert_array_equal(idx[:, 0], [3, 50, 200])
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=1e-5)
    assert np.all(np.diff(sims, axis=1) <= 1e-7)


def test_train_vae_writes_parts_pictures_and_per_image_losses(tmp_path):
    from kerazoo.training import train

    out = tmp_path / "vae"
    metrics = train("vae", epochs=1, out=out, verbose=0)
    assert {"test_loss", "test_reconstruction_loss", "test_kl_loss"} <= set(metrics)
    for name in ("encoder.keras", "decoder.keras", "reconstructions.png", "latent_space.png", "model.keras"):
        assert (out / name).is_file(), name
    decoder = keras.saving.load_model(out / "decoder.keras")
    assert decoder(np.zeros((3, 2), np.float32)).shape == (3, 28, 28, 1)
    assert json.loads((out / "config.json").read_text())["task"] == "reconstruction"
