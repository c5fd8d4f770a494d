"""notebooks/quickstart.ipynb runs end to end (tiny settings), so it cannot rot."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAZOO_QUICK", "1")
    monkeypatch.setenv("KERAZOO_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("KERAZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the training grid and the samples from the TFLite file
    text = "".join(o.get("text", "") for o in outputs)
    # The evaluation cell prints each figure for the samples and for real test images: after one tiny
    # epoch the samples are much further from the training data than real images are.
    fid = re.search(r"fid: samples\s+([\d.]+)\s+real\s+([\d.]+)", text)
    assert fid and float(fid.group(2)) < float(fid.group(1)), text[-2000:]
    # The export cell prints the verification figure: the TFLite generator agrees with Keras.
    diff = re.search(r"max \|Keras - TFLite\| = ([\d.e+-]+)", text)
    assert diff and float(diff.group(1)) < 1e-4, text[-2000:]
    assert (tmp_path / "out" / "dcgan.tflite").is_file()
    assert not os.path.isdir(tmp_path / "cache")  # the pinned digits evaluator: nothing trained


def test_the_install_cell_keeps_the_tensorflow_and_keras_already_installed(tmp_path, monkeypatch):
    """Colab comes with its own TensorFlow and Keras: the install cell pins them, and pip, asked for
    exactly that command (offline, as a dry run), would install kerazoo alone."""
    import importlib.metadata
    import importlib.util
    import subprocess
    import sys

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c.source for c in notebook.cells if c.cell_type == "code" and "pip" in c.source)
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "kerazoo" else real_find_spec(name, *a)
    )
    monkeypatch.setattr(subprocess, "check_call", calls.append)
    exec(cell, {})
    (command,) = calls
    for name in ("tensorflow", "keras"):
        assert f"{name}=={importlib.metadata.version(name)}" in command

    from conftest import copy_package_source

    source = copy_package_source(tmp_path / "kerazoo")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    arguments = [
        str(source) + a[len("/content/kerazoo") :] if a.startswith("/content/kerazoo") else a
        for a in command[4:]
    ]
    arguments = [a for a in arguments if a != "-q"]
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--no-build-isolation",
            *arguments,
        ],
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert "Would install kerazoo-" in dry.stdout and not re.search(
        r"Would install .*(tensorflow|keras)-", dry.stdout
    )
