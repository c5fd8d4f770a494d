"""Representations from late layers, and cosine-similarity search over them.

features = kerazoo.embeddings.embed(cnn, x_images)            # penultimate features
codes = kerazoo.embeddings.embed(vae, x_images)                # z_mean of the encoder
idx, sim = kerazoo.embeddings.cosine_search(features[:5], features, k=3)
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["embed", "feature_model", "cosine_search"]


def feature_model(model, layer=None) -> keras.Model:
    """A model from `model`'s inputs to the embedding layer's output.

    Default layer: a VAE's `z_mean`; an autoencoder's code (its `*_encoder` part); for a classifier,
    the input of its last Dense layer (the penultimate features, before the logits).

    Raises:
        ValueError: an unknown layer name (the message lists the layers), or no Dense layer to use.
    """
    if layer is not None:
        names = [item.name for item in model.layers]
        if layer not in names:
            raise ValueError(f"Model '{model.name}' has no layer '{layer}'. Layers: {names}")
        return keras.Model(model.inputs, model.get_layer(layer).output, name=f"{model.name}_features")
    if hasattr(model, "encoder"):  # kerazoo.VAE: the mean of q(z|x)
        encoder = model.encoder
        return keras.Model(encoder.inputs, encoder.outputs[0], name=f"{model.name}_features")
    parts = [
        item for item in model.layers if item.name.endswith("_encoder") and isinstance(item, keras.Model)
    ]
    if parts:
        return parts[0]
    dense = [item for item in model.layers if isinstance(item, keras.layers.Dense)]
    if not dense:
        raise ValueError(f"Model '{model.name}' has no Dense layer: name the embedding layer with `layer=`.")
    return keras.Model(model.inputs, dense[-1].input, name=f"{model.name}_features")


def embed(model, data, layer=None, batch_size=256) -> np.ndarray:
    """Embeddings `(N, D)` of `data` from a late layer of a zoo classifier, or from an encoder.

    Args:
        model: a classifier, an autoencoder or a VAE (see `feature_model` for the default layer).
        data: images as a numpy array, or a `tf.data.Dataset` of images or of (images, labels)
            batches (e.g. from `kerazoo.make_dataset`).
        layer: name of the layer whose output is the embedding; None for the default.
        batch_size: batch size for numpy input.
    """
    features = feature_model(model, layer)
    if isinstance(data, tf.data.Dataset):
        if isinstance(data.element_spec, tuple):
            data = data.map(lambda x, *rest: x)
        out = features.predict(data, verbose=0)
    else:
        data = np.asarray(data, dtype=np.float32)
        expected = tuple(features.input_shape[1:])
        if tuple(data.shape[1:]) != expected:
            raise ValueError(
                f"`data` must have shape (N, {', '.join(map(str, expected))}). Received shape {data.shape}."
            )
        out = features.predict(data, batch_size=batch_size, verbose=0)
    return np.asarray(out).reshape(len(out), -1)


def cosine_search(queries, index, k=5):
    """The `k` rows of `index` most cosine-similar to each query.

    Returns:
        `(indices, similarities)`, both `(len(queries), k)`, best first.
    """
    queries, index = np.atleast_2d(np.asarray(queries, np.float32)), np.asarray(index, np.float32)
    if queries.shape[1] != index.shape[1]:
        raise ValueError(f"Queries have {queries.shape[1]} dimensions but the index has {index.shape[1]}.")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(index):
        raise ValueError(f"`k` must be an integer in [1, {len(index)}]. Received: k={k!r}")
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    x = index / np.maximum(np.linalg.norm(index, axis=1, keepdims=True), 1e-12)
    sims = q @ x.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)
