"""StyleGAN's own figures, beside the GAN benchmark's: perceptual path length in z and in w, the
DCGAN at equal training time, and the recipe on data it was not tuned on.

    python benchmarks/gan.py --data-dir ../shared/data --only stylegan --epochs 4
    python benchmarks/stylegan.py --data-dir ../shared/data

The first command trains `stylegan` on full MNIST with its recipe and judges 10,000 samples like
every GAN of the zoo (`benchmarks/results/gan.json`, under `stylegan`, with the figures after every
epoch). This script then reads that run and measures:

- perceptual path length (Karras et al. 2019, section 4.2; `kerazoo.quality.perceptual_path_length`)
  with the evaluator's penultimate features instead of VGG's: `--pairs` pairs of latents, a random
  point t on the path between them and t + 1e-4; in z along the great circle (slerp), in w along
  the line (lerp of the mapped w's, every layer the same w). The paper's claim: lower in w.
- the DCGAN at equal training time: its figures after the last epoch that ended before StyleGAN's
  training time (`gan.json`'s `dcgan` run and its per-epoch figures);
- the recipe on the `digits` data (`kerazoo train stylegan` with its defaults, which are not MNIST's
  benchmark settings), judged by the zoo's cnn trained on `digits`: confident share and classes.

`--fit` runs instead a probe without any adversary: each generator in FIT (StyleGAN's at the
recipe's and the paper's rate, the DCGAN's for comparison) is trained by plain regression to
reproduce `--fit-images` MNIST training images from as many fixed latents (mean squared error,
batches of 64, seed 0). A generator that cannot tell its latents apart can reach no lower than the
mean-image baseline (every latent mapped to the average image); the figures after every check are
the error on all the images and their spread across the latents (the real images': the target).
`--fit "NAME; NAME"` runs only those entries and keeps the others' figures.

Results go to `benchmarks/results/stylegan.json`.
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
from kerazoo.embeddings import feature_model  # noqa: E402
from kerazoo.quality import perceptual_path_length  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

RESULTS = Path(__file__).parent / "results"
EPSILON = 1e-4


def _slerp(a, b, t):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    omega = np.arccos(np.clip(np.sum(a * b, axis=1, keepdims=True), -1.0, 1.0))
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def path_lengths(gan, classifier, pairs: int, seed: int = 0) -> dict:
    """PPL in z (slerp) and in w (lerp) with the classifier's penultimate features (images in [0, 1])."""
    features = feature_model(classifier)
    rng = np.random.default_rng(seed)
    z1, z2 = (rng.standard_normal((pairs, gan.latent_dim)).astype(np.float32) for _ in range(2))
    t = rng.uniform(0.0, 1.0 - EPSILON, (pairs, 1)).astype(np.float32)
    ones = np.ones(pairs, np.float32)

    def embed(styles):
        images = np.concatenate(
            [np.asarray(gan.synthesis(styles[i : i + 250])) for i in range(0, len(styles), 250)]
        )
        return features.predict((np.clip(images, -1, 1) + 1) / 2, batch_size=500, verbose=0)

    def mapped(z):
        return np.asarray(gan.mapping.predict([z, ones], batch_size=500, verbose=0))

    def styles(w):
        return np.repeat(w[:, None], gan.num_ws, axis=1)

    out = {}
    for space in ("z", "w"):
        if space == "z":
            start, end = mapped(_slerp(z1, z2, t)), mapped(_slerp(z1, z2, t + EPSILON))
        else:
            w1, w2 = mapped(z1), mapped(z2)
            start, end = w1 + t * (w2 - w1), w1 + (t + EPSILON) * (w2 - w1)
        out[space] = perceptual_path_length(embed(styles(start)), embed(styles(end)), EPSILON)
    out["pairs"], out["epsilon"], out["features"] = pairs, EPSILON, "evaluator cnn, penultimate layer"
    return out


def style_sensitivity(gan, seed: int = 0) -> dict:
    """How much the synthesis network's images move across the styles its mapping gives 256 z's,
    against across random styles N(0, 3^2) (mean per-pixel std over the samples), and how dense its
    kernels are (per output channel, the largest input channel's share of the summed squared weights,
    averaged: near 1 would let demodulation cancel the styles)."""
    from kerazoo.models.stylegan import StyledConv

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((256, gan.latent_dim)).astype(np.float32)
    w = np.asarray(gan.mapping([z, np.ones(256, np.float32)]))
    own = np.asarray(gan.synthesis(gan.styles(w)))
    wild = np.asarray(
        gan.synthesis(3.0 * rng.standard_normal((256, gan.num_ws, gan.w_dim)).astype(np.float32))
    )
    shares = []
    for layer in gan.synthesis.layers:
        if isinstance(layer, StyledConv):
            squared = np.square(np.asarray(layer.kernel)).sum(axis=(0, 1))  # (in, out)
            shares.append(float((squared.max(axis=0) / squared.sum(axis=0)).mean()))
    return {
        "spread_across_mapped_styles": float(own.std(axis=0).mean()),
        "spread_across_random_styles": float(wild.std(axis=0).mean()),
        "largest_input_share_per_output": shares,
    }


def equal_time(gan_results: dict, seconds: float) -> dict | None:
    """The DCGAN's figures after its last epoch that ended within `seconds` of training."""
    dcgan = gan_results.get("dcgan")
    if not dcgan or not dcgan.get("by_epoch"):
        return None
    per_epoch = dcgan["train_seconds"] / dcgan["epochs"]
    epochs = [e for i, e in enumerate(dcgan["by_epoch"]) if (i + 1) * per_epoch <= seconds * 1.05]
    if not epochs:
        return None
    last = epochs[-1]
    return {
        "epochs": len(epochs),
        "seconds": round(len(epochs) * per_epoch, 1),
        "confident_share": last["confident_share"],
        "digits_present": last["digits_present"],
        "min_class_share": last["min_class_share"],
        "max_class_share": last["max_class_share"],
        "final": {
            "epochs": dcgan["epochs"],
            "train_seconds": dcgan["train_seconds"],
            "fid": dcgan["quality"]["fid"],
            "confident_share": dcgan["confident_share"],
        },
    }


def on_digits(workdir: Path, seed: int = 0) -> dict:
    """`kerazoo train stylegan` with its defaults on `digits`, judged by the pinned digits evaluator."""
    from kerazoo.evaluation import evaluator_for

    run = workdir / "stylegan-digits"
    metrics = kerazoo.train("stylegan", out=run, overwrite=True, verbose=2, seed=seed)
    judge, judge_accuracy, judge_info = evaluator_for("digits")
    generator = keras.saving.load_model(run / "generator.keras")
    noise = (
        np.random.default_rng(seed + 1)
        .standard_normal((2000, generator.inputs[0].shape[-1]))
        .astype(np.float32)
    )
    images = np.asarray(generator.predict([noise, np.ones(2000, np.float32)], batch_size=500, verbose=0))
    figures = score(judge, images, value_range=(-1.0, 1.0))
    figures.update(
        epochs=metrics["epochs"],
        train_seconds=metrics["train_seconds"],
        images_per_second=metrics["images_per_second"],
        judge_test_accuracy=judge_accuracy,
        judge_weights_sha256=judge_info["weights_sha256"],
        samples=2000,
        run_dir=str(run),
    )
    return figures


RAW_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}}
DCGAN_ADAM = {"class_name": "kerazoo>Adam", "config": {"beta_1": 0.5, "beta_2": 0.999}}


def _networks(generator: str, discriminator: str, hparams: dict):
    """A StyleGAN, or a GAN with one network swapped for the DCGAN's (the hybrids): which of the two
    networks carries a collapse."""
    from kerazoo.models.adversarial import dcgan_discriminator, dcgan_generator
    from kerazoo.models.stylegan import stylegan_discriminator
    from kerazoo.trainers.gan import GAN

    if (generator, discriminator) == ("stylegan", "stylegan"):
        return kerazoo.build("stylegan", seed=0, **hparams)
    if discriminator == "stylegan":
        d = stylegan_discriminator(name="d")
    else:
        d = dcgan_discriminator((28, 28, 1), 64, batch_norm=discriminator == "dcgan", name="d")
    if generator == "dcgan":
        return GAN(dcgan_generator(100, (28, 28, 1), 64, name="g"), d, seed=0)
    gan = kerazoo.build("stylegan", seed=0, **hparams)
    return type(gan)(gan.mapping, gan.synthesis, d, seed=0)


def sweep(variants: dict, steps: int, checks: int, classifier, data_dir, samples: int = 2000) -> dict:
    """Short probes of recipe variants on MNIST: each `variants[name]` (recipe overrides, and
    `hparams`; `networks` (generator, discriminator) to swap one for the DCGAN's, `recipe` the entry
    whose recipe the overrides apply to) trains `checks` x `steps` steps from seed 0 with the raw
    generator (no moving average) and is scored after each `steps`: confident share, digits present,
    largest class share, the images' spread across z (mean per-pixel std: near 0 is collapse) and
    D's outputs on fakes and reals."""
    from kerazoo._registry import get_entry

    ds = kerazoo.make_dataset(
        "mnist",
        "train",
        64,
        data_dir=data_dir,
        normalization="symmetric",
        labels=False,
        drop_remainder=True,
        seed=0,
    ).repeat()
    out = {}
    for name, overrides in variants.items():
        overrides = dict(overrides)
        hparams = overrides.pop("hparams", {})
        networks = tuple(overrides.pop("networks", ("stylegan", "stylegan")))
        entry = overrides.pop("recipe", "stylegan")
        overrides.setdefault("g_optimizer", RAW_ADAM)
        keras.utils.set_random_seed(0)
        gan = _networks(*networks, hparams)
        gan.compile(**get_entry(entry).recipe.replace(overrides).compile_options(steps * checks))
        noise = np.random.default_rng(1).standard_normal((samples, gan.latent_dim)).astype(np.float32)
        inputs = [noise, np.ones(samples, np.float32)] if networks[0] == "stylegan" else noise
        start, rows = time.perf_counter(), []
        for check in range(checks):
            history = gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0).history
            images = np.asarray(gan.generator.predict(inputs, batch_size=500, verbose=0))
            figures = score(classifier, images, value_range=(-1.0, 1.0))
            rows.append(
                {
                    "steps": (check + 1) * steps,
                    "confident_share": figures["confident_share"],
                    "digits_present": figures["digits_present"],
                    "max_class_share": figures["max_class_share"],
                    "spread_across_z": float(images.std(axis=0).mean()),
                    "d_fake": float(history["d_fake"][-1]),
                    "d_real": float(history["d_real"][-1]),
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(name, rows[-1], flush=True)
        record = {**overrides, "hparams": hparams, "networks": list(networks), "recipe": entry}
        out[name] = {"overrides": record, "checks": rows}
    return out


# StyleGAN2-ADA's "auto" configuration for small images (Karras et al. 2020b, its train.py; the
# probes below vary it).
ADA_AUTO = {
    "learning_rate": 2.5e-3,
    "d_optimizer.learning_rate": 2.5e-3,
    "r1_gamma": 0.0025,
    "hparams": {"mapping_layers": 2},
}

SWEEP = {  # what was probed on the way to the recipe (`--sweep`), as overrides of today's recipe
    "paper: 2e-3 for both": {"learning_rate": 2e-3, "d_optimizer.learning_rate": 2e-3},
    "5e-4 for both": {"d_optimizer.learning_rate": 5e-4},
    "5e-4 for both, no mixing": {"d_optimizer.learning_rate": 5e-4, "mixing_probability": 0.0},
    "5e-4 for both, g_steps 2": {"d_optimizer.learning_rate": 5e-4, "g_steps": 2},
    "5e-4 for both, mbstd groups of 32": {
        "d_optimizer.learning_rate": 5e-4,
        "hparams": {"mbstd_group_size": 32},
    },
    "recipe: G 5e-4, D 1e-4": {},
    "recipe, 2 mapping layers": {"hparams": {"mapping_layers": 2}},
    "2e-4 for both, betas 0.5/0.9, R1 gamma 20 every 4": {
        "learning_rate": 2e-4,
        "d_optimizer.learning_rate": 2e-4,
        "d_optimizer.beta_1": 0.5,
        "d_optimizer.beta_2": 0.9,
        "g_optimizer.beta_1": 0.5,
        "g_optimizer.beta_2": 0.9,
        "r1_gamma": 20.0,
        "penalty_every": 4,
    },
    "1e-3 for both, R1 gamma 10, no average": {
        "learning_rate": 1e-3,
        "d_optimizer.learning_rate": 1e-3,
        "r1_gamma": 10.0,
        "g_optimizer.use_ema": False,
    },
    "G 5e-4, D 2e-3": {"d_optimizer.learning_rate": 2e-3},
    "G 2e-4, D 2e-3": {"learning_rate": 2e-4, "d_optimizer.learning_rate": 2e-3},
    # StyleGAN2-ADA's configurations for small images (Karras et al. 2020b, its train.py): "auto"
    # (any dataset: Adam 2.5e-3 for both, 2 mapping layers, R1 gamma 0.0002 * side^2 / batch, i.e.
    # 0.0025 for 28x28 in batches of 64) and "cifar" (the same with minibatch-std groups of 32, gamma
    # 0.01, no style mixing).
    "StyleGAN2-ADA auto: 2.5e-3 for both, 2 mapping layers, R1 0.0025": ADA_AUTO,
    "StyleGAN2-ADA cifar: auto + mbstd 32, R1 0.01, no mixing": {
        **ADA_AUTO,
        "r1_gamma": 0.01,
        "mixing_probability": 0.0,
        "hparams": {"mapping_layers": 2, "mbstd_group_size": 32},
    },
    "2.5e-3 for both, R1 0.0025, 8 mapping layers": {k: v for k, v in ADA_AUTO.items() if k != "hparams"},
    "StyleGAN2-ADA auto, width 64 (the DCGAN's generator has 792k weights, this one 509k at 32)": {
        **ADA_AUTO,
        "hparams": {"mapping_layers": 2, "width": 64},
    },
    "StyleGAN2-ADA auto, G 5e-4": {**ADA_AUTO, "learning_rate": 5e-4},
    # DiffAugment (Zhao et al. 2020; kerazoo.trainers.augment) on what the discriminator sees.
    "StyleGAN2-ADA auto + DiffAugment (translation, cutout)": {
        **ADA_AUTO,
        "augment": ["translation", "cutout"],
    },
    "StyleGAN2-ADA auto, G 5e-4 + DiffAugment (translation, cutout)": {
        **ADA_AUTO,
        "learning_rate": 5e-4,
        "augment": ["translation", "cutout"],
    },
    # Equalized layers step by the learning rate relative to each weight, Glorot-initialised ones
    # (the DCGAN's, standard deviation sqrt(2 / (fan_in + fan_out))) by the rate over that deviation.
    # At 1e-2 both networks step about as the DCGAN's do (the --fit probe: the generator alone then
    # fits 256 images to MSE 0.014 in 1,200 steps).
    "1e-2 for both (about the DCGAN's relative step)": {
        "learning_rate": 1e-2,
        "d_optimizer.learning_rate": 1e-2,
    },
    "1e-2 for both, w-driven input": {
        "learning_rate": 1e-2,
        "d_optimizer.learning_rate": 1e-2,
        "hparams": {"synthesis_input": "mapped"},
    },
    # The hybrids: one network swapped for the DCGAN's, with the DCGAN's recipe (Adam 2e-4, beta_1
    # 0.5 for both, R1 0.1 every step) and one generator update per step.
    "hybrid: StyleGAN G + DCGAN D (BatchNorm)": {
        "networks": ("stylegan", "dcgan"),
        "recipe": "dcgan",
        "g_steps": 1,
        "g_optimizer": DCGAN_ADAM,
        "d_optimizer": DCGAN_ADAM,
    },
    "hybrid: StyleGAN G + DCGAN D (no BatchNorm)": {
        "networks": ("stylegan", "dcgan_no_bn"),
        "recipe": "dcgan",
        "g_steps": 1,
        "g_optimizer": DCGAN_ADAM,
        "d_optimizer": DCGAN_ADAM,
    },
    "hybrid: DCGAN G + StyleGAN D": {
        "networks": ("dcgan", "stylegan"),
        "recipe": "dcgan",
        "g_optimizer": DCGAN_ADAM,
        "d_optimizer": DCGAN_ADAM,
    },
    "hybrid: DCGAN G + StyleGAN D at 2e-3 (beta_1 0)": {
        "networks": ("dcgan", "stylegan"),
        "recipe": "dcgan",
        "g_optimizer": DCGAN_ADAM,
        "d_optimizer": {**RAW_ADAM, "config": {**RAW_ADAM["config"], "learning_rate": 2e-3}},
    },
}


# The fit probe's generators: builder, its hparams, Adam's settings (StyleGAN's at the recipe's
# 5e-4 and the paper's 2e-3; the DCGAN's recipe generator with its own Adam betas).
FIT = {
    "StyleGAN generator, Adam 5e-4 (the recipe's G rate)": ("stylegan", {}, 5e-4, 0.0),
    "StyleGAN generator, Adam 2e-3 (the paper's rate)": ("stylegan", {}, 2e-3, 0.0),
    "StyleGAN generator, 2 mapping layers, Adam 2e-3": ("stylegan", {"mapping_layers": 2}, 2e-3, 0.0),
    "StyleGAN generator, w-driven input, Adam 5e-4": ("stylegan", {"synthesis_input": "mapped"}, 5e-4, 0.0),
    "StyleGAN generator, w-driven input, Adam 2e-3": ("stylegan", {"synthesis_input": "mapped"}, 2e-3, 0.0),
    # Equalized learning rate draws every weight from N(0, 1), so Adam's step (about the learning
    # rate per weight) is a far smaller relative change than in the DCGAN's He-scaled layers.
    "StyleGAN generator, Adam 1e-2": ("stylegan", {}, 1e-2, 0.0),
    "DCGAN generator (width 32), Adam 5e-4": ("dcgan", {}, 5e-4, 0.5),
}


def _regression(generator, optimizer):
    """`generate(noise, training)` and a compiled regression step `step(noise, target)`."""
    import tensorflow as tf

    with_psi = len(generator.inputs) == 2  # StyleGAN's [noise, truncation]
    variables = generator.trainable_variables

    def generate(noise, training):
        inputs = [noise, tf.ones((tf.shape(noise)[0],))] if with_psi else noise
        return generator(inputs, training=training)

    @tf.function
    def step(noise, target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(generate(noise, True) - target))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    return generate, step


def fit_without_adversary(data_dir, images: int, steps: int, checks: int, names, seed: int = 0) -> dict:
    """Each FIT generator named in `names` trained by regression on `images` MNIST images from as many fixed latents
    (`checks` x `steps` steps of 64): MSE and spread across the latents after each `steps`."""
    import tensorflow as tf

    from kerazoo import data as zdata

    x = zdata.load_images("mnist", "train", data_dir)[0][:images].astype("float32") / 127.5 - 1.0
    baseline = float(np.mean(np.square(x - x.mean(axis=0))))
    out = {}
    for name in names:
        model, hparams, rate, beta_1 = FIT[name]
        keras.utils.set_random_seed(seed)
        generator = kerazoo.build(model, seed=seed, **hparams).generator
        z = np.random.default_rng(seed).standard_normal((images, generator.inputs[0].shape[-1]))
        z = tf.constant(z.astype("float32"))

        generate, step = _regression(generator, keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=0.99))

        rng = np.random.default_rng(seed + 1)
        start, rows = time.perf_counter(), []
        for check in range(1, checks + 1):
            for _ in range(steps):
                batch = rng.choice(images, 64, replace=False)
                step(tf.gather(z, batch), x[batch])
            made = np.clip(np.asarray(generate(z, False)), -1.0, 1.0)
            rows.append(
                {
                    "steps": check * steps,
                    "mse": round(float(np.mean(np.square(made - x))), 4),
                    "spread_across_z": round(float(made.std(axis=0).mean()), 3),
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(name, rows[-1], flush=True)
        out[name] = {"checks": rows, "learning_rate": rate, "hparams": hparams}
    return {
        "images": images,
        "mean_image_mse": round(baseline, 4),
        "real_spread": round(float(x.std(axis=0).mean()), 3),
        "generators": out,
    }


def _entries(parser, flag: str, value: str, known: dict) -> list:
    """The entries of `known` that `value` names (`all`, or names separated by ';'); a parser error
    for an unknown one."""
    names = list(known) if value == "all" else [n.strip() for n in value.split(";") if n.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown {flag} entries {unknown}; choose from {list(known)}")
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument("--workdir", default="runs/benchmarks")
    parser.add_argument("--gan-results", default=str(RESULTS / "gan.json"))
    parser.add_argument("--pairs", type=int, default=2000, help="latent pairs for the path lengths")
    parser.add_argument("--skip-digits", action="store_true", help="do not train the digits run")
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="all",
        help="only the short recipe probes (SWEEP, or the names given, separated by ';'), 3 x 225 steps each",
    )
    parser.add_argument("--steps", type=int, default=225, help="--sweep, --fit: steps between two checks")
    parser.add_argument("--checks", type=int, default=3, help="--sweep, --fit: checks per probe")
    parser.add_argument(
        "--fit",
        nargs="?",
        const="all",
        help="only the probe without an adversary (FIT, or the names given, separated by ';'; --steps, --checks)",
    )
    parser.add_argument("--fit-images", type=int, default=256, help="--fit: images (and latents) to fit")
    parser.add_argument("--out", default=str(RESULTS / "stylegan.json"))
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    workdir = Path(args.workdir)
    if args.steps < 1 or args.checks < 1:
        parser.error(f"--steps and --checks take positive numbers. Received: {args.steps}, {args.checks}")
    if args.fit:
        if args.fit_images < 64:
            parser.error(f"--fit-images takes 64 or more (a batch). Received: {args.fit_images}")
        names = _entries(parser, "--fit", args.fit, FIT)
        measured = fit_without_adversary(args.data_dir, args.fit_images, args.steps, args.checks, names)
        previous = results.get("fit", {})
        if all(previous.get(k) == measured[k] for k in ("images", "mean_image_mse")):
            # the same images: the entries not run again are kept
            measured["generators"] = {**previous["generators"], **measured["generators"]}
        results["fit"] = {**measured, "machine": machine_info()}
        out.write_text(json.dumps(results, indent=2) + "\n")
        return
    if args.sweep:
        names = _entries(parser, "--sweep", args.sweep, SWEEP)
        classifier, _ = evaluator(workdir, args.data_dir)
        results.setdefault("sweep", {})
        for name in names:  # written after each entry: a long sweep keeps what it measured
            measured = sweep({name: SWEEP[name]}, args.steps, args.checks, classifier, args.data_dir)
            if (args.steps, args.checks) != (225, 3):  # a longer probe is kept beside the short one
                measured = {f"{name} ({args.checks} x {args.steps} steps)": v for name, v in measured.items()}
            results["sweep"].update(measured)
            results["sweep_machine"] = machine_info()
            out.write_text(json.dumps(results, indent=2) + "\n")
        return
    gans = json.loads(Path(args.gan_results).read_text())["gans"]
    if "stylegan" not in gans:
        parser.error(f"{args.gan_results} has no stylegan run: run benchmarks/gan.py --only stylegan first")
    mnist = gans["stylegan"]
    results.update(machine=machine_info(), versions=library_versions())
    classifier, accuracy = evaluator(workdir, args.data_dir)
    gan = kerazoo.load_model(Path(mnist["run_dir"]) / "model.keras")  # the averaged generator fit saved
    start = time.perf_counter()
    results["path_length"] = path_lengths(gan, classifier, args.pairs)
    results["path_length"]["seconds"] = round(time.perf_counter() - start, 1)
    print("path length", results["path_length"], flush=True)
    results["style_sensitivity"] = style_sensitivity(gan)
    print("style sensitivity", results["style_sensitivity"], flush=True)
    results["mnist"] = {
        k: mnist[k]
        for k in (
            "epochs",
            "train_seconds",
            "images_per_second",
            "confident_share",
            "digits_present",
            "min_class_share",
            "max_class_share",
            "quality",
            "real_test_vs_train",
            "precision",
            "run_dir",
        )
        if k in mnist
    }
    results["evaluator_test_accuracy"] = accuracy
    results["evaluator"] = evaluator_record(args.data_dir)
    results["dcgan_at_equal_time"] = equal_time(gans, mnist["train_seconds"])
    out.write_text(json.dumps(results, indent=2) + "\n")
    if not args.skip_digits:
        results["digits"] = on_digits(workdir)
        print("digits", results["digits"], flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
