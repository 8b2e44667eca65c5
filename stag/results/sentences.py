"""Sentences that state findings, worded from the tables (never typed by hand).

Each function takes the tables of :mod:`stag.results.tables` and returns the sentence a
chapter prints under them, so the prose cannot drift from the numbers. Names say which
table they word: :func:`comparison_sentence` (STAG against the best baseline),
:func:`ensemble_sentence`, :func:`component_sentence` (the ablations) and
:func:`training_sentences` (the training chapter's list).
"""

from __future__ import annotations

import pandas as pd

from stag.results.stats import side, signed
from stag.results.tables import compare
from stag.train.records import HONEST

#: How A stands to B in a sentence, by :func:`~stag.results.stats.side` of A - B.
BEATS = {1: "beats", -1: "is worse than", 0: "does not measurably beat"}


def comparison_sentence(table: pd.DataFrame, comparison: pd.DataFrame | None = None) -> str:
    """The chapter's answer in one sentence, worded from the tables (never typed by hand).

    Uses the honest selection ``last`` (else ``inner_val``) of :func:`~stag.results.tables.compare`.
    """
    comparison = compare(table) if comparison is None else comparison
    honest = comparison[comparison["selection"].isin(HONEST)] if len(comparison) else comparison
    if honest.empty:
        return ("No recorded honest LOSO runs of STAG and a baseline yet, so the question is open "
                "(record runs under results/megc2019/ with `stag record`).")
    row = honest.iloc[0]
    loso = table[(table["protocol"] == "loso") & (table["selection"] == row["selection"])]
    ua = loso[loso["model"] == row["a"]]["uf1"]
    ub = loso[loso["model"] == row["b"]]["uf1"]
    where = side(row["ci_low"], row["ci_high"])
    verdict = BEATS[where]
    tail = "the interval includes zero" if where == 0 else "the interval excludes zero"
    return (f"Under honest LOSO on the MEGC2019 composite ({row['selection']} epoch, {row['seeds']} seed"
            f"{'s' * int(row['seeds'] > 1)}), STAG {verdict} the best baseline, {row['b']}: UF1 {ua.mean():.3f} "
            f"[{ua.min():.3f}-{ua.max():.3f}] against {ub.mean():.3f} [{ub.min():.3f}-{ub.max():.3f}], a paired "
            f"difference of {signed(row['diff_mean'])} (95% subject-bootstrap interval [{signed(row['ci_low'])}, "
            f"{signed(row['ci_high'])}]; {tail}).")


def ensemble_sentence(ens: pd.DataFrame, comparison: pd.DataFrame) -> str:
    """One sentence from :func:`~stag.results.tables.ensembles` and :func:`~stag.results.tables.ensemble_compare`."""
    if ens.empty or comparison.empty:
        return "No seed ensemble is recorded (it needs a complete group of seeds whose records keep probabilities)."
    row = comparison.iloc[0]
    e = ens.set_index("model")
    verdict = BEATS[side(row["ci_low"], row["ci_high"])]
    a, b = e.loc[row["a"]], e.loc[row["b"]]
    size = row["selection"].split(", ")[1].split("-")[0]
    n = int(row["ensembles"])
    which = (f"{n} ensembles of {size} seeds each (seeds {row['seeds']})" if n > 1
             else f"one ensemble of {size} seeds (seeds {row['seeds']})")
    mean = "on average " if n > 1 else ""
    return (f"Averaging the class probabilities of {which}, {row['selection'].split(',')[0]} selection (a rule "
            f"fixed before scoring and the same for every model), STAG reaches UF1 {mean}{a['uf1']:.3f} (single "
            f"seeds: {a['uf1_seed_mean']:.3f} on average) and {verdict} the best baseline's ensembles, {row['b']}, "
            f"at {b['uf1']:.3f}: a difference of {signed(row['diff'])} (per ensemble {row['diff_per_ensemble']}; "
            f"95% subject-bootstrap interval [{signed(row['ci_low'])}, {signed(row['ci_high'])}]).")


def component_sentence(components_table: pd.DataFrame) -> str:
    """One sentence from :func:`~stag.results.tables.components`: which parts STAG measurably needs, which it does
    not (the interval includes zero), which are n/a or not recorded."""
    t = components_table
    if t.empty:
        return "No ablation of STAG is recorded."

    def names(verdict: str) -> str:
        return ", ".join(t.loc[t["verdict"] == verdict, "model"]) or "none"

    measured = t[~t["verdict"].isin(["not recorded"]) & ~t["verdict"].str.startswith("n/a")]
    return (f"Against {len(measured)} recorded ablations and variants, full STAG is measurably better than "
            f"{names('STAG better')}, measurably worse than {names('STAG worse')}, and not measurably different "
            f"from {names('no measurable difference')} (95% subject-bootstrap intervals of the paired difference).")


def training_sentences(summary: pd.DataFrame, comparison: pd.DataFrame | None = None,
                       cross: pd.DataFrame | None = None, *, epochs: int | None = None,
                       protocol: str = "loso") -> str:
    """What the training chapter found, as a Markdown list computed from its tables.

    Args:
        summary: :func:`~stag.results.tables.summary` of the honest runs.
        comparison: :func:`~stag.results.protocol_runs.oracle_comparison` (optional).
        cross: :func:`~stag.results.protocol_runs.cross_dataset_table` (optional).
        epochs: the number of epochs every fold trained, named in the first sentence.
        protocol: the runs' protocol, named in the first sentence.

    Returns:
        One ``- ...`` line per finding: the best honest model, STAG against each baseline
        and each ablation, the UF1 the oracle selection adds, and each cross-dataset pair.
    """
    if summary is None or summary.empty:
        return "- No honest runs to report."
    lines = []
    best = summary.loc[summary["uf1_mean"].idxmax()]
    protocol = str(protocol).upper()
    lines.append(f"- Best honest {protocol} model: {best['model']} (UF1 {best['uf1_mean']:.3f}, "
                 f"UAR {best['uar_mean']:.3f}, {int(best['seeds'])} seed(s)"
                 + (f", {epochs} epochs" if epochs is not None else "") + ").")
    stag = summary[summary["model"] == "stag"]
    if len(stag):
        s = stag.iloc[0]
        for _, b in summary[summary["role"] == "baseline"].iterrows():
            lines.append(f"- STAG against {b['model']}: UF1 {s['uf1_mean']:.3f} against {b['uf1_mean']:.3f} "
                         f"({signed(s['uf1_mean'] - b['uf1_mean'])}).")
        for _, a in summary[summary["role"] == "ablation"].iterrows():
            lines.append(f"- Ablation {a['model']}: UF1 {a['uf1_mean']:.3f} "
                         f"({signed(a['uf1_mean'] - s['uf1_mean'])} against full STAG).")
    for _, c in (comparison if comparison is not None else pd.DataFrame()).iterrows():
        lines.append(f"- Choosing the epoch on the test subject (oracle) changes {c['model']}'s UF1 by "
                     f"{signed(c['UF1 inflation (oracle - honest)'])} ({c['UF1 honest (last epoch)']:.3f} -> "
                     f"{c['UF1 oracle (best test epoch)']:.3f}) with no change to the model.")
    for _, c in (cross if cross is not None else pd.DataFrame()).iterrows():
        lines.append(f"- Cross-dataset {c['model']}, {c['train -> test']}: UF1 {c['uf1']:.3f}.")
    return "\n".join(lines)

