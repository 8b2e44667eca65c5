"""Face detection, landmarks and similarity alignment."""

import numpy as np
import pytest

from stag.preprocess.face import (ALIGN_POINTS, align_clip, alignment_transform, apply_similarity,
                                  canonical_landmarks, estimate_similarity, face_mask, landmark_error,
                                  load_face_model, to_grey, warp_frames)


def _similarity(angle_deg, scale, tx, ty):
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_estimate_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (20, 2))
    m = _similarity(17, 1.4, -12, 30)
    est = estimate_similarity(src, apply_similarity(m, src))
    assert np.allclose(est, m, atol=1e-9)


@pytest.mark.parametrize("angle,scale,tx,ty", [(0, 1, 0, 0), (12, 1.35, 20, -8), (-25, 0.7, -5, 40)])
def test_alignment_maps_the_template_landmarks_within_1_px(angle, scale, tx, ty):
    template = canonical_landmarks(128)
    seen = apply_similarity(_similarity(angle, scale, tx, ty), template)  # the face as a camera saw it
    m = alignment_transform(seen, 128)
    back = apply_similarity(m, seen)
    assert np.abs(back - template).max() < 1.0
    assert np.abs(back - template).max() < 1e-6  # exact for a pure similarity


def test_alignment_is_robust_to_landmark_noise():
    rng = np.random.default_rng(1)
    template = canonical_landmarks(128)
    seen = apply_similarity(_similarity(8, 1.1, 5, 5), template) + rng.normal(0, 1.0, (68, 2))
    back = apply_similarity(alignment_transform(seen, 128), seen)
    idx = list(ALIGN_POINTS)
    assert np.linalg.norm(back[idx] - template[idx], axis=1).mean() < 1.5


def test_warp_frames_applies_the_transform():
    img = np.zeros((1, 64, 64), np.uint8)
    img[0, 20, 30] = 255
    out = warp_frames(img, np.array([[1.0, 0, 5], [0, 1.0, -3]]), 64)
    assert out.shape == (1, 64, 64)
    assert np.unravel_index(out[0].argmax(), (64, 64)) == (17, 35)


def test_canonical_template_and_helpers():
    lm = canonical_landmarks(128)
    assert lm.shape == (68, 2) and lm.min() > 0 and lm.max() < 128
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # subject's right eye on the image left
    assert lm[17:27, 1].mean() < lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean() < lm[8, 1]
    assert np.allclose(canonical_landmarks(64), lm / 2, atol=1e-4)
    mask = face_mask(lm, 128)
    assert mask[int(lm[30, 1]), int(lm[30, 0])] and not mask[2, 2]
    assert landmark_error(lm + [3, 4], lm, "px") == pytest.approx(5.0)
    rgb = np.zeros((2, 4, 4, 3), np.uint8)
    rgb[..., 1] = 200
    assert to_grey(rgb).shape == (2, 4, 4) and abs(int(to_grey(rgb)[0, 0, 0]) - 117) <= 1


@pytest.fixture(scope="module")
def clips():
    from stag.data import load

    return load("synthetic", n_subjects=2, clips_per_subject=2, frames=(16, 20), seed=5)


def test_dlib_finds_synthetic_faces_and_their_landmarks(clips):
    model = load_face_model()
    assert load_face_model() is model  # loaded once per process
    errors = []
    for clip in clips:
        al = align_clip(clip.frames, clip.onset, size=128, clip_id=clip.clip_id, face_model=model,
                        check_frames=(clip.apex,))
        assert al.frames.shape == (len(clip.frames), 128, 128) and al.frames.dtype == np.uint8
        errors.append(landmark_error(al.image_landmarks, clip.landmarks[clip.onset], "px"))
        # the aligned eyes and nose sit on the template
        idx = list(ALIGN_POINTS)
        assert np.linalg.norm(al.landmarks[idx] - canonical_landmarks(128)[idx], axis=1).mean() < 3.0
        assert clip.apex in al.frame_landmarks
    assert np.mean(errors) < 3.0  # px on a 128 px frame (measured ~1.5)


def test_given_landmarks_skip_detection(clips):
    clip = clips[0]
    al = align_clip(clip.frames, clip.onset, landmarks=clip.landmarks[clip.onset])
    assert np.allclose(al.image_landmarks, clip.landmarks[clip.onset])


def test_no_face_names_clip_and_frame():
    blank = np.full((3, 96, 96, 3), 128, np.uint8)
    with pytest.raises(RuntimeError, match=r"no face found in clip 'x/y/z' at frame 1"):
        align_clip(blank, 1, clip_id="x/y/z")
