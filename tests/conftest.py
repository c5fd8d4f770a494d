"""Shared fixtures: tiny datasets the tests make themselves (no network, no ../shared)."""

import gzip
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest


def _images(n, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = np.zeros((n, 28, 28), np.uint8)
    for i, label in enumerate(y):
        # One bright bar per class, at a class-specific row, so a model can learn it.
        x[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
        x[i] = np.maximum(x[i], rng.integers(0, 40, (28, 28)).astype(np.uint8))
    return x, y.astype(np.uint8)


@pytest.fixture
def mnist_npz_dir(tmp_path):
    """A data directory holding a tiny `mnist.npz` in Keras layout."""
    x_train, y_train = _images(60, 0)
    x_test, y_test = _images(20, 1)
    np.savez_compressed(
        tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test
    )
    return tmp_path


def run_python(code: str, timeout: int = 300):
    """Run `code` in a fresh Python process (its own TensorFlow: two logical CPUs for a
    MirroredStrategy, say) and return its last stdout line as JSON; fail with its stderr's end if it
    failed."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_idx(path, array):
    """Write `array` (uint8) as an official idx file, gzipped."""
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def mnist_idx_dir(tmp_path):
    """A data directory with the four idx .gz files under `raw/mnist/` (the ../shared layout)."""
    folder = tmp_path / "raw" / "mnist"
    folder.mkdir(parents=True)
    x_train, y_train = _images(30, 2)
    x_test, y_test = _images(10, 3)
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test)
    return tmp_path


@pytest.fixture
def monthly_csv(tmp_path):
    """A 96-month CSV with a date column and two series."""
    t = np.arange(96)
    sales = 50 * np.exp(0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    path = tmp_path / "sales.csv"
    with open(path, "w") as f:
        f.write("month,sales,other\n")
        for i, v in enumerate(sales):
            f.write(f"{2010 + i // 12}-{i % 12 + 1:02d},{v:.3f},1\n")
    return path


@pytest.fixture(scope="session")
def digits_cnn_run(tmp_path_factory):
    """The zoo's cnn trained with its recipe on the embedded digits (about 97% test accuracy)."""
    import kerazoo

    run = tmp_path_factory.mktemp("digits_cnn") / "run"
    kerazoo.train("cnn", out=run, verbose=0)
    return run


def copy_package_source(dest):
    """A copy of what pip needs to build kerazoo (package, setup files, README) in `dest`, so that a
    build there leaves this checkout alone; returns `dest`."""
    from pathlib import Path

    root, dest = Path(__file__).resolve().parents[1], Path(dest)
    dest.mkdir(parents=True)
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md"):
        shutil.copy(root / name, dest / name)
    shutil.copytree(root / "kerazoo", dest / "kerazoo", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


class Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt after batch `batch` (1-based) of epoch `epoch` (0-based), or when
    that epoch begins for batch 0."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.at == (epoch, 0):
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch + 1) == self.at:
            raise KeyboardInterrupt


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (CI installs it; skipped elsewhere without it)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)")
        pytest.skip("no chromium here (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def toy_table_csv(path, n=120, seed=0):
    """A small table for tabular synthesis: class decides the range of `dose` (low for `a`, high for
    `b`); `count` is an integer, `site` a category, `group` the class."""
    import csv

    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dose", "count", "site", "group"])
        for i in range(n):
            group = "ab"[i % 2]
            dose = rng.uniform(0, 1) if group == "a" else rng.uniform(10, 11)
            writer.writerow([f"{dose:.4f}", int(rng.integers(0, 5)), rng.choice(["left", "right"]), group])
    return path


def serve_folder(directory):
    """A quiet HTTP server for `directory` on 127.0.0.1 in a daemon thread: `(url, server)`; call
    `server.shutdown()` when done."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server
