"""Tasks, recipes and plugins: one module per task, one source for recipes, models from outside.

The plugin written below adds a model for an existing task and a toy task of its own; this file is
the only one touched to add them.
"""

import ast
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo._registry import register_model
from kerazoo.cli import main
from kerazoo.optimizers import Adam
from kerazoo.tasks import FitRecipe, get_task, list_tasks
from kerazoo.tasks.generation import GANRecipe
from kerazoo.trainers.gan import GANOptions

PLUGIN = '''
"""A plugin: a small CNN for the classification task, and a toy task with its model."""

import keras
import numpy as np

import kerazoo
from kerazoo.tasks import Prepared, Task

default_cfgs = {
    "tiny_cnn": dict(task="classification", dataset="digits", recipe=dict(epochs=2, batch_size=128)),
    "brightness_net": dict(task="brightness", dataset="digits", recipe=dict(epochs=2, learning_rate=0.01)),
}


@kerazoo.register_model
def tiny_cnn(filters=4, input_shape=(28, 28, 1), num_classes=10, name="tiny_cnn"):
    """A one-convolution classifier."""
    inputs = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Conv2D(filters, 3, strides=2, activation="relu", name=f"{name}_conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name=f"{name}_pool")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name=f"{name}_logits")(x), name=name)


def _with_brightness(ds):
    return ds.map(lambda x, y: (x, keras.ops.mean(x, axis=(1, 2, 3))[:, None]))


@kerazoo.register_task
class Brightness(Task):
    """Toy task: predict an image's mean brightness."""

    name = "brightness"
    data_kinds = ("image",)

    def prepare(self, run):
        prepared = super().prepare(run)
        prepared.train_ds, prepared.val_ds = map(_with_brightness, (prepared.train_ds, prepared.val_ds))
        return prepared

    def evaluate(self, model, config, run_dir, report, **options):
        x, _ = self.split_arrays(kerazoo.get_entry(config.model), config, "test")
        error = np.abs(model.predict(x, verbose=0)[:, 0] - x.mean(axis=(1, 2, 3)))
        return {"n": len(x), "test_mae": float(error.mean())}


@kerazoo.register_model
def brightness_net(input_shape=(28, 28, 1), name="brightness_net"):
    """Mean brightness from pixels: one Dense unit."""
    inputs = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Flatten(name=f"{name}_flatten")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name=f"{name}_dense")(x), name=name)
'''

SCRIPT = """
import json
from kerazoo.cli import main

codes = {}
for name in ("tiny_cnn", "brightness_net"):
    run = f"runs/{name}"
    for command in (["train", name, "--out", run, "--quiet"], ["export", run], ["evaluate", run]):
        codes[f"{command[0]} {name}"] = main(["--plugin", "zoo_plugin", *command])
print(json.dumps(codes))
"""


def _python(code, cwd, env=None):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


@pytest.mark.slow
def test_plugin_models_train_export_and_evaluate_like_the_zoos(tmp_path):
    (tmp_path / "zoo_plugin.py").write_text(PLUGIN)
    result = _python(SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    codes = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(codes.values()) == {0}, codes

    # A model for an existing task: trained, exported and evaluated as a classifier.
    run = tmp_path / "runs" / "tiny_cnn"
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "classification" and config["recipe"]["epochs"] == 2
    meta = json.loads((run / "export" / "model.tflite.json").read_text())
    assert meta["role"] == "classifier" and meta["verification"]["passed"] and meta["num_classes"] == 10
    assert "accuracy" in json.loads((run / "eval" / "metrics.json").read_text())

    # A new task: its own data, figures and evaluation; the generic export role.
    run = tmp_path / "runs" / "brightness_net"
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "brightness" and config["recipe"]["learning_rate"] == 0.01
    history = json.loads((run / "history.json").read_text())
    assert history["val_loss"][-1] < history["val_loss"][0]  # it learns the brightness
    meta = json.loads((run / "export" / "model.tflite.json").read_text())
    assert meta["task"] == "brightness" and meta["role"] == "regressor" and meta["verification"]["passed"]
    figures = json.loads((run / "eval" / "metrics.json").read_text())
    assert figures["task"] == "brightness" and figures["test_mae"] < 0.1


def test_plugins_from_the_environment_are_listed(tmp_path):
    (tmp_path / "zoo_plugin.py").write_text(PLUGIN)
    code = "from kerazoo.cli import main; main(['list'])"
    result = _python(code, tmp_path, {"KERAZOO_PLUGINS": "zoo_plugin", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    listed = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert listed["tiny_cnn"] == "classification" and listed["brightness_net"] == "brightness"
    assert "dcgan" in listed


@pytest.mark.parametrize(
    "source,message",
    [
        (None, "Plugin 'no_such_plugin_module' (from --plugin) failed to import (ModuleNotFoundError"),
        (
            "raise RuntimeError('boom')\n",
            "Plugin 'broken_plugin' (from --plugin) failed to import (RuntimeError: boom)",
        ),
    ],
)
def test_a_plugin_that_fails_to_import_exits_2_naming_it(source, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "no_such_plugin_module"
    if source is not None:
        name = "broken_plugin"
        (tmp_path / f"{name}.py").write_text(source)
    code = main(["--plugin", name, "list"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


# --- recipes ----------------------------------------------------------------------------------


def test_gan_compile_defaults_are_the_recipe_defaults():
    gan = kerazoo.build("gan", generator_units=[8], discriminator_units=[8], latent_dim=4)
    gan.compile()
    options = GANOptions()
    assert gan.gan_loss.name == options.loss and (gan.d_steps, gan.g_steps) == (
        options.d_steps,
        options.g_steps,
    )
    assert (gan.gp_weight, gan.r1_gamma) == (options.gp_weight, options.r1_gamma)
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(options.learning_rate)
        assert optimizer.beta_1 == options.d_optimizer["config"]["beta_1"] == 0.5
    assert {f: getattr(GANRecipe(), f) for f in ("loss", "learning_rate", "r1_gamma")} == {
        "loss": options.loss,
        "learning_rate": options.learning_rate,
        "r1_gamma": options.r1_gamma,
    }


def test_recipe_builds_optimizers_with_keras_from_serialized_configs():
    recipe = kerazoo.get_entry("wgan_gp").recipe
    optimizer = recipe.build_optimizer("d_optimizer", steps=10)
    assert type(optimizer).__name__ == "Adam" and optimizer.beta_2 == 0.9
    assert float(optimizer.learning_rate) == pytest.approx(1e-4)
    sgd = kerazoo.get_entry("linear_regression").recipe.build_optimizer("optimizer", steps=1)
    assert type(sgd).__name__ == "SGD" and float(sgd.learning_rate) == pytest.approx(0.01)
    cosine = kerazoo.get_entry("cnn").recipe.build_optimizer("optimizer", steps=100)
    assert (
        isinstance(cosine.learning_rate, float) or cosine._learning_rate.__class__.__name__ == "CosineDecay"
    )


def test_recipe_replace_takes_dotted_optimizer_keys_and_checks_values():
    recipe = kerazoo.get_entry("dcgan").recipe
    changed = recipe.replace({"g_steps": 1, "d_optimizer.beta_1": 0.8})
    assert changed.g_steps == 1 and changed.d_optimizer["config"]["beta_1"] == 0.8
    assert recipe.g_steps == 2 and recipe.d_optimizer["config"]["beta_1"] == 0.5  # unchanged
    with pytest.raises(ValueError, match="Unknown recipe key 'g_step'. Valid keys: epochs, batch_size"):
        recipe.replace({"g_step": 1})
    with pytest.raises(ValueError, match="Received: d_steps=0"):
        recipe.replace({"d_steps": 0})
    with pytest.raises(ValueError, match=r"`loss` must be one of .*Received: loss='wasserstein'"):
        recipe.replace({"loss": "wasserstein"})
    with pytest.raises(ValueError, match=r"`update` must be one of .*Received: update='both'"):
        recipe.replace({"update": "both"})
    with pytest.raises(ValueError, match="Received: penalty_every=0"):
        recipe.replace({"penalty_every": 0})
    with pytest.raises(ValueError, match="only optimizer keys take a part"):
        FitRecipe().replace({"epochs.x": 1})


def test_train_records_and_uses_the_effective_recipe(tmp_path):
    out = tmp_path / "run"
    kerazoo.train("neuron", out=out, verbose=0, recipe={"learning_rate": 0.5, "optimizer": "SGD"}, epochs=3)
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["learning_rate"] == 0.5 and config["recipe"]["epochs"] == 3
    assert config["recipe"]["optimizer"] == {"class_name": "SGD", "config": {}}
    model = kerazoo.load_model(out / "model.keras")
    assert type(model.optimizer).__name__ == "SGD" and float(model.optimizer.learning_rate) == pytest.approx(
        0.5
    )
    assert int(model.optimizer.iterations.numpy()) == 3  # one batch of 4 per epoch


def test_train_recipe_overrides_reach_the_gan(tmp_path):
    out = tmp_path / "run"
    recipe = {
        "g_steps": 3,
        "d_optimizer.beta_1": 0.8,
        "batch_size": 256,
        "update": "simultaneous",
        "penalty_every": 4,
        "g_optimizer.use_ema": True,
    }
    hparams = {"generator_units": [8], "discriminator_units": [8], "latent_dim": 4}
    kerazoo.train("gan", out=out, verbose=0, epochs=1, hparams=hparams, recipe=recipe)
    gan = kerazoo.load_model(out / "model.keras")
    assert gan.g_steps == 3 and float(gan.d_optimizer.beta_1) == pytest.approx(0.8)
    assert gan.update == "simultaneous" and type(gan.d_optimizer) is Adam
    assert gan.penalty_every == 4 and gan.g_optimizer.use_ema and not gan.d_optimizer.use_ema
    assert int(gan.g_optimizer.iterations.numpy()) == 3 * int(gan.d_optimizer.iterations.numpy())


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["--recipe", "bogus=1"],
            "Unknown recipe key 'bogus'. Valid keys: epochs, batch_size, learning_rate",
        ),
        (["--recipe", "learning_rate"], "--recipe takes key=value"),
        (["--recipe", "epochs=0"], "Received: epochs=0"),
        (["--recipe", "learning_rate=-1"], "Received: learning_rate=-1"),
        (["--recipe", "schedule=linear"], "Received: schedule='linear'"),
        (["--recipe", "optimizer=nope"], "Recipe `optimizer`"),
        (["--recipe", "optimizer.bogus_option=1"], "not recognized"),
        (["--recipe", "d_optimizer.beta_1=0.9"], "Unknown recipe key 'd_optimizer.beta_1'"),
    ],
)
def test_bad_recipe_overrides_exit_2_with_one_line_and_write_nothing(
    argv, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "cnn", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# --- registration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg,message",
    [
        (
            dict(task="classification", dataset="digits", epochs=3),
            "Unknown keys in default_cfgs['odd_model']: ['epochs']",
        ),
        (dict(task="painting", dataset="digits"), "Unknown task 'painting'"),
        (dict(dataset="digits"), "needs ['task']"),
        (
            dict(task="classification", dataset="digits", recipe=dict(g_steps=2)),
            "Unknown recipe key 'g_steps'",
        ),
    ],
)
def test_register_model_checks_the_cfg(cfg, message, monkeypatch):
    module = types.ModuleType("odd_models")
    module.default_cfgs = {"odd_model": cfg}
    monkeypatch.setitem(sys.modules, "odd_models", module)

    def odd_model():
        pass

    odd_model.__module__ = "odd_models"
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        register_model(odd_model)
    assert "odd_model" not in kerazoo.list_models()


def test_every_registered_model_has_a_registered_task_and_a_typed_recipe():
    for name in kerazoo.list_models():
        entry = kerazoo.get_entry(name)
        task = get_task(entry.task)
        assert isinstance(entry.recipe, task.recipe_class), name
        assert set(entry.data_kinds) <= set(task.data_kinds), name
    assert list_tasks() == sorted(
        [
            "logic",
            "regression",
            "classification",
            "forecasting",
            "generation",
            "progressive",
            "style",
            "reconstruction",
            "synthesis",
            "translation",
            "diffusion",
        ]
    )


def test_the_drivers_name_no_model_and_no_task():
    # training, export, evaluation and the CLI ask the task; none of them names a model or a task.
    # (An export role's own name, e.g. `role = "autoencoder"` in the metadata, is not a branch.)
    root = Path(kerazoo.__file__).parent
    names = set(kerazoo.list_models()) | set(list_tasks())
    for driver in ("training.py", "export.py", "evaluation.py", "cli.py"):
        tree = ast.parse((root / driver).read_text())
        roles = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "role"
        }
        strings = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in roles
        }
        assert not strings & names, (driver, sorted(strings & names))


def test_trainer_models_say_what_they_deploy():
    gan = kerazoo.build("gan", generator_units=[8], discriminator_units=[8], latent_dim=4)
    vae = kerazoo.build("vae")
    assert gan.deployable is gan.generator and vae.deployable is vae.decoder
    assert keras.Model in type(gan.deployable).__mro__ and np.ndim(vae.deployable.inputs[0].shape) == 1
