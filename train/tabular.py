"""
Title: Breast cancer diagnosis with a tabular MLP
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-22
Description: 30 features, a Normalization layer adapted on the training split only, and a small MLP.
"""

"""
## Setup
"""

import os

import keras

import kerazoo

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run

"""
## Prepare the data

A stratified 80/20 split of scikit-learn's bundled data; `split_seed` picks another split.
"""

recipe = kerazoo.get_entry("tabular_mlp").recipe  # the zoo's: Adam(1e-3), 100 epochs of batches of 32
batch_size = recipe.batch_size
train_ds = kerazoo.make_dataset("breast_cancer", "train", batch_size, split_seed=0)
test_ds = kerazoo.make_dataset("breast_cancer", "test", batch_size, split_seed=0)

"""
## Build the model

The standardization statistics come from the training split only, never from the test split.
"""

model = kerazoo.build("tabular_mlp", hidden_units=(16,))
model.get_layer("tabular_mlp_normalize").adapt(train_ds.map(lambda x, y: x))
model.summary()

"""
## Train the model
"""

epochs = 5 if quick else recipe.epochs
model.compile(
    optimizer=recipe.build_optimizer("optimizer", steps=epochs * int(train_ds.cardinality())),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(train_ds, epochs=epochs, verbose=0)
print("test accuracy:", model.evaluate(test_ds, verbose=0)[1])
