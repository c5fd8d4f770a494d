"""
Title: pix2pix: from a street map to an aerial view
Author: kerazoo
Date created: 2026-11-24
Last modified: 2026-11-24
Description: A U-Net generator and a PatchGAN discriminator learn to render aerial tiles from map
tiles (the offline synthetic_maps), trained with adversarial + 100 x L1, against the L1 loss alone.
"""

"""
## Setup
"""

import os
from pathlib import Path

import kerazoo
from kerazoo.tasks.translation import TripletGrid, translation_figures

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "pix2pix"

"""
## Prepare the data

`synthetic_maps` draws paired 64x64 tiles from a seed: a map (flat colours, as map services draw
them) and an aerial-style photo of the same ground (fields, trees, water, roads, roofs and their
shadows). Batches are `(input, target)` pairs in [-1, 1]; `direction="aerial2map"` swaps them.
"""

recipe = kerazoo.get_entry("pix2pix").recipe  # the zoo's recipe, as `kerazoo train pix2pix` uses it
batch_size = recipe.batch_size  # 16
data = dict(normalization="symmetric", direction="map2aerial")
train_ds = kerazoo.make_dataset("synthetic_maps", "train", batch_size, drop_remainder=True, **data)
test_ds = kerazoo.make_dataset("synthetic_maps", "test", batch_size, shuffle=False, **data)
if quick:
    train_ds, test_ds = train_ds.take(2), test_ds.take(2)
maps, aerials = next(iter(test_ds))
print("pairs:", maps.shape, "->", aerials.shape)

"""
## Build the model

The generator is a U-Net: six 4x4 stride-2 convolutions take 64x64 down to 1x1, six transposed
convolutions come back up, each joined to the encoder's map of the same size (the skips carry the
roads' and buildings' positions straight across). The discriminator is a PatchGAN: it sees the map
and the aerial tile together and gives one logit per patch, so it judges texture, not layout.
"""

model = kerazoo.build("pix2pix", image_shape=(64, 64, 3), filters=8 if quick else 32, seed=0)
model.generator.summary(line_length=100)
model.discriminator.summary(line_length=100)

"""
## Train the model

The recipe is the paper's: Adam(2e-4, beta_1=0.5) for both networks, the non-saturating loss, and
100 x L1 beside it in the generator's loss. `fit` is the plain Keras one (`Translator` reuses the
zoo's `GAN.train_step`); the callback writes (map | output | real) triplets after each epoch.
"""

model.compile(**recipe.compile_options())
epochs = 1 if quick else recipe.epochs  # 10: about 4 minutes on 2 CPU cores
grid = TripletGrid(out_dir / "grids", maps.numpy()[:8], aerials.numpy()[:8])
model.fit(train_ds, epochs=epochs, validation_data=test_ds, callbacks=[grid], verbose=2)

"""
## Judge it

L1 and PSNR reward the average of all plausible aerial views, a blur; the adversarial loss pushes
the outputs back to the sharpness of real tiles. Compare the outputs' mean gradient magnitude with
the real tiles' (`sharpness_ratio`, 1.0 is as sharp), then train the same U-Net on L1 alone.
"""

inputs, targets = maps.numpy(), aerials.numpy()
figures = translation_figures(model.generator, inputs, targets)
print({k: round(v, 3) for k, v in figures.items() if isinstance(v, float)})

l1_only = kerazoo.build("pix2pix", filters=8 if quick else 32, seed=0)
l1_only.compile(**{**recipe.compile_options(), "adversarial_weight": 0.0})
l1_only.fit(train_ds, epochs=epochs, verbose=2)
blurry = translation_figures(l1_only.generator, inputs, targets)
print("L1 only:", {k: round(v, 3) for k, v in blurry.items() if isinstance(v, float)})

model.generator.save(out_dir / "generator.keras")
