"""Figures of the real-face explanation study, drawn on the mean face template.

The real data may not be published, so no subject's face is ever drawn: every clip is shown on
the canonical aligned face (the mean 68-point shape of :mod:`stag.faces`, at the flow size),
with the ROI boxes that template gives. A clip's panel shows its coded AUs' regions (filled),
a method's top ROIs (numbered) and, for the learned adjacency, its strongest edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from stag.results.real_faces import METRIC_LABELS, parse_edges
from stag.faces import ROI_NAMES
from stag.preprocess.rois import roi_boxes, template_landmarks
from stag.viz.theme import PALETTE, new_figure

# Polylines of the 68-point template: (first, last, closed).
_OUTLINE: tuple[tuple[int, int, bool], ...] = ((0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False),
                                               (31, 35, False), (36, 41, True), (42, 47, True), (48, 59, True),
                                               (60, 67, True))
CODED_COLOUR = PALETTE[2]
TOP_COLOUR = PALETTE[1]
EDGE_COLOUR = PALETTE[0]


def template_geometry(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``(landmarks (68, 2), boxes (N, 4))`` of the mean face template at ``size`` pixels."""
    lm = template_landmarks(size)
    return lm, roi_boxes(lm, size)


def plot_template_rois(coded: Sequence[str], top: Sequence[str], edges: Sequence[tuple[int, int, float]] = (), *,
                       size: int = 64, ax=None, title: str | None = None):
    """One clip on the mean face: coded-AU regions filled, the top ROIs numbered, edges drawn.

    Args:
        coded: names of the ROIs of the clip's coded AUs.
        top: names of a method's top ROIs, most important first.
        edges: ``(i, j, weight)`` ROI index pairs (e.g. the strongest learned edges).
        size: template size in pixels (the flow size the ROIs were placed at).
    """
    lm, boxes = template_geometry(size)
    if ax is None:
        _, ax = new_figure(width=3.6, height=4.0)
    for a, b, closed in _OUTLINE:
        pts = lm[a:b + 1]
        if closed:
            pts = np.vstack([pts, pts[:1]])
        ax.plot(pts[:, 0], pts[:, 1], color="0.55", lw=0.8, zorder=1)
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    index = {n: i for i, n in enumerate(ROI_NAMES)}
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        filled = ROI_NAMES[i] in set(coded)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=filled, fc=CODED_COLOUR, alpha=0.35 if filled else 1,
                               ec="0.8", lw=0.5, zorder=0))
    if edges:
        top_w = max(w for _, _, w in edges) or 1.0
        for i, j, w in edges:
            ax.plot(*centres[[i, j]].T, color=EDGE_COLOUR, lw=0.6 + 2.4 * w / top_w, alpha=0.75, zorder=2)
    for rank, name in enumerate(top, start=1):
        i = index[name]
        x0, y0, x1, y1 = boxes[i]
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=TOP_COLOUR, lw=1.8, zorder=3))
        ax.text(*centres[i], str(rank), ha="center", va="center", fontsize=11, weight="bold", color=TOP_COLOUR,
                zorder=4, bbox=dict(fc="white", ec="none", alpha=0.8, pad=0.5))
    ax.set_xlim(0, size)
    ax.set_ylim(size, 0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def plot_example_clips(rows: pd.DataFrame, methods: Sequence[str], *, labels: dict[str, str] | None = None,
                       class_names: Sequence[str] | None = None, size: int = 64):
    """A grid of clips (rows) by methods (columns) on the mean face.

    Args:
        rows: per-clip rows of :func:`stag.results.real_faces.example_clips` (columns
            ``clip_id, dataset, label, method, coded_rois, top_rois, edges, pointing, mrr``).
        methods: the methods to show, in column order.
        labels: method -> column title.
        class_names: names of the class ids.
    """
    clips = list(dict.fromkeys(rows["clip_id"]))
    fig, axes = new_figure(len(clips), len(methods), width=3.2 * len(methods), height=3.6 * len(clips),
                           squeeze=False)
    for r, cid in enumerate(clips):
        for c, method in enumerate(methods):
            ax = axes[r, c]
            hit = rows[(rows["clip_id"] == cid) & (rows["method"] == method)]
            if hit.empty:
                ax.set_axis_off()
                continue
            x = hit.iloc[0]
            title = f"{(labels or {}).get(method, method)}\npointing {x['pointing']:.0f}, RR {x['mrr']:.2f}"
            plot_template_rois(str(x["coded_rois"]).split("|"), str(x["top_rois"]).split("|"),
                               parse_edges(x["edges"]), size=size, ax=ax, title=title)
        x = rows[rows["clip_id"] == cid].iloc[0]
        cls = class_names[int(x["label"])] if class_names is not None else str(x["label"])
        axes[r, 0].text(-0.08, 0.5, f"{x['dataset']}, {cls}", transform=axes[r, 0].transAxes,
                        rotation=90, ha="right", va="center", fontsize=11)
    fig.tight_layout()
    return fig


def plot_gains(summ: pd.DataFrame, metric: str = "mrr", *, labels: dict[str, str] | None = None, ax=None):
    """Gain over permutation chance of each model and method with its 95% interval (one score)."""
    s = summ[summ["metric"] == metric].reset_index(drop=True)
    if ax is None:
        _, ax = new_figure(width=6.4, height=0.9 + 0.32 * len(s))
    y = np.arange(len(s))[::-1]
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(dict.fromkeys(s["model"]))}
    for yi, (_, r) in zip(y, s.iterrows()):
        ax.errorbar(r["gain"], yi, xerr=[[r["gain"] - r["ci_low"]], [r["ci_high"] - r["gain"]]], fmt="o",
                    color=colours[r["model"]], capsize=3)
    ax.axvline(0, color="0.4", lw=1, ls="--")
    ax.set_yticks(y, [f"{m}: {(labels or {}).get(me, me)}" for m, me in zip(s["model"], s["method"])])
    ax.set_xlabel(f"{METRIC_LABELS.get(metric, metric)} minus its permutation chance within dataset and class\n"
                  "(95% subject-bootstrap interval)")
    return ax
