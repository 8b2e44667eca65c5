"""Figures of keyframe selection: the magnitude curve with true and spotted phases, error summaries."""

from __future__ import annotations

import numpy as np

from stag.viz.theme import PALETTE, new_figure


def plot_magnitude_curve(curve: np.ndarray, key_indices=None, *, onset=None, apex=None, offset=None,
                         spotted_apex=None, spotted_interval=None, intensity=None, distractors=None, ax=None,
                         title: str = ""):
    """Motion magnitude per frame, the chosen keyframes, the true onset/apex/offset (dashed) and
    the spotted apex and interval (shaded). ``intensity``: the true profile, scaled to the curve;
    ``distractors``: name -> ``(T,)`` profile (blink, macro-movement) drawn on the same scale
    where non-zero."""
    if ax is None:
        _, ax = new_figure(width=8.5, height=3.2)
    t = np.arange(len(curve))
    ax.plot(t, curve, color=PALETTE[0], lw=1.8, label="magnitude (used)")
    if intensity is not None and np.max(intensity) > 0:
        ax.plot(t, np.asarray(intensity) / np.max(intensity) * np.max(curve), color="grey", lw=1, ls=":",
                label="true intensity (scaled)")
    for i, (name, prof) in enumerate((distractors or {}).items()):
        prof = np.asarray(prof, dtype=float)
        if prof.max() > 0:
            ax.fill_between(t, 0, prof / prof.max() * np.max(curve) * 0.5, color=PALETTE[5 + i % 2], alpha=0.3,
                            label=f"{name} (true, scaled)")
    if spotted_interval is not None:
        ax.axvspan(spotted_interval[0], spotted_interval[1], color=PALETTE[1], alpha=0.15, label="spotted interval")
    for x, name, colour in ((onset, "true onset", PALETTE[2]), (apex, "true apex", PALETTE[3]),
                            (offset, "true offset", PALETTE[4])):
        if x is not None:
            ax.axvline(x, color=colour, ls="--", lw=1.2, label=name)
    if spotted_apex is not None:
        ax.axvline(spotted_apex, color=PALETTE[1], lw=2, label="spotted apex")
    if key_indices is not None:
        k = np.asarray(key_indices)
        k = k[k >= 0]
        ax.scatter(k, np.asarray(curve)[k], color=PALETTE[7], zorder=4, s=28, label="keyframes")
    ax.set_xlabel("frame")
    ax.set_ylabel("motion vs onset")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def plot_keyframe_errors(table):
    """Histogram of the apex error (frames) and of the interval coverage over a keyframe table."""
    fig, axes = new_figure(1, 2, width=8, height=3)
    err = table["apex_error"].to_numpy()
    bins = np.arange(0, max(err.max(), 1) + 2) - 0.5
    axes[0].hist(err, bins=bins, color=PALETTE[0])
    axes[0].axvline(err.mean(), color=PALETTE[3], ls="--", label=f"mean {err.mean():.2f}")
    axes[0].set_xlabel("|spotted apex - true apex| (frames)")
    axes[0].set_ylabel("clips")
    axes[0].legend(fontsize=8)
    cov = table["coverage"].to_numpy()
    axes[1].hist(cov, bins=np.linspace(0, 1, 11), color=PALETTE[2])
    axes[1].axvline(cov.mean(), color=PALETTE[3], ls="--", label=f"mean {cov.mean():.2f}")
    axes[1].set_xlabel("share of true onset..offset spanned by the keyframes")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_clip_magnitude(prepared, clip, ax=None):
    """:func:`plot_magnitude_curve` of one prepared clip against its synthetic truth (true
    phases, intensity, blink and macro-movement profiles)."""
    t = prepared.truth
    return plot_magnitude_curve(
        t["magnitude_curve"], prepared.key_indices, onset=clip.onset, apex=clip.apex, offset=clip.offset,
        spotted_apex=t["spotted_apex"], spotted_interval=t["spotted_interval"], intensity=clip.truth["intensity"],
        distractors={"blink": clip.truth["blink"], "macro-movement": clip.truth["macro"]}, ax=ax,
        title=f"{clip.clip_id} ({clip.emotion}, AUs {'+'.join(map(str, clip.aus))})")
