"""Shared tf.data pipelines for every zoo model.

`make_dataset(name, split, batch_size)` is the one entry point. It returns a `tf.data.Dataset` built
in a fixed order. A shuffled (training) split: load -> each epoch's order (`EpochOrder`: a permutation
drawn from the seed and the epoch number, so that a resumed run sees the batches an uninterrupted one
would) -> batches of indices -> gather + preprocess each batch (AUTOTUNE) -> prefetch. Any other
split: load -> map(preprocess, AUTOTUNE) -> cache -> batch -> prefetch. Where the data comes from
depends on the name:

| name | source |
|---|---|
| `digits` | scikit-learn's bundled 8x8 digits, resized to 20x20 and padded to 28x28 like MNIST: the embedded offline default for image models |
| `mnist`, `fashion_mnist`, any MNIST-format set | a local data directory (`data_dir=` / `--data-dir` / `KERAZOO_DATA_DIR`) holding `<name>.npz` (Keras layout) or the four official idx `.gz` files |
| any other TFDS image dataset | tensorflow-datasets, which needs a network the first time; offline it fails within seconds |
| `breast_cancer` | scikit-learn's bundled data, stratified train/test splits |
| `diabetes` | scikit-learn's bundled regression table (10 raw features, disease progression), seeded train/test splits |
| `synthetic_monthly`, `airline`, `csv` | a monthly series (generated, bundled, or from a CSV file), as lookback windows |
| `and`, `or`, `nand`, `xor` | truth tables of the logic gates (train and test are the table) |
| `doubling` | the seed's regression data: 0, 1, 2, 3, 4 -> 0, 2, 4, 6, 8 |
| `synthetic_maps`, `pix2pix_folder`; any image set with `pairs=` | `(input, target)` images for translation (`kerazoo.pairs`) |

Splits are `"train"` and `"test"`, and with `validation_split=F` also `"validation"`: a share of the
training split (stratified by label, seeded by `split_seed`; for a series the months just before the
test horizon), `"train"` being then the rest.

Every failure to find or read data raises `DataError` (a ValueError) with one line that says what
was wrong and what to do.
"""

from __future__ import annotations

import csv as _csv
import dataclasses
import gzip
import os
import socket
import threading
import weakref
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import tensorflow as tf

from kerazoo._checks import MAX_FILE_BYTES, check_file, check_int, check_positive_int

__all__ = [
    "DataError",
    "NORMALIZATIONS",
    "EpochOrder",
    "epoch_order",
    "make_dataset",
    "carve_validation",
    "check_validation_split",
    "load_images",
    "load_tabular",
    "tabular_columns",
    "load_series",
    "series_windows",
    "MonthlySeries",
    "LogDiffScaler",
    "dataset_kind",
    "resolve_data_dir",
    "to_unit",
    "to_symmetric",
]

DATA_DIR_ENV = "KERAZOO_DATA_DIR"
SPLITS = ("train", "test")
# make_dataset's splits: "validation" is carved from "train" (`validation_split=`), "train" is then the rest.
DATASET_SPLITS = ("train", "validation", "test")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
TRUTH_TABLES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
}
SERIES_DATASETS = ("synthetic_monthly", "airline", "csv")
TABULAR_DATASETS = ("breast_cancer",)
REGRESSION_DATASETS = ("doubling",)
REGRESSION_TABLES = ("diabetes",)  # tables with a numeric target (the `regression` task's MLP)
PAIRED_DATASETS = ("synthetic_maps", "pix2pix_folder")  # kerazoo.pairs: (input, target) images
# Where TFDS downloads from; probed with a short timeout before a download is attempted.
TFDS_PROBE_ADDRESS = ("storage.googleapis.com", 443)
TFDS_PROBE_TIMEOUT = 3.0


# The largest CSV file read (a monthly series is a few kilobytes).
MAX_CSV_BYTES = 64 * 2**20


class DataError(ValueError):
    """Data could not be found, read or used: the message says what was wrong and what to do."""


# ---------------------------------------------------------------------------------------------
# Normalizations: each one a named function, referenced by name from a model's registry cfg.


def to_unit(images):
    """uint8 images in 0..255 -> float32 in [0, 1] (classifiers, autoencoders)."""
    return tf.cast(images, tf.float32) / 255.0


def to_symmetric(images):
    """uint8 images in 0..255 -> float32 in [-1, 1] (GANs, whose generators end in tanh)."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


NORMALIZATIONS = {"unit": to_unit, "symmetric": to_symmetric}


def dataset_kind(name: str) -> str:
    """'logic', 'regression', 'tabular', 'tabular_regression', 'series', 'paired', 'table' or 'image'
    for a dataset name."""
    if name in PAIRED_DATASETS:
        return "paired"
    if name == "table":  # a CSV with a class column, read by tabular synthesis (kerazoo.tables)
        return "table"
    if name in TRUTH_TABLES:
        return "logic"
    if name in REGRESSION_DATASETS:
        return "regression"
    if name in TABULAR_DATASETS:
        return "tabular"
    if name in REGRESSION_TABLES:
        return "tabular_regression"
    if name in SERIES_DATASETS:
        return "series"
    return "image"


# ---------------------------------------------------------------------------------------------
# Images


def resolve_data_dir(data_dir) -> Path | None:
    """The local data folder: `data_dir`, else `$KERAZOO_DATA_DIR`, else None.

    Raises:
        DataError: the folder does not exist.
    """
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(f"Data directory '{data_dir}' does not exist or is not a directory.")
    return path


def _check_split(split: str, splits=SPLITS) -> None:
    if split not in splits:
        raise DataError(f"Unknown split. Expected one of {splits}. Received: split={split!r}")


def check_validation_split(value, error=None) -> float:
    """`value` as a validation fraction in [0, 1) (0: no validation split), else `error` (DataError)."""
    error = error or DataError
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise error(
            "`validation_split` must be a fraction of the training split in [0, 1) (0: none). "
            f"Received: validation_split={value!r}"
        )
    return float(value)


def carve_validation(x, y, split: str, fraction: float, seed: int = 0):
    """The `"validation"` part of a training split (`fraction` of it, stratified by `y` where `y` holds
    classes, seeded) or, for `split="train"`, the rest. The two are disjoint, cover the split, and keep its order.

    Raises:
        DataError: a class too small to be in both parts.
    """
    from sklearn.model_selection import train_test_split

    if not fraction:
        return x, y
    index = np.arange(len(x))
    try:
        classes = np.issubdtype(np.asarray(y).dtype, np.integer)
        rest, validation = train_test_split(
            index, test_size=fraction, stratify=y if classes else None, random_state=seed
        )
    except ValueError as e:
        raise DataError(
            f"Cannot carve a stratified validation split of {fraction:g} from {len(x)} training "
            f"examples ({e}). Use a larger --validation-split, or 0 for none."
        ) from None
    keep = np.sort(validation if split == "validation" else rest)
    return x[keep], y[keep]


def _check_images(x, y, where: str):
    """Validate and standardize (N, H, W[, C]) uint8 images with (N,) integer labels."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise DataError(
            f"{where}: images must have shape (N, H, W) or (N, H, W, C). Received shape {x.shape}."
        )
    if x.dtype != np.uint8:
        raise DataError(
            f"{where}: images must be uint8 in 0..255. Received dtype {x.dtype}; "
            "convert with np.clip(x, 0, 255).astype('uint8')."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(
            f"{where}: labels must be a 1-D integer array. Received shape {y.shape}, dtype {y.dtype}."
        )
    if len(y) != len(x):
        raise DataError(f"{where}: {len(x)} images but {len(y)} labels.")
    if y.min() < 0:
        raise DataError(f"{where}: labels must be >= 0. Received minimum {y.min()}.")
    return x, y.astype(np.int32)


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read one official idx file (gzipped or not)."""
    check_file(path, "idx file", error=DataError)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4 + 4 * expected_ndim)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] != 0x08:
                raise DataError(f"'{path}' is not an unsigned-byte idx file (bad magic number).")
            ndim = head[3]
            if ndim != expected_ndim:
                raise DataError(f"'{path}' has {ndim} dimensions; expected {expected_ndim}.")
            shape = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
            if int(np.prod(shape, dtype=np.int64)) > MAX_FILE_BYTES:
                raise DataError(f"'{path}' declares shape {shape}, over the {MAX_FILE_BYTES:,}-byte limit.")
            # Never more than the header declares (+1 to see a longer file): no decompression bomb.
            data = head + f.read(int(np.prod(shape, dtype=np.int64)) + 1)
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"Cannot read idx file '{path}': {e}. Replace it with an intact copy.")
    header = 4 + 4 * ndim
    if len(data) != header + int(np.prod(shape)):
        raise DataError(
            f"'{path}' is truncated or corrupt: header says shape {shape}, "
            f"but the file holds {len(data) - header} values."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _load_npz(path: Path, split: str):
    keys = (f"x_{split}", f"y_{split}")
    check_file(path, ".npz file", error=DataError)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise DataError(
                    f"'{path}' lacks {missing}: expected the Keras layout (x_train, y_train, x_test, y_test)."
                )
            for key in keys:  # the sizes the archive declares, before anything is decompressed
                size = f.zip.getinfo(f"{key}.npy").file_size
                if size > MAX_FILE_BYTES:
                    raise DataError(
                        f"'{path}': {key} would be {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit."
                    )
            x, y = f[keys[0]], f[keys[1]]
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"Cannot read '{path}' as an .npz file ({e}). Replace it with an intact copy.")
    return _check_images(x, y, str(path))


def _find_local(name: str, data_dir: Path):
    """A local source for `name` under `data_dir`: ('npz', path), ('idx', folder) or None."""
    npz = data_dir / f"{name}.npz"
    if npz.is_file():
        return "npz", npz
    for folder in (data_dir / name, data_dir / "raw" / name):
        if all((folder / f).is_file() for f in IDX_FILES["train"] + IDX_FILES["test"]):
            return "idx", folder
    return None


def _load_digits(split: str):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # 0..16 -> 0..255, then 8x8 -> 20x20 padded to 28x28, the geometry of MNIST digits.
    small = (digits.images * (255.0 / 16.0)).astype(np.float32)[..., None]
    big = tf.image.resize(small, (20, 20), method="bilinear", antialias=True).numpy()
    big = np.pad(big, ((0, 0), (4, 4), (4, 4), (0, 0)))
    x = np.clip(np.round(big), 0, 255).astype(np.uint8)
    y = digits.target.astype(np.int32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return (x_tr, y_tr) if split == "train" else (x_te, y_te)


def _network_reachable(address, timeout: float) -> bool:
    """True if a TCP connection to `address` opens within `timeout` seconds (DNS included)."""
    result = []

    def probe():
        try:
            socket.create_connection(address, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _offline_message(name: str, searched: Path | None) -> str:
    where = (
        f"'{searched}' holds neither '{name}.npz' nor the idx files in '{name}/' or 'raw/{name}/', "
        if searched is not None
        else ""
    )
    return (
        f"Dataset '{name}' is not available offline: {where}and tensorflow-datasets cannot download it "
        f"(no network). Supply local files: pass --data-dir DIR (or data_dir=, or set "
        f"{DATA_DIR_ENV}) pointing at a folder with '{name}.npz' (x_train, y_train, x_test, y_test) "
        f"or the four idx .gz files in '{name}/'; or use the embedded 'digits' dataset."
    )


def _load_tfds(name: str, split: str, searched: Path | None = None):
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        if "runtime_version" in str(e):  # tensorflow-metadata >= 1.18 beside TF 2.16/2.17's protobuf 4
            raise DataError(
                f"tensorflow-datasets cannot be imported for '{name}': the installed tensorflow-metadata "
                "needs protobuf >= 5.26, and this TensorFlow keeps protobuf 4. Install the last "
                'tensorflow-metadata for protobuf 4: pip install "tensorflow-metadata<1.18"'
            ) from None
        raise DataError(f"tensorflow-datasets is needed for '{name}': pip install tensorflow-datasets ({e})")
    # A data directory that holds a prepared TFDS copy (`DIR/NAME/VERSION/...`, as TFDS writes them)
    # is read as a TFDS data_dir; else $TFDS_DATA_DIR as it is now (TFDS reads it once, at import).
    if searched is not None and (searched / name).is_dir():
        tfds_dir = str(searched)
    else:
        tfds_dir = os.environ.get("TFDS_DATA_DIR") or None
    try:
        builder = tfds.builder(name, data_dir=tfds_dir)
    except ValueError:  # tfds' DatasetNotFoundError, whose message lists every TFDS dataset
        raise DataError(
            f"Unknown dataset '{name}'. Use 'digits', 'breast_cancer', 'synthetic_monthly', 'airline', "
            "'csv', a truth table ('and', 'or', 'nand', 'xor'), 'doubling', an MNIST-format set in a "
            "data directory, or a tensorflow-datasets image dataset name."
        ) from None
    if not builder.is_prepared():
        if not _network_reachable(TFDS_PROBE_ADDRESS, TFDS_PROBE_TIMEOUT):
            raise DataError(_offline_message(name, searched))
        builder.download_and_prepare()
    supervised = builder.info.supervised_keys
    if not supervised:
        raise DataError(f"TFDS dataset '{name}' has no (image, label) pairs; it is not an image dataset.")
    x, y = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, as_supervised=True))
    return _check_images(x, y, f"TFDS '{name}'")


def load_images(name: str, split: str = "train", data_dir=None):
    """Load an image dataset as numpy: `(x, y)` with x uint8 `(N, H, W, C)`, y int32 `(N,)`.

    Order of sources: the embedded `digits`; then a local data directory (`data_dir`, else
    `$KERAZOO_DATA_DIR`) if it holds the dataset; then tensorflow-datasets.
    """
    _check_split(split)
    if name == "digits":
        return _load_digits(split)
    local_dir = resolve_data_dir(data_dir)
    found = _find_local(name, local_dir) if local_dir is not None else None
    if found is not None:
        kind, path = found
        if kind == "npz":
            return _load_npz(path, split)
        images, labels = IDX_FILES[split]
        return _check_images(_read_idx(path / images, 3), _read_idx(path / labels, 1), str(path / images))
    return _load_tfds(name, split, local_dir)


# ---------------------------------------------------------------------------------------------
# Tabular


def load_tabular(
    name: str = "breast_cancer", split: str = "train", *, split_seed: int = 0, test_fraction: float = 0.2
):
    """Features float32 `(N, F)` and targets of a tabular dataset, seeded split: int32 classes
    (`breast_cancer`, stratified) or float32 numbers (`diabetes`)."""
    _check_split(split)
    if name not in TABULAR_DATASETS + REGRESSION_TABLES:
        raise DataError(
            f"Unknown tabular dataset. Available: {TABULAR_DATASETS + REGRESSION_TABLES}. Received: {name!r}"
        )
    from sklearn.model_selection import train_test_split

    if name == "diabetes":
        x, y = tabular_columns(name)[1:]
        stratify = None
    else:
        from sklearn.datasets import load_breast_cancer

        data = load_breast_cancer()
        x, y = data.data.astype(np.float32), data.target.astype(np.int32)
        stratify = y
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, stratify=stratify, random_state=split_seed
    )
    return (x_tr, y_tr) if split == "train" else (x_te, y_te)


def tabular_columns(name: str) -> tuple:
    """`(feature names, features float32 (N, F), targets)` of a bundled table, in file order;
    `diabetes` is scikit-learn's raw table (not its scaled one): age, sex, bmi, bp, s1..s6 ->
    disease progression one year later (25..346)."""
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        data = load_diabetes(scaled=False)
        return list(data.feature_names), data.data.astype(np.float32), data.target.astype(np.float32)
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return list(data.feature_names), data.data.astype(np.float32), data.target.astype(np.int32)


# ---------------------------------------------------------------------------------------------
# Monthly series


@dataclasses.dataclass
class MonthlySeries:
    """A univariate monthly series: `dates` (strings, as read) and positive float `values`."""

    name: str
    dates: list
    values: np.ndarray


def _synthetic_monthly(n: int = 144, seed: int = 0) -> MonthlySeries:
    """Exponential trend x multiplicative yearly season x log-normal noise, like airline traffic."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100.0 * np.exp(0.011 * t)
    season = 1.0 + 0.18 * np.sin(2 * np.pi * t / 12) + 0.07 * np.cos(4 * np.pi * t / 12)
    values = level * season * np.exp(rng.normal(0.0, 0.025, n))
    dates = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
    return MonthlySeries("synthetic_monthly", dates, values)


def _read_series_csv(path, column, name="csv") -> MonthlySeries:
    path = check_file(path, "CSV file", limit=MAX_CSV_BYTES, error=DataError)
    try:
        with open(path, newline="") as f:
            rows = list(_csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"Cannot read CSV file '{path}': {e}")
    if len(rows) < 2:
        raise DataError(f"CSV file '{path}' needs a header row and data rows.")
    header = [h.strip() for h in rows[0]]
    if column is None:
        if len(header) != 2:
            raise DataError(
                f"CSV file '{path}' has columns {header}: name the one to forecast with --column."
            )
        column = header[1]
    if column not in header[1:]:
        raise DataError(f"Column '{column}' is not in '{path}'. Columns after the date: {header[1:]}")
    j = header.index(column)
    dates, values = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            values.append(float(row[j]))
        except (IndexError, ValueError):
            raise DataError(f"'{path}' line {i}: column '{column}' is not a number: {row!r}")
        dates.append(row[0].strip())
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise DataError(
            f"'{path}' column '{column}': values must be finite and positive (the forecaster "
            "models log values)."
        )
    return MonthlySeries(name, dates, values)


def load_series(name: str = "synthetic_monthly", *, csv=None, column=None) -> MonthlySeries:
    """Load a monthly series: `synthetic_monthly`, the bundled `airline` passengers, or `csv`."""
    if name == "synthetic_monthly":
        return _synthetic_monthly()
    if name == "airline":
        ref = resources.files("kerazoo") / "_data" / "airline_passengers.csv"
        with resources.as_file(ref) as path:
            return _read_series_csv(path, "Passengers", name="airline")
    if name == "csv":
        if csv is None:
            raise DataError("Dataset 'csv' needs a file: pass --csv PATH (and --column NAME).")
        return _read_series_csv(csv, column)
    raise DataError(f"Unknown series dataset. Available: {SERIES_DATASETS}. Received: {name!r}")


class LogDiffScaler:
    """log -> first difference -> standardize, fitted on the training part only.

    The first difference of the log removes the trend and turns the multiplicative season into an
    additive pattern that repeats every 12 steps; the window then lets the model see last year.
    """

    def fit(self, values: np.ndarray) -> LogDiffScaler:
        """Learn the mean and standard deviation of `diff(log(values))`; returns `self`."""
        d = np.diff(np.log(values))
        self.mean_, self.std_ = float(d.mean()), float(d.std() + 1e-8)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        """z[t] for t >= 1 (z[0] is undefined and set to 0)."""
        z = np.zeros(len(values), dtype=np.float32)
        z[1:] = (np.diff(np.log(values)) - self.mean_) / self.std_
        return z

    def invert(self, z_pred: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Values from predicted z and the actual values one step before."""
        return previous * np.exp(np.asarray(z_pred) * self.std_ + self.mean_)


def series_windows(
    series: MonthlySeries,
    split: str,
    *,
    lookback: int = 12,
    test_size: int = 48,
    validation_split: float = 0.0,
):
    """One-step-ahead windows of the transformed series.

    The last `test_size` months are the test horizon. With `validation_split`, the last share of the
    training windows (the months just before the test horizon, at least one) is the `"validation"`
    split and `"train"` the windows before it.

    Returns `(x, y, targets, scaler)`: x float32 `(N, lookback, 1)`, y float32 `(N, 1)` in the
    transformed space, `targets` the indices into `series.values` that y predicts, and the scaler
    (fitted on the months before the test horizon) that maps predictions back. Windows read actual
    past values.
    """
    _check_split(split, DATASET_SPLITS)
    validation_split = check_validation_split(validation_split)
    if split == "validation" and not validation_split:
        raise DataError("The 'validation' split needs validation_split > 0.")
    n = len(series.values)
    n_train = n - test_size
    if lookback < 1:
        raise DataError(f"`lookback` must be a positive integer. Received: lookback={lookback}")
    if n_train - (lookback + 1) < 12:
        raise DataError(
            f"Series '{series.name}' has {n} values: too short for lookback={lookback} with the "
            f"last {test_size} held out for testing (need at least {lookback + 13 + test_size})."
        )
    scaler = LogDiffScaler().fit(series.values[:n_train])
    z = scaler.transform(series.values)
    n_validation = max(1, round(validation_split * (n_train - lookback - 1))) if validation_split else 0
    start = n_train - n_validation
    targets = {
        "train": np.arange(lookback + 1, start),
        "validation": np.arange(start, n_train),
        "test": np.arange(n_train, n),
    }[split]
    x = np.stack([z[t - lookback : t] for t in targets])[..., None].astype(np.float32)
    y = z[targets][:, None].astype(np.float32)
    return x, y, targets, scaler


# ---------------------------------------------------------------------------------------------
# The pipeline


def _arrays(name, split, *, data_dir, split_seed, csv, column, lookback, validation_split=0.0):
    """(features, labels) numpy arrays for any dataset name; with `validation_split`, `"train"` and
    `"validation"` are the two parts of the training split."""
    kind = dataset_kind(name)
    if validation_split and kind in ("logic", "regression"):
        raise DataError(f"'{name}' is a {kind} table: it has no validation split. Pass validation_split=0.")
    if kind == "series":
        windows = series_windows(
            load_series(name, csv=csv, column=column),
            split,
            lookback=lookback,
            validation_split=validation_split,
        )
        return windows[0], windows[1]
    if split != "test" and validation_split:
        x, y = _arrays(
            name, "train", data_dir=data_dir, split_seed=split_seed, csv=csv, column=column, lookback=lookback
        )
        return carve_validation(x, y, split, validation_split, split_seed)
    if kind == "logic":
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        return x, np.array(TRUTH_TABLES[name], dtype=np.float32)[:, None]
    if kind == "regression":
        x = np.arange(5, dtype=np.float32)[:, None]
        return x, 2.0 * x
    if kind in ("tabular", "tabular_regression"):
        return load_tabular(name, split, split_seed=split_seed)
    return load_images(name, split, data_dir)


def make_dataset(
    name: str,
    split: str = "train",
    batch_size: int = 32,
    *,
    normalization: str | None = "auto",
    labels: bool = True,
    image_size=None,
    data_dir=None,
    shuffle: bool | None = None,
    seed: int = 0,
    drop_remainder: bool = False,
    split_seed: int = 0,
    lookback: int = 12,
    csv=None,
    column=None,
    pairs: str | None = None,
    direction: str | None = None,
    jitter: bool = False,
    validation_split: float = 0.0,
) -> tf.data.Dataset:
    """A batched, prefetched `tf.data.Dataset` for a named dataset and split (see the module docstring).

    Args:
        name: dataset name (see the module docstring for the list and where each comes from).
        split: `"train"`, `"validation"` (needs `validation_split`) or `"test"`.
        batch_size: examples per batch. Defaults to `32`.
        normalization: for images, `"unit"` ([0, 1]), `"symmetric"` ([-1, 1]), `None` (uint8) or
            `"auto"`: `"symmetric"` for pairs (the range the translators, pix2pix and SRGAN, train
            and predict in), `"unit"` otherwise. Ignored for non-image data. Defaults to `"auto"`.
        labels: yield `(x, y)` if True, `x` alone if False (GANs and autoencoders).
        image_size: `(height, width)` to resize images to, or None to keep them.
        data_dir: folder with local MNIST-format files; defaults to `$KERAZOO_DATA_DIR`.
        shuffle: shuffle each epoch; defaults to True for `"train"` only. A shuffled dataset's order
            is `epoch_order(ds)`: epoch `e` is a permutation drawn from `(seed, e)`.
        seed: the shuffle seed.
        drop_remainder: drop the last partial batch.
        split_seed: seed of the stratified train/test split of `breast_cancer`, and of the
            validation split.
        lookback: window length for series datasets.
        csv, column: the file and column for the `csv` dataset.
        pairs: for an image dataset, yield `(input, target)` pairs instead of `(image, label)`:
            `"edges"` (the image's edge map -> the image) or `"lowres:K"` (the image shrunk K times
            by area averaging -> the image). `synthetic_maps` and `pix2pix_folder` are always pairs.
        direction: which way a paired dataset translates: `"map2aerial"` (default) or
            `"aerial2map"` for `synthetic_maps` (tiles of `image_size`, default 64x64, drawn at that
            size); `"AtoB"` (default) or `"BtoA"` for `pix2pix_folder`.
        jitter: for a shuffled paired split, pix2pix's random jitter: each pair enlarged by 286/256,
            cropped back at a random place and mirrored half the time (both images alike).
        validation_split: the share of the training split held out as the `"validation"` split
            (stratified by label and seeded by `split_seed`; for a series, the months just before
            the test horizon); `"train"` is then the rest. Defaults to `0` (none).

    Shapes:
        Images: x `(batch, H, W, C)` float32, y `(batch,)` int32. Tabular: `(batch, F)`, `(batch,)`.
        Series: x `(batch, lookback, 1)`, y `(batch, 1)`. Logic and doubling: `(batch, 2)` or
        `(batch, 1)` inputs, `(batch, 1)` float32 targets. Pairs: `(input, target)`, both
        `(batch, H, W, C)` float32 (a `lowres:K` input `(batch, H/K, W/K, C)`).

    Raises:
        DataError: unknown dataset or split, missing or corrupt files, no network for TFDS.
    """
    _check_split(split, DATASET_SPLITS)
    check_positive_int("batch_size", batch_size, error=DataError)
    validation_split = check_validation_split(validation_split)
    if split == "validation" and not validation_split:
        raise DataError("The 'validation' split needs validation_split > 0 (the share of 'train' it takes).")
    if normalization is not None and normalization not in (*NORMALIZATIONS, "auto"):
        raise DataError(
            f"Unknown normalization. Expected one of {sorted(NORMALIZATIONS) + ['auto']} or None. "
            f"Received: normalization={normalization!r}"
        )
    shuffled = shuffle if shuffle is not None else split == "train"
    kind = dataset_kind(name)
    if normalization == "auto":  # pairs in the translators' range, other images in [0, 1]
        normalization = "symmetric" if kind == "paired" or pairs is not None else "unit"
    if kind == "paired" or pairs is not None:
        if validation_split:
            raise DataError(f"Paired data ('{name}') has no validation split. Pass validation_split=0.")
        x, y = _paired_arrays(name, split, data_dir, pairs, direction, image_size)
        _map, labels = _paired_map(x, y, normalization, jitter and shuffled), True
    else:
        if direction is not None or jitter:
            raise DataError(
                f"direction= and jitter= are for paired data; '{name}' is not paired (pass pairs=)."
            )
        x, y = _arrays(
            name,
            split,
            data_dir=data_dir,
            split_seed=split_seed,
            csv=csv,
            column=column,
            lookback=lookback,
            validation_split=validation_split,
        )
        _map = _image_map(normalization, image_size) if kind == "image" else None
    options = pipeline_options()
    if shuffled:
        order = EpochOrder(len(x), batch_size, seed, drop_remainder)
        return order.dataset((x, y) if labels else x, _map, options)
    ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x)
    if _map is not None:
        ds = ds.map(_map, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.cache().batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return ds.with_options(options)


def _paired_arrays(name, split, data_dir, pairs, direction, image_size):
    """`(inputs, targets)` NumPy arrays of a paired dataset, or of an image dataset made into pairs."""
    from kerazoo import pairs as zpairs

    if name == "synthetic_maps":
        if pairs is not None:
            raise DataError("synthetic_maps is already paired: drop pairs= (use direction=).")
        size = MAPS_DEFAULT_SIZE if image_size is None else image_size
        side = size if isinstance(size, int) else (size[0] if size[0] == size[1] else None)
        if side is None:
            raise DataError(f"synthetic_maps tiles are square. Received: image_size={image_size!r}")
        return zpairs.synthetic_maps(split, direction or "map2aerial", side)
    if name == "pix2pix_folder":
        if pairs is not None:
            raise DataError("pix2pix_folder is already paired: drop pairs= (use direction=).")
        x, y = zpairs.load_pix2pix_folder(resolve_data_dir(data_dir), split, direction or "AtoB")
    else:
        if dataset_kind(name) != "image":
            raise DataError(f"pairs= makes pairs from image datasets; '{name}' is {dataset_kind(name)} data.")
        if direction is not None:
            raise DataError(f"direction= is for synthetic_maps and pix2pix_folder, not '{name}'.")
        images, _ = load_images(name, split, data_dir)
        if image_size is not None:
            images = _resize_uint8(images, image_size)
        return zpairs.make_pairs(images, pairs)
    if image_size is not None:
        x, y = _resize_uint8(x, image_size), _resize_uint8(y, image_size)
    return x, y


MAPS_DEFAULT_SIZE = 64


def _resize_uint8(images, size):
    resized = tf.image.resize(images, tuple(size), method="area", antialias=True).numpy()
    return np.clip(np.round(resized), 0, 255).astype(np.uint8)


def pipeline_options() -> tf.data.Options:
    """The options of every kerazoo pipeline: no tf.data autotuning. Everything after the load is
    cheap, and with it `fit` stalled about 10 s at the start of some epochs while the last epoch's
    iterator was torn down (3 of 8 DCGAN epochs on the digits, 31% of the run; benchmarks/speed.py's
    note in README). AUTOTUNE in the pipelines then means the number of CPU cores."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def _image_map(normalization, image_size):
    """The preprocessing of an image (and its label, if any): scaled, and resized to `image_size`."""
    preprocess = NORMALIZATIONS[normalization] if normalization else (lambda im: im)

    def _map(image, *label):
        image = preprocess(image)
        if image_size is not None:
            image = tf.image.resize(image, image_size)
        return (image, *label) if label else image

    return _map


def _paired_map(x, y, normalization, jitter):
    """The preprocessing of `(input, target)` pairs (an example or, shuffled, a batch): both scaled,
    and with `jitter` (shuffled batches only) cropped and mirrored alike."""
    preprocess = NORMALIZATIONS[normalization] if normalization else (lambda im: tf.cast(im, tf.float32))
    if jitter and tuple(x.shape[1:3]) != tuple(y.shape[1:3]):
        raise DataError("jitter= crops both images alike: it needs inputs and targets of one size.")

    def _map(inputs, targets):
        inputs, targets = preprocess(inputs), preprocess(targets)
        return _jitter(inputs, targets) if jitter else (inputs, targets)

    return _map


def _jitter(inputs, targets):
    """pix2pix's random jitter on a batch of pairs: enlarge by 286/256, crop back at a random place
    (one per pair, the same for both images), mirror half the pairs."""
    both = tf.concat([inputs, targets], axis=-1)
    batch = tf.shape(both)[0]
    size = tf.shape(both)[1:3]
    keep = 256.0 / 286.0  # the crop's share of the enlarged image
    corner = tf.random.uniform((batch, 2), 0.0, 1.0 - keep)
    boxes = tf.concat([corner, corner + keep], axis=1)
    both = tf.image.crop_and_resize(both, boxes, tf.range(batch), size)
    mirror = tf.random.uniform((batch, 1, 1, 1)) < 0.5
    both = tf.where(mirror, tf.reverse(both, axis=[2]), both)
    channels = inputs.shape[-1]
    return both[..., :channels], both[..., channels:]


_ORDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def epoch_order(dataset) -> EpochOrder | None:
    """The `EpochOrder` of a shuffled dataset made by `make_dataset`, or None for any other dataset."""
    try:
        return _ORDERS.get(dataset)
    except TypeError:  # not weak-referenceable: not ours
        return None


class EpochOrder:
    """Which examples each pass over a shuffled training split sees, and in which order.

    Epoch `e`'s order is a permutation drawn from `(seed, e)` alone (NumPy's PCG64), so any epoch can be
    replayed without replaying the ones before it: that is what lets an interrupted run resume with the
    data order of an uninterrupted one (`kerazoo.callbacks.BackupAndRestore`). Each pass over the
    dataset (each `fit` epoch) serves the next epoch; `seek(epoch, batch)` sets where the next pass
    starts. Batches are cut from the permutation in order: `batch_size` indices each, the last one
    shorter unless `drop_remainder`.

    Args:
        n: examples in the split.
        batch_size: examples per batch.
        seed: the shuffle seed.
        drop_remainder: drop the last partial batch of each epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, drop_remainder: bool):
        check_positive_int("batch_size", batch_size, error=DataError)
        check_int("seed", seed, 0, error=DataError)
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.steps = self.n // self.batch_size if drop_remainder else -(-self.n // self.batch_size)
        if self.steps == 0:
            raise DataError(
                f"batch_size={batch_size} is larger than the {n} training examples with "
                "drop_remainder: no batch would be made. Use a smaller batch size."
            )
        self.epoch, self.batch = 0, 0

    def seek(self, epoch: int, batch: int = 0) -> None:
        """Make the next pass serve epoch `epoch` (0-based), starting after its first `batch` batches."""
        self._check_position(epoch, batch)
        self.epoch, self.batch = epoch, batch

    def _check_position(self, epoch, batch):
        check_int("epoch", epoch, 0, error=DataError)
        check_int("batch", batch, 0, error=DataError)
        if batch >= self.steps:
            raise DataError(
                f"`batch` must be below the {self.steps} batches of an epoch. Received: batch={batch}"
            )

    def permutation(self, epoch: int) -> np.ndarray:
        """Epoch `epoch`'s order: indices into the split."""
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def __call__(self):
        """One pass: the index batches of the current epoch, from the current batch on."""
        epoch, start = self.epoch, self.batch
        self.epoch, self.batch = epoch + 1, 0
        return self._batches(epoch, start)

    def _batches(self, epoch, start=0):
        order = self.permutation(epoch)
        for b in range(start, self.steps):
            yield order[b * self.batch_size : (b + 1) * self.batch_size]

    def dataset(self, arrays, batch_map=None, options=None) -> tf.data.Dataset:
        """The batched dataset of `arrays` in this order (`batch_map` applied to each batch), of
        cardinality `steps`: each pass is one epoch. `options` default to `pipeline_options()`."""
        options = options or pipeline_options()
        self._source = (tf.nest.map_structure(tf.constant, arrays), batch_map, options)
        ds = self._pipeline(self, self.steps)
        _ORDERS[ds] = self
        return ds

    def rest_of_epoch(self, epoch: int, batch: int) -> tf.data.Dataset:
        """The same data as `dataset`, but only epoch `epoch` after its first `batch` batches: what a
        run that resumes within that epoch trains on before the next full epoch."""
        self._check_position(epoch, batch)
        return self._pipeline(lambda: self._batches(epoch, batch), self.steps - batch)

    def _pipeline(self, batches, steps) -> tf.data.Dataset:
        tensors, batch_map, options = self._source

        def gather(indices):
            batch = tf.nest.map_structure(lambda t: tf.gather(t, indices), tensors)
            if batch_map is None:
                return batch
            return batch_map(*batch) if isinstance(batch, tuple) else batch_map(batch)

        size = self.batch_size if self.steps * self.batch_size <= self.n else None  # static when all full
        indices = tf.data.Dataset.from_generator(batches, output_signature=tf.TensorSpec((size,), tf.int64))
        ds = indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        return ds.apply(tf.data.experimental.assert_cardinality(steps)).with_options(options)
