"""tf.distribute strategies for `kerazoo train --strategy`: one device, all local GPUs, many workers.

    kerazoo train cnn --strategy mirrored        # every local GPU
    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                "task": {"type": "worker", "index": 0}}' kerazoo train cnn --strategy multi_worker

`multi_worker` is `tf.distribute.MultiWorkerMirroredStrategy`, the cluster described by the
`TF_CONFIG` environment variable (the same command on every worker, each with its own `task.index`).
The chief (the `chief` task, else worker 0) writes the run directory; the other workers write theirs
to a hidden folder beside it (`.NAME.workerI`), kept while the run is partial (for `--resume`) and
removed when it finishes.

Keras 3.15 cannot `fit` under `MultiWorkerMirroredStrategy` as it is (tensorflow/tensorflow#72388): it
averages every logged metric across workers with `strategy.reduce("MEAN", value, axis=0)`, which fails
for scalars, and it reduces a whole `(x, y)` batch in one `reduce` call before building, which the
collective implementation does not take (nor a batch split unevenly between workers).
`MultiWorkerStrategy` is the TF strategy with a `reduce` that takes what Keras passes: one reduction
per value of a nested structure, scalars averaged across replicas (the mean Keras means). Nothing
else differs.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from kerazoo.tasks import UsageError

__all__ = ["STRATEGIES", "MultiWorkerStrategy", "get_strategy", "is_chief", "run_locally", "worker_index"]

STRATEGIES = ("default", "mirrored", "multi_worker")

_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
    '"index": 0}}\' on the first worker, index 1 on the second'
)


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`tf.distribute.MultiWorkerMirroredStrategy` whose `reduce` takes what Keras 3's `fit` passes it
    (see the module's docstring): nested structures, one reduction per value; scalars, reduced
    across replicas; and values whose shape differs between replicas (Keras reduces the first data
    batch only to read its shapes, and a small dataset's batch splits unevenly), which cannot be
    averaged: this replica's value is returned for them."""

    def reduce(self, reduce_op, value, axis):
        parent = super()

        def one(v):
            distributed = isinstance(v, tf.distribute.DistributedValues)
            local = self.experimental_local_results(v)[0] if distributed else tf.convert_to_tensor(v)
            if local.shape.rank == 0:  # no axis 0: the reduction is across replicas only
                return parent.reduce(reduce_op, v, None)
            if distributed and axis is None and not self._same_shape_everywhere(v):
                return local
            return parent.reduce(reduce_op, v, axis)

        return tf.nest.map_structure(one, value)

    def _same_shape_everywhere(self, v) -> bool:
        # Every replica reaches the same answer: the variance of each dimension across replicas.
        shapes = self.run(lambda x: tf.cast(tf.shape(x), tf.float64), args=(v,))
        squares = self.run(tf.square, args=(shapes,))
        mean = super().reduce("MEAN", shapes, axis=None)
        return bool(tf.reduce_all(super().reduce("MEAN", squares, axis=None) == mean * mean))


_multi_worker = None


def _tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError(
            "--strategy multi_worker reads the cluster from the TF_CONFIG environment variable, which is "
            f"not set. Set it on every worker, e.g. {_EXAMPLE}."
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            f"TF_CONFIG must be JSON with cluster.worker (a list of host:port) and task.type and "
            f"task.index, e.g. {_EXAMPLE}. Received: TF_CONFIG={raw!r}"
        ) from None
    members = config["cluster"].get(kind)
    if (
        not isinstance(workers, list)
        or not workers
        or not isinstance(members, list)
        or not 0 <= index < len(members)
    ):
        raise UsageError(
            f"TF_CONFIG's task ({kind} {index}) is not in its cluster {config['cluster']}. Each worker "
            f"needs its own index into cluster.{kind}."
        )
    return config


def worker_index() -> tuple[str, int] | None:
    """This process's `(task type, index)` from `TF_CONFIG`, or None without one."""
    if not os.environ.get("TF_CONFIG"):
        return None
    task = _tf_config()["task"]
    return task["type"], int(task["index"])


def is_chief() -> bool:
    """Whether this process writes the run: no cluster, the `chief` task, or worker 0 of a cluster
    without a chief."""
    if not os.environ.get("TF_CONFIG"):
        return True
    config = _tf_config()
    kind, index = config["task"]["type"], int(config["task"]["index"])
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in config["cluster"])


def get_strategy(name: str | None):
    """The strategy for `kerazoo train --strategy NAME`: `default` (one device), `mirrored` (all local
    GPUs, or the CPU) or `multi_worker` (`MultiWorkerStrategy`, configured by `TF_CONFIG`; created once
    per process, before any other TensorFlow work)."""
    global _multi_worker
    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name != "multi_worker":
        raise UsageError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: strategy={name!r}")
    config = _tf_config()
    if _multi_worker is None:
        try:
            _multi_worker = MultiWorkerStrategy()
        except RuntimeError as e:  # "Collective ops must be configured at program startup"
            raise UsageError(
                "--strategy multi_worker must be set up before any other TensorFlow work in the process: "
                "call kerazoo.train(..., strategy='multi_worker') first (or run `kerazoo train` in a new "
                f"process). TensorFlow said: {e}"
            ) from None
    elif _multi_worker.cluster_resolver.cluster_spec().as_dict() != config["cluster"]:
        raise UsageError(
            "TF_CONFIG changed after the multi_worker strategy was made: use one cluster per process."
        )
    return _multi_worker


def run_locally(model) -> None:
    """Make `model` (and every model inside it) `predict`/`evaluate` on this worker alone, as if it were
    built without a strategy. After multi-worker training every worker holds the same weights, so each
    computes the run's final figures by itself, over the whole test split and in its order: Keras's
    multi-worker `predict` splits a batch between workers (a worker may get none of a short last
    batch, which the collective that joins them does not take) and its metrics would cover a shard."""
    default = tf.distribute.get_strategy()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if hasattr(layer, "_distribute_strategy"):
            layer._distribute_strategy = default
            layer.predict_function = layer.test_function = None
