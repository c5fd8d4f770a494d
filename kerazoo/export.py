"""Export zoo models to SavedModel and TFLite (LiteRT), verified against the Keras model.

    kerazoo.export.export("runs/dcgan", format="tflite", out="dcgan.tflite")
    kerazoo.export.export("runs/cnn", format="tflite", quantize="int8", out="cnn_int8.tflite")

What gets exported: from a GAN its generator, from a VAE its decoder (that is what gets deployed);
every other model exports itself. Each artifact has one serving signature, `serving_default`:

| role | inputs | outputs |
|---|---|---|
| generator (GAN) | `noise` float32 (N, latent_dim), `labels` int32 (N,) if conditional | `images` float32 in [-1, 1], `images_uint8` |
| generator (VAE decoder) | `noise` float32 (N, latent_dim) | `images` float32 in [0, 1], `images_uint8` |
| classifier | `images` (N, H, W, C) in [0, 1], or `features` (N, F) | `probabilities` float32, `class_ids` int32 |
| autoencoder | `images` (N, H, W, C) in [0, 1] | `images` float32 in [0, 1], `images_uint8` |
| forecaster | `windows` (N, lookback, 1), transformed as the metadata says | `predictions` |
| logic, regression | `inputs` (N, features) | `predictions` |

Quantization (TFLite only): `float32`, `float16` (weights), `dynamic` (int8 weights, float
activations) and `int8` (weights and activations, calibrated on a representative dataset drawn
from the training pipeline, or from the noise distribution for generators; inputs and outputs stay
float so every variant has the same interface).

Verified before it counts: the artifact is reloaded (`tf.saved_model.load`, or the
`ai_edge_litert` interpreter) and compared with the Keras model on fixed inputs: the model's test
split, or seeded noise for generators. Thresholds (`TOLERANCES`): float32 max abs difference
<= 1e-4, float16 <= 1e-2; `dynamic` and `int8` classifiers: top-1 agreement >= 99% and accuracy drop
<= 0.5 points on the test split; `dynamic` and `int8` generators and autoencoders: mean abs
difference <= 0.1 on the [-1, 1] scale; other models: mean abs difference <= 5% of the Keras
outputs' range. Figures and thresholds go into the metadata JSON beside the artifact
(`ARTIFACT.json`); an artifact that fails is not written.

The artifact and its metadata are built in a temporary sibling folder and renamed into place, so
an interrupted or failed export leaves nothing at `out`.

How: Keras' own `keras.export.ExportArchive` (what `model.export(format="tf_saved_model")` uses)
writes the SavedModel with the named endpoint; the TFLite file is converted from that SavedModel by
`tf.lite.TFLiteConverter`, because `model.export(format="litert")` takes no quantization options
and would drop the post-processing outputs (`images_uint8`, `class_ids`).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tempfile
import types
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerazoo import data as zdata
from kerazoo import runtime
from kerazoo._registry import get_entry, list_models, load_model

__all__ = ["export", "ExportError", "FORMATS", "QUANTIZATIONS", "TOLERANCES", "load_servable"]

FORMATS = ("saved_model", "tflite")
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")
TOLERANCES = {
    "float32": {"max_abs_diff": 1e-4},
    "float16": {"max_abs_diff": 1e-2},
    "quantized_classifier": {"top1_agreement": 0.99, "accuracy_drop_points": 0.5},
    "quantized_images": {"mean_abs_diff_pm1": 0.1},
    "quantized_other": {"mean_abs_diff_of_range": 0.05},
}
_MAIN_OUTPUT = {"generator": "images", "autoencoder": "images", "classifier": "probabilities"}
_ROLE = {
    "classification": "classifier",
    "reconstruction": "autoencoder",
    "forecasting": "regressor",
    "regression": "regressor",
    "logic": "regressor",
}


class ExportError(ValueError):
    """Bad arguments, an unusable source, or an artifact that failed verification."""


@dataclasses.dataclass
class Servable:
    """A Keras model ready to export, with what the metadata and the verification need."""

    model: keras.Model  # what is exported (the generator of a GAN, the decoder of a VAE)
    name: str  # the zoo model name
    task: str
    role: str  # generator | classifier | autoencoder | regressor
    config: dict  # the run's config.json ({} for a bare model)
    input_names: tuple
    value_range: tuple | None = None  # images' range for generators and autoencoders
    num_classes: int | None = None
    source: str = ""

    def input_signature(self, batch_size=None):
        specs = []
        for name, tensor in zip(self.input_names, self.model.inputs):
            shape = (batch_size, *tensor.shape[1:])
            dtype = "int32" if name == "labels" else "float32"
            specs.append(tf.TensorSpec(shape, dtype, name=name))
        return specs

    def serve(self, *args):
        """The exported computation: the model plus the named post-processing."""
        x = self.model(list(args) if len(args) > 1 else args[0], training=False)
        x = tf.cast(x, tf.float32)
        if self.role in ("generator", "autoencoder"):
            low, high = self.value_range
            scaled = tf.clip_by_value((x - low) * (255.0 / (high - low)), 0.0, 255.0)
            return {"images": x, "images_uint8": tf.cast(tf.round(scaled), tf.uint8)}
        if self.role == "classifier":
            return {"probabilities": tf.nn.softmax(x, axis=-1), "class_ids": tf.argmax(x, -1, tf.int32)}
        return {"predictions": x}


def _load_keras(path: Path):
    try:
        return load_model(path)
    except ValueError as e:
        raise ExportError(str(e)) from None


def _image_range(model) -> tuple:
    """[-1, 1] for a tanh output, else [0, 1] (sigmoid decoders, autoencoders)."""
    activation = getattr(model.layers[-1], "activation", None)
    return (-1.0, 1.0) if getattr(activation, "__name__", "") == "tanh" else (0.0, 1.0)


def load_servable(source, model_name: str | None = None) -> Servable:
    """What `export` would export from `source`: a run directory, a `.keras` file, or a model."""
    config = {}
    if isinstance(source, keras.Model):
        model = source
    else:
        path = Path(source)
        if path.is_dir():
            if not (path / "config.json").is_file() or not (path / "model.keras").is_file():
                raise ExportError(
                    f"'{path}' is not a run directory (no config.json and model.keras). "
                    "Pass a run directory written by `kerazoo train`, or a .keras file."
                )
            try:
                config = json.loads((path / "config.json").read_text())
            except ValueError as e:
                raise ExportError(f"'{path / 'config.json'}' is not valid JSON ({e}).") from None
            path = path / "model.keras"
        elif not path.is_file():
            raise ExportError(f"No run directory or model file at '{path}'.")
        elif path.suffix != ".keras":
            raise ExportError(f"'{path}' is not a .keras file. Pass a run directory or a .keras file.")
        model = _load_keras(path)
    servable = _servable(model, model_name or config.get("model") or model.name, config)
    servable.source = f"<in-memory {servable.name}>" if isinstance(source, keras.Model) else str(source)
    return servable


def _servable(model, name, config) -> Servable:
    from kerazoo.gan import GAN
    from kerazoo.vae import VAE

    if isinstance(model, GAN):
        g = model.generator
        names = ("noise", "labels") if model.conditional else ("noise",)
        return Servable(g, name, "generation", "generator", config, names, (-1.0, 1.0), model.num_classes)
    if isinstance(model, VAE):
        return Servable(model.decoder, name, "reconstruction", "generator", config, ("noise",), (0.0, 1.0))
    if not isinstance(model, keras.Model) or not model.inputs:
        raise ExportError(f"Cannot export {type(model).__name__}: a zoo model, GAN or VAE is needed.")
    input_names = tuple(t.name for t in model.inputs)
    if input_names and input_names[0] == "noise":  # a generator or decoder saved on its own
        num_classes = None
        if "labels" in input_names:
            embeddings = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
            num_classes = embeddings[0].input_dim if embeddings else None
        return Servable(
            model, name, "generation", "generator", config, input_names, _image_range(model), num_classes
        )
    if name not in list_models():
        raise ExportError(
            f"Cannot tell what model '{name}' is: it is not a zoo model name. Pass model_name= "
            "(one of `kerazoo list`) or export from a run directory."
        )
    task = get_entry(name).task
    if task == "generation":
        raise ExportError(f"'{name}' is a GAN: export the whole GAN or its generator (inputs named 'noise').")
    role = _ROLE[task]
    if role == "classifier":
        names = ("images",) if len(model.inputs[0].shape) == 4 else ("features",)
        return Servable(model, name, task, role, config, names, num_classes=int(model.output_shape[-1]))
    if role == "autoencoder":
        return Servable(model, name, task, role, config, ("images",), _image_range(model))
    if task == "forecasting":
        return Servable(_unrolled(model), name, task, role, config, ("windows",))
    return Servable(model, name, task, role, config, ("inputs",))


def _unrolled(model):
    """A copy of `model` with its recurrent layers unrolled, same weights: a dynamic batch then
    converts to plain TFLite ops (the rolled loop's TensorList ops need a static batch or the Flex
    delegate, which ai-edge-litert does not ship). The window is short (`lookback` steps)."""

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN) or "unroll" in config:
            config["unroll"] = True
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


# --- reference data -------------------------------------------------------------------------


def _dataset_kwargs(servable: Servable, data_dir, dataset):
    entry = get_entry(servable.name)
    config = servable.config
    dataset = dataset or config.get("dataset") or entry.dataset
    kwargs = dict(shuffle=False)
    kind = zdata.dataset_kind(dataset)
    if kind == "image":
        kwargs.update(normalization=entry.normalization or "unit", labels=servable.role == "classifier")
        kwargs["data_dir"] = data_dir or config.get("data_dir")
    elif kind == "tabular":
        kwargs["split_seed"] = config.get("split_seed", 0)
    elif kind == "series":
        hparams = {**entry.hparams, **config.get("hparams", {})}
        kwargs.update(lookback=hparams["lookback"], csv=config.get("csv"), column=config.get("column"))
    return dataset, kwargs


def _split_arrays(servable: Servable, split: str, data_dir, dataset, limit=None):
    """`(x, y or None)` from the model's data set (the run's, or the zoo default)."""
    name, kwargs = _dataset_kwargs(servable, data_dir, dataset)
    ds = zdata.make_dataset(name, split, 512, **kwargs)
    if limit:
        ds = ds.unbatch().take(limit).batch(512)
    xs, ys = [], []
    for batch in ds:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        xs.append(np.asarray(x))
        if y is not None and servable.role == "classifier":
            ys.append(np.asarray(y))
    x = np.concatenate(xs).astype(np.float32)
    expected = tuple(servable.model.inputs[0].shape[1:])
    if x.shape[1:] != expected:
        raise ExportError(
            f"Data set '{name}' has inputs of shape {x.shape[1:]} but the model takes {expected}. "
            "Pass the dataset (and --data-dir) the model was trained on."
        )
    return x, (np.concatenate(ys) if ys else None)


def _noise_inputs(servable: Servable, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    latent_dim = int(servable.model.inputs[0].shape[-1])
    inputs = {"noise": rng.standard_normal((n, latent_dim)).astype(np.float32)}
    if "labels" in servable.input_names:
        inputs["labels"] = (np.arange(n) % servable.num_classes).astype(np.int32)
    return inputs


def _verification_inputs(servable: Servable, quantized: bool, data_dir, dataset):
    """Named inputs (and the classifier's labels) to compare the artifact with Keras on."""
    if servable.role == "generator":
        return _noise_inputs(servable, 256 if quantized else 64, seed=1234), None
    # Quantized classifiers are judged on the whole test split (accuracy drop); others on a slice.
    x, y = _split_arrays(servable, "test", data_dir, dataset, limit=None if quantized else 256)
    return {servable.input_names[0]: x}, y


def _representative(servable: Servable, batch_size, data_dir, dataset, n=200):
    """The int8 calibration data: training inputs, or noise for generators."""
    if servable.role == "generator":
        samples = _noise_inputs(servable, n, seed=99)
    else:
        samples = {servable.input_names[0]: _split_arrays(servable, "train", data_dir, dataset, limit=n)[0]}
    b = batch_size or 1
    count = len(next(iter(samples.values())))

    def generate():
        for start in range(0, count - b + 1, b):
            yield {k: v[start : start + b] for k, v in samples.items()}

    return generate


# --- writing ----------------------------------------------------------------------------------


def _write_saved_model(servable: Servable, path: Path, batch_size):
    archive = keras.export.ExportArchive()
    # No archive.track(model): the endpoint captures every variable it reads, and tracking the model
    # as well stores each weight twice (keras-team/keras#23553, open in Keras 3.15).
    archive.add_endpoint(
        runtime.SIGNATURE, servable.serve, input_signature=servable.input_signature(batch_size)
    )
    archive.write_out(str(path), verbose=False)


def _write_tflite(servable: Servable, path: Path, saved_model: Path, quantize, batch_size, data_dir, dataset):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[runtime.SIGNATURE])
    if quantize != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.representative_dataset = _representative(servable, batch_size, data_dir, dataset)
        # int8 kernels everywhere they exist; the few ops without one (the uint8 cast, argmax) stay float.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    with warnings.catch_warnings():  # the calibrator's internal tf.lite.Interpreter deprecation note
        warnings.simplefilter("ignore")
        try:
            flatbuffer = converter.convert()
        except Exception as e:  # noqa: BLE001 - a converter failure is reported, not raised raw
            raise ExportError(
                f"The TFLite converter failed: {str(e).strip().splitlines()[0][:300]}"
            ) from None
    path.write_bytes(flatbuffer)


# --- verification ------------------------------------------------------------------------------


def _run_saved_model(path: Path, inputs: dict, batch_size) -> dict:
    fn = tf.saved_model.load(str(path)).signatures[runtime.SIGNATURE]
    n = len(next(iter(inputs.values())))
    step = batch_size or n
    chunks = []
    for start in range(0, n, step):
        part = {k: v[start : start + step] for k, v in inputs.items()}
        short = step - len(next(iter(part.values())))
        if short:
            part = {k: np.concatenate([v, np.repeat(v[-1:], short, axis=0)]) for k, v in part.items()}
        out = fn(**{k: tf.constant(v) for k, v in part.items()})
        chunks.append({k: v.numpy()[: step - short] for k, v in out.items()})
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def _compare(servable: Servable, quantize: str, expected: dict, actual: dict, labels) -> dict:
    """The verification figures and whether they pass."""
    key = _MAIN_OUTPUT.get(servable.role, "predictions")
    diff = np.abs(expected[key].astype(np.float64) - actual[key].astype(np.float64))
    figures = {
        "compared_output": key,
        "rows": int(len(diff)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }
    if "images_uint8" in expected:
        figures["uint8_max_abs_diff"] = int(
            np.abs(expected["images_uint8"].astype(int) - actual["images_uint8"].astype(int)).max()
        )
    if servable.role == "classifier":
        figures["top1_agreement"] = float(np.mean(expected["class_ids"] == actual["class_ids"]))
        if labels is not None:
            figures["keras_accuracy"] = float(np.mean(expected["class_ids"] == labels))
            figures["artifact_accuracy"] = float(np.mean(actual["class_ids"] == labels))
            figures["accuracy_drop_points"] = 100 * (figures["keras_accuracy"] - figures["artifact_accuracy"])
    if quantize in ("float32", "float16"):
        tolerance = TOLERANCES[quantize]
        passed = figures["max_abs_diff"] <= tolerance["max_abs_diff"]
    elif servable.role == "classifier":
        tolerance = TOLERANCES["quantized_classifier"]
        passed = (
            figures["top1_agreement"] >= tolerance["top1_agreement"]
            and figures.get("accuracy_drop_points", 0.0) <= tolerance["accuracy_drop_points"]
        )
    elif servable.role in ("generator", "autoencoder"):
        tolerance = TOLERANCES["quantized_images"]
        low, high = servable.value_range
        figures["mean_abs_diff_pm1"] = figures["mean_abs_diff"] * 2.0 / (high - low)
        passed = figures["mean_abs_diff_pm1"] <= tolerance["mean_abs_diff_pm1"]
    else:
        tolerance = TOLERANCES["quantized_other"]
        spread = float(np.ptp(expected[key])) or 1.0
        figures["mean_abs_diff_of_range"] = figures["mean_abs_diff"] / spread
        passed = figures["mean_abs_diff_of_range"] <= tolerance["mean_abs_diff_of_range"]
    return {**figures, "tolerance": tolerance, "passed": bool(passed)}


def _describe(servable: Servable, signature: list, outputs: dict) -> dict:
    """Input/output spec and pre-/post-processing for the metadata."""
    spec = {
        "inputs": {s.name: {"dtype": s.dtype.name, "shape": list(s.shape)} for s in signature},
        "outputs": {k: {"dtype": v.dtype.name, "shape": [None, *v.shape[1:]]} for k, v in outputs.items()},
    }
    role, config = servable.role, servable.config
    if role == "generator":
        spec["preprocessing"] = "noise: float32 draws from N(0, 1)" + (
            f"; labels: int32 class ids in 0..{servable.num_classes - 1}" if servable.num_classes else ""
        )
        low, high = servable.value_range
        spec["postprocessing"] = (
            f"images: float32 in [{low:g}, {high:g}]; images_uint8 = round((images - {low:g}) * 255 / {high - low:g})"
        )
    elif role in ("classifier", "autoencoder") and servable.input_names[0] == "images":
        spec["preprocessing"] = "images: float32 pixels divided by 255 ([0, 1])"
        spec["postprocessing"] = (
            "probabilities = softmax(logits); class_ids = argmax"
            if role == "classifier"
            else "images: float32 in [0, 1]; images_uint8 = round(images * 255)"
        )
    elif role == "classifier":
        spec["preprocessing"] = "features: float32 raw values (the model standardizes them itself)"
        spec["postprocessing"] = "probabilities = softmax(logits); class_ids = argmax"
    elif servable.task == "forecasting":
        spec["preprocessing"] = (
            "windows: z[t] = (diff(log(values))[t] - mean) / std with mean and std of the training part "
            "(kerazoo.data.LogDiffScaler), the last `lookback` steps, shape (N, lookback, 1)"
        )
        spec["postprocessing"] = "next value = last value * exp(prediction * std + mean)"
        if config:
            try:
                series = zdata.load_series(
                    config["dataset"], csv=config.get("csv"), column=config.get("column")
                )
                lookback = config["hparams"]["lookback"]
                scaler = zdata.series_windows(series, "test", lookback=lookback)[3]
                spec["scaler"] = {"mean": scaler.mean_, "std": scaler.std_}
            except (zdata.DataError, KeyError, ValueError):
                pass
    else:
        spec["preprocessing"] = "inputs: float32 as in training"
        spec["postprocessing"] = "predictions: the model's output"
    return spec


def _versions() -> dict:
    import kerazoo

    return {"kerazoo": kerazoo.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}


def _check_args(format, quantize, batch_size, out, overwrite, make_parents=False):
    if format not in FORMATS:
        raise ExportError(f"Unknown format {format!r}. Supported formats are: {', '.join(FORMATS)}.")
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"Unknown quantization {quantize!r}. Expected one of: {', '.join(QUANTIZATIONS)}.")
    if format == "saved_model" and quantize != "float32":
        raise ExportError(
            f"Quantization applies to TFLite only: use --format tflite. Received: quantize={quantize!r}"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ExportError(f"--batch-size must be a positive integer. Received: batch_size={batch_size!r}")
    out = Path(out)
    meta = runtime.metadata_path(out)
    if (out.exists() or meta.exists()) and not overwrite:
        raise ExportError(f"'{out}' already exists. Choose another --out or pass --overwrite.")
    if not out.parent.is_dir() and not make_parents:
        raise ExportError(f"Folder '{out.parent}' does not exist. Create it or choose another --out.")
    return out, meta


def export(
    source,
    *,
    format: str = "tflite",
    out,
    quantize: str = "float32",
    batch_size: int | None = None,
    overwrite: bool = False,
    data_dir=None,
    dataset: str | None = None,
    model_name: str | None = None,
    make_parents: bool = False,
) -> dict:
    """Export a zoo model to SavedModel or TFLite, verify it, and write its metadata beside it.

    Example:
        meta = export("runs/dcgan", format="tflite", quantize="int8", out="dcgan_int8.tflite")
        meta["verification"]["mean_abs_diff_pm1"]

    Args:
        source: a run directory, a `.keras` file, or a model (`kerazoo.build(...)`).
        format: `"saved_model"` or `"tflite"`. Defaults to `"tflite"`.
        out: the artifact's path (a folder for SavedModel). Its metadata goes to `out + ".json"`.
        quantize: TFLite only: `"float32"` (default), `"float16"`, `"dynamic"` or `"int8"`.
        batch_size: fix the batch dimension (static shapes for GPU delegates); None keeps it dynamic.
        overwrite: replace an existing artifact (refused otherwise).
        data_dir, dataset: where the verification (and int8 calibration) data comes from; default
            to the run's own, else the model's default data set.
        model_name: the zoo name, when `source` is a bare model whose name is not one.
        make_parents: create `out`'s folder if missing (removed again if the export fails).

    Returns:
        The metadata written beside the artifact (with its `verification` figures).

    Raises:
        ExportError: bad arguments or source, or failed verification (nothing is written then).
        kerazoo.data.DataError: the verification data cannot be loaded (nothing is written).
    """
    out, meta_path = _check_args(format, quantize, batch_size, out, overwrite, make_parents)
    servable = source if isinstance(source, Servable) else load_servable(source, model_name)
    quantized = quantize in ("dynamic", "int8")
    inputs, labels = _verification_inputs(servable, quantized, data_dir, dataset)
    created = None
    if not out.parent.is_dir():
        created = out.parent
        out.parent.mkdir(parents=True)
    try:
        return _export(
            servable, format, out, meta_path, quantize, batch_size, inputs, labels, data_dir, dataset
        )
    except BaseException:
        if created is not None and not any(created.iterdir()):
            created.rmdir()
        raise


def _export(
    servable, format, out, meta_path, quantize, batch_size, inputs, labels, data_dir, dataset
) -> dict:
    """Write, verify and move into place (see `export`)."""
    expected = {
        k: np.asarray(v)
        for k, v in servable.serve(*(tf.constant(inputs[n]) for n in servable.input_names)).items()
    }

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        artifact = tmp / out.name
        saved_model = artifact if format == "saved_model" else tmp / "saved_model"
        _write_saved_model(servable, saved_model, batch_size)
        if format == "saved_model":
            actual = _run_saved_model(artifact, inputs, batch_size)
            size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
            ops = None
        else:
            _write_tflite(servable, artifact, saved_model, quantize, batch_size, data_dir, dataset)
            shutil.rmtree(saved_model)
            lite = runtime.LiteModel(artifact)
            actual = lite(**inputs)
            size, ops = artifact.stat().st_size, lite.ops()
        verification = _compare(servable, quantize, expected, actual, labels)
        metadata = {
            "artifact": out.name,
            "format": format,
            "quantize": quantize,
            "batch_size": batch_size,
            "model": servable.name,
            "task": servable.task,
            "role": servable.role,
            "hparams": servable.config.get("hparams"),
            "source": servable.source,
            "signature": runtime.SIGNATURE,
            **_describe(servable, servable.input_signature(batch_size), expected),
            "num_classes": servable.num_classes,
            "latent_dim": int(servable.model.inputs[0].shape[-1]) if servable.role == "generator" else None,
            "value_range": list(servable.value_range) if servable.value_range else None,
            "size_bytes": int(size),
            "tflite_ops": ops,
            "verification": verification,
            "versions": _versions(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        if not verification["passed"]:
            shown = {
                k: v for k, v in verification.items() if k not in ("tolerance", "passed", "compared_output")
            }
            raise ExportError(
                f"Verification failed for {format} {quantize}: {shown} exceeds {verification['tolerance']}. "
                "Nothing was written."
            )
        (tmp / meta_path.name).write_text(json.dumps(metadata, indent=2) + "\n")
        for target in (out, meta_path):
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        os.replace(tmp / meta_path.name, meta_path)
        os.replace(artifact, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return metadata


def _is_vae_run(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "config.json").read_text()).get("model") == "vae"
    except (OSError, ValueError):
        return False


def default_out(source, format: str = "tflite", quantize: str = "float32") -> Path:
    """Where `kerazoo export` writes when `--out` is not given: `RUN_DIR/export/` for a run
    (`generator.tflite`, `model_int8.tflite`, `generator_saved_model`, ...), else beside the file."""
    source = Path(source)
    stem = "model"
    if source.is_dir():
        folder = source / "export"
        if (source / "generator.keras").is_file():
            stem = "generator"
        elif (source / "decoder.keras").is_file() and (source / "encoder.keras").is_file():
            stem = "decoder" if _is_vae_run(source) else "model"
    else:
        folder, stem = source.parent, source.stem
    suffix = "" if quantize == "float32" else f"_{quantize}"
    return folder / (f"{stem}{suffix}.tflite" if format == "tflite" else f"{stem}_saved_model")


def export_run(run_dir, formats=FORMATS, *, overwrite: bool = False, seed: int | None = None) -> dict:
    """Export a run directory into `RUN_DIR/export/` in each of `formats` (float32), and for a
    generator write `RUN_DIR/samples_tflite.png`: the grid of `samples.png` (same noise, same layout)
    drawn from the exported TFLite file by the TensorFlow-free runtime.

    Args:
        run_dir: a run directory written by `kerazoo.train`.
        formats: any of `FORMATS`.
        overwrite: replace earlier exports.
        seed: the grid's noise seed; defaults to the run's seed (as `SampleGrid` used).

    Returns:
        `{format: metadata}`, each with the artifact's `path`.
    """
    run_dir = Path(run_dir)
    servable = load_servable(run_dir)
    seed = servable.config.get("seed", 0) if seed is None else seed
    results = {}
    for format in formats:
        out = default_out(run_dir, format)
        results[format] = export(servable, format=format, out=out, overwrite=overwrite, make_parents=True)
        results[format]["path"] = str(out)
    if "tflite" in results and servable.role == "generator":
        generator = runtime.Generator(results["tflite"]["path"])
        from kerazoo.callbacks import _fixed_inputs

        conditional = "labels" in servable.input_names
        spec = types.SimpleNamespace(
            conditional=conditional, num_classes=servable.num_classes, latent_dim=generator.latent_dim
        )
        inputs, rows = _fixed_inputs(spec, 100 if conditional else 64, seed)
        noise, labels = inputs if conditional else (inputs, None)
        images = generator.generate(noise, labels)["images_uint8"]
        columns = len(images) // rows
        runtime.save_grid(images, run_dir / "samples_tflite.png", columns=columns)
    return results
