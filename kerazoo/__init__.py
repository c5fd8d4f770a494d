"""kerazoo: a Keras 3 / TensorFlow model zoo, from the artificial neuron to generative models.

    import kerazoo
    kerazoo.list_models()
    model = kerazoo.build("cnn")
    train_ds = kerazoo.make_dataset("digits", "train", batch_size=128)

The public names are imported on first use, so `import kerazoo` itself stays light.
"""

from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

__all__ = [
    "build",
    "list_models",
    "get_entry",
    "register_model",
    "register_task",
    "load_plugins",
    "load_model",
    "make_dataset",
    "DataError",
    "train",
    "GAN",
    "VAE",
    "Diffusion",
    "__version__",
]

_LAZY = {
    "build": "kerazoo._registry",
    "list_models": "kerazoo._registry",
    "get_entry": "kerazoo._registry",
    "register_model": "kerazoo._registry",
    "register_task": "kerazoo.tasks",
    "load_plugins": "kerazoo._plugins",
    "load_model": "kerazoo._registry",
    "make_dataset": "kerazoo.data",
    "DataError": "kerazoo.data",
    "train": "kerazoo.training",
    "GAN": "kerazoo.trainers.gan",
    "VAE": "kerazoo.trainers.vae",
    "Diffusion": "kerazoo.trainers.diffusion",
}


def __getattr__(name):
    if name in _LAZY:
        missing = [m for m in TRAINING_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise ModuleNotFoundError(
                f"kerazoo.{name} needs {', '.join(missing)}, which this install lacks: the plain install is "
                'the deployment runtime (kerazoo.runtime). For training: pip install "kerazoo[train]"',
                name=missing[0],
            )
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found once; later lookups skip this function
        return value
    raise AttributeError(f"module 'kerazoo' has no attribute {name!r}")


# What the `train` extra installs (pip install "kerazoo[train]"), as import names.
TRAINING_MODULES = ("tensorflow", "keras", "sklearn", "matplotlib", "tensorflow_datasets", "scipy")


def __dir__():
    return sorted(__all__)
