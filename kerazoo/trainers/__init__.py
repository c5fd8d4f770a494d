"""The trainers: `keras.Model` subclasses that override `train_step`, so that a model whose training
is not Keras' own (an adversarial game, a variational bound, a growing network, an image-conditioned
GAN) still trains with plain `fit`, callbacks, checkpoints, mixed precision and the distribution
strategies.

- `GAN` (`kerazoo.trainers.gan`): every GAN's step; what differs between GAN types is a loss.
- `VAE` (`kerazoo.trainers.vae`): the variational autoencoder's bound.
- `ProGAN` (`kerazoo.trainers.progan`): a GAN that grows phase by phase.
- `Translator` (`kerazoo.trainers.translation`): pix2pix and SRGAN.

The builders in `kerazoo.models` make the networks and hand them to these; the callbacks that drive
them during `fit` are in `kerazoo.callbacks`. Importing this package registers every trainer with
Keras, so `keras.saving.load_model` finds them.
"""

from kerazoo.trainers.gan import GAN
from kerazoo.trainers.progan import ProGAN
from kerazoo.trainers.translation import Translator
from kerazoo.trainers.vae import VAE

__all__ = ["GAN", "VAE", "ProGAN", "Translator"]
