"""Contracts of the data core: Clip/ClipSet, label schemes, AU parsing, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from stag.data import Clip, ClipSet, available, get_scheme, load, register
from stag.data.aus import AU_NAMES, AU_VOCAB, au_multi_hot, parse_aus
from stag.data.labels import SCHEMES, LabelScheme, canonical_emotion
from stag.data.registry import get_loader


def make_clip(i: int, label: int = 0, subject: str = "s01", dataset: str = "d", **kw) -> Clip:
    scheme = get_scheme("composite3")
    return Clip(clip_id=f"{dataset}/{subject}/{i}", subject=subject, dataset=dataset, label=label,
                label_name=scheme.classes[label], **kw)


# ----------------------------------------------------------------------------- Clip

def test_clip_load_frames_eager_lazy_and_missing():
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    assert make_clip(0, frames=frames).load_frames() is frames
    calls = []

    def loader():
        calls.append(1)
        return frames + 1

    lazy = make_clip(1, loader=loader)
    assert lazy.has_frames and lazy.frames is None
    assert lazy.load_frames()[0, 0, 0, 0] == 1 and lazy.load_frames() is not None
    assert len(calls) == 2  # not cached on the clip
    empty = make_clip(2, source="somewhere.xlsx row 3")
    assert not empty.has_frames
    with pytest.raises(ValueError, match="d/s01/2.*somewhere.xlsx row 3"):
        empty.load_frames()


def test_clipset_sequence_labels_subjects_subset():
    clips = [make_clip(0, 0, "s01"), make_clip(1, 1, "s01"), make_clip(2, 2, "s02", dataset="e")]
    cs = ClipSet("mix", get_scheme("composite3"), clips, params={"a": 1})
    assert len(cs) == 3 and cs[1] is clips[1] and list(cs) == clips
    assert cs.labels.tolist() == [0, 1, 2] and cs.labels.dtype == np.int64
    assert cs.subjects.tolist() == ["d/s01", "d/s01", "e/s02"]
    sl = cs[1:]
    assert isinstance(sl, ClipSet) and len(sl) == 2 and sl.params == {"a": 1} and sl.scheme is cs.scheme
    sub = cs.subset([2, 0])
    assert [c.clip_id for c in sub] == ["e/s02/2", "d/s01/0"]


def test_clipset_rejects_duplicate_ids():
    a = make_clip(0, source="a.csv")
    b = make_clip(0, source="b.csv")
    with pytest.raises(ValueError, match="duplicate clip id.*a.csv.*b.csv"):
        ClipSet("dup", get_scheme("composite3"), [a, b])


def test_clipset_summary_by_class_and_subject():
    clips = [make_clip(0, 0, "s01"), make_clip(1, 0, "s01"), make_clip(2, 2, "s02")]
    cs = ClipSet("x", get_scheme("composite3"), clips)
    by_class = cs.summary()
    assert list(by_class.columns) == ["negative", "positive", "surprise", "total"]
    assert by_class.loc["d"].tolist() == [2, 0, 1, 3]
    by_subject = cs.summary("subject")
    assert by_subject.loc[("d", "s01")].tolist() == [2, 0, 0, 2]
    assert by_subject.loc[("d", "s02")].tolist() == [0, 0, 1, 1]
    empty = ClipSet("e", get_scheme("composite3"), []).summary()
    assert len(empty) == 0 and "total" in empty.columns
    with pytest.raises(ValueError, match="by='nope'"):
        cs.summary("nope")


# ----------------------------------------------------------------------------- labels

def test_canonical_emotion_aliases():
    assert canonical_emotion(" Happy ") == "happiness"
    assert canonical_emotion("Other") == "others"
    assert canonical_emotion("ANGRY") == "anger"
    assert canonical_emotion("Surprised") == "surprise"


@pytest.mark.parametrize("emotion, expected", [
    ("happiness", 1), ("Happy", 1), ("positive", 1), ("surprise", 2), ("disgust", 0), ("repression", 0),
    ("Anger", 0), ("contempt", 0), ("fear", 0), ("sadness", 0), ("negative", 0),
])
def test_composite3_mapping(emotion, expected):
    assert get_scheme("composite3").encode(emotion) == expected


def test_schemes_exclude_and_reject():
    c3 = get_scheme("composite3")
    assert c3.encode("others") is None and c3.class_name("Others") is None
    with pytest.raises(ValueError, match="annot.xlsx row 7.*'joy'.*composite3"):
        c3.encode("joy", where="annot.xlsx row 7")
    assert get_scheme("casme2_5").encode("fear") is None
    assert get_scheme("casme2_5").encode("repression") == 3
    assert get_scheme("samm_5").encode("Anger") == 0 and get_scheme("samm_5").encode("disgust") is None
    assert get_scheme("casme3_4").encode("sad") == 0
    assert get_scheme(c3) is c3
    with pytest.raises(ValueError, match="unknown label scheme 'nope'"):
        get_scheme("nope")
    with pytest.raises(ValueError, match="unknown classes"):
        LabelScheme("bad", ("a",), {"x": "b"})


def test_every_scheme_is_consistent():
    assert {"composite3", "casme2_5", "samm_5", "smic_3", "casme3_7", "casme3_4", "dfme_7"} <= set(SCHEMES)
    for name, scheme in SCHEMES.items():
        assert scheme.name == name and scheme.num_classes == len(scheme.classes)
        targets = {v for v in scheme.mapping.values() if v is not None}
        assert targets == set(scheme.classes), name  # every class is reachable
        for emotion, cls in scheme.mapping.items():
            assert scheme.encode(emotion) == (None if cls is None else scheme.classes.index(cls))


# ----------------------------------------------------------------------------- AUs

@pytest.mark.parametrize("text, expected", [
    ("4+7", (4, 7)), ("R12", (12,)), ("L10", (10,)), ("A2", (2,)), ("12B", (12,)), ("1+2+ 4", (1, 2, 4)),
    ("7, 4", (4, 7)), ("4+4", (4,)), ("", ()), ("?", ()), ("/", ()), (None, ()), (float("nan"), ()),
    (12.0, (12,)), (6, (6,)), ("r14 l14", (14,)),
])
def test_parse_aus(text, expected):
    assert parse_aus(text) == expected


def test_parse_aus_rejects_garbage_with_location():
    with pytest.raises(ValueError, match="sheet row 5.*'AUx'"):
        parse_aus("4+AUx", where="sheet row 5")


def test_au_vocab_and_multi_hot():
    assert len(AU_VOCAB) == len(set(AU_VOCAB)) and set(AU_VOCAB) <= set(AU_NAMES)
    v = au_multi_hot((4, 12, 43))
    assert v.dtype == np.float32 and v.shape == (len(AU_VOCAB),)
    assert v.sum() == 2 and v[AU_VOCAB.index(4)] == 1 and v[AU_VOCAB.index(12)] == 1


# ----------------------------------------------------------------------------- registry

def test_registry_names_and_errors():
    names = available()
    for name in ("synthetic", "casme2", "samm", "smic_hs", "casme3_a", "megc2019_flow", "folder"):
        assert name in names
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*synthetic"):
        load("nope")


def test_registry_register_callable_and_parameter_check():
    def tiny(n: int = 2) -> ClipSet:
        return ClipSet("tiny", get_scheme("composite3"), [make_clip(i) for i in range(n)])

    register("_tiny_test", tiny)
    try:
        assert get_loader("_tiny_test") is tiny
        assert len(load("_tiny_test", n=3)) == 3
        with pytest.raises(ValueError, match=r"does not take parameter\(s\) \['m'\].*accepted: n"):
            load("_tiny_test", m=1)
    finally:
        from stag.data import registry

        registry.LOADERS.pop("_tiny_test", None)


def test_registry_resolves_module_strings():
    from stag.data.synthetic import load_synthetic

    assert get_loader("synthetic") is load_synthetic
