"""The synthetic micro-expression set: determinism, ground truth, balance, validation, dlib."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stag.bench.synthetic_checks import difference_baseline, dlib_check, dlib_summary
from stag.data import load
from stag.data.labels import get_scheme
from stag.data.synthetic import (
    SyntheticConfig, class_plan, generate, load_synthetic, make_clip, neutral_faces,
)
from stag.data.synthetic_aus import AU_BUMPS, au_unit_bumps, bump_field, class_combinations, sample_emotion_aus

SMALL = dict(n_subjects=3, clips_per_subject=4, frames=(20, 28))


@pytest.fixture(scope="module")
def small():
    return load_synthetic(**SMALL)


@pytest.fixture(scope="module")
def clean():
    """No distractors and no noise: every pixel change comes from the AUs. The motion is larger
    than the calibrated default (sub-pixel), so that 8-bit rounding does not hide the geometry."""
    return load_synthetic(n_subjects=4, clips_per_subject=6, frames=(20, 28), distractors=False, noise=0.0, seed=3,
                          amplitude=(1.5, 3.0), difficulty=0.5)


def bilinear(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Sample an (H, W, C) field at (N, 2) x, y points."""
    x, y = pts[:, 0], pts[:, 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    f = field
    return ((1 - fx) * (1 - fy) * f[y0, x0] + fx * (1 - fy) * f[y0, x0 + 1]
            + (1 - fx) * fy * f[y0 + 1, x0] + fx * fy * f[y0 + 1, x0 + 1])


# ----------------------------------------------------------------------------- contract

def test_clip_contract(small):
    scheme = get_scheme("composite3")
    assert small.scheme.name == "composite3" and len(small) == 12
    for k, clip in enumerate(small):
        T = len(clip.frames)
        assert 20 <= T <= 28
        assert clip.frames.dtype == np.uint8 and clip.frames.shape == (T, 128, 128, 3)
        assert clip.landmarks.dtype == np.float32 and clip.landmarks.shape == (T, 68, 2)
        assert clip.subject == f"s{k // 4 + 1:02d}"
        assert clip.clip_id == f"synthetic/{clip.subject}/{k % 4:02d}"
        assert clip.dataset == "synthetic" and clip.fps == 200.0
        assert clip.label == scheme.encode(clip.emotion) and clip.label_name == scheme.classes[clip.label]
        assert 0 <= clip.onset < clip.apex < clip.offset < T
        assert clip.aus == tuple(sorted(clip.aus)) == clip.truth["au_ids"] and clip.aus
        t = clip.truth
        assert t["au_masks"].dtype == bool and t["au_masks"].shape == (len(clip.aus), 128, 128)
        assert set(t["au_intensity"]) == set(clip.aus)
        assert t["apex_flow"].shape == (128, 128, 2) and t["apex_flow"].dtype == np.float32
        assert t["apex_flow_au"].shape == (128, 128, 2)
        assert t["intensity"].shape == (T,)
        assert isinstance(t["identity"], dict) and "skin" in t["identity"]


def test_registry_loads_synthetic():
    clips = load("synthetic", n_subjects=1, clips_per_subject=2, frames=(12, 12), drift_px=0.0)
    assert len(clips) == 2 and clips[0].frames.shape[0] == 12
    with pytest.raises(ValueError, match="bogus"):
        load("synthetic", n_subjects=1, bogus=3)


def test_colour_and_grey():
    grey = load_synthetic(n_subjects=1, clips_per_subject=1, frames=(10, 10), colour=False)[0].frames
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    colour = load_synthetic(n_subjects=1, clips_per_subject=1, frames=(10, 10))[0].frames
    assert np.abs(colour[..., 0].astype(int) - colour[..., 2]).mean() > 5


# ----------------------------------------------------------------------------- determinism

def test_same_seed_is_byte_identical(small):
    again = load_synthetic(**SMALL)
    for a, b in zip(small, again):
        assert a.clip_id == b.clip_id
        assert a.frames.tobytes() == b.frames.tobytes()
        assert np.array_equal(a.landmarks, b.landmarks)
        assert np.array_equal(a.truth["apex_flow"], b.truth["apex_flow"])
        assert (a.onset, a.apex, a.offset, a.aus, a.emotion) == (b.onset, b.apex, b.offset, b.aus, b.emotion)


def test_different_seed_or_domain_differs(small):
    other = load_synthetic(**SMALL, seed=1)
    assert all(a.frames.shape != b.frames.shape or not np.array_equal(a.frames, b.frames) for a, b in zip(small, other))
    domain = load_synthetic(**SMALL, dataset_name="synthB")
    assert domain[0].clip_id == "synthB/s01/00" and domain[0].dataset == "synthB"
    assert domain[0].frames.shape != small[0].frames.shape or not np.array_equal(domain[0].frames, small[0].frames)


def test_one_clip_regenerates_alone_and_lazily(small):
    config = SyntheticConfig(**SMALL)
    clip = make_clip(config, 2, 3)
    assert clip.clip_id == small[11].clip_id
    assert clip.frames.tobytes() == small[11].frames.tobytes()
    lazy = make_clip(config, 2, 3, lazy=True)
    assert lazy.frames is None and lazy.load_frames().tobytes() == small[11].frames.tobytes()
    parallel = generate(config, jobs=2)
    assert parallel[5].frames.tobytes() == small[5].frames.tobytes()


def test_switching_distractors_off_keeps_the_expression():
    a = load_synthetic(n_subjects=2, clips_per_subject=3, frames=(15, 20))
    b = load_synthetic(n_subjects=2, clips_per_subject=3, frames=(15, 20), distractors=False)
    for x, y in zip(a, b):
        assert (x.aus, x.onset, x.apex, x.offset, x.truth["au_intensity"]) == (y.aus, y.onset, y.apex, y.offset, y.truth["au_intensity"])
        assert np.array_equal(x.truth["apex_flow_au"], y.truth["apex_flow_au"])


# ----------------------------------------------------------------------------- ground truth

def test_intensity_profile_peaks_at_apex(small):
    for clip in small:
        p = clip.truth["intensity"]
        assert p.min() >= 0 and p.max() <= 1
        assert int(np.argmax(p)) == clip.apex and p[clip.apex] == 1.0
        assert p[clip.onset] == 0 and p[clip.offset] == pytest.approx(0, abs=1e-6)
        assert np.all(np.diff(p[clip.onset:clip.apex + 1]) >= 0)
        assert np.all(np.diff(p[clip.apex:clip.offset + 1]) <= 0)


def test_unit_au_fields_peak_at_one_pixel():
    lm = make_clip(SyntheticConfig(n_subjects=1, clips_per_subject=1, frames=(10, 10)), 0, 0).landmarks[0].astype(float)
    yy, xx = np.mgrid[0:128, 0:128]
    grid = np.stack([xx.ravel(), yy.ravel()], 1).astype(float)
    for au in AU_BUMPS:
        f = bump_field(grid, au_unit_bumps(au, lm, grid))
        assert np.linalg.norm(f, axis=1).max() == pytest.approx(1.0)


def test_landmarks_move_by_the_generated_au_displacement(clean):
    for clip in clean:
        disp = clip.landmarks[clip.apex] - clip.landmarks[clip.onset]
        expected = bilinear(clip.truth["apex_flow_au"].astype(np.float64), clip.landmarks[clip.onset].astype(np.float64))
        np.testing.assert_allclose(disp, expected, atol=0.02)
        # Without distractors the total flow is the AU flow.
        np.testing.assert_allclose(clip.truth["apex_flow"], clip.truth["apex_flow_au"], atol=1e-5)
        peak = np.linalg.norm(clip.truth["apex_flow_au"], axis=-1).max()
        assert peak <= sum(clip.truth["au_intensity"].values()) * 1.01
        if len(clip.aus) == 1:  # a lone AU's apex displacement is its intensity
            assert peak == pytest.approx(clip.truth["au_intensity"][clip.aus[0]], rel=1e-3)
        # Outside the AU window the landmarks do not move.
        np.testing.assert_allclose(clip.landmarks[0], clip.landmarks[clip.onset], atol=1e-5)
        np.testing.assert_allclose(clip.landmarks[-1], clip.landmarks[clip.offset], atol=1e-4)


def test_au_directions_follow_facs():
    config = SyntheticConfig(n_subjects=6, clips_per_subject=10, frames=(12, 14), distractors=False)
    seen = set()
    for s in range(6):
        for k in range(10):
            clip = make_clip(config, s, k, lazy=True)
            d = clip.landmarks[clip.apex] - clip.landmarks[clip.onset]
            aus = set(clip.aus)
            if any(clip.truth["au_sides"].values()):  # one-sided codes (L12) are checked elsewhere
                continue
            if aus == {12}:  # lip corners pulled outwards and up
                assert d[48, 0] < 0 < d[54, 0] and d[48, 1] < 0 and d[54, 1] < 0
                seen.add(12)
            if aus & {1, 2} and not aus & {4}:  # brows go up
                assert np.all(d[17:27, 1] < 0)
                seen.add(1)
            if aus == {4} or aus == {4, 7}:  # inner brows come down and together
                assert d[21, 1] > 0 and d[22, 1] > 0 and d[21, 0] > 0 > d[22, 0]
                seen.add(4)
            if 15 in aus and 12 not in aus:  # lip corners go down
                assert d[48, 1] > 0 and d[54, 1] > 0
                seen.add(15)
    assert {12, 1, 4} <= seen


def test_apex_flow_explains_the_rendered_frames(clean):
    """Warping the onset by the true flow reproduces the apex (noise-free, no distractors)."""
    import cv2

    for clip in clean[:6]:
        onset = clip.frames[clip.onset].astype(np.float32)
        apex = clip.frames[clip.apex].astype(np.float32)
        flow = clip.truth["apex_flow"]
        # onset(x) = apex(x + flow(x)): sample the apex frame at x + flow.
        yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)
        warped = cv2.remap(apex, xx + flow[..., 0], yy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        inner = (slice(8, -8), slice(8, -8))
        before = np.abs(apex - onset)[inner].mean()
        after = np.abs(warped - onset)[inner].mean()
        assert after < 0.35 * before + 0.05


def test_masks_cover_the_moving_pixels(clean):
    import cv2

    for clip in clean:
        union = clip.truth["au_masks"].any(0)
        mag = np.linalg.norm(clip.truth["apex_flow"], axis=-1)
        big = mag > 0.25 * max(clip.truth["au_intensity"].values())
        assert big.any() and np.all(union[big])
        # Rendered pixels that change are inside the (slightly dilated) masks.
        diff = np.abs(clip.frames[clip.apex].astype(int) - clip.frames[clip.onset]).max(-1)
        dilated = cv2.dilate(union.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        changed = diff > 6
        if changed.sum() > 20:
            assert (changed & dilated).sum() / changed.sum() > 0.97
        # Far outside the masks nothing moves.
        far = ~cv2.dilate(union.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
        assert mag[far].max() < 0.05 * max(clip.truth["au_intensity"].values())
        assert np.mean(diff[far] > 2) < 0.002  # a few high-contrast edges under a 0.01 px tail


def test_far_from_masks_only_global_drift_remains():
    clips = load_synthetic(n_subjects=2, clips_per_subject=4, frames=(20, 30), blink_rate=0.0, macro_prob=0.0,
                           twitch_prob=0.0, drift_px=1.5, drift_deg=0.8)
    import cv2

    moved = 0
    for clip in clips:
        union = clip.truth["au_masks"].any(0)
        far = ~cv2.dilate(union.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
        flow = clip.truth["apex_flow"].astype(np.float64)
        yy, xx = np.mgrid[0:128, 0:128]
        X = np.stack([xx[far], yy[far]], 1).astype(np.float64)
        # Fit a similarity transform (a, b, tx, ty) to the far-field flow: it must explain it.
        A = np.zeros((2 * len(X), 4))
        A[0::2] = np.stack([X[:, 0], -X[:, 1], np.ones(len(X)), np.zeros(len(X))], 1)
        A[1::2] = np.stack([X[:, 1], X[:, 0], np.zeros(len(X)), np.ones(len(X))], 1)
        target = (X + flow[far]).ravel()
        coef = np.linalg.lstsq(A, target, rcond=None)[0]
        resid = np.abs(A @ coef - target).max()
        assert resid < 0.05 * max(clip.truth["au_intensity"].values())
        moved += np.abs(flow[far]).max() > 0.1
    assert moved >= 1  # the drift is really there


def test_blinks_and_macro_movements_are_recorded():
    clips = load_synthetic(n_subjects=1, clips_per_subject=4, frames=(30, 40), blink_rate=3000.0, macro_prob=1.0)
    for clip in clips:
        assert clip.truth["blink"].max() > 0.5 and clip.truth["macro"].max() > 0.5
        assert clip.truth["blink"][clip.onset] == 0 and clip.truth["macro"][clip.onset] == 0
        t = int(np.argmax(clip.truth["blink"]))
        upper = clip.landmarks[t, [37, 38, 43, 44], 1] - clip.landmarks[clip.onset, [37, 38, 43, 44], 1]
        assert np.all(upper > 1.0)  # the upper lids come down


def test_emotions_are_distributions_over_aus():
    rng = np.random.default_rng(0)
    for cls in ("negative", "positive", "surprise"):
        combos = {sample_emotion_aus(rng, cls)[1] for _ in range(200)}
        assert len(combos) >= 3
    # As in the real codings, a class is not "which region moves": some positive clips have
    # neither AU6 nor AU12, some surprise clips neither AU1 nor AU2, some negatives have AU12.
    assert any(not {6, 12} & set(r.aus) for r in class_combinations("positive"))
    assert any(not {1, 2} & set(r.aus) for r in class_combinations("surprise"))
    assert any({1, 2, 12} & set(r.aus) for r in class_combinations("negative"))


def test_amplitude_range_is_respected():
    clips = load_synthetic(n_subjects=2, clips_per_subject=6, frames=(10, 12), amplitude=(1.0, 2.0), difficulty=0.5)
    strongest = np.array([max(c.truth["au_intensity"].values()) for c in clips])
    assert strongest.min() >= 1.0 - 1e-9 and strongest.max() <= 2.0 + 1e-9
    weights = np.array([v for c in clips for v in c.truth["au_intensity"].values()])
    assert weights.min() >= 0.6 - 1e-9
    hard = load_synthetic(n_subjects=2, clips_per_subject=6, frames=(10, 12), amplitude=(1.0, 2.0), difficulty=1.0)
    ratio = [max(h.truth["au_intensity"].values()) / max(c.truth["au_intensity"].values()) for h, c in zip(hard, clips)]
    np.testing.assert_allclose(ratio, 0.5)


# ----------------------------------------------------------------------------- classes

def test_classes_balanced_as_configured():
    counts = np.bincount(class_plan(SyntheticConfig()).ravel(), minlength=3)
    assert counts.tolist() == [136, 59, 45]  # 240 clips at 250 : 109 : 83
    equal = load_synthetic(n_subjects=3, clips_per_subject=4, frames=(8, 8), class_weights=(1, 1, 1), label_noise=0.0)
    assert np.bincount(equal.labels, minlength=3).tolist() == [4, 4, 4]
    only = class_plan(SyntheticConfig(n_subjects=5, class_weights=(0, 1, 0)))
    assert np.all(only == 1)
    # Subjects differ in their class mix.
    plan = class_plan(SyntheticConfig())
    assert len({tuple(np.bincount(r, minlength=3)) for r in plan}) > 3


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs, match", [
    (dict(n_subjects=0), "n_subjects"),
    (dict(clips_per_subject=0), "clips_per_subject"),
    (dict(amplitude=(-1.0, 2.0)), "amplitude"),
    (dict(amplitude=(3.0, 1.0)), "amplitude"),
    (dict(amplitude=(0.0, 0.0)), "amplitude"),
    (dict(frames=(50, 30)), "frames"),
    (dict(frames=(2, 4)), "frames"),
    (dict(noise=-1.0), "noise"),
    (dict(difficulty=1.5), "difficulty"),
    (dict(class_weights=(0, 0, 0)), "class_weights"),
    (dict(class_weights=(1, 2)), "class_weights"),
    (dict(apex_offset_frames=(30.0, -0.1)), "apex_offset_frames"),
    (dict(margin_frames=(12.0, 2.0)), "margin_frames"),
    (dict(image_size=16), "image_size"),
    (dict(dataset_name="a/b"), "dataset_name"),
    (dict(fps=0.0), "fps"),
])
def test_invalid_parameters_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        SyntheticConfig(**kwargs)
    assert "expected" in str(info.value)


def test_unknown_parameter_and_bad_indices():
    with pytest.raises(ValueError, match="unknown parameter.*blinks"):
        load_synthetic(blinks=0.1)
    config = SyntheticConfig(n_subjects=2, clips_per_subject=2)
    with pytest.raises(ValueError, match="subject"):
        make_clip(config, 2, 0)
    with pytest.raises(ValueError, match="index"):
        make_clip(config, 0, 5)


# ----------------------------------------------------------------------------- real tools

def test_dlib_finds_the_faces(small):
    table = dlib_check(small, frame_stride=3)
    summary = dlib_summary(table).iloc[0]
    assert summary["detection_rate"] >= 0.99
    assert summary["multiple_faces"] == 0
    assert summary["error_px"] < 2.5 and summary["nme_iod"] < 0.05


def test_dlib_finds_every_identity():
    faces = neutral_faces(SyntheticConfig(n_subjects=30, seed=11))
    import dlib

    detector = dlib.get_frontal_face_detector()
    found = sum(len(detector(np.ascontiguousarray(f), 0)) == 1 for f in faces)
    assert found >= 29


@pytest.mark.slow
def test_difference_baseline_is_above_chance_and_below_perfect():
    clips = load_synthetic(n_subjects=8, clips_per_subject=10, frames=(20, 30), jobs=2)
    result = difference_baseline(clips, size=16)
    assert result.chance_uf1 + 0.1 < result.uf1 < 0.97
    assert len(result.predictions) == len(clips)


def test_fingerprint_identifies_the_rendered_frames():
    from stag.data.synthetic import SyntheticConfig, make_clip

    cfg = SyntheticConfig(n_subjects=2, clips_per_subject=2, seed=3)
    a, b = make_clip(cfg, 0, 1), make_clip(cfg, 0, 1, lazy=True)
    assert a.fingerprint == b.fingerprint and (a.frames == b.load_frames()).all()
    assert make_clip(cfg, 1, 1, lazy=True).fingerprint != a.fingerprint
    other = SyntheticConfig(n_subjects=2, clips_per_subject=2, seed=4)
    assert make_clip(other, 0, 1, lazy=True).fingerprint != a.fingerprint


def test_chapter_one_tables_from_known_clips():
    from types import SimpleNamespace

    from stag.bench import synthetic_checks as checks

    def clip(cid, label, aus, peak, blink, frames=10):
        return SimpleNamespace(clip_id=cid, label_name=label, emotion=label, aus=aus, onset=0, apex=4, offset=8,
                               frames=[0] * frames, truth={"au_intensity": {a: peak for a in aus},
                                                           "blink": np.array([0, blink]), "macro": np.zeros(2)})

    clips = [clip("a", "positive", (12,), 1.0, 0), clip("b", "positive", (6, 12), 2.0, 1),
             clip("c", "negative", (4, 7, 10), 0.5, 0), clip("d", "negative", (4,), 3.0, 0)]
    assert checks.example_clip(clips, "positive").clip_id == "b"
    assert checks.example_clip(clips, "negative", by="aus").clip_id == "c"
    assert checks.first_with(clips, "blink").clip_id == "b"
    with pytest.raises(ValueError, match="no clip of class 'surprise'"):
        checks.example_clip(clips, "surprise")
    combos = checks.au_combination_table(clips)
    assert list(combos["class"]) == ["negative", "negative", "positive", "positive"]
    assert combos["clips"].sum() == 4
    phase = checks.phase_table(clips)
    assert phase.loc["max", "apex px"] == 3.0 and phase.loc["mean", "with blink"] == 0.25
    keys = pd.DataFrame({"apex_error": [0, 2, 6], "coverage": [1.0, 0.5, 0.9], "precision": [1.0, 1.0, 0.5],
                         "contains_apex": [1, 1, 0], "landmark_error_px": [0.5, 0.5, 0.5]})
    assert checks.keyframe_summary(keys).loc["apex within 2 frames", "value"] == pytest.approx(2 / 3)
    mags = checks.magnitude_summary(pd.DataFrame({"method": ["flow", "flow", "intensity"], "clip_id": ["x", "y", "x"],
                                                  "apex_error": [1, 3, 5], "seconds": [0.01, 0.03, 0.002]}))
    assert mags.loc["flow", "apex_error_mean"] == 2 and mags.loc["flow", "ms_per_clip"] == pytest.approx(20)
    text = checks.keyframe_findings(keys, mags)
    assert "mean apex error 2.67 frames over 3 clips (median 2; 67% within 2 frames)" in text
    assert "optical flow 2.00 against grey-level difference 5.00 frames of mean apex error on 2 clips" in text
    summary = pd.DataFrame([{"frames": 10, "detection_rate": 0.9, "error_px": 1.5, "nme_iod": 0.03, "error_jaw": 3.0,
                             "error_brows": 1.0, "error_nose": 0.5, "error_eyes": 0.8, "error_mouth": 1.2}])
    assert checks.dlib_findings(summary) == ("dlib found a face in 90.0% of 10 frames; mean landmark error 1.50 px "
                                              "(0.030 of the inter-ocular distance); largest in the jaw group, "
                                              "smallest in the nose group.")


def _spotting_clip(apex=10, offset=20, blink=None, amp=0.5):
    from types import SimpleNamespace

    t = 25
    prof = np.zeros(t) if blink is None else blink
    return SimpleNamespace(clip_id="s/01", onset=2, apex=apex, offset=offset,
                           truth={"blink": prof, "macro": np.zeros(t), "au_intensity": {4: amp}})


def _trace(used, smoothed=None, trend=None, spotted=None):
    from stag.bench.synthetic_checks import SpottingTrace
    from stag.preprocess.keyframes import Keyframes

    used = np.asarray(used, float)
    spotted = int(np.argmax(used)) if spotted is None else spotted
    kf = Keyframes(np.array([spotted]), np.array([True]), np.ones(1, np.float32), spotted, (spotted, spotted),
                   used.astype(np.float32))
    return SpottingTrace("s/01", used if smoothed is None else np.asarray(smoothed, float),
                         np.zeros_like(used) if trend is None else np.asarray(trend, float), used, kf)


def test_spotting_explanation_names_the_cause_from_the_curves():
    from stag.bench.synthetic_checks import spotting_explanation

    t = np.arange(25)
    bump = np.exp(-0.5 * ((t - 10) / 3.0) ** 2)
    # found: the detrended curve peaks one frame from the true apex
    text = spotting_explanation(_trace(np.roll(bump, 1)), _spotting_clip())
    assert text.startswith("In `s/01` the spotted apex is frame 11, 1 frame from the true apex (frame 10)")
    assert "peaks within the expression" in text
    # flattened: a blink at the offset lifts the detrending line above the expression
    blink = np.exp(-0.5 * ((t - 21) / 2.0) ** 2)
    smoothed = 0.03 * bump + 0.12 * blink
    trend = np.interp(t, [2, 20], [smoothed[2], smoothed[20]])
    used = np.clip(smoothed - trend, 0, None)
    used[:21] = 0
    used[22] = 0.01
    text = spotting_explanation(_trace(used, smoothed, trend, spotted=22), _spotting_clip(blink=blink))
    assert "12 frames from the true apex" in text and "because a blink is under way there" in text
    assert "zero on 100% of the frames from onset to offset" in text
    # outweighed: a blink inside the expression moves the face more
    blink_in = np.exp(-0.5 * ((t - 5) / 1.5) ** 2)
    used = 0.02 * bump + 0.1 * blink_in
    text = spotting_explanation(_trace(used), _spotting_clip(blink=blink_in))
    assert "a blink moves the face more than the expression" in text
    # weak: no distractor anywhere
    used = 0.02 * bump + 0.05 * np.exp(-0.5 * ((t - 18) / 1.5) ** 2)
    text = spotting_explanation(_trace(used), _spotting_clip(amp=0.4))
    assert "the expression is weak (largest true AU displacement 0.40 px)" in text


def test_spotting_tables_and_sentences_from_known_clips():
    from types import SimpleNamespace

    from stag.bench import synthetic_checks as checks

    def clip(cid, amp, blink_at=None):
        blink = np.zeros(30)
        if blink_at is not None:
            blink[blink_at] = 1.0
        return SimpleNamespace(clip_id=cid, truth={"au_intensity": {4: amp}, "blink": blink, "macro": np.zeros(30)})

    clips = [clip("a", 0.4, 5), clip("b", 0.5, 25), clip("c", 1.5), clip("d", 1.8)]
    keys = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "onset": 2, "offset": 20, "apex_error": [9.0, 1.0, 1.0, 0.0]})
    assert checks.distractor_inside(keys, clips).tolist() == [True, False, False, False]  # b's blink is after offset
    assert checks.typical_and_worst(keys) == ("b", "a")
    table = checks.spotting_error_table(keys, clips, groups=2)
    assert table["clips"].tolist() == [2, 2] and table["apex_error_mean"].tolist() == [5.0, 0.5]
    assert table["with_distractor"].tolist() == [0.5, 0.0]
    text = checks.spotting_findings(keys, clips)
    assert text.startswith("Over the 4 clips, the apex error grows as the expression weakens: 9.0 frames")
    assert "in 100% of the 1 clips whose apex error exceeds 2 frames, against 0% of the others" in text
    with pytest.raises(KeyError, match="'z' is not among the 4 clips"):
        checks.clip_by_id(clips, "z")
    result = checks.BaselineResult(uf1=0.5, uar=0.45, accuracy=0.6, chance_uf1=0.25, predictions=pd.DataFrame())
    assert checks.baseline_sentence(result, 12).startswith(
        "On 12 clips, a linear model on the true apex-onset difference scores LOSO UF1 0.500 (UAR 0.450) against "
        "0.250 for the majority class and 1 for a perfect model: the classes are learnable, and not trivially so.")
    easy = checks.BaselineResult(uf1=0.95, uar=0.95, accuracy=0.95, chance_uf1=0.25, predictions=pd.DataFrame())
    assert checks.baseline_sentence(easy, 12).endswith("learnable, even by this simple model.")
    hard = checks.BaselineResult(uf1=0.3, uar=0.35, accuracy=0.5, chance_uf1=0.25, predictions=pd.DataFrame())
    assert checks.baseline_sentence(hard, 12).endswith("a linear model barely beats the majority class.")


def test_spotting_trace_is_the_keyframe_step_of_prepare_clip():
    from stag.bench.synthetic_checks import spotting_trace
    from stag.preprocess.pipeline import PrepareConfig, prepare_clip

    clip = make_clip(SyntheticConfig(n_subjects=1, clips_per_subject=2, frames=(20, 28), seed=5), 0, 1)
    cfg = PrepareConfig(image_size=64, keyframes=4, landmarks="given")
    trace, prepared = spotting_trace(clip, cfg), prepare_clip(clip, cfg)
    np.testing.assert_allclose(trace.used, prepared.truth["magnitude_curve"], atol=1e-6)
    assert (trace.keyframes.indices == prepared.key_indices).all()
    assert trace.keyframes.apex == prepared.truth["spotted_apex"]
    # used = what detrending leaves of the smoothed curve, clipped at 0
    np.testing.assert_allclose(trace.used, np.clip(trace.smoothed - trace.trend, 0, None), atol=1e-6)
    assert trace.trend[clip.onset] == pytest.approx(trace.smoothed[clip.onset])
    with pytest.raises(ValueError, match="apex='spotted'"):
        spotting_trace(clip, PrepareConfig(image_size=64, apex="annotated"))
