"""Run names (stag/train/names.py): one typed value, built from results.json and parsed from text."""

from __future__ import annotations

import pytest

from stag.train.names import RunName, model_role, run_name


@pytest.mark.parametrize("text, model, tags, inputs", [
    ("stag", "stag", (), ()),
    ("stag+au", "stag", ("au",), ()),
    ("stag_no_graph+pre@K1", "stag_no_graph", ("pre",), ("K1",)),
    ("stag@K1@apex", "stag", (), ("K1", "apex")),
    ("offapexnet_stack+pre", "offapexnet_stack", ("pre",), ()),
])
def test_parse_and_print_round_trip(text, model, tags, inputs):
    name = RunName.parse(text)
    assert (name.model, name.tags, name.inputs) == (model, tags, inputs)
    assert str(name) == text and RunName.parse(str(name)) == name


def test_tags_print_in_one_order_and_unknown_tags_fail():
    assert str(RunName("stag", ("au", "pre"))) == "stag+pre+au"
    with pytest.raises(ValueError, match=r"unknown tag\(s\) \['big'\]"):
        RunName.parse("stag+big")
    with pytest.raises(ValueError, match="must be a registry name"):
        RunName("")


def test_roles():
    assert [model_role(t) for t in ("stag", "stag+au", "stag_no_graph+pre", "stag@K1", "offapexnet", "ststnet@apex")] \
        == ["STAG", "STAG", "ablation", "control", "baseline", "control"]


def _results(model="stag", k=4, *, init=False, au=0.0, flow=None, apex=None, phases=None):
    prep = {"keyframes": k, **({"flow_method": flow} if flow else {}), **({"apex": apex} if apex else {})}
    return {"model": model, "config": {"train": {"au_loss_weight": au}, "model": {"init": {"k": 1}} if init else {}},
            "data": {"prepare": prep, "params": {"phases": phases} if phases else {}}}


def test_from_results_names_what_the_run_was_trained_and_fed_with():
    assert str(run_name(_results())) == "stag" and str(run_name(_results(au=0.5))) == "stag+au"
    assert str(RunName.from_results(_results(k=1, init=True), keyframes=2)) == "stag+pre@K1"
    assert str(RunName.from_results(_results("offapexnet", k=1), keyframes=2)) == "offapexnet"  # not STAG-family
    assert str(RunName.from_results(_results(k=1, phases="apex_offset"), keyframes=2)) == "stag@apex_offset"
    assert str(RunName.from_results(_results(flow="tvl1", apex="annotated"), keyframes=4, default_flow="dis")) \
        == "stag@tvl1@apex"
    name = RunName.parse("stag_no_graph+pre@K1")
    assert name.pretrained and name.is_stag_family and name.input("K") == "K1" and name.input("x") is None
    assert str(name.with_tags().with_inputs()) == "stag_no_graph"
