"""Mixed precision: every model family trains under a mixed policy, exports in float32, and bad
values are one clear error."""

import json
import math

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo import runtime
from kerazoo.cli import main
from kerazoo.export import export
from kerazoo.training import UsageError, precision_policy

SMALL = {
    "gan": {"generator_units": [16], "discriminator_units": [16], "latent_dim": 8},
    "dcgan": {"width": 8},
    "cgan": {"width": 8},
    "wgan_gp": {"width": 8},
    "stylegan": {"latent_dim": 16, "w_dim": 16, "mapping_layers": 2, "width": 4, "max_width": 8},
    "vae": {},
    "conv_autoencoder": {},
    "cnn": {"filters": [8, 16], "dense_units": 16},
    "tabular_mlp": {},
    "lstm_forecaster": {},
    "neuron": {},
}


def _computes_in_half(model) -> bool:
    return any(
        layer.dtype_policy.compute_dtype in ("bfloat16", "float16") for layer in model._flatten_layers()
    )


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_family_trains_under_mixed_precision(name, tmp_path):
    out = tmp_path / "run"
    figures = kerazoo.train(name, out=out, epochs=1, verbose=0, precision="mixed", hparams=SMALL[name])
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    config = json.loads((out / "config.json").read_text())
    assert config["precision"] in ("mixed_bfloat16", "mixed_float16")
    numbers = {k: v for k, v in figures.items() if isinstance(v, float)}
    assert numbers and all(math.isfinite(v) for v in numbers.values()), numbers
    history = json.loads((out / "history.json").read_text())
    assert all(math.isfinite(v) for values in history.values() for v in values)
    assert _computes_in_half(kerazoo.load_model(out / "model.keras"))


def test_a_mixed_precision_run_exports_float32_artifacts_that_verify(tmp_path):
    run = tmp_path / "run"
    kerazoo.train("dcgan", out=run, epochs=1, verbose=0, precision="mixed", hparams={"width": 8})
    for fmt in ("tflite", "saved_model"):
        meta = export(run, format=fmt, out=tmp_path / f"generator_{fmt}")
        assert meta["verification"]["passed"] and meta["verification"]["max_abs_diff"] <= 1e-4
        assert meta["trained_precision"] == "mixed_bfloat16" and meta["inputs"]["noise"]["dtype"] == "float32"
    images = runtime.load(tmp_path / "generator_tflite").generate(np.zeros((2, 100), np.float32))["images"]
    assert images.dtype == np.float32 and images.shape == (2, 28, 28, 1)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_the_keras_global_policy_simply_works_for_a_gan(update):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        gan = kerazoo.build("dcgan", width=8, seed=0)
        gan.compile(**kerazoo.get_entry("dcgan").recipe.replace({"update": update}).compile_options())
        x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
        history = gan.fit(x, batch_size=32, epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert _computes_in_half(gan.discriminator)
    assert all(math.isfinite(v[-1]) for v in history.history.values())


def test_precision_policy_names_the_keras_policy():
    assert precision_policy("float32") == precision_policy(None) == "float32"
    assert precision_policy("mixed") in ("mixed_bfloat16", "mixed_float16")
    assert precision_policy("auto") in ("float32", precision_policy("mixed"))
    with pytest.raises(UsageError, match="`precision` must be one of .*Received: precision='half'"):
        precision_policy("half")


def test_bad_precision_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "cnn", "--precision", "half"])
    err = capsys.readouterr().err
    assert (
        exit_info.value.code == 2 and "invalid choice: 'half'" in err and len(err.strip().splitlines()) == 1
    )
    assert list(tmp_path.iterdir()) == []


def test_machine_info_names_the_cpu_and_its_bfloat16_units():
    from kerazoo.training import _cpu_has_bf16, machine_info

    info = machine_info()
    assert info["cpu"] and info["cpus"] >= 1 and info["gpus"] >= 0
    assert all(isinstance(v, bool) for v in info["cpu_flags"].values())
    # `--precision auto` decides from the same flags the results files record
    assert _cpu_has_bf16() == (info["cpu_flags"]["avx512_bf16"] or info["cpu_flags"]["amx_bf16"])
