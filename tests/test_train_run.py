import json

import numpy as np
import pandas as pd
import pytest

import stag.train.run as run_mod
from stag.train.records import RunRecord
from stag.train import TrainConfig, run_protocol
from stag.train.metrics import scores, subject_bootstrap_ci
from stag.train.testing import TinyNet, toy_prepared

CFG = TrainConfig(epochs=3, batch_size=8, lr=5e-3, loss="ce", warmup_epochs=0, threads=1)
CLASSES = ("negative", "positive", "surprise")


@pytest.fixture(scope="module")
def data():
    return toy_prepared(5, 6, seed=1)


def _run(data, out, **kw):
    kw = {"config": CFG, "class_names": CLASSES, "progress": False, **kw}
    return run_protocol(data, TinyNet, "loso", out=out, **kw)


def test_loso_run_writes_results_and_predictions(data, tmp_path):
    res = _run(data, tmp_path)
    assert {f["fold"] for f in res.folds} == {f"toy/s{s:02d}" for s in range(5)}
    d = json.loads((tmp_path / "results.json").read_text())
    for key in ("uf1", "uar", "accuracy", "per_dataset", "folds", "protocol", "model", "epochs", "seed",
                "selection", "wall_time_s", "versions", "config", "config_hash"):
        assert key in d
    assert d["selection"] == "last" and d["oracle"] is False and d["protocol"] == "loso"
    pred = pd.read_csv(tmp_path / "predictions.csv")
    assert list(pred.columns[:6]) == ["clip_id", "subject", "dataset", "fold", "y_true", "y_pred"]
    assert [c for c in pred.columns if c.startswith("p_")] == [f"p_{c}" for c in CLASSES]
    assert len(pred) == len(data) and pred["clip_id"].is_unique
    assert d["uf1"] == pytest.approx(scores(pred["y_true"], pred["y_pred"], 3)["uf1"])
    # the interval resamples whole subjects (a LOSO fold), not clips
    groups = pred["dataset"] + "/" + pred["subject"].astype(str)
    assert d["uf1_ci95"] == list(subject_bootstrap_ci(pred["y_true"], pred["y_pred"], groups, 3, n_boot=500,
                                                      random_state=0)[1:])
    for f in res.folds:
        fold_dir = tmp_path / "folds" / run_mod.fold_dirname(f["fold"])
        assert (fold_dir / "model.pt").exists() and (fold_dir / "fold.json").exists()
    again = RunRecord.load(tmp_path)
    assert again.uf1 == res.uf1 and again.confusion.tolist() == res.confusion.tolist()


def test_checkpoint_carries_model_config(data, tmp_path):
    import torch

    _run(data, tmp_path)
    ckpt = torch.load(next((tmp_path / "folds").glob("*/model.pt")), weights_only=False)
    assert ckpt["model_kwargs"]["num_classes"] == 3 and ckpt["model_kwargs"]["in_channels"] == 3
    model = TinyNet(**{k: v for k, v in ckpt["model_kwargs"].items()})
    model.load_state_dict(ckpt["state_dict"])
    assert ckpt["class_names"] == list(CLASSES) and len(ckpt["test_clip_ids"]) == 6


def test_interrupted_run_resumes_to_the_uninterrupted_result(data, tmp_path, monkeypatch):
    full = _run(data, tmp_path / "full")
    real_write, calls = run_mod._write_fold, []

    def dying_write(*args, **kw):
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed while the third fold finishes
        calls.append(args[1]["fold"])
        return real_write(*args, **kw)

    monkeypatch.setattr(run_mod, "_write_fold", dying_write)
    with pytest.raises(KeyboardInterrupt):
        _run(data, tmp_path / "resumed")
    monkeypatch.setattr(run_mod, "_write_fold", real_write)
    assert not (tmp_path / "resumed" / "results.json").exists()
    assert len(list((tmp_path / "resumed" / "folds").glob("*/fold.json"))) == 2

    trained = []
    real_task = run_mod.fold_task
    monkeypatch.setattr(run_mod, "fold_task", lambda *a, **k: trained.append(a[2]) or real_task(*a, **k))
    resumed = _run(data, tmp_path / "resumed")
    assert len(trained) == 3 and not set(trained) & set(calls)
    pd.testing.assert_frame_equal(resumed.predictions, full.predictions)
    assert resumed.uf1 == full.uf1 and resumed.uar == full.uar
    trained.clear()
    _run(data, tmp_path / "resumed", force=True)
    assert len(trained) == 5


def test_refuses_to_mix_configurations(data, tmp_path):
    _run(data, tmp_path)
    with pytest.raises(RuntimeError, match="different configuration"):
        _run(data, tmp_path, config=CFG.replace(epochs=2))
    res = _run(data, tmp_path, config=CFG.replace(epochs=2), force=True)
    assert res.epochs == 2
    assert json.loads((tmp_path / "results.json").read_text())["epochs"] == 2


def test_per_dataset_breakdown_on_a_composite(tmp_path):
    data = toy_prepared(3, 5, datasets=("casme2", "samm", "smic"))
    res = _run(data, tmp_path)
    assert set(res.per_dataset) == {"casme2", "samm", "smic"}
    assert sum(v["n"] for v in res.per_dataset.values()) == len(data)
    assert len(res.folds) == 9  # subjects are per dataset: casme2/s00 is not samm/s00


def test_oracle_is_labelled_everywhere(data, tmp_path):
    with pytest.warns(UserWarning, match="oracle"):
        res = _run(data, tmp_path, config=CFG.replace(selection="oracle"))
    d = json.loads((tmp_path / "results.json").read_text())
    assert d["oracle"] is True and "test fold" in d["selection_label"] and "warning" in d
    assert set(d["honest_last_epoch"]) == {"uf1", "uar", "accuracy"}
    assert res.uf1 >= d["honest_last_epoch"]["uf1"] - 1e-9 or res.accuracy >= d["honest_last_epoch"]["accuracy"]


def test_group_kfold_and_cross_dataset_protocols(tmp_path):
    data = toy_prepared(4, 4, datasets=("a", "b"))
    res = run_protocol(data, TinyNet, "group_kfold", CFG, tmp_path / "g", n_splits=3, progress=False)
    assert len(res.folds) == 3 and len(res.predictions) == len(data)
    res = run_protocol(data, TinyNet, "cross_dataset:a->b", CFG, tmp_path / "x", progress=False)
    assert [f["fold"] for f in res.folds] == ["a->b"] and set(res.predictions["dataset"]) == {"b"}


def test_bad_arguments(data, tmp_path):
    with pytest.raises(ValueError, match="unknown protocol"):
        run_protocol(data, TinyNet, "kfold", CFG, tmp_path)
    with pytest.raises(ValueError, match="jobs"):
        run_protocol(data, TinyNet, "loso", CFG, tmp_path, jobs=0)
    with pytest.raises(ValueError, match="no prepared clips"):
        run_protocol([], TinyNet, "loso", CFG, tmp_path)


@pytest.mark.slow
def test_jobs_2_equals_jobs_1(data, tmp_path):
    one = _run(data, tmp_path / "one")
    two = _run(data, tmp_path / "two", jobs=2)
    # The loky workers inherit this process's environment (the same torch, MKL and oneDNN kernels)
    # and train with CFG.threads=1 as this process does, so their float sums are the same:
    # measured bit-identical (max |dp| = 0). atol=1e-6 on the probabilities (in [0, 1])
    # would only forgive float32 rounding; uf1 is compared exactly.
    pd.testing.assert_frame_equal(one.predictions, two.predictions, check_exact=False, atol=1e-6)
    assert one.uf1 == two.uf1


@pytest.mark.slow
def test_dask_local_cluster_equals_local(data, tmp_path):
    from distributed import Client, LocalCluster

    local = _run(data, tmp_path / "local")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = _run(data, tmp_path / "dask", dask=client)
    # The Dask worker runs in this process (processes=False) with CFG.threads=1, so the same
    # kernels and thread count: measured bit-identical (max |dp| = 0); atol=1e-6 on the
    # probabilities (in [0, 1]) would only forgive float32 rounding; the scores compare exactly.
    pd.testing.assert_frame_equal(local.predictions, remote.predictions, check_exact=False, atol=1e-6)
    assert local.uf1 == remote.uf1 and local.uar == remote.uar


@pytest.mark.filterwarnings("ignore:selection='oracle'")
def test_study_reuses_runs_and_report_tables(data, tmp_path, monkeypatch):
    from stag.results import protocol_runs, tables
    from stag.train import records
    from stag.train.study import run_study

    cfg = CFG.replace(epochs=2)  # run_study takes registry names: ststnet is the smallest
    runs = run_study(data, "ststnet", config=cfg, seeds=2, selections=("last", "oracle"),
                     root=tmp_path, class_names=CLASSES, progress=False)
    assert len(runs) == 4 and len({r.out for r in runs}) == 4
    trained = []
    real_task = run_mod.fold_task
    monkeypatch.setattr(run_mod, "fold_task", lambda *a, **k: trained.append(a[2]) or real_task(*a, **k))
    again = run_study(data, "ststnet", config=cfg, seeds=2, selections=("last", "oracle"), root=tmp_path,
                      class_names=CLASSES, progress=False)
    assert trained == [] and [r.uf1 for r in again] == [r.uf1 for r in runs]

    # live runs go through the same tables as recorded ones (an oracle run gives two views)
    table = records.records_table(runs)
    summary = tables.summary(table, n_boot=50)
    assert sorted(summary["selection"]) == ["last", "oracle"]
    honest = summary[summary["selection"] == "last"].iloc[0]
    assert honest["seeds"] == 4 and honest["role"] == "baseline"  # 2 honest runs + 2 oracle runs' last epochs
    last_uf1 = [r.uf1 for r in runs if r.selection == "last"] + [r.honest_last["uf1"] for r in runs if r.is_oracle]
    assert honest["uf1_mean"] == pytest.approx(np.mean(last_uf1))
    assert honest["uf1_min"] == pytest.approx(min(last_uf1)) and honest["uf1_ci_low"] <= honest["uf1_mean"]
    cmp_ = protocol_runs.oracle_comparison(runs)
    assert "UF1 oracle (best test epoch)" in cmp_.columns and len(cmp_) == 1
    # the oracle run's last epoch is the honest run (training never depends on evaluation)
    last = {r.seed: r.uf1 for r in runs if r.selection == "last"}
    for r in runs:
        if r.selection == "oracle":
            assert r.honest_last["uf1"] == pytest.approx(last[r.seed])
    assert tables.headline(summary)["selection"].tolist() == ["last", records.ORACLE_SHORT]
    paths = protocol_runs.save_table(summary, tmp_path / "tables", "summary")
    assert pd.read_csv(paths[0]).shape[0] == 2
