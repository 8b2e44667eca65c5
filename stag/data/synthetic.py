"""The synthetic micro-expression set: the book's default data, with full ground truth.

Real MER datasets are licensed per lab and cannot ship, so the book, the tests and a first
run use rendered face videos that behave like them and carry what real data lacks: the true
displacement field, per-AU pixel masks and intensities, and the 68 landmarks of every frame.

The generator (version 2) is calibrated to the real codings and annotations:

- **AU combinations** come from the released CASME II and SAMM codings: each clip draws one
  (emotion, AU combination) row of its class with probability proportional to the number of
  real clips that showed it (:func:`stag.data.synthetic_aus.au_combinations`, package data
  counted once from the codings). One-sided codes (``L10``) move one side of the face.
- **Durations** are drawn per clip from log-normals matched to the annotations at 200 fps:
  onset to apex median 30 frames (10th-90th percentile 18-53), apex to offset median 34
  (CASME II 30, SAMM 40; 15-63). See ``onset_apex_frames`` and ``apex_offset_frames``.
- **Amplitudes** are sub-pixel to about a pixel and a half at 128 x 128; the default
  ``difficulty`` is calibrated so that the STSTNet-like baseline scores UF1 within its
  real-composite range (0.60-0.70) under honest LOSO; the points measured so far are in
  ``results/synthetic_calibration/CALIBRATION.md``.
- **Nuisance motion is independent of the label**: blinks at a spontaneous rate, head drift
  and roll, larger movements at a random site, AU-like twitches of any AU, flicker and
  sensor noise are drawn from a random stream that never sees the class.
- **Label noise**: with probability ``label_noise`` the annotated label is another class
  than the one expressed (the truth keeps both).
- **Labs**: ``lab="b"`` is a second recording setup (other face-shape distribution, camera
  gain, noise, frame rate and resolution), so that cross-dataset tests a real shift.

How a clip is made (all from the clip's own seed, so one clip can be regenerated alone):

1. The subject's identity (shape, colours, texture) gives the neutral landmarks (iBUG
   order) and the subject's face image is drawn from them; a small per-clip pose (rotation
   and shift) places it, giving the reference landmarks ``L`` and reference face ``I``.
2. Frame ``t`` moves a reference point ``x`` to ``S_t(x + A_t(x))``: ``A_t`` is the sum of
   the AU fields times the intensity profile, plus blink, twitch and macro-movement fields;
   ``S_t`` is the head drift (a small rotation + translation). The onset frame is the
   reference (``S = id``, ``A = 0``), so the onset->apex flow is known exactly.
3. The frame is ``I`` warped by the inverse map, with illumination flicker, camera gain,
   the camera's resolution and sensor noise.

Public API: :class:`SyntheticConfig`, :func:`load_synthetic`, :func:`make_clip`,
:data:`LABS`, :func:`duration_quantiles`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from numbers import Real

import numpy as np

from stag.data.apex_annotation import check_apex_noise, perturb_apex
from stag.data.clip import Clip, ClipSet
from stag.data.labels import get_scheme
from stag.data.synthetic_aus import (
    AU_SOURCES, au_unit_bumps, blink_bumps, bump_field, face_frame, sample_combination, synthetic_aus,
)
from stag.data.synthetic_face import identity_landmarks, random_identity, render_face

SCHEME = "composite3"


@dataclass(frozen=True)
class LabProfile:
    """How one recording setup differs from the reference lab ("a").

    Attributes:
        fps_factor: frame rate relative to ``SyntheticConfig.fps`` (0.5: 100 fps, as SMIC-HS).
        noise_factor: factor on the sensor noise.
        gain: camera gain (exposure) on the grey levels.
        capture_scale: the camera's resolution relative to ``image_size``: frames are
            captured (and get their sensor noise) at this scale, then resized to ``image_size``.
        face_shape: shift of the face-shape distribution (0: reference population; 1: wider,
            shorter faces with larger eyes and a wider mouth).
    """

    fps_factor: float = 1.0
    noise_factor: float = 1.0
    gain: float = 1.0
    capture_scale: float = 1.0
    face_shape: float = 0.0


#: Recording setups: ``"a"`` the reference, ``"b"`` a second lab (darker, noisier,
#: lower-resolution 100 fps camera, another face-shape population).
LABS: dict[str, LabProfile] = {
    "a": LabProfile(),
    "b": LabProfile(fps_factor=0.5, noise_factor=1.8, gain=0.8, capture_scale=0.6, face_shape=1.0),
}


def _is_range(v) -> bool:
    return isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, Real) and not isinstance(x, bool) for x in v)


@dataclass(frozen=True)
class SyntheticConfig:
    """Every parameter of the synthetic generator (plain values, papermill-friendly).

    ``SyntheticConfig()`` is the calibrated default set.

    Args:
        n_subjects: number of subjects (identities), ``"s01"``... (default 20).
        clips_per_subject: clips per subject (default 12).
        frames: ``(min, max)`` clip length in frames, inclusive. Durations are drawn from the
            real annotations; a clip longer than ``max`` is compressed in time to fit, a
            shorter one than ``min`` gets more neutral frames before the onset and after the
            offset (default 24-160).
        image_size: frame height = width in pixels (default 128).
        fps: frame rate of lab ``"a"`` (200, as CASME II/SAMM); durations in frames scale with it.
        amplitude: ``(min, max)`` apex displacement of the strongest AU in pixels at
            128 x 128 (scaled with ``image_size`` and ``difficulty``); each further AU gets
            60-100 % of it (default 0.25-1.25 px).
        noise: sensor noise standard deviation in grey levels (of 255) (default 2).
        difficulty: 0..1 knob trading amplitude against noise: amplitudes are multiplied
            by ``2 ** (1 - 2 d)`` and the noise by ``2 ** (2 d - 1)``, so 0.5 leaves both as
            given. The default, 0.2 (52 % more motion, 34 % less noise than 0.5), is the
            calibrated one: STSTNet-like honest LOSO UF1 0.636 there, inside the 0.60-0.70
            target (``results/synthetic_calibration/CALIBRATION.md``).
        class_weights: relative frequency of negative / positive / surprise
            (composite3 counts 250 / 109 / 83 by default).
        colour: RGB faces if True, otherwise grey frames (still 3 channels).
        seed: base seed; the same seed gives byte-identical clips.
        dataset_name: ``Clip.dataset`` and prefix of the clip ids; also enters the seed.
        distractors: master switch for blinks, twitches, head drift, flicker and macro-movements.
        onset_apex_frames, apex_offset_frames: ``(median, log_sd)`` of the log-normal onset->apex
            and apex->offset durations in frames at 200 fps (from the CASME II and SAMM
            annotations: 30 / 0.42 and 34 / 0.5; see :func:`duration_quantiles`).
        margin_frames: ``(min, max)`` neutral frames (at 200 fps) before the onset and after
            the offset, each drawn uniformly.
        blink_rate: spontaneous blinks per minute (Poisson), default 15. Doughty (2001,
            Optom Vis Sci 78(10):712-725) puts the spontaneous rate in primary gaze at
            8.0-21.0 blinks/min (reading 1.4-14.4, conversation 10.5-32.5); Doughty (2002,
            Optom Vis Sci 79(7):439-447) measured 10.3 +/- 3.1 blinks/min in silent primary
            gaze. A subject watching a clip is in primary gaze.
        blink_duration: ``(min, max)`` duration of a blink in seconds (default 0.1-0.4, the
            usual range of a full blink; eye trackers drop "blinks" under 80 ms or over
            900 ms as artefacts).
        drift_px, drift_deg: maximum head translation (px at 128) and roll (degrees)
            reached over a clip, relative to the onset frame.
        flicker: relative amplitude of the illumination flicker.
        macro_prob: probability of a larger movement (forehead, jaw, swallow) at a random site.
        twitch_prob: probability of an AU-like twitch (any animated AU, any side) unrelated
            to the expression.
        twitch_amplitude: ``(min, max)`` twitch displacement in px at 128 (before ``difficulty``).
        label_noise: probability that a clip's annotated label is another class (uniform
            over the other two) than the class it expresses.
        au_source: AU combinations of ``"pooled"`` (CASME II + SAMM), ``"casme2"`` or ``"samm"``.
        lab: recording setup, a key of :data:`LABS` (``"a"`` or ``"b"``).
    """

    n_subjects: int = 20
    clips_per_subject: int = 12
    frames: tuple[int, int] = (24, 160)
    image_size: int = 128
    fps: float = 200.0
    amplitude: tuple[float, float] = (0.25, 1.25)
    noise: float = 2.0
    difficulty: float = 0.2
    class_weights: tuple[float, float, float] = (250.0, 109.0, 83.0)
    colour: bool = True
    seed: int = 0
    dataset_name: str = "synthetic"
    distractors: bool = True
    onset_apex_frames: tuple[float, float] = (30.0, 0.42)
    apex_offset_frames: tuple[float, float] = (34.0, 0.5)
    margin_frames: tuple[float, float] = (2.0, 12.0)
    blink_rate: float = 15.0
    blink_duration: tuple[float, float] = (0.1, 0.4)
    drift_px: float = 1.0
    drift_deg: float = 0.5
    flicker: float = 0.01
    macro_prob: float = 0.15
    twitch_prob: float = 0.3
    twitch_amplitude: tuple[float, float] = (0.15, 0.6)
    label_noise: float = 0.05
    au_source: str = "pooled"
    lab: str = "a"

    def __post_init__(self) -> None:
        def bad(name, expected):
            raise ValueError(f"SyntheticConfig.{name}={getattr(self, name)!r}: expected {expected}")

        for name in ("n_subjects", "clips_per_subject", "image_size", "seed"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                bad(name, "an integer")
        if self.n_subjects < 1:
            bad("n_subjects", "at least 1 subject")
        if self.n_subjects > 999:
            bad("n_subjects", "at most 999 subjects")
        if self.clips_per_subject < 1:
            bad("clips_per_subject", "at least 1 clip per subject")
        if self.image_size < 32:
            bad("image_size", "at least 32 pixels")
        if self.seed < 0:
            bad("seed", "a non-negative integer")
        if not _is_range(self.frames) or not all(float(x).is_integer() for x in self.frames):
            bad("frames", "a (min, max) pair of integers")
        if not (8 <= self.frames[0] <= self.frames[1]):
            bad("frames", "8 <= min <= max")
        for name in ("amplitude", "twitch_amplitude", "margin_frames", "blink_duration"):
            v = getattr(self, name)
            if not _is_range(v) or v[0] < 0 or v[1] < v[0]:
                bad(name, "a (min, max) pair of numbers with 0 <= min <= max")
        if self.amplitude[1] == 0:
            bad("amplitude", "a maximum above 0 pixels")
        for name in ("onset_apex_frames", "apex_offset_frames"):
            v = getattr(self, name)
            if not _is_range(v) or v[0] <= 0 or v[1] < 0:
                bad(name, "a (median frames > 0, log-sd >= 0) pair")
        for name in ("noise", "drift_px", "drift_deg", "flicker", "fps", "blink_rate"):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                bad(name, "a finite number >= 0")
        if self.fps <= 0:
            bad("fps", "a frame rate above 0")
        for name in ("difficulty", "macro_prob", "twitch_prob", "label_noise"):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not 0 <= v <= 1:
                bad(name, "a number in [0, 1]")
        if (not isinstance(self.class_weights, (tuple, list)) or len(self.class_weights) != 3
                or any(not isinstance(w, Real) or w < 0 for w in self.class_weights) or sum(self.class_weights) <= 0):
            bad("class_weights", "three non-negative weights (negative, positive, surprise) with a positive sum")
        if not isinstance(self.dataset_name, str) or not self.dataset_name or "/" in self.dataset_name:
            bad("dataset_name", "a non-empty name without '/'")
        if self.au_source not in AU_SOURCES:
            bad("au_source", f"one of {AU_SOURCES}")
        if self.lab not in LABS:
            bad("lab", f"one of {tuple(LABS)}")

    @property
    def amplitude_scale(self) -> float:
        """Factor on the amplitude from :attr:`difficulty` and image size (1 at 0.5, 128 px)."""
        return 2.0 ** (1.0 - 2.0 * self.difficulty) * self.image_size / 128.0

    @property
    def noise_scale(self) -> float:
        """Factor on the noise from :attr:`difficulty` (1 at 0.5, 2 at 1, 0.5 at 0)."""
        return 2.0 ** (2.0 * self.difficulty - 1.0)

    @property
    def profile(self) -> LabProfile:
        """The :class:`LabProfile` of :attr:`lab`."""
        return LABS[self.lab]

    @property
    def clip_fps(self) -> float:
        """Frame rate of the clips: ``fps`` times the lab's ``fps_factor``."""
        return float(self.fps) * self.profile.fps_factor

    @property
    def n_clips(self) -> int:
        return self.n_subjects * self.clips_per_subject

    def to_dict(self) -> dict:
        return asdict(self)


def duration_quantiles(median: float, log_sd: float, q=(0.1, 0.5, 0.9)) -> tuple[float, ...]:
    """Quantiles (frames) of the log-normal duration ``(median, log_sd)`` of :class:`SyntheticConfig`.

    ``duration_quantiles(30, 0.42)`` gives about 17.5 / 30 / 51 frames (annotated onset->apex
    at 200 fps: 18 / 30 / 53); ``duration_quantiles(34, 0.5)`` about 18 / 34 / 65 (apex->offset:
    CASME II 15 / 30 / 55, SAMM 17 / 40 / 63).
    """
    from scipy.stats import norm

    return tuple(float(median * math.exp(log_sd * norm.ppf(p))) for p in q)


# --------------------------------------------------------------------------- planning

# Random streams of a clip. The nuisance and timing streams never see the label, so
# distractors and durations are independent of the class by construction.
_STREAM_CLASSES, _STREAM_IDENTITY, _STREAM_EXPRESSION = 1_000_003, 2_000_003, 3_000_017
_STREAM_NUISANCE, _STREAM_LABEL, _STREAM_TIMING = 4_000_037, 5_000_011, 6_000_001


def _rng(config: SyntheticConfig, *key: int) -> np.random.Generator:
    name = zlib.crc32(config.dataset_name.encode("utf-8"))
    return np.random.default_rng([int(config.seed), name, *key])


def subject_name(i: int) -> str:
    return f"s{i + 1:02d}"


def class_plan(config: SyntheticConfig) -> np.ndarray:
    """``(n_subjects, clips_per_subject)`` expressed class ids, counts proportional to ``class_weights``.

    Counts use largest-remainder rounding over the whole set; the classes are then shuffled
    across subjects so that, as in real data, subjects differ in their class mix. The
    annotated label differs from this with probability ``label_noise`` (:func:`annotated_label`).
    """
    n = config.n_clips
    w = np.asarray(config.class_weights, float)
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(3), counts)
    _rng(config, _STREAM_CLASSES).shuffle(labels)
    return labels.reshape(config.n_subjects, config.clips_per_subject)


def annotated_label(config: SyntheticConfig, subject: int, index: int, expressed: int) -> tuple[int, bool]:
    """``(label, flipped)``: the annotated class of a clip that expresses class ``expressed``.

    With probability ``label_noise`` the label is one of the two other classes, uniformly.
    """
    rng = _rng(config, _STREAM_LABEL, subject, index)
    flip, other = rng.random() < config.label_noise, int(rng.integers(1, 3))
    return ((expressed + other) % 3, True) if flip else (int(expressed), False)


def subject_identity(config: SyntheticConfig, subject: int):
    """The subject's :class:`~stag.data.synthetic_face.Identity`, shifted by the lab's face-shape population."""
    ident = random_identity(_rng(config, _STREAM_IDENTITY, subject))
    fs = config.profile.face_shape
    if fs:
        ident = replace(ident, face_width=ident.face_width * (1 - 0.04 * fs), aspect=ident.aspect * (1 - 0.06 * fs),
                        eye_size=ident.eye_size * (1 + 0.08 * fs), mouth_width=ident.mouth_width * (1 + 0.06 * fs),
                        jaw_narrow=ident.jaw_narrow - 0.03 * fs, brow_raise=ident.brow_raise + 0.01 * fs)
    return ident


def _profile(T: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Raised-cosine rise onset->apex and fall apex->offset; 1 exactly at the apex."""
    t = np.arange(T, dtype=np.float64)
    out = np.zeros(T)
    rise = (t >= onset) & (t <= apex)
    out[rise] = 0.5 - 0.5 * np.cos(np.pi * (t[rise] - onset) / max(apex - onset, 1))
    fall = (t > apex) & (t <= offset)
    out[fall] = 0.5 + 0.5 * np.cos(np.pi * (t[fall] - apex) / max(offset - apex, 1))
    out[apex] = 1.0
    return out


def _bump_profile(T: int, start: float, length: float) -> np.ndarray:
    t = np.arange(T, dtype=np.float64)
    u = np.clip((t - start) / max(length, 1e-6), 0, 1)
    return np.where((t > start) & (t < start + length), np.sin(np.pi * u) ** 2, 0.0)


def clip_timing(config: SyntheticConfig, subject: int, index: int) -> tuple[int, int, int, int]:
    """``(T, onset, apex, offset)`` of a clip: log-normal durations at the clip's frame rate.

    Drawn from a stream that does not see the label. A clip longer than ``frames[1]`` is
    compressed in time; a shorter one than ``frames[0]`` gets longer neutral margins.
    """
    rng = _rng(config, _STREAM_TIMING, subject, index)
    k = config.clip_fps / 200.0
    (m1, s1), (m2, s2) = config.onset_apex_frames, config.apex_offset_frames
    rise = float(np.clip(m1 * math.exp(s1 * rng.standard_normal()), 0.25 * m1, 4 * m1)) * k
    fall = float(np.clip(m2 * math.exp(s2 * rng.standard_normal()), 0.25 * m2, 4 * m2)) * k
    lead, tail = (float(rng.uniform(*config.margin_frames)) * k for _ in range(2))
    lo, hi = int(config.frames[0]), int(config.frames[1])
    total = lead + rise + fall + tail + 1
    if total > hi:
        c = hi / total
        lead, rise, fall, tail = lead * c, rise * c, fall * c, tail * c
    elif total < lo:
        lead, tail = lead + (lo - total) / 2, tail + (lo - total) / 2
    onset = int(round(lead))
    apex = onset + max(1, int(round(rise)))
    offset = apex + max(1, int(round(fall)))
    T = int(np.clip(offset + 1 + int(round(tail)), lo, hi))
    while offset > T - 1:  # rounding overshoot on very short clips: take frames off the longest part
        parts = [onset, apex - onset - 1, offset - apex - 1]
        j = int(np.argmax(parts))
        if j == 0:
            onset, apex, offset = onset - 1, apex - 1, offset - 1
        elif j == 1:
            apex, offset = apex - 1, offset - 1
        else:
            offset -= 1
    return T, onset, apex, offset


@dataclass
class _Plan:
    """Everything random about one clip, drawn before any pixel is rendered."""

    subject: int
    index: int
    label: int                     # annotated label
    expressed: int                 # class the face expresses
    emotion: str                   # annotated emotion word
    expressed_emotion: str
    aus: tuple[int, ...]
    au_sides: dict                 # au -> "L" / "R" / ""
    au_intensity: dict
    identity: object               # the subject's Identity
    subject_landmarks: np.ndarray  # (68, 2) neutral landmarks of the subject's face image
    pose: np.ndarray               # (3,) per-clip pose: tx, ty (px), angle (rad) about pose_centre
    pose_centre: np.ndarray        # (2,)
    landmarks: np.ndarray          # (68, 2) reference (onset) landmarks = pose(subject_landmarks)
    T: int
    onset: int
    apex: int
    offset: int
    intensity: np.ndarray          # (T,)
    au_bumps: dict                 # au -> unit bumps (peak 1 px)
    blink: list                    # bumps at full closure
    blink_profile: np.ndarray      # (T,)
    macro: list                    # bumps at full amplitude
    macro_profile: np.ndarray      # (T,)
    twitch: list                   # bumps at full amplitude
    twitch_profile: np.ndarray     # (T,)
    nuisance: dict                 # what the nuisance stream drew (sites, AUs, counts), for the truth
    drift: np.ndarray              # (T, 3): dx, dy (px), angle (rad) about centre
    centre: np.ndarray             # (2,) rotation centre
    gain: np.ndarray               # (T,) illumination gain
    noise_seed: int


MACRO_SITES = ("forehead", "jaw_image_left", "jaw_image_right", "chin_neck")


def _plan(config: SyntheticConfig, subject: int, index: int, expressed: int) -> _Plan:
    S = config.image_size
    fps = config.clip_fps
    scheme = get_scheme(SCHEME)
    label, flipped = annotated_label(config, subject, index, expressed)
    rng = _rng(config, _STREAM_EXPRESSION, subject, index)
    row = sample_combination(rng, scheme.classes[expressed], config.au_source)
    emotion = row.emotion
    if flipped:  # the annotator wrote an emotion word of the other class
        emotion = sample_combination(_rng(config, _STREAM_LABEL, subject, index, 1), scheme.classes[label],
                                     config.au_source).emotion
    nz = _rng(config, _STREAM_NUISANCE, subject, index)
    # Per-clip pose: the subject sits slightly differently in every recording.
    ident = subject_identity(config, subject)
    subject_lm = identity_landmarks(ident, S)
    angle = np.deg2rad(nz.uniform(-2, 2))
    pose = np.array([nz.uniform(-0.015, 0.015) * S, nz.uniform(-0.015, 0.015) * S, angle])
    pose_centre = subject_lm[27:36].mean(0)
    lm = _similarity(subject_lm, pose, pose_centre)
    T, onset, apex, offset = clip_timing(config, subject, index)
    intensity = _profile(T, onset, apex, offset)

    amp = float(rng.uniform(*config.amplitude)) * config.amplitude_scale
    grid = _grid(S)
    au_int, au_b, sides = {}, {}, dict(zip(row.aus, row.sides))
    for j, au in enumerate(rng.permutation(len(row.aus))):
        au = int(row.aus[au])
        au_int[au] = amp * (1.0 if j == 0 else float(rng.uniform(0.6, 1.0)))
        au_b[au] = au_unit_bumps(au, lm, grid, sides[au])
    au_int = {au: au_int[au] for au in sorted(au_int)}

    # Nuisance: every number is drawn whatever the switches, so that turning distractors off
    # leaves the rest of the clip identical; none of it depends on the label or the AUs.
    after = max(T - onset - 1, 1) / fps  # seconds after the onset
    n_blinks = int(nz.poisson(config.blink_rate / 60.0 * after))
    blinks = [(nz.uniform(onset + 1, max(onset + 2, T - 1)), nz.uniform(*config.blink_duration) * fps,
               nz.uniform(0.7, 0.95)) for _ in range(n_blinks)]
    macro_on = nz.random() < config.macro_prob
    macro_len = nz.uniform(0.3, 0.8) * T
    macro_start = nz.uniform(onset + 1, max(onset + 2, T - 0.3 * T))
    macro_amp = nz.uniform(1.0, 3.0) * S / 128.0
    macro_site = int(nz.integers(0, len(MACRO_SITES)))
    animated = synthetic_aus()
    twitch_on = nz.random() < config.twitch_prob
    twitch_au = int(animated[int(nz.integers(0, len(animated)))])
    twitch_side = ("", "L", "R")[int(nz.integers(0, 3))]
    twitch_amp = float(nz.uniform(*config.twitch_amplitude)) * config.amplitude_scale
    twitch_len = nz.uniform(15, 60) * fps / 200.0
    twitch_start = nz.uniform(onset + 1, max(onset + 2, T - 2))
    walk = nz.standard_normal((T, 3))
    drift_scale = nz.uniform(0.3, 1.0, 3)
    flick_f, flick_ph, flick_jit = nz.uniform(1.0, 8.0), nz.uniform(0, 2 * np.pi), nz.standard_normal(T)
    noise_seed = int(nz.integers(0, 2**31 - 1))

    zeros = np.zeros(T)
    blink, blink_p, macro, macro_p, twitch, twitch_p = [], zeros, [], zeros, [], zeros
    drift = np.zeros((T, 3))
    gain = np.ones(T)
    d = config.distractors
    if d and blinks:
        blink = blink_bumps(lm, 1.0)
        blink_p = np.minimum(sum(c * _bump_profile(T, s, n) for s, n, c in blinks), 0.95)
    if d and macro_on:
        macro = _macro_bumps(lm, macro_site, macro_amp)
        macro_p = _bump_profile(T, macro_start, macro_len)
    if d and twitch_on:
        twitch = [(c, v, s, w * twitch_amp) for c, v, s, w in au_unit_bumps(twitch_au, lm, grid, twitch_side)]
        twitch_p = _bump_profile(T, twitch_start, twitch_len)
    if d:
        # Smooth random walk, rescaled to the configured maximum and zeroed at the onset.
        from scipy.ndimage import gaussian_filter1d

        path = gaussian_filter1d(np.cumsum(walk, 0), sigma=max(2.0, T / 8), axis=0, mode="nearest")
        path -= path[onset]
        path /= np.abs(path).max(0, keepdims=True) + 1e-9
        drift = path * np.array([config.drift_px * S / 128.0, config.drift_px * S / 128.0, np.deg2rad(config.drift_deg)])
        drift *= drift_scale
        t = np.arange(T) / fps
        gain = 1 + config.flicker * (0.7 * np.sin(2 * np.pi * flick_f * t + flick_ph) + 0.3 * flick_jit)
        gain /= gain[onset]
    nuisance = {"blinks": len(blinks) if blink else 0, "macro_site": MACRO_SITES[macro_site] if macro else "",
                "twitch_au": twitch_au if twitch else 0, "twitch_side": twitch_side if twitch else "",
                "twitch_amplitude": twitch_amp if twitch else 0.0}
    centre = lm[27:36].mean(0)
    return _Plan(subject, index, label, int(expressed), emotion, row.emotion, tuple(sorted(au_int)),
                 {a: sides[a] for a in sorted(au_int)}, au_int, ident, subject_lm, pose, pose_centre,
                 lm, T, onset, apex, offset, intensity, au_b, blink, blink_p, macro, macro_p,
                 twitch, twitch_p, nuisance, drift, centre, gain, noise_seed)


def _macro_bumps(lm: np.ndarray, site: int, amp: float):
    """A larger movement at one of :data:`MACRO_SITES` (forehead/hairline, jaw side, swallow),
    chosen without looking at the expression (any site can coincide with an active AU)."""
    ex, ey, iod = face_frame(lm)
    sites = [
        (lm[19:25].mean(0) - 0.8 * iod * ey, ex * 0.8 - ey * 0.6, 0.3 * iod),  # forehead / hairline
        (lm[3], -ex, 0.18 * iod),                                              # jaw, image left
        (lm[13], ex, 0.18 * iod),                                              # jaw, image right
        (lm[8] + 0.3 * iod * ey, -ey, 0.3 * iod),                              # chin/neck (swallow)
    ]
    c, dvec, s = sites[site]
    return [(c, dvec / np.linalg.norm(dvec), s, amp)]


# --------------------------------------------------------------------------- geometry

def _grid(S: int) -> np.ndarray:
    yy, xx = np.mgrid[0:S, 0:S]
    return np.stack([xx, yy], -1).astype(np.float64).reshape(-1, 2)


def _similarity(points: np.ndarray, drift_t: np.ndarray, centre: np.ndarray) -> np.ndarray:
    dx, dy, a = drift_t
    c, s = np.cos(a), np.sin(a)
    p = points - centre
    return np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], 1) + centre + (dx, dy)


def _similarity_inverse(points: np.ndarray, drift_t: np.ndarray, centre: np.ndarray) -> np.ndarray:
    dx, dy, a = drift_t
    c, s = np.cos(a), np.sin(a)
    p = points - centre - (dx, dy)
    return np.stack([c * p[:, 0] + s * p[:, 1], -s * p[:, 0] + c * p[:, 1]], 1) + centre


def _fields(plan: _Plan, points: np.ndarray):
    """AU field (sum over AUs of intensity x unit field), blink, macro and twitch fields at ``points``."""
    au = np.zeros_like(points, dtype=np.float64)
    per_au = {}
    for a, bumps in plan.au_bumps.items():
        f = bump_field(points, bumps) * plan.au_intensity[a]
        per_au[a] = f
        au += f
    blink = bump_field(points, plan.blink) if plan.blink else np.zeros_like(au)
    macro = bump_field(points, plan.macro) if plan.macro else np.zeros_like(au)
    twitch = bump_field(points, plan.twitch) if plan.twitch else np.zeros_like(au)
    return au, per_au, blink, macro, twitch


def _local(plan: _Plan, t: int, au, blink, macro, twitch) -> np.ndarray:
    return (plan.intensity[t] * au + plan.blink_profile[t] * blink + plan.macro_profile[t] * macro
            + plan.twitch_profile[t] * twitch)


def _landmarks(plan: _Plan) -> np.ndarray:
    au, _, blink, macro, twitch = _fields(plan, plan.landmarks)
    out = np.empty((plan.T, 68, 2), np.float32)
    for t in range(plan.T):
        out[t] = _similarity(plan.landmarks + _local(plan, t, au, blink, macro, twitch), plan.drift[t], plan.centre)
    return out


def _truth(plan: _Plan, config: SyntheticConfig) -> dict:
    S = config.image_size
    grid = _grid(S)
    au, per_au, blink, macro, twitch = _fields(plan, grid)
    a = plan.apex
    total = _similarity(grid + _local(plan, a, au, blink, macro, twitch), plan.drift[a], plan.centre) - grid
    masks = []
    for k in plan.aus:
        mag = np.linalg.norm(per_au[k], axis=1)
        masks.append((mag >= max(0.1, 0.1 * plan.au_intensity[k])).reshape(S, S))
    return {
        "au_ids": plan.aus,
        "au_masks": np.array(masks, dtype=bool).reshape(len(plan.aus), S, S),
        "au_intensity": dict(plan.au_intensity),
        "intensity": plan.intensity.astype(np.float32),
        "apex_flow": total.reshape(S, S, 2).astype(np.float32),
        "apex_flow_au": au.reshape(S, S, 2).astype(np.float32),
        "blink": plan.blink_profile.astype(np.float32),
        "macro": plan.macro_profile.astype(np.float32),
        "twitch": plan.twitch_profile.astype(np.float32),
        "nuisance": dict(plan.nuisance),
        "au_sides": dict(plan.au_sides),
        "expressed_label": plan.expressed,
        "expressed_emotion": plan.expressed_emotion,
        "label_flipped": plan.label != plan.expressed,
        "lab": config.lab,
        "drift": plan.drift.astype(np.float32),
        "illumination": plan.gain.astype(np.float32),
        "identity": {**plan.identity.to_dict(), "subject": subject_name(plan.subject),
                     "clip_pose": {"dx": float(plan.pose[0]), "dy": float(plan.pose[1]),
                                   "roll_deg": float(np.rad2deg(plan.pose[2]))}},
    }


# --------------------------------------------------------------------------- rendering

def _subject_face(config: SyntheticConfig, subject: int) -> np.ndarray:
    """``(S, S, 3)`` float32 neutral face of a subject in [0, 1] (grey if not ``colour``)."""
    ident = subject_identity(config, subject)
    ref = render_face(ident, identity_landmarks(ident, config.image_size), config.image_size)
    if not config.colour:
        grey = ref @ np.array([0.299, 0.587, 0.114], np.float32)
        ref = np.repeat(grey[..., None], 3, axis=2)
    return ref


def _render_frames(plan: _Plan, config: SyntheticConfig, face: np.ndarray | None = None) -> np.ndarray:
    import cv2

    S = config.image_size
    ref = _subject_face(config, plan.subject) if face is None else face
    grid = _grid(S)
    au, _, blink, macro, twitch = _fields(plan, grid)
    au, blink, macro, twitch = (f.reshape(S, S, 2).astype(np.float32) for f in (au, blink, macro, twitch))
    gx = grid.reshape(S, S, 2).astype(np.float32) - plan.centre.astype(np.float32)
    rng = np.random.default_rng(plan.noise_seed)
    lab = config.profile
    sigma = np.float32(config.noise * config.noise_scale * lab.noise_factor)  # grey levels
    # The camera: its resolution (frames captured at `cap` px, then resized) and its gain.
    cap = S if lab.capture_scale >= 1 else max(8, int(round(S * lab.capture_scale)))
    noise_shape = (cap, cap, 3) if config.colour else (cap, cap, 1)
    cam_gain = np.float32(lab.gain)
    ref255 = ref * np.float32(255.0)
    # Inverse pose: subject-image point = R^T (x - centre - t) + centre.
    pose_c = (plan.pose_centre + plan.pose[:2]).astype(np.float32)
    subj_c = plan.pose_centre.astype(np.float32)
    pc, ps = np.float32(np.cos(plan.pose[2])), np.float32(np.sin(plan.pose[2]))
    frames = np.empty((plan.T, S, S, 3), np.uint8)
    for t in range(plan.T):
        local = np.float32(plan.intensity[t]) * au
        if plan.blink:
            local += np.float32(plan.blink_profile[t]) * blink
        if plan.macro:
            local += np.float32(plan.macro_profile[t]) * macro
        if plan.twitch:
            local += np.float32(plan.twitch_profile[t]) * twitch
        # Output pixel y shows reference point x with S_t(x + A(x)) = y: z = S_t^-1(y),
        # then x = z - A(x) by fixed-point iteration (A is smooth and small).
        dx, dy, ang = plan.drift[t]
        if dx or dy or ang:
            c, sn = np.float32(np.cos(ang)), np.float32(np.sin(ang))
            px, py = gx[..., 0] - np.float32(dx), gx[..., 1] - np.float32(dy)
            z = np.stack([c * px + sn * py, -sn * px + c * py], -1) + plan.centre.astype(np.float32)
        else:
            z = gx + plan.centre.astype(np.float32)
        x = z
        strong = (plan.blink and plan.blink_profile[t] > 0) or (plan.macro and plan.macro_profile[t] > 0)
        if plan.intensity[t] > 0 or strong or (plan.twitch and plan.twitch_profile[t] > 0):
            # AU fields have gradients well below 1 (3 steps: < 0.02 px error); blinks and
            # macro-movements are steeper and get more steps.
            for _ in range(6 if strong else 3):
                x = z - cv2.remap(local, x, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # The clip's pose maps the subject's face image onto the reference frame.
        q = x - pose_c
        q = np.stack([pc * q[..., 0] + ps * q[..., 1], -ps * q[..., 0] + pc * q[..., 1]], -1) + subj_c
        img = cv2.remap(ref255, q, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img *= np.float32(plan.gain[t]) * cam_gain
        if cap != S:
            img = cv2.resize(img, (cap, cap), interpolation=cv2.INTER_AREA)
        if sigma > 0:
            img += sigma * rng.standard_normal(noise_shape, dtype=np.float32)
        if cap != S:
            img = cv2.resize(img, (S, S), interpolation=cv2.INTER_LINEAR)
        np.clip(img + np.float32(0.5), 0, 255, out=img)
        frames[t] = img.astype(np.uint8)
    return frames


def _clip_frames(config: SyntheticConfig, subject: int, index: int, label: int) -> np.ndarray:
    return _render_frames(_plan(config, subject, index, label), config)


# Bump when a change to the generator changes the frames it renders for the same config.
GENERATOR_VERSION = "synthetic-2"


def clip_fingerprint(config: SyntheticConfig, subject: int, index: int) -> str:
    """Identity of the frames of clip ``index`` of ``subject``: they are a pure function of it."""
    text = json.dumps([GENERATOR_VERSION, asdict(config), subject, index], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def make_clip(config: SyntheticConfig, subject: int, index: int, lazy: bool = False,
              face: np.ndarray | None = None) -> Clip:
    """Generate clip ``index`` of subject ``subject`` (0-based) alone.

    ``lazy=True`` leaves ``frames`` empty and renders them on each ``load_frames()``
    (ground truth and landmarks are still computed now; they are cheap). ``face`` is the
    subject's rendered neutral face, when the caller already has it (saves a render).
    """
    if not 0 <= subject < config.n_subjects:
        raise ValueError(f"subject={subject}: expected 0 <= subject < n_subjects={config.n_subjects}")
    if not 0 <= index < config.clips_per_subject:
        raise ValueError(f"index={index}: expected 0 <= index < clips_per_subject={config.clips_per_subject}")
    expressed = int(class_plan(config)[subject, index])
    plan = _plan(config, subject, index, expressed)
    label = plan.label
    scheme = get_scheme(SCHEME)
    name = subject_name(subject)
    frames = None if lazy else _render_frames(plan, config, face)
    loader = functools.partial(_clip_frames, config, subject, index, expressed) if lazy else None
    return Clip(
        clip_id=f"{config.dataset_name}/{name}/{index:02d}", subject=name, dataset=config.dataset_name,
        label=label, label_name=scheme.classes[label], emotion=plan.emotion, frames=frames,
        landmarks=_landmarks(plan), onset=plan.onset, apex=plan.apex, offset=plan.offset, aus=plan.aus,
        fps=config.clip_fps, frame_numbers=np.arange(plan.T), truth=_truth(plan, config),
        source=f"synthetic(seed={config.seed}, subject={subject}, index={index})", loader=loader,
        fingerprint=clip_fingerprint(config, subject, index),
    )


def neutral_faces(config: SyntheticConfig, subjects: Sequence[int] | None = None) -> np.ndarray:
    """``(n, H, W, 3)`` uint8 neutral faces of the given subjects (default: all), no noise."""
    subjects = range(config.n_subjects) if subjects is None else subjects
    return np.stack([np.clip(_subject_face(config, int(s)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
                     for s in subjects])


def _subject_clips(config: SyntheticConfig, subject: int, lazy: bool) -> list[Clip]:
    face = None if lazy else _subject_face(config, subject)
    return [make_clip(config, subject, k, lazy, face) for k in range(config.clips_per_subject)]


def generate(config: SyntheticConfig, lazy: bool = False, jobs: int = 1) -> ClipSet:
    """Generate the whole set described by ``config`` as a :class:`ClipSet` (scheme composite3).

    ``jobs`` > 1 generates subjects in parallel processes; the result is identical.
    """
    if jobs and jobs != 1 and config.n_subjects > 1:
        from joblib import Parallel, delayed

        per_subject = Parallel(n_jobs=jobs)(delayed(_subject_clips)(config, s, lazy) for s in range(config.n_subjects))
    else:
        per_subject = [_subject_clips(config, s, lazy) for s in range(config.n_subjects)]
    clips = [c for group in per_subject for c in group]
    return ClipSet(config.dataset_name, get_scheme(SCHEME), list(clips), params=config.to_dict())


_DEFAULT = SyntheticConfig()


def load_synthetic(n_subjects: int = _DEFAULT.n_subjects, clips_per_subject: int = _DEFAULT.clips_per_subject,
                   frames: tuple[int, int] = _DEFAULT.frames, image_size: int = _DEFAULT.image_size,
                   difficulty: float = _DEFAULT.difficulty, seed: int = _DEFAULT.seed,
                   dataset_name: str = _DEFAULT.dataset_name, lab: str = _DEFAULT.lab,
                   apex_noise: float | str = 0.0, lazy: bool = False, jobs: int = 1, **options) -> ClipSet:
    """The synthetic micro-expression set (see :class:`SyntheticConfig` for every parameter;
    the defaults are the calibrated set).

    ``options`` takes the remaining :class:`SyntheticConfig` fields (``amplitude``, ``noise``,
    ``label_noise``, ``blink_rate``, ``drift_px``, ``macro_prob``...). ``lazy`` renders frames
    on demand; ``jobs`` generates clips in parallel processes.

    ``apex_noise`` degrades the *annotated* apex (not the video): a number is the standard
    deviation of the annotation error as a fraction of each clip's onset->apex duration,
    ``"absent"`` replaces the apex by the middle of onset and offset, as for SMIC-HS
    (:func:`stag.data.apex_annotation.perturb_apex`, drawn from ``seed``). It matters only to
    preprocessing that reads the annotated apex (``PrepareConfig(apex="annotated")``).
    """
    check_apex_noise(apex_noise)
    fields = set(SyntheticConfig.__dataclass_fields__)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ValueError(f"load_synthetic: unknown parameter(s) {unknown}; accepted: {', '.join(sorted(fields))}")
    config = SyntheticConfig(
        n_subjects=n_subjects, clips_per_subject=clips_per_subject, frames=tuple(frames), image_size=image_size,
        difficulty=difficulty, seed=seed, dataset_name=dataset_name, lab=lab,
        **{k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()},
    )
    clipset = generate(config, lazy=lazy, jobs=jobs)
    if apex_noise != 0:
        clipset = ClipSet(clipset.name, clipset.scheme, perturb_apex(clipset.clips, apex_noise, seed),
                          params={**clipset.params, "apex_noise": apex_noise})
    return clipset
