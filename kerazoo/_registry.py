"""The model registry: one decorator beside each builder, `build` and `list_models` for users.

Each builder module keeps a `default_cfgs` dict keyed by the builder's own name. The decorator joins
the two: the builder's keyword defaults are its hparams, the cfg says what the model is for:

| cfg key | required | what |
|---|---|---|
| `task` | yes | a registered task (`kerazoo.tasks.list_tasks()`) |
| `dataset` | yes | the default dataset (`kerazoo.make_dataset` name) |
| `recipe` | no | what differs from the task's recipe defaults (`epochs`, `batch_size`, `learning_rate`, optimizers, ...) |
| `data_kinds` | no | the dataset kinds the model trains on, if fewer than its task's |
| `input_spec` | no | shape, dtype and range of the input, for documentation |
| `normalization` | no | `"unit"` ([0, 1]) or `"symmetric"` ([-1, 1]) images |

Models from outside the package register the same way, from a module loaded as a plugin
(`kerazoo --plugin MODULE ...`, `KERAZOO_PLUGINS=mod1,mod2`, or the entry-point group
`kerazoo.plugins`); see `kerazoo._plugins`.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["ModelEntry", "register_model", "build", "list_models", "get_entry", "load_model", "check_hparams"]

_REGISTRY: dict[str, ModelEntry] = {}
_CFG_KEYS = ("task", "dataset", "recipe", "data_kinds", "input_spec", "normalization")


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one zoo model."""

    name: str
    builder: Callable[..., Any]
    task: str
    dataset: str
    input_spec: dict
    normalization: str | None
    recipe: Any  # the task's typed recipe (kerazoo.tasks.Recipe), with this model's defaults
    description: str
    model_data_kinds: tuple | None = None

    @property
    def data_kinds(self) -> tuple:
        """The dataset kinds the model trains on: its cfg's `data_kinds`, else its task's."""
        if self.model_data_kinds is not None:
            return self.model_data_kinds
        from kerazoo.tasks import get_task

        return get_task(self.task).data_kinds

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

    Example (a module of your own, loaded with `kerazoo --plugin my_models train tiny_cnn`):

        default_cfgs = {"tiny_cnn": dict(task="classification", dataset="digits")}

        @kerazoo.register_model
        def tiny_cnn(filters=8, input_shape=(28, 28, 1), num_classes=10, name="tiny_cnn"):
            ...
            return keras.Model(inputs, outputs, name=name)

    Raises:
        ValueError: if the name is taken, the module has no cfg for it, or the cfg is invalid
            (unknown key, unknown task, a recipe key the task does not have).
    """
    from kerazoo.tasks import get_task

    name = fn.__name__
    if name in _REGISTRY:
        raise ValueError(f"An entry is already registered under the name '{name}'.")
    module = sys.modules[fn.__module__]
    cfgs = getattr(module, "default_cfgs", {})
    if name not in cfgs:
        raise ValueError(f"{module.__name__}.default_cfgs has no entry for '{name}'.")
    cfg = dict(cfgs[name])
    unknown = sorted(set(cfg) - set(_CFG_KEYS))
    if unknown:
        raise ValueError(f"Unknown keys in default_cfgs['{name}']: {unknown}. Valid keys: {list(_CFG_KEYS)}")
    missing = [key for key in ("task", "dataset") if key not in cfg]
    if missing:
        raise ValueError(f"default_cfgs['{name}'] needs {missing}.")
    task = get_task(cfg["task"])
    try:
        recipe = task.recipe_class.from_dict(cfg.get("recipe") or {})
    except ValueError as e:
        raise ValueError(f"default_cfgs['{name}']['recipe']: {e}") from None
    kinds = cfg.get("data_kinds")
    doc = inspect.getdoc(fn) or ""
    _REGISTRY[name] = ModelEntry(
        name=name,
        builder=fn,
        task=task.name,
        dataset=cfg["dataset"],
        input_spec=dict(cfg.get("input_spec") or {}),
        normalization=cfg.get("normalization"),
        recipe=recipe,
        description=doc.splitlines()[0] if doc else "",
        model_data_kinds=tuple(kinds) if kinds is not None else None,
    )
    public = getattr(module, "__all__", None)
    if public is not None and name not in public:
        public.append(name)
    return fn


def _ensure_loaded() -> None:
    # Importing the model modules runs their decorators; then the plugins named by the environment
    # and by installed packages' entry points register theirs.
    import kerazoo.models  # noqa: F401
    import kerazoo.optimizers  # noqa: F401  (kerazoo>Adam, which saved models name)
    import kerazoo.trainers  # (registers the train_step models with Keras)

    # The trainers imported on first use, too: a file names its class by the registered name
    # (kerazoo>ProGAN), and a file saved before the trainers moved to kerazoo.trainers names a module
    # that no longer defines it (kerazoo.models.progan), so Keras finds it only if it is registered.
    for module in kerazoo.trainers.MODULES:
        importlib.import_module(module)
    from kerazoo._plugins import load_plugins

    load_plugins()


def load_model(path, *, unsafe: bool = False):
    """A `.keras` file saved by kerazoo (a run's `model.keras`, `generator.keras`, ...) as a Keras model.

    `keras.saving.load_model` finds kerazoo's own classes (`GAN`, `VAE`, its layers) only once their
    modules are imported; this imports them first. Missing or unreadable files: one ValueError.

    Keras' `safe_mode` stays on: a file that holds Python code (a `Lambda` layer with a Python
    lambda) is refused with one ValueError, and its code never runs. `unsafe=True` loads such a
    file knowingly (only for files from a source you trust; the CLI's `--unsafe`).
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
        return keras.saving.load_model(path, safe_mode=not unsafe)
    except (zipfile.BadZipFile, OSError, KeyError, TypeError, ValueError) as err:
        if "safe_mode" in str(err) or "arbitrary code execution" in str(err):
            raise ValueError(
                f"{path} holds Python code (a Lambda layer with a Python lambda) and was not loaded; "
                "none of it ran. If you trust where it comes from, load it knowingly: "
                "kerazoo.load_model(path, unsafe=True), or --unsafe on the command line."
            ) from None
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
        ```python
        model = kerazoo.build("mlp", hidden_units=(256, 128))
        ```

    Raises:
        ValueError: for an unknown model name (with the closest matches) or an unknown hparam
            (with the valid ones), or an invalid hparam value.
    """
    entry = get_entry(name)
    check_hparams(entry.name, hparams)
    return entry.builder(**hparams)
