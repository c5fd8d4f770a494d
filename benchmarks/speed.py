"""Training speed: `GAN.fit` against a hand-written TF-tutorial training loop on the same networks.

    python benchmarks/speed.py --data-dir ../shared/data            # full MNIST, batch 64
    python benchmarks/speed.py                                       # the embedded digits

The anchor is the TensorFlow DCGAN tutorial's loop, written here: one `tf.function` step, two
GradientTapes, one generator forward pass shared by both updates (simultaneous updates), on
`kerazoo.build("dcgan")`'s two networks built from Keras' own layers, as the tutorial builds them
(`keras.layers.BatchNormalization` where the zoo has its fused-kernel subclass; same weights), with
Adam(2e-4, beta_1=0.5) each; `loop_zoo_layers` is the same loop on the zoo's layers (how much of a
difference is the layers' and how much the step's). The contenders train the zoo's
networks on the same `tf.data` pipeline with `GAN.fit`: `fit_simultaneous` with one update each,
no R1 and `update="simultaneous"` (the loop's own algorithm: the same work), `fit` the same with
alternating updates (the default: the generator's update goes through the updated discriminator, one
more discriminator pass), `fit_recipe` with the dcgan recipe (two generator updates per step and the
R1 penalty), and these again with `--precision mixed` (`fit_simultaneous_mixed`, `fit_mixed`,
`fit_recipe_mixed`: bfloat16 compute on a CPU, float16 on a GPU; `fit_recipe_lazy_mixed` with the R1
penalty every 4th update, `fit_recipe_ema_mixed` with a moving average of the generator), and `fit` with TensorFlow's op
determinism on (`fit_deterministic`, what `kerazoo train` does unless `--nondeterministic`; the
other contenders run with it off), and `fit` and `fit_simultaneous` with Keras running 10 steps per
call of its train function (`fit_spe10`, `fit_simultaneous_spe10`: `compile(steps_per_execution=10)`,
how much of a step is Keras' per-call overhead). Each contender is timed over `--steps` training steps after
`--warmup` steps (tracing and the first epoch's caching excluded), the contenders alternating
`--repeats` times; reported: the median images/s and its ratio to the loop's median from the same
run. `cnn_fit` (the zoo's `cnn` fed by `make_dataset`, as `kerazoo train cnn`) is compared the same
way with `cnn_arrays`, the same network (Keras' own layers) fitted on NumPy arrays as keras.io's MNIST convnet example
does (batch 128, `--cnn-epochs` epochs, the first untimed), and `vae_fit` (`VAE.fit`) with
`vae_loop`, a plain `tf.function` step on the same networks and loss (batch 64, timed as the GANs),
and `cgan_fit` with `cgan_loop` (the tutorial loop with labels fed to both networks, Keras' own
layers), and `ddpm_fit` (`Diffusion.fit` with the recipe's Adam and moving average; `ddpm_fit_mixed`
under `--precision mixed`) with `ddpm_loop`, a plain `tf.function` step on the same U-Net. `bn_keras`, `bn_zoo` (and `_mixed`) time one BatchNormalization's training pass on the
DCGAN generator's largest (64 x 28 x 28 x 64): Keras' layer against the zoo's fused one; `adam_keras`
and `adam_zoo` one Adam update of the dcgan's weights: Keras' against `kerazoo.optimizers.Adam`. Then `--epoch-probe` epochs of the dcgan recipe's `fit` on the digits, with the zoo's GAN
callbacks, record the delay between each epoch's start and its first step, and the training
pipeline alone is timed over 3 epochs (`pipeline_images_per_second`). `--profile STEPS` runs
each GAN.fit contender once more under TensorFlow's profiler and records each op type's
milliseconds a step (`op_ms_per_step`: CPU time summed over threads). `--set KEY=VALUE` builds the
dcgan networks with other hparams (`--set width=64`: the networks of the recipe before 2026-12-06,
for a comparison with runs made then). The results record the CPU (`machine`): speed ratios
depend on it. Results go to `benchmarks/results/speed.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo.cli import parse_set  # noqa: E402
from kerazoo.export import rebuilt  # noqa: E402
from kerazoo.models._common import BatchNormalization as ZooBatchNormalization  # noqa: E402
from kerazoo.optimizers import Adam as ZooAdam  # noqa: E402
from kerazoo.training import library_versions, machine_info, precision_policy  # noqa: E402

BATCH = 64


def _dataset(name, data_dir):
    return kerazoo.make_dataset(
        name, "train", BATCH, normalization="symmetric", labels=False, drop_remainder=True, data_dir=data_dir
    ).repeat()


DCGAN_HPARAMS = {}  # `--set`: hparams of the dcgan networks every GAN contender trains


def _networks():
    gan = kerazoo.build("dcgan", seed=0, **DCGAN_HPARAMS)
    return gan


def keras_layers(model):
    """`model` built from Keras' own layers: every `kerazoo.models._common.BatchNormalization` (the
    zoo's, whose training pass runs TensorFlow's fused kernel) replaced by
    `keras.layers.BatchNormalization` with the same config and weights; the network as the
    tutorials write it."""

    def clone(layer):
        stock = isinstance(layer, ZooBatchNormalization)
        return (keras.layers.BatchNormalization if stock else layer.__class__).from_config(layer.get_config())

    return rebuilt(model, clone)


def _stock(gan):
    """`gan`'s two networks built from Keras' own layers (see `keras_layers`), as a `GAN`."""
    return kerazoo.GAN(
        keras_layers(gan.generator), keras_layers(gan.discriminator), num_classes=gan.num_classes, seed=0
    )


def time_loop(ds, steps, warmup, stock=True):
    """images/s of the TF-tutorial loop, on the dcgan networks built from Keras' own layers (`stock`,
    the anchor) or on the zoo's."""
    gan = _networks()
    return _time_steps(_tutorial_step(_stock(gan) if stock else gan), ds, steps, warmup)


def _tutorial_step(gan):
    """The TF DCGAN tutorial's training step on `gan`'s two networks (each with Adam(2e-4, 0.5)):
    one generator pass shared by both updates, two GradientTapes, simultaneous updates. For a
    conditional GAN the batch is `(images, labels)` and the labels go to both networks."""
    generator, discriminator = gan.generator, gan.discriminator
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(batch):
        images, labels = batch if gan.conditional else (batch, None)

        def fed(x):
            return x if labels is None else [x, tf.cast(tf.reshape(labels, (-1,)), tf.int32)]

        noise = tf.random.normal([BATCH, gan.latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(fed(noise), training=True)
            real_output = discriminator(fed(images), training=True)
            fake_output = discriminator(fed(generated), training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss

    return train_step


def _time_steps(step, ds, steps, warmup):
    """images/s of `step(batch)` (returning a tensor) over `steps` batches of `ds` after `warmup`."""
    iterator = iter(ds)
    for _ in range(warmup):
        step(next(iterator)).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        out = step(next(iterator))
    out.numpy()  # wait for the last step
    return steps * BATCH / (time.perf_counter() - start)


class _Clock(keras.callbacks.Callback):
    """Wall time of the training steps after `warmup` of them (`steps`: how many it timed; with
    `steps_per_execution` > 1 Keras reports every that many steps, so the clock starts at the first
    report at or after `warmup`)."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_end(self, batch, logs=None):
        if self.start is None and batch + 1 >= self.warmup:
            self.start, self.first = time.perf_counter(), batch
        self.end, self.last = time.perf_counter(), batch

    @property
    def steps(self):
        return self.last - self.first


class _Profile(keras.callbacks.Callback):
    """TensorFlow's profiler over the training steps after `warmup` of them, into `logdir`."""

    def __init__(self, warmup, logdir):
        super().__init__()
        self.warmup, self.logdir = warmup, logdir

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.warmup:
            tf.profiler.experimental.start(str(self.logdir))

    def on_train_end(self, logs=None):
        tf.profiler.experimental.stop()


def op_times(logdir, steps) -> dict:
    """Milliseconds a step of each TensorFlow op type, summed over the threads (so CPU time, not wall
    time), from the profiler's trace in `logdir` (`tensorflow.tsl`'s XSpace protobuf: the host plane's
    events named `op_name:OpType`, each op's own kernel)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = {}
    for path in Path(logdir).rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            names = {k: m.name for k, m in plane.event_metadata.items()}
            for line in plane.lines:
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    # Executor and function-call events enclose the ops: not counted.
                    if ":" in name and "::" not in name and "__inference" not in name:
                        kind = name.rsplit(":", 1)[1]
                        totals[kind] = totals.get(kind, 0.0) + event.duration_ps / 1e9 / steps
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def time_fit(
    ds,
    steps,
    warmup,
    recipe_overrides,
    precision="float32",
    deterministic=False,
    profile=None,
    steps_per_execution=1,
):
    """images/s of `GAN.fit` with the dcgan recipe and `recipe_overrides`, the networks built under
    `precision` (as `kerazoo train --precision`), with TensorFlow's op determinism on or off (on is
    `kerazoo train`'s default; off is `--nondeterministic`), `steps_per_execution` steps per call of
    Keras' train function. With `profile` (a folder), the timed steps run under TensorFlow's
    profiler, its trace written there."""
    from tensorflow.python.framework import config as tf_config

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision_policy(precision))
    (tf_config.enable_op_determinism if deterministic else tf_config.disable_op_determinism)()
    try:
        gan = _networks()
        recipe = kerazoo.get_entry("dcgan").recipe.replace(recipe_overrides)
        gan.compile(**recipe.compile_options(), steps_per_execution=steps_per_execution)
        clock = _Clock(warmup)
        callbacks = [clock] + ([_Profile(warmup, profile)] if profile else [])
        gan.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=callbacks)
    finally:
        keras.config.set_dtype_policy(previous)
        tf_config.disable_op_determinism()
    return clock.steps * BATCH / (clock.end - clock.start)


class _EpochStart(keras.callbacks.Callback):
    """Seconds from each epoch's start to its first training step (iterator set-up, data)."""

    def __init__(self):
        super().__init__()
        self.delays = []

    def on_epoch_begin(self, epoch, logs=None):
        self._begin = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.delays.append(time.perf_counter() - self._begin)


def epoch_start_delays(epochs):
    """The dcgan recipe's `fit` on the digits with the zoo's GAN callbacks (as `kerazoo train`):
    the delay before each epoch's first step. Before make_dataset turned tf.data autotuning off,
    some epochs waited about 10 s here."""
    from kerazoo.callbacks import GANMonitor, SampleGrid

    ds = kerazoo.make_dataset(
        "digits", "train", BATCH, normalization="symmetric", labels=False, drop_remainder=True
    )
    reference = next(
        iter(kerazoo.make_dataset("digits", "train", 256, normalization="symmetric", labels=False))
    )
    gan = _networks()
    gan.compile(**kerazoo.get_entry("dcgan").recipe.compile_options())
    probe = _EpochStart()
    grids = Path(os.environ.get("TMPDIR", "/tmp")) / "kerazoo_speed_grids"
    gan.fit(ds, epochs=epochs, verbose=0, callbacks=[SampleGrid(grids), GANMonitor(reference.numpy()), probe])
    return probe.delays


class _EpochClock(keras.callbacks.Callback):
    """Wall time from the end of the first epoch (tracing and warm-up) to the end of the last."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.start = time.perf_counter()
        self.end = time.perf_counter()


def time_cnn(name, data_dir, epochs, arrays):
    """images/s of the zoo's `cnn` (its recipe's Adam, batch 128) over `epochs - 1` epochs after the
    first: fed by `make_dataset` (`arrays=False`, as `kerazoo train cnn`) or, the anchor, built from
    Keras' own layers and fed by NumPy arrays given straight to `fit` as keras.io's MNIST convnet
    example does (`arrays=True`)."""
    x, y = kerazoo.data.load_images(name, "train", data_dir)
    model = kerazoo.build("cnn", input_shape=x.shape[1:], num_classes=int(y.max()) + 1)
    if arrays:
        model = keras_layers(model)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    clock = _EpochClock()
    if arrays:
        model.fit(x.astype("float32") / 255, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[clock])
    else:
        ds = kerazoo.make_dataset(name, "train", 128, data_dir=data_dir)
        model.fit(ds, epochs=epochs, verbose=0, callbacks=[clock])
    return (epochs - 1) * len(x) / (clock.end - clock.start)


def _vae_data(args):
    """The VAE's training data ([0, 1] images, no labels), repeated; made once per run."""
    if not hasattr(args, "vae_ds"):
        args.vae_ds = kerazoo.make_dataset(
            args.dataset, "train", BATCH, labels=False, drop_remainder=True, data_dir=args.data_dir
        ).repeat()
    return args.vae_ds


def time_vae(args, loop):
    """images/s of the zoo's `vae` (Adam 1e-3): `VAE.fit` (`loop=False`), or the anchor, a plain
    `tf.function` step with one GradientTape on the same encoder and decoder and the same loss
    (`kerazoo.trainers.vae`'s reconstruction term and KL), as keras.io's VAE example computes it."""
    from kerazoo.trainers.vae import kl_divergence, reconstruction_loss

    ds, steps, warmup = _vae_data(args), args.steps, args.warmup
    vae = kerazoo.build("vae")
    optimizer = keras.optimizers.Adam(1e-3)
    if not loop:
        vae.compile(optimizer=optimizer)
        clock = _Clock(warmup)
        vae.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock])
        return steps * BATCH / (clock.end - clock.start)
    weights = vae.trainable_weights

    @tf.function
    def train_step(images):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = vae.encoder(images, training=True)
            reconstruction = vae.decoder(z, training=True)
            loss = tf.reduce_mean(reconstruction_loss(images, reconstruction)) + tf.reduce_mean(
                kl_divergence(z_mean, z_log_var)
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    return _time_steps(train_step, ds, steps, warmup)


def time_cgan(args, loop):
    """images/s of the zoo's `cgan` with one update each, no R1, Adam(2e-4, beta_1=0.5) and the
    non-saturating loss: `GAN.fit` (`loop=False`), or the anchor, the TF-tutorial loop of `time_loop`
    with the labels fed to both networks, on the networks built from Keras' own layers."""
    if not hasattr(args, "cgan_ds"):
        args.cgan_ds = kerazoo.make_dataset(
            args.dataset,
            "train",
            BATCH,
            normalization="symmetric",
            drop_remainder=True,
            data_dir=args.data_dir,
        ).repeat()
    ds, steps, warmup = args.cgan_ds, args.steps, args.warmup
    gan = kerazoo.build("cgan", seed=0)
    if not loop:
        gan.compile(loss="non_saturating", g_steps=1, r1_gamma=0.0)
        clock = _Clock(warmup)
        gan.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock])
        return steps * BATCH / (clock.end - clock.start)
    return _time_steps(_tutorial_step(_stock(gan)), ds, steps, warmup)


def time_ddpm(ds, args, loop, precision="float32"):
    """images/s of the zoo's `ddpm` (its U-Net, Adam 1e-3, the weights' moving average at 0.999):
    `Diffusion.fit` with the network built under `precision` (`loop=False`), or the anchor, a plain
    `tf.function` step on the same denoiser, as keras.io's diffusion examples write it: draw the
    steps and the noise, one GradientTape on the mean squared error of the predicted noise, Adam,
    then the moving average of the weights (float32)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision_policy(precision))
    try:
        model = kerazoo.build("ddpm", seed=0)
        optimizer = keras.optimizers.Adam(1e-3)
        if not loop:
            model.compile(optimizer=optimizer, ema_momentum=0.999)
            clock = _Clock(args.warmup)
            model.fit(ds, epochs=1, steps_per_epoch=args.warmup + args.steps, verbose=0, callbacks=[clock])
            return args.steps * BATCH / (clock.end - clock.start)
    finally:
        keras.config.set_dtype_policy(previous)
    denoiser, timesteps = model.denoiser, model.schedule.timesteps
    alpha_bar = tf.constant(model.schedule.alpha_bar, tf.float32)
    weights = denoiser.trainable_weights
    averages = [tf.Variable(w) for w in weights]

    @tf.function
    def train_step(images):
        t = tf.random.uniform((BATCH,), 0, timesteps, dtype=tf.int32)
        noise = tf.random.normal(tf.shape(images))
        ab = tf.reshape(tf.gather(alpha_bar, t), (-1, 1, 1, 1))
        with tf.GradientTape() as tape:
            predicted = denoiser([tf.sqrt(ab) * images + tf.sqrt(1.0 - ab) * noise, t], training=True)
            loss = tf.reduce_mean(tf.square(predicted - noise))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        for average, weight in zip(averages, weights):
            average.assign(0.999 * average + 0.001 * weight)
        return loss

    return _time_steps(train_step, ds, args.steps, args.warmup)


def time_batch_norm(zoo, precision="float32", steps=50):
    """images/s of one BatchNormalization's training pass (forward and backward) on the DCGAN
    generator's largest one, 64 x 28 x 28 x 64: Keras' layer (`zoo=False`) or the zoo's, which runs
    TensorFlow's fused kernel; built and fed in `precision`'s compute dtype."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision_policy(precision))
    try:
        layer = (ZooBatchNormalization if zoo else keras.layers.BatchNormalization)()
        shape = (BATCH, 28, 28, 64)
        x = tf.cast(tf.random.stateless_normal(shape, (1, 2)) * 3.0 + 1.0, layer.compute_dtype)
        w = tf.cast(tf.random.stateless_normal(shape, (3, 4)), layer.compute_dtype)
        layer.build(shape)

        @tf.function
        def step(_):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.cast(layer(x, training=True) * w, "float32"))
            return tape.gradient(loss, [x, *layer.trainable_weights])[0]

        return _time_steps(step, tf.data.Dataset.range(1).repeat(), steps, warmup=5)
    finally:
        keras.config.set_dtype_policy(previous)


def time_adam(zoo, steps=50):
    """ "images/s" (a batch of 64 per update) of one Adam update of all the dcgan's weights (both
    networks, 2.6M) from fixed gradients: Keras' Adam (`zoo=False`) or `kerazoo.optimizers.Adam`,
    its update on TensorFlow's fused kernel."""
    gan = _networks()
    variables = gan.generator.trainable_variables + gan.discriminator.trainable_variables
    grads = [tf.random.stateless_normal(v.shape, (5, i)) * 1e-3 for i, v in enumerate(variables)]
    optimizer = (ZooAdam if zoo else keras.optimizers.Adam)(2e-4, beta_1=0.5)
    optimizer.build(variables)

    @tf.function
    def step(_):
        optimizer.apply(grads, variables)
        return optimizer.iterations

    return _time_steps(step, tf.data.Dataset.range(1).repeat(), steps, warmup=5)


def pipeline_rate(name, data_dir, epochs=3):
    """images/s of the training pipeline alone (`make_dataset`, as `GAN.fit` gets it), over `epochs`
    full passes, the first included."""
    ds = kerazoo.make_dataset(
        name, "train", BATCH, normalization="symmetric", labels=False, drop_remainder=True, data_dir=data_dir
    )
    start, images = time.perf_counter(), 0
    for _ in range(epochs):
        for batch in ds:
            images += int(batch.shape[0])
    return images / (time.perf_counter() - start)


SIMULTANEOUS = {"g_steps": 1, "r1_gamma": 0.0, "update": "simultaneous"}  # the loop's very algorithm
ALTERNATING = {"g_steps": 1, "r1_gamma": 0.0}
FITS = {  # the GAN.fit contenders: recipe overrides and precision
    "fit": (ALTERNATING, "float32"),
    "fit_mixed": (ALTERNATING, "mixed"),
    "fit_simultaneous": (SIMULTANEOUS, "float32"),
    "fit_simultaneous_mixed": (SIMULTANEOUS, "mixed"),
    "fit_recipe": ({}, "float32"),
    "fit_recipe_mixed": ({}, "mixed"),
    "fit_recipe_lazy_mixed": ({"penalty_every": 4}, "mixed"),
    "fit_recipe_ema_mixed": ({"g_optimizer.use_ema": True, "g_optimizer.ema_momentum": 0.999}, "mixed"),
}
CONTENDERS = {
    "loop": lambda ds, a: time_loop(ds, a.steps, a.warmup),
    "loop_zoo_layers": lambda ds, a: time_loop(ds, a.steps, a.warmup, stock=False),
    **{
        name: lambda ds, a, options=options: time_fit(ds, a.steps, a.warmup, *options)
        for name, options in FITS.items()
    },
    "fit_deterministic": lambda ds, a: time_fit(ds, a.steps, a.warmup, ALTERNATING, deterministic=True),
    "fit_spe10": lambda ds, a: time_fit(ds, a.steps, a.warmup, ALTERNATING, steps_per_execution=10),
    "fit_simultaneous_spe10": lambda ds, a: time_fit(
        ds, a.steps, a.warmup, SIMULTANEOUS, steps_per_execution=10
    ),
    "cgan_loop": lambda ds, a: time_cgan(a, loop=True),
    "cgan_fit": lambda ds, a: time_cgan(a, loop=False),
    "vae_loop": lambda ds, a: time_vae(a, loop=True),
    "vae_fit": lambda ds, a: time_vae(a, loop=False),
    "bn_keras": lambda ds, a: time_batch_norm(zoo=False),
    "bn_zoo": lambda ds, a: time_batch_norm(zoo=True),
    "bn_keras_mixed": lambda ds, a: time_batch_norm(zoo=False, precision="mixed"),
    "bn_zoo_mixed": lambda ds, a: time_batch_norm(zoo=True, precision="mixed"),
    "adam_keras": lambda ds, a: time_adam(zoo=False),
    "adam_zoo": lambda ds, a: time_adam(zoo=True),
    "cnn_arrays": lambda ds, a: time_cnn(a.dataset, a.data_dir, a.cnn_epochs, arrays=True),
    "cnn_fit": lambda ds, a: time_cnn(a.dataset, a.data_dir, a.cnn_epochs, arrays=False),
    "ddpm_loop": lambda ds, a: time_ddpm(ds, a, loop=True),
    "ddpm_fit": lambda ds, a: time_ddpm(ds, a, loop=False),
    "ddpm_fit_mixed": lambda ds, a: time_ddpm(ds, a, loop=False, precision="mixed"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument("--steps", type=int, default=40, help="timed steps per measurement (default: 40)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: 5)")
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the contenders (default: 3)")
    parser.add_argument("--only", default=",".join(CONTENDERS), help="contenders, comma-separated")
    parser.add_argument(
        "--epoch-probe", type=int, default=6, help="epochs of the epoch-start probe, 0 to skip (default: 6)"
    )
    parser.add_argument(
        "--cnn-epochs",
        type=int,
        default=4,
        help="epochs of each CNN measurement, the first untimed (default: 4)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="after the timing, profile STEPS steps of each GAN.fit contender in --only and report "
        "each op type's milliseconds a step (default: 0, none)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="hparams",
        help="an hparam of the dcgan networks (as `kerazoo train --set`, e.g. width=64)",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "speed.json"))
    args = parser.parse_args()
    try:
        DCGAN_HPARAMS.update(parse_set(args.hparams, "--set"))
    except ValueError as e:
        parser.error(str(e))
    if args.profile < 0:
        parser.error(f"--profile {args.profile}: expected a number of steps >= 0")
    names = args.only.split(",")
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown:
        parser.error(f"--only {unknown[0]}: expected some of {', '.join(CONTENDERS)}")
    dataset = args.dataset = "mnist" if args.data_dir else "digits"
    ds = _dataset(dataset, args.data_dir)
    measured = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            measured[name].append(CONTENDERS[name](ds, args))
            print(f"repeat {repeat + 1}: {name} {measured[name][-1]:.1f} images/s", flush=True)
    medians = {name: statistics.median(values) for name, values in measured.items()}
    profiles = {}
    for name in (n for n in names if n in FITS and args.profile):
        with tempfile.TemporaryDirectory(prefix=f"kerazoo_profile_{name}_") as logdir:
            time_fit(ds, args.profile, args.warmup, *FITS[name], profile=logdir)
            profiles[name] = {k: round(v, 3) for k, v in op_times(logdir, args.profile).items()}
    delays = epoch_start_delays(args.epoch_probe) if args.epoch_probe else []
    pipeline = pipeline_rate(dataset, args.data_dir)
    anchor = medians.get("loop")
    results = {
        "dataset": dataset,
        "batch_size": BATCH,
        "steps": args.steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "machine": machine_info(),
        "dcgan_hparams": {**kerazoo.get_entry("dcgan").hparams, **DCGAN_HPARAMS},
        "mixed_policy": precision_policy("mixed"),
        "versions": library_versions(),
        "images_per_second": measured,
        "median_images_per_second": medians,
        "ratio_to_loop": {
            k: v / anchor
            for k, v in medians.items()
            if not k.startswith(("cnn", "vae", "cgan", "bn", "adam", "ddpm"))
        }
        if anchor
        else None,
        "cgan_ratio_to_loop": medians["cgan_fit"] / medians["cgan_loop"]
        if {"cgan_fit", "cgan_loop"} <= set(medians)
        else None,
        "vae_ratio_to_loop": medians["vae_fit"] / medians["vae_loop"]
        if {"vae_fit", "vae_loop"} <= set(medians)
        else None,
        "ddpm_ratio_to_loop": {
            k: v / medians["ddpm_loop"] for k, v in medians.items() if k.startswith("ddpm_fit")
        }
        if "ddpm_loop" in medians
        else None,
        "cnn_ratio_to_arrays": medians["cnn_fit"] / medians["cnn_arrays"]
        if {"cnn_fit", "cnn_arrays"} <= set(medians)
        else None,
        "batch_norm_ms_per_batch": {k: 1000 * BATCH / v for k, v in medians.items() if k.startswith("bn")},
        "adam_ms_per_update": {k: 1000 * BATCH / v for k, v in medians.items() if k.startswith("adam")},
        "op_ms_per_step": profiles,
        "epoch_start_seconds": delays,
        "pipeline_images_per_second": pipeline,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name, value in medians.items():
        if name.startswith("cnn"):
            base = medians.get("cnn_arrays")
            ratio = f"  {value / base:.2f}x keras.io-style fit on arrays" if base else ""
        elif name.startswith("cgan"):
            base = medians.get("cgan_loop")
            ratio = f"  {value / base:.2f}x the cgan loop" if base else ""
        elif name.startswith(("bn", "adam")):
            base = medians.get(name.replace("zoo", "keras"))
            ratio = f"  {1000 * BATCH / value:.2f} ms a batch, {value / base:.2f}x Keras' own" if base else ""
        elif name.startswith("vae"):
            base = medians.get("vae_loop")
            ratio = f"  {value / base:.2f}x the VAE loop" if base else ""
        elif name.startswith("ddpm"):
            base = medians.get("ddpm_loop")
            ratio = f"  {value / base:.2f}x the ddpm loop" if base else ""
        else:
            ratio = f"  {value / anchor:.2f}x the loop" if anchor else ""
        print(f"{name:>18}: {value:8.1f} images/s{ratio}")
    for name, times in profiles.items():
        print(f"{name}: {sum(times.values()):.1f} ms of ops a step (CPU time over threads); the largest:")
        for kind, ms in list(times.items())[:15]:
            print(f"  {kind:>36} {ms:8.2f} ms")
    if delays:
        print("epoch start -> first step:", ", ".join(f"{d:.2f}" for d in delays), "s")
    print(f"the pipeline alone: {pipeline:,.0f} images/s")


if __name__ == "__main__":
    main()
