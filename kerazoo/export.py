"""Export zoo models to SavedModel and TFLite (LiteRT), verified against the Keras model.

    kerazoo.export.export("runs/dcgan", format="tflite", out="dcgan.tflite")
    kerazoo.export.export("runs/cnn", format="tflite", quantize="int8", out="cnn_int8.tflite")

What gets exported is the model's task's to say (`Task.servable`): from a GAN its generator, from a
VAE its decoder (`model.deployable`, what gets deployed); every other model exports itself. A task's
export role is a `Servable` subclass: its signature, post-processing, verification inputs and
tolerances, and metadata. Each artifact has one serving signature, `serving_default`:

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
import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerazoo import runtime
from kerazoo._checks import check_positive_int
from kerazoo._io import atomic_write, check_output
from kerazoo._registry import get_entry, list_models, load_model
from kerazoo.serving import (
    TOLERANCES,
    ClassifierServable,
    ExportError,
    GeneratorServable,
    ImageServable,
    Servable,
    as_float32,
    compare_output,
    rebuilt,
)

__all__ = [
    "export",
    "export_run",
    "default_out",
    "ExportError",
    "FORMATS",
    "QUANTIZATIONS",
    "TOLERANCES",
    "load_servable",
    "Servable",
    "ImageServable",
    "GeneratorServable",
    "ClassifierServable",
]

FORMATS = ("saved_model", "tflite", "onnx", "web")
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")


class _SubPixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """A `Conv2DTranspose` computed as sub-pixel convolutions: each of the stride x stride output
    phases is a stride-1 convolution of the input with the kernel taps that reach it (so no
    multiplication by zero, and the same number of weights), and `depth_to_space` interleaves the
    phases. Same weights, same outputs; what changes is the TFLite
    graph: a TRANSPOSE_CONV with a dynamic batch needs its output shape computed at run time
    (SHAPE, STRIDED_SLICE, PACK), which keeps the XNNPACK delegate out, whereas CONV_2D and
    DEPTH_TO_SPACE take a dynamic batch with static shapes. Used only to export (never saved)."""

    def call(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        kernel = ops.convert_to_tensor(self.kernel)  # (kh, kw, filters, in)
        if height == width == 1 and self.padding == "valid" and min(self.kernel_size) >= self.strides[0]:
            # A 1x1 input (the noise of a DCGAN generator): out[i, j] = x @ kernel[i, j].
            kh, kw, filters, channels = kernel.shape
            matrix = ops.reshape(ops.transpose(kernel, (3, 0, 1, 2)), (channels, kh * kw * filters))
            x = ops.reshape(ops.matmul(ops.reshape(inputs, (-1, channels)), matrix), (-1, kh, kw, filters))
        else:
            x = self._sub_pixel(inputs, kernel, height, width)
        if self.use_bias:
            x = x + self.bias
        return self.activation(x) if self.activation is not None else x

    def _sub_pixel(self, inputs, kernel, height, width):
        stride = self.strides[0]
        (rows, rows_out, m_rows), (cols, cols_out, m_cols) = (
            _phase_taps(k, stride, self.padding, n) for k, n in zip(self.kernel_size, (height, width))
        )
        kernel = ops.transpose(kernel, (0, 1, 3, 2))  # (kh, kw, in, filters), as ops.conv takes it
        phases = []
        for row_low, row_taps in rows:
            for col_low, col_taps in cols:
                if not row_taps or not col_taps:  # a phase no tap reaches (kernel smaller than stride)
                    phases.append(None)
                    continue
                k = ops.take(ops.take(kernel, row_taps, axis=0), col_taps, axis=1)
                x = _shift(inputs, 1, row_low, m_rows + len(row_taps) - 1)
                x = _shift(x, 2, col_low, m_cols + len(col_taps) - 1)
                phases.append(ops.conv(x, k, strides=1, padding="valid"))
        first = next(p for p in phases if p is not None)
        phases = [first * 0.0 if p is None else p for p in phases]
        x = tf.nn.depth_to_space(ops.concatenate(phases, axis=-1), stride) if stride > 1 else phases[0]
        return x[:, :rows_out, :cols_out, :]


def _shift(x, axis: int, low: int, length: int):
    """`x` along `axis` as the window [low, low + length) of its indices, zero outside (static pad
    and slice; a negative `low` pads before, a window past the end pads after)."""
    size = x.shape[axis]
    start, stop = max(low, 0), min(low + length, size)
    begin = [0] * 4
    begin[axis] = start
    shape = [-1] * 4
    shape[axis] = stop - start
    x = ops.slice(x, begin, shape)
    pad = [(0, 0)] * 4
    pad[axis] = (max(-low, 0), max(low + length - size, 0))
    return ops.pad(x, pad)


def _phase_taps(kernel_size: int, stride: int, padding: str, size: int):
    """One axis of a transposed convolution as `stride` stride-1 convolutions, one per output phase:
    for phase r (outputs r, r + stride, ...), the first input offset it reads and the kernel taps it
    applies, in order; the output size; and the outputs per phase. Transposed convolution:
    out[i * stride + t - pad] += x[i] * w[t] (as TensorFlow computes it)."""
    if padding == "same":
        out_size, pad = size * stride, max(kernel_size - stride, 0) // 2
    else:
        out_size, pad = size * stride + max(kernel_size - stride, 0), 0
    phases = []
    for phase in range(stride):
        # Output m * stride + phase reads x[m + d] * w[t] where t = phase + pad - d * stride.
        taps = sorted(
            ((phase + pad - t) // stride, t) for t in range(kernel_size) if (phase + pad - t) % stride == 0
        )
        phases.append((taps[0][0] if taps else 0, [t for _, t in taps]))
    return phases, out_size, -(-out_size // stride)


def sub_pixel_transposed_convs(model):
    """`model` with every Conv2DTranspose (channels last, equal strides, no dilation or output padding)
    computed by `_SubPixelConv2DTranspose`: same weights and outputs, a TFLite graph that XNNPACK
    runs with a dynamic batch. `model` itself when it has none."""

    def plain(layer):
        return (
            type(layer) is keras.layers.Conv2DTranspose
            and layer.data_format == "channels_last"
            and len(set(layer.strides)) == 1
            and set(layer.dilation_rate) == {1}
            and layer.output_padding is None
            and layer.padding in ("same", "valid")
        )

    if not any(plain(layer) for layer in model._flatten_layers()):
        return model

    def clone(layer):
        if plain(layer):
            return _SubPixelConv2DTranspose.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    return rebuilt(model, clone)


# --- sources --------------------------------------------------------------------------------------


def _load_keras(path: Path, unsafe: bool = False):
    try:
        return load_model(path, unsafe=unsafe)
    except ValueError as e:
        raise ExportError(str(e)) from None


def load_servable(source, model_name: str | None = None, *, unsafe: bool = False) -> Servable:
    """What `export` would export from `source`: a run directory, a `.keras` file, or a model.
    `unsafe=True` loads a `.keras` file that holds Python code (see `kerazoo.load_model`).

    The model's task decides (`Task.servable`): the run's task, else the task of its zoo name, else
    the task that claims the bare model (a GAN, a VAE, a generator whose input is named `noise`).
    """
    from kerazoo.tasks import RunConfig, get_task, task_for_model

    config = None
    if isinstance(source, keras.Model):
        model = source
    else:
        path = Path(source)
        if path.is_dir():
            if not (path / "model.keras").is_file():
                raise ExportError(
                    f"'{path}' is not a run directory (no config.json and model.keras). "
                    "Pass a run directory written by `kerazoo train`, or a .keras file."
                )
            config = RunConfig.read(path, error=ExportError)
            path = path / "model.keras"
        elif not path.is_file():
            raise ExportError(f"No run directory or model file at '{path}'.")
        elif path.suffix != ".keras":
            raise ExportError(f"'{path}' is not a .keras file. Pass a run directory or a .keras file.")
        model = _load_keras(path, unsafe)
    if not isinstance(model, keras.Model):
        raise ExportError(f"Cannot export {type(model).__name__}: a zoo model, GAN or VAE is needed.")
    name = model_name or (config.model if config else None) or model.name
    if config is not None:
        task = get_task(config.task)
    elif name in list_models():
        task = get_task(get_entry(name).task)
    else:
        task = task_for_model(model)
    if task is None:
        raise ExportError(
            f"Cannot tell what model '{name}' is: it is not a zoo model name. Pass model_name= "
            "(one of `kerazoo list`) or export from a run directory."
        )
    servable = task.servable(model, name, config)
    servable.model = as_float32(servable.model)
    servable.source = f"<in-memory {servable.name}>" if isinstance(source, keras.Model) else str(source)
    return servable


# --- writing ----------------------------------------------------------------------------------


def _write_saved_model(servable: Servable, path: Path, batch_size):
    archive = keras.export.ExportArchive()
    # No archive.track(model): the endpoint captures every variable it reads, and tracking the model
    # as well stores each weight twice (keras-team/keras#23553, open in Keras 3.15).
    archive.add_endpoint(
        runtime.SIGNATURE, servable.serve, input_signature=servable.input_signature(batch_size)
    )
    for name, (fn, specs, _) in servable.extra_signatures().items():
        archive.add_endpoint(name, fn, input_signature=specs(batch_size))
    archive.write_out(str(path), verbose=False)


def _write_tflite(servable: Servable, path: Path, saved_model: Path, quantize, batch_size, data_dir, dataset):
    keys = [runtime.SIGNATURE, *servable.extra_signatures()]
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=keys)
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


ONNX_OPSET = 17


def _write_onnx(servable: Servable, path: Path, saved_model: Path, batch_size) -> dict:
    """The serving signature converted to ONNX by tf2onnx (opset `ONNX_OPSET`), through a SavedModel
    (whose loader freezes constants the model captured, such as an adapted Normalization's mean). An
    output named like an input (a translator's `images`) is stored as `NAME_out`: ONNX names each
    value once. Returns `{stored name: signature name}` for those."""
    try:
        import onnxruntime  # noqa: F401 - needed to verify what is written
        import tf2onnx
    except ImportError:
        raise ExportError(
            'ONNX export needs tf2onnx and onnxruntime: pip install "kerazoo[train,onnx-export]".'
        ) from None
    clash = set(servable.input_names)
    renamed = {}

    class Renamed:  # the servable's signature, with clashing output names changed
        def input_signature(self, batch_size=None):
            return servable.input_signature(batch_size)

        def serve(self, *args):
            outputs = {}
            for name, value in servable.serve(*args).items():
                stored = f"{name}_out" if name in clash else name
                if stored != name:
                    renamed[stored] = name
                outputs[stored] = value
            return outputs

        def extra_signatures(self):
            return {}

    import logging

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    _write_saved_model(Renamed(), saved_model, batch_size)
    level = tf.get_logger().level
    tf.get_logger().setLevel(logging.ERROR)  # tf2onnx's loader calls TF1 APIs, each with a deprecation note
    try:
        graph_def, inputs, outputs, _, to_rename = tf2onnx.tf_loader.from_saved_model(
            str(saved_model), None, None, return_initialized_tables=True, return_tensors_to_rename=True
        )
        with tf.device("/cpu:0"):
            tf2onnx.convert.from_graph_def(
                graph_def,
                input_names=inputs,
                output_names=outputs,
                opset=ONNX_OPSET,
                tensors_to_rename=to_rename,
                output_path=str(path),
            )
    except Exception as e:  # noqa: BLE001 - a converter failure is reported, not raised raw
        raise ExportError(
            f"The ONNX converter (tf2onnx) failed: {str(e).strip().splitlines()[0][:300]}"
        ) from None
    finally:
        tf.get_logger().setLevel(level)
    shutil.rmtree(saved_model)
    return renamed


# --- verification ------------------------------------------------------------------------------


def _run_saved_model(path: Path, inputs: dict, batch_size, signature: str = runtime.SIGNATURE) -> dict:
    fn = tf.saved_model.load(str(path)).signatures[signature]
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


def _representative(servable: Servable, batch_size, data_dir, dataset, n=200):
    """The int8 calibration data as a generator of named batches (the role's representative inputs)."""
    samples = servable.representative(n, data_dir, dataset)
    b = batch_size or 1
    count = len(next(iter(samples.values())))

    def generate():
        for start in range(0, count - b + 1, b):
            yield {k: v[start : start + b] for k, v in samples.items()}

    return generate


def _versions(format=None) -> dict:
    import kerazoo

    versions = {"kerazoo": kerazoo.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    if format == "onnx":
        import onnxruntime
        import tf2onnx

        versions.update(tf2onnx=tf2onnx.__version__, onnxruntime=onnxruntime.__version__)
    return versions


def _check_options(format, quantize, batch_size):
    if format not in FORMATS:
        raise ExportError(f"Unknown format {format!r}. Supported formats are: {', '.join(FORMATS)}.")
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"Unknown quantization {quantize!r}. Expected one of: {', '.join(QUANTIZATIONS)}.")
    if format != "tflite" and quantize != "float32":
        raise ExportError(
            f"Quantization applies to TFLite only: use --format tflite. Received: --format {format} "
            f"--quantize {quantize}"
        )
    if batch_size is not None:
        check_positive_int("batch_size", batch_size, label="--batch-size", error=ExportError)


def _verify_extra_signatures(servable, artifact: Path, format, quantize, batch_size) -> dict:
    """Each extra signature (`Servable.extra_signatures`) of the written artifact against Keras:
    `{name: figures}`, with the float32/float16 tolerances (quantized: mean abs diff <= 5% of the
    Keras outputs' range)."""
    checks = {}
    for name, (fn, _, make_inputs) in servable.extra_signatures().items():
        inputs = make_inputs()
        expected = {k: np.asarray(v) for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        if format == "saved_model":
            actual = _run_saved_model(artifact, inputs, batch_size, signature=name)
        else:
            actual = runtime.LiteModel(artifact, signature=name)(**inputs)
        checks[name] = compare_output(quantize, expected, actual, next(iter(expected)))
    return checks


def _check_out(out, overwrite, make_parents):
    out = check_output(out, ExportError)
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
    out=None,
    quantize: str = "float32",
    batch_size: int | None = None,
    overwrite: bool = False,
    data_dir=None,
    dataset: str | None = None,
    model_name: str | None = None,
    make_parents: bool = False,
    unsafe: bool = False,
    signature: str | None = None,
) -> dict:
    """Export a zoo model to SavedModel, TFLite, ONNX or a web page, verify it, and write its metadata
    beside it.

    Example:
        ```python
        meta = export("runs/dcgan", format="tflite", quantize="int8", out="dcgan_int8.tflite")
        meta["verification"]["mean_abs_diff_pm1"]
        ```

    Args:
        source: a run directory, a `.keras` file, or a model (`kerazoo.build(...)`).
        format: `"saved_model"`, `"tflite"`, `"onnx"` (tf2onnx, verified with ONNX Runtime; float32)
            or `"web"` (a folder with a page running the verified TFLite file in the browser:
            `kerazoo.web`). Defaults to `"tflite"`.
        out: the artifact's path (a folder for SavedModel). Its metadata goes to `out + ".json"`.
            Defaults to `default_out(...)` (`RUN_DIR/export/generator.tflite`, ...), whose folder is
            then created.
        quantize: TFLite only: `"float32"` (default), `"float16"`, `"dynamic"` or `"int8"`.
        batch_size: fix the batch dimension (static shapes for GPU delegates); None keeps it dynamic.
        overwrite: replace an existing artifact (refused otherwise).
        data_dir, dataset: where the verification (and int8 calibration) data comes from; default
            to the run's own, else the model's default data set.
        model_name: the zoo name, when `source` is a bare model whose name is not one.
        make_parents: create `out`'s folder if missing (removed again if the export fails).
        unsafe: load a `.keras` source that holds Python code (see `kerazoo.load_model`).
        signature: what to export from the model: `"default"` (None) the task's role; a StyleGAN
            also has `"styles"` (its synthesis network, `styles` -> images, with a `mapping`
            signature beside `serving_default`; `default_out` names it `synthesis.tflite`).

    Returns:
        The metadata written beside the artifact (with its `verification` figures).

    Raises:
        ExportError: bad arguments or source, or failed verification (nothing is written then).
        kerazoo.data.DataError: the verification data cannot be loaded (nothing is written).
    """
    _check_options(format, quantize, batch_size)
    servable = source if isinstance(source, Servable) else load_servable(source, model_name, unsafe=unsafe)
    servable = servable.variant(signature)
    if format == "web":
        from kerazoo.web import export_web

        return export_web(
            servable, out, overwrite=overwrite, batch_size=batch_size, make_parents=make_parents
        )
    if format == "onnx" and servable.extra_signatures():
        raise ExportError(
            f"An ONNX file holds one signature; this artifact has {len(servable.extra_signatures()) + 1}. "
            "Export it as --format tflite (or without --signature)."
        )
    if quantize == "int8" and servable.extra_signatures():
        raise ExportError(
            f"int8 calibration covers one signature; this artifact has {len(servable.extra_signatures()) + 1}. "
            "Use --quantize dynamic (int8 weights) instead."
        )
    if out is None:
        out, make_parents = default_out(servable, format, quantize), True
    out, meta_path = _check_out(out, overwrite, make_parents)
    quantized = quantize in ("dynamic", "int8")
    inputs, labels = servable.verification_inputs(quantized, data_dir, dataset)
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
    with atomic_write(out, meta_path) as tmp:
        artifact = tmp / out.name
        saved_model = artifact if format == "saved_model" else tmp / "saved_model"
        converted = servable
        if format == "tflite":  # transposed convolutions as XNNPACK runs them, at any batch
            converted = dataclasses.replace(servable, model=sub_pixel_transposed_convs(servable.model))
        if format != "onnx":
            _write_saved_model(converted, saved_model, batch_size)
        renamed = {}
        if format == "saved_model":
            actual = _run_saved_model(artifact, inputs, batch_size)
            size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
            ops = None
        elif format == "onnx":
            renamed = _write_onnx(servable, artifact, saved_model, batch_size)
            # The runtime reads the renamed outputs back under their signature names from the metadata.
            (tmp / meta_path.name).write_text(json.dumps({"onnx_renamed_outputs": renamed}))
            onnx_model = runtime.LiteModel(artifact)
            actual = onnx_model(**inputs)
            size, ops = artifact.stat().st_size, onnx_model.ops()
        else:
            _write_tflite(servable, artifact, saved_model, quantize, batch_size, data_dir, dataset)
            shutil.rmtree(saved_model)
            lite = runtime.LiteModel(artifact)
            actual = lite(**inputs)
            size, ops = artifact.stat().st_size, lite.ops()
        verification = servable.compare(quantize, expected, actual, labels)
        extra = _verify_extra_signatures(servable, artifact, format, quantize, batch_size)
        if extra:
            verification["signatures"] = extra
            verification["passed"] = verification["passed"] and all(v["passed"] for v in extra.values())
        signature = servable.input_signature(batch_size)
        metadata = {
            "artifact": out.name,
            "format": format,
            "quantize": quantize,
            "batch_size": batch_size,
            "model": servable.name,
            "task": servable.task.name,
            "role": servable.role,
            "hparams": servable.config.hparams if servable.config else None,
            "trained_precision": servable.config.precision if servable.config else None,
            "source": servable.source,
            "signature": runtime.SIGNATURE,
            **({"signatures": [runtime.SIGNATURE, *extra]} if extra else {}),
            "inputs": {s.name: {"dtype": s.dtype.name, "shape": list(s.shape)} for s in signature},
            "outputs": {
                k: {"dtype": v.dtype.name, "shape": [None, *v.shape[1:]]} for k, v in expected.items()
            },
            **servable.processing(),
            **servable.metadata(),
            "size_bytes": int(size),
            **(
                {"onnx_ops": ops, "onnx_renamed_outputs": renamed}
                if format == "onnx"
                else {"tflite_ops": ops}
            ),
            "verification": verification,
            "versions": _versions(format),
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
    return metadata


def default_out(
    source, format: str = "tflite", quantize: str = "float32", signature: str | None = None
) -> Path:
    """Where `kerazoo export` writes when `--out` is not given: `RUN_DIR/export/` for a run
    (`generator.tflite`, `model_int8.tflite`, `decoder_saved_model`, `synthesis.tflite` for a
    StyleGAN's `--signature styles`, ...), else beside the `.keras` file (`NAME.tflite`,
    `NAME_styles.tflite`). The name is the servable's `stem`: what the task deploys."""
    servable = source if isinstance(source, Servable) else load_servable(source)
    servable = servable.variant(signature)
    where = Path(servable.source)
    folder = where / "export" if where.is_dir() else where.parent
    stem = servable.stem if where.is_dir() else where.stem
    if not where.is_dir() and signature not in (None, "default"):
        stem = f"{stem}_{signature}"
    suffix = "" if quantize == "float32" else f"_{quantize}"
    names = {"tflite": f"{stem}{suffix}.tflite", "onnx": f"{stem}.onnx", "web": f"{stem}_web"}
    return folder / names.get(format, f"{stem}{suffix}_saved_model")


def export_run(
    run_dir, formats=("saved_model", "tflite"), *, overwrite: bool = False, seed: int | None = None
) -> dict:
    """Export a run directory into `RUN_DIR/export/` in each of `formats` (float32); the role may add
    to the run (a generator writes `RUN_DIR/samples_tflite.png`, its last sample grid drawn from the
    TFLite file by the TensorFlow-free runtime).

    Args:
        run_dir: a run directory written by `kerazoo.train`.
        formats: any of `FORMATS`. Defaults to SavedModel and TFLite.
        overwrite: replace earlier exports.
        seed: the grid's noise seed; defaults to the run's seed (as `SampleGrid` used).

    Returns:
        `{format: metadata}`, each with the artifact's `path`.
    """
    run_dir = Path(run_dir)
    servable = load_servable(run_dir)
    seed = servable.config.seed if seed is None else seed
    results = {}
    for format in formats:
        out = default_out(servable, format)
        results[format] = {**export(servable, format=format, out=out, overwrite=overwrite, make_parents=True)}
        results[format]["path"] = str(out)
    servable.after_export(run_dir, results, seed)
    return results
