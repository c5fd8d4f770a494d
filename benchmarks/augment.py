"""Benchmark of GANs as a data source for classifiers: does training on GAN samples help?

    python benchmarks/augment.py --data-dir ../shared/data [--only cas small tabular] [--seeds 3] [--cas-seeds 3]

Three parts; each result is written to `benchmarks/results/augment.json` as soon as it is measured,
and a rerun skips the results already there (`--fresh` measures everything again), so a killed run
resumes where it stopped.

`cas`: Classification Accuracy Score (Ravuri & Vinyals, 2019). The zoo's `cgan` trained with its
recipe on all of MNIST (`--cgan-epochs` N, 20 by default: `kerazoo train cgan --dataset mnist --epochs
N`, its run kept in `--workdir` with its generator after every epoch) makes 6,000 images of each
digit; the zoo's CNN trained on them alone is tested on the real MNIST test split, beside the same
CNN trained on the 60,000 real training images (same recipe and number of steps: `--cas-epochs`
epochs, Adam with the cnn recipe's cosine schedule, the recipe's shift/rotation augmentation on for
both). The same is measured for the generator after each earlier epoch of that run
(`accuracy_cgan_by_epoch`; `--cas-curve-every N`: after every N-th epoch, 5 by default). A killed cgan
training resumes from its last epoch's backup on the next run. Results under `cas_eN`; the final comparison is repeated for
classifier seeds 1..`--cas-seeds`-1 (3 seeds in all by default), with another draw of samples each
(`cas_eN_seedS`), and the summary gives the mean gap. Pass `--seeds 10` with `--only cas` to keep
the summary of the tabular part's 10 seeds.

`small`: the small-label regime. For 10, 50 and 100 labelled images per class (a stratified draw
from MNIST's training split, one per seed), the CNN is trained for the same number of steps
(`--steps`, batch 64) on
- `real`: the labelled images alone (augmentation layers off);
- `classic`: the same with the CNN's shift/rotation augmentation on;
- `cgan`: half of each batch real, half samples of a `cgan` (width 32) trained with the cgan recipe
  on the same labelled images (`--gan-steps` steps, batch 64; 500 samples a digit);
and tested on the full MNIST test split. Mean and spread over `--seeds` seeds. Grids of the cgans'
samples (a row per digit) go to `--workdir` (`augment_*_samples.png`).

`tabular`: the same question for tables. Each stratified 80/20 split of breast_cancer (seeds
0..`--seeds`-1) keeps a stratified 20% of its training rows (91 rows); logistic regression and a
random forest (the synthesis task's TSTR models) are trained on those rows alone, and on them plus
`tabular_gan` rows (trained with its recipe on the same 91 rows for as many steps as its recipe makes
on the full 455, 2,100; as many synthetic rows as real ones of each class, 4 times over), and tested
on the split's 114 real test rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import data as zdata  # noqa: E402
from kerazoo import runtime, tables  # noqa: E402
from kerazoo.tasks.synthesis import load_table, sample_rows, split_table, table_classifiers  # noqa: E402
from kerazoo.training import library_versions, partial_dir  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "augment.json"
PER_CLASS = (10, 50, 100)
BATCH = 64


def _mnist(data_dir, split):
    x, y = zdata.load_images("mnist", split, data_dir)
    return x.astype(np.float32) / 255.0, y.astype(np.int32)


def _to_unit(images):
    """A generator's [-1, 1] images as the classifier's [0, 1] inputs."""
    return np.clip((np.asarray(images, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def train_classifier(dataset, steps, test, *, augment, seed):
    """The zoo's CNN (its recipe's optimizer and cosine schedule over `steps`) fitted on `dataset`
    (an endless tf.data stream of (images, labels) batches); returns its test accuracy."""
    keras.utils.set_random_seed(seed)
    model = kerazoo.build("cnn", augment=augment)
    recipe = kerazoo.get_entry("cnn").recipe
    model.compile(
        optimizer=recipe.build_optimizer("optimizer", steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return float(model.evaluate(*test, batch_size=1000, verbose=0, return_dict=True)["accuracy"])


def _stream(x, y, seed, batch=BATCH):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).repeat()
    return ds.batch(batch) if batch else ds


def generate(generator, per_class, seed, num_classes=10):
    """`per_class` samples of every class from a conditional generator, in [0, 1], with their labels."""
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
    latent_dim = int(generator.inputs[0].shape[-1])
    noise = np.random.default_rng(seed).standard_normal((len(labels), latent_dim)).astype(np.float32)
    return _to_unit(generator.predict([noise, labels], batch_size=1000, verbose=0)), labels


def save_samples(images, labels, path):
    """A grid of the first 10 samples of each class (a row per class) in `path`, to look at."""
    rows = np.concatenate([np.flatnonzero(labels == k)[:10] for k in range(10)])
    runtime.save_grid((images[rows] * 255).round().astype(np.uint8), path, columns=10)


class _SaveGenerator(keras.callbacks.Callback):
    """Saves the GAN's generator after every epoch as `folder/generator_eN.keras`."""

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.model.generator.save(self.folder / f"generator_e{epoch + 1}.keras")


def _cas_data(args):
    """The cas part's cgan run folder, real training images and labels, test split and classifier
    steps (`--cas-epochs` epochs of the real set at batch 128)."""
    x_real, y_real = _mnist(args.data_dir, "train")
    steps = args.cas_epochs * (len(x_real) // 128)
    run = args.workdir / f"augment_cgan_mnist_e{args.cgan_epochs}"
    return run, x_real, y_real, _mnist(args.data_dir, "test"), steps


def _cas_accuracy(x, y, steps, test, seed):
    """Test accuracy of the CNN trained on `(x, y)` alone (augmentation on, batch 128)."""
    return train_classifier(_stream(x, y, seed=seed, batch=128), steps, test, augment=True, seed=seed)


def cas(args) -> dict:
    run, x_real, y_real, test, steps = _cas_data(args)
    snapshots = args.workdir / f"augment_cgan_mnist_e{args.cgan_epochs}_snapshots"
    if not (run / "generator.keras").is_file():
        # A killed training (its backup in the partial run) continues where it stopped.
        resume = (partial_dir(run) / "backup").is_dir()
        kerazoo.train(
            "cgan",
            dataset="mnist",
            data_dir=args.data_dir,
            epochs=args.cgan_epochs,
            out=run,
            overwrite=not resume,
            resume=resume,
            callbacks=[_SaveGenerator(snapshots)],
        )
    metrics = json.loads((run / "metrics.json").read_text())
    figures = {
        "cgan_epochs": metrics["epochs"],
        "cgan_train_seconds": metrics["train_seconds"],
        "steps": steps,
    }

    def accuracy(x, y):
        return _cas_accuracy(x, y, steps, test, seed=0)

    start = time.perf_counter()
    figures["accuracy_real"] = accuracy(x_real, y_real)
    figures["seconds_real"] = round(time.perf_counter() - start, 1)
    print(f"cas real: {figures['accuracy_real']:.4f}", flush=True)
    # The final generator, then the snapshots of earlier epochs (the same run's curve).
    generators = {metrics["epochs"]: run / "generator.keras"}
    every = args.cas_curve_every
    generators.update(
        {e: snapshots / f"generator_e{e}.keras" for e in range(every, metrics["epochs"], every)}
    )
    figures["accuracy_cgan_by_epoch"] = {}
    for epoch, path in generators.items():
        if not path.is_file():
            continue
        x_fake, y_fake = generate(kerazoo.load_model(path), len(x_real) // 10, seed=1)
        if epoch == metrics["epochs"]:
            save_samples(x_fake, y_fake, args.workdir / f"augment_cas_e{epoch}_samples.png")
            start = time.perf_counter()
        figures["accuracy_cgan_by_epoch"][str(epoch)] = acc = accuracy(x_fake, y_fake)
        if epoch == metrics["epochs"]:
            figures["accuracy_cgan"] = acc
            figures["seconds_cgan"] = round(time.perf_counter() - start, 1)
        print(f"cas cgan after {epoch} epochs: {acc:.4f}", flush=True)
    figures["gap_points"] = 100 * (figures["accuracy_real"] - figures["accuracy_cgan"])
    return figures


def cas_seed(args, seed) -> dict:
    """The final comparison of `cas` again with classifier seed `seed` and another draw of samples
    (the spread of the gap)."""
    run, x_real, y_real, test, steps = _cas_data(args)
    if not (run / "generator.keras").is_file():
        raise SystemExit(f"{run}/generator.keras is missing: the cas part (seed 0) trains it first")
    x_fake, y_fake = generate(kerazoo.load_model(run / "generator.keras"), len(x_real) // 10, seed=1 + seed)
    figures = {"seed": seed, "steps": steps}
    for name, (x, y) in {"real": (x_real, y_real), "cgan": (x_fake, y_fake)}.items():
        figures[f"accuracy_{name}"] = _cas_accuracy(x, y, steps, test, seed)
        print(f"cas seed {seed} {name}: {figures[f'accuracy_{name}']:.4f}", flush=True)
    figures["gap_points"] = 100 * (figures["accuracy_real"] - figures["accuracy_cgan"])
    return figures


def small_label_cgan(x, y, steps, seed):
    """A cgan (width 32) trained with the cgan recipe on the labelled images `x` in [0, 1]."""
    keras.utils.set_random_seed(seed)
    gan = kerazoo.build("cgan", width=32, seed=seed)
    gan.compile(**kerazoo.get_entry("cgan").recipe.compile_options(steps))
    ds = _stream(x * 2.0 - 1.0, y, seed, batch=None).batch(BATCH, drop_remainder=True)
    gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return gan.generator


def small(args, per_class, seed) -> dict:
    x_all, y_all = _mnist(args.data_dir, "train")
    test = _mnist(args.data_dir, "test")
    rng = np.random.default_rng(seed)
    rows = np.concatenate(
        [rng.choice(np.flatnonzero(y_all == k), per_class, replace=False) for k in range(10)]
    )
    x, y = x_all[rows], y_all[rows]
    figures = {}
    start = time.perf_counter()
    figures["real"] = train_classifier(_stream(x, y, seed), args.steps, test, augment=False, seed=seed)
    figures["classic"] = train_classifier(_stream(x, y, seed), args.steps, test, augment=True, seed=seed)
    classifier_seconds = time.perf_counter() - start
    start = time.perf_counter()
    generator = small_label_cgan(x, y, args.gan_steps, seed)
    figures["gan_seconds"] = round(time.perf_counter() - start, 1)
    x_fake, y_fake = generate(generator, 500, seed)
    save_samples(x_fake, y_fake, args.workdir / f"augment_small_{per_class}_seed{seed}_samples.png")
    half = [_stream(x, y, seed, batch=None), _stream(x_fake, y_fake, seed + 1, batch=None)]
    mixed = tf.data.Dataset.sample_from_datasets(half, weights=[0.5, 0.5], seed=seed).batch(BATCH)
    figures["cgan"] = train_classifier(mixed, args.steps, test, augment=False, seed=seed)
    figures["classifier_seconds"] = round(classifier_seconds / 2, 1)
    print(f"small {per_class}/class seed {seed}: {figures}", flush=True)
    return figures


def tabular(args, seed) -> dict:
    from sklearn.model_selection import train_test_split

    table = load_table("breast_cancer")
    train, test = split_table(table, seed)
    keep, _ = train_test_split(
        np.arange(len(train)), train_size=0.2, stratify=train.columns[train.label], random_state=seed
    )
    few = train.take(np.sort(keep))
    transform = tables.TableTransform.fit(few)
    x, y = transform.encode(few), transform.labels(few)
    recipe = kerazoo.get_entry("tabular_gan").recipe
    steps = recipe.epochs * (len(train) // recipe.batch_size)  # what the recipe makes on all 455 rows
    batch = min(recipe.batch_size, len(x) // 2)
    keras.utils.set_random_seed(seed)
    gan = kerazoo.build(
        "tabular_gan",
        num_features=transform.width,
        groups=transform.groups,
        num_classes=len(transform.classes),
        seed=seed,
    )
    gan.compile(**recipe.compile_options(steps))
    start = time.perf_counter()
    ds = _stream(x, y, seed, batch=None).batch(batch, drop_remainder=True)
    gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    synthetic = sample_rows(gan.generator, transform, np.tile(y, 4), seed=seed)

    def design(t):
        return transform.encode(t).astype(np.float64), transform.labels(t)

    (x_few, y_few), (x_syn, y_syn), (x_te, y_te) = design(few), design(synthetic), design(test)
    figures = {
        "rows": len(y_few),
        "synthetic_rows": len(y_syn),
        "gan_steps": steps,
        "gan_seconds": round(seconds, 1),
    }
    for name, make in table_classifiers(seed).items():
        figures[name] = {
            "real": float(make().fit(x_few, y_few).score(x_te, y_te)),
            "real+gan": float(
                make().fit(np.concatenate([x_few, x_syn]), np.concatenate([y_few, y_syn])).score(x_te, y_te)
            ),
        }
    print(f"tabular split {seed}: {figures}", flush=True)
    return figures


def _summary(results, seeds, cas_seeds) -> dict:
    def stat(values):
        return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}

    out = {}
    for per_class in PER_CLASS:
        runs = [results.get(f"small_{per_class}_seed{s}") for s in range(seeds)]
        runs = [r for r in runs if r]
        if runs:
            out[f"small_{per_class}"] = {k: stat([r[k] for r in runs]) for k in ("real", "classic", "cgan")}
    runs = [results.get(f"tabular_seed{s}") for s in range(seeds)]
    runs = [r for r in runs if r]
    if runs:
        out["tabular"] = {
            model: {k: stat([r[model][k] for r in runs]) for k in ("real", "real+gan")}
            for model in ("logistic_regression", "random_forest")
        }
    for key in sorted((k for k in results if re.fullmatch(r"cas_e\d+", k)), key=lambda k: int(k[5:])):
        gaps = [results[key]["gap_points"]]
        gaps += [
            results[f"{key}_seed{s}"]["gap_points"]
            for s in range(1, cas_seeds)
            if f"{key}_seed{s}" in results
        ]
        out[f"{key}_target"] = {
            "value": float(np.mean(gaps)),
            "gaps_by_seed": gaps,
            "target": "cgan-trained CNN within 0.5 points of real (mean over classifier seeds)",
            "met": bool(np.mean(gaps) <= 0.5),
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--workdir", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument(
        "--only", nargs="*", default=["small", "tabular", "cas"], choices=["cas", "small", "tabular"]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="classifier steps in the small-label regime")
    parser.add_argument("--gan-steps", type=int, default=1000, help="cgan steps in the small-label regime")
    parser.add_argument("--cgan-epochs", type=int, default=20)
    parser.add_argument("--cas-epochs", type=int, default=3)
    parser.add_argument(
        "--cas-curve-every",
        type=int,
        default=5,
        help="score the cgan's generator after every N-th epoch too (accuracy_cgan_by_epoch)",
    )
    parser.add_argument(
        "--cas-seeds", type=int, default=3, help="classifier seeds of the final CAS comparison"
    )
    parser.add_argument("--fresh", action="store_true", help="measure again what results already hold")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    saved = json.loads(args.results.read_text()) if args.results.is_file() and not args.fresh else {}
    results = saved.get("results", {})

    jobs = []
    if "small" in args.only:
        jobs += [
            (f"small_{n}_seed{s}", lambda n=n, s=s: small(args, n, s))
            for n in PER_CLASS
            for s in range(args.seeds)
        ]
    if "tabular" in args.only:
        jobs += [(f"tabular_seed{s}", lambda s=s: tabular(args, s)) for s in range(args.seeds)]
    if "cas" in args.only:
        jobs.append((f"cas_e{args.cgan_epochs}", lambda: cas(args)))
        jobs += [
            (f"cas_e{args.cgan_epochs}_seed{s}", lambda s=s: cas_seed(args, s))
            for s in range(1, args.cas_seeds)
        ]
    for key, job in jobs:
        if key in results:
            continue
        measured = job()
        # Re-read the file first: a second process may have written other parts (e.g. --only cas).
        if args.results.is_file():
            results = {**json.loads(args.results.read_text()).get("results", {}), **results}
        results[key] = measured
        report = {
            "command": "python benchmarks/augment.py --data-dir ../shared/data",
            "settings": {
                k: v
                for k, v in vars(args).items()
                if k not in ("only", "fresh", "workdir", "data_dir", "results")
            },
            "versions": library_versions(),
            "results": results,
            "summary": _summary(results, args.seeds, args.cas_seeds),
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(_summary(results, args.seeds, args.cas_seeds), indent=1))


if __name__ == "__main__":
    main()
