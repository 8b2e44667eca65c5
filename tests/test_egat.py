"""Graph branch: ROI cropping, node encoder, E-GAT layer, AU-guided adjacency."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _model_inputs import make_inputs
from stag.models.connectivity import AUGuidedAdjacency, default_prior, normalise_prior, top_k_rows
from stag.models.egat import EGAT, EGATLayer, NodeEncoder, crop_rois
from stag.models.layers import MagnitudePrior


def test_crop_rois_samples_a_linear_ramp_exactly():
    h, w, p = 20, 30, 4
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    image = torch.stack([xx, yy])[None]  # channel 0 = x, channel 1 = y (pixel-centre coordinates)
    box = torch.tensor([[[4.0, 6.0, 12.0, 14.0]]])  # 8x8 px box -> 4x4 patch, 2 px per sample
    patch = crop_rois(image, box, p)[0, 0]
    centres = torch.tensor([4.0, 6.0, 8.0, 10.0]) + 1.0 - 0.5  # edge + half a cell, to pixel centres
    torch.testing.assert_close(patch[0], centres.expand(p, p))
    torch.testing.assert_close(patch[1], (centres + 2).expand(p, p).T)


def test_crop_rois_stacks_keyframes_and_is_differentiable_in_boxes():
    images = torch.randn(2, 6, 16, 16)
    boxes = torch.tensor([[[1.0, 1.0, 9.0, 9.0], [4.0, 2.0, 15.0, 12.0]]] * 2, requires_grad=True)
    patches = crop_rois(images, boxes, 5)
    assert patches.shape == (2, 2, 6, 5, 5)
    patches.sum().backward()
    assert boxes.grad.abs().sum() > 0
    # Each box is cropped from its own clip.
    torch.testing.assert_close(crop_rois(images[1:], boxes[1:].detach(), 5), patches[1:].detach())


def test_egat_layer_is_permutation_equivariant():
    torch.manual_seed(0)
    layer = EGATLayer(32, heads=4, dropout=0.0).eval()
    with torch.no_grad():
        layer.edge_scale.copy_(torch.tensor([0.5, 1.0, 2.0, 0.0]))
    x = torch.randn(2, 10, 32)
    adj = torch.rand(2, 10, 10)
    perm = torch.randperm(10)
    y, att = layer(x, adj, return_attention_weights=True)
    yp, attp = layer(x[:, perm], adj[:, perm][:, :, perm], return_attention_weights=True)
    # float32 rounding of sums taken in another order: measured 4.8e-7 (|y| <= 3.6) and 6e-8 on the
    # attention (AVX-512; 2.4e-7 and 4.5e-8 AVX2), 16x or more below these tolerances.
    torch.testing.assert_close(yp, y[:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attp, att[:, :, perm][:, :, :, perm], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(att.sum(-1), torch.ones(2, 4, 10))


def test_egat_follows_the_adjacency():
    torch.manual_seed(1)
    layer = EGATLayer(16, heads=2, dropout=0.0).eval()
    x = torch.randn(1, 6, 16)
    _, att = layer(x, torch.eye(6)[None], return_attention_weights=True)
    assert (torch.diagonal(att, dim1=-2, dim2=-1) > 0.99).all()  # identity graph: each node keeps to itself
    cut = torch.ones(1, 6, 6)
    cut[0, 0, 3] = 0.0
    _, att = layer(x, cut, return_attention_weights=True)
    assert (att[0, :, 0, 3] < 1e-3).all()
    # A different adjacency gives a different output: the edge bias is used.
    assert (layer(x, torch.eye(6)[None]) - layer(x, torch.ones(1, 6, 6))).abs().max() > 1e-3


def test_egat_stack_and_errors():
    stack = EGAT(16, layers=3, heads=2)
    y, att = stack(torch.randn(2, 5, 16), torch.ones(2, 5, 5), return_attention_weights=True)
    assert y.shape == (2, 5, 16) and att.shape == (2, 2, 5, 5)
    with pytest.raises(ValueError, match="graph layers must be >= 1"):
        EGAT(16, layers=0)
    with pytest.raises(ValueError, match="heads=3 must divide dim=16"):
        EGATLayer(16, heads=3)


def test_node_encoder_pools_only_real_keyframes():
    torch.manual_seed(2)
    enc = NodeEncoder(3, 16, 24, patch_size=8, magnitude_prior=MagnitudePrior()).eval()
    flows, rois, key_mask, mags = make_inputs(2, 4, valid=[4, 2], size=32)
    nodes, w = enc(flows, rois, key_mask, mags)
    assert nodes.shape == (2, 16, 24) and w.shape == (2, 16, 4)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 16))
    assert (w[1, :, 2:] == 0).all()
    garbage = flows.clone()
    garbage[1, 2:] = 100.0
    torch.testing.assert_close(enc(garbage, rois, key_mask, mags)[0], nodes)
    # The ROI embedding tells nodes apart even when their patches are identical.
    same = rois.clone()
    same[:] = rois[:, :1]
    nodes_same, _ = enc(flows, same, key_mask, mags)
    assert (nodes_same[:, 0] - nodes_same[:, 1]).abs().max() > 1e-4


def test_default_and_normalised_prior():
    p = default_prior(4)
    assert np.allclose(np.diag(p), 1) and np.allclose(p[0, 1], 0.5)
    q = normalise_prior(np.array([[0.0, 4.0], [2.0, 0.0]]), 2)
    torch.testing.assert_close(q, torch.tensor([[1.0, 1.0], [0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"must be \(3, 3\)"):
        normalise_prior(np.eye(2), 3)
    with pytest.raises(ValueError, match="finite and non-negative"):
        normalise_prior(np.array([[1.0, np.nan], [0.0, 1.0]]), 2)


def test_adjacency_modes():
    torch.manual_seed(3)
    x = torch.randn(3, 5, 8)
    prior = np.random.default_rng(0).uniform(0, 1, (5, 5))
    expected = normalise_prior(prior, 5)
    torch.testing.assert_close(AUGuidedAdjacency(5, 8, prior, "prior")(x), expected.expand(3, 5, 5))
    torch.testing.assert_close(AUGuidedAdjacency(5, 8, prior, "full")(x), torch.ones(3, 5, 5))
    torch.testing.assert_close(AUGuidedAdjacency(5, 8, prior, "identity")(x), torch.eye(5).expand(3, 5, 5))
    dyn = AUGuidedAdjacency(5, 8, prior, "dynamic")
    a = dyn(x)
    assert (a[0] - a[1]).abs().max() > 1e-4  # per-sample
    assert ((a / expected) > 0).all() and ((a / expected) < 2).all()  # a re-weighting of the prior in (0, 2)
    with torch.no_grad():  # with q . k = 0 the gate is exactly 1: the dynamic graph is the prior
        dyn.gate.q.weight.zero_()
        dyn.gate.q.bias.zero_()
    torch.testing.assert_close(dyn(x), expected.expand(3, 5, 5))
    zeros = np.zeros((5, 5))
    zeros[0, 1] = 1.0
    cut = AUGuidedAdjacency(5, 8, zeros, "dynamic")(x)
    assert (cut[:, 2, 3] == 0).all()  # the gate re-weights prior edges; it cannot create AU-impossible ones


def test_dynamic_gate_is_permutation_equivariant():
    torch.manual_seed(4)
    dyn = AUGuidedAdjacency(6, 8, None, "dynamic")
    x = torch.randn(1, 6, 8)
    perm = torch.randperm(6)
    torch.testing.assert_close(dyn.gate(x[:, perm]), dyn.gate(x)[:, perm][:, :, perm])


def test_top_k_keeps_k_edges_per_row_with_the_self_loop():
    a = torch.rand(2, 6, 6) + 0.1
    a[:, torch.arange(6), torch.arange(6)] = 0.01  # the weakest entry of each row: still kept
    kept = top_k_rows(a, 3)
    assert ((kept > 0).sum(-1) == 3).all()
    assert (torch.diagonal(kept, dim1=-2, dim2=-1) > 0).all()
    off = a.masked_fill(torch.eye(6, dtype=torch.bool), -1)
    second_best = off.topk(2, dim=-1).values
    torch.testing.assert_close(kept.sum(-1), second_best.sum(-1) + 0.01)
    assert top_k_rows(a, 6) is a
    sparse = AUGuidedAdjacency(6, 8, None, "dynamic", top_k=2)(torch.randn(1, 6, 8))
    assert ((sparse > 0).sum(-1) == 2).all()


def test_adjacency_errors():
    with pytest.raises(ValueError, match="adjacency must be one of"):
        AUGuidedAdjacency(4, 8, mode="knn")
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        AUGuidedAdjacency(4, 8, top_k=0)
    with pytest.raises(ValueError, match="built for 4 ROIs, got 3"):
        AUGuidedAdjacency(4, 8)(torch.randn(1, 3, 8))
