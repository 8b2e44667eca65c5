"""Figures of the first five chapters (stag.viz.keyframes, flow, graph, attention): they draw
what they are given, on readable scales, with readable labels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from stag.faces import ROI_NAMES  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_spotting_draws_every_curve_of_a_trace():
    from types import SimpleNamespace

    from stag.bench.synthetic_checks import SpottingTrace
    from stag.preprocess.keyframes import select_keyframes
    from stag.viz.keyframes import plot_spotting

    t = np.arange(40)
    curve = np.exp(-0.5 * ((t - 20) / 4.0) ** 2) * 0.1 + t * 0.001
    kf = select_keyframes(curve, 4, 2, 35, smoothing=1.0)
    trace = SpottingTrace("s/01", curve, np.linspace(0, 0.04, 40), kf.curve, kf)
    blink = np.zeros(40)
    blink[30:34] = 1
    clip = SimpleNamespace(clip_id="s/01", emotion="happiness", aus=(12,), onset=2, apex=20, offset=35,
                           truth={"intensity": np.exp(-0.5 * ((t - 20) / 5.0) ** 2), "blink": blink,
                                  "macro": np.zeros(40)})
    fig = plot_spotting([trace, trace], [clip, clip], ["typical clip", "worst clip"])
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_title().startswith("typical clip: s/01 (happiness, AUs 12)")
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    for expected in ("motion before detrending", "line subtracted by detrending",
                     "motion after detrending (spotted on)", "spotted apex", "keyframes", "blink (true, scaled)"):
        assert expected in labels
    assert axes[1].get_legend() is None  # one legend for the figure


def test_plot_flow_panels_scales_on_the_truth_inside_the_mask():
    from stag.viz.flow import plot_flow_panels

    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    truth = np.stack([np.sin(xx / 4), np.cos(yy / 4)], -1).astype(np.float32)
    wild = truth * 5  # an estimate that exaggerates: it must not set the scale
    mask = np.zeros((32, 32), bool)
    mask[4:28, 4:28] = True
    strain = {"est": np.full((32, 32), 3.0), "truth": np.abs(xx - 16) / 16}
    fig = plot_flow_panels(np.zeros((32, 32), np.uint8), {"est": wild, "truth": truth}, strain, mask=mask)
    top = np.percentile(np.linalg.norm(truth, axis=-1)[mask], 99)
    assert f"full at {top:.2f} px (the 99th percentile of the truth inside the face)" in fig._suptitle.get_text()
    strain_im = fig.axes[4 + 1].images[0]  # second row: key, est, truth
    assert strain_im.get_clim()[1] == pytest.approx(np.percentile(strain["truth"][mask], 99))
    # outside the mask is covered by an opaque grey layer
    overlay = fig.axes[1].images[-1].get_array()
    assert overlay[0, 0, 3] == 1 and overlay[16, 16, 3] == 0


def test_roi_heat_maps_have_readable_labels():
    from stag.viz.attention import plot_cross_attention
    from stag.viz.graph import TICK_SIZE, plot_adjacency_comparison, plot_graph_attention

    n = len(ROI_NAMES)
    prior = np.eye(n) * 0.5 + 0.5
    prior[0, 1] = prior[1, 0] = 0
    fig = plot_adjacency_comparison(prior, prior * 1.1, ROI_NAMES)
    assert len([a for a in fig.axes if a.get_title()]) == 2  # prior and re-weighting
    first = fig.axes[0]
    assert first.get_yticklabels()[0].get_text() == "inner brow R"
    assert all(t.get_fontsize() >= TICK_SIZE for t in first.get_xticklabels())
    assert fig.get_figwidth() <= 12
    att = np.random.default_rng(0).dirichlet(np.ones(n), size=(4, n))
    fig = plot_graph_attention(att, ROI_NAMES)
    heads = [a for a in fig.axes if a.get_title().startswith("head")]
    assert len(heads) == 4 and fig.get_figwidth() <= 12
    assert sum(bool(a.get_yticklabels()) for a in heads) == 2  # left column only
    g2t = np.full((4, n, 8), 1 / 8)
    t2g = np.full((4, 8, n), 1 / n)
    fig = plot_cross_attention(g2t, t2g, ROI_NAMES, key_labels=range(8))
    assert fig.get_figwidth() <= 12
    assert all(t.get_fontsize() >= 9 for t in fig.axes[0].get_yticklabels())


def test_plot_efficiency_labels_do_not_overlap():
    from stag.viz.attention import plot_efficiency

    names = ["stag", "stag_static_adj", "stag_no_mag_prior", "stag_late_fusion", "ststnet", "ststnet_64",
             "ststnet_stack", "htnet"]
    params = [3.36e5, 3.36e5, 3.36e5, 2.7e5, 1.3e3, 6e3, 2.7e3, 1.4e8]
    ms = [4.4, 4.8, 5.2, 4.0, 0.4, 0.8, 0.6, 70.0]
    table = pd.DataFrame({"model": names, "params": params, "ms_per_clip": ms, "size": 128, "K": 8, "batch": 1})
    ax = plot_efficiency(table)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]  # the text alone, not its leader line
    assert sorted(t.get_text() for t in ax.texts) == sorted(names)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two labels overlap"
