"""DiffAugment (`kerazoo.trainers.augment`) and the GAN's `augment` option."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerazoo.trainers.augment import check_augment, diff_augment


def _draws(seed=0):
    generator = keras.random.SeedGenerator(seed)

    def uniform(shape, minval, maxval):
        return keras.random.uniform(shape, minval=minval, maxval=maxval, seed=generator)

    def randint(shape, minval, maxval):
        return keras.random.randint(shape, minval=minval, maxval=maxval, seed=generator)

    return uniform, randint


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ()),
        ("", ()),
        ("translation", ("translation",)),
        ("translation,cutout", ("translation", "cutout")),
        (" color , cutout ", ("color", "cutout")),
        (["cutout", "translation"], ("cutout", "translation")),
    ],
)
def test_policies_parse_from_strings_and_lists(value, expected):
    assert check_augment(value) == expected


@pytest.mark.parametrize("bad", ["flip", "translation,translation", 3, ["color", 1]])
def test_a_bad_policy_is_one_clear_error(bad):
    with pytest.raises(ValueError) as info:
        check_augment(bad)
    assert "\n" not in str(info.value) and "augment" in str(info.value).lower()


def test_translation_moves_a_pixel_by_at_most_an_eighth_of_the_side():
    x = np.zeros((200, 28, 28, 1), np.float32)
    x[:, 14, 14, 0] = 1.0
    out = np.asarray(diff_augment(x, ("translation",), *_draws()))
    assert out.shape == x.shape
    np.testing.assert_array_equal(out.sum(axis=(1, 2, 3)), 1.0)  # the pixel moved, not smeared
    rows, cols = np.nonzero(out[..., 0])[1:]
    shifts = np.stack([rows - 14, cols - 14])
    assert np.abs(shifts).max() == 4  # round(28 / 8): every shift from -4 to 4 occurs in 200 draws
    assert len({tuple(s) for s in shifts.T}) > 20


def test_translation_fills_the_uncovered_border_with_zeros():
    x = np.ones((100, 8, 8, 1), np.float32)
    out = np.asarray(diff_augment(x, ("translation",), *_draws()))
    for image in out[..., 0]:
        zero_rows = np.all(image == 0, axis=1).sum()
        zero_cols = np.all(image == 0, axis=0).sum()
        assert zero_rows <= 1 and zero_cols <= 1  # 8 / 8 = 1 pixel at most
        assert np.isin(image, (0.0, 1.0)).all()


def test_cutout_zeroes_one_square_of_half_the_side_at_most():
    x = np.ones((200, 28, 28, 1), np.float32)
    out = np.asarray(diff_augment(x, ("cutout",), *_draws()))
    assert np.isin(out, (0.0, 1.0)).all()
    zeros = (out == 0).sum(axis=(1, 2, 3))
    assert zeros.max() == 14 * 14 and zeros.min() > 0
    for image in out[:20, ..., 0]:  # the zeros are one axis-aligned rectangle
        rows, cols = np.nonzero(image == 0)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_color_is_an_affine_change_of_each_grey_image():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 8, 8, 1)).astype(np.float32)
    out = np.asarray(diff_augment(x, ("color",), *_draws()))
    for a, b in zip(x.reshape(16, -1), out.reshape(16, -1)):
        slope, intercept = np.polyfit(a, b, 1)
        np.testing.assert_allclose(slope * a + intercept, b, atol=1e-5)
        assert 0.5 <= slope <= 1.5


def test_the_augmentations_pass_gradients_to_their_input():
    x = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = diff_augment(x, ("color", "translation", "cutout"), *_draws())
        total = tf.reduce_sum(y)
    grads = tape.gradient(total, x)
    assert grads is not None and float(tf.reduce_sum(tf.abs(grads))) > 0


def test_same_seed_same_augmentations():
    x = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
    policy = ("color", "translation", "cutout")
    a = np.asarray(diff_augment(x, policy, *_draws(3)))
    b = np.asarray(diff_augment(x, policy, *_draws(3)))
    np.testing.assert_array_equal(a, b)


# --- in a GAN ---------------------------------------------------------------------------------------


def _tiny_gan(**compile_kwargs):
    from test_gan import tiny_gan

    gan = tiny_gan()
    gan.compile(**compile_kwargs)
    return gan


def test_the_discriminator_sees_augmented_images_in_both_updates():
    from test_gan import tiny_images

    seen = []
    gan = _tiny_gan(augment="cutout")
    d = gan.discriminator

    class Recording(keras.Model):  # records every batch D is given (eagerly)
        def call(self, images, training=None):
            seen.append(np.asarray(images))
            return d(images, training=training)

    gan.discriminator = Recording()
    x, _ = tiny_images(32)
    x = np.ones_like(x)  # all ones: any zero is a cutout
    gan.run_eagerly = True
    gan.fit(x, batch_size=32, epochs=1, verbose=0)
    assert len(seen) == 3  # real and generated for D's update, generated for G's
    for batch in seen:
        assert (batch == 0).reshape(len(batch), -1).any(axis=1).all()


def test_augmented_gan_trains_and_keeps_its_policy_through_saving(tmp_path):
    from test_gan import tiny_images

    gan = _tiny_gan(augment=["translation", "cutout"], r1_gamma=1.0)
    x, _ = tiny_images()
    history = gan.fit(x, batch_size=32, epochs=2, verbose=0).history
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    assert gan.get_compile_config()["augment"] == ["translation", "cutout"]
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert loaded.augment == ("translation", "cutout")
    loaded.fit(x, batch_size=32, epochs=1, verbose=0)


def test_without_augment_the_step_is_unchanged():
    from test_gan import tiny_images

    x, _ = tiny_images()
    weights = []
    for kwargs in ({}, {"augment": ""}):
        keras.utils.set_random_seed(0)
        gan = _tiny_gan(**kwargs)
        gan.fit(x, batch_size=32, epochs=1, verbose=0, shuffle=False)
        weights.append([w.numpy() for w in gan.generator.weights])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_a_bad_augment_in_compile_or_the_recipe_is_one_clear_error():
    from kerazoo._registry import get_entry

    with pytest.raises(ValueError, match="Unknown augmentation 'flip'"):
        _tiny_gan(augment="flip")
    recipe = get_entry("dcgan").recipe
    assert recipe.replace({"augment": ["translation", "cutout"]}).compile_options()["augment"] == [
        "translation",
        "cutout",
    ]
    with pytest.raises(ValueError, match="Unknown augmentation"):
        recipe.replace({"augment": "mirror"})


def test_a_translator_refuses_augmentation():
    import kerazoo

    gan = kerazoo.build("pix2pix", image_shape=(16, 16, 1), source_channels=1)
    with pytest.raises(ValueError, match="without `augment`"):
        gan.compile(augment="translation")
