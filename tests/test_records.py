"""Recorded runs: provenance, re-scoring, the subject bootstrap, `stag record`, one fold reproduced."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stag.cli import main
from stag.results import reproduce, sentences, tables
from stag.train import records

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    from test_train_cli import _composite

    root = tmp_path_factory.mktemp("megc")
    _composite(root / "data", per_subject=2)
    return root


@pytest.fixture(scope="module")
def run_dir(composite):
    out = composite / "runs" / "ststnet-last-seed0"
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(composite / "data"), "--model", "ststnet",
            "--keyframes", "1", "--image-size", "28", "--epochs", "1", "--device", "cpu",
            "--cache-dir", str(composite / "cache"), "--out", str(out), "--quiet"]
    assert main(args) == 0
    return out


def test_provenance_fields(run_dir):
    p = json.loads((run_dir / "results.json").read_text())["provenance"]
    for key in ("commit", "dirty", "data_checksum", "data_fingerprint", "command", "machine", "started_utc",
                "finished_utc", "wall_time_s", "cpu_time_s"):
        assert p.get(key) is not None, key
    assert p["command"].startswith("stag train --dataset megc2019_flow")
    assert p["data_checksum"].startswith("sha256:") and isinstance(p["dirty"], bool)
    assert {"platform", "cpu", "logical_cores", "torch", "torch_threads", "device"} <= set(p["machine"])
    import socket

    assert socket.gethostname() not in json.dumps(p["machine"])
    assert p["started_utc"] <= p["finished_utc"]


def test_data_checksum_stable_and_sensitive(composite, tmp_path):
    from stag.data import load
    from stag.train.provenance import data_checksum

    a = data_checksum(load("megc2019_flow", data_root=composite / "data"))
    copy = tmp_path / "copy"
    shutil.copytree(composite / "data", copy)
    assert data_checksum(load("megc2019_flow", data_root=copy)) == a  # same files elsewhere
    flow = sorted(p for p in copy.rglob("*.png"))[0]
    data = bytearray(flow.read_bytes())
    import cv2

    img = cv2.imread(str(flow), cv2.IMREAD_UNCHANGED)
    img[0, 0, 0] = (int(img[0, 0, 0]) + 1) % 256
    cv2.imwrite(str(flow), img)
    assert flow.read_bytes() != bytes(data)
    assert data_checksum(load("megc2019_flow", data_root=copy)) != a


def test_rescore_matches_and_tampering_is_caught(run_dir, tmp_path):
    dest = records.record_run(run_dir, tmp_path / "rec" / "ststnet-last-seed0")
    assert sorted(p.name for p in dest.iterdir()) == ["predictions.csv", "results.json"]
    s = records.rescore(dest)
    d = json.loads((dest / "results.json").read_text())
    assert s["uf1"] == pytest.approx(d["uf1"]) and s["confusion"].tolist() == d["confusion"]
    table = records.load_records(tmp_path / "rec")
    assert list(table["run"]) == ["ststnet-last-seed0"] and table.loc[0, "uf1"] == pytest.approx(d["uf1"])
    pred = pd.read_csv(dest / "predictions.csv")
    pred.loc[0, "y_pred"] = (pred.loc[0, "y_pred"] + 1) % 3
    pred.to_csv(dest / "predictions.csv", index=False)
    with pytest.raises(records.RecordError, match="ststnet-last-seed0.*does not give the scores"):
        records.rescore(dest)
    with pytest.raises(records.RecordError, match="ststnet-last-seed0"):
        records.load_records(tmp_path / "rec")


def test_stag_record_refuses_to_overwrite(run_dir, tmp_path, capsys):
    dest = tmp_path / "rec" / "r"
    assert main(["record", str(run_dir), str(dest)]) == 0
    assert main(["record", str(run_dir), str(dest)]) == 0  # identical: fine
    (dest / "predictions.csv").write_text((dest / "predictions.csv").read_text() + "\n")
    assert main(["record", str(run_dir), str(dest)]) == 2
    assert "already holds a different record" in capsys.readouterr().err
    assert main(["record", str(run_dir), str(dest), "--force"]) == 0
    assert (dest / "predictions.csv").read_bytes() == (run_dir / "predictions.csv").read_bytes()


def test_record_refuses_an_unfinished_run(run_dir, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(run_dir / "results.json", partial)
    pd.read_csv(run_dir / "predictions.csv").iloc[:-2].to_csv(partial / "predictions.csv", index=False)
    with pytest.raises(records.RecordError, match="record a finished run only"):
        records.record_run(partial, tmp_path / "dest")


def _fake_run(root, name, model, seed, y_true, y_pred, subjects, selection="last", probs=None):
    from stag.train.metrics import confusion_matrix, per_group_scores, scores

    d = root / name
    d.mkdir(parents=True)
    n = len(y_true)
    pred = pd.DataFrame({"clip_id": [f"c{i:03d}" for i in range(n)], "subject": subjects, "dataset": "casme2",
                         "fold": ["casme2/" + s for s in subjects], "y_true": y_true, "y_pred": y_pred})
    if probs is not None:
        for j, c in enumerate(["negative", "positive", "surprise"]):
            pred[f"p_{c}"] = probs[:, j]
    pred.to_csv(d / "predictions.csv", index=False)
    s = scores(y_true, y_pred, 3)
    per = {k: {m: v[m] for m in ("uf1", "uar", "accuracy", "n")}
           for k, v in per_group_scores(y_true, y_pred, pred["dataset"], 3).items()}
    (d / "results.json").write_text(json.dumps({
        **s, "per_dataset": per, "confusion": confusion_matrix(y_true, y_pred, 3).tolist(),
        "folds": [{"fold": f} for f in sorted(set(pred["fold"]))], "protocol": "loso", "model": model,
        "selection": selection, "seed": seed, "epochs": 1, "class_names": ["negative", "positive", "surprise"],
        "provenance": {"commit": "abc", "dirty": False, "data_checksum": "sha256:00", "command": "stag train"}}))


def test_tables_and_findings_from_synthetic_records(tmp_path):
    rng = np.random.default_rng(0)
    subjects = [f"sub{i:02d}" for i in range(10) for _ in range(5)]
    y = rng.integers(0, 3, 50)
    for seed in (0, 1):
        good = np.where(rng.random(50) < 0.8, y, (y + 1) % 3)
        bad = np.where(rng.random(50) < 0.3, y, (y + 1) % 3)
        _fake_run(tmp_path, f"stag-last-seed{seed}", "stag", seed, y, good, subjects)
        _fake_run(tmp_path, f"ststnet-last-seed{seed}", "ststnet", seed, y, bad, subjects)
    table = records.load_records(tmp_path)
    summ = tables.summary(table, n_boot=200)
    assert list(summ["model"]) == ["stag", "ststnet"] and set(summ["seeds"]) == {2}
    assert list(tables.headline(summ)["model"]) == ["stag", "ststnet"]
    assert tables.headline(summ, selections=("oracle",)).empty
    assert (summ["uf1_ci_low"] <= summ["uf1_mean"]).all() and (summ["uf1_mean"] <= summ["uf1_ci_high"]).all()
    comp = tables.compare(table, n_boot=200)
    assert comp.loc[0, "b"] == "ststnet" and comp.loc[0, "ci_low"] > 0
    text = sentences.comparison_sentence(table, comp)
    assert text.startswith("Under honest LOSO") and "STAG beats the best baseline, ststnet" in text
    assert (tables.lodo(table)["UF1 mean [min-max]"] == "not recorded").all()
    assert len(tables.provenance_table(table)) == 4
    assert "No recorded honest" in sentences.comparison_sentence(records.load_records(tmp_path / "absent"))


def test_seed_ensemble_averages_probabilities_and_pairs_models(tmp_path):
    subjects = [f"sub{i:02d}" for i in range(12) for _ in range(4)]
    y = np.arange(48) % 3
    for seed in range(3):  # each seed is unsure and wrong on its own third of the clips
        probs = np.full((48, 3), 0.05)
        probs[np.arange(48), y] = 0.9
        wrong = np.arange(48) % 3 == seed
        probs[wrong] = 0.3
        probs[wrong, (y[wrong] + 1) % 3] = 0.4
        pred = probs.argmax(1)
        _fake_run(tmp_path, f"stag-inner_val-seed{seed}", "stag", seed, y, pred, subjects, "inner_val", probs)
        base = np.eye(3)[np.where(np.arange(48) % 2 == 0, y, (y + 1) % 3)]
        _fake_run(tmp_path, f"ststnet-inner_val-seed{seed}", "ststnet", seed, y, base.argmax(1), subjects,
                  "inner_val", base)
    table = records.load_records(tmp_path)
    ens = tables.ensembles(table, n_boot=200).set_index("model")
    assert ens.loc["stag", "uf1"] == pytest.approx(1.0) and ens.loc["stag", "uf1_seed_mean"] < 0.8
    assert ens.loc["stag", "selection"] == "inner_val, 3-seed ensemble" and ens.loc["stag", "seeds"] == "0-2"
    assert ens.loc["ststnet", "uf1"] == pytest.approx(ens.loc["ststnet", "uf1_seed_mean"])  # identical seeds
    diff = tables.ensemble_compare(table, n_boot=200).iloc[0]
    assert diff["b"] == "ststnet" and diff["diff"] == pytest.approx(1.0 - ens.loc["ststnet", "uf1"])
    assert diff["ci_low"] > 0
    text = sentences.ensemble_sentence(tables.ensembles(table, n_boot=50), tables.ensemble_compare(table, n_boot=50))
    assert "one ensemble of 3 seeds (seeds 0-2)" in text and "STAG reaches UF1 1.000" in text
    assert "beats the best baseline's ensembles, ststnet" in text
    # A second group of seeds (3-5) makes a second ensemble; a lone seed 6 joins none.
    for seed in (3, 4, 5, 6):
        _fake_run(tmp_path, f"stag-inner_val-seed{seed}", "stag", seed, y, y, subjects, "inner_val", np.eye(3)[y])
    two = tables.ensembles(records.load_records(tmp_path), n_boot=50).set_index("model").loc["stag"]
    assert two["seeds"] == "0-2, 3-5" and two["ensembles"] == 2 and two["uf1_per_ensemble"] == "1.000, 1.000"
    assert tables.ensemble_compare(records.load_records(tmp_path), n_boot=50).iloc[0]["ensembles"] == 1
    for seed in (3, 4, 5, 6):
        shutil.rmtree(tmp_path / f"stag-inner_val-seed{seed}")
    (tmp_path / "stag-inner_val-seed0" / "predictions.csv").write_text(
        pd.read_csv(tmp_path / "stag-inner_val-seed0" / "predictions.csv").filter(regex="^(?!p_)").to_csv(index=False))
    with pytest.raises(records.RecordError, match="stag-inner_val-seed0 holds no class probabilities"):
        tables.ensembles(records.load_records(tmp_path), n_boot=10)


def _recorded_seed0_stag():
    data = Path(os.environ.get("STAG_MEGC2019", ROOT.parent / "shared" / "data" / "megc2019"))
    records = ROOT / "results" / "megc2019"
    run = records / "stag-seed0"
    if not data.is_dir():
        pytest.skip(f"MEGC2019 composite not present at {data} (set $STAG_MEGC2019)")
    if not (run / "results.json").is_file():
        pytest.skip(f"no recorded seed-0 STAG run at {run} (record it with `stag record`)")
    return data, run


def test_recorded_fold_reproduces(tmp_path):
    data, run = _recorded_seed0_stag()
    new, recorded = reproduce.reproduce_fold(run, data, device="cpu", cache_dir=tmp_path / "cache")
    assert list(new["clip_id"]) == list(recorded["clip_id"])
    assert list(new["y_pred"]) == list(recorded["y_pred"]), (
        f"fold {recorded['fold'].iloc[0]} of {run.name} does not reproduce its recorded predictions")
    if "y_pred_last_epoch" in recorded:  # an oracle record: its honest last epoch reproduces too
        assert list(new["y_pred_last_epoch"]) == list(recorded["y_pred_last_epoch"])
    probs = [c for c in recorded.columns if c.startswith("p_")]
    np.testing.assert_allclose(new[probs].to_numpy(), recorded[probs].to_numpy(), rtol=0,
                               atol=reproduce.reproduction_tolerance(records.RunRecord.load(run)))


def test_reproduce_fold_on_fixture(run_dir, composite):
    new, recorded = reproduce.reproduce_fold(run_dir, composite / "data", cache_dir=composite / "cache")
    assert recorded["fold"].nunique() == 1 and len(new) == len(recorded)
    assert list(new["y_pred"]) == list(recorded["y_pred"])


def test_reproduction_tolerance_is_zero_only_when_every_recorded_numeric_setting_matches(monkeypatch):
    from stag.train.provenance import machine, numerics

    kernel_vars = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")
    for var in kernel_vars:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")  # read by MKL at load only: nothing here changes

    def tolerance(prov: dict) -> float:
        return reproduce.reproduction_tolerance(records.RunRecord("r", None, {"provenance": prov}, pd.DataFrame()))

    here = {"machine": machine("cpu"), "numerics": numerics([{"threads": 1}, {"threads": 1}])}
    assert set(here["numerics"]) == {"fold_threads", "cpu_capability", *kernel_vars}  # what new runs record
    assert here["numerics"]["MKL_CBWR"] == "COMPATIBLE" and here["numerics"]["MKL_ENABLE_INSTRUCTIONS"] is None
    assert tolerance(here) == 0.0  # a record of this process's numerics: bit for bit
    cross = reproduce.CROSS_MACHINE_ATOL
    for key in ("cpu_capability", *kernel_vars):
        value = here["numerics"][key]
        for other in {None, "AVX2", "AVX512_CORE"} - {value}:  # unset counts as a value of its own
            assert tolerance({**here, "numerics": {**here["numerics"], key: other}}) == cross, (key, other)
        old = {k: v for k, v in here["numerics"].items() if k != key}  # a record made before `key` was kept
        assert tolerance({**here, "numerics": old}) == cross, key
    assert tolerance({**here, "numerics": {**here["numerics"], "fold_threads": None}}) == cross
    for key in ("cpu", "torch"):
        assert tolerance({**here, "machine": {**here["machine"], key: "other"}}) == cross, key
    assert tolerance({}) == cross


def test_an_oracle_record_gives_an_honest_and_an_oracle_view(composite, tmp_path):
    """``--selection oracle`` records the last epoch too; it is read as two runs, each re-scored."""
    out = composite / "runs" / "ststnet-seed0"
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(composite / "data"), "--model", "ststnet",
            "--keyframes", "1", "--image-size", "28", "--epochs", "2", "--device", "cpu", "--selection", "oracle",
            "--cache-dir", str(composite / "cache"), "--out", str(out), "--quiet"]
    assert main(args) == 0
    dest = records.record_run(out, tmp_path / "records" / "ststnet-seed0")
    table = records.load_records(tmp_path / "records")
    assert list(table["run"]) == ["ststnet-seed0/last", "ststnet-seed0/oracle"]
    assert list(table["selection"]) == ["last", "oracle"]
    d = json.loads((dest / "results.json").read_text())
    assert table.loc[0, "uf1"] == pytest.approx(d["honest_last_epoch"]["uf1"], abs=1e-12)
    assert table.loc[1, "uf1"] == pytest.approx(d["uf1"], abs=1e-12)
    # The honest view is checked against its own scores: a changed last-epoch column is caught.
    pred = pd.read_csv(dest / "predictions.csv")
    pred["y_pred_last_epoch"] = (pred["y_true"] + 1) % 3
    pred.to_csv(dest / "predictions.csv", index=False)
    with pytest.raises(records.RecordError, match="ststnet-seed0/last"):
        records.load_records(tmp_path / "records")


def test_stag_record_refuses_a_run_whose_honest_view_was_tampered(composite, tmp_path, capsys):
    """`stag record` checks every view it copies: 40 changed last-epoch predictions of an oracle
    run keep it out of results/, naming the view, and nothing is written."""
    out = composite / "runs" / "ststnet-oracle-tamper"
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(composite / "data"), "--model", "ststnet",
            "--keyframes", "1", "--image-size", "28", "--epochs", "2", "--device", "cpu", "--selection", "oracle",
            "--cache-dir", str(composite / "cache"), "--out", str(out), "--quiet"]
    assert main(args) == 0
    pred = pd.read_csv(out / "predictions.csv")
    n = min(40, len(pred))
    pred.loc[: n - 1, "y_pred_last_epoch"] = (pred.loc[: n - 1, "y_pred_last_epoch"] + 1) % 3
    pred.to_csv(out / "predictions.csv", index=False)
    dest = tmp_path / "records" / "ststnet-seed0"
    assert main(["record", str(out), str(dest)]) == 2
    err = capsys.readouterr().err
    assert "ststnet-seed0/last" in err and "does not give the scores in results.json" in err
    assert not dest.exists()


def test_component_findings_name_each_verdict():
    table = pd.DataFrame({"model": ["stag_no_temporal", "stag_no_graph", "stag_no_mag_prior", "stag_static_adj"],
                          "verdict": ["STAG better", "no measurable difference", "n/a at K=1: x", "not recorded"]})
    text = sentences.component_sentence(table)
    assert text.startswith("Against 2 recorded ablations")
    assert "measurably better than stag_no_temporal" in text and "measurably worse than none" in text
    assert "not measurably different from stag_no_graph" in text and "stag_static_adj" not in text


def test_signed_numbers_never_print_negative_zero():
    """The book's one number format: a difference that rounds to zero is "+0.000", in an interval
    and in a per-seed list alike."""
    from stag.results.stats import interval, signed

    assert [signed(x) for x in (-0.0004, -0.0, 0.0, 0.0004, -0.0006, 0.0125)] == \
        ["+0.000", "+0.000", "+0.000", "+0.000", "-0.001", "+0.013"]
    assert interval(-0.0003, -0.0104, 0.0004) == "+0.000 [-0.010, +0.000]"
    assert signed(-0.04, digits=1) == "+0.0"
