"""Accuracy against cost: the efficiency chapter's tables and sentences.

Chapter 6's scores joined with the model benchmark (:func:`stag.bench.model.efficiency_table`
measures; :func:`cost_table` reads it), and the sentences that state what the joined tables
show. Only reshapes numbers measured elsewhere (:mod:`stag.results.protocol_runs` run tables,
the benchmark); the published literature figures live in :mod:`stag.bench.published` and never
enter these tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def training_time_table(runs: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean LOSO training time per model, from a :func:`~stag.results.protocol_runs.runs_table` frame.

    Args:
        runs: one row per run (``model, n_folds, epochs, fold_time_s, fold_cpu_s, wall_time_s``).
        models: models to keep (default: all).

    Returns:
        Indexed by model: ``n_folds, epochs, fold_time_s`` (summed training time of the
        folds), ``fold_cpu_s`` (their CPU time), ``wall_time_s`` (the run's elapsed time) and
        ``cpu_s_per_fold_epoch``, means over runs.
    """
    keep = runs if models is None else runs[runs["model"].isin(list(models))]
    table = keep.groupby("model")[["n_folds", "epochs", "fold_time_s", "fold_cpu_s", "wall_time_s"]].mean()
    table["cpu_s_per_fold_epoch"] = table["fold_cpu_s"] / (table["n_folds"] * table["epochs"])
    return table


def accuracy_vs_cost(summary: pd.DataFrame, bench: pd.DataFrame, timing: pd.DataFrame | None = None, *,
                     batch: int = 1) -> pd.DataFrame:
    """One row per scored model: honest scores next to its measured cost.

    Args:
        summary: :func:`~stag.results.tables.summary` (oracle rows are dropped).
        bench: :func:`~stag.bench.model.efficiency_table` with one size and one K.
        timing: :func:`training_time_table` (adds ``fold_time_s``), or ``None``.
        batch: the latency batch size to report.

    Returns:
        ``model, uf1, uar, params, gflops_per_clip, ms_per_clip`` (+ ``fold_time_s``, and
        ``s_per_epoch`` when the benchmark timed training); models without scores (or
        without a benchmark row) are left out.
    """
    if bench[["size", "K"]].drop_duplicates().shape[0] > 1:
        raise ValueError("bench must hold one input size and one K; filter it first")
    if batch not in set(bench["batch"]):
        raise ValueError(f"batch={batch} was not measured; batches: {sorted(set(bench['batch']))}")
    honest = summary[~summary["selection"].astype(str).str.startswith("oracle")]
    scores = honest.groupby("model", sort=False)[["uf1_mean", "uar_mean"]].first()
    cols = ["params", "gflops_per_clip", "ms_per_clip"] + (["s_per_epoch"] if "s_per_epoch" in bench else [])
    cost = bench[bench["batch"] == batch].set_index("model")[cols]
    points = scores.rename(columns={"uf1_mean": "uf1", "uar_mean": "uar"}).join(cost, how="inner")
    if timing is not None:
        points = points.join(timing[["fold_time_s"]])
    return points.reset_index()


def tradeoff_sentences(points: pd.DataFrame, cost: pd.DataFrame, *, model: str = "stag", reference: str = "htnet") -> list[str]:
    """Sentences on what the tables show, for the chapter's conclusion.

    Args:
        points: :func:`accuracy_vs_cost` output.
        cost: :func:`~stag.bench.model.cost_table` output indexed by model (one size and K).
        model: the model the comparison centres on.
        reference: the costly reference measured in the same run.
    """
    lines = []
    for _, r in points.sort_values("uf1", ascending=False).iterrows():
        line = (f"{r['model']}: UF1 {r['uf1']:.3f}, {_count(r['params'])} parameters, "
                f"{r['ms_per_clip']:.1f} ms per clip at batch 1")
        if "fold_time_s" in r and pd.notna(r["fold_time_s"]):
            line += f", {r['fold_time_s']:.0f} s of LOSO training in chapter 6"
        lines.append(line + ".")
    if reference in cost.index:
        ref = cost.loc[reference]
        training = (f", {ref['s/epoch']:.1f} s per training epoch of one LOSO fold, so {ref['protocol (h)']:.0f} "
                    f"CPU-hours for its {ref['epochs']:.0f}-epoch protocol" if "s/epoch" in cost else "")
        lines.append(f"{reference} (published configuration, measured in the same run): {ref['params (M)']:.1f} M "
                     f"parameters, {ref['GFLOP/clip']:.2f} GFLOP per clip, {ref['ms/clip @1']:.1f} ms per clip at "
                     f"batch 1{training}.")
        if model in cost.index and model != reference:
            m = cost.loc[model]
            said = [f"{model} has {m['ref x params']:.0f}x fewer parameters than {reference}",
                    f"{m['ref x GFLOP']:.0f}x fewer FLOPs and is {m['ref x latency']:.0f}x faster at batch 1"]
            if "ref x protocol" in cost:  # the cost of the whole LOSO protocol, when training was timed
                said.append(f"its whole protocol ({m['epochs']:.0f} epochs) costs {m['protocol (h)']:.2f} CPU-hours, "
                            f"{m['ref x protocol']:.0f}x less")
            lines.append(", ".join(said[:2]) + "".join(f"; {x}" for x in said[2:]) + ".")
    if model in set(points["model"]):
        s = points.set_index("model").loc[model]
        better = points[(points["ms_per_clip"] < s["ms_per_clip"]) & (points["uf1"] >= s["uf1"])]
        lines.append(f"Models both faster and at least as accurate as {model} here: "
                     f"{', '.join(better['model']) if len(better) else 'none'}.")
    return [f"- {line}" for line in lines]


def _count(n: float) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{int(n):,}"


def cost_table(table, reference: str | None = "htnet", *, batches: tuple[int, ...] = (1, 32)):
    """A compact, rounded cost table for reading: one row per model (and size, K when several).

    Args:
        table: :func:`efficiency_table` output (with or without training columns).
        reference: model whose costs the ratio columns divide (``None`` or absent: no ratios).
        batches: the latency batch sizes to show (those present in ``table``).

    Returns:
        :class:`pandas.DataFrame` indexed by model with ``params (M)``, ``GFLOP/clip``,
        ``ms/clip @b`` for each batch ``b``, and with training columns ``s/epoch``,
        ``epochs``, ``protocol (h)``; with a reference, how many times a model's cost the
        reference's is: ``ref x params``, ``ref x GFLOP``, ``ref x latency`` (batch
        ``batches[0]``) and ``ref x protocol`` (so the reference's own row reads 1).
    """
    keys = [c for c in ("size", "K") if table[c].nunique() > 1]
    index = ["model", *keys]
    first = table.drop_duplicates(index).set_index(index)
    out = pd.DataFrame(index=first.index)
    out["params (M)"] = first["params"] / 1e6
    out["GFLOP/clip"] = first["gflops_per_clip"]
    for b in batches:
        rows = table[table["batch"] == b].set_index(index)
        if len(rows):
            out[f"ms/clip @{b}"] = rows["ms_per_clip"]
    if "s_per_epoch" in table:
        out["s/epoch"] = first["s_per_epoch"]
        out["epochs"] = first["epochs"]
        out["protocol (h)"] = first["protocol_h"]
    if reference in set(table["model"]):
        flat = out.reset_index()
        ref = flat[flat["model"] == reference].drop(columns="model")
        denominators = flat[keys].merge(ref, on=keys, how="left") if keys else ref.iloc[[0] * len(flat)]
        ratios = {"ref x params": "params (M)", "ref x GFLOP": "GFLOP/clip",
                  "ref x latency": f"ms/clip @{batches[0]}", "ref x protocol": "protocol (h)"}
        for new, col in ratios.items():
            if col in flat:
                flat[new] = denominators[col].to_numpy() / flat[col].to_numpy()
        out = flat.set_index(index)
    return out.round({"params (M)": 3, "GFLOP/clip": 4, **{f"ms/clip @{b}": 2 for b in batches}, "s/epoch": 2,
                      "protocol (h)": 2, "ref x params": 1, "ref x GFLOP": 1, "ref x latency": 1,
                      "ref x protocol": 1})
