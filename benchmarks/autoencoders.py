"""Benchmark of the autoencoders, the VAE and CNN embeddings on full MNIST.

    python benchmarks/autoencoders.py --data-dir ../shared/data [--only vae]

- Each autoencoder is trained by `kerazoo.train` with its recipe (or `--epochs`); reported: test
  reconstruction MSE (per pixel, [0, 1] scale), and for the VAE the test loss per image in nats
  (BCE summed over pixels + KL; keras.io's VAE example logs 146.95 after 30 epochs).
- Denoising: MSE against the clean test images, on inputs corrupted with the denoising model's own
  noise level, for the denoising model and for the plain conv autoencoder.
- VAE prior samples: 10,000 decoded from N(0, I), classified by the zoo's CNN trained on real
  MNIST; reported: the share with confidence >= 0.9.
- Transfer learning: logistic regression on the frozen penultimate features of a CNN trained on
  scikit-learn's `digits` (not on MNIST), from 100 labelled MNIST training images per class, against
  the same classifier on raw pixels; MNIST test accuracy of both.
Results go to `benchmarks/results/autoencoders.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _evaluator import evaluator, evaluator_record, score  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo.data import load_images  # noqa: E402
from kerazoo.embeddings import embed  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

MODELS = ("autoencoder", "conv_autoencoder", "denoising_autoencoder", "vae")


def train(name, workdir, data_dir, epochs):
    run = workdir / f"{name}-e{epochs}"
    metrics = kerazoo.train(
        name, dataset="mnist", data_dir=data_dir, epochs=epochs, out=run, overwrite=True, verbose=2
    )
    return metrics, keras.saving.load_model(run / "model.keras")


def denoising(models, x_test, noise_stddev, seed=0):
    """MSE against clean images of each model's output on the same noisy inputs."""
    noisy = np.clip(x_test + np.random.default_rng(seed).normal(0, noise_stddev, x_test.shape), 0, 1)
    noisy = noisy.astype(np.float32)
    out = {"noise_stddev": noise_stddev, "noisy_input_mse": float(np.mean((noisy - x_test) ** 2))}
    for name, model in models.items():
        out[f"{name}_mse"] = float(np.mean((model.predict(noisy, batch_size=500, verbose=0) - x_test) ** 2))
    return out


def transfer(workdir, data_dir, per_class=100, seed=0):
    """Logistic regression on frozen CNN features vs raw pixels, from `per_class` MNIST labels per
    class. The CNN is trained on the embedded `digits` set (scikit-learn's, another source), never
    on MNIST, so no MNIST label reaches the features beyond the `per_class` ones."""
    from sklearn.linear_model import LogisticRegression

    run = workdir / "transfer_cnn_digits"
    if not (run / "model.keras").is_file():
        kerazoo.train("cnn", dataset="digits", out=run, verbose=0)
    classifier = keras.saving.load_model(run / "model.keras")

    x_train, y_train = load_images("mnist", "train", data_dir)
    x_test, y_test = load_images("mnist", "test", data_dir)
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(y_train == k), per_class, replace=False) for k in range(10)]
    )
    x_small = x_train[chosen].astype(np.float32) / 255.0
    x_eval = x_test.astype(np.float32) / 255.0
    results = {"labels_per_class": per_class}
    for label, featurize in (
        ("raw_pixels", lambda x: x.reshape(len(x), -1)),
        ("cnn_embeddings", lambda x: embed(classifier, x)),
    ):
        clf = LogisticRegression(max_iter=5000).fit(featurize(x_small), y_train[chosen])
        results[f"{label}_test_accuracy"] = float(clf.score(featurize(x_eval), y_test))
    return results


SECTIONS = (*MODELS, "denoising", "transfer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="comma-separated parts to (re)measure, merged into --out: model names (vae also scores its "
        "prior samples), denoising (needs denoising_autoencoder and conv_autoencoder), transfer",
    )
    parser.add_argument("--workdir", default="runs/benchmarks")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "autoencoders.json"))
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    only = args.only.split(",")
    for part in only:
        if part not in SECTIONS:
            parser.error(
                f"--only {part}: not a part of this benchmark. Expected some of {', '.join(SECTIONS)}"
            )
    if "denoising" in only and not {"denoising_autoencoder", "conv_autoencoder"} <= set(only):
        parser.error("--only denoising compares two models: add denoising_autoencoder,conv_autoencoder")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    fresh = not out.is_file()
    results = {"models": {}} if fresh else json.loads(out.read_text())
    # `machine_by_part` records the machine each part ran on (a partial rerun must not relabel the
    # parts it keeps; parts it does not list ran on the top level's machine), as classic.py does.
    machine = machine_info()
    if fresh:
        results.update(machine=machine, versions=library_versions())
    by_part = results.setdefault("machine_by_part", {})
    start = time.perf_counter()

    def save():  # after each part: a partial run keeps what it measured
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")

    trained = {}
    for name in (m for m in MODELS if m in only):
        epochs = args.epochs or kerazoo.get_entry(name).recipe.epochs
        metrics, trained[name] = train(name, workdir, args.data_dir, epochs)
        results["models"][name] = {
            k: v for k, v in metrics.items() if k.startswith("test_") or k in ("epochs", "train_seconds")
        }
        by_part[name] = machine
        print(name, results["models"][name], flush=True)
        save()

    if "denoising" in only:
        x_test = load_images("mnist", "test", args.data_dir)[0].astype(np.float32) / 255.0
        stddev = trained["denoising_autoencoder"].get_layer("denoising_autoencoder_corrupt").stddev
        results["denoising"] = denoising(
            {k: trained[k] for k in ("denoising_autoencoder", "conv_autoencoder")}, x_test, stddev
        )
        by_part["denoising"] = machine
        save()
    if "vae" in trained:
        classifier, accuracy = evaluator(workdir, args.data_dir)
        vae = trained["vae"]
        z = np.random.default_rng(1).standard_normal((10_000, vae.latent_dim)).astype(np.float32)
        prior = score(classifier, vae.decoder.predict(z, batch_size=500, verbose=0))
        results["vae_prior_samples"] = {
            **prior,
            "evaluator_test_accuracy": accuracy,
            "evaluator": evaluator_record(args.data_dir),
        }
        save()
    if "transfer" in only:
        results["transfer"] = transfer(workdir, args.data_dir)
        by_part["transfer"] = machine
    results["total_seconds"] = time.perf_counter() - start
    save()
    print(json.dumps({k: v for k, v in results.items() if k != "versions"}, indent=2))


if __name__ == "__main__":
    main()
