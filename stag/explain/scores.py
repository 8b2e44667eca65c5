"""Quantitative checks of attribution maps against known AU masks (pure numpy).

Synthetic clips know which action units moved and where (``Prepared.truth["au_masks"]``,
``(A, H, W)`` bool in the aligned flow frame). These functions turn an attribution array into
a per-pixel map and measure whether the explanation lands on the moving AUs:

- :func:`localisation_score`: share of the (positive) attribution mass inside the union of
  the active AU masks, and its *lift* over the masks' area share. A map that knows nothing
  about the masks has lift ~1; a map that lives inside them has lift ``1 / area_share``.
- :func:`pointing_game`: does the map's maximum fall inside the masks (with a tolerance)?
- :func:`roi_mass` / :func:`au_truth_per_roi` / :func:`rank_agreement`: region-level Spearman
  agreement between ROI importances and the generated AU intensities mapped to the ROIs.
- :func:`curve_auc`: normalised area under a deletion/insertion curve.

Everything here takes arrays and returns numbers; nothing imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stag.results.explanations import curve_auc, map_agreement  # noqa: F401  (scores of the same maps)

REDUCTIONS: tuple[str, ...] = ("positive", "absolute", "signed")


def pixel_map(
    attr: np.ndarray,
    *,
    reduce: str = "positive",
    channels: Sequence[int] | None = None,
    key_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Collapse an attribution array to one ``(H, W)`` map.

    Args:
        attr: ``(K, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` attributions of one clip.
        reduce: how the per-pixel total is turned into "mass":
            ``"positive"`` (default) sums the signed attributions of a pixel over keyframes and
            channels (its net contribution to the target) and keeps the positive part;
            ``"absolute"`` sums absolute values (evidence for *or* against);
            ``"signed"`` returns the signed net contribution unchanged.
        channels: channel indices to keep (e.g. ``[2]`` for strain only); all when ``None``.
        key_mask: ``(K,)`` bool, real keyframes; padded keyframes are dropped.

    Returns:
        ``(H, W)`` float64 map (non-negative unless ``reduce="signed"``).
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r}; expected one of {REDUCTIONS}")
    a = np.asarray(attr, dtype=np.float64)
    if a.ndim == 2:
        a = a[None, None]
    elif a.ndim == 3:
        a = a[None]
    elif a.ndim != 4:
        raise ValueError(f"attribution must be (K,C,H,W), (C,H,W) or (H,W); got shape {a.shape}")
    if key_mask is not None:
        km = np.asarray(key_mask, dtype=bool)
        if km.shape != (a.shape[0],):
            raise ValueError(f"key_mask has shape {km.shape}; expected ({a.shape[0]},) to match K")
        a = a[km]
    if channels is not None:
        a = a[:, list(channels)]
    if reduce == "absolute":
        return np.abs(a).sum(axis=(0, 1))
    net = a.sum(axis=(0, 1))
    return np.clip(net, 0.0, None) if reduce == "positive" else net


def union_mask(masks: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool union of ``(A, H, W)`` masks (``(H, W)`` passes through). Soft masks count where > 0."""
    m = np.asarray(masks)
    if m.ndim == 2:
        return m > 0
    if m.ndim != 3:
        raise ValueError(f"AU masks must be (A,H,W) or (H,W); got shape {m.shape}")
    return (m > 0).any(axis=0)


def _check_same_grid(amap: np.ndarray, mask: np.ndarray) -> None:
    if amap.shape != mask.shape:
        raise ValueError(
            f"attribution map {amap.shape} and AU masks {mask.shape} are on different grids; "
            "masks must be resampled into the flow frame (Prepared.truth['au_masks'])"
        )


@dataclass(frozen=True)
class Localisation:
    """Result of :func:`localisation_score`.

    Attributes:
        inside_share: fraction of the map's mass inside the AU masks, in [0, 1] (NaN when
            the map has no mass).
        area_share: fraction of the image the masks cover (the chance level of ``inside_share``).
        lift: ``inside_share / area_share``; 1 = no better than chance.
    """

    inside_share: float
    area_share: float
    lift: float


def localisation_score(amap: np.ndarray, masks: np.ndarray) -> Localisation:
    """Share of a non-negative map's mass inside the AU masks, and its lift over their area.

    Args:
        amap: ``(H, W)`` non-negative map (see :func:`pixel_map`).
        masks: ``(A, H, W)`` or ``(H, W)`` masks of the active AUs on the same grid.
    """
    amap = np.asarray(amap, dtype=np.float64)
    mask = union_mask(masks)
    _check_same_grid(amap, mask)
    if (amap < 0).any():
        raise ValueError("localisation_score needs a non-negative map; use pixel_map(reduce='positive' or 'absolute')")
    area = float(mask.mean())
    total = float(amap.sum())
    if total <= 0 or area == 0:
        return Localisation(float("nan"), area, float("nan"))
    inside = float(amap[mask].sum()) / total
    return Localisation(inside, area, inside / area)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of an ``(H, W)`` mask by a square of half-width ``radius`` pixels."""
    m = np.asarray(mask, dtype=bool)
    if radius <= 0:
        return m.copy()
    # lazy: scipy is slow to import (python -X importtime); only this function needs it
    from scipy.ndimage import binary_dilation

    return binary_dilation(m, structure=np.ones((2 * radius + 1,) * 2, dtype=bool))


def pointing_game(amap: np.ndarray, masks: np.ndarray, *, tolerance: int = 1) -> tuple[bool, float]:
    """Pointing game: does the map's maximum land inside the AU masks?

    Args:
        amap: ``(H, W)`` map; its arg-max is the "point".
        masks: ``(A, H, W)`` or ``(H, W)`` masks of the active AUs.
        tolerance: the masks are dilated by this many pixels first (Zhang et al. use 15 px at
            224 px; 1 px suits 64-128 px faces and sub-pixel motion).

    Returns:
        ``(hit, chance)``: whether the point is inside, and the dilated masks' area share,
        i.e. the hit rate of a point drawn uniformly at random.
    """
    amap = np.asarray(amap, dtype=np.float64)
    mask = dilate(union_mask(masks), tolerance)
    _check_same_grid(amap, mask)
    if not np.isfinite(amap).all() or amap.max() == amap.min():
        return False, float(mask.mean())
    y, x = np.unravel_index(int(np.argmax(amap)), amap.shape)
    return bool(mask[y, x]), float(mask.mean())


def _box_slices(box: Sequence[float], shape: tuple[int, int]) -> tuple[slice, slice]:
    h, w = shape
    x0, y0, x1, y1 = (float(v) for v in box)
    xa, xb = int(np.clip(np.floor(x0), 0, w)), int(np.clip(np.ceil(x1), 0, w))
    ya, yb = int(np.clip(np.floor(y0), 0, h)), int(np.clip(np.ceil(y1), 0, h))
    return slice(ya, max(yb, ya)), slice(xa, max(xb, xa))


def roi_masks(rois: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(N, H, W)`` bool masks of ``(N, 4)`` boxes ``(x0, y0, x1, y1)`` in pixel coordinates."""
    rois = np.asarray(rois, dtype=np.float64)
    if rois.ndim != 2 or rois.shape[1] != 4:
        raise ValueError(f"rois must be (N, 4) boxes x0,y0,x1,y1; got shape {rois.shape}")
    out = np.zeros((len(rois), *shape), dtype=bool)
    for i, box in enumerate(rois):
        out[(i, *_box_slices(box, shape))] = True
    return out


def roi_mass(amap: np.ndarray, rois: np.ndarray, *, density: bool = True) -> np.ndarray:
    """``(N,)`` attribution of each ROI box: mean over its pixels (``density``) or the sum."""
    amap = np.asarray(amap, dtype=np.float64)
    boxes = roi_masks(rois, amap.shape)
    sums = np.array([amap[b].sum() for b in boxes])
    if not density:
        return sums
    areas = boxes.reshape(len(boxes), -1).sum(axis=1)
    return np.divide(sums, areas, out=np.zeros_like(sums), where=areas > 0)


def au_truth_per_roi(
    au_masks: np.ndarray,
    au_ids: Sequence[int],
    au_intensity: Mapping[int, float],
    rois: np.ndarray,
) -> np.ndarray:
    """Ground-truth motion of each ROI: generated AU intensities mapped through the masks.

    ``truth[n] = sum_a intensity[a] * |mask_a ∩ box_n| / |box_n|``: the apex displacement
    (pixels) of each active AU, weighted by how much of the ROI box that AU covers.

    Args:
        au_masks: ``(A, H, W)`` masks of the active AUs (order of ``au_ids``).
        au_ids: the ``A`` AU numbers.
        au_intensity: AU number -> apex displacement in pixels (missing AUs count 1).
        rois: ``(N, 4)`` boxes in the masks' pixel grid.

    Returns:
        ``(N,)`` float64, zero for ROIs no active AU touches.
    """
    masks = np.asarray(au_masks) > 0
    if masks.ndim != 3 or masks.shape[0] != len(au_ids):
        raise ValueError(f"au_masks has shape {masks.shape}; expected ({len(au_ids)}, H, W) to match au_ids {tuple(au_ids)}")
    boxes = roi_masks(rois, masks.shape[1:])
    areas = boxes.reshape(len(boxes), -1).sum(axis=1).astype(np.float64)
    overlap = np.einsum("nhw,ahw->na", boxes.astype(np.float64), masks.astype(np.float64))
    weights = np.array([float(au_intensity.get(int(a), 1.0)) for a in au_ids])
    return np.divide(overlap @ weights, areas, out=np.zeros(len(boxes)), where=areas > 0)


def rank_agreement(importance: np.ndarray, truth: np.ndarray) -> float:
    """Spearman rank correlation between ROI importances and ground-truth ROI motion.

    Returns NaN when either side is constant (e.g. no active AU touches any ROI).
    """
    # lazy: scipy is slow to import (python -X importtime); only this function needs it
    from scipy.stats import spearmanr

    a, b = np.asarray(importance, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"importance {a.shape} and truth {b.shape} must both be (N,)")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def random_map(shape: tuple[int, ...], random_state: int | np.random.Generator = 0) -> np.ndarray:
    """A control map: i.i.d. uniform [0, 1) values that carry no information about the masks."""
    rng = np.random.default_rng(random_state)
    return rng.random(shape)


def oracle_map(masks: np.ndarray) -> np.ndarray:
    """A control map equal to the union of the masks (1 inside, 0 outside): the best possible map."""
    return union_mask(masks).astype(np.float64)
