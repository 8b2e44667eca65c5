"""Registration of precomputed flows to their faces: the eyes found in the mean strain, the fitted
similarity recovered from clips with a known misregistration, the ROIs redrawn, clear failures."""

from __future__ import annotations

import numpy as np
import pytest

from stag.faces import LEFT_EYE, RIGHT_EYE
from stag.preprocess.face import canonical_landmarks
from stag.preprocess.pipeline import PrepareConfig
from stag.preprocess.prepared import Prepared
from stag.preprocess.registration import (IDENTITY, RegistrationError, Similarity, check_fit, face_eyes,
                                          fit_registration, flow_eyes, register_prepared, to_face_frame)
from stag.preprocess.rois import roi_boxes

SIDE = 28


def _blob(x: float, y: float, sigma: float = 1.2, side: int = SIDE) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))


def _clips(truth: Similarity, n: int = 30, dataset: str = "casme2", seed: int = 0) -> list[Prepared]:
    """Clips whose faces have the canonical landmarks and whose flows show the eyes (strain blobs)
    where ``truth`` (flow -> face) says: the flow's eye = truth^-1(face eye)."""
    rng = np.random.default_rng(seed)
    lm = canonical_landmarks(SIDE)
    face_eyes_px = np.array([lm[RIGHT_EYE].mean(0), lm[LEFT_EYE].mean(0)])
    flow_eyes_px = truth.inverse().apply(face_eyes_px / SIDE) * SIDE
    out = []
    for i in range(n):
        strain = sum(_blob(x, y) for x, y in flow_eyes_px) + rng.uniform(0, 0.3, (SIDE, SIDE))
        flows = np.stack([rng.normal(0, 0.2, (SIDE, SIDE)), rng.normal(0, 0.2, (SIDE, SIDE)), strain])[None]
        jitter = rng.normal(0, 0.1, lm.shape)  # dlib's per-clip scatter
        out.append(Prepared(clip_id=f"{dataset}/s{i % 5}/c{i}", subject=f"s{i % 5}", dataset=dataset, label=i % 3,
                            flows=flows.astype(np.float32), key_mask=np.ones(1, bool), magnitudes=np.ones(1, np.float32),
                            key_indices=np.zeros(1, np.int64), rois=roi_boxes(lm + jitter, SIDE),
                            landmarks=(lm + jitter).astype(np.float32), truth={"landmarks_from": "dlib"}))
    return out


def test_similarity_inverse_and_composition():
    t = Similarity(1.15, -0.02, 0.1)
    p = np.array([[0.3, 0.4], [0.7, 0.2]])
    np.testing.assert_allclose(t.inverse().apply(t.apply(p)), p, atol=1e-12)
    u = Similarity(0.9, 0.05, -0.03)
    np.testing.assert_allclose(t.then(u).apply(p), u.apply(t.apply(p)), atol=1e-12)
    assert IDENTITY.is_identity and not t.is_identity
    assert t.describe() == "scale 1.15, shift (-0.6, +2.8) px of 28"


def test_flow_eyes_finds_two_blobs_to_a_tenth_of_a_pixel():
    strain = _blob(8.0, 10.0) + _blob(20.5, 10.5)
    eyes = flow_eyes(strain)
    np.testing.assert_allclose(np.array([eyes.right, eyes.left]) * SIDE, [[8.0, 10.0], [20.5, 10.5]], atol=0.1)
    assert eyes.contrast > 10


@pytest.mark.parametrize("truth", [Similarity(1.0, 0.0, 3 / 28), Similarity(0.9, 0.02, -0.1), Similarity(1.15, 0, 0)])
def test_fit_recovers_a_known_misregistration(truth):
    clips = _clips(truth)
    reg = fit_registration(clips, "the fake flows")
    t = reg.transforms["casme2"]
    assert t.scale == pytest.approx(truth.scale, abs=0.02)
    assert t.dx * SIDE == pytest.approx(truth.dx * SIDE, abs=0.15)
    assert t.dy * SIDE == pytest.approx(truth.dy * SIDE, abs=0.15)
    assert reg.evidence["casme2"]["faces"] == 30


def test_registered_rois_move_with_the_flow_and_the_flows_do_not():
    truth = Similarity(1.0, 0.0, -3 / 28)  # the flow shows the face 3 px lower than the face image
    clips = _clips(truth)
    done = register_prepared(clips, fit_registration(clips))
    for before, after in zip(clips, done):
        assert after.flows is before.flows  # models that read no ROIs see the same input
        np.testing.assert_allclose(after.rois[:, [1, 3]] - before.rois[:, [1, 3]], 3.0, atol=0.2)
        np.testing.assert_allclose(after.truth["face_landmarks"], before.landmarks, atol=1e-4)
        assert after.truth["registration"]["dy"] == pytest.approx(-3 / 28, abs=0.01)
    assert register_prepared(done, fit_registration(clips)) == done  # never applied twice


def test_a_clip_without_a_face_gets_its_datasets_mean_landmarks():
    clips = _clips(Similarity(1.0, 0.0, 0.05))
    clips[0].truth = {"landmarks_from": "template"}
    done = register_prepared(clips, fit_registration(clips))
    assert done[0].truth["landmarks_from"] == "dataset mean"
    mean = np.mean([c.landmarks for c in clips[1:]], axis=0)
    np.testing.assert_allclose(done[0].truth["face_landmarks"], mean, atol=0.05)


def test_clips_with_their_own_landmarks_are_not_registered():
    clips = _clips(Similarity(1.0, 0.0, 0.1))
    for c in clips:
        c.truth = {"landmarks_from": "given"}
    reg = fit_registration(clips)
    assert not reg.transforms and register_prepared(clips, reg) == clips


def test_too_few_faces_leave_a_dataset_as_stored_with_a_warning():
    with pytest.warns(UserWarning, match="registration of casme2 in the fakes: 5 clips with a dlib face"):
        reg = fit_registration(_clips(IDENTITY, n=5), "the fakes")
    assert not reg.transforms and "casme2" in reg.skipped


def test_noise_without_eyes_fails_naming_the_data_and_the_check():
    clips = _clips(IDENTITY)
    rng = np.random.default_rng(1)
    for c in clips:
        c.flows[0, 2] = rng.uniform(0, 1, (SIDE, SIDE))
    with pytest.raises(RegistrationError, match=r"registration of casme2 in /data/flows: the eyes do not stand out"):
        fit_registration(clips, "/data/flows")


def test_check_fit_refuses_an_implausible_transform():
    eyes = flow_eyes(_blob(8.0, 10.0) + _blob(20.0, 10.0))
    with pytest.raises(RegistrationError, match="outside scale"):
        check_fit("x", eyes, Similarity(2.5, 0, 0))
    check_fit("x", eyes, Similarity(1.1, 0.05, -0.1))


def test_face_eyes_are_fractions_of_the_side():
    lm = canonical_landmarks(64)
    e = face_eyes(lm, 64)
    np.testing.assert_allclose(np.array(e.right) * 64, lm[RIGHT_EYE].mean(0), atol=1e-5)


def test_to_face_frame_moves_and_scales_about_the_centre():
    img = np.zeros((SIDE, SIDE), np.float32)
    img[10, 7] = 1
    assert np.argwhere(to_face_frame(img, Similarity(1.0, 0.0, 3 / SIDE)) > 0.5).tolist() == [[13, 7]]
    square = np.pad(np.ones((14, 14), np.float32), 7)
    half = to_face_frame(square, Similarity(0.5, 0, 0))
    assert half.sum() == pytest.approx(49.0, abs=0.5)
    assert to_face_frame(np.stack([img, img]), IDENTITY).shape == (2, SIDE, SIDE)


def test_prepare_config_registration_is_validated_and_legacy_records_read_none():
    with pytest.raises(ValueError, match="PrepareConfig.registration='eye'"):
        PrepareConfig(registration="eye")
    assert PrepareConfig().registration == "eyes"
    assert PrepareConfig.from_record({"keyframes": 1}).registration == "none"
    assert PrepareConfig.from_record({"keyframes": 1, "registration": "eyes"}).registration == "eyes"
