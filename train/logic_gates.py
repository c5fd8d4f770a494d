"""
Title: Logic gates with one neuron, and XOR with two layers
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: Hand-wired neurons compute AND and OR exactly; a sigmoid neuron learns them with
`fit`; XOR needs a hidden layer, hand-wired or learned.
"""

"""
## Setup
"""

import os

import numpy as np

import kerazoo

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run

"""
## Data

The truth tables are tiny datasets of their own: four rows each.
"""

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
and_ds = kerazoo.make_dataset("and", "train", batch_size=4)
or_ds = kerazoo.make_dataset("or", "train", batch_size=4)

"""
## A hand-wired neuron

With weights (20, 20) and bias -30 the step neuron fires only when both inputs are on: AND.
A bias of -10 makes it fire when either is: OR.
"""

for gate in ("and", "or"):
    neuron = kerazoo.build("neuron", gate=gate, activation="step", name=f"{gate}_neuron")
    print(gate, neuron(inputs).numpy().ravel())

"""
## A neuron that learns

The same neuron with a sigmoid, from random weights, learns each gate by gradient descent.
"""

recipe = kerazoo.get_entry("neuron").recipe  # the zoo's: Adam(0.1), 300 full-batch steps
epochs = 20 if quick else recipe.epochs  # 300 full-batch steps reach 100% on the truth table
for gate, ds in (("and", and_ds), ("or", or_ds)):
    neuron = kerazoo.build("neuron", name=f"learned_{gate}")
    neuron.compile(recipe.build_optimizer("optimizer", steps=epochs), loss="mse", metrics=["binary_accuracy"])
    neuron.fit(ds, epochs=epochs, verbose=0)
    print(gate, "learned:", np.round(neuron(inputs).numpy().ravel(), 3), "weights:", neuron.get_weights())

"""
## XOR

No single neuron separates XOR. Two hidden neurons (OR and NAND) feeding an AND neuron do.
"""

xor = kerazoo.build("xor_net")
xor.summary()
print("xor hand-wired:", xor(inputs).numpy().ravel())

"""
## XOR, learned

From random weights, with tanh hidden neurons and a sigmoid output.
"""

xor_ds = kerazoo.make_dataset("xor", "train", batch_size=4)
learned = kerazoo.build("xor_net", hand_wired=False, name="learned_xor")
learned.summary()
recipe = kerazoo.get_entry("xor_net").recipe  # the zoo's: Adam(0.05), 500 full-batch steps
learned.compile(recipe.build_optimizer("optimizer", steps=1), loss="mse", metrics=["binary_accuracy"])
learned.fit(xor_ds, epochs=50 if quick else recipe.epochs, verbose=0)
print("xor learned:", np.round(learned(inputs).numpy().ravel(), 3))
