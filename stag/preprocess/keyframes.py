"""Motion magnitude relative to onset, apex spotting, and the choice of K discriminative keyframes.

The magnitude curve says how far each frame has moved away from the onset face. Two measures:

- ``"flow"`` (default): mean optical-flow magnitude from the onset once the global (affine)
  head motion is removed (the default flow, :data:`~stag.preprocess.flow.DEFAULT_FLOW`, at
  64 px: about 3 ms per frame on one core);
- ``"intensity"``: mean absolute grey-level difference to the onset frame after a light blur
  and brightness matching (cheaper, but confused by head drift).

Keyframes are drawn by inverse-CDF sampling of the (smoothed, detrended) curve raised to a power
below 1, so frames are dense where the face moves most and still spread over the rise and the
fall; the spotted apex is always one of them. Their normalised magnitudes become the temporal-attention prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stag.preprocess.flow import DEFAULT_FLOW, compute_flow, flow_magnitude

MAGNITUDE_METHODS: tuple[str, ...] = ("intensity", "flow")
SELECTION_STRATEGIES: tuple[str, ...] = ("cumulative", "top", "uniform")
#: Where the apex keyframe comes from: the largest motion between onset and offset, or the
#: dataset's annotated apex frame (as apex-based methods read it).
APEX_SOURCES: tuple[str, ...] = ("spotted", "annotated")


class AffineRemover:
    """Removes the least-squares affine motion fitted inside a mask (head drift and roll).

    The design matrix and its pseudo-inverse depend only on the mask, so they are built once per
    clip and each frame costs one small matrix product.
    """

    def __init__(self, mask: np.ndarray):
        h, w = mask.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        self.mask = mask
        self.design = np.stack([xx, yy, np.ones_like(xx)], -1)
        self.pinv = np.linalg.pinv(self.design[mask])

    def __call__(self, flow: np.ndarray) -> np.ndarray:
        coef = self.pinv @ flow[self.mask].astype(np.float64)
        return flow - (self.design @ coef).astype(np.float32)


def motion_magnitude(frames: np.ndarray, onset: int = 0, method: str = "flow", *, mask: np.ndarray | None = None,
                     blur: float = 1.0, flow_method: str = DEFAULT_FLOW, size: int | None = 64) -> np.ndarray:
    """Per-frame local facial motion relative to the onset frame.

    Args:
        frames: ``(T, H, W)`` uint8 grey aligned frames.
        onset: reference frame index.
        method: ``"flow"``: mean magnitude (px) of the onset->t flow after removing the global
            affine motion fitted over the face (head drift and roll are not expressions);
            ``"intensity"``: mean |I_t - I_onset| (grey levels) after a blur and after matching
            each frame's mean brightness to the onset (illumination flicker).
        mask: ``(H, W)`` bool face region to average over (default: the whole frame).
        blur: Gaussian sigma (px) applied before differencing (intensity only), against sensor noise.
        flow_method: flow preset for ``method="flow"`` (default :data:`~stag.preprocess.flow.DEFAULT_FLOW`,
            the preset of the flow stack too).
        size: frames (and mask) are area-resampled to ``size`` x ``size`` first (``None``: as
            they are); 64 px keeps the apex error of 128 px at a quarter of the cost.

    Returns:
        ``(T,)`` float64, 0 at the onset.
    """
    f = np.asarray(frames)
    if f.ndim != 3:
        raise ValueError(f"frames: expected (T, H, W) grey, got {f.shape}")
    if not 0 <= onset < len(f):
        raise ValueError(f"onset {onset} outside 0..{len(f) - 1}")
    m = np.ones(f.shape[1:], bool) if mask is None else np.asarray(mask, bool)
    if m.shape != f.shape[1:]:
        raise ValueError(f"mask: expected shape {f.shape[1:]}, got {m.shape}")
    if size is not None and f.shape[1:] != (size, size):
        f = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in f])
        m = cv2.resize(m.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
        blur = blur * size / frames.shape[2]
    if method == "intensity":
        x = f.astype(np.float32)
        if blur > 0:
            x = np.stack([cv2.GaussianBlur(im, (0, 0), blur) for im in x])
        means = x[:, m].mean(1)
        x = x * (means[onset] / np.maximum(means, 1e-6))[:, None, None]
        return np.abs(x - x[onset])[:, m].mean(1).astype(np.float64)
    if method == "flow":
        remove = AffineRemover(m)
        out = np.zeros(len(f))
        for t in range(len(f)):
            if t != onset:
                out[t] = flow_magnitude(remove(compute_flow(f[onset], f[t], flow_method)))[m].mean()
        return out
    raise ValueError(f"magnitude method {method!r}: expected one of {MAGNITUDE_METHODS}")


def smooth_curve(curve: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian smoothing of a 1-D curve (sigma in frames; 0 = unchanged), edges reflected."""
    c = np.asarray(curve, dtype=np.float64)
    if sigma <= 0 or len(c) < 2:
        return c.copy()
    # lazy: scipy is slow to import (python -X importtime); only this function needs it
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(c, sigma, mode="nearest")


def spot_apex(curve: np.ndarray, onset: int = 0, offset: int | None = None) -> int:
    """Frame of maximum motion in ``(onset, offset]`` (``offset`` = last frame when ``None``)."""
    c = np.asarray(curve, dtype=np.float64)
    end = len(c) - 1 if offset is None else min(int(offset), len(c) - 1)
    if end <= onset:
        return int(onset)
    return int(onset + 1 + np.argmax(c[onset + 1:end + 1]))


def spot_interval(curve: np.ndarray, apex: int, onset: int = 0, level: float = 0.25) -> tuple[int, int]:
    """Estimated onset and offset: the first frames before and after ``apex`` where the motion
    falls to ``level`` of its (apex - baseline) height. ``curve`` is assumed smoothed."""
    c = np.asarray(curve, dtype=np.float64)
    base = float(np.min(c[onset:])) if len(c) else 0.0
    thr = base + level * (c[apex] - base)
    start = apex
    while start > onset and c[start - 1] > thr:
        start -= 1
    end = apex
    while end < len(c) - 1 and c[end + 1] > thr:
        end += 1
    return int(start), int(end)


@dataclass(frozen=True)
class Keyframes:
    """Selected keyframes of one clip.

    Attributes:
        indices: ``(K,)`` int64 frame indices (sorted; ``-1`` for padding).
        mask: ``(K,)`` bool, ``True`` for real keyframes.
        magnitudes: ``(K,)`` float32 curve value of each keyframe / curve max (0 for padding).
        apex: spotted apex frame.
        interval: estimated ``(onset, offset)`` of the motion.
        curve: ``(T,)`` smoothed magnitude curve the choice was made on.
    """

    indices: np.ndarray
    mask: np.ndarray
    magnitudes: np.ndarray
    apex: int
    interval: tuple[int, int]
    curve: np.ndarray


def detrend(curve: np.ndarray, onset: int, offset: int) -> np.ndarray:
    """Subtract the straight line through ``curve[onset]`` and ``curve[offset]``: a micro-expression
    is back to neutral at its offset, slow drift is not, so what drift left at the offset is
    removed proportionally along the interval."""
    c = np.asarray(curve, dtype=np.float64)
    if offset <= onset:
        return c.copy()
    return c - np.interp(np.arange(len(c)), [onset, offset], [c[onset], c[offset]])


def select_keyframes(curve: np.ndarray, k: int = 8, onset: int = 0, offset: int | None = None, *,
                     strategy: str = "cumulative", smoothing: float = 1.0,
                     detrend_offset: bool = True, power: float = 0.5, apex: int | None = None) -> Keyframes:
    """Choose ``k`` discriminative frames after ``onset`` from a motion-magnitude curve.

    Args:
        curve: ``(T,)`` raw magnitude relative to ``onset`` (:func:`motion_magnitude`).
        k: number of keyframes; ``k = 1`` gives the apex alone (onset-apex flow).
        onset, offset: search window (``offset`` = last frame when ``None``).
        strategy: ``"cumulative"`` (inverse-CDF of the baseline-removed curve, apex included),
            ``"top"`` (the ``k`` largest-motion frames), ``"uniform"`` (evenly spaced from onset+1
            to offset).
        smoothing: Gaussian sigma in frames.
        power: ``"cumulative"`` samples the curve raised to this power: 1 follows the motion,
            smaller values spread the keyframes further over the rise and fall (0.5 default).
        detrend_offset: with a known ``offset``, remove the onset->offset linear trend
            (:func:`detrend`) before spotting.
        apex: the apex to use instead of the spotted one (an annotated apex): ``k = 1`` then
            gives exactly this frame, and ``"cumulative"`` always includes it.

    Returns:
        :class:`Keyframes`; clips with fewer than ``k`` frames after the onset are padded.
    """
    if k < 1:
        raise ValueError(f"keyframes k={k}: expected >= 1")
    if strategy not in SELECTION_STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: expected one of {SELECTION_STRATEGIES}")
    c = smooth_curve(curve, smoothing)
    t = len(c)
    end = t - 1 if offset is None else min(int(offset), t - 1)
    if offset is not None and detrend_offset:
        c = np.clip(detrend(c, onset, end), 0, None)
    if apex is None:
        apex = spot_apex(c, onset, end)
    elif not 0 <= int(apex) < t:
        raise ValueError(f"apex={apex}: expected a frame index in [0, {t - 1}] of the {t}-frame curve")
    apex = int(apex)
    interval = spot_interval(c, apex, onset)
    candidates = np.arange(onset + 1, end + 1)
    if len(candidates) == 0:
        candidates = np.array([onset])
    if k == 1:
        chosen = np.array([apex])
    elif len(candidates) <= k:
        chosen = candidates
    elif strategy == "top":
        chosen = np.sort(candidates[np.argsort(-c[candidates], kind="stable")[:k]])
    elif strategy == "uniform":
        chosen = np.unique(np.rint(np.linspace(onset + 1, end, k)).astype(int))
    else:
        w = np.clip(c[candidates] - c[candidates].min(), 0, None) ** power + 1e-9
        cdf = np.cumsum(w) / w.sum()
        picks = set(int(candidates[np.searchsorted(cdf, q)]) for q in (np.arange(k) + 0.5) / k)
        picks.add(apex)
        # Fill (or trim) to exactly k: add the largest remaining frames, drop the smallest.
        order = [int(i) for i in candidates[np.argsort(-c[candidates], kind="stable")]]
        for i in order:
            if len(picks) >= k:
                break
            picks.add(i)
        while len(picks) > k:
            picks.remove(min((p for p in picks if p != apex), key=lambda p: c[p]))
        chosen = np.array(sorted(picks))
    n = len(chosen)
    indices = np.full(k, -1, dtype=np.int64)
    indices[:n] = chosen
    mask = np.zeros(k, dtype=bool)
    mask[:n] = True
    top = float(c.max()) if c.max() > 0 else 1.0
    mags = np.zeros(k, dtype=np.float32)
    mags[:n] = np.clip(c[chosen] / top, 0, 1)
    return Keyframes(indices, mask, mags, apex, interval, c.astype(np.float32))


def keyframe_scores(selected: Keyframes, onset: int, apex: int, offset: int) -> dict[str, float]:
    """Compare a selection with the true onset/apex/offset.

    Returns ``apex_error`` (|spotted - true| frames), ``precision`` (share of keyframes inside
    ``[onset, offset]``), ``coverage`` (share of ``[onset, offset]`` spanned by the first..last
    keyframe), ``contains_apex`` (a keyframe within 1 frame of the true apex).
    """
    idx = selected.indices[selected.mask]
    inside = (idx >= onset) & (idx <= offset)
    lo, hi = (int(idx.min()), int(idx.max())) if len(idx) else (0, -1)
    overlap = max(0, min(hi, offset) - max(lo, onset) + 1)
    return {
        "apex_error": float(abs(selected.apex - apex)),
        "precision": float(inside.mean()) if len(idx) else 0.0,
        "coverage": overlap / max(offset - onset + 1, 1),
        "contains_apex": float(np.any(np.abs(idx - apex) <= 1)),
    }
