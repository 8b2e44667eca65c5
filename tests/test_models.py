"""The model registry: every model honours the uniform interface; STAG's ablation switches
each change the computation; invalid configurations fail clearly; STAG can fit a tiny batch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from _model_inputs import make_inputs
from stag.models import STAG, ModelOutput, STAGConfig, build, count_parameters, list_models, liveness

ALL = list_models()
STAG_MODELS = [m for m in ALL if m.startswith("stag")]
N = 16


def _build(name, **kw):
    torch.manual_seed(0)
    kw.setdefault("num_rois", N)
    if name.startswith("stag"):
        kw.setdefault("dropout", 0.0)
    if name == "htnet":
        kw.setdefault("size", "tiny")  # the published size has 139.6 M parameters (tests/test_htnet.py)
    return build(name, **kw).eval()


def test_registry_lists_the_planned_models():
    for name in ("stag", "stag_no_graph", "stag_no_temporal", "stag_late_fusion", "stag_static_adj",
                 "stag_no_mag_prior", "ststnet", "offapexnet"):
        assert name in ALL


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("k", [1, 4, 8])
def test_output_shapes(name, k):
    model = _build(name, num_classes=5, num_aus=7)
    flows, rois, key_mask, mags = make_inputs(2, k, size=32)
    logits = model(flows, rois, key_mask, mags)
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()
    out = model.forward_details(flows, rois, key_mask, mags)
    assert isinstance(out, ModelOutput)
    torch.testing.assert_close(out.logits, logits)
    assert out.au_logits.shape == (2, 7)
    expected = {"adjacency": (2, N, N), "graph_attention": (2, 4, N, N), "temporal_attention": (2, k),
                "node_embeddings": (2, N, 64), "node_keyframe_attention": (2, N, k), "node_attention": (2, N),
                "cross_graph_to_time": (2, 4, N, k), "cross_time_to_graph": (2, 4, k, N)}
    for field, shape in expected.items():
        value = getattr(out, field)
        if value is not None:
            assert tuple(value.shape) == shape, field
    if name == "stag":
        assert set(expected) <= set(out.available())
    if out.temporal_attention is not None:
        torch.testing.assert_close(out.temporal_attention.sum(-1), torch.ones(2))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", [16, 48, 64, 128])
def test_any_image_size(name, size):
    model = _build(name)
    logits = model(*make_inputs(1, 2, size=size))
    assert logits.shape == (1, 3)


@pytest.mark.parametrize("name", ALL)
def test_padded_keyframe_does_not_change_output(name):
    model = _build(name)
    flows, rois, key_mask, mags = make_inputs(2, 3, seed=1)
    with torch.no_grad():
        ref = model.forward_details(flows, rois, key_mask, mags)
        # Append two padded keyframes full of noise and with large magnitudes: nothing may leak.
        pad = torch.randn(2, 2, *flows.shape[2:]) * 5
        out = model.forward_details(torch.cat([flows, pad], 1), rois,
                                    torch.cat([key_mask, torch.zeros(2, 2, dtype=torch.bool)], 1),
                                    torch.cat([mags, torch.full((2, 2), 9.0)], 1))
    # float32 rounding of a longer sequence only: measured over every model at most 2.7e-7 on the
    # logits (|logit| <= 1.5) and 6e-8 on the attention, AVX-512 and AVX2 alike; 16x or more below.
    torch.testing.assert_close(out.logits, ref.logits, atol=1e-5, rtol=1e-5)
    if ref.temporal_attention is not None:
        assert (out.temporal_attention[:, 3:] == 0).all()
        torch.testing.assert_close(out.temporal_attention[:, :3], ref.temporal_attention, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_padded_batch_equals_clips_alone(name):
    model = _build(name)
    flows, rois, key_mask, mags = make_inputs(3, 5, valid=[5, 2, 1], seed=2)
    with torch.no_grad():
        batch = model(flows, rois, key_mask, mags)
        for i, v in enumerate([5, 2, 1]):
            alone = model(flows[i:i + 1, :v], rois[i:i + 1], key_mask[i:i + 1, :v], mags[i:i + 1, :v])
            # float32 rounding of another batch shape: measured over every model at most 1.3e-6
            # (AVX-512; 6e-7 AVX2) on logits up to 1.5, 7x or more below the >= 1e-5 allowed.
            torch.testing.assert_close(batch[i:i + 1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_gradients_reach_every_parameter(name):
    # In float64 (stag.models.liveness): a float32 check of grad != 0 passes on rounding noise
    # on some CPUs and fails on others.
    model = _build(name, num_aus=4)
    flows, rois, key_mask, mags = make_inputs(4, 4, valid=[4, 3, 4, 2], seed=3)
    dead = liveness.dead_parameters(model, (flows, rois, key_mask, mags))
    assert not dead, f"{name}: no gradient reaches {dead}"


def test_liveness_flags_a_parameter_that_cannot_learn():
    """A key bias is removed by the softmax over keys: the float64 check calls it dead."""
    from stag.models.layers import MultiHeadAttention

    class _Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = MultiHeadAttention(8, 2)
            self.attn.k.bias = torch.nn.Parameter(torch.randn(8))

        def forward_details(self, x):
            return ModelOutput(logits=self.attn(x, x).mean(1), au_logits=None)

    torch.manual_seed(0)
    sizes = liveness.gradient_sizes(_Probe(), (torch.randn(3, 5, 8),))
    assert liveness.dead_parameters(_Probe(), (torch.randn(3, 5, 8),)) == ["attn.k.bias"]
    assert sizes["attn.k.bias"] < 1e-12 < liveness.DEAD_BELOW < 1e-4 < min(
        v for n, v in sizes.items() if n != "attn.k.bias")


@pytest.mark.parametrize("capability", ["avx2", None])
def test_every_registered_model_is_live_under_both_cpu_capabilities(capability):
    """The liveness check of the whole registry in a fresh process, with torch, MKL and oneDNN
    held to AVX2 kernels and with the machine's best (AVX-512 where the CPU has it)."""
    isa_vars = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")
    env = {k: v for k, v in os.environ.items() if k not in isa_vars}
    if capability:
        # ATEN_CPU_CAPABILITY picks only torch's own kernels; MKL (matmuls) and oneDNN
        # (convolutions) choose theirs from their own variables.
        env.update(ATEN_CPU_CAPABILITY=capability, MKL_ENABLE_INSTRUCTIONS=capability.upper(),
                   ONEDNN_MAX_CPU_ISA=capability.upper())
    done = subprocess.run([sys.executable, "-m", "stag.models.liveness"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    if capability:
        assert "ATen CPU capability: AVX2" in done.stdout
    assert done.stdout.count("every parameter live") == len(ALL)


@pytest.mark.parametrize("name", ALL)
def test_parameter_count_is_small(name):
    n = count_parameters(_build(name))
    # Off-ApexNet-like at 64 px keeps the published 1024-unit dense layer on a 4.7x larger
    # feature map (2 x 16 x 16 x 16), so it alone is larger: the price of the equal-input control.
    # The two-phase control doubles the streams feeding that layer (4 x 16 x 7 x 7): 3.2 M.
    big = {"offapexnet_64": 9_000_000, "offapexnet_stack": 3_500_000}
    assert 1_000 < n < big.get(name, 2_000_000)
    if name.startswith("stag"):
        assert n < 500_000  # "a few hundred k"; HTNet has 139.6 M


def test_rois_matter_only_with_a_graph():
    flows, rois, key_mask, mags = make_inputs(2, 4, seed=4)
    moved = rois.clone()
    moved[..., [0, 2]] += 3.0
    with torch.no_grad():
        for name, matters in (("stag", True), ("stag_no_graph", False), ("stag_no_temporal", True)):
            model = _build(name)
            delta = (model(flows, rois, key_mask, mags) - model(flows, moved, key_mask, mags)).abs().max()
            assert (delta > 1e-4) == matters, name


def test_no_temporal_ignores_flow_outside_the_rois():
    flows, rois, key_mask, mags = make_inputs(1, 3, size=32, seed=5)
    rois = torch.tensor([[[2.0, 2.0, 12.0, 12.0]] * N])
    changed = flows.clone()
    changed[..., 20:, 20:] += 3.0  # far from every ROI (bilinear taps reach one pixel out at most)
    with torch.no_grad():
        for name, sees in (("stag_no_temporal", False), ("stag", True)):
            model = _build(name)
            delta = (model(flows, rois, key_mask, mags) - model(changed, rois, key_mask, mags)).abs().max()
            assert (delta > 1e-4) == sees, name


def test_no_mag_prior_ignores_magnitudes():
    flows, rois, key_mask, mags = make_inputs(2, 4, seed=6)
    other = torch.rand(2, 4) * key_mask
    with torch.no_grad():
        for name, uses in (("stag_no_mag_prior", False), ("stag", True)):
            model = _build(name)
            a = model.forward_details(flows, rois, key_mask, mags)
            b = model.forward_details(flows, rois, key_mask, other)
            assert ((a.logits - b.logits).abs().max() > 1e-5) == uses, name
            assert ((a.temporal_attention - b.temporal_attention).abs().max() > 1e-5) == uses, name


def test_static_adjacency_is_the_prior_for_every_clip():
    prior = np.random.default_rng(0).uniform(0, 3, (N, N)).astype(np.float32)
    flows, rois, key_mask, mags = make_inputs(3, 2, seed=7)
    with torch.no_grad():
        static = _build("stag_static_adj", prior=prior).forward_details(flows, rois, key_mask, mags).adjacency
        dynamic = _build("stag", prior=prior).forward_details(flows, rois, key_mask, mags).adjacency
    expected = torch.from_numpy(prior / prior.max())
    expected.fill_diagonal_(1.0)
    for i in range(3):
        torch.testing.assert_close(static[i], expected)
    assert (dynamic[0] - dynamic[1]).abs().max() > 1e-4  # re-weighted per clip
    assert not torch.allclose(dynamic[0], expected)


def test_late_fusion_keeps_the_branches_apart():
    """With cross-attention, ROI embeddings depend on the temporal encoder; without, they do not."""
    flows, rois, key_mask, mags = make_inputs(2, 4, seed=8)
    for name, coupled in (("stag", True), ("stag_late_fusion", False)):
        model = _build(name)
        with torch.no_grad():
            before = model.forward_details(flows, rois, key_mask, mags).node_embeddings
            model.temporal.frame_encoder.proj.weight.mul_(3.0)
            after = model.forward_details(flows, rois, key_mask, mags).node_embeddings
        assert ((before - after).abs().max() > 1e-4) == coupled, name
    late = _build("stag_late_fusion")
    assert late.cross is None and late.fusion is not None


def test_ablations_remove_their_submodule():
    full = _build("stag")
    assert all(getattr(full, m) is not None for m in ("node_encoder", "connectivity", "graph", "temporal", "cross"))
    assert _build("stag_no_graph").node_encoder is None and _build("stag_no_graph").graph is None
    assert _build("stag_no_temporal").temporal is None and _build("stag_no_temporal").temporal_pool.__class__ is type(None)
    assert _build("stag_static_adj").connectivity.gate is None and full.connectivity.gate is not None
    assert _build("stag_no_mag_prior").temporal_pool.prior is None and full.temporal_pool.prior is not None
    assert _build("stag_no_mag_prior").node_encoder.pool.prior is None
    assert full.au_head is None and _build("stag", num_aus=3).au_head is not None


def test_build_resolves_rois_and_prior_from_the_roi_table():
    from stag.faces import ROI_NAMES, au_prior_adjacency

    model = build("stag", prior="au")
    assert model.config.num_rois == len(ROI_NAMES)
    torch.testing.assert_close(model.connectivity.base, torch.from_numpy(au_prior_adjacency()))
    assert build("stag").config.num_rois == len(ROI_NAMES)
    assert build("stag", prior=np.eye(5)).config.num_rois == 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(heads=3), "heads=3 must divide dim=64"),
    (dict(adjacency="sparse"), "adjacency must be one of"),
    (dict(positions="rotary"), "positions must be one of"),
    (dict(use_graph=False), "cross_attention=True needs both branches"),
    (dict(use_graph=False, use_temporal=False, cross_attention=False), "cannot both be False"),
    (dict(num_classes=1), "num_classes must be >= 2"),
    (dict(dropout=1.0), "dropout"),
    (dict(top_k=0), "top_k"),
    (dict(widht=3), "unknown STAG option"),
    (dict(prior=np.ones((3, 3))), r"prior adjacency must be \(16, 16\)"),
    (dict(prior=-np.ones((16, 16))), "non-negative"),
    (dict(prior="cooc"), "prior must be"),
])
def test_invalid_configs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build("stag", num_rois=N, **kwargs)


def test_invalid_names_and_fixed_switches_raise():
    with pytest.raises(ValueError, match="unknown model 'stagg'"):
        build("stagg")
    with pytest.raises(ValueError, match="fixes use_graph=False"):
        build("stag_no_graph", use_graph=True)
    with pytest.raises(ValueError, match="in_channels"):
        build("ststnet", in_channels=2)


@pytest.mark.parametrize("name", ["stag", "ststnet"])
def test_invalid_inputs_raise_clear_errors(name):
    model = _build(name)
    flows, rois, key_mask, mags = make_inputs(2, 3)
    with pytest.raises(ValueError, match="in_channels=3 but flows have C=2"):
        model(flows[:, :, :2], rois, key_mask, mags)
    with pytest.raises(ValueError, match="key_mask must be bool"):
        model(flows, rois, key_mask.float(), mags)
    with pytest.raises(ValueError, match=r"clip\(s\) \[1\]"):
        model(flows, rois, torch.tensor([[True, False, False], [False] * 3]), mags)
    with pytest.raises(ValueError, match="flows must be a"):
        model(flows[0], rois, key_mask, mags)
    with pytest.raises(ValueError, match="magnitudes"):
        model(flows, rois, key_mask, mags[:, :2])
    if name == "stag":
        with pytest.raises(ValueError, match="num_rois=16 but rois have N=3"):
            model(flows, rois[:, :3], key_mask, mags)


def test_learned_positions_limit_k_and_sinusoidal_do_not():
    flows, rois, key_mask, mags = make_inputs(1, 6, size=16)
    with pytest.raises(ValueError, match="max_keyframes=4"):
        _build("stag", max_keyframes=4)(flows, rois, key_mask, mags)
    assert _build("stag", max_keyframes=4, positions="sinusoidal")(flows, rois, key_mask, mags).shape == (1, 3)


def test_config_round_trip_and_constructor_overrides():
    cfg = STAGConfig(num_rois=N, dim=32, heads=2)
    again = STAGConfig(**cfg.to_dict())
    assert again == cfg
    model = STAG(cfg, use_temporal=False, cross_attention=False)
    assert model.temporal is None and model.config.dim == 32


def test_stag_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = build("stag", num_rois=N, num_classes=3, dim=32, heads=2, dropout=0.0).train()
    flows, rois, key_mask, mags = make_inputs(9, 2, size=24, valid=[2, 1] * 4 + [2], seed=9)
    labels = torch.arange(9) % 3  # arbitrary labels: only memorisation can fit them
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(flows, rois, key_mask, mags), labels)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    model.eval()
    assert (model(flows, rois, key_mask, mags).argmax(1) == labels).all()


def test_efficiency_table_counts_flops_and_times_every_row():
    from stag.bench.model import efficiency_table

    threads = torch.get_num_threads()
    table = efficiency_table(["stag", "ststnet"], sizes=(32,), keyframes=(1, 4), batches=(1,), repeats=2,
                             budget_s=0.05, threads=1)
    assert torch.get_num_threads() == threads  # restored
    assert len(table) == 4 and (table["threads"] == 1).all()
    assert (table["ms_per_clip"] > 0).all() and (table["ms_per_clip"] <= table["ms_per_clip_median"] + 1e-9).all()
    stag = table[table["model"] == "stag"].set_index("K")
    assert stag.loc[4, "gflops_per_clip"] > 2 * stag.loc[1, "gflops_per_clip"] > 0  # cost grows with K
    assert stag["params"].iloc[0] == count_parameters(build("stag", num_rois=N))
    with pytest.raises(ValueError, match="unknown model"):
        efficiency_table(["nope"])


def test_keyframe_attention_table_known_values():
    from stag.models.summaries import keyframe_attention_table

    w = torch.tensor([[0.1, 0.2, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    m = torch.tensor([[0.2, 0.5, 1.0, 0.0], [1.0, 0.4, 0.3, 0.2], [0.7, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, False], [True] * 4, [True, False, False, False]])
    t = keyframe_attention_table(w, m, mask)
    assert t["valid"].tolist() == [3, 4, 1]
    np.testing.assert_allclose(t["apex_weight"], [0.7, 0.25, 1.0])
    np.testing.assert_allclose(t["uniform"], [1 / 3, 0.25, 1.0])
    assert t.loc[0, "spearman"] == pytest.approx(1.0) and t.loc[1, "entropy"] == pytest.approx(1.0)
    assert np.isnan(t.loc[2, "entropy"]) and np.isnan(t.loc[1, "spearman"])  # K=1; constant weights


def test_prior_attention_is_the_magnitude_prior_alone():
    from stag.models.layers import MagnitudePrior
    from stag.models.summaries import attention_vs_prior, prior_attention

    m = torch.tensor([[0.2, 1.0, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    w = prior_attention(m, mask, strength=1.0, eps=0.05)
    np.testing.assert_allclose(w[0, :3], np.array([0.25, 1.05, 0.55]) / 1.85)
    assert w[0, 3] == 0 and w[1].tolist() == [1.0, 0.0, 0.0, 0.0]
    # the same as softmax over the prior's logits, at another strength too
    prior = MagnitudePrior(0.05)
    with torch.no_grad():
        prior.strength.fill_(1.7)
        logits = prior(m[0, :3])
    np.testing.assert_allclose(prior_attention(m[:1, :3], mask[:1, :3], 1.7, 0.05)[0],
                               torch.softmax(logits, 0).numpy(), rtol=1e-5)
    model = torch.tensor([[0.2, 0.6, 0.2, 0.0], [1.0, 0.0, 0.0, 0.0]])
    t = attention_vs_prior(model, m, mask, strength=1.0, eps=0.05)
    np.testing.assert_allclose(t["apex_weight"], [0.6, 1.0])
    np.testing.assert_allclose(t["prior_apex_weight"], [1.05 / 1.85, 1.0])
    np.testing.assert_allclose(t["uniform"], [1 / 3, 1.0])
    assert t.loc[0, "shift"] == pytest.approx(np.abs(model[0, :3].numpy() - w[0, :3]).mean()) and t.loc[1, "shift"] == 0


def test_roi_and_edge_summaries_known_values():
    from stag.models.summaries import adjacency_edges, fusion_gate_table, parameter_table, roi_attention_vs_aus

    att = torch.tensor([[0.5, 0.25, 0.25], [0.2, 0.4, 0.4]])
    loc = roi_attention_vs_aus(att, [(12,), (1, 2)], [(1,), (12,), (4,)])
    assert loc["clip"].tolist() == [0, 1]
    np.testing.assert_allclose(loc["ratio"], [0.25 / 0.375, 0.2 / 0.4])
    prior = np.array([[1.0, 0.5], [0.0, 1.0]])
    adj = torch.tensor([[[1.0, 1.0], [0.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]]])
    edges = adjacency_edges(prior, adj, ["a", "b"])
    first = edges.iloc[0]
    assert (first["to"], first["from"]) == ("a", "b") and first["learned"] == 0.75 and first["ratio"] == 1.5
    assert np.isnan(edges.iloc[1]["ratio"])  # the prior cut b <- a
    gates = fusion_gate_table(torch.tensor([[1.0, 0.0], [0.8, 0.6]]), torch.tensor([0, 1]), ["neg", "pos"])
    np.testing.assert_allclose(gates["graph_share"], [0.5, 0.7])
    np.testing.assert_allclose(gates["features_mostly_graph"], [0.5, 1.0])
    table = parameter_table(_build("stag_no_graph"))
    assert table.loc["graph", "removed"] and not table.loc["temporal", "removed"]
    assert table.loc["total", "parameters"] == count_parameters(_build("stag_no_graph"))

