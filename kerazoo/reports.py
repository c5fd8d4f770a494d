"""Readable evaluation reports: `report.md` and a self-contained `report.html` for `kerazoo evaluate`.

A report is a table of the run's figures, each beside the real data's own figure where there is one
and with a one-line verdict in words, then the run's pictures with a caption each, then the raw
figures. What the rows are is the run's task's (`kerazoo.tasks.Task.report_rows`); this module holds
the row builders the tasks share, the captions and the writers.

Everything taken from run files (the model's name, the data set's, figure names, captions) is
escaped in the HTML, so a run or model named with markup shows as text.

Example:
    ```python
    rows = generative_rows(figures)        # figures from kerazoo.evaluation.evaluate_generator
    write_reports(folder, "dcgan", "generation", figures, rows)
    ```
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
from pathlib import Path

__all__ = [
    "Row",
    "generative_rows",
    "classification_rows",
    "forecast_rows",
    "reconstruction_rows",
    "translation_rows",
    "synthesis_rows",
    "scalar_rows",
    "caption",
    "write_reports",
]


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a report's table: a figure, the run's value, the real data's value ("" where there
    is none) and a verdict in words."""

    figure: str
    value: str
    real: str = ""
    verdict: str = ""


def _pct(x) -> str:
    return f"{100 * x:.1f}%"


def _ratio_words(value: float, real: float) -> str:
    """How far a distance is from the real data's own (both lower-is-better)."""
    if real <= 0:
        return "close to" if value <= 1e-6 else "away from"
    ratio = value / real
    if ratio <= 2:
        return "close to"
    if ratio <= 10:
        return "some way from"
    return "far from"


def generative_rows(figures: dict) -> list:
    """Rows for sampled images judged by the evaluator (`evaluate_generator`'s figures)."""
    s, real = figures.get("samples", {}), figures.get("real_test_vs_train", {})
    if not s:
        return []
    rows = []
    if "fid" in s:
        words = _ratio_words(s["fid"], real.get("fid", 0.0))
        rows.append(
            Row(
                "classifier FID (lower is better)",
                f"{s['fid']:.2f}",
                f"{real.get('fid', float('nan')):.2f}",
                f"FID {s['fid']:.2f}: the samples' features are {words} the real ones "
                f"(real data: {real.get('fid', float('nan')):.2f})",
            )
        )
    if "classifier_score" in s:
        v, r = s["classifier_score"], real.get("classifier_score", 0.0)
        words = "about as clear and varied as" if v >= 0.9 * r else "less clear or less varied than"
        rows.append(
            Row(
                "classifier score (higher is better)",
                f"{v:.2f}",
                f"{r:.2f}",
                f"score {v:.2f}: the samples are {words} the real data (real: {r:.2f})",
            )
        )
    if "confident_share" in s:
        v, r = s["confident_share"], real.get("confident_share", 0.0)
        rows.append(
            Row(
                "confidently classified (p >= 0.9)",
                _pct(v),
                _pct(r),
                f"{_pct(v)} of the samples look clearly like one class (real data: {_pct(r)})",
            )
        )
    if "classes_present" in s:
        n = len(s.get("class_share", [])) or s["classes_present"]
        k = s["classes_present"]
        verdict = (
            f"all {n} classes appear"
            if k >= n
            else f"only {k} of {n} classes appear: a sign of mode collapse"
        )
        if s.get("class_share") and k >= n:
            verdict += f", each {_pct(min(s['class_share']))}-{_pct(max(s['class_share']))} of the samples"
        rows.append(Row("classes present", str(k), str(real.get("classes_present", "")), verdict))
    if "precision" in s:
        rows.append(
            Row(
                "precision (fidelity)",
                f"{s['precision']:.3f}",
                f"{real.get('precision', float('nan')):.3f}",
                f"{_pct(s['precision'])} of the samples lie where real data lies",
            )
        )
    if "recall" in s:
        rows.append(
            Row(
                "recall (diversity)",
                f"{s['recall']:.3f}",
                f"{real.get('recall', float('nan')):.3f}",
                f"the samples cover {_pct(s['recall'])} of the real data's variety",
            )
        )
    if "requested_accuracy" in s:
        rows.append(
            Row(
                "the class asked for",
                _pct(s["requested_accuracy"]),
                "",
                f"{_pct(s['requested_accuracy'])} of the samples are classified as the class they were asked for",
            )
        )
    m = s.get("memorisation")
    if m:
        sample, test = m["sample_nn_distance_median"], m["test_nn_distance_median"]
        if m["memorises"]:
            verdict = f"memorisation: {_pct(m['near_copy_share'])} of the samples are near copies of training images"
        elif sample >= test:
            verdict = "no memorisation: the nearest training images are farther than the test set's"
        else:
            verdict = (
                "no memorisation flagged, but the samples sit closer to training images than the test set does "
                f"({_pct(m['near_copy_share'])} near copies)"
            )
        rows.append(
            Row(
                "distance to the nearest training image (median)",
                f"{sample:.2f}",
                f"{test:.2f}",
                verdict,
            )
        )
    evaluator_row = _evaluator_row(figures.get("evaluator"))
    return rows + ([evaluator_row] if evaluator_row else [])


def _evaluator_row(info):
    """Which classifier judged the images: the pinned one (comparable on any machine) or not."""
    if not info or "weights_sha256" not in info:
        return None
    short = info["weights_sha256"][:12]
    accuracy = info.get("test_accuracy")
    accuracy = f", {_pct(accuracy)} test accuracy" if accuracy is not None else ""
    if info.get("pinned"):
        verdict = (
            f"the pinned evaluator shipped with kerazoo for '{info.get('dataset', '?')}'{accuracy}: "
            "figures comparable with any other judged by it, on any machine"
        )
        return Row("evaluator", f"pinned, weights sha256 {short}", "", verdict)
    where = "trained on this machine and cached" if info.get("trained_here") else "given with --evaluator"
    verdict = (
        f"{where} ({info.get('path', '?')}{accuracy}): compare these figures only with figures "
        "judged by the same evaluator (the same weights hash)"
    )
    return Row("evaluator", f"weights sha256 {short}", "", verdict)


def classification_rows(figures: dict) -> list:
    """Rows for a classifier's test figures (accuracy, the confusion matrix)."""
    rows = []
    if "accuracy" in figures:
        rows.append(
            Row(
                "test accuracy",
                f"{100 * figures['accuracy']:.2f}%",
                "",
                f"{100 * figures['accuracy']:.2f}% of {figures.get('n', '?')} test examples classified right",
            )
        )
    matrix = figures.get("confusion_matrix")
    if matrix:
        pairs = [
            (matrix[i][j], i, j)
            for i in range(len(matrix))
            for j in range(len(matrix))
            if i != j and matrix[i][j]
        ]
        if pairs:
            count, i, j = max(pairs)
            rows.append(
                Row(
                    "most confused",
                    f"{i} -> {j}",
                    "",
                    f"class {i} was taken for class {j} in {count} test example{'s' if count > 1 else ''}",
                )
            )
    per_class = figures.get("per_class", {})
    if per_class:
        worst = min(per_class, key=lambda c: per_class[c]["recall"])
        rows.append(
            Row(
                "weakest class (recall)",
                f"{worst}: {_pct(per_class[worst]['recall'])}",
                "",
                f"class {worst} is recognised least often",
            )
        )
    return rows


def forecast_rows(figures: dict) -> list:
    """Rows for a forecaster's test figures against persistence and seasonal naive."""
    rows = []
    if "test_rmse" in figures:
        rmse = figures["test_rmse"]
        for key, name in (("persistence_rmse", "persistence"), ("seasonal_naive_rmse", "seasonal naive")):
            if key in figures:
                base = figures[key]
                better = (1 - rmse / base) if base else 0.0
                words = f"{_pct(better)} below" if better >= 0 else f"{_pct(-better)} above"
                rows.append(
                    Row(
                        f"test RMSE vs {name}",
                        f"{rmse:.3g}",
                        f"{base:.3g}",
                        f"RMSE {rmse:.3g}: {words} {name}'s",
                    )
                )
    for key, name in (("test_mae", "test MAE"), ("test_mape", "test MAPE (%)")):
        if key in figures:
            rows.append(Row(name, f"{figures[key]:.3g}"))
    return rows


def reconstruction_rows(figures: dict) -> list:
    """Rows for an autoencoder's reconstruction error (and a VAE's samples)."""
    rows = generative_rows(figures)
    r = figures.get("reconstruction", figures)
    if "test_reconstruction_mse" in r:
        v = r["test_reconstruction_mse"]
        rows.append(
            Row(
                "reconstruction MSE per pixel",
                f"{v:.4f}",
                "",
                f"the reconstructions are {v**0.5:.3f} off per pixel on average (root of the MSE, [0, 1] scale)",
            )
        )
    return rows


def translation_rows(figures: dict) -> list:
    """Rows for a translator's figures against its baselines (identity or bicubic)."""
    rows = []
    baselines = figures.get("baselines", {})
    name, base = next(iter(baselines.items()), (None, {}))
    if "psnr" in figures:
        verdict = f"PSNR {figures['psnr']:.2f} dB"
        if base:
            gain = figures["psnr"] - base["psnr"]
            verdict += f": {gain:+.2f} dB against the {name} baseline"
        rows.append(Row("PSNR (dB, higher is better)", f"{figures['psnr']:.2f}", "", verdict))
    if "l1" in figures:
        rows.append(
            Row(
                "L1 ([-1, 1] scale)",
                f"{figures['l1']:.4f}",
                "",
                f"{name} baseline: {base['l1']:.4f}" if base else "",
            )
        )
    if "ssim" in figures:
        rows.append(
            Row("SSIM", f"{figures['ssim']:.3f}", "", f"{name} baseline: {base['ssim']:.3f}" if base else "")
        )
    if "sharpness_ratio" in figures:
        v = figures["sharpness_ratio"]
        words = "blurrier than" if v < 0.85 else ("sharper than" if v > 1.15 else "about as sharp as")
        rows.append(
            Row("sharpness / the targets'", f"{v:.2f}", "1.00", f"the outputs are {words} the real targets")
        )
    if "classifier_accuracy" in figures:
        v, r = figures["classifier_accuracy"], figures.get("classifier_accuracy_real", 0.0)
        rows.append(
            Row(
                "evaluator's accuracy on the outputs",
                _pct(v),
                _pct(r),
                f"the evaluator recognises {_pct(v)} of the outputs (the real targets: {_pct(r)})",
            )
        )
    if "map_colour_accuracy" in figures:
        rows.append(
            Row(
                "right map colour",
                _pct(figures["map_colour_accuracy"]),
                "",
                "share of pixels given the right colour",
            )
        )
    evaluator_row = _evaluator_row(figures.get("evaluator"))
    return rows + ([evaluator_row] if evaluator_row else [])


def synthesis_rows(figures: dict) -> list:
    """Rows for a table synthesizer: train-on-synthetic against train-on-real, fidelity, privacy."""
    rows = []
    tstr, trtr = figures.get("tstr", {}), figures.get("trtr", {})
    for model in tstr:
        v, r = tstr[model], trtr.get(model, float("nan"))
        rows.append(
            Row(
                f"{model.replace('_', ' ')}: trained on synthetic rows",
                _pct(v),
                _pct(r),
                f"trained on synthetic rows it scores {100 * (v - r):+.1f} points against training on real rows",
            )
        )
    fidelity = figures.get("fidelity", {})
    if fidelity.get("mean_ks") is not None:
        v = fidelity["mean_ks"]
        words = "close to" if v < 0.1 else "some way from"
        rows.append(
            Row(
                "mean Kolmogorov-Smirnov",
                f"{v:.3f}",
                "0",
                f"the columns' distributions are {words} the real ones",
            )
        )
    privacy = figures.get("privacy", {})
    if privacy:
        v, r = privacy["dcr_synthetic_median"], privacy["dcr_holdout_median"]
        verdict = (
            f"{privacy['exact_copies']} exact copies of training rows"
            if privacy.get("copies_flagged")
            else (
                "no copies: synthetic rows are no closer to the training rows than unseen real rows"
                if v >= 0.9 * r
                else "no exact copies, but synthetic rows sit closer to the training rows than unseen real rows"
            )
        )
        rows.append(Row("distance to the closest training row (median)", f"{v:.3f}", f"{r:.3f}", verdict))
    return rows


def scalar_rows(figures: dict) -> list:
    """Every scalar figure as a row, without a verdict (the default for a task)."""
    return [
        Row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
        for k, v in figures.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("eval_seconds",)
    ]


CAPTIONS = {
    "samples": "64 samples from seeded noise, drawn by the Keras model.",
    "samples_by_class": "Samples by class: one row per class asked for.",
    "nearest_training": "Top: samples; bottom: the nearest training image to each (pixel distance). Near copies would look alike.",
    "progression": "The same fixed noise after the first, middle and last epoch.",
    "progression.gif": "The same fixed noise after every epoch, animated.",
    "training_curves": "The training curves logged by `fit`.",
    "confusion_matrix": "The confusion matrix on the test split: rows are the true classes, columns the predicted.",
    "worst_mistakes": "The test images misclassified with the highest confidence: true and predicted class above each.",
    "reconstructions": "Top: test images; bottom: their reconstructions.",
    "triplets": "Input | output | real target, for fixed test pairs.",
    "forecast": "The one-step forecast over the test months, against the actual series.",
}


def caption(filename: str) -> str:
    """The caption of a report picture, by its file name."""
    return CAPTIONS.get(filename, CAPTIONS.get(Path(filename).stem, Path(filename).stem.replace("_", " ")))


def _pictures(folder: Path) -> list:
    return sorted(folder.glob("*.png")) + sorted(folder.glob("*.gif"))


def _raw(figures: dict) -> str:
    return json.dumps({k: v for k, v in figures.items() if k != "confusion_matrix"}, indent=2)


def _columns(rows) -> list:
    """The table's columns: "real data" only where some row has a real-data figure."""
    columns = ["figure", "this run", "real data", "verdict"]
    return columns if any(r.real for r in rows) else [c for c in columns if c != "real data"]


def _cells(row, columns) -> list:
    values = {"figure": row.figure, "this run": row.value, "real data": row.real, "verdict": row.verdict}
    return [values[c] for c in columns]


def _markdown(title: str, rows: list, folder: Path, figures: dict) -> str:
    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", ""]
    if rows:
        columns = _columns(rows)
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cell(v) for v in _cells(r, columns)) + " |" for r in rows]
        lines.append("")
    for picture in _pictures(folder):
        lines += [f"![{picture.stem}]({picture.name})", "", f"*{caption(picture.name)}*", ""]
    lines += ["## Raw figures", "", "```json", _raw(figures), "```"]
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f4f4f4}figure{margin:1.5rem 0}img{max-width:100%;image-rendering:pixelated}
figcaption{color:#555;font-size:.9rem}pre{background:#f7f7f7;padding:1rem;overflow:auto;font-size:.8rem}
"""


def _html(title: str, rows: list, folder: Path, figures: dict) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    if rows:
        columns = _columns(rows)
        parts.append(
            "<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr></thead><tbody>"
        )
        parts += ["<tr>" + "".join(f"<td>{e(v)}</td>" for v in _cells(r, columns)) + "</tr>" for r in rows]
        parts.append("</tbody></table>")
    for picture in _pictures(folder):
        kind = "gif" if picture.suffix == ".gif" else "png"
        data = base64.b64encode(picture.read_bytes()).decode("ascii")
        parts.append(
            f'<figure><img alt="{e(picture.stem)}" src="data:image/{kind};base64,{data}">'
            f"<figcaption>{e(caption(picture.name))}</figcaption></figure>"
        )
    parts += ["<h2>Raw figures</h2>", f"<pre>{e(_raw(figures))}</pre>", "</body></html>"]
    return "\n".join(parts) + "\n"


def write_reports(folder, model: str, task: str, figures: dict, rows: list) -> None:
    """Write `report.md` and a self-contained `report.html` (pictures embedded) into `folder`, from
    the pictures already there, the rows and the raw figures."""
    folder = Path(folder)
    title = f"Evaluation of {model} ({task})"
    (folder / "report.md").write_text(_markdown(title, rows, folder, figures))
    (folder / "report.html").write_text(_html(title, rows, folder, figures))
