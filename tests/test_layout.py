"""The package's layering: drivers use tasks, tasks never import a driver, builders stay builders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kerazoo"
DRIVERS = {"kerazoo.training", "kerazoo.export", "kerazoo.evaluation", "kerazoo.cli"}


def _imports(path: Path) -> set:
    """Every kerazoo module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("kerazoo")}


def _modules(folder):
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("path", _modules("tasks"), ids=lambda p: p.stem)
def test_tasks_never_import_a_driver(path):
    assert not _imports(path) & DRIVERS, f"{path.name} imports {_imports(path) & DRIVERS}"


@pytest.mark.parametrize("path", _modules("models"), ids=lambda p: p.stem)
def test_builders_import_no_driver_plots_or_feature_networks(path):
    banned = DRIVERS | {"kerazoo.plots", "kerazoo.embeddings", "kerazoo.callbacks", "kerazoo.judging"}
    assert not _imports(path) & banned, f"{path.name} imports {_imports(path) & banned}"


@pytest.mark.parametrize("path", _modules("trainers"), ids=lambda p: p.stem)
def test_trainers_import_no_driver(path):
    assert not _imports(path) & DRIVERS


def test_every_train_step_model_lives_in_trainers():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "trainers":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "train_step":
                raise AssertionError(
                    f"{path.relative_to(PACKAGE)} defines train_step: move it to kerazoo/trainers/"
                )


def test_the_old_import_paths_still_work():
    import kerazoo
    from kerazoo.gan import GAN
    from kerazoo.trainers import ProGAN, Translator
    from kerazoo.vae import VAE

    assert kerazoo.GAN is GAN and kerazoo.VAE is VAE
    assert issubclass(ProGAN, GAN) and issubclass(Translator, GAN)


@pytest.mark.parametrize(
    "first",
    [
        "from kerazoo.tasks import get_task; get_task('logic')",
        "import kerazoo.trainers.gan",
        "import kerazoo.models",
        "from kerazoo.trainers import ProGAN",
        "import kerazoo.callbacks",
    ],
)
def test_any_first_import_loads_every_task_and_model(first):
    from conftest import run_python

    counts = run_python(
        f"{first}\nimport json, kerazoo\nfrom kerazoo.tasks import list_tasks\n"
        "print(json.dumps([len(list_tasks()), len(kerazoo.list_models())]))"
    )
    assert counts == [11, 23]
