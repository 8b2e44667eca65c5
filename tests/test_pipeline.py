"""prepare_clip / prepare_dataset on synthetic clips, precomputed flows, failures and parallel runs."""

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from stag.faces import ROI_NAMES
from stag.preprocess.flow import endpoint_error
from stag.preprocess.pipeline import PrepareConfig, keyframe_table, prepare_clip, prepare_dataset


@pytest.fixture(scope="module")
def clips():
    from stag.data import load

    return load("synthetic", n_subjects=2, clips_per_subject=2, frames=(24, 30), seed=2)


def test_config_is_validated_and_frozen():
    cfg = PrepareConfig()
    assert cfg.out_size == 128 and PrepareConfig(output_size=64).out_size == 64
    with pytest.raises(FrozenInstanceError):
        cfg.keyframes = 3
    for bad in ({"flow_method": "raft"}, {"keyframes": 0}, {"channels": 5}, {"image_size": 8},
                {"magnitude_method": "sift"}, {"search": "all"}, {"output_size": 2}):
        with pytest.raises(ValueError, match="PrepareConfig." + next(iter(bad))):
            PrepareConfig(**bad)
    assert PrepareConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown parameters"):
        PrepareConfig.from_dict({"keyframe": 3})


def test_prepare_clip_shapes_and_truth(clips):
    clip = clips[0]
    p = prepare_clip(clip, PrepareConfig(keyframes=4))
    n = len(ROI_NAMES)
    assert p.flows.shape == (4, 3, 128, 128) and p.flows.dtype == np.float32
    assert p.key_mask.dtype == bool and p.key_mask.all()
    assert p.magnitudes.shape == (4,) and 0 <= p.magnitudes.min() and p.magnitudes.max() <= 1
    assert (np.diff(p.key_indices) > 0).all() and p.key_indices.min() > clip.onset
    assert p.rois.shape == (n, 4) and p.rois.min() >= 0 and p.rois.max() <= 128
    assert p.landmarks.shape == (68, 2) and p.face.shape == (128, 128) and p.face.dtype == np.uint8
    assert (p.clip_id, p.subject, p.label, p.aus) == (clip.clip_id, clip.subject, clip.label, clip.aus)
    t = p.truth
    assert t["au_masks"].shape == (len(clip.truth["au_ids"]), 128, 128) and t["au_masks"].dtype == bool
    assert t["apex_flow"].shape == (128, 128, 2)
    assert t["apex"] == clip.apex and abs(t["spotted_apex"] - clip.apex) <= 6
    assert t["landmark_error_px"] < 3.0


def test_truth_flow_is_resampled_into_the_aligned_frame(clips):
    """The estimated onset->apex flow agrees with the resampled true flow inside the AU masks."""
    for clip in clips:
        p = prepare_clip(clip, PrepareConfig(keyframes=1, search="annotated"))
        true = p.truth["apex_flow"]
        mask = p.truth["au_masks"].any(0)
        if abs(p.truth["spotted_apex"] - clip.apex) > 1 or mask.sum() < 20:
            continue
        est = np.moveaxis(p.flows[0, :2], 0, -1)
        big = mask & (np.linalg.norm(true, axis=-1) > 0.5)
        if big.sum() < 20:
            continue
        # direction: positive correlation of estimated and true vectors where the motion is
        cos = (est[big] * true[big]).sum(-1) / (np.linalg.norm(est[big], axis=-1) * np.linalg.norm(true[big], axis=-1) + 1e-6)
        assert np.median(cos) > 0.7
        assert endpoint_error(est, true, big) < np.linalg.norm(true[big], axis=-1).mean()
        return
    pytest.skip("no clip with a detected apex and a visible AU in this tiny set")


def test_output_size_scales_flow_rois_and_truth(clips):
    clip = clips[1]
    full = prepare_clip(clip, PrepareConfig(keyframes=2))
    half = prepare_clip(clip, PrepareConfig(keyframes=2, output_size=64))
    assert half.flows.shape == (2, 3, 64, 64) and half.face.shape == (64, 64)
    assert np.allclose(half.rois, full.rois / 2, atol=1e-4)
    assert np.allclose(half.landmarks, full.landmarks / 2, atol=1e-4)
    # u, v halve with the pixels; the mean motion shrinks accordingly
    ratio = np.abs(half.flows[:, :2]).mean() / np.abs(full.flows[:, :2]).mean()
    assert 0.4 < ratio < 0.6
    assert half.truth["apex_flow"].shape == (64, 64, 2) and half.truth["au_masks"].shape[1:] == (64, 64)


def test_precomputed_flows_without_frames():
    from stag.data.clip import Clip

    rng = np.random.default_rng(0)
    flows = rng.normal(size=(1, 3, 28, 28)).astype(np.float32)
    clip = Clip("megc/s1/a", "s1", "megc", 1, "positive", flows=flows, apex=12)
    p = prepare_clip(clip, PrepareConfig(channels=4, output_size=28))
    assert p.flows.shape == (1, 4, 28, 28) and p.key_mask.tolist() == [True]
    assert np.allclose(p.flows[0, :3], flows[0]) and np.allclose(p.flows[0, 3], np.hypot(flows[0, 0], flows[0, 1]))
    assert p.key_indices.tolist() == [12] and p.magnitudes.tolist() == [1.0]
    assert p.rois.shape == (len(ROI_NAMES), 4) and p.rois.max() <= 28  # template ROIs
    up = prepare_clip(clip, PrepareConfig(channels=3))  # default: resized to image_size
    assert up.flows.shape == (1, 3, 128, 128)
    assert np.abs(up.flows[0, :2]).max() <= np.abs(flows[0, :2]).max() + 1e-5  # provider's units kept
    with pytest.raises(ValueError, match="neither frames nor flows"):
        prepare_clip(Clip("x/s/c", "s", "x", 0, "a"))


def test_precomputed_flows_take_rois_from_the_apex_face(clips):
    from stag.data.clip import Clip

    src = clips[0]
    flows = np.zeros((1, 3, 32, 32), np.float32)
    face_clip = Clip("megc/s1/b", "s1", "megc", 0, "negative", flows=flows, frames=src.frames[[src.apex]], apex=0)
    p = prepare_clip(face_clip, PrepareConfig(output_size=32))
    true_lm = src.landmarks[src.apex] * 32 / src.frames.shape[2]
    assert np.abs(p.landmarks - true_lm).mean() < 1.0  # dlib on the apex face, scaled to the flow
    assert p.face.shape == (32, 32)
    blank = Clip("megc/s1/c", "s1", "megc", 0, "negative", flows=flows,
                 frames=np.full((1, 64, 64, 3), 128, np.uint8), apex=0)
    from stag.preprocess.face import canonical_landmarks

    assert np.allclose(prepare_clip(blank, PrepareConfig(output_size=32)).landmarks, canonical_landmarks(32))


def test_parallel_equals_serial_and_failures_are_named(clips, tmp_path):
    from stag.data.clip import ClipSet

    bad = replace(clips[0], clip_id="synthetic/s99/blank", frames=np.full_like(clips[0].frames, 120))
    mixed = ClipSet("mix", clips.scheme, [*clips, bad])
    cfg = PrepareConfig(keyframes=2)
    serial = prepare_dataset(clips, cfg, cache_dir=None, jobs=1, progress=False)
    with pytest.raises(RuntimeError, match=r"1 of 5 clips failed \(synthetic/s99/blank: RuntimeError: no face"):
        prepare_dataset(mixed, cfg, cache_dir=tmp_path, jobs=2, progress=False)
    stats = {}
    with pytest.warns(UserWarning, match="1 of 5 clips failed"):
        kept = prepare_dataset(mixed, cfg, cache_dir=tmp_path, jobs=2, progress=False, on_error="skip", stats=stats)
    assert len(stats["hits"]) == 4 and list(stats["failed"]) == ["synthetic/s99/blank"]  # finished clips kept
    for a, b in zip(serial, kept):
        assert a.clip_id == b.clip_id and np.array_equal(a.flows, b.flows)


def test_keyframe_table(clips):
    table = keyframe_table([prepare_clip(c, PrepareConfig(keyframes=3)) for c in clips[:2]])
    assert list(table["clip_id"]) == [c.clip_id for c in clips[:2]]
    assert {"apex_error", "coverage", "precision", "landmark_error_px"} <= set(table.columns)


def test_flow_clip_records_where_its_landmarks_come_from():
    """A flow-only clip with no apex face falls back to the template, and says so."""
    from stag.data.clip import Clip
    from stag.preprocess.pipeline import PrepareConfig, landmark_sources, prepare_clip

    rng = np.random.default_rng(0)
    clip = Clip(clip_id="c1", subject="s01", dataset="smic", label=0, label_name="negative",
                flows=rng.normal(size=(1, 3, 28, 28)).astype(np.float32))
    p = prepare_clip(clip, PrepareConfig(keyframes=1, image_size=28, output_size=28))
    assert p.truth["landmarks_from"] == "template"
    table = landmark_sources([p, p])
    assert table.loc["smic", "template"] == 2 and table.loc["smic", "dlib"] == 0
    assert table.loc["smic", "total"] == 2
