"""The real-face study on audited inputs: do STAG's own parts help once the inputs are read right?

The runs of ``results/registered/`` (pre-registered in its ``TRIED.md``) train on both public
copies of the MEGC2019 composite with the channel order the loader verifies and the ROIs
registered to the flows (:mod:`stag.preprocess.registration`; the audits are in
``<copy>/audit/audit.json``):

- ``megc2019/``: the first copy, one onset->apex flow per clip (the study's K is 1);
- ``megc2019_phases/``: the two-phase copy (the study's K is 2; ``@K1`` names a STAG-family run
  on the onset->apex phase alone), plus the baselines and controls recorded earlier in
  ``results/megc2019_phases`` (:data:`REUSED`: they read no ROIs, so the registration leaves
  their input unchanged).

Every comparison pairs seed s with seed s and resamples the 68 subjects
(:func:`stag.results.tables.pairs_table`); verdicts follow :func:`stag.results.stats.side`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stag.results import tables
from stag.results.stats import N_BOOT, interval, side, signed, word_list
from stag.train.names import RunName
from stag.train.records import RunRecord, load_records, records_table


@dataclass(frozen=True)
class Copy:
    """One copy of the composite in the study: its folder, the study's K, its method, the
    comparisons and the parts, as pre-registered."""

    folder: str
    label: str
    keyframes: int
    method: str
    baselines: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]  # (STAG at the ablations' K, ablation)

    @property
    def short(self) -> str:
        """The label without its gloss: ``"first copy"``."""
        return self.label.split(" (")[0]


COPIES: tuple[Copy, ...] = (
    Copy("megc2019", "first copy (one flow per clip)", 1, "stag", ("offapexnet", "ststnet"),
         (("stag", "stag_no_graph"), ("stag", "stag_static_adj"))),
    Copy("megc2019_phases", "two-phase copy", 2, "stag",
         ("offapexnet", "ststnet", "offapexnet_stack", "ststnet_stack", "offapexnet_stack+pre"),
         (("stag@K1", "stag_no_graph@K1"), ("stag@K1", "stag_static_adj@K1"), ("stag@K1", "stag_late_fusion@K1"))),
)
#: Records of earlier studies reused as they are (folder under the results root -> run folders).
REUSED: dict[str, tuple[str, ...]] = {
    "megc2019_phases": tuple(f"{run}-seed{s}" for run in ("offapexnet-k1", "ststnet-k1", "offapexnet_stack-k2",
                                                          "ststnet_stack-k2", "offapexnet_stack-k2-pre")
                             for s in range(3))}
#: What each part's ablation removes, in the book's words (at K = 1 no temporal sequence exists).
PART_NAMES: dict[str, str] = {"stag_no_graph": "the AU graph (ROI branch and cross-attention)",
                              "stag_static_adj": "the per-clip (dynamic) re-weighting of the AU edges",
                              "stag_late_fusion": "the bidirectional cross-attention"}
#: The same parts in a few words, for the introduction.
PART_SHORT: dict[str, str] = {"stag_no_graph": "the AU graph", "stag_static_adj": "the dynamic adjacency",
                              "stag_late_fusion": "the cross-attention"}
SEEDS = 3
TARGET_UF1, TARGET_MARGIN = 0.80, 0.03
#: The pre-registered order of execution (TRIED.md): (copy folder, run name) for the status table.
PLANNED: tuple[tuple[str, str], ...] = (
    ("megc2019_phases", "stag"), ("megc2019", "stag"), ("megc2019", "offapexnet"), ("megc2019", "ststnet"),
    ("megc2019_phases", "stag@K1"), ("megc2019", "stag_no_graph"), ("megc2019_phases", "stag_no_graph@K1"),
    ("megc2019", "stag_static_adj"), ("megc2019_phases", "stag_static_adj@K1"),
    ("megc2019_phases", "stag_late_fusion@K1"))


def _names(keyframes: int):
    def name(results: dict) -> RunName:
        return RunName.from_results(results, keyframes=keyframes)
    return name


def load(root: str | Path, *, reused_from: str | Path | None = None) -> pd.DataFrame:
    """Every run of the study, both copies (a ``copy`` column), re-scored; the reused baselines
    come from ``reused_from`` (default: the results root above ``root``)."""
    root = Path(root)
    reused_root = Path(reused_from) if reused_from is not None else root.parent
    parts = []
    for c in COPIES:
        t = load_records(root / c.folder, variant=_names(c.keyframes))
        extra = [reused_root / c.folder / run for run in REUSED.get(c.folder, ())]
        extra = [RunRecord.load(p) for p in extra if (p / "results.json").is_file()]
        if extra:
            t = pd.concat([t, records_table(extra, variant=_names(c.keyframes)).assign(reused=True)],
                          ignore_index=True)
        parts.append(t.assign(copy=c.folder))
    out = pd.concat(parts, ignore_index=True)
    out["reused"] = out.get("reused", pd.Series(False, index=out.index)).fillna(False).astype(bool)
    return out


def _copy(table: pd.DataFrame, c: Copy) -> pd.DataFrame:
    return table[table["copy"] == c.folder].reset_index(drop=True) if len(table) else table


def comparisons(table: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Every paired comparison of the study: per copy, the method against each baseline and
    control, STAG against each ablation at the ablations' K, and (two-phase) K = 2 against K = 1.

    Columns: ``copy, kind`` (``baseline``, ``part``, ``time``), ``a, b, measures, seeds,
    diff_per_seed, diff_mean, ci_low, ci_high, verdict``.
    """
    rows = []
    for c in COPIES:
        t = _copy(table, c)
        pairs = [(c.method, b, f"{c.method} against {b}", "baseline") for b in c.baselines]
        pairs += [(a, b, f"{PART_NAMES[RunName.parse(b).model]}", "part") for a, b in c.parts]
        if c.keyframes == 2:
            pairs.append(("stag", "stag@K1", "motion over time: both phases against onset->apex alone", "time"))
        out = tables.pairs_table(t, [(a, b, what) for a, b, what, _ in pairs], n_boot=n_boot)
        kind = {(a, b): k for a, b, _, k in pairs}
        rows.append(out.assign(copy=c.folder, kind=[kind[(a, b)] for a, b in zip(out["a"], out["b"])]))
    cols = ["copy", "kind", "a", "b", "measures", "seeds", "diff_per_seed", "diff_mean", "ci_low", "ci_high",
            "verdict"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def summaries(table: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """:func:`stag.results.tables.summary` of each copy, with a ``copy`` column."""
    parts = [tables.summary(_copy(table, c), n_boot=n_boot).assign(copy=c.folder) for c in COPIES
             if len(_copy(table, c))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def best_baseline(summary: pd.DataFrame, c: Copy) -> str | None:
    """The pre-registered best baseline or control of a copy: the highest mean UF1 among its
    :attr:`Copy.baselines` (last epoch)."""
    s = summary[(summary["copy"] == c.folder) & summary["model"].isin(c.baselines)] if len(summary) else summary
    return None if s.empty else str(s.sort_values("uf1_mean", ascending=False).iloc[0]["model"])


def targets(summary: pd.DataFrame, comps: pd.DataFrame) -> pd.DataFrame:
    """The issue's accuracy targets, read on each copy's method only (TRIED.md): its mean UF1
    (>= :data:`TARGET_UF1`), and its margin over the copy's best baseline or control
    (>= :data:`TARGET_MARGIN` with an interval above zero). ``runs complete`` is True once the runs a
    target reads have all their seeds: the method and the copy's planned baselines, and every reused
    baseline or control recorded; a target waits for nothing else (the ablations do not enter it)."""
    rows = []
    for c in COPIES:
        s = summary[(summary["copy"] == c.folder) & (summary["model"] == c.method)] if len(summary) else summary
        seeds = (summary[summary["copy"] == c.folder].groupby("model")["seeds"].max() if len(summary)
                 else pd.Series(dtype=int))
        planned = [m for m in (c.method, *c.baselines) if (c.folder, m) in PLANNED]  # the reused count as recorded
        final = all(int(seeds.get(m, 0)) >= SEEDS for m in planned) and all(
            int(seeds[m]) >= SEEDS for m in c.baselines if m in seeds.index)
        mean = float(s["uf1_mean"].iloc[0]) if len(s) else np.nan
        where = f"{c.method} on the {c.label}"
        rows.append({"target": f"mean UF1 of {where} >= {TARGET_UF1:.2f}",
                     "measured": f"{mean:.3f} ({int(s['seeds'].iloc[0])} seeds)" if len(s) else "not run",
                     "met": bool(len(s) and mean >= TARGET_UF1), "runs complete": final})
        best = best_baseline(summary, c) if len(summary) else None
        r = comps[(comps["copy"] == c.folder) & (comps["b"] == best) & (comps["a"] == c.method)] if best else comps[:0]
        rows.append({"target": f"{where} >= best baseline ({best or 'none recorded'}) + {TARGET_MARGIN:.2f}, "
                               f"interval above 0",
                     "measured": interval(r.iloc[0]["diff_mean"], r.iloc[0]["ci_low"], r.iloc[0]["ci_high"])
                     if len(r) else "not run",
                     "met": bool(len(r) and r.iloc[0]["diff_mean"] >= TARGET_MARGIN and r.iloc[0]["ci_low"] > 0),
                     "runs complete": final})
    return pd.DataFrame(rows, columns=["target", "measured", "met", "runs complete"])


def status(table: pd.DataFrame) -> pd.DataFrame:
    """Each pre-registered run (:data:`PLANNED`) with the seeds recorded so far."""
    rows = []
    for folder, name in PLANNED:
        t = table[(table["copy"] == folder) & (table["model"] == name) & ~table["reused"]] if len(table) else table
        n = len(t)
        rows.append({"copy": folder, "run": name, "seeds recorded": n,
                     "state": "complete" if n >= SEEDS else "running or queued" if n else "not run yet"})
    return pd.DataFrame(rows)


def per_dataset(summary: pd.DataFrame) -> pd.DataFrame:
    """UF1 per source dataset (mean over seeds), one row per copy and model."""
    if summary.empty:
        return pd.DataFrame()
    cols = [c for c in ("uf1_casme2", "uf1_samm", "uf1_smic") if c in summary]
    out = summary[["copy", "model", "seeds", "uf1_mean", *cols]].copy()
    return out.rename(columns={"uf1_mean": "UF1", "uf1_casme2": "CASME II", "uf1_samm": "SAMM", "uf1_smic": "SMIC"})


def audit_summary(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The audits kept beside the records, as two tables: per copy and source dataset, the fitted
    flow -> face transform, the eye offset before and after, and how far leaving out one subject
    moves it; per copy, the cross-copy agreement, the region check and the verdict."""
    per_dataset, per_copy = [], []
    for c in COPIES:
        path = Path(root) / c.folder / "audit" / "audit.json"
        if not path.is_file():
            continue
        a = json.loads(path.read_text())
        reg = a["registration"]
        cc = a.get("cross_copy", {})
        lift = {r["rois"]: r for r in a.get("regions", []) if r["variant"] == a["regions"][0]["variant"]}
        for ds, described in reg.get("described", {}).items():
            off = reg["eye_offset_px28"][ds]
            per_dataset.append({"copy": c.folder, "dataset": ds, "flow -> face": described,
                                "eye offset (px of 28)": f"{off['stored']:.1f} -> {off['registered']:.1f}",
                                "one subject moves it (px)": reg["one_subject_moves_it_px28"].get(ds)})
        per_copy.append({"copy": c.folder,
                         "cross-copy correlation": f"{cc.get('stored', {}).get('mean', np.nan):.2f} -> "
                                                   f"{cc.get('registered', {}).get('mean', np.nan):.2f}",
                         "region check lift": f"{signed(lift.get('as stored', {}).get('lift', np.nan))} -> "
                                              f"{signed(lift.get('registered', {}).get('lift', np.nan))}",
                         "checks": "all pass" if a.get("passed") else "failed: " + ", ".join(
                             x["check"] for x in a["checks"] if not x["passed"])})
    return pd.DataFrame(per_dataset), pd.DataFrame(per_copy)


def audit_figures(root: str | Path) -> list[Path]:
    """The audits' figures (``<copy>/audit/audit.png``) that exist, in copy order."""
    return [p for p in (Path(root) / c.folder / "audit" / "audit.png" for c in COPIES) if p.is_file()]


_VERB = {1: "helps", -1: "hurts", 0: "adds nothing measurable"}


def _part_verdict(rows: pd.DataFrame, *, numbers: bool = True) -> str:
    """How one part fares over the copies that measured it (rows of :func:`comparisons`): one verb
    when the copies agree, else one per copy; with each copy's interval."""
    def label(copy: str) -> str:
        return next(c.short for c in COPIES if c.folder == copy)

    def seeds(r) -> str:  # a comparison with fewer seeds than planned says so
        n = int(r["seeds"])
        return f", {n} seed{'s' * (n != 1)} of {SEEDS}" if n < SEEDS else ""

    def num(r) -> str:
        return f" ({interval(r['diff_mean'], r['ci_low'], r['ci_high'])}{seeds(r)})" if numbers else ""

    verdicts = [(_VERB[side(r["ci_low"], r["ci_high"])], r) for _, r in rows.iterrows()]
    if len({v for v, _ in verdicts}) == 1:
        return verdicts[0][0] + " (" + "; ".join(
            f"{label(r['copy'])} {interval(r['diff_mean'], r['ci_low'], r['ci_high'])}{seeds(r)}"
            for _, r in verdicts) + ")"
    return " and ".join(f"{v} on the {label(r['copy'])}{num(r)}" for v, r in verdicts)


def answer_sentences(summary: pd.DataFrame, comps: pd.DataFrame, targets_: pd.DataFrame,
                     status_: pd.DataFrame) -> list[str]:
    """The chapter's answer, one sentence per finding, worded from the tables."""
    if summary.empty:
        return ["No run of the registered study is recorded yet (results/registered/, TRIED.md)."]

    def uf1(copy: str, model: str) -> str:
        s = summary[(summary["copy"] == copy) & (summary["model"] == model)]
        if s.empty:
            return "not run"
        n = int(s["seeds"].iloc[0])
        return f"{s['uf1_mean'].iloc[0]:.3f} ({n} seed{'s' * (n != 1)})"

    out = []
    parts = comps[comps["kind"] == "part"]
    for model, what in PART_NAMES.items():
        rows = parts[[RunName.parse(b).model == model for b in parts["b"]]]
        if rows.empty:
            continue
        out.append(f"**{what[0].upper() + what[1:]}** {_part_verdict(rows)} on real faces read right (STAG minus "
                   f"the ablation, UF1, paired by seed, 95% subject interval).")
    time_ = comps[comps["kind"] == "time"]
    if len(time_):
        r = time_.iloc[0]
        out.append(f"**Motion over time** {_VERB[side(r['ci_low'], r['ci_high'])]}: STAG on both phases "
                   f"{uf1('megc2019_phases', 'stag')} against the onset->apex phase alone "
                   f"{uf1('megc2019_phases', 'stag@K1')}, {interval(r['diff_mean'], r['ci_low'], r['ci_high'])}.")
    for c in COPIES:
        best = best_baseline(summary, c)
        r = comps[(comps["copy"] == c.folder) & (comps["kind"] == "baseline") & (comps["b"] == best)]
        if len(r):
            r = r.iloc[0]
            rel = {1: "above", -1: "below", 0: "not measurably different from"}[side(r["ci_low"], r["ci_high"])]
            out.append(f"On the {c.label}, STAG ({uf1(c.folder, c.method)}) is {rel} the best baseline or control, "
                       f"{best} ({uf1(c.folder, best)}): {interval(r['diff_mean'], r['ci_low'], r['ci_high'])}.")
    waiting = status_[status_["state"] != "complete"]
    out.append(_targets_sentence(targets_))
    if len(waiting):
        out.append("Still to be recorded (pre-registered, in order): "
                   + ", ".join(f"{r['run']} on {r['copy']} ({r['seeds recorded']} of {SEEDS} seeds)"
                               for _, r in waiting.iterrows()) + ".")
    return out


def _targets_sentence(targets_: pd.DataFrame) -> str:
    """How many accuracy targets are met, counting those whose runs are complete (``runs complete``)."""
    read = targets_[targets_["runs complete"]] if len(targets_) else targets_
    if read.empty:
        return "The accuracy targets are read when each copy's method and baselines have all their seeds."
    rest = len(targets_) - len(read)
    return (f"Accuracy targets (mean UF1 >= {TARGET_UF1:.2f}; the best baseline or control + {TARGET_MARGIN:.2f} "
            f"with an interval above zero) met: {int(read['met'].sum())} of {len(read)}"
            + (f"; {rest} more are read when their runs are complete." if rest else "."))


def _parts_clause(parts: pd.DataFrame) -> str:
    """STAG's parts in one clause, grouped by verdict (one verb for a part whose copies agree, one
    per copy where they differ), without numbers: the figure below the abstract has them."""
    same: dict[int, list[str]] = {}
    mixed = []
    for model, what in PART_SHORT.items():
        rows = parts[[RunName.parse(b).model == model for b in parts["b"]]]
        verdicts = {side(r["ci_low"], r["ci_high"]) for _, r in rows.iterrows()}
        if len(verdicts) == 1:
            same.setdefault(verdicts.pop(), []).append(what)
        elif verdicts:
            mixed.append(f"{what} {_part_verdict(rows, numbers=False)}")

    verbs = {1: ("helps", "help"), -1: ("hurts", "hurt"), 0: ("adds nothing measurable", "add nothing measurable")}
    said = [f"{word_list(v)} {verbs[w][len(v) > 1]}" for w, v in sorted(same.items(), key=lambda kv: -abs(kv[0]))]
    return ", ".join(said + mixed)


def _owned(pairs: list[tuple[str, str]]) -> str:
    """``[("a", "0.1"), ("a", "0.2")]`` -> ``"a's 0.1 and 0.2"``; ``"a's 0.1 and b's 0.2"`` otherwise."""
    if len({who for who, _ in pairs}) == 1:
        return f"{pairs[0][0]}'s " + " and ".join(v for _, v in pairs)
    return " and ".join(f"{who}'s {v}" for who, v in pairs)


def abstract_sentences(summary: pd.DataFrame, comps: pd.DataFrame, targets_: pd.DataFrame,
                       status_: pd.DataFrame) -> list[str]:
    """The study's decisions for the book's introduction, short enough to leave the comparisons
    figure on the first screen, at most two sentences: the parts and motion over time, and STAG
    against the best baseline of each copy with the targets (:func:`pending_sentence` says what
    is still being recorded)."""
    if summary.empty or comps.empty:
        done, total = _recorded(status_)
        return [f"The study on audited inputs is being recorded ({done} of {total} pre-registered runs); until it "
                "is, no claim about STAG's parts on real faces stands, because the two earlier studies read "
                "their inputs wrongly (grey in the figure)."]
    clauses = []
    parts = comps[comps["kind"] == "part"]
    if len(parts):
        few = f" (not all on {SEEDS} seeds yet)" if (parts["seeds"] < SEEDS).any() else ""
        clauses.append(_parts_clause(parts) + few)
    t = comps[comps["kind"] == "time"]
    if len(t):
        r = t.iloc[0]
        clauses.append(f"motion over time {_VERB[side(r['ci_low'], r['ci_high'])]} "
                       f"(K = 2 minus K = 1, {interval(r['diff_mean'], r['ci_low'], r['ci_high'])})")
    out = ["On real faces with the inputs read right, " + ", and ".join(clauses) + "."] if clauses else []
    mine, theirs, diffs = [], [], []
    for c in COPIES:
        best = best_baseline(summary, c)
        r = comps[(comps["copy"] == c.folder) & (comps["kind"] == "baseline") & (comps["b"] == best)]
        s = summary[(summary["copy"] == c.folder) & (summary["model"] == c.method)]
        b = summary[(summary["copy"] == c.folder) & (summary["model"] == best)]
        if len(r) and len(s) and len(b):
            r = r.iloc[0]
            mine.append(f"{s['uf1_mean'].iloc[0]:.3f} on the {c.short}")
            theirs.append((best, f"{b['uf1_mean'].iloc[0]:.3f}"))
            diffs.append(interval(r["diff_mean"], r["ci_low"], r["ci_high"]))
    final = bool(len(targets_)) and bool(targets_["runs complete"].all())
    if mine:
        met = f": {int(targets_['met'].sum())} of {len(targets_)} accuracy targets are met" if final else ""
        out.append(("STAG's" if final else "So far STAG's") + " mean UF1 is " + " and ".join(mine)
                   + ", against " + _owned(theirs) + f" ({'; '.join(diffs)}){met}.")
    return out


def _recorded(status_: pd.DataFrame) -> tuple[int, int]:
    """``(runs recorded, runs pre-registered)``, a run being one seed of one planned row."""
    done = int(status_["seeds recorded"].clip(upper=SEEDS).sum()) if len(status_) else 0
    return done, SEEDS * len(PLANNED)


def pending_sentence(status_: pd.DataFrame) -> str:
    """How many pre-registered runs are still to be recorded; empty once all are."""
    done, total = _recorded(status_)
    return f"{total - done} of {total} pre-registered runs are still to be recorded (chapter 7)." if done < total else ""


def audit_checks(path: str | Path) -> pd.DataFrame:
    """The checks of one audit report (``audit.json``, :mod:`stag.audit.report`): ``check, passed,
    detail``; empty when there is none."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=["check", "passed", "detail"])
    return pd.DataFrame(json.loads(path.read_text())["checks"], columns=["check", "passed", "detail"])
