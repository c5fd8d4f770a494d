"""The trainers: `keras.Model` subclasses that override `train_step`, so that a model whose training
is not Keras' own (an adversarial game, a variational bound, a growing network, an image-conditioned
GAN) still trains with plain `fit`, callbacks, checkpoints, mixed precision and the distribution
strategies.

- `GAN` (`kerazoo.trainers.gan`): every GAN's step; what differs between GAN types is a loss.
- `VAE` (`kerazoo.trainers.vae`): the variational autoencoder's bound.
- `Diffusion` (`kerazoo.trainers.diffusion`): a denoising diffusion model's noise-prediction loss.
- `ProGAN` (`kerazoo.trainers.progan`): a GAN that grows phase by phase.
- `StyleGAN` (`kerazoo.trainers.stylegan`): a GAN with a mapping and a synthesis network, style mixing.
- `Translator` (`kerazoo.trainers.translation`): pix2pix and SRGAN.

The builders in `kerazoo.models` make the networks and hand them to these; the callbacks that drive
them during `fit` are in `kerazoo.callbacks`. `kerazoo.load_model` imports every trainer module, so
that Keras finds each registered class.
"""

import importlib

from kerazoo.trainers.diffusion import Diffusion
from kerazoo.trainers.gan import GAN
from kerazoo.trainers.vae import VAE

__all__ = ["GAN", "VAE", "Diffusion", "ProGAN", "StyleGAN", "Translator"]

# ProGAN, StyleGAN and Translator are built from the builders' networks (kerazoo.models), which register with
# the tasks, which import GAN from here: they are imported on first use, not with the package.
_LAZY = {
    "ProGAN": "kerazoo.trainers.progan",
    "StyleGAN": "kerazoo.trainers.stylegan",
    "Translator": "kerazoo.trainers.translation",
}
MODULES = ("kerazoo.trainers.gan", "kerazoo.trainers.vae", "kerazoo.trainers.diffusion", *_LAZY.values())


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerazoo.trainers' has no attribute {name!r}")
