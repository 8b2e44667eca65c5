import numpy as np
import pytest

from stag.train.metrics import (
    confusion_matrix, per_class_scores, per_group_scores, scores, scores_from_confusion,
)


def test_confusion_matrix_counts():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_hand_computed_uf1_uar():
    # rows = truth. class 0: tp 5, fn 5, fp 2 ; class 1: tp 3, fn 1, fp 4 ; class 2: tp 4, fn 2, fp 2
    cm = np.array([[5, 3, 2], [1, 3, 0], [1, 1, 4]])
    f1 = [2 * 5 / (10 + 5 + 2), 2 * 3 / (6 + 4 + 1), 2 * 4 / (8 + 2 + 2)]
    rec = [5 / 10, 3 / 4, 4 / 6]
    s = scores_from_confusion(cm)
    assert s["uf1"] == pytest.approx(np.mean(f1))
    assert s["uar"] == pytest.approx(np.mean(rec))
    assert s["accuracy"] == pytest.approx(12 / 20)


def test_megc_sums_folds_before_averaging():
    # Two folds; averaging per-fold UF1 would differ from the pooled matrix.
    fold1 = ([0, 0, 1], [0, 0, 0])
    fold2 = ([2, 2, 1, 1], [2, 1, 1, 1])
    yt = fold1[0] + fold2[0]
    yp = fold1[1] + fold2[1]
    pooled = scores(yt, yp, 3)
    cm = confusion_matrix(yt, yp, 3)
    assert cm.tolist() == [[2, 0, 0], [1, 2, 0], [0, 1, 1]]
    assert pooled["uf1"] == pytest.approx(np.mean([4 / 5, 4 / 6, 2 / 3]))
    per_fold = np.mean([scores(*fold1, 3)["uf1"], scores(*fold2, 3)["uf1"]])
    assert per_fold != pytest.approx(pooled["uf1"])


def test_class_never_predicted_scores_zero_and_absent_class_is_ignored():
    pc = per_class_scores(confusion_matrix([0, 1, 1], [0, 0, 0], 3))
    assert pc["f1"][1] == 0 and np.isnan(pc["f1"][2])
    s = scores([0, 1, 1], [0, 0, 0], 3)
    assert s["uf1"] == pytest.approx((2 / 4 + 0) / 2)
    assert s["uar"] == pytest.approx(0.5)


def test_perfect_and_bad_inputs():
    assert scores([0, 1, 2], [0, 1, 2], 3) == {"uf1": 1.0, "uar": 1.0, "accuracy": 1.0}
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix([0, 1], [0], 3)


def test_per_group_breakdown():
    out = per_group_scores([0, 1, 0, 1], [0, 1, 1, 1], ["casme2", "casme2", "samm", "samm"], 2)
    assert out["casme2"]["uf1"] == 1.0 and out["casme2"]["n"] == 2
    assert out["samm"]["uar"] == pytest.approx(0.5)


def test_subject_bootstrap_ci_brackets_estimate_and_is_seeded():
    from stag.train.metrics import subject_bootstrap_ci

    rng = np.random.default_rng(0)
    yt = rng.integers(0, 3, 200)
    yp = np.where(rng.random(200) < 0.7, yt, rng.integers(0, 3, 200))
    subjects = np.repeat([f"s{i}" for i in range(20)], 10)
    est, lo, hi = subject_bootstrap_ci(yt, yp, subjects, 3, n_boot=300, random_state=1)
    assert est == scores(yt, yp, 3)["uf1"]
    assert lo < est < hi and hi - lo < 0.3
    assert (est, lo, hi) == subject_bootstrap_ci(yt, yp, subjects, 3, n_boot=300, random_state=1)
    with pytest.raises(ValueError, match="metric='f2'"):
        subject_bootstrap_ci(yt, yp, subjects, 3, metric="f2")  # named before anything is scored


def test_subject_bootstrap_identical_predictions_give_zero_width_difference():
    from stag.train.metrics import subject_bootstrap_ci

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 60)
    p = np.where(rng.random(60) < 0.6, y, (y + 1) % 3)
    subjects = np.repeat([f"s{i}" for i in range(12)], 5)
    est, lo, hi = subject_bootstrap_ci(y, np.stack([p, p]), subjects, 3, weights=[1, -1], n_boot=200)
    assert est == lo == hi == 0.0


def test_subject_bootstrap_moves_a_subjects_clips_together():
    from stag.train.metrics import subject_bootstrap

    # subject a: 10 clips all right; subject b: 1 clip wrong. Resampling subjects can only give
    # accuracy 1 (a, a), 0 (b, b) or 10/11 (a, b); resampling clips would give many more values.
    y = np.zeros(11, dtype=int)
    p = np.r_[np.zeros(10, dtype=int), 1]
    subjects = ["a"] * 10 + ["b"]
    values = subject_bootstrap(y, p, subjects, 3, metric="accuracy", n_boot=300, random_state=0)
    assert set(np.round(values, 6)) <= {1.0, 0.0, round(10 / 11, 6)}
    assert len(set(np.round(values, 6))) == 3


def test_subject_bootstrap_validates_shapes():
    from stag.train.metrics import subject_bootstrap

    with pytest.raises(ValueError, match="same clips"):
        subject_bootstrap([0, 1], [0, 1, 1], ["a", "b"], 3)
    with pytest.raises(ValueError, match="weights"):
        subject_bootstrap([0, 1], [[0, 1], [1, 1]], ["a", "b"], 3, weights=[1.0])


def test_batch_scores_equal_the_one_by_one_scores():
    from stag.train.metrics import batch_scores

    rng = np.random.default_rng(3)
    cms = rng.integers(0, 6, size=(50, 4, 3, 3))
    cms[0, 0] = 0  # empty matrix: NaN everywhere
    cms[1, 1, 2, :] = cms[1, 1, :, 2] = 0  # a class with no truth and no prediction
    for metric in ("uf1", "uar", "accuracy"):
        one = np.array([[scores_from_confusion(c)[metric] for c in row] for row in cms])
        np.testing.assert_allclose(batch_scores(cms, metric), one, rtol=0, atol=1e-12, equal_nan=True)
