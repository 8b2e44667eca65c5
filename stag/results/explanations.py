"""Tables and findings of the explanation chapter, computed from an explanation of trained folds
(:class:`stag.explain.study.Explanation`, read by its attributes; nothing here imports torch).

Each function reshapes numbers that :mod:`stag.explain.study` already computed (no model
runs here): the localisation table with its ceiling and the share of the headroom each method
covers, methods ranked by lift, per-class and per-outcome lifts, the channel and sign
variants, the ROI rank agreement, the keyframe-prior agreement, the deletion/insertion areas
and which methods beat the random order. :func:`lift_sentences` turns those tables into the
chapter's sentences, so the prose cannot drift from the numbers.

Vocabulary (see chapter 9, "Explanations"): ``lift`` is the share of a map's positive mass inside the active
AU masks divided by the masks' share of the image (1 = chance); its ``ceiling`` is
``1 / area_share`` (the masks themselves), and ``headroom`` is ``(lift - 1) / (ceiling - 1)``,
the share of the way from chance to the ceiling. ``random`` (a random map) and ``motion``
(the flow magnitude) are the two controls that use no model.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------- scores of maps and curves
def curve_auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under a deletion/insertion curve over ``fractions`` in [0, 1], divided by their span."""
    x, y = np.asarray(fractions, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"fractions {x.shape} and values {y.shape} must be matching 1-D arrays of length >= 2")
    span = x[-1] - x[0]
    if span <= 0:
        raise ValueError("fractions must increase")
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0 / span)


def map_agreement(maps: Mapping[str, np.ndarray]) -> "pd.DataFrame":  # noqa: F821 (pandas imported lazily)
    """Mean pairwise Spearman correlation between methods' pixel maps of the same clips.

    Args:
        maps: method -> ``(B, H, W)`` maps of the same ``B`` clips.

    Returns:
        A square DataFrame (methods x methods) of the mean over clips of the per-clip Spearman
        rank correlation of the flattened maps (1 on the diagonal).
    """
    # lazy: scipy is slow to import (python -X importtime); only this function needs it
    from scipy.stats import rankdata

    names = list(maps)
    shapes = {np.shape(maps[m]) for m in names}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ValueError(f"maps must all be (B, H, W) of the same clips; got shapes {sorted(shapes)}")
    ranks = {m: np.stack([rankdata(x.ravel()) for x in np.asarray(maps[m], dtype=np.float64)]) for m in names}
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ra, rb = ranks[a] - ranks[a].mean(1, keepdims=True), ranks[b] - ranks[b].mean(1, keepdims=True)
            den = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
            rho = np.divide((ra * rb).sum(1), den, out=np.full(len(den), np.nan), where=den > 0)
            out.loc[a, b] = out.loc[b, a] = float(np.nanmean(rho)) if np.isfinite(rho).any() else np.nan
    return out


def curve_summary(curves: pd.DataFrame, value: str = "prob", by: Sequence[str] = ()) -> pd.DataFrame:
    """Area under each mean curve: one row per (``by``..., mode, order) with ``auc``.

    Lower deletion AUC and higher insertion AUC than the random order mean a faithful ranking.
    """
    keys = [*by, "mode", "order"]
    mean = curves.groupby([*keys, "fraction"], as_index=False)[value].mean()
    rows = []
    for key, g in mean.groupby(keys):
        g = g.sort_values("fraction")
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                     "auc": curve_auc(g["fraction"].to_numpy(), g[value].to_numpy())})
    return pd.DataFrame(rows)



CONTROLS: tuple[str, ...] = ("random", "motion")
LIFT_TARGET = 2.0  # the IG lift this chapter set itself as a target before measuring


def explained_clips(explanations: dict) -> pd.DataFrame:
    """What was explained, per model (``model -> Explanation``): ``clips``, ``folds`` and the
    ``accuracy`` of the model on those held-out clips."""
    rows = [{"model": m, "clips": len(e.clips), "folds": int(e.clips["fold"].nunique()),
             "accuracy": float(e.clips["correct"].mean()) if len(e.clips) else np.nan}
            for m, e in explanations.items()]
    return pd.DataFrame(rows, columns=["model", "clips", "folds", "accuracy"]).set_index("model")


def localisation_summary(localisation: pd.DataFrame) -> pd.DataFrame:
    """The localisation table (``Explanation.localisation_table()``, one row per method) with
    ``ceiling`` (``1 / area_share``) and ``headroom`` (``(lift - 1) / (ceiling - 1)``) added.

    Columns kept: ``clips, inside_share, area_share, lift, lift_median, ceiling, headroom,
    pointing_hit, pointing_chance``.
    """
    out = localisation.copy()
    out["ceiling"] = 1.0 / out["area_share"]
    out["headroom"] = (out["lift"] - 1.0) / (out["ceiling"] - 1.0)
    cols = ["clips", "inside_share", "area_share", "lift", "lift_median", "ceiling", "headroom",
            "pointing_hit", "pointing_chance"]
    return out[[c for c in cols if c in out.columns]]


def rank_methods(table: pd.DataFrame, column: str = "lift", controls: Sequence[str] = CONTROLS) -> pd.Series:
    """``table[column]`` without the control rows and NaNs, highest first (index: method)."""
    return table[column].drop(list(controls), errors="ignore").dropna().sort_values(ascending=False)


def completeness(scores: pd.DataFrame, method: str = "ig", tolerance: float = 0.05) -> pd.Series:
    """Integrated Gradients' completeness error ``|delta| / |f(x) - f(0)|`` over clips.

    Returns:
        ``clips``, ``median``, ``p90`` (90th percentile) and ``above_tolerance`` (share of
        clips whose relative error exceeds ``tolerance``), all NaN without IG rows.
    """
    rel = scores.loc[scores["method"] == method, "delta_rel"].dropna()
    return pd.Series({"clips": len(rel), "median": rel.median() if len(rel) else np.nan,
                      "p90": rel.quantile(0.9) if len(rel) else np.nan,
                      "above_tolerance": (rel > tolerance).mean() if len(rel) else np.nan,
                      "tolerance": tolerance}, name=f"{method} completeness")


def lift_by(localisation: pd.DataFrame, column: str, methods: Sequence[str]) -> pd.DataFrame:
    """Lift per ``column`` value (rows) and method (columns), plus each row's ``ceiling``.

    Args:
        localisation: ``Explanation.localisation_table(by=("method", column))``.
        column: ``"label_name"`` (per class) or ``"correct"`` (per outcome).
        methods: the methods to keep (``random`` is always kept as the chance column).
    """
    long = localisation.reset_index()
    long = long[long["method"].isin([*methods, "random"])]
    wide = long.pivot(index=column, columns="method", values="lift")
    wide = wide[[m for m in [*methods, "random"] if m in wide.columns]]
    wide.columns.name = None
    wide["ceiling"] = 1.0 / long.groupby(column)["area_share"].first()
    return wide


def class_headroom(lift_table: pd.DataFrame, method: str = "ig") -> pd.Series:
    """Share of the way from chance to the row's ceiling that ``method`` covers, per row of
    :func:`lift_by` (NaN rows dropped)."""
    return ((lift_table[method] - 1.0) / (lift_table["ceiling"] - 1.0)).dropna()


def channel_lifts(scores: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Mean of every ``lift*`` column per method: ``lift`` (positive, all channels),
    ``lift_abs``, ``lift_apex`` and one ``lift_<channel>`` per flow channel."""
    cols = [c for c in scores.columns if c.startswith("lift")]
    return scores[scores["method"].isin(methods)].groupby("method")[cols].mean()


def best_channel(channels: pd.DataFrame, method: str = "ig") -> tuple[str, float]:
    """The flow channel on which ``method`` localises best: ``(channel, lift)``."""
    row = channels.loc[method]
    per_channel = row.drop(["lift", "lift_abs", "lift_apex"], errors="ignore").dropna()
    name = per_channel.idxmax()
    return name.removeprefix("lift_"), float(per_channel[name])


def roi_agreement(scores: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank agreement between each source's ROI importances and the AU intensities:
    ``roi_spearman`` (mean over clips), ``median``, ``clips``; one row per method."""
    return (scores.groupby("method")["roi_spearman"].agg(["mean", "median", "count"])
            .rename(columns={"mean": "roi_spearman", "count": "clips"}))


def keyframe_prior_agreement(keyframes: pd.DataFrame, method: str | None = None) -> tuple[str, float]:
    """Mean over clips of the Spearman correlation between ``|importance|`` per keyframe and
    the magnitude prior, for ``method`` (default: the table's first). ``(method, value)``;
    NaN when there are no keyframe rows."""
    if keyframes.empty:
        return method or "", float("nan")
    method = method or str(keyframes["method"].iloc[0])
    k = keyframes[keyframes["method"] == method].assign(a=lambda d: d["importance"].abs())
    with warnings.catch_warnings():  # a clip with constant magnitudes has no rank correlation (NaN, skipped)
        warnings.simplefilter("ignore")
        per_clip = [g["a"].corr(g["magnitude"], method="spearman") for _, g in k.groupby("clip_id")]
    per_clip = [c for c in per_clip if np.isfinite(c)]
    return method, float(np.mean(per_clip)) if per_clip else float("nan")


def faithfulness_table(curves: pd.DataFrame, unit: str = "pixel") -> pd.DataFrame:
    """Area under the mean deletion and insertion curves: methods (rows, ``random`` is the
    random order) by mode (columns ``deletion``, ``insertion``)."""
    part = curves[curves["unit"] == unit] if "unit" in curves.columns else curves
    if part.empty:
        return pd.DataFrame(columns=["deletion", "insertion"])
    auc = curve_summary(part, by=["method"])
    wide = auc.pivot(index="method", columns="mode", values="auc")
    wide.columns.name = None
    return wide


def faithful_methods(auc: pd.DataFrame, methods: Sequence[str]) -> list[str]:
    """Methods whose ranking beats the random order on both curves: lower deletion area and
    higher insertion area than the ``random`` row of :func:`faithfulness_table`."""
    if "random" not in auc.index:
        return []
    r = auc.loc["random"]
    return [m for m in methods if m in auc.index and auc.loc[m, "deletion"] < r["deletion"]
            and auc.loc[m, "insertion"] > r["insertion"]]


def agreement_range(agreement: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Every pair of ``methods`` with its map agreement (Spearman), lowest first: columns
    ``a, b, spearman``."""
    methods = [m for m in methods if m in agreement.index]
    rows = [{"a": a, "b": b, "spearman": float(agreement.loc[a, b])}
            for i, a in enumerate(methods) for b in methods[i + 1:]]
    return pd.DataFrame(rows, columns=["a", "b", "spearman"]).sort_values("spearman", ignore_index=True)


@dataclass
class InterpretabilityTables:
    """Every summary table of the chapter, from one :class:`~stag.explain.study.Explanation`.

    Localisation tables are empty when the data has no ground-truth AU masks (real data).
    """

    methods: tuple[str, ...]
    localisation: pd.DataFrame
    completeness: pd.Series
    per_class: pd.DataFrame
    per_outcome: pd.DataFrame
    channels: pd.DataFrame
    roi: pd.DataFrame
    keyframes: tuple[str, float]
    faithfulness: pd.DataFrame
    faithfulness_roi: pd.DataFrame
    agreement: pd.DataFrame

    @property
    def has_truth(self) -> bool:
        return not self.localisation.empty and bool(np.isfinite(self.localisation["lift"]).any())


def interpretability_tables(explanation, methods: Sequence[str]) -> InterpretabilityTables:
    """Build :class:`InterpretabilityTables` from an ``Explanation`` and the methods run."""
    ex, methods = explanation, tuple(methods)
    loc = ex.localisation_table()
    has_truth = not loc.empty and bool(np.isfinite(loc["lift"]).any())
    empty = pd.DataFrame()
    kf_methods = [m for m in ("ig", "gradshap") if m in methods]
    maps = {m: ex.maps[m] for m in [*methods, "motion"] if m in ex.maps}
    return InterpretabilityTables(
        methods=methods,
        localisation=localisation_summary(loc) if has_truth else empty,
        completeness=completeness(ex.scores),
        per_class=lift_by(ex.localisation_table(by=("method", "label_name")), "label_name", methods)
        if has_truth else empty,
        per_outcome=lift_by(ex.localisation_table(by=("method", "correct")), "correct", methods)
        if has_truth else empty,
        channels=channel_lifts(ex.scores, methods) if has_truth else empty,
        roi=roi_agreement(ex.scores),
        keyframes=keyframe_prior_agreement(ex.keyframes, kf_methods[0] if kf_methods else None),
        faithfulness=faithfulness_table(ex.curves, "pixel"),
        faithfulness_roi=faithfulness_table(ex.curves, "roi"),
        agreement=map_agreement(maps),
    )


def lift_sentence(t: InterpretabilityTables, method: str = "ig", target: float = LIFT_TARGET) -> str:
    """The chapter's answer in one sentence: how far ``method``'s maps land on the moving AUs."""
    if not t.has_truth or method not in t.localisation.index:
        return "This dataset has no ground-truth AU masks, so localisation cannot be measured."
    loc = t.localisation
    m, r = loc.loc[method], loc.loc["random", "lift"] if "random" in loc.index else np.nan
    motion = loc.loc["motion", "lift"] if "motion" in loc.index else np.nan
    return (f"{_name(method)} puts {m['inside_share']:.0%} of its positive mass on the active AUs, which cover "
            f"{m['area_share']:.0%} of the face: a lift of {m['lift']:.2f} against {r:.2f} for a random map "
            f"and {motion:.2f} for the flow magnitude, {m['headroom']:.0%} of the way from chance to the "
            f"ceiling of {m['ceiling']:.2f}. This is one trained run with no interval: it "
            f"{'reaches' if m['lift'] >= target else 'does not reach'} the target lift of {target:g}, a "
            "measurement of this build's run rather than a claim about STAG.")


def lift_sentences(t: InterpretabilityTables, method: str = "ig", target: float = LIFT_TARGET) -> str:
    """What the chapter found, as a Markdown list computed from :class:`InterpretabilityTables`."""
    facts = []
    if t.has_truth and method in t.localisation.index:
        loc = t.localisation
        m = loc.loc[method]
        facts.append(lift_sentence(t, method, target))
        if "motion" in loc.index:
            better = m["lift"] > loc.loc["motion", "lift"]
            facts.append(f"The flow magnitude alone scores a lift of {loc.loc['motion', 'lift']:.2f}, so "
                         f"{_name(method)} {'localises better than' if better else 'does not localise better than'} "
                         "simply following the input motion.")
        ranked = rank_methods(loc)
        facts.append("Methods ranked by lift: " + ", ".join(f"{k} {v:.2f}" for k, v in ranked.items()) + ".")
        facts.append(f"Pointing game for {_name(method)}: {m['pointing_hit']:.0%} hits against "
                     f"{m['pointing_chance']:.0%} by chance.")
        if method in t.channels.index:
            ch = t.channels.loc[method]
            name, value = best_channel(t.channels, method)
            facts.append(f"Per channel, {_name(method)} localises best on {name} (lift {value:.2f}); counting "
                         f"evidence against the class too (absolute values) gives {ch['lift_abs']:.2f} instead of "
                         f"{ch['lift']:.2f}, and the apex keyframe alone {ch['lift_apex']:.2f}.")
        if method in t.per_class.columns:
            head = class_headroom(t.per_class, method)
            facts.append(f"Per class, {_name(method)} covers " + ", ".join(f"{c} {v:.0%}" for c, v in head.items())
                         + " of the way from chance to that class's ceiling (the classes' masks differ in size, "
                         "so their raw lifts are not comparable).")
        outcome = t.per_outcome
        if method in outcome.columns and {True, False} <= set(outcome.index):
            facts.append(f"{_name(method)} lift on correctly classified clips {outcome.loc[True, method]:.2f}, "
                         f"on misclassified ones {outcome.loc[False, method]:.2f}.")
    c = t.completeness
    if c["clips"]:
        facts.append(f"IG completeness holds to a median {c['median']:.2%} of f(x) - f(0); "
                     f"{c['above_tolerance']:.0%} of {int(c['clips'])} clips exceed {c['tolerance']:.0%}.")
    if t.has_truth and len(t.roi):
        spear = rank_methods(t.roi, "roi_spearman", controls=("random",))
        rand = t.roi.loc["random", "roi_spearman"] if "random" in t.roi.index else np.nan
        facts.append("ROI rank agreement with the AU intensities (mean Spearman): "
                     + ", ".join(f"{k} {v:.2f}" for k, v in spear.items()) + f"; random map {rand:.2f}.")
    k_method, k_corr = t.keyframes
    if np.isfinite(k_corr):
        facts.append(f"Per keyframe, |{k_method}| follows the magnitude prior with a mean per-clip Spearman "
                     f"of {k_corr:.2f}.")
    if len(t.faithfulness):
        ok = faithful_methods(t.faithfulness, t.methods)
        facts.append(f"Faithfulness: {', '.join(ok) or 'no method'} beat the random pixel order on both "
                     f"deletion and insertion ({len(ok)} of {len(t.methods)} methods).")
    pairs = agreement_range(t.agreement, t.methods)
    if len(pairs):
        lo, hi = pairs.iloc[0], pairs.iloc[-1]
        facts.append(f"Map agreement (Spearman) ranges from {lo['spearman']:.2f} ({lo['a']} against {lo['b']}) "
                     f"to {hi['spearman']:.2f} ({hi['a']} against {hi['b']}).")
    return "\n".join(f"- {f}" for f in facts)


_NAMES = {"ig": "Integrated Gradients", "gradshap": "GradientShap", "saliency": "Saliency",
          "occlusion": "Occlusion"}


def _name(method: str) -> str:
    return _NAMES.get(method, method)


__all__ = ["CONTROLS", "LIFT_TARGET", "InterpretabilityTables", "agreement_range", "best_channel",
           "channel_lifts", "class_headroom", "completeness", "explained_clips", "faithful_methods", "faithfulness_table",
           "lift_sentences", "lift_sentence", "interpretability_tables", "keyframe_prior_agreement", "lift_by",
           "localisation_summary", "rank_methods", "roi_agreement"]
