"""Honest model selection and recipes that hold on other data: the validation split (disjoint,
stratified, reproducible), the test split read once at the end, early stopping on the validation
split, the augmentation policy by data kind, and a classifier on RGB 32x32 images."""

import json
import re

import keras
import numpy as np
import pytest
from conftest import Interrupt

import kerazoo
from kerazoo import data
from kerazoo.cli import main
from kerazoo.data import DataError, make_dataset
from kerazoo.tasks import UsageError
from kerazoo.tasks.classification import augment_policy


def _arrays(ds):
    xs, ys = zip(*((np.asarray(x), np.asarray(y)) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys)


def _rows(x):
    return {row.tobytes() for row in x.reshape(len(x), -1)}


@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_validation_split_is_disjoint_stratified_and_reproducible(name):
    options = dict(shuffle=False, validation_split=0.2)
    x_tr, y_tr = _arrays(make_dataset(name, "train", 256, **options))
    x_va, y_va = _arrays(make_dataset(name, "validation", 256, **options))
    x_te, _ = _arrays(make_dataset(name, "test", 256, shuffle=False))
    x_all, y_all = _arrays(make_dataset(name, "train", 256, shuffle=False))
    # The two parts cover the training split exactly; none of it is in the test split.
    assert len(x_tr) + len(x_va) == len(x_all) and len(x_va) == pytest.approx(0.2 * len(x_all), abs=1)
    assert not _rows(x_tr) & _rows(x_va) and _rows(x_tr) | _rows(x_va) == _rows(x_all)
    assert not (_rows(x_tr) | _rows(x_va)) & _rows(x_te)
    # Stratified: each class's share in the validation split is its share in the training split.
    classes = np.unique(y_all)
    share = np.bincount(y_va, minlength=len(classes)) / len(y_va)
    assert np.abs(share - np.bincount(y_all) / len(y_all)).max() < 0.01
    # Reproducible for a split seed, different for another.
    again, _ = _arrays(make_dataset(name, "validation", 256, **options))
    other, _ = _arrays(make_dataset(name, "validation", 256, split_seed=1, **options))
    assert np.array_equal(again, x_va) and not np.array_equal(other, x_va)


def test_series_validation_is_the_months_before_the_test_horizon():
    series = data.load_series("airline")
    parts = {
        split: data.series_windows(series, split, validation_split=0.15)[2]
        for split in ("train", "validation", "test")
    }
    assert len(parts["validation"]) == 12 and len(parts["test"]) == 48
    assert parts["train"][-1] + 1 == parts["validation"][0]
    assert parts["validation"][-1] + 1 == parts["test"][0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(split="validation"), "'validation' split needs validation_split > 0"),
        (dict(validation_split=1.0), r"in \[0, 1\)"),
        (dict(validation_split="0.1"), "Received: validation_split='0.1'"),
        (dict(name="xor", validation_split=0.5), "no validation split"),
        (dict(name="synthetic_maps", validation_split=0.1), "no validation split"),
        (dict(validation_split=0.001), "Cannot carve a stratified validation split"),
    ],
)
def test_bad_validation_splits_are_refused_with_one_line(kwargs, message):
    kwargs = {"name": "digits", "split": "train", **kwargs}
    with pytest.raises(DataError, match=message):
        make_dataset(kwargs.pop("name"), kwargs.pop("split"), 32, **kwargs)


class _Reads(keras.callbacks.Callback):
    """Counts the test split's reads (`kerazoo.data.load_images(..., "test")`) until training ends."""

    def __init__(self, reads):
        super().__init__()
        self.reads, self.during_training = reads, None

    def on_train_end(self, logs=None):
        self.during_training = list(self.reads)


def test_the_test_split_is_read_once_after_training(tmp_path, monkeypatch):
    reads = []
    load = data.load_images

    def counting(name, split="train", data_dir=None):
        reads.append(split)
        return load(name, split, data_dir)

    monkeypatch.setattr(data, "load_images", counting)
    watcher = _Reads(reads)
    metrics = kerazoo.train("mlp", epochs=2, out=tmp_path / "run", verbose=0, callbacks=[watcher])
    assert "test" not in watcher.during_training and "train" in watcher.during_training
    assert reads.count("test") == 1 and 0 <= metrics["test_accuracy"] <= 1
    # The validation curves are the validation split's (the final weights are the last epoch's).
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert metrics["validation_accuracy"] == pytest.approx(history["val_accuracy"][-1])


def test_early_stopping_keeps_the_best_validation_epoch(tmp_path):
    metrics = kerazoo.train(
        "tabular_mlp",
        recipe={"epochs": 12, "early_stopping": 2, "learning_rate": 0.05, "validation_split": 0.3},
        out=tmp_path / "run",
        verbose=0,
    )
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert metrics["validation_accuracy"] == pytest.approx(max(history["val_accuracy"]))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["recipe"]["early_stopping"] == 2 and config["recipe"]["validation_split"] == 0.3


def test_without_a_validation_split_nothing_is_validated(tmp_path):
    metrics = kerazoo.train("tabular_mlp", epochs=1, validation_split=0, out=tmp_path / "run", verbose=0)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert "test_accuracy" in metrics and "validation_accuracy" not in metrics and "val_loss" not in history
    with pytest.raises(UsageError, match="early_stopping watches the validation split"):
        kerazoo.train("tabular_mlp", recipe={"early_stopping": 3, "validation_split": 0}, out=tmp_path / "b")


def test_augmentation_policy_follows_the_data():
    assert augment_policy("auto", "digits") == augment_policy("auto", "mnist") == "shift+rotate"
    assert augment_policy("auto", "fashion_mnist") == augment_policy("auto", "cifar10") == "shift+flip"
    assert augment_policy("auto", "my_scans") == "shift"  # unknown data: shifts only
    assert augment_policy("none", "mnist") == "none"


def _stem(run_dir):
    model = keras.saving.load_model(run_dir / "model.keras")
    return sorted(layer.name.split("_stem_")[1] for layer in model.layers if "_stem_" in layer.name)


def test_the_recipe_sets_the_models_augmentation(tmp_path):
    kerazoo.train("cnn", epochs=1, out=tmp_path / "auto", verbose=0, hparams={"filters": (4,)})
    assert _stem(tmp_path / "auto") == ["rotate", "shift"]  # digits: no mirrors
    recipe = {"augment": "shift+flip"}
    kerazoo.train("mlp", epochs=1, recipe=recipe, out=tmp_path / "flip", verbose=0)
    assert _stem(tmp_path / "flip") == ["flip", "shift"]
    config = json.loads((tmp_path / "flip" / "config.json").read_text())
    assert config["recipe"]["augment"] == "shift+flip" and config["hparams"]["augment"] == "shift+flip"
    kerazoo.train("cnn", epochs=1, recipe={"augment": "none"}, out=tmp_path / "none", verbose=0)
    assert _stem(tmp_path / "none") == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["cnn", "--recipe", "augment=mirror"], r"`augment` must be 'none' or transforms joined by '\+'"),
        (["tabular_mlp", "--recipe", "augment=shift"], "is a table: image augmentation does not apply"),
        (["cnn", "--validation-split", "1.5"], r"in \[0, 1\)"),
        (["dcgan", "--validation-split", "0.1"], "selects nothing on a validation split"),
    ],
)
def test_bad_selection_arguments_exit_2_with_one_line(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *args, "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists() and not list(tmp_path.iterdir())


def _rgb_shapes(n, seed):
    """RGB 32x32 images of 4 classes: a colored square in one quadrant; class = the square's color."""
    rng = np.random.default_rng(seed)
    colors = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], np.uint8)
    y = np.arange(n) % 4
    x = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    for i, label in enumerate(y):
        r, c = rng.integers(0, 20, 2)
        x[i, r : r + 12, c : c + 12] = colors[label]
    return x, y.astype(np.uint8)


def test_the_classifier_recipe_trains_on_rgb_32x32_images(tmp_path):
    (x_tr, y_tr), (x_te, y_te) = _rgb_shapes(400, 0), _rgb_shapes(100, 1)
    np.savez_compressed(tmp_path / "squares.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    # The recipe as it is (its 14 epochs: 3 batches an epoch here; 4 epochs were too few steps for
    # the two-convolution net, which scored 50%).
    metrics = kerazoo.train("cnn", dataset="squares", data_dir=tmp_path, out=tmp_path / "run", verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["hparams"]["input_shape"] == [32, 32, 3] and config["hparams"]["num_classes"] == 4
    assert config["hparams"]["augment"] == "shift"  # an unknown data set: shifts only
    assert metrics["test_accuracy"] > 0.9  # chance is 0.25


def test_a_resumed_run_stops_early_and_keeps_the_weights_an_uninterrupted_one_would(tmp_path):
    options = dict(
        recipe={"epochs": 10, "early_stopping": 3, "learning_rate": 0.05, "validation_split": 0.3},
        verbose=0,
        backup_every=5,
    )
    reference = kerazoo.train("tabular_mlp", out=tmp_path / "a", **options)
    with pytest.raises(KeyboardInterrupt):
        kerazoo.train("tabular_mlp", out=tmp_path / "b", callbacks=[Interrupt(2, 7)], **options)
    resumed = kerazoo.train("tabular_mlp", out=tmp_path / "b", resume=True, **options)
    figures = ("test_accuracy", "test_loss", "validation_accuracy", "validation_loss")
    assert [resumed[k] for k in figures] == [reference[k] for k in figures]
    histories = [json.loads((tmp_path / run / "history.json").read_text()) for run in "ab"]
    assert histories[0] == histories[1]
    models = [keras.saving.load_model(tmp_path / run / "model.keras") for run in "ab"]
    assert all(np.array_equal(a, b) for a, b in zip(models[0].get_weights(), models[1].get_weights()))
