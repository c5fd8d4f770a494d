"""The `kerazoo` command.

    kerazoo list
    kerazoo train NAME [--dataset D] [--data-dir DIR] [--epochs N] [--batch-size N] [--seed S]
                       [--out DIR] [--set key=value ...] [--csv PATH --column NAME] [--split-seed K]
                       [--strategy default|mirrored] [--overwrite] [--quiet]

Exit status: 0 on success; 2, with one line on stderr, for bad arguments or bad data (nothing is
written then).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main", "parse_set"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parse_value(text: str):
    """A `--set` value: JSON if it parses (`3`, `0.5`, `true`, `[64, 32]`), a comma list of values
    (`64,32` -> `[64, 32]`), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [_parse_value(part.strip()) for part in text.split(",") if part.strip()]
    lowered = text.lower()
    if lowered in ("true", "false", "none", "null"):
        return {"true": True, "false": False}.get(lowered)
    return text


def parse_set(items) -> dict:
    """`["hidden_units=256,128", "dropout=0.2"]` -> `{"hidden_units": [256, 128], "dropout": 0.2}`."""
    hparams = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set takes key=value. Received: {item!r}")
        hparams[key] = _parse_value(value.strip())
    return hparams


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kerazoo", description="A Keras 3 model zoo: list and train its models.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("list", help="print the zoo: name, task, parameters, default dataset")

    tr = sub.add_parser("train", help="train a model with its recipe and write a run directory")
    tr.add_argument("name", help="a model name from 'kerazoo list'")
    tr.add_argument("--dataset", help="dataset name (default: the model's embedded offline data)")
    tr.add_argument("--data-dir", help="folder with local MNIST-format files (or $KERAZOO_DATA_DIR)")
    tr.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    tr.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    tr.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tr.add_argument("--out", help="run directory (default: runs/NAME)")
    tr.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a builder hparam, e.g. --set hidden_units=256,128 (repeatable)",
    )
    tr.add_argument("--csv", help="CSV file for --dataset csv (first column a date)")
    tr.add_argument("--column", help="the CSV column to forecast")
    tr.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="which stratified train/test split of breast_cancer (default: 0)",
    )
    tr.add_argument(
        "--strategy",
        choices=("default", "mirrored"),
        default="default",
        help="tf.distribute strategy: mirrored trains on all local GPUs (default: default)",
    )
    tr.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


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
    except ValueError as e:
        raise UsageError(str(e)) from None
    result = train(
        args.name,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        out=args.out,
        hparams=hparams,
        csv=args.csv,
        column=args.column,
        overwrite=args.overwrite,
        split_seed=args.split_seed,
        strategy=args.strategy,
        verbose=0 if args.quiet else "auto",
    )
    shown = {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    print(json.dumps(shown, indent=2))
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
        if args.command == "list":
            return _cmd_list(args)
        # Usage and data errors are raised before anything is trained or written.
        from kerazoo.data import DataError
        from kerazoo.training import UsageError

        try:
            return _cmd_train(args)
        except (UsageError, DataError) as e:
            print(f"kerazoo {args.command}: error: {e}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("kerazoo: interrupted; no run directory was written.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
