"""Every literate script in train/ runs top to bottom with tiny settings (KERAZOO_QUICK=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "train").glob("*.py"))


def test_there_is_a_script_per_classic_family():
    names = {p.stem for p in SCRIPTS}
    assert {
        "logic_gates",
        "linear_regression",
        "image_classifier",
        "tabular",
        "forecaster",
        "dcgan",
        "cgan",
    } <= names


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_train_script_runs(script, tmp_path):
    env = {
        **os.environ,
        "KERAZOO_QUICK": "1",
        "KERAZOO_OUT": str(tmp_path / "out"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
