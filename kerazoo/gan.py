"""Moved to `kerazoo.trainers.gan`; this name stays so that existing imports and saved files work."""

from kerazoo.trainers.gan import *  # noqa: F403
from kerazoo.trainers.gan import __all__  # noqa: F401
