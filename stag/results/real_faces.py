"""The real-face explanation scores: their record format, re-scoring, tables and sentences.

:mod:`stag.explain.real_faces` explains trained folds and writes one ``<run>.csv`` (a row per
clip and method, with the ROI importances) and one ``<run>.json`` (provenance) per explained
run, in the format defined here (:data:`COLUMNS`, :func:`score_rows`). The build reads them back:

- :func:`load_scores` re-scores every row from its recorded importances and codes (and fails,
  naming the run, when a recorded score disagrees) and adds the chance-corrected gains;
- :func:`gain_summary`: per model and method, the mean score over seeds beside its permutation
  chance and the gain (score minus chance) with a 95% interval that resamples *subjects*;
- :func:`paired`: model A minus model B on the same method and the same clips;
- :func:`explanation_sentences`: the answer in words, from those tables.

The primary score, fixed before any real-face score was seen, is the mean reciprocal rank of
the first coded ROI (``mrr``): it uses the whole ranking, where the pointing game reads only
its top and hit@3 its top three. Pure numpy and pandas: nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stag.data.clip import subject_group
from stag.faces import ROI_NAMES
from stag.results import roi_ranking as R
from stag.results.stats import N_BOOT, interval, side, word_list
from stag.train.metrics import subject_bootstrap_means
from stag.train.names import model_role

#: Columns of a recorded score file, in order.
COLUMNS: tuple[str, ...] = ("run", "model", "selection", "seed", "fold", "clip_id", "subject", "dataset", "label",
                            "pred", "method", "coded_rois", "importance", "top_rois", "edges",
                            "pointing", "mrr", "hit3", "chance_pointing", "chance_mrr", "chance_hit3")
SCORE_NAMES: dict[str, str] = {"pointing": "pointing", "mrr": "mrr", "hit": "hit3"}


@dataclass(frozen=True)
class RealFacesConfig:
    """How :func:`score_run` explains and scores.

    Args:
        n_steps: Integrated Gradients steps (pixel and layer IG). (default: ``32``)
        k: cut-off of the hit rate (hit@k). (default: ``3``)
        strata: clip columns whose values must match for two clips to swap AU codes in the
            permutation chance. (default: ``("dataset", "label")``: same source and class)
        top_edges: strongest learned edges kept per clip for the figures. (default: ``5``)
        batch_size: clips per attribution batch. (default: ``8``)
        internal_batch_size: IG forward chunk. (default: ``64``)
        threads: torch/BLAS threads while explaining (see :mod:`stag.threads`). (default: ``1``)
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``. (default: ``"cpu"``)
    """

    n_steps: int = 32
    k: int = 3
    strata: tuple[str, ...] = ("dataset", "label")
    top_edges: int = 5
    batch_size: int = 8
    internal_batch_size: int = 64
    threads: int | None = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.n_steps < 2:
            raise ValueError(f"RealFacesConfig.n_steps={self.n_steps}: expected >= 2")
        if self.k < 1:
            raise ValueError(f"RealFacesConfig.k={self.k}: expected >= 1")
        bad = [s for s in self.strata if s not in ("dataset", "label", "subject")]
        if bad:
            raise ValueError(f"RealFacesConfig.strata={self.strata!r}: expected columns among dataset, label, subject")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}



# --------------------------------------------------------------------------- the record format
def join_names(items) -> str:
    """ROI names as one ``|``-joined cell."""
    return "|".join(str(i) for i in items)


def split_names(text) -> list[str]:
    """Inverse of :func:`join_names`."""
    return [] if not isinstance(text, str) or not text else text.split("|")


def top_edges(adjacency: np.ndarray, n: int) -> str:
    """The ``n`` strongest edges of ``(N, N)`` weights, symmetrised and self-loops excluded, as
    ``"i-j:w;..."`` (ROI indices, weight to 4 significant digits), strongest first."""
    a = np.asarray(adjacency, dtype=np.float64)
    sym = (a + a.T) / 2
    iu = np.triu_indices(len(a), 1)
    order = np.argsort(-sym[iu], kind="stable")[:n]
    return ";".join(f"{iu[0][o]}-{iu[1][o]}:{sym[iu][o]:.4g}" for o in order)


def parse_edges(text) -> list[tuple[int, int, float]]:
    """Inverse of :func:`top_edges`."""
    if not isinstance(text, str) or not text:
        return []
    out = []
    for item in text.split(";"):
        pair, w = item.split(":")
        i, j = pair.split("-")
        out.append((int(i), int(j), float(w)))
    return out


def format_importance(values: np.ndarray) -> str:
    """ROI importances as text, 6 significant digits: the recorded ranking, which every score is
    computed from (ties after rounding count as ties)."""
    return " ".join(f"{float(v):.6g}" for v in values)


def parse_importance(text: str) -> np.ndarray:
    return np.array([float(v) for v in str(text).split()], dtype=np.float64)


# --------------------------------------------------------------------------- scoring a table
def score_rows(rows: pd.DataFrame, config: RealFacesConfig | None = None) -> pd.DataFrame:
    """Add ``pointing, mrr, hit3`` and their permutation chance levels to per-clip rows.

    ``rows`` holds one run's clips and methods with ``importance`` (text or arrays),
    ``coded_rois`` (ROI names joined by ``|``) and the :attr:`RealFacesConfig.strata` columns;
    the chance of each method is taken over that run's clips of the same stratum.
    """
    cfg = config or RealFacesConfig()
    out = rows.copy()
    index = {name: i for i, name in enumerate(ROI_NAMES)}
    for col in (*SCORE_NAMES.values(), *(f"chance_{s}" for s in SCORE_NAMES.values())):
        out[col] = np.nan
    group_cols = [c for c in ("run", "method") if c in out.columns]
    groups = out.groupby(group_cols, sort=False).groups.values() if group_cols else [out.index]
    for idx in groups:
        g = out.loc[idx]
        imp = np.stack([parse_importance(v) if isinstance(v, str) else np.asarray(v, dtype=np.float64)
                        for v in g["importance"]])
        coded = np.zeros(imp.shape, dtype=bool)
        for r, names in enumerate(g["coded_rois"]):
            coded[r, [index[n] for n in split_names(names)]] = True
        if not coded.any(axis=1).all():
            raise ValueError("score_rows: a clip has no coded ROI; such clips are excluded before scoring")
        strata = g[list(cfg.strata)].astype(str).agg("/".join, axis=1).to_numpy()
        chance = R.chance_scores(imp, coded, strata, cfg.k)
        for r, row_idx in enumerate(g.index):
            s = R.ranking_scores(imp[r], coded[r], cfg.k)
            for key, name in SCORE_NAMES.items():
                out.at[row_idx, name] = float(s[key][0])
                out.at[row_idx, f"chance_{name}"] = float(chance[key][r])
    return out



METRICS: tuple[str, ...] = tuple(SCORE_NAMES.values())  # pointing, mrr, hit3
PRIMARY = "mrr"
METHOD_LABELS: dict[str, str] = {"roi_occlusion": "ROI occlusion", "layer_ig": "layer IG on ROI nodes",
                                 "adjacency": "learned adjacency in-strength", "pixel_ig": "pixel IG in ROIs"}
METRIC_LABELS: dict[str, str] = {"pointing": "pointing game", "mrr": "MRR", "hit3": "hit@3"}
MODEL_ORDER: tuple[str, ...] = ("stag", "stag_no_graph", "offapexnet", "ststnet")


class ScoreError(ValueError):
    """A recorded score file is inconsistent with its own importances."""


def _config(meta: dict) -> RealFacesConfig:
    e = meta.get("explain") or {}
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in e.items()
          if k in RealFacesConfig.__dataclass_fields__}
    return RealFacesConfig(**kw)


def read_run(csv: str | Path) -> tuple[pd.DataFrame, dict]:
    """One recorded run: its rows (columns :data:`~stag.explain.real_faces.COLUMNS`) and its
    provenance json (empty when absent)."""
    csv = Path(csv)
    rows = pd.read_csv(csv, dtype={"clip_id": str, "subject": str, "dataset": str, "fold": str, "run": str},
                       keep_default_na=False, na_values={c: [""] for c in METRICS})
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise ScoreError(f"recorded scores {csv.name}: columns {missing} are missing")
    meta_path = csv.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return rows, meta


def _join_top(importance: str, k: int) -> str:
    order = np.argsort(-parse_importance(importance), kind="stable")[:k]
    return "|".join(np.asarray(ROI_NAMES)[order])


def rescore_scores(rows: pd.DataFrame, meta: dict, name: str = "") -> pd.DataFrame:
    """``rows`` scored again from their importances; raises :class:`ScoreError` naming the run
    when a recorded top-ROI list, score or chance level differs from the recomputed one."""
    fresh = score_rows(rows.drop(columns=[c for c in rows if c in METRICS or c.startswith("chance_")]), _config(meta))
    k = _config(meta).k
    top = [_join_top(v, k) for v in rows["importance"]]
    bad = [i for i, (t, r) in enumerate(zip(top, rows["top_rois"])) if t != r]
    if bad:
        r = rows.iloc[bad[0]]
        raise ScoreError(f"recorded scores {name or r['run']}: top_rois of {r['clip_id']} ({r['method']}) is "
                         f"{r['top_rois']!r} in the file but {top[bad[0]]!r} from its importances")
    for col in (*METRICS, *(f"chance_{m}" for m in METRICS)):
        bad = ~np.isclose(fresh[col].to_numpy(float), rows[col].to_numpy(float), rtol=0, atol=1e-9)
        if bad.any():
            r = rows[bad].iloc[0]
            raise ScoreError(f"recorded scores {name or r['run']}: {col} of {r['clip_id']} ({r['method']}) is "
                             f"{r[col]!r} in the file but {fresh.loc[bad, col].iloc[0]!r} from its importances")
    return fresh


def load_scores(root: str | Path, selection: str | None = "inner_val") -> pd.DataFrame:
    """Every recorded run under ``root`` (``*.csv``), re-scored, with the chance-corrected gains
    ``gain_<metric> = <metric> - chance_<metric>`` and the model's ``role``.

    ``selection``: keep runs of this checkpoint selection only (``None``: all). An absent or
    empty ``root`` gives an empty table with the columns.
    """
    root = Path(root)
    parts = []
    for csv in sorted(root.glob("*.csv")) if root.is_dir() else []:
        rows, meta = read_run(csv)
        parts.append(rescore_scores(rows, meta, csv.stem))
    cols = [*COLUMNS, "role", *(f"gain_{m}" for m in METRICS)]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    if selection is not None:
        out = out[out["selection"] == selection].reset_index(drop=True)
    out["role"] = out["model"].map(model_role)
    for m in METRICS:
        out[f"gain_{m}"] = out[m] - out[f"chance_{m}"]
    return out[cols]


def provenance(root: str | Path) -> pd.DataFrame:
    """Where each recorded score file comes from: run, commit, data checksums, command,
    machine, wall and CPU time, IG steps, clips scored and left out."""
    rows = []
    for path in sorted(Path(root).glob("*.json")) if Path(root).is_dir() else []:
        m = json.loads(path.read_text())
        if "run" not in m:
            continue
        mach = m.get("machine") or {}
        clips = m.get("clips") or {}
        rows.append({"run": m["run"], "commit": f"{str(m.get('commit'))[:12]}{'+dirty' if m.get('dirty') else ''}",
                     "data checksum": str(m.get("data_checksum", "")).removeprefix("sha256:")[:16],
                     "codings checksum": str(m.get("data_checksum_with_codings", "")).removeprefix("sha256:")[:16],
                     "command": m.get("command"),
                     "machine": f"{mach.get('cpu')}, {mach.get('logical_cores')} cores, {mach.get('device')}",
                     "IG steps": (m.get("explain") or {}).get("n_steps"),
                     "wall time (s)": round(float(m.get("wall_time_s") or np.nan)),
                     "CPU time (s)": round(float(m.get("cpu_time_s") or np.nan)),
                     "clips scored": clips.get("scored"), "subjects": clips.get("subjects_scored"),
                     **{f"left out: {k}": v for k, v in (clips.get("excluded") or {}).items()}})
    return pd.DataFrame(rows)


def exclusions(root: str | Path) -> dict:
    """Clip counts behind the scores (from the provenance files; every run explains the same
    data): ``{"run_clips", "scored", "subjects", "excluded": {reason: n}, "no_roi_aus": [...]}``.

    Raises:
        ScoreError: two runs report different counts.
    """
    seen = {}
    for path in sorted(Path(root).glob("*.json")) if Path(root).is_dir() else []:
        c = json.loads(path.read_text()).get("clips")
        if c is None:
            continue
        c = {"run_clips": c.get("run"), "scored": c.get("scored"), "subjects": c.get("subjects_scored"),
             "excluded": c.get("excluded") or {}, "no_roi_aus": c.get("no_roi_aus") or []}
        if seen and c != seen:
            raise ScoreError(f"recorded scores {path.stem}: clip counts {c} differ from another run's {seen}")
        seen = c
    return seen


# --------------------------------------------------------------------------- bootstrap
def _quantiles(boot: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _per_clip(scores: pd.DataFrame, seeds=None) -> pd.DataFrame:
    """Seed-mean of every score column per clip (the unit the bootstrap resamples by subject)."""
    s = scores if seeds is None else scores[scores["seed"].isin(seeds)]
    cols = [*METRICS, *(f"chance_{m}" for m in METRICS), *(f"gain_{m}" for m in METRICS)]
    out = s.groupby(["clip_id", "dataset", "subject"], sort=True)[cols].mean().reset_index()
    out["group"] = subject_group(out["dataset"], out["subject"])
    return out


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    mo = {m: i for i, m in enumerate(MODEL_ORDER)}
    me = {m: i for i, m in enumerate(METHOD_LABELS)}
    key = {"model": lambda s: s.map(lambda v: mo.get(v, len(mo))),
           "method": lambda s: s.map(lambda v: me.get(v, len(me))),
           "b": lambda s: s.map(lambda v: mo.get(v, len(mo))),
           "metric": lambda s: s.map({m: i for i, m in enumerate(METRICS)})}
    by = [c for c in ("model", "b", "method", "metric") if c in df.columns]
    return df.sort_values(by, key=lambda s: key[s.name](s), kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- tables
SUMMARY_COLUMNS = ["model", "role", "method", "metric", "seeds", "clips", "subjects", "score", "chance", "gain",
                   "ci_low", "ci_high"]


def gain_summary(scores: pd.DataFrame, *, n_boot: int = N_BOOT, random_state: int = 0) -> pd.DataFrame:
    """Per model, method and score: mean over seeds and clips, its permutation chance, and the
    gain (score minus chance) with a 95% subject-bootstrap interval.

    Columns :data:`SUMMARY_COLUMNS` (``seeds`` lists them, e.g. ``"0,1,2"``). Each clip's
    scores are first averaged over the model's seeds; the bootstrap resamples subjects.
    """
    if scores.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    for (model, method), g in scores.groupby(["model", "method"], sort=False):
        clips = _per_clip(g)
        boot = subject_bootstrap_means(clips[[f"gain_{m}" for m in METRICS]].to_numpy().T, clips["group"],
                                       n_boot=n_boot, random_state=random_state)
        for j, m in enumerate(METRICS):
            lo, hi = _quantiles(boot[j])
            rows.append({"model": model, "role": model_role(model), "method": method, "metric": m,
                         "seeds": ",".join(str(s) for s in sorted(g["seed"].unique())), "clips": len(clips),
                         "subjects": clips["group"].nunique(), "score": clips[m].mean(),
                         "chance": clips[f"chance_{m}"].mean(), "gain": clips[f"gain_{m}"].mean(),
                         "ci_low": lo, "ci_high": hi})
    return _ordered(pd.DataFrame(rows, columns=SUMMARY_COLUMNS))


PAIRED_COLUMNS = ["a", "b", "method", "metric", "seeds", "clips", "subjects", "gain_a", "gain_b", "diff", "ci_low",
                  "ci_high"]


def paired(scores: pd.DataFrame, a: str = "stag", others=None, *, n_boot: int = N_BOOT,
           random_state: int = 0) -> pd.DataFrame:
    """Gain of model ``a`` minus that of each other model on the same method, the same clips
    and the seeds both have, with a 95% subject-bootstrap interval of the difference.

    Only methods both models have are compared (ROI occlusion and pixel IG for every model;
    the graph's layer IG and adjacency exist for STAG alone and are read against chance in
    :func:`gain_summary`). ``others``: default every other model, ordered as :data:`MODEL_ORDER`.
    """
    if scores.empty or a not in set(scores["model"]):
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    models = [m for m in MODEL_ORDER if m in set(scores["model"])] + sorted(set(scores["model"]) - set(MODEL_ORDER))
    others = [m for m in (others or models) if m != a]
    sa = scores[scores["model"] == a]
    rows = []
    for b in others:
        sb = scores[scores["model"] == b]
        for method in [m for m in METHOD_LABELS if m in set(sa["method"]) & set(sb["method"])]:
            xa, xb = sa[sa["method"] == method], sb[sb["method"] == method]
            seeds = sorted(set(xa["seed"]) & set(xb["seed"]))
            if not seeds:
                continue
            ca, cb = _per_clip(xa, seeds), _per_clip(xb, seeds)
            both = ca.merge(cb, on=["clip_id", "dataset", "subject", "group"], suffixes=("_a", "_b"))
            diffs = np.stack([both[f"gain_{m}_a"] - both[f"gain_{m}_b"] for m in METRICS])
            boot = subject_bootstrap_means(diffs, both["group"], n_boot=n_boot, random_state=random_state)
            for j, m in enumerate(METRICS):
                lo, hi = _quantiles(boot[j])
                rows.append({"a": a, "b": b, "method": method, "metric": m, "seeds": ",".join(map(str, seeds)),
                             "clips": len(both), "subjects": both["group"].nunique(),
                             "gain_a": both[f"gain_{m}_a"].mean(), "gain_b": both[f"gain_{m}_b"].mean(),
                             "diff": diffs[j].mean(), "ci_low": lo, "ci_high": hi})
    return _ordered(pd.DataFrame(rows, columns=PAIRED_COLUMNS))


def gain_table(summ: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """The opening table: one row per model and method; per score in ``metrics``,
    ``score (chance)`` and the gain with its 95% subject-bootstrap interval."""
    if summ.empty:
        return pd.DataFrame(columns=["model", "method", "seeds", "clips", "subjects"])
    summ = summ[summ["metric"].isin(list(metrics))]
    rows = []
    for (model, method), g in summ.groupby(["model", "method"], sort=False):
        r = {"model": model, "method": METHOD_LABELS.get(method, method), "seeds": g["seeds"].iloc[0],
             "clips": int(g["clips"].iloc[0]), "subjects": int(g["subjects"].iloc[0])}
        for _, x in g.iterrows():
            name = METRIC_LABELS[x["metric"]]
            r[f"{name}: score (chance)"] = f"{x['score']:.3f} ({x['chance']:.3f})"
            r[f"{name}: gain [95% CI]"] = f"{interval(x['gain'], x['ci_low'], x['ci_high'])}"
        rows.append(r)
    return pd.DataFrame(rows)


def paired_table(pair: pd.DataFrame, metric: str = PRIMARY) -> pd.DataFrame:
    """The paired comparison of one score as text: ``a - b`` per method with its interval."""
    p = pair[pair["metric"] == metric]
    return pd.DataFrame({"comparison": p["a"] + " minus " + p["b"], "method": p["method"].map(METHOD_LABELS),
                         "seeds": p["seeds"], "clips": p["clips"],
                         f"{METRIC_LABELS[metric]} gain, a": p["gain_a"].map("{:.3f}".format),
                         f"{METRIC_LABELS[metric]} gain, b": p["gain_b"].map("{:.3f}".format),
                         "difference [95% CI]": [f"{interval(d, lo, hi)}"
                                                 for d, lo, hi in zip(p["diff"], p["ci_low"], p["ci_high"])]})


# --------------------------------------------------------------------------- words
def explanation_sentences(summ: pd.DataFrame, pair: pd.DataFrame, counts: dict | None = None, *, metric: str = PRIMARY) -> str:
    """The answer in sentences, from :func:`gain_summary`, :func:`paired` and :func:`exclusions`.

    Says how many clips, subjects and seeds were scored and left out, for which of STAG's
    methods the primary score beats its permutation chance (interval above zero), and whether
    STAG's explanations agree better with the coded AUs than the no-graph ablation's and the
    baselines' on the same method. Reports the outcome whichever way it falls.
    """
    if summ.empty:
        return "No real-face explanation scores are recorded yet."
    name = METRIC_LABELS[metric]
    s = summ[summ["metric"] == metric]
    out = []
    c = counts or {}
    seeds = {m: g["seeds"].iloc[0] for m, g in s.groupby("model")}
    scope = (f"Scored: {int(s['clips'].max())} CASME II and SAMM clips of {int(s['subjects'].max())} subjects, "
             "each explained by the fold that held it out; seeds per model: "
             + ", ".join(f"{m} {seeds[m]}" for m in MODEL_ORDER if m in seeds) + ".")
    ex = c.get("excluded") or {}
    if ex:
        scope += (f" Left out: {ex.get('no coding', 0)} clips without AU codes (SMIC)"
                  + (f", {ex['unreadable']} with an unreadable AU string" if ex.get("unreadable") else "")
                  + (f", and {ex['no ROI']} whose coded AUs have no region in the ROI table "
                     f"({', '.join(c.get('no_roi_aus') or [])})" if ex.get("no ROI") else "") + ".")
    out.append(scope)
    st = s[s["model"] == "stag"]
    if len(st):
        groups = {1: [], 0: [], -1: []}
        for _, r in st.iterrows():
            groups[side(r["ci_low"], r["ci_high"])].append(
                f"{METHOD_LABELS[r['method']]} ({interval(r['gain'], r['ci_low'], r['ci_high'])})")
        parts = []
        if groups[1]:
            parts.append(f"above chance for {word_list(groups[1])}")
        if groups[0]:
            parts.append(f"not distinguishable from chance for {word_list(groups[0])}")
        if groups[-1]:
            parts.append(f"below chance for {word_list(groups[-1])}")
        out.append(f"STAG's ROI rankings agree with the coded AUs ({name} minus its permutation chance within "
                   "dataset and class, 95% subject-bootstrap interval) " + "; ".join(parts) + ".")
    best = s.loc[s["gain"].idxmax()]
    out.append(f"The largest {name} gain over chance of any model and method is {best['model']}'s "
               f"{METHOD_LABELS.get(best['method'], best['method'])} "
               f"({interval(best['gain'], best['ci_low'], best['ci_high'])}).")
    p = pair[pair["metric"] == metric]
    for b, g in p.groupby("b", sort=False):
        verdicts = []
        for _, r in g.iterrows():
            where = side(r["ci_low"], r["ci_high"])
            word = {1: "STAG agrees better", 0: "no difference is resolved", -1: f"{b} agrees better"}[where]
            verdicts.append(f"{METHOD_LABELS[r['method']]}: {word} ({interval(r['diff'], r['ci_low'], r['ci_high'])})")
        what = "Does the graph help? Against stag_no_graph" if b == "stag_no_graph" else f"Against {b}"
        out.append(f"{what}, same method, same clips, seeds {g['seeds'].iloc[0]}: " + "; ".join(verdicts) + ".")
    return "\n".join(out)


def example_clips(scores: pd.DataFrame, model: str = "stag", per_class: int = 1) -> pd.DataFrame:
    """Clips for the figures, chosen by a rule that does not look at the scores: for each class,
    the first ``per_class`` clips (by clip id) of ``model``'s lowest recorded seed.

    Returns that seed's rows of those clips (every method), ordered by class then clip."""
    m = scores[scores["model"] == model]
    if m.empty:
        return m
    m = m[m["seed"] == m["seed"].min()]
    chosen = (m.drop_duplicates("clip_id").sort_values(["label", "clip_id"]).groupby("label").head(per_class))
    return m[m["clip_id"].isin(chosen["clip_id"])].sort_values(["label", "clip_id"]).reset_index(drop=True)


def explanation_intro_sentence(summ: pd.DataFrame, pair: pd.DataFrame, *, metric: str = PRIMARY) -> str:
    """The real-face answer in one sentence, for the book's introduction (from :func:`gain_summary`
    and :func:`paired`; the outcome is worded whichever way it falls)."""
    s = summ[(summ["metric"] == metric) & (summ["model"] == "stag")]
    if s.empty:
        return "No real-face explanation scores of STAG are recorded yet."
    name = METRIC_LABELS[metric]
    above = [f"{METHOD_LABELS[r['method']]} ({interval(r['gain'], r['ci_low'], r['ci_high'])})"
             for _, r in s.iterrows() if side(r["ci_low"], r["ci_high"]) > 0]
    head = (f"On {int(s['clips'].iloc[0])} coded CASME II and SAMM clips ({int(s['subjects'].iloc[0])} subjects, "
            f"seeds {s['seeds'].iloc[0]}), STAG's explanations rank the coded AUs' regions above chance "
            f"(AU codes permuted within dataset and class; {name} gain, 95% subject interval) "
            + (f"only with {word_list(above)}" if above and len(above) < len(s) else
               "with every method" if above else "with none of its methods"))
    p = pair[pair["metric"] == metric]
    parts = []
    for b, g in p.groupby("b", sort=False):
        sides = [side(lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"])]
        methods = [METHOD_LABELS[m] for m in g["method"]]
        if not any(sides):
            parts.append(f"no difference from {b} is resolved")
        else:
            won = [m for m, x in zip(methods, sides) if x > 0]
            lost = [m for m, x in zip(methods, sides) if x < 0]
            parts.append("; ".join(([f"STAG beats {b} with {word_list(won)}"] if won else [])
                                   + ([f"{b} beats STAG with {word_list(lost)}"] if lost else [])))
    tail = ("; on the methods every model has (ROI occlusion, pixel IG), " + word_list(parts)) if parts else ""
    return head + tail + "."
