"""Export: every zoo model to SavedModel and TFLite, verified; quantization; fixed batch; the
TensorFlow-free sampler; bad input gives one clear error and leaves nothing behind."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo import runtime
from kerazoo.cli import main
from kerazoo.export import TOLERANCES, ExportError, export, export_run

ROLE_OUTPUTS = {
    "generator": {"images", "images_uint8"},
    "autoencoder": {"images", "images_uint8"},
    "classifier": {"probabilities", "class_ids"},
    "regressor": {"predictions"},
    "translator": {"images", "images_uint8"},
    "table_generator": {"rows"},
    "diffusion": {"noise"},
}


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


# Every model to TFLite (converted from a SavedModel the export writes first); the SavedModel format
# itself for one model of each export role (CI's 15 minutes).
SAVED_MODEL_ROLES = (
    "cnn",
    "dcgan",
    "conv_autoencoder",
    "lstm_forecaster",
    "neuron",
    "pix2pix",
    "tabular_gan",
)
EXPORT_CASES = (
    [(n, "tflite") for n in kerazoo.list_models()]
    + [(n, "onnx") for n in kerazoo.list_models()]
    + [(n, "saved_model") for n in SAVED_MODEL_ROLES]
)


@pytest.mark.slow
@pytest.mark.parametrize("name, fmt", EXPORT_CASES)
def test_every_zoo_model_exports_and_passes_verification(name, fmt, tmp_path):
    out = tmp_path / {"tflite": "model.tflite", "onnx": "model.onnx"}.get(fmt, "model_saved_model")
    meta = export(kerazoo.build(name), format=fmt, out=out)
    assert out.exists() and runtime.metadata_path(out).is_file()
    assert json.loads(runtime.metadata_path(out).read_text()) == meta
    assert meta["verification"]["passed"] and meta["verification"]["max_abs_diff"] <= 1e-4
    assert meta["model"] == name and set(meta["outputs"]) == ROLE_OUTPUTS[meta["role"]]
    if fmt in ("tflite", "onnx"):  # the runtime reads both with the same names
        lite = runtime.LiteModel(out)
        assert set(lite.input_specs) == set(meta["inputs"]) and set(lite.output_names) == set(meta["outputs"])
    else:
        sig = tf.saved_model.load(str(out)).signatures["serving_default"]
        assert set(sig.structured_outputs) == set(meta["outputs"])
        assert set(sig.structured_input_signature[1]) == set(meta["inputs"])
    assert _leftovers(tmp_path) == []


def test_generator_signature_names_dtypes_and_ranges(tmp_path):
    out = tmp_path / "cgan.tflite"
    meta = export(kerazoo.build("cgan"), format="tflite", out=out)
    assert meta["inputs"] == {
        "noise": {"dtype": "float32", "shape": [None, 100]},
        "labels": {"dtype": "int32", "shape": [None]},
    }
    assert meta["outputs"]["images_uint8"]["dtype"] == "uint8" and meta["num_classes"] == 10
    gen = runtime.load(out)
    assert isinstance(gen, runtime.Generator) and gen.conditional and gen.latent_dim == 100
    out_ = gen.generate(np.zeros((3, 100), np.float32), np.array([0, 1, 2], np.int32))
    assert out_["images"].min() >= -1 and out_["images"].max() <= 1 and out_["images_uint8"].dtype == np.uint8


@pytest.mark.slow
def test_quantized_generator_sizes_and_tolerances(tmp_path):
    gan = kerazoo.build("dcgan")
    sizes = {}
    for q in ("float32", "float16", "dynamic", "int8"):
        meta = export(gan, format="tflite", quantize=q, out=tmp_path / f"g_{q}.tflite")
        sizes[q] = meta["size_bytes"]
        if q in ("dynamic", "int8"):
            assert meta["verification"]["mean_abs_diff_pm1"] <= 0.1
        else:
            assert meta["verification"]["max_abs_diff"] <= (1e-4 if q == "float32" else 1e-2)
    assert sizes["int8"] <= 0.3 * sizes["float32"] and sizes["float16"] <= 0.55 * sizes["float32"]


def test_default_export_keeps_a_dynamic_batch_without_run_time_shapes(tmp_path):
    gan = kerazoo.build("dcgan")
    export(gan, format="tflite", out=tmp_path / "dynamic.tflite")
    export(gan, format="tflite", out=tmp_path / "fixed.tflite", batch_size=4)
    dynamic, fixed = (
        runtime.Generator(tmp_path / "dynamic.tflite"),
        runtime.Generator(tmp_path / "fixed.tflite"),
    )
    assert fixed.batch_size == 4 and dynamic.batch_size is None
    # Transposed convolutions become CONV_2D + DEPTH_TO_SPACE: no output shape computed at run time
    # (SHAPE, PACK), which kept XNNPACK out of the dynamic-batch file (7.6 against 2.5 ms at batch 1).
    for lite in (dynamic, fixed):
        assert {"CONV_2D", "DEPTH_TO_SPACE"} <= set(lite.ops())
        assert not {"SHAPE", "PACK", "TRANSPOSE_CONV"} & set(lite.ops())
    noise = np.random.default_rng(0).standard_normal((7, 100)).astype(np.float32)  # 7 = 4 + 3 (padded)
    np.testing.assert_allclose(fixed.generate(noise)["images"], dynamic.generate(noise)["images"], atol=1e-5)
    expected = gan.generator(noise, training=False).numpy()
    np.testing.assert_allclose(fixed.generate(noise)["images"], expected, atol=1e-4)


@pytest.mark.parametrize("quantize", ["dynamic", "int8"])
def test_quantized_classifier_keeps_its_accuracy_on_the_test_split(digits_cnn_run, quantize, tmp_path):
    meta = export(digits_cnn_run, format="tflite", quantize=quantize, out=tmp_path / "cnn.tflite")
    v = meta["verification"]
    assert v["rows"] == 360  # the whole digits test split
    assert v["keras_accuracy"] > 0.9, "the fixture model should have learned something"
    assert v["top1_agreement"] >= 0.99 and v["accuracy_drop_points"] <= 0.5
    probs = runtime.LiteModel(tmp_path / "cnn.tflite")(images=np.zeros((2, 28, 28, 1), np.float32))
    np.testing.assert_allclose(probs["probabilities"].sum(axis=1), 1.0, atol=1 / 128)  # int8 softmax steps


def test_failed_verification_writes_nothing(tmp_path, monkeypatch):
    # An impossible tolerance makes any artifact fail, whatever the weights.
    monkeypatch.setitem(TOLERANCES, "float32", {"max_abs_diff": -1.0})
    for fmt in ("saved_model", "tflite", "onnx"):  # web: tests/test_web.py
        out = tmp_path / f"cnn.{fmt}"
        with pytest.raises(ExportError, match=r"Verification failed for .* float32: .*Nothing was written"):
            export(kerazoo.build("cnn"), format=fmt, out=out)
    assert list(tmp_path.iterdir()) == []


def test_export_run_writes_both_formats_and_a_tflite_grid_like_the_keras_one(tmp_path):
    run = tmp_path / "run"
    kerazoo.train("dcgan", epochs=1, out=run, verbose=0, hparams={"width": 8})
    results = export_run(run)
    assert set(results) == {"saved_model", "tflite"}
    assert (run / "export" / "generator.tflite").is_file() and (
        run / "export" / "generator_saved_model"
    ).is_dir()
    from PIL import Image

    keras_grid = np.asarray(Image.open(run / "samples.png"), dtype=int)
    tflite_grid = np.asarray(Image.open(run / "samples_tflite.png"), dtype=int)
    # The same noise, layout and scale: the same picture, up to one grey level of rounding.
    assert keras_grid.shape == tflite_grid.shape and keras_grid.shape[1] > 100
    assert np.abs(keras_grid - tflite_grid).max() <= 1 and keras_grid.std() > 10  # not a blank grid


def test_cli_export_and_sample(tmp_path, capsys):
    run = tmp_path / "run"
    kerazoo.train("cgan", epochs=1, out=run, verbose=0, hparams={"width": 8})
    assert main(["export", str(run)]) == 0
    artifact = run / "export" / "generator.tflite"
    assert artifact.is_file() and "exported" in capsys.readouterr().out
    grid = tmp_path / "threes.png"
    assert (
        main(["sample", str(artifact), "--n", "16", "--label", "3", "--seed", "1", "--out", str(grid)]) == 0
    )
    assert grid.is_file()
    assert main(["sample", str(artifact), "--out", str(tmp_path / "all.png")]) == 0
    from PIL import Image

    width, height = Image.open(tmp_path / "all.png").size
    assert width > height  # 64 samples, one column per class: 10 wide, 7 high
    # --out .npz: the same samples as arrays, with the labels asked for
    arrays = tmp_path / "threes.npz"
    argv = ["sample", str(artifact), "--n", "16", "--label", "3", "--seed", "1", "--out", str(arrays)]
    assert main(argv) == 0 and "labels" in capsys.readouterr().out
    with np.load(arrays) as saved:
        assert saved["images"].dtype == np.uint8 and saved["images"].shape == (16, 28, 28, 1)
        assert saved["labels"].dtype == np.int32 and set(saved["labels"]) == {3}
        expected = runtime.Generator(artifact).sample(16, label=3, seed=1)
        assert np.array_equal(saved["images"], expected) and saved["images"].std() > 0
    assert main(["sample", str(artifact), "--n", "20", "--out", str(tmp_path / "all.npz")]) == 0
    with np.load(tmp_path / "all.npz") as saved:
        assert list(saved["labels"]) == [i % 10 for i in range(20)]
    # The ONNX export samples the same images through ONNX Runtime.
    assert main(["export", str(run), "--format", "onnx"]) == 0
    onnx_file = run / "export" / "generator.onnx"
    meta = json.loads(runtime.metadata_path(onnx_file).read_text())
    assert (
        meta["format"] == "onnx" and meta["verification"]["passed"] and "Conv" in " ".join(meta["onnx_ops"])
    )
    argv = [
        "sample",
        str(onnx_file),
        "--n",
        "16",
        "--label",
        "3",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "o.npz"),
    ]
    assert main(argv) == 0
    with np.load(tmp_path / "o.npz") as onnx_saved, np.load(arrays) as saved:
        assert np.abs(onnx_saved["images"].astype(int) - saved["images"].astype(int)).max() <= 1


def test_onnx_translator_keeps_its_output_names_and_refuses_second_signatures(tmp_path):
    out = tmp_path / "p2p.onnx"
    meta = export(kerazoo.build("pix2pix", filters=4, max_filters=8, seed=0), format="onnx", out=out)
    assert meta["onnx_renamed_outputs"] == {"images_out": "images"}  # ONNX names each value once
    export(
        kerazoo.build("pix2pix", filters=4, max_filters=8, seed=0),
        format="tflite",
        out=tmp_path / "p2p.tflite",
    )
    onnx_model, lite = runtime.load(out), runtime.load(tmp_path / "p2p.tflite")
    assert isinstance(onnx_model, runtime.Translator) and set(onnx_model.output_names) == {
        "images",
        "images_uint8",
    }
    tiles = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    assert np.abs(onnx_model.translate(tiles).astype(int) - lite.translate(tiles).astype(int)).max() <= 1
    with pytest.raises(ExportError, match="An ONNX file holds one signature"):
        export(
            kerazoo.build("stylegan", width=8, max_width=16),
            format="onnx",
            signature="styles",
            out=tmp_path / "s.onnx",
        )
    with pytest.raises(runtime.ArtifactError, match="not a valid ONNX file"):
        (tmp_path / "junk.onnx").write_bytes(b"junk")
        runtime.LiteModel(tmp_path / "junk.onnx")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "coreml"], "invalid choice"),
        (["--quantize", "int4"], "invalid choice"),
        (["--format", "onnx", "--quantize", "float16"], "TFLite only"),
        (["--format", "saved_model", "--quantize", "int8"], "TFLite only"),
        (["--batch-size", "0"], "--batch-size must be a positive integer"),
    ],
)
def test_cli_export_bad_arguments_exit_2_and_write_nothing(argv, message, tmp_path, capsys):
    src = tmp_path / "m.keras"
    kerazoo.build("neuron").save(src)
    out = tmp_path / "out.tflite"
    assert _exit_code(["export", str(src), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and _leftovers(tmp_path) == []


def test_export_bad_sources_each_give_one_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty_run"
    empty.mkdir()
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip file")
    cases = {
        str(empty): "not a run directory",
        str(corrupt): "is not a readable Keras model",
        str(tmp_path / "missing"): "No run directory or model file",
    }
    for source, message in cases.items():
        assert _exit_code(["export", source, "--out", str(tmp_path / "x.tflite")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.tflite").exists() and _leftovers(tmp_path) == []
    # Without --out the default folder (RUN_DIR/export/) is not created for a bad source.
    assert _exit_code(["export", str(empty)]) == 2
    assert list(empty.iterdir()) == []


def test_failed_default_export_removes_the_folder_it_made(tmp_path, monkeypatch):
    run = tmp_path / "run"
    kerazoo.train("neuron", epochs=1, out=run, verbose=0)
    monkeypatch.setitem(TOLERANCES, "float32", {"max_abs_diff": -1.0})
    assert _exit_code(["export", str(run)]) == 2
    assert not (run / "export").exists()


def test_existing_output_is_refused_unless_overwrite(tmp_path, capsys):
    src = tmp_path / "m.keras"
    kerazoo.build("neuron").save(src)
    out = tmp_path / "m.tflite"
    out.write_bytes(b"keep me")
    assert _exit_code(["export", str(src), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert _exit_code(["export", str(src), "--out", str(out), "--overwrite"]) == 0
    assert runtime.LiteModel(out).input_specs


def test_sample_bad_arguments(tmp_path, capsys):
    cgan, dcgan = tmp_path / "cgan.tflite", tmp_path / "dcgan.tflite"
    export(kerazoo.build("cgan", width=8), format="tflite", out=cgan)
    export(kerazoo.build("dcgan", width=8), format="tflite", out=dcgan)
    export(kerazoo.build("dcgan", width=8), format="saved_model", out=tmp_path / "sm")
    cases = [
        ([str(cgan), "--label", "10"], "--label must be a class id in 0..9"),
        ([str(cgan), "--label", "-1"], "--label must be a class id in 0..9"),
        ([str(dcgan), "--label", "3"], "unconditional"),
        ([str(dcgan), "--n", "0"], "--n must be a positive integer"),
        ([str(tmp_path / "sm")], "is a directory"),
        ([str(tmp_path / "nope.tflite")], "No artifact"),
        ([str(tmp_path / "cgan.tflite.json")], "not a valid .tflite file"),
    ]
    for argv, message in cases:
        out = tmp_path / "grid.png"
        assert _exit_code(["sample", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert not out.exists() and _leftovers(tmp_path) == []
    for argv, message in (  # --out: a grid or arrays, never clobbering a file
        ([str(dcgan), "--out", str(tmp_path / "grid.jpg")], "--out must end in .png (a grid) or .npz"),
        ([str(dcgan), "--out", str(tmp_path / "no" / "s.npz")], "does not exist"),
    ):
        assert _exit_code(["sample", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)
    (tmp_path / "kept.npz").write_bytes(b"keep me")
    assert _exit_code(["sample", str(dcgan), "--out", str(tmp_path / "kept.npz")]) == 2
    assert "already exists" in capsys.readouterr().err and (tmp_path / "kept.npz").read_bytes() == b"keep me"
    assert _leftovers(tmp_path) == [] and not (tmp_path / "grid.jpg").exists()
    runtime.metadata_path(cgan).unlink()  # a conditional generator without its metadata
    assert _exit_code(["sample", str(cgan), "--out", str(tmp_path / "grid.png")]) == 2
    assert "no metadata file" in capsys.readouterr().err


def test_train_with_export_for_a_classifier_and_bad_export_formats(tmp_path, capsys):
    run = tmp_path / "cnn"
    argv = ["train", "cnn", "--epochs", "1", "--set", "filters=4,8", "--set", "dense_units=8", "--quiet"]
    assert _exit_code([*argv, "--out", str(run), "--export", "tflite"]) == 0
    meta = json.loads((run / "export" / "model.tflite.json").read_text())
    assert meta["role"] == "classifier" and set(meta["outputs"]) == {"probabilities", "class_ids"}
    assert not (run / "samples_tflite.png").exists()  # only generators get a sample grid
    capsys.readouterr()
    assert _exit_code([*argv, "--out", str(tmp_path / "other"), "--export", "coreml"]) == 2
    assert "--export takes formats from saved_model, tflite, onnx, web" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_saved_model_cli_shows_the_named_signature(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "sm"
    export(kerazoo.build("cgan", width=8), format="saved_model", out=out)
    cli = shutil.which("saved_model_cli") or str(Path(sys.executable).parent / "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", str(out), "--tag_set", "serve", "--signature_def", "serving_default"],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for text in (
        "inputs['noise']",
        "inputs['labels']",
        "DT_INT32",
        "outputs['images']",
        "outputs['images_uint8']",
    ):
        assert text in shown.stdout, text


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(
    "kernel_size, strides", [(1, 1), (3, 1), (1, 2), (3, 2), (4, 2), (5, 2), (7, 1), (4, 3)]
)
def test_sub_pixel_transposed_convolution_equals_keras_conv2d_transpose(kernel_size, strides, padding):
    from kerazoo.export import _SubPixelConv2DTranspose

    rng = np.random.default_rng(kernel_size * 10 + strides)
    for size in (1, 3, 4, 7):
        layer = keras.layers.Conv2DTranspose(
            5, kernel_size, strides=strides, padding=padding, activation="relu"
        )
        x = rng.standard_normal((2, size, size, 3)).astype(np.float32)
        expected = np.asarray(layer(x))
        twin = _SubPixelConv2DTranspose.from_config(layer.get_config())
        twin(x)
        twin.set_weights(layer.get_weights())
        np.testing.assert_allclose(np.asarray(twin(x)), expected, atol=1e-5)
