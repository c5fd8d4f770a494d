"""Rebuild the pinned evaluators that kerazoo ships: the zoo's `cnn` trained with its recipe on the
zoo's own image data sets, the classifier every generative figure is judged by.

    python benchmarks/evaluators.py --data-dir ../shared/data

For each data set (`digits`, the embedded default, and `mnist`, from the folder given) this runs
`kerazoo.train("cnn", dataset=...)` (seed 0, deterministic ops, float32), saves the trained model
for inference only (no optimizer; Keras' own BatchNormalization, so plain Keras loads it) as
`kerazoo/_data/evaluators/NAME.keras`, and records in `kerazoo/_data/evaluators/evaluators.json`
the SHA-256 of its weights (what `kerazoo evaluate` checks on loading and names in every report),
its test accuracy, this command, the library versions and the machine.

Training is deterministic on one kind of machine; on another CPU (or a GPU) the kernels round
differently and the weights differ in their last bits, so a rebuild elsewhere gives another hash:
the shipped files are the yardstick, this script is how they were made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import kerazoo  # noqa: E402
from kerazoo.evaluation import PINNED, weights_sha256  # noqa: E402
from kerazoo.models._common import save_with_keras_layers  # noqa: E402
from kerazoo.tasks.classification import EVALUATOR  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

DATASETS = ("digits", "mnist")
COMMAND = "python benchmarks/evaluators.py --data-dir ../shared/data"


def rebuild(dataset: str, data_dir, out: Path) -> dict:
    """Train the evaluator for `dataset` and save it as `out / f"{dataset}.keras"`; its manifest entry."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        kerazoo.train(EVALUATOR, dataset=dataset, data_dir=data_dir, out=run, verbose=0)
        metrics = json.loads((run / "metrics.json").read_text())
        config = json.loads((run / "config.json").read_text())
        model = kerazoo.load_model(run / "model.keras")
        partial = out / f".{dataset}.partial.keras"
        save_with_keras_layers(model, partial)
        digest = weights_sha256(kerazoo.load_model(partial))
        if digest != weights_sha256(model):
            raise RuntimeError(f"{dataset}: the saved evaluator's weights differ from the trained model's")
        partial.replace(out / f"{dataset}.keras")
    return {
        "file": f"{dataset}.keras",
        "weights_sha256": digest,
        "model": EVALUATOR,
        "test_accuracy": metrics["test_accuracy"],
        "epochs_trained": metrics.get("epochs_trained"),
        "train_seconds": metrics.get("train_seconds"),
        "seed": config["seed"],
        "precision": config["precision"],
        "deterministic": config["deterministic"],
        "command": COMMAND,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument("--only", default=",".join(DATASETS), help="comma-separated data sets")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown data sets {unknown}; choose from {list(DATASETS)}")
    if "mnist" in names and not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    PINNED.mkdir(parents=True, exist_ok=True)
    manifest_path = PINNED / "evaluators.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"evaluators": {}}
    for name in names:
        entry = rebuild(name, args.data_dir, PINNED)
        entry.update(versions=library_versions(), machine=machine_info())
        manifest["evaluators"][name] = entry
        tmp = manifest_path.with_suffix(".json.partial")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.move(tmp, manifest_path)
        print(name, entry["weights_sha256"][:12], f"test accuracy {entry['test_accuracy']:.4f}", flush=True)


if __name__ == "__main__":
    main()
