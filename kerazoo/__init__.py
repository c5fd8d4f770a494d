"""kerazoo: a Keras 3 / TensorFlow model zoo, from the artificial neuron to generative models.

    import kerazoo
    kerazoo.list_models()
    model = kerazoo.build("cnn")
    train_ds = kerazoo.make_dataset("digits", "train", batch_size=128)

The public names are imported on first use, so `import kerazoo` itself stays light.
"""

from __future__ import annotations

import importlib

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
    "GAN": "kerazoo.gan",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerazoo' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
