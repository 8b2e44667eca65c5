import warnings

import numpy as np
import pytest

from stag.train.protocols import (
    CrossDataset, GroupKFold, LastSubjectsOut, LeakageWarning, LOSO, StratifiedKFold, check_disjoint, get_protocol,
    inner_validation_split,
)


def _toy(n_subjects=7, per=5, datasets=("a",), seed=0):
    rng = np.random.default_rng(seed)
    groups, labels, ds = [], [], []
    for d in datasets:
        for s in range(n_subjects):
            for _ in range(per):
                groups.append(f"{d}/s{s}")
                labels.append(int(rng.integers(0, 3)))
                ds.append(d)
    return np.array(groups, dtype=object), np.array(labels), np.array(ds, dtype=object)


def _check_partition(folds, n):
    tests = np.concatenate([te for _, _, te in folds])
    for _, tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0
        assert len(tr) + len(te) == n
    return tests


def test_loso_one_subject_per_fold_and_every_clip_tested_once():
    g, y, d = _toy()
    folds = list(LOSO().split(g, y, d))
    assert [f for f, _, _ in folds] == sorted(set(g))
    tests = _check_partition(folds, len(g))
    assert sorted(tests) == list(range(len(g)))
    for name, tr, te in folds:
        assert set(g[te]) == {name}
        assert name not in set(g[tr])


def test_group_kfold_subject_disjoint_and_balanced():
    g, y, d = _toy(n_subjects=11)
    folds = list(GroupKFold(n_splits=4, random_state=1).split(g, y, d))
    assert len(folds) == 4
    tests = _check_partition(folds, len(g))
    assert sorted(tests) == list(range(len(g)))
    for _, tr, te in folds:
        assert not set(g[tr]) & set(g[te])
    sizes = [len(te) for _, _, te in folds]
    assert max(sizes) - min(sizes) <= 5  # one subject's worth


def test_group_kfold_depends_on_seed_but_is_reproducible():
    g, y, d = _toy(n_subjects=11)
    a = [te.tolist() for _, _, te in GroupKFold(3, random_state=0).split(g)] if False else \
        [te.tolist() for _, _, te in GroupKFold(n_splits=3, random_state=0).split(g)]
    b = [te.tolist() for _, _, te in GroupKFold(n_splits=3, random_state=0).split(g)]
    assert a == b


def test_stratified_kfold_warns_about_leakage_and_stratifies():
    g, y, d = _toy(n_subjects=6, per=10)
    with pytest.warns(LeakageWarning):
        folds = list(StratifiedKFold(n_splits=5, random_state=0).split(g, y, d))
    tests = _check_partition(folds, len(g))
    assert sorted(tests) == list(range(len(g)))
    # subjects do leak: the same person is on both sides
    assert any(set(g[tr]) & set(g[te]) for _, tr, te in folds)
    overall = np.bincount(y, minlength=3) / len(y)
    for _, _, te in folds:
        assert np.allclose(np.bincount(y[te], minlength=3) / len(te), overall, atol=0.15)


def test_cross_dataset_pairs_and_all_pairs():
    g, y, d = _toy(n_subjects=3, datasets=("casme2", "samm", "smic"))
    folds = list(get_protocol("cross:casme2->samm").split(g, y, d))
    assert [f for f, _, _ in folds] == ["casme2->samm"]
    _, tr, te = folds[0]
    assert set(d[tr]) == {"casme2"} and set(d[te]) == {"samm"}
    all_pairs = list(CrossDataset().split(g, y, d))
    assert len(all_pairs) == 6
    with pytest.raises(ValueError, match="not in the data"):
        list(get_protocol("cross_dataset:casme2->dfme").split(g, y, d))


def test_disjoint_check_catches_leak():
    g = np.array(["a", "a", "b"], dtype=object)
    with pytest.raises(AssertionError, match="both"):
        check_disjoint(g, np.array([0]), np.array([1, 2]))


def test_promised_disjointness_is_asserted_for_a_buggy_protocol():
    class Leaky(LOSO):
        def _split(self, groups, labels, datasets):
            yield "bad", np.arange(len(groups)), np.arange(2)

    g, y, d = _toy()
    with pytest.raises(AssertionError, match="both"):
        list(Leaky().split(g, y, d))


def test_get_protocol_names_and_errors():
    assert isinstance(get_protocol("LOSO"), LOSO)
    assert get_protocol("groupkfold", n_splits=3).n_splits == 3
    with warnings.catch_warnings():
        assert isinstance(get_protocol("skf"), StratifiedKFold)
    with pytest.raises(ValueError, match="unknown protocol 'kfold'"):
        get_protocol("kfold")
    with pytest.raises(ValueError, match="TRAIN->TEST"):
        get_protocol("cross:casme2")
    with pytest.raises(ValueError, match="at least 2 subjects"):
        list(LOSO().split(["a", "a"]))


@pytest.mark.parametrize("seed", range(5))
def test_inner_validation_never_contains_the_test_subject(seed):
    g, y, d = _toy(n_subjects=8)
    for name, tr, te in LOSO().split(g, y, d):
        fit, val = inner_validation_split(tr, g, y, fraction=0.25, random_state=seed)
        assert name not in set(g[val]) and name not in set(g[fit])
        assert not set(g[fit]) & set(g[val])
        assert sorted(np.concatenate([fit, val])) == sorted(tr)
        assert len(set(g[val])) == 2  # 25% of 7 training subjects, rounded
        assert len(set(y[val])) >= 2


def test_leave_one_dataset_out_trains_on_the_others_and_tests_on_each_once():
    from stag.train.protocols import get_protocol

    datasets = np.array(["casme2"] * 4 + ["samm"] * 3 + ["smic"] * 5, dtype=object)
    groups = np.array([f"{d}/s{i % 2}" for i, d in enumerate(datasets)], dtype=object)
    folds = list(get_protocol("lodo").split(groups, np.zeros(len(groups), int), datasets))
    assert [f for f, _, _ in folds] == ["samm+smic->casme2", "casme2+smic->samm", "casme2+samm->smic"]
    tested = np.concatenate([te for _, _, te in folds])
    assert sorted(tested) == list(range(12))  # every clip tested exactly once
    for name, tr, te in folds:
        held_out = name.split("->")[1]
        assert set(datasets[te]) == {held_out} and held_out not in set(datasets[tr])
    with pytest.raises(ValueError, match="at least two datasets"):
        list(get_protocol("lodo").split(groups[:4], None, datasets[:4]))


def test_last_subjects_out_holds_out_the_last_sorted_subjects():
    groups, labels, _ = _toy(n_subjects=5, per=3)
    (fold, train, test), = LastSubjectsOut(n_test=2).split(groups, labels)
    assert fold == "holdout" and sorted(set(np.asarray(groups)[test])) == ["a/s3", "a/s4"]
    assert len(train) + len(test) == len(groups) and not set(train) & set(test)
    for bad in (0, 5):
        with pytest.raises(ValueError, match="expected 1..4"):
            list(LastSubjectsOut(n_test=bad).split(groups))


def test_holdout_split_uses_the_protocol():
    from stag.train.experiment import holdout_split
    from stag.train.testing import toy_prepared

    prepared = toy_prepared(n_subjects=4, clips_per_subject=3)
    split = holdout_split(prepared, 1)
    assert split.held_out == [sorted({p.subject for p in prepared})[-1]]
    assert {p.subject for p in split.test_clips} == set(split.held_out)
    assert len(split.train_clips) + len(split.test_clips) == len(prepared)
