"""Tabular synthesis: `tabular_gan` (a conditional WGAN-GP with per-column outputs), the `synthesis`
task's figures (TSTR, fidelity, privacy), and CSV sampling from the exported generator."""

import csv
import json

import numpy as np
import pytest
from conftest import toy_table_csv

import kerazoo
from kerazoo import tables
from kerazoo.cli import main
from kerazoo.models.tabular import ColumnActivations
from kerazoo.tasks.synthesis import split_table, synthesis_figures


def test_column_activations_give_ranks_and_one_hot_categories():
    layer = ColumnActivations(groups=[(1, 4)], temperature=0.2, seed=0)
    x = np.random.default_rng(0).normal(0, 3, (64, 5)).astype(np.float32)
    out = layer(x).numpy()
    assert out.shape == (64, 5) and np.all((out[:, [0, 4]] > 0) & (out[:, [0, 4]] < 1))
    np.testing.assert_allclose(out[:, 1:4].sum(axis=1), 1.0, rtol=1e-5)
    sharp = layer(x, training=True).numpy()[:, 1:4]  # Gumbel-softmax at a low temperature: near one-hot
    assert np.mean(sharp.max(axis=1) > 0.9) > 0.8
    with pytest.raises(ValueError, match="groups"):
        kerazoo.build("tabular_gan", num_features=4, groups=[(2, 6)])


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    csv_path = toy_table_csv(root / "toy.csv")
    out = root / "run"
    # --label names the class column (--column is the same flag).
    argv = ["train", "tabular_gan", "--dataset", "table", "--csv", str(csv_path), "--label", "group"]
    fast = ["--epochs", "150", "--batch-size", "32", "--set", "units=64,64"]
    assert main(argv + ["--out", str(out), *fast, "--quiet"]) == 0
    return out


def test_a_tiny_table_gan_keeps_names_types_ranges_and_the_asked_for_class(toy_run, tmp_path):
    rows = list(csv.DictReader(open(toy_run / "synthetic.csv")))
    assert list(rows[0]) == ["dose", "count", "site", "group"] and len(rows) == 96
    assert all(r["count"].isdigit() and 0 <= int(r["count"]) <= 4 for r in rows)  # integers stay integers
    assert {r["site"] for r in rows} <= {"left", "right"} and {r["group"] for r in rows} == {"a", "b"}
    doses = {g: np.array([float(r["dose"]) for r in rows if r["group"] == g]) for g in "ab"}
    assert doses["a"].min() >= 0.0 and doses["b"].max() <= 11.0  # within the real range
    assert np.mean(doses["a"] < 5) > 0.8 and np.mean(doses["b"] > 5) > 0.8  # the class is honoured
    metrics = json.loads((toy_run / "metrics.json").read_text())
    assert metrics["privacy"]["exact_copies"] == 0 and metrics["tstr"]["logistic_regression"] > 0.8

    # Exported, the generator writes the same kind of CSV without TensorFlow's help.
    from kerazoo import runtime

    artifact = tmp_path / "gen.tflite"
    assert main(["export", str(toy_run), "--out", str(artifact)]) == 0
    sampler = runtime.load(artifact)
    assert isinstance(sampler, runtime.TableSampler) and sampler.transform.classes == ["a", "b"]
    out = tmp_path / "synth.csv"
    assert main(["sample", str(artifact), "--n", "40", "--label", "1", "--out", str(out)]) == 0
    sampled = list(csv.DictReader(open(out)))
    assert len(sampled) == 40 and {r["group"] for r in sampled} == {"b"}
    assert np.mean([float(r["dose"]) > 5 for r in sampled]) > 0.8
    # A class by its name in the label column draws the same rows as its id.
    named = tmp_path / "named.csv"
    assert main(["sample", str(artifact), "--n", "40", "--label", "b", "--out", str(named)]) == 0
    assert named.read_text() == out.read_text()
    assert main(["sample", str(artifact), "--out", str(tmp_path / "rows.npz")]) == 2
    assert not (tmp_path / "rows.npz").exists()
    with pytest.raises(
        runtime.ArtifactError, match=r"one of the classes of 'group' \(a, b\) or a class id in 0..1"
    ):
        sampler.sample_table(5, label="c")


def test_tstr_and_dcr_on_hand_made_cases():
    table = tables.load_breast_cancer_table()
    train, test = split_table(table, 0)
    transform = tables.TableTransform.fit(train)
    copied = synthesis_figures(train, train, test, transform)  # a generator that copies its data
    assert copied["privacy"]["exact_copies"] == len(train) and copied["privacy"]["copies_flagged"]
    assert copied["privacy"]["dcr_synthetic_median"] < 1e-6 < copied["privacy"]["dcr_holdout_median"]
    assert copied["tstr"] == copied["trtr"]  # training on the real rows is TRTR
    assert copied["fidelity"]["mean_ks"] == 0.0 and copied["fidelity"]["correlation_mean_abs_diff"] == 0.0
    shuffled = train.take(np.arange(len(train)))
    rng = np.random.default_rng(0)
    shuffled.columns["diagnosis"] = rng.permutation(shuffled.columns["diagnosis"])  # labels broken
    broken = synthesis_figures(shuffled, train, test, transform)
    assert broken["tstr"]["logistic_regression"] < copied["tstr"]["logistic_regression"] - 0.2


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--dataset", "table"], "--csv PATH --label COLUMN"),
        (["--dataset", "table", "--csv", "{csv}", "--column", "nope"], "no label column 'nope'"),
        (["--dataset", "digits"], "cannot train on dataset 'digits'"),
    ],
)
def test_bad_table_runs_exit_2_and_write_nothing(tmp_path, capsys, argv, match):
    csv_path = toy_table_csv(tmp_path / "toy.csv")
    argv = [a.replace("{csv}", str(csv_path)) for a in argv]
    out = tmp_path / "run"
    assert main(["train", "tabular_gan", *argv, "--out", str(out)]) == 2
    assert match in capsys.readouterr().err and not out.exists()
