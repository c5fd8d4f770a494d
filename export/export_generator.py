"""
Title: Export a trained DCGAN generator to SavedModel and TFLite, verified
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: Train (or reuse) a DCGAN run, export its generator to a SavedModel and to TFLite in
float32, float16 and int8, check each artifact against the Keras generator, and look at what was
written: the serving signature, the metadata JSON and the file sizes.
"""

"""
## Setup
"""

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

import kerazoo
from kerazoo import runtime
from kerazoo.export import export, load_servable

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "export_generator"
out_dir.mkdir(parents=True, exist_ok=True)

"""
## A trained generator

`kerazoo train dcgan` writes a run directory; `model.keras` in it is the whole GAN and
`generator.keras` the generator alone. Reuse a run with `KERAZOO_RUN=runs/dcgan`, or train one here
on the embedded digits (about 4 minutes on 2 CPU cores; one tiny epoch in quick mode).
"""

run_dir = Path(os.environ.get("KERAZOO_RUN", out_dir / "dcgan_run"))
if not (run_dir / "model.keras").is_file():
    hparams = {"width": 8} if quick else {}
    kerazoo.train("dcgan", epochs=1 if quick else None, out=run_dir, hparams=hparams, verbose=2)

"""
## Export to a SavedModel

From a GAN run, `export` takes the generator: that is what gets deployed. The SavedModel has one
signature, `serving_default`, with named inputs and outputs: `noise` in, `images` (float32 in
[-1, 1]) and `images_uint8` (ready to write as PNG) out. The export is reloaded and compared with
the Keras generator before it is written; the figures go into `ARTIFACT.json` beside it.
"""

saved_model = out_dir / "generator_saved_model"
meta = export(run_dir, format="saved_model", out=saved_model, overwrite=True)
print(json.dumps(meta["verification"], indent=2))

"""
Reload it the way a serving system would: no kerazoo, no Keras model code, just TensorFlow.
"""

serve = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
print(serve.structured_input_signature)
print(serve.structured_outputs)
noise = np.random.default_rng(0).standard_normal((4, meta["latent_dim"])).astype(np.float32)
images_uint8 = serve(noise=tf.constant(noise))["images_uint8"].numpy()
print(images_uint8.shape, images_uint8.dtype)

"""
## Export to TFLite (LiteRT), float32 and quantized

float16 halves the file; int8 quantizes weights and activations, calibrated on noise drawn from the
generator's own input distribution, and is about a quarter of the float32 file. Each one is
verified: float32 within 1e-4 of Keras, float16 within 1e-2, int8 within a mean of 0.1 on the
[-1, 1] scale. `batch_size=1` fixes the batch dimension, which GPU delegates need.
"""

for quantize in ("float32", "float16", "int8"):
    path = out_dir / f"generator_{quantize}.tflite"
    meta = export(run_dir, format="tflite", quantize=quantize, out=path, overwrite=True)
    v = meta["verification"]
    print(
        f"{path.name}: {meta['size_bytes']:,} bytes, max |diff| {v['max_abs_diff']:.2e}, "
        f"mean |diff| {v['mean_abs_diff']:.2e}"
    )

"""
## Look at it

The same noise through the Keras generator and through the float32 TFLite file, one grid each.
"""

generator = runtime.Generator(out_dir / "generator_float32.tflite")
noise = np.random.default_rng(1).standard_normal((36, generator.latent_dim)).astype(np.float32)
from_tflite = generator.generate(noise)["images_uint8"]
keras_generator = load_servable(run_dir).model  # the generator export() used
from_keras = np.round((keras_generator(noise, training=False).numpy() + 1) * 127.5).astype(np.uint8)
print("largest pixel difference (0..255):", int(np.abs(from_tflite.astype(int) - from_keras).max()))
runtime.save_grid(from_keras, out_dir / "keras_grid.png")
runtime.save_grid(from_tflite, out_dir / "tflite_grid.png")
print("wrote", out_dir / "keras_grid.png", "and", out_dir / "tflite_grid.png")
