"""kerazoo.tables: CSV tables with a class label, and the per-column transforms of tabular synthesis."""

import csv
import json

import numpy as np
import pytest

from kerazoo.tables import TableError, TableTransform, load_breast_cancer_table, read_table, write_csv


def _csv(path, rows, header=("age", "weight", "smoker", "outcome")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _records(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            int(rng.integers(20, 90)),
            round(float(rng.normal(70, 12)), 3),
            str(rng.choice(["yes", "no", "former"])),
            str(rng.choice(["ill", "well"])),
        )
        for _ in range(n)
    ]


def test_kinds_are_inferred_and_the_transform_round_trips(tmp_path):
    table = read_table(_csv(tmp_path / "r.csv", _records()), label="outcome")
    assert table.kinds == {
        "age": "integer",
        "weight": "continuous",
        "smoker": "categorical",
        "outcome": "categorical",
    }
    assert table.columns["age"].dtype == np.int64 and table.features == ["age", "weight", "smoker"]
    transform = TableTransform.fit(table)
    x = transform.encode(table)
    assert x.shape == (40, 1 + 1 + 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert transform.groups == [(2, 5)]
    back = transform.decode(x, transform.labels(table))
    np.testing.assert_array_equal(back.columns["age"], table.columns["age"])
    np.testing.assert_allclose(back.columns["weight"], table.columns["weight"], atol=1e-9)
    np.testing.assert_array_equal(back.columns["smoker"], table.columns["smoker"])
    np.testing.assert_array_equal(back.columns["outcome"], table.columns["outcome"])
    # JSON and back: decoding needs nothing else.
    again = TableTransform.from_json(json.loads(json.dumps(transform.to_json())))
    np.testing.assert_array_equal(again.decode(x).columns["age"], table.columns["age"])


def test_decoding_any_scores_stays_in_the_columns_types_and_ranges(tmp_path):
    table = read_table(_csv(tmp_path / "r.csv", _records()), label="outcome", kinds={"age": "continuous"})
    transform = TableTransform.fit(table)
    noise = np.random.default_rng(1).uniform(-0.5, 1.5, (200, transform.width))
    out = transform.decode(noise)
    assert (
        out.columns["age"].min() >= table.columns["age"].min()
        and out.columns["age"].max() <= table.columns["age"].max()
    )
    assert set(out.columns["smoker"]) <= {"yes", "no", "former"} and "outcome" not in out.columns
    written = write_csv(transform.decode(noise[:5], labels=[0, 1, 0, 1, 0]), tmp_path / "synth.csv")
    rows = list(csv.reader(open(written)))
    assert rows[0] == ["age", "weight", "smoker", "outcome"] and len(rows) == 6
    assert {r[3] for r in rows[1:]} == {"ill", "well"}
    with pytest.raises(TableError, match="already exists"):
        write_csv(out, written)


@pytest.mark.parametrize(
    "rows, kwargs, match",
    [
        (_records(), dict(label="diagnosis"), "no label column 'diagnosis'"),
        ([(1, 2.0, "no", "ill")] * 10 + [(2, 3.0, "yes", "well")] * 10, dict(label="outcome"), None),
        (_records(10), dict(label="outcome"), "at least 20"),
        ([(5, w, s, o) for _, w, s, o in _records()], dict(label="outcome"), "one value only"),
        (
            _records()[:-1] + [(30, "heavy", "no", "ill")],
            dict(label="outcome", kinds={"weight": "continuous"}),
            "holds 'heavy'",
        ),
        (_records()[:-1] + [(30, 2.0, "no")], dict(label="outcome"), "has 3 cells"),
        (_records()[:-1] + [(30, "", "no", "ill")], dict(label="outcome"), "empty cell"),
        (
            [r[:3] + ("well",) for r in _records()[:-1]] + [(30, 2.0, "no", "ill")],
            dict(label="outcome"),
            "has 1 row",
        ),
        (_records(), dict(label="outcome", kinds={"age": "ordinal"}), "Unknown kind"),
    ],
)
def test_bad_tables_get_one_clear_error(tmp_path, rows, kwargs, match):
    path = _csv(tmp_path / "bad.csv", rows)
    if match is None:  # the control: a good table
        assert len(read_table(path, **kwargs)) == 20
        return
    with pytest.raises(TableError, match=match):
        read_table(path, **kwargs)


def test_breast_cancer_is_the_offline_table():
    table = load_breast_cancer_table()
    assert len(table) == 569 and len(table.features) == 30 and table.label == "diagnosis"
    assert set(table.columns["diagnosis"]) == {"malignant", "benign"}
    transform = TableTransform.fit(table)
    back = transform.decode(transform.encode(table))
    np.testing.assert_allclose(
        back.columns["mean radius"], table.columns["mean radius"], rtol=1e-5
    )  # float32 ranks
