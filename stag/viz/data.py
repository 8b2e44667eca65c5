"""Figures of the data chapter: faces, frames, motion, AU masks, labels, landmark errors.

Every function takes data (arrays, clips, tables) and returns the matplotlib figure; none
computes a result that the text relies on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stag.viz.theme import DIVERGING_CMAP, PALETTE, new_figure


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)


def plot_face_grid(images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10, size: float = 1.25):
    """Grid of ``(n, H, W, 3)`` uint8 faces (for instance one neutral face per subject)."""
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = new_figure(nrows, ncols, width=size * ncols, height=size * nrows * 1.12, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        _off(ax)
        if i < n:
            ax.imshow(images[i])
            if titles is not None:
                ax.set_title(titles[i], fontsize=8, pad=2)
    fig.tight_layout(pad=0.3)
    return fig


def plot_clip_frames(clip, n: int = 6, landmarks: bool = True):
    """``n`` frames of a clip evenly spread from the first to the last, onset/apex/offset
    always included, with the ground-truth landmarks and the intensity in the titles."""
    frames = clip.load_frames()
    T = len(frames)
    keys = {clip.onset: "onset", clip.apex: "apex", clip.offset: "offset"}
    idx = sorted(set(np.linspace(0, T - 1, max(n - 3, 2)).round().astype(int)) | {k for k in keys if k is not None})
    fig, axes = new_figure(1, len(idx), width=1.7 * len(idx), height=2.1, squeeze=False)
    inten = clip.truth.get("intensity")
    for ax, t in zip(axes[0], idx):
        ax.imshow(frames[t])
        if landmarks and clip.landmarks is not None:
            ax.scatter(clip.landmarks[t, :, 0], clip.landmarks[t, :, 1], s=2, c=PALETTE[6], linewidths=0)
        label = f"t={t}" + (f" ({keys[t]})" if t in keys else "")
        if inten is not None:
            label += f"\nI={inten[t]:.2f}"
        ax.set_title(label, fontsize=8, pad=2)
        _off(ax)
    fig.suptitle(f"{clip.clip_id}: {clip.emotion}, AU {'+'.join(map(str, clip.aus))}", fontsize=10)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.9))
    return fig


def plot_apex_difference(clip, magnify: float = 10.0, step: int = 6):
    """Onset, apex, the magnified ``|apex - onset|`` and the true onset->apex flow."""
    frames = clip.load_frames()
    onset, apex = frames[clip.onset], frames[clip.apex]
    diff = np.abs(apex.astype(np.float32) - onset.astype(np.float32)).mean(-1)
    fig, axes = new_figure(1, 4, width=10.0, height=2.9)
    axes[0].imshow(onset)
    axes[0].set_title(f"onset (t={clip.onset})", fontsize=9)
    axes[1].imshow(apex)
    axes[1].set_title(f"apex (t={clip.apex})", fontsize=9)
    axes[2].imshow(np.clip(diff * magnify, 0, 255), cmap="magma", vmin=0, vmax=255)
    axes[2].set_title(f"|apex - onset| x {magnify:g}", fontsize=9)
    flow = clip.truth.get("apex_flow")
    if flow is not None:
        mag = np.linalg.norm(flow, axis=-1)
        im = axes[3].imshow(mag, cmap="viridis")
        H, W = mag.shape
        yy, xx = np.mgrid[step // 2:H:step, step // 2:W:step]
        axes[3].quiver(xx, yy, flow[yy, xx, 0], flow[yy, xx, 1], color="white", angles="xy",
                       scale_units="xy", scale=0.25, width=0.004)
        axes[3].set_title("true flow (px), arrows x4", fontsize=9)
        fig.colorbar(im, ax=axes[3], fraction=0.046, pad=0.02)
    for ax in axes:
        _off(ax)
    fig.tight_layout(pad=0.3)
    return fig


def plot_au_masks(clip):
    """The apex frame with each active AU's pixel mask outlined, and the AU-only flow."""
    frames = clip.load_frames()
    masks = clip.truth["au_masks"]
    au_ids = clip.truth["au_ids"]
    fig, axes = new_figure(1, 2, width=6.4, height=3.2)
    axes[0].imshow(frames[clip.apex])
    handles = []
    import matplotlib.patches as mpatches

    for k, (au, m) in enumerate(zip(au_ids, masks)):
        colour = PALETTE[k % len(PALETTE)]
        axes[0].contour(m.astype(float), levels=[0.5], colors=[colour], linewidths=1.5)
        handles.append(mpatches.Patch(color=colour, label=f"AU{au} ({clip.truth['au_intensity'][au]:.2f} px)"))
    axes[0].legend(handles=handles, loc="lower center", fontsize=7, framealpha=0.8)
    axes[0].set_title("AU masks at the apex", fontsize=9)
    au_flow = clip.truth["apex_flow_au"]
    im = axes[1].imshow(np.linalg.norm(au_flow, axis=-1), cmap="viridis")
    axes[1].set_title("AU displacement only (px)", fontsize=9)
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.02)
    for ax in axes:
        _off(ax)
    fig.tight_layout(pad=0.3)
    return fig


def plot_label_distribution(by_class, by_subject):
    """Clip counts per class (left) and per subject stacked by class (right).

    Args:
        by_class: ``ClipSet.summary("class")`` table; by_subject: ``summary("subject")``.
    """
    classes = [c for c in by_class.columns if c != "total"]
    fig, axes = new_figure(1, 2, width=10.0, height=3.2, gridspec_kw={"width_ratios": [1, 3]})
    counts = by_class[classes].sum(0)
    axes[0].bar(classes, counts.values, color=PALETTE[: len(classes)])
    for i, v in enumerate(counts.values):
        axes[0].text(i, v, str(int(v)), ha="center", va="bottom", fontsize=9)
    axes[0].set_ylabel("clips")
    axes[0].set_title("per class", fontsize=10)
    subj = by_subject[classes]
    names = [s if isinstance(s, str) else s[-1] for s in subj.index]
    bottom = np.zeros(len(subj))
    for k, c in enumerate(classes):
        axes[1].bar(names, subj[c].values, bottom=bottom, color=PALETTE[k], label=c)
        bottom += subj[c].values
    axes[1].set_title("per subject", fontsize=10)
    axes[1].tick_params(axis="x", labelrotation=90, labelsize=7)
    axes[1].legend(fontsize=8, ncols=len(classes), loc="upper right")
    fig.tight_layout()
    return fig


def plot_intensity_profile(clip, motion: np.ndarray | None = None):
    """The true AU intensity profile (and blink / macro-movement profiles) against time,
    with onset, apex and offset marked; ``motion`` (T,) optionally overlays a measured
    per-frame motion scaled to [0, 1]."""
    fig, ax = new_figure(width=6.4, height=3.0)
    fps = clip.fps or 1.0
    t = np.arange(len(clip.truth["intensity"])) / fps * 1000.0
    ax.plot(t, clip.truth["intensity"], color=PALETTE[0], lw=2, label="AU intensity")
    for key, colour, name in (("blink", PALETTE[1], "blink"), ("macro", PALETTE[3], "macro-movement")):
        prof = clip.truth.get(key)
        if prof is not None and np.any(prof > 0):
            ax.plot(t, prof, color=colour, lw=1.2, ls="--", label=name)
    if motion is not None:
        m = np.asarray(motion, float)
        ax.plot(t, m / (m.max() + 1e-9), color=PALETTE[2], lw=1, label="measured motion (scaled)")
    for idx, name, ls in ((clip.onset, "onset", ":"), (clip.apex, "apex", "-"), (clip.offset, "offset", ":")):
        if idx is not None:
            ax.axvline(t[idx], color="0.4", ls=ls, lw=1)
            ax.text(t[idx], 1.04, name, ha="center", fontsize=8, color="0.3")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("relative intensity")
    ax.set_ylim(-0.03, 1.12)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def plot_landmark_errors(table, groups: Sequence[str] = ("jaw", "brows", "nose", "eyes", "mouth")):
    """Box plot of dlib's landmark error (px) per landmark group, from ``dlib_check``."""
    import pandas as pd
    import seaborn as sns

    long = pd.concat([pd.DataFrame({"group": g, "error (px)": table[f"error_{g}"]}) for g in groups])
    fig, ax = new_figure(width=6.0, height=3.0)
    sns.boxplot(data=long.dropna(), x="group", y="error (px)", hue="group", palette=list(PALETTE[: len(groups)]),
                legend=False, ax=ax, fliersize=1.5)
    ax.set_xlabel("")
    ax.set_title("dlib 68-point landmarks vs ground truth", fontsize=10)
    fig.tight_layout()
    return fig


def plot_difference_image_stack(diffs: np.ndarray, titles: Sequence[str]):
    """Mean ``|apex - onset|`` image per class (``(n, H, W)`` float), shared colour scale."""
    fig, axes = new_figure(1, len(diffs), width=2.6 * len(diffs), height=2.8, squeeze=False)
    vmax = float(np.max(diffs))
    for ax, d, title in zip(axes[0], diffs, titles):
        ax.imshow(d, cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
        _off(ax)
    fig.tight_layout(pad=0.3)
    return fig


__all__ = [
    "plot_face_grid", "plot_clip_frames", "plot_apex_difference", "plot_au_masks", "plot_label_distribution",
    "plot_intensity_profile", "plot_landmark_errors", "plot_difference_image_stack", "DIVERGING_CMAP",
]


def plot_calibration(table, target: tuple[float, float] = (0.60, 0.70)):
    """UF1 against the synthetic set's ``difficulty``, one line per model, the real-data
    ``target`` band shaded and the default difficulty marked.

    ``table``: :func:`stag.data.synthetic_calibration.calibration_table` (columns
    ``difficulty``, ``model``, ``uf1``, ``is_default``).
    """
    fig, ax = new_figure(1, 1, width=6.0, height=3.4)
    ax.axhspan(*target, color=PALETTE[2], alpha=0.15, lw=0, label="real composite (STSTNet-like)")
    for i, (model, g) in enumerate(table.groupby("model", sort=True)):
        g = g.groupby("difficulty", as_index=False).agg(uf1=("uf1", "mean"), is_default=("is_default", "any"))
        ax.plot(g["difficulty"], g["uf1"], "o-", color=PALETTE[i % len(PALETTE)], label=model)
        d = g[g["is_default"]]
        ax.plot(d["difficulty"], d["uf1"], "*", ms=14, color=PALETTE[i % len(PALETTE)], mec="black")
    defaults = table.loc[table["is_default"], "difficulty"].unique()
    for x in defaults:
        ax.axvline(x, color="grey", ls="--", lw=1)
    ax.set_xlabel("difficulty (0 easy ... 1 hard)")
    ax.set_ylabel("LOSO UF1 (last epoch)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
