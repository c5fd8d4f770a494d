"""The `kerazoo` command: a tiny train run and its run directory; bad arguments exit 2, write nothing."""

import json

import pytest

from kerazoo.cli import main, parse_set


def _exit_code(argv):
    """main()'s status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_list_prints_the_zoo(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "cnn" in out and "272,170" in out and "digits" in out and "669,706" in out


def test_parse_set_values():
    assert parse_set(["hidden_units=256,128", "dropout=0.2", "hand_wired=false", "gate=and", "x=[1, 2]"]) == {
        "hidden_units": [256, 128],
        "dropout": 0.2,
        "hand_wired": False,
        "gate": "and",
        "x": [1, 2],
    }


def test_train_cnn_tiny_run_writes_the_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "cnn",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--out",
            str(out),
            "--quiet",
            "--set",
            "filters=8,16",
            "--set",
            "dense_units=16",
        ]
    )
    assert code == 0
    for name in ("model.keras", "config.json", "history.json", "metrics.json", "training_curves.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    # fit validated on the validation split; the last epoch's weights are the final ones.
    assert (
        metrics["validation_accuracy"] == pytest.approx(history["val_accuracy"][-1])
        and 0 <= metrics["test_accuracy"] <= 1
        and metrics["train_seconds"] > 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "digits" and config["seed"] == 0 and config["epochs"] == 1
    assert config["hparams"]["filters"] == [8, 16] and "tensorflow" in config["versions"]
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 1 and "val_accuracy" in history
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_train_forecaster_writes_predictions_and_forecast_plot(tmp_path, monthly_csv):
    out = tmp_path / "fc"
    code = main(
        [
            "train",
            "lstm_forecaster",
            "--dataset",
            "csv",
            "--csv",
            str(monthly_csv),
            "--column",
            "sales",
            "--epochs",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "date,actual,predicted" and len(lines) == 49 and lines[1].startswith("2014-01")
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"test_rmse", "persistence_rmse", "seasonal_naive_rmse"} <= set(metrics)
    assert (out / "forecast.png").is_file()


def test_train_hand_wired_xor_evaluates_without_training(tmp_path):
    out = tmp_path / "xor"
    assert main(["train", "xor_net", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] == 1.0 and metrics["epochs"] == 0
    assert [row["output"] for row in metrics["truth_table"]] == [0, 1, 1, 0]
    assert (out / "decision_boundary.png").is_file()


def test_train_linear_regression_records_the_weight(tmp_path):
    out = tmp_path / "lr"
    assert main(["train", "linear_regression", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert abs(metrics["w"] - 2.0) < 1e-3
    history = json.loads((out / "history.json").read_text())
    assert len(history["w"]) == 100 and history["w"][0] < 3.0


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "cnnn"], "Unknown model 'cnnn'. Did you mean: cnn"),
        (["train", "cnn", "--set", "filter=3"], "Unknown hparam(s) ['filter']"),
        (["train", "cnn", "--set", "dropout"], "--set takes key=value"),
        (["train", "cnn", "--set", "dropout=2"], "Received: dropout=2"),
        (["train", "cnn", "--epochs", "0"], "Received: epochs=0"),
        (["train", "cnn", "--epochs", "three"], "invalid int value: 'three'"),
        (["train", "cnn", "--dataset", "mnsit"], "Unknown dataset 'mnsit'"),
        (["train", "cnn", "--dataset", "breast_cancer"], "cannot train on dataset 'breast_cancer'"),
        (["train", "cnn", "--data-dir", "/nonexistent/dir", "--dataset", "mnist"], "does not exist"),
        (["train", "lstm_forecaster", "--dataset", "csv"], "needs a file"),
        (["train", "cnn", "--csv", "x.csv"], "--csv and --column go with --dataset csv"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["train", "gan", "--strategy", "tpu"], "invalid choice: 'tpu'"),
        (["train", "dcgan", "--set", "image_shape=32,32,1"], "makes (32, 32, 1)"),
        (["train", "dcgan", "--set", "image_shape=30,30,1"], "multiple of 4"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_existing_run_directory_is_refused_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.keras").write_text("precious")
    assert main(["train", "neuron", "--out", str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "model.keras").read_text() == "precious"
    assert main(["train", "neuron", "--out", str(out), "--quiet", "--overwrite", "--epochs", "2"]) == 0
    assert (out / "metrics.json").is_file()


# -- a quiet, quick command line ---------------------------------------------------------------------


def _run_cli(*argv, env_extra=None, code=None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "kerazoo.cli", *argv]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**env, **(env_extra or {})}
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "cnn", "--epochs", "-1"], "`epochs` must be a positive integer. Received: epochs=-1"),
        (
            ["train", "cnn", "--epochs", "2000000"],
            "`epochs` must be at most 1,000,000. Received: epochs=2000000",
        ),
        (["train", "cnn", "--seed", "-1"], "`seed` must be an integer >= 0. Received: seed=-1"),
        (["train", "cnn", "--backup-every", "0"], "`backup_every` must be a positive integer"),
        (["train", "cnn", "--recipe", "epochs"], "--recipe takes key=value"),
        (["export", "no/such/run"], "No run directory or model file at 'no/such/run'."),
        (["evaluate", "no/such/run", "--n", "5"], "is not a run directory (no config.json)"),
    ],
)
def test_bad_arguments_are_refused_before_tensorflow_loads(argv, message):
    code = (
        "import sys\nfrom kerazoo.cli import main\n"
        f"rc = main({argv!r})\nprint(rc, 'tensorflow' in sys.modules)"
    )
    result = _run_cli(code=code)
    assert result.stdout.split() == ["2", "False"]
    (line,) = result.stderr.splitlines()  # exactly one line
    assert line.startswith(f"kerazoo {argv[0]}: error: ") and message in line


def test_commands_keep_tensorflow_start_up_noise_off_stderr():
    result = _run_cli("train", "no_such_model")  # TensorFlow loads, then the name is refused
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("kerazoo train: error: Unknown model 'no_such_model'.")


def test_the_quiet_import_passes_on_what_is_not_start_up_noise(tmp_path):
    # A stand-in "tensorflow" that prints TensorFlow's start-up lines and one real problem on fd 2.
    (tmp_path / "tensorflow.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n'"
        " b'I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\\n'"
        " b'I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\\n'"
        " b'E0000 loader.cc:7] could not load libfoo.so: a real problem\\n')\n"
    )
    code = (
        "from kerazoo.cli import _import_tensorflow_quietly\n_import_tensorflow_quietly()\nprint('imported')"
    )
    result = _run_cli(code=code, env_extra={"PYTHONPATH": str(tmp_path)})
    assert result.stdout.strip() == "imported"
    assert result.stderr.splitlines() == ["E0000 loader.cc:7] could not load libfoo.so: a real problem"]
