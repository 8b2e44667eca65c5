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
    (NaN where a class has no truth and no prediction). ``cm`` may be a stack ``(..., k, k)``;
    every entry then has shape ``(..., k)``."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
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


def batch_scores(cms: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of every ``(k, k)`` confusion matrix in ``cms`` (shape ``(..., k, k)`` ->
    ``(...)``), vectorised over :func:`per_class_scores`; the same numbers as
    :func:`scores_from_confusion` one by one."""
    cms = np.asarray(cms, dtype=np.float64)
    if metric == "accuracy":
        total = cms.sum(axis=(-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, np.trace(cms, axis1=-2, axis2=-1) / total, np.nan)
    per_class = per_class_scores(cms)["recall" if metric == "uar" else "f1"]
    valid = ~np.isnan(per_class)
    count = valid.sum(axis=-1)
    return np.where(count > 0, np.where(valid, per_class, 0.0).sum(axis=-1) / np.maximum(count, 1), np.nan)


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


def subject_resamples(subjects, n_boot: int, random_state: int = 0) -> tuple[np.ndarray, int, np.ndarray]:
    """The resamples of every subject bootstrap of the package: ``(sid, n_subjects, counts)``.

    ``sid`` ``(n,)`` is each clip's subject index (subjects sorted by name), ``counts``
    ``(n_boot, n_subjects)`` how often each subject is drawn in each resample (the subjects
    are drawn with replacement, as many as there are). The same ``random_state`` gives the
    same resamples to every statistic, so scores and means resampled alike can be paired.
    """
    names, sid = np.unique(np.asarray(subjects, dtype=object).astype(str), return_inverse=True)
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, len(names), size=(n_boot, len(names))) if len(names) else np.zeros((n_boot, 0), int)
    counts = np.stack([np.bincount(d, minlength=len(names)) for d in draws]) if n_boot else np.zeros((0, len(names)))
    return sid, len(names), counts


def subject_bootstrap(y_true, y_pred, subjects, num_classes: int, *, weights=None, metric: str = "uf1",
                      n_boot: int = 1000, random_state: int = 0) -> np.ndarray:
    """Bootstrap over subjects: ``metric`` on ``n_boot`` resamples of whole subjects.

    Each resample draws the subjects with replacement (as many as there are) and pools all
    clips of every drawn subject, so a subject's clips always move together: the interval
    reflects that LOSO folds are subjects, not independent clips. Every prediction set is
    scored on the *same* resamples, so sets can be compared pairwise.

    Args:
        y_true: ``(n,)`` true class ids.
        y_pred: ``(n,)`` predictions, or ``(m, n)`` for ``m`` prediction sets of the same clips
            (seeds, models).
        subjects: ``(n,)`` subject id of each clip (prefix the dataset for composites).
        weights: ``(m,)`` combination of the sets' scores per resample, e.g. ``[1/3]*3`` for
            the mean over three seeds, or ``[1/3]*3 + [-1/3]*3`` for the mean paired
            difference of model A minus model B over three seeds. Default: the mean over sets.
        metric: ``"uf1"``, ``"uar"`` or ``"accuracy"``.

    Returns:
        ``(n_boot,)`` values of ``weights @ metric`` (the MEGC summed-confusion scores).
    """
    if metric not in ("uf1", "uar", "accuracy"):
        raise ValueError(f"metric={metric!r}: expected 'uf1', 'uar' or 'accuracy'")
    y_true = np.asarray(y_true, dtype=np.int64)
    preds = np.atleast_2d(np.asarray(y_pred, dtype=np.int64))
    subjects = np.asarray(subjects, dtype=object)
    if preds.shape[1] != len(y_true) or len(subjects) != len(y_true):
        raise ValueError(f"y_true ({len(y_true)}), y_pred {preds.shape} and subjects ({len(subjects)}) "
                         "must describe the same clips")
    m = preds.shape[0]
    weights = np.full(m, 1.0 / m) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (m,):
        raise ValueError(f"weights has shape {weights.shape}; expected ({m},), one per prediction set")
    sid, n_subjects, counts = subject_resamples(subjects, n_boot, random_state)
    if n_subjects == 0:
        return np.full(n_boot, np.nan)
    # Per-subject confusion matrices: a resample's matrix is their count-weighted sum.
    per_subject = np.zeros((m, n_subjects, num_classes, num_classes), dtype=np.int64)
    for j in range(m):
        per_subject[j] = [confusion_matrix(y_true[sid == s], preds[j, sid == s], num_classes)
                          for s in range(n_subjects)]
    cms = np.einsum("bs,mskl->bmkl", counts, per_subject)
    return batch_scores(cms, metric) @ weights


def subject_bootstrap_ci(y_true, y_pred, subjects, num_classes: int, *, weights=None, metric: str = "uf1",
                         n_boot: int = 1000, level: float = 0.95,
                         random_state: int = 0) -> tuple[float, float, float]:
    """``(estimate, low, high)``: ``weights @ metric`` on all clips and its percentile
    interval over :func:`subject_bootstrap` resamples (same arguments)."""
    if metric not in ("uf1", "uar", "accuracy"):
        raise ValueError(f"metric={metric!r}: expected 'uf1', 'uar' or 'accuracy'")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must be in (0, 1)")
    preds = np.atleast_2d(np.asarray(y_pred, dtype=np.int64))
    w = np.full(len(preds), 1.0 / len(preds)) if weights is None else np.asarray(weights, dtype=np.float64)
    point = float(sum(wj * scores(y_true, p, num_classes)[metric] for wj, p in zip(w, preds)))
    values = subject_bootstrap(y_true, preds, subjects, num_classes, weights=w, metric=metric, n_boot=n_boot,
                               random_state=random_state)
    lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)


def subject_bootstrap_means(values, subjects, *, n_boot: int = 1000, random_state: int = 0) -> np.ndarray:
    """Means of per-clip ``values`` over the :func:`subject_resamples` resamples (a subject
    drawn twice counts twice, so a subject's clips move together).

    Args:
        values: ``(n,)`` per-clip values, or ``(m, n)`` for ``m`` quantities of the same clips
            (all scored on the same resamples).
        subjects: ``(n,)`` subject of each clip (prefix the dataset for composites).

    Returns:
        ``(n_boot,)`` or ``(m, n_boot)`` float64.
    """
    v = np.asarray(values, dtype=np.float64)
    one = v.ndim == 1
    v = np.atleast_2d(v)
    sid, n_subjects, counts = subject_resamples(subjects, n_boot, random_state)
    if v.shape[1] != len(sid):
        raise ValueError(f"values {v.shape} and subjects ({len(sid)}) must describe the same clips")
    if n_subjects == 0:
        out = np.full((len(v), n_boot), np.nan)
        return out[0] if one else out
    sums = np.stack([np.bincount(sid, weights=row, minlength=n_subjects) for row in v])  # (m, S)
    sizes = np.bincount(sid, minlength=n_subjects).astype(np.float64)
    w = counts.astype(np.float64)
    out = (w @ sums.T).T / (w @ sizes)
    return out[0] if one else out
