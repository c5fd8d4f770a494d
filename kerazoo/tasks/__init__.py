"""Tasks: one module per kind of model, one `register_task` line each.

| task | module | trains on | deploys |
|---|---|---|---|
| `logic` | `kerazoo.tasks.logic` | truth tables | the network (`inputs` -> `predictions`) |
| `regression` | `kerazoo.tasks.regression` | regression points | the network |
| `classification` | `kerazoo.tasks.classification` | images, tables | the classifier (`probabilities`, `class_ids`) |
| `forecasting` | `kerazoo.tasks.forecasting` | monthly series | the forecaster (`windows` -> `predictions`) |
| `generation` | `kerazoo.tasks.generation` | images (with labels if conditional) | the GAN's generator |
| `progressive` | `kerazoo.tasks.progressive` | images, in phases of growing resolution | the full-resolution generator |
| `style` | `kerazoo.tasks.style` | images | the StyleGAN generator (`noise`, `truncation`); its synthesis network with `--signature styles` |
| `reconstruction` | `kerazoo.tasks.reconstruction` | images | the autoencoder, or the VAE's decoder |
| `synthesis` | `kerazoo.tasks.synthesis` | tables with a class column | the generator (`noise`, `labels` -> encoded rows; CSV via its metadata) |
| `translation` | `kerazoo.tasks.translation` | `(input, target)` image pairs | the generator (`images` -> `images`) |

A task from outside the package registers the same way (see README, "Adding a model"):

    @kerazoo.register_task
    class Denoising(kerazoo.tasks.Task):
        name = "denoising"
        data_kinds = ("image",)
"""

from __future__ import annotations

import difflib
import importlib

from kerazoo.tasks._base import (
    FitRecipe,
    Prepared,
    Recipe,
    Run,
    RunConfig,
    Task,
    UsageError,
    evaluate_figures,
)

__all__ = [
    "Task",
    "Recipe",
    "FitRecipe",
    "Run",
    "RunConfig",
    "Prepared",
    "UsageError",
    "register_task",
    "get_task",
    "list_tasks",
    "task_for_model",
    "evaluate_figures",
]

_BUILTIN = (
    "logic",
    "regression",
    "classification",
    "forecasting",
    "generation",
    "progressive",
    "reconstruction",
    "synthesis",
    "translation",
    "diffusion",
    "style",
)
_TASKS: dict[str, Task] = {}
_loaded = False


def register_task(cls):
    """Class decorator: register one instance of a `Task` subclass under its `name`.

    Raises:
        ValueError: not a Task subclass, no name, or the name is taken.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ValueError(f"register_task takes a subclass of kerazoo.tasks.Task. Received: {cls!r}")
    name = cls.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"A task needs a `name` (an identifier). Received: {cls.__name__}.name={name!r}")
    if name in _TASKS:
        raise ValueError(f"A task is already registered under the name '{name}'.")
    _TASKS[name] = cls()
    return cls


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN:
            importlib.import_module(f"kerazoo.tasks.{module}")


def list_tasks() -> list:
    """The registered task names, sorted."""
    _ensure_loaded()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The task registered as `name`; a ValueError listing the registered ones otherwise."""
    _ensure_loaded()
    if name in _TASKS:
        return _TASKS[name]
    close = difflib.get_close_matches(str(name), list(_TASKS), n=1)
    hint = f" Did you mean: {close[0]}?" if close else ""
    raise ValueError(f"Unknown task {name!r}.{hint} Registered tasks: {', '.join(sorted(_TASKS))}")


def task_for_model(model) -> Task | None:
    """The task that claims a model known by neither a zoo name nor a run config (a bare GAN, VAE
    or generator), or None."""
    _ensure_loaded()
    for task in _TASKS.values():
        if task.claims(model):
            return task
    return None
