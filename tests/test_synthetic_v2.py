"""Generator v2 of the synthetic set: calibrated to the real codings and annotations.

AU combinations follow the table counted from the CASME II/SAMM codings, durations follow
the annotated onset/apex/offset, nuisance motion does not depend on the label, label noise
flips the annotated label at the configured rate, and lab "b" is a real domain shift.
Everything here uses small sets (lazy clips skip rendering) so that it runs in seconds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from stag.data.aus import AU_VOCAB
from stag.data.synthetic import (
    LABS, SyntheticConfig, annotated_label, clip_timing, duration_quantiles, generate, make_clip,
)
from stag.data.synthetic_aus import (
    AU_BUMPS, au_combinations, class_combinations, derive_au_combinations, sample_combination,
)

SHARED_TABLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "au_combinations.csv"
CLASSES = ("negative", "positive", "surprise")

RESULTS = Path(__file__).resolve().parents[1] / "results"


# ----------------------------------------------------------------------------- AU table

def test_packaged_table_is_counts_with_provenance():
    from importlib.resources import files

    text = files("stag.data").joinpath("au_combinations_real.csv").read_text(encoding="utf-8")
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("CASME2-coding-20190701.xlsx" in ln for ln in header)
    assert any("no subject or clip names" in ln for ln in header)
    rows = au_combinations()
    per_class = Counter()
    for r in rows:
        per_class[r.composite3] += r.clips
        assert r.aus == tuple(sorted(r.aus)) and len(r.sides) == len(r.aus) and r.clips > 0
    # 289 composite clips in the codings, less 2 whose only code is an action descriptor (AU31).
    assert dict(per_class) == {"negative": 186, "positive": 58, "surprise": 43}


@pytest.mark.skipif(not SHARED_TABLE.exists(), reason="../shared/data/au_combinations.csv is not here (a user's clone)")
def test_packaged_table_is_derived_from_the_codings(tmp_path):
    import pandas as pd

    derived = derive_au_combinations(str(SHARED_TABLE), str(tmp_path / "t.csv"))
    packaged = pd.read_csv(Path(__file__).resolve().parents[1] / "stag" / "data" / "au_combinations_real.csv",
                           comment="#")
    pd.testing.assert_frame_equal(derived, packaged)
    assert (tmp_path / "t.csv").read_text() == (
        Path(__file__).resolve().parents[1] / "stag" / "data" / "au_combinations_real.csv").read_text()


def test_every_coded_au_is_animated_including_those_outside_the_roi_vocabulary():
    coded = {a for r in au_combinations() for a in r.aus}
    assert coded <= set(AU_BUMPS)
    assert coded - set(AU_VOCAB), "the real codings use AUs outside the ROI table (e.g. 43, 18)"


@pytest.mark.parametrize("cls", CLASSES)
def test_sampled_combinations_follow_the_table(cls):
    rows = class_combinations(cls)
    p = np.array([r.clips for r in rows], float)
    p /= p.sum()
    rng = np.random.default_rng(0)
    n = 20000
    counts = Counter(id(sample_combination(rng, cls)) for _ in range(n))
    observed = np.array([counts[id(r)] for r in rows], float)
    # Chi-square over cells with >= 5 expected draws, the rest pooled.
    big = p * n >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(p[big] * n, p[~big].sum() * n)
    keep = exp > 0
    chi2 = float(((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum())
    dof = int(keep.sum()) - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof), (chi2, dof)
    assert 0.5 * np.abs(observed / n - p).sum() < 0.03


def test_clips_draw_their_aus_from_their_class_in_the_table():
    config = SyntheticConfig(n_subjects=6, clips_per_subject=10, image_size=32, frames=(8, 8), label_noise=0.0)
    allowed = {c: {r.aus for r in class_combinations(c)} for c in CLASSES}
    seen = Counter()
    for s in range(6):
        for k in range(10):
            clip = make_clip(config, s, k, lazy=True)
            assert clip.aus in allowed[clip.label_name]
            assert clip.truth["expressed_emotion"] == clip.emotion
            seen[clip.label_name] += 1
    assert set(seen) == set(CLASSES)


# ----------------------------------------------------------------------------- durations

def test_durations_match_the_annotations():
    config = SyntheticConfig(n_subjects=30, clips_per_subject=20)
    t = np.array([clip_timing(config, s, k) for s in range(30) for k in range(20)])
    T, onset, apex, offset = t.T
    assert np.all((0 <= onset) & (onset < apex) & (apex < offset) & (offset < T))
    rise, fall = apex - onset, offset - apex
    # Annotated at 200 fps: onset->apex 18 / 30 / 53 (10th / 50th / 90th pct), apex->offset median 30-40.
    assert 27 <= np.median(rise) <= 33
    assert 15 <= np.percentile(rise, 10) <= 21 and 45 <= np.percentile(rise, 90) <= 58
    assert 30 <= np.median(fall) <= 39
    assert 14 <= np.percentile(fall, 10) <= 21 and 55 <= np.percentile(fall, 90) <= 72
    q = duration_quantiles(*config.onset_apex_frames)
    assert q[0] == pytest.approx(18, abs=1) and q[2] == pytest.approx(53, abs=2.5)


def test_second_lab_frame_rate_scales_durations_and_short_clips_are_compressed():
    b = SyntheticConfig(n_subjects=20, clips_per_subject=10, lab="b")
    rise = [clip_timing(b, s, k)[2] - clip_timing(b, s, k)[1] for s in range(20) for k in range(10)]
    assert b.clip_fps == 100.0 and 12 <= np.median(rise) <= 18
    short = SyntheticConfig(n_subjects=4, clips_per_subject=10, frames=(8, 12))
    for s in range(4):
        for k in range(10):
            T, on, ap, off = clip_timing(short, s, k)
            assert 8 <= T <= 12 and 0 <= on < ap < off < T


# ----------------------------------------------------------------------------- nuisance

def _lazy(config, n_subjects, n_clips):
    return [make_clip(config, s, k, lazy=True) for s in range(n_subjects) for k in range(n_clips)]


def test_nuisance_does_not_depend_on_the_label():
    """The same clip expressing each class has the same blinks, twitch, macro-movement and drift."""
    base = dict(n_subjects=3, clips_per_subject=8, image_size=48, frames=(30, 40), blink_rate=60.0,
                macro_prob=0.5, twitch_prob=0.5, label_noise=0.0)
    per_class = [_lazy(SyntheticConfig(**base, class_weights=w), 3, 8)
                 for w in ((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    assert [c.label for c in per_class[1]] == [1] * 24
    for a, b, c in zip(*per_class):
        assert a.truth["nuisance"] == b.truth["nuisance"] == c.truth["nuisance"]
        for key in ("blink", "macro", "twitch", "drift", "illumination"):
            assert np.array_equal(a.truth[key], b.truth[key]) and np.array_equal(a.truth[key], c.truth[key])
    assert any(c.truth["nuisance"]["macro_site"] for c in per_class[0])


def test_distractor_sites_have_the_same_distribution_in_every_class():
    config = SyntheticConfig(n_subjects=12, clips_per_subject=20, image_size=32, frames=(8, 8),
                             macro_prob=1.0, twitch_prob=1.0, class_weights=(1, 1, 1), label_noise=0.0)
    sites = {c: Counter() for c in CLASSES}
    for clip in _lazy(config, 12, 20):
        sites[clip.label_name][clip.truth["nuisance"]["macro_site"]] += 1
        # the forehead can move in a surprise clip, unlike generator v1
    for c in CLASSES:
        assert set(sites[c]) == {"forehead", "jaw_image_left", "jaw_image_right", "chin_neck"}
        frac = np.array([sites[c][k] for k in sorted(sites[c])], float) / sum(sites[c].values())
        assert np.all(np.abs(frac - 0.25) < 0.13), (c, sites[c])


def test_blink_rate_is_spontaneous():
    config = SyntheticConfig(n_subjects=20, clips_per_subject=20, image_size=32, frames=(24, 160))
    clips = _lazy(config, 20, 20)
    seconds = sum((len(c.truth["blink"]) - c.onset - 1) / c.fps for c in clips)
    blinks = sum(c.truth["nuisance"]["blinks"] for c in clips)
    rate = blinks / seconds * 60
    assert 8 <= rate <= 25  # configured 15 / min; 400 clips of ~0.4 s give ~40 blinks
    fast = make_clip(SyntheticConfig(n_subjects=1, clips_per_subject=1, image_size=32, blink_rate=3000.0), 0, 0,
                     lazy=True)
    assert fast.truth["nuisance"]["blinks"] > 1 and fast.truth["blink"].max() > 0.5


# ----------------------------------------------------------------------------- label noise

def test_label_noise_zero_never_flips_and_p_flips_about_p():
    clean = SyntheticConfig(n_subjects=50, clips_per_subject=20, label_noise=0.0)
    assert all(annotated_label(clean, s, k, e) == (e, False) for s in range(50) for k in range(20) for e in range(3))
    noisy = SyntheticConfig(n_subjects=50, clips_per_subject=20, label_noise=0.3)
    out = [annotated_label(noisy, s, k, 1) for s in range(50) for k in range(20)]
    flips = np.array([f for _, f in out])
    assert abs(flips.mean() - 0.3) < 0.05
    labels = np.array([lab for lab, f in out if f])
    assert set(labels) == {0, 2} and abs((labels == 0).mean() - 0.5) < 0.1


def test_flipped_clips_keep_the_expressed_class_in_the_truth():
    config = SyntheticConfig(n_subjects=4, clips_per_subject=10, image_size=32, frames=(8, 8), label_noise=0.5)
    clips = _lazy(config, 4, 10)
    flipped = [c for c in clips if c.truth["label_flipped"]]
    assert 8 <= len(flipped) <= 32
    from stag.data.labels import get_scheme

    scheme = get_scheme("composite3")
    for c in clips:
        assert c.label == scheme.encode(c.emotion)
        assert (c.label != c.truth["expressed_label"]) == c.truth["label_flipped"]
        allowed = {r.aus for r in class_combinations(scheme.classes[c.truth["expressed_label"]])}
        assert c.aus in allowed


# ----------------------------------------------------------------------------- second lab

def test_second_lab_changes_the_image_statistics():
    import cv2

    kw = dict(n_subjects=2, clips_per_subject=2, frames=(12, 12), label_noise=0.0)
    a, b = (generate(SyntheticConfig(**kw, lab=lab)) for lab in ("a", "b"))
    assert b[0].fps == 200.0 * LABS["b"].fps_factor and a[0].fps == 200.0
    mean_a = np.mean([c.frames.mean() for c in a])
    mean_b = np.mean([c.frames.mean() for c in b])
    assert mean_b < 0.9 * mean_a  # camera gain
    # Frame-to-frame noise in a flat region is larger; fine detail is softer (lower resolution).
    clean = dict(kw, noise=0.0, distractors=False)
    sharp = [np.abs(cv2.Laplacian(c.frames[0].mean(-1), cv2.CV_64F)).mean() for c in generate(SyntheticConfig(**clean))]
    soft = [np.abs(cv2.Laplacian(c.frames[0].mean(-1), cv2.CV_64F)).mean()
            for c in generate(SyntheticConfig(**clean, lab="b"))]
    assert np.mean(soft) < 0.8 * np.mean(sharp)
    # Another face-shape population: same subject index, different landmarks.
    assert np.abs(a[0].landmarks[0] - b[0].landmarks[0]).max() > 1.0


# ----------------------------------------------------------------------------- reproducibility

def test_a_clip_regenerates_from_its_own_seed():
    config = SyntheticConfig(n_subjects=2, clips_per_subject=3, frames=(10, 14), label_noise=0.5, lab="b",
                             twitch_prob=1.0, macro_prob=1.0, blink_rate=600.0)
    clips = generate(config)
    again = make_clip(config, 1, 2)
    assert again.clip_id == clips[5].clip_id and again.frames.tobytes() == clips[5].frames.tobytes()
    assert again.label == clips[5].label and again.truth["nuisance"] == clips[5].truth["nuisance"]
    lazy = make_clip(config, 1, 2, lazy=True)
    assert lazy.load_frames().tobytes() == clips[5].frames.tobytes()


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_noise=1.5), "label_noise"),
    (dict(lab="c"), "lab"),
    (dict(au_source="smic"), "au_source"),
    (dict(onset_apex_frames=(0.0, 0.4)), "onset_apex_frames"),
    (dict(blink_duration=(0.4, 0.1)), "blink_duration"),
    (dict(blink_rate=-1.0), "blink_rate"),
    (dict(twitch_prob=2.0), "twitch_prob"),
])
def test_invalid_v2_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        SyntheticConfig(**kwargs)
    assert "expected" in str(info.value)


# ----------------------------------------------------------------------------- calibration

def test_calibration_table_reads_the_committed_points(tmp_path):
    from stag.data.synthetic_calibration import CALIBRATION_CSV, TARGET_UF1, calibration_table

    table = calibration_table(RESULTS / CALIBRATION_CSV)
    assert (RESULTS / CALIBRATION_CSV).exists() and len(table) >= 1
    assert {"difficulty", "model", "uf1", "is_default", "in_target", "command"} <= set(table.columns)
    assert table["uf1"].between(0, 1).all() and TARGET_UF1 == (0.60, 0.70)
    fake = tmp_path / "c.csv"
    fake.write_text(f"difficulty,model,uf1,command\n{SyntheticConfig().difficulty},ststnet,0.65,x\n0.9,ststnet,0.4,y\n")
    t = calibration_table(fake)
    t = t.sort_values("difficulty")
    assert t["is_default"].tolist() == [True, False] and t["in_target"].tolist() == [True, False]
    with pytest.raises(FileNotFoundError, match="calibration"):
        calibration_table(tmp_path / "missing.csv")


def test_the_default_difficulty_puts_ststnet_inside_the_real_range():
    """The issue's criterion on the committed points: at the default difficulty the STSTNet-like
    baseline's mean over its seeds (at least 3) lies inside the real composite's range."""
    from stag.data.synthetic_calibration import CALIBRATION_CSV, TARGET_UF1, calibration_summary, calibration_table

    table = calibration_table(RESULTS / CALIBRATION_CSV)
    ststnet = table[(table["model"] == "ststnet") & table["is_default"]]
    assert len(ststnet) >= 3 and TARGET_UF1[0] <= ststnet["uf1"].mean() <= TARGET_UF1[1]
    summary = calibration_summary(table)
    default = next(c for c in summary.columns if c.endswith("*"))
    assert summary.loc["ststnet", default] == f"{ststnet['uf1'].mean():.3f} ({len(ststnet)})"


def test_the_default_command_scores_inside_the_real_range():
    """The issue's done-when: `stag train --dataset synthetic --model ststnet` with every default
    (30 epochs, honest last epoch, the calibrated set) scores UF1 inside 0.60-0.70; the recorded
    runs of exactly that command are re-scored here."""
    import shlex

    from stag.data.synthetic_calibration import TARGET_UF1
    from stag.train import records

    table = records.load_records(RESULTS / "synthetic_defaults")
    assert len(table) >= 3 and set(table["model"]) == {"ststnet"} and set(table["selection"]) == {"last"}
    for command in table["command"]:
        flags = {a for a in shlex.split(command) if a.startswith("-")}
        assert flags <= {"--dataset", "--model", "--seed", "--device", "--jobs", "--quiet", "--cache-dir", "--out"}, command
    assert TARGET_UF1[0] <= table["uf1"].mean() <= TARGET_UF1[1]
