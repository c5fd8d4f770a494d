"""Benchmark of the web and ONNX exports: page size, first-sample time and per-batch latency of a
`kerazoo export --format web` page in headless Chromium, beside Python LiteRT and ONNX Runtime on the
same artifacts.

    python benchmarks/web.py [--rounds 15] [--models dcgan,cgan,pix2pix,ddpm]

For each model (the zoo's default architecture; weights do not change size or speed, so untrained
ones are measured, as `benchmarks/export.py` does):

- the web export (`export(..., format="web")`): bytes of the folder, of the page without LiteRT.js,
  and what a browser downloads (the page, the model and one of LiteRT.js's two WebAssembly builds);
- first sample: a fresh browser context (no cache) opens the page served on 127.0.0.1; the time
  from navigation to the first grid drawn (for a translator: to the first translated upload);
- per batch: one action of the page at its batch size (`drawMs`: a grid of 16 from a generator; a
  whole DDIM sample of 16 images at 25 steps for a diffusion model; one image through a
  translator), against the same work in Python through `kerazoo.runtime` on the page's own
  `model.tflite` (LiteRT, one thread per CPU) and on the ONNX export (ONNX Runtime, one thread per
  CPU). The page's LiteRT.js runs single-threaded WebAssembly. The three contenders take turns, one
  action each per round; medians over `--rounds` rounds after a warm-up round, and each ratio to
  Python LiteRT (the anchor) from the same run.

Results go to `benchmarks/results/web.json`; docs/benchmarks/web.md shows them.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import runtime, sampling  # noqa: E402
from kerazoo.export import export  # noqa: E402
from kerazoo.training import library_versions, machine_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "web.json"
MODELS = ("dcgan", "cgan", "pix2pix", "ddpm")
STEPS = 25  # DDIM steps of a diffusion sample (the exports' default)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(root: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _python_action(role: str, folder: Path, onnx_path: Path, batch: int, tile):
    """The page's one action, done by kerazoo.runtime on the page's .tflite and on the .onnx file."""
    calls = {}
    for label, path in (("python_litert", folder / "model.tflite"), ("onnx_runtime", onnx_path)):
        model = runtime.load(path)
        if role == "generator":
            noise = runtime.portable_noise(0, (batch, model.latent_dim))
            labels = model.labels_for(batch) if model.conditional else None
            calls[label] = functools.partial(model.generate, noise, labels)
        elif role == "diffusion":
            noise = runtime.portable_noise(0, (batch, *model.image_shape))
            calls[label] = functools.partial(
                sampling.ddim_sample, model.predict_eps, noise.shape, model.schedule, STEPS, x_t=noise
            )
        else:
            calls[label] = functools.partial(model.translate, tile[None])
    return calls


def _fidelity(page, role: str, folder: Path, tile) -> int:
    """The largest difference, in grey levels, between the page's last output and what Python LiteRT
    makes from the same file and inputs (the page's seed, through `runtime.portable_noise`)."""
    last = page.evaluate(
        "({seed: kerazooPage.last.seed, n: kerazooPage.last.n, images: Array.from(kerazooPage.last.images)})"
    )
    model = runtime.load(folder / "model.tflite")
    if role == "translator":
        python = model.translate(tile[None])
    elif role == "diffusion":
        noise = runtime.portable_noise(last["seed"], (last["n"], *model.image_shape))
        x = sampling.ddim_sample(
            model.predict_eps, noise.shape, model.schedule, model.sample_steps, x_t=noise
        )
        python = np.round((x + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    else:
        noise = runtime.portable_noise(last["seed"], (last["n"], model.latent_dim))
        python = model.generate(noise, model.labels_for(last["n"]) if model.conditional else None)[
            "images_uint8"
        ]
    page_images = np.array(last["images"], np.int64)
    return int(np.abs(page_images - python.reshape(-1).astype(np.int64)).max())


def _page_action(page, role: str, tile_path: Path):
    """One action in the page; returns its `drawMs`."""
    page.evaluate("kerazooPage.last = null")
    if role == "translator":
        page.set_input_files("#file", str(tile_path))
        page.click("#translate")
    else:
        page.click("#draw")
    page.wait_for_function("kerazooPage.last !== null || kerazooPage.errors.length > 0", timeout=600_000)
    errors = page.evaluate("kerazooPage.errors")
    if errors:
        raise RuntimeError(f"the page failed: {errors}")
    return page.evaluate("kerazooPage.drawMs")


def measure(name: str, browser, root: Path, url: str, rounds: int) -> dict:
    folder = root / name
    model = kerazoo.build(name, seed=0)
    meta = export(model, format="web", out=folder, model_name=name)
    onnx_path = root / f"{name}.onnx"
    export(model, format="onnx", out=onnx_path, model_name=name)
    role, batch = meta["role"], meta["batch_size"]
    config = json.loads((folder / "page.json").read_text())
    tile = None
    tile_path = root / f"{name}_tile.png"
    if role == "translator":
        from PIL import Image

        h, w, c = config["image_shape"]
        tile = np.random.default_rng(0).integers(0, 256, (h, w, c), dtype=np.uint8)
        Image.fromarray(tile.squeeze()).save(tile_path)

    # First sample: a fresh context (empty cache), from navigation to the first output.
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/{name}/index.html")
    page.wait_for_function(
        "window.kerazooPage && (kerazooPage.ready || kerazooPage.errors.length)", timeout=600_000
    )
    if role == "translator":  # its first output is the first upload's
        _page_action(page, role, tile_path)
    else:  # generators and diffusion models draw a grid as the page opens
        page.wait_for_function("kerazooPage.last !== null || kerazooPage.errors.length > 0", timeout=600_000)
    first = page.evaluate("({at: kerazooPage.firstSampleAt, load: kerazooPage.loadMs})")
    if role == "diffusion":
        page.fill("#steps", str(STEPS))
    if role != "translator":
        page.fill("#n", str(batch))

    fidelity = _fidelity(page, role, folder, tile)
    calls = _python_action(role, folder, onnx_path, batch, tile)
    times = {"page_litertjs": [], "python_litert": [], "onnx_runtime": []}
    for r in range(rounds + 1):  # round 0 warms up
        ms = _page_action(page, role, tile_path)
        if r:
            times["page_litertjs"].append(ms)
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            if r:
                times[label].append(1000 * (time.perf_counter() - start))
    context.close()
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "role": role,
        "batch_size": batch,
        "action": {
            "generator": f"a grid of {batch} images",
            "diffusion": f"a DDIM sample of {batch} images, {STEPS} steps",
            "translator": "one image translated",
        }[role],
        "folder_bytes": meta["folder_bytes"],
        "page_bytes_without_runtime": meta["page_bytes_without_runtime"],
        "downloaded_bytes": meta["downloaded_bytes"],
        "tflite_bytes": meta["size_bytes"],
        "onnx_bytes": onnx_path.stat().st_size,
        "first_sample_ms": first["at"],
        "load_and_compile_ms": first["load"],
        "max_abs_diff_vs_python_litert": fidelity,
        "per_batch_ms": medians,
        "ratio_to_python_litert": {k: v / medians["python_litert"] for k, v in medians.items()},
        "rounds": rounds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("error: needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.setdefault("models", {})
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        root = Path(tmp)
        server, url = _serve(root)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        results["chromium"] = browser.version
        for name in args.models.split(","):
            results["models"][name] = measure(name, browser, root, url, args.rounds)
            results.update(machine=machine_info(), versions=library_versions())
            results["command"] = "python benchmarks/web.py"
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            r = results["models"][name]
            print(
                name,
                {k: round(v, 1) for k, v in r["per_batch_ms"].items()},
                round(r["first_sample_ms"]),
                flush=True,
            )
        browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
