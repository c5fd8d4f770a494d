"""Sample-quality figures for generative models, computed from an evaluator classifier's outputs.

NumPy/SciPy functions of features, probabilities and images, so they can be checked by hand:

| function | what | reference |
|---|---|---|
| `frechet_distance` | Frechet distance between two Gaussians fitted to features (FID when the features are Inception's; here the evaluator's penultimate layer) | Heusel et al. 2017 |
| `classifier_score` | exp E[KL(p(y|x) || p(y))] (Inception Score with the evaluator's softmax) | Salimans et al. 2016 |
| `mode_coverage` | class histogram of the samples, classes present, KL to uniform | |
| `precision_recall` | share of samples inside the real manifold, and of real data inside the generated one (k-NN balls) | Kynkaanniemi et al. 2019 |
| `memorisation` | nearest-training-image distances of samples against those of real test images | |
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

__all__ = ["frechet_distance", "classifier_score", "mode_coverage", "precision_recall", "memorisation"]


def _features(name, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of at least 2 feature rows. Received shape {x.shape}."
        )
    return x


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to two feature sets.

    The matrix square root is SciPy's `sqrtm`; if the product is singular (features that never
    fire, for example) or the root is not finite, `eps` is added to both diagonals. Imaginary parts from round-off are dropped only when they are tiny
    (max |imag| <= 1e-3); larger ones raise, since they mean the result cannot be trusted.
    """
    a, b = _features("features_a", features_a), _features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Feature sizes differ: {a.shape[1]} and {b.shape[1]}.")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s_a @ s_b)
    singular = any(issubclass(w.category, linalg.LinAlgWarning) for w in caught)
    if singular or not np.isfinite(covmean).all():  # e.g. dead ReLU features: regularize
        offset = np.eye(len(s_a)) * eps
        covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    if np.iscomplexobj(covmean):
        if np.abs(covmean.imag).max() > 1e-3:
            raise ValueError(
                f"The covariance square root has a large imaginary part ({np.abs(covmean.imag).max():.3g}): "
                "use more samples than feature dimensions."
            )
        covmean = covmean.real
    diff = mu_a - mu_b
    return float(max(0.0, diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean)))


def classifier_score(probabilities, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) over `splits` equal parts of the samples: `(mean, std)`.

    It is 1 when every sample gets the same prediction and the number of classes when every sample is
    classified with certainty and the classes are equally frequent. Scores depend on the split size
    (the TF-GAN MNIST tutorial scores batches of 32, for example), so state it with the figure.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise ValueError(
            f"`probabilities` must be (N, classes) with N >= splits >= 1. Received {p.shape}, {splits}."
        )
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def mode_coverage(predicted, num_classes: int, min_share: float = 0.01) -> dict:
    """Class histogram of predicted labels: shares, classes with at least `min_share` of the samples,
    and KL(histogram || uniform) in nats (0 for perfectly balanced, log(num_classes) for one class)."""
    predicted = np.asarray(predicted).astype(int).ravel()
    share = np.bincount(predicted, minlength=num_classes)[:num_classes] / max(1, len(predicted))
    nonzero = share[share > 0]
    return {
        "class_share": [round(float(s), 4) for s in share],
        "classes_present": int(np.sum(share >= min_share)),
        "kl_to_uniform": float(np.sum(nonzero * np.log(nonzero * num_classes))),
    }


def _pairwise_min_k(queries, points, k, exclude_self=False, chunk=1024):
    """Distance from each query to its k-th nearest point (chunked, squared-distance trick)."""
    q, p = np.asarray(queries, np.float64), np.asarray(points, np.float64)
    p_sq = np.sum(p * p, axis=1)
    out = np.empty(len(q))
    kth = k if exclude_self else k - 1
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        d2 = np.sum(block * block, axis=1)[:, None] + p_sq[None, :] - 2.0 * block @ p.T
        np.maximum(d2, 0.0, out=d2)
        out[start : start + chunk] = np.sqrt(np.partition(d2, kth, axis=1)[:, kth])
    return out


def _inside_any_ball(queries, centres, radii, chunk=1024) -> np.ndarray:
    q, c = np.asarray(queries, np.float64), np.asarray(centres, np.float64)
    c_sq = np.sum(c * c, axis=1)
    r2 = np.asarray(radii, np.float64) ** 2
    inside = np.empty(len(q), dtype=bool)
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        d2 = np.sum(block * block, axis=1)[:, None] + c_sq[None, :] - 2.0 * block @ c.T
        inside[start : start + chunk] = np.any(d2 <= r2[None, :], axis=1)
    return inside


def precision_recall(real_features, fake_features, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Each real point gets a ball reaching its k-th nearest real neighbour; precision is the share of
    generated points inside some real ball (are samples realistic?). Recall swaps the roles: the
    share of real points inside some generated ball (is the real variety covered?). A generator
    that emits a handful of good images has high precision and low recall.
    """
    real, fake = _features("real_features", real_features), _features("fake_features", fake_features)
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"`k` must be in [1, {min(len(real), len(fake)) - 1}]. Received: k={k!r}")
    real_radii = _pairwise_min_k(real, real, k, exclude_self=True)
    fake_radii = _pairwise_min_k(fake, fake, k, exclude_self=True)
    return {
        "precision": float(_inside_any_ball(fake, real, real_radii).mean()),
        "recall": float(_inside_any_ball(real, fake, fake_radii).mean()),
        "k": k,
    }


def memorisation(samples, train_images, test_images, ratio: float = 0.5) -> dict:
    """Do samples sit closer to training images than real unseen images do?

    Distances are Euclidean in pixel space on flattened images in [0, 1]. For each generated sample
    and each real test image: the distance to its nearest training image. A sample is a near copy
    when that distance is below `ratio` times the 1st percentile of the test images' distances (no
    unseen real image is that close to the training set). `memorises` is raised when more than 5% of
    samples are near copies.
    """
    flat = [np.asarray(x, np.float32).reshape(len(x), -1) for x in (samples, train_images, test_images)]
    samples_, train, test = flat
    if not (samples_.shape[1] == train.shape[1] == test.shape[1]):
        raise ValueError("samples, train_images and test_images must have the same image shape.")
    sample_nn = _pairwise_min_k(samples_, train, 1)
    test_nn = _pairwise_min_k(test, train, 1)
    threshold = ratio * float(np.percentile(test_nn, 1))
    share = float(np.mean(sample_nn < threshold))
    return {
        "sample_nn_distance_median": float(np.median(sample_nn)),
        "test_nn_distance_median": float(np.median(test_nn)),
        "near_copy_threshold": threshold,
        "near_copy_share": share,
        "test_near_copy_share": float(np.mean(test_nn < threshold)),
        "memorises": bool(share > 0.05),
    }
