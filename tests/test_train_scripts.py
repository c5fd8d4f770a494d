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
def test_every_train_script_runs(tmp_path):
    """Each script in its own process, three at a time: most of a quick run is single-threaded
    (importing TensorFlow, tracing the training step), so two cores run three about as fast as one."""
    from concurrent.futures import ThreadPoolExecutor

    def run(script):
        out = tmp_path / script.stem
        out.mkdir()
        env = {
            **os.environ,
            "KERAZOO_QUICK": "1",
            "KERAZOO_OUT": str(out / "out"),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        return subprocess.run(
            [sys.executable, str(script)], cwd=out, env=env, capture_output=True, text=True, timeout=900
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(SCRIPTS, pool.map(run, SCRIPTS)))
    failed = {script.name: result.stderr[-3000:] for script, result in results.items() if result.returncode}
    assert not failed, failed
