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
    assert (tmp_path / "out" / "dcgan.tflite").is_file() and os.path.isdir(tmp_path / "cache")
