"""The zoo's results table: every model on full MNIST (or its own data), with its published anchor.

    python benchmarks/zoo.py --data-dir ../shared/data --run    # every benchmark, then the table
    python benchmarks/zoo.py                                   # the table from benchmarks/results/

`--run` runs the component benchmarks in turn, each with the recipe's defaults on this machine
(classic.py, gan.py with the epochs in GAN_EPOCHS and recipe overrides in GAN_RECIPES and GAN_PRECISION, autoencoders.py, diffusion.py, export.py); it takes hours on
2 CPU cores. Without `--run` the table is rebuilt from the JSON those scripts wrote, so every figure
in it traces back to a script in this folder. Rows whose benchmark has not been run say so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GAN_EPOCHS = {
    "dcgan": 15,
    "cgan": 4,
    "gan": 30,
    "wgan_gp": 1,
    "progan": 24,
    "stylegan": 4,
}  # MNIST epochs behind the table
# Recipe overrides for MNIST (`gan.py --recipe`, as typed); results are stored as `NAME,KEY=VALUE`.
GAN_RECIPES = {
    "progan": {  # its default schedule is sized for `digits`; the generator's average; lazy penalty
        "phase_images": "30000",
        "g_optimizer.use_ema": "true",
        "g_optimizer.ema_momentum": "0.999",
        "penalty_every": "4",
    }
}
# diffusion.py --epochs: what fits a session on 2 cores, not the recipe's 40; under --precision auto
# (mixed bfloat16 on a CPU with bf16 units: 1.3 times the epochs an hour), stored as NAME,precision=auto.
DIFFUSION_EPOCHS = "ddpm=10,cddpm=5"
DIFFUSION_PRECISION = "auto"
GAN_PRECISION = {"progan": "mixed"}  # `gan.py --precision`, stored as `,precision=...` after the recipe


def _gan_label(name):
    label = name + "".join(f",{k}={v}" for k, v in GAN_RECIPES.get(name, {}).items())
    return label + (f",precision={GAN_PRECISION[name]}" if name in GAN_PRECISION else "")


def _load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _recipe_epochs(name):
    from kerazoo import get_entry

    return get_entry(name).recipe.epochs


def _minutes(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def rows() -> list[tuple]:
    """(model, data, figure, anchor, comparable?, epochs, train time)."""
    classic, gans, aes = _load("classic"), _load("gan").get("gans", {}), _load("autoencoders")
    out = []
    for key, r in classic.get("toys", {}).items():
        name, data = key.split(":")
        if "w" in r:
            figure, anchor = f"w = {r['w']:.5f}", "the exact w = 2 of y = 2x"
        else:
            figure, anchor = f"{r['test_accuracy']:.0%} of the truth table", "the truth table"
        out.append((name, data, figure, anchor, "yes", r["epochs"], _minutes(r["train_seconds"])))
    anchors = {
        "cnn": (
            "keras.io mnist_convnet 99.22%; classic Keras mnist_cnn 99.25% (12 epochs)",
            "yes: same test split; trained on 54k (6k validate), smaller net with augmentation",
        ),
        "mlp": (
            "Keras mnist_mlp 98.40% (512-512)",
            "yes: same test split and layout; trained on 54k (6k validate)",
        ),
    }
    for name, (anchor, comparable) in anchors.items():
        if name in classic:
            r = classic[name]
            figure = f"{r['test_accuracy']:.2%} test accuracy"
            if r.get("seeds"):  # several run seeds: the mean, and their range
                each = r["test_accuracy_per_seed"]
                figure += f" (mean of {len(each)} seeds, {min(each):.2%}-{max(each):.2%})"
            out.append(
                (
                    _gan_label(name),
                    "MNIST",
                    figure,
                    anchor,
                    comparable,
                    r["epochs"],
                    _minutes(r["train_seconds"]),
                )
            )
    if "tabular_mlp" in classic:
        r = classic["tabular_mlp"]
        out.append(
            (
                "tabular_mlp",
                "breast_cancer, 10 splits",
                f"{r['mean_test_accuracy']:.2%} mean test accuracy",
                f"logistic regression {r['logistic_regression_mean_test_accuracy']:.2%} on the same splits",
                "yes: same splits",
                _recipe_epochs("tabular_mlp"),
                _minutes(r["train_seconds_total"]) + " for 10",
            )
        )
    for series, r in classic.get("lstm_forecaster", {}).items():
        out.append(
            (
                "lstm_forecaster",
                series,
                f"RMSE {r['test_rmse']:.2f}" + (" (mean of seeds 0-2)" if "test_rmse_per_seed" in r else ""),
                f"persistence {r['persistence_rmse']:.1f}, seasonal naive {r['seasonal_naive_rmse']:.1f}"
                + (f", SARIMA(0,1,1)(0,1,1)12 {r['sarima_rmse']:.1f}" if r.get("sarima_rmse") else "")
                + (
                    f", linear autoregression on the same windows {r['linear_ar_rmse']['12']:.1f}"
                    if "linear_ar_rmse" in r
                    else ""
                ),
                "yes: same 48 test months",
                r["epochs"],
                _minutes(r["train_seconds"]),
            )
        )
    for name in GAN_EPOCHS:
        r = gans.get(_gan_label(name))
        if not r:
            out.append((name, "MNIST", "not measured yet", "", "", "", ""))
            continue
        figure = f"{r['confident_share']:.1%} confidently classified, {r['digits_present']} digits"
        if "requested_accuracy" in r:
            figure += f", {r['requested_accuracy']:.1%} the digit asked for"
        anchor, comparable = "", ""
        if "quality" in r:
            q, real = r["quality"], r["real_test_vs_train"]
            figure += (
                f"; classifier FID {q['fid']:.2f} (real {real['fid']:.2f}), score {q['classifier_score_b32']:.2f} "
                f"in batches of 32 (real {real['classifier_score_b32']:.2f})"
            )
            anchor = "TF-GAN MNIST tutorial: classifier score 7.44, real data 8.38 (batches of 32)"
            comparable = (
                "partly: the zoo's CNN as classifier, not TF-GAN's; compare each with its real-data figure"
            )
            if "requested_accuracy" in r:  # samples asked for digit i % 10: every batch holds all digits
                anchor, comparable = (
                    "",
                    (
                        "score: no, its batches of 32 hold every digit in equal numbers (real batches do not), "
                        "which raises it; FID: read against the real figure"
                    ),
                )
        out.append(
            (_gan_label(name), "MNIST", figure, anchor, comparable, r["epochs"], _minutes(r["train_seconds"]))
        )
    models = aes.get("models", {})
    for name in ("autoencoder", "conv_autoencoder", "denoising_autoencoder"):
        r = models.get(name)
        figure = f"test MSE {r['test_reconstruction_loss']:.4f}" if r else "not measured yet"
        out.append(
            (
                name,
                "MNIST",
                figure,
                "",
                "",
                r["epochs"] if r else "",
                _minutes(r["train_seconds"]) if r else "",
            )
        )
    r = models.get("vae")
    if r:
        prior = aes.get("vae_prior_samples", {})
        figure = f"test loss {r['test_loss']:.2f} nats per image"
        if prior:
            figure += f"; {prior['confident_share']:.1%} of prior samples confidently classified"
        out.append(
            (
                "vae",
                "MNIST",
                figure,
                "keras.io VAE 146.95 (30 epochs)",
                "yes: same loss definition and latent_dim 2; a wider network (Dense 512-512 each side), "
                f"{r['epochs']} epochs against its 30",
                r["epochs"],
                _minutes(r["train_seconds"]),
            )
        )
    else:
        out.append(("vae", "MNIST", "not measured yet", "keras.io VAE 146.95 (30 epochs)", "", "", ""))
    diffusion = _load("diffusion").get("models", {})
    for name in ("ddpm", "cddpm"):
        r = diffusion.get(f"{name},precision={DIFFUSION_PRECISION}")
        if not (r and "quality" in r):
            out.append((name, "MNIST", "not measured yet", "", "", "", ""))
            continue
        q, real = r["quality"], r["real_test_vs_train"]
        figure = (
            f"DDIM {r['sample_steps']} steps, {q['n']:,} samples: classifier FID {q['fid']:.2f} "
            f"(real {real['fid']:.2f}), {q['confident_share']:.1%} confidently classified"
        )
        if "requested_accuracy" in q:
            figure += f", {q['requested_accuracy']:.1%} the digit asked for (guidance {r['guidance']:g})"
        # The loss it was trained with: rows measured before min-SNR became the default (2026-12-06)
        # record no builder arguments and were trained with the simple loss.
        gamma = r.get("model_hparams", {}).get("min_snr_gamma")
        figure += f"; {'min-SNR' if gamma else 'simple'} loss, {r.get('dtype_policy') or 'float32'}"
        out.append(
            (
                name,
                "MNIST",
                figure,
                "",
                f"with the GANs' and the VAE's rows: same evaluator ({r['epochs']} epochs against the recipe's "
                f"{_recipe_epochs(name)})",
                r["epochs"],
                _minutes(r["train_seconds"]),
            )
        )
    return out


def markdown() -> str:
    lines = [
        "| model | data | figure | published anchor | comparable? | epochs | train time |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a folder with mnist.npz (needed with --run)")
    parser.add_argument("--run", action="store_true", help="run every benchmark first (hours on 2 cores)")
    args = parser.parse_args()
    if args.run:
        if not args.data_dir:
            parser.error("--run needs --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
        python, data = sys.executable, ["--data-dir", args.data_dir]
        commands = [[python, str(HERE / "classic.py"), *data]]
        commands += [
            [python, str(HERE / "gan.py"), *data, "--epochs", str(epochs), "--only", name]
            + [f"--recipe={k}={v}" for k, v in GAN_RECIPES.get(name, {}).items()]
            + ([f"--precision={GAN_PRECISION[name]}"] if name in GAN_PRECISION else [])
            for name, epochs in GAN_EPOCHS.items()
        ]
        commands += [[python, str(HERE / "autoencoders.py"), *data], [python, str(HERE / "export.py"), *data]]
        commands += [
            [
                python,
                str(HERE / "diffusion.py"),
                *data,
                "--epochs",
                DIFFUSION_EPOCHS,
                "--samples",
                "cddpm=2000",
                "--precision",
                DIFFUSION_PRECISION,
            ]
        ]
        for command in commands:
            print("+", " ".join(command), flush=True)
            subprocess.run(command, check=True)
    print(markdown())


if __name__ == "__main__":
    main()
