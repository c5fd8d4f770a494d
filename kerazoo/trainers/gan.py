"""`kerazoo.GAN`: one `keras.Model` whose `train_step` trains every GAN of the zoo with `fit`.

What differs between GAN types is the adversarial loss, a named choice passed to `compile`:

| loss | discriminator | generator | `d_real` / `d_fake` |
|---|---|---|---|
| `minimax` | `-log D(x) - log(1 - D(G(z)))` | `log(1 - D(G(z)))` (Goodfellow et al. 2014) | probabilities |
| `non_saturating` (default) | same | `-log D(G(z))` | probabilities |
| `least_squares` | `(D(x) - 1)^2 / 2 + D(G(z))^2 / 2` | `(D(G(z)) - 1)^2 / 2` (Mao et al. 2017) | raw scores |
| `wasserstein_gp` | `D(G(z)) - D(x) + gp_weight * GP` | `-D(G(z))` (Gulrajani et al. 2017) | critic scores |
| `wasserstein_gp_drift` | the same `+ 0.001 * D(x)^2` (keeps scores near 0; Karras et al. 2018) | `-D(G(z))` | critic scores |
| `hinge` | `relu(1 - D(x)) + relu(1 + D(G(z)))` | `-D(G(z))` | raw scores |

The discriminator returns logits (or critic scores); the sigmoid lives in the loss. Any loss can add
the R1 penalty on real images (`compile(r1_gamma=...)`, Mescheder et al. 2018), and any GAN whose
discriminator judges images alone can augment what it sees (`compile(augment="translation,cutout")`,
DiffAugment: `kerazoo.trainers.augment`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from kerazoo._checks import check_choice, check_number, check_positive_int
from kerazoo.optimizers import Adam  # noqa: F401  (registers kerazoo>Adam, the default)
from kerazoo.trainers.augment import check_augment, diff_augment

__all__ = ["GAN", "GANLoss", "GANOptions", "LOSSES", "UPDATES", "get_loss", "gradient_penalty", "r1_penalty"]

# Radford et al. 2016, with lr 2e-4; kerazoo.optimizers.Adam is Keras' on TensorFlow's fused kernel.
_DCGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.5}}


@dataclasses.dataclass(frozen=True)
class GANOptions:
    """What `GAN.compile` takes, with its defaults: the only place they are written. The generation
    task's recipe (`kerazoo.tasks.generation.GANRecipe`) is these plus epochs and batch size.

    Optimizers are Keras-serialized configs (`{"class_name": "Adam", "config": {...}}`, or a name);
    `learning_rate` is both optimizers' unless a config sets its own.
    """

    loss: str = "non_saturating"
    learning_rate: float = 2e-4
    d_optimizer: Any = dataclasses.field(default_factory=lambda: dict(_DCGAN_ADAM))
    g_optimizer: Any = dataclasses.field(default_factory=lambda: dict(_DCGAN_ADAM))
    d_steps: int = 1
    g_steps: int = 1
    gp_weight: float = 10.0
    r1_gamma: float = 0.0
    update: str = "alternating"
    penalty_every: int = 1
    augment: tuple = ()


UPDATES = ("alternating", "simultaneous")


def _averaged(optimizer) -> list:
    """The weights whose moving averages a built optimizer keeps (`use_ema=True`), in the order it
    keeps them (all it was built for: a growing GAN's every phase), or [] when it keeps none. Looks
    inside a `LossScaleOptimizer` (mixed_float16), whose `finalize_variable_values` delegates."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not (getattr(inner, "use_ema", False) and optimizer.built and inner.built):
        return []
    return list(inner._trainable_variables)


def _default_optimizer(key: str):
    options = GANOptions()
    config = getattr(options, key)
    return keras.optimizers.get(
        {
            "class_name": config["class_name"],
            "config": {"learning_rate": options.learning_rate, **config["config"]},
        }
    )


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """An adversarial loss: two functions of logits, and whether D's outputs are probabilities."""

    name: str
    discriminator_loss: Callable  # (real_logits, fake_logits) -> scalar
    generator_loss: Callable  # (fake_logits) -> scalar
    probabilistic: bool  # report d_real / d_fake as sigmoid probabilities
    gradient_penalty: bool = False


DRIFT = 0.001  # ProGAN's epsilon_drift: the weight of D(x)^2 in `wasserstein_gp_drift`


def _softplus(x):
    return ops.softplus(x)


LOSSES = {
    # -log sigmoid(r) - log(1 - sigmoid(f)) = softplus(-r) + softplus(f)
    "minimax": GANLoss(
        "minimax",
        lambda r, f: ops.mean(_softplus(-r)) + ops.mean(_softplus(f)),
        lambda f: -ops.mean(_softplus(f)),  # log(1 - sigmoid(f)) = -softplus(f)
        probabilistic=True,
    ),
    "non_saturating": GANLoss(
        "non_saturating",
        lambda r, f: ops.mean(_softplus(-r)) + ops.mean(_softplus(f)),
        lambda f: ops.mean(_softplus(-f)),
        probabilistic=True,
    ),
    "least_squares": GANLoss(
        "least_squares",
        lambda r, f: 0.5 * ops.mean(ops.square(r - 1.0)) + 0.5 * ops.mean(ops.square(f)),
        lambda f: 0.5 * ops.mean(ops.square(f - 1.0)),
        probabilistic=False,
    ),
    "wasserstein_gp": GANLoss(
        "wasserstein_gp",
        lambda r, f: ops.mean(f) - ops.mean(r),
        lambda f: -ops.mean(f),
        probabilistic=False,
        gradient_penalty=True,
    ),
    "wasserstein_gp_drift": GANLoss(
        "wasserstein_gp_drift",
        lambda r, f: ops.mean(f) - ops.mean(r) + DRIFT * ops.mean(ops.square(r)),
        lambda f: -ops.mean(f),
        probabilistic=False,
        gradient_penalty=True,
    ),
    "hinge": GANLoss(
        "hinge",
        lambda r, f: ops.mean(ops.relu(1.0 - r)) + ops.mean(ops.relu(1.0 + f)),
        lambda f: -ops.mean(f),
        probabilistic=False,
    ),
}


def get_loss(name) -> GANLoss:
    """A loss by name (or a `GANLoss` as is); a ValueError lists the names otherwise."""
    if isinstance(name, GANLoss):
        return name
    if name not in LOSSES:
        raise ValueError(f"Unknown GAN loss. Expected one of {sorted(LOSSES)}. Received: loss={name!r}")
    return LOSSES[name]


def _float32(x):
    """`x` in float32: logits, images and losses leave a mixed-precision network in float32."""
    return ops.cast(x, "float32")


def _input_gradient_sq_norms(discriminator, images, labels=None):
    """D's logits (float32) at `images` and, per image, the squared L2 norm of the gradient of D's
    output with respect to that image (the summed logits are differentiated, as StyleGAN does)."""
    images = _float32(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = _float32(discriminator(images if labels is None else [images, labels], training=True))
    grads = tape.gradient(logits, images)  # of the summed logits
    return logits, ops.sum(ops.square(grads), axis=list(range(1, len(images.shape))))


def gradient_penalty(discriminator, real, fake, labels=None, alpha=None):
    """WGAN-GP's penalty: mean over the batch of `(||grad_x D(x_hat)||_2 - 1)^2`, where `x_hat` is a
    random point on the line between a real and a generated image (`alpha` in [0, 1], per image)."""
    batch = ops.shape(real)[0]
    if alpha is None:
        alpha = tf.random.uniform([batch] + [1] * (len(real.shape) - 1), 0.0, 1.0)
    _, sq_norms = _input_gradient_sq_norms(discriminator, real + alpha * (fake - real), labels)
    return ops.mean(ops.square(ops.sqrt(sq_norms + 1e-12) - 1.0))


def r1_penalty(discriminator, real, labels=None):
    """R1 (Mescheder et al. 2018): mean over the batch of `||grad_x D(x)||_2^2` at real images.

    Returns `(penalty, logits)`: D's logits for `real` come from the same forward pass, so the
    training step does not run D on the real batch twice.
    """
    logits, sq_norms = _input_gradient_sq_norms(discriminator, real, labels)
    return ops.mean(sq_norms), logits


def replica_draw(draw, shape, **kwargs):
    """`draw(shape, **kwargs)` (a `keras.random` function) for this replica's share of the global
    batch: the draw for the whole global batch, sliced at this replica's place. A distributed step
    then sees the noise a one-device step on the same global batch sees, and replicas, whose seed
    generators are copies of one another, do not repeat each other's draws."""
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    if replicas == 1:
        return draw(shape, **kwargs)
    batch = shape[0]
    whole = draw((batch * replicas, *shape[1:]), **kwargs)
    start = context.replica_id_in_sync_group * batch
    return whole[start : start + batch]


def scale_for_replicas(loss):
    """Divide a per-replica mean by the replica count: the optimizer sums gradients across replicas,
    so the update is that of the mean over the global batch (what Keras' own losses do)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


@keras.saving.register_keras_serializable(package="kerazoo")
class GAN(keras.Model):
    """A generator and a discriminator trained adversarially with plain `fit`.

    Example:
        ```python
        gan = kerazoo.build("dcgan")
        gan.compile()  # Adam(2e-4, beta_1=0.5) for both, non-saturating loss
        gan.fit(kerazoo.make_dataset("digits", "train", 64, normalization="symmetric",
                                     labels=False, drop_remainder=True), epochs=5)
        images = gan.generator(keras.random.normal((16, gan.latent_dim)))
        ```

    One training step (`update="alternating"`, the default): sample noise, update the discriminator
    on a real and a generated batch (`d_steps` times, with the gradient penalty for `wasserstein_gp`),
    then update the generator through the updated discriminator, whose weights stay fixed in that
    update: first on the batch generated for the last discriminator update (its forward pass
    reused), then `g_steps - 1` times more on fresh noise. With `update="simultaneous"` the first
    generator update is taken from the last discriminator update's own forward pass, through the
    discriminator as it was before that update (both gradients from one pass, as in the TensorFlow
    DCGAN tutorial's loop): one discriminator pass fewer per step.

    Args:
        generator: Functional model, noise `(batch, latent_dim)` (and labels `(batch,)` int32 when
            conditional) -> images.
        discriminator: Functional model, images (and labels) -> `(batch, 1)` logits.
        latent_dim: noise size; read from the generator if None.
        num_classes: classes of a conditional GAN (whose models take `[x, labels]`); None otherwise.
        seed: seeds the noise (`keras.random.SeedGenerator`); runs repeat from the same seed.

    Shapes:
        `fit` data: images `(batch, H, W, C)` in [-1, 1], or `(images, labels)` for a conditional GAN.
        `call(noise)` / `call([noise, labels])` returns generated images.
    """

    EXTRA_GENERATOR_INPUTS: tuple = ()

    def __init__(self, generator, discriminator, latent_dim=None, num_classes=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise ValueError(
                "GAN needs two keras.Model instances. Received: "
                f"generator={type(generator).__name__}, discriminator={type(discriminator).__name__}"
            )
        self.generator = generator
        self.discriminator = discriminator
        conditional = num_classes is not None
        # Inputs a subclass's generator takes besides noise and labels (StyleGAN's `truncation`).
        g_inputs = [t for t in generator.inputs if t.name not in self.EXTRA_GENERATOR_INPUTS]
        if conditional != (len(g_inputs) == 2) or conditional != (len(discriminator.inputs) == 2):
            raise ValueError(
                "A conditional GAN (num_classes set) needs a generator taking [noise, labels] and a "
                "discriminator taking [images, labels]; an unconditional one, single inputs. "
                f"Received: num_classes={num_classes}, generator inputs={len(g_inputs)}, "
                f"discriminator inputs={len(discriminator.inputs)}"
            )
        noise_dim = int(g_inputs[0].shape[-1])
        if latent_dim is not None and latent_dim != noise_dim:
            raise ValueError(f"latent_dim={latent_dim} but the generator takes noise of size {noise_dim}.")
        self.latent_dim = noise_dim
        self.num_classes = num_classes
        self.image_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])
        d_shape = tuple(int(d) for d in discriminator.inputs[0].shape[1:])
        if d_shape != self.image_shape:
            raise ValueError(
                f"The generator makes images of shape {self.image_shape} but the discriminator takes {d_shape}."
            )
        self._init_training_state(seed)

    def _init_training_state(self, seed):
        """The seed generator and the loss trackers (`kerazoo.trainers.translation.Translator` shares them)."""
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # both networks are built Functional models

    @property
    def conditional(self) -> bool:
        """Whether the GAN is conditional (its generator and discriminator take class labels)."""
        return self.num_classes is not None

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    @property
    def deployable(self):
        """What gets deployed from a trained GAN: its generator."""
        return self.generator

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        loss=None,
        d_steps=None,
        gp_weight=None,
        g_steps=None,
        r1_gamma=None,
        update=None,
        penalty_every=None,
        augment=None,
        **kwargs,
    ):
        """Set the two optimizers and the adversarial loss. Arguments left as None take `GANOptions`'
        defaults.

        Args:
            d_optimizer, g_optimizer: optimizers; default to `Adam(2e-4, beta_1=0.5)` each (the DCGAN
                paper's). Build them inside a distribution strategy's scope when using one. An
                optimizer with `use_ema=True` keeps a moving average of its network's weights, which
                `fit` swaps into that network at its end (as Keras does for `model.optimizer`).
            loss: one of `minimax`, `non_saturating` (default), `least_squares`, `wasserstein_gp`,
                `wasserstein_gp_drift`, `hinge`, or a `GANLoss`.
            d_steps: discriminator (critic) updates per generator update. Defaults to `1`.
            gp_weight: weight of the gradient penalty (`wasserstein_gp` only). Defaults to `10.0`.
            g_steps: generator updates per training step, after the discriminator's: the first on
                the batch generated for the last discriminator update, the others on fresh noise.
                Defaults to `1`.
            r1_gamma: weight of the R1 penalty, `r1_gamma / 2 * E ||grad_x D(x)||^2` on real images,
                added to the discriminator's loss (any loss; Mescheder et al. 2018). Defaults to
                `0.0` (off).
            update: `alternating` (default): the generator's first update goes through the
                discriminator after its update; `simultaneous`: through the discriminator before it,
                from the same forward pass (the TensorFlow DCGAN tutorial's step; one discriminator
                pass fewer, so faster, with slightly different dynamics).
            penalty_every: compute the R1 penalty and the gradient penalty on every
                `penalty_every`-th discriminator update only, weighted by `penalty_every` (lazy
                regularisation, Karras et al. 2020: the same penalty on average for a fraction of
                its cost, a second backward pass through the discriminator). Defaults to `1` (every
                update).
            augment: differentiable augmentations of the images the discriminator sees, real and
                generated alike, in both networks' updates (DiffAugment, Zhao et al. 2020): a comma-
                separated string or a list of `color`, `translation`, `cutout`
                (`kerazoo.trainers.augment`). Defaults to none.
        """
        defaults = GANOptions()

        def given(value, key):
            return getattr(defaults, key) if value is None else value

        self.gan_loss = get_loss(given(loss, "loss"))
        self.d_steps = check_positive_int("d_steps", given(d_steps, "d_steps"))
        self.g_steps = check_positive_int("g_steps", given(g_steps, "g_steps"))
        self.gp_weight = check_number("gp_weight", given(gp_weight, "gp_weight"))
        self.r1_gamma = check_number("r1_gamma", given(r1_gamma, "r1_gamma"))
        self.update = check_choice("update", given(update, "update"), UPDATES)
        self.penalty_every = check_positive_int("penalty_every", given(penalty_every, "penalty_every"))
        self.augment = check_augment(given(augment, "augment"))
        self.d_optimizer = d_optimizer or _default_optimizer("d_optimizer")
        self.g_optimizer = g_optimizer or _default_optimizer("g_optimizer")
        if self.dtype_policy.name == "mixed_float16":
            # As Keras does for `model.optimizer`: float16 gradients need a dynamic loss scale.
            self.d_optimizer, self.g_optimizer = (
                o
                if isinstance(o, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(o)
                for o in (self.d_optimizer, self.g_optimizer)
            )
        super().compile(**kwargs)

    def get_compile_config(self):
        if not hasattr(self, "gan_loss"):  # never compiled
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.gan_loss.name,
            "d_steps": self.d_steps,
            "gp_weight": self.gp_weight,
            "g_steps": self.g_steps,
            "r1_gamma": self.r1_gamma,
            "update": self.update,
            "penalty_every": self.penalty_every,
            "augment": list(self.augment),
        }

    def compile_from_config(self, config):
        if not config:
            return
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)
        # Build the optimizers' variables now, so a saved optimizer state can be loaded into them.
        self.build_optimizers()

    def build_optimizers(self):
        """Create both optimizers' variables (Adam moments, step counts), as a first step would, so
        that a saved state can be loaded into them (`kerazoo.callbacks.BackupAndRestore`)."""
        for optimizer, network in (
            (self.d_optimizer, self.discriminator),
            (self.g_optimizer, self.generator),
        ):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    def fit(self, *args, **kwargs):
        # Both optimizers' variables are created here, in the strategy's scope, not by the first step:
        # a step that first applies an update inside a conditional branch (a lazy penalty) cannot
        # create them there under a distribution strategy.
        if getattr(self, "gan_loss", None) is not None:
            with self.distribute_strategy.scope():
                self.build_optimizers()
        history = super().fit(*args, **kwargs)
        # Keras swaps an optimizer's moving averages (`use_ema=True`) into the weights at the end of
        # `fit`, but only for `model.optimizer`; the GAN's two optimizers get the same here.
        for optimizer in (self.d_optimizer, self.g_optimizer):
            if weights := _averaged(optimizer):
                optimizer.finalize_variable_values(weights)
        return history

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block the generator holds its optimizer's moving averages of its weights (a
        `g_optimizer` with `use_ema=True`), its own weights again after; nothing changes otherwise.

        `fit` swaps the averages in at its end (what is saved and exported); during training this
        shows what that generator would make now (`SampleGrid` uses it for its grids).

        Example:
            ```python
            with gan.averaged_weights():
                images = gan(noise)
            ```
        """
        weights = _averaged(self.g_optimizer)
        if not weights:
            yield self
            return
        saved = [ops.convert_to_numpy(w) for w in weights]
        self.g_optimizer.finalize_variable_values(weights)
        try:
            yield self
        finally:
            for w, value in zip(weights, saved):
                w.assign(value)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample_noise(self, batch_size):
        """Noise `(batch_size, latent_dim)` from the GAN's seed generator."""
        return replica_draw(keras.random.normal, (batch_size, self.latent_dim), seed=self.seed_generator)

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if self.conditional and labels is None:
            raise ValueError(
                "This conditional GAN needs (images, labels) batches: make the dataset with labels=True."
            )
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"Images of shape {tuple(images.shape[1:])} given to a GAN that makes {self.image_shape}. "
                "Resize them (make_dataset(..., image_size=...)) or build the GAN for this shape."
            )
        if labels is not None and self.conditional:
            labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        return images, (labels if self.conditional else None)

    def _with_labels(self, x, labels):
        return x if labels is None else [x, labels]

    def train_step(self, data):
        real, labels = self._unpack(data)
        return self._adversarial_step(real, labels)

    def _networks(self):
        """`(generator, discriminator)` that a training step updates: the GAN's own two (a growing GAN,
        `kerazoo.trainers.progan.ProGAN`, returns those of its current phase)."""
        return self.generator, self.discriminator

    def _generate(self, generator, labels, batch, training=True):
        """A batch of generated images: the generator on fresh noise (and the labels)."""
        noise = replica_draw(keras.random.normal, (batch, self.latent_dim), seed=self.seed_generator)
        return generator(self._with_labels(noise, labels), training=training)

    def _discriminator_condition(self, labels):
        """What the discriminator is given beside the images: the labels (None: nothing)."""
        return labels

    def _generator_objective(self, g_loss, generated, real):
        """What the generator minimises: its adversarial loss (a translator adds reconstruction)."""
        return g_loss

    def _adversarial_step(self, real, labels):
        """One training step on a batch of real images (and labels, or whatever conditions the
        generator): see the class docstring."""
        generator, discriminator = self._networks()
        batch = ops.shape(real)[0]
        loss = self.gan_loss
        d_labels = self._discriminator_condition(labels)
        simultaneous = self.update == "simultaneous"

        # The generator's pass for the last discriminator update is recorded on `g_tape` and reused
        # by the first generator update: one generator forward pass fewer per step. The
        # discriminator's own updates are recorded there only when simultaneous (the generator's
        # loss is then read from that same pass). Under a mixed-precision policy the networks
        # compute in (b)float16; images, logits, losses and penalties stay float32.
        with tf.GradientTape() as g_tape:
            for i in range(self.d_steps):
                last = i == self.d_steps - 1
                with contextlib.nullcontext() if last else g_tape.stop_recording():
                    generated = _float32(self._generate(generator, labels, batch))
                shared = last and simultaneous
                with contextlib.nullcontext() if shared else g_tape.stop_recording():
                    fake = generated if shared else ops.stop_gradient(generated)
                    with tf.GradientTape() as d_tape:
                        d_loss, real_logits, fake_logits = self._discriminator_loss(
                            discriminator, real, fake, d_labels, batch
                        )
                        d_scaled = self.d_optimizer.scale_loss(scale_for_replicas(d_loss))
                if not shared:  # alternating (or an earlier critic step): update D now
                    self._apply(d_tape, d_scaled, self.d_optimizer, discriminator, g_tape)

            if not simultaneous:
                # Through the updated discriminator, on the same generated batch.
                fake_logits = _float32(
                    discriminator(self._with_labels(self._augment(generated), d_labels), training=True)
                )
            g_loss = loss.generator_loss(fake_logits)
            objective = self._generator_objective(g_loss, generated, real)
            scaled = self.g_optimizer.scale_loss(scale_for_replicas(objective))
        if simultaneous:  # both gradients from the one pass, then both updates
            d_grads = d_tape.gradient(d_scaled, discriminator.trainable_weights)
            g_grads = g_tape.gradient(scaled, generator.trainable_weights)
            self._apply_gradients(self.d_optimizer, d_grads, discriminator.trainable_weights)
            self._apply_gradients(self.g_optimizer, g_grads, generator.trainable_weights)
        else:
            self._apply(g_tape, scaled, self.g_optimizer, generator)

        # Further generator updates (g_steps > 1), each on fresh noise.
        for _ in range(self.g_steps - 1):
            with tf.GradientTape() as tape:
                fake = _float32(self._generate(generator, labels, batch))
                fake_logits = _float32(
                    discriminator(self._with_labels(self._augment(fake), d_labels), training=True)
                )
                g_loss = loss.generator_loss(fake_logits)
                objective = self._generator_objective(g_loss, fake, real)
                scaled = self.g_optimizer.scale_loss(scale_for_replicas(objective))
            self._apply(tape, scaled, self.g_optimizer, generator)

        # Track the losses and what D says of real and generated images.
        return self._track(d_loss, g_loss, real_logits, fake_logits)

    def _augment(self, images):
        """`images` with the `augment` policy's transformations (new random ones on every call),
        or as they are when there is none."""
        if not getattr(self, "augment", ()):
            return images

        def uniform(shape, minval, maxval):
            return replica_draw(
                keras.random.uniform, shape, minval=minval, maxval=maxval, seed=self.seed_generator
            )

        def randint(shape, minval, maxval):
            return replica_draw(
                keras.random.randint, shape, minval=minval, maxval=maxval, seed=self.seed_generator
            )

        return diff_augment(images, self.augment, uniform, randint)

    def _apply(self, tape, scaled_loss, optimizer, network, outer_tape=None):
        """One optimizer update of `network` from `tape`'s gradient of `scaled_loss` (not recorded
        on `outer_tape`, a tape still open around it)."""
        with outer_tape.stop_recording() if outer_tape is not None else contextlib.nullcontext():
            grads = tape.gradient(scaled_loss, network.trainable_weights)
            self._apply_gradients(optimizer, grads, network.trainable_weights)

    def _apply_gradients(self, optimizer, grads, weights):
        """`optimizer.apply(grads, weights)`: every update of either network goes through here (a
        subclass may wrap it, as ProGAN does to keep the generator's average through its growth)."""
        optimizer.apply(grads, weights)

    def _discriminator_loss(self, discriminator, real, fake, labels, batch):
        """The discriminator's loss on a real and a generated batch (with the R1 penalty and the
        gradient penalty where set), with its logits for both batches."""
        loss = self.gan_loss
        every = self.penalty_every
        real, fake = self._augment(real), self._augment(fake)
        # Lazy regularisation: the penalties on every `every`-th update only, `every` times heavier.
        due = ops.equal(ops.mod(self.d_optimizer.iterations, every), 0) if every > 1 else None

        def lazily(penalty, otherwise):
            return penalty() if due is None else ops.cond(due, penalty, otherwise)

        def real_logits_only():
            return ops.zeros((), "float32"), _float32(
                discriminator(self._with_labels(real, labels), training=True)
            )

        if self.r1_gamma:
            r1, real_logits = lazily(lambda: r1_penalty(discriminator, real, labels), real_logits_only)
        else:
            real_logits = real_logits_only()[1]
        fake_logits = _float32(discriminator(self._with_labels(fake, labels), training=True))
        d_loss = loss.discriminator_loss(real_logits, fake_logits)
        if self.r1_gamma:
            d_loss = d_loss + 0.5 * self.r1_gamma * every * r1
        if loss.gradient_penalty:
            alpha = replica_draw(
                keras.random.uniform, (batch,) + (1,) * len(self.image_shape), seed=self.seed_generator
            )
            fake = ops.stop_gradient(fake)
            gp = lazily(
                lambda: gradient_penalty(discriminator, real, fake, labels, alpha),
                lambda: ops.zeros((), "float32"),
            )
            d_loss = d_loss + self.gp_weight * every * gp
        return d_loss, real_logits, fake_logits

    def _track(self, d_loss, g_loss, real_logits, fake_logits):
        """Update the trackers; D's outputs as probabilities for the probabilistic losses."""
        score = ops.sigmoid if self.gan_loss.probabilistic else (lambda v: v)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(score(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(score(fake_logits)))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        real, labels = self._unpack(data)
        batch = ops.shape(real)[0]
        fake = self._generate(self.generator, labels, batch, training=False)
        real_logits = _float32(self.discriminator(self._with_labels(real, labels), training=False))
        fake_logits = _float32(self.discriminator(self._with_labels(fake, labels), training=False))
        d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
        return self._track(d_loss, self.gan_loss.generator_loss(fake_logits), real_logits, fake_logits)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim,
                "num_classes": self.num_classes,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
