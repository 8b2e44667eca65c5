"""Figures of attention over keyframes, cross-attention between the branches, the fusion gate,
and the efficiency table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import seaborn as sns

from stag.viz.labels import place_labels
from stag.viz.rois import short_roi_names
from stag.viz.theme import PALETTE, SEQUENTIAL_CMAP, new_figure


def plot_temporal_attention(weights: Mapping[str, np.ndarray], magnitudes, key_mask=None, *, key_indices=None,
                            ax=None, title: str | None = None):
    """Grouped bars of attention over one clip's keyframes, with the motion magnitudes as a line.

    Args:
        weights: label -> ``(K,)`` attention weights (e.g. with and without the magnitude prior).
        magnitudes: ``(K,)`` keyframe magnitudes (normalised to max 1).
        key_mask: ``(K,)`` bool; padded keyframes are shaded.
        key_indices: ``(K,)`` frame numbers for the tick labels.

    Returns:
        The axes.
    """
    m = np.asarray(magnitudes, dtype=float)
    k = len(m)
    if ax is None:
        _, ax = new_figure(width=7, height=3.6)
    width = 0.8 / max(1, len(weights))
    x = np.arange(k)
    for i, (label, w) in enumerate(weights.items()):
        ax.bar(x - 0.4 + width * (i + 0.5), np.asarray(w, dtype=float), width, label=label, color=PALETTE[i])
    ax.plot(x, m * max(float(np.max(list(map(np.max, weights.values())))), 1e-9) / max(m.max(), 1e-9), "o--",
            color=PALETTE[7], lw=1, ms=4, label="magnitude (scaled)")
    if key_mask is not None:
        for j in np.flatnonzero(~np.asarray(key_mask, dtype=bool)):
            ax.axvspan(j - 0.5, j + 0.5, color="0.85", zorder=0)
    ax.set_xticks(x, [str(v) for v in (key_indices if key_indices is not None else x)])
    ax.set_xlabel("keyframe (frame index)" if key_indices is not None else "keyframe")
    ax.set_ylabel("attention weight")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    return ax


def plot_apex_weight(table, *, by: str = "model", ax=None, title: str | None = None):
    """Per-clip weight on the largest-magnitude keyframe, by model, against the uniform share.

    Args:
        table: DataFrame with columns ``by``, ``apex_weight`` and ``uniform`` (from
            :func:`stag.models.summaries.keyframe_attention_table`, one block per model).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = new_figure(width=6, height=3.6)
    sns.boxplot(data=table, x=by, y="apex_weight", ax=ax, color=PALETTE[5], width=0.5, fliersize=0)
    sns.stripplot(data=table, x=by, y="apex_weight", ax=ax, color=PALETTE[0], size=3, alpha=0.6)
    ax.axhline(float(np.mean(table["uniform"])), color=PALETTE[3], ls="--", lw=1, label="uniform $1/K$")
    ax.set_ylabel("attention on apex keyframe")
    ax.set_xlabel("")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def plot_cross_attention(graph_to_time, time_to_graph, roi_names: Sequence[str], key_labels=None, *, fig=None):
    """The two cross-attention maps of one clip (averaged over heads by the caller or here).

    Args:
        graph_to_time: ``(N, K)`` or ``(heads, N, K)``: each ROI's attention over keyframes.
        time_to_graph: ``(K, N)`` or ``(heads, K, N)``: each keyframe's attention over ROIs.
        roi_names: ``N`` names.
        key_labels: ``K`` keyframe labels.

    Returns:
        The figure.
    """
    g2t = np.asarray(graph_to_time, dtype=float)
    t2g = np.asarray(time_to_graph, dtype=float)
    g2t = g2t.mean(0) if g2t.ndim == 3 else g2t
    t2g = t2g.mean(0) if t2g.ndim == 3 else t2g
    keys = [str(v) for v in (key_labels if key_labels is not None else range(g2t.shape[1]))]
    rois = short_roi_names(roi_names)
    if fig is None:
        fig, axes = new_figure(1, 2, width=11, height=5.4, gridspec_kw={"width_ratios": [1, 1.5]})
    else:
        axes = fig.subplots(1, 2)
    # Colour scales span the observed range: cross-attention is often close to uniform, and a
    # scale from 0 would hide its structure (the colour bars give the actual weights).
    sns.heatmap(g2t, yticklabels=rois, xticklabels=keys, cmap=SEQUENTIAL_CMAP, ax=axes[0],
                cbar_kws={"shrink": 0.7})
    axes[0].set_title("graph $\\to$ time: ROI queries over keyframes", fontsize=11)
    axes[0].set_xlabel("keyframe (frame index)")
    sns.heatmap(t2g, yticklabels=keys, xticklabels=rois, cmap=SEQUENTIAL_CMAP, ax=axes[1],
                cbar_kws={"shrink": 0.7})
    axes[1].set_title("time $\\to$ graph: keyframe queries over ROIs", fontsize=11)
    axes[1].set_ylabel("keyframe (frame index)")
    for ax in axes:
        ax.tick_params(labelsize=9, length=0)
        ax.grid(False)
    axes[1].tick_params(axis="y", labelrotation=0)
    fig.tight_layout()
    return fig


def plot_fusion_gate(table, *, ax=None, title: str | None = None):
    """Per-clip mean fusion gate (share of the graph branch), by class.

    Args:
        table: DataFrame with ``class`` and ``graph_share`` (from
            :func:`stag.models.summaries.fusion_gate_table`).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = new_figure(width=5.5, height=3.6)
    sns.stripplot(data=table, x="class", y="graph_share", hue="class", ax=ax, size=4, alpha=0.7, legend=False,
                  palette=list(PALETTE[: table["class"].nunique()]))
    ax.axhline(0.5, color="0.4", ls="--", lw=1)
    ax.set_ylabel("mean gate $z$ (1 = graph, 0 = temporal)")
    ax.set_xlabel("")
    if title:
        ax.set_title(title)
    return ax


def plot_efficiency(table, *, size: int | None = None, keyframes: int | None = None, batch: int = 1, ax=None,
                    reference: Mapping[str, tuple[float, float]] | None = None, title: str | None = None):
    """Parameters against CPU latency per clip (log-log), one point per model, labels placed so
    that they do not overlap (:func:`stag.viz.labels.place_labels`).

    Args:
        table: from :func:`stag.bench.model.efficiency_table`.
        size, keyframes, batch: the row of each model to plot (default: largest size and K).
        reference: optional label -> ``(params, ms_per_clip)`` points measured elsewhere, drawn hollow.

    Returns:
        The axes.
    """
    size = int(table["size"].max()) if size is None else size
    keyframes = int(table["K"].max()) if keyframes is None else keyframes
    rows = table[(table["size"] == size) & (table["K"] == keyframes) & (table["batch"] == batch)]
    if ax is None:
        _, ax = new_figure(width=8, height=5)
    rows = rows.sort_values("ms_per_clip")
    colours = [PALETTE[0] if m.startswith("stag") else PALETTE[3] for m in rows["model"]]
    ax.scatter(rows["params"], rows["ms_per_clip"], color=colours, s=40, zorder=3)
    xs, ys, labels = list(rows["params"]), list(rows["ms_per_clip"]), list(rows["model"])
    for label, (params, ms) in (reference or {}).items():
        ax.scatter(params, ms, facecolor="none", edgecolor=PALETTE[7], s=50, zorder=3)
        xs.append(params)
        ys.append(ms)
        labels.append(label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Room for labels beyond the outermost points.
    ax.set_xlim(min(xs) / 3, max(xs) * 3)
    ax.set_ylim(min(ys) / 1.8, max(ys) * 1.8)
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"CPU ms per clip (batch {batch})")
    ax.set_title(title or f"{size}x{size} input, K={keyframes}")
    place_labels(ax, xs, ys, labels, fontsize=9)
    return ax
