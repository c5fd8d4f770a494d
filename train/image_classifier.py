"""
Title: Digit classification with the MLP and the CNN
Author: kerazoo
Date created: 2026-11-22
Last modified: 2026-11-24
Description: The 784-512-512-10 MLP and the conv32-conv32-pool-conv64-conv64-pool-fc128-10 CNN on digits, with
plain `model.fit`, a validation split, Keras callbacks, and a saved model.
"""

"""
## Setup
"""

import os
from pathlib import Path

import keras

import kerazoo

quick = os.environ.get("KERAZOO_QUICK") == "1"  # set by the tests for a fast smoke run
out_dir = Path(os.environ.get("KERAZOO_OUT", "runs/examples"))

"""
## Prepare the data

`digits` ships with scikit-learn, so this runs offline. For full MNIST, use
`dataset = "mnist"` and point `data_dir` (or `KERAZOO_DATA_DIR`) at a folder with `mnist.npz`.

Everything we choose while training (the checkpoint we keep, when to stop) is chosen on a
validation split: 10% of the training split, stratified by class and seeded, held out from it. The
test split is read once, at the end.
"""

dataset = "digits"
recipe = kerazoo.get_entry("cnn").recipe
batch_size = recipe.batch_size  # 128, as both recipes
split = dict(normalization="unit", validation_split=recipe.validation_split)  # 0.1
train_ds = kerazoo.make_dataset(dataset, "train", batch_size, **split)
val_ds = kerazoo.make_dataset(dataset, "validation", batch_size, **split)

"""
## Build the models

Depth and width are one argument each: try `hidden_units=(256, 128, 64)` or `filters=(16, 32)`.
The CNN's stem shifts and tilts each training image a little (handwritten digits; no mirrors, since
a mirrored 2 is no 2); the MLP trains on the images as they are.
"""

mlp = kerazoo.build("mlp")
mlp.summary()
cnn = kerazoo.build("cnn", augment="shift+rotate")
cnn.summary()

"""
## Train the models

The MLP ends in log-softmax and the CNN in logits: both train with `from_logits=True`. Each model's
recipe gives the epochs (30 for the MLP, 14 for the CNN) and the optimizer: Adam at 1e-3 with a
cosine decay over the run, built by `recipe.build_optimizer`. Where this script departs from
`kerazoo train`: it also keeps the best checkpoint on the validation split and stops early when the
validation loss has not improved for 5 epochs (`kerazoo train` watches the validation accuracy, with
the recipe's patience of 8 epochs: `--recipe early_stopping=N` changes it).
"""

for model in (mlp, cnn):
    recipe = kerazoo.get_entry(model.name).recipe
    epochs = 1 if quick else recipe.epochs
    model.compile(
        optimizer=recipe.build_optimizer("optimizer", steps=epochs * int(train_ds.cardinality())),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            out_dir / f"{model.name}.keras", monitor="val_accuracy", save_best_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    model.fit(train_ds, epochs=epochs, validation_data=val_ds, callbacks=callbacks, verbose=2)

"""
## Evaluate

Now, and only now, the test split.
"""

test_ds = kerazoo.make_dataset(dataset, "test", batch_size, normalization="unit")
for model in (mlp, cnn):
    loss, accuracy = model.evaluate(test_ds, verbose=0)
    print(f"{model.name}: test accuracy {accuracy:.4f}")
