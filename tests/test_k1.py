"""At K = 1 (one onset-to-apex flow per clip) no part of STAG is a constant: parts that would
be constant leave the computation, and the ablation that removes only such a part is marked n/a."""

from __future__ import annotations

import torch

from stag.models import build, list_models
from stag.models.stag import NOT_APPLICABLE_AT_K1, ablation_note
from _model_inputs import make_inputs


def _pair(name_a: str, name_b: str):
    torch.manual_seed(0)
    a = build(name_a, num_classes=3, in_channels=3, num_rois=16).eval()
    b = build(name_b, num_classes=3, in_channels=3, num_rois=16).eval()
    b.load_state_dict(a.state_dict(), strict=False)  # a has the prior strengths b lacks
    return a, b


def test_magnitude_prior_ablation_is_identical_at_k1_and_not_at_k4():
    a, b = _pair("stag", "stag_no_mag_prior")
    with torch.no_grad():
        assert torch.equal(a(*make_inputs(k=1)), b(*make_inputs(k=1)))
        assert not torch.allclose(a(*make_inputs(k=4)), b(*make_inputs(k=4)))
    assert "n/a at K=1" in ablation_note("stag_no_mag_prior", 1)
    assert ablation_note("stag_no_mag_prior", 4) is None


def test_every_other_ablation_changes_the_model_at_k1():
    inputs = make_inputs(k=1)
    for name in list_models():
        if not name.startswith("stag_") or name in NOT_APPLICABLE_AT_K1:
            continue
        torch.manual_seed(0)
        full = build("stag", num_classes=3, in_channels=3, num_rois=16).eval()
        abl = build(name, num_classes=3, in_channels=3, num_rois=16).eval()
        abl.load_state_dict(full.state_dict(), strict=False)
        with torch.no_grad():
            assert not torch.allclose(full(*inputs), abl(*inputs)), name


def test_positions_and_keyframe_pooling_leave_the_computation_at_k1():
    torch.manual_seed(0)
    model = build("stag", num_classes=3, in_channels=3, num_rois=16).eval()
    inputs = make_inputs(k=1)
    with torch.no_grad():
        before = model(*inputs)
        model.temporal.positions.table.add_(torch.randn_like(model.temporal.positions.table))
        for pool in (model.temporal_pool, model.node_encoder.pool):
            for p in pool.parameters():
                p.add_(torch.randn_like(p))
        assert torch.equal(before, model(*inputs))


def test_graph_to_time_is_skipped_at_k1_but_time_to_graph_runs():
    torch.manual_seed(0)
    model = build("stag", num_classes=3, in_channels=3, num_rois=16).eval()
    layer = model.cross.layers[0]
    inputs = make_inputs(k=1)
    with torch.no_grad():
        out = model.forward_details(*inputs)
        assert torch.equal(out.cross_graph_to_time, torch.ones_like(out.cross_graph_to_time))
        before = out.logits
        for p in layer.graph_to_time.parameters():
            p.add_(torch.randn_like(p))
        assert torch.equal(before, model(*inputs))
        for p in layer.time_to_graph.parameters():
            p.add_(torch.randn_like(p))
        assert not torch.allclose(before, model(*inputs))
