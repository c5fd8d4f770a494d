"""The task contract: what a task owns, its typed recipe, and what a run hands it.

A task is one `Task` subclass in one module. `kerazoo.train`, `kerazoo.export`, `kerazoo.evaluate`
and the `kerazoo` command are generic drivers: they ask the model's task for everything that differs
by task (which data it trains on, how a model is compiled and judged, what gets deployed).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kerazoo import data as zdata
from kerazoo._checks import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    check_at_most,
    check_choice,
    check_int,
    check_number,
    check_positive_int,
)
from kerazoo.data import check_validation_split

__all__ = [
    "UsageError",
    "Recipe",
    "FitRecipe",
    "ValidatedRecipe",
    "RunConfig",
    "Run",
    "Prepared",
    "Task",
    "optimizer_config",
]

SCHEDULES = (None, "cosine")


class UsageError(ValueError):
    """Bad arguments to a run: unknown model, hparam or recipe key, a bad value, data that does not
    fit the model (the CLI exits 2 with this message; nothing is written)."""


def optimizer_config(value, arg: str = "optimizer") -> dict:
    """A Keras optimizer identifier as a Keras-serialized config: `"adam"` or
    `{"class_name": "Adam", "config": {...}}` -> `{"class_name": ..., "config": {...}}` (a copy)."""
    if isinstance(value, str) and value:
        return {"class_name": value, "config": {}}
    if (
        isinstance(value, dict)
        and isinstance(value.get("class_name"), str)
        and isinstance(value.get("config", {}), dict)
        and set(value) <= {"class_name", "config", "module", "registered_name"}
    ):
        return {"class_name": value["class_name"], "config": copy.deepcopy(value.get("config", {}))}
    raise ValueError(
        f"`{arg}` must be a Keras optimizer name ('adam') or a serialized optimizer "
        f'{{"class_name": "Adam", "config": {{...}}}}. Received: {arg}={value!r}'
    )


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model is trained: the fields every task's recipe has. Typed, validated, immutable.

    The defaults of these dataclasses are the only defaults; a model's `default_cfgs[...]["recipe"]`
    lists what differs for it, and `kerazoo.train(..., recipe={...})` / `--recipe KEY=VALUE` override
    it for one run. `learning_rate` is the optimizers' learning rate unless an optimizer's own config
    sets one; `schedule="cosine"` decays it over the run (`keras.optimizers.schedules.CosineDecay`).
    """

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    schedule: str | None = None

    OPTIMIZERS: ClassVar[tuple] = ()  # the fields holding serialized optimizer configs

    def __post_init__(self):
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_at_most("epochs", self.epochs, MAX_EPOCHS)
        check_at_most("batch_size", self.batch_size, MAX_BATCH_SIZE)
        check_number("learning_rate", self.learning_rate, 0.0, strict=True)
        object.__setattr__(self, "learning_rate", float(self.learning_rate))  # Keras refuses an int
        check_choice("schedule", self.schedule, SCHEDULES)
        for key in self.OPTIMIZERS:
            object.__setattr__(self, key, optimizer_config(getattr(self, key), key))

    @classmethod
    def keys(cls) -> list:
        """The recipe's keys, in definition order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict) -> Recipe:
        """A recipe from a dict of overrides of the class defaults; unknown keys are refused."""
        return cls().replace(values)

    def to_dict(self) -> dict:
        """The recipe as plain JSON-ready data (what `config.json` records)."""
        return copy.deepcopy(dataclasses.asdict(self))

    def replace(self, overrides: dict | None) -> Recipe:
        """A copy with `overrides` applied and checked. A dotted key sets one entry of an optimizer's
        config (`{"d_optimizer.beta_1": 0.9}`); an optimizer given as a name keeps no earlier config.

        Raises:
            ValueError: an unknown key (the message lists the valid ones) or a bad value.
        """
        values = self.to_dict()
        for key, value in (overrides or {}).items():
            head, dot, part = str(key).partition(".")
            if head not in values:
                raise ValueError(f"Unknown recipe key {key!r}. Valid keys: {', '.join(self.keys())}")
            if not dot:
                values[head] = value
            elif head in self.OPTIMIZERS and part:
                values[head]["config"][part] = value
            else:
                raise ValueError(
                    f"Recipe key {key!r}: only optimizer keys take a part ({', '.join(self.OPTIMIZERS) or 'none here'})."
                )
        return type(self)(**values)

    def learning_rate_value(self, steps: int, learning_rate: float | None = None):
        """The learning rate (or schedule) for a run of `steps` optimizer steps."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        if self.schedule == "cosine":
            import keras

            return keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps), alpha=0.01)
        return lr

    def build_optimizer(self, key: str, steps: int):
        """The optimizer of field `key`, built by Keras from its config, with this recipe's learning rate
        (or schedule over `steps`) unless the config sets its own."""
        import keras

        import kerazoo.optimizers  # noqa: F401  (registers kerazoo>Adam, the recipes' default)

        config = optimizer_config(getattr(self, key), key)
        options = config["config"]
        options["learning_rate"] = self.learning_rate_value(steps, options.get("learning_rate"))
        return keras.optimizers.get(config)

    def check_optimizers(self) -> None:
        """Build each optimizer once (outside any strategy) so a bad class or argument fails before a
        run starts, naming the recipe key."""
        for key in self.OPTIMIZERS:
            try:
                self.build_optimizer(key, 1)
            except (ValueError, TypeError) as e:
                raise ValueError(f"Recipe `{key}` = {getattr(self, key)}: {e}") from None


@dataclasses.dataclass(frozen=True)
class FitRecipe(Recipe):
    """The recipe of a model trained by Keras' own `compile` / `fit`: one optimizer."""

    optimizer: Any = dataclasses.field(default_factory=lambda: {"class_name": "kerazoo>Adam", "config": {}})

    OPTIMIZERS: ClassVar[tuple] = ("optimizer",)


@dataclasses.dataclass(frozen=True)
class ValidatedRecipe(FitRecipe):
    """The recipe of a model whose run selects on a validation split carved from the training split.

    `validation_split` is the share of the training split held out (stratified by class and seeded
    by the run's `split_seed`; for a series, the months just before the test horizon; 0: none).
    `history.json`'s `val_*` curves are that split's, and the test split is read once, after training.
    `early_stopping` (a patience in epochs, 0: off) stops when the validation figure the task
    watches has not improved for that many epochs and keeps the best epoch's weights (Keras'
    `EarlyStopping(restore_best_weights=True)`); `epochs` is then the most it trains.
    """

    validation_split: float = 0.1
    early_stopping: int = 0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(
            self, "validation_split", check_validation_split(self.validation_split, ValueError)
        )
        check_int("early_stopping", self.early_stopping, 0)
        if self.early_stopping and not self.validation_split:
            raise ValueError(
                "early_stopping watches the validation split: it needs validation_split > 0. "
                f"Received: early_stopping={self.early_stopping}, validation_split=0"
            )


@dataclasses.dataclass
class RunConfig:
    """A run directory's `config.json`: every argument of the run, as written by `kerazoo.train`."""

    model: str = ""
    task: str = ""
    dataset: str = ""  # read: the model's default dataset when missing
    data_dir: str | None = None
    csv: str | None = None
    column: str | None = None
    epochs: int = 0
    batch_size: int = 0
    seed: int = 0
    split_seed: int = 0
    hparams: dict = dataclasses.field(default_factory=dict)
    recipe: dict = dataclasses.field(default_factory=dict)
    strategy: str = "default"
    precision: str = "float32"  # the Keras dtype policy the model was trained under
    deterministic: bool | None = None  # whether op determinism was on (None: not recorded)
    versions: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def read(cls, run_dir, error=ValueError) -> RunConfig:
        """The config of a run directory; `error` with one line if it is missing or unreadable."""
        path = Path(run_dir) / "config.json"
        if not path.is_file():
            raise error(
                f"'{run_dir}' is not a run directory (no config.json). Pass a directory written by "
                "`kerazoo train`."
            )
        try:
            values = json.loads(path.read_text())
            known = {f.name for f in dataclasses.fields(cls)}
            config = cls(**{k: v for k, v in values.items() if k in known})
        except (ValueError, TypeError, AttributeError) as e:
            raise error(f"'{path}' is not a valid run config ({str(e)[:200]}).") from None
        if not config.dataset and config.model:
            from kerazoo._registry import get_entry

            try:
                config.dataset = get_entry(config.model).dataset
            except ValueError:
                pass
        return config

    def write(self, path) -> None:
        """Write the config as JSON to `path` (atomically: an interrupted write leaves no partial file)."""
        from kerazoo._io import write_json

        write_json(path, dataclasses.asdict(self))


@dataclasses.dataclass
class Run:
    """What `kerazoo.train` hands a task: the model's registry entry, the effective recipe and the
    run's arguments. `hparams` holds the user's builder overrides; a task adds those it derives
    from the data (input shape, class count) before building."""

    entry: Any  # kerazoo._registry.ModelEntry
    recipe: Recipe
    dataset: str
    data_dir: Any = None
    csv: Any = None
    column: str | None = None
    seed: int = 0
    split_seed: int = 0
    tensorboard: Any = None
    hparams: dict = dataclasses.field(default_factory=dict)

    def derive(self, **values) -> None:
        """Set hparams derived from the data, where the builder takes them and the user set none."""
        for key, value in values.items():
            if key in self.entry.hparams and key not in self.hparams:
                self.hparams[key] = value

    def build(self):
        """The model, from the builder with the run's hparams."""
        return self.entry.builder(**self.hparams)


@dataclasses.dataclass
class Prepared:
    """A task's data and model for one run. `val_ds` goes to `fit` as validation data (or None);
    `extras` carries what the task's later steps need (reference images, the series, ...)."""

    train_ds: Any
    val_ds: Any
    model: Any
    extras: dict = dataclasses.field(default_factory=dict)


class Task:
    """One kind of model: its data, recipe, training, figures, evaluation and export role.

    Subclass it in a module of its own, set `name`, `data_kinds` and `recipe_class`, override what
    differs from the defaults below, and register one instance with `@kerazoo.register_task` on the
    class. The defaults train a Keras model with `compile(optimizer, loss, metrics)` / `fit` and report
    `model.evaluate` on the test split.
    """

    name: ClassVar[str] = ""
    data_kinds: ClassVar[tuple] = ()  # dataset kinds (kerazoo.data.dataset_kind) it trains on
    recipe_class: ClassVar[type] = FitRecipe
    panels: ClassVar[Any] = None  # plot_history panels, None for the default
    headline_keys: ClassVar[tuple] = ()  # figures `kerazoo evaluate` prints (all scalars if empty)
    shuffle_train: ClassVar[bool] = True  # shuffle the training split (seeded by the run's seed)
    monitor: ClassVar[str] = "val_loss"  # what early stopping watches (a ValidatedRecipe's)

    # --- training ------------------------------------------------------------------------------

    def prepare(self, run: Run) -> Prepared:
        """The run's data and model. Default: `splits(run)` and the builder's model with the run's hparams."""
        train_ds, val_ds, test = self.splits(run)
        return Prepared(train_ds, val_ds, run.build(), {"test": test})

    def splits(self, run: Run, **options):
        """`(train_ds, val_ds, test)` of the run's data set, in batches of the recipe's size (`options`:
        more `make_dataset` arguments). The training split is shuffled with the run's seed if
        `shuffle_train`. With a recipe `validation_split`, `val_ds` is the validation split carved
        from the training split and `train_ds` the rest; with `validation_split=0` it is None (nothing
        is validated); a recipe without the key (nothing to select) has the test split as `val_ds`,
        for the curves. `test()` makes the test split: call it once, after training."""
        name, kwargs = self.data_kwargs(run.entry, run.dataset, run.data_dir, run)
        kwargs = {**kwargs, **options}
        validation = self.validation_kwargs(run)
        batch_size = run.recipe.batch_size
        shuffle = dict(seed=run.seed) if self.shuffle_train else dict(shuffle=False)
        train_ds = zdata.make_dataset(name, "train", batch_size, **shuffle, **{**kwargs, **validation})

        def test():
            return zdata.make_dataset(name, "test", batch_size, shuffle=False, **kwargs)

        if validation:
            val_ds = zdata.make_dataset(
                name, "validation", batch_size, shuffle=False, **{**kwargs, **validation}
            )
        else:
            val_ds = None if hasattr(run.recipe, "validation_split") else test()
        return train_ds, val_ds, test

    def loss(self, run: Run):
        """The loss `compile` gets for the run. Default: `"mse"`."""
        return "mse"

    def metrics(self, run: Run) -> list:
        """The metrics `compile` gets for the run. Default: none."""
        return []

    def compile(self, prepared: Prepared, run: Run, steps: int) -> None:
        """Compile for `steps` optimizer steps in all (for schedules)."""
        prepared.model.compile(
            optimizer=run.recipe.build_optimizer("optimizer", steps),
            loss=self.loss(run),
            metrics=self.metrics(run),
        )

    def callbacks(self, prepared: Prepared, run: Run, run_dir: Path) -> list:
        """Callbacks for `fit`. Default: early stopping on the validation split where the recipe
        asks for it (`ValidatedRecipe.early_stopping`)."""
        return self.selection_callbacks(run)

    def selection_callbacks(self, run: Run) -> list:
        """Early stopping on `monitor`, keeping the best epoch's weights, when the run's recipe sets
        `early_stopping` (a patience); else nothing. It is Keras' `EarlyStopping` with its state
        backed up (`kerazoo.callbacks.EarlyStopping`): a resumed run ends as an uninterrupted one."""
        patience = getattr(run.recipe, "early_stopping", 0)
        if not patience:
            return []
        from kerazoo.callbacks import EarlyStopping

        return [EarlyStopping(self.monitor, patience=patience, restore_best_weights=True)]

    def validation_kwargs(self, run: Run) -> dict:
        """`make_dataset` keyword arguments that carve the run's validation split (none if the recipe
        has no `validation_split`)."""
        fraction = getattr(run.recipe, "validation_split", 0.0)
        return dict(validation_split=fraction, split_seed=run.split_seed) if fraction else {}

    def finish(self, prepared: Prepared, run: Run, run_dir: Path) -> dict:
        """The final figures of a run (written to `metrics.json`); pictures go into `run_dir`.
        Default: `model.evaluate` on the test split (`test_*`), and on the validation split
        (`validation_*`) where there is one."""
        return self.test_figures(prepared, run)

    def test_figures(self, prepared: Prepared, run: Run) -> dict:
        """`model.evaluate` on the test split (its first read) as `test_*`, and on the validation split
        as `validation_*` where the run has one. For a recipe without `validation_split`,
        `prepared.val_ds` is the test split (as `prepare` may have mapped it); else
        `prepared.extras["test"]()` makes it."""
        validating = self.validation_kwargs(run)
        if not validating and prepared.val_ds is not None:
            return evaluate_figures(prepared.model, prepared.val_ds)
        figures = evaluate_figures(prepared.model, prepared.extras["test"]())
        if validating:
            validation = prepared.model.evaluate(prepared.val_ds, verbose=0, return_dict=True)
            figures.update({f"validation_{k}": float(v) for k, v in validation.items()})
        return figures

    # --- data for export and evaluation ---------------------------------------------------------

    def data_kwargs(self, entry, dataset: str, data_dir=None, run: Run | RunConfig | None = None):
        """`(dataset, make_dataset keyword arguments)` for this task's data (besides the split, the
        batch size and shuffling). `run` is the training run, or a finished run's config, or None.
        Default: the data folder (for data sets read from local files), nothing else."""
        return dataset, dict(data_dir=data_dir)

    def split_arrays(
        self, entry, config: RunConfig | None, split: str, *, data_dir=None, dataset=None, limit=None
    ):
        """`(x, y or None)` as NumPy arrays from a split of the run's data set (or the model's default)."""
        dataset = dataset or (config.dataset if config else None) or entry.dataset
        data_dir = data_dir or (config.data_dir if config else None)
        name, kwargs = self.data_kwargs(entry, dataset, data_dir, config)
        return dataset_arrays(zdata.make_dataset(name, split, 512, shuffle=False, **kwargs), limit)

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(
        self,
        model,
        config: RunConfig,
        run_dir: Path,
        report: Path,
        *,
        data_dir=None,
        n=10_000,
        evaluator=None,
        seed=0,
    ):
        """The figures `kerazoo evaluate` writes (pictures into `report`). Default: `model.evaluate`.

        `evaluator(dataset, data_dir)` gives `(classifier, test accuracy or None, info)`: the
        classifier that judges generated images, as the driver resolves it (the user's
        `--evaluator`, else the pinned one shipped for `dataset`, else the zoo's `cnn` trained on
        it and cached), and what identifies it. Tasks that judge nothing generated ignore it.
        """
        ds = zdata.make_dataset(config.dataset, "test", 256, shuffle=False)
        return evaluate_figures(model, ds)

    def report_rows(self, figures: dict) -> list:
        """The rows of `kerazoo evaluate`'s report (`kerazoo.reports.Row`: figure, value, the real data's
        value, a verdict in words) for this task's figures. Default: every scalar, no verdict."""
        from kerazoo.reports import scalar_rows

        return scalar_rows(figures)

    def headline(self, figures: dict) -> dict:
        """The figures the CLI prints after an evaluation."""
        shown = figures.get("samples", figures)
        keys = self.headline_keys or [k for k, v in shown.items() if isinstance(v, (int, float))]
        return {k: shown[k] for k in keys if k in shown}

    # --- export ---------------------------------------------------------------------------------

    def claims(self, model) -> bool:
        """Whether a model without a zoo name or run config belongs to this task (a bare GAN, ...)."""
        return False

    def servable(self, model, name: str, config: RunConfig | None):
        """What to deploy from `model` and how (a `kerazoo.export.Servable`). Default: the model itself,
        input `inputs`, output `predictions`."""
        from kerazoo.serving import Servable

        return Servable(model, name, self, config, ("inputs",))


def dataset_arrays(ds, limit=None) -> tuple:
    """`(x as float32, y or None)` NumPy arrays from a batched dataset of `x` or `(x, y)` (at most
    `limit` examples)."""
    if limit:
        ds = ds.unbatch().take(limit).batch(512)
    xs, ys = [], []
    for batch in ds:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        xs.append(np.asarray(x))
        if y is not None:
            ys.append(np.asarray(y))
    return np.concatenate(xs).astype(np.float32), (np.concatenate(ys) if ys else None)


def evaluate_figures(model, ds) -> dict:
    """`model.evaluate` on `ds` as `{"test_<metric>": value}`."""
    return {f"test_{k}": float(v) for k, v in model.evaluate(ds, verbose=0, return_dict=True).items()}
