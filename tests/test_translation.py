"""Image-to-image translation: paired data (kerazoo.pairs), pix2pix and SRGAN (Translator), the
`translation` task (training, figures, evaluation, export) and `kerazoo translate`."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kerazoo
from kerazoo import pairs as zpairs
from kerazoo.cli import main
from kerazoo.data import DataError, load_images, make_dataset
from kerazoo.models.translation import PixelShuffle, unet_depth
from kerazoo.trainers.translation import Translator

# --- paired data ------------------------------------------------------------------------------------


def test_edges_outline_a_square_and_leave_flat_ground_black():
    image = np.zeros((1, 12, 12, 1), np.uint8)
    image[0, 3:9, 3:9] = 255
    edges = zpairs.edges(image)[0, ..., 0]
    assert set(np.unique(edges)) == {0, 255}
    assert edges[0].max() == 0 and edges[:, 0].max() == 0  # far from the square: no edge
    assert edges[5, 5] == 0  # the flat inside: no edge
    assert edges[3, 5] == 255 and edges[5, 8] == 255  # its border: edge
    assert zpairs.edges(np.zeros((2, 8, 8, 3), np.uint8)).max() == 0  # a blank image has none
    # Each image's edges are its own: a batch gives what each image gives alone.
    batch = np.concatenate([image, np.zeros_like(image), image[:, ::-1]])
    together = zpairs.edges(batch)
    for i in range(3):
        np.testing.assert_array_equal(together[i], zpairs.edges(batch[i : i + 1])[0])


def test_lowres_averages_each_block_and_refuses_a_factor_that_does_not_divide():
    images = np.arange(2 * 4 * 4 * 1, dtype=np.uint8).reshape(2, 4, 4, 1)
    small = zpairs.area_downscale(images, 2)
    assert small.shape == (2, 2, 2, 1)
    assert small[0, 0, 0, 0] == np.mean([0, 1, 4, 5]) and small[1, 1, 1, 0] == np.mean([26, 27, 30, 31])
    with pytest.raises(DataError, match="multiples of 3"):
        zpairs.area_downscale(images, 3)
    for bad in ("lowres", "lowres:1", "lowres:x", "blur", 4):
        with pytest.raises(DataError, match="Unknown pairs"):
            zpairs.parse_pairs(bad)


def test_pairs_from_an_image_dataset_keep_the_source_order_and_range():
    ds = make_dataset("digits", "test", 50, shuffle=False, normalization="symmetric", pairs="lowres:4")
    x, y = next(iter(ds))
    assert x.shape == (50, 7, 7, 1) and y.shape == (50, 28, 28, 1)
    images, _ = load_images("digits", "test")
    np.testing.assert_allclose(y.numpy(), images[:50] / 127.5 - 1.0, atol=1e-6)  # the source order
    np.testing.assert_allclose(x.numpy(), zpairs.area_downscale(images[:50], 4) / 127.5 - 1.0, atol=1e-5)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(y)) <= 1.0
    edges, target = next(iter(make_dataset("digits", "train", 8, normalization="symmetric", pairs="edges")))
    # By default pairs come in the translators' range, [-1, 1]; other images in [0, 1]
    _, default_target = next(iter(make_dataset("digits", "train", 8, pairs="edges")))
    np.testing.assert_array_equal(default_target, target)
    assert float(tf.reduce_min(default_target)) == -1.0
    plain, _ = next(iter(make_dataset("digits", "train", 8)))
    assert float(tf.reduce_min(plain)) == 0.0
    assert edges.shape == target.shape == (8, 28, 28, 1)
    assert set(np.unique(edges.numpy())) <= {-1.0, 1.0}
    with pytest.raises(DataError, match="not paired"):
        make_dataset("digits", "train", 8, direction="AtoB")
    with pytest.raises(DataError, match="image datasets"):
        make_dataset("breast_cancer", "train", 8, pairs="edges")


def test_synthetic_maps_are_seeded_fixed_splits_in_both_directions():
    maps, aerials = zpairs.synthetic_maps("test")
    assert maps.shape == aerials.shape == (200, 64, 64, 3) and maps.dtype == np.uint8
    again_maps, again_aerials = zpairs.render_tiles(3, 64, seed=1)  # the test split's first tiles
    np.testing.assert_array_equal(again_maps, maps[:3])
    np.testing.assert_array_equal(again_aerials, aerials[:3])
    train_maps, _ = zpairs.render_tiles(3, 64, seed=0)  # the training split's first tiles
    assert not np.array_equal(train_maps, maps[:3])
    # Maps are drawn in the palette's flat colours; aerial tiles are photos (many colours).
    palette = {tuple(c) for c in zpairs.MAP_PALETTE.values()}
    assert {tuple(c) for c in maps[:20].reshape(-1, 3)} <= palette
    assert len({tuple(c) for c in aerials[0].reshape(-1, 3)}) > 500
    assert zpairs.map_colour_accuracy(maps[:5], maps[:5]) == 1.0
    assert zpairs.map_colour_accuracy(aerials[:5], maps[:5]) < 0.5
    x, y = next(
        iter(
            make_dataset(
                "synthetic_maps", "test", 4, shuffle=False, direction="aerial2map", normalization=None
            )
        )
    )
    np.testing.assert_array_equal(x.numpy(), aerials[:4])
    np.testing.assert_array_equal(y.numpy(), maps[:4])
    small, _ = zpairs.synthetic_maps("test", size=32)
    assert small.shape[1:] == (32, 32, 3)
    with pytest.raises(DataError, match="multiple of 16"):
        zpairs.synthetic_maps("train", size=40)
    with pytest.raises(DataError, match="Unknown direction"):
        make_dataset("synthetic_maps", "train", 4, direction="AtoB")


def _pix2pix_folder(root, sizes=((16, 32),) * 3, splits=("train", "val")):
    """A pix2pix archive: A (a gradient) left, B (its inverse) right, in each split."""
    for split in splits:
        (root / split).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            pair = np.full((h, w, 3), 20 * i + 10, np.uint8)
            pair[:, w // 2 :] = 255 - pair[:, w // 2 :]
            Image.fromarray(pair).save(root / split / f"{i}.png")
    return root


def test_pix2pix_folders_split_each_image_into_its_pair(tmp_path):
    root = _pix2pix_folder(tmp_path / "facades")
    x, y = next(
        iter(make_dataset("pix2pix_folder", "test", 8, data_dir=root, shuffle=False, normalization=None))
    )
    assert x.shape == y.shape == (3, 16, 16, 3)  # test falls back to val/
    assert x.numpy()[1, 0, 0, 0] == 30 and y.numpy()[1, 0, 0, 0] == 225
    back, _ = next(
        iter(
            make_dataset(
                "pix2pix_folder",
                "test",
                8,
                data_dir=root,
                shuffle=False,
                direction="BtoA",
                normalization=None,
            )
        )
    )
    np.testing.assert_array_equal(back.numpy(), y.numpy())
    # Jitter crops and mirrors both images alike: identical halves stay identical.
    same = tmp_path / "same" / "train"
    same.mkdir(parents=True)
    half = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(np.concatenate([half, half], axis=1)).save(same / "0.png")
    jx, jy = next(iter(make_dataset("pix2pix_folder", "train", 1, data_dir=same.parent, jitter=True)))
    assert jx.shape == (1, 16, 16, 3)
    np.testing.assert_allclose(jx.numpy(), jy.numpy())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda root: root, "has no train/ folder"),
        (lambda root: _pix2pix_folder(root, sizes=((16, 32), (16, 34))), "must have one size"),
        (lambda root: _pix2pix_folder(root, sizes=((16, 33),)), "even width"),
        (
            lambda root: (_pix2pix_folder(root), (root / "train" / "9.jpg").write_text("junk")),
            "Cannot read image",
        ),
    ],
)
def test_bad_pix2pix_folders_get_one_clear_error(tmp_path, make, match):
    root = tmp_path / "archive"
    root.mkdir()
    make(root)
    with pytest.raises(DataError, match=match):
        make_dataset("pix2pix_folder", "train", 4, data_dir=root)


# --- models ---------------------------------------------------------------------------------------


def test_pix2pix_is_a_unet_with_skips_and_a_patchgan_on_pairs():
    model = kerazoo.build("pix2pix", image_shape=(32, 32, 3), source_channels=1, filters=4, max_filters=16)
    assert isinstance(model, Translator) and model.conditional_discriminator
    generator, discriminator = model.generator, model.discriminator
    assert generator.input_shape == (None, 32, 32, 1) and generator.output_shape == (None, 32, 32, 3)
    skips = [layer for layer in generator.layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(skips) == unet_depth((32, 32)) - 1 == 4
    for skip in skips:  # each joins the decoder with the encoder map of the same size
        decoder, encoder = skip.input
        assert decoder.shape[1:3] == encoder.shape[1:3] and encoder.name.startswith("keras_tensor")
    assert [tuple(t.shape[1:]) for t in discriminator.inputs] == [(32, 32, 3), (32, 32, 1)]
    assert discriminator.output_shape == (None, 4, 4, 1)  # one logit per patch
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in generator.layers) == 3
    assert unet_depth((28, 28)) == 2 and unet_depth((256, 256)) == 8
    with pytest.raises(ValueError, match="multiples of 2"):
        kerazoo.build("pix2pix", image_shape=(27, 27, 1))
    with pytest.raises(ValueError, match="multiples of 8"):
        kerazoo.build("pix2pix", image_shape=(28, 28, 1), depth=3)


def test_srgan_upsamples_by_sub_pixel_shuffles():
    model = kerazoo.build("srgan", filters=8, blocks=2, d_filters=4)
    assert model.generator.input_shape == (None, 7, 7, 1) and model.generator.output_shape == (
        None,
        28,
        28,
        1,
    )
    assert not model.conditional_discriminator and model.discriminator.output_shape == (None, 1)
    shuffles = [layer for layer in model.generator.layers if isinstance(layer, PixelShuffle)]
    assert len(shuffles) == 2
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 8)).astype(np.float32)
    np.testing.assert_array_equal(PixelShuffle(2)(x).numpy(), tf.nn.depth_to_space(x, 2).numpy())
    with pytest.raises(ValueError, match="power of 2"):
        kerazoo.build("srgan", scale=3)


def _toy(n=64, side=8, seed=0):
    """Blobby images in [-1, 1] and their colour inversions (the mapping to learn)."""
    rng = np.random.default_rng(seed)
    images = tf.image.resize(rng.uniform(-1, 1, (n, 2, 2, 1)), (side, side), "bilinear").numpy()
    return images.astype(np.float32), -images.astype(np.float32)


def test_the_generator_loss_is_adversarial_plus_lambda_times_l1():
    model = kerazoo.build("pix2pix", image_shape=(8, 8, 1), filters=2, max_filters=4, seed=0)
    model.compile(reconstruction_weight=7.0, adversarial_weight=0.5)
    outputs, targets = _toy(4)
    objective = model._generator_objective(tf.constant(1.5), tf.constant(outputs), tf.constant(targets))
    expected = 0.5 * 1.5 + 7.0 * np.mean(np.abs(outputs - targets))
    np.testing.assert_allclose(float(objective), expected, rtol=1e-6)
    model.compile(reconstruction="mse", reconstruction_weight=2.0, adversarial_weight=0.0)
    objective = model._generator_objective(tf.constant(1.5), tf.constant(outputs), tf.constant(targets))
    np.testing.assert_allclose(float(objective), 2.0 * np.mean((outputs - targets) ** 2), rtol=1e-6)
    with pytest.raises(ValueError, match="reconstruction"):
        model.compile(reconstruction="l2")


def test_a_tiny_pix2pix_learns_to_invert_colours_and_l1_only_leaves_the_discriminator_alone():
    x, y = _toy(256)
    model = kerazoo.build("pix2pix", image_shape=(8, 8, 1), filters=8, max_filters=16, seed=0)
    fast = dict(learning_rate=2e-3, beta_1=0.5)
    model.compile(d_optimizer=keras.optimizers.Adam(**fast), g_optimizer=keras.optimizers.Adam(**fast))
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0, validation_data=(x[:64], y[:64]))
    assert {"d_loss", "g_loss", "reconstruction", "psnr", "val_reconstruction", "val_psnr"} <= set(
        history.history
    )
    identity = float(np.mean(np.abs(x - y)))  # the L1 of doing nothing
    assert history.history["val_reconstruction"][-1] < 0.2 * identity  # about 0.15 of it
    l1_only = kerazoo.build("pix2pix", image_shape=(8, 8, 1), filters=4, max_filters=8, seed=0)
    l1_only.compile(adversarial_weight=0.0)
    before = [w.numpy().copy() for w in l1_only.discriminator.weights]
    history = l1_only.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert set(history.history) == {"reconstruction", "psnr"}
    for old, new in zip(before, l1_only.discriminator.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_mismatched_pairs_get_one_clear_error():
    model = kerazoo.build("pix2pix", image_shape=(8, 8, 1), filters=2, max_filters=4)
    model.compile()
    x, y = _toy(8)
    with pytest.raises(ValueError, match=r"Targets of shape \(16, 16, 1\)"):
        model.fit(x, np.zeros((8, 16, 16, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"\(input, target\)"):
        model.fit(x, verbose=0)
    del y


# --- the task, the CLI and deployment -------------------------------------------------------------


@pytest.fixture(scope="module")
def maps_run(tmp_path_factory):
    """A tiny pix2pix trained for one epoch on synthetic_maps 32x32 tiles, aerial -> map."""
    out = tmp_path_factory.mktemp("p2p") / "run"
    code = main(
        ["train", "pix2pix", "--out", str(out), "--epochs", "1", "--batch-size", "64", "--quiet"]
        + ["--direction", "aerial2map"]
        + ["--set", "filters=4", "--set", "max_filters=8", "--set", "image_shape=32,32,3"]
    )
    assert code == 0
    return out


def test_training_writes_triplets_figures_and_the_generator(maps_run):
    metrics = json.loads((maps_run / "metrics.json").read_text())
    for key in ("l1", "psnr", "ssim", "sharpness_ratio", "map_colour_accuracy", "d_loss"):
        assert np.isfinite(metrics[key]), key
    assert metrics["n"] == 200 and set(metrics["baselines"]) == {"identity"}
    config = json.loads((maps_run / "config.json").read_text())
    assert config["recipe"]["direction"] == "aerial2map" and config["task"] == "translation"
    grid = Image.open(maps_run / "samples.png")
    assert grid.size[0] > 3 * 32 and (maps_run / "grids" / "triplets_epoch_001.png").is_file()
    generator = kerazoo.load_model(maps_run / "generator.keras")
    assert generator.input_shape == (None, 32, 32, 3)
    history = json.loads((maps_run / "history.json").read_text())
    assert "val_psnr" in history


def test_evaluate_a_translation_run(maps_run, capsys):
    assert main(["evaluate", str(maps_run)]) == 0
    figures = json.loads((maps_run / "eval" / "metrics.json").read_text())
    assert 0.0 <= figures["map_colour_accuracy"] <= 1.0 and figures["n"] == 200
    assert np.isfinite(figures["baselines"]["identity"]["psnr"]) and np.isfinite(figures["ssim"])
    assert (maps_run / "eval" / "triplets.png").is_file()
    assert '"psnr"' in capsys.readouterr().out


def test_export_and_translate_files(maps_run, tmp_path, capsys):
    from kerazoo import runtime

    artifact = tmp_path / "p2p.tflite"
    assert main(["export", str(maps_run), "--out", str(artifact)]) == 0
    meta = json.loads(artifact.with_name("p2p.tflite.json").read_text())
    assert meta["role"] == "translator" and meta["verification"]["passed"]
    translator = runtime.load(artifact)
    assert isinstance(translator, runtime.Translator) and translator.input_shape == (32, 32, 3)
    _, aerials = zpairs.synthetic_maps("test", size=32)
    generator = kerazoo.load_model(maps_run / "generator.keras")
    expected = np.clip(
        np.round((generator.predict(aerials[:4] / 127.5 - 1.0, verbose=0) + 1) * 127.5), 0, 255
    )
    assert np.abs(translator.translate(aerials[:4]).astype(int) - expected.astype(int)).max() <= 1
    big = tmp_path / "big.png"
    Image.fromarray(aerials[0]).resize((64, 64)).save(big)  # resized to 32x32 on the way in
    out = tmp_path / "out.png"
    assert main(["translate", str(artifact), str(big), "--out", str(out)]) == 0
    assert Image.open(out).size == (32, 32)
    assert main(["translate", str(artifact), str(big), str(big), "--out", str(tmp_path / "two.png")]) == 0
    assert main(["translate", str(artifact), str(big), "--out", str(out)]) == 2  # exists
    assert (
        main(["translate", str(artifact), str(tmp_path / "none.png"), "--out", str(tmp_path / "n.png")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "n.png").exists()


def test_srgan_runs_report_the_bicubic_baseline_and_the_classifier_on_outputs(tmp_path, digits_cnn_run):
    metrics = kerazoo.train(
        "srgan",
        out=tmp_path / "sr",
        epochs=1,
        batch_size=128,
        hparams=dict(filters=4, blocks=1, d_filters=4),
        verbose=0,
    )
    assert set(metrics["baselines"]) == {"bicubic"} and 0 < metrics["baselines"]["bicubic"]["psnr"] < 40
    config = json.loads((tmp_path / "sr" / "config.json").read_text())
    assert config["recipe"]["pairs"] == "lowres:4" and config["recipe"]["adversarial_weight"] == 1e-3
    # Labelled images made into pairs: the evaluator's accuracy on the outputs against on the real ones.
    assert main(["evaluate", str(tmp_path / "sr"), "--evaluator", str(digits_cnn_run)]) == 0
    figures = json.loads((tmp_path / "sr" / "eval" / "metrics.json").read_text())
    assert figures["classifier_accuracy_real"] > 0.9 and 0.0 <= figures["classifier_accuracy"] <= 1.0
    ratio = figures["classifier_accuracy"] / figures["classifier_accuracy_real"]
    assert figures["classifier_accuracy_ratio"] == pytest.approx(ratio)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["pix2pix", "--dataset", "digits"], "--pairs edges"),
        (["pix2pix", "--dataset", "digits", "--pairs", "lowres:4"], "srgan upsamples"),
        (["pix2pix", "--direction", "sideways"], "Unknown direction"),
        (["pix2pix", "--pairs", "blur", "--dataset", "digits"], "Unknown pairs"),
        (["srgan", "--recipe", "adversarial_weight=0", "--recipe", "reconstruction_weight=0"], "both be 0"),
    ],
)
def test_bad_translation_runs_exit_2_and_write_nothing(tmp_path, capsys, argv, match):
    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out)]) == 2
    assert match in capsys.readouterr().err and not out.exists()


def test_the_perceptual_loss_adds_the_classifier_feature_distance(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    keras.Model(inputs, logits).save(tmp_path / "clf.keras")
    model = kerazoo.build("pix2pix", image_shape=(8, 8, 1), filters=2, max_filters=4)
    model.compile(
        reconstruction="perceptual", reconstruction_weight=1.0, feature_model=tmp_path / "clf.keras"
    )
    outputs, targets = _toy(4)
    features = model._features  # the classifier up to its last convolution
    by_hand = np.mean((outputs - targets) ** 2) + np.mean(
        (features((outputs + 1) / 2).numpy() - features((targets + 1) / 2).numpy()) ** 2
    )
    np.testing.assert_allclose(float(model._reconstruction(outputs, targets)), by_hand, rtol=1e-5)
    with pytest.raises(ValueError, match="needs a feature_model"):
        model.compile(reconstruction="perceptual")
    with pytest.raises(ValueError, match=r"reads images of shape \(8, 8, 1\)"):
        kerazoo.build("srgan", filters=2, blocks=1).compile(
            reconstruction="perceptual", feature_model=tmp_path / "clf.keras"
        )
    out = tmp_path / "run"
    assert main(["train", "srgan", "--recipe", "reconstruction=perceptual", "--out", str(out)]) == 2
    assert main(["train", "srgan", "--recipe", "feature_model=nowhere", "--out", str(out)]) == 2
    assert not out.exists()
