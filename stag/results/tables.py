"""The tables every evaluation chapter shows, over the one run table of :mod:`stag.train.records`.

Each function takes the table of :func:`~stag.train.records.load_records` (recorded runs)
or :func:`~stag.train.records.records_table` (runs a chapter just trained): the same
question gets the same code and the same columns, whichever the runs are.

- :func:`summary`: mean, range and subject-bootstrap interval over seeds, per model and
  selection; :func:`headline` formats it as a chapter's opening table;
- :func:`per_dataset`, :func:`confusions`, :func:`lodo`, :func:`provenance_table`;
- :func:`compare` (paired by seed), :func:`components` (full STAG minus each ablation),
  :func:`ensembles` and :func:`ensemble_compare` (seed ensembles).

The sentences that word them are in :mod:`stag.results.sentences`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stag.train.names import ROLE_ORDER
from stag.train.records import DATASET_NAMES, HONEST, ORACLE_SHORT, SELECTION_ORDER, RecordError, rescore
from stag.results.stats import (N_BOOT, group_predictions, paired_difference, seed_groups, seed_interval, side, signed,
                                verdict)
from stag.train.metrics import per_group_scores, scores, subject_bootstrap_ci


def ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by selection (last, inner_val, oracle), then role (STAG, ablations, controls, baselines); stable."""
    key = {"role": lambda s: s.map({r: i for i, r in enumerate(ROLE_ORDER)}),
           "selection": lambda s: s.map({r: i for i, r in enumerate(SELECTION_ORDER)})}
    by = [c for c in ("selection", "role") if c in df]
    return df.sort_values(by, key=lambda s: key[s.name](s), kind="stable").reset_index(drop=True) if by else df


def summary(table: pd.DataFrame, protocol: str = "loso", *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Mean over seeds per model x selection, with the spread and a subject-bootstrap interval.

    Columns: ``model, role, selection, seeds, uf1_mean, uf1_min, uf1_max, uf1_ci_low,
    uf1_ci_high, uar_mean, uar_min, uar_max`` and ``uf1_<dataset>, uar_<dataset>`` (means over
    seeds). The interval is the 95% percentile interval of the seed-mean UF1 when the
    subjects are resampled (:func:`stag.train.metrics.subject_bootstrap`). Rows: STAG,
    ablations, baselines; selections last, inner_val, oracle.
    """
    runs = table[table["protocol"] == protocol] if len(table) else table
    if runs.empty:
        return pd.DataFrame(columns=["model", "role", "selection", "seeds", "uf1_mean", "uf1_min", "uf1_max",
                                     "uf1_ci_low", "uf1_ci_high", "uar_mean", "uar_min", "uar_max"])
    per_ds = [c for c in runs.columns if c.startswith(("uf1_", "uar_")) and c[4:] in DATASET_NAMES]
    rows = []
    for (model, role, sel), g in runs.groupby(["model", "role", "selection"], sort=False):
        lo, hi = seed_interval(list(g["record"]), n_boot=n_boot)
        rows.append({"model": model, "role": role, "selection": sel, "seeds": len(g),
                     "uf1_mean": g["uf1"].mean(), "uf1_min": g["uf1"].min(), "uf1_max": g["uf1"].max(),
                     "uf1_ci_low": lo, "uf1_ci_high": hi,
                     "uar_mean": g["uar"].mean(), "uar_min": g["uar"].min(), "uar_max": g["uar"].max(),
                     **{c: g[c].mean() for c in per_ds}})
    out = pd.DataFrame(rows)
    return ordered(out.sort_values("uf1_mean", ascending=False, kind="stable"))


def selection_label(sel: str) -> str:
    return ORACLE_SHORT if sel == "oracle" else sel


def headline(summ: pd.DataFrame, digits: int = 3, selections: tuple[str, ...] = SELECTION_ORDER) -> pd.DataFrame:
    """The opening table: model, selection, UF1 mean [min-max] over seeds, its 95%
    subject-bootstrap interval, UAR mean [min-max], seeds; rows of ``selections`` only
    (e.g. :data:`HONEST`)."""
    f = f"{{:.{digits}f}}"
    summ = summ[summ["selection"].isin(selections)].reset_index(drop=True)
    return pd.DataFrame({
        "model": summ["model"], "selection": summ["selection"].map(selection_label), "seeds": summ["seeds"],
        "UF1 mean [min-max]": [f"{f.format(a)} [{f.format(b)}-{f.format(c)}]"
                               for a, b, c in zip(summ["uf1_mean"], summ["uf1_min"], summ["uf1_max"])],
        "UF1 95% subject bootstrap": [f"[{f.format(a)}, {f.format(b)}]"
                                      for a, b in zip(summ["uf1_ci_low"], summ["uf1_ci_high"])],
        "UAR mean [min-max]": [f"{f.format(a)} [{f.format(b)}-{f.format(c)}]"
                               for a, b, c in zip(summ["uar_mean"], summ["uar_min"], summ["uar_max"])],
    })


def per_dataset(summ: pd.DataFrame) -> pd.DataFrame:
    """UF1 and UAR per source dataset (mean over seeds), one row per model x selection;
    columns named ``"CASME II UF1"`` etc."""
    out = summ[["model", "selection"]].copy()
    out["selection"] = out["selection"].map(selection_label)
    for ds, label in DATASET_NAMES.items():
        for m in ("uf1", "uar"):
            col = f"{m}_{ds}"
            if col in summ:
                out[f"{label} {m.upper()}"] = summ[col].round(3)
    return out


def confusions(table: pd.DataFrame, protocol: str = "loso",
               selection: str = "last") -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """``([(title, confusion summed over seeds), ...], class_names)`` per model for one
    selection, ready for :func:`stag.viz.results.plot_confusions`."""
    runs = table[(table["protocol"] == protocol) & (table["selection"] == selection)] if len(table) else table
    items, names = [], []
    for model, g in ordered(runs.assign(role=runs["role"])).groupby("model", sort=False):
        recs = list(g["record"])
        names = recs[0].class_names
        cm = sum(rescore(r)["confusion"] for r in recs)
        items.append((f"{model} ({len(recs)} seed{'s' * (len(recs) > 1)})", cm))
    return items, names


def compare(table: pd.DataFrame, a: str = "stag", b: str | None = None, protocol: str = "loso", *,
            n_boot: int = N_BOOT) -> pd.DataFrame:
    """Paired per-seed UF1 differences ``a - b`` per selection, with a subject-bootstrap interval.

    ``b`` defaults to the best baseline (highest mean UF1) of each selection. Seeds present
    for both models are paired (seed s of A with seed s of B); the interval is the 95%
    percentile interval of the mean paired difference when the subjects are resampled,
    both models scored on the same resample.

    Columns: ``selection, a, b, seeds, diff_per_seed, diff_mean, ci_low, ci_high``.
    """
    cols = ["selection", "a", "b", "seeds", "diff_per_seed", "diff_mean", "ci_low", "ci_high"]
    runs = table[table["protocol"] == protocol] if len(table) else table
    rows = []
    for sel in SELECTION_ORDER:
        r = runs[runs["selection"] == sel] if len(runs) else runs
        if r.empty or a not in set(r["model"]):
            continue
        other = b
        if other is None:
            base = r[r["role"] == "baseline"]
            if base.empty:
                continue
            other = base.groupby("model")["uf1"].mean().idxmax()
        ra = r[r["model"] == a].set_index("seed")
        rb = r[r["model"] == other].set_index("seed")
        seeds, est, lo, hi = paired_difference(ra, rb, n_boot=n_boot)
        if not seeds:
            continue
        diffs = [float(ra.loc[s, "uf1"] - rb.loc[s, "uf1"]) for s in seeds]
        rows.append({"selection": selection_label(sel), "a": a, "b": other, "seeds": len(seeds),
                     "diff_per_seed": ", ".join(signed(x) for x in diffs), "diff_mean": est,
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=cols)


def pairs_table(table: pd.DataFrame, pairs, selection: str = "last", *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Paired UF1 differences A - B for a list of ``(a, b, what it measures)`` pairs (seed s with
    seed s, 95% subject-bootstrap interval, one honest ``selection``), with a verdict; pairs
    not recorded are left out.

    Columns: ``a, b, measures, seeds, diff_per_seed, diff_mean, ci_low, ci_high, verdict``.
    """
    cols = ["a", "b", "measures", "seeds", "diff_per_seed", "diff_mean", "ci_low", "ci_high", "verdict"]
    models = set(table["model"]) if len(table) else set()
    rows = []
    for a, b, what in pairs:
        if a not in models or b not in models:
            continue
        comp = compare(table, a, b, n_boot=n_boot)
        comp = comp[comp["selection"] == selection_label(selection)]
        if comp.empty:
            continue
        c = comp.iloc[0]
        rows.append({"a": a, "b": b, "measures": what, "seeds": int(c["seeds"]), "diff_per_seed": c["diff_per_seed"],
                     "diff_mean": c["diff_mean"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
                     "verdict": verdict(c["ci_low"], c["ci_high"], a, b)})
    return pd.DataFrame(rows, columns=cols)


def ensembles(table: pd.DataFrame, protocol: str = "loso", selection: str = "inner_val", *, size: int = 3,
              n_boot: int = N_BOOT) -> pd.DataFrame:
    """Seed ensembles: per model, the mean softmax of ``size`` seeds under one honest selection.

    The rule (average the class probabilities of each group of ``size`` consecutive seeds,
    0-2, 3-5, ..., and predict the largest) was fixed before any ensemble was scored and is
    the same for every model, so it spends no degree of freedom on the test subjects. When
    a model has several complete groups, the row gives the mean over its ensembles (each
    one listed in ``uf1_per_ensemble``); the interval resamples subjects. Only records that
    keep their probabilities can join (``inner_val`` runs do; the ``last`` view of an oracle
    record keeps only the predicted class).

    Columns: ``model, role, selection, seeds, ensembles, uf1, uf1_per_ensemble, uf1_ci_low,
    uf1_ci_high, uar, uf1_seed_mean`` (the mean single-seed UF1 of the same seeds, for the
    gain) and ``uf1_<dataset>`` (mean over ensembles).
    """
    cols = ["model", "role", "selection", "seeds", "ensembles", "uf1", "uf1_per_ensemble", "uf1_ci_low",
            "uf1_ci_high", "uar", "uf1_seed_mean"]
    runs = table[(table["protocol"] == protocol) & (table["selection"] == selection)] if len(table) else table
    rows = []
    for (model, role), g in (runs.groupby(["model", "role"], sort=False) if len(runs) else []):
        groups = seed_groups(g, size)
        if not groups:
            continue
        y, preds, subjects, k = group_predictions(g, groups)
        est, lo, hi = subject_bootstrap_ci(y, preds, subjects, k, n_boot=n_boot)
        each = [scores(y, p, k) for p in preds]
        used = g[g["seed"].isin([s for grp in groups for s in grp])]
        row = {"model": model, "role": role, "selection": f"{selection}, {size}-seed ensemble",
               "seeds": ", ".join(f"{grp[0]}-{grp[-1]}" for grp in groups), "ensembles": len(groups),
               "uf1": est, "uf1_per_ensemble": ", ".join(f"{e['uf1']:.3f}" for e in each),
               "uf1_ci_low": lo, "uf1_ci_high": hi, "uar": float(np.mean([e["uar"] for e in each])),
               "uf1_seed_mean": used["uf1"].mean()}
        per = [per_group_scores(y, p, [sub.split("/")[0] for sub in subjects], k) for p in preds]
        for name in DATASET_NAMES:
            if name in per[0]:
                row[f"uf1_{name}"] = float(np.mean([d[name]["uf1"] for d in per]))
        rows.append(row)
    out = pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)
    return ordered(out.sort_values("uf1", ascending=False, kind="stable")) if rows else out


def ensemble_compare(table: pd.DataFrame, a: str = "stag", b: str | None = None, protocol: str = "loso",
                     selection: str = "inner_val", *, size: int = 3, n_boot: int = N_BOOT) -> pd.DataFrame:
    """UF1 of model ``a``'s seed ensembles minus model ``b``'s (default: the baseline whose
    ensembles score best), ensemble by ensemble over the seed groups both have, averaged, with
    a subject-bootstrap interval (both scored on each resample).

    Columns: ``selection, a, b, seeds, ensembles, diff, diff_per_ensemble, ci_low, ci_high``.
    """
    cols = ["selection", "a", "b", "seeds", "ensembles", "diff", "diff_per_ensemble", "ci_low", "ci_high"]
    runs = table[(table["protocol"] == protocol) & (table["selection"] == selection)] if len(table) else table
    if runs.empty or not seed_groups(runs[runs["model"] == a], size):
        return pd.DataFrame(columns=cols)
    if b is None:  # the baseline whose ensembles score best (mean UF1 over its ensembles)
        best = {}
        for model, g in runs[runs["role"] == "baseline"].groupby("model"):
            groups = seed_groups(g, size)
            if groups:
                y, preds, _, k = group_predictions(g, groups)
                best[model] = float(np.mean([scores(y, p, k)["uf1"] for p in preds]))
        if not best:
            return pd.DataFrame(columns=cols)
        b = max(best, key=best.get)
    ra, rb = runs[runs["model"] == a], runs[runs["model"] == b]
    groups = sorted(set(seed_groups(ra, size)) & set(seed_groups(rb, size)))
    if not groups:
        return pd.DataFrame(columns=cols)
    ya, pa, subjects, k = group_predictions(ra, groups)
    yb, pb, _, _ = group_predictions(rb, groups)
    if not np.array_equal(ya, yb):
        raise RecordError(f"the {a} and {b} ensembles do not predict the same clips; they cannot be paired")
    n = len(groups)
    w = np.r_[np.full(n, 1 / n), np.full(n, -1 / n)]
    est, lo, hi = subject_bootstrap_ci(ya, np.vstack([pa, pb]), subjects, k, weights=w, n_boot=n_boot)
    diffs = [scores(ya, x, k)["uf1"] - scores(yb, z, k)["uf1"] for x, z in zip(pa, pb)]
    return pd.DataFrame([{"selection": f"{selection}, {size}-seed ensemble", "a": a, "b": b,
                          "seeds": ", ".join(f"{g[0]}-{g[-1]}" for g in groups), "ensembles": n, "diff": est,
                          "diff_per_ensemble": ", ".join(signed(d) for d in diffs), "ci_low": lo, "ci_high": hi}],
                        columns=cols)


def components(table: pd.DataFrame, keyframes: int = 1, selection: str = "last", *,
               n_boot: int = N_BOOT) -> pd.DataFrame:
    """What each part of STAG buys: full STAG minus each ablation (and training variant),
    paired by seed, with a subject-bootstrap interval, under one honest ``selection``.

    Every registered ablation gets a row: recorded ones are compared; one that is not a
    meaningful ablation at ``keyframes`` per clip says why (``n/a at K=1``); the others read
    ``not recorded``. Columns: ``model, removes, seeds, stag_minus_model_per_seed,
    stag_minus_model, ci_low, ci_high, verdict``.
    """
    from stag.models import list_models
    from stag.models.stag import ablation_note

    cols = ["model", "removes", "seeds", "stag_minus_model_per_seed", "stag_minus_model", "ci_low", "ci_high",
            "verdict"]
    loso = table[(table["protocol"] == "loso") & (table["selection"] == selection)] if len(table) else table
    recorded = set(loso["model"]) if len(loso) else set()
    names = [m for m in list_models() if m.startswith("stag_")] + sorted(m for m in recorded if m.startswith("stag+"))
    rows = []
    for name in names:
        row = {"model": name, "removes": removes(name, keyframes), "seeds": 0,
               "stag_minus_model_per_seed": "", "stag_minus_model": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        note = ablation_note(name, keyframes)
        comp = compare(table, "stag", name, n_boot=n_boot) if name in recorded and "stag" in recorded else None
        comp = comp[comp["selection"] == selection_label(selection)] if comp is not None else None
        if note:
            row["verdict"] = note
        elif comp is None or comp.empty:
            row["verdict"] = "not recorded"
        else:
            c = comp.iloc[0]
            row.update(seeds=int(c["seeds"]), stag_minus_model_per_seed=c["diff_per_seed"],
                       stag_minus_model=c["diff_mean"], ci_low=c["ci_low"], ci_high=c["ci_high"])
            row["verdict"] = {1: "STAG better", -1: "STAG worse", 0: "no measurable difference"}[
                side(c["ci_low"], c["ci_high"])]
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


# What each ablation (or training variant) changes relative to full STAG.
ABLATION_REMOVES: dict[str, str] = {
    "stag_no_graph": "the ROI graph branch (and cross-attention)",
    "stag_no_temporal": "the whole-face (temporal) branch (and cross-attention)",
    "stag_late_fusion": "cross-attention (branches meet only in the gated fusion)",
    "stag_static_adj": "per-clip re-weighting of the AU-prior edges",
    "stag_no_mag_prior": "the keyframe magnitude prior",
    "stag+au": "nothing: adds an auxiliary AU loss on the CASME II/SAMM FACS codings",
}
#: What an ablation removes where one keyframe is all there is: no temporal sequence exists, so
#: the "no temporal" ablation removes the whole-face branch, nothing temporal.
ABLATION_REMOVES_AT_K1: dict[str, str] = {
    "stag_no_temporal": "the whole-face branch (and cross-attention); at K = 1 there is no sequence",
}


def removes(name: str, keyframes: int | None = None) -> str:
    """What ablation ``name`` removes from full STAG, named for what it removes at ``keyframes``."""
    if keyframes == 1 and name in ABLATION_REMOVES_AT_K1:
        return ABLATION_REMOVES_AT_K1[name]
    return ABLATION_REMOVES.get(name, "")


def lodo(table: pd.DataFrame, models: list[str] | None = None) -> pd.DataFrame:
    """Leave-one-dataset-out table: one row per model x held-out dataset (``lodo`` runs, and
    ``cross_dataset`` runs that test on it), UF1/UAR mean [min-max] over seeds, or
    ``"not recorded"``. Only honest selections count.

    ``models`` default: the models with such records (STAG first).
    """
    cross = (table[table["protocol"].isin(["lodo", "cross_dataset"]) & table["selection"].isin(HONEST)]
             if len(table) else table)
    if models is None:  # the models with such runs (STAG first), else STAG's row says "not recorded"
        models = list(ordered(cross[["model", "role"]].drop_duplicates())["model"]) if len(cross) else ["stag"]
    rows = []
    for model in models:
        for ds, label in DATASET_NAMES.items():
            uf1, uar, train = [], [], set()
            for _, r in (cross[cross["model"] == model] if len(cross) else cross).iterrows():
                pred = r["record"].predictions
                held = pred[pred["dataset"] == ds]
                if held.empty:
                    continue
                k = len(r["record"].class_names)
                s = scores(held["y_true"], held["y_pred"], k)
                uf1.append(s["uf1"])
                uar.append(s["uar"])
                train |= {f.split("->")[0] for f in held["fold"].unique()}
            if uf1:
                rows.append({"model": model, "held-out": label, "trained on": " + ".join(sorted(train)),
                             "seeds": len(uf1), "UF1 mean [min-max]": f"{np.mean(uf1):.3f} [{min(uf1):.3f}-"
                                                                          f"{max(uf1):.3f}]",
                             "UAR mean [min-max]": f"{np.mean(uar):.3f} [{min(uar):.3f}-{max(uar):.3f}]"})
            else:
                rows.append({"model": model, "held-out": label, "trained on": "", "seeds": 0,
                             "UF1 mean [min-max]": "not recorded", "UAR mean [min-max]": "not recorded"})
    return pd.DataFrame(rows)


def provenance_table(table: pd.DataFrame) -> pd.DataFrame:
    """Where every recorded number comes from: run, commit (12 chars, ``+dirty``), data
    checksum (16 hex), command, machine, wall and CPU time."""
    if table.empty:
        return pd.DataFrame(columns=["run", "commit", "data checksum", "command", "machine", "wall time (s)",
                                     "CPU time (s)"])
    return pd.DataFrame({
        "run": table["run"],
        "commit": [f"{str(c)[:12]}{'+dirty' if d else ''}" if c else "unrecorded"
                   for c, d in zip(table["commit"], table["dirty"])],
        "data checksum": [str(c).removeprefix("sha256:")[:16] if c else "unrecorded"
                          for c in table["data_checksum"]],
        "command": table["command"].fillna("unrecorded"),
        "machine": [f"{cpu}, {n} cores, {dev}" for cpu, n, dev in zip(table["cpu"], table["cores"], table["device"])],
        "wall time (s)": pd.to_numeric(table["wall_time_s"]).round(0),
        "CPU time (s)": pd.to_numeric(table["cpu_time_s"]).round(0),
    })

