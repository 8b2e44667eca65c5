"""Bidirectional cross-attention and gated fusion."""

from __future__ import annotations

import pytest
import torch

from stag.models.cross_attention import BidirectionalCrossAttention, CrossAttentionLayer, GatedFusion


def _tokens(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 6, 16, generator=g), torch.randn(2, 4, 16, generator=g)


def test_maps_shapes_rows_and_masking():
    torch.manual_seed(0)
    cross = BidirectionalCrossAttention(16, layers=2, heads=4, dropout=0.0).eval()
    graph, temporal = _tokens()
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    g, t, w_gt, w_tg = cross(graph, temporal, mask, return_attention_weights=True)
    assert g.shape == graph.shape and t.shape == temporal.shape
    assert w_gt.shape == (2, 4, 6, 4) and w_tg.shape == (2, 4, 4, 6)
    torch.testing.assert_close(w_gt.sum(-1), torch.ones(2, 4, 6))
    torch.testing.assert_close(w_tg.sum(-1), torch.ones(2, 4, 4))
    assert (w_gt[1, ..., 2:] == 0).all()
    noisy = temporal.clone()
    noisy[1, 2:] = 100.0  # padded keyframes: the graph side must not see them
    torch.testing.assert_close(cross(graph, noisy, mask)[0], g)


def test_information_flows_both_ways():
    torch.manual_seed(1)
    layer = CrossAttentionLayer(16, heads=2, dropout=0.0)
    graph, temporal = _tokens(1)
    graph.requires_grad_(True)
    temporal.requires_grad_(True)
    mask = torch.ones(2, 4, dtype=torch.bool)
    g, t = layer(graph, temporal, mask)
    (d_g_dt,) = torch.autograd.grad(g.sum(), temporal, retain_graph=True)
    (d_t_dg,) = torch.autograd.grad(t.sum(), graph)
    assert d_g_dt.abs().sum() > 0 and d_t_dg.abs().sum() > 0


def test_cross_layers_must_be_positive():
    with pytest.raises(ValueError, match="cross-attention layers must be >= 1"):
        BidirectionalCrossAttention(16, layers=0)


def test_gated_fusion_mixes_by_its_gate():
    fusion = GatedFusion(8)
    g, t = torch.randn(3, 8), torch.randn(3, 8)
    y, z = fusion(g, t)
    assert y.shape == (3, 8) and ((z > 0) & (z < 1)).all()
    torch.testing.assert_close(y, z * g + (1 - z) * t)
    with torch.no_grad():
        fusion.gate.weight.zero_()
        fusion.gate.bias.fill_(30.0)  # gate saturated at 1: all graph
    torch.testing.assert_close(fusion(g, t)[0], g)
    with torch.no_grad():
        fusion.gate.bias.fill_(-30.0)  # gate at 0: all temporal
    torch.testing.assert_close(fusion(g, t)[0], t)
