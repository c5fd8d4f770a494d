"""The shared pipelines: sources, scaling, labels, batching, offline failure, bad files."""

import gzip
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_idx

from kerazoo import data
from kerazoo.data import DataError, make_dataset


def _first(ds):
    return next(iter(ds))


def test_digits_is_embedded_28x28_unit_scaled_with_labels():
    x, y = _first(make_dataset("digits", "train", 16))
    assert x.shape == (16, 28, 28, 1) and x.dtype == tf.float32
    assert float(tf.reduce_min(x)) >= 0.0 and float(tf.reduce_max(x)) <= 1.0
    assert y.dtype == tf.int32 and set(np.unique(y)) <= set(range(10))


def test_digits_splits_are_disjoint_and_stratified():
    x_tr, y_tr = data.load_images("digits", "train")
    x_te, y_te = data.load_images("digits", "test")
    assert len(x_tr) + len(x_te) == 1797
    assert np.bincount(y_te).min() >= 30
    # The 4-pixel border of MNIST geometry is empty.
    assert x_tr[:, :4].max() == 0 and x_tr[:, -4:].max() == 0


def test_symmetric_normalization_for_gans_and_labels_off():
    x = _first(make_dataset("digits", "train", 64, normalization="symmetric", labels=False))
    assert isinstance(x, tf.Tensor)
    assert float(tf.reduce_min(x)) == pytest.approx(-1.0) and float(tf.reduce_max(x)) <= 1.0


def test_batching_and_drop_remainder():
    n = sum(int(b[0].shape[0]) for b in make_dataset("digits", "test", 100, shuffle=False))
    assert n == 360
    sizes = [int(b[0].shape[0]) for b in make_dataset("digits", "test", 100, drop_remainder=True)]
    assert sizes == [100, 100, 100]


def test_train_split_is_shuffled_each_epoch_and_test_is_not():
    ds = make_dataset("digits", "train", 1797, seed=1)
    first, second = (next(iter(ds))[1].numpy() for _ in range(2))
    assert not np.array_equal(first, second)
    test = make_dataset("digits", "test", 360)
    np.testing.assert_array_equal(next(iter(test))[1], next(iter(test))[1])


def test_image_size_resizes():
    x, _ = _first(make_dataset("digits", "train", 4, image_size=(32, 32)))
    assert x.shape == (4, 32, 32, 1)


def test_npz_data_dir(mnist_npz_dir):
    x, y = _first(make_dataset("mnist", "test", 50, data_dir=mnist_npz_dir, shuffle=False))
    assert x.shape == (20, 28, 28, 1)
    np.testing.assert_array_equal(y.numpy(), np.arange(20) % 10)


def test_idx_files_in_raw_folder_via_environment(mnist_idx_dir, monkeypatch):
    monkeypatch.setenv("KERAZOO_DATA_DIR", str(mnist_idx_dir))
    x, y = data.load_images("mnist", "train")
    assert x.shape == (30, 28, 28, 1) and x.dtype == np.uint8
    assert len(y) == 30


def test_idx_and_npz_give_identical_arrays(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (12, 28, 28), dtype=np.uint8)
    y = np.arange(12, dtype=np.uint8) % 10
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    folder = tmp_path / "a"
    folder.mkdir()
    for img, lab in data.IDX_FILES.values():
        write_idx(folder / img, x)
        write_idx(folder / lab, y)
    (tmp_path / "a.npz").rename(tmp_path / "b.npz")
    x_idx, y_idx = data.load_images("a", "train", tmp_path)
    (tmp_path / "b.npz").rename(tmp_path / "a.npz")
    x_npz, y_npz = data.load_images("a", "train", tmp_path)
    np.testing.assert_array_equal(x_idx, x_npz)
    np.testing.assert_array_equal(y_idx, y_npz)


def test_shared_mnist_when_present():
    from pathlib import Path

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not (shared / "mnist.npz").is_file():
        pytest.skip("../shared/data is not beside this checkout")
    x, y = data.load_images("mnist", "test", shared)
    assert x.shape == (10000, 28, 28, 1)
    assert np.bincount(y)[0] == 980


def test_missing_data_dir_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        data.load_images("mnist", "train", tmp_path / "nope")


def test_corrupt_npz_is_one_clear_error(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="Cannot read .*mnist.npz"):
        data.load_images("mnist", "train", tmp_path)


def test_npz_with_wrong_keys_dtype_or_shape(tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="Keras layout"):
        data.load_images("mnist", "train", tmp_path)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=np.zeros((2, 28, 28), np.float32),
        y_train=np.zeros(2, int),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, int),
    )
    with pytest.raises(DataError, match="must be uint8"):
        data.load_images("mnist", "train", tmp_path)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=np.zeros(3, int),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, int),
    )
    with pytest.raises(DataError, match="2 images but 3 labels"):
        data.load_images("mnist", "train", tmp_path)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=np.zeros((2, 784), np.uint8),
        y_train=np.zeros(2, int),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, int),
    )
    with pytest.raises(DataError, match=r"Received shape \(2, 784\)"):
        data.load_images("mnist", "train", tmp_path)


def test_truncated_idx_file_is_one_clear_error(mnist_idx_dir):
    path = mnist_idx_dir / "raw" / "mnist" / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="truncated or corrupt"):
        data.load_images("mnist", "train", mnist_idx_dir)


def test_idx_file_with_bad_magic(mnist_idx_dir):
    path = mnist_idx_dir / "raw" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x01\x02\x03\x04garbage"))
    with pytest.raises(DataError, match="bad magic number"):
        data.load_images("mnist", "test", mnist_idx_dir)


def test_not_gzip_idx_file(mnist_idx_dir):
    path = mnist_idx_dir / "raw" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataError, match="Cannot read idx file"):
        data.load_images("mnist", "test", mnist_idx_dir)


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="Unknown dataset 'mnsit'"):
        data.load_images("mnsit", "train")
    with pytest.raises(DataError, match="Received: split='val'"):
        make_dataset("digits", "val")
    with pytest.raises(DataError, match="'validation' split needs validation_split > 0"):
        make_dataset("digits", "validation")
    with pytest.raises(DataError, match="Received: batch_size=0"):
        make_dataset("digits", "train", 0)
    with pytest.raises(DataError, match="Received: normalization='minmax'"):
        make_dataset("digits", "train", normalization="minmax")


def test_offline_tfds_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    # Make the network unreachable: TFDS's host answers nowhere, and TFDS has no prepared copy.
    monkeypatch.setattr(data, "TFDS_PROBE_ADDRESS", ("127.0.0.1", 9))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.delenv("KERAZOO_DATA_DIR", raising=False)
    start = time.monotonic()
    with pytest.raises(DataError, match="Dataset 'fashion_mnist' is not available offline.*--data-dir"):
        data.load_images("fashion_mnist", "train")
    assert time.monotonic() - start < 10
    # A data directory without the dataset is named in the message.
    with pytest.raises(DataError, match=f"'{tmp_path}' holds neither 'fashion_mnist.npz'"):
        data.load_images("fashion_mnist", "train", tmp_path)


def test_tfds_beside_a_protobuf_4_tensorflow_says_which_tensorflow_metadata_fits(monkeypatch):
    # TF 2.16/2.17 keep protobuf 4; pip's newest tensorflow-metadata then fails to import (it needs
    # protobuf >= 5.26 but does not say so). The error names the version that fits.
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tensorflow_datasets":
            raise ImportError("cannot import name 'runtime_version' from 'google.protobuf'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(DataError, match=r'pip install "tensorflow-metadata<1.18"$'):
        data._load_tfds("fashion_mnist", "train")


def test_network_probe_gives_up_at_its_timeout(monkeypatch):
    import socket

    def hang(*args, **kwargs):  # a connection attempt that hangs, then times out
        time.sleep(30)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.monotonic()
    assert data._network_reachable(("example.invalid", 443), timeout=0.5) is False
    assert time.monotonic() - start < 2


def test_breast_cancer_splits_are_stratified_and_seeded():
    x_tr, y_tr = data.load_tabular("breast_cancer", "train")
    x_te, y_te = data.load_tabular("breast_cancer", "test")
    assert x_tr.shape[1] == 30 and len(x_tr) + len(x_te) == 569
    assert abs(y_tr.mean() - y_te.mean()) < 0.02
    x_te2, _ = data.load_tabular("breast_cancer", "test", split_seed=1)
    assert not np.array_equal(x_te, x_te2)


def test_truth_tables_and_doubling():
    x, y = _first(make_dataset("xor", "train", 4, shuffle=False))
    assert x.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy().ravel(), [0, 1, 1, 0])
    x, y = _first(make_dataset("doubling", "train", 5, shuffle=False))
    np.testing.assert_array_equal(y.numpy().ravel(), [0, 2, 4, 6, 8])


def test_synthetic_series_has_trend_and_multiplicative_season():
    s = data.load_series("synthetic_monthly")
    assert len(s.values) == 144 and s.dates[0] == "2000-01"
    yearly = s.values.reshape(12, 12)
    assert yearly.mean(axis=1)[-1] > 3 * yearly.mean(axis=1)[0]  # trend
    spread = yearly.max(axis=1) - yearly.min(axis=1)
    assert spread[-1] > 3 * spread[0]  # the season grows with the level


def test_airline_series_is_bundled():
    s = data.load_series("airline")
    assert len(s.values) == 144 and s.values[0] == 112 and s.dates[-1] == "1960-12"


def test_series_windows_predict_next_month_and_invert(monthly_csv):
    s = data.load_series("csv", csv=monthly_csv, column="sales")
    x, y, targets, scaler = data.series_windows(s, "test", lookback=12, test_size=48)
    assert x.shape == (48, 12, 1) and y.shape == (48, 1)
    np.testing.assert_allclose(scaler.invert(y[:, 0], s.values[targets - 1]), s.values[targets], rtol=1e-5)
    ds = make_dataset("csv", "train", 8, csv=monthly_csv, column="sales")
    xb, yb = _first(ds)
    assert xb.shape[1:] == (12, 1) and yb.shape[1:] == (1,)


def test_series_scaler_is_fitted_on_training_part_only(monthly_csv):
    s = data.load_series("csv", csv=monthly_csv, column="sales")
    _, _, _, scaler = data.series_windows(s, "train", test_size=48)
    d = np.diff(np.log(s.values[:48]))
    assert scaler.mean_ == pytest.approx(d.mean())


def test_bad_csv_arguments(monthly_csv):
    with pytest.raises(DataError, match="needs a file"):
        data.load_series("csv")
    with pytest.raises(DataError, match="does not exist"):
        data.load_series("csv", csv=monthly_csv.parent / "missing.csv")
    with pytest.raises(DataError, match="Column 'nope' is not in"):
        data.load_series("csv", csv=monthly_csv, column="nope")
    with pytest.raises(DataError, match="name the one to forecast with --column"):
        data.load_series("csv", csv=monthly_csv)


def test_csv_with_non_numbers_or_negative_values(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("month,v\n2000-01,1\n2000-02,abc\n")
    with pytest.raises(DataError, match="line 3: column 'v' is not a number"):
        data.load_series("csv", csv=bad, column="v")
    bad.write_text("month,v\n2000-01,1\n2000-02,-3\n")
    with pytest.raises(DataError, match="finite and positive"):
        data.load_series("csv", csv=bad, column="v")


def test_short_series_is_refused(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("month,v\n" + "".join(f"2000-{i:02d},{i}\n" for i in range(1, 13)))
    with pytest.raises(DataError, match="too short"):
        make_dataset("csv", "train", csv=short, column="v")


def test_a_tfds_dataset_prepared_from_local_files_loads_by_its_tfds_name(tmp_path, monkeypatch):
    """TFDS end to end without a network: a builder (as a user writes one for their own files, or as
    TFDS ships them) prepares the dataset into TFDS_DATA_DIR with TFDS's own machinery; kerazoo then
    finds it by its TFDS name and serves it exactly as it serves the same arrays from an .npz file."""
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8),
        "y_train": rng.integers(0, 3, 40).astype(np.int32),
        "x_test": rng.integers(0, 256, (12, 8, 8, 1), dtype=np.uint8),
        "y_test": rng.integers(0, 3, 12).astype(np.int32),
    }
    source = tmp_path / "local_files"  # the user's own files, read by the builder
    source.mkdir()
    np.savez(source / "kerazoo_test_shapes.npz", **arrays)

    class KerazooTestShapes(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(shape=(8, 8, 1)),
                        "label": tfds.features.ClassLabel(num_classes=3),
                    }
                ),
                supervised_keys=("image", "label"),
            )

        def _split_generators(self, dl_manager):
            files = np.load(source / "kerazoo_test_shapes.npz")
            return {
                split: self._generate_examples(files[f"x_{split}"], files[f"y_{split}"])
                for split in ("train", "test")
            }

        def _generate_examples(self, images, labels):
            for i, (image, label) in enumerate(zip(images, labels)):
                yield i, {"image": image, "label": int(label)}

    prepared = tmp_path / "tfds"
    monkeypatch.setenv("TFDS_DATA_DIR", str(prepared))  # set after TFDS was imported, as in a notebook
    monkeypatch.delenv("KERAZOO_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "TFDS_PROBE_ADDRESS", ("127.0.0.1", 9))  # no network either way
    KerazooTestShapes(data_dir=str(prepared)).download_and_prepare()

    def canonical(x, y):  # TFDS stores examples in its own order: compare (image, label) pairs
        order = sorted(range(len(x)), key=lambda i: x[i].tobytes())
        return x[order], y[order]

    for split in ("train", "test"):
        x, y = data.load_images("kerazoo_test_shapes", split)
        assert x.dtype == np.uint8 and x.shape == arrays[f"x_{split}"].shape and y.dtype == np.int32
        for got, want in zip(canonical(x, y), canonical(arrays[f"x_{split}"], arrays[f"y_{split}"])):
            np.testing.assert_array_equal(got, want)
    # The prepared TFDS folder also works as a kerazoo data directory.
    monkeypatch.delenv("TFDS_DATA_DIR")
    x, y = data.load_images("kerazoo_test_shapes", "train", prepared)
    np.testing.assert_array_equal(canonical(x, y)[1], canonical(arrays["x_train"], arrays["y_train"])[1])
    monkeypatch.setenv("TFDS_DATA_DIR", str(prepared))
    # Batches, scaling and labels as from local files (the same pairs, in TFDS's order).
    x, y = data.load_images("kerazoo_test_shapes", "test")
    np.savez(tmp_path / "kerazoo_test_shapes.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    for normalization in ("unit", "symmetric"):
        via_tfds = make_dataset("kerazoo_test_shapes", "test", 5, shuffle=False, normalization=normalization)
        via_npz = make_dataset(
            "kerazoo_test_shapes", "test", 5, shuffle=False, normalization=normalization, data_dir=tmp_path
        )
        for (a, la), (b, lb) in zip(via_tfds, via_npz, strict=True):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(la, lb)
    assert data.dataset_kind("kerazoo_test_shapes") == "image"
