"""`kerazoo export --format web`: a static page that runs the exported `.tflite` file in the browser.

    kerazoo export runs/dcgan --format web          # -> runs/dcgan/export/generator_web/
    python -m http.server -d runs/dcgan/export/generator_web 8000

The folder holds `index.html`, `app.js`, `style.css`, the verified `.tflite` file (`model.tflite`,
exported and checked against Keras like any TFLite export, its metadata `model.tflite.json` beside
it), `page.json` (what the page needs: the role, the inputs, the model card) and LiteRT.js
(`litertjs/`, vendored from the npm registry with its licence: `kerazoo.web.vendor`). No network at
run time: the folder works from any static host.

Why LiteRT.js and not onnxruntime-web: it runs the very `.tflite` file that kerazoo verifies (no
second conversion), and its WebAssembly build is one ~9.4 MB file per browser (relaxed SIMD or
not) against onnxruntime-web's ~10-25 MB; `docs/benchmarks/web.md` has the measured page sizes and
latencies beside Python LiteRT's.

What the page does, by export role (as `kerazoo sample` / `translate`): generators and diffusion
models draw a grid (seed, count, class, truncation or steps and guidance where the model has them);
translators take an uploaded or drawn image; table generators make rows and a CSV to download. The
page's noise for a seed is `kerazoo.runtime.portable_noise(seed, shape)`, so Python reproduces a
page's images exactly from the same `.tflite` file. Diffusion pages sample with DDIM at eta 0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from kerazoo.serving import ExportError

__all__ = ["export_web", "ROLES", "PAGE_FILES"]

HERE = Path(__file__).resolve().parent
PAGE_FILES = ("index.html", "app.js", "style.css")
ROLES = ("generator", "diffusion", "translator", "table_generator")
ARTIFACT = "model.tflite"
# Fixed batch sizes (a static shape for LiteRT.js) and the most rows one click may ask for.
BATCH = {"table_generator": 64, "translator": 1}
MAX_N = {"table_generator": 10_000}
DEFAULT_N = {"generator": 16, "diffusion": 16, "table_generator": 100}
# What a browser loads of the folder: everything but LiteRT.js's files other than these.
DOWNLOADED = (
    "litertjs/core/dist/",
    "litertjs/wasm-utils/dist/",
    "litertjs/core/wasm/litert_wasm_internal.",
)


def _runtime_folder() -> Path:
    from kerazoo.web.vendor import VendorError, ensure

    try:
        return ensure()
    except VendorError as e:
        raise ExportError(str(e)) from None


def export_web(servable, out, *, overwrite=False, batch_size=None, make_parents=False) -> dict:
    """Write the page folder `out` for `servable` (see the module docstring) and return its metadata
    (also written to `out + ".json"`): the `.tflite` export's, plus the page's sizes.

    Raises:
        ExportError: a role without a page (classifiers: use --format tflite or onnx), a second
            signature, an existing `out` without `overwrite`, LiteRT.js missing and unreachable, or
            a failed verification. Nothing is written then.
    """
    from kerazoo.export import _check_out, default_out, export

    role = servable.role
    if role not in ROLES or servable.extra_signatures():
        what = f"the '{role}' role" if role not in ROLES else "an artifact with several signatures"
        raise ExportError(
            f"A web page is made for generators, diffusion models, translators and table generators, not "
            f"{what} of '{servable.name}'. Export it with --format tflite or onnx."
        )
    if out is None:
        out, make_parents = default_out(servable, "web"), True
    out, meta_path = _check_out(out, overwrite, make_parents)
    library = _runtime_folder()
    batch = batch_size or BATCH.get(role, 16)
    from kerazoo._io import atomic_write

    created = None
    if not out.parent.is_dir():
        created = out.parent
        out.parent.mkdir(parents=True)
    try:
        with atomic_write(out, meta_path) as tmp:
            folder = tmp / out.name
            folder.mkdir()
            metadata = export(servable, format="tflite", out=folder / ARTIFACT, batch_size=batch)
            for name in PAGE_FILES:
                shutil.copy(HERE / "page" / name, folder / name)
            shutil.copytree(library, folder / "litertjs", ignore=shutil.ignore_patterns("VERSIONS.json"))
            config = page_config(servable, metadata, batch)
            (folder / "page.json").write_text(json.dumps(config, indent=1) + "\n")
            sizes = page_sizes(folder)
            result = {
                **metadata,
                "artifact": out.name,
                "format": "web",
                "page": "index.html",
                "tflite": ARTIFACT,
                "runtime": "LiteRT.js "
                + json.loads((library / "VERSIONS.json").read_text())["@litertjs/core"],
                **sizes,
            }
            (tmp / meta_path.name).write_text(json.dumps(result, indent=2) + "\n")
    except BaseException:
        if created is not None and not any(created.iterdir()):
            created.rmdir()
        raise
    return result


def page_sizes(folder: Path) -> dict:
    """Bytes of the folder: in all, without the runtime, and what a browser downloads (the page, the
    model and one of LiteRT.js's two WebAssembly builds)."""
    files = {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    runtime_bytes = sum(v for k, v in files.items() if k.startswith("litertjs/"))
    # LiteRT.js's relaxed-SIMD build is counted; the compat build is for browsers without it.
    downloaded = sum(v for k, v in files.items() if not k.startswith("litertjs/") or k.startswith(DOWNLOADED))
    return {
        "folder_bytes": sum(files.values()),
        "page_bytes_without_runtime": sum(files.values()) - runtime_bytes,
        "downloaded_bytes": downloaded,
    }


def _card(servable, metadata) -> list:
    """The model card's rows `[name, text]`: what the model is, its data and figures."""
    config = servable.config
    rows = [
        ["Model", servable.name],
        ["Task", f"{servable.task.name} ({servable.role.replace('_', ' ')})"],
    ]
    if config is not None:
        rows.append(["Trained on", f"{config.dataset}, {config.epochs} epochs, seed {config.seed}"])
        rows.append(["Precision", str(config.precision)])
    rows.append(["Artifact", f"{ARTIFACT}: {metadata['size_bytes']:,} bytes, float32"])
    check = metadata["verification"]
    rows.append(
        ["Verified", f"TFLite vs Keras on {check['rows']} inputs: max |diff| {check['max_abs_diff']:.2e}"]
    )
    run = Path(servable.source)
    for name, path in (("Training", run / "metrics.json"), ("Evaluation", run / "eval" / "metrics.json")):
        if run.is_dir() and path.is_file():
            try:
                figures = json.loads(path.read_text())
            except ValueError:
                continue
            shown = [
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                for k, v in figures.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            ]
            rows.append([name, ", ".join(shown[:12])])
    return rows


def page_config(servable, metadata: dict, batch: int) -> dict:
    """`page.json`: what the page needs to run the artifact (read back by `app.js`)."""
    role = servable.role
    inputs = {
        name: {"dtype": spec["dtype"], "shape": [batch, *spec["shape"][1:]]}
        for name, spec in metadata["inputs"].items()
    }
    config = {
        "title": f"{servable.name}: {role.replace('_', ' ')}",
        "model": servable.name,
        "role": role,
        "artifact": ARTIFACT,
        "batch_size": batch,
        "inputs": inputs,
        "num_classes": metadata.get("num_classes"),
        "latent_dim": metadata.get("latent_dim"),
        "max_n": MAX_N.get(role, 256),
        "default_n": DEFAULT_N.get(role, 1),
        "card": _card(servable, metadata),
    }
    if config["num_classes"]:
        config["class_names"] = [str(k) for k in range(config["num_classes"])]
    if role == "generator":
        config["image_shape"] = metadata["outputs"]["images_uint8"]["shape"][1:]
    elif role == "diffusion":
        from kerazoo import sampling

        schedule = sampling.Schedule.from_json(metadata["schedule"])
        config.update(
            image_shape=inputs["x_t"]["shape"][1:],
            timesteps=int(schedule.timesteps),
            alpha_bar=[float(a) for a in np.asarray(schedule.alpha_bar, np.float64)],
            sample_steps=int(metadata.get("sample_steps", 25)),
            guidance=float(metadata.get("guidance", 1.0)),
        )
    elif role == "translator":
        config.update(
            image_shape=inputs["images"]["shape"][1:],
            output_shape=metadata["outputs"]["images_uint8"]["shape"][1:],
            input_range=list(metadata.get("input_range", (-1.0, 1.0))),
        )
    else:  # table_generator
        transform = metadata["table_transform"]
        config.update(table_transform=transform, class_names=[str(c) for c in transform["classes"]])
    return config
