"""Benchmark of image-to-image translation: pix2pix and SRGAN against their reconstruction-only twins.

    python benchmarks/translation.py --data-dir ../shared/data [--only NAME ...]

Each contender is trained by `kerazoo.train` with its recipe (overrides listed below) and judged on
the whole test split by the translation task's figures (`metrics.json`: L1, PSNR, SSIM, sharpness,
baselines, map-colour accuracy); for MNIST, the pinned MNIST evaluator (as benchmarks/gan.py's) classifies the outputs, the real targets and the bicubic
upsamplings.

| contender | model | data | recipe |
|---|---|---|---|
| `srresnet` | srgan | MNIST, `pairs=lowres:4` (7x7 -> 28x28) | `adversarial_weight=0` |
| `srgan` | srgan | the same | its own (MSE + 1e-3 adversarial) |
| `srgan_perceptual` | srgan | the same | `reconstruction=perceptual`: MSE + the distance between the last convolution's maps of a second CNN (2 MNIST epochs, seed 1; not the evaluator) |
| `edges2digits` | pix2pix | MNIST, `pairs=edges` | its own (adversarial + 100 L1) |
| `map2aerial`, `aerial2map` | pix2pix | synthetic_maps, each direction | its own |
| `map2aerial_l1`, `aerial2map_l1` | pix2pix | the same | `adversarial_weight=0` (the paper's L1-only ablation) |

The targets (issue "Image-to-image translation") are checked in `targets`. Results go to
`benchmarks/results/translation.json` (written after each contender), a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _evaluator import evaluator  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import data as zdata  # noqa: E402
from kerazoo.tasks._base import dataset_arrays  # noqa: E402
from kerazoo.tasks.translation import classifier_figures  # noqa: E402
from kerazoo.training import library_versions  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "translation.json"
L1_ONLY = {"adversarial_weight": 0.0}
CONTENDERS = {
    "srresnet": ("srgan", "mnist", {"pairs": "lowres:4", **L1_ONLY}),
    "srgan": ("srgan", "mnist", {"pairs": "lowres:4"}),
    "srgan_perceptual": ("srgan", "mnist", {"pairs": "lowres:4", "reconstruction": "perceptual"}),
    "edges2digits": ("pix2pix", "mnist", {"pairs": "edges"}),
    "map2aerial": ("pix2pix", "synthetic_maps", {"direction": "map2aerial"}),
    "map2aerial_l1": ("pix2pix", "synthetic_maps", {"direction": "map2aerial", **L1_ONLY}),
    "aerial2map": ("pix2pix", "synthetic_maps", {"direction": "aerial2map"}),
    "aerial2map_l1": ("pix2pix", "synthetic_maps", {"direction": "aerial2map", **L1_ONLY}),
}


def _mnist_classifier_figures(run_dir, recipe, data_dir, workdir):
    """The CNN's accuracy on the run's outputs, the real test digits, and (lowres) bicubic upsamplings."""
    classifier, _ = evaluator(workdir, data_dir)
    generator = kerazoo.load_model(run_dir / "generator.keras")
    ds = zdata.make_dataset(
        "mnist",
        "test",
        500,
        shuffle=False,
        normalization="symmetric",
        data_dir=data_dir,
        pairs=recipe["pairs"],
    )
    inputs, targets = dataset_arrays(ds)
    _, labels = zdata.load_images("mnist", "test", data_dir)
    outputs = generator.predict(inputs, batch_size=500, verbose=0)
    figures = classifier_figures(classifier, outputs, targets, labels)
    if inputs.shape[1:] != targets.shape[1:]:
        bicubic = np.clip(tf.image.resize(inputs, targets.shape[1:3], method="bicubic").numpy(), -1, 1)
        figures["classifier_accuracy_bicubic"] = classifier_figures(classifier, bicubic, targets, labels)[
            "classifier_accuracy"
        ]
    return figures


def feature_cnn(workdir, data_dir):
    """The perceptual loss's classifier: the zoo's CNN, 2 epochs on MNIST, seed 1 (the evaluator that
    judges the outputs is another, 20-epoch CNN)."""
    run = workdir / "translation_feature_cnn"
    if not (run / "model.keras").is_file():
        kerazoo.train(
            "cnn", dataset="mnist", data_dir=data_dir, epochs=2, seed=1, out=run, overwrite=True, verbose=0
        )
    return str(run)


def run(name, args) -> dict:
    model, dataset, recipe = CONTENDERS[name]
    if recipe.get("reconstruction") == "perceptual":
        recipe = {**recipe, "feature_model": feature_cnn(args.workdir, args.data_dir)}
    epochs = args.mnist_epochs if dataset == "mnist" else args.maps_epochs
    run_dir = args.workdir / f"translation_{name}"
    start = time.perf_counter()
    metrics = kerazoo.train(
        model,
        dataset=dataset,
        data_dir=args.data_dir,
        epochs=epochs,
        recipe=recipe,
        out=run_dir,
        overwrite=True,
        verbose=0,
    )
    wall = time.perf_counter() - start
    config = json.loads((run_dir / "config.json").read_text())

    batch = config["recipe"]["batch_size"]
    images = metrics["epochs"] * batch * (60_000 // batch if dataset == "mnist" else 1_000 // batch)
    result = {
        "model": model,
        "dataset": dataset,
        "recipe": recipe,
        "epochs": metrics["epochs"],
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": round(wall, 1),
        "images_per_second": round(images / metrics["train_seconds"], 1),
        **{
            k: metrics[k]
            for k in ("l1", "psnr", "ssim", "sharpness", "target_sharpness", "sharpness_ratio", "baselines")
        },
    }
    if "map_colour_accuracy" in metrics:
        result["map_colour_accuracy"] = metrics["map_colour_accuracy"]
    if dataset == "mnist":
        result.update(_mnist_classifier_figures(run_dir, recipe, args.data_dir, args.workdir))
    return result


def targets(results) -> dict:
    """Each target of the issue, with the figures it compares and whether it is met."""
    out = {}
    if {"srresnet", "srgan"} <= set(results):
        sr, gan = results["srresnet"], results["srgan"]
        bicubic = sr["baselines"]["bicubic"]["psnr"]
        out["srresnet_psnr_over_bicubic_db"] = {
            "value": sr["psnr"] - bicubic,
            "target": ">= 3",
            "met": sr["psnr"] - bicubic >= 3,
        }
        out["srgan_psnr_below_srresnet_db"] = {
            "value": sr["psnr"] - gan["psnr"],
            "target": "<= 1",
            "met": sr["psnr"] - gan["psnr"] <= 1,
        }
        acc, bic = gan["classifier_accuracy"], gan["classifier_accuracy_bicubic"]
        out["srgan_classifier_accuracy_vs_bicubic"] = {
            "value": [acc, bic],
            "target": "srgan >= bicubic",
            "met": acc >= bic,
        }
    if "edges2digits" in results:
        ratio = results["edges2digits"]["classifier_accuracy_ratio"]
        out["edges2digits_accuracy_ratio"] = {"value": ratio, "target": ">= 0.90", "met": ratio >= 0.9}
    if {"map2aerial", "map2aerial_l1"} <= set(results):
        gan, l1 = results["map2aerial"], results["map2aerial_l1"]
        out["map2aerial_sharpness_ratio"] = {
            "value": [gan["sharpness_ratio"], l1["sharpness_ratio"]],
            "target": "pix2pix within 15% of the targets' (L1-only falls short)",
            "met": abs(gan["sharpness_ratio"] - 1) <= 0.15,
        }
        out["map2aerial_l1_vs_l1_only"] = {
            "value": gan["l1"] / l1["l1"],
            "target": "<= 1.3",
            "met": gan["l1"] <= 1.3 * l1["l1"],
        }
    if {"aerial2map", "aerial2map_l1"} <= set(results):
        gan, l1 = (
            results["aerial2map"]["map_colour_accuracy"],
            results["aerial2map_l1"]["map_colour_accuracy"],
        )
        out["aerial2map_colour_accuracy"] = {
            "value": [gan, l1],
            "target": "pix2pix >= L1-only",
            "met": gan >= l1,
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--workdir", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--mnist-epochs", type=int, default=1)
    parser.add_argument("--maps-epochs", type=int, default=30)
    parser.add_argument("--only", nargs="*", default=list(CONTENDERS), choices=list(CONTENDERS))
    args = parser.parse_args()
    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results = saved.get("results", {})
    for name in args.only:
        print(f"training {name} ...", flush=True)
        results[name] = run(name, args)
        report = {
            "command": "python benchmarks/translation.py --data-dir ../shared/data (contenders run in turn, 1 MNIST epoch, 30 synthetic_maps epochs)",
            "versions": library_versions(),
            "results": results,
            "targets": targets(results),
        }
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps({name: results[name]}, indent=1), flush=True)
    print("\n| contender | L1 | PSNR | SSIM | sharpness / target's | images/s | minutes |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['l1']:.4f} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['sharpness_ratio']:.2f} | "
            f"{r['images_per_second']:.0f} | {r['train_seconds'] / 60:.1f} |"
        )
    print(json.dumps(targets(results), indent=1))


if __name__ == "__main__":
    main()
