"""Tables built from protocol runs: one row per run, then mean and spread over seeds.

These functions only reshape numbers that :func:`~stag.train.run.run_protocol` computed;
the intro's headline table and the chapters call them, so every table of scores in the book
comes from one place. Oracle runs (epoch chosen on the test fold) are labelled in every
table they enter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from stag.train.config import ORACLE_LABEL

ORACLE_SHORT = "oracle (test-selected epoch)"


def model_role(name: str) -> str:
    """``"STAG"`` (also a training variant of it, ``stag+au``), ``"control"`` (a model fed
    other inputs than its study's, named ``<model>@<input>``, e.g. ``stag@K1``), ``"ablation"``
    (``stag_*``) or ``"baseline"``."""
    if "@" in name:
        return "control"
    if name == "stag" or name.startswith("stag+"):
        return "STAG"
    return "ablation" if name.startswith("stag_") else "baseline"


def _as_dict(r) -> dict:
    if isinstance(r, dict):
        return r
    if isinstance(r, (str, Path)):
        return json.loads((Path(r) / "results.json").read_text())
    d = {k: getattr(r, k) for k in ("uf1", "uar", "accuracy", "per_dataset", "folds", "protocol", "model",
                                    "epochs", "seed", "selection", "wall_time_s", "honest_last", "config")}
    d["honest_last_epoch"] = d.pop("honest_last")
    d["uf1_ci95"] = list(getattr(r, "uf1_ci", (np.nan, np.nan)))
    d["out"] = str(r.out) if getattr(r, "out", None) else ""
    return d


def runs_table(results: Iterable) -> pd.DataFrame:
    """One row per run: model, role, protocol, selection, seed, epochs, uf1, uar, accuracy,
    uf1_ci_low/high, wall_time_s, fold_time_s (sum of fold training times), fold_cpu_s (their
    CPU time: robust to other processes sharing the machine), n_folds, out.

    ``results``: :class:`~stag.train.run.Results`, ``results.json`` dicts or run folders.
    """
    rows = []
    for r in results:
        d = _as_dict(r)
        ci = d.get("uf1_ci95") or [np.nan, np.nan]
        rows.append({
            "model": d["model"], "role": model_role(d["model"]), "protocol": d["protocol"],
            "selection": d["selection"], "seed": d["seed"], "epochs": d["epochs"],
            "uf1": d["uf1"], "uar": d["uar"], "accuracy": d["accuracy"],
            "uf1_ci_low": ci[0], "uf1_ci_high": ci[1],
            "wall_time_s": d["wall_time_s"],
            "fold_time_s": float(sum(f.get("wall_time_s") or 0.0 for f in d["folds"])),
            "fold_cpu_s": float(sum(f.get("cpu_time_s") or 0.0 for f in d["folds"])),
            "n_folds": len(d["folds"]), "out": d.get("out", ""),
        })
    return pd.DataFrame(rows)


def _label_selection(sel: str) -> str:
    return ORACLE_SHORT if sel == "oracle" else sel


def summary_table(results: Iterable, metrics: tuple[str, ...] = ("uf1", "uar", "accuracy")) -> pd.DataFrame:
    """Mean and standard deviation over seeds per (model, protocol, selection).

    Columns: ``model, role, protocol, selection, seeds, <metric>_mean, <metric>_std...,
    fold_time_s``; rows ordered STAG, ablations, baselines, then by UF1. Oracle rows read
    ``"oracle (test-selected epoch)"`` in ``selection``. ``results``: Results objects,
    results.json dicts, run folders, or a :func:`runs_table` frame.
    """
    runs = results if isinstance(results, pd.DataFrame) else runs_table(results)
    if runs.empty:
        return pd.DataFrame()
    g = runs.groupby(["model", "role", "protocol", "selection"], sort=False)
    out = g.agg(seeds=("seed", "nunique"), **{f"{m}_mean": (m, "mean") for m in metrics},
                **{f"{m}_std": (m, "std") for m in metrics}, fold_time_s=("fold_time_s", "mean")).reset_index()
    cols = ["model", "role", "protocol", "selection", "seeds"]
    for m in metrics:
        cols += [f"{m}_mean", f"{m}_std"]
    out = out[cols + ["fold_time_s"]]
    out["selection"] = out["selection"].map(_label_selection)
    order = {"STAG": 0, "ablation": 1, "baseline": 2}
    out = out.sort_values(["role", "uf1_mean"], key=lambda s: s.map(order) if s.name == "role" else -s)
    return out.reset_index(drop=True)


def format_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``mean ± std`` strings for display (``std`` omitted with a single seed)."""
    out = table[[c for c in table.columns if not c.endswith(("_mean", "_std"))]].copy()
    for c in [c[:-5] for c in table.columns if c.endswith("_mean")]:
        mean, std = table[f"{c}_mean"], table[f"{c}_std"]
        out[c.upper() if c in ("uf1", "uar") else c] = [
            f"{m:.{digits}f}" + ("" if not np.isfinite(s) else f" ± {s:.{digits}f}") for m, s in zip(mean, std)]
    return out


def oracle_comparison(results: Iterable) -> pd.DataFrame:
    """Honest and oracle scores of the same models side by side.

    Uses the oracle runs' own last-epoch scores (``honest_last_epoch``, same training run)
    and any honest runs given. Columns name the oracle explicitly.
    """
    rows = []
    for r in results:
        d = _as_dict(r)
        if d["selection"] != "oracle":
            continue
        h = d.get("honest_last_epoch") or {}
        rows.append({"model": d["model"], "seed": d["seed"], "protocol": d["protocol"],
                     "UF1 honest (last epoch)": h.get("uf1", np.nan), "UAR honest (last epoch)": h.get("uar", np.nan),
                     "UF1 oracle (best test epoch)": d["uf1"], "UAR oracle (best test epoch)": d["uar"]})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows).groupby(["model", "protocol"], sort=False).mean(numeric_only=True).reset_index()
    df["UF1 inflation (oracle - honest)"] = df["UF1 oracle (best test epoch)"] - df["UF1 honest (last epoch)"]
    return df.drop(columns="seed")


def per_dataset_table(results: Iterable) -> pd.DataFrame:
    """Long table: model, selection, seed, dataset, uf1, uar, n (composite data breakdown)."""
    rows = []
    for r in results:
        d = _as_dict(r)
        for name, s in d["per_dataset"].items():
            rows.append({"model": d["model"], "selection": _label_selection(d["selection"]), "seed": d["seed"],
                         "dataset": name, "uf1": s["uf1"], "uar": s["uar"], "n": s.get("n")})
    return pd.DataFrame(rows)


def fold_table(results: Iterable) -> pd.DataFrame:
    """Long table of folds: model, seed, fold (train->test for cross-dataset), uf1/uar per fold."""
    from stag.train.metrics import scores

    rows = []
    for r in results:
        pred = r.predictions
        k = len(r.class_names)
        for fold, g in pred.groupby("fold", sort=False):
            s = scores(g["y_true"], g["y_pred"], k)
            rows.append({"model": r.model, "selection": _label_selection(r.selection), "seed": r.seed,
                         "fold": fold, "n_test": len(g), **s})
    return pd.DataFrame(rows)


def save_table(table: pd.DataFrame, folder: str | Path, name: str) -> list[Path]:
    """Write ``name.csv`` and ``name.json`` (records) into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv, js = folder / f"{name}.csv", folder / f"{name}.json"
    table.to_csv(csv, index=False)
    js.write_text(json.dumps(json.loads(table.to_json(orient="records")), indent=2))
    return [csv, js]


def load_tables(folder: str | Path, required: Iterable[str] = (), optional: Iterable[str] = (), *,
                writer: str = "") -> dict[str, pd.DataFrame]:
    """Read back tables that :func:`save_tables` wrote (``<folder>/<name>.csv``).

    Args:
        folder: where the tables are.
        required: names that must be there.
        optional: names that may be absent or empty (then an empty frame).
        writer: who writes them (e.g. ``"chapter 6 (06_loso_training)"``), for the error.

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
    honest_uf1 = {(d["model"], d["seed"]): d["uf1"] for d in map(_as_dict, honest)}
    rows = []
    for d in map(_as_dict, oracle):
        last = (d.get("honest_last_epoch") or {}).get("uf1", np.nan)
        rows.append({"model": d["model"], "seed": d["seed"],
                     "honest run UF1": honest_uf1.get((d["model"], d["seed"]), np.nan),
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


def save_tables(tables: dict[str, pd.DataFrame], folders: Iterable[str | Path]) -> list[Path]:
    """:func:`save_table` for every ``name -> table`` into every folder; the written paths.

    The ``out`` column (a run folder on this machine) is left out of the saved files.
    """
    written: list[Path] = []
    for folder in folders:
        for name, table in tables.items():
            written += save_table(table.drop(columns="out", errors="ignore"), folder, name)
    return written


def findings(summary: pd.DataFrame, comparison: pd.DataFrame | None = None,
             cross: pd.DataFrame | None = None, *, epochs: int | None = None) -> str:
    """What the training chapter found, as a Markdown list computed from its tables.

    Args:
        summary: :func:`summary_table` of the honest runs.
        comparison: :func:`oracle_comparison` (optional).
        cross: :func:`cross_dataset_table` (optional).
        epochs: the number of epochs every fold trained, named in the first sentence.

    Returns:
        One ``- ...`` line per finding: the best honest model, STAG against each baseline
        and each ablation, the UF1 the oracle selection adds, and each cross-dataset pair.
    """
    if summary is None or summary.empty:
        return "- No honest runs to report."
    lines = []
    best = summary.loc[summary["uf1_mean"].idxmax()]
    protocol = str(best["protocol"]).upper()
    lines.append(f"- Best honest {protocol} model: {best['model']} (UF1 {best['uf1_mean']:.3f}, "
                 f"UAR {best['uar_mean']:.3f}, {int(best['seeds'])} seed(s)"
                 + (f", {epochs} epochs" if epochs is not None else "") + ").")
    stag = summary[summary["model"] == "stag"]
    if len(stag):
        s = stag.iloc[0]
        for _, b in summary[summary["role"] == "baseline"].iterrows():
            lines.append(f"- STAG against {b['model']}: UF1 {s['uf1_mean']:.3f} against {b['uf1_mean']:.3f} "
                         f"({s['uf1_mean'] - b['uf1_mean']:+.3f}).")
        for _, a in summary[summary["role"] == "ablation"].iterrows():
            lines.append(f"- Ablation {a['model']}: UF1 {a['uf1_mean']:.3f} "
                         f"({a['uf1_mean'] - s['uf1_mean']:+.3f} against full STAG).")
    for _, c in (comparison if comparison is not None else pd.DataFrame()).iterrows():
        lines.append(f"- Choosing the epoch on the test subject (oracle) changes {c['model']}'s UF1 by "
                     f"{c['UF1 inflation (oracle - honest)']:+.3f} ({c['UF1 honest (last epoch)']:.3f} -> "
                     f"{c['UF1 oracle (best test epoch)']:.3f}) with no change to the model.")
    for _, c in (cross if cross is not None else pd.DataFrame()).iterrows():
        lines.append(f"- Cross-dataset {c['model']}, {c['train -> test']}: UF1 {c['uf1']:.3f}.")
    return "\n".join(lines)


__all__ = ["ORACLE_LABEL", "ORACLE_SHORT", "model_role", "runs_table", "summary_table", "format_table",
           "oracle_comparison", "per_dataset_table", "fold_table", "save_table", "cross_dataset_table",
           "oracle_reproduces_honest", "settings_table", "save_tables", "findings"]
