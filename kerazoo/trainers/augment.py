"""Differentiable augmentation of what a discriminator sees (DiffAugment, Zhao et al. 2020).

Reference: Zhao, Liu, Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020. The same random transformations are applied to real and generated images before
the discriminator, in the discriminator's and in the generator's updates; they are differentiable,
so the generator learns through them, and the discriminator cannot win by memorising the real
images' exact pixels. StyleGAN2-ADA (Karras et al. 2020) adapts such augmentations' strength; here
each named transformation is applied to every image, as DiffAugment does.

Policies (images in [-1, 1], channels last), in the order given:

- `color`: per image, brightness `+ U(-0.5, 0.5)`, saturation (colour images: the deviation from the
  channels' mean times `U(0, 2)`), contrast (the deviation from the image's mean times `U(0.5, 1.5)`);
- `translation`: per image, a shift by a whole number of pixels up to 1/8 of each side (3 for 28
  pixels, 4 for 32), the uncovered border filled with 0;
- `cutout`: per image, a square of half the side set to 0, centred at a random pixel (clipped at
  the border).

`GAN.compile(augment="translation,cutout")` (or `kerazoo train ... --recipe
augment=translation,cutout`) turns it on; the default is off.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

__all__ = ["POLICIES", "check_augment", "diff_augment"]

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # DiffAugment's
CUTOUT_RATIO = 0.5  # DiffAugment's


def check_augment(value, error=ValueError) -> tuple:
    """`value` (None or "" for none, a comma-separated string, or a list of names) as a tuple of
    policy names; `error` with one line for an unknown or repeated name."""
    if value is None or value == "":
        return ()
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise error(
            f"augment takes policy names, e.g. 'translation,cutout' (from {', '.join(POLICIES)}). "
            f"Received: augment={value!r}"
        )
    names = tuple(n.strip() for n in names if n.strip())
    for name in names:
        if name not in POLICIES:
            raise error(
                f"Unknown augmentation {name!r}: choose from {', '.join(POLICIES)} (comma-separated, "
                "e.g. translation,cutout)."
            )
    if len(set(names)) != len(names):
        raise error(f"augment names a policy twice. Received: augment={value!r}")
    return names


def diff_augment(images, policy, uniform, randint):
    """`images` `(batch, height, width, channels)` with each transformation of `policy` applied.

    `uniform(shape, minval, maxval)` and `randint(shape, minval, maxval)` draw the per-image
    parameters (a GAN passes its own seeded draws, so that a seed gives the same augmentations).
    """
    for name in policy:
        images = _TRANSFORMS[name](images, uniform, randint)
    return images


def _color(x, uniform, randint):
    batch = ops.shape(x)[0]
    x = x + (uniform((batch, 1, 1, 1), 0.0, 1.0) - 0.5)
    if x.shape[-1] > 1:
        mean = ops.mean(x, axis=3, keepdims=True)
        x = (x - mean) * uniform((batch, 1, 1, 1), 0.0, 2.0) + mean
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * uniform((batch, 1, 1, 1), 0.5, 1.5) + mean


def _translation(x, uniform, randint):
    batch = ops.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    shift_y = int(height * TRANSLATION_RATIO + 0.5)
    shift_x = int(width * TRANSLATION_RATIO + 0.5)
    dy = randint((batch, 1), -shift_y, shift_y + 1)
    dx = randint((batch, 1), -shift_x, shift_x + 1)
    padded = ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))  # index 0 and side + 1: the zero border
    rows = ops.clip(ops.arange(height, dtype="int32")[None, :] + dy + 1, 0, height + 1)
    cols = ops.clip(ops.arange(width, dtype="int32")[None, :] + dx + 1, 0, width + 1)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)  # (batch, height, width + 2, channels)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def _cutout(x, uniform, randint):
    batch = ops.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = randint((batch, 1, 1), 0, height + (1 - size_y % 2)) - size_y // 2
    left = randint((batch, 1, 1), 0, width + (1 - size_x % 2)) - size_x // 2
    rows = ops.arange(height, dtype="int32")[None, :, None]
    cols = ops.arange(width, dtype="int32")[None, None, :]
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * ops.cast(ops.logical_not(inside), x.dtype)[..., None]


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}
