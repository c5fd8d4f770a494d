"""The gallery: every zoo model trained as a newcomer trains it, judged, and one picture kept.

    python benchmarks/gallery.py                 # every model (about an hour and a half on 2 cores)
    python benchmarks/gallery.py --only dcgan,cnn
    python benchmarks/gallery.py --evaluate-only  # re-judge the runs already in --runs

Each model is trained with exactly the command its model card shows (`kerazoo train NAME` on its
embedded default data, with `--precision auto` for the image models), then judged by
`kerazoo evaluate` (on 2,000 samples for the diffusion models, whose sampling is slow on a CPU). The run's headline figures, wall-clock times and the machine go to
`benchmarks/results/gallery.json`, and one picture per model to `docs/assets/gallery/NAME.png`
(the home page's strip and the model cards show them). Nothing here needs `../shared`: these are
the offline runs, not the MNIST benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "gallery.json"
PICTURES = ROOT / "docs" / "assets" / "gallery"
# The image models get `--precision auto` (bfloat16 where the CPU computes it natively).
AUTO_PRECISION = ("generation", "progressive", "style", "translation", "reconstruction", "diffusion")
# `kerazoo evaluate`'s sample count where its default (10,000) takes too long on 2 cores: DDIM draws
# each sample in 25 denoiser passes (twice that with guidance), 15-30 minutes for 10,000.
EVALUATE_N = {"diffusion": 2000}
# The picture a model's card shows: the first of these that its run (or its evaluation) wrote.
PICTURE_BY_TASK = {
    "generation": ("eval/samples_by_class.png", "eval/samples.png"),
    "progressive": ("eval/samples.png",),
    "style": ("eval/samples.png",),
    "diffusion": ("eval/samples_by_class.png", "eval/samples.png"),
    "translation": ("eval/triplets.png",),
    "reconstruction": ("eval/samples.png", "eval/reconstructions.png"),
    "classification": ("eval/worst_mistakes.png", "eval/confusion_matrix.png"),
    "forecasting": ("eval/forecast.png",),
    "synthesis": ("training_curves.png",),
    "logic": ("decision_boundary.png",),
}


def command(name: str, task: str, run_dir: Path) -> list:
    """The `kerazoo train` command of a model's card (run into `run_dir`)."""
    args = ["kerazoo", "train", name]
    if task in AUTO_PRECISION:
        args += ["--precision", "auto"]
    return args + ["--out", str(run_dir), "--overwrite", "--quiet"]


def _run(args) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - start, 1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated model names (default: every model)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "gallery", help="where the runs go")
    parser.add_argument("--evaluate-only", action="store_true", help="judge the runs already in --runs")
    args = parser.parse_args(argv)

    from kerazoo import get_entry, list_models
    from kerazoo.training import machine_info

    machine = machine_info()
    names = args.only.split(",") if args.only else list_models()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.setdefault("models", {})
    PICTURES.mkdir(parents=True, exist_ok=True)
    for name in names:
        entry = get_entry(name)
        run_dir = args.runs / name
        train = command(name, entry.task, run_dir)
        shown = " ".join(train[:-4])  # without --out/--overwrite/--quiet: what a user types
        row = results["models"].get(name, {}) if args.evaluate_only else {}
        if not args.evaluate_only:
            print(f"{name}: {shown}", flush=True)
            row = {"command": shown, "train_wall_seconds": _run(train)}
        evaluate = ["kerazoo", "evaluate", str(run_dir)]
        if entry.task in EVALUATE_N:
            evaluate += ["--n", str(EVALUATE_N[entry.task])]
        row["evaluate_command"] = " ".join(["kerazoo", "evaluate", f"runs/{name}", *evaluate[3:]])
        row["evaluate_wall_seconds"] = _run(evaluate)
        figures = json.loads((run_dir / "eval" / "metrics.json").read_text())
        row["figures"] = figures
        row["config"] = json.loads((run_dir / "config.json").read_text())
        picture = next(
            (p for p in PICTURE_BY_TASK.get(entry.task, ()) if (run_dir / p).is_file()),
            "training_curves.png" if (run_dir / "training_curves.png").is_file() else None,
        )
        if picture:
            shutil.copyfile(run_dir / picture, PICTURES / f"{name}.png")
            row["picture"] = f"{name}.png"
            row["picture_source"] = picture
        results["models"][name] = row
        results["machine"] = {**machine, "cores": os.cpu_count(), "python": sys.version.split()[0]}
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"{name}: trained in {row.get('train_wall_seconds')} s, picture {picture}", flush=True)


if __name__ == "__main__":
    main()
