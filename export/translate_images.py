"""
Title: Deploy an image translator: export pix2pix to TFLite, translate PNG files without TensorFlow
Author: kerazoo
Date created: 2026-11-24
Last modified: 2026-11-24
Description: Export a trained pix2pix generator (images in, images out), verified against Keras,
then translate map tiles saved as PNG files with the TensorFlow-free runtime and with the bare
LiteRT interpreter.
"""

"""
## Setup

`RUN` is a pix2pix run directory (`kerazoo train pix2pix --out runs/pix2pix`). Without one, a
pix2pix is trained here for one epoch (outputs look like the average tile: enough to show the
plumbing).
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image

import kerazoo
from kerazoo import pairs
from kerazoo.export import export

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
run = Path(os.environ.get("KERAZOO_RUN", "runs/pix2pix"))
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "translate_images"
out_dir.mkdir(parents=True, exist_ok=True)
if not (run / "config.json").is_file():
    run = out_dir / "run"
    hparams = {"filters": 4, "max_filters": 8} if quick else {}
    kerazoo.train(
        "pix2pix",
        out=run,
        epochs=1,
        batch_size=64 if quick else 16,
        hparams=hparams,
        overwrite=True,
        verbose=0,
    )

"""
## Export

The generator of the run becomes one `.tflite` file with one signature: `images` (float32 in
[-1, 1]) in, `images` and `images_uint8` out; the export compares it with Keras on the test tiles
and writes what it found, and how to feed it, into `generator.tflite.json` beside it.
"""

artifact = out_dir / "generator.tflite"
meta = export(run, format="tflite", out=artifact, overwrite=True)
print("verified:", meta["verification"]["passed"], "max abs diff", meta["verification"]["max_abs_diff"])
print("preprocessing:", meta["preprocessing"])

"""
## Translate files with kerazoo's runtime

Only NumPy, ai-edge-litert and Pillow are used from here on (the runtime imports no TensorFlow).
`translate_files` reads each PNG as the model takes it (RGB, resized to 64x64) and returns the
inputs and outputs as uint8; `kerazoo translate ARTIFACT IN.png --out OUT.png` does the same from
a shell.
"""

from kerazoo import runtime

maps, _ = pairs.synthetic_maps("test")
files = []
for i in range(4):
    files.append(out_dir / f"map_{i}.png")
    Image.fromarray(maps[i]).save(files[-1])
translator = runtime.load(artifact)
inputs, outputs = translator.translate_files(files)
runtime.save_grid(runtime.side_by_side(inputs, outputs), out_dir / "translated.png", columns=2)
print("wrote", out_dir / "translated.png")

"""
## With the LiteRT interpreter alone

The runtime's work in a few lines: scale the pixels to [-1, 1], call the signature, read
`images_uint8`.
"""

from ai_edge_litert.interpreter import Interpreter

interpreter = Interpreter(model_path=str(artifact))
signature = interpreter.get_signature_runner("serving_default")
x = inputs.astype(np.float32) / 127.5 - 1.0
bare = signature(images=x)["images_uint8"]
print("same as the runtime's:", np.array_equal(bare, outputs))
