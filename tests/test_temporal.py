"""Temporal branch: frame encoder, positions, transformer with padding, attention pooling."""

from __future__ import annotations

import math

import pytest
import torch

from stag.models.layers import MagnitudePrior
from stag.models.temporal import FrameEncoder, TemporalAttentionPool, TemporalEncoder, TemporalPositions, sinusoidal_positions


@pytest.mark.parametrize("prior", [None, MagnitudePrior()])
def test_single_keyframe_gets_weight_exactly_one(prior):
    pool = TemporalAttentionPool(8, prior)
    x = torch.randn(3, 1, 8)
    y, w = pool(x, torch.ones(3, 1, dtype=torch.bool), torch.rand(3, 1))
    assert torch.equal(w, torch.ones(3, 1))
    torch.testing.assert_close(y, x[:, 0])
    # One real keyframe among padding: also exactly 1.
    mask = torch.tensor([[False, True, False]])
    _, w = pool(torch.randn(1, 3, 8), mask, torch.rand(1, 3))
    assert torch.equal(w, torch.tensor([[0.0, 1.0, 0.0]]))


def test_magnitude_prior_is_an_additive_log_prior():
    pool = TemporalAttentionPool(8, MagnitudePrior(eps=0.05))
    with torch.no_grad():
        pool.score[-1].weight.zero_()  # no content score: the prior alone decides
    m = torch.tensor([[0.0, 0.5, 1.0, 0.9]])
    mask = torch.tensor([[True, True, True, False]])
    _, w = pool(torch.randn(1, 4, 8), mask, m)
    expected = torch.tensor([[0.05, 0.55, 1.05, 0.0]])
    torch.testing.assert_close(w, expected / expected.sum())
    with torch.no_grad():
        pool.prior.strength.fill_(2.0)  # strength s: weights proportional to (m + eps)^s
    _, w = pool(torch.randn(1, 4, 8), mask, m)
    torch.testing.assert_close(w, expected**2 / (expected**2).sum())


def test_without_prior_magnitudes_are_ignored():
    pool = TemporalAttentionPool(8, None)
    x, mask = torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool)
    torch.testing.assert_close(pool(x, mask, torch.rand(2, 5))[1], pool(x, mask, torch.rand(2, 5))[1])
    with torch.no_grad():
        pool.score[-1].weight.zero_()
    torch.testing.assert_close(pool(x, mask)[1], torch.full((2, 5), 0.2))


def test_pool_with_prior_needs_magnitudes():
    with pytest.raises(ValueError, match="needs magnitudes"):
        TemporalAttentionPool(8, MagnitudePrior())(torch.randn(1, 2, 8))
    with pytest.raises(ValueError, match="eps must be > 0"):
        MagnitudePrior(0.0)


def test_sinusoidal_positions_known_values():
    pe = sinusoidal_positions(50, 6)
    assert pe.shape == (50, 6)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(pe[3, :2], torch.tensor([math.sin(3.0), math.cos(3.0)]))
    assert sinusoidal_positions(4, 5).shape == (4, 5)


def test_positions_learned_limit_and_kinds():
    learned = TemporalPositions(8, "learned", max_len=4)
    assert learned(torch.zeros(1, 4, 8)).abs().sum() > 0
    with pytest.raises(ValueError, match="K=5 keyframes exceeds max_keyframes=4"):
        learned(torch.zeros(1, 5, 8))
    assert TemporalPositions(8, "sinusoidal").table is None
    with pytest.raises(ValueError, match="positions must be one of"):
        TemporalPositions(8, "rope")


@pytest.mark.parametrize("size", [16, 40, 64, 128])
def test_frame_encoder_any_size(size):
    assert FrameEncoder(3, 24)(torch.randn(2, 3, size, size)).shape == (2, 24)


def test_temporal_encoder_masks_padding_and_uses_order():
    torch.manual_seed(0)
    enc = TemporalEncoder(3, 16, layers=2, heads=2, dropout=0.0).eval()
    flows = torch.randn(1, 3, 3, 16, 16)
    mask = torch.tensor([[True, True, False]])
    tokens, att = enc(flows, mask, return_attention_weights=True)
    assert tokens.shape == (1, 3, 16) and att.shape == (1, 2, 3, 3)
    assert (att[..., 2] == 0).all()
    noisy = flows.clone()
    noisy[:, 2] = 50.0
    torch.testing.assert_close(enc(noisy, mask)[:, :2], tokens[:, :2])
    # Positions make the encoder order-aware: swapping keyframes is not a plain permutation.
    swapped = enc(flows[:, [1, 0, 2]], mask)
    assert (swapped[:, [1, 0]] - tokens[:, :2]).abs().max() > 1e-4


def test_temporal_encoder_errors():
    with pytest.raises(ValueError, match="temporal layers must be >= 1"):
        TemporalEncoder(3, 16, layers=0)


def test_stag_at_the_apex_keyframe_alone_and_with_noisy_padding():
    # The invariants the temporal chapter relies on, on a whole (untrained) STAG: one
    # keyframe (the apex) gets temporal weight exactly 1, and padded keyframes, even full of
    # noise, get weight exactly 0 and leave the logits unchanged.
    from stag.models import build
    from stag.models.baselines import apex_flow
    from stag.models.inputs import apex_keyframe
    from _model_inputs import make_inputs

    torch.manual_seed(0)
    model = build("stag", num_classes=3, in_channels=3, num_rois=16, dim=16, heads=2, dropout=0.0).eval()
    flows, rois, key_mask, mags = make_inputs(4, 5, valid=[5, 3, 1, 4], seed=3)
    apex = apex_keyframe(key_mask, mags)
    assert apex.tolist() == [int(torch.argmax(mags[b, :n])) for b, n in enumerate([5, 3, 1, 4])]
    rows = torch.arange(len(apex))
    assert torch.equal(flows[rows, apex], apex_flow(flows, key_mask, mags))
    pad = 3
    padded = (torch.cat([flows, torch.randn(4, pad, *flows.shape[2:]) * 3], 1), rois,
              torch.cat([key_mask, torch.zeros(4, pad, dtype=torch.bool)], 1), torch.cat([mags, torch.ones(4, pad)], 1))
    with torch.no_grad():
        k1 = model.forward_details(flows[rows, apex][:, None], rois, torch.ones(4, 1, dtype=torch.bool),
                                   mags[rows, apex][:, None])
        base = model.forward_details(flows, rois, key_mask, mags)
        out = model.forward_details(*padded)
    assert torch.equal(k1.temporal_attention, torch.ones(4, 1)) and k1.logits.shape == (4, 3)
    assert float(out.temporal_attention[:, 5:].abs().max()) == 0.0
    # float32 rounding of a longer sequence: measured 1.8e-7 (AVX-512) and 2.4e-7 (AVX2) on logits
    # up to 0.84, 40x below this tolerance.
    torch.testing.assert_close(out.logits, base.logits, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="apex_keyframe"):
        apex_keyframe(key_mask[:, :2], mags)
