"""stag.results.explanations: the interpretability chapter's summaries, against hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from stag.results import explanations as report


@pytest.fixture
def localisation():
    # Masks cover a quarter of the image, so the ceiling is 4 for every method.
    return pd.DataFrame({
        "clips": [4, 4, 4, 4], "inside_share": [0.75, 0.50, 0.25, 0.40], "area_share": [0.25] * 4,
        "lift": [3.0, 2.0, 1.0, 1.6], "lift_median": [3.0, 2.0, 1.0, 1.6],
        "pointing_hit": [0.5, 0.25, 0.25, 0.5], "pointing_chance": [0.25] * 4, "roi_spearman": [0.5, 0.2, 0.0, 0.4],
    }, index=pd.Index(["ig", "saliency", "random", "motion"], name="method"))


def test_localisation_summary_adds_ceiling_and_headroom(localisation):
    table = report.localisation_summary(localisation)
    assert table.loc["ig", "ceiling"] == pytest.approx(4.0)
    assert table.loc["ig", "headroom"] == pytest.approx(2 / 3)  # (3 - 1) / (4 - 1)
    assert table.loc["random", "headroom"] == pytest.approx(0.0)
    assert "roi_spearman" not in table.columns


def test_rank_methods_drops_controls_and_sorts(localisation):
    ranked = report.rank_methods(localisation)
    assert ranked.index.tolist() == ["ig", "saliency"]
    assert ranked.tolist() == [3.0, 2.0]


def test_completeness_median_and_share_above_tolerance():
    scores = pd.DataFrame({"method": ["ig"] * 4 + ["saliency"],
                           "delta_rel": [0.01, 0.02, 0.03, 0.10, 0.9]})
    c = report.completeness(scores)
    assert c["clips"] == 4 and c["median"] == pytest.approx(0.025)
    assert c["above_tolerance"] == pytest.approx(0.25)


def test_lift_by_class_pivots_with_ceiling_and_headroom():
    long = pd.DataFrame({"method": ["ig", "random", "occlusion", "ig", "random", "occlusion"],
                         "label_name": ["pos", "pos", "pos", "neg", "neg", "neg"],
                         "lift": [3.0, 1.0, 2.0, 1.5, 1.0, 1.2], "area_share": [0.25, 0.25, 0.25, 0.5, 0.5, 0.5]})
    table = report.lift_by(long.set_index(["method", "label_name"]), "label_name", ["ig"])
    assert table.columns.tolist() == ["ig", "random", "ceiling"]  # occlusion was not asked for
    assert table.loc["pos", "ceiling"] == pytest.approx(4.0) and table.loc["neg", "ceiling"] == pytest.approx(2.0)
    head = report.class_headroom(table, "ig")
    assert head["pos"] == pytest.approx(2 / 3) and head["neg"] == pytest.approx(0.5)


def test_channel_lifts_and_best_channel():
    scores = pd.DataFrame({"method": ["ig", "ig", "random"], "lift": [2.0, 4.0, 1.0], "lift_abs": [1.0, 1.0, 1.0],
                           "lift_apex": [2.0, 2.0, 1.0], "lift_u": [1.0, 1.0, 1.0], "lift_strain": [3.0, 5.0, 1.0],
                           "other": [0, 0, 0]})
    channels = report.channel_lifts(scores, ["ig"])
    assert channels.index.tolist() == ["ig"] and "other" not in channels.columns
    assert channels.loc["ig", "lift"] == pytest.approx(3.0)
    assert report.best_channel(channels, "ig") == ("strain", pytest.approx(4.0))


def test_keyframe_prior_agreement_is_mean_per_clip_spearman():
    kf = pd.DataFrame({"clip_id": ["a"] * 3 + ["b"] * 3, "method": ["ig"] * 6,
                       "importance": [-1.0, 2.0, 3.0, 3.0, 2.0, 1.0], "magnitude": [1.0, 2.0, 3.0] * 2})
    method, value = report.keyframe_prior_agreement(kf)
    assert method == "ig" and value == pytest.approx(0.0)  # +1 for clip a, -1 for clip b


def test_faithful_methods_need_both_curves_better_than_random():
    auc = pd.DataFrame({"deletion": [0.2, 0.2, 0.5, 0.4], "insertion": [0.8, 0.3, 0.9, 0.5]},
                       index=["ig", "saliency", "occlusion", "random"])
    assert report.faithful_methods(auc, ["ig", "saliency", "occlusion", "gradshap"]) == ["ig"]
    assert report.faithful_methods(auc.drop("random"), ["ig"]) == []


def test_faithfulness_table_from_curves():
    rows = []
    for method, level in (("ig", 0.2), ("random", 0.6)):
        for mode in ("deletion", "insertion"):
            for f in (0.0, 1.0):
                rows.append({"clip_id": "a", "method": method, "mode": mode, "order": "map", "unit": "pixel",
                             "fraction": f, "prob": level})
    table = report.faithfulness_table(pd.DataFrame(rows))
    assert table.loc["ig", "deletion"] == pytest.approx(0.2) and table.loc["random", "insertion"] == pytest.approx(0.6)
    assert report.faithfulness_table(pd.DataFrame(rows), unit="roi").empty


def test_agreement_range_orders_pairs():
    names = ["ig", "saliency", "occlusion", "motion"]
    agreement = pd.DataFrame(np.eye(4), index=names, columns=names)
    agreement.loc["ig", "saliency"] = agreement.loc["saliency", "ig"] = 0.8
    agreement.loc["ig", "occlusion"] = agreement.loc["occlusion", "ig"] = 0.1
    agreement.loc["saliency", "occlusion"] = agreement.loc["occlusion", "saliency"] = 0.3
    pairs = report.agreement_range(agreement, ["ig", "saliency", "occlusion"])
    assert pairs[["a", "b"]].values.tolist() == [["ig", "occlusion"], ["saliency", "occlusion"], ["ig", "saliency"]]


def _tables(loc, **kw):
    base = dict(
        methods=("ig", "saliency"), localisation=report.localisation_summary(loc),
        completeness=pd.Series({"clips": 4, "median": 0.01, "p90": 0.02, "above_tolerance": 0.0, "tolerance": 0.05}),
        per_class=pd.DataFrame({"ig": [3.0, 1.5], "random": [1.0, 1.0], "ceiling": [4.0, 2.0]},
                               index=pd.Index(["pos", "neg"], name="label_name")),
        per_outcome=pd.DataFrame({"ig": [2.5, 1.5]}, index=pd.Index([True, False], name="correct")),
        channels=pd.DataFrame({"lift": [3.0], "lift_abs": [2.0], "lift_apex": [2.5], "lift_u": [2.0],
                               "lift_strain": [3.5]}, index=["ig"]),
        roi=pd.DataFrame({"roi_spearman": [0.5, 0.2, 0.0]}, index=["ig", "layer_ig", "random"]),
        keyframes=("ig", 0.4),
        faithfulness=pd.DataFrame({"deletion": [0.2, 0.5, 0.4], "insertion": [0.8, 0.3, 0.5]},
                                  index=["ig", "saliency", "random"]),
        faithfulness_roi=pd.DataFrame(),
        agreement=pd.DataFrame([[1.0, 0.3], [0.3, 1.0]], index=["ig", "saliency"], columns=["ig", "saliency"]),
    )
    return report.InterpretabilityTables(**{**base, **kw})


def test_headline_and_findings_follow_the_tables(localisation):
    t = _tables(localisation)
    assert report.lift_sentence(t) == (
        "Integrated Gradients puts 75% of its positive mass on the active AUs, which cover 25% of the face: a lift "
        "of 3.00 against 1.00 for a random map and 1.60 for the flow magnitude, 67% of the way from chance to the "
        "ceiling of 4.00. This is one trained run with no interval: it reaches the target lift of 2, a measurement "
        "of this build's run rather than a claim about STAG.")
    text = report.lift_sentences(t)
    assert text.startswith("- Integrated Gradients puts 75%")
    assert "localises better than simply following the input motion" in text
    assert "Methods ranked by lift: ig 3.00, saliency 2.00." in text
    assert "best on strain (lift 3.50)" in text
    assert "Per class, Integrated Gradients covers pos 67%, neg 50%" in text
    assert "correctly classified clips 2.50, on misclassified ones 1.50" in text
    assert "ig 0.50, layer_ig 0.20; random map 0.00" in text
    assert "Faithfulness: ig beat the random pixel order on both deletion and insertion (1 of 2 methods)." in text
    assert "ranges from 0.30 (ig against saliency) to 0.30 (ig against saliency)" in text


def test_findings_when_the_target_is_missed(localisation):
    low = localisation.assign(lift=[1.5, 2.0, 1.0, 1.6])
    t = _tables(low)
    assert "it does not reach the target lift of 2" in report.lift_sentence(t)
    assert "does not localise better than simply following the input motion" in report.lift_sentences(t)


def test_findings_without_ground_truth(localisation):
    t = _tables(localisation, localisation=pd.DataFrame(), per_class=pd.DataFrame(), per_outcome=pd.DataFrame(),
                channels=pd.DataFrame())
    assert not t.has_truth
    assert "no ground-truth AU masks" in report.lift_sentence(t)
    text = report.lift_sentences(t)
    assert "lift" not in text and "ROI rank agreement" not in text
    assert "Faithfulness: ig beat" in text


def test_explained_clips_counts_folds_and_accuracy():
    from types import SimpleNamespace

    clips = pd.DataFrame({"fold": ["s1", "s1", "s2", "s3"], "correct": [True, False, True, True]})
    table = report.explained_clips({"stag": SimpleNamespace(clips=clips)})
    assert table.loc["stag"].tolist() == [4, 3, 0.75]
