"""Scores, the MEGC way, computed in one place.

UF1 and UAR follow the MEGC2019 definition: the confusion matrix is summed over all folds
(i.e. built from every test prediction at once), then per-class F1 and recall are averaged
with equal weight per class. A class absent from both truth and prediction is left out of
the averages (it has no defined F1); a class present in the truth but never predicted
scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` int64 counts, rows = truth, columns = prediction."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} has class ids outside [0, {num_classes}): {sorted(set(y.tolist()))}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class ``f1``, ``recall``, ``precision`` and ``support`` from a confusion matrix
    (NaN where a class has no truth and no prediction)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        denom = 2 * tp + (predicted - tp) + (support - tp)
        f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
    return {"f1": f1, "recall": recall, "precision": precision, "support": support.astype(np.int64)}


def scores_from_confusion(cm: np.ndarray) -> dict[str, float]:
    """``uf1`` (mean per-class F1), ``uar`` (mean per-class recall) and ``accuracy``."""
    cm = np.asarray(cm)
    total = cm.sum()
    if total == 0:
        return {"uf1": float("nan"), "uar": float("nan"), "accuracy": float("nan")}
    pc = per_class_scores(cm)
    return {
        "uf1": float(np.nanmean(pc["f1"])),
        "uar": float(np.nanmean(pc["recall"])),
        "accuracy": float(np.trace(cm) / total),
    }


def scores(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> dict[str, float]:
    """UF1, UAR and accuracy of all predictions pooled (the summed-over-folds matrix)."""
    return scores_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def per_group_scores(y_true, y_pred, groups, num_classes: int) -> dict[str, dict[str, float]]:
    """``{group: {uf1, uar, accuracy, n}}``, e.g. per dataset of a composite (casme2, samm, smic)."""
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups, dtype=object)
    out = {}
    for g in sorted(set(groups)):
        m = groups == g
        out[str(g)] = {**scores(y_true[m], y_pred[m], num_classes), "n": int(m.sum())}
    return out


def bootstrap_ci(y_true, y_pred, num_classes: int, *, metric: str = "uf1", n_boot: int = 1000,
                 level: float = 0.95, random_state: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``metric`` by resampling clips.

    Clips are resampled with replacement ``n_boot`` times; the interval is the
    ``(1-level)/2`` and ``(1+level)/2`` quantiles of the metric over the resamples.
    """
    if metric not in ("uf1", "uar", "accuracy"):
        raise ValueError(f"metric={metric!r}: expected 'uf1', 'uar' or 'accuracy'")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must be in (0, 1)")
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    n = len(y_true)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        values[b] = scores_from_confusion(confusion_matrix(y_true[idx], y_pred[idx], num_classes))[metric]
    lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
