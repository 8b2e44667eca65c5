"""Noisy and absent apex annotations, and preprocessing that reads the annotated apex.

The "when does time matter" experiment rests on two facts tested here: an apex-based input
(``PrepareConfig(apex="annotated")``) follows the annotation, and STAG's input (keyframes
spotted from the motion) does not depend on it at all.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stag.data import load
from stag.data.apex_annotation import ABSENT, apex_shift, check_apex_noise, middle_apex, noisy_apex, perturb_apex
from stag.preprocess.keyframes import select_keyframes
from stag.preprocess.pipeline import PrepareConfig, prepare_clip


@pytest.fixture(scope="module")
def clips():
    return load("synthetic", n_subjects=3, clips_per_subject=4, lazy=True, seed=1)


def test_noise_scales_with_the_duration_and_stays_inside_the_expression(clips):
    exact = list(clips)
    assert perturb_apex(exact, 0) == exact
    shifts = {n: apex_shift(exact, perturb_apex(exact, n, seed=0)) for n in (0.25, 0.5, 1.0)}
    # the same standard-normal draw per clip is scaled: larger noise never moves an apex less
    assert (shifts[0.25] <= shifts[0.5]).all() and (shifts[0.5] <= shifts[1.0]).all()
    assert shifts[1.0].sum() > shifts[0.25].sum() > 0
    durations = np.array([c.apex - c.onset for c in exact])
    # about |N(0, 1)| * duration: the mean shift is within a factor of two of sqrt(2/pi)
    ratio = (shifts[1.0] / durations).mean()
    assert 0.3 < ratio < 1.6, ratio
    for c in perturb_apex(exact, 3.0, seed=0):  # huge noise is clipped into (onset, offset]
        assert c.onset < c.apex <= c.offset


def test_the_draw_is_fixed_by_seed_and_clip(clips):
    a = [noisy_apex(c, 0.5, seed=4) for c in clips]
    assert a == [noisy_apex(c, 0.5, seed=4) for c in clips]
    assert a != [noisy_apex(c, 0.5, seed=5) for c in clips]


def test_absent_apex_is_the_middle_frame_and_nothing_else_changes(clips):
    absent = perturb_apex(list(clips), ABSENT)
    for c, a in zip(clips, absent):
        assert a.apex == (c.onset + c.offset) // 2 == middle_apex(c)
        assert (a.clip_id, a.label, a.onset, a.offset, a.fingerprint) == (c.clip_id, c.label, c.onset, c.offset,
                                                                          c.fingerprint)


def test_bad_noise_is_named():
    for bad in (-0.1, float("nan"), "missing", True, None):
        with pytest.raises(ValueError, match="apex_noise="):
            check_apex_noise(bad)
    with pytest.raises(ValueError, match="apex_noise='gone'"):
        load("synthetic", n_subjects=1, clips_per_subject=1, lazy=True, apex_noise="gone")
    clip = replace(load("synthetic", n_subjects=1, clips_per_subject=1, lazy=True)[0], apex=None)
    with pytest.raises(ValueError, match="needs an annotated onset and apex"):
        noisy_apex(clip, 0.5)


def test_the_loader_records_the_noise(clips):
    noisy = load("synthetic", n_subjects=3, clips_per_subject=4, lazy=True, seed=1, apex_noise=0.5)
    assert noisy.params["apex_noise"] == 0.5 and "apex_noise" not in clips.params
    assert apex_shift(clips.clips, noisy.clips).sum() > 0


def test_select_keyframes_takes_an_annotated_apex():
    curve = np.r_[np.zeros(5), np.sin(np.linspace(0, np.pi, 21)), np.zeros(5)]
    spotted = select_keyframes(curve, 1, onset=0, offset=30, smoothing=0)
    assert spotted.apex == 15 and spotted.indices.tolist() == [15]
    given = select_keyframes(curve, 1, onset=0, offset=30, smoothing=0, apex=9)
    assert given.apex == 9 and given.indices.tolist() == [9]
    assert 9 in select_keyframes(curve, 4, onset=0, offset=30, smoothing=0, apex=9).indices
    with pytest.raises(ValueError, match="apex=40"):
        select_keyframes(curve, 1, apex=40)


def test_annotated_apex_moves_the_flow_and_spotted_keyframes_ignore_the_annotation():
    clip = load("synthetic", n_subjects=1, clips_per_subject=1, frames=(40, 40), seed=3)[0]
    moved = replace(clip, apex=clip.onset + 2)
    cfg = PrepareConfig(image_size=64, keyframes=1, landmarks="given")
    annotated = replace(cfg, apex="annotated")
    a, b = prepare_clip(clip, annotated), prepare_clip(moved, annotated)
    assert a.key_indices.tolist() == [clip.apex] and b.key_indices.tolist() == [clip.onset + 2]
    # the keyframe's motion (relative to the clip's largest): the apex moves, two frames after the onset barely
    assert a.magnitudes[0] > b.magnitudes[0] + 0.3, (a.magnitudes, b.magnitudes)
    assert not np.array_equal(a.flows, b.flows)
    for k in (1, 4):
        s, t = prepare_clip(clip, replace(cfg, keyframes=k)), prepare_clip(moved, replace(cfg, keyframes=k))
        np.testing.assert_array_equal(s.flows, t.flows)
        np.testing.assert_array_equal(s.key_indices, t.key_indices)
    with pytest.raises(ValueError, match="PrepareConfig.apex"):
        PrepareConfig(apex="true")
    with pytest.raises(ValueError, match="has no annotated apex"):
        prepare_clip(replace(clip, apex=None), annotated)
