"""Benchmark of the exports: batch-1 latency and file size of the DCGAN generator, and MNIST test
accuracy of the `cnn` classifier through each TFLite variant.

    python benchmarks/export.py --data-dir ../shared/data [--dcgan-run runs/benchmarks/dcgan-e10]

- Latency: median wall time of one call with a batch of 1, after warm-up, the contenders called
  in turn (one call of each, 300 rounds), for the Keras generator
  called directly (`generator(x, training=False)`, not `predict`), the SavedModel signature, and
  the TFLite files (float32 with a dynamic and with a fixed batch, float16, dynamic, int8) run by
  the ai-edge-litert interpreter through `kerazoo.runtime` (one thread per CPU, as TensorFlow uses). Weights do not change latency or size,
  so without `--dcgan-run` the untrained default generator is measured (the JSON says which).
- Size: bytes of each artifact.
- Accuracy: the `cnn` trained on MNIST (cached in `--workdir`; trained with its recipe when
  missing) exported in each mode; `export` itself
  measures Keras and artifact accuracy on all 10,000 test images while verifying.
Results go to `benchmarks/results/export.json`, Markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _evaluator import mnist_cnn_run  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import runtime  # noqa: E402
from kerazoo.data import load_images  # noqa: E402
from kerazoo.export import export, load_servable  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

VARIANTS = {  # name: (quantize, batch_size)
    "tflite float32": ("float32", None),
    "tflite float32, batch fixed to 1": ("float32", 1),
    "tflite float16": ("float16", None),
    "tflite dynamic": ("dynamic", None),
    "tflite int8": ("int8", None),
}


def median_ms(calls: dict, repeats: int, warmup: int = 20) -> dict:
    """Median milliseconds of each call, the contenders alternated (one call of each in turn), so a
    slower or faster stretch of the machine affects them all alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    times = {label: [] for label in calls}
    for _ in range(repeats):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    return {label: 1000 * statistics.median(t) for label, t in times.items()}


def generator_figures(source, outdir: Path, repeats: int) -> dict:
    servable = load_servable(source, model_name="dcgan")
    generator = servable.model
    noise = (
        np.random.default_rng(0).standard_normal((1, servable.model.inputs[0].shape[-1])).astype(np.float32)
    )
    rows, calls = {}, {}
    noise_tensor = tf.constant(noise)
    rows["keras generator(x, training=False)"] = {}
    calls["keras generator(x, training=False)"] = lambda: generator(noise_tensor, training=False)
    sm_path = outdir / "dcgan_saved_model"
    meta = export(servable, format="saved_model", out=sm_path, overwrite=True)
    signature = tf.saved_model.load(str(sm_path)).signatures["serving_default"]
    rows["saved_model signature"] = {"size_bytes": meta["size_bytes"]}
    calls["saved_model signature"] = lambda: signature(noise=noise_tensor)
    for label, (quantize, batch_size) in VARIANTS.items():
        path = outdir / f"dcgan_{quantize}_b{batch_size or 'dyn'}.tflite"
        meta = export(
            servable, format="tflite", quantize=quantize, batch_size=batch_size, out=path, overwrite=True
        )
        model = runtime.Generator(path)
        rows[label] = {
            "size_bytes": meta["size_bytes"],
            "tflite_ops": meta["tflite_ops"],
            "verification": meta["verification"],
        }
        calls[label] = lambda m=model: m.generate(noise)
    for label, ms in median_ms(calls, repeats).items():
        rows[label]["latency_ms"] = ms
    keras_ms = rows["keras generator(x, training=False)"]["latency_ms"]
    for row in rows.values():
        row["vs_keras"] = row["latency_ms"] / keras_ms
    return rows


def classifier_figures(workdir: Path, data_dir, outdir: Path) -> dict:
    run = mnist_cnn_run(workdir, data_dir)  # trains and caches the MNIST cnn if missing
    rows = {}
    for quantize in ("float32", "float16", "dynamic", "int8"):
        meta = export(
            run, format="tflite", quantize=quantize, out=outdir / f"cnn_{quantize}.tflite", overwrite=True
        )
        # float exports are verified on a 256-image slice; measure all 10,000 for the table.
        lite = runtime.LiteModel(outdir / f"cnn_{quantize}.tflite")
        x, y = load_images("mnist", "test", data_dir)
        ids = lite(images=(x.astype(np.float32) / 255.0))["class_ids"]
        rows[quantize] = {
            "test_accuracy": float(np.mean(ids == y)),
            "size_bytes": meta["size_bytes"],
            "verification": meta["verification"],
        }
    rows["keras"] = {"test_accuracy": json.loads((run / "metrics.json").read_text())["test_accuracy"]}
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument("--dcgan-run", help="a trained dcgan run directory (default: untrained weights)")
    parser.add_argument("--workdir", default="runs/benchmarks")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "export.json"))
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    workdir = Path(args.workdir)
    outdir = workdir / "exports"
    outdir.mkdir(parents=True, exist_ok=True)
    source = args.dcgan_run or kerazoo.build("dcgan")
    results = {
        "machine": machine_info(),
        "versions": library_versions(),
        "dcgan_weights": args.dcgan_run or "untrained (latency and size do not depend on the values)",
        "dcgan_batch1": generator_figures(source, outdir, args.repeats),
        "cnn_mnist": classifier_figures(workdir, args.data_dir, outdir),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| DCGAN generator, batch 1 | latency (ms) | vs Keras | size (bytes) |\n|---|---|---|---|")
    for label, row in results["dcgan_batch1"].items():
        size = f"{row['size_bytes']:,}" if "size_bytes" in row else "-"
        print(f"| {label} | {row['latency_ms']:.3f} | {row['vs_keras']:.2f} | {size} |")
    print("\n| cnn on MNIST test | accuracy | size (bytes) |\n|---|---|---|")
    for label, row in results["cnn_mnist"].items():
        size = f"{row['size_bytes']:,}" if "size_bytes" in row else "-"
        print(f"| {label} | {100 * row['test_accuracy']:.2f}% | {size} |")


if __name__ == "__main__":
    main()
