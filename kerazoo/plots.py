"""Pictures of a run: training curves and forecasts. Written with matplotlib's Agg backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_history", "plot_forecast", "plot_decision_boundary"]


def plot_history(history: dict, path, title: str = "") -> None:
    """Loss (and accuracy, where recorded) against epochs; `val_*` curves are labelled as test."""
    panels = [k for k in ("loss", "accuracy", "w") if history.get(k)]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, key in zip(axes[0], panels):
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train" if key != "w" else "w")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if key == "loss" and min(history[key]) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_forecast(dates, actual, test_start: int, predicted, path, title: str = "") -> None:
    """The whole series, with the one-step-ahead forecast over the test horizon."""
    fig, ax = plt.subplots(figsize=(10, 4))
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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_decision_boundary(model, inputs, targets, path, title: str = "") -> None:
    """A 2-input model's output over the unit square, with the truth table's points on top."""
    import numpy as np

    grid = np.linspace(-0.25, 1.25, 151, dtype="float32")
    xx, yy = np.meshgrid(grid, grid)
    zz = model(np.stack([xx.ravel(), yy.ravel()], axis=1), training=False).numpy().reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(4.6, 4))
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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
