"""stag.train.experiment: the cross-dataset data and the one-line data description."""

from types import SimpleNamespace

import numpy as np

from stag.train.experiment import PreparedData, cross_domain_data


def _clip(dataset, subject):
    return SimpleNamespace(dataset=dataset, subject=subject, flows=np.zeros((4, 3, 8, 8), np.float32))


def test_a_composite_is_its_own_set_of_domains():
    data = PreparedData(prepared=[_clip("casme2", "s1"), _clip("samm", "s2")], class_names=("a", "b"),
                        name="megc2019")
    assert cross_domain_data(data) == data.prepared


def test_a_single_real_dataset_has_no_cross_pair():
    data = PreparedData(prepared=[_clip("casme2", "s1")], class_names=("a",), name="casme2")
    assert cross_domain_data(data) == []


def test_describe_counts_clips_and_subjects():
    data = PreparedData(prepared=[_clip("d", "s1"), _clip("d", "s1"), _clip("d", "s2")], class_names=("a", "b"),
                        name="d", load_seconds=1.25, prepare_seconds=2.0)
    assert data.describe() == ("3 clips, 2 subjects, classes ('a', 'b'); flow stack (4, 3, 8, 8); "
                               "loaded in 1.2 s, prepared in 2.0 s")


def test_synthetic_data_gets_a_second_lab_as_its_other_domain(tmp_path):
    from stag.preprocess.pipeline import PrepareConfig

    data = PreparedData(prepared=[_clip("synthetic", "s01")], class_names=("negative", "positive", "surprise"),
                        name="synthetic")
    both = cross_domain_data(data, prepare_config=PrepareConfig(image_size=64, keyframes=1, landmarks="given"),
                             cache_dir=tmp_path, jobs=1, n_subjects=2, clips_per_subject=1, seed=0)
    other = both[1:]
    assert both[0] is data.prepared[0] and len(other) == 2
    assert {p.dataset for p in other} == {"synthetic_lab_b"}
