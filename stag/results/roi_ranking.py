"""Agreement between a ranking of facial regions and the regions of a clip's coded action units.

Real faces carry no AU masks, only a FACS coding per clip (``4+7+L10``). The question "does the
explanation land on the coded AUs?" is then asked at the level of the ROIs: a method ranks the
``N`` ROIs of a clip by importance, and the coded AUs name a set of ROIs (through the AU-to-ROI
table). Three scores of one ranking against one coded set:

- **pointing**: the top ROI is a coded ROI (the pointing game over regions);
- **mrr**: reciprocal rank of the first coded ROI (1 when it is on top, 1/N at the bottom);
- **hit@k**: a coded ROI is among the top ``k``.

Ties in the importances (a constant ranker, equal edge weights) are broken uniformly at random,
and each score is its expectation over the tie-breaks, computed exactly; a constant ranker
therefore scores ``c / N`` at pointing for ``c`` coded ROIs out of ``N``.

A high score alone does not show that the explanation follows the face: a model that always
points at the mouth corners scores well on a class where most clips code AU12. The **chance
level** of a clip is the expected score of *its own* ranking against the coded set of a clip
drawn uniformly from the same stratum (by default the same dataset and class): the limit of
permuting the AU codes across those clips infinitely often (:func:`chance_scores`; a Monte
Carlo over ``n_perm`` permutations with a fixed seed is available as a check). Score minus
chance is zero in expectation for any ranking that ignores the clip, and exactly zero, summed
over a stratum, for a ranking that is the same for every clip.

Pure numpy; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np

SCORES: tuple[str, ...] = ("pointing", "mrr", "hit")


def _check(importance: np.ndarray, coded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    imp = np.asarray(importance, dtype=np.float64)
    sets = np.asarray(coded, dtype=bool)
    if imp.ndim != 1:
        raise ValueError(f"importance must be (N,) ROI importances; got shape {imp.shape}")
    if sets.ndim == 1:
        sets = sets[None]
    if sets.ndim != 2 or sets.shape[1] != len(imp):
        raise ValueError(f"coded must be (N,) or (M, N) bool over the same {len(imp)} ROIs; got shape {sets.shape}")
    if not np.isfinite(imp).all():
        raise ValueError("importance holds NaN or inf; a ranking needs a finite value for every ROI")
    return imp, sets


def tie_groups(importance: np.ndarray) -> list[np.ndarray]:
    """ROI indices grouped by equal importance, most important group first."""
    imp = np.asarray(importance, dtype=np.float64)
    values = np.unique(imp)[::-1]
    return [np.flatnonzero(imp == v) for v in values]


def ranking_scores(importance: np.ndarray, coded: np.ndarray, k: int = 3) -> dict[str, np.ndarray]:
    """Pointing, reciprocal rank of the first coded ROI and hit@k of one ranking.

    Args:
        importance: ``(N,)`` importance of each ROI (larger ranks higher).
        coded: ``(N,)`` or ``(M, N)`` bool, one or several coded-ROI sets to score against.
        k: the cut-off of the hit rate.

    Returns:
        ``{"pointing", "mrr", "hit"}``, each ``(M,)`` float64: expectations over uniform
        tie-breaking. A set with no coded ROI scores 0 everywhere.
    """
    imp, sets = _check(importance, coded)
    if k < 1:
        raise ValueError(f"k={k}: expected >= 1")
    m = len(sets)
    pointing = np.zeros(m)
    mrr = np.zeros(m)
    hit = np.zeros(m)
    found = np.zeros(m, dtype=bool)   # a coded ROI is in an earlier group
    before = 0                        # ROIs ranked above the current group
    for g, members in enumerate(tie_groups(imp)):
        s = len(members)
        c = sets[:, members].sum(axis=1)
        if g == 0:
            pointing = c / s
        # First coded ROI at position j (1..s-c+1) of this group, with P = C(s-j, c-1) / C(s, c).
        for row in np.flatnonzero(~found & (c > 0)):
            cc = int(c[row])
            mrr[row] = sum(comb(s - j, cc - 1) / (before + j) for j in range(1, s - cc + 2)) / comb(s, cc)
        # hit@k: ``slots`` of the top k fall in this group; earlier groups held no coded ROI.
        slots = k - before
        if slots >= s:
            hit[~found & (c > 0)] = 1.0
        elif slots > 0:
            rows = ~found
            hit[rows] = [1.0 - comb(s - int(cc), slots) / comb(s, slots) for cc in c[rows]]
        found |= c > 0
        before += s
    return {"pointing": pointing, "mrr": mrr, "hit": hit}


def chance_scores(importance: np.ndarray, coded: np.ndarray, strata: Sequence, k: int = 3, *,
                  n_perm: int | None = None, random_state: int = 0) -> dict[str, np.ndarray]:
    """Chance level of every clip's scores when the AU codes are permuted within strata.

    Clip ``i`` keeps its ranking ``importance[i]`` and is scored against the coded set of clip
    ``pi(i)``, where ``pi`` permutes the clips of each stratum (same dataset and class, say).

    Args:
        importance: ``(n, N)`` ROI importances of ``n`` clips.
        coded: ``(n, N)`` bool coded-ROI sets of the same clips.
        strata: ``(n,)`` stratum of each clip (a hashable per clip, e.g. ``"samm/0"``).
        k: the cut-off of hit@k.
        n_perm: ``None`` (default): the exact expectation over all permutations, i.e. the mean
            score of clip ``i``'s ranking against every coded set of its stratum (its own
            included, as a uniform permutation may leave it in place). An integer: the mean
            over that many random permutations drawn with ``random_state`` (a Monte Carlo
            check of the exact value).

    Returns:
        ``{"pointing", "mrr", "hit"}``, each ``(n,)`` float64.
    """
    imp = np.asarray(importance, dtype=np.float64)
    sets = np.asarray(coded, dtype=bool)
    strata = np.asarray([str(s) for s in strata], dtype=object)
    if imp.ndim != 2 or sets.shape != imp.shape or len(strata) != len(imp):
        raise ValueError(f"importance {imp.shape}, coded {sets.shape} and strata ({len(strata)}) must describe the "
                         "same (n, N) clips and ROIs")
    out = {s: np.zeros(len(imp)) for s in SCORES}
    rng = np.random.default_rng(random_state) if n_perm is not None else None
    for stratum in np.unique(strata):
        idx = np.flatnonzero(strata == stratum)
        if n_perm is None:
            for i in idx:
                sc = ranking_scores(imp[i], sets[idx], k)
                for s in SCORES:
                    out[s][i] = sc[s].mean()
            continue
        # Monte Carlo: score each clip against every member once, then average the draws.
        table = {s: np.stack([ranking_scores(imp[i], sets[idx], k)[s] for i in idx]) for s in SCORES}
        acc = {s: np.zeros(len(idx)) for s in SCORES}
        for _ in range(n_perm):
            perm = rng.permutation(len(idx))
            for s in SCORES:
                acc[s] += table[s][np.arange(len(idx)), perm]
        for s in SCORES:
            out[s][idx] = acc[s] / n_perm
    return out
