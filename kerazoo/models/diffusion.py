"""The diffusion models' denoiser: a U-Net with residual blocks, group normalization, a sinusoidal
embedding of the step and attention at the low resolutions (Ho et al. 2020; Nichol & Dhariwal 2021).

Reference: Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020. The trainer that
draws the steps and the noise is `kerazoo.trainers.Diffusion`; the samplers are `kerazoo.sampling`.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from kerazoo._registry import register_model
from kerazoo.models._common import check_positive_int, check_shape

__all__ = ["SinusoidalEmbedding", "ddpm_unet"]  # the registry appends `ddpm` and `cddpm`

_DIFFUSION = dict(task="diffusion", dataset="digits", normalization="symmetric")
default_cfgs = {"ddpm": dict(_DIFFUSION), "cddpm": dict(_DIFFUSION)}


@keras.saving.register_keras_serializable(package="kerazoo")
class SinusoidalEmbedding(layers.Layer):
    """The transformer's sinusoidal position embedding of an integer step: `(batch,)` ->
    `(batch, dim)`, half sines and half cosines of `t` at geometric frequencies.

    Args:
        dim: the embedding's size (even).
        max_period: the longest period. Defaults to `10000`.
    """

    def __init__(self, dim, max_period=10000, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"`dim` must be even. Received: dim={dim}")
        self.dim = dim
        self.max_period = max_period

    def call(self, t):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(ops.reshape(t, (-1, 1)), "float32") * ops.reshape(frequencies, (1, -1))
        return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_period": self.max_period}


def _residual_block(x, emb, width, groups, name):
    """GroupNorm -> SiLU -> conv, plus the step's embedding, GroupNorm -> SiLU -> conv, plus the input
    (through a 1x1 convolution when the width changes)."""
    h = layers.GroupNormalization(groups, name=f"{name}_norm1")(x)
    h = layers.Activation("silu", name=f"{name}_act1")(h)
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(h)
    e = layers.Dense(width, name=f"{name}_emb")(emb)
    h = layers.Add(name=f"{name}_add_emb")([h, layers.Reshape((1, 1, width), name=f"{name}_emb_map")(e)])
    h = layers.GroupNormalization(groups, name=f"{name}_norm2")(h)
    h = layers.Activation("silu", name=f"{name}_act2")(h)
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(h)
    if x.shape[-1] != width:
        x = layers.Conv2D(width, 1, name=f"{name}_skip")(x)
    return layers.Add(name=f"{name}_out")([x, h])


def _attention_block(x, groups, heads, name):
    """Self-attention over the map's positions, added to the input."""
    height, width, channels = x.shape[1:]
    h = layers.GroupNormalization(groups, name=f"{name}_norm")(x)
    h = layers.Reshape((height * width, channels), name=f"{name}_tokens")(h)
    h = layers.MultiHeadAttention(heads, channels // heads, name=f"{name}_mha")(h, h)
    h = layers.Reshape((height, width, channels), name=f"{name}_map")(h)
    return layers.Add(name=f"{name}_out")([x, h])


def ddpm_unet(
    image_shape=(28, 28, 1),
    widths=(32, 64, 128),
    blocks=1,
    attention=(),
    num_classes=None,
    groups=8,
    heads=4,
    name="denoiser",
):
    """A DDPM U-Net: `[x_t, t]` (and `labels`) -> the noise in `x_t`.

    Reference: Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020.

    Args:
        image_shape: `(H, W, C)`; the sides must halve `len(widths) - 1` times (28 and 32 do for 3
            widths). Defaults to `(28, 28, 1)`.
        widths: channels at each resolution, from the input's down. Defaults to `(32, 64, 128)`.
        blocks: residual blocks per resolution on the way down (one more on the way up). Defaults to `1`.
        attention: the map sides (e.g. `(7,)`) at which self-attention also follows each block;
            the middle block at the lowest resolution always has it. Defaults to `()`: on this
            CPU a block's attention at 7x7 more than doubled the training step's time.
        num_classes: for a class-conditional denoiser, the class count: its `labels` input takes
            0 to `num_classes - 1`, and `num_classes` for "no label" (classifier-free guidance).
        groups: GroupNormalization groups (must divide every width). Defaults to `8`.
        heads: attention heads. Defaults to `4`.
        name: the model's name.

    Shapes:
        Inputs: `x_t` `(batch, H, W, C)`, `t` int32 `(batch,)`, `labels` int32 `(batch,)`.
        Output: `(batch, H, W, C)`, the predicted noise.

    Returns:
        A Functional `keras.Model`.
    """
    image_shape = check_shape("image_shape", image_shape, ndim=3)
    widths = tuple(check_positive_int("widths", w) for w in widths)
    check_positive_int("blocks", blocks)
    halvings = len(widths) - 1
    if image_shape[0] % 2**halvings or image_shape[1] % 2**halvings:
        raise ValueError(
            f"`image_shape` sides must halve {halvings} times for {len(widths)} widths. "
            f"Received: image_shape={image_shape}, widths={widths}"
        )
    bad = [w for w in widths if w % groups or w % heads]
    if bad:
        raise ValueError(
            f"Every width must be a multiple of `groups` ({groups}) and `heads` ({heads}). Received: {bad}"
        )
    if num_classes is not None:
        check_positive_int("num_classes", num_classes)

    # Inputs and the step's embedding
    x_t = keras.Input(shape=image_shape, name="x_t")
    t = keras.Input(shape=(), dtype="int32", name="t")
    inputs = [x_t, t]
    emb_width = 4 * widths[0]
    emb = SinusoidalEmbedding(widths[0], name=f"{name}_t_sinusoid")(t)
    emb = layers.Dense(emb_width, activation="silu", name=f"{name}_t_dense1")(emb)
    emb = layers.Dense(emb_width, name=f"{name}_t_dense2")(emb)
    if num_classes is not None:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        label_emb = layers.Embedding(num_classes + 1, emb_width, name=f"{name}_label_embedding")(labels)
        emb = layers.Add(name=f"{name}_t_plus_label")([emb, label_emb])
    emb = layers.Activation("silu", name=f"{name}_emb_act")(emb)

    # Stem
    h = layers.Conv2D(widths[0], 3, padding="same", name=f"{name}_stem")(x_t)
    skips = [h]

    # Down
    for level, width in enumerate(widths):
        for b in range(blocks):
            h = _residual_block(h, emb, width, groups, f"{name}_down{level}_block{b}")
            if h.shape[1] in attention:
                h = _attention_block(h, groups, heads, f"{name}_down{level}_attn{b}")
            skips.append(h)
        if level < halvings:
            h = layers.Conv2D(width, 3, strides=2, padding="same", name=f"{name}_down{level}_halve")(h)
            skips.append(h)

    # Middle
    h = _residual_block(h, emb, widths[-1], groups, f"{name}_mid_block0")
    h = _attention_block(h, groups, heads, f"{name}_mid_attn")
    h = _residual_block(h, emb, widths[-1], groups, f"{name}_mid_block1")

    # Up
    for level in reversed(range(len(widths))):
        width = widths[level]
        for b in range(blocks + 1):
            h = layers.Concatenate(name=f"{name}_up{level}_join{b}")([h, skips.pop()])
            h = _residual_block(h, emb, width, groups, f"{name}_up{level}_block{b}")
            if h.shape[1] in attention:
                h = _attention_block(h, groups, heads, f"{name}_up{level}_attn{b}")
        if level > 0:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up{level}_double")(h)
            h = layers.Conv2D(width, 3, padding="same", name=f"{name}_up{level}_conv")(h)

    # Head: the predicted noise, starting at zero
    h = layers.GroupNormalization(groups, name=f"{name}_head_norm")(h)
    h = layers.Activation("silu", name=f"{name}_head_act")(h)
    out = layers.Conv2D(image_shape[-1], 3, padding="same", kernel_initializer="zeros", name=f"{name}_noise")(
        h
    )
    out = layers.Activation("linear", dtype="float32", name=f"{name}_float32")(out)
    return keras.Model(inputs, out, name=name)


def _diffusion(
    image_shape, widths, blocks, schedule, timesteps, num_classes, label_dropout, min_snr_gamma, seed, name
):
    from kerazoo.trainers.diffusion import Diffusion

    denoiser = ddpm_unet(image_shape, widths, blocks, num_classes=num_classes, name=f"{name}_denoiser")
    return Diffusion(
        denoiser,
        schedule=schedule,
        timesteps=timesteps,
        num_classes=num_classes,
        label_dropout=label_dropout,
        min_snr_gamma=min_snr_gamma,
        seed=seed,
        name=name,
    )


@register_model
def ddpm(
    image_shape=(28, 28, 1),
    widths=(32, 64, 128),
    blocks=1,
    schedule="cosine",
    timesteps=1000,
    min_snr_gamma=5.0,
    seed=None,
    name="ddpm",
):
    """A denoising diffusion model: `ddpm_unet` trained by `kerazoo.trainers.Diffusion` to predict noise.

    Reference: Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020; the cosine
    schedule of Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021.

    Args:
        image_shape: `(H, W, C)`, from the data when trained by `kerazoo train`.
        widths: the U-Net's channels at each resolution. Defaults to `(32, 64, 128)`.
        blocks: residual blocks per resolution. Defaults to `1`.
        schedule: `"linear"` or `"cosine"`. Defaults to `"cosine"`.
        timesteps: diffusion steps. Defaults to `1000`.
        min_snr_gamma: gamma of the min-SNR loss weighting (Hang et al. 2023), or None for the
            simple loss (every step alike; `--set min_snr_gamma=null`). Defaults to `5.0`, the
            paper's: in the same training time it gave half the simple loss's FID on `digits` and
            on 3 MNIST epochs (docs/benchmarks/diffusion.md).
        seed: seed of the steps and noise drawn in training.
        name: the model's name.

    Returns:
        A `kerazoo.trainers.Diffusion`.
    """
    return _diffusion(image_shape, widths, blocks, schedule, timesteps, None, 0.0, min_snr_gamma, seed, name)


@register_model
def cddpm(
    image_shape=(28, 28, 1),
    num_classes=10,
    widths=(32, 64, 128),
    blocks=1,
    schedule="cosine",
    timesteps=1000,
    label_dropout=0.1,
    min_snr_gamma=5.0,
    seed=None,
    name="cddpm",
):
    """A class-conditional diffusion model with classifier-free guidance.

    `ddpm` whose denoiser also takes the class, dropped to a null class with probability
    `label_dropout` in training, so that one network gives both predictions that guidance mixes.

    Reference: Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022.

    Args:
        image_shape: `(H, W, C)`, from the data when trained by `kerazoo train`.
        num_classes: the class count, from the data when trained by `kerazoo train`. Defaults to `10`.
        widths, blocks, schedule, timesteps, min_snr_gamma: as `ddpm`'s.
        label_dropout: the probability of training without the label. Defaults to `0.1`.
        seed: seed of the steps, noise and label drops drawn in training.
        name: the model's name.

    Returns:
        A `kerazoo.trainers.Diffusion`.
    """
    return _diffusion(
        image_shape,
        widths,
        blocks,
        schedule,
        timesteps,
        num_classes,
        label_dropout,
        min_snr_gamma,
        seed,
        name,
    )
