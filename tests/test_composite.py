"""Frames rendered into the composite's flow-image representation (stag.preprocess.composite)."""

from __future__ import annotations

import numpy as np
import pytest

from stag.preprocess.composite import COMPOSITE_SIZE, composite_image, composite_phases


def test_composite_image_scales_each_channel_and_keeps_the_sign():
    s = 128
    x = np.linspace(-1.0, 2.0, s, dtype=np.float32)
    u = np.tile(x, (s, 1))                      # rightward motion growing to the right
    v = -np.tile(x[:, None], (1, s)) * 0.1      # small, upward towards the bottom
    strain = np.abs(u) * 0.01
    out = composite_image(np.stack([u, v, strain]))
    assert out.shape == (3, COMPOSITE_SIZE, COMPOSITE_SIZE) and out.dtype == np.float32
    # per-channel min-max: v's tiny range fills [-1, 1] like u's (relative maps, not pixels)
    for ch in range(3):
        assert -1 <= out[ch].min() < -0.9 and 0.9 < out[ch].max() <= 1
    assert np.all(np.diff(out[0].mean(0)) > 0) and np.all(np.diff(out[1].mean(1)) < 0)
    # area down-sampling after the 8-bit scaling keeps the extremes inside 0..255
    assert (np.abs(out) <= 1).all()


def test_composite_phases_on_a_synthetic_clip_point_back_in_phase_two():
    from stag.data.synthetic import SyntheticConfig, make_clip
    from stag.preprocess.face import align_clip

    cfg = SyntheticConfig(n_subjects=1, clips_per_subject=1, difficulty=0.0)
    clip = make_clip(cfg, 0, 0)
    al = align_clip(clip.load_frames(), clip.onset, size=128, clip_id=clip.clip_id,
                    landmarks=np.asarray(clip.landmarks)[clip.onset])
    phases = composite_phases(al.frames, clip.onset, clip.apex, clip.offset)
    assert phases.shape == (2, 3, 28, 28)
    centred = phases - np.median(phases, axis=(2, 3), keepdims=True)
    v_corr = np.corrcoef(centred[0, 1].ravel(), centred[1, 1].ravel())[0, 1]
    s_corr = np.corrcoef(phases[0, 2].ravel(), phases[1, 2].ravel())[0, 1]
    assert v_corr < 0 < s_corr, (v_corr, s_corr)  # the face returns; the same regions move
    assert composite_phases(al.frames, clip.onset, clip.apex, clip.offset, phases=1).shape == (1, 3, 28, 28)
    with pytest.raises(ValueError, match="onset < apex < offset"):
        composite_phases(al.frames, clip.apex, clip.onset, clip.offset)
    with pytest.raises(ValueError, match="phases=3"):
        composite_phases(al.frames, clip.onset, clip.apex, clip.offset, phases=3)


def test_prepare_config_composite_goes_through_the_composite_path():
    from stag.data import load
    from stag.preprocess.pipeline import PrepareConfig, prepare_clip

    clip = load("synthetic", n_subjects=2, clips_per_subject=1)[0]
    p = prepare_clip(clip, PrepareConfig(representation="composite", keyframes=2, output_size=64,
                                         landmarks="given", apex="annotated"))
    assert p.flows.shape == (2, 3, 64, 64) and p.key_mask.all() and p.rois.shape[1] == 4
    assert p.magnitudes.max() == 1 and (p.magnitudes > 0).all()
    assert p.truth["landmarks_from"] == "given"
    with pytest.raises(ValueError, match="keyframes=4.*1 or 2 with representation='composite'"):
        PrepareConfig(representation="composite", keyframes=4)
    with pytest.raises(ValueError, match="representation='video'"):
        PrepareConfig(representation="video")
