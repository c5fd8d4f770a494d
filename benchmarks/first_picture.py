"""The first picture a user sees: README's main job, its recipe variants, over seeds.

    python benchmarks/first_picture.py                               # the recipe, seed 0
    python benchmarks/first_picture.py --variants "recipe;before" --seeds 0,1,2

Each variant is README's main job, `kerazoo train dcgan --precision auto --export
saved_model,tflite`, with a few `--set` / `--recipe` / `--epochs` arguments added, timed wall clock
as a user's shell times it (start-up, training, pictures, both exports and their verification),
then judged by `kerazoo evaluate RUN` (the pinned `digits` evaluator, 10,000 samples). The target
(#39 section 2): at most 1:45 wall clock, >= 60% of the samples confidently classified and an FID at
most twice the real test digits' (0.94). Writes `benchmarks/results/first_picture.json` after every
run (with the machine and the evaluator's hash); docs/benchmarks/first-picture.md shows it. Nothing
here needs `../shared`: this is the offline default data.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "first_picture.json"
MAIN_JOB = ["kerazoo", "train", "dcgan", "--precision", "auto", "--export", "saved_model,tflite"]
TARGET = {"wall_s": 105.0, "confident_share": 0.60, "fid_over_real": 2.0}


def _pinned(width=64, epochs=20, batch=64, lr=2e-4, every=1, beta_2=0.999, ema=None, *extra) -> list:
    """Arguments that pin every setting the variants vary, whatever the recipe's defaults are; the
    keyword defaults are the recipe before 2026-12-06 (`before`)."""
    args = ["--set", f"width={width}", "--epochs", str(epochs), "--batch-size", str(batch)]
    args += ["--recipe", f"learning_rate={lr:g}", "--recipe", f"penalty_every={every}"]
    args += ["--recipe", f"g_optimizer.beta_2={beta_2:g}", "--recipe", f"d_optimizer.beta_2={beta_2:g}"]
    args += ["--recipe", f"g_optimizer.use_ema={'true' if ema else 'false'}"]
    if ema:
        args += ["--recipe", f"g_optimizer.ema_momentum={ema:g}"]
    return args + list(extra)


# name -> the arguments added to the main job. `recipe` is the recipe as it stands (README's command).
VARIANTS = {
    "recipe": [],
    "before": _pinned(),
    "ema": _pinned(ema=0.99),
    "w32_lr8": _pinned(32, 40, 64, 8e-4, ema=0.99),
    "w32_lr8_cos": _pinned(32, 40, 64, 8e-4, 1, 0.999, 0.99, "--recipe", "schedule=cosine"),
    "w32_lr8_ema995": _pinned(32, 40, 64, 8e-4, ema=0.995),
    "w32_lr8_e50": _pinned(32, 50, 64, 8e-4, ema=0.99),
    "w32_lr8_b32": _pinned(32, 40, 32, 8e-4, ema=0.99),
    "w32_lr8_b32_e30": _pinned(32, 30, 32, 8e-4, ema=0.99),
    "w32_lr8_b32_e35": _pinned(32, 35, 32, 8e-4, ema=0.99),
    "w32_lr6_b32_e35": _pinned(32, 35, 32, 6e-4, ema=0.99),
    "w32_lr8_b16_e20": _pinned(32, 20, 16, 8e-4, ema=0.99),
    "w32_lr4_b16_e20": _pinned(32, 20, 16, 4e-4, ema=0.99),
    "w24_lr8_b32_e45": _pinned(24, 45, 32, 8e-4, ema=0.99),
    "w32_lr8_b32_g1_e55": _pinned(32, 55, 32, 8e-4, 1, 0.999, 0.99, "--recipe", "g_steps=1"),
    "w32_lr8_b32_r4": _pinned(32, 40, 32, 8e-4, 4, ema=0.99),
    "w32_lr8_b32_e45_r4": _pinned(32, 45, 32, 8e-4, 4, ema=0.99),
    "w32_lr10_b32_r4": _pinned(32, 40, 32, 1e-3, 4, ema=0.99),
    "w32_lr8_b32_r4_b2": _pinned(32, 40, 32, 8e-4, 4, 0.99, 0.99),
    "w32_lr10_b32_r4_b2": _pinned(32, 40, 32, 1e-3, 4, 0.99, 0.99),
}


def _judge(run_dir: Path) -> dict:
    subprocess.run(["kerazoo", "evaluate", str(run_dir)], check=True, stdout=subprocess.DEVNULL)
    figures = json.loads((run_dir / "eval" / "metrics.json").read_text())
    samples, real = figures["samples"], figures["real_test_vs_train"]
    return {
        "fid": round(samples["fid"], 3),
        "real_fid": round(real["fid"], 3),
        "fid_over_real": round(samples["fid"] / real["fid"], 2),
        "confident_share": samples["confident_share"],
        "real_confident_share": real["confident_share"],
        "classes_present": samples["classes_present"],
        "class_share_min": round(min(samples["class_share"]), 4),
        "class_share_max": round(max(samples["class_share"]), 4),
        "precision": round(samples["precision"], 3),
        "recall": round(samples["recall"], 3),
        "memorises": samples["memorisation"]["memorises"],
        "evaluator": figures["evaluator"],
    }


def _meets(row: dict) -> bool:
    return (
        row["wall_s"] <= TARGET["wall_s"]
        and row["confident_share"] >= TARGET["confident_share"]
        and row["fid_over_real"] <= TARGET["fid_over_real"]
    )


def _summary(runs: list) -> dict:
    """Median and range over a variant's seeds; `meets` only when every seed does."""
    out = {
        "seeds": [r["seed"] for r in runs],
        "meets_target_every_seed": all(r["meets_target"] for r in runs),
    }
    for key in ("wall_s", "confident_share", "fid", "fid_over_real"):
        values = [r[key] for r in runs]
        out[key] = {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values)}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variants", default="recipe", help=f"';'-separated names from: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument(
        "--runs", type=Path, default=ROOT / "runs" / "first_picture", help="where the runs go"
    )
    args = parser.parse_args(argv)

    from kerazoo.training import machine_info

    names = [n for n in args.variants.split(";") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.update(command=" ".join(MAIN_JOB), target=TARGET, machine=machine_info())
    results.setdefault("variants", {})
    for name in names:
        for seed in seeds:
            run_dir = args.runs / f"{name}_seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            train = MAIN_JOB + VARIANTS[name] + ["--seed", str(seed), "--out", str(run_dir), "--quiet"]
            start = time.perf_counter()
            subprocess.run(train, check=True, stdout=subprocess.DEVNULL)
            row = {"seed": seed, "wall_s": round(time.perf_counter() - start, 1), **_judge(run_dir)}
            config = json.loads((run_dir / "config.json").read_text())
            row["trained_with"] = {"hparams": config.get("hparams"), "recipe": config.get("recipe")}
            row["meets_target"] = _meets(row)
            variant = results["variants"].setdefault(name, {})
            variant["arguments"] = " ".join(VARIANTS[name])
            runs = [r for r in variant.get("runs", []) if r["seed"] != seed] + [row]
            variant["runs"] = sorted(runs, key=lambda r: r["seed"])
            variant["summary"] = _summary(variant["runs"])
            variant["machine"] = results["machine"]
            results["evaluator"] = row["evaluator"]
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")
            print(
                f"{name} seed {seed}: {row['wall_s']} s, {row['confident_share']:.1%} confident, "
                f"FID {row['fid']} ({row['fid_over_real']}x real), meets target: {row['meets_target']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
