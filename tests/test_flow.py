"""Optical flow, strain and the flow stack against known displacements."""

import numpy as np
import pytest

from stag.preprocess.flow import (FLOW_METHODS, compute_flow, endpoint_error, flow_channels, flow_magnitude,
                                  flow_stack, flow_to_rgb, normalise_stack, optical_strain, resize_stack,
                                  warp_image)
from stag.preprocess.prepared import FLOW_CHANNELS


@pytest.fixture(scope="module")
def texture():
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (96, 96)).astype(np.float32), (0, 0), 2.5)
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def _shifted(texture, dx, dy):
    true = np.zeros((*texture.shape, 2), np.float32)
    true[..., 0], true[..., 1] = dx, dy
    return warp_image(texture, true), true


@pytest.mark.parametrize("method", ["tvl1", "tvl1_default"])
def test_tvl1_recovers_translation_within_0_2_px(texture, method):
    second, _ = _shifted(texture, 1.3, -0.7)
    flow = compute_flow(texture, second, method)[12:-12, 12:-12]
    assert flow.shape[-1] == 2 and flow.dtype == np.float32
    assert abs(np.median(flow[..., 0]) - 1.3) < 0.2
    assert abs(np.median(flow[..., 1]) + 0.7) < 0.2
    assert np.abs(flow.reshape(-1, 2) - [1.3, -0.7]).max(0).mean() < 0.6


@pytest.mark.parametrize("method", ["dis", "dis_medium", "farneback"])
def test_other_methods_point_the_right_way(texture, method):
    second, true = _shifted(texture, -0.9, 1.6)
    flow = compute_flow(texture, second, method)
    assert endpoint_error(flow[12:-12, 12:-12], true[12:-12, 12:-12]) < 0.3


def test_every_preset_runs_and_rgb_input_is_accepted(texture):
    rgb = np.repeat(texture[..., None], 3, axis=2)
    for method in FLOW_METHODS:
        assert compute_flow(rgb, rgb, method).shape == (96, 96, 2)


def test_unknown_method_and_shape_mismatch_raise(texture):
    with pytest.raises(ValueError, match="flow method 'raft' unknown"):
        compute_flow(texture, texture, "raft")
    with pytest.raises(ValueError, match="differ in shape"):
        compute_flow(texture, texture[:50], "dis")
    with pytest.raises(ValueError, match="parameter 'bogus' unknown"):
        compute_flow(texture, texture, "tvl1", bogus=1)


def test_strain_is_zero_for_translation_and_rotation_and_known_for_stretch():
    h = w = 40
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    trans = np.stack([np.full_like(xx, 2.0), np.full_like(xx, -1.0)], -1)
    assert np.abs(optical_strain(trans)).max() < 1e-6
    theta = 0.01  # small rigid rotation: antisymmetric gradient, no strain
    rot = np.stack([-theta * (yy - 20), theta * (xx - 20)], -1)
    assert np.abs(optical_strain(rot)).max() < 1e-6
    s = 0.02  # uniform stretch: e_xx = e_yy = s -> sqrt(2) s
    stretch = np.stack([s * xx, s * yy], -1)
    assert np.allclose(optical_strain(stretch), np.sqrt(2) * s, atol=1e-6)


def test_channels_follow_flow_channels_order():
    f = np.zeros((8, 8, 2), np.float32)
    f[..., 0], f[..., 1] = 3.0, 4.0
    c4 = flow_channels(f, 4)
    assert FLOW_CHANNELS[:4] == ("u", "v", "strain", "magnitude")
    assert c4.shape == (4, 8, 8)
    assert np.allclose(c4[0], 3) and np.allclose(c4[1], 4) and np.allclose(c4[2], 0) and np.allclose(c4[3], 5)
    assert flow_channels(f, 2).shape == (2, 8, 8)
    with pytest.raises(ValueError, match="channels=5"):
        flow_channels(f, 5)
    assert np.allclose(flow_magnitude(f), 5)


def test_flow_stack_shape(texture):
    second, _ = _shifted(texture, 1.0, 0.0)
    stack = flow_stack(texture, np.stack([texture, second]), method="dis", channels=3)
    assert stack.shape == (2, 3, 96, 96) and stack.dtype == np.float32
    assert np.abs(stack[0, :2]).mean() < 0.05  # identical frames: no motion
    assert abs(np.median(stack[1, 0]) - 1.0) < 0.2


def test_resize_stack_scales_displacements_not_strain():
    stack = np.zeros((2, 4, 64, 64), np.float32)
    stack[:, 0], stack[:, 1], stack[:, 2], stack[:, 3] = 2.0, -1.0, 0.3, np.sqrt(5)
    small = resize_stack(stack, 32)
    assert small.shape == (2, 4, 32, 32)
    assert np.allclose(small[:, 0], 1.0) and np.allclose(small[:, 1], -0.5)
    assert np.allclose(small[:, 2], 0.3) and np.allclose(small[:, 3], np.sqrt(5) / 2)


def test_normalise_and_colour_coding():
    stack = np.random.default_rng(1).normal(0, 4, (2, 3, 8, 8)).astype(np.float32)
    assert np.allclose(normalise_stack(stack, "none"), stack)
    assert np.allclose(normalise_stack(stack, "std").std(axis=(0, 2, 3)), 1, atol=1e-4)
    assert np.abs(normalise_stack(stack, "clip", 1.0)).max() <= 1.0
    with pytest.raises(ValueError):
        normalise_stack(stack, "minmax")
    f = np.zeros((4, 4, 2), np.float32)
    f[..., 0] = 1.0
    rgb = flow_to_rgb(f)
    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 255 and rgb[0, 0, 1] < 10  # rightward motion is red


def test_warp_pairs_have_known_answer():
    from stag.bench.flow import measure, warp_pairs

    pairs = warp_pairs(2, 96, max_px=1.5, seed=3)
    table = measure(pairs, ("dis", "tvl1"), min_time=0.0)
    assert set(table["method"]) == {"dis", "tvl1"}
    assert (table["epe"] < 0.5).all()  # both track a smooth 1.5 px field to a fraction of a pixel
    assert (table["pairs_per_s"] > 0).all()


def test_smoothed_strain_keeps_the_known_answers():
    yy, xx = np.mgrid[0:40, 0:40].astype(np.float32)
    trans = np.stack([np.full_like(xx, 2.0), np.full_like(xx, -1.0)], -1)
    assert np.abs(optical_strain(trans, sigma=2.0)).max() < 1e-6
    stretch = np.stack([0.02 * xx, 0.02 * yy], -1)
    assert np.allclose(optical_strain(stretch, sigma=2.0)[8:-8, 8:-8], np.sqrt(2) * 0.02, atol=1e-5)
    noisy = trans + np.random.default_rng(0).normal(0, 0.2, trans.shape).astype(np.float32)
    assert optical_strain(noisy, sigma=2.0).mean() < 0.3 * optical_strain(noisy).mean()


def test_flow_findings_follow_the_table():
    import pandas as pd

    from stag.bench.flow import flow_sentences, method_summary

    rows = []
    for method, epe, speed, diff in (("dis", 0.10, 300.0, 0.2), ("tvl1", 0.20, 30.0, 0.05),
                                     ("tvl1_default", 0.25, 10.0, 0.0)):
        for s in ("synthetic apex", "warp"):
            rows.append({"method": method, "set": s, "epe": epe, "pairs_per_s": speed, "diff_vs_tvl1_default": diff})
    table = pd.DataFrame(rows)
    assert method_summary(table).index.tolist() == ["dis", "tvl1", "tvl1_default"]
    text = flow_sentences(table, "dis")
    assert text.splitlines() == [
        "- The default flow method is `dis`: rank 1 of 3 by end-point error on the synthetic apex pairs.",
        "- Against `tvl1`: EPE 0.100 px against 0.200 px, at 10x the speed.",
        "- Against `tvl1_default`: EPE 0.100 px against 0.250 px, at 30x the speed.",
        "- Tuned TV-L1 stays within 0.050 px of default TV-L1 at 3.0x its speed.",
    ]


def test_strongest_pair_panel_picks_the_largest_facial_motion_not_the_head_drift():
    from stag.bench.flow import strongest_pair_panel, warp_pairs

    pairs = warp_pairs(3, 64, seed=0)
    pairs[1].flow = pairs[1].flow * 3  # the truth only: this pair now has the largest local motion
    # a pure head shift is the largest total motion, but none of it is facial
    pairs[2].flow = np.full_like(pairs[2].flow, 5.0)
    panel = strongest_pair_panel(pairs, ("dis",), strain_sigma=1.0)
    assert panel.index == 1 and panel.pair is pairs[1]
    assert set(panel.flows) == set(panel.local) == set(panel.strain) == {"dis", "truth"}
    assert panel.flows["dis"].shape == panel.local["dis"].shape == (64, 64, 2) and panel.strain["dis"].shape == (64, 64)
    # the head motion (an affine fit inside the mask) is removed from the local flows
    shifted = strongest_pair_panel([pairs[2]], ("dis",))
    assert np.abs(shifted.local["truth"][pairs[2].mask]).max() < 1e-4
    with pytest.raises(ValueError, match="no flow pairs"):
        strongest_pair_panel([])


def test_panel_agreement_and_sentences():
    from stag.bench.flow import FlowPair, FlowPanel, panel_agreement, panel_sentences

    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    local = np.stack([np.sin(xx / 5), np.cos(yy / 7)], -1).astype(np.float32)
    truth = local + np.float32(0.5)  # a head shift on top of the facial movement
    mask = np.zeros((32, 32), bool)
    mask[4:28, 4:28] = True
    noisy = local + np.random.default_rng(0).normal(0, 0.3, local.shape).astype(np.float32)
    pair = FlowPair(np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8), truth, mask)
    strain = {"good": np.abs(xx - 16), "bad": np.abs(xx - 16) + 30 * np.random.default_rng(1).random((32, 32)),
              "truth": np.abs(xx - 16)}
    panel = FlowPanel(0, pair, {"good": truth, "bad": noisy + np.float32(0.5), "truth": truth},
                      {"good": local, "bad": noisy, "truth": local}, strain)
    a = panel_agreement(panel)
    assert list(a.index) == ["good", "bad"]
    assert a.loc["good", "epe"] == 0 and a.loc["good", "r_strain"] == pytest.approx(1)
    assert a.loc["bad", "r_strain"] < 0.9 and a.loc["bad", "epe_local"] > 0.2
    text = panel_sentences(panel, a, "s/01")
    assert text.startswith("- In `s/01`, the true displacement inside the face averages")
    assert "The strain of `good` follows the true strain most closely and that of `bad` least" in text