"""Moved to `kerazoo.trainers.vae`; this name stays so that existing imports and saved files work."""

from kerazoo.trainers.vae import *  # noqa: F403
from kerazoo.trainers.vae import __all__  # noqa: F401
