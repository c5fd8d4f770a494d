"""
Title: DCGAN on digits with model.fit
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-12-06
Description: A DCGAN trained with plain `fit` through `kerazoo.GAN`'s `train_step`, with a sample
grid each epoch, the GAN health monitor and checkpoints; the same script trains the MLP GAN or
WGAN-GP by changing two names.
"""

"""
## Setup
"""

import os
from pathlib import Path

import numpy as np

import kerazoo
from kerazoo.callbacks import BackupAndRestore, GANMonitor, SampleGrid

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "dcgan"

"""
## Prepare the data

GANs read images in [-1, 1] (the generator ends in tanh) and need no labels. Dropping the last
partial batch keeps every step the same shape.
"""

recipe = kerazoo.get_entry("dcgan").recipe  # the zoo's recipe: the settings behind the benchmarks' figures
batch_size = recipe.batch_size  # 32
train_ds = kerazoo.make_dataset(
    "digits", "train", batch_size, normalization="symmetric", labels=False, drop_remainder=True
)
real_images = next(
    iter(kerazoo.make_dataset("digits", "train", 256, normalization="symmetric", labels=False))
)

"""
## Build the model

`kerazoo.build("dcgan")` returns a `kerazoo.GAN` holding the two Functional models. For the MLP GAN
use `"gan"`; for WGAN-GP use `"wgan_gp"` and compile below with `loss="wasserstein_gp", d_steps=5`.
"""

latent_dim = 100
gan = kerazoo.build("dcgan", latent_dim=latent_dim, seed=0)
gan.generator.summary()
gan.discriminator.summary()

"""
## Train the model

The recipe (`print(recipe)`): Adam with the DCGAN paper's beta_1=0.5 for both networks (at 8e-4,
four times the paper's rate, with beta_2=0.99) and the non-saturating loss, and two generator
updates per discriminator update (`g_steps=2`): with one, the discriminator gets ahead and the
samples stop improving sooner. The R1 penalty (`r1_gamma=0.1`) adds `0.05 * ||grad_x D(x)||^2` at
real images to the discriminator's loss, which keeps D smooth around the data; on MNIST it lifts
the share of confidently recognised samples at every epoch (the GAN benchmark). It is computed on
every 4th discriminator update only, weighted by 4 (`penalty_every=4`, StyleGAN2's lazy
regularisation). The generator's optimizer keeps a moving average of its weights (`use_ema`,
momentum 0.99), which `fit` swaps into the generator at its end: the averaged generator draws
cleaner digits than the last step's. Why these settings: the benchmarks' "first picture" page. `recipe.compile_options()` builds the two optimizers with Keras and hands
`GAN.compile` the rest; change one with `recipe.replace({"g_steps": 1})`.

Run the script again after an interruption and it continues where it stopped:
`kerazoo.callbacks.BackupAndRestore` is Keras' callback made whole for a GAN. Keras' own restores
only `model.optimizer`, so a GAN's two Adam states would start over silently
(keras-team/keras#19389); the zoo's restores both optimizers, the noise seed, the metric
accumulators and, given `data=`, the epoch's data order, so the resumed run matches an
uninterrupted one. It goes last in `callbacks`.
"""

gan.compile(**recipe.compile_options())
monitor = GANMonitor(real_images.numpy(), warmup=5)  # reports D too strong, G too strong, mode collapse
callbacks = [
    SampleGrid(out_dir / "grids"),  # one PNG per epoch from the same noise
    monitor,
    BackupAndRestore(out_dir / "backup", data=train_ds, callbacks=[monitor]),  # resume, both optimizers
]
epochs = 1 if quick else recipe.epochs  # 40 epochs of digits take under two minutes on 2 CPU cores
history = gan.fit(train_ds, epochs=epochs, callbacks=callbacks, verbose=2)

"""
## Save and sample

The generator alone is what gets deployed (after `fit`, it holds the averaged weights).
"""

gan.generator.save(out_dir / "generator.keras")
noise = np.random.default_rng(1).standard_normal((8, latent_dim)).astype("float32")
print(
    "samples:",
    gan.generator(noise).shape,
    "last D(x), D(G(z)):",
    history.history["d_real"][-1],
    history.history["d_fake"][-1],
)
