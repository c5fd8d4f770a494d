"""The `synthesis` task: GANs that make synthetic table rows (`tabular_gan`), judged by what the rows
are good for.

Data: `breast_cancer` (scikit-learn's, offline) or any CSV with a class column
(`--dataset table --csv PATH --label COLUMN`), split 80/20 stratified by `--split-seed`; the
transform (`kerazoo.tables.TableTransform`) is fitted on the training rows only. The recipe is the
generation task's `GANRecipe`. `metrics.json` and `kerazoo evaluate` compare as many synthetic rows
as there are real training rows (same class balance) with the real ones:

- `tstr`: train on synthetic, test on real (the real test rows), for logistic regression and a
  random forest, beside train on real (`trtr`);
- `fidelity`: per-column distances (Kolmogorov-Smirnov statistic for numbers, total variation for
  categories) and the mean absolute difference of the numeric columns' correlation matrices;
- `privacy`: the median distance from each synthetic row to its closest real training row (DCR),
  beside the same for the real test rows (the holdout), and exact copies of training rows (0 expected).

`synthetic.csv` holds the sample, with the original column names, types and ranges. Deploys the
generator (`noise`, `labels` -> encoded `rows`) with the transform in its metadata, so that
`kerazoo sample ARTIFACT.tflite --out synth.csv` writes a CSV without TensorFlow.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerazoo import data as zdata
from kerazoo import tables
from kerazoo.serving import ExportError, GeneratorServable, Servable
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Prepared, Task, UsageError
from kerazoo.tasks.generation import GANRecipe

__all__ = ["Synthesis", "TableGeneratorServable", "load_table", "split_table", "synthesis_figures"]

TEST_FRACTION = 0.2


def load_table(dataset, csv=None, column=None) -> tables.Table:
    """The table of a run: `breast_cancer`, or `table` read from `csv` with `column` as the label."""
    if dataset == "breast_cancer":
        return tables.load_breast_cancer_table()
    if dataset == "table":
        if csv is None or column is None:
            raise UsageError("Dataset 'table' needs a file and its class column: --csv PATH --label COLUMN.")
        try:
            return tables.read_table(csv, label=column)
        except tables.TableError as e:
            raise zdata.DataError(str(e)) from None
    raise UsageError(
        f"Tabular synthesis reads 'breast_cancer' or 'table' (--csv PATH --label COLUMN). Received: {dataset!r}"
    )


def split_table(table, split_seed=0) -> tuple:
    """`(train, test)` tables: a stratified 80/20 split chosen by `split_seed`."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(table))
    train, test = train_test_split(
        rows, test_size=TEST_FRACTION, stratify=table.columns[table.label], random_state=split_seed
    )
    return table.take(np.sort(train)), table.take(np.sort(test))


def sample_rows(generator, transform, labels, seed=0) -> tables.Table:
    """Decoded synthetic rows, one per requested class id in `labels`."""
    latent_dim = int(generator.inputs[0].shape[-1])
    noise = np.random.default_rng(seed).standard_normal((len(labels), latent_dim)).astype(np.float32)
    encoded = generator.predict([noise, np.asarray(labels, np.int32)], batch_size=1024, verbose=0)
    return transform.decode(encoded, labels)


def _design(table, transform):
    """Numeric design matrix for scikit-learn models and distances: the encoded features."""
    return transform.encode(table).astype(np.float64)


def table_classifiers(seed=0) -> dict:
    """The scikit-learn models that judge synthetic rows (TSTR), by name: each value makes a fresh one."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic_regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "random_forest": lambda: RandomForestClassifier(n_estimators=200, random_state=seed),
    }


def synthesis_figures(synthetic, train, test, transform, seed=0) -> dict:
    """TSTR/TRTR accuracies, fidelity and privacy figures (see the module docstring)."""
    from scipy.stats import ks_2samp
    from sklearn.neighbors import NearestNeighbors

    x_syn, x_tr, x_te = (_design(t, transform) for t in (synthetic, train, test))
    y_syn, y_tr, y_te = (transform.labels(t) for t in (synthetic, train, test))
    tstr, trtr = {}, {}
    for name, make in table_classifiers(seed).items():
        if len(np.unique(y_syn)) > 1:
            tstr[name] = float(make().fit(x_syn, y_syn).score(x_te, y_te))
        trtr[name] = float(make().fit(x_tr, y_tr).score(x_te, y_te))

    columns = {}
    numeric = [n for n in train.features if train.kinds[n] != "categorical"]
    for name in train.features:
        real, fake = train.columns[name], synthetic.columns[name]
        if train.kinds[name] == "categorical":
            cats = sorted(set(real.tolist()) | set(fake.tolist()))
            p = np.array([np.mean(real == c) for c in cats])
            q = np.array([np.mean(fake == c) for c in cats])
            columns[name] = {"total_variation": float(0.5 * np.abs(p - q).sum())}
        else:
            columns[name] = {"ks": float(ks_2samp(real, fake).statistic)}
    fidelity = {
        "mean_ks": float(np.mean([c["ks"] for c in columns.values() if "ks" in c])) if numeric else None,
        "columns": columns,
    }
    if len(numeric) > 1:
        corr = [
            np.nan_to_num(np.corrcoef(np.stack([t.columns[n] for n in numeric]).astype(float)))
            for t in (train, synthetic)
        ]
        fidelity["correlation_mean_abs_diff"] = float(np.mean(np.abs(corr[0] - corr[1])))

    # Privacy: distances in the encoded space (quantile ranks, one-hot), standardised like the models'.
    nearest = NearestNeighbors(n_neighbors=1).fit(x_tr)
    dcr_synthetic = nearest.kneighbors(x_syn)[0][:, 0]
    dcr_holdout = nearest.kneighbors(x_te)[0][:, 0]
    seen = {row.tobytes() for row in x_tr.astype(np.float32)}
    copies = int(
        sum(row.tobytes() in seen for row in x_syn.astype(np.float32))
    )  # rows equal to a training row
    privacy = {
        "dcr_synthetic_median": float(np.median(dcr_synthetic)),
        "dcr_holdout_median": float(np.median(dcr_holdout)),
        "exact_copies": copies,
        "copies_flagged": copies > 0,
    }
    return {"rows": int(len(y_syn)), "tstr": tstr, "trtr": trtr, "fidelity": fidelity, "privacy": privacy}


@register_task
class Synthesis(Task):
    """The `synthesis` task: `tabular_gan`, a conditional WGAN-GP over encoded table rows.

    Reads a CSV (or `breast_cancer`), fits the table's encoding on the training rows, and judges
    synthetic rows by train-on-synthetic/test-on-real accuracy, column fidelity and distance to the
    real rows; deploys a table generator whose metadata decodes rows without TensorFlow.
    """

    name = "synthesis"
    data_kinds = ("tabular", "table")
    recipe_class = GANRecipe
    panels = [("d_loss", "g_loss"), ("d_real", "d_fake")]
    headline_keys = ("rows",)

    def headline(self, figures):
        tstr, trtr = figures.get("tstr", {}), figures.get("trtr", {})
        shown = {f"tstr_{k}": v for k, v in tstr.items()} | {f"trtr_{k}": v for k, v in trtr.items()}
        shown["exact_copies"] = figures.get("privacy", {}).get("exact_copies")
        return shown

    def _data(self, run_or_config, dataset):
        table = load_table(
            dataset, getattr(run_or_config, "csv", None), getattr(run_or_config, "column", None)
        )
        train, test = split_table(table, getattr(run_or_config, "split_seed", 0))
        return train, test, tables.TableTransform.fit(train)

    def prepare(self, run):
        train, test, transform = self._data(run, run.dataset)
        x = transform.encode(train)
        y = transform.labels(train)
        if run.recipe.batch_size > len(x):
            raise UsageError(f"batch_size={run.recipe.batch_size} is larger than the {len(x)} training rows.")
        train_ds = zdata.EpochOrder(len(x), run.recipe.batch_size, run.seed, drop_remainder=True).dataset(
            (x, y)
        )
        run.hparams.setdefault("seed", run.seed)
        run.derive(num_features=transform.width, groups=transform.groups, num_classes=len(transform.classes))
        model = run.build()
        if tuple(model.image_shape) != (transform.width,):
            raise UsageError(
                f"The table encodes to {transform.width} numbers a row but model '{run.entry.name}' makes "
                f"{model.image_shape[0]}. Drop the num_features override."
            )
        return Prepared(train_ds, None, model, {"train": train, "test": test, "transform": transform})

    def compile(self, prepared, run, steps):
        prepared.model.compile(**run.recipe.compile_options(steps))

    def finish(self, prepared, run, run_dir):
        model, extras = prepared.model, prepared.extras
        from kerazoo.models._common import save_with_keras_layers

        save_with_keras_layers(model.generator, run_dir / "generator.keras")
        transform, train = extras["transform"], extras["train"]
        synthetic = sample_rows(model.generator, transform, transform.labels(train), seed=run.seed)
        tables.write_csv(synthetic, run_dir / "synthetic.csv")
        history = model.history.history
        figures = {
            k: float(history[k][-1]) for k in ("d_loss", "g_loss", "d_real", "d_fake") if history.get(k)
        }
        figures.update(synthesis_figures(synthetic, train, extras["test"], transform, seed=run.seed))
        return figures

    def evaluate(self, model, config, run_dir, report, *, data_dir=None, n=10_000, evaluator=None, seed=0):
        train, test, transform = self._data(config, config.dataset)
        generator = model.generator if hasattr(model, "generator") else model
        synthetic = sample_rows(generator, transform, transform.labels(train), seed=seed)
        tables.write_csv(synthetic, report / "synthetic.csv", overwrite=True)
        return synthesis_figures(synthetic, train, test, transform, seed=seed)

    def report_rows(self, figures):
        from kerazoo.reports import synthesis_rows

        return synthesis_rows(figures)

    def servable(self, model, name, config):
        from kerazoo._registry import get_entry

        # A bare model is taken to be for its zoo entry's default table (breast_cancer, split 0).
        _, _, transform = self._data(config, config.dataset if config else get_entry(name).dataset)
        generator = model.generator if hasattr(model, "generator") else model
        width = int(generator.outputs[0].shape[-1])
        if width != transform.width:
            raise ExportError(
                f"'{name}' makes rows of {width} numbers but its table encodes to {transform.width}: export "
                "the run directory written by `kerazoo train`, which knows its table."
            )
        return TableGeneratorServable(
            generator,
            name,
            self,
            config,
            ("noise", "labels"),
            num_classes=len(transform.classes),
            stem="generator",
            transform=transform.to_json(),
        )


@dataclasses.dataclass
class TableGeneratorServable(GeneratorServable):
    """A table generator: `noise`, `labels` -> `rows` (encoded), verified on seeded noise; the
    metadata carries the table transform (`table_transform`), which turns rows into CSV columns
    without TensorFlow (`kerazoo.runtime.TableSampler`)."""

    transform: dict | None = None

    role = "table_generator"
    main_output = "rows"

    def outputs(self, x):
        """The signature's outputs: the encoded `rows`."""
        return {"rows": x}

    def extra_figures(self, figures, expected, actual, labels):
        pass

    def check_quantized(self, figures, expected):
        return Servable.check_quantized(self, figures, expected)

    def processing(self):
        return {
            "preprocessing": f"noise: float32 draws from N(0, 1); labels: int32 class ids in 0..{self.num_classes - 1}",
            "postprocessing": "rows: encoded table rows; table_transform decodes them into CSV columns",
        }

    def metadata(self):
        return {**super().metadata(), "value_range": None, "table_transform": self.transform}

    def after_export(self, run_dir, results, seed):
        pass
