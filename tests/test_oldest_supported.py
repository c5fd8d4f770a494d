"""The oldest TensorFlow / Keras pair that `setup.cfg` accepts really works.

A venv gets kerazoo (built from a copy of this source, through pip, so its declared ranges must admit
the pair) with exactly the oldest pair, then runs a representative part of this suite there: a GAN
step and a recipe run, save/load, resume, mixed precision, export with verification, and TFDS. It is
the one test that needs the package index (it installs a second TensorFlow); CI has it."""

import configparser
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from conftest import copy_package_source

ROOT = Path(__file__).resolve().parents[1]
# The oldest pair: TF 2.16 is the first TensorFlow on Keras 3; Keras 3.8 is the oldest Keras 3 on which
# the suite passes (3.5 lacks `ExportArchive.write_out(verbose=)`, 3.3 more). TF 2.16 and 2.17 keep
# protobuf 4, for which the newest tensorflow-metadata (a TFDS dependency) fails to import.
OLDEST = ["tensorflow==2.16.2", "keras==3.8.0", "tensorflow-metadata<1.18"]
SUBSET = [
    "tests/test_gan.py::test_a_step_updates_both_networks",
    "tests/test_gan.py::test_keras_round_trip_and_training_continues_with_optimizer_state",
    "tests/test_gan.py::test_train_recipe_writes_generator_grids_and_curves",
    "tests/test_registry.py::test_load_model_finds_the_zoos_classes_in_a_fresh_interpreter",
    "tests/test_reliability.py::test_resume_matches_an_uninterrupted_fit_bit_for_bit",
    "tests/test_precision.py::test_every_family_trains_under_mixed_precision[dcgan]",
    "tests/test_export.py::test_export_run_writes_both_formats_and_a_tflite_grid_like_the_keras_one",
    "tests/test_data.py::test_a_tfds_dataset_prepared_from_local_files_loads_by_its_tfds_name",
]


def _lower_bounds():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    bounds = {}
    for line in config["options.extras_require"]["train"].split("\n"):
        match = re.match(r"(tensorflow|keras)>=([\d.]+)", line.strip())
        if match:
            bounds[match.group(1)] = match.group(2)
    return bounds


def test_setup_cfg_states_the_pair_this_test_installs():
    pinned = dict(re.match(r"([\w-]+)==([\d.]+)", p).groups() for p in OLDEST if "==" in p)
    bounds = _lower_bounds()
    assert pinned["tensorflow"].startswith(bounds["tensorflow"] + ".")
    assert pinned["keras"] == bounds["keras"] or pinned["keras"].startswith(bounds["keras"] + ".")
    assert (
        "TensorFlow 2.16" in (ROOT / "README.md").read_text()
        and "Keras 3.8" in (ROOT / "README.md").read_text()
    )


@pytest.mark.slow
def test_the_oldest_supported_tensorflow_and_keras_pass_a_representative_subset(tmp_path):
    source = copy_package_source(tmp_path / "src")

    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = str(tmp_path / "venv" / "bin" / "python")
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            f"{source}[train]",
            *OLDEST,
            "pytest>=8",
            "hypothesis>=6",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    versions = subprocess.run(
        [
            python,
            "-c",
            "import tensorflow as tf, keras, kerazoo; print(tf.__version__, keras.__version__, kerazoo.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert versions.returncode == 0, versions.stderr[-3000:]
    tf_version, keras_version, where = versions.stdout.split()
    assert (tf_version, keras_version) == ("2.16.2", "3.8.0")
    assert str(tmp_path / "venv") in where  # the installed kerazoo, not this checkout

    # This suite's own tests, run there on the installed package (no xdist there: one process).
    tests = tmp_path / "tests"
    shutil.copytree(ROOT / "tests", tests, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=--strict-markers", *SUBSET],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b(1[0-9]|[8-9]) passed", result.stdout), result.stdout[-2000:]
