"""Sample-quality figures for generative models, computed from an evaluator classifier's outputs.

NumPy/SciPy functions of features, probabilities and images, so they can be checked by hand:

| function | what | reference |
|---|---|---|
| `frechet_distance` | Frechet distance between two Gaussians fitted to features (FID when the features are Inception's; here the evaluator's penultimate layer) | Heusel et al. 2017 |
| `classifier_score` | exp E[KL(p(y|x) || p(y))] (Inception Score with the evaluator's softmax) | Salimans et al. 2016 |
| `mode_coverage` | class histogram of the samples, classes present, KL to uniform | |
| `precision_recall` | share of samples inside the real manifold, and of real data inside the generated one (k-NN balls) | Kynkaanniemi et al. 2019 |
| `memorisation` | nearest-training-image distances of samples against those of real test images | |
| `perceptual_path_length` | mean squared feature distance between images a small step apart on a latent path, over the step squared | Karras et al. 2019 |
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

__all__ = [
    "frechet_distance",
    "classifier_score",
    "mode_coverage",
    "precision_recall",
    "memorisation",
    "nearest_distances",
    "mean_pairwise_distance",
    "perceptual_path_length",
]


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


def _flat(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.reshape(len(x), -1)


def nearest_distances(queries, points, k: int = 1, exclude_self: bool = False, return_index: bool = False):
    """Euclidean distance from each query row to its k-th nearest row of `points` (scikit-learn's
    `NearestNeighbors`); with `exclude_self`, `queries` are `points` and a row is not its own
    neighbour. Rows are flattened (images are fine). With `return_index`, also that neighbour's index.
    The one nearest-neighbour path of the library: the GAN monitor, the quality figures and the
    evaluation pictures use it."""
    from sklearn.neighbors import NearestNeighbors

    n_neighbors = k + 1 if exclude_self else k
    distances, index = NearestNeighbors(n_neighbors=n_neighbors).fit(_flat(points)).kneighbors(_flat(queries))
    return (distances[:, -1], index[:, -1]) if return_index else distances[:, -1]


def mean_pairwise_distance(x) -> float:
    """Mean Euclidean distance over all pairs of distinct rows (scikit-learn's `pairwise_distances`)."""
    from sklearn.metrics import pairwise_distances

    x = _flat(x)
    n = len(x)
    return float(pairwise_distances(x).sum() / (n * (n - 1)))


def _inside_any_ball(queries, centres, radii) -> np.ndarray:
    """Whether each query lies within `radii[j]` of some centre `j` (chunked by scikit-learn)."""
    from sklearn.metrics import pairwise_distances_chunked

    radii = np.asarray(radii, np.float64)[None, :]
    chunks = pairwise_distances_chunked(
        _flat(queries), _flat(centres), reduce_func=lambda d, start: np.any(d <= radii, axis=1)
    )
    return np.concatenate(list(chunks))


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
    real_radii = nearest_distances(real, real, k, exclude_self=True)
    fake_radii = nearest_distances(fake, fake, k, exclude_self=True)
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
    sample_nn = nearest_distances(samples_, train)
    test_nn = nearest_distances(test, train)
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


def perceptual_path_length(features_start, features_end, epsilon: float = 1e-4, trim: float = 0.01) -> dict:
    """Perceptual path length (Karras et al. 2019, section 4.2) from the features of image pairs a
    latent step `epsilon` apart: each pair's squared feature distance over `epsilon^2`, averaged
    after dropping the lowest and highest `trim` share (the paper drops 1% each side). The paper's
    features are VGG16's (LPIPS); here the evaluator's. Lower: the images change more evenly along
    the path (less entangled latents).

    Returns:
        `{"ppl": trimmed mean, "median", "n"}` (n: the pairs kept).
    """
    a, b = _features("features_start", features_start), _features("features_end", features_end)
    if a.shape != b.shape:
        raise ValueError(f"The two feature arrays must have the same shape. Received: {a.shape}, {b.shape}")
    if not (epsilon > 0 and 0 <= trim < 0.5):
        raise ValueError(f"Need epsilon > 0 and trim in [0, 0.5). Received: epsilon={epsilon}, trim={trim}")
    distances = np.sum(np.square(a - b), axis=1) / epsilon**2
    low, high = np.quantile(distances, [trim, 1.0 - trim])
    kept = distances[(distances >= low) & (distances <= high)]
    return {"ppl": float(kept.mean()), "median": float(np.median(distances)), "n": int(len(kept))}
