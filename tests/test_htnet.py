"""HTNet-like baseline: the published configuration's size and cost, the interface, the regions."""

from __future__ import annotations

import pytest
import torch

from _model_inputs import make_inputs
from stag.bench.model import count_flops, example_inputs
from stag.models import HTNet, build, count_parameters, liveness
from stag.models.htnet import PUBLISHED_TRAINING, SIZES, HTNetConfig, facial_regions


@pytest.fixture(scope="module")
def published():
    torch.manual_seed(0)
    return build("htnet").eval()


def test_published_configuration_matches_the_public_code():
    cfg = SIZES["published"]
    assert (cfg.image_size, cfg.patch_size, cfg.dim, cfg.heads, cfg.num_hierarchies, cfg.block_repeats,
            cfg.mlp_mult) == (28, 7, 256, 3, 3, (2, 2, 10), 4)
    assert PUBLISHED_TRAINING == {"optimizer": "adam", "lr": 5e-5, "batch_size": 256, "epochs": 800}


def test_published_size_has_139_6_m_parameters_and_0_43_gflop(published):
    assert count_parameters(published) == pytest.approx(139.6e6, rel=0.01)
    flops = count_flops(published, example_inputs(1, 1, 64))
    assert flops == pytest.approx(0.43e9, rel=0.10)


def test_forward_shape_at_k1(published):
    flows, rois, key_mask, mags = make_inputs(2, 1, size=64)
    with torch.no_grad():
        out = published.forward_details(flows, rois, key_mask, mags)
    assert out.logits.shape == (2, 3) and torch.isfinite(out.logits).all()
    assert out.embedding.shape == (2, 1024) and out.au_logits is None


def test_tiny_size_trains_and_keeps_the_layout():
    torch.manual_seed(0)
    model = build("htnet", size="tiny", num_aus=2).train()
    assert count_parameters(model) < 500_000
    assert [t.layers.__len__() for t in model.transformers] == [1, 1, 1]
    assert all(t.positions is None for t in model.transformers)  # one token per block: no position
    flows, rois, key_mask, mags = make_inputs(4, 1, size=32, seed=1)

    def loss(out):
        return torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 1, 2, 0])) + out.au_logits.sum()

    assert not liveness.dead_parameters(model, (flows, rois, key_mask, mags), loss)


def test_blocks_of_several_tokens_learn_their_positions():
    model = build("htnet", size="tiny", num_hierarchies=2, block_repeats=(1, 1))  # 2x2 tokens per block
    # Below the top the aggregate convolution mixes tokens; at the top a LayerNorm would remove them.
    assert tuple(model.transformers[0].positions.shape) == (4,) and model.transformers[1].positions is None
    assert not liveness.dead_parameters(model, make_inputs(2, 1, size=32, seed=1))


def test_regions_are_the_eyes_on_top_and_the_mouth_corners_below():
    face = torch.zeros(1, 1, 28, 28)
    face[..., 4:18, 3:17] = 1.0  # a block covering the left-eye region (centre x=10, y=11)
    tiles = facial_regions(face)
    assert tiles.shape == (1, 1, 28, 28)
    assert tiles[..., :14, :14].mean() == 1.0  # top-left tile: left eye
    assert tiles[..., 14:, :].mean() < 0.2  # mouth corners lie outside the block
    scaled = facial_regions(torch.zeros(2, 3, 56, 56))
    assert scaled.shape == (2, 3, 56, 56)


def test_only_the_apex_keyframe_is_read():
    torch.manual_seed(0)
    model = build("htnet", size="tiny").eval()
    flows, rois, key_mask, mags = make_inputs(1, 3, size=32, seed=2)
    apex = int(mags.argmax())
    changed = flows.clone()
    changed[:, [i for i in range(3) if i != apex]] += 5.0
    with torch.no_grad():
        torch.testing.assert_close(model(flows, rois, key_mask, mags), model(changed, rois, key_mask, mags))


@pytest.mark.parametrize("kwargs, match", [
    (dict(size="huge"), "size must be one of"),
    (dict(size="tiny", depth=3), "unknown HTNet option"),
    (dict(size="tiny", patch_size=5), "patch_size=5 must divide"),
    (dict(size="tiny", block_repeats=(1, 1)), "block_repeats"),
    (dict(size="tiny", image_size=30), "multiple of 4"),
    (dict(size="tiny", in_channels=2), "in_channels=2"),
    (dict(size="tiny", num_classes=1), "num_classes"),
])
def test_invalid_configs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build("htnet", **kwargs)


def test_overrides_replace_fields_of_the_size():
    model = HTNet(size="tiny", dim=16, heads=1)
    assert model.config == HTNetConfig(dim=16, heads=1, block_repeats=(1, 1, 1), mlp_mult=2)
