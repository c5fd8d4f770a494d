import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo._registry import get_entry, register_model

CLASSIC = ["neuron", "xor_net", "linear_regression", "mlp", "cnn", "tabular_mlp", "lstm_forecaster"]


def test_list_models_has_the_classic_networks():
    names = kerazoo.list_models()
    assert set(CLASSIC) <= set(names)
    assert names == sorted(names)


def test_list_models_filters_by_pattern_and_task():
    assert kerazoo.list_models("*mlp") == ["mlp", "regression_mlp", "tabular_mlp"]
    assert kerazoo.list_models(task="logic") == ["neuron", "xor_net"]


@pytest.mark.parametrize("name", CLASSIC)
def test_entry_knows_task_dataset_input_spec_and_hparams(name):
    entry = get_entry(name)
    assert entry.task in ("logic", "regression", "classification", "forecasting")
    assert entry.dataset
    assert "shape" in entry.input_spec
    assert entry.hparams["name"] == name
    assert entry.recipe.epochs >= 1


def test_build_rejects_unknown_name_with_closest_matches():
    with pytest.raises(ValueError, match="Unknown model 'cnnn'. Did you mean: cnn"):
        kerazoo.build("cnnn")


def test_build_rejects_unknown_hparam_naming_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown hparam\(s\) \['filter'\].*Valid hparams: .*'filters'"):
        kerazoo.build("cnn", filter=3)


def test_build_overrides_beat_defaults():
    model = kerazoo.build("mlp", hidden_units=(32,))
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10


def test_register_model_refuses_duplicate_name():
    def cnn():  # same name as the zoo's cnn
        pass

    cnn.__module__ = "kerazoo.models.classic"
    with pytest.raises(ValueError, match="already registered under the name 'cnn'"):
        register_model(cnn)


def test_build_accepts_the_builders_own_name_hparam():
    assert kerazoo.build("neuron", name="and_gate").name == "and_gate"


def test_load_model_finds_the_zoos_classes_in_a_fresh_interpreter(tmp_path):
    # keras.saving.load_model alone cannot find GAN or VAE until their modules are imported.
    kerazoo.build("dcgan", width=8).save(tmp_path / "gan.keras")
    kerazoo.build("vae").save(tmp_path / "vae.keras")
    code = "import sys, kerazoo\nprint(*(type(kerazoo.load_model(p)).__name__ for p in sys.argv[1:]))\n"
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "gan.keras"), str(tmp_path / "vae.keras")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["GAN", "VAE"]


def test_load_model_bad_paths_are_one_clear_error(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"not a zip file")
    (tmp_path / "weights.h5").write_bytes(b"")
    for path, message in (
        (tmp_path / "missing.keras", "No .keras file at"),
        (tmp_path / "weights.h5", "No .keras file at"),
        (tmp_path / "broken.keras", "is not a readable Keras model"),
    ):
        with pytest.raises(ValueError, match=message):
            kerazoo.load_model(path)


def _lambda_model(path, marker):
    """A .keras file whose Lambda layer, if its code ever ran, would write `marker`."""
    marker = str(marker)  # the lambda's closure is saved with it
    inputs = keras.Input((2,), name="inputs")
    outputs = keras.layers.Lambda(lambda x: (open(marker, "w").close(), x * 2)[1])(inputs)
    keras.Model(inputs, outputs, name="neuron").save(path)
    os.remove(marker)  # building the model traced the lambda once


def test_a_keras_file_with_python_code_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "payload_ran"
    _lambda_model(tmp_path / "lambda.keras", marker)
    with pytest.raises(ValueError, match=r"holds Python code .* none of it ran.*unsafe=True"):
        kerazoo.load_model(tmp_path / "lambda.keras")
    assert not marker.exists()
    # Knowingly: it loads, and only then does its code run.
    model = kerazoo.load_model(tmp_path / "lambda.keras", unsafe=True)
    np.testing.assert_allclose(model(np.ones((1, 2), np.float32)), [[2.0, 2.0]])
    assert marker.exists()


def test_cli_refuses_python_code_in_a_keras_file_unless_unsafe(tmp_path, capsys):
    from kerazoo.cli import main

    marker = tmp_path / "payload_ran"
    _lambda_model(tmp_path / "lambda.keras", marker)
    assert main(["export", str(tmp_path / "lambda.keras"), "--format", "saved_model"]) == 2
    err = capsys.readouterr().err
    assert "holds Python code" in err and "--unsafe" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lambda.keras"] and not marker.exists()
