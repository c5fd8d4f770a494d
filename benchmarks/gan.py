"""Benchmark of the GAN family on full MNIST: do its samples look like digits to a digit classifier?

    python benchmarks/gan.py --data-dir ../shared/data --epochs 5

An evaluator, the pinned MNIST evaluator kerazoo ships (the zoo's `cnn` trained on the real MNIST
training split with its recipe by benchmarks/evaluators.py, 99.6% test accuracy), classifies 10,000 samples of each generator. Reported per GAN: the share classified with
confidence >= 0.9, the class histogram (all ten digits present, each between 5% and 15%), for `cgan`
the share classified as the digit that was asked for (1,000 per digit), and training throughput
(real images per second through the training step). Each GAN is trained by `kerazoo.train` with its
recipe and the given number of epochs. The
same samples also get `kerazoo evaluate`'s figures (classifier FID, classifier score over 10 splits
and over batches of 32, precision/recall, memorisation) with the real test-vs-train baseline.
The confident share and class shares are also recorded after every epoch (`by_epoch`), so one run
shows how the figures grow with training; with `--recipe g_optimizer.use_ema=true` they are recorded
for the raw weights and for their moving average (`averaged`, the generator `fit` saves). `--recipe KEY=VALUE` overrides a recipe default for a
comparison (for example `--recipe g_steps=1`, passed to `kerazoo.train(recipe=...)`); such a run is stored as `NAME,KEY=VALUE`, beside the
recipe's own; `--set KEY=VALUE` changes an hparam of the model the same way (for example `--set width=48`,
as `kerazoo train --set`). `KERAZOO_BENCH_SAMPLES` changes the sample count (default 10,000) for a quick dry run.
Results go to `benchmarks/results/gan.json`, a Markdown table to stdout.
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
from _evaluator import evaluator, evaluator_record, score  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo._registry import check_hparams, get_entry  # noqa: E402
from kerazoo.cli import parse_set  # noqa: E402
from kerazoo.evaluation import evaluate_generator  # noqa: E402
from kerazoo.trainers.gan import _averaged  # noqa: E402
from kerazoo.training import library_versions, machine_info, precision_policy  # noqa: E402

SAMPLES = int(os.environ.get("KERAZOO_BENCH_SAMPLES", 10_000))
GANS = ("gan", "dcgan", "cgan", "wgan_gp", "progan", "stylegan")


def _samples(generator, seed, latent_dim=None, conditional=None):
    """SAMPLES images from fixed noise (and, for cgan, SAMPLES / 10 of each digit), with the labels.
    `generator` is a Functional generator, or a GAN (`latent_dim` and `conditional` given), called in
    batches of 500 (a growing ProGAN gives its current phase's images, upsampled)."""
    latent_dim = latent_dim or generator.inputs[0].shape[-1]
    names = [t.name for t in getattr(generator, "inputs", None) or []]
    conditional = "labels" in names if conditional is None else conditional
    noise = np.random.default_rng(seed + 1).standard_normal((SAMPLES, latent_dim)).astype(np.float32)
    requested = np.repeat(np.arange(10, dtype=np.int32), SAMPLES // 10) if conditional else None

    def inputs(i):
        if conditional:
            return [noise[i : i + 500], requested[i : i + 500]]
        if "truncation" in names:  # a StyleGAN generator: no truncation
            return [noise[i : i + 500], np.ones(len(noise[i : i + 500]), np.float32)]
        return noise[i : i + 500]

    batches = [np.asarray(generator(inputs(i))) for i in range(0, SAMPLES, 500)]
    return np.concatenate(batches), requested


class EpochScore(keras.callbacks.Callback):
    """The evaluator's figures for the generator after every epoch (the last one is the result),
    with `seconds`: the run's time until then, less this callback's own scoring (time to a target)."""

    def __init__(self, classifier, seed):
        super().__init__()
        self.classifier, self.seed, self.by_epoch = classifier, seed, []
        self.start, self.scoring = None, 0.0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        gan = self.model
        begin = time.perf_counter()
        samples = _samples(gan, self.seed, gan.latent_dim, gan.conditional)
        figures = score(self.classifier, *samples, value_range=(-1.0, 1.0))
        if _averaged(gan.g_optimizer):  # use_ema: the averaged generator's too (what fit saves)
            with gan.averaged_weights():
                samples = _samples(gan, self.seed, gan.latent_dim, gan.conditional)
            averaged = score(self.classifier, *samples, value_range=(-1.0, 1.0))
            averaged.pop("class_share")
            figures["averaged"] = averaged
        figures["seconds"] = round(begin - self.start - self.scoring, 1)
        self.scoring += time.perf_counter() - begin
        if "resolution" in (logs or {}):  # a growing GAN: the phase the figures are of
            figures.update(resolution=float(logs["resolution"]), alpha=float(logs["alpha"]))
        figures.pop("class_share")
        self.by_epoch.append(figures)
        print(f"epoch {epoch + 1}: {figures}", flush=True)


def bench(
    name, workdir, data_dir, epochs, classifier, seed=0, overrides=None, precision="float32", hparams=None
) -> dict:
    recipe = get_entry(name).recipe.replace(overrides)  # e.g. --recipe g_steps=1
    label = name + "".join(
        f",{k}={json.dumps(v, separators=(',', ':'))}"
        for k, v in {**(hparams or {}), **(overrides or {})}.items()
    )
    if precision != "float32":
        label += f",precision={precision}"
    run = workdir / f"{re.sub(r'[^A-Za-z0-9_.]+', '-', label.replace('=', '')).strip('-')}-e{epochs}"
    per_epoch = EpochScore(classifier, seed)
    metrics = kerazoo.train(
        name,
        dataset="mnist",
        data_dir=data_dir,
        epochs=epochs,
        out=run,
        overwrite=True,
        verbose=2,
        seed=seed,
        recipe=overrides,
        hparams=hparams or None,
        precision=precision,
        callbacks=[per_epoch],
    )
    generator = keras.saving.load_model(run / "generator.keras")
    figures = score(classifier, *_samples(generator, seed), value_range=(-1.0, 1.0))
    # The evaluate figures (kerazoo.evaluation): classifier FID, classifier score, precision/recall,
    # memorisation, with the same evaluator; the real test-vs-train baseline goes to the top level.
    judged = evaluate_generator(
        keras.saving.load_model(run / "model.keras"),
        dataset="mnist",
        data_dir=data_dir,
        n=SAMPLES,
        seed=seed + 1,  # the default evaluator for mnist: the pinned one
    )
    figures["quality"] = _quality(judged["samples"])
    figures["real_test_vs_train"] = _quality(judged["real_test_vs_train"])
    figures.update(
        recipe=recipe.to_dict(),
        hparams=hparams or {},
        by_epoch=per_epoch.by_epoch,
        epochs=epochs,
        train_seconds=metrics["train_seconds"],
        images_per_second=metrics["images_per_second"],
        run_dir=str(run),
        precision=precision_policy(precision),  # the Keras dtype policy it trained under
    )
    if "phases" in metrics:  # a growing GAN: time and images/s of each phase
        figures["phases"] = metrics["phases"]
    return label, figures


def _quality(figures) -> dict:
    keys = ("fid", "classifier_score", "classifier_score_b32", "precision", "recall", "kl_to_uniform", "n")
    out = {k: figures[k] for k in keys}
    if "memorisation" in figures:
        out["memorises"] = figures["memorisation"]["memorises"]
        out["near_copy_share"] = figures["memorisation"]["near_copy_share"]
    return out


def markdown(results) -> str:
    lines = [
        "| model | epochs | train time | images/s | confident (p >= 0.9) | digits present | class share min-max | asked-for digit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["gans"].items():
        asked = f"{r['requested_accuracy']:.1%}" if "requested_accuracy" in r else "-"
        lines.append(
            f"| `{name}` | {r['epochs']} | {r['train_seconds'] / 60:.0f} min | {r['images_per_second']:.0f} | "
            f"{r['confident_share']:.1%} | {r['digits_present']} | {r['min_class_share']:.1%}-"
            f"{r['max_class_share']:.1%} | {asked} |"
        )
    lines += [
        "",
        "| model | classifier FID | classifier score (10 splits) | score (batches of 32) | precision | recall | memorises |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["gans"].items():
        for label, q in (
            (f"`{name}`", r.get("quality")),
            ("real test vs train", r.get("real_test_vs_train")),
        ):
            if q:
                lines.append(
                    f"| {label} | {q['fid']:.2f} | {q['classifier_score']:.2f} | {q['classifier_score_b32']:.2f} | "
                    f"{q['precision']:.3f} | {q['recall']:.3f} | {q.get('memorises', '-')} |"
                )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"), required=False)
    parser.add_argument("--epochs", type=int, default=5, help="MNIST epochs for each GAN (default: 5)")
    parser.add_argument("--only", default=",".join(GANS))
    parser.add_argument("--workdir", default="runs/benchmarks")
    parser.add_argument(
        "--recipe",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key (e.g. g_steps=1, as `kerazoo train --recipe`); results go under NAME,KEY=VALUE",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="hparams",
        metavar="KEY=VALUE",
        help="an hparam of the model (as `kerazoo train --set`, e.g. width=48); results go under NAME,KEY=VALUE",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        choices=("float32", "mixed", "auto"),
        help="as `kerazoo train --precision`; runs other than float32 go under NAME,precision=...",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "gan.json"))
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    try:
        overrides = parse_set(args.recipe, "--recipe")
        hparams = parse_set(args.hparams, "--set")
    except ValueError as e:
        parser.error(str(e))
    for name in args.only.split(","):
        if name not in GANS:
            parser.error(f"--only {name}: not a GAN of the zoo. Expected some of {', '.join(GANS)}")
        try:
            get_entry(name).recipe.replace(overrides)
        except ValueError as e:
            parser.error(f"--recipe for {name}: {e}")
        try:
            check_hparams(name, hparams)
        except ValueError as e:
            parser.error(f"--set: {e}")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    fresh = not out.is_file()
    results = {"gans": {}} if fresh else json.loads(out.read_text())
    start = time.perf_counter()
    classifier, accuracy = evaluator(workdir, args.data_dir)
    # Each run records its own machine and evaluator; the file's top level says those of the run that
    # wrote it first (an added row must not relabel the rows measured before it).
    record = dict(
        machine=machine_info(), versions=library_versions(), evaluator=evaluator_record(args.data_dir)
    )
    if fresh:
        results.update(record, samples=SAMPLES, evaluator_test_accuracy=accuracy)
    print(f"evaluator: cnn, MNIST test accuracy {accuracy:.4f}", flush=True)
    for name in args.only.split(","):
        label, results["gans"][label] = bench(
            name, workdir, args.data_dir, args.epochs, classifier, 0, overrides, args.precision, hparams
        )
        results["gans"][label].update(record, samples=SAMPLES)
        print(label, results["gans"][label], flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")  # after each model: partial runs keep results
    results["total_seconds"] = time.perf_counter() - start
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
