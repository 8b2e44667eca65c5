"""Deletion / insertion faithfulness curves (Petsiuk et al., RISE) on flow inputs.

A faithful attribution ranks first the pixels (or ROIs) the model really relies on, so
removing them (setting the flow to zero = no motion) lowers the target score faster than
removing random ones (*deletion*), and restoring them onto an all-zero input raises it
faster (*insertion*). Random orderings are the control, drawn with ``random_state``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stag.explain.forward import evaluate_masked, prepare_forward
from stag.explain.scores import roi_masks
from stag.results.explanations import curve_auc, curve_summary  # noqa: F401  (summaries of these curves)

DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def _pixel_order(score: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Flat pixel indices, highest score first; random order when ``rng`` is given and score is None."""
    flat = np.asarray(score, dtype=np.float64).ravel()
    tie = (rng or np.random.default_rng(0)).random(flat.size)  # random tie-break among equal scores
    return np.lexsort((tie, -flat))


def _rows(logit, prob, pred, labels, meta: list[dict]) -> list[dict]:
    rows = []
    for step, info in enumerate(meta):
        for i in range(logit.shape[1]):
            rows.append({"clip": i, **info, "logit": float(logit[step, i]), "prob": float(prob[step, i]),
                         "correct": float(pred[step, i] == labels[i]) if labels is not None else np.nan})
    return rows


def pixel_curves(
    model: nn.Module,
    batch: dict[str, Any],
    maps: np.ndarray,
    target: np.ndarray,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    modes: Sequence[str] = ("deletion", "insertion"),
    orders: Sequence[str] = ("attribution", "random"),
    random_state: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Deletion/insertion curves over pixels ranked by ``maps``.

    Args:
        model: a package model.
        batch: collated inputs (see :func:`~stag.explain.forward.as_inputs`), with
            ``label`` for accuracy.
        maps: ``(B, H, W)`` pixel scores (higher = more important for the target), e.g. the
            signed net map of :func:`~stag.explain.scores.pixel_map`.
        target: ``(B,)`` classes whose score is tracked.
        fractions: shares of pixels removed (deletion) or restored (insertion).
        modes, orders: which curves; ``"random"`` is the control ordering.

    Returns:
        Long table with columns ``clip`` (batch index), ``mode``, ``order``, ``fraction``,
        ``logit``, ``prob`` (target softmax) and ``correct`` (prediction == label, NaN without labels).
    """
    forward, inputs, flows, extra = prepare_forward(model, batch, device)
    b, _, _, h, w = flows.shape
    maps = np.asarray(maps)
    if maps.shape != (b, h, w):
        raise ValueError(f"maps has shape {maps.shape}; expected (B, H, W) = {(b, h, w)}")
    tgt = torch.as_tensor(np.asarray(target)).long().to(flows.device)
    labels = np.asarray(batch["label"]) if "label" in batch else None
    rng = np.random.default_rng(random_state)
    keeps, meta = [], []
    for order in orders:
        if order == "attribution":
            ranks = np.stack([_pixel_order(maps[i], rng) for i in range(b)])
        elif order == "random":
            ranks = np.stack([rng.permutation(h * w) for _ in range(b)])
        else:
            raise ValueError(f"order={order!r}; expected 'attribution' or 'random'")
        for mode in modes:
            if mode not in ("deletion", "insertion"):
                raise ValueError(f"mode={mode!r}; expected 'deletion' or 'insertion'")
            for frac in fractions:
                m = int(round(float(frac) * h * w))
                chosen = np.zeros((b, h * w), dtype=bool)
                if m:
                    np.put_along_axis(chosen, ranks[:, :m], True, axis=1)
                keeps.append((~chosen if mode == "deletion" else chosen).reshape(b, h, w))
                meta.append({"mode": mode, "order": order, "fraction": float(frac)})
    logit, prob, pred = evaluate_masked(forward, flows, extra, tgt, np.stack(keeps))
    rows = _rows(logit, prob, pred, labels, meta)
    return pd.DataFrame(rows)


def roi_curves(
    model: nn.Module,
    batch: dict[str, Any],
    importance: np.ndarray,
    target: np.ndarray,
    *,
    orders: Sequence[str] = ("attribution", "random"),
    random_state: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Deletion curve over ROIs: zero the flow inside the ``j`` most important ROI boxes, ``j = 0..N``.

    Args:
        importance: ``(B, N)`` ROI scores (higher = more important).

    Returns:
        Long table with ``clip``, ``mode="deletion"``, ``order``, ``fraction`` (= j / N),
        ``removed`` (j), ``logit``, ``prob``, ``correct``.
    """
    forward, inputs, flows, extra = prepare_forward(model, batch, device)
    b, _, _, h, w = flows.shape
    rois = inputs["rois"].cpu().numpy()
    n = rois.shape[1]
    importance = np.asarray(importance)
    if importance.shape != (b, n):
        raise ValueError(f"importance has shape {importance.shape}; expected (B, N) = {(b, n)}")
    boxes = np.stack([roi_masks(rois[i], (h, w)) for i in range(b)])  # (B, N, H, W)
    tgt = torch.as_tensor(np.asarray(target)).long().to(flows.device)
    labels = np.asarray(batch["label"]) if "label" in batch else None
    rng = np.random.default_rng(random_state)
    keeps, meta = [], []
    for order in orders:
        if order == "attribution":
            ranks = np.stack([np.lexsort((rng.random(n), -importance[i])) for i in range(b)])
        elif order == "random":
            ranks = np.stack([rng.permutation(n) for _ in range(b)])
        else:
            raise ValueError(f"order={order!r}; expected 'attribution' or 'random'")
        for j in range(n + 1):
            removed = np.zeros((b, h, w), dtype=bool)
            for i in range(b):
                if j:
                    removed[i] = boxes[i, ranks[i, :j]].any(axis=0)
            keeps.append(~removed)
            meta.append({"mode": "deletion", "order": order, "fraction": j / n, "removed": j})
    logit, prob, pred = evaluate_masked(forward, flows, extra, tgt, np.stack(keeps))
    rows = _rows(logit, prob, pred, labels, meta)
    return pd.DataFrame(rows)


