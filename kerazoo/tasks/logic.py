"""The `logic` task: a network learns (or is wired for) a truth table.

Trains on a truth table (`and`, `or`, `nand`, `xor`), whose train and test splits are the table
itself; reports the test loss and accuracy, the network's output for each row (`truth_table` in
`metrics.json`) and `decision_boundary.png`. Deploys the network: `inputs` -> `predictions`.
"""

from __future__ import annotations

import keras
import numpy as np

from kerazoo import data as zdata
from kerazoo.plots import plot_decision_boundary
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Task, evaluate_figures

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


@register_task
class Logic(Task):
    name = "logic"
    data_kinds = ("logic",)
    shuffle_train = False

    def metrics(self, run):
        return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.5)]

    def finish(self, prepared, run, run_dir):
        model, table = prepared.model, zdata.TRUTH_TABLES[run.dataset]
        figures = evaluate_figures(model, prepared.val_ds)
        outputs = model(_INPUTS, training=False).numpy().ravel()
        figures["truth_table"] = [
            {"inputs": x.tolist(), "target": float(t), "output": float(o)}
            for x, t, o in zip(_INPUTS, table, outputs)
        ]
        plot_decision_boundary(
            model, _INPUTS, table, run_dir / "decision_boundary.png", title=f"{model.name} on '{run.dataset}'"
        )
        return figures
