"""Explanations on real faces: ROI-ranking scores against coded AUs (stag/results/roi_ranking.py),
per-clip scoring and recording (stag/explain/real_faces.py), the chapter's tables
(stag/results/real_faces.py), and one recorded fold retrained and re-explained."""

from __future__ import annotations

import itertools
import json
import os
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stag.explain import real_faces as RF
from stag.results import real_faces as RR
from stag.results import roi_ranking as R
from stag.faces import ROI_NAMES, coded_rois

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "results" / "megc2019_explain"  # superseded: the first copy's misread runs
REGISTERED = ROOT / "results" / "registered" / "megc2019_explain"  # the runs on audited inputs


# --------------------------------------------------------------------------- ranking scores
def test_scores_of_a_strict_ranking():
    imp = np.arange(6, 0, -1, dtype=float)  # ROI 0 first, ROI 5 last
    coded = np.zeros(6, bool)
    coded[[2, 4]] = True
    s = R.ranking_scores(imp, coded, k=3)
    assert s["pointing"][0] == 0 and s["mrr"][0] == pytest.approx(1 / 3) and s["hit"][0] == 1
    s = R.ranking_scores(imp, coded, k=2)
    assert s["hit"][0] == 0
    top = np.zeros(6, bool)
    top[0] = True
    assert R.ranking_scores(imp, top)["pointing"][0] == 1 and R.ranking_scores(imp, top)["mrr"][0] == 1
    assert R.ranking_scores(imp, np.zeros(6, bool))["mrr"][0] == 0  # nothing coded


def test_ties_are_expected_values_over_tie_breaks():
    n, c, k = 16, 2, 3
    coded = np.zeros(n, bool)
    coded[[3, 9]] = True
    s = R.ranking_scores(np.zeros(n), coded, k=k)
    assert s["pointing"][0] == pytest.approx(c / n)
    assert s["hit"][0] == pytest.approx(1 - comb(n - c, k) / comb(n, k))
    # MRR of a constant ranker: E[1 / (first of 2 random positions out of 16)], by enumeration.
    brute = np.mean([1 / min(a, b) for a, b in itertools.permutations(range(1, n + 1), 2)])
    assert s["mrr"][0] == pytest.approx(brute)
    # A tie at the top between a coded and an uncoded ROI: pointing 1/2, MRR (1 + 1/2) / 2.
    imp = np.array([2.0, 2.0, 1.0, 0.0])
    s = R.ranking_scores(imp, np.array([True, False, False, False]), k=1)
    assert s["pointing"][0] == pytest.approx(0.5) and s["mrr"][0] == pytest.approx(0.75)
    assert s["hit"][0] == pytest.approx(0.5)


def test_permutation_chance_matches_the_analytic_value():
    """Two clips per stratum: the chance of clip i is the mean of its score against both codes;
    the Monte Carlo over permutations converges to it."""
    imp = np.array([[3.0, 2, 1, 0], [0, 1, 2, 3], [3, 2, 1, 0], [1, 1, 1, 1]])
    coded = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1]], bool)
    strata = ["a", "a", "b", "b"]
    exact = R.chance_scores(imp, coded, strata, k=1)
    # clip 0 ranks ROI 0 first: pointing 1 against its own code, 0 against clip 1's code.
    assert exact["pointing"][0] == pytest.approx(0.5) and exact["pointing"][1] == pytest.approx(0.5)
    # clip 0's MRR: 1 (own code, ROI 0 first) and 1/4 (ROI 3 last) -> 5/8.
    assert exact["mrr"][0] == pytest.approx(5 / 8)
    # clip 3 (constant ranker) against {1} and {2,3}: pointing 1/4 and 2/4.
    assert exact["pointing"][3] == pytest.approx(3 / 8)
    mc = R.chance_scores(imp, coded, strata, k=1, n_perm=4000, random_state=0)
    for key in R.SCORES:
        np.testing.assert_allclose(mc[key], exact[key], atol=0.03)


def test_chance_corrected_scores_of_a_perfect_and_a_constant_ranker():
    rng = np.random.default_rng(0)
    n, N = 120, 16
    coded = rng.random((n, N)) < 0.15
    coded[np.arange(n), rng.integers(0, N, n)] = True
    strata = rng.integers(0, 3, n)
    perfect = coded + 0.01 * rng.random((n, N))  # coded ROIs always on top
    const = np.tile(np.linspace(1, 0, N), (n, 1))  # the same ranking for every clip
    for imp, sign in ((perfect, 1), (const, 0)):
        gain = {}
        chance = R.chance_scores(imp, coded, strata, k=3)
        for key in R.SCORES:
            own = np.array([R.ranking_scores(imp[i], coded[i], 3)[key][0] for i in range(n)])
            gain[key] = (own - chance[key]).mean()
        if sign:
            assert min(gain.values()) > 0.2
        else:  # a clip-blind ranking gains nothing over same-stratum permutations, exactly
            assert max(abs(v) for v in gain.values()) < 1e-12


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="over the same 4 ROIs"):
        R.ranking_scores(np.zeros(4), np.zeros(5, bool))
    with pytest.raises(ValueError, match="NaN"):
        R.ranking_scores(np.array([np.nan, 1.0]), np.array([True, False]))


# --------------------------------------------------------------------------- rows, codes, tables
def test_coded_rois_follow_the_au_table():
    mask = coded_rois((12,))
    assert {ROI_NAMES[i] for i in np.flatnonzero(mask)} == {"mouth_corner_R", "mouth_corner_L"}
    assert not coded_rois((43,)).any()  # eyes closed: no region in the table


def test_edges_and_importances_round_trip():
    a = np.zeros((4, 4))
    a[0, 1], a[1, 0], a[2, 3] = 1.0, 0.5, 0.2
    text = RR.top_edges(a, 2)
    assert RR.parse_edges(text) == [(0, 1, 0.75), (2, 3, 0.1)]
    v = np.array([0.1, 1e-7, 3.25])
    np.testing.assert_allclose(RR.parse_importance(RR.format_importance(v)), v)


def _fake_run(name: str, model: str, seed: int, rng, n_clips: int = 24, signal: float = 0.0) -> pd.DataFrame:
    """Rows like a recorded run's: ``signal`` lifts the coded ROIs' importance."""
    rows = []
    for c in range(n_clips):
        coded = np.zeros(len(ROI_NAMES), bool)
        coded[rng.choice(len(ROI_NAMES), 2, replace=False)] = True
        for method in ("roi_occlusion", "pixel_ig"):
            text = RR.format_importance(rng.random(len(ROI_NAMES)) + signal * coded)
            top = np.argsort(-RR.parse_importance(text), kind="stable")[:3]
            rows.append({"run": name, "model": model, "selection": "inner_val", "seed": seed, "fold": f"s{c % 6}",
                         "clip_id": f"ds/s{c % 6}/clip{c}", "subject": f"s{c % 6}", "dataset": "ds", "label": c % 2,
                         "pred": 0, "method": method,
                         "coded_rois": "|".join(np.array(ROI_NAMES)[coded]),
                         "importance": text, "top_rois": "|".join(np.array(ROI_NAMES)[top]), "edges": ""})
    return RR.score_rows(pd.DataFrame(rows))[list(RR.COLUMNS)]


@pytest.fixture()
def recorded(tmp_path):
    rng = np.random.default_rng(1)
    for model, signal in (("stag", 2.0), ("offapexnet", 0.0)):
        for seed in (0, 1):
            name = f"{model}-inner_val-seed{seed}"
            _fake_run(name, model, seed, rng, signal=signal).to_csv(tmp_path / f"{name}.csv", index=False)
            (tmp_path / f"{name}.json").write_text(json.dumps({
                "run": name, "explain": RR.RealFacesConfig().to_dict(),
                "clips": {"run": 30, "scored": 24, "subjects_scored": 6, "excluded": {"no coding": 6},
                          "no_roi_aus": []}}))
    return tmp_path


def test_summary_and_findings_from_recorded_scores(recorded):
    scores = RR.load_scores(recorded)
    summ = RR.gain_summary(scores, n_boot=300)
    st = summ[(summ["model"] == "stag") & (summ["metric"] == "mrr")]
    assert (st["ci_low"] > 0).all() and (st["seeds"] == "0,1").all() and (st["clips"] == 24).all()
    base = summ[(summ["model"] == "offapexnet") & (summ["metric"] == "mrr")]
    assert (base["ci_low"] < 0).all() and (base["ci_high"] > 0).all()
    pair = RR.paired(scores, n_boot=300)
    assert set(pair["b"]) == {"offapexnet"} and (pair.loc[pair["metric"] == "mrr", "ci_low"] > 0).all()
    text = RR.explanation_sentences(summ, pair, RR.exclusions(recorded))
    assert "24 CASME II and SAMM clips of 6 subjects" in text and "6 clips without AU codes" in text
    assert "above chance for ROI occlusion" in text and "STAG agrees better" in text
    assert len(RR.gain_table(summ)) == 4
    one = RR.explanation_intro_sentence(summ, pair)
    assert one.count(".") >= 1 and "with every method" in one and "STAG beats offapexnet" in one


def test_a_changed_recorded_score_is_caught(recorded):
    path = recorded / "stag-inner_val-seed0.csv"
    rows = pd.read_csv(path, keep_default_na=False)
    mrr = rows.loc[0, "mrr"]
    rows.loc[0, "mrr"] = 0.123
    rows.to_csv(path, index=False)
    with pytest.raises(RR.ScoreError, match="stag-inner_val-seed0: mrr of"):
        RR.load_scores(recorded)
    rows.loc[0, "mrr"], rows.loc[0, "top_rois"] = mrr, "chin"
    rows.to_csv(path, index=False)
    with pytest.raises(RR.ScoreError, match="top_rois of"):
        RR.load_scores(recorded)


def test_subject_bootstrap_moves_subjects_together():
    from stag.train.metrics import subject_bootstrap_means

    values = np.array([1.0, 1.0, 1.0, 0.0])
    subjects = ["a", "a", "a", "b"]
    boot = subject_bootstrap_means(values, subjects, n_boot=500)
    assert set(np.round(boot, 6)) <= {0.0, 0.75, 1.0}  # {b,b}, {a,b}, {a,a}


def test_read_codes_counts_what_is_left_out():
    from types import SimpleNamespace as C

    clips = [C(clip_id="a", dataset="casme2", subject="1", aus=(12,), au_error="", au_coded=True, au_text="12"),
             C(clip_id="b", dataset="smic", subject="2", aus=(), au_error="", au_coded=False, au_text=""),
             C(clip_id="c", dataset="samm", subject="3", aus=(43,), au_error="", au_coded=True, au_text="43"),
             C(clip_id="d", dataset="samm", subject="3", aus=(), au_error="bad", au_coded=True, au_text="??x")]
    codes = RF.read_codes(clips)
    assert codes.aus == {"a": (12,)}
    assert codes.counts() == {"no coding": 1, "no ROI": 1, "unreadable": 1}


@pytest.mark.parametrize("name", ["stag", "stag_no_graph", "ststnet"])
def test_fold_rows_of_an_untrained_model(name):
    """The recorder's torch path on tiny inputs: every method that applies gives one row per clip."""
    import torch

    from stag.models import build
    from stag.preprocess.prepared import Prepared
    from stag.preprocess.rois import roi_boxes, template_landmarks

    torch.manual_seed(0)
    model = build(name, num_classes=3, in_channels=3, num_rois=len(ROI_NAMES)).eval()
    rng = np.random.default_rng(0)
    clips = [Prepared(clip_id=f"x/{i}", subject=str(i % 2), dataset="casme2", label=i % 3,
                      flows=rng.normal(size=(1, 3, 32, 32)).astype(np.float32), key_mask=np.ones(1, bool),
                      magnitudes=np.ones(1, np.float32), key_indices=np.zeros(1, np.int64),
                      rois=roi_boxes(template_landmarks(32), 32))
             for i in range(3)]
    codes = RF.Codes({c.clip_id: (4, 12) for c in clips}, pd.DataFrame())
    cfg = RR.RealFacesConfig(n_steps=4, batch_size=2)
    rows = RF.fold_rows(model, clips, codes, cfg, run=f"{name}-inner_val-seed0",
                        results={"model": name, "seed": 0, "selection": "inner_val"}, fold="x")
    expected = {"stag": set(RF.METHODS), "stag_no_graph": {"roi_occlusion", "pixel_ig"},
                "ststnet": {"roi_occlusion", "pixel_ig"}}[name]
    assert set(rows["method"]) == expected and len(rows) == 3 * len(expected)
    scored = RR.score_rows(rows)
    assert scored[["pointing", "mrr", "hit3", "chance_mrr"]].notna().all().all()
    assert (rows.loc[rows["method"] == "adjacency", "edges"].str.count(";") == cfg.top_edges - 1).all()


# --------------------------------------------------------------------------- the recorded study
@pytest.mark.parametrize("records, selection", [(RECORDS, "inner_val"), (REGISTERED, None)],
                         ids=["superseded", "registered"])
def test_chapter_summary_equals_a_recomputation_from_the_csvs(records, selection):
    """The chapter's table comes from the committed CSVs: recompute it from the raw rows here."""
    if not any(records.glob("*.csv")):
        pytest.skip(f"no recorded real-face scores under {records}")
    scores = RR.load_scores(records, selection=selection)
    summ = RR.gain_summary(scores, n_boot=200)
    raw = pd.concat([pd.read_csv(p, dtype={"subject": str, "clip_id": str}, keep_default_na=False)
                     for p in sorted(records.glob("*.csv"))])
    raw = raw[raw["selection"] == selection] if selection else raw
    for _, r in summ.iterrows():
        g = raw[(raw["model"] == r["model"]) & (raw["method"] == r["method"])]
        per_clip = g.groupby("clip_id")[[r["metric"], f"chance_{r['metric']}"]].mean()
        assert r["clips"] == len(per_clip)
        assert r["score"] == pytest.approx(per_clip[r["metric"]].mean(), abs=1e-12)
        assert r["gain"] == pytest.approx((per_clip[r["metric"]] - per_clip[f"chance_{r['metric']}"]).mean(), abs=1e-12)
        assert r["ci_low"] <= r["gain"] <= r["ci_high"]


def _data_paths():
    data = Path(os.environ.get("STAG_MEGC2019", ROOT.parent / "shared" / "data" / "megc2019"))
    codings = data.parent / "codings"
    if not data.is_dir():
        pytest.skip(f"MEGC2019 composite not present at {data} (set $STAG_MEGC2019)")
    if not codings.is_dir():
        pytest.skip(f"FACS codings not present at {codings} (the folder next to the composite)")
    return data, codings


def test_recorded_fold_reexplains(tmp_path, monkeypatch):
    """Retrain the smallest scored fold of STAG's seed-0 record on audited inputs (registered
    ROIs, channels verified) on CPU and explain it again: its rows must match the recorded ones
    (same top ROIs and scores, importances to 1e-3).

    The recorded run comes from ``results/registered/megc2019/`` (``$STAG_MEGC2019_RECORDS``
    overrides it); the data is prepared into a fresh cache unless ``$STAG_TEST_CACHE`` names one."""
    from stag.results import reproduce
    from stag.train import run

    data, codings = _data_paths()
    name = "stag-seed0"
    runs = Path(os.environ.get("STAG_MEGC2019_RECORDS", ROOT / "results" / "registered" / "megc2019"))
    csv, recorded_run = REGISTERED / f"{name}.csv", runs / name
    if not csv.is_file():
        pytest.skip(f"no recorded real-face scores {csv}")
    if not (recorded_run / "results.json").is_file():
        pytest.skip(f"no recorded run {recorded_run} to retrain (record it with `stag record`)")
    rows, meta = RR.read_run(csv)
    results = json.loads((recorded_run / "results.json").read_text())
    assert meta["run_config_hash"] == results["config_hash"], "the scores explain another training configuration"
    sizes = rows.drop_duplicates("clip_id").groupby("fold").size()
    fold = str(sizes[sizes == sizes.min()].sort_index().index[0])

    trained = {}
    fold_task = run.fold_task

    def keep(*args, **kwargs):  # the retrained weights, which reproduce_fold does not hand back
        res = fold_task(*args, **kwargs)
        trained.update(spec=args[1], state=res["output"].state_dict)
        return res

    monkeypatch.setattr(run, "fold_task", keep)
    cache = Path(os.environ.get("STAG_TEST_CACHE") or tmp_path / "cache")
    new, old = reproduce.reproduce_fold(recorded_run, data, fold, device="cpu", cache_dir=cache)
    assert list(new["y_pred"]) == list(old["y_pred"]), f"fold {fold} does not reproduce its predictions"
    model = trained["spec"].build()
    model.load_state_dict(trained["state"])
    prepared, codes, _ = RF.load_data(results, data, codings, cache)
    held = [p for p in prepared if p.clip_id in set(rows.loc[rows["fold"] == fold, "clip_id"])]
    cfg = RR._config(meta)
    fresh = RF.fold_rows(model, held, codes, cfg, run=name, results=results, fold=fold)
    # Scores: the recorded run's rows with this fold's importances replaced, re-scored together
    # (the chance level of a clip depends on the codes of its stratum across the whole run).
    key = ["clip_id", "method"]
    merged = rows.copy()
    index = merged.set_index(key).index
    fresh_imp = fresh.set_index(key)["importance"]
    here = index.isin(fresh_imp.index)
    assert here.sum() == len(fresh) == (rows["fold"] == fold).sum()
    merged.loc[here, "importance"] = fresh_imp.loc[index[here]].to_numpy()
    mine = RR.score_rows(merged.drop(columns=[c for c in merged if c in RR.METRICS or c.startswith("chance_")]), cfg)
    mine = mine[mine["fold"] == fold].sort_values(key).reset_index(drop=True)
    ref = rows[rows["fold"] == fold].sort_values(key).reset_index(drop=True)
    fresh = fresh.sort_values(key).reset_index(drop=True)
    assert len(mine) == len(ref) > 0
    np.testing.assert_allclose(np.stack(mine["importance"].map(RR.parse_importance)),
                               np.stack(ref["importance"].map(RR.parse_importance)), rtol=1e-3, atol=1e-6)
    for col in ("top_rois", "coded_rois", "pred"):
        assert list(fresh[col]) == list(ref[col]), col
    for col in (*RR.METRICS, *(f"chance_{m}" for m in RR.METRICS)):
        np.testing.assert_allclose(mine[col].to_numpy(float), ref[col].to_numpy(float), atol=1e-9, err_msg=col)
