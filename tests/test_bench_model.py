"""``stag bench model``: training cost per model and the cost/accuracy tables of chapter 8."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stag.bench.model import efficiency_table, example_inputs, train_step_s, training_protocol
from stag.bench.published import published_composite
from stag.results.efficiency import accuracy_vs_cost, cost_table, tradeoff_sentences, training_time_table
from stag.models import build


def test_training_protocols():
    assert training_protocol("htnet")["batch_size"] == 256 and training_protocol("htnet")["epochs"] == 800
    stag = training_protocol("stag")
    assert stag["batch_size"] == 32 and stag["optimizer"] == "adamw"


def test_train_step_updates_the_weights_and_times_the_step():
    torch.manual_seed(0)
    model = build("ststnet")
    before = [p.detach().clone() for p in model.parameters()]
    best, median = train_step_s(model, example_inputs(8, 1, 32), torch.arange(8) % 3, repeats=2)
    assert 0 < best <= median
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(ValueError, match="optimizer"):
        train_step_s(model, example_inputs(2, 1, 32), torch.zeros(2, dtype=torch.long), optimizer="sgd")


def test_efficiency_table_with_training_extrapolates_epoch_and_protocol():
    table = efficiency_table(["ststnet", "offapexnet"], sizes=(32,), keyframes=(1,), batches=(1, 4), repeats=2,
                             budget_s=0.05, threads=1, train=True, fold_clips=40, folds=3)
    assert len(table) == 4
    assert (table["train_batch"] == 32).all() and (table["epochs"] == 30).all()
    np.testing.assert_allclose(table["s_per_epoch"], table["s_per_step"] * 40 / 32)
    np.testing.assert_allclose(table["protocol_h"], table["s_per_epoch"] * 30 * 3 / 3600)
    small = efficiency_table(["ststnet"], sizes=(32,), keyframes=(1,), batches=(1,), repeats=1, budget_s=0.01,
                             train=True, fold_clips=10)
    assert small["train_batch"].iloc[0] == 10  # capped at the fold
    assert "s_per_epoch" not in efficiency_table(["ststnet"], sizes=(32,), keyframes=(1,), batches=(1,), repeats=1)


def _fake_bench():
    return pd.DataFrame({
        "model": ["a", "a", "ref", "ref"], "params": [1e5, 1e5, 1e8, 1e8], "size": 64, "K": 1, "batch": [1, 32] * 2,
        "gflops_per_clip": [0.01, 0.01, 0.4, 0.4], "ms_per_clip": [2.0, 1.0, 40.0, 10.0],
        "s_per_epoch": [1.0, 1.0, 10.0, 10.0], "epochs": [30, 30, 800, 800],
        "protocol_h": [30 * 68 / 3600, 30 * 68 / 3600, 10 * 800 * 68 / 3600, 10 * 800 * 68 / 3600]})


def test_cost_table_ratios_against_the_reference():
    cost = cost_table(_fake_bench(), reference="ref")
    assert list(cost.index) == ["a", "ref"]
    assert cost.loc["a", "params (M)"] == 0.1 and cost.loc["a", "ms/clip @32"] == 1.0
    assert cost.loc["a", "ref x params"] == 1000.0 and cost.loc["a", "ref x latency"] == 20.0
    assert cost.loc["a", "ref x protocol"] == pytest.approx(266.7, abs=0.1)
    assert (cost.loc["ref", cost.filter(like="ref x").columns] == 1.0).all()
    assert not cost_table(_fake_bench(), reference=None).filter(like="ref x").shape[1]


def test_accuracy_vs_cost_drops_oracle_rows_and_unscored_models():
    summary = pd.DataFrame({"model": ["a", "a"], "selection": ["last", "oracle (test-selected epoch)"],
                            "uf1_mean": [0.6, 0.9], "uar_mean": [0.5, 0.8]})
    runs = pd.DataFrame({"model": ["a", "a"], "n_folds": [4, 4], "epochs": [10, 10], "fold_time_s": [20.0, 40.0],
                         "fold_cpu_s": [40.0, 40.0], "wall_time_s": [5.0, 5.0]})
    timing = training_time_table(runs)
    assert timing.loc["a", "cpu_s_per_fold_epoch"] == 1.0
    points = accuracy_vs_cost(summary, _fake_bench(), timing)
    assert points["model"].tolist() == ["a"] and points["uf1"].iloc[0] == 0.6
    assert points["ms_per_clip"].iloc[0] == 2.0 and points["fold_time_s"].iloc[0] == 30.0
    with pytest.raises(ValueError, match="batch=8"):
        accuracy_vs_cost(summary, _fake_bench(), batch=8)
    lines = tradeoff_sentences(points, cost_table(_fake_bench(), reference="ref"), model="a", reference="ref")
    assert any("1000x fewer parameters" in line for line in lines)
    assert any("800-epoch protocol" in line for line in lines)


def test_published_table_holds_literature_numbers_only():
    table = published_composite()
    assert table.set_index("model").loc["HTNet", ["UF1", "UAR"]].tolist() == [0.860, 0.848]
    assert set(table["model"]) == {"HTNet", "FRL-DGT", "STSTNet", "Off-ApexNet"}
    assert (table["source"] == "literature").all() and table["epoch selection"].str.contains("oracle").all()
