"""Tests for stag/explain/scores.py: localisation, pointing game, ROI ranks, curve areas."""

from __future__ import annotations

import numpy as np
import pytest

from stag.explain import scores


def _masks(h: int = 64, w: int = 64) -> np.ndarray:
    """Two AU masks: a brow strip and a mouth-corner blob, about 8 % of the image."""
    m = np.zeros((2, h, w), dtype=bool)
    m[0, 10:16, 12:52] = True
    m[1, 44:52, 40:52] = True
    return m


def test_pixel_map_reductions_and_channels():
    attr = np.zeros((2, 3, 4, 4))
    attr[0, 0, 1, 1] = 2.0   # u pushes up
    attr[1, 1, 1, 1] = -0.5  # v pulls down at the same pixel: net +1.5
    attr[0, 2, 3, 3] = -1.0  # strain against at another pixel
    pos = scores.pixel_map(attr)
    assert pos[1, 1] == pytest.approx(1.5) and pos[3, 3] == 0.0
    assert scores.pixel_map(attr, reduce="absolute")[1, 1] == pytest.approx(2.5)
    assert scores.pixel_map(attr, reduce="signed")[3, 3] == pytest.approx(-1.0)
    assert scores.pixel_map(attr, reduce="absolute", channels=[2]).sum() == pytest.approx(1.0)
    # A padded keyframe is dropped.
    assert scores.pixel_map(attr, key_mask=np.array([True, False]))[1, 1] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="reduce"):
        scores.pixel_map(attr, reduce="max")


def test_localisation_random_map_has_lift_one_and_oracle_is_high():
    masks = _masks()
    lifts = [scores.localisation_score(scores.random_map((64, 64), s), masks).lift for s in range(20)]
    assert np.mean(lifts) == pytest.approx(1.0, abs=0.05)
    oracle = scores.localisation_score(scores.oracle_map(masks), masks)
    area = scores.union_mask(masks).mean()
    assert oracle.inside_share == pytest.approx(1.0)
    assert oracle.area_share == pytest.approx(area)
    assert oracle.lift == pytest.approx(1.0 / area)
    assert oracle.lift > 10


def test_localisation_half_inside_and_errors():
    masks = _masks()
    amap = np.zeros((64, 64))
    amap[12, 20] = 1.0  # inside the brow mask
    amap[30, 30] = 1.0  # outside
    loc = scores.localisation_score(amap, masks)
    assert loc.inside_share == pytest.approx(0.5)
    with pytest.raises(ValueError, match="different grids"):
        scores.localisation_score(np.ones((32, 32)), masks)
    with pytest.raises(ValueError, match="non-negative"):
        scores.localisation_score(-np.ones((64, 64)), masks)
    assert np.isnan(scores.localisation_score(np.zeros((64, 64)), masks).lift)


def test_pointing_game_hits_inside_and_tolerance():
    masks = _masks()
    amap = np.zeros((64, 64))
    amap[13, 30] = 5.0
    hit, chance = scores.pointing_game(amap, masks, tolerance=0)
    assert hit and chance == pytest.approx(scores.union_mask(masks).mean())
    amap = np.zeros((64, 64))
    amap[17, 30] = 5.0  # one row below the brow strip (rows 10..15)
    assert not scores.pointing_game(amap, masks, tolerance=1)[0]
    assert scores.pointing_game(amap, masks, tolerance=2)[0]
    # A flat map points nowhere.
    assert not scores.pointing_game(np.ones((64, 64)), masks)[0]
    # Random maps hit at about the chance rate.
    hits = [scores.pointing_game(scores.random_map((64, 64), s), masks, tolerance=0)[0] for s in range(400)]
    assert np.mean(hits) == pytest.approx(chance, abs=0.05)


def test_roi_mass_and_truth_per_roi_rank_agreement():
    masks = _masks()
    rois = np.array([[12, 8, 52, 18], [40, 42, 54, 54], [0, 28, 20, 40]], dtype=np.float32)  # brow, mouth, cheek
    truth = scores.au_truth_per_roi(masks, (2, 12), {2: 1.0, 12: 3.0}, rois)
    assert truth[2] == 0.0 and truth[1] > truth[0] > 0
    # Mouth box: 8x12 of its 12x14 pixels covered by AU12 at 3 px.
    assert truth[1] == pytest.approx(3.0 * 96 / 168)
    amap = 1.0 * masks[0] + 3.0 * masks[1]
    importance = scores.roi_mass(amap, rois)
    assert scores.rank_agreement(importance, truth) == pytest.approx(1.0)
    assert scores.rank_agreement(-importance, truth) == pytest.approx(-1.0)
    assert np.isnan(scores.rank_agreement(np.ones(3), truth))
    assert scores.roi_mass(amap, rois, density=False)[1] == pytest.approx(3.0 * 96)
    with pytest.raises(ValueError, match="au_ids"):
        scores.au_truth_per_roi(masks, (2,), {}, rois)


def test_curve_auc():
    x = np.linspace(0, 1, 11)
    assert scores.curve_auc(x, np.ones(11)) == pytest.approx(1.0)
    assert scores.curve_auc(x, 1 - x) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        scores.curve_auc(x, np.ones(3))


def test_map_agreement_is_one_for_monotone_maps_and_zero_for_independent():
    rng = np.random.default_rng(0)
    a = rng.random((5, 16, 16))
    table = scores.map_agreement({"a": a, "a_cubed": a ** 3, "other": rng.random((5, 16, 16)), "neg": -a})
    assert table.loc["a", "a_cubed"] == pytest.approx(1.0)
    assert table.loc["a", "neg"] == pytest.approx(-1.0)
    assert abs(table.loc["a", "other"]) < 0.1
    with pytest.raises(ValueError, match="same clips"):
        scores.map_agreement({"a": a, "b": a[:2]})
