"""
Title: A conditional GAN that draws the digit you ask for
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: The conditional DCGAN trains on (image, label) pairs; its generator takes
[noise, labels] and each row of the sample grid is one digit.
"""

"""
## Setup
"""

import os
from pathlib import Path

import numpy as np

import kerazoo
from kerazoo.callbacks import SampleGrid

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "cgan"

"""
## Prepare the data

This time the labels stay: int32 of shape (batch,).
"""

recipe = kerazoo.get_entry("cgan").recipe  # the zoo's recipe, as `kerazoo train cgan` uses it
batch_size = recipe.batch_size  # 64
train_ds = kerazoo.make_dataset(
    "digits", "train", batch_size, normalization="symmetric", labels=True, drop_remainder=True
)

"""
## Build the model

Both networks see the label through a learned embedding: the generator concatenates it to the
noise, the discriminator adds it to the image as one more channel.
"""

gan = kerazoo.build("cgan", latent_dim=100, num_classes=10, seed=0)
gan.generator.summary()

"""
## Train the model

The recipe: Adam(2e-4, beta_1=0.5) for both networks and the non-saturating loss.
"""

gan.compile(**recipe.compile_options())
epochs = 1 if quick else recipe.epochs  # 30
gan.fit(train_ds, epochs=epochs, callbacks=[SampleGrid(out_dir / "grids", num_samples=100)], verbose=2)

"""
## Ask for a digit
"""

noise = np.random.default_rng(1).standard_normal((4, 100)).astype("float32")
threes = gan.generator([noise, np.full(4, 3, dtype="int32")])
print("four threes:", threes.shape)
gan.generator.save(out_dir / "generator.keras")
