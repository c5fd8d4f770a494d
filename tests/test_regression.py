"""`regression_mlp` (task `regression`) on tables, and `kerazoo predict` without TensorFlow."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import kerazoo
from kerazoo import runtime
from kerazoo.cli import main
from kerazoo.export import export

FAST = {"epochs": 60, "early_stopping": 0}


def _linear_csv(path, n=240, seed=0, target=None, extra=None):
    """y = 3 a - 2 b + 0.5 c + 5 (+ a little noise)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(0, 1, n), rng.normal(10, 2, n), rng.uniform(-5, 5, n)
    y = 3 * a - 2 * b + 0.5 * c + 5 + rng.normal(0, 0.05, n)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "y", *(extra or {})])
        for i in range(n):
            value = target(i) if target else f"{y[i]:.5f}"
            cells = [f"{a[i]:.5f}", f"{b[i]:.5f}", f"{c[i]:.5f}", value]
            writer.writerow(cells + [v(i) for v in (extra or {}).values()])
    return path


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("linear")
    csv_path = _linear_csv(root / "linear.csv")
    out = root / "run"
    argv = ["train", "regression_mlp", "--dataset", "table", "--csv", str(csv_path), "--target", "y"]
    argv += ["--epochs", "300", "--recipe", "learning_rate=0.01", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    return out, csv_path


def test_the_mlp_recovers_a_linear_tables_coefficients(linear_run):
    run, _ = linear_run
    model = kerazoo.load_model(run / "model.keras")
    base = np.array([[0.0, 10.0, 0.0]], np.float32)  # at a = 0, b = 10, c = 0
    f0 = float(model.predict(base, verbose=0)[0, 0])
    slopes = []
    for j in range(3):
        step = base.copy()
        step[0, j] += 1.0
        slopes.append(float(model.predict(step, verbose=0)[0, 0]) - f0)
    np.testing.assert_allclose(slopes, [3.0, -2.0, 0.5], atol=0.15)
    assert abs(f0 - (5 - 20)) < 0.5
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["target"] == "y" and metrics["rmse"] < 0.3 * metrics["baseline_rmse"]
    assert metrics["mae"] <= metrics["rmse"] and "validation_rmse" in metrics
    for picture in ("predicted_vs_true.png", "residuals.png", "training_curves.png"):
        assert (run / picture).is_file(), picture


def test_predict_csv_equals_keras_on_the_same_rows_and_keeps_them(linear_run, tmp_path, capsys):
    run, csv_path = linear_run
    assert main(["export", str(run)]) == 0
    artifact = run / "export" / "model.tflite"
    meta = json.loads(runtime.metadata_path(artifact).read_text())
    assert meta["columns"] == ["a", "b", "c"] and meta["target"] == "y" and meta["role"] == "regressor"
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(artifact), str(csv_path), "--out", str(out)]) == 0
    assert "predicted_y" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out)))
    source = list(csv.DictReader(open(csv_path)))
    # The target column is one more column the model ignores; every row is kept as it was.
    assert len(rows) == len(source) and list(rows[0]) == ["a", "b", "c", "y", "predicted_y"]
    assert all(r[k] == s[k] for r, s in zip(rows, source) for k in s)
    x = np.array([[float(s[k]) for k in ("a", "b", "c")] for s in source], np.float32)
    keras_predictions = kerazoo.load_model(run / "model.keras").predict(x, verbose=0).ravel()
    np.testing.assert_allclose(
        [float(r["predicted_y"]) for r in rows], keras_predictions, rtol=1e-4, atol=1e-3
    )
    # An existing --out is kept; a missing column or a bad cell is one line, exit 2, nothing written.
    assert main(["predict", str(artifact), str(csv_path), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    missing.write_text("a,c\n1,2\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n1,x,3\n")
    for path, message in (
        (missing, "has no column 'b'; the model takes a, b, c"),
        (bad, "line 3 column 'b' holds 'x'"),
    ):
        assert main(["predict", str(artifact), str(path), "--out", str(tmp_path / "p.csv")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "target, extra, argv_target, message",
    [
        (None, None, "z", "has no target column 'z'"),
        (lambda i: "abc"[i % 3], None, "y", "target column 'y' holds 'a': a regression predicts a number"),
        (lambda i: "7", None, "y", "target column 'y' is constant"),
        (None, {"site": lambda i: "left" if i % 2 else "right"}, "y", "column 'site' is not numeric"),
    ],
)
def test_bad_tables_get_one_clear_error_and_write_nothing(
    tmp_path, capsys, target, extra, argv_target, message
):
    csv_path = _linear_csv(tmp_path / "t.csv", target=target, extra=extra)
    out = tmp_path / "run"
    argv = ["train", "regression_mlp", "--dataset", "table", "--csv", str(csv_path), "--target", argv_target]
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_diabetes_default_reports_errors_in_the_targets_units_and_the_baseline(tmp_path):
    figures = kerazoo.train("regression_mlp", out=tmp_path / "run", verbose=0, recipe=FAST)
    assert figures["target"] == "progression" and figures["n_test"] == 89
    assert figures["rmse"] < figures["baseline_rmse"] and 20 < figures["mae"] < 100  # in the target's units
    assert (tmp_path / "run" / "predicted_vs_true.png").is_file()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    report = json.loads((tmp_path / "run" / "eval" / "metrics.json").read_text())
    assert report["rmse"] == pytest.approx(figures["rmse"], rel=1e-5)


def test_table_classifier_predicts_from_a_csv_with_its_columns(tmp_path):
    from sklearn.datasets import load_breast_cancer

    model = kerazoo.build("tabular_mlp")
    artifact = tmp_path / "clf.tflite"
    meta = export(model, format="tflite", out=artifact, model_name="tabular_mlp")
    data = load_breast_cancer()
    assert meta["columns"] == list(data.feature_names)
    rows = tmp_path / "rows.csv"
    with open(rows, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["patient", *reversed(data.feature_names)])  # any order, extra columns
        for i in range(5):
            writer.writerow([f"p{i}", *reversed(data.data[i].tolist())])
    predictor = runtime.TablePredictor(artifact)
    predictor.predict_csv(rows, tmp_path / "out.csv")
    out = list(csv.DictReader(open(tmp_path / "out.csv")))
    expected = model.predict(data.data[:5].astype(np.float32), verbose=0).argmax(axis=1)
    assert [int(r["predicted_class"]) for r in out] == list(expected) and out[0]["patient"] == "p0"
    assert all(0.5 <= float(r["probability"]) <= 1.0 for r in out)
