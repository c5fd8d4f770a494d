"""
Title: Draw digits from an exported generator without TensorFlow
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: The deployment side: NumPy, ai-edge-litert and Pillow only. First with kerazoo's
TensorFlow-free runtime, then with the bare LiteRT interpreter, which is all another language's
binding would need.
"""

"""
## Setup

Install without TensorFlow (see the docs, "Export and deploy"):

    pip install kerazoo        # the plain install: NumPy, Pillow, ai-edge-litert; no TensorFlow

`ARTIFACT` is a `.tflite` file from `kerazoo export` (for example
`runs/dcgan/export/generator.tflite`, written by the main job).
"""

import os
import sys
from pathlib import Path

import numpy as np

artifact = Path(os.environ.get("KERAZOO_ARTIFACT", "runs/dcgan/export/generator.tflite"))
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples")) / "deploy_generator"
out_dir.mkdir(parents=True, exist_ok=True)

"""
## With kerazoo's runtime

`runtime.load` reads the serving signature (and the metadata JSON beside the file, for the class
count of a conditional generator); `sample` draws standard-normal noise from a seed.
"""

from kerazoo import runtime

generator = runtime.load(artifact)
print("latent_dim:", generator.latent_dim, "conditional:", generator.conditional)
images = generator.sample(64, seed=0)  # uint8 (64, 28, 28, 1)
runtime.save_grid(images, out_dir / "grid.png")
print("wrote", out_dir / "grid.png")

"""
## With the LiteRT interpreter alone

The same thing in six calls: open the file, get the signature runner, feed named inputs, read named
outputs. `images_uint8` is already 0..255.
"""

from ai_edge_litert.interpreter import Interpreter

interpreter = Interpreter(model_path=str(artifact))
run = interpreter.get_signature_runner("serving_default")
noise = np.random.default_rng(0).standard_normal((8, generator.latent_dim)).astype(np.float32)
inputs = {"noise": noise}
if generator.conditional:
    inputs["labels"] = np.arange(8, dtype=np.int32) % generator.num_classes
outputs = run(**inputs)
print({name: (value.shape, value.dtype) for name, value in outputs.items()})
# The runtime drew the same noise (seed 0) and the same labels: the same images.
assert np.array_equal(outputs["images_uint8"], generator.sample(8, seed=0))

"""
Nothing above imported TensorFlow:
"""

assert not any(m.split(".")[0] == "tensorflow" for m in sys.modules)
print("done without TensorFlow")
