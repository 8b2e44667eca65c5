"""Tables over the runs a chapter trains itself: one row per run, oracle against honest, per
dataset, per fold, cross-dataset pairs, and the chapter tables saved for later chapters.

The model-level tables (summary, headline, comparisons) are :mod:`stag.results.tables`, the
same for live and recorded runs; these add what only a chapter that trains has: run folders,
timings, and oracle runs beside honest ones. Every function takes
:class:`~stag.train.records.RunRecord` objects or run folders (loaded through it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from stag.results.stats import N_BOOT, seed_interval
from stag.train.names import model_role
from stag.train.records import RunRecord, rescore
from stag.results.tables import selection_label


def _as_record(r) -> RunRecord:
    """A run as a :class:`~stag.train.records.RunRecord` (a run folder is loaded through it)."""
    return r if isinstance(r, RunRecord) else RunRecord.load(r)


def runs_table(results: Iterable, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """One row per run: model, role, protocol, selection, seed, epochs, uf1, uar, accuracy,
    uf1_ci_low/high, wall_time_s, fold_time_s (sum of fold training times), fold_cpu_s (their
    CPU time: robust to other processes sharing the machine), n_folds, out.

    ``results``: :class:`~stag.train.records.RunRecord` objects or run folders. The scores and
    the interval are recomputed from each run's predictions (:func:`~stag.train.records.rescore`,
    :func:`~stag.results.stats.seed_interval`), never read from its ``results.json``.
    """
    rows = []
    for r in map(_as_record, results):
        d, s = r.results, rescore(r)
        lo, hi = seed_interval([r], n_boot=n_boot)
        rows.append({
            "model": d["model"], "role": model_role(d["model"]), "protocol": d["protocol"],
            "selection": d["selection"], "seed": d["seed"], "epochs": d["epochs"],
            "uf1": s["uf1"], "uar": s["uar"], "accuracy": s["accuracy"],
            "uf1_ci_low": lo, "uf1_ci_high": hi,
            "wall_time_s": d["wall_time_s"],
            "fold_time_s": float(sum(f.get("wall_time_s") or 0.0 for f in d["folds"])),
            "fold_cpu_s": float(sum(f.get("cpu_time_s") or 0.0 for f in d["folds"])),
            "n_folds": len(d["folds"]), "out": str(r.path) if r.path else "",
        })
    return pd.DataFrame(rows)


def oracle_comparison(results: Iterable) -> pd.DataFrame:
    """Honest and oracle scores of the same models side by side.

    Uses the oracle runs' own last-epoch scores (``honest_last_epoch``, same training run)
    and any honest runs given. Columns name the oracle explicitly.
    """
    rows = []
    for r in map(_as_record, results):
        if r.results["selection"] != "oracle":
            continue
        views = {v.results["selection"]: rescore(v) for v in r.views()}  # the honest view: the run's own last epoch
        h, o = views.get("last", {}), views["oracle"]
        rows.append({"model": r.model, "seed": r.seed, "protocol": r.protocol,
                     "UF1 honest (last epoch)": h.get("uf1", np.nan), "UAR honest (last epoch)": h.get("uar", np.nan),
                     "UF1 oracle (best test epoch)": o["uf1"], "UAR oracle (best test epoch)": o["uar"]})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows).groupby(["model", "protocol"], sort=False).mean(numeric_only=True).reset_index()
    df["UF1 inflation (oracle - honest)"] = df["UF1 oracle (best test epoch)"] - df["UF1 honest (last epoch)"]
    return df.drop(columns="seed")


def per_dataset_table(results: Iterable) -> pd.DataFrame:
    """Long table: model, selection, seed, dataset, uf1, uar, n (composite data breakdown),
    re-scored from each run's predictions."""
    rows = []
    for r in map(_as_record, results):
        d = r.results
        for name, s in rescore(r)["per_dataset"].items():
            rows.append({"model": d["model"], "selection": selection_label(d["selection"]), "seed": d["seed"],
                         "dataset": name, "uf1": s["uf1"], "uar": s["uar"], "n": s.get("n")})
    return pd.DataFrame(rows)


def fold_table(results: Iterable) -> pd.DataFrame:
    """Long table of folds: model, seed, fold (train->test for cross-dataset), uf1/uar per fold."""
    from stag.train.metrics import scores

    rows = []
    for r in results:  # RunRecord objects (their predictions are needed)
        pred = r.predictions
        k = len(r.class_names)
        for fold, g in pred.groupby("fold", sort=False):
            s = scores(g["y_true"], g["y_pred"], k)
            rows.append({"model": r.model, "selection": selection_label(r.selection), "seed": r.seed,
                         "fold": fold, "n_test": len(g), **s})
    return pd.DataFrame(rows)


def cross_dataset_table(results: Iterable) -> pd.DataFrame:
    """Cross-dataset scores: one row per (model, ``train -> test`` pair), mean over seeds.

    Columns: ``model, train -> test, uf1, uar, accuracy, n_test``. Empty (with those columns)
    when there are no runs, e.g. a dataset with a single domain.
    """
    cols = ["model", "train -> test", "uf1", "uar", "accuracy", "n_test"]
    folds = fold_table(results)
    if folds.empty:
        return pd.DataFrame(columns=cols)
    folds = folds.rename(columns={"fold": "train -> test"})
    out = folds.groupby(["model", "train -> test"], sort=False)[cols[2:]].mean().reset_index()[cols]
    return out.astype({"n_test": int})


def oracle_reproduces_honest(honest: Iterable, oracle: Iterable) -> pd.DataFrame:
    """The oracle runs' own last epoch next to the honest run of the same model and seed.

    Training never depends on what is evaluated, so the two columns should agree; a
    difference means the oracle run trained differently. Columns: ``model, seed,
    honest run UF1, oracle run last-epoch UF1, difference``.
    """
    honest_uf1 = {(r.model, r.seed): rescore(r)["uf1"] for r in map(_as_record, honest)}
    rows = []
    for r in map(_as_record, oracle):
        last = next((rescore(v)["uf1"] for v in r.views() if v.results["selection"] == "last"), np.nan)
        rows.append({"model": r.model, "seed": r.seed,
                     "honest run UF1": honest_uf1.get((r.model, r.seed), np.nan),
                     "oracle run last-epoch UF1": last})
    out = pd.DataFrame(rows, columns=["model", "seed", "honest run UF1", "oracle run last-epoch UF1"])
    out["difference"] = out["oracle run last-epoch UF1"] - out["honest run UF1"]
    return out


def settings_table(**configs) -> pd.DataFrame:
    """The settings of a chapter, one column per config: ``settings_table(preprocessing=
    prepare_config, training=train_config)``. Each config is a dataclass with ``to_dict()`` (or
    a dict); a setting a config lacks is left blank."""
    cols = {name: pd.Series(c if isinstance(c, dict) else c.to_dict(), dtype=object) for name, c in configs.items()}
    order = list(dict.fromkeys(k for col in cols.values() for k in col.index))  # each config's own order
    return pd.DataFrame(cols).reindex(order).fillna("")


def save_table(table: pd.DataFrame, folder: str | Path, name: str) -> list[Path]:
    """Write ``name.csv`` and ``name.json`` (records) into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv, js = folder / f"{name}.csv", folder / f"{name}.json"
    table.to_csv(csv, index=False)
    js.write_text(json.dumps(json.loads(table.to_json(orient="records")), indent=2))
    return [csv, js]


def save_tables(tables: dict[str, pd.DataFrame], folders: Iterable[str | Path]) -> list[Path]:
    """:func:`save_table` for every ``name -> table`` into every folder; the written paths.

    The ``out`` column (a run folder on this machine) is left out of the saved files.
    """
    written: list[Path] = []
    for folder in folders:
        for name, table in tables.items():
            written += save_table(table.drop(columns="out", errors="ignore"), folder, name)
    return written


def load_tables(folder: str | Path, required: Iterable[str] = (), optional: Iterable[str] = (), *,
                writer: str = "") -> dict[str, pd.DataFrame]:
    """Read back tables that :func:`save_tables` wrote (``<folder>/<name>.csv``).

    Args:
        folder: where the tables are.
        required: names that must be there.
        optional: names that may be absent or empty (then an empty frame).
        writer: who writes them (e.g. ``"chapter 6 (06_honest_evaluation)"``), for the error.

    Raises:
        FileNotFoundError: a required table is missing; the message names the file and the writer.
    """
    folder = Path(folder)
    out: dict[str, pd.DataFrame] = {}
    for name in required:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing" + (f": execute {writer} first, with the same folder"
                                                            if writer else ""))
        out[name] = pd.read_csv(path)
    for name in optional:
        try:
            out[name] = pd.read_csv(folder / f"{name}.csv")
        except (FileNotFoundError, pd.errors.EmptyDataError):
            out[name] = pd.DataFrame()
    return out

