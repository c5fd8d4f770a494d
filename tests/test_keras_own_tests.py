"""Keras' own test files for the classes kerazoo replaces for speed, run against kerazoo's classes.

`kerazoo.models._common.BatchNormalization` (the fused kernel) and `kerazoo.optimizers.Adam` (the
fused update) claim to be Keras' classes, faster: Keras' own `batch_normalization_test.py` and
`adam_test.py` (shipped in the keras wheel) must pass with them in place of Keras' classes. Each file
runs in a fresh interpreter, where Keras' class is swapped for kerazoo's before the tests run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import pytest

KERAS_SRC = Path(keras.__file__).parent / "src"

# (Keras' test file, the statement that swaps Keras' class for kerazoo's in it)
CASES = {
    "batch_normalization": (
        KERAS_SRC / "layers" / "normalization" / "batch_normalization_test.py",
        "from keras.src import layers\n"
        "from kerazoo.models._common import BatchNormalization\n"
        "layers.BatchNormalization = BatchNormalization\n",
    ),
    "adam": (
        KERAS_SRC / "optimizers" / "adam_test.py",
        "import keras\n"
        "from keras.src.optimizers import adam\n"
        "from kerazoo.optimizers import Adam\n"
        "adam.Adam = Adam\n"
        "keras.optimizers.Adam = Adam\n",
    ),
}

RUNNER = """
import sys
import pytest

sys.exit(pytest.main([{path!r}, "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-c", {ini!r},
                      "--rootdir", {root!r}, "-W", "ignore::DeprecationWarning"]))
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_own_tests_pass_with_kerazoos_class(name, tmp_path):
    path, swap = CASES[name]
    if not path.is_file():
        pytest.skip(f"this keras wheel ships no {path.name}")
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")
    # The swap is checked: the test module's class must be kerazoo's when the tests run.
    check = (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('keras_own_test', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "cls = module.Adam if hasattr(module, 'Adam') else module.layers.BatchNormalization\n"
        "assert cls.__module__.startswith('kerazoo'), cls\n"
    )
    script = swap + check + RUNNER.format(path=str(path), ini=str(ini), root=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=600
    )
    tail = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, tail
    assert " passed" in done.stdout and " failed" not in done.stdout, tail
