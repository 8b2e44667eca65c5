"""Figures of the optical-flow chapter: colour-coded flow, strain, stacks, method comparison.

Functions take arrays or tables and return the figure; they compute nothing the text relies on.
"""

from __future__ import annotations

import numpy as np

from stag.preprocess.flow import flow_magnitude, flow_to_rgb
from stag.viz.theme import PALETTE, new_figure


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _quiver(ax, flow: np.ndarray, step: int = 8, scale: float | None = None, mask: np.ndarray | None = None) -> None:
    h, w = flow.shape[:2]
    yy, xx = np.mgrid[step // 2:h:step, step // 2:w:step]
    keep = np.ones(yy.shape, bool) if mask is None else np.asarray(mask, bool)[yy, xx]
    yy, xx = yy[keep], xx[keep]
    u, v = flow[yy, xx, 0], flow[yy, xx, 1]
    ax.quiver(xx, yy, u, v, color="white", angles="xy", scale_units="xy",
              scale=scale or max(float(np.hypot(u, v).max()) / step, 1e-6), width=0.004)


def _robust_top(values, mask, q: float) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.asarray(mask, bool)] if mask is not None else v.ravel()
    return max(float(np.percentile(v, q)), 1e-6)


def plot_flow_panels(face: np.ndarray, flows: dict, strain: dict | None = None, *, mask: np.ndarray | None = None,
                     reference: str = "truth", max_magnitude: float | None = None, max_strain: float | None = None,
                     percentile: float = 99.0, quiver: bool = True, subtitle: str = ""):
    """Face, then one colour-coded flow per entry of ``flows`` (name -> ``(H, W, 2)``), and
    optionally a row of strain maps (name -> ``(H, W)``). Hue = direction, brightness = magnitude.

    Every flow panel shares one brightness scale and every strain panel one colour scale, so
    the panels compare. By default both are the ``percentile`` of the ``reference`` entry (the
    truth) inside ``mask``: a method that over-estimates saturates instead of darkening the
    truth, and the edges of the image (where flow is undefined) cannot set the scale. Pixels
    outside ``mask`` are greyed out. Returns the figure.
    """
    names = list(flows)
    nrows = 2 if strain else 1
    ncols = len(names) + 1
    fig, axes = new_figure(nrows, ncols, width=2.3 * ncols, height=2.5 * nrows + 0.3, squeeze=False)
    ref = reference if reference in flows else None
    top = max_magnitude or (_robust_top(flow_magnitude(flows[ref]), mask, percentile) if ref else
                            max(_robust_top(flow_magnitude(f), mask, percentile) for f in flows.values()))
    outside = None
    if mask is not None:
        outside = np.zeros((*np.shape(mask), 4))
        outside[~np.asarray(mask, bool)] = (0.88, 0.88, 0.88, 1.0)
    axes[0, 0].imshow(face, cmap="gray")
    axes[0, 0].set_title("aligned face", fontsize=9)
    for j, name in enumerate(names, start=1):
        ax = axes[0, j]
        ax.imshow(flow_to_rgb(flows[name], top))
        if quiver:
            _quiver(ax, flows[name], scale=top / 8 * 1.2, mask=mask)
        if outside is not None:
            ax.imshow(outside)
        ax.set_title(name, fontsize=9)
    if strain:
        sref = reference if reference in strain else None
        smax = max_strain or (_robust_top(strain[sref], mask, percentile) if sref else
                              max(_robust_top(s, mask, percentile) for s in strain.values()))
        axes[1, 0].imshow(_colour_wheel(64))
        axes[1, 0].set_title("direction key", fontsize=9)
        for j, name in enumerate(names, start=1):
            if name in strain:
                im = axes[1, j].imshow(strain[name], cmap="magma", vmin=0, vmax=smax)
                if outside is not None:
                    axes[1, j].imshow(outside)
                axes[1, j].set_title(f"strain: {name}", fontsize=9)
        fig.colorbar(im, ax=axes[1, -1], fraction=0.046, pad=0.02, extend="max")
    for ax in axes.ravel():
        _off(ax)
    basis = f"the {percentile:g}th percentile of the {ref} inside the face" if ref and not max_magnitude else "as given"
    title = (f"flow colour: hue = direction, brightness = magnitude, full at {top:.2f} px ({basis})"
             + (f"\n{subtitle}" if subtitle else ""))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _colour_wheel(size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    f = np.stack([xx, yy], -1)
    rgb = flow_to_rgb(f, size / 2)
    rgb[np.hypot(xx, yy) > size / 2] = 255
    return rgb


def plot_flow_stack(flows: np.ndarray, key_indices=None, magnitudes=None, channels=("u", "v", "strain"),
                    max_cols: int = 8):
    """Grid of a ``(K, C, H, W)`` stack: one row per channel, one column per keyframe."""
    k, c = flows.shape[:2]
    k = min(k, max_cols)
    c = min(c, len(channels))
    fig, axes = new_figure(c, k, width=1.5 * k + 0.6, height=1.55 * c + 0.3, squeeze=False)
    for ci in range(c):
        data = flows[:k, ci]
        if channels[ci] in ("u", "v"):
            lim = max(float(np.percentile(np.abs(flows[:, ci]), 99.5)), 1e-6)
            kw = dict(cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            kw = dict(cmap="magma", vmin=0, vmax=max(float(np.percentile(flows[:, ci], 99.5)), 1e-6))
        for ki in range(k):
            ax = axes[ci, ki]
            ax.imshow(data[ki], **kw)
            _off(ax)
            if ci == 0:
                title = f"frame {key_indices[ki]}" if key_indices is not None else f"k={ki}"
                if magnitudes is not None:
                    title += f"\nm={magnitudes[ki]:.2f}"
                ax.set_title(title, fontsize=8)
            if ki == 0:
                ax.set_ylabel(channels[ci], fontsize=9)
    fig.tight_layout(pad=0.3)
    return fig


def plot_method_chart(table, x: str = "pairs_per_s", y: str = "epe", hue: str = "set", ax=None):
    """Speed/accuracy chart: one point per (method, set), log-scaled speed; lower right is better."""
    if ax is None:
        fig, ax = new_figure(width=7, height=4.2)
    sets = list(dict.fromkeys(table[hue]))
    markers = "osD^v"
    for i, s in enumerate(sets):
        sub = table[table[hue] == s]
        ax.scatter(sub[x], sub[y], s=50, color=PALETTE[i % len(PALETTE)], marker=markers[i % len(markers)], label=s,
                   zorder=3)
        for _, row in sub.iterrows():
            ax.annotate(row["method"], (row[x], row[y]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("pairs per second, one core (log)")
    ax.set_ylabel("mean end-point error (px)")
    ax.legend(title=hue, fontsize=8)
    ax.set_title("optical flow: speed vs accuracy")
    return ax.figure
