"""Pictures of a run: training curves and forecasts.

Figures are `matplotlib.figure.Figure` objects written straight to PNG, without pyplot: importing
kerazoo never changes the user's matplotlib backend (inline plots in notebooks keep working) and
needs no display.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "plot_history",
    "plot_forecast",
    "plot_decision_boundary",
    "image_grid",
    "save_image_grid",
    "save_figure",
    "subplots",
    "to_uint8",
    "plot_latent_space",
]


def subplots(*args, **kwargs):
    """`(fig, axes)` like `plt.subplots`, on a pyplot-free Figure (nothing to close)."""
    figsize = kwargs.pop("figsize", None)
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def save_figure(fig, path) -> None:
    """Lay out and write a figure as PNG."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_history(history: dict, path, title: str = "", panels=None, val_label: str = "validation") -> None:
    """Curves against epochs, one panel per group of keys.

    By default: loss, accuracy and w (where recorded), each with its `val_*` twin labelled
    `val_label` (`"test"` where `fit` validated on the test split). GANs pass
    `panels=[("d_loss", "g_loss"), ("d_real", "d_fake")]`.
    """
    if panels is None:
        panels = [(k, f"val_{k}") for k in ("loss", "accuracy", "w")]
    panels = [[k for k in group if history.get(k)] for group in panels]
    panels = [group for group in panels if group]
    if not panels:
        return
    fig, axes = subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, group in zip(axes[0], panels):
        for key in group:
            epochs = range(1, len(history[key]) + 1)
            ax.plot(epochs, history[key], label=val_label if key.startswith("val_") else key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(group[0] if len(group) == 1 or group[1].startswith("val_") else " / ".join(group))
        if group[0] == "loss" and min(history[group[0]]) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    save_figure(fig, path)


def image_grid(images, rows: int, value_range=(0.0, 1.0), padding: int = 0) -> np.ndarray:
    """Float `(N, H, W, C)` images in `value_range` -> one uint8 `(H', W', C)` mosaic of `rows` rows
    (missing cells blank): `kerazoo.runtime.image_grid`, the one tiling function, at scale 1."""
    from kerazoo.runtime import image_grid as tile

    images = to_uint8(images, value_range)
    columns = int(np.ceil(len(images) / max(1, min(rows, len(images)))))
    grid = tile(images, columns=columns, padding=padding, scale=1)
    return grid if grid.ndim == 3 else grid[..., None]


def to_uint8(images, value_range=(0.0, 1.0)) -> np.ndarray:
    """Float images in `value_range` -> uint8 0..255 (clipped)."""
    low, high = value_range
    images = np.clip((np.asarray(images, dtype=np.float32) - low) / (high - low), 0.0, 1.0)
    return (images * 255).round().astype(np.uint8)


def save_image_grid(images, path, rows: int, value_range=(0.0, 1.0)) -> None:
    """Write the images as a PNG mosaic of `rows` rows, with thin black gaps between them and each
    pixel enlarged so the grid is at least about 400 pixels wide (the same picture
    `kerazoo.runtime.save_grid` draws from an exported generator)."""
    from kerazoo.runtime import save_grid

    images = to_uint8(images, value_range)
    n, _, w, _ = images.shape
    columns = int(np.ceil(n / max(1, min(rows, n))))
    save_grid(images, path, columns=columns, scale=max(1, -(-400 // (columns * (w + 2)))))


def plot_forecast(dates, actual, test_start: int, predicted, path, title: str = "") -> None:
    """The whole series, with the one-step-ahead forecast over the test horizon."""
    fig, ax = subplots(figsize=(10, 4))
    t = range(len(actual))
    ax.plot(t, actual, label="actual", color="black", lw=1.2)
    ax.plot(
        range(test_start, test_start + len(predicted)),
        predicted,
        label="forecast (one step ahead)",
        color="tab:red",
        lw=1.5,
    )
    ax.axvline(test_start - 0.5, color="gray", ls="--", lw=1)
    step = max(1, len(dates) // 12)
    ax.set_xticks(list(t)[::step])
    ax.set_xticklabels(list(dates)[::step], rotation=45, ha="right", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    save_figure(fig, path)


def plot_decision_boundary(model, inputs, targets, path, title: str = "") -> None:
    """A 2-input model's output over the unit square, with the truth table's points on top."""
    grid = np.linspace(-0.25, 1.25, 151, dtype="float32")
    xx, yy = np.meshgrid(grid, grid)
    zz = model(np.stack([xx.ravel(), yy.ravel()], axis=1), training=False).numpy().reshape(xx.shape)
    fig, ax = subplots(figsize=(4.6, 4))
    mesh = ax.pcolormesh(
        xx, yy, zz, cmap="RdBu_r", shading="auto", vmin=min(0, zz.min()), vmax=max(1, zz.max())
    )
    fig.colorbar(mesh, ax=ax, label="output")
    for (a, b), t in zip(inputs, targets):
        ax.scatter(a, b, s=160, c="white" if t < 0.5 else "black", edgecolors="gray", zorder=3)
        ax.annotate(
            f"{int(t)}", (a, b), color="gray" if t < 0.5 else "white", ha="center", va="center", zorder=4
        )
    ax.set_xlabel("input 1")
    ax.set_ylabel("input 2")
    if title:
        ax.set_title(title)
    save_figure(fig, path)


def plot_latent_space(means, labels, decoder, path, title: str = "", span: float = 3.0, n: int = 15) -> None:
    """A 2-D latent space: the test set's latent means coloured by class, beside a grid of images
    decoded across the plane (from -span to span on both axes)."""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 5))
    points = ax1.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=4)
    fig.colorbar(points, ax=ax1, label="class")
    ax1.set_xlabel("z[0]")
    ax1.set_ylabel("z[1]")
    ax1.set_title(title)
    grid = np.linspace(-span, span, n, dtype="float32")
    zs = np.array([[a, b] for b in grid[::-1] for a in grid], dtype="float32")
    images = decoder.predict(zs, verbose=0)
    ax2.imshow(image_grid(images, rows=n)[..., 0], cmap="gray")
    ax2.set_title(f"decoded over [-{span:g}, {span:g}]^2")
    ax2.axis("off")
    save_figure(fig, path)
