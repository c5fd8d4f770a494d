"""The `kerazoo` command.

    kerazoo [--plugin MODULE ...] COMMAND ...
    kerazoo list
    kerazoo train NAME [--dataset D] [--data-dir DIR] [--epochs N] [--batch-size N] [--seed S]
                       [--validation-split F]
                       [--out DIR] [--set key=value ...] [--recipe key=value ...]
                       [--csv PATH --column NAME | --label COLUMN | --target COLUMN] [--split-seed K]
                       [--strategy default|mirrored|multi_worker] [--precision float32|mixed|auto]
                       [--export saved_model,tflite,onnx,web] [--tensorboard DIR]
                       [--resume] [--backup-every N] [--nondeterministic] [--overwrite] [--quiet]
    kerazoo export RUN_DIR_OR_MODEL [--format saved_model|tflite|onnx|web] [--quantize float32|float16|dynamic|int8]
                       [--batch-size N] [--out PATH] [--data-dir DIR] [--dataset D] [--overwrite] [--unsafe]
    kerazoo sample ARTIFACT.tflite|.onnx [--n 64] [--label K|CLASS] [--seed S] [--columns C] [--out grid.png|samples.npz] [--overwrite]
    kerazoo evaluate RUN_DIR [--data-dir DIR] [--n N] [--evaluator PATH] [--seed S] [--unsafe]
    kerazoo predict ARTIFACT.tflite|.onnx ROWS.csv --out PREDICTIONS.csv [--overwrite]

`kerazoo sample` imports no TensorFlow: it runs where only numpy, ai-edge-litert and Pillow are
installed (and onnxruntime, for .onnx files). `--plugin MODULE` (or `$KERAZOO_PLUGINS`, or an installed package's `kerazoo.plugins`
entry point) imports a module that registers models or tasks of its own first.

Exit status: 0 on success; 2, with one line on stderr, for bad arguments or bad data (nothing is
written then); 3, with one line, when training diverges (a NaN or infinite loss: the run's last good
backup is kept for --resume); 130 when interrupted (the last backup is kept for --resume).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main", "parse_set", "parse_value"]

TF_FREE = ("sample", "translate", "predict")  # the commands that run without TensorFlow

# Mirrors kerazoo.export.FORMATS / QUANTIZATIONS (not imported: that module imports TensorFlow).
FORMATS = ("saved_model", "tflite", "onnx", "web")
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def parse_value(text: str):
    """A `--set` or `--recipe` value: JSON if it parses (`3`, `0.5`, `true`, `[64, 32]`), a comma list of values
    (`64,32` -> `[64, 32]`), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    lowered = text.lower()
    if lowered in ("true", "false", "none", "null"):
        return {"true": True, "false": False}.get(lowered)
    return text


def parse_set(items, option: str = "--set") -> dict:
    """`["hidden_units=256,128", "dropout=0.2"]` -> `{"hidden_units": [256, 128], "dropout": 0.2}`;
    the one parser of `--set` (hparams) and `--recipe` (recipe keys)."""
    values = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} takes key=value. Received: {item!r}")
        values[key] = parse_value(value.strip())
    return values


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kerazoo", description="A Keras 3 model zoo: list, train, export and sample its models."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module that registers models or tasks first (repeatable; also $KERAZOO_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("list", help="print the zoo: name, task, parameters, default dataset")

    tr = sub.add_parser("train", help="train a model with its recipe and write a run directory")
    tr.add_argument("name", help="a model name from 'kerazoo list'")
    tr.add_argument("--dataset", help="dataset name (default: the model's embedded offline data)")
    tr.add_argument("--data-dir", help="folder with local MNIST-format files (or $KERAZOO_DATA_DIR)")
    tr.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    tr.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    tr.add_argument(
        "--validation-split",
        type=float,
        metavar="F",
        help="share of the training split held out to select on, 0 for none (default: the recipe's)",
    )
    tr.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tr.add_argument("--out", help="run directory (default: runs/NAME)")
    tr.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a builder hparam, e.g. --set hidden_units=256,128 (repeatable)",
    )
    tr.add_argument(
        "--recipe",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, e.g. --recipe learning_rate=3e-4 --recipe optimizer.beta_1=0.8 (repeatable)",
    )
    tr.add_argument(
        "--pairs",
        metavar="KIND",
        help="translation: make (input, target) pairs from an image dataset, edges or lowres:K "
        "(the same as --recipe pairs=KIND)",
    )
    tr.add_argument(
        "--direction",
        help="translation: map2aerial or aerial2map (synthetic_maps), AtoB or BtoA (pix2pix_folder)",
    )
    tr.add_argument(
        "--jitter", action="store_true", help="translation: pix2pix's random resize-crop and mirror of pairs"
    )
    tr.add_argument("--csv", help="CSV file for --dataset csv (first column a date)")
    tr.add_argument(
        "--column",
        "--label",
        "--target",
        dest="column",
        help="the CSV column to forecast (--dataset csv), the class column (--dataset table, tabular_gan), or "
        "the number to predict (--dataset table, regression_mlp)",
    )
    tr.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="which stratified train/test split of breast_cancer (default: 0)",
    )
    tr.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multi_worker"),
        default="default",
        help="tf.distribute strategy: mirrored trains on all local GPUs; multi_worker on the cluster "
        "in $TF_CONFIG, the same command on every worker (default: default)",
    )
    tr.add_argument(
        "--precision",
        choices=("float32", "mixed", "auto"),
        default="float32",
        help="float32 (default); mixed: bfloat16 compute on CPUs, float16 with loss scaling on GPUs; "
        "auto: mixed where the hardware gains from it",
    )
    tr.add_argument(
        "--export",
        metavar="FORMATS",
        help="after training, export to RUN_DIR/export/ in these formats (saved_model,tflite)",
    )
    tr.add_argument(
        "--tensorboard",
        metavar="LOG_DIR",
        help='TensorBoard logs (scalars; GANs add sample grids); needs pip install "kerazoo[tensorboard]"',
    )
    tr.add_argument(
        "--resume",
        action="store_true",
        help="continue the killed or failed run of --out from its last backup (same arguments; "
        "--recipe and --epochs may change)",
    )
    tr.add_argument(
        "--backup-every",
        type=int,
        metavar="N",
        help="also back up the training state every N steps (default: at the end of each epoch only)",
    )
    tr.add_argument(
        "--nondeterministic",
        action="store_true",
        help="do not turn on TensorFlow op determinism (same seed, same weights is then not guaranteed)",
    )
    tr.add_argument(
        "--overwrite", action="store_true", help="replace an existing run directory (or partial run)"
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")

    ex = sub.add_parser(
        "export", help="export a run or .keras model to SavedModel, TFLite, ONNX or a web page, verified"
    )
    ex.add_argument("source", metavar="RUN_DIR_OR_MODEL", help="a run directory or a .keras file")
    ex.add_argument(
        "--format",
        choices=FORMATS,
        default="tflite",
        help="artifact format (default: tflite; web: a static page folder running the TFLite file)",
    )
    ex.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default="float32",
        help="TFLite weights/activations (default: float32)",
    )
    ex.add_argument("--batch-size", type=int, help="fix the batch dimension (default: dynamic)")
    ex.add_argument(
        "--signature",
        default="default",
        help="what to export: default (the task's artifact), or for a StyleGAN styles (its synthesis "
        "network taking one w per layer, with a mapping signature; RUN_DIR/export/synthesis.tflite)",
    )
    ex.add_argument("--out", help="artifact path (default: RUN_DIR/export/generator.tflite, ...)")
    ex.add_argument("--data-dir", help="verification/calibration data folder (default: the run's)")
    ex.add_argument("--dataset", help="verification/calibration dataset (default: the run's)")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing artifact")
    ex.add_argument(
        "--unsafe", action="store_true", help="load a .keras file that holds Python code (trusted files only)"
    )

    ev = sub.add_parser("evaluate", help="figures and pictures for a run directory, in RUN_DIR/eval/")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by 'kerazoo train'")
    ev.add_argument("--data-dir", help="data folder (default: the run's)")
    ev.add_argument(
        "--n", type=int, default=10_000, help="samples to judge, generative runs (default: 10000)"
    )
    ev.add_argument(
        "--evaluator",
        help="classifier run dir or .keras to judge samples (default: pinned for digits/mnist, else a cached zoo cnn)",
    )
    ev.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    ev.add_argument(
        "--unsafe", action="store_true", help="load a run model that holds Python code (trusted files only)"
    )

    sa = sub.add_parser(
        "sample", help="draw a PNG grid from an exported .tflite or .onnx generator (no TensorFlow)"
    )
    sa.add_argument("artifact", metavar="ARTIFACT", help="an exported generator (.tflite, or .onnx)")
    sa.add_argument("--n", type=int, default=64, help="number of samples (default: 64)")
    sa.add_argument(
        "--label",
        help="class to draw, for a conditional generator (default: all in turn): a class id, or for a "
        "table generator also a class as written in its label column",
    )
    sa.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sa.add_argument("--steps", type=int, help="diffusion models: DDIM steps (default: the export's)")
    sa.add_argument(
        "--guidance",
        type=float,
        help="conditional diffusion models: classifier-free guidance weight (default: the export's)",
    )
    sa.add_argument(
        "--truncation",
        type=float,
        metavar="PSI",
        help="StyleGAN exports: move each w towards the average by psi in [-1, 1] (1: none, 0: the average image)",
    )
    sa.add_argument(
        "--mix",
        type=int,
        metavar="SEED",
        help="StyleGAN synthesis exports (--signature styles): fine styles from this seed's noise, coarse from --seed's",
    )
    sa.add_argument(
        "--crossover",
        type=int,
        metavar="LAYER",
        help="with --mix: the first layer whose style comes from --mix (default: half the layers; 0: all)",
    )
    sa.add_argument("--columns", type=int, help="grid columns (default: about square)")
    sa.add_argument(
        "--out",
        help="a .png grid (default: ARTIFACT with .png), or a .npz of the arrays (images uint8, labels "
        "for a conditional model); a CSV for a table generator",
    )
    sa.add_argument("--overwrite", action="store_true", help="replace an existing output file")

    pr = sub.add_parser(
        "predict",
        help="predict from the rows of a CSV with an exported table regressor or classifier (no TensorFlow)",
    )
    pr.add_argument(
        "artifact", metavar="ARTIFACT", help="an exported regression_mlp or tabular_mlp (.tflite, .onnx)"
    )
    pr.add_argument(
        "rows", metavar="ROWS.csv", help="a CSV with (at least) the model's input columns, by name"
    )
    pr.add_argument("--out", required=True, help="the CSV to write: the rows, plus the prediction columns")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing --out")

    tl = sub.add_parser(
        "translate",
        help="translate images with an exported .tflite or .onnx translator (pix2pix, SRGAN; no TensorFlow)",
    )
    tl.add_argument("artifact", metavar="ARTIFACT", help="an exported translator (.tflite, or .onnx)")
    tl.add_argument(
        "inputs", metavar="INPUT", nargs="+", help="image files (resized to the model's input size)"
    )
    tl.add_argument(
        "--out",
        required=True,
        help="PNG path: the translated image for one input; for several, one (input | output) row each",
    )
    tl.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    return parser


# TensorFlow's start-up lines (absl's pre-InitializeLog warning, oneDNN, the CUDA stub, CPU
# features), printed on stderr as it loads whatever TF_CPP_MIN_LOG_LEVEL says: kept off the terminal
# when kerazoo is the program. Anything else TensorFlow prints as it loads is passed on.
_TF_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called",
    "port.cc:",
    "cudart_stub.cc:",
    "cpu_feature_guard.cc:",
    "To enable the following instructions:",
)


def _missing_training_dependencies() -> list:
    """The modules of the `train` extra that are not installed (found without importing them)."""
    import importlib.util

    from kerazoo import TRAINING_MODULES

    return [name for name in TRAINING_MODULES if importlib.util.find_spec(name) is None]


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up noise filtered from stderr (file descriptor 2, which its
    C++ logging writes to); every other line it printed is written back, and errors propagate."""
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            kept = [line for line in lines if not any(noise in line for noise in _TF_NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def _check_int(option, value, minimum=1, limit=None, label=None):
    """An integer option's value, checked before anything heavy is imported."""
    from kerazoo._checks import check_at_most, check_int

    if value is not None:
        check_int(option, value, minimum, label=label, error=_EarlyError)
        if limit is not None:
            check_at_most(option, value, limit, error=_EarlyError)


class _EarlyError(ValueError):
    """A bad argument found before TensorFlow is imported (exit 2, one line)."""


def _precheck(args) -> None:
    """What can be checked without TensorFlow: numbers, option syntax, paths. Raises _EarlyError."""
    from kerazoo._checks import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED
    from kerazoo._io import check_output

    if args.command == "train":
        _check_int("epochs", args.epochs, limit=MAX_EPOCHS)
        _check_int("batch_size", args.batch_size, limit=MAX_BATCH_SIZE)
        _check_int("seed", args.seed, 0, MAX_SEED)
        _check_int("split_seed", args.split_seed, 0, MAX_SEED)
        _check_int("backup_every", args.backup_every)
        try:
            parse_set(args.set)
            parse_set(args.recipe, "--recipe")
        except ValueError as e:
            raise _EarlyError(str(e)) from None
        _export_formats(args.export, _EarlyError)
        if args.out is not None:
            check_output(args.out, _EarlyError)
    elif args.command == "export":  # the message kerazoo.export gives
        _check_int("batch_size", args.batch_size, limit=MAX_BATCH_SIZE, label="--batch-size")
        if not os.path.exists(args.source):  # the messages of kerazoo.export.load_servable
            raise _EarlyError(f"No run directory or model file at '{args.source}'.")
        if os.path.isfile(args.source) and not args.source.endswith(".keras"):
            raise _EarlyError(f"'{args.source}' is not a .keras file. Pass a run directory or a .keras file.")
        if args.out is not None:
            check_output(args.out, _EarlyError)
    elif args.command == "evaluate":
        _check_int("n", args.n)
        _check_int("seed", args.seed, 0, MAX_SEED)
        if not os.path.isfile(os.path.join(args.run_dir, "config.json")):
            raise _EarlyError(
                f"'{args.run_dir}' is not a run directory (no config.json). Pass a directory written "
                "by `kerazoo train`."
            )


def _export_formats(value, error) -> list:
    """`--export saved_model,tflite` as a list; a bad list raises `error`."""
    formats = [f.strip() for f in (value or "").split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or (value is not None and not formats):
        raise error(f"--export takes formats from {', '.join(FORMATS)}. Received: --export {value}")
    return formats


def _cmd_list(args) -> int:
    from kerazoo._registry import build, get_entry, list_models

    rows = [("name", "task", "parameters", "default dataset")]
    for name in list_models():
        entry = get_entry(name)
        rows.append((name, entry.task, f"{build(name).count_params():,}", entry.dataset))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) if i != 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
            )
        )
    return 0


def _cmd_train(args) -> int:
    from kerazoo.training import UsageError, train

    try:
        hparams = parse_set(args.set)
        recipe = parse_set(args.recipe, "--recipe")
    except ValueError as e:
        raise UsageError(str(e)) from None
    # The translation task's data options: flags for recipe keys.
    for key, value in (("pairs", args.pairs), ("direction", args.direction), ("jitter", args.jitter or None)):
        if value is not None:
            recipe[key] = value
    formats = _export_formats(args.export, UsageError)
    result = train(
        args.name,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        seed=args.seed,
        out=args.out,
        hparams=hparams,
        recipe=recipe,
        csv=args.csv,
        column=args.column,
        overwrite=args.overwrite,
        split_seed=args.split_seed,
        strategy=args.strategy,
        precision=args.precision,
        verbose=0 if args.quiet else "auto",
        tensorboard=args.tensorboard,
        resume=args.resume,
        backup_every=args.backup_every,
        deterministic=not args.nondeterministic,
    )
    shown = {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    print(json.dumps(shown, indent=2))
    if formats and result["run_dir"] is None:
        print("export: left to the chief worker, which writes the run")
    elif formats:
        from kerazoo.export import ExportError, export_run

        try:
            exported = export_run(result["run_dir"], formats, overwrite=args.overwrite)
        except ExportError as e:
            raise ExportError(f"{e} (the run itself is complete in {result['run_dir']})") from None
        for meta in exported.values():
            print(_exported(meta["path"], meta))
    return 0


def _verified(meta) -> str:
    v = meta["verification"]
    figures = ", ".join(
        f"{k} {v[k]:.3g}" for k in ("max_abs_diff", "mean_abs_diff_pm1", "top1_agreement") if k in v
    )
    return f"{meta['size_bytes']:,} bytes; verified against Keras on {v['rows']} inputs: {figures}"


def _exported(out, meta) -> str:
    """The line `kerazoo export` (and `train --export`) prints for an artifact it wrote."""
    if meta.get("format") == "web":
        return (
            f"exported {out}/ (a page of {meta['folder_bytes'] / 1e6:.1f} MB, {meta['downloaded_bytes'] / 1e6:.1f} MB "
            f"downloaded by a browser; its model.tflite {_verified(meta)}). See it: python -m http.server -d {out}"
        )
    return f"exported {out} ({_verified(meta)})"


def _cmd_export(args) -> int:
    from kerazoo.export import default_out, export, load_servable

    role = load_servable(args.source, unsafe=args.unsafe)
    servable = role.variant(args.signature)
    out = args.out or default_out(role, args.format, args.quantize, args.signature)
    meta = export(
        servable,
        format=args.format,
        out=out,
        make_parents=args.out is None,  # RUN_DIR/export/, created once the source is known to be good
        quantize=args.quantize,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        data_dir=args.data_dir,
        dataset=args.dataset,
    )
    print(_exported(out, meta))
    return 0


def _cmd_evaluate(args) -> int:
    from kerazoo.evaluation import evaluate
    from kerazoo.tasks import get_task

    figures = evaluate(
        args.run_dir,
        data_dir=args.data_dir,
        n=args.n,
        evaluator=args.evaluator,
        seed=args.seed,
        unsafe=args.unsafe,
    )
    print(json.dumps(get_task(figures["task"]).headline(figures), indent=2))
    judge = figures.get("evaluator") or {}
    if "weights_sha256" in judge:
        which = "the pinned evaluator" if judge.get("pinned") else f"the evaluator at {judge.get('path')}"
        print(f"judged by {which} (weights sha256 {judge['weights_sha256'][:12]})")
    print(f"wrote {os.path.join(args.run_dir, 'eval')}/ (report.html, report.md, metrics.json and pictures)")
    return 0


def _cmd_sample(args) -> int:
    from kerazoo import runtime

    generator = runtime.load(args.artifact)
    if isinstance(generator, runtime.TableSampler):  # a table generator: a CSV of synthetic rows
        out = args.out or os.path.splitext(args.artifact)[0] + ".csv"
        if os.path.splitext(out)[1].lower() != ".csv":
            raise runtime.ArtifactError(
                f"A table generator writes rows: --out must end in .csv. Received: --out {out}"
            )
        generator.write_csv(args.n, out, label=args.label, seed=args.seed, overwrite=args.overwrite)
        print(f"wrote {out} ({args.n} synthetic rows from {args.artifact})")
        return 0
    diffusion = isinstance(generator, runtime.DiffusionSampler)
    styles = isinstance(generator, runtime.StyleSynthesis)
    if not (diffusion or styles or isinstance(generator, runtime.Generator)):
        raise runtime.ArtifactError(f"'{args.artifact}' is not an exported generator (it takes no 'noise').")
    if not diffusion and (args.steps is not None or args.guidance is not None):
        raise runtime.ArtifactError("--steps and --guidance are for diffusion models (ddpm, cddpm).")
    if not styles and (args.mix is not None or args.crossover is not None):
        raise runtime.ArtifactError(
            "--mix and --crossover are for a StyleGAN synthesis export (kerazoo export RUN --signature styles)."
        )
    if args.truncation is not None and not (styles or getattr(generator, "truncatable", False)):
        raise runtime.ArtifactError(
            f"'{args.artifact}' takes no truncation: --truncation is for StyleGAN exports."
        )
    out = args.out or os.path.splitext(args.artifact)[0] + ".png"
    arrays = os.path.splitext(out)[1].lower() == ".npz"
    if not arrays and os.path.splitext(out)[1].lower() != ".png":
        raise runtime.ArtifactError(
            f"--out must end in .png (a grid) or .npz (the arrays). Received: --out {out}"
        )
    if os.path.exists(out) and not args.overwrite:
        raise runtime.ArtifactError(f"'{out}' already exists. Choose another --out or pass --overwrite.")
    if args.columns is not None and args.columns < 1:
        raise runtime.ArtifactError(f"--columns must be a positive integer. Received: {args.columns}")
    label = args.label
    if label is not None:
        try:
            label = int(label)
        except ValueError:
            raise runtime.ArtifactError(
                f"--label must be a class id (an integer) for this generator. Received: {label!r}"
            ) from None
    if diffusion:
        images = generator.sample(
            args.n, label=label, seed=args.seed, steps=args.steps, guidance=args.guidance
        )
    elif styles:
        images = generator.sample(
            args.n,
            label=label,
            seed=args.seed,
            truncation=args.truncation,
            mix_seed=args.mix,
            crossover=args.crossover,
        )
    elif args.truncation is not None:
        images = generator.sample(args.n, label=label, seed=args.seed, truncation=args.truncation)
    else:
        images = generator.sample(args.n, label=label, seed=args.seed)
    if arrays:
        labels = generator.labels_for(args.n, label)
        runtime.save_samples(images, out, labels, overwrite=args.overwrite)
        print(
            f"wrote {out} ({len(images)} samples from {args.artifact}: images uint8{', labels' if labels is not None else ''})"
        )
        return 0
    columns = args.columns
    if columns is None and generator.conditional and label is None:
        columns = generator.num_classes  # one column per class
    runtime.save_grid(images, out, columns=columns, overwrite=args.overwrite)
    print(f"wrote {out} ({len(images)} samples from {args.artifact})")
    return 0


def _cmd_translate(args) -> int:
    from kerazoo import runtime

    if os.path.exists(args.out) and not args.overwrite:
        raise runtime.ArtifactError(f"'{args.out}' already exists. Choose another --out or pass --overwrite.")
    translator = runtime.load(args.artifact)
    if not isinstance(translator, runtime.Translator):
        raise runtime.ArtifactError(
            f"'{args.artifact}' is not an exported translator (no metadata saying role 'translator'). "
            "Export a pix2pix or SRGAN run with `kerazoo export`."
        )
    inputs, outputs = translator.translate_files(args.inputs)
    if len(outputs) == 1:
        runtime.save_grid(outputs, args.out, columns=1, overwrite=True, scale=1, padding=0)
    else:
        runtime.save_grid(runtime.side_by_side(inputs, outputs), args.out, columns=2, overwrite=True)
    print(f"wrote {args.out} ({len(outputs)} image{'s' * (len(outputs) > 1)} translated by {args.artifact})")
    return 0


def _cmd_predict(args) -> int:
    from kerazoo import runtime

    model = runtime.TablePredictor(args.artifact)
    out = model.predict_csv(args.rows, args.out, overwrite=args.overwrite)
    print(f"wrote {out} (the rows of {args.rows} with {', '.join(model.added_columns())})")
    return 0


def main(argv=None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from kerazoo import __version__

        print(f"kerazoo {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        _precheck(args)
    except _EarlyError as e:
        print(f"kerazoo {args.command}: error: {e}", file=sys.stderr)
        return 2
    try:
        if args.command not in TF_FREE:  # the runtime reads no registry
            missing = _missing_training_dependencies()
            if missing:
                print(
                    f"kerazoo {args.command}: error: this install is the deployment runtime (no "
                    f"{', '.join(missing)}); only 'kerazoo sample', 'translate' and 'predict' work here. "
                    'For training, export and evaluation: pip install "kerazoo[train]"',
                    file=sys.stderr,
                )
                return 2
            _import_tensorflow_quietly()
            from kerazoo._plugins import PluginError, load_plugins

            try:
                load_plugins(args.plugin)
            except PluginError as e:
                print(f"kerazoo {args.command}: error: {e}", file=sys.stderr)
                return 2
        if args.command == "list":
            return _cmd_list(args)
        if args.command in TF_FREE:  # only the runtime is imported
            from kerazoo.runtime import ArtifactError

            errors, diverged = (ArtifactError,), ()
            command = {"sample": _cmd_sample, "translate": _cmd_translate, "predict": _cmd_predict}[
                args.command
            ]
        else:
            # Usage and data errors are raised before anything is trained or written.
            from kerazoo.data import DataError
            from kerazoo.evaluation import EvaluationError
            from kerazoo.export import ExportError
            from kerazoo.runtime import ArtifactError
            from kerazoo.training import DivergenceError, UsageError

            diverged = DivergenceError
            errors = (UsageError, DataError, ExportError, ArtifactError, EvaluationError)
            command = {"train": _cmd_train, "export": _cmd_export, "evaluate": _cmd_evaluate}[args.command]
        try:
            return command(args)
        except errors as e:
            print(f"kerazoo {args.command}: error: {e}", file=sys.stderr)
            return 2
        except diverged as e:
            print(f"kerazoo {args.command}: error: {e}", file=sys.stderr)
            return 3
    except KeyboardInterrupt:
        kept = ""
        if args.command == "train":
            from kerazoo.training import partial_dir

            partial = partial_dir(args.out or os.path.join("runs", args.name))
            if partial.exists():
                kept = f" The last backup is kept in {partial}: continue with --resume."
        print(
            f"kerazoo {args.command}: interrupted.{kept or ' Nothing partial was left behind.'}",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
