"""The recorded two-phase study: does motion over time help STAG on real faces?

The runs of ``results/megc2019_phases/`` (pre-registered in its ``TRIED.md``) train on the
two-phase copy of the MEGC2019 composite (``megc2019_phases``: onset->apex and apex->offset
per clip). Their names in the tables (:func:`phase_variant`): the registry name, ``@K1`` for a
STAG-family run on the onset->apex flow alone, ``@apex_offset`` for a run on the apex->offset
flow alone, ``+pre`` for a run that starts from synthetic pretraining
(:mod:`stag.train.pretrain`). :data:`METHOD` is the pre-registered method; :data:`POST_HOC`
are the questions added after its answers were printed (diagnostics, never a choice of the
method).

Every comparison pairs seed s with seed s and resamples the 68 subjects
(:func:`stag.results.tables.pairs_table`); the best baseline is the one of
:data:`BASELINES` with the highest mean UF1, as pre-registered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stag.results.stats import N_BOOT, interval, side
from stag.results.tables import ABLATION_REMOVES, pairs_table
from stag.train.names import RunName
from stag.train.records import load_records

#: The pre-registered method: STAG on both phases, from synthetic pretraining.
METHOD = "stag+pre"
#: The baselines and equal-input controls the method is measured against (pre-registered).
BASELINES = ("offapexnet", "ststnet", "offapexnet_stack", "ststnet_stack", "offapexnet_stack+pre")
#: The ablations of the method (each pretrained like it).
ABLATIONS = ("stag_static_adj+pre", "stag_no_temporal+pre", "stag_late_fusion+pre", "stag_no_graph+pre",
             "stag_no_mag_prior+pre")
#: Every pre-registered run (``TRIED.md``) by its table name, in the pre-registered order of execution.
PLANNED = ("offapexnet", "ststnet", METHOD, "offapexnet_stack", "ststnet_stack", "stag", "stag@K1",
           "stag_static_adj+pre", "stag_no_temporal+pre", "offapexnet_stack+pre", "stag_late_fusion+pre",
           "stag_no_graph+pre", "stag_no_mag_prior+pre")
#: Seeds per run, as pre-registered.
SEEDS = 3
#: K of the study's runs (both phases); a STAG-family run on one phase is named ``@K1``.
STUDY_KEYFRAMES = 2
#: The issue's targets: the method's mean UF1, its margin over the best baseline.
TARGET_UF1, TARGET_MARGIN = 0.78, 0.05
#: What each paired comparison of the study measures: (A, B, what A - B measures).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("stag", "stag@K1", "K = 2 against K = 1: the second phase (apex->offset), same network, no pretraining"),
    (METHOD, "stag", "synthetic pretraining against none (same network, both phases)"),
    ("offapexnet_stack", "offapexnet", "the second phase for Off-ApexNet-like (stacked against as published)"),
    ("ststnet_stack", "ststnet", "the second phase for STSTNet-like (stacked against as published)"),
    ("offapexnet_stack+pre", "offapexnet_stack", "synthetic pretraining for Off-ApexNet-like (both phases)"),
)
#: Questions added after the pre-registered answers were printed (``TRIED.md``, "Added after"):
#: diagnostics of why the second phase hurts, kept apart from the pre-registered ones.
POST_HOC: tuple[tuple[str, str, str], ...] = (
    ("stag@apex_offset", "stag@K1", "post hoc: the apex->offset flow alone against the onset->apex flow alone "
     "(same network, K = 1, no pretraining)"),
)


def phase_variant(results: dict) -> RunName:
    """A run's name in the study's tables (module doc): ``stag+pre``, ``stag@K1``,
    ``offapexnet_stack``... (the study's K is 2)."""
    return RunName.from_results(results, keyframes=STUDY_KEYFRAMES)


def load(root: str | Path) -> pd.DataFrame:
    """The study's run table (:func:`stag.train.records.load_records` with :func:`phase_variant`)."""
    return load_records(root, variant=phase_variant)


def best_baseline(summary: pd.DataFrame) -> str | None:
    """The recorded member of :data:`BASELINES` with the highest mean UF1 (honest, last epoch)."""
    last = summary[(summary["selection"] == "last") & summary["model"].isin(BASELINES)] if len(summary) else summary
    return None if last.empty else str(last.sort_values("uf1_mean", ascending=False).iloc[0]["model"])


def method_table(table: pd.DataFrame, summary: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """The method minus every baseline, control and ablation, paired (:func:`~stag.results.tables.pairs_table`),
    with ``best`` marking the best baseline."""
    others = [(METHOD, b, f"the method against {b}") for b in BASELINES]
    others += [(METHOD, a, "the method against its ablation without "
                + ABLATION_REMOVES.get(RunName.parse(a).model, a)) for a in ABLATIONS]
    out = pairs_table(table, others, n_boot=n_boot)
    out["best"] = out["b"] == best_baseline(summary)
    return out


def questions_table(table: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """The study's other paired questions (:data:`QUESTIONS`, then the recorded ones of
    :data:`POST_HOC`), with ``post_hoc`` marking the latter."""
    out = pairs_table(table, QUESTIONS + POST_HOC, n_boot=n_boot)
    post_hoc = {(a, b) for a, b, _ in POST_HOC}
    out["post_hoc"] = [pair in post_hoc for pair in zip(out["a"], out["b"])]
    return out


def targets_table(summary: pd.DataFrame, methods: pd.DataFrame) -> pd.DataFrame:
    """The issue's targets, each with what was measured and whether it is met: the method's
    mean UF1 (>= :data:`TARGET_UF1`), its margin over the best baseline (>= :data:`TARGET_MARGIN`
    with an interval above zero), and full STAG against the two named ablations."""
    rows = []
    s = summary[(summary["model"] == METHOD) & (summary["selection"] == "last")]
    mean = float(s["uf1_mean"].iloc[0]) if len(s) else np.nan
    rows.append({"target": f"mean UF1 of {METHOD} >= {TARGET_UF1:.2f}", "measured": f"{mean:.3f}" if len(s) else
                 "not run", "met": bool(len(s) and mean >= TARGET_UF1)})
    best = methods[methods["best"]] if len(methods) else methods
    if len(best):
        r = best.iloc[0]
        rows.append({"target": f"margin over the best baseline ({r['b']}) >= {TARGET_MARGIN:.2f}, interval above 0",
                     "measured": _interval(r),
                     "met": bool(r["diff_mean"] >= TARGET_MARGIN and r["ci_low"] > 0)})
    else:
        rows.append({"target": f"margin over the best baseline >= {TARGET_MARGIN:.2f}", "measured": "not run",
                     "met": False})
    for abl in ("stag_static_adj+pre", "stag_no_temporal+pre"):
        r = methods[methods["b"] == abl] if len(methods) else methods
        rows.append({"target": f"{METHOD} beats {abl}",
                     "measured": _interval(r.iloc[0]) if len(r) else "not run",
                     "met": bool(len(r) and r.iloc[0]["ci_low"] > 0)})
    return pd.DataFrame(rows, columns=["target", "measured", "met"])


def _interval(row) -> str:
    """A pairs-table row's difference and interval: ``+0.012 [-0.020, +0.041]``."""
    return interval(row["diff_mean"], row["ci_low"], row["ci_high"])


def _diff(row) -> str:
    """:func:`_interval`, plus how many seeds were paired when fewer than :data:`SEEDS`
    (the means beside it may then average more seeds than the difference does)."""
    n = int(row["seeds"])
    return _interval(row) if n >= SEEDS else f"{_interval(row)}, paired on the {n} seed{'s' * (n > 1)} both runs have"


#: How A stands to B, by where the interval of A - B lies (:func:`_relation`).
RELATIONS = ("measurably better than", "measurably worse than", "not measurably different from")


def _relation(row) -> str:
    """One of :data:`RELATIONS` from a pairs-table row (A - B), by :func:`~stag.results.stats.side`."""
    return RELATIONS[{1: 0, -1: 1, 0: 2}[side(row["ci_low"], row["ci_high"])]]


def _said(row, a_name: str, b_name: str) -> str:
    """``"<a> is measurably better than <b>"`` etc. from a pairs-table row (A - B)."""
    return f"{a_name} is {_relation(row)} {b_name}"


def two_phase_sentences(summary: pd.DataFrame, methods: pd.DataFrame, questions: pd.DataFrame,
                        targets: pd.DataFrame) -> str:
    """The study's answer as Markdown bullets, worded from the tables."""
    if summary.empty:
        return "No two-phase runs are recorded (results/megc2019_phases/)."
    last = summary[summary["selection"] == "last"].set_index("model")

    def uf1(m: str) -> str:
        if m not in last.index:
            return f"{m} (not run)"
        r = last.loc[m]
        return f"{m} {r['uf1_mean']:.3f} ({int(r['seeds'])} seed{'s' * (int(r['seeds']) > 1)})"

    q = questions.set_index(["a", "b"]) if len(questions) else questions
    lines = []
    for (a, b), lead in ((("stag", "stag@K1"), "Motion over time, without pretraining"),
                         ((METHOD, "stag"), "Synthetic pretraining")):
        if len(q) and (a, b) in q.index:
            r = q.loc[(a, b)]
            lines.append(f"- **{lead}:** {_said(r, a, b)}: {uf1(a)} against {uf1(b)}, a paired difference of "
                         f"{_diff(r)} (95% subject-bootstrap interval).")
        else:
            lines.append(f"- **{lead}:** not answered ({a} or {b} was not run).")
    best = methods[methods["best"]] if len(methods) else methods
    if len(best):
        r = best.iloc[0]
        lines.append(f"- **The method against the best baseline or control** ({r['b']}, chosen by its mean UF1 as "
                     f"pre-registered): {_said(r, METHOD, r['b'])}: {uf1(METHOD)} against {uf1(r['b'])}, "
                     f"{_diff(r)}.")
    abl = methods[methods["b"].isin(ABLATIONS)] if len(methods) else methods
    if len(abl):
        rows = [r for _, r in abl.iterrows()]
        said = [f"{how} " + ", ".join(f"{r['b']} ({_diff(r)})" for r in rows if _relation(r) == how)
                for how in RELATIONS if any(_relation(r) == how for r in rows)]
        lines.append(f"- **Ablations (each pretrained like the method):** full STAG is {'; '.join(said)}.")
    short = [f"{m} ({int(last.loc[m, 'seeds'])} of {SEEDS} seeds)" for m in PLANNED
             if m in last.index and int(last.loc[m, "seeds"]) < SEEDS]
    if short:
        lines.append(f"- **Incomplete** (the remaining seeds were not reached): {', '.join(short)}; their "
                     "comparisons pair only the seeds both runs have.")
    missing = [m for m in PLANNED if m not in last.index]
    if missing:
        lines.append(f"- **Planned and not run** (pre-registered in TRIED.md, not reached in the CPU time of the "
                     f"study): {', '.join(missing)}.")
    for _, r in (questions[questions["post_hoc"]].iterrows() if "post_hoc" in questions else ()):
        lines.append(f"- **Post hoc, what the second phase carries by itself** (added after these answers were "
                     f"printed; TRIED.md): {_said(r, r['a'], r['b'])}: {uf1(r['a'])} against {uf1(r['b'])}, "
                     f"{_diff(r)}.")
    met = targets[targets["met"]] if len(targets) else targets
    lines.append(f"- **Targets:** {len(met)} of {len(targets)} met ("
                 + "; ".join(f"{t['target']}: {t['measured']}, {'met' if t['met'] else 'not met'}"
                             for _, t in targets.iterrows()) + ").")
    return "\n".join(lines)


#: A recorded pretraining that took less than this many seconds to "train" was a cache load
#: (30 epochs on 480 clips take tens of seconds on 2 cores); used for records made before
#: ``loaded_from_cache`` was recorded.
LOAD_SECONDS = 5.0


def pretraining_table(table: pd.DataFrame) -> pd.DataFrame:
    """What each pretrained run's start cost: ``run, n_clips, epochs, prepare_seconds,
    train_seconds, weights`` (``trained``, ``loaded from the cache`` when the record says so,
    or ``loaded from the cache (inferred: under LOAD_SECONDS s)`` for an older record)."""
    cols = ["run", "n_clips", "epochs", "prepare_seconds", "train_seconds", "weights"]
    rows = []
    for r in table["record"]:
        info = r.results.get("pretrain")
        if not info:
            continue
        if "loaded_from_cache" in info:
            weights = "loaded from the cache" if info["loaded_from_cache"] else "trained"
        else:
            fast = float(info.get("train_seconds") or 0) < LOAD_SECONDS
            weights = f"loaded from the cache (inferred: under {LOAD_SECONDS:g} s)" if fast else "trained"
        rows.append({"run": r.name, **{k: info.get(k) for k in cols[1:5]}, "weights": weights})
    return pd.DataFrame(rows, columns=cols)


def paired_rows(methods: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """Both pairs tables in the layout of :func:`stag.viz.results.plot_paired_differences`
    (``a, b, selection, diff_per_seed, diff_mean, ci_low, ci_high``): the study's questions
    first (the post-hoc ones labelled so), then the method against every baseline, control and
    ablation."""
    cols = ["a", "b", "selection", "diff_per_seed", "diff_mean", "ci_low", "ci_high"]
    questions = questions.assign(selection=np.where(questions["post_hoc"], "post hoc", "question"))
    parts = [t[cols] for t in (questions, methods.assign(selection="the method")) if len(t)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
