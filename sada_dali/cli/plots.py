"""PNG figures of the CLI, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_strength_evolution", "plot_policy_strengths", "plot_throughput"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _draw_evolution(ax, strengths_per_epoch, bins: int, colours) -> None:
    """Stacked per-epoch histograms (square-root heights, a red line at each mean) on ``ax``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    epochs = len(strengths_per_epoch)
    for e, values in enumerate(strengths_per_epoch):
        values = np.asarray(values, dtype=np.float64)
        counts, _ = np.histogram(values, bins=edges)
        root = np.sqrt(counts / max(1, counts.sum()))  # a square-root scale keeps small bins visible
        height = np.append(root, root[-1]) / max(root.max(), 1e-12) * 0.9
        ax.fill_between(edges, e, e + height, step="post", color=colours[e], alpha=0.85)
        ax.step(edges, e + height, where="post", color="k", linewidth=0.6)
        ax.plot([values.mean()] * 2, [e, e + 0.95], color="red", linewidth=1.2)
    ax.set_yticks(np.arange(epochs) + 0.3, [f"epoch {e + 1}" for e in range(epochs)])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.1, epochs)


def _save(fig, path, plt) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_strength_evolution(
    strengths_per_epoch, path, *, bins: int = 25, title: str = "SADA strength per sample across epochs"
) -> Path:
    """Stacked per-epoch histograms of the strengths, in the manner of the paper's Figure 1.

    Bar heights are the square root of each bin's share of samples (scaled per epoch), so a
    few hard samples stay visible next to a peak; a red line marks each epoch's mean.

    Parameters
    ----------
    strengths_per_epoch : sequence of array-like
        One (N,) array of strengths in [0, 1] per epoch, first epoch first.
    path : str or Path
        Output PNG.
    bins : int
        Histogram bins over [0, 1].
    title : str
        Figure title.

    Returns
    -------
    Path
        ``path``.
    """
    return plot_policy_strengths({title: strengths_per_epoch}, path, bins=bins)


def plot_policy_strengths(histories, path, *, bins: int = 25, title: str | None = None) -> Path:
    """One column of per-epoch strength histograms (see :func:`plot_strength_evolution`) per policy.

    Parameters
    ----------
    histories : Mapping of str to sequence of array-like
        Column title (a policy name) to its (N,) strengths per epoch, first epoch first.
    path : str or Path
        Output PNG.
    bins : int
        Histogram bins over [0, 1].
    title : str, optional
        Figure title above the columns.

    Returns
    -------
    Path
        ``path``.
    """
    if not histories:
        raise ValueError("The `histories` must hold at least one policy, got none.")
    empty = [name for name, h in histories.items() if len(h) == 0]
    if empty:
        raise ValueError(f"The `strengths_per_epoch` must hold at least one epoch, got none for {empty}.")
    plt = _pyplot()
    epochs = max(len(h) for h in histories.values())
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, epochs))
    columns = len(histories)
    fig, axes = plt.subplots(
        1, columns, figsize=(1.0 + 4.2 * columns if columns > 1 else 7, 1.0 + 0.55 * epochs), squeeze=False
    )
    for ax, (name, history) in zip(axes[0], histories.items()):
        _draw_evolution(ax, history, bins, colours)
        ax.set_title(name, fontsize=10 if columns > 1 else 12)
        ax.set_xlabel("strength $s_i$ (higher: stronger augmentation)")
    axes[0][0].plot([], [], color="red", label="mean strength")
    axes[0][0].legend(loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path, plt)


def plot_throughput(rows, path, *, title: str = "Loader throughput (images/s, higher is better)") -> Path:
    """Horizontal bar chart of measured rows; unmeasured rows are labelled as skipped.

    Parameters
    ----------
    rows : sequence of dict
        Each with ``"name"`` and ``"images_per_s"`` (float, or None when skipped) and optional
        ``"status"`` text for skipped rows.
    path : str or Path
        Output PNG.
    title : str
        Figure title.

    Returns
    -------
    Path
        ``path``.
    """
    plt = _pyplot()
    names = [row["name"] for row in rows]
    values = [row.get("images_per_s") or 0.0 for row in rows]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(rows) + 1.2))
    bars = ax.barh(np.arange(len(rows)), values, color="tab:green")
    for bar, row in zip(bars, rows):
        label = f"{row['images_per_s']:.0f}" if row.get("images_per_s") else row.get("status", "skipped")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + label, va="center", fontsize=8)
    ax.set_yticks(np.arange(len(rows)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("images/s")
    ax.set_title(title)
    ax.set_xlim(0, max(values + [1.0]) * 1.3)
    return _save(fig, path, plt)
