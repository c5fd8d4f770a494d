"""Multi-worker training (`--strategy multi_worker`): two worker processes on 127.0.0.1 ports train a
classifier, a GAN and a VAE with `kerazoo.train`, and their steps and final figures equal the
one-process ones; TF_CONFIG mistakes are one clear error."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo import distribute
from kerazoo.tasks import UsageError

# Dropout off (its masks are drawn per replica); no BatchNormalization in either network (its
# statistics are per replica). Everything else of the step must be the one-process step.
MODELS = {
    "mlp": {"dropout": 0.0},
    "gan": {"dropout": 0.0, "generator_units": [64], "discriminator_units": [64], "latent_dim": 16},
    # 2-D latent: the run's latent-space plot decodes 225 points, batches of 32 (a last batch of one).
    "vae": {"filters": [8, 16], "hidden_units": [32]},
}

WORKER = textwrap.dedent(
    """
    import json, sys
    import kerazoo
    out, models = sys.argv[1], json.loads(sys.argv[2])
    for name, hparams in models.items():
        metrics = kerazoo.train(name, epochs=1, hparams=hparams, out=f"{out}/{name}",
                                strategy="multi_worker", verbose=0)
        print("RESULT", json.dumps({"model": name, "run_dir": metrics["run_dir"]}), flush=True)
    """
)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _weights(run_dir):
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"), compile=False)
    return [np.asarray(w) for w in model.weights]


def test_two_workers_train_as_one_process_does(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3"}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(tmp_path / "multi"), json.dumps(MODELS)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        results.append([json.loads(line[7:]) for line in stdout.splitlines() if line.startswith("RESULT ")])
    # The chief (worker 0) writes the run; worker 1 wrote a hidden duplicate and removed it.
    assert [r["run_dir"] for r in results[0]] == [str(tmp_path / "multi" / name) for name in MODELS]
    assert [r["run_dir"] for r in results[1]] == [None] * len(MODELS)
    assert sorted(os.listdir(tmp_path / "multi")) == sorted(MODELS)

    for name, hparams in MODELS.items():
        single = kerazoo.train(name, epochs=1, hparams=hparams, out=tmp_path / "single" / name, verbose=0)
        assert single["epochs_trained"] == 1
        multi_dir = tmp_path / "multi" / name
        for a, b in zip(_weights(single["run_dir"]), _weights(multi_dir), strict=True):
            # An Adam step moves a weight by about the learning rate (1e-3); summation order differs.
            np.testing.assert_allclose(a, b, atol=5e-5, err_msg=name)
        # The logged figures are the global batch's too (each worker's averaged across workers).
        multi = json.loads((multi_dir / "history.json").read_text())
        for key, values in json.loads((tmp_path / "single" / name / "history.json").read_text()).items():
            np.testing.assert_allclose(values, multi[key], rtol=1e-4, atol=1e-4, err_msg=f"{name} {key}")
        assert json.loads((multi_dir / "config.json").read_text())["strategy"] == "multi_worker"
        # The final figures: every worker evaluates the whole test split by itself.
        figures = json.loads((multi_dir / "metrics.json").read_text())
        for key, value in json.loads((tmp_path / "single" / name / "metrics.json").read_text()).items():
            if key in ("train_seconds", "images_per_second"):
                continue
            if isinstance(value, float):
                np.testing.assert_allclose(value, figures[key], rtol=1e-4, atol=1e-4, err_msg=f"{name} {key}")
            else:
                assert value == figures[key], f"{name} {key}"


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "TF_CONFIG environment variable, which is not set"),
        ("{not json", "TF_CONFIG must be JSON with cluster.worker"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "TF_CONFIG must be JSON with cluster.worker"),
        (
            '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}',
            "is not in its cluster",
        ),
    ],
)
def test_bad_tf_config_is_one_clear_error_and_writes_nothing(tmp_path, monkeypatch, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(UsageError, match=message):
        kerazoo.train("mlp", epochs=1, out=tmp_path / "run", strategy="multi_worker", verbose=0)
    assert list(tmp_path.iterdir()) == []


def test_cli_multi_worker_without_tf_config_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TF_CPP_MIN_LOG_LEVEL")}
    argv = ["train", "mlp", "--strategy", "multi_worker", "--out", str(tmp_path / "r")]
    result = subprocess.run(
        [sys.executable, "-m", "kerazoo.cli", *argv], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()  # exactly one line
    assert line.startswith(
        "kerazoo train: error: --strategy multi_worker reads the cluster from the TF_CONFIG"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "cluster, task, chief",
    [
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
    ],
)
def test_the_chief_is_the_chief_task_else_worker_0(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distribute.is_chief() is chief
    assert distribute.worker_index() == (task["type"], task["index"])
