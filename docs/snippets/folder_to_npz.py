# Turn a folder of class sub-folders into an MNIST-layout .npz that kerazoo reads by name.
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split

source, name, size = Path("my_shapes"), "my_shapes", (28, 28)  # size: what the models take
classes = sorted(p.name for p in source.iterdir() if p.is_dir())
images, labels = [], []
for label, cls in enumerate(classes):
    for path in sorted((source / cls).glob("*.png")):
        image = Image.open(path).convert("L").resize(size)  # convert("RGB") keeps colour
        images.append(np.asarray(image, np.uint8))
        labels.append(label)
x, y = np.stack(images), np.array(labels, np.uint8)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
Path("data").mkdir(exist_ok=True)
np.savez_compressed(f"data/{name}.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
print(f"data/{name}.npz: {len(x_train)} train, {len(x_test)} test images of {len(classes)} classes {classes}")
