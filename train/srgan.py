"""
Title: SRGAN: four times the resolution of a 7x7 digit
Author: kerazoo
Date created: 2026-11-24
Last modified: 2026-11-24
Description: SRResNet (residual blocks, sub-pixel upsampling) learns 7x7 -> 28x28 on pixel MSE,
then SRGAN fine-tunes it with a discriminator; both against bicubic upsampling.
"""

"""
## Setup
"""

import os
from pathlib import Path

import kerazoo
from kerazoo.tasks.translation import translation_figures

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "srgan"
out_dir.mkdir(parents=True, exist_ok=True)

"""
## Prepare the data

`pairs="lowres:4"` turns any image dataset into super-resolution pairs: each digit shrunk 4 times
by averaging 4x4 blocks (7x7), and the digit itself (28x28), both in [-1, 1].
"""

recipe = kerazoo.get_entry("srgan").recipe
batch_size = recipe.batch_size  # 32
data = dict(normalization="symmetric", pairs="lowres:4")
train_ds = kerazoo.make_dataset("digits", "train", batch_size, drop_remainder=True, **data)
test_ds = kerazoo.make_dataset("digits", "test", 360, shuffle=False, **data)
if quick:
    train_ds = train_ds.take(2)
small, digits = next(iter(test_ds))
print("pairs:", small.shape, "->", digits.shape)

"""
## Build the model

The generator (SRResNet): a 9x9 convolution, 8 residual blocks at 7x7, then two sub-pixel
upsamplings (a convolution to 4x the feature maps, rearranged by `depth_to_space` into a 2x larger
map); the discriminator judges 28x28 digits alone.
"""

model = kerazoo.build("srgan", image_shape=(28, 28, 1), scale=4, blocks=2 if quick else 8, seed=0)
model.generator.summary(line_length=100)

"""
## Train SRResNet, then SRGAN

First the generator alone on pixel MSE (`adversarial_weight=0`: no discriminator), as Ledig et al.
initialise SRGAN; then the same weights with 1e-3 x the adversarial loss added.
"""

epochs = 1 if quick else recipe.epochs // 2  # 10 + 10
model.compile(**{**recipe.compile_options(), "adversarial_weight": 0.0})
model.fit(train_ds, epochs=epochs, verbose=2)
srresnet = translation_figures(model.generator, small.numpy(), digits.numpy())
model.compile(**recipe.compile_options())
model.fit(train_ds, epochs=epochs, verbose=2)
srgan = translation_figures(model.generator, small.numpy(), digits.numpy())

"""
## Compare

PSNR (dB, higher is better) of bicubic upsampling, SRResNet and SRGAN on the test digits, and how
sharp each is against the real digits.
"""

print(f"bicubic  PSNR {srresnet['baselines']['bicubic']['psnr']:.2f}")
for name, figures in (("SRResNet", srresnet), ("SRGAN", srgan)):
    print(
        f"{name:8s} PSNR {figures['psnr']:.2f}  SSIM {figures['ssim']:.3f}  sharpness {figures['sharpness_ratio']:.2f}"
    )
model.generator.save(out_dir / "generator.keras")
