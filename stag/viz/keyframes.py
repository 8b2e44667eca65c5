"""Figures of keyframe selection: the magnitude curve with true and spotted phases, error summaries."""

from __future__ import annotations

import numpy as np

from stag.viz.theme import PALETTE, new_figure


def plot_magnitude_curve(curve: np.ndarray, key_indices=None, *, onset=None, apex=None, offset=None,
                         spotted_apex=None, spotted_interval=None, intensity=None, distractors=None,
                         smoothed=None, trend=None, ax=None, title: str = "", legend: bool = True):
    """Motion magnitude per frame, the chosen keyframes, the true onset/apex/offset (dashed) and
    the spotted apex and interval (shaded). ``curve`` is the curve the apex was spotted on;
    ``smoothed`` and ``trend``: the smoothed curve before detrending and the onset-to-offset line
    detrending subtracted (:class:`stag.bench.synthetic_checks.SpottingTrace`), drawn thinner.
    ``intensity``: the true profile, scaled to the curves; ``distractors``: name -> ``(T,)``
    profile (blink, macro-movement) drawn on the same scale where non-zero."""
    if ax is None:
        _, ax = new_figure(width=8.5, height=3.2)
    t = np.arange(len(curve))
    top = max(float(np.max(curve)), float(np.max(smoothed)) if smoothed is not None else 0.0, 1e-9)
    if smoothed is not None:
        ax.plot(t, smoothed, color=PALETTE[5], lw=1.2, label="motion before detrending")
    if trend is not None:
        ax.plot(t, trend, color=PALETTE[5], lw=1, ls="--", label="line subtracted by detrending")
    ax.plot(t, curve, color=PALETTE[0], lw=1.8, label="motion after detrending (spotted on)")
    if intensity is not None and np.max(intensity) > 0:
        ax.plot(t, np.asarray(intensity) / np.max(intensity) * top, color="grey", lw=1, ls=":",
                label="true intensity (scaled)")
    for i, (name, prof) in enumerate((distractors or {}).items()):
        prof = np.asarray(prof, dtype=float)
        if prof.max() > 0:
            ax.fill_between(t, 0, prof / prof.max() * top * 0.5, color=PALETTE[4 + 3 * (i % 2)], alpha=0.25,
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
    ax.set_ylabel("motion vs onset (px)")
    if legend:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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


def plot_spotting(traces, clips, labels=None):
    """One row per clip: :func:`plot_magnitude_curve` of a
    :class:`~stag.bench.synthetic_checks.SpottingTrace` against the clip's synthetic truth (true
    phases, intensity, blink and macro-movement profiles). ``labels``: a prefix for each title
    (e.g. "typical clip"). One legend, beside the first row."""
    fig, axes = new_figure(len(traces), 1, width=10, height=2.9 * len(traces), squeeze=False)
    labels = labels or [""] * len(traces)
    for i, (trace, clip, label) in enumerate(zip(traces, clips, labels)):
        kf = trace.keyframes
        title = f"{clip.clip_id} ({clip.emotion}, AUs {'+'.join(map(str, clip.aus))})"
        plot_magnitude_curve(
            trace.used, kf.indices, onset=clip.onset, apex=clip.apex, offset=clip.offset, spotted_apex=kf.apex,
            spotted_interval=kf.interval, intensity=clip.truth["intensity"],
            distractors={"blink": clip.truth["blink"], "macro-movement": clip.truth["macro"]},
            smoothed=trace.smoothed, trend=trace.trend, ax=axes[i, 0], legend=False,
            title=f"{label}: {title}" if label else title)
    handles = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0, 0].legend(handles.values(), handles.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      frameon=False)
    fig.tight_layout()
    return fig
