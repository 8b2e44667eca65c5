"""Figures of the ROI graph: prior vs learned adjacency, graph attention, the graph on a face."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import seaborn as sns

from stag.viz.rois import short_roi_names
from stag.viz.theme import DIVERGING_CMAP, PALETTE, SEQUENTIAL_CMAP, new_figure

#: Tick-label size of the ROI heat maps: readable once a figure is scaled to the book's width.
TICK_SIZE = 9


def _heat(ax, m, names, *, title, cmap=SEQUENTIAL_CMAP, vmin=None, vmax=None, center=None, cbar_label=None,
          xlabels: bool = True, ylabels: bool = True, cbar: bool = True, cbar_ax=None):
    labels = short_roi_names(names)
    sns.heatmap(np.asarray(m), xticklabels=labels if xlabels else False, yticklabels=labels if ylabels else False,
                cmap=cmap, vmin=vmin, vmax=vmax, center=center, square=True, ax=ax, cbar=cbar, cbar_ax=cbar_ax,
                cbar_kws={"shrink": 0.7, "label": cbar_label or ""})
    ax.tick_params(labelsize=TICK_SIZE, length=0)
    ax.grid(False)  # blank (NaN) cells stay blank
    ax.set_xlabel("from ROI $j$" if xlabels else "")
    ax.set_ylabel("to ROI $i$" if ylabels else "")
    ax.set_title(title, fontsize=11)
    return ax


def plot_adjacency_comparison(prior, learned, names: Sequence[str], *, fig=None):
    """Two panels: the AU prior and how training re-weighted it, ``log2(learned / prior)``.

    The learned adjacency itself is the prior times the re-weighting; drawn on the prior's
    scale it looks like the prior, so only the ratio is drawn.

    Args:
        prior: ``(N, N)`` prior as the model uses it (scaled to max 1, unit diagonal).
        learned: ``(N, N)`` learned adjacency, e.g. the mean over clips of ``ModelOutput.adjacency``.
        names: ``N`` ROI names.

    Returns:
        The figure.
    """
    p, a = np.asarray(prior, dtype=float), np.asarray(learned, dtype=float)
    if fig is None:
        fig, axes = new_figure(1, 2, width=11, height=5.4)
    else:
        axes = fig.subplots(1, 2)
    _heat(axes[0], p, names, title="AU co-occurrence prior $P$", vmin=0, vmax=max(1.0, float(p.max())))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, np.log2(np.clip(a, 1e-6, None) / p), np.nan)
    lim = max(0.1, float(np.nanmax(np.abs(ratio))))
    _heat(axes[1], ratio, names, title="re-weighting $\\log_2(A / P)$, mean over clips", cmap=DIVERGING_CMAP,
          vmin=-lim, vmax=lim, center=0, cbar_label="weaker  <  0  <  stronger (blank: cut)", ylabels=False)
    fig.tight_layout()
    return fig


def plot_graph_attention(attention, names: Sequence[str], *, title: str = "graph attention", fig=None):
    """One heat map per head of a ``(heads, N, N)`` graph-attention tensor (rows sum to 1).

    Returns:
        The figure.
    """
    att = np.asarray(attention, dtype=float)
    heads = att.shape[0]
    ncols = min(2, heads)
    nrows = int(np.ceil(heads / ncols))
    if fig is None:
        fig = new_figure(width=10, height=4.6 * nrows + 0.6)[0]
        fig.clf()
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1] * ncols + [0.05])
    cax = fig.add_subplot(grid[:, -1])
    vmax = float(att.max())
    for h in range(heads):
        r, c = divmod(h, ncols)
        ax = fig.add_subplot(grid[r, c])
        _heat(ax, att[h], names, title=f"head {h + 1}", vmin=0, vmax=vmax, xlabels=r == nrows - 1 or
              h + ncols >= heads, ylabels=c == 0, cbar=h == 0, cbar_ax=cax if h == 0 else None,
              cbar_label="attention weight")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_roi_graph(face, boxes, adjacency, names: Sequence[str] | None = None, *, node_weights=None,
                   top_edges: int = 20, ax=None, title: str | None = None):
    """The ROI graph drawn on a face: nodes at box centres, the strongest edges as lines.

    Args:
        face: ``(H, W)`` grey image (e.g. ``Prepared.face``).
        boxes: ``(N, 4)`` ROI boxes in pixels of ``face``.
        adjacency: ``(N, N)`` weights; edges are symmetrised as ``(A + A^T) / 2``.
        names: optional ROI names, written next to the nodes.
        node_weights: optional ``(N,)`` importances (node area grows with the square of the
            weight relative to the mean weight).
        top_edges: number of strongest edges drawn (self-loops never).
        ax: axes to draw on.

    Returns:
        The axes.
    """
    b = np.asarray(boxes, dtype=float)
    a = np.asarray(adjacency, dtype=float)
    sym = (a + a.T) / 2
    np.fill_diagonal(sym, 0)
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], 1) - 0.5
    if ax is None:
        _, ax = new_figure(width=5.5, height=5.5)
    ax.imshow(np.asarray(face), cmap="gray")
    iu = np.triu_indices(len(b), 1)
    order = np.argsort(sym[iu])[::-1][:top_edges]
    top = sym[iu][order].max() if len(order) else 1.0
    for idx in order:
        i, j = iu[0][idx], iu[1][idx]
        w = sym[i, j] / top if top > 0 else 0
        ax.plot(*centres[[i, j]].T, color=PALETTE[1], lw=0.5 + 3.5 * w, alpha=0.3 + 0.6 * w, zorder=2)
    # Node area relative to the mean weight, so departures from uniform attention show.
    size = 60 if node_weights is None else 60 * (np.asarray(node_weights) / max(1e-12, np.mean(node_weights))) ** 2
    ax.scatter(*centres.T, s=size, color=PALETTE[0], edgecolor="white", zorder=3)
    if names is not None:
        for (x, y), name in zip(centres, names):
            ax.text(x + 1, y - 1, name, fontsize=5.5, color="white", zorder=4,
                    bbox=dict(fc="black", ec="none", alpha=0.45, pad=0.4))
    ax.set_axis_off()
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def plot_roi_weights(table, *, value: str = "weight", ax=None, title: str | None = None):
    """Horizontal bars of a per-ROI quantity.

    Args:
        table: DataFrame indexed by ROI name with a column ``value`` (and optionally ``std``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = new_figure(width=5.5, height=0.28 * len(table) + 1.2)
    err = table["std"] if "std" in table else None
    ax.barh(table.index, table[value], xerr=err, color=PALETTE[0], alpha=0.85)
    ax.invert_yaxis()
    ax.set_xlabel(value)
    ax.tick_params(axis="y", labelsize=7)
    if title:
        ax.set_title(title)
    return ax
