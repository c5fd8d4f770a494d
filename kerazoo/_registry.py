"""The model registry: one decorator beside each builder, `build` and `list_models` for users.

Each builder module keeps a `default_cfgs` dict keyed by the builder's own name. The decorator joins
the two: the builder's keyword defaults are its hparams, the cfg says what the model is for (task,
default dataset, input spec, normalization, and the training recipe's defaults).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import inspect
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["ModelEntry", "register_model", "build", "list_models", "get_entry", "load_model"]

TASKS = ("logic", "regression", "classification", "forecasting", "generation", "reconstruction")

_REGISTRY: dict[str, ModelEntry] = {}


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one zoo model."""

    name: str
    builder: Callable[..., Any]
    task: str
    dataset: str
    input_spec: dict
    normalization: str | None
    recipe: dict
    description: str

    @property
    def hparams(self) -> dict:
        """The builder's keyword arguments with their defaults."""
        return {
            p.name: p.default
            for p in inspect.signature(self.builder).parameters.values()
            if p.default is not inspect.Parameter.empty
        }


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register `fn` under its own name, with the cfg of the same name in its module's `default_cfgs`.

    Raises:
        ValueError: if the name is taken, or the module has no cfg for it.
    """
    name = fn.__name__
    if name in _REGISTRY:
        raise ValueError(f"An entry is already registered under the name '{name}'.")
    module = sys.modules[fn.__module__]
    cfgs = getattr(module, "default_cfgs", {})
    if name not in cfgs:
        raise ValueError(f"{module.__name__}.default_cfgs has no entry for '{name}'.")
    cfg = dict(cfgs[name])
    task = cfg.pop("task")
    if task not in TASKS:
        raise ValueError(f"Unknown task for '{name}'. Expected one of {TASKS}. Received: task={task!r}")
    doc = inspect.getdoc(fn) or ""
    _REGISTRY[name] = ModelEntry(
        name=name,
        builder=fn,
        task=task,
        dataset=cfg.pop("dataset"),
        input_spec=cfg.pop("input_spec"),
        normalization=cfg.pop("normalization", None),
        recipe=cfg.pop("recipe", {}),
        description=doc.splitlines()[0] if doc else "",
    )
    if cfg:
        raise ValueError(f"Unknown keys in default_cfgs['{name}']: {sorted(cfg)}")
    public = getattr(module, "__all__", None)
    if public is not None and name not in public:
        public.append(name)
    return fn


def _ensure_loaded() -> None:
    # Importing the model modules runs their decorators.
    import kerazoo.models  # noqa: F401


def load_model(path):
    """A `.keras` file saved by kerazoo (a run's `model.keras`, `generator.keras`, ...) as a Keras model.

    `keras.saving.load_model` finds kerazoo's own classes (`GAN`, `VAE`, its layers) only once their
    modules are imported; this imports them first. Missing or unreadable files: one ValueError.
    """
    import zipfile
    from pathlib import Path

    import keras

    _ensure_loaded()
    path = Path(path)
    if path.suffix != ".keras" or not path.is_file():
        raise ValueError(
            f"No .keras file at {path}. Pass a saved model, e.g. runs/dcgan/model.keras or "
            "runs/dcgan/generator.keras"
        )
    try:
        return keras.saving.load_model(path)
    except (zipfile.BadZipFile, OSError, KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"{path} is not a readable Keras model ({type(err).__name__}: {str(err)[:200]}). "
            "Save it again with model.save(), or retrain."
        ) from None


def get_entry(name: str) -> ModelEntry:
    """The registry entry for `name`; a ValueError naming the closest matches if there is none."""
    _ensure_loaded()
    if not isinstance(name, str):
        raise ValueError(f"A model name must be a string. Received: name={name!r}")
    key = name.strip().lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(f"Unknown model '{name}'.{hint} Available: {sorted(_REGISTRY)}")


def list_models(filter: str = "*", *, task: str | None = None) -> list[str]:
    """Sorted names of the zoo's models, optionally matching an fnmatch pattern and a task.

    Example: `list_models("*gan*")`, `list_models(task="classification")`.
    """
    _ensure_loaded()
    names = [
        n for n, e in _REGISTRY.items() if fnmatch.fnmatch(n, filter) and (task is None or e.task == task)
    ]
    return sorted(names)


def check_hparams(name: str, hparams: dict) -> None:
    """Raise a ValueError naming the valid hparams if `hparams` holds a key the builder lacks."""
    valid = get_entry(name).hparams
    unknown = sorted(set(hparams) - set(valid))
    if unknown:
        raise ValueError(f"Unknown hparam(s) {unknown} for model '{name}'. Valid hparams: {sorted(valid)}")


def build(name: str, /, **hparams: Any):
    """Build the zoo model `name`; keyword arguments override the builder's defaults.

    Example:
        model = kerazoo.build("mlp", hidden_units=(256, 128))

    Raises:
        ValueError: for an unknown model name (with the closest matches) or an unknown hparam
            (with the valid ones), or an invalid hparam value.
    """
    entry = get_entry(name)
    check_hparams(entry.name, hparams)
    return entry.builder(**hparams)
