"""Figures of the interpretability chapter: attribution overlays, ROI bars against ground
truth, edge maps, keyframe attribution, the localisation table and faithfulness curves.

Each function takes results computed by :mod:`stag.explain` (an
:class:`~stag.explain.study.Explanation` or its tables) and returns the figure; none computes
attributions or scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stag.viz.theme import DIVERGING_CMAP, PALETTE, new_figure

METHOD_LABELS: dict[str, str] = {
    "ig": "Integrated Gradients", "gradshap": "GradientShap", "saliency": "Saliency", "occlusion": "Occlusion",
    "motion": "flow magnitude (control)", "random": "random map (control)", "roi_occlusion": "ROI occlusion",
    "layer_ig": "layer IG (ROI nodes)", "truth": "ground truth",
}


def _label(name: str) -> str:
    return METHOD_LABELS.get(name, name)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def plot_overlays(explanation, *, clip_ids: Sequence[str] | None = None, n_clips: int = 4,
                  methods: Sequence[str] | None = None, alpha: float = 0.6):
    """One row per clip: the aligned apex face with the AU masks outlined, then each method's
    positive attribution map over the face (normalised per map to its 99th percentile).

    Args:
        explanation: an :class:`~stag.explain.study.Explanation`.
        clip_ids: clips to show (default: the first ``n_clips``, correct predictions first).
        methods: map names (default: the attribution methods plus the motion control).
    """
    ex = explanation
    clips = ex.clips.reset_index(drop=True)
    if clip_ids is None:
        order = clips.sort_values("correct", ascending=False, kind="stable").index[:n_clips]
    else:
        index = {c: i for i, c in enumerate(clips["clip_id"])}
        missing = [c for c in clip_ids if c not in index]
        if missing:
            raise ValueError(f"clips {missing} are not in this explanation")
        order = [index[c] for c in clip_ids]
    methods = list(methods or [m for m in ex.maps if m != "random"])
    ncols = 1 + len(methods)
    fig, axes = new_figure(len(order), ncols, width=1.9 * ncols, height=2.0 * len(order) + 0.3, squeeze=False)
    for r, i in enumerate(order):
        face = ex.faces[i].astype(float)
        row = clips.loc[i]
        axes[r, 0].imshow(face, cmap="gray")
        if ex.masks[i].any():
            axes[r, 0].contour(ex.masks[i], levels=[0.5], colors=[PALETTE[1]], linewidths=1.0)
        axes[r, 0].set_title(f"{row['label_name']} (AU {row['aus'] or '-'})\npred {row['pred_name']}", fontsize=8)
        for c, m in enumerate(methods, start=1):
            amap = ex.maps[m][i]
            top = np.percentile(amap, 99) or 1.0
            axes[r, c].imshow(face, cmap="gray")
            axes[r, c].imshow(np.clip(amap / top, 0, 1), cmap="inferno", alpha=alpha)
            if ex.masks[i].any():
                axes[r, c].contour(ex.masks[i], levels=[0.5], colors=["white"], linewidths=0.7)
            if r == 0:
                axes[r, c].set_title(_label(m), fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


def plot_region_importance(regions: pd.DataFrame, *, sources: Sequence[str] | None = None,
                           clip_id: str | None = None, ax=None):
    """ROI importance of each source beside the ground-truth AU motion per ROI.

    Each source is scaled per clip to its maximum absolute value, then averaged over clips
    (or shown for one ``clip_id``), so the bars compare rankings, not units.
    """
    df = regions if clip_id is None else regions[regions["clip_id"] == clip_id]
    if df.empty:
        raise ValueError(f"no ROI importances{'' if clip_id is None else f' for clip {clip_id!r}'}")
    sources = list(sources or [s for s in ("ig", "occlusion", "roi_occlusion", "layer_ig") if s in set(df["source"])])
    sources = sources + ["truth"] if "truth" in set(df["source"]) else sources
    df = df[df["source"].isin(sources)].copy()
    scale = df.groupby(["clip_id", "source"])["value"].transform(lambda v: np.abs(v).max() or 1.0)
    df["scaled"] = df["value"] / scale
    mean = df.groupby(["roi", "roi_name", "source"], as_index=False)["scaled"].mean()
    names = mean.drop_duplicates("roi").sort_values("roi")["roi_name"].tolist()
    if ax is None:
        _, ax = new_figure(width=9.0, height=3.8)
    width = 0.8 / len(sources)
    for j, src in enumerate(sources):
        vals = mean[mean["source"] == src].set_index("roi")["scaled"].reindex(range(len(names)))
        ax.bar(np.arange(len(names)) + (j - (len(sources) - 1) / 2) * width, vals, width,
               label=_label(src), color="0.25" if src == "truth" else _colour(j))
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_ylabel("importance (scaled per clip)")
    ax.legend(ncols=min(3, len(sources)), fontsize=8)
    ax.set_title("ROI importance vs ground-truth AU motion" + ("" if clip_id is None else f" ({clip_id})"))
    return ax.figure


def plot_edges(matrix: np.ndarray, roi_names: Sequence[str], *, title: str = "mean learned adjacency", ax=None):
    """Heat map of an ``(N, N)`` ROI-pair matrix (row ``i`` = edges into ROI ``i``)."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(roi_names):
        raise ValueError(f"matrix {m.shape} must be (N, N) with N = {len(roi_names)} ROI names")
    if ax is None:
        _, ax = new_figure(width=5.6, height=5.0)
    im = ax.imshow(m, cmap="viridis")
    ax.set_xticks(range(len(roi_names)))
    ax.set_yticks(range(len(roi_names)))
    ax.set_xticklabels(roi_names, rotation=90, fontsize=7)
    ax.set_yticklabels(roi_names, fontsize=7)
    ax.set_xlabel("source ROI")
    ax.set_ylabel("target ROI")
    ax.grid(False)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax.figure


def plot_keyframes(keyframes: pd.DataFrame, *, methods: Sequence[str] | None = None, ax=None):
    """Mean attribution share per keyframe position beside the magnitude prior and the learned
    temporal attention (each normalised to sum 1 over a clip's real keyframes)."""
    df = keyframes.dropna(subset=["importance"]).copy()
    methods = list(methods or sorted(set(df["method"])))
    df = df[df["method"].isin(methods)]
    df["abs"] = df["importance"].abs()
    df["share"] = df["abs"] / df.groupby(["clip_id", "method"])["abs"].transform("sum").replace(0, np.nan)
    if ax is None:
        _, ax = new_figure(width=6.4, height=3.6)
    for j, m in enumerate(methods):
        g = df[df["method"] == m].groupby("k")["share"].mean()
        ax.plot(g.index, g.values, marker="o", color=_colour(j), label=f"{_label(m)} (|attribution| share)")
    ref = df[df["method"] == methods[0]].copy()
    for col, style, name in (("magnitude", "--", "magnitude prior"), ("temporal_attention", ":", "temporal attention")):
        if ref[col].notna().any():
            ref[f"{col}_n"] = ref[col] / ref.groupby("clip_id")[col].transform("sum").replace(0, np.nan)
            g = ref.groupby("k")[f"{col}_n"].mean()
            ax.plot(g.index, g.values, style, color="0.3", label=name)
    ax.set_xticks(sorted(set(df["k"])))
    ax.set_xlabel("keyframe k (in time order)")
    ax.set_ylabel("share over keyframes")
    ax.legend(fontsize=8)
    ax.set_title("Where in time the evidence sits")
    return ax.figure


def plot_localisation(table: pd.DataFrame, *, ax=None):
    """Bars of the mean AU-localisation lift per method (a ``localisation_table()`` indexed by
    method), with chance (1) and the masks' ceiling (``1 / area_share``) as lines."""
    t = table.dropna(subset=["lift"])
    if ax is None:
        _, ax = new_figure(width=6.4, height=3.4)
    colours = ["0.6" if m in ("random", "motion") else _colour(i) for i, m in enumerate(t.index)]
    ax.barh([_label(m) for m in t.index], t["lift"], color=colours)
    ax.axvline(1.0, color="0.3", ls="--", lw=1, label="chance (lift 1)")
    ceiling = float((1 / t["area_share"]).mean())
    ax.axvline(ceiling, color=PALETTE[3], ls=":", lw=1.2, label=f"ceiling (map = masks), {ceiling:.2f}")
    ax.invert_yaxis()
    ax.set_xlabel("AU-localisation lift (share inside masks / masks' area share)")
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def plot_faithfulness(curves: pd.DataFrame, *, unit: str = "pixel", value: str = "prob", methods: Sequence[str] | None = None):
    """Mean deletion and insertion curves per method, the random order dashed."""
    df = curves[curves["unit"] == unit]
    if df.empty:
        raise ValueError(f"no {unit!r} curves")
    modes = [m for m in ("deletion", "insertion") if m in set(df["mode"])]
    fig, axes = new_figure(1, len(modes), width=5.0 * len(modes), height=3.6, squeeze=False)
    methods = list(methods or [m for m in dict.fromkeys(df["method"]) if m != "random"])
    for ax, mode in zip(axes[0], modes):
        d = df[df["mode"] == mode]
        for j, m in enumerate([*methods, "random"]):
            g = d[d["method"] == m].groupby("fraction")[value].mean()
            if len(g):
                ax.plot(g.index, g.values, "--" if m == "random" else "-", marker=None if m == "random" else ".",
                        color="0.4" if m == "random" else _colour(j), label=_label(m))
        ax.set_xlabel(f"share of {'pixels' if unit == 'pixel' else 'ROIs'} {'removed' if mode == 'deletion' else 'restored'}")
        ax.set_ylabel({"prob": "target probability", "logit": "target logit", "correct": "accuracy"}.get(value, value))
        ax.set_title(mode)
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_signed_map(amap: np.ndarray, face: np.ndarray | None = None, *, mask: np.ndarray | None = None,
                    title: str = "", ax=None):
    """A signed attribution map (evidence for red, against blue) over an optional face."""
    if ax is None:
        _, ax = new_figure(width=3.2, height=3.2)
    if face is not None:
        ax.imshow(face, cmap="gray")
    lim = float(np.abs(amap).max()) or 1.0
    ax.imshow(amap, cmap=DIVERGING_CMAP, vmin=-lim, vmax=lim, alpha=0.65 if face is not None else 1.0)
    if mask is not None and np.any(mask):
        ax.contour(mask, levels=[0.5], colors=["k"], linewidths=0.7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)
    return ax.figure
