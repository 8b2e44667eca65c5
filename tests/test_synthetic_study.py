"""The synthetic study's tables from recorded runs: hand-made records with known answers, and
the committed records (every ablation with 3 seeds; the package's default flow is the one the
pre-registered rule picks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _records import predict

from stag.preprocess.flow import DEFAULT_FLOW
from stag.results import synthetic_study as sr
from stag.train.metrics import confusion_matrix, per_group_scores, scores

RESULTS = Path(__file__).resolve().parents[1] / "results"
STUDY = RESULTS / sr.FOLDERS["study"]
FLOW = RESULTS / sr.FOLDERS["flow"]
CLASSES = ["negative", "positive", "surprise"]
N_SUBJECTS, PER_SUBJECT = 12, 6
SUBJECTS = [f"s{i:02d}" for i in range(N_SUBJECTS) for _ in range(PER_SUBJECT)]
Y = np.arange(N_SUBJECTS * PER_SUBJECT) % 3


def _predict(accuracy: float, seed: int) -> np.ndarray:
    return predict(Y, accuracy, seed)


def _write(root, name, model, seed, pred, *, keyframes=4, flow=DEFAULT_FLOW, apex="spotted", params=None):
    d = root / name
    d.mkdir(parents=True)
    frame = pd.DataFrame({"clip_id": [f"synthetic/{s}/{i:02d}" for i, s in enumerate(SUBJECTS)], "subject": SUBJECTS,
                          "dataset": "synthetic", "fold": ["synthetic/" + s for s in SUBJECTS], "y_true": Y,
                          "y_pred": pred})
    frame.to_csv(d / "predictions.csv", index=False)
    per = {k: {m: v[m] for m in ("uf1", "uar", "accuracy", "n")}
           for k, v in per_group_scores(Y, pred, frame["dataset"], 3).items()}
    (d / "results.json").write_text(json.dumps({
        **scores(Y, pred, 3), "per_dataset": per, "confusion": confusion_matrix(Y, pred, 3).tolist(),
        "folds": [{"fold": f} for f in sorted(set(frame["fold"]))], "protocol": "loso", "model": model,
        "selection": "last", "seed": seed, "epochs": 30, "class_names": CLASSES,
        "data": {"dataset": "synthetic", "params": {"difficulty": 0.2, **(params or {})}, "n_clips": len(Y),
                 "prepare": {"keyframes": keyframes, "flow_method": flow, "apex": apex}},
        "provenance": {"commit": "abc", "dirty": False, "data_checksum": "sha256:00", "command": "stag train"}}))


def test_variant_names():
    def name(model, **prep):
        return str(sr.study_variant({"model": model, "data": {"prepare": prep}}))

    assert name("stag", keyframes=4, flow_method=DEFAULT_FLOW) == "stag"
    assert name("stag", keyframes=1) == "stag@K1"
    assert name("offapexnet", keyframes=1) == "offapexnet"  # a baseline reads one flow at any K
    assert name("stag", keyframes=4, flow_method="tvl1") == "stag@tvl1"
    assert name("ststnet", keyframes=1, apex="annotated") == "ststnet@apex"
    assert name("stag", keyframes=1, apex="annotated") == "stag@K1@apex"
    assert sr.level_label(0.0) == "exact" and sr.level_label(0.5) == "sd 0.5"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    accuracy = {"stag": 0.9, "stag_no_graph": 0.9, "stag_no_temporal": 0.6, "ststnet": 0.5, "ststnet_64": 0.55,
                "offapexnet": 0.7, "offapexnet_64": 0.7}
    for seed in range(3):
        for model, acc in accuracy.items():
            _write(root, f"{model}-seed{seed}", model, seed, _predict(acc, seed))
        _write(root, f"stag_k1-seed{seed}", "stag", seed, _predict(0.7, seed), keyframes=1)
    return sr.load(root)


def test_components_and_controls_have_the_known_answers(study):
    assert {"stag", "stag@K1", "ststnet_64"} <= set(study["model"])
    assert study.set_index("run").loc["stag_k1-seed0", "role"] == "control"
    comp = sr.component_table(study, n_boot=200).set_index("model")
    assert comp.loc["stag_no_graph", "stag_minus_model"] == pytest.approx(0)
    assert comp.loc["stag_no_graph", "verdict"] == "no measurable difference"
    assert comp.loc["stag_no_temporal", "verdict"] == "STAG better" and comp.loc["stag_no_temporal", "seeds"] == 3
    assert comp.loc["stag_static_adj", "verdict"] == "not recorded"
    ctrl = sr.controls_table(study, n_boot=200).set_index(["a", "b"])
    assert ctrl.loc[("stag", "stag@K1"), "verdict"] == "stag better"
    assert ctrl.loc[("stag@K1", "offapexnet_64"), "diff_mean"] == pytest.approx(0)
    assert ctrl.loc[("ststnet_64", "ststnet"), "diff_mean"] > 0
    text = sr.study_sentences(pd.DataFrame(
        {"model": ["stag", "offapexnet"], "selection": "last", "seeds": 3, "uf1_mean": [0.9, 0.7]}),
        sr.component_table(study, n_boot=100), sr.controls_table(study, n_boot=100))
    assert "the highest of the 2 models recorded" in text and "Removing it measurably hurts (full STAG minus the ablation): `stag_no_temporal` +" in text
    assert "`stag` minus `stag@K1`" in text


def test_apex_table_pairs_stag_with_each_level(study, tmp_path):
    for seed in range(3):
        for level, acc in ((0, 0.85), (1.0, 0.5), ("absent", 0.6)):
            _write(tmp_path, f"offapexnet-apex{level}-seed{seed}", "offapexnet", seed, _predict(acc, seed),
                   keyframes=1, apex="annotated", params={"apex_noise": level})
    table = sr.apex_table(sr.load(tmp_path), study, n_boot=200)
    got = table.set_index(["model", "level"])
    assert list(table["level"]) == ["0.0", "1.0", "absent", "spotted", "spotted"]
    assert got.loc[("stag", "spotted"), "uf1_mean"] == pytest.approx(study.query("model == 'stag'")["uf1"].mean())
    assert np.isnan(got.loc[("stag", "spotted"), "ref_minus_model"])
    assert got.loc[("offapexnet", "1.0"), "ref_ci_low"] > 0  # STAG better than the apex model at sd 1
    assert got.loc[("offapexnet", "0.0"), "apex"] == "exact"
    assert got.loc[("offapexnet", "0.0"), "uf1_mean"] > got.loc[("offapexnet", "1.0"), "uf1_mean"]
    from stag.viz.results import plot_apex_noise

    ax = plot_apex_noise(table)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["exact", "sd 1", "absent, middle frame"]
    assert len(ax.get_legend().get_texts()) == 3  # two spotted bands, one annotated-apex line
    text = sr.apex_sentence(table)
    assert "does not read the annotation" in text and "`offapexnet` on the annotated apex (3 seeds)" in text
    assert "with the spotted apex it scores" in text
    assert "No apex-noise runs" in sr.apex_sentence(sr.apex_table(sr.load(tmp_path / "none"), study))



def test_apex_findings_answer_when_time_matters(study, tmp_path):
    """Same predictions as STAG with an exact apex -> tied; much worse at sd 1 -> STAG better;
    better than STAG with the middle frame -> STAG worse."""
    for seed in range(3):
        for level, acc in ((0, 0.9), (1.0, 0.5), ("absent", 1.0)):
            _write(tmp_path, f"stag_k1-apex{level}-seed{seed}", "stag", seed, _predict(acc, seed),
                   keyframes=1, apex="annotated", params={"apex_noise": level})
    table = sr.apex_table(sr.load(tmp_path), study, n_boot=200)
    answer = sr.apex_sentence(table).splitlines()[-1]
    assert answer.startswith("- When does time matter? Against the same network")
    assert "measurably better with the annotations 'sd 1'; not measurably different with 'exact'" in answer
    assert answer.endswith("measurably worse with 'absent, middle frame'.")
    only_baselines = table[table["model"] != "stag@K1"]
    assert "When does time matter?" not in sr.apex_sentence(only_baselines)

def _bench(root, speeds: dict[str, float], epe: dict[str, float]):
    rows = [{"set": s, "method": m, "pairs_per_s": speeds[m], "epe": epe[m] * (2 if s == "warp" else 1)}
            for s in ("warp", "synthetic_apex") for m in speeds]
    pd.DataFrame(rows).to_csv(root / "bench.csv", index=False)


def test_flow_decision_follows_the_written_rule(study, tmp_path):
    for seed in range(3):
        _write(tmp_path, f"stag-tvl1-seed{seed}", "stag", seed, _predict(0.9, seed), flow="tvl1")
        _write(tmp_path, f"stag-dis_medium-seed{seed}", "stag", seed, _predict(0.6, seed), flow="dis_medium")
    flows = sr.flow_table(sr.load(tmp_path), study, n_boot=200)
    got = flows.set_index("flow")
    assert list(flows["flow"]) == ["dis", "dis_medium", "tvl1"]
    assert got.loc["dis", "minus_tvl1"] == pytest.approx(0) and got.loc["dis_medium", "ci_high"] < 0
    speeds = {"tvl1_default": 5, "tvl1": 15, "dis": 300, "dis_medium": 900}
    _bench(tmp_path, speeds, {"tvl1_default": 0.2, "tvl1": 0.2, "dis": 0.1, "dis_medium": 0.12})
    chosen, table = sr.flow_decision(sr.flow_bench(tmp_path), flows)
    assert chosen == "dis"  # dis_medium is faster but measurably worse than TV-L1 in UF1
    assert not table.set_index("flow").loc["dis_medium", "uf1_ok"]
    assert "The rule picks `dis`" in sr.flow_sentence(chosen, table)
    from stag.viz.results import plot_flow_choice

    fig = plot_flow_choice(table)
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["dis", "dis_medium", "tvl1"]
    _bench(tmp_path, {**speeds, "dis": 100}, {"tvl1_default": 0.2, "tvl1": 0.2, "dis": 0.1, "dis_medium": 0.12})
    assert sr.flow_decision(sr.flow_bench(tmp_path), flows)[0] == "dis"  # none fast: the fastest qualifying one
    _bench(tmp_path, speeds, {"tvl1_default": 0.2, "tvl1": 0.2, "dis": 0.3, "dis_medium": 0.12})
    assert sr.flow_decision(sr.flow_bench(tmp_path), flows)[0] == "tvl1"  # dis's EPE is over default TV-L1's
    with pytest.raises(FileNotFoundError, match="no recorded flow benchmark"):
        sr.flow_bench(tmp_path / "none")


@pytest.fixture(scope="module")
def quiet_fold(tmp_path_factory):
    """One fold of the committed study run `ststnet-seed0` retrained from its recorded
    configuration on freshly generated data (the synthetic set needs no download), on a quiet
    machine; shared by the two tests below, which also share its preprocessing cache."""
    from stag.results import reproduce

    run = STUDY / "ststnet-seed0"
    if not (run / "results.json").is_file():
        pytest.skip(f"no recorded run at {run}")
    cache = tmp_path_factory.mktemp("fold-cache")
    new, recorded = reproduce.reproduce_fold(run, "", device="cpu", cache_dir=cache, jobs=2)
    return run, cache, new, recorded


def test_recorded_study_fold_reproduces(quiet_fold):
    """The retrained fold gives the recorded predictions."""
    from stag.results import reproduce
    from stag.train import records

    run, _, new, recorded = quiet_fold
    assert list(new["clip_id"]) == list(recorded["clip_id"])
    assert list(new["y_pred"]) == list(recorded["y_pred"]), f"fold {recorded['fold'].iloc[0]} does not reproduce"
    probs = [c for c in recorded.columns if c.startswith("p_")]
    # the tolerance is the measured cross-machine worst case (reproduce.CROSS_MACHINE_ATOL), or 0 here
    np.testing.assert_allclose(new[probs].to_numpy(), recorded[probs].to_numpy(), rtol=0,
                               atol=reproduce.reproduction_tolerance(records.RunRecord.load(run)))


@pytest.mark.load
@pytest.mark.slow
def test_fold_reproduction_does_not_depend_on_the_load(quiet_fold):
    """The same fold retrained beside two busy processes gives the quiet run's probabilities bit
    for bit (the thread count is the recorded one, never the load's)."""
    import subprocess
    import sys
    import time

    from stag.results import reproduce

    run, cache, quiet, _ = quiet_fold
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        loaded, _ = reproduce.reproduce_fold(run, "", device="cpu", cache_dir=cache, jobs=2)
    finally:
        for p in burners:
            p.kill()
            p.wait()
    probs = [c for c in quiet.columns if c.startswith("p_")]
    assert list(loaded["clip_id"]) == list(quiet["clip_id"])
    np.testing.assert_array_equal(loaded[probs].to_numpy(), quiet[probs].to_numpy())


def test_committed_study_is_complete_and_the_default_flow_follows_the_rule():
    """The committed records hold every ablation and control with 3 seeds, and the package's
    default flow is the preset the rule written before the runs picks from them."""
    from stag.models import list_models

    study = sr.load(STUDY)
    seeds = study[study["selection"] == "last"].groupby("model")["seed"].nunique()
    expected = {m for m in list_models() if m.startswith("stag")} | {"ststnet", "offapexnet", "ststnet_64",
                                                                      "offapexnet_64", "stag@K1"}
    assert expected <= set(seeds.index) and (seeds[list(expected)] >= 3).all(), seeds
    chosen, decision = sr.flow_decision(sr.flow_bench(FLOW), sr.flow_table(sr.load(FLOW), study, n_boot=200))
    assert set(decision["flow"]) == set(sr.FLOW_CANDIDATES) and (decision.set_index("flow")["uf1_mean"] > 0).all()
    assert chosen == DEFAULT_FLOW
