"""Statistics over run records: seed intervals, paired differences and seed ensembles.

Every interval of the package resamples *subjects* with one engine
(:func:`stag.train.metrics.subject_resamples`, through
:func:`~stag.train.metrics.subject_bootstrap_ci` here): a subject's clips move together, and
all the runs being compared are scored on the same resamples, so a difference between two
models accounts for their sharing test subjects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stag.data.clip import subject_group
from stag.train.records import RecordError, RunRecord
from stag.train.metrics import subject_bootstrap_ci

#: Resamples of every interval the tables report.
N_BOOT = 2000


def aligned(runs: list[RunRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(y_true, preds (m, n), groups, k)`` of runs over the same clips, in clip order.

    Raises:
        RecordError: the runs predict different clips or disagree on the truth.
    """
    frames = [r.predictions.sort_values("clip_id").reset_index(drop=True) for r in runs]
    ref = frames[0]
    for r, f in zip(runs[1:], frames[1:]):
        if not (f["clip_id"].equals(ref["clip_id"]) and f["y_true"].equals(ref["y_true"])):
            raise RecordError(f"recorded runs {runs[0].name} and {r.name} do not predict the same clips with the "
                              "same labels; they cannot be paired")
    groups = subject_group(ref["dataset"], ref["subject"])
    return (ref["y_true"].to_numpy(), np.stack([f["y_pred"].to_numpy() for f in frames]), groups,
            len(runs[0].class_names))


def seed_interval(runs: list[RunRecord], *, n_boot: int = N_BOOT) -> tuple[float, float]:
    """95% subject-bootstrap interval of the mean UF1 of ``runs`` (the seeds of one model)."""
    y, preds, groups, k = aligned(runs)
    _, lo, hi = subject_bootstrap_ci(y, preds, groups, k, n_boot=n_boot)
    return lo, hi


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, *,
                      n_boot: int = N_BOOT) -> tuple[list[int], float, float, float]:
    """``(seeds, diff, low, high)``: seed s of ``a`` paired with seed s of ``b`` (tables indexed by
    seed, with a ``record`` column), the mean paired UF1 difference ``a - b`` and its 95%
    interval when the subjects are resampled, both models scored on the same resample.
    No seed in both: ``([], nan, nan, nan)``."""
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        return [], float("nan"), float("nan"), float("nan")
    y, preds, groups, k = aligned([a.loc[s, "record"] for s in seeds] + [b.loc[s, "record"] for s in seeds])
    n = len(seeds)
    est, lo, hi = subject_bootstrap_ci(y, preds, groups, k, weights=np.r_[np.full(n, 1 / n), np.full(n, -1 / n)],
                                       n_boot=n_boot)
    return seeds, est, lo, hi


def ensemble_prediction(runs: list[RunRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(y_true, prediction of the mean softmax over runs, groups, k)``, clips in clip order.

    Raises:
        RecordError: a run holds no probabilities (``p_<class>`` columns), or the runs
            predict different clips.
    """
    y, _, groups, k = aligned(runs)
    probs = []
    for r in runs:
        cols = [f"p_{c}" for c in r.class_names]
        if not set(cols) <= set(r.predictions.columns):
            raise RecordError(f"recorded run {r.name} holds no class probabilities ({', '.join(cols)}); "
                              "it cannot join a seed ensemble")
        probs.append(r.predictions.sort_values("clip_id")[cols].to_numpy(dtype=np.float64))
    return y, np.mean(probs, axis=0).argmax(1), groups, k


def seed_groups(runs: pd.DataFrame, size: int) -> list[tuple[int, ...]]:
    """Consecutive groups of ``size`` seeds (seeds 0-2, 3-5, ...); an incomplete group is dropped."""
    seeds = sorted(runs["seed"])
    return [tuple(seeds[i:i + size]) for i in range(0, len(seeds) - size + 1, size)]


def group_predictions(runs: pd.DataFrame, groups: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(y_true, preds (G, n), subject groups, k)``: one seed-ensemble prediction per seed group."""
    out = [ensemble_prediction(list(runs[runs["seed"].isin(g)].sort_values("seed")["record"])) for g in groups]
    y, _, subjects, k = out[0]
    for yy, *_ in out[1:]:
        if not np.array_equal(yy, y):
            raise RecordError("seed ensembles of one model do not predict the same clips")
    return y, np.stack([p for _, p, _, _ in out]), subjects, k



# --------------------------------------------------------------------------- the one verdict rule
def side(low: float, high: float) -> int:
    """Where a 95% interval of a difference A - B lies: ``1`` above zero (A measurably higher),
    ``-1`` below (A measurably lower), ``0`` across it (no measurable difference). The one rule
    every verdict of the book uses; only the wording differs from table to table."""
    return 1 if low > 0 else -1 if high < 0 else 0


def verdict(low: float, high: float, a: str, b: str) -> str:
    """``"<a> better"``, ``"<b> better"`` or ``"no measurable difference"`` (:func:`side`)."""
    return {1: f"{a} better", -1: f"{b} better", 0: "no measurable difference"}[side(low, high)]


def signed(x: float, digits: int = 3) -> str:
    """A signed number as the book prints it: ``+0.012``, ``-0.020``; a value that rounds to zero
    prints ``+0.000``, never ``-0.000``."""
    r = round(float(x), digits)
    return f"{r if r != 0 else 0.0:+.{digits}f}"


def word_list(items: list[str], last: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"`` (or ``"a, b or c"`` with ``last="or"``)."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


def interval(diff: float, low: float, high: float, digits: int = 3) -> str:
    """A difference and its interval as the book prints them: ``+0.012 [-0.020, +0.041]``."""
    return f"{signed(diff, digits)} [{signed(low, digits)}, {signed(high, digits)}]"
