"""Benchmark of the diffusion models on full MNIST, on one scale with the VAE and the GANs.

    python benchmarks/diffusion.py --data-dir ../shared/data --epochs ddpm=3,cddpm=2 --samples cddpm=2000

Each model (`ddpm`, `cddpm`) is trained by `kerazoo.train` with its recipe for the given number of
MNIST epochs, then judged by `kerazoo.evaluation`'s figures (the evaluator is the pinned MNIST one kerazoo ships,
as for benchmarks/gan.py): `--samples`
DDIM samples at the recipe's 25 steps give the classifier FID, classifier score, confidently
classified share, class shares, precision/recall and memorisation, and for `cddpm` the share
classified as the digit asked for (every digit in turn, guidance 2). The DDIM sweep draws
`--sweep-samples` samples from the same noise at 10, 25, 50 and 100 steps (FID at equal n, so the
steps can be compared with each other, not with the 10,000-sample figures). Sampling time per image
is measured for the Keras sampler (batches of 500) and for the TensorFlow-free one
(`kerazoo.runtime.DiffusionSampler` around the exported TFLite denoiser, float32 and with int8
dynamic-range weights (`--quantize dynamic`), 64 images at 25 steps, median of 3, alternated with the
Keras sampler on the same 64 in the same run); the int8 denoiser's samples are judged too, at the
DDIM sweep's n. `--set KEY=VALUE` changes an hparam of the models (as `kerazoo train --set`, for
example `--set min_snr_gamma=5`); such a run is stored as `NAME,KEY=VALUE` beside the recipe's own,
trained and judged (per epoch and at the end) but not timed TF-free nor swept; so is a run with
`--precision mixed` or `auto` (`NAME,precision=auto`: as `kerazoo train --precision`, mixed bfloat16 on
a CPU with bf16 instructions). The VAE's and the DCGAN's rows
are read from benchmarks/results/autoencoders.json and gan.json (same evaluator, same figures).
Results go to `benchmarks/results/diffusion.json` after every step (a killed run keeps what it
measured), a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _evaluator import judge as pinned_judge  # noqa: E402
from _evaluator import score  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import runtime  # noqa: E402
from kerazoo._registry import get_entry  # noqa: E402
from kerazoo.cli import parse_set  # noqa: E402
from kerazoo.export import export, load_servable  # noqa: E402
from kerazoo.judging import generator_figures  # noqa: E402
from kerazoo.training import library_versions, machine_info, precision_policy  # noqa: E402

MODELS = ("ddpm", "cddpm")
SWEEP = (10, 25, 50, 100)
RESULTS = Path(__file__).parent / "results"


def _keep(figures) -> dict:
    keys = (
        "n", "fid", "classifier_score", "classifier_score_b32", "confident_share", "class_share",
        "classes_present", "kl_to_uniform", "precision", "recall", "requested_accuracy",
    )  # fmt: skip
    out = {k: figures[k] for k in keys if k in figures}
    out.update(min_class_share=min(out["class_share"]), max_class_share=max(out["class_share"]))
    if "memorisation" in figures:
        out["memorises"] = figures["memorisation"]["memorises"]
        out["near_copy_share"] = figures["memorisation"]["near_copy_share"]
    return out


def _judged(servable, judge, data_dir, n, steps, seed=1):
    """The figures of `n` DDIM samples at `steps`, and the seconds per image it took to draw them."""
    servable = dataclasses.replace(servable, sample_steps=steps)
    draw = servable.draw
    seconds = []

    def timed(n, seed):
        begin = time.perf_counter()
        out = draw(n, seed)
        seconds.append(time.perf_counter() - begin)
        return out

    servable.draw = timed
    figures = generator_figures(servable, judge, dataset="mnist", data_dir=data_dir, n=n, seed=seed)
    return figures, seconds[0] / n


def _tf_free_seconds(run, servable, steps=25, n=64, repeats=3):
    """Median seconds for `n` images at `steps` with the TF-free sampler around the run's TFLite
    denoiser (float32, and int8 dynamic-range weights), and with the Keras sampler, alternated."""
    paths = {}
    for quantize in ("float32", "dynamic"):
        paths[quantize] = run / "export" / f"denoiser_{quantize}.tflite"
        export(
            run, format="tflite", quantize=quantize, out=paths[quantize], overwrite=True, make_parents=True
        )
    samplers = {q: runtime.DiffusionSampler(p) for q, p in paths.items()}
    keras_servable = dataclasses.replace(servable, sample_steps=steps)
    times = {"tflite": [], "tflite_dynamic": [], "keras": []}
    for r in range(repeats + 1):
        for name, call in (
            ("tflite", lambda r=r: samplers["float32"].sample(n, steps=steps, seed=r)),
            ("tflite_dynamic", lambda r=r: samplers["dynamic"].sample(n, steps=steps, seed=r)),
            ("keras", lambda r=r: keras_servable.draw(n, r)),
        ):
            begin = time.perf_counter()
            call()
            if r:  # the first round warms up
                times[name].append(time.perf_counter() - begin)
    figures = {"images": n, "steps": steps}
    for name, values in times.items():
        figures[f"{name}_seconds"] = statistics.median(values)
    figures["tflite_bytes"] = paths["float32"].stat().st_size
    figures["tflite_dynamic_bytes"] = paths["dynamic"].stat().st_size
    return figures, samplers["dynamic"]


def _lite_figures(sampler, servable, judge, data_dir, n, steps):
    """The figures of `n` samples drawn by the TF-free `sampler` (the same noise and labels as the
    Keras sampler's `n`)."""

    def draw(n, seed):
        labels = sampler.labels_for(n)
        return sampler.sample(n, seed=seed, steps=steps).astype("float32") / 255.0, labels

    lite = dataclasses.replace(servable)
    lite.draw = draw
    return generator_figures(lite, judge, dataset="mnist", data_dir=data_dir, n=n, seed=1)["samples"]


class EpochScore(keras.callbacks.Callback):
    """After every epoch, `n` DDIM samples of the moving average (what `fit` leaves and what gets
    saved) at the recipe's steps, judged by the evaluator: the confident share and the class shares
    (and for a conditional model the share classified as the digit asked for, every digit in turn),
    with `seconds`: the run's time until then, less this callback's own sampling and scoring."""

    def __init__(self, classifier, n, steps, guidance, seed=1):
        super().__init__()
        self.classifier, self.n, self.steps, self.guidance, self.seed = classifier, n, steps, guidance, seed
        self.by_epoch, self.start, self.scoring = [], None, 0.0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        begin = time.perf_counter()
        labels = np.arange(self.n) % model.num_classes if model.conditional else None
        with model.averaged_weights():
            images = model.sample(
                self.n, steps=self.steps, seed=self.seed, labels=labels,
                guidance=self.guidance if model.conditional else 1.0,
            )  # fmt: skip
        figures = score(self.classifier, images, labels, value_range=(-1.0, 1.0))
        figures.update(
            epoch=epoch + 1,
            seconds=round(begin - self.start - self.scoring, 1),
            n=self.n,
        )
        self.scoring += time.perf_counter() - begin
        self.by_epoch.append(figures)
        print(f"epoch {epoch + 1}: {figures}", flush=True)


def _run_hparams(run) -> dict:
    """The builder arguments a run directory's model was built with (its config.json), less its
    name and seed."""
    config = run / "config.json"
    hparams = json.loads(config.read_text())["hparams"] if config.is_file() else {}
    return {k: v for k, v in hparams.items() if k not in ("name", "seed")}


def _built_as(run, wanted: dict) -> bool:
    """Whether the run in `run` was built with the hparams `wanted` (image_shape, name and seed aside)."""
    plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731 (JSON has no tuples)
    built = _run_hparams(run)
    return all(
        plain(v) == built.get(k) for k, v in wanted.items() if k not in ("image_shape", "name", "seed")
    )


def bench(name, epochs, args, judge, results, out):
    label = ",".join([name, *(f"{k}={v}" for k, v in sorted(args.hparams.items()))])
    if args.precision != "float32":
        label += f",precision={args.precision}"
    run = args.workdir / f"{label.replace(',', '-').replace('=', '')}-e{epochs}"
    entry = results["models"].setdefault(label, {})
    # A run kept from before is reused only if it was built as this one would be: a builder default
    # may have changed since (min_snr_gamma became 5 on 2026-12-06).
    wanted = {**get_entry(name).hparams, **args.hparams}
    if not (run / "model.keras").is_file() or entry.get("epochs") != epochs or not _built_as(run, wanted):
        recipe = get_entry(name).recipe
        per_epoch = EpochScore(judge[0], args.epoch_samples, recipe.sample_steps, recipe.guidance)
        callbacks = [per_epoch] if args.epoch_samples else []
        metrics = kerazoo.train(
            name, dataset="mnist", data_dir=args.data_dir, epochs=epochs, out=run, overwrite=True,
            verbose=2, callbacks=callbacks, hparams=args.hparams or None, precision=args.precision,
        )  # fmt: skip
        seconds = metrics["train_seconds"] - per_epoch.scoring  # the per-epoch judging is not training
        entry.clear()
        entry.update(
            epochs=epochs,
            hparams=args.hparams,
            model_hparams=_run_hparams(run),  # every builder argument the run was built with
            dtype_policy=precision_policy(args.precision),
            recipe=recipe.to_dict(),
            train_seconds=round(seconds, 1),
            by_epoch=per_epoch.by_epoch,
            images_per_second=round(epochs * _train_size(args.data_dir) / seconds, 1),
            loss=metrics.get("loss"),
            test_loss=metrics.get("test_loss"),
            run_dir=str(run),
        )
        out.write_text(json.dumps(results, indent=2) + "\n")
    servable = load_servable(run)
    if "quality" not in entry:
        figures, per_image = _judged(
            servable, judge, args.data_dir, args.samples[name], servable.sample_steps
        )
        entry.update(
            quality=_keep(figures["samples"]),
            real_test_vs_train=_keep(figures["real_test_vs_train"]),
            sample_steps=servable.sample_steps,
            guidance=servable.guidance if servable.num_classes else None,
            keras_seconds_per_image=per_image,
        )
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(label, "quality", entry["quality"], flush=True)
    if args.cas and servable.num_classes and "gap_points" not in entry.get("cas", {}):
        cas(run, entry, args, judge, out, results)
    if args.hparams or args.precision != "float32":  # a variant: its samples' quality is the question
        return
    if "tflite_dynamic_seconds" not in entry.get("tf_free", {}):
        entry["tf_free"], dynamic = _tf_free_seconds(run, servable)
        # The int8 dynamic-range denoiser's samples, judged at the DDIM sweep's n beside Keras' own
        entry["tf_free"]["dynamic_quality"] = _keep(
            _lite_figures(dynamic, servable, judge, args.data_dir, args.sweep_samples, servable.sample_steps)
        )
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(name, "tf_free", entry["tf_free"], flush=True)
    if name == "ddpm" or args.sweep_all:
        sweep = entry.setdefault("ddim_sweep", {})
        for steps in SWEEP:
            if str(steps) in sweep:
                continue
            figures, per_image = _judged(servable, judge, args.data_dir, args.sweep_samples, steps)
            sweep[str(steps)] = {**_keep(figures["samples"]), "keras_seconds_per_image": per_image}
            out.write_text(json.dumps(results, indent=2) + "\n")
            print(name, "ddim", steps, sweep[str(steps)], flush=True)


def cas(run, entry, args, judge, out, results) -> None:
    """Classification Accuracy Score (Ravuri & Vinyals, 2019), as benchmarks/augment.py measures the
    cgan's: 6,000 guided samples of each digit, drawn by the TF-free sampler around the run's int8
    dynamic-range TFLite denoiser (`kerazoo export RUN --quantize dynamic`: the fastest sampler here,
    whose samples judged close to Keras'; each digit's samples are kept in the run folder, so a killed
    run resumes), train the zoo's CNN alone (augment.py's recipe and steps, seed 0), tested on the real
    test split beside the same CNN trained on the 60,000 real training images."""
    from augment import _cas_accuracy, _mnist, save_samples  # the cgan's CAS, the same classifier

    steps = args.cas_steps or entry["sample_steps"]
    folder = run / f"cas_{steps}steps"
    lite = run / "export" / "denoiser_dynamic.tflite"
    if not lite.is_file():
        export(run, format="tflite", quantize="dynamic", out=lite, overwrite=True, make_parents=True)
    sampler = runtime.DiffusionSampler(lite)
    x_real, y_real = _mnist(args.data_dir, "train")
    per_class, chunk = len(x_real) // 10, 500
    figures = dict(entry.get("cas", {}), steps=steps, per_class=per_class, sampler=lite.name)
    figures.setdefault("sample_seconds", {})
    folder.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        path = folder / f"digit{digit}.npy"
        if path.is_file():
            continue
        begin = time.perf_counter()
        images = np.concatenate(
            [
                sampler.sample(min(chunk, per_class - i), label=digit, seed=1000 * digit + i, steps=steps)
                for i in range(0, per_class, chunk)
            ]
        )
        np.save(folder / f"digit{digit}.partial.npy", images)
        (folder / f"digit{digit}.partial.npy").replace(path)  # whole digits only
        figures["sample_seconds"][str(digit)] = round(time.perf_counter() - begin, 1)
        entry["cas"] = figures
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"cas: digit {digit} sampled in {figures['sample_seconds'][str(digit)]} s", flush=True)
    x_fake = np.concatenate([np.load(folder / f"digit{d}.npy") for d in range(10)]).astype(np.float32) / 255.0
    y_fake = np.repeat(np.arange(10, dtype=np.int32), per_class)
    save_samples(x_fake, y_fake, args.workdir / f"diffusion_cas_{steps}steps_samples.png")
    asked = score(judge[0], x_fake, y_fake)
    figures.update(requested_accuracy=asked["requested_accuracy"], confident_share=asked["confident_share"])
    test = _mnist(args.data_dir, "test")
    classifier_steps = 3 * (len(x_real) // 128)  # augment.py's --cas-epochs 3
    for name, (x, y) in (("real", (x_real, y_real)), ("generated", (x_fake, y_fake))):
        if f"accuracy_{name}" not in figures:
            figures[f"accuracy_{name}"] = _cas_accuracy(x, y, classifier_steps, test, seed=0)
            print(f"cas {name}: {figures[f'accuracy_{name}']:.4f}", flush=True)
    figures.update(
        classifier_steps=classifier_steps,
        gap_points=round(100 * (figures["accuracy_real"] - figures["accuracy_generated"]), 2),
    )
    entry["cas"] = figures
    out.write_text(json.dumps(results, indent=2) + "\n")


def _train_size(data_dir) -> int:
    from kerazoo import data as zdata

    return len(zdata.load_images("mnist", "train", data_dir)[0])


def _others() -> dict:
    """The VAE's and the DCGAN's figures from their own benchmarks (same evaluator and figures)."""
    rows = {}
    # The dcgan recipe's own run, judged by the same pinned evaluator (gan_retuned.json), else the
    # older gan.json row.
    for file, label in (("gan_retuned.json", "dcgan,precision=auto"), ("gan.json", "dcgan")):
        gan = RESULTS / file
        r = json.loads(gan.read_text())["gans"].get(label) if gan.is_file() else None
        if r:
            rows["dcgan"] = {
                "epochs": r["epochs"],
                "train_seconds": r["train_seconds"],
                "quality": {
                    **r["quality"],
                    **{k: r[k] for k in ("confident_share", "min_class_share", "max_class_share")},
                },
                "real_test_vs_train": r.get("real_test_vs_train", {}),
                "source": f"benchmarks/results/{file}",
            }
            break
    auto = RESULTS / "autoencoders.json"
    if auto.is_file():  # the VAE's prior samples: the evaluator's shares (no FID in that benchmark)
        data = json.loads(auto.read_text())
        vae, prior = data["models"].get("vae"), data.get("vae_prior_samples")
        if vae and prior:
            rows["vae"] = {
                "epochs": vae["epochs"],
                "train_seconds": vae["train_seconds"],
                "quality": {k: v for k, v in prior.items() if k != "evaluator_test_accuracy"},
                "source": "benchmarks/results/autoencoders.json",
            }
    return rows


def markdown(results) -> str:
    lines = [
        "| model | epochs | train time | classifier FID | confident | class share min-max | precision | recall | memorises | asked-for digit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in {**results.get("others", {}), **results["models"]}.items():
        q = r.get("quality")
        if not q:
            continue
        share = f"{q['min_class_share']:.1%}-{q['max_class_share']:.1%}" if "min_class_share" in q else "-"
        asked = f"{q['requested_accuracy']:.1%}" if "requested_accuracy" in q else "-"
        fid, precision, recall = (
            f"{q[k]:.{d}f}" if k in q else "-" for k, d in (("fid", 2), ("precision", 3), ("recall", 3))
        )
        lines.append(
            f"| `{name}` | {r.get('epochs', '-')} | {r.get('train_seconds', 0) / 60:.0f} min | {fid} | "
            f"{q['confident_share']:.1%} | {share} | {precision} | {recall} | {q.get('memorises', '-')} | {asked} |"
        )
    return "\n".join(lines)


def _per_model(parser, flag, text) -> dict:
    try:
        values = {k: int(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError:
        parser.error(f"{flag}: expected NAME=N,... Received: {text}")
    if set(values) - set(MODELS) or min(values.values()) < 1:
        parser.error(f"{flag}: models among {', '.join(MODELS)}, numbers >= 1. Received: {text}")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAZOO_DATA_DIR"))
    parser.add_argument(
        "--epochs", default="ddpm=3,cddpm=2", help="NAME=EPOCHS,... (default: ddpm=3,cddpm=2)"
    )
    parser.add_argument(
        "--samples",
        default="ddpm=10000,cddpm=10000",
        help="NAME=N,...: samples judged per model (default: 10,000)",
    )
    parser.add_argument(
        "--sweep-samples", type=int, default=1000, help="samples per DDIM step count (default: 1,000)"
    )
    parser.add_argument(
        "--epoch-samples",
        type=int,
        default=1000,
        help="samples judged after every epoch (confident and class shares; 0: none; default: 1,000)",
    )
    parser.add_argument("--sweep-all", action="store_true", help="the DDIM sweep for cddpm too")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="hparams",
        help="an hparam of the models (as `kerazoo train --set`); the run goes under NAME,KEY=VALUE",
    )
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed", "auto"),
        default="float32",
        help="as `kerazoo train --precision`; other than float32 the run goes under NAME,precision=...",
    )
    parser.add_argument(
        "--cas",
        action="store_true",
        help="conditional models: their Classification Accuracy Score (60,000 guided samples; resumable)",
    )
    parser.add_argument(
        "--cas-steps", type=int, default=0, help="DDIM steps of the CAS samples (default: the recipe's)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--out", type=Path, default=RESULTS / "diffusion.json")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir (a folder with mnist.npz, e.g. ../shared/data)")
    epochs = _per_model(parser, "--epochs", args.epochs)
    try:
        args.hparams = parse_set(args.hparams, "--set")
    except ValueError as e:
        parser.error(str(e))
    args.samples = {**dict.fromkeys(MODELS, 10_000), **_per_model(parser, "--samples", args.samples)}
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"models": {}}
    results.update(machine=machine_info(), versions=library_versions(), others=_others())
    judge = pinned_judge(args.data_dir)  # the pinned MNIST evaluator
    results["evaluator_test_accuracy"] = judge[1]
    results["evaluator"] = {**judge[2], "test_accuracy": judge[1]}
    keras.utils.set_random_seed(0)
    for name, n in epochs.items():
        bench(name, n, args, judge, results, args.out)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
