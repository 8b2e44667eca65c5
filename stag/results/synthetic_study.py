"""The recorded synthetic study: components, equal-input controls, apex noise, flow.

Three folders of recorded runs (:mod:`stag.train.records`: ``results.json`` plus
``predictions.csv`` per run, re-scored when read), all on the calibrated synthetic set with
one recipe (``results/synthetic_study/TRIED.md``), named under a results root by
:data:`FOLDERS`:

- ``results/synthetic_study/``: full STAG (K = 4), every ablation, the baselines, and the
  equal-input controls (``ststnet_64``, ``offapexnet_64``, STAG at K = 1 named ``stag@K1``);
- ``results/synthetic_apex/``: apex-based models fed a noisy or absent apex annotation;
- ``results/synthetic_flow/``: the same recipe with another flow preset (``stag@tvl1``...),
  plus ``bench.csv``, the recorded speed and accuracy of every preset (``stag bench flow``).

Every interval resamples the subjects, and every comparison pairs seed s with seed s
(:func:`stag.results.stats.seed_interval`, :func:`stag.results.stats.paired_difference`).
The folders are always passed in (the repository's ``results/`` is the chapters' default).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from stag.preprocess.flow import DEFAULT_FLOW, FLOW_PRESETS
from stag.train.names import RunName
from stag.train.records import load_records
from stag.results.stats import N_BOOT, interval, paired_difference, seed_interval, side, word_list
from stag.results.tables import components, pairs_table

#: The study's record folders, relative to a results root.
FOLDERS = {"study": "synthetic_study", "apex": "synthetic_apex", "flow": "synthetic_flow"}
#: K of the study's STAG runs; STAG-family runs with another K are controls (``stag@K1``).
STUDY_KEYFRAMES = 4
#: Paired comparisons of the equal-input controls: (A, B, what the difference measures).
CONTROLS: tuple[tuple[str, str, str], ...] = (
    ("stag", "stag@K1", "STAG's keyframes over one onset-apex flow (same network)"),
    ("stag", "ststnet", "STAG over STSTNet-like as published (28 px, one flow)"),
    ("stag", "ststnet_64", "STAG over STSTNet-like at STAG's 64 px"),
    ("stag", "offapexnet", "STAG over Off-ApexNet-like as published (28 px, one flow)"),
    ("stag", "offapexnet_64", "STAG over Off-ApexNet-like at STAG's 64 px"),
    ("stag@K1", "offapexnet_64", "STAG over Off-ApexNet-like with equal inputs (one 64 px flow each)"),
    ("ststnet_64", "ststnet", "what 64 px gives STSTNet-like"),
    ("offapexnet_64", "offapexnet", "what 64 px gives Off-ApexNet-like"),
)
#: Apex annotation levels in plotting order (``apex_noise`` values; ``"absent"`` last).
APEX_LEVELS: tuple[object, ...] = (0.0, 0.25, 0.5, 1.0, "absent")
#: The flow presets of the default-flow decision.
FLOW_CANDIDATES = ("dis", "dis_medium", "tvl1")
#: Speed goal of the default flow (pairs/s on one core, 128 px).
FLOW_SPEED_GOAL = 200.0


def study_variant(results: dict) -> RunName:
    """Model name in the study's tables (:meth:`~stag.train.names.RunName.from_results`): the
    registry name (``+au`` with the AU loss), then ``@K<k>`` for a STAG-family run whose K is not
    :data:`STUDY_KEYFRAMES`, ``@<flow>`` for a flow other than
    :data:`~stag.preprocess.flow.DEFAULT_FLOW`, ``@apex`` when it read the annotated apex."""
    return RunName.from_results(results, keyframes=STUDY_KEYFRAMES, default_flow=DEFAULT_FLOW)


def load(root: str | Path) -> pd.DataFrame:
    """:func:`stag.train.records.load_records` with :func:`study_variant` names."""
    return load_records(root, variant=study_variant)


# --------------------------------------------------------------------------- components
def component_table(study: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Full STAG minus every ablation at K = 4 (:func:`stag.results.tables.components`)."""
    return components(study, keyframes=STUDY_KEYFRAMES, n_boot=n_boot)


def controls_table(study: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """The equal-input controls (:data:`CONTROLS`), as :func:`stag.results.tables.pairs_table`."""
    return pairs_table(study, CONTROLS, n_boot=n_boot)


def study_sentences(summary: pd.DataFrame, components: pd.DataFrame, controls: pd.DataFrame) -> str:
    """The component study's answer as Markdown bullets, worded from the tables."""
    if summary.empty:
        return "No synthetic study runs are recorded (results/synthetic_study/)."
    honest = summary[summary["selection"] == "last"]
    uf1 = honest.set_index("model")["uf1_mean"]
    lines = []
    if "stag" in uf1:
        ranked = uf1.sort_values(ascending=False)
        ahead = [f"{m} ({v:.3f})" for m, v in ranked.items() if v > uf1["stag"]]
        place = (f"behind {', '.join(ahead)}" if ahead else "the highest")
        seeds = int(honest.set_index("model").loc["stag", "seeds"])
        lines.append(f"Full STAG scores UF1 {uf1['stag']:.3f} (mean of {seeds} seeds), {place} of the "
                     f"{len(ranked)} models recorded.")
    measured = components[components["seeds"] > 0] if len(components) else components
    for verdict, words in (("STAG better", "Removing it measurably hurts"),
                           ("STAG worse", "Removing it measurably helps"),
                           ("no measurable difference", "No measurable effect of removing it")):
        part = measured[measured["verdict"] == verdict]
        if len(part):
            lines.append(f"{words} (full STAG minus the ablation): " + "; ".join(
                f"`{r['model']}` {interval(r['stag_minus_model'], r['ci_low'], r['ci_high'])}"
                for _, r in part.iterrows()) + ".")
    for _, r in controls.iterrows():
        lines.append(f"{r['measures'][0].upper() + r['measures'][1:]}: `{r['a']}` minus `{r['b']}` {interval(r['diff_mean'], r['ci_low'], r['ci_high'])} "
                     f"({r['verdict']}).")
    return "\n".join(f"- {line}" for line in lines)


def decision_sentence(components: pd.DataFrame) -> str:
    """The component study's decision in one sentence: which of STAG's parts measurably matter
    on the calibrated synthetic set (full STAG minus each ablation, paired by seed, 95% subject
    interval), for the book's introduction."""
    measured = components[components["seeds"] > 0] if len(components) else components
    if measured.empty:
        return "The synthetic component study is not recorded in this checkout."
    groups = {w: [(ABLATION_WORDS.get(r["model"], r["model"]), interval(r["stag_minus_model"], r["ci_low"], r["ci_high"]))
                  for _, r in measured.iterrows() if side(r["ci_low"], r["ci_high"]) == w] for w in (1, 0, -1)}

    def listed(items, with_numbers):
        return word_list([f"{n} ({d})" if with_numbers else n for n, d in items], "or")

    parts = []  # UF1 of full STAG minus the ablation, 3 seeds
    if groups[1]:
        parts.append(f"removing {listed(groups[1], True)} measurably lowers STAG's UF1")
    if groups[-1]:
        parts.append(f"removing {listed(groups[-1], True)} measurably raises it")
    if groups[0]:  # named only when nothing else is, to keep the introduction short
        parts.append("removing any other part changes nothing measurable" if parts else
                     f"removing {listed(groups[0], False)} changes nothing measurable")
    return "On the synthetic set, where the ground truth is known, " + "; ".join(parts) + "."


#: Short names of what each ablation removes, for sentences.
ABLATION_WORDS: dict[str, str] = {"stag_no_graph": "the AU graph", "stag_no_temporal": "the whole-face branch",
                                  "stag_late_fusion": "the cross-attention", "stag_static_adj": "the dynamic adjacency",
                                  "stag_no_mag_prior": "the magnitude prior"}


# --------------------------------------------------------------------------- apex noise
def _level(params: dict) -> object:
    v = params.get("apex_noise", 0.0)
    return v if isinstance(v, str) else float(v)


def level_label(level: object) -> str:
    """``0.0`` -> ``"exact"``, ``0.5`` -> ``"sd 0.5"``, ``"absent"`` -> ``"absent, middle frame"``."""
    if isinstance(level, str):
        return "absent, middle frame"
    return "exact" if level == 0 else f"sd {level:g}"


def apex_table(apex: pd.DataFrame, study: pd.DataFrame, *, reference: str = "stag",
               n_boot: int = N_BOOT) -> pd.DataFrame:
    """UF1 of every apex-based model at every annotation level, and ``reference`` (STAG with
    spotted keyframes, from ``study``) minus it, paired by seed with a subject-bootstrap interval.

    The models that spot the apex from the motion (``reference`` and the baselines of the
    study) do not read the annotation; they appear once, at level ``"spotted"``.

    Columns: ``model, level, apex, seeds, uf1_mean, uf1_min, uf1_max, ci_low, ci_high,
    ref_minus_model, ref_ci_low, ref_ci_high``.
    """
    cols = ["model", "level", "apex", "seeds", "uf1_mean", "uf1_min", "uf1_max", "ci_low", "ci_high",
            "ref_minus_model", "ref_ci_low", "ref_ci_high"]
    if apex.empty or study.empty:
        return pd.DataFrame(columns=cols)
    study = study[study["selection"] == "last"]
    ref = study[study["model"] == reference].set_index("seed")
    runs = apex[apex["selection"] == "last"].assign(level=lambda t: t["data_params"].map(_level))
    runs = runs.assign(spotted_name=[str(n.with_inputs(*(i for i in n.inputs if i != "apex"))) for n in runs["name"]])
    groups = [(m, lvl, g) for (m, lvl), g in runs.groupby(["spotted_name", runs["level"].astype(str)], sort=False)]
    spotted = [(m, "spotted", study[study["model"] == m]) for m in dict.fromkeys(
        [reference] + list(runs["spotted_name"])) if m in set(study["model"])]
    rows = []
    for model, level, g in spotted + groups:
        g = g.set_index("seed")
        lo, hi = seed_interval(list(g["record"]), n_boot=n_boot)
        row = {"model": model, "level": level, "apex": "spotted from the motion" if level == "spotted"
               else level_label(g["data_params"].map(_level).iloc[0]), "seeds": len(g), "uf1_mean": g["uf1"].mean(),
               "uf1_min": g["uf1"].min(), "uf1_max": g["uf1"].max(), "ci_low": lo, "ci_high": hi,
               "ref_minus_model": np.nan, "ref_ci_low": np.nan, "ref_ci_high": np.nan}
        if not (model == reference and level == "spotted"):
            _, est, lo, hi = paired_difference(ref, g, n_boot=n_boot)
            row.update(ref_minus_model=est, ref_ci_low=lo, ref_ci_high=hi)
        rows.append(row)
    order = {str(v): i for i, v in enumerate(APEX_LEVELS)} | {"spotted": len(APEX_LEVELS)}
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["model", "level"], key=lambda s: s.map(order) if s.name == "level" else s,
                           kind="stable").reset_index(drop=True)


def apex_sentence(table: pd.DataFrame, reference: str = "stag") -> str:
    """Markdown bullets: how each apex-based model falls with the annotation noise, and where
    STAG with spotted keyframes stands against it."""
    if table.empty:
        return "No apex-noise runs are recorded (results/synthetic_apex/)."
    ref = table[(table["model"] == reference) & (table["level"] == "spotted")]
    lines = []
    if len(ref):
        r = ref.iloc[0]
        lines.append(f"STAG with keyframes spotted from the motion (K = {STUDY_KEYFRAMES}) does not read the "
                     f"annotation: UF1 {r['uf1_mean']:.3f} [{r['uf1_min']:.3f}-{r['uf1_max']:.3f}] at every level.")
    for model, g in table[table["level"] != "spotted"].groupby("model", sort=False):
        exact = g[g["level"] == "0.0"]
        worst = g.loc[g["uf1_mean"].idxmin()]
        spotted = table[(table["model"] == model) & (table["level"] == "spotted")]
        lo_n, hi_n = g["seeds"].min(), g["seeds"].max()
        n = f"{lo_n}" if lo_n == hi_n else f"{lo_n}-{hi_n}"
        text = f"`{model}` on the annotated apex ({n} seed{'s' * int(hi_n > 1)}): UF1 " + ", ".join(
            f"{r['uf1_mean']:.3f} ({r['apex']})" for _, r in g.iterrows())
        if len(exact):
            text += f"; from exact to its worst level it loses {exact['uf1_mean'].iloc[0] - worst['uf1_mean']:.3f}"
        if len(spotted):
            text += f"; with the spotted apex it scores {spotted['uf1_mean'].iloc[0]:.3f}"
        sides = []
        for _, r in g.iterrows():
            if np.isfinite(r["ref_minus_model"]):
                sides.append(f"{r['apex']}: {interval(r['ref_minus_model'], r['ref_ci_low'], r['ref_ci_high'])}")
        if sides:
            text += f". STAG minus it: {'; '.join(sides)}"
        lines.append(text + ".")
    same = table[(table["model"] == f"{reference}@K1") & (table["level"] != "spotted")]
    if len(same) and np.isfinite(same["ref_minus_model"]).all():
        where = [side(lo, hi) for lo, hi in zip(same["ref_ci_low"], same["ref_ci_high"])]
        better, tied, worse = ([a for a, w in zip(same["apex"], where) if w == x] for x in (1, 0, -1))
        text = ("When does time matter? Against the same network reading one onset->apex flow, STAG's "
                f"{STUDY_KEYFRAMES} keyframes are measurably better with the annotations {_or_none(better)}; "
                f"not measurably different with {_or_none(tied)}")
        text += f"; measurably worse with {_or_none(worse)}." if worse else "."
        lines.append(text)
    return "\n".join(f"- {line}" for line in lines)


def _or_none(levels: list[str]) -> str:
    return " / ".join(f"'{level}'" for level in levels) if levels else "none of the levels"


# --------------------------------------------------------------------------- flow
def flow_bench(root: str | Path) -> pd.DataFrame:
    """The recorded ``stag bench flow`` table (``bench.csv``): one row per method, EPE on the
    synthetic apex pairs and on the warps, pairs/s on one core (apex pairs), and the provenance
    (``bench.json``) in ``attrs``.

    Raises:
        FileNotFoundError: naming the expected file.
    """
    path = Path(root) / "bench.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no recorded flow benchmark; expected `stag bench flow --out` output")
    t = pd.read_csv(path)
    by = t.pivot_table(index="method", columns="set", values=["epe", "pairs_per_s"])
    out = pd.DataFrame({"epe_apex": by["epe"]["synthetic_apex"], "epe_warp": by["epe"]["warp"],
                        "pairs_per_s": by["pairs_per_s"]["synthetic_apex"]}).reset_index()
    meta = Path(root) / "bench.json"
    out.attrs["provenance"] = json.loads(meta.read_text()) if meta.exists() else {}
    return out


def flow_table(flow: pd.DataFrame, study: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Recognition UF1 of each model under each flow preset (the default's runs are the
    study's), and each preset minus TV-L1, paired by seed with a subject-bootstrap interval.

    Columns: ``model, flow, seeds, uf1_mean, uf1_min, uf1_max, minus_tvl1, ci_low, ci_high``.
    """
    cols = ["model", "flow", "seeds", "uf1_mean", "uf1_min", "uf1_max", "minus_tvl1", "ci_low", "ci_high"]
    if flow.empty or study.empty:
        return pd.DataFrame(columns=cols)
    runs = pd.concat([study[study["selection"] == "last"], flow[flow["selection"] == "last"]], ignore_index=True)
    runs = runs.assign(base=[n.model for n in runs["name"]],
                       flow=[next((i for i in n.inputs if i in FLOW_PRESETS), DEFAULT_FLOW) for n in runs["name"]])
    runs = runs[np.array([n.input("K") is None for n in runs["name"]]) & runs["base"].isin({n.model for n in flow["name"]})]
    rows = []
    for (model, preset), g in runs.groupby(["base", "flow"], sort=False):
        row = {"model": model, "flow": preset, "seeds": len(g), "uf1_mean": g["uf1"].mean(), "uf1_min": g["uf1"].min(),
               "uf1_max": g["uf1"].max(), "minus_tvl1": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if preset != "tvl1":
            tv = runs[(runs["base"] == model) & (runs["flow"] == "tvl1")].set_index("seed")
            _, est, lo, hi = paired_difference(g.set_index("seed"), tv, n_boot=n_boot)
            row.update(minus_tvl1=est, ci_low=lo, ci_high=hi)
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    order = {p: i for i, p in enumerate(FLOW_CANDIDATES)}
    return out.sort_values(["model", "flow"], key=lambda s: s.map(order).fillna(99) if s.name == "flow" else s,
                           kind="stable").reset_index(drop=True)


def flow_decision(bench: pd.DataFrame, flows: pd.DataFrame, model: str = "stag") -> tuple[str | None, pd.DataFrame]:
    """Apply the rule written in ``results/synthetic_study/TRIED.md`` before the runs.

    A preset qualifies when its EPE is at or under ``tvl1_default``'s on both benchmark sets
    and ``model``'s UF1 is not measurably worse than TV-L1's (the paired interval does not lie
    below zero). Among qualifying presets the default is the one reaching
    :data:`FLOW_SPEED_GOAL` pairs/s per core (several: the higher UF1); none reaching it: the
    fastest qualifying one.

    Returns:
        ``(chosen preset or None, table)``: one row per candidate with ``pairs_per_s,
        epe_apex, epe_warp, uf1_mean, minus_tvl1, ci_low, ci_high, epe_ok, uf1_ok, fast,
        qualifies``.
    """
    if "tvl1_default" not in set(bench["method"]):
        raise ValueError("flow_decision: the benchmark has no 'tvl1_default' row, the EPE reference of the rule")
    ref = bench.set_index("method").loc["tvl1_default"]
    f = flows[flows["model"] == model].set_index("flow")
    rows = []
    for preset in FLOW_CANDIDATES:
        if preset not in set(bench["method"]) or preset not in f.index:
            continue
        b = bench.set_index("method").loc[preset]
        r = f.loc[preset]
        epe_ok = bool(b["epe_apex"] <= ref["epe_apex"] and b["epe_warp"] <= ref["epe_warp"])
        uf1_ok = preset == "tvl1" or bool(np.isfinite(r["ci_high"]) and r["ci_high"] >= 0)
        rows.append({"flow": preset, "pairs_per_s": b["pairs_per_s"], "epe_apex": b["epe_apex"],
                     "epe_warp": b["epe_warp"], "uf1_mean": r["uf1_mean"], "minus_tvl1": r["minus_tvl1"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"], "epe_ok": epe_ok, "uf1_ok": uf1_ok,
                     "fast": bool(b["pairs_per_s"] >= FLOW_SPEED_GOAL), "qualifies": epe_ok and uf1_ok})
    table = pd.DataFrame(rows, columns=["flow", "pairs_per_s", "epe_apex", "epe_warp", "uf1_mean", "minus_tvl1",
                                        "ci_low", "ci_high", "epe_ok", "uf1_ok", "fast", "qualifies"])
    if table.empty or not table["qualifies"].any():
        return None, table
    q = table[table["qualifies"]]
    chosen = (q[q["fast"]].sort_values("uf1_mean", ascending=False).iloc[0] if q["fast"].any()
              else q.sort_values("pairs_per_s", ascending=False).iloc[0])
    return str(chosen["flow"]), table


def flow_sentence(chosen: str | None, decision: pd.DataFrame) -> str:
    """One sentence on the default flow, from :func:`flow_decision`."""
    if decision.empty:
        return "The flow comparison is not recorded (results/synthetic_flow/)."
    if chosen is None:
        return "No flow preset meets the rule (EPE at or under default TV-L1, UF1 not below TV-L1's)."
    r = decision.set_index("flow").loc[chosen]
    others = decision[decision["flow"] != chosen]
    tail = "; ".join(f"`{o['flow']}` {o['pairs_per_s']:.0f} pairs/s, EPE {o['epe_apex']:.3f}/{o['epe_warp']:.3f} px, "
                     f"STAG UF1 {o['uf1_mean']:.3f}" for _, o in others.iterrows())
    versus = (f", {interval(r['minus_tvl1'], r['ci_low'], r['ci_high'])} against TV-L1"
              if np.isfinite(r["minus_tvl1"]) else "")
    return (f"The rule picks `{chosen}`: {r['pairs_per_s']:.0f} pairs/s on one core, EPE {r['epe_apex']:.3f} px "
            f"(apex pairs) and {r['epe_warp']:.3f} px (warps), STAG UF1 {r['uf1_mean']:.3f}{versus}. "
            f"The others: {tail}. The package default is `{DEFAULT_FLOW}`.")


def paired_rows(components: pd.DataFrame, controls: pd.DataFrame) -> pd.DataFrame:
    """The measured rows of both tables in the layout of
    :func:`stag.viz.results.plot_paired_differences` (``a, b, selection, diff_per_seed,
    diff_mean, ci_low, ci_high``): ablations as ``stag - <ablation>``, then the controls."""
    comp = components[components["seeds"] > 0] if len(components) else components
    rows = [{"a": "stag", "b": r["model"], "selection": "ablation", "diff_per_seed": r["stag_minus_model_per_seed"],
             "diff_mean": r["stag_minus_model"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
            for _, r in comp.iterrows()]
    rows += [{"a": r["a"], "b": r["b"], "selection": "control", "diff_per_seed": r["diff_per_seed"],
              "diff_mean": r["diff_mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
             for _, r in controls.iterrows()]
    return pd.DataFrame(rows, columns=["a", "b", "selection", "diff_per_seed", "diff_mean", "ci_low", "ci_high"])
