"""Figures and tables for the AU-linked facial regions (ROIs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from stag.data.aus import AU_NAMES
from stag.faces import ROI_NAMES, ROI_TABLE
from stag.viz.theme import PALETTE, new_figure


# Display names for tick labels, where 16 full names do not fit a heat map at the book's width.
_SHORT = {"brow_inner": "inner brow", "brow_outer": "outer brow", "nose_wing": "nose wing",
          "mouth_corner": "mouth corner", "upper_lip": "upper lip", "lower_lip": "lower lip"}


def short_roi_names(names) -> list[str]:
    """Tick labels for ROI names: words instead of identifiers, the side last
    (``"brow_inner_R"`` -> ``"inner brow R"``)."""
    out = []
    for name in names:
        base, side = (name[:-2], name[-1]) if name[-2:] in ("_R", "_L") else (name, "")
        out.append((_SHORT.get(base, base.replace("_", " ")) + (f" {side}" if side else "")).strip())
    return out


def plot_rois(face: np.ndarray, boxes: np.ndarray, names=None, ax=None, *, landmarks=None,
              labels: bool = True, title: str | None = None):
    """Draw ROI boxes (and optionally landmarks) over a face image.

    Args:
        face: ``(H, W)`` grey or ``(H, W, 3)`` RGB image.
        boxes: ``(N, 4)`` boxes ``(x0, y0, x1, y1)`` in pixels of ``face``.
        names: ``N`` region names (default :data:`stag.faces.ROI_NAMES`).
        ax: axes to draw on (a new figure when ``None``).
        landmarks: optional ``(68, 2)`` points.

    Returns:
        The axes.
    """
    names = ROI_NAMES if names is None else names
    if ax is None:
        _, ax = new_figure(width=5, height=5)
    img = np.asarray(face)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255 if img.dtype == np.uint8 else None)
    for i, (x0, y0, x1, y1) in enumerate(np.asarray(boxes)):
        colour = PALETTE[i % len(PALETTE)]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.3, ec=colour))
        if labels and i < len(names):
            ax.text(x0, y0 - 1, str(names[i]), color=colour, fontsize=6, va="bottom",
                    bbox=dict(fc="white", ec="none", alpha=0.6, pad=0.5))
    if landmarks is not None:
        lm = np.asarray(landmarks)
        ax.scatter(lm[:, 0], lm[:, 1], s=4, c=PALETTE[3], zorder=3)
    ax.set_axis_off()
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def roi_table_frame():
    """The ROI table as a :class:`pandas.DataFrame` (region, mirror, landmarks, AUs with names)."""
    rows = [{
        "region": r.name,
        "mirror": r.mirror,
        "landmarks": ", ".join(map(str, r.landmarks)),
        "AUs": "+".join(map(str, r.aus)),
        "AU names": "; ".join(AU_NAMES.get(a, f"AU{a}") for a in r.aus),
    } for r in ROI_TABLE]
    return pd.DataFrame(rows).set_index("region")


def plot_adjacency(adj: np.ndarray, names=None, ax=None, title: str = "AU prior adjacency"):
    """Heat map of an ``(N, N)`` ROI adjacency matrix. Returns the axes."""
    names = ROI_NAMES if names is None else names
    if ax is None:
        _, ax = new_figure(width=6.5, height=5.5)
    labels = short_roi_names(names)
    sns.heatmap(np.asarray(adj), xticklabels=labels, yticklabels=labels, cmap="viridis", vmin=0, vmax=1,
                square=True, ax=ax, cbar_kws={"shrink": 0.7})
    ax.tick_params(labelsize=9)
    ax.set_title(title)
    return ax
