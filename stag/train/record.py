"""Recorded runs: costly runs kept as raw predictions plus provenance, re-scored at build time.

A recorded run is a folder ``results/<study>/<run>/`` holding exactly the two files a run
writes at its end: ``results.json`` (scores, full configuration, provenance) and
``predictions.csv`` (one row per test clip). Nothing else (no weights, no data) is kept::

    stag train --dataset megc2019_flow --data-root ../shared/data/megc2019 --protocol loso \\
        --model stag --keyframes 1 --output-size 64 --epochs 30 --selection oracle --seed 0 \\
        --device cpu --jobs 2 --out runs/megc2019/stag-seed0
    stag record runs/megc2019/stag-seed0 results/megc2019/stag-seed0

The book never types a number: :func:`load_recorded` re-scores every run from its
predictions with :mod:`stag.train.metrics` (and fails, naming the run, when a number in
``results.json`` disagrees), :func:`summary` and :func:`compare` build the tables, and
:func:`findings` words the answer from them.

A run with ``--selection oracle`` holds its honest last-epoch predictions as well, so it is
read as two runs (:meth:`RecordedRun.views`): ``<run>/last`` and ``<run>/oracle``.

Run names: ``<model>-seed<N>`` for LOSO runs recorded with ``--selection oracle`` (both
views), ``<model>-<selection>-seed<N>`` for others (``ststnet-inner_val-seed2``) and
``<model>-lodo-seed<N>`` for leave-one-dataset-out runs. The tables read model, selection, seed and
protocol from ``results.json``; the name only has to be unique.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stag.train.metrics import confusion_matrix, per_group_scores, scores, subject_bootstrap_ci
from stag.train.report import ORACLE_SHORT, model_role

RECORD_FILES = ("results.json", "predictions.csv")
DATASET_NAMES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC"}
SELECTION_ORDER = ("last", "inner_val", "oracle")
ROLE_ORDER = ("STAG", "ablation", "control", "baseline")
HONEST = ("last", "inner_val")
N_BOOT = 2000


class RecordError(ValueError):
    """A recorded run is inconsistent (scores that its predictions do not give, missing clips)."""


@dataclass
class RecordedRun:
    """One recorded run: its folder name, ``results.json`` and ``predictions.csv``."""

    name: str
    path: Path
    results: dict
    predictions: pd.DataFrame

    @classmethod
    def load(cls, path: str | Path) -> RecordedRun:
        path = Path(path)
        for f in RECORD_FILES:
            if not (path / f).is_file():
                raise FileNotFoundError(f"recorded run {path.name}: {path / f} is missing")
        pred = pd.read_csv(path / "predictions.csv", dtype={"subject": str, "clip_id": str, "dataset": str,
                                                            "fold": str})
        return cls(path.name, path, json.loads((path / "results.json").read_text()), pred)

    @property
    def class_names(self) -> list[str]:
        return list(self.results["class_names"])

    @property
    def groups(self) -> np.ndarray:
        """``dataset/subject`` of every prediction row (the unit the bootstrap resamples)."""
        return (self.predictions["dataset"] + "/" + self.predictions["subject"]).to_numpy(dtype=object)

    @property
    def provenance(self) -> dict:
        return self.results.get("provenance") or {}

    def views(self) -> list[RecordedRun]:
        """The selections this record holds.

        A run trained with ``--selection oracle`` evaluates the test fold after every epoch
        only to *report* the best one; training itself is the same as with ``last`` (same
        seed, batches and weights), and it also records each fold's last-epoch prediction
        (``y_pred_last_epoch``, scored in ``honest_last_epoch``). Such a record gives two
        views: ``<run>/last`` (honest) and ``<run>/oracle`` (labelled, literature comparison
        only). Every other record is its own single view.
        """
        d, pred = self.results, self.predictions
        if d.get("selection") != "oracle" or "y_pred_last_epoch" not in pred:
            return [self]
        honest = d.get("honest_last_epoch") or {}
        last_pred = pred.drop(columns=[c for c in pred if c.startswith("p_")]).assign(y_pred=pred["y_pred_last_epoch"])
        last = {k: v for k, v in d.items() if k not in ("confusion", "per_dataset", "uf1_ci95", "warning",
                                                        "honest_last_epoch", "selection_label")}
        last.update(selection="last", oracle=False, **{m: honest.get(m) for m in ("uf1", "uar", "accuracy")})
        return [RecordedRun(f"{self.name}/last", self.path, last, last_pred),
                RecordedRun(f"{self.name}/oracle", self.path, d, pred)]


# --------------------------------------------------------------------------- checking
def rescore(run: RecordedRun | str | Path) -> dict:
    """Scores of ``run`` recomputed from ``predictions.csv``, checked against ``results.json``.

    Returns ``{uf1, uar, accuracy, per_dataset, confusion}`` (the MEGC way: one confusion
    matrix summed over folds).

    Raises:
        RecordError: naming the run and the number that differs (a predictions file edited
            or swapped after the run).
    """
    run = run if isinstance(run, RecordedRun) else RecordedRun.load(run)
    d, pred = run.results, run.predictions
    k = len(run.class_names)
    s = scores(pred["y_true"], pred["y_pred"], k)
    cm = confusion_matrix(pred["y_true"], pred["y_pred"], k)
    per = per_group_scores(pred["y_true"], pred["y_pred"], pred["dataset"], k)
    problems = []
    for m in ("uf1", "uar", "accuracy"):
        if not np.isclose(s[m], d[m], rtol=0, atol=1e-9, equal_nan=True):
            problems.append(f"{m} {d[m]!r} in results.json, {s[m]!r} from predictions.csv")
    if "confusion" in d and not np.array_equal(cm, np.asarray(d["confusion"])):
        problems.append(f"confusion {d['confusion']} in results.json, {cm.tolist()} from predictions.csv")
    if "per_dataset" not in d:
        pass  # the last-epoch view of an oracle record: results.json scores it overall only
    elif set(per) != set(d["per_dataset"]):
        problems.append(f"datasets {sorted(d['per_dataset'])} in results.json, {sorted(per)} in predictions.csv")
    else:
        for name, v in per.items():
            for m in ("uf1", "uar", "accuracy", "n"):
                if not np.isclose(v[m], d["per_dataset"][name][m], rtol=0, atol=1e-9, equal_nan=True):
                    problems.append(f"{name} {m} {d['per_dataset'][name][m]!r} in results.json, {v[m]!r} "
                                    "from predictions.csv")
    if problems:
        raise RecordError(f"recorded run {run.name} ({run.path}): predictions.csv does not give the scores in "
                          f"results.json: " + "; ".join(problems))
    return {**s, "per_dataset": per, "confusion": cm}


def check_coverage(run: RecordedRun) -> None:
    """Every clip of the data is predicted (LOSO, k-fold: exactly once; cross-dataset: each
    fold predicts every clip of its test dataset once).

    Raises:
        RecordError: naming the run, with the counts.
    """
    pred = run.predictions
    d = run.results
    n_data = (d.get("data") or {}).get("n_clips")
    if d["protocol"] == "cross_dataset":
        dup = pred.duplicated(["fold", "clip_id"])
        if dup.any():
            raise RecordError(f"recorded run {run.name}: clips predicted twice in one fold: "
                              f"{pred.loc[dup, 'clip_id'].head(3).tolist()}")
        for test, g in pred.groupby("dataset"):
            sets = {f: frozenset(gg["clip_id"]) for f, gg in g.groupby("fold")}
            if len(set(sets.values())) > 1:
                raise RecordError(f"recorded run {run.name}: folds testing {test} predict different clips")
        return
    if pred["clip_id"].duplicated().any():
        raise RecordError(f"recorded run {run.name}: some clips are predicted more than once "
                          f"({pred['clip_id'][pred['clip_id'].duplicated()].head(3).tolist()})")
    if n_data is not None and len(pred) != int(n_data):
        raise RecordError(f"recorded run {run.name}: predictions.csv has {len(pred)} clips but the run's data "
                          f"has {n_data}; record a finished run only")
    if len(d.get("folds", [])) != pred["fold"].nunique():
        raise RecordError(f"recorded run {run.name}: results.json lists {len(d.get('folds', []))} folds, "
                          f"predictions.csv {pred['fold'].nunique()}")


# --------------------------------------------------------------------------- the table
def variant_name(results: dict) -> str:
    """The model as the tables name it: the registry name, plus ``+au`` when it was trained
    with the auxiliary AU loss (same network, one more training target)."""
    train = (results.get("config") or {}).get("train") or {}
    return results["model"] + ("+au" if float(train.get("au_loss_weight") or 0) > 0 else "")


def load_recorded(root: str | Path, variant=variant_name) -> pd.DataFrame:
    """One row per recorded run under ``root`` (``root/*/results.json``), re-scored.

    ``variant(results) -> str`` names the model of each run in the tables (default
    :func:`variant_name`); a study whose runs differ in their data settings names them apart
    (``stag@K1``, see :mod:`stag.train.synthetic_records`).

    Columns: ``run, model, role, protocol, selection, seed, epochs, n_clips, uf1, uar,
    accuracy, keyframes, data_params`` (the loader's ``-p`` parameters), ``uf1_<dataset>,
    uar_<dataset>`` (each dataset present), ``commit, dirty,
    data_checksum, command, device, cpu, cores, wall_time_s, cpu_time_s`` and ``record``
    (the :class:`RecordedRun`). Scores come from :func:`rescore`, never from the JSON.
    An absent or empty ``root`` gives an empty table with these columns.
    """
    root = Path(root)
    rows = []
    runs = [v for rj in (sorted(root.glob("*/results.json")) if root.is_dir() else [])
            for v in RecordedRun.load(rj.parent).views()]
    for run in runs:
        s = rescore(run)
        check_coverage(run)
        d, p = run.results, run.provenance
        mach = p.get("machine") or {}
        model = variant(d)
        data = d.get("data") or {}
        row = {"run": run.name, "model": model, "role": model_role(model), "protocol": d["protocol"],
               "selection": d["selection"], "seed": int(d["seed"]), "epochs": d["epochs"],
               "n_clips": len(run.predictions), "uf1": s["uf1"], "uar": s["uar"], "accuracy": s["accuracy"],
               "keyframes": (data.get("prepare") or {}).get("keyframes"), "data_params": data.get("params") or {}}
        for name, v in s["per_dataset"].items():
            row[f"uf1_{name}"], row[f"uar_{name}"] = v["uf1"], v["uar"]
        row.update(commit=p.get("commit"), dirty=p.get("dirty"), data_checksum=p.get("data_checksum"),
                   command=p.get("command"), device=mach.get("device"), cpu=mach.get("cpu"),
                   cores=mach.get("logical_cores"), wall_time_s=p.get("wall_time_s", d.get("wall_time_s")),
                   cpu_time_s=p.get("cpu_time_s"), record=run)
        rows.append(row)
    cols = ["run", "model", "role", "protocol", "selection", "seed", "epochs", "n_clips", "uf1", "uar", "accuracy",
            "keyframes", "data_params", "commit", "dirty", "data_checksum", "command", "device", "cpu", "cores",
            "wall_time_s", "cpu_time_s", "record"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    key = {"role": lambda s: s.map({r: i for i, r in enumerate(ROLE_ORDER)}),
           "selection": lambda s: s.map({r: i for i, r in enumerate(SELECTION_ORDER)})}
    by = [c for c in ("selection", "role") if c in df]
    return df.sort_values(by, key=lambda s: key[s.name](s), kind="stable").reset_index(drop=True) if by else df


def _aligned(runs: list[RecordedRun]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
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
    groups = (ref["dataset"] + "/" + ref["subject"]).to_numpy(dtype=object)
    return (ref["y_true"].to_numpy(), np.stack([f["y_pred"].to_numpy() for f in frames]), groups,
            len(runs[0].class_names))



def seed_interval(runs: list[RecordedRun], *, n_boot: int = N_BOOT) -> tuple[float, float]:
    """95% subject-bootstrap interval of the mean UF1 of ``runs`` (the seeds of one model)."""
    y, preds, groups, k = _aligned(runs)
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
    y, preds, groups, k = _aligned([a.loc[s, "record"] for s in seeds] + [b.loc[s, "record"] for s in seeds])
    n = len(seeds)
    est, lo, hi = subject_bootstrap_ci(y, preds, groups, k, weights=np.r_[np.full(n, 1 / n), np.full(n, -1 / n)],
                                       n_boot=n_boot)
    return seeds, est, lo, hi

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
    return _ordered(out.sort_values("uf1_mean", ascending=False, kind="stable"))


def _sel_label(sel: str) -> str:
    return ORACLE_SHORT if sel == "oracle" else sel


def headline(summ: pd.DataFrame, digits: int = 3, selections: tuple[str, ...] = SELECTION_ORDER) -> pd.DataFrame:
    """The opening table: model, selection, UF1 mean [min-max] over seeds, its 95%
    subject-bootstrap interval, UAR mean [min-max], seeds; rows of ``selections`` only
    (e.g. :data:`HONEST`)."""
    f = f"{{:.{digits}f}}"
    summ = summ[summ["selection"].isin(selections)].reset_index(drop=True)
    return pd.DataFrame({
        "model": summ["model"], "selection": summ["selection"].map(_sel_label), "seeds": summ["seeds"],
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
    out["selection"] = out["selection"].map(_sel_label)
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
    for model, g in _ordered(runs.assign(role=runs["role"])).groupby("model", sort=False):
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
        rows.append({"selection": _sel_label(sel), "a": a, "b": other, "seeds": len(seeds),
                     "diff_per_seed": ", ".join(f"{x:+.3f}" for x in diffs), "diff_mean": est,
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=cols)


def _ensemble_preds(runs: list[RecordedRun]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(y_true, prediction of the mean softmax over runs, groups, k)``, clips in clip order.

    Raises:
        RecordError: a run holds no probabilities (``p_<class>`` columns), or the runs
            predict different clips.
    """
    y, _, groups, k = _aligned(runs)
    probs = []
    for r in runs:
        cols = [f"p_{c}" for c in r.class_names]
        if not set(cols) <= set(r.predictions.columns):
            raise RecordError(f"recorded run {r.name} holds no class probabilities ({', '.join(cols)}); "
                              "it cannot join a seed ensemble")
        probs.append(r.predictions.sort_values("clip_id")[cols].to_numpy(dtype=np.float64))
    return y, np.mean(probs, axis=0).argmax(1), groups, k


def _seed_groups(runs: pd.DataFrame, size: int) -> list[tuple[int, ...]]:
    """Consecutive groups of ``size`` seeds (seeds 0-2, 3-5, ...); an incomplete group is dropped."""
    seeds = sorted(runs["seed"])
    return [tuple(seeds[i:i + size]) for i in range(0, len(seeds) - size + 1, size)]


def _group_preds(runs: pd.DataFrame, groups: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(y_true, preds (G, n), subject groups, k)``: one seed-ensemble prediction per seed group."""
    out = [_ensemble_preds(list(runs[runs["seed"].isin(g)].sort_values("seed")["record"])) for g in groups]
    y, _, subjects, k = out[0]
    for yy, *_ in out[1:]:
        if not np.array_equal(yy, y):
            raise RecordError("seed ensembles of one model do not predict the same clips")
    return y, np.stack([p for _, p, _, _ in out]), subjects, k


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
        groups = _seed_groups(g, size)
        if not groups:
            continue
        y, preds, subjects, k = _group_preds(g, groups)
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
    return _ordered(out.sort_values("uf1", ascending=False, kind="stable")) if rows else out


def ensemble_compare(table: pd.DataFrame, a: str = "stag", b: str | None = None, protocol: str = "loso",
                     selection: str = "inner_val", *, size: int = 3, n_boot: int = N_BOOT) -> pd.DataFrame:
    """UF1 of model ``a``'s seed ensembles minus model ``b``'s (default: the baseline whose
    ensembles score best), ensemble by ensemble over the seed groups both have, averaged, with
    a subject-bootstrap interval (both scored on each resample).

    Columns: ``selection, a, b, seeds, ensembles, diff, diff_per_ensemble, ci_low, ci_high``.
    """
    cols = ["selection", "a", "b", "seeds", "ensembles", "diff", "diff_per_ensemble", "ci_low", "ci_high"]
    runs = table[(table["protocol"] == protocol) & (table["selection"] == selection)] if len(table) else table
    if runs.empty or not _seed_groups(runs[runs["model"] == a], size):
        return pd.DataFrame(columns=cols)
    if b is None:  # the baseline whose ensembles score best (mean UF1 over its ensembles)
        best = {}
        for model, g in runs[runs["role"] == "baseline"].groupby("model"):
            groups = _seed_groups(g, size)
            if groups:
                y, preds, _, k = _group_preds(g, groups)
                best[model] = float(np.mean([scores(y, p, k)["uf1"] for p in preds]))
        if not best:
            return pd.DataFrame(columns=cols)
        b = max(best, key=best.get)
    ra, rb = runs[runs["model"] == a], runs[runs["model"] == b]
    groups = sorted(set(_seed_groups(ra, size)) & set(_seed_groups(rb, size)))
    if not groups:
        return pd.DataFrame(columns=cols)
    ya, pa, subjects, k = _group_preds(ra, groups)
    yb, pb, _, _ = _group_preds(rb, groups)
    if not np.array_equal(ya, yb):
        raise RecordError(f"the {a} and {b} ensembles do not predict the same clips; they cannot be paired")
    n = len(groups)
    w = np.r_[np.full(n, 1 / n), np.full(n, -1 / n)]
    est, lo, hi = subject_bootstrap_ci(ya, np.vstack([pa, pb]), subjects, k, weights=w, n_boot=n_boot)
    diffs = [scores(ya, x, k)["uf1"] - scores(yb, z, k)["uf1"] for x, z in zip(pa, pb)]
    return pd.DataFrame([{"selection": f"{selection}, {size}-seed ensemble", "a": a, "b": b,
                          "seeds": ", ".join(f"{g[0]}-{g[-1]}" for g in groups), "ensembles": n, "diff": est,
                          "diff_per_ensemble": ", ".join(f"{d:+.3f}" for d in diffs), "ci_low": lo, "ci_high": hi}],
                        columns=cols)


def ensemble_findings(ens: pd.DataFrame, comparison: pd.DataFrame) -> str:
    """One sentence from :func:`ensembles` and :func:`ensemble_compare`."""
    if ens.empty or comparison.empty:
        return "No seed ensemble is recorded (it needs a complete group of seeds whose records keep probabilities)."
    row = comparison.iloc[0]
    e = ens.set_index("model")
    verdict = ("beats" if row["ci_low"] > 0 else "is worse than" if row["ci_high"] < 0
               else "does not measurably beat")
    a, b = e.loc[row["a"]], e.loc[row["b"]]
    size = row["selection"].split(", ")[1].split("-")[0]
    n = int(row["ensembles"])
    which = (f"{n} ensembles of {size} seeds each (seeds {row['seeds']})" if n > 1
             else f"one ensemble of {size} seeds (seeds {row['seeds']})")
    mean = "on average " if n > 1 else ""
    return (f"Averaging the class probabilities of {which}, {row['selection'].split(',')[0]} selection (a rule "
            f"fixed before scoring and the same for every model), STAG reaches UF1 {mean}{a['uf1']:.3f} (single "
            f"seeds: {a['uf1_seed_mean']:.3f} on average) and {verdict} the best baseline's ensembles, {row['b']}, "
            f"at {b['uf1']:.3f}: a difference of {row['diff']:+.3f} (per ensemble {row['diff_per_ensemble']}; "
            f"95% subject-bootstrap interval [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]).")


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
        row = {"model": name, "removes": ABLATION_REMOVES.get(name, ""), "seeds": 0,
               "stag_minus_model_per_seed": "", "stag_minus_model": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        note = ablation_note(name, keyframes)
        comp = compare(table, "stag", name, n_boot=n_boot) if name in recorded and "stag" in recorded else None
        comp = comp[comp["selection"] == _sel_label(selection)] if comp is not None else None
        if note:
            row["verdict"] = note
        elif comp is None or comp.empty:
            row["verdict"] = "not recorded"
        else:
            c = comp.iloc[0]
            row.update(seeds=int(c["seeds"]), stag_minus_model_per_seed=c["diff_per_seed"],
                       stag_minus_model=c["diff_mean"], ci_low=c["ci_low"], ci_high=c["ci_high"])
            row["verdict"] = ("STAG better" if c["ci_low"] > 0 else "STAG worse" if c["ci_high"] < 0
                              else "no measurable difference")
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def component_findings(components_table: pd.DataFrame) -> str:
    """One sentence from :func:`components`: which parts STAG measurably needs, which it does
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


# What each ablation (or training variant) changes relative to full STAG.
ABLATION_REMOVES: dict[str, str] = {
    "stag_no_graph": "the ROI graph branch (and cross-attention)",
    "stag_no_temporal": "the whole-face (temporal) branch (and cross-attention)",
    "stag_late_fusion": "cross-attention (branches meet only in the gated fusion)",
    "stag_static_adj": "per-clip re-weighting of the AU-prior edges",
    "stag_no_mag_prior": "the keyframe magnitude prior",
    "stag+au": "nothing: adds an auxiliary AU loss on the CASME II/SAMM FACS codings",
}


def findings(table: pd.DataFrame, comparison: pd.DataFrame | None = None) -> str:
    """The chapter's answer in one sentence, worded from the tables (never typed by hand).

    Uses the honest selection ``last`` (else ``inner_val``) of :func:`compare`.
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
    if row["ci_low"] > 0:
        verdict = "beats"
        tail = "the interval excludes zero"
    elif row["ci_high"] < 0:
        verdict = "is worse than"
        tail = "the interval excludes zero"
    else:
        verdict = "does not measurably beat"
        tail = "the interval includes zero"
    return (f"Under honest LOSO on the MEGC2019 composite ({row['selection']} epoch, {row['seeds']} seed"
            f"{'s' * int(row['seeds'] > 1)}), STAG {verdict} the best baseline, {row['b']}: UF1 {ua.mean():.3f} "
            f"[{ua.min():.3f}-{ua.max():.3f}] against {ub.mean():.3f} [{ub.min():.3f}-{ub.max():.3f}], a paired "
            f"difference of {row['diff_mean']:+.3f} (95% subject-bootstrap interval [{row['ci_low']:+.3f}, "
            f"{row['ci_high']:+.3f}]; {tail}).")


def lodo(table: pd.DataFrame, models: list[str] | None = None) -> pd.DataFrame:
    """Leave-one-dataset-out table: one row per model x held-out dataset (``lodo`` runs, and
    ``cross_dataset`` runs that test on it), UF1/UAR mean [min-max] over seeds, or
    ``"not recorded"``. Only honest selections count.

    ``models`` default: the models with such records (STAG first).
    """
    cross = (table[table["protocol"].isin(["lodo", "cross_dataset"]) & table["selection"].isin(HONEST)]
             if len(table) else table)
    if models is None:  # the models with such runs (STAG first), else STAG's row says "not recorded"
        models = list(_ordered(cross[["model", "role"]].drop_duplicates())["model"]) if len(cross) else ["stag"]
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


def tried(root: str | Path) -> str:
    """The committed list of what was tried and with what budget (``TRIED.md``, else
    ``TRIED.yaml``/``TRIED.yml`` rendered as a Markdown list); a note when absent."""
    root = Path(root)
    if (root / "TRIED.md").is_file():
        return (root / "TRIED.md").read_text()
    for name in ("TRIED.yaml", "TRIED.yml"):
        if (root / name).is_file():
            import yaml

            data = yaml.safe_load((root / name).read_text())
            items = data if isinstance(data, list) else [{"what": k, "budget": v} for k, v in (data or {}).items()]
            return "\n".join("- " + "; ".join(f"**{k}**: {v}" for k, v in (i.items() if isinstance(i, dict)
                                                                           else [("what", i)]))
                             for i in items)
    return f"_No list of what was tried has been recorded ({root / 'TRIED.md'} is absent)._"


# --------------------------------------------------------------------------- recording
def record_run(run_dir: str | Path, dest: str | Path, *, force: bool = False) -> Path:
    """Copy a finished run's ``results.json`` and ``predictions.csv`` (only those) to ``dest``.

    The run must carry provenance, cover every clip and re-score to its own numbers, in every
    view it holds (:meth:`RecordedRun.views`: an oracle record's last epoch too). An
    existing different record at ``dest`` is refused unless ``force``; an identical one is
    left as it is.

    Raises:
        FileNotFoundError: the run folder lacks one of the two files.
        RecordError: no provenance, missing clips, scores that do not match, or a different
            record at ``dest`` without ``force``.
    """
    run_dir, dest = Path(run_dir), Path(dest)
    run = RecordedRun.load(run_dir)
    run.name = dest.name
    if not run.provenance.get("commit"):
        raise RecordError(f"{run_dir}/results.json has no provenance; rerun it with this version of `stag train`")
    for view in run.views():  # an oracle record's honest last-epoch view is checked like the rest
        check_coverage(view)
        rescore(view)
    if dest.exists():
        same = all((dest / f).is_file() and (dest / f).read_bytes() == (run_dir / f).read_bytes()
                   for f in RECORD_FILES)
        extra = sorted(p.name for p in dest.iterdir() if p.name not in RECORD_FILES)
        if same and not extra:
            return dest
        if not force:
            raise RecordError(f"{dest} already holds a different record; pass --force to replace it")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in RECORD_FILES:
        shutil.copyfile(run_dir / f, dest / f)
    return dest


# --------------------------------------------------------------------------- reproducing
def retrain_command(run: RecordedRun, data_root: str | Path, out: str | Path, device: str = "auto") -> list[str]:
    """The recorded ``stag train`` command with another data root, run folder and device
    (the ``argv`` after ``stag``)."""
    cmd = run.provenance.get("command") or ""
    argv = shlex.split(cmd)
    if len(argv) < 2 or argv[0] != "stag" or argv[1] != "train":
        raise RecordError(f"recorded run {run.name}: its command {cmd!r} is not a `stag train` command line")
    argv, out_args = argv[1:], []
    replace = {"--data-root": str(data_root), "--out": str(out), "--device": device, "--cache-dir": ".stag-cache"}
    i = 0
    while i < len(argv):
        key = argv[i].split("=", 1)[0]
        if key in replace:
            i += 1 if "=" in argv[i] else 2
            continue
        out_args.append(argv[i])
        i += 1
    for key, value in replace.items():
        out_args += [key, value]
    return out_args


def retrain(table: pd.DataFrame, data_root: str | Path, out_root: str | Path, device: str = "auto") -> pd.DataFrame:
    """Rerun every recorded run with its recorded command through ``stag train`` on the data at
    ``data_root`` into ``out_root/<run>`` (resumable), and load the new runs as a table like
    :func:`load_recorded`'s."""
    out_root = Path(out_root)
    for run in table["record"]:
        argv = retrain_command(run, data_root, out_root / run.name, device)
        argv = [*argv, "--quiet"] if "--quiet" not in argv else argv
        # Replayed as the command it was (stag.cli sits above this module, which it loads).
        if subprocess.run([sys.executable, "-m", "stag", *argv]).returncode != 0:
            raise RuntimeError(f"retraining recorded run {run.name} failed: stag {shlex.join(argv)}")
    return load_recorded(out_root)


def load_or_retrain(records: str | Path, data_root: str | Path = "", device: str = "auto",
                    out_root: str | Path = "runs/megc2019-retrain") -> pd.DataFrame:
    """The chapter's table: the recorded runs (:func:`load_recorded`), or, when
    ``data_root`` is given, the same runs retrained on that data (:func:`retrain`)."""
    table = load_recorded(records)
    return retrain(table, data_root, out_root, device) if data_root else table


def fold_threads(run: RecordedRun) -> int:
    """Torch threads each fold of ``run`` trained with: as recorded (``provenance.numerics``),
    else its ``threads`` setting, else the recorded machine's cores divided by the command's
    ``--jobs`` (as :func:`run_protocol` chose them for records made before threads were
    recorded). Float sums depend on the thread count, so a reproduction uses the same."""
    recorded = (run.provenance.get("numerics") or {}).get("fold_threads")
    if isinstance(recorded, int):
        return recorded
    train = (run.results.get("config") or {}).get("train") or {}
    if train.get("threads"):
        return int(train["threads"])
    argv = shlex.split(run.provenance.get("command") or "")
    jobs = next((int(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "--jobs"), 1)
    cores = int((run.provenance.get("machine") or {}).get("logical_cores") or 1)
    return max(1, cores // max(1, jobs))


#: Largest difference measured between a reproduced fold's class probabilities and its record
#: made on another machine: 9.4e-5 (results/synthetic_study/ststnet-seed0, its smallest fold,
#: reproduced on an AVX2 machine; exactly the same with two busy processes beside it, and 9.1e-5
#: with torch held to its scalar kernels, ATEN_CPU_CAPABILITY=default). Float sums differ
#: between CPUs (SIMD width, oneDNN's blocking), not with the load: on one machine, with the
#: recorded thread count, a fold reproduces bit for bit. Ten times the measured worst case.
CROSS_MACHINE_ATOL = 1e-3


def reproduction_tolerance(run: RecordedRun) -> float:
    """Absolute tolerance on the class probabilities of a fold of ``run`` reproduced here:
    ``0`` when the record names this process's numerics (same CPU model, torch version and
    SIMD capability, thread count recorded), else :data:`CROSS_MACHINE_ATOL`."""
    import torch

    from stag.train.provenance import machine

    rec, here = run.provenance.get("machine") or {}, machine("cpu")
    num = run.provenance.get("numerics") or {}
    same = (isinstance(num.get("fold_threads"), int) and num.get("cpu_capability") == torch.backends.cpu.get_cpu_capability()
            and rec.get("cpu") == here["cpu"] and rec.get("torch") == here["torch"])
    return 0.0 if same else CROSS_MACHINE_ATOL


def recorded_loader_params(data: dict) -> dict:
    """The loader parameters a record was made with (its ``data`` block): the ``-p`` ones, and
    for a composite record made before the channel order was verified (it names no
    ``channel_order``), the legacy reading it used (:data:`stag.data.megc2019.LEGACY_CHANNEL_ORDER`)."""
    from stag.data.megc2019 import LEGACY_CHANNEL_ORDER

    params = dict(data.get("params") or {})
    named = "channel_order" in params or "channel_order" in (data.get("loader") or {})
    if data.get("dataset") == "megc2019_flow" and not named:
        params["channel_order"] = LEGACY_CHANNEL_ORDER
    return params


def smallest_fold(run: RecordedRun) -> str:
    """The fold with the fewest test clips (first by name among ties)."""
    counts = run.predictions.groupby("fold").size()
    return str(counts[counts == counts.min()].sort_index().index[0])


def reproduce_fold(run: RecordedRun | str | Path, data_root: str | Path, fold: str | None = None, *,
                   device: str = "cpu", cache_dir: str | Path | None = None,
                   jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Retrain one fold of a recorded run from its recorded configuration.

    Loads the data with the recorded loader and preprocessing settings, rebuilds the model
    and training configuration from ``results.json`` (checking the configuration hash),
    trains ``fold`` (default :func:`smallest_fold`) the way the run did, and returns
    ``(new, recorded)`` predictions of that fold, both sorted by clip id. ``jobs`` processes
    prepare the data (the result does not depend on it). ``data_root`` may be empty for
    generated data (the synthetic set).

    Raises:
        RecordError: the rebuilt configuration is not the recorded one.
    """
    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.config import TrainConfig, stable_hash
    from stag.train.experiment import load_and_prepare
    from stag.train.protocols import get_protocol
    from stag.train.run import fold_predictions, fold_task, model_spec, pack_prepared, run_identity

    run = run if isinstance(run, RecordedRun) else RecordedRun.load(run)
    d = run.results
    data = d.get("data") or {}
    fold = fold or smallest_fold(run)
    prep = PrepareConfig(**data.get("prepare", {}))
    loaded = load_and_prepare(data["dataset"], data_root=data_root or None, annotations=data.get("annotations"),
                              prepare_config=prep, cache_dir=cache_dir, jobs=jobs, progress=False,
                              data_params=recorded_loader_params(data))
    train = {**d["config"]["train"], "device": device}
    config = TrainConfig(**train)
    class_names = tuple(d["class_names"])
    spec = model_spec(d["model"], loaded.prepared, len(class_names), config)
    init = d["config"]["model"].get("init")
    if init:  # a pretrained start: made again from its recorded configuration (deterministic, cached)
        from dataclasses import fields as dc_fields

        from stag.train.pretrain import PretrainConfig, with_pretraining

        pre = PretrainConfig(**{f.name: init[f.name] for f in dc_fields(PretrainConfig) if f.name in init})
        spec, _ = with_pretraining(spec, loaded.prepared, config, pre, cache_dir=cache_dir, jobs=jobs)
    if spec.describe() != d["config"]["model"]:
        raise RecordError(f"recorded run {run.name}: the model rebuilt from its config, {spec.describe()}, is not "
                          f"the recorded {d['config']['model']}")
    pack = pack_prepared(loaded.prepared)
    proto = get_protocol(d["protocol"] if d["protocol"] != "cross_dataset" else
                         "cross_dataset:" + ",".join(f"{a}->{b}" for a, b in d["config"]["protocol"].get("pairs", [])),
                         n_splits=d["config"]["protocol"].get("n_splits", 5), random_state=config.seed)
    groups = np.array([f"{a}/{b}" for a, b in zip(pack["dataset"], pack["subject"])], dtype=object)
    splits = {f: (tr, te) for f, tr, te in proto.split(groups, pack["label"], np.array(pack["dataset"], dtype=object))}
    if fold not in splits:
        raise RecordError(f"recorded run {run.name}: fold {fold!r} is not a fold of {d['protocol']} on this data")
    rec_hash = d.get("config_hash")
    run_info = run_identity(pack, class_names, spec, proto, d["config"]["train"])
    if rec_hash and stable_hash(run_info) != rec_hash:
        raise RecordError(f"recorded run {run.name}: data or configuration differ from the recording (config hash "
                          f"{stable_hash(run_info)} here, {rec_hash} recorded); check the data checksum")
    tr, te = splits[fold]
    res = fold_task(pack, spec, fold, tr, te, config, len(class_names), fold_threads(run))
    new = fold_predictions(pack, te, res["output"], class_names, fold)
    recorded = run.predictions[run.predictions["fold"] == fold]
    return (new.sort_values("clip_id").reset_index(drop=True), recorded.sort_values("clip_id").reset_index(drop=True))


# --------------------------------------------------------------------------- ROI landmarks
LANDMARKS_RECORD = "landmarks.json"


def landmark_record(data_root: str | Path, *, cache_dir: str | Path | None = None, jobs: int = 2) -> dict:
    """Where the composite's ROI landmarks come from: dlib (HOG detector, 68 points) on each
    clip's apex face, or the aligned-face template when dlib finds no face; per source
    dataset, with the provenance of the count (commit, data checksum, the call)."""
    from stag.preprocess.pipeline import PrepareConfig, landmark_sources
    from stag.train.experiment import load_and_prepare
    from stag.train.provenance import data_checksum, python_call, source_commit, utc_now

    data = load_and_prepare("megc2019_flow", data_root=data_root, prepare_config=PrepareConfig(keyframes=1,
                            output_size=64), cache_dir=cache_dir, jobs=jobs, progress=False)
    commit, dirty = source_commit()
    table = landmark_sources(data.prepared)
    return {"table": table.reset_index().to_dict(orient="records"),
            "provenance": {"commit": commit, "dirty": dirty, "data_checksum": data_checksum(data.clipset),
                           "command": python_call("stag.train.record.landmark_record", data_root=str(data_root)),
                           "finished_utc": utc_now()}}


def landmark_table(records: str | Path, data_root: str | Path = "") -> tuple[pd.DataFrame, dict]:
    """The landmark-source table and its provenance: recomputed from ``data_root`` when given,
    else read from ``records/landmarks.json`` (empty when absent)."""
    path = Path(records) / LANDMARKS_RECORD
    rec = landmark_record(data_root) if data_root else (json.loads(path.read_text()) if path.is_file() else None)
    if rec is None:
        return pd.DataFrame(columns=["dataset", "dlib", "template", "total"]), {}
    table = pd.DataFrame(rec["table"])
    table = table.loc[:, (table != 0).any(axis=0)]  # a source no clip used is not a column
    table.insert(len(table.columns), "found by dlib", (table.get("dlib", 0) / table["total"]).map("{:.0%}".format))
    return table, rec["provenance"]


# --------------------------------------------------------------------------- stag record
HELP = "copy a finished run's results.json and predictions.csv into a recorded-runs folder (results/...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="finished run folder (stag train --out)")
    parser.add_argument("dest", type=Path, help="record folder, e.g. results/megc2019/stag-last-seed0")
    parser.add_argument("--force", action="store_true", help="replace a different existing record")


def run(args: argparse.Namespace) -> int:
    dest = record_run(args.run_dir, args.dest, force=args.force)
    r = rescore(dest)
    print(f"recorded {args.run_dir} -> {dest} (UF1 {r['uf1']:.3f}, UAR {r['uar']:.3f}; results.json + "
          "predictions.csv only)")
    return 0
