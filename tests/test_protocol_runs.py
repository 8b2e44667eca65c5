"""stag.results.protocol_runs and the training chapter's sentences, against hand-made runs."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stag.results import protocol_runs, sentences
from stag.train.names import model_role


def _run(model, uf1, uar=None, seed=0, selection="last", last_uf1=None, protocol="loso"):
    """A live run (RunRecord) of 40 two-class clips whose predictions give accuracy ``uf1`` (two
    balanced classes with the errors split evenly, so UF1 = UAR = accuracy); an oracle run also
    records its last epoch (accuracy ``last_uf1``)."""
    from stag.train.metrics import scores
    from stag.train.records import RunRecord

    n = 40
    y = np.arange(n) % 2

    def predict(acc):
        wrong = int(round((1 - acc) * n)) // 2  # per class
        p = y.copy()
        for c in (0, 1):
            idx = np.flatnonzero(y == c)[:wrong]
            p[idx] = 1 - c
        return p

    pred = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "subject": [f"s{i % 5}" for i in range(n)],
                         "dataset": "synthetic", "fold": [f"s{i % 5}" for i in range(n)], "y_true": y,
                         "y_pred": predict(uf1)})
    if last_uf1 is not None:
        pred["y_pred_last_epoch"] = predict(last_uf1)
    s = scores(pred["y_true"], pred["y_pred"], 2)
    last = scores(pred["y_true"], pred["y_pred_last_epoch"], 2) if last_uf1 is not None else {}
    results = {"model": model, **s, "protocol": protocol, "class_names": ["a", "b"],
               "folds": [{"wall_time_s": 1.0, "cpu_time_s": 2.0}] * 5, "epochs": 6, "seed": seed,
               "selection": selection, "wall_time_s": 3.0, "honest_last_epoch": last}
    return RunRecord(f"{model}-seed{seed}", None, results, pred)


def _summary(runs):
    """The columns of :func:`stag.results.tables.summary` the sentences read, from results dicts."""
    df = pd.DataFrame([{"model": r.model, "selection": r.selection, "uf1": r.uf1, "uar": r.uar} for r in runs])
    out = df.groupby(["model", "selection"], sort=False).agg(seeds=("uf1", "size"), uf1_mean=("uf1", "mean"),
                                                             uar_mean=("uar", "mean")).reset_index()
    out.insert(1, "role", out["model"].map(model_role))
    return out


@pytest.fixture
def honest():
    return [_run("stag", 0.60), _run("stag_no_graph", 0.50), _run("ststnet", 0.55), _run("offapexnet", 0.40)]


def test_findings_state_best_model_and_differences(honest):
    summary = _summary(honest)
    text = sentences.training_sentences(summary, epochs=6)
    lines = text.splitlines()
    assert lines[0] == "- Best honest LOSO model: stag (UF1 0.600, UAR 0.600, 1 seed(s), 6 epochs)."
    assert "- STAG against ststnet: UF1 0.600 against 0.550 (+0.050)." in lines
    assert "- STAG against offapexnet: UF1 0.600 against 0.400 (+0.200)." in lines
    assert "- Ablation stag_no_graph: UF1 0.500 (-0.100 against full STAG)." in lines
    assert len(lines) == 4


def test_findings_name_oracle_inflation_and_cross_pairs(honest):
    summary = _summary(honest)
    comparison = protocol_runs.oracle_comparison([_run("ststnet", 0.70, selection="oracle", last_uf1=0.55)])
    cross = pd.DataFrame([{"model": "stag", "train -> test": "a->b", "uf1": 0.321, "uar": 0.3, "accuracy": 0.4,
                           "n_test": 10}])
    text = sentences.training_sentences(summary, comparison, cross)
    assert "changes ststnet's UF1 by +0.150 (0.550 -> 0.700)" in text
    assert "- Cross-dataset stag, a->b: UF1 0.321." in text


def test_findings_without_runs():
    assert sentences.training_sentences(pd.DataFrame()) == "- No honest runs to report."


def test_oracle_reproduces_honest_pairs_by_model_and_seed(honest):
    oracle = [_run("ststnet", 0.7, selection="oracle", last_uf1=0.55), _run("stag", 0.9, seed=1, selection="oracle",
                                                                          last_uf1=0.3)]
    table = protocol_runs.oracle_reproduces_honest(honest, oracle)
    assert table.columns.tolist() == ["model", "seed", "honest run UF1", "oracle run last-epoch UF1", "difference"]
    row = table.set_index("model").loc["ststnet"]
    assert row["honest run UF1"] == 0.55 and row["difference"] == pytest.approx(0.0)
    assert np.isnan(table.set_index("model").loc["stag", "honest run UF1"])  # no honest run with seed 1


def _result(model, seed, folds):
    """A Results-like object: predictions with a fold column, two classes."""
    rows = [{"fold": f, "y_true": t, "y_pred": p} for f, pairs in folds.items() for t, p in pairs]
    return SimpleNamespace(model=model, seed=seed, selection="last", class_names=("a", "b"),
                           predictions=pd.DataFrame(rows))


def test_cross_dataset_table_means_over_seeds():
    perfect = {"x->y": [(0, 0), (1, 1)]}
    wrong = {"x->y": [(0, 1), (1, 0)]}
    table = protocol_runs.cross_dataset_table([_result("stag", 0, perfect), _result("stag", 1, wrong)])
    assert table.columns.tolist() == ["model", "train -> test", "uf1", "uar", "accuracy", "n_test"]
    assert len(table) == 1
    assert table.loc[0, "accuracy"] == pytest.approx(0.5) and table.loc[0, "n_test"] == 2
    assert table["n_test"].dtype.kind == "i"


def test_cross_dataset_table_empty_keeps_columns():
    assert protocol_runs.cross_dataset_table([]).columns.tolist() == ["model", "train -> test", "uf1", "uar", "accuracy",
                                                                "n_test"]


def test_save_tables_writes_each_table_to_each_folder_without_out(tmp_path):
    tables = {"runs": pd.DataFrame({"model": ["stag"], "out": ["/x"]}), "empty": pd.DataFrame()}
    written = protocol_runs.save_tables(tables, [tmp_path / "a", tmp_path / "b"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "a/empty.csv", "a/empty.json", "a/runs.csv", "a/runs.json",
        "b/empty.csv", "b/empty.json", "b/runs.csv", "b/runs.json"]
    assert pd.read_csv(tmp_path / "a" / "runs.csv").columns.tolist() == ["model"]


def test_settings_table_one_column_per_config():
    table = protocol_runs.settings_table(a={"x": 1, "y": (1, 2)}, b={"x": 2, "z": "s"})
    assert table.columns.tolist() == ["a", "b"]
    assert table.loc["y", "a"] == (1, 2) and table.loc["z", "a"] == "" and table.loc["z", "b"] == "s"
    assert table.index.tolist() == ["x", "y", "z"]  # the configs' own order, not sorted
    assert protocol_runs.settings_table(a={"zeta": 1, "alpha": 2}).index.tolist() == ["zeta", "alpha"]


def test_load_tables_reads_what_save_tables_wrote(tmp_path):
    runs = pd.DataFrame({"model": ["stag", "ststnet"], "uf1": [0.7, 0.6]})
    protocol_runs.save_tables({"runs": runs}, [tmp_path])
    (tmp_path / "oracle_comparison.csv").write_text("")
    got = protocol_runs.load_tables(tmp_path, required=["runs"], optional=["oracle_comparison", "absent"])
    pd.testing.assert_frame_equal(got["runs"], runs)
    assert got["oracle_comparison"].empty and got["absent"].empty
    with pytest.raises(FileNotFoundError, match=r"missing\.csv is missing: execute chapter 6 first"):
        protocol_runs.load_tables(tmp_path, required=["missing"], writer="chapter 6")
