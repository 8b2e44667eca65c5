"""Figures of recognition results: confusion matrices, score bars, honest vs oracle,
per-dataset breakdown and accuracy-versus-cost scatter. They take tables, never train."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from stag.viz.labels import place_labels
from stag.viz.theme import PALETTE, SEQUENTIAL_CMAP, new_figure


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], *, ax=None, normalise: bool = True,
                   title: str = ""):
    """Confusion matrix (rows = truth) as a heat map; cells show row-normalised recall and counts."""
    if ax is None:
        _, ax = new_figure(width=3.8, height=3.4)
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    annot = np.array([[f"{frac[i, j]:.2f}\n({cm[i, j]})" for j in range(cm.shape[1])] for i in range(cm.shape[0])])
    sns.heatmap(frac if normalise else cm, annot=annot, fmt="", cmap=SEQUENTIAL_CMAP, vmin=0,
                vmax=1 if normalise else None, cbar=False, square=True, ax=ax,
                xticklabels=class_names, yticklabels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax


def plot_confusions(items: Sequence[tuple[str, np.ndarray]], class_names: Sequence[str], *, ncols: int = 3):
    """Several confusion matrices side by side; ``items`` = ``[(title, cm), ...]``."""
    n = len(items)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = new_figure(nrows, ncols, width=3.4 * ncols, height=3.2 * nrows, squeeze=False)
    for ax, (title, cm) in zip(axes.ravel(), items):
        plot_confusion(cm, class_names, ax=ax, title=title)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_scores(summary: pd.DataFrame, metrics: Sequence[str] = ("uf1", "uar"), *, ax=None,
                label: str = "model"):
    """Grouped bars of ``<metric>_mean`` per model, with the range over seeds
    (``<metric>_min`` to ``<metric>_max``, :func:`stag.results.tables.summary`) as error bars."""
    if ax is None:
        _, ax = new_figure(width=max(5.0, 1.0 * len(summary) + 2), height=3.6)
    x = np.arange(len(summary))
    w = 0.8 / len(metrics)
    for i, m in enumerate(metrics):
        mean = summary[f"{m}_mean"].to_numpy(dtype=float)
        err = np.vstack([mean - summary[f"{m}_min"].to_numpy(dtype=float),
                         summary[f"{m}_max"].to_numpy(dtype=float) - mean])
        ax.bar(x + (i - (len(metrics) - 1) / 2) * w, mean, w, yerr=np.nan_to_num(err), capsize=3,
               color=PALETTE[i % len(PALETTE)], label=m.upper())
    ax.set_xticks(x, summary[label], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (bars: range over seeds)")
    ax.legend(loc="upper right", ncols=len(metrics))
    return ax


def plot_honest_vs_oracle(table: pd.DataFrame, *, ax=None):
    """Paired bars: UF1 with the last epoch (honest) and with the best test epoch (oracle)."""
    if ax is None:
        _, ax = new_figure(width=max(4.5, 1.2 * len(table) + 2), height=3.4)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["UF1 honest (last epoch)"], 0.4, color=PALETTE[0], label="honest (last epoch)")
    ax.bar(x + 0.2, table["UF1 oracle (best test epoch)"], 0.4, color=PALETTE[3], hatch="//",
           label="oracle (best test epoch)")
    ax.set_xticks(x, table["model"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("UF1")
    ax.legend(loc="upper right")
    return ax


def plot_per_dataset(table: pd.DataFrame, metric: str = "uf1", *, ax=None):
    """Bars of ``metric`` per dataset (x) and model (colour) from a per-dataset long table."""
    if ax is None:
        _, ax = new_figure(width=5.5, height=3.4)
    sns.barplot(table, x="dataset", y=metric, hue="model", palette=list(PALETTE), errorbar="sd", ax=ax)
    ax.set_ylim(0, 1)
    ax.set_ylabel(metric.upper())
    return ax


def plot_efficiency(table: pd.DataFrame, x: str, y: str = "uf1", *, size: str | None = None,
                    label: str = "model", ax=None, logx: bool = True, xlabel: str | None = None,
                    fontsize: float = 8):
    """Scatter of a score against a cost (latency, parameters, training time), one labelled
    point per model; ``size`` scales the markers by another column, ``fontsize`` the labels."""
    if ax is None:
        _, ax = new_figure(width=5.2, height=3.6)
    s = 60.0
    if size is not None:
        v = table[size].astype(float).to_numpy()
        s = 40 + 260 * (np.sqrt(v) / np.sqrt(v).max())
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(table))]
    ax.scatter(table[x], table[y], s=s, c=colours, alpha=0.85, edgecolor="black", linewidth=0.5)
    if logx:
        ax.set_xscale("log")
    ax.margins(x=0.25, y=0.15)
    place_labels(ax, list(table[x]), list(table[y]), [str(n) for n in table[label]], fontsize=fontsize)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(y.upper() if y in ("uf1", "uar") else y)
    return ax


def plot_accuracy_vs_cost(points: pd.DataFrame, panels: Sequence[tuple[str, str]], y: str = "uf1", *,
                          size: str | None = "params", width: float = 12.0, height: float = 4.4,
                          fontsize: float = 12):
    """One row of score-against-cost scatters, legible at page width.

    Args:
        points: one row per model (e.g. :func:`stag.results.efficiency.accuracy_vs_cost`).
        panels: ``[(column, x label), ...]``, one panel each; missing columns are skipped.
        y: the score column.
        size: column scaling the markers (``None``: equal markers).
        width, height: figure size in inches (about a page width at ``12``).
        fontsize: axis labels; tick and point labels are one point smaller.
    """
    panels = [(c, lab) for c, lab in panels if c in points and points[c].notna().any()]
    if not panels:
        raise ValueError("none of the panel columns is in points")

    fig, axes = new_figure(1, len(panels), width=width, height=height, sharey=True, squeeze=False)
    for ax, (column, xlabel) in zip(axes[0], panels):
        plot_efficiency(points, column, y, size=size, ax=ax, xlabel=xlabel, fontsize=fontsize - 1)
        # Plain 1-2-5 tick labels: the default minor labels of a log axis spanning less than a
        # decade overlap.
        values = points[column].astype(float)
        wide = np.log10(values.max() / values.min()) > 2
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _compact(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.label.set_size(fontsize)
        ax.yaxis.label.set_size(fontsize)
        ax.tick_params(labelsize=fontsize - 1)
        ax.margins(x=0.25, y=0.15)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


def _compact(v: float) -> str:
    """``1500000 -> '1.5M'``, ``2000 -> '2k'``, ``0.5 -> '0.5'``."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def plot_confusions_or_note(items: Sequence[tuple[str, np.ndarray]], class_names: Sequence[str], *,
                            ncols: int = 3, note: str = "no recorded runs"):
    """:func:`plot_confusions`, or a figure that says ``note`` when ``items`` is empty."""
    if items:
        return plot_confusions(items, class_names, ncols=ncols)
    fig, ax = new_figure(width=4.0, height=1.0)
    ax.axis("off")
    ax.text(0.5, 0.5, note, ha="center", va="center")
    return fig


def plot_paired_differences(comparison: pd.DataFrame, *, ax=None):
    """Mean paired UF1 difference (A - B) per selection with its interval (``ci_low``,
    ``ci_high``) and the per-seed differences (``diff_per_seed``, comma-separated) as dots;
    the dashed line is no difference."""
    if ax is None:
        _, ax = new_figure(width=6.0, height=0.6 + 0.6 * max(1, len(comparison)))
    for i, (_, r) in enumerate(comparison.iterrows()):
        ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=PALETTE[0], lw=3, solid_capstyle="butt")
        ax.plot(r["diff_mean"], i, "o", color=PALETTE[0], ms=8)
        seeds = [float(x) for x in str(r["diff_per_seed"]).split(",") if x.strip()]
        ax.plot(seeds, [i + 0.18] * len(seeds), "x", color=PALETTE[1], ms=6)
    ax.axvline(0, color="0.4", ls="--", lw=1)
    ax.set_yticks(range(len(comparison)))
    ax.set_yticklabels([f"{r['a']} - {r['b']}\n({r['selection']})" for _, r in comparison.iterrows()])
    ax.set_xlabel("UF1 difference (dot: mean over seeds, bar: 95% subject bootstrap, x: per seed)")
    if comparison.empty:
        ax.text(0.5, 0.5, "no paired runs recorded", ha="center", va="center", transform=ax.transAxes)
    ax.invert_yaxis()
    return ax


def plot_apex_noise(table: pd.DataFrame, *, ax=None):
    """UF1 of each apex-based model against the apex annotation level (solid line, bars: 95%
    subject-bootstrap interval), and each model fed keyframes spotted from the motion as a
    dashed line with its interval shaded (it does not read the annotation); one colour per
    model.

    ``table``: :func:`stag.results.synthetic_study.apex_table`.
    """
    if ax is None:
        _, ax = new_figure(width=6.4, height=3.6)
    noisy = table[table["level"] != "spotted"]
    levels = list(dict.fromkeys(noisy["level"]))
    labels = dict(zip(noisy["level"], noisy["apex"]))
    x = {lvl: i for i, lvl in enumerate(levels)}
    colour = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(dict.fromkeys(table["model"]))}
    for model, g in table[table["level"] == "spotted"].groupby("model", sort=False):
        r = g.iloc[0]
        ax.axhspan(r["ci_low"], r["ci_high"], color=colour[model], alpha=0.10, lw=0)
        ax.axhline(r["uf1_mean"], color=colour[model], ls="--", lw=1.5, label=f"{model}, spotted from the motion")
    for j, (model, g) in enumerate(noisy.groupby("model", sort=False)):
        xs = [x[lvl] + 0.06 * (j - 0.5) for lvl in g["level"]]
        ax.errorbar(xs, g["uf1_mean"], yerr=[g["uf1_mean"] - g["ci_low"], g["ci_high"] - g["uf1_mean"]], fmt="o-",
                    color=colour[model], capsize=3, label=f"{model}, annotated apex")
    ax.set_xticks(range(len(levels)), [labels[lvl] for lvl in levels])
    ax.set_xlabel("apex annotation (error sd as a fraction of onset->apex)")
    ax.set_ylabel("LOSO UF1 (last epoch)")
    if table.empty:
        ax.text(0.5, 0.5, "no apex-noise runs recorded", ha="center", va="center", transform=ax.transAxes)
    else:
        # beside the axes, never over the points
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


def plot_flow_choice(decision: pd.DataFrame, goal: float = 200.0):
    """Two panels per flow preset: end-point error (apex pairs and warps) against pairs/s on
    one core (log scale, the speed goal dashed), and STAG's UF1 with its paired difference to
    TV-L1. ``decision``: :func:`stag.results.synthetic_study.flow_decision`'s table."""
    fig, (a, b) = new_figure(1, 2, width=9.0, height=3.2)
    for i, (_, r) in enumerate(decision.iterrows()):
        colour = PALETTE[i % len(PALETTE)]
        a.plot(r["pairs_per_s"], r["epe_apex"], "o", color=colour, ms=8, label=f"{r['flow']} (apex pairs)")
        a.plot(r["pairs_per_s"], r["epe_warp"], "s", color=colour, ms=7, mfc="none", label=f"{r['flow']} (warps)")
        b.bar(i, r["uf1_mean"], color=colour)
        b.text(i, r["uf1_mean"] + 0.005, f"{r['uf1_mean']:.3f}", ha="center", va="bottom", fontsize=8)
    a.axvline(goal, color="0.4", ls="--", lw=1)
    a.set_xscale("log")
    a.set_xlabel("pairs/s on one core (128 px)")
    a.set_ylabel("end-point error (px)")
    if len(decision):
        a.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    b.set_xticks(range(len(decision)), decision["flow"])
    lo = float(decision["uf1_mean"].min()) if len(decision) else 0.0
    b.set_ylim(max(0.0, lo - 0.1), min(1.0, float(decision["uf1_mean"].max() if len(decision) else 1) + 0.05))
    b.set_ylabel("STAG UF1 (mean of seeds)")
    if decision.empty:
        for ax in (a, b):
            ax.text(0.5, 0.5, "no flow comparison recorded", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def _forest(ax, t: pd.DataFrame, colour, *, muted: bool = False) -> None:
    """Rows of ``a - b`` differences with their intervals on ``ax`` (top to bottom)."""
    copies = {"megc2019": "first copy", "megc2019_phases": "two-phase"}
    for i, (_, r) in enumerate(t.iterrows()):
        ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot(r["diff_mean"], i, "o", color=colour, ms=6)
    ax.axvline(0, color="0.3", ls="--", lw=1)
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels([f"{r['a']} - {r['b']} ({copies.get(r.get('copy', ''), r.get('copy', ''))})"
                        for _, r in t.iterrows()], fontsize=9, color="0.4" if muted else "black")
    ax.set_ylim(max(len(t), 1) - 0.5, -0.5)
    ax.grid(axis="y", alpha=0.3)
    if t.empty:
        ax.text(0.5, 0.5, "no paired runs recorded yet", ha="center", va="center", transform=ax.transAxes,
                fontsize=11)


def plot_comparisons(table: pd.DataFrame, *, title: str = ""):
    """Every paired comparison of the real-face studies as forest plots: a row per ``a - b``
    (dot: mean paired UF1 difference over seeds; bar: 95% subject-bootstrap interval). With rows
    of studies whose inputs were read wrongly (``status``), those go to a second panel below, grey,
    on the same scale. Sized to be read at the width of a page (about 7.5 inches).

    ``table``: :func:`stag.results.chapters.abstract`'s ``comparisons`` (columns ``status, copy,
    a, b, diff_mean, ci_low, ci_high``) or :func:`stag.results.registered.comparisons` (all current).
    Returns the figure.
    """
    t = table.dropna(subset=["diff_mean"]).reset_index(drop=True)
    status = t["status"] if "status" in t else pd.Series("current", index=t.index)
    current, old = t[status == "current"], t[status != "current"]
    panels = [("audited inputs", current, PALETTE[0], False)]
    if len(old):
        panels.append(("earlier studies, inputs read wrongly (superseded)", old, "0.55", True))
    heights = [max(len(p[1]), 2) for p in panels]
    fig, axes = new_figure(len(panels), 1, width=7.5, height=0.9 * len(panels) + 0.24 * sum(heights), squeeze=False,
                           sharex=len(current) > 0, gridspec_kw={"height_ratios": heights})
    for ax, (label, part, colour, muted) in zip(axes[:, 0], panels):
        _forest(ax, part, colour, muted=muted)
        ax.set_title(label, fontsize=10, color="0.35" if muted else "black", loc="left")
    axes[-1, 0].set_xlabel("UF1 difference A - B (dot: mean over paired seeds; bar: 95% subject interval)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
