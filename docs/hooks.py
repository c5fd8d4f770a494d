"""mkdocs hooks: the pages and tables generated at build time.

- `<!-- table: NAME -->` in a page becomes the table `TABLES[NAME]` renders from
  `benchmarks/results/*.json` (an unknown name fails the build). No figure table is typed by hand.
- The zoo: `zoo/index.md` and one model card `zoo/NAME.md` per registered model (the registry, the
  builder's docstring, `benchmarks/results/gallery.json` and the MNIST results).
- The gallery (`gallery.md`): every model's picture from `benchmarks/gallery.py`.
- The literate programs: `train/*.py` and `export/*.py` as pages (`examples/...`), each with its
  notebook (`.ipynb`) beside it, keras.io's way: one source, a page and a notebook.

`tests/test_docs.py` imports this file to check README's headline figures against the same tables.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"<!-- table: ([a-z0-9_]+) -->")
GALLERY = "assets/gallery"

# --- the results files -------------------------------------------------------------------------


def results(name: str) -> dict:
    """`benchmarks/results/NAME.json` ({} if it has not been written)."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _footer(names, text="") -> str:
    """A table's footer: the results files it is generated from, then `text`."""
    files = ", ".join(f"`benchmarks/results/{n}.json`" for n in names)
    return f"\n\n<small>Generated from {files} when the site is built.{text}</small>\n"


def _source(*names) -> str:
    machine = _machine(results(names[0]).get("machine", {})) if names else ""
    for part, where in (results(names[0]).get("machine_by_part", {}) if names else {}).items():
        machine += f" `{part}`:" + _machine(where)  # parts rerun on another machine
    judge = _evaluator(results(names[0])) if names else ""
    return _footer(names, machine + judge)


def _row_source(name: str, row: dict) -> str:
    """`_source` for a table of one run of a results file whose runs record their own machine and
    evaluator (as gan.json's do)."""
    return _footer([name], _machine(row.get("machine", {})) + _evaluator(row))


_DATASET_NAMES = {"mnist": "MNIST", "digits": "`digits`"}


def _pinned() -> dict:
    path = ROOT / "kerazoo" / "_data" / "evaluators" / "evaluators.json"
    return json.loads(path.read_text())["evaluators"] if path.is_file() else {}


def _evaluator(data: dict) -> str:
    """Which evaluator judged a results file's samples, as far as it says."""
    record = data.get("evaluator")
    runs = [
        m.get("figures", {}).get("evaluator") for m in data.get("models", {}).values() if isinstance(m, dict)
    ]
    runs = [r for r in runs if isinstance(r, dict)]
    if runs:  # the gallery: one record per judged run
        pinned = sorted(
            {f"{r.get('dataset', '?')} {r['weights_sha256'][:12]}" for r in runs if r.get("pinned")}
        )
        others = [r for r in runs if not r.get("pinned")]
        text = f" Samples judged by the pinned evaluators ({', '.join(pinned)})." if pinned else ""
        return text + (f" {len(others)} run(s) judged by an unpinned evaluator." if others else "")
    if isinstance(record, dict) and "weights_sha256" in record:
        which = (
            f"the pinned {_DATASET_NAMES.get(record.get('dataset', 'mnist'), record.get('dataset'))} evaluator"
            if record.get("pinned")
            else "an evaluator trained on the machine"
        )
        return f" Samples judged by {which} (weights sha256 {record['weights_sha256'][:12]})."
    accuracy = data.get("evaluator_test_accuracy")
    if accuracy is None:
        return ""
    pinned = _pinned().get("mnist", {})
    if accuracy == pinned.get("test_accuracy"):
        return (
            " Samples judged by an evaluator recorded before the evaluators were pinned, with exactly the "
            f"pinned MNIST evaluator's test accuracy ({_pct(accuracy, 2)}; rebuilt, it has the same weights)."
        )
    return (
        f" Samples judged by an earlier, unpinned evaluator (test accuracy {_pct(accuracy, 2)}): these figures "
        "are not yet rerun with the pinned one."
    )


_BF16_UNITS = (("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX"))  # cpu_flags keys, their names


def _machine(machine: dict) -> str:
    """The machine a results file was measured on, as far as it says (files written before the
    CPU model was recorded give only the core count)."""
    if not machine:
        return ""
    cores = machine.get("cpus") or machine.get("cores")
    text = f" Measured on {machine.get('cpu', 'a CPU not recorded')}" + (f", {cores} cores" if cores else "")
    flags = machine.get("cpu_flags")
    if flags:
        units = [name for key, name in _BF16_UNITS if flags.get(key)]
        missing = [name for key, name in _BF16_UNITS if not flags.get(key)]
        text += (
            f" ({', '.join(units) or 'no bfloat16 units'}"
            + (f"; no {' or '.join(missing)}" if units and missing else "")
            + ")"
        )
    if machine.get("gpus"):
        text += f", {machine['gpus']} GPU(s)"
    if machine.get("recorded"):
        text += " (the CPU recorded afterwards: see the file's `machine.recorded`)"
    return text + "."


def _table(header, rows) -> str:
    def cell(value):
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(x, digits=1) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}%"


def _num(x, digits=2) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


def _minutes(seconds) -> str:
    if seconds is None:
        return ""
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _mean_std(d, digits=2, percent=True) -> str:
    scale = 100 if percent else 1
    text = f"{scale * d['mean']:.{digits}f}{'%' if percent else ''} ± {scale * d['std']:.{digits}f}"
    return text


def _zoo_module():
    spec = importlib.util.spec_from_file_location("kerazoo_bench_zoo", ROOT / "benchmarks" / "zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the tables --------------------------------------------------------------------------------


def table_zoo() -> str:
    zoo = _zoo_module()
    header = ("model", "data", "figure", "published anchor", "comparable?", "epochs", "train time")
    return _table(header, zoo.rows()) + _source("classic", "gan", "autoencoders")


def table_classic() -> str:
    zoo = _zoo_module()
    keep = {"neuron", "xor_net", "linear_regression", "cnn", "mlp", "tabular_mlp", "lstm_forecaster"}
    header = ("model", "data", "figure", "published anchor", "comparable?", "epochs", "train time")
    return _table(header, [r for r in zoo.rows() if r[0] in keep]) + _source("classic")


def _gan_rows(gans: dict):
    yield from gans.items()


def table_gan_runs(file="gan") -> str:
    gans = results(file).get("gans", {})
    header = (
        "run (model, recipe overrides)",
        "epochs",
        "train time",
        "images/s",
        "confident (p >= 0.9)",
        "digits present",
        "class share min-max",
        "asked-for digit",
        "evaluator",
        "CPU",
    )
    top = results(file).get("evaluator_test_accuracy")
    machine = results(file).get("machine", {})
    rows = [
        (
            f"`{label}`",
            r["epochs"],
            _minutes(r["train_seconds"]) + ("*" if r.get("timing_note") else ""),
            _num(r.get("images_per_second"), 0) + ("*" if r.get("timing_note") else ""),
            _pct(r["confident_share"]),
            r["digits_present"],
            f"{_pct(r['min_class_share'])}-{_pct(r['max_class_share'])}",
            _pct(r.get("requested_accuracy")) or "-",
            _evaluator_cell(r, top),
            _cpu_cell(r.get("machine") or machine),
        )
        for label, r in _gan_rows(gans)
    ]
    return _table(header, rows) + _timing_notes(gans) + _rows_source(file)


def _cpu_cell(machine: dict) -> str:
    """A run's CPU, short: its model and bfloat16 units (** where recorded after the run)."""
    flags = machine.get("cpu_flags", {})
    units = [name for key, name in _BF16_UNITS if flags.get(key)][-1:]  # the faster unit it has
    cpu = machine.get("cpu", "not recorded") + (f" ({units[0]})" if units else "")
    return cpu + ("**" if machine.get("recorded") else "")


def _rows_source(file: str) -> str:
    """The footer of the tables of a file whose runs record their own machine (the runs table's CPU
    column; a run without one ran on the file's): the file, and what ** in that column means."""
    data = results(file)
    machines = [r.get("machine") or data.get("machine", {}) for r in data.get("gans", {}).values()]
    afterwards = any(m.get("recorded") for m in machines)
    note = (
        " ** The CPU recorded afterwards: these runs predate the script's CPU record (every run before "
        "2026-12-04 ran on the Intel Xeon; see each row's `machine.recorded`)."
        if afterwards
        else ""
    )
    return _footer(
        [file], f" Each run records its own CPU and evaluator (the runs table's last two columns).{note}"
    )


def _evaluator_cell(row: dict, file_accuracy=None) -> str:
    """Which evaluator judged a run: the pinned one kerazoo ships (its hash's first 12 characters),
    or one retrained on the machine (its MNIST test accuracy, the row's own or the file's)."""
    record = row.get("evaluator") or {}
    if record.get("pinned"):
        return f"pinned `{record['weights_sha256'][:12]}`"
    accuracy = record.get("test_accuracy", row.get("evaluator_test_accuracy", file_accuracy))
    return f"retrained ({_pct(accuracy, 2)} test accuracy)" if accuracy is not None else "retrained"


def table_gan_quality(file="gan") -> str:
    gans = results(file).get("gans", {})
    header = (
        "run",
        "classifier FID",
        "real data's FID",
        "classifier score, 10 splits",
        "score, batches of 32",
        "precision",
        "recall",
        "near copies",
    )
    rows = []
    for label, r in _gan_rows(gans):
        q, real = r.get("quality"), r.get("real_test_vs_train", {})
        if not q:
            continue
        rows.append(
            (
                f"`{label}`",
                _num(q["fid"]),
                _num(real.get("fid")),
                _num(q["classifier_score"]),
                _num(q["classifier_score_b32"]),
                _num(q["precision"], 3),
                _num(q["recall"], 3),
                ("yes: " if q.get("memorises") else "no: ") + _pct(q.get("near_copy_share", 0)),
            )
        )
    return _table(header, rows) + _rows_source(file)


def table_gan_equal_epochs() -> str:
    return table_gan_runs("gan_equal_epochs") + "\n\n" + table_gan_quality("gan_equal_epochs")


def table_gan_retuned() -> str:
    """The `dcgan` recipe of 2026-12-06 (tuned for the main job on the digits) on MNIST."""
    data = results("gan_retuned")
    if not data:
        return "not measured yet" + _source("gan_retuned")
    curves = "\n\n".join(
        f"`{label}` after each epoch:\n\n" + _by_epoch(label, "gan_retuned") for label in data["gans"]
    )
    return table_gan_runs("gan_retuned") + "\n\n" + table_gan_quality("gan_retuned") + "\n\n" + curves


def _by_epoch(label, file="gan") -> str:
    r = results(file).get("gans", {}).get(label, {})
    epochs = r.get("by_epoch", [])
    if not epochs:
        return "not recorded"
    header = ["epoch"] + [str(i) for i in range(1, len(epochs) + 1)]
    raw = ["confident, raw weights"] + [_pct(e["confident_share"]) for e in epochs]
    rows = [raw]
    if any("averaged" in e for e in epochs):
        rows.append(
            ["confident, averaged"] + [_pct(e.get("averaged", {}).get("confident_share")) for e in epochs]
        )
    if any("seconds" in e for e in epochs):
        rows.append(
            ["minutes of training"] + [_num(e["seconds"] / 60, 1) if "seconds" in e else "" for e in epochs]
        )
    return _table(header, rows) + _source(file)


def table_gan_curves() -> str:
    gans = results("gan").get("gans", {})
    parts = []
    for label, r in gans.items():
        if r.get("by_epoch") and not label.startswith("progan"):
            parts.append(f"`{label}`\n\n" + _by_epoch(label))
    return "\n\n".join(parts)


def _progan_label() -> str:
    zoo = _zoo_module()
    return zoo._gan_label("progan")


def table_progan_phases() -> str:
    r = results("gan").get("gans", {}).get(_progan_label(), {})
    phases = r.get("phases", [])
    rows = [
        (p["label"], f"{p['images']:,}", _minutes(p["seconds"]), _num(p["images_per_second"], 0))
        for p in phases
    ]
    if phases:
        images, seconds = sum(p["images"] for p in phases), sum(p["seconds"] for p in phases)
        rows.append(("all", f"{images:,}", _minutes(seconds), _num(images / seconds, 0)))
    return (
        _table(("phase", "real images", "time", "images/s"), rows)
        + _timing_notes({_progan_label(): r})
        + _row_source("gan", r)
    )


def table_progan_curve() -> str:
    return f"`{_progan_label()}`\n\n" + _by_epoch(_progan_label())


def _stylegan_label() -> str:
    zoo = _zoo_module()
    return zoo._gan_label("stylegan")


def table_stylegan() -> str:
    """StyleGAN on MNIST beside the DCGAN at equal training time and at the end of its own run."""
    data = results("stylegan")
    gans = results("gan").get("gans", {})
    sg = gans.get(_stylegan_label(), {})
    header = (
        "run",
        "epochs",
        "train time",
        "images/s",
        "confident (p >= 0.9)",
        "class share min-max",
        "classifier FID",
        "precision / recall",
        "near copies",
    )
    rows = []

    def quality(q):
        if not q:
            return ("", "", "")
        copies = ("yes: " if q.get("memorises") else "no: ") + _pct(q.get("near_copy_share", 0))
        return (_num(q["fid"]), f"{_num(q['precision'], 3)} / {_num(q['recall'], 3)}", copies)

    if sg:
        rows.append(
            (
                f"`{_stylegan_label()}`",
                sg["epochs"],
                _minutes(sg["train_seconds"]),
                _num(sg.get("images_per_second"), 0),
                _pct(sg["confident_share"]),
                f"{_pct(sg['min_class_share'])}-{_pct(sg['max_class_share'])}",
                *quality(sg.get("quality")),
            )
        )
    equal = data.get("dcgan_at_equal_time")
    if equal:
        rows.append(
            (
                "`dcgan`, at StyleGAN's training time",
                equal["epochs"],
                _minutes(equal["seconds"]),
                "",
                _pct(equal["confident_share"]),
                f"{_pct(equal['min_class_share'])}-{_pct(equal['max_class_share'])}",
                "not recorded",
                "",
                "",
            )
        )
    dcgan = gans.get("dcgan")
    if dcgan:
        rows.append(
            (
                "`dcgan`, its whole run",
                dcgan["epochs"],
                _minutes(dcgan["train_seconds"]),
                _num(dcgan.get("images_per_second"), 0),
                _pct(dcgan["confident_share"]),
                f"{_pct(dcgan['min_class_share'])}-{_pct(dcgan['max_class_share'])}",
                *quality(dcgan.get("quality")),
            )
        )
    real = sg.get("real_test_vs_train") or {}
    if real:
        rows.append(
            (
                "real test images vs train (this evaluator)",
                "",
                "",
                "",
                "",
                "",
                _num(real.get("fid")),
                f"{_num(real.get('precision'), 3)} / {_num(real.get('recall'), 3)}",
                "",
            )
        )
    return _table(header, rows) + _source("gan", "stylegan")


def table_stylegan_curve() -> str:
    return f"`{_stylegan_label()}`\n\n" + _by_epoch(_stylegan_label())


def table_stylegan_ppl() -> str:
    ppl = results("stylegan").get("path_length")
    if not ppl:
        return _table(("path", "perceptual path length"), [("z and w", "not measured yet")]) + _source(
            "stylegan"
        )
    rows = [
        (f"in {space}", _num(ppl[space]["ppl"], 1), _num(ppl[space]["median"], 1), f"{ppl[space]['n']:,}")
        for space in ("z", "w")
    ]
    return _table(("path", "perceptual path length (trimmed mean)", "median", "pairs kept"), rows) + _source(
        "stylegan"
    )


def table_stylegan_digits() -> str:
    r = results("stylegan").get("digits")
    if not r:
        return _table(
            ("run", "figures"), [("`kerazoo train stylegan` on `digits`", "not measured yet")]
        ) + _source("stylegan")
    rows = [
        (
            "`kerazoo train stylegan` (its defaults, `digits`)",
            r["epochs"],
            _minutes(r["train_seconds"]),
            _num(r["images_per_second"], 0),
            _pct(r["confident_share"]),
            r["digits_present"],
            f"{_pct(r['min_class_share'])}-{_pct(r['max_class_share'])}",
            _pct(r["judge_test_accuracy"]),
        )
    ]
    header = (
        "run",
        "epochs",
        "train time",
        "images/s",
        "confident (p >= 0.9)",
        "digits present",
        "class share min-max",
        "judge's test accuracy",
    )
    return _table(header, rows) + _source("stylegan")


def table_stylegan_sweep() -> str:
    """The short probes of `benchmarks/stylegan.py --sweep`: each entry's figures after every check."""
    sweep = results("stylegan").get("sweep", {})
    if not sweep:
        return _table(("probe", "figures"), [("`--sweep`", "not measured yet")]) + _source("stylegan")
    rows = []
    for name, entry in sweep.items():
        for i, check in enumerate(entry["checks"]):
            rows.append(
                (
                    name if i == 0 else "",  # the probe named once, on its first check
                    check["steps"],
                    _pct(check["confident_share"]),
                    check["digits_present"],
                    _pct(check["max_class_share"]),
                    _num(check["spread_across_z"]),
                    _num(check["d_real"]) if "d_real" in check else "",
                    _num(check["d_fake"]),
                )
            )
    header = (
        "probe (seed 0, batch 64, raw generator)",
        "steps",
        "confident (p >= 0.9)",
        "digits present",
        "largest class",
        "spread across z",
        "D(real)",
        "D(fake)",
    )
    machine = _machine(results("stylegan").get("sweep_machine", {}))
    return (
        _table(header, rows) + _source("stylegan") + (f"<small>Probes:{machine}</small>\n" if machine else "")
    )


def table_stylegan_fit() -> str:
    """`benchmarks/stylegan.py --fit`: each generator fitted to MNIST images without an adversary."""
    fit = results("stylegan").get("fit")
    if not fit:
        return _table(("probe", "figures"), [("`--fit`", "not measured yet")]) + _source("stylegan")
    rows = []
    for name, entry in fit["generators"].items():
        for i, check in enumerate(entry["checks"]):
            rows.append(
                (
                    name if i == 0 else "",
                    check["steps"],
                    _num(check["mse"], 4),
                    _num(check["spread_across_z"], 3),
                    _num(check["seconds"], 0) + ("*" if entry.get("timing_note") else ""),
                )
            )
    header = ("generator (seed 0, batch 64)", "steps", "MSE", "spread across latents", "seconds")
    note = (
        f"\n\n<small>Generated from `benchmarks/results/stylegan.json` (`fit`) when the site is built. "
        f"{fit['images']} MNIST training images from as many fixed latents. A generator "
        f"that ignores its latent can do no better than the mean image: MSE {fit['mean_image_mse']}; "
        f"the real images' spread: {fit['real_spread']}.{_machine(fit.get('machine', {}))}"
    )
    notes = {e["timing_note"] for e in fit["generators"].values() if e.get("timing_note")}
    note += "".join(f" *: {n}." for n in sorted(notes)) + "</small>\n"
    return _table(header, rows) + note


def table_translation() -> str:
    res = results("translation").get("results", {})
    header = (
        "contender",
        "model",
        "recipe",
        "data",
        "L1",
        "PSNR (dB)",
        "SSIM",
        "sharpness / targets'",
        "classifier on outputs (real)",
        "baseline PSNR",
        "epochs",
        "images/s",
        "train time",
    )
    rows = []
    for label, r in res.items():
        baseline = ", ".join(f"{k} {_num(v['psnr'])}" for k, v in r.get("baselines", {}).items())
        classifier = ""
        if "classifier_accuracy" in r:
            classifier = f"{_pct(r['classifier_accuracy'], 2)} ({_pct(r['classifier_accuracy_real'], 2)})"
            if "classifier_accuracy_bicubic" in r:
                classifier += f"; bicubic {_pct(r['classifier_accuracy_bicubic'], 2)}"
        if "map_colour_accuracy" in r:
            classifier = f"map colours {_pct(r['map_colour_accuracy'])}"
        recipe = ", ".join(f"{k}={v}" for k, v in r.get("recipe", {}).items())
        rows.append(
            (
                f"`{label}`",
                r["model"],
                recipe,
                r["dataset"],
                _num(r["l1"], 4),
                _num(r["psnr"]),
                _num(r["ssim"], 3),
                _num(r["sharpness_ratio"]),
                classifier,
                baseline,
                r["epochs"],
                _num(r["images_per_second"], 0),
                _minutes(r["train_seconds"]),
            )
        )
    return _table(header, rows) + _source("translation")


def table_synthesis() -> str:
    s = results("synthesis").get("summary", {})
    if not s:
        return "not measured yet" + _source("synthesis")
    rows = [
        (
            "logistic regression, test accuracy",
            _mean_std(s["tstr_logistic_regression"]),
            _mean_std(s["trtr_logistic_regression"]),
        ),
        (
            "random forest, test accuracy",
            _mean_std(s["tstr_random_forest"]),
            _mean_std(s["trtr_random_forest"]),
        ),
    ]
    table = _table(("figure", "train on synthetic (TSTR)", "train on real (TRTR)"), rows)
    other = _table(
        (
            "mean KS",
            "correlation difference",
            "DCR synthetic (median)",
            "DCR real test (median)",
            "exact copies",
            "training",
        ),
        [
            (
                _mean_std(s["mean_ks"], 3, False),
                _mean_std(s["correlation_mean_abs_diff"], 3, False),
                _num(s["dcr_synthetic_median"]["mean"], 3),
                _num(s["dcr_holdout_median"]["mean"], 3),
                s["exact_copies_total"],
                _minutes(s["train_seconds"]["mean"]),
            )
        ],
    )
    return table + "\n\n" + other + _source("synthesis")


def table_ctgan() -> str:
    rows = []
    for label, data in [("`tabular_gan`, its recipe", results("synthesis"))] + [
        (f"CTGAN, `{k}`", v) for k, v in results("ctgan_anchor").items()
    ]:
        s = data.get("summary")
        if not s:
            continue
        rows.append(
            (
                label,
                len(data.get("runs", [])),
                _mean_std(s["tstr_logistic_regression"]),
                _mean_std(s["tstr_random_forest"]),
                _num(s["mean_ks"]["mean"], 3),
                _num(s["correlation_mean_abs_diff"]["mean"], 3),
                _minutes(s["train_seconds"]["mean"]),
            )
        )
    header = (
        "synthesizer",
        "splits",
        "TSTR logistic regression",
        "TSTR random forest",
        "mean KS",
        "correlation diff",
        "training",
    )
    return _table(header, rows) + _source("synthesis", "ctgan_anchor")


def table_augment_cas() -> str:
    res = results("augment").get("results", {})
    rows = []
    for key in ("cas_e20", "cas_e20_seed1", "cas_e20_seed2", "cas_e10", "cas_e10_seed1", "cas_e10_seed2"):
        r = res.get(key)
        if r:
            rows.append(
                (
                    f"`{key}`",
                    r.get("cgan_epochs", key.split("_")[1][1:]),
                    _pct(r["accuracy_real"], 2),
                    _pct(r["accuracy_cgan"], 2),
                    _num(r["gap_points"]),
                )
            )
    table = _table(("run", "cgan epochs", "trained on real", "trained on cgan samples", "gap (points)"), rows)
    curve = res.get("cas_e20", {}).get("accuracy_cgan_by_epoch", {})
    if curve:
        epochs = sorted(curve, key=int)
        real = res["cas_e20"]["accuracy_real"]
        table += "\n\n" + _table(
            ["cgan epochs"] + epochs,
            [
                ["CAS accuracy"] + [_pct(curve[e], 2) for e in epochs],
                ["gap (points)"] + [_num(100 * (real - curve[e])) for e in epochs],
            ],
        )
    return table + _source("augment")


def table_augment_small() -> str:
    s = results("augment").get("summary", {})
    rows = [
        (
            size,
            _mean_std(s[f"small_{size}"]["real"]),
            _mean_std(s[f"small_{size}"]["classic"]),
            _mean_std(s[f"small_{size}"]["cgan"]),
        )
        for size in (10, 50, 100)
        if f"small_{size}" in s
    ]
    header = ("labelled images a class", "real only", "real + classic augmentation", "real + cgan samples")
    return _table(header, rows) + _source("augment")


def table_augment_tabular() -> str:
    s = results("augment").get("summary", {}).get("tabular", {})
    rows = [
        (model.replace("_", " "), _mean_std(v["real"]), _mean_std(v["real+gan"])) for model, v in s.items()
    ]
    return _table(("model", "real rows", "real + synthetic rows"), rows) + _source("augment")


SPEED_LABELS = {
    "loop": "TF-tutorial loop, float32, Keras' own layers and Adam (the anchor)",
    "loop_zoo_layers": "the same loop on the zoo's layers",
    "fit_simultaneous": '`GAN.fit`, one update each, `update="simultaneous"`, float32',
    "fit": "the same, alternating updates (the default)",
    "fit_deterministic": "alternating, op determinism on",
    "fit_simultaneous_mixed": "simultaneous, `--precision mixed`",
    "fit_mixed": "alternating, `--precision mixed`",
    "fit_recipe": "the `dcgan` recipe, float32",
    "fit_recipe_mixed": "the recipe, mixed",
    "fit_recipe_lazy_mixed": "the recipe with lazy R1, mixed",
    "fit_recipe_ema_mixed": "the recipe with the generator's moving average, mixed",
}


# The speed runs: per kind of CPU (speed depends on it: see the page) and dcgan width (the recipe's
# networks changed on 2026-12-06), the file and its label.
SPEED_RUNS = {
    "speed": "Intel Xeon with AMX, dcgan width 64",
    "speed_epyc_w64": "AMD EPYC with AVX512-BF16, no AMX, dcgan width 64",
    "speed_epyc": "AMD EPYC with AVX512-BF16, no AMX, dcgan width 32 (the default since 2026-12-06)",
}


def _speed(name: str) -> str:
    s = results(name)
    medians, ratios = s.get("median_images_per_second", {}), s.get("ratio_to_loop") or {}
    rows = [
        (SPEED_LABELS.get(k, k), _num(v, 1), _num(ratios.get(k)))
        for k, v in medians.items()
        if k in SPEED_LABELS
    ]
    adam = ""
    if "adam_keras" in medians and "adam_zoo" in medians:
        adam = (
            f"\n\nOne Adam update of the dcgan's weights: Keras' Adam {_num(medians['adam_keras'], 0)}, "
            f"`kerazoo.optimizers.Adam` {_num(medians['adam_zoo'], 0)} updates' worth of images/s "
            f"({medians['adam_zoo'] / medians['adam_keras']:.2f}x)."
        )
    return _table(("contender", "images/s (median)", "vs the loop"), rows) + adam + _source(name)


def table_speed() -> str:
    return _speed("speed")


def table_speed_epyc() -> str:
    return _speed("speed_epyc")


def table_speed_epyc_w64() -> str:
    return _speed("speed_epyc_w64")


def table_speed_by_cpu() -> str:
    """The speed targets per kind of CPU, from each kind's own run (ratios within one run)."""
    rows = []
    for name, label in SPEED_RUNS.items():
        s = results(name)
        ratio, medians = s.get("ratio_to_loop") or {}, s.get("median_images_per_second", {})
        if not ratio:
            continue

        def x(key, target=None, ratio=ratio):
            if key not in ratio:
                return "not measured"
            value = f"{ratio[key]:.2f}x"
            return value if target is None else f"{value} ({'met' if ratio[key] >= target else 'not met'})"

        recipe = ""
        if {"fit_recipe", "fit_recipe_mixed"} <= set(medians):
            gain = medians["fit_recipe_mixed"] / medians["fit_recipe"]
            recipe = f"{gain:.2f}x: mixed is {'faster' if gain > 1 else 'slower'}"
        flags = s.get("machine", {}).get("cpu_flags", {})
        picks = "mixed (bfloat16)" if flags.get("avx512_bf16") or flags.get("amx_bf16") else "float32"
        amx = bool(flags.get("amx_bf16"))
        rows.append(
            (
                f"{label} (`{name}.json`)",
                x("fit", 1.2),
                x("fit_simultaneous"),
                x("fit_mixed", 2.5) if amx else x("fit_mixed") + " (no target without AMX)",
                recipe,
                picks,
            )
        )
    header = (
        "CPU (2 cores)",
        "`fit`, float32, alternating (target 1.2x)",
        "`fit`, float32, simultaneous",
        "`fit`, mixed (target 2.5x on AMX)",
        "the dcgan recipe, mixed vs float32",
        "`--precision auto` picks",
    )
    files = ", ".join(f"`benchmarks/results/{name}.json`" for name in SPEED_RUNS if results(name))
    return (
        _table(header, rows)
        + f"\n\n<small>Ratios to the TF-tutorial loop measured in the same run; generated from {files} when the site is built.</small>\n"
    )


def table_speed_others() -> str:
    rows = []
    for file, label, key in (
        ("speed_cnn", "`cnn` fit on `make_dataset` vs keras.io-style fit on arrays", "cnn_ratio_to_arrays"),
        ("speed_vae", "`VAE.fit` vs a plain `tf.function` loop", "vae_ratio_to_loop"),
        ("speed_cgan", "cgan `GAN.fit` vs the tutorial loop with labels", "cgan_ratio_to_loop"),
    ):
        s = results(file)
        if s.get(key) is not None:
            m = s["median_images_per_second"]
            cpu = s.get("machine", {}).get("cpu", "?")
            rows.append(
                (f"{label} ({cpu})", ", ".join(f"{k} {_num(v, 1)}" for k, v in m.items()), f"{s[key]:.2f}x")
            )
    ddpm = results("speed_ddpm")
    if ddpm.get("ddpm_ratio_to_loop"):
        ratios = ddpm["ddpm_ratio_to_loop"]
        rows.append(
            (
                "`ddpm`: `Diffusion.fit` (float32 / mixed) vs a plain `tf.function` step "
                f"({ddpm.get('machine', {}).get('cpu', '?')})",
                ", ".join(f"{k} {_num(v, 1)}" for k, v in ddpm["median_images_per_second"].items()),
                " / ".join(f"{ratios[k]:.2f}x" for k in ("ddpm_fit", "ddpm_fit_mixed") if k in ratios),
            )
        )
    bn = results("speed_bn").get("median_images_per_second", {})
    if bn:
        rows.append(
            (
                "fused `BatchNormalization` vs Keras' (float32 / mixed)",
                ", ".join(f"{k} {_num(v, 0)}" for k, v in bn.items()),
                f"{bn['bn_zoo'] / bn['bn_keras']:.2f}x / {bn['bn_zoo_mixed'] / bn['bn_keras_mixed']:.2f}x",
            )
        )
    return _table(("comparison", "images/s (median of 3)", "ratio"), rows) + _source(
        "speed_cnn", "speed_vae", "speed_cgan", "speed_ddpm", "speed_bn"
    )


def table_autoencoders() -> str:
    a = results("autoencoders")
    rows = []
    for name, r in a.get("models", {}).items():
        figure = (
            f"test loss {_num(r['test_loss'])} nats per image"
            if "test_loss" in r
            else (f"test MSE {r['test_reconstruction_loss']:.4f} per pixel")
        )
        rows.append((f"`{name}`", r["epochs"], _minutes(r["train_seconds"]), figure))
    table = _table(("model", "epochs", "train time", "figure (MNIST test)"), rows)
    d, v, t = a.get("denoising"), a.get("vae_prior_samples"), a.get("transfer")
    extra = []
    if d:
        extra.append(
            (
                "denoising (noise stddev {})".format(d["noise_stddev"]),
                f"noisy inputs {d['noisy_input_mse']:.4f}, denoising model {d['denoising_autoencoder_mse']:.4f}, "
                f"plain conv autoencoder {d['conv_autoencoder_mse']:.4f} (MSE to the clean images)",
            )
        )
    if v:
        extra.append(
            (
                "VAE prior samples",
                f"{_pct(v['confident_share'])} confidently classified, {v['digits_present']} digits "
                f"({_pct(v['min_class_share'])}-{_pct(v['max_class_share'])}); evaluator: {_evaluator_cell(v)}",
            )
        )
    if t:
        extra.append(
            (
                f"transfer, {t['labels_per_class']} labels a class",
                f"raw pixels {_pct(t['raw_pixels_test_accuracy'], 2)}, CNN embeddings {_pct(t['cnn_embeddings_test_accuracy'], 2)}",
            )
        )
    return table + "\n\n" + _table(("measurement", "result"), extra) + _source("autoencoders")


def _diffusion_rows(data):
    others = data.get("others", {})
    for name in ("vae", "dcgan"):
        if name in others:
            yield name, others[name], others[name].get("source", "")
    for name, r in data.get("models", {}).items():
        yield name, r, "this benchmark"


def table_diffusion() -> str:
    """The three ways to generate on one scale: the VAE's, the DCGAN's and the diffusion models'
    samples judged by the same evaluator."""
    data = results("diffusion")
    header = (
        "model", "epochs", "train time", "samples", "classifier FID", "real data's FID", "confident",
        "class share min-max", "precision", "recall", "near copies", "asked-for digit", "figures from",
    )  # fmt: skip
    rows = []
    for name, r, source in _diffusion_rows(data):
        q, real = r.get("quality"), r.get("real_test_vs_train", {})
        if not q:
            continue
        near = q.get("near_copy_share")
        rows.append(
            (
                f"`{name}`" + (f" (DDIM {r['sample_steps']})" if "sample_steps" in r else ""),
                r.get("epochs", ""),
                _minutes(r.get("train_seconds")) + ("*" if r.get("timing_note") else ""),
                f"{q.get('n', 10_000):,}",
                _num(q.get("fid")),
                _num(real.get("fid")),
                _pct(q.get("confident_share")),
                f"{_pct(q.get('min_class_share'))}-{_pct(q.get('max_class_share'))}",
                _num(q.get("precision"), 3),
                _num(q.get("recall"), 3),
                "" if near is None else ("yes: " if q.get("memorises") else "no: ") + _pct(near),
                _pct(q.get("requested_accuracy")),
                source,
            )
        )
    return (
        _table(header, rows)
        + _timing_notes(data.get("models", {}))
        + _source("diffusion", "gan_retuned", "autoencoders")
    )


def _timing_notes(rows: dict) -> str:
    """The footnotes of the rows marked * (timed beside another job), from `{name: row}`."""
    notes = [f"`{name}`: {r['timing_note']}" for name, r in rows.items() if r.get("timing_note")]
    return "\n\n<small>* Timed beside other work: " + "; ".join(notes) + ".</small>" if notes else ""


def table_diffusion_by_epoch() -> str:
    """After every epoch: the training minutes so far and the samples' shares (1,000 DDIM samples
    of the moving average), beside the DCGAN recipe's own curve (its averaged generator)."""
    header = (
        "model",
        "epoch",
        "minutes of training",
        "samples",
        "confident",
        "class share min-max",
        "asked-for digit",
    )
    rows = []
    for name, r in results("diffusion").get("models", {}).items():
        for e in r.get("by_epoch", []):
            rows.append(
                (
                    f"`{name}`",
                    e["epoch"],
                    _num(e["seconds"] / 60, 1),
                    f"{e['n']:,}",
                    _pct(e["confident_share"]),
                    f"{_pct(e['min_class_share'])}-{_pct(e['max_class_share'])}",
                    _pct(e.get("requested_accuracy")),
                )
            )
    if not rows:
        return "not recorded" + _source("diffusion")
    for label, r in results("gan_retuned").get("gans", {}).items():
        if label != "dcgan,precision=auto":  # the recipe's own run
            continue
        for i, e in enumerate(r.get("by_epoch", []), 1):
            averaged = e.get("averaged", e)
            rows.append(
                (
                    f"`dcgan` ({r.get('precision', '')})",
                    i,
                    _num(e["seconds"] / 60, 1),
                    f"{results('gan_retuned').get('samples', 10_000):,}",
                    _pct(averaged["confident_share"]),
                    f"{_pct(averaged['min_class_share'])}-{_pct(averaged['max_class_share'])}",
                    "",
                )
            )
    return _table(header, rows) + _source("diffusion", "gan_retuned")


def table_diffusion_cas() -> str:
    """Classification Accuracy Score: the zoo's CNN trained on 60,000 generated images alone against
    the same CNN trained on the real ones, the cddpm's (`diffusion.py --cas`) beside the cgan's."""
    header = (
        "generator", "samples", "asked-for digit", "CNN on real images", "CNN on generated images",
        "gap (points)", "figures from",
    )  # fmt: skip
    rows = []
    for name, r in results("diffusion").get("models", {}).items():
        c = r.get("cas", {})
        if "gap_points" in c:
            rows.append(
                (
                    f"`{name}` after {r['epochs']} epochs (DDIM {c['steps']}, int8 TFLite)",
                    f"{10 * c['per_class']:,}",
                    _pct(c.get("requested_accuracy")),
                    _pct(c["accuracy_real"], 2),
                    _pct(c["accuracy_generated"], 2),
                    _num(c["gap_points"]),
                    "`diffusion.json`",
                )
            )
    cgan = [
        r
        for key, r in results("augment").get("results", {}).items()
        if key.startswith("cas_e") and "_seed" not in key and "accuracy_cgan" in r
    ]
    for r in sorted(cgan, key=lambda r: r["cgan_epochs"])[-1:]:  # the longest cgan run
        rows.append(
            (
                f"`cgan` after {r['cgan_epochs']} epochs",
                "60,000",
                "",
                _pct(r["accuracy_real"], 2),
                _pct(r["accuracy_cgan"], 2),
                _num(r["gap_points"]),
                "`augment.json` (seed 0)",
            )
        )
    if not rows:
        return _table(header, [("`cddpm`", "not measured yet", "", "", "", "", "")]) + _source("diffusion")
    return _table(header, rows) + _source("diffusion", "augment")


def table_diffusion_ddim() -> str:
    """FID against DDIM steps (the same noise, equal n)."""
    header = (
        "model",
        "DDIM steps",
        "samples",
        "classifier FID",
        "confident",
        "precision",
        "recall",
        "Keras s/image",
    )
    rows = []
    for name, r in results("diffusion").get("models", {}).items():
        for steps, q in sorted(r.get("ddim_sweep", {}).items(), key=lambda kv: int(kv[0])):
            rows.append(
                (
                    f"`{name}`",
                    steps,
                    f"{q['n']:,}",
                    _num(q["fid"]),
                    _pct(q["confident_share"]),
                    _num(q["precision"], 3),
                    _num(q["recall"], 3),
                    _num(q.get("keras_seconds_per_image"), 4),
                )
            )
    return _table(header, rows) + _source("diffusion")


def table_diffusion_tf_free() -> str:
    """Sampling time: Keras and the TF-free runtime (float32 and int8 dynamic-range denoisers)."""
    header = (
        "model", "images x DDIM steps", "Keras", "TF-free, float32 TFLite", "TF-free, int8 weights",
        "size float32 / int8", "int8 samples: FID (Keras: same n)", "int8 samples: confident",
    )  # fmt: skip
    rows = []
    for name, r in results("diffusion").get("models", {}).items():
        f = r.get("tf_free")
        if not f:
            continue
        lite = f.get("dynamic_quality", {})
        same_n = r.get("ddim_sweep", {}).get(str(f["steps"]), {})
        rows.append(
            (
                f"`{name}`",
                f"{f['images']} x {f['steps']}",
                f"{f['keras_seconds']:.1f} s",
                f"{f['tflite_seconds']:.1f} s",
                f"{f['tflite_dynamic_seconds']:.1f} s" if "tflite_dynamic_seconds" in f else "",
                f"{f['tflite_bytes'] / 1e6:.1f} / {f['tflite_dynamic_bytes'] / 1e6:.1f} MB"
                if "tflite_dynamic_bytes" in f
                else f"{f['tflite_bytes'] / 1e6:.1f} MB",
                (_num(lite.get("fid")) + (f" ({_num(same_n['fid'])})" if same_n else "")) if lite else "",
                _pct(lite.get("confident_share")),
            )
        )
    return _table(header, rows) + _source("diffusion")


def table_export_dcgan() -> str:
    e = results("export").get("dcgan_batch1", {})
    rows = [
        (
            k,
            f"{_num(v['latency_ms'])} ms",
            _num(v["vs_keras"]),
            f"{v['size_bytes']:,} B" if "size_bytes" in v else "-",
        )
        for k, v in e.items()
    ]
    return _table(("DCGAN generator, batch 1", "latency (median)", "vs Keras", "file size"), rows) + _source(
        "export"
    )


def table_export_cnn() -> str:
    e = results("export").get("cnn_mnist", {})
    rows = []
    for k, v in e.items():
        agreement = v.get("verification", {}).get("top1_agreement")
        rows.append(
            (
                k,
                _pct(v["test_accuracy"], 2),
                f"{v['size_bytes']:,} B" if "size_bytes" in v else "-",
                _pct(agreement, 2) if agreement is not None else "-",
            )
        )
    return _table(
        ("`cnn`, 10,000 MNIST test images", "accuracy", "file size", "top-1 agreement with Keras"), rows
    ) + _source("export")


def _mb(n) -> str:
    return f"{n / 1e6:.1f} MB"


def table_web_size() -> str:
    models = results("web").get("models", {})
    if not models:
        return _table(("model", "page"), [("-", "not measured yet")]) + _source("web")
    rows = [
        (
            f"`{name}` ({r['role']})",
            _mb(r["folder_bytes"]),
            _mb(r["page_bytes_without_runtime"]),
            _mb(r["downloaded_bytes"]),
            _mb(r["tflite_bytes"]),
            _mb(r["onnx_bytes"]),
            f"{r['first_sample_ms'] / 1000:.2f} s",
            str(r.get("max_abs_diff_vs_python_litert", "-")),
        )
        for name, r in models.items()
    ]
    header = (
        "model",
        "folder",
        "without LiteRT.js",
        "a browser downloads",
        ".tflite",
        ".onnx",
        "first sample (from opening the page)",
        "page vs Python LiteRT (max grey levels)",
    )
    return _table(header, rows) + _source("web")


def table_web_latency() -> str:
    models = results("web").get("models", {})
    if not models:
        return _table(("model", "latency"), [("-", "not measured yet")]) + _source("web")
    rows = []
    for name, r in models.items():
        ms, ratio = r["per_batch_ms"], r["ratio_to_python_litert"]
        rows.append(
            (
                f"`{name}`: {r['action']}",
                f"{_num(ms['page_litertjs'], 1)} ms ({_num(ratio['page_litertjs'])}x)",
                f"{_num(ms['python_litert'], 1)} ms (1x)",
                f"{_num(ms['onnx_runtime'], 1)} ms ({_num(ratio['onnx_runtime'])}x)",
            )
        )
    header = ("model: one action", "page (LiteRT.js, Chromium)", "Python LiteRT", "ONNX Runtime")
    chromium = results("web").get("chromium")
    note = f"\n\nMedians of {next(iter(models.values()))['rounds']} rounds; Chromium {chromium}."
    return _table(header, rows) + note + _source("web")


def table_regression() -> str:
    r = results("regression")
    if not r:
        return _table(("model", "test RMSE"), [("-", "not measured yet")]) + _source("regression")
    names = {
        "mean_target": "mean of the training targets (baseline)",
        "ridge_cv": "scikit-learn RidgeCV (standardized features)",
        "hist_gradient_boosting": "scikit-learn HistGradientBoostingRegressor",
        "regression_mlp": "`kerazoo train regression_mlp` (its recipe)",
    }
    rows = [
        (names[k], f"{_num(v['rmse_mean'], 3)} ± {_num(v['rmse_std'])}", _num(v["mae_mean"]))
        for k, v in r["summary"].items()
    ]
    verdict = (
        f"\n\nTarget (the MLP's mean RMSE at most RidgeCV's): {'met' if r['target_met'] else 'not met'}; "
        f"the MLP is at most RidgeCV's RMSE on {r['mlp_at_most_ridge_on']} of {r['splits']} splits."
    )
    header = (f"`diabetes`, {r['splits']} seeded 80/20 splits", "test RMSE (mean ± std)", "test MAE (mean)")
    return _table(header, rows) + verdict + _source("regression")


def _optimizer_rows(task: dict, metric: str, show) -> list:
    """One row per optimizer: its chosen rate, validation loss, test figure (`show`n), time to target."""
    rows = []
    for name, r in task["optimizers"].items():
        steps, test = r["steps_to_target"], r[f"test_{metric}"]
        rows.append(
            (
                name,
                f"{r['learning_rate']:g}",
                "diverged" if r["val_loss"] is None else f"{r['val_loss']:,.4g}",
                "diverged" if test is None else show(test),
                "not reached" if steps is None else f"{steps:,} steps, {r['seconds_to_target']:.1f} s",
            )
        )
    return rows


def table_optimizers_mnist() -> str:
    task = results("optimizers").get("mnist_mlp")
    if not task:
        return _table(("optimizer", "result"), [("-", "not measured yet")]) + _source("optimizers")
    header = (
        "optimizer",
        "learning rate (chosen)",
        "validation loss",
        "test accuracy",
        f"to validation loss {task['target_val_loss']:g}",
    )
    return _table(header, _optimizer_rows(task, "accuracy", lambda v: _pct(v, 2))) + _source("optimizers")


def table_optimizers_diabetes() -> str:
    task = results("optimizers").get("diabetes_regression_mlp")
    if not task:
        return _table(("optimizer", "result"), [("-", "not measured yet")]) + _source("optimizers")
    header = (
        "optimizer",
        "learning rate (chosen)",
        "validation MSE",
        "test RMSE",
        f"to validation MSE {task['target_val_loss']:g}",
    )
    return _table(header, _optimizer_rows(task, "rmse", lambda v: _num(v, 1))) + _source("optimizers")


def table_optimizers_surfaces() -> str:
    surfaces = results("optimizers").get("surfaces")
    if not surfaces:
        return _table(("optimizer", "result"), [("-", "not measured yet")]) + _source("optimizers")
    names = list(next(iter(surfaces.values())))
    header = (
        "optimizer",
        *(
            f"{label}: rate, loss after {next(iter(v.values()))['steps']} steps"
            for label, v in surfaces.items()
        ),
    )
    rows = [
        (name, *(f"{v[name]['learning_rate']:g}, {v[name]['final_loss']:.2g}" for v in surfaces.values()))
        for name in names
    ]
    return _table(header, rows) + _source("optimizers")


def _headline(figures: dict) -> str:
    """A run's headline figures from its `kerazoo evaluate` metrics."""
    samples, real = figures.get("samples"), figures.get("real_test_vs_train", {})
    if samples:
        text = (
            f"FID {_num(samples['fid'])} (real {_num(real.get('fid'))}), "
            f"{_pct(samples['confident_share'])} confident, {samples['classes_present']} classes"
        )
        if "requested_accuracy" in samples:
            text += f", {_pct(samples['requested_accuracy'])} the class asked for"
        return text
    for key, fmt in (
        ("accuracy", lambda v: f"test accuracy {_pct(v, 2)}"),
        ("test_rmse", lambda v: f"test RMSE {_num(v)} (persistence {_num(figures.get('persistence_rmse'))})"),
        ("psnr", lambda v: f"PSNR {_num(v)} dB, L1 {_num(figures.get('l1'), 4)}"),
        ("test_reconstruction_mse", lambda v: f"test MSE {v:.4f}"),
        (
            "tstr_logistic_regression",
            lambda v: f"TSTR {_pct(v)} (TRTR {_pct(figures.get('trtr_logistic_regression'))})",
        ),
    ):
        if key in figures and isinstance(figures[key], (int, float)):
            return fmt(figures[key])
    reconstruction = figures.get("reconstruction")
    if reconstruction:
        return f"test MSE {reconstruction['test_reconstruction_mse']:.4f}"
    scalars = {k: v for k, v in figures.items() if k.startswith("test_") and isinstance(v, (int, float))}
    return ", ".join(f"{k} {v:.4g}" for k, v in scalars.items())


def _evaluated_on(row) -> str:
    """ " (N samples)" where the gallery ran `kerazoo evaluate` with another `--n` than its default."""
    command = row.get("evaluate_command", "").split()
    if "--n" not in command:
        return ""
    return f" ({int(command[command.index('--n') + 1]):,} samples)"


def table_gallery() -> str:
    g = results("gallery")
    rows = [
        (
            f"[`{name}`](zoo/{name}.md)",
            f"`{r['command']}`",
            _minutes(r["train_wall_seconds"]),
            _headline(r["figures"]) + _evaluated_on(r),
        )
        for name, r in sorted(g.get("models", {}).items())
    ]
    machine = g.get("machine", {})
    note = f"\n\nMachine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores." if machine else ""
    return _table(("model", "command", "wall clock", "`kerazoo evaluate`"), rows) + note + _source("gallery")


def table_main_job() -> str:
    g = results("gallery").get("models", {}).get("dcgan")
    if not g:
        return "not measured yet" + _source("gallery")
    s, real = g["figures"]["samples"], g["figures"]["real_test_vs_train"]
    rows = [
        ("classifier FID", _num(s["fid"]), _num(real["fid"])),
        ("classifier score", _num(s["classifier_score"]), _num(real["classifier_score"])),
        ("confidently classified", _pct(s["confident_share"]), _pct(real["confident_share"])),
        ("precision", _num(s["precision"]), _num(real["precision"])),
        ("recall", _num(s["recall"]), _num(real["recall"])),
        ("classes present", s["classes_present"], real["classes_present"]),
    ]
    head = f"`{g['command']}`: {_minutes(g['train_wall_seconds'])} wall clock.\n\n"
    return head + _table(("figure", "the main job's samples", "real test digits"), rows) + _source("gallery")


def table_first_picture() -> str:
    """README's main job and its recipe variants over seeds (`benchmarks/first_picture.py`)."""
    data = results("first_picture")
    if not data:
        return "not measured yet" + _source("first_picture")
    target = data["target"]

    def span(d, fmt):
        return (
            fmt(d["median"])
            if d["min"] == d["max"]
            else f"{fmt(d['median'])} ({fmt(d['min'])}-{fmt(d['max'])})"
        )

    rows, arguments, earlier = [], [], False
    first = {"recipe": 0, "before": 1}
    for name, v in sorted(data["variants"].items(), key=lambda item: first.get(item[0], 2)):
        s = v["summary"]
        # Runs that do not record what they trained with were made before the recipe changed: their
        # arguments modify the recipe before 2026-12-06 (the `before` variant's settings).
        old = not all("trained_with" in r for r in v["runs"])
        earlier |= old
        star = " \\*" if old else ""
        arguments.append(
            f"- `{name}`{star}: "
            + (f"`{v['arguments']}`" if v["arguments"] else "nothing (README's command as it stands)")
        )
        rows.append(
            (
                f"`{name}`{star}",
                ", ".join(str(x) for x in s["seeds"]),
                span(s["wall_s"], lambda x: f"{x:.0f} s"),
                span(s["confident_share"], _pct),
                span(s["fid"], _num),
                span(s["fid_over_real"], lambda x: f"{x:.2f}x"),
                "yes" if s["meets_target_every_seed"] else "no",
            )
        )
    head = (
        f"`{data['command']}` plus each variant's arguments; target: at most {target['wall_s']:.0f} s wall "
        f"clock, >= {_pct(target['confident_share'], 0)} confidently classified, FID at most "
        f"{target['fid_over_real']:g}x the real test digits'. Median over the seeds (range).\n\n"
    )
    header = ("variant", "seeds", "wall clock", "confident", "FID", "FID / real", "meets")
    legend = (
        "\n\nThe names: `w32` width 32, `lr8` Adam at 8e-4 (`lr10` 1e-3), `b32` batches of 32, `e35` "
        "35 epochs (40 where not said), `r4` R1 on every 4th update, `b2` Adam's beta_2 0.99, `g1` one "
        "generator update a step, `cos` a cosine decay; all but `before` keep the generator's average "
        "(momentum 0.99). The arguments each variant adds to the command:\n\n" + "\n".join(arguments)
    )
    note = (
        "\n\n\\* run before the recipe changed: the arguments are added to the recipe of 2026-12-05 "
        "(width 64, 20 epochs, batches of 64, Adam 2e-4 with beta_2 0.999, R1 on every update, no "
        "average), which `before` pins."
        if earlier
        else ""
    )
    return head + _table(header, rows) + legend + note + _source("first_picture")


TABLES = {name[len("table_") :]: fn for name, fn in globals().items() if name.startswith("table_")}


def render_tables(markdown: str, where: str = "") -> str:
    """Replace each `<!-- table: NAME -->` with its generated table."""

    def replace(match):
        name = match.group(1)
        if name not in TABLES:
            raise ValueError(f"{where}: unknown table {name!r}. Known: {', '.join(sorted(TABLES))}")
        return TABLES[name]()

    return MARKER.sub(replace, markdown)


# --- the zoo's pages ---------------------------------------------------------------------------

PAPERS = {  # the model's paper (or the lesson it comes from), for its card
    "neuron": "McCulloch & Pitts 1943; Rosenblatt 1958 (the perceptron)",
    "xor_net": "Minsky & Papert 1969 (why one neuron cannot); Rumelhart, Hinton & Williams 1986",
    "linear_regression": "least squares by gradient descent",
    "mlp": "Keras' `mnist_mlp` example (512-512, dropout)",
    "cnn": "LeCun et al. 1998; keras.io `mnist_convnet`",
    "tabular_mlp": "a dense network on standardized features",
    "regression_mlp": "a dense network with a linear path (Cheng et al. 2016, wide & deep); Efron et al. 2004 (the diabetes data)",
    "lstm_forecaster": "Hochreiter & Schmidhuber 1997 (LSTM); Box & Jenkins (the airline data)",
    "autoencoder": "Hinton & Salakhutdinov 2006",
    "conv_autoencoder": "Masci et al. 2011",
    "denoising_autoencoder": "Vincent et al. 2008",
    "vae": "Kingma & Welling, ICLR 2014",
    "gan": "Goodfellow et al., NeurIPS 2014",
    "dcgan": "Radford et al., ICLR 2016",
    "cgan": "Mirza & Osindero 2014",
    "wgan_gp": "Gulrajani et al., NeurIPS 2017",
    "progan": "Karras et al., ICLR 2018",
    "stylegan": "Karras et al., CVPR 2019 (StyleGAN); Karras et al., CVPR 2020 (StyleGAN2's networks)",
    "pix2pix": "Isola et al., CVPR 2017",
    "srgan": "Ledig et al., CVPR 2017",
    "tabular_gan": "Gulrajani et al. 2017 (WGAN-GP); Xu et al., NeurIPS 2019 (CTGAN's column outputs)",
    "ddpm": "Ho et al., NeurIPS 2020; Song et al., ICLR 2021 (DDIM); Nichol & Dhariwal, ICML 2021 (cosine schedule)",
    "cddpm": "Ho & Salimans 2022 (classifier-free guidance), on Ho et al. 2020",
}

EXPORTABLE = {
    "generation",
    "progressive",
    "style",
    "translation",
    "reconstruction",
    "synthesis",
    "classification",
    "diffusion",
    "regression",
}


def _mnist_rows(name: str) -> list:
    zoo = _zoo_module()
    return [r for r in zoo.rows() if r[0].split(",")[0] == name]


def model_card(name: str) -> str:
    """The markdown of one model's card."""
    import kerazoo
    from kerazoo._registry import build

    entry = kerazoo.get_entry(name)
    params = build(name).count_params()
    recipe = entry.recipe.to_dict()
    gallery = results("gallery").get("models", {}).get(name)
    lines = [f"# `{name}`", "", entry.description or "", ""]
    facts = [
        ("task", f"[`{entry.task}`](../concepts.md#tasks)"),
        ("parameters", f"{params:,}"),
        ("default data", f"`{entry.dataset}` ([data sources](../data.md))"),
        ("paper", PAPERS.get(name, "")),
        ("builder", f"`{entry.builder.__module__}.{entry.builder.__name__}`"),
    ]
    lines += [_table(("about", ""), facts), ""]
    if gallery and gallery.get("picture"):
        lines += [
            "## What it makes",
            "",
            f"![{name}: {gallery['picture_source']}](../{GALLERY}/{gallery['picture']})",
            "",
            f"From `{gallery['command']}` on its default data ({_minutes(gallery['train_wall_seconds'])} wall "
            f"clock), then `{gallery.get('evaluate_command', 'kerazoo evaluate')}`: {_headline(gallery['figures'])}. "
            f"Picture: the run's `{gallery['picture_source']}` ([gallery](../gallery.md), "
            "`python benchmarks/gallery.py`).",
            "",
        ]
    mnist = _mnist_rows(name)
    if mnist:
        lines += ["## Measured", ""]
        header = ("run", "data", "figure", "published anchor", "comparable?", "epochs", "train time")
        lines += [_table(header, mnist), "", "From the [benchmarks](../benchmarks/index.md).", ""]
    lines += ["## Use it", "", "```bash", f"kerazoo train {name}"]
    lines += [f"kerazoo evaluate runs/{name}"]
    if entry.task in EXPORTABLE:
        lines += [f"kerazoo export runs/{name} --format tflite"]
    if name in ("regression_mlp", "tabular_mlp"):
        lines += [f"kerazoo predict runs/{name}/export/model.tflite rows.csv --out predictions.csv"]
    if entry.task == "diffusion":
        label = " --label 3 --guidance 2" if "num_classes" in entry.hparams else ""
        lines += [
            f"kerazoo sample runs/{name}/export/denoiser.tflite --n 64 --steps 25{label} --out samples.png"
        ]
    if entry.task in ("generation", "progressive", "reconstruction") and name not in (
        "autoencoder",
        "conv_autoencoder",
        "denoising_autoencoder",
    ):
        stem = "decoder" if name == "vae" else "generator"
        lines += [f"kerazoo sample runs/{name}/export/{stem}.tflite --n 64 --out samples.png"]
    if entry.task == "style":
        lines += [
            f"kerazoo sample runs/{name}/export/generator.tflite --n 64 --truncation 0.7 --out samples.png",
            f"kerazoo export runs/{name} --signature styles",
            f"kerazoo sample runs/{name}/export/synthesis.tflite --n 64 --mix 1 --crossover 3 --out mixed.png",
        ]
    if entry.task == "translation":
        lines += [f"kerazoo translate runs/{name}/export/generator.tflite input.png --out output.png"]
    if entry.task == "synthesis":
        lines += [f"kerazoo sample runs/{name}/export/generator.tflite --n 1000 --out synthetic.csv"]
    lines += ["```", "", "```python", "import kerazoo", "", f'model = kerazoo.build("{name}")']
    lines += [f'run = kerazoo.train("{name}", out="runs/{name}")', "```", ""]
    lines += ["## Recipe", "", "What `kerazoo train` uses; `--recipe KEY=VALUE` overrides one key.", ""]
    lines += [_table(("key", "default"), [(f"`{k}`", f"`{json.dumps(v)}`") for k, v in recipe.items()]), ""]
    lines += ["## Hyperparameters", "", "The builder's arguments; `--set KEY=VALUE` overrides one.", ""]
    lines += [
        _table(("hparam", "default"), [(f"`{k}`", f"`{v!r}`") for k, v in entry.hparams.items()]),
        "",
        "## Builder",
        "",
        f"::: {entry.builder.__module__}.{entry.builder.__name__}",
        "    options:",
        "      show_root_heading: false",
        "      show_source: false",
        "",
    ]
    return "\n".join(lines)


def zoo_index() -> str:
    import kerazoo

    rows = []
    for name in kerazoo.list_models():
        entry = kerazoo.get_entry(name)
        g = results("gallery").get("models", {}).get(name)
        rows.append(
            (
                f"[`{name}`]({name}.md)",
                entry.task,
                f"`{entry.dataset}`",
                (entry.description or "").split(". ")[0],
                _headline(g["figures"]) + _evaluated_on(g) if g else "",
            )
        )
    head = "# The zoo\n\nEvery model, its task and default data; each name opens its model card.\n\n"
    tail = "\n\nThe last column: `kerazoo train NAME` on the default data, then `kerazoo evaluate` ([gallery](../gallery.md)).\n"
    return head + _table(("model", "task", "default data", "what it is", "default run"), rows) + tail


def gallery_page() -> str:
    g = results("gallery").get("models", {})
    lines = [
        "# Gallery",
        "",
        "What each model makes after `kerazoo train NAME` on its embedded default data (minutes on a "
        "laptop's CPU, not the MNIST benchmarks), judged by `kerazoo evaluate`. Rebuild every picture and "
        "figure with `python benchmarks/gallery.py`.",
        "",
    ]
    for name, r in sorted(g.items()):
        if r.get("picture"):
            lines += [
                f"## [`{name}`](zoo/{name}.md)",
                "",
                f"![{name}]({GALLERY}/{r['picture']})",
                "",
                f"`{r['command']}`: {_headline(r['figures'])}{_evaluated_on(r)}. Picture: `{r['picture_source']}`.",
                "",
            ]
    lines += ["## All runs", "", "<!-- table: gallery -->", ""]
    return "\n".join(lines)


# --- literate programs -------------------------------------------------------------------------


def literate_blocks(source: str) -> list:
    """A literate program as `[("markdown" | "code", text)]`: bare top-level strings are prose,
    the rest is code, keras.io's convention. The header docstring becomes the title block."""
    tree = ast.parse(source)
    lines = source.splitlines()
    blocks, last = [], 0
    for node in tree.body:
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            code = "\n".join(lines[last : node.lineno - 1]).strip("\n")
            if code.strip():
                blocks.append(("code", code))
            blocks.append(("markdown", _dedent(node.value.value)))
            last = node.end_lineno
    code = "\n".join(lines[last:]).strip("\n")
    if code.strip():
        blocks.append(("code", code))
    if blocks and blocks[0][0] == "markdown":  # the keras-io header: Title, Author, ...
        header = dict(
            re.match(r"(\w[\w ]*?):\s*(.*)", line).groups()
            for line in _unfold(blocks[0][1])
            if re.match(r"\w[\w ]*?:", line)
        )
        title = header.pop("Title", "Example")
        description = header.pop("Description", "")
        meta = ", ".join(f"{k}: {v}" for k, v in header.items())
        blocks[0] = ("markdown", f"# {title}\n\n{description}\n\n<small>{meta}</small>")
    return blocks


def _unfold(text: str) -> list:
    out = []
    for line in text.splitlines():
        if out and line.startswith(" ") or (out and line and not re.match(r"\w[\w ]*?:", line)):
            out[-1] += " " + line.strip()
        elif line.strip():
            out.append(line.strip())
    return out


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n")


def literate_page(path: Path) -> str:
    rel = path.relative_to(ROOT).as_posix()
    blocks = literate_blocks(path.read_text())
    body = []
    for i, (kind, text) in enumerate(blocks):
        body.append(text if kind == "markdown" else f"```python\n{text}\n```")
        if i == 0:
            body.append(
                f"Source: `{rel}` · notebook: [`{path.stem}.ipynb`]({path.stem}.ipynb) · "
                f"run it with `python {rel}` (the test suite runs it too)."
            )
    return "\n\n".join(body) + "\n"


def literate_notebook(path: Path) -> str:
    cells = []
    for i, (kind, text) in enumerate(literate_blocks(path.read_text())):
        source = text.splitlines(keepends=True)
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1) + "\n"


def literate_sources() -> list:
    return sorted((ROOT / "train").glob("*.py")) + sorted((ROOT / "export").glob("*.py"))


# --- mkdocs events -----------------------------------------------------------------------------


def _generated_nav():
    import kerazoo

    zoo = [{"Overview": "zoo/index.md"}] + [{name: f"zoo/{name}.md"} for name in kerazoo.list_models()]
    examples = {"train": [], "export": []}
    for path in literate_sources():
        title = literate_blocks(path.read_text())[0][1].splitlines()[0].lstrip("# ").strip()
        examples[path.parent.name].append({title: f"examples/{path.parent.name}/{path.stem}.md"})
    return {
        "GENERATED_ZOO": zoo,
        "GENERATED_TRAIN": examples["train"],
        "GENERATED_EXPORT": examples["export"],
    }


def _fill_nav(nav, generated):
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, str) and value in generated:
                out.append({title: generated[value]})
            elif isinstance(value, list):
                out.append({title: _fill_nav(value, generated)})
            else:
                out.append(item)
        else:
            out.append(item)
    return out


def on_config(config, **kwargs):
    config["nav"] = _fill_nav(config["nav"], _generated_nav())
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    import kerazoo

    pages = {"zoo/index.md": zoo_index(), "gallery.md": gallery_page()}
    for name in kerazoo.list_models():
        pages[f"zoo/{name}.md"] = model_card(name)
    for path in literate_sources():
        folder = f"examples/{path.parent.name}"
        pages[f"{folder}/{path.stem}.md"] = literate_page(path)
        pages[f"{folder}/{path.stem}.ipynb"] = literate_notebook(path)
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    try:
        return render_tables(markdown, page.file.src_uri)
    except ValueError as e:
        from mkdocs.exceptions import PluginError

        raise PluginError(str(e)) from None


# --- README's headline figures -------------------------------------------------------------------


def readme_headlines() -> list:
    """The figures README quotes, as they must read there (`tests/test_docs.py` checks README)."""
    classic, autoencoders = results("classic"), results("autoencoders").get("models", {})
    gans = results("gan").get("gans", {})
    out = []
    for name in ("cnn", "mlp"):
        if name in classic:
            run = classic[name]
            spread = ""
            if run.get("seeds"):
                each = run["test_accuracy_per_seed"]
                spread = f" (mean of {len(each)} seeds, {_pct(min(each), 2)}-{_pct(max(each), 2)})"
            out.append(f"`{name}`: {_pct(run['test_accuracy'], 2)} MNIST test accuracy{spread}")
    if "vae" in autoencoders:
        out.append(f"`vae`: {_num(autoencoders['vae']['test_loss'])} nats per MNIST test image")
    retuned = results("gan_retuned").get("gans", {})
    # The recipe's own runs: no overrides but the precision (README quotes each model's defaults).
    best = max(
        (
            r
            for k, r in (retuned or gans).items()
            if k.startswith("dcgan") and all(part.startswith("precision=") for part in k.split(",")[1:])
        ),
        key=lambda r: r["confident_share"],
        default=None,
    )
    if best and retuned:
        out.append(
            f"`dcgan`: {_pct(best['confident_share'])} of MNIST samples confidently classified after "
            f"{best['epochs']} epochs ({_minutes(best['train_seconds'])} of training)"
        )
    elif best:
        out.append(f"`dcgan`: {_pct(best['confident_share'])} of MNIST samples confidently classified")
    if "cgan" in gans and "requested_accuracy" in gans["cgan"]:
        out.append(f"`cgan`: {_pct(gans['cgan']['requested_accuracy'])} of samples the digit asked for")
    main = results("gallery").get("models", {}).get("dcgan")
    if main:
        out.append(
            f"`{main['command']}` (the main job without its exports): {_minutes(main['train_wall_seconds'])} "
            "wall clock, "
            f"classifier FID {_num(main['figures']['samples']['fid'])} "
            f"(real digits {_num(main['figures']['real_test_vs_train']['fid'])}), "
            f"{_pct(main['figures']['samples']['confident_share'])} confidently classified "
            f"(real {_pct(main['figures']['real_test_vs_train']['confident_share'])})"
        )
    return out
