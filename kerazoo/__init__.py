"""kerazoo: a Keras 3 / TensorFlow model zoo, from the artificial neuron to generative models.

    import kerazoo
    kerazoo.list_models()
    model = kerazoo.build("cnn")
    train_ds = kerazoo.make_dataset("digits", "train", batch_size=128)

The public names are imported on first use, so `import kerazoo` itself stays light. Keras meets
kerazoo's saved classes all the same: once both are imported (in either order),
`keras.models.load_model` registers kerazoo's layers, trainers and optimizer before it loads, so it
loads every file the zoo writes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

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


def _register_with_keras() -> None:
    """Register kerazoo's saved classes (layers, `GAN`/`VAE`/`Diffusion`..., `kerazoo>Adam`) with Keras."""
    try:
        from kerazoo._registry import _ensure_loaded

        _ensure_loaded()
    except Exception as e:  # Keras' own error follows; say why kerazoo's classes are missing
        warnings.warn(
            f"kerazoo could not register its classes with Keras ({type(e).__name__}: {e}).", stacklevel=3
        )


def _teach_keras(keras) -> None:
    """Make `keras.saving.load_model` (and `keras.models.load_model`, the same function) register
    kerazoo's classes first. Registering when `keras` is imported would import kerazoo's model
    modules while one of them may be the very module importing Keras; at load time nothing is."""
    import functools

    original = keras.saving.load_model
    if getattr(original, "_kerazoo", False):
        return

    @functools.wraps(original)
    def load_model(*args, **kwargs):
        _register_with_keras()
        return original(*args, **kwargs)

    load_model._kerazoo = True
    keras.saving.load_model = load_model
    if getattr(keras.models, "load_model", None) is original:
        keras.models.load_model = load_model


class _WhenKerasIsImported(importlib.abc.MetaPathFinder):
    """Runs `_teach_keras` right after `keras` is first imported (once)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")  # the real one, from the finders after this one
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_teach(module):
            exec_module(module)
            try:
                _teach_keras(module)
            except Exception:  # never break the user's `import keras`
                pass

        spec.loader.exec_module = exec_and_teach
        return spec


if "keras" in sys.modules:
    _teach_keras(sys.modules["keras"])
elif importlib.util.find_spec("keras") is not None:  # the light install has no Keras: nothing to do
    sys.meta_path.insert(0, _WhenKerasIsImported())
