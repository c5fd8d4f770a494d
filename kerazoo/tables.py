"""Mixed tables for tabular synthesis: read a CSV with a class label, and turn its columns into the
numbers a network learns and back.

    table = read_table("records.csv", label="outcome")          # or load_breast_cancer_table()
    transform = TableTransform.fit(table)
    x = transform.encode(table)                                   # float32 (rows, width)
    back = transform.decode(x)                                    # the same columns, types and ranges
    write_csv(back, "copy.csv")

Column kinds (inferred, overridable with `kinds=`): `integer` (every value a whole number),
`continuous` (other numbers) and `categorical` (anything else, or few distinct integers when asked).
Numbers are encoded by their quantile (scikit-learn's `QuantileTransformer`, uniform output, so a
sigmoid can produce them) and decoded by interpolating the stored quantiles, clipped to the column's
observed range (integers rounded); categories are one-hot and decoded by the largest score. Decoding
needs only NumPy and the transform's JSON (`to_json` / `from_json`), so a TensorFlow-free deployment
can write the CSV.

Every problem with a file raises `kerazoo.tables.TableError` (a ValueError) with one line that says
what was wrong and what to do.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

__all__ = [
    "TableError",
    "Table",
    "TableTransform",
    "read_table",
    "load_breast_cancer_table",
    "write_csv",
    "KINDS",
]

KINDS = ("integer", "continuous", "categorical")
MIN_ROWS = 20
MAX_CSV_BYTES = 256 * 2**20
MAX_QUANTILES = 1000


class TableError(ValueError):
    """A table that cannot be used: the message says what was wrong and what to do."""


@dataclasses.dataclass
class Table:
    """Columns by name (in file order), each a NumPy array (int64, float64 or str), their kinds, and
    the label column's name (one of the columns)."""

    columns: dict
    kinds: dict
    label: str

    @property
    def features(self) -> list:
        """The names of the columns other than the label, in order."""
        return [name for name in self.columns if name != self.label]

    def __len__(self):
        return len(next(iter(self.columns.values())))

    def take(self, rows) -> Table:
        """The table restricted to `rows` (indices or a boolean mask)."""
        return Table({k: v[rows] for k, v in self.columns.items()}, dict(self.kinds), self.label)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _infer(values: list) -> str:
    if all(_is_number(v) for v in values):
        return "integer" if all(float(v).is_integer() for v in values) else "continuous"
    return "categorical"


def _column(name, values, kind, path):
    if kind == "categorical":
        return np.asarray(values, dtype=str)
    bad = next((v for v in values if not _is_number(v)), None)
    if bad is not None:
        raise TableError(
            f"'{path}' column '{name}' is {kind} but holds {bad!r}: fix the value or declare the column "
            "categorical (kinds={...})."
        )
    numbers = np.asarray([float(v) for v in values])
    if kind == "integer":
        if not np.all(numbers == np.round(numbers)):
            raise TableError(f"'{path}' column '{name}' is declared integer but holds fractions.")
        return numbers.astype(np.int64)
    return numbers


def read_rows(path, error=TableError) -> tuple:
    """`(path, rows)`: the non-blank rows of a CSV file as lists of strings (the header first).

    Raises:
        error: a missing, oversized or unreadable file.
    """
    from kerazoo._checks import check_file

    path = check_file(path, "CSV file", limit=MAX_CSV_BYTES, error=error)
    try:
        with open(path, newline="") as f:
            return path, [row for row in csv.reader(f) if row and "".join(row).strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise error(f"Cannot read CSV file '{path}': {e}") from None


def read_table(path, label: str, kinds: dict | None = None, *, numeric_label: bool = False) -> Table:
    """A CSV file (a header row, then one row per record) as a `Table` with `label` as its class.

    Args:
        path: the CSV file.
        label: the name of the class column (categorical; at least two classes), or with
            `numeric_label` the target of a regression (a number in every row).
        kinds: `{column: kind}` to override the inferred kinds (`integer`, `continuous`,
            `categorical`).
        numeric_label: the label is a number to predict, not a class.

    Raises:
        TableError: unreadable file, no header, ragged or empty cells, an unknown label or kind,
            non-numeric values in a numeric column, a constant column, fewer than 20 rows, or a class
            with fewer than 2 rows.
    """
    path, rows = read_rows(path)
    if not rows:
        raise TableError(f"CSV file '{path}' is empty: it needs a header row and data rows.")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise TableError(f"'{path}': the header needs unique, non-empty column names. Received: {header}")
    if label not in header:
        raise TableError(f"'{path}' has no label column '{label}'. Columns: {header}")
    data = rows[1:]
    if len(data) < MIN_ROWS:
        who = "a regression" if numeric_label else "a synthesizer"
        raise TableError(f"'{path}' has {len(data)} data rows; {who} needs at least {MIN_ROWS}.")
    for i, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise TableError(f"'{path}' line {i} has {len(row)} cells; the header has {len(header)}.")
        if any(not cell.strip() for cell in row):
            raise TableError(f"'{path}' line {i} has an empty cell: fill or drop missing values first.")
    kinds = dict(kinds or {})
    unknown = set(kinds) - set(header)
    if unknown:
        raise TableError(f"kinds= names columns that '{path}' does not have: {sorted(unknown)}")
    columns, chosen = {}, {}
    for j, name in enumerate(header):
        values = [row[j].strip() for row in data]
        if name == label and numeric_label:
            bad = next((v for v in values if not _is_number(v)), None)
            if bad is not None:
                raise TableError(
                    f"'{path}' target column '{name}' holds {bad!r}: a regression predicts a number; "
                    "choose a numeric --target (or train a classifier on this column)."
                )
        kind = "categorical" if name == label and not numeric_label else kinds.get(name) or _infer(values)
        if kind not in KINDS:
            raise TableError(f"Unknown kind {kind!r} for column '{name}'. Expected one of {KINDS}.")
        columns[name] = _column(name, values, kind, path)
        chosen[name] = kind
        if len(np.unique(columns[name])) < 2:
            if name == label and numeric_label:
                raise TableError(f"'{path}' target column '{name}' is constant: there is nothing to predict.")
            raise TableError(f"'{path}' column '{name}' has one value only: drop it (it carries nothing).")
    if numeric_label:
        return Table(columns, chosen, label)
    classes, counts = np.unique(columns[label], return_counts=True)
    if counts.min() < 2:
        raise TableError(
            f"'{path}' label '{label}': class {classes[counts.argmin()]!r} has {counts.min()} row; "
            "each class needs at least 2."
        )
    return Table(columns, chosen, label)


def load_breast_cancer_table() -> Table:
    """scikit-learn's bundled breast cancer data as a `Table` (30 continuous columns, label
    `diagnosis`: `malignant` or `benign`): the offline default for tabular synthesis."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    columns = {name: data.data[:, j].astype(np.float64) for j, name in enumerate(data.feature_names)}
    columns["diagnosis"] = data.target_names[data.target].astype(str)
    kinds = {name: "continuous" for name in data.feature_names}
    kinds["diagnosis"] = "categorical"
    return Table(columns, kinds, "diagnosis")


@dataclasses.dataclass
class TableTransform:
    """Per-column encodings fitted on a table (see the module docstring); JSON-serialisable.

    `specs` holds, per feature column in order: `name`, `kind`, and for numbers `quantiles` (the
    column's values at `references`, evenly spaced in [0, 1]), `low`, `high`; for categories
    `categories`. `classes` are the label's classes (their order is the class ids)."""

    specs: list
    label: str
    classes: list

    @classmethod
    def fit(cls, table: Table, n_quantiles: int = MAX_QUANTILES) -> TableTransform:
        """Fit the encoding on a table's training rows: each number as its quantile rank
        (scikit-learn's `QuantileTransformer`, at most `n_quantiles` quantiles), each category one-hot.
        """
        from sklearn.preprocessing import QuantileTransformer

        specs = []
        for name in table.features:
            values, kind = table.columns[name], table.kinds[name]
            if kind == "categorical":
                specs.append({"name": name, "kind": kind, "categories": sorted(np.unique(values).tolist())})
                continue
            q = QuantileTransformer(n_quantiles=min(n_quantiles, len(values)), output_distribution="uniform")
            q.fit(values.astype(np.float64)[:, None])
            specs.append(
                {
                    "name": name,
                    "kind": kind,
                    "quantiles": q.quantiles_[:, 0].tolist(),
                    "references": q.references_.tolist(),
                    "low": float(values.min()),
                    "high": float(values.max()),
                }
            )
        classes = sorted(np.unique(table.columns[table.label]).tolist())
        return cls(specs, table.label, classes)

    @property
    def width(self) -> int:
        """The encoded row's length: one number per numeric column, one slot per category."""
        return sum(len(s["categories"]) if s["kind"] == "categorical" else 1 for s in self.specs)

    @property
    def groups(self) -> list:
        """`(start, stop)` of each categorical column's one-hot slots in an encoded row."""
        out, at = [], 0
        for s in self.specs:
            size = len(s["categories"]) if s["kind"] == "categorical" else 1
            if s["kind"] == "categorical":
                out.append((at, at + size))
            at += size
        return out

    def encode(self, table: Table) -> np.ndarray:
        """float32 `(rows, width)`: numbers as their quantile in [0, 1], categories one-hot."""
        parts = []
        for s in self.specs:
            values = table.columns[s["name"]]
            if s["kind"] == "categorical":
                index = {c: i for i, c in enumerate(s["categories"])}
                unknown = sorted({v for v in values.tolist() if v not in index})
                if unknown:
                    raise TableError(
                        f"Column '{s['name']}' has categories the transform was not fitted on: {unknown[:5]}"
                    )
                onehot = np.zeros((len(values), len(index)), np.float32)
                onehot[np.arange(len(values)), [index[v] for v in values.tolist()]] = 1.0
                parts.append(onehot)
            else:
                ranks = _interp_monotone(values.astype(np.float64), s["quantiles"], s["references"])
                parts.append(ranks[:, None].astype(np.float32))
        return np.concatenate(parts, axis=1)

    def labels(self, table: Table) -> np.ndarray:
        """The label column as int32 class ids (the order of `classes`)."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[v] for v in table.columns[self.label].tolist()], np.int32)

    def decode(self, encoded, labels=None) -> Table:
        """The columns of encoded rows (NumPy only): numbers from their quantiles, clipped to the fitted
        range (integers rounded), categories by the largest score; with `labels` (class ids), the
        label column too."""
        encoded = np.asarray(encoded, np.float64)
        if encoded.ndim != 2 or encoded.shape[1] != self.width:
            raise TableError(f"Encoded rows must have shape (N, {self.width}). Received {encoded.shape}.")
        columns, kinds, at = {}, {}, 0
        for s in self.specs:
            if s["kind"] == "categorical":
                size = len(s["categories"])
                columns[s["name"]] = np.asarray(s["categories"], dtype=str)[
                    encoded[:, at : at + size].argmax(axis=1)
                ]
                at += size
            else:
                ranks = np.clip(encoded[:, at], 0.0, 1.0)
                values = np.clip(np.interp(ranks, s["references"], s["quantiles"]), s["low"], s["high"])
                columns[s["name"]] = np.round(values).astype(np.int64) if s["kind"] == "integer" else values
                at += 1
            kinds[s["name"]] = s["kind"]
        if labels is not None:
            columns[self.label] = np.asarray(self.classes, dtype=str)[np.asarray(labels, np.int64)]
            kinds[self.label] = "categorical"
        return Table(columns, kinds, self.label)

    def to_json(self) -> dict:
        """The transform as JSON-ready data (what an export's metadata holds)."""
        return {"specs": self.specs, "label": self.label, "classes": self.classes}

    @classmethod
    def from_json(cls, data: dict) -> TableTransform:
        """The transform from `to_json()`'s data.

        Raises:
            TableError: `data` is not a table transform.
        """
        try:
            return cls(list(data["specs"]), str(data["label"]), list(data["classes"]))
        except (KeyError, TypeError) as e:
            raise TableError(f"Not a table transform ({e}). Export the model again.") from None


def _interp_monotone(values, quantiles, references):
    """The quantile rank of each value (the mean of the forward and backward interpolation, as
    scikit-learn does, so that repeated quantiles map to the middle of their ranks)."""
    q, r = np.asarray(quantiles), np.asarray(references)
    forward = np.interp(values, q, r)
    backward = -np.interp(-values, -q[::-1], -r[::-1])
    return 0.5 * (forward + backward)


def write_csv(table: Table, path, overwrite: bool = False) -> Path:
    """Write a table as CSV (header, then rows; integers without decimals, continuous numbers with
    full precision), to a temporary sibling renamed into place."""
    from kerazoo._io import atomic_write, check_output

    path = check_output(path, TableError)
    if path.exists() and not overwrite:
        raise TableError(f"'{path}' already exists. Choose another --out or pass --overwrite.")
    names = list(table.columns)
    with atomic_write(path) as tmp:
        with open(tmp / path.name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(names)
            for i in range(len(table)):
                writer.writerow([_cell(table.columns[n][i], table.kinds[n]) for n in names])
    return path


def _cell(value, kind):
    if kind == "integer":
        return str(int(value))
    if kind == "continuous":
        return repr(float(value))
    return str(value)
