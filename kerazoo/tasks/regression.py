"""The `regression` task: a single-weight model fits points (the seed's `doubling` data).

Reports the test loss and the learned weight `w` (and bias `b`) in `metrics.json`, and `w` after every
epoch in `history.json` (`kerazoo.callbacks.WeightHistory`). Deploys the network: `inputs` ->
`predictions`.
"""

from __future__ import annotations

import numpy as np

from kerazoo.callbacks import WeightHistory
from kerazoo.tasks import register_task
from kerazoo.tasks._base import Task, evaluate_figures


def _weight_layer(model) -> str:
    return f"{model.name}_weight"


@register_task
class Regression(Task):
    name = "regression"
    data_kinds = ("regression",)
    shuffle_train = False

    def callbacks(self, prepared, run, run_dir):
        return [WeightHistory(_weight_layer(prepared.model))]

    def finish(self, prepared, run, run_dir):
        model = prepared.model
        figures = evaluate_figures(model, prepared.val_ds)
        weights = model.get_layer(_weight_layer(model)).get_weights()
        figures["w"] = float(np.ravel(weights[0])[0])
        if len(weights) > 1:
            figures["b"] = float(np.ravel(weights[1])[0])
        return figures
