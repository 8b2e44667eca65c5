"""The synthetic micro-expression set: the book's default data, with full ground truth.

Real MER datasets are licensed per lab and cannot ship, so the book, the tests and a first
run use rendered face videos that behave like them (subtle 0.5-3 px AU motions with an
onset-apex-offset profile, blinks, head drift, flicker, sensor noise, class imbalance,
many subjects) and carry what real data lacks: the true displacement field, per-AU pixel
masks and intensities, and the 68 landmarks of every frame.

How a clip is made (all from the clip's own seed, so one clip can be regenerated alone):

1. The subject's identity (shape, colours, texture) gives the neutral landmarks (iBUG
   order) and the subject's face image is drawn from them; a small per-clip pose (rotation
   and shift) places it, giving the reference landmarks ``L`` and reference face ``I``.
2. Frame ``t`` moves a reference point ``x`` to ``S_t(x + A_t(x))``: ``A_t`` is the sum of
   the AU fields times the intensity profile, plus blink and macro-movement fields;
   ``S_t`` is the head drift (a small rotation + translation). The onset frame is the
   reference (``S = id``, ``A = 0``), so the onset->apex flow is known exactly.
3. The frame is ``I`` warped by the inverse map, with illumination flicker and sensor noise.

Public API: :class:`SyntheticConfig`, :func:`load_synthetic`, :func:`make_clip`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from numbers import Real

import numpy as np

from stag.data.clip import Clip, ClipSet
from stag.data.labels import get_scheme
from stag.data.synthetic_aus import (
    au_unit_bumps, blink_bumps, bump_field, face_frame, sample_emotion_aus,
)
from stag.data.synthetic_face import identity_landmarks, random_identity, render_face

SCHEME = "composite3"


def _is_range(v) -> bool:
    return isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, Real) and not isinstance(x, bool) for x in v)


@dataclass(frozen=True)
class SyntheticConfig:
    """Every parameter of the synthetic generator.

    Args:
        n_subjects: number of subjects (identities), ``"s01"``... (default 20).
        clips_per_subject: clips per subject (default 12).
        frames: ``(min, max)`` clip length in frames, inclusive (CASME II-like 30-80).
        image_size: frame height = width in pixels (default 128).
        fps: frame rate stored on every clip (200, as CASME II/SAMM).
        amplitude: ``(min, max)`` apex displacement of the strongest AU in pixels at
            128 x 128 (scaled with ``image_size``); each further AU gets 60-100 % of it.
        noise: sensor noise standard deviation in grey levels (of 255).
        difficulty: 0..1 knob trading amplitude against noise: amplitudes are multiplied
            by ``2 ** (1 - 2 d)`` and the noise by ``2 ** (2 d - 1)``, so 0.5 leaves both as
            given, 0 doubles the motion and halves the noise, 1 does the reverse.
        class_weights: relative frequency of negative / positive / surprise
            (composite3 counts 250 / 109 / 83 by default).
        colour: RGB faces if True, otherwise grey frames (still 3 channels).
        seed: base seed; the same seed gives byte-identical clips.
        dataset_name: ``Clip.dataset`` and prefix of the clip ids; also enters the seed, so
            a second name gives a second "domain".
        distractors: master switch for blinks, head drift, flicker and macro-movements.
        blink_prob: probability that a clip contains a blink.
        drift_px, drift_deg: maximum head translation (px at 128) and roll (degrees)
            reached over a clip, relative to the onset frame.
        flicker: relative amplitude of the illumination flicker.
        macro_prob: probability of a larger movement in a region no active AU touches.
        onset_range: onset index as a fraction of the clip length ``(min, max)``.
        offset_range: offset index as a fraction of the clip length ``(min, max)``; must
            start after ``onset_range`` ends.
        apex_range: apex position as a fraction of the onset->offset span.
    """

    n_subjects: int = 20
    clips_per_subject: int = 12
    frames: tuple[int, int] = (30, 80)
    image_size: int = 128
    fps: float = 200.0
    amplitude: tuple[float, float] = (0.5, 3.0)
    noise: float = 3.0
    difficulty: float = 0.5
    class_weights: tuple[float, float, float] = (250.0, 109.0, 83.0)
    colour: bool = True
    seed: int = 0
    dataset_name: str = "synthetic"
    distractors: bool = True
    blink_prob: float = 0.3
    drift_px: float = 1.0
    drift_deg: float = 0.5
    flicker: float = 0.01
    macro_prob: float = 0.15
    onset_range: tuple[float, float] = (0.05, 0.3)
    offset_range: tuple[float, float] = (0.65, 0.98)
    apex_range: tuple[float, float] = (0.25, 0.65)

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
        if not _is_range(self.amplitude):
            bad("amplitude", "a (min, max) pair of numbers")
        if self.amplitude[0] < 0 or self.amplitude[1] < self.amplitude[0]:
            bad("amplitude", "0 <= min <= max (pixels)")
        if self.amplitude[1] == 0:
            bad("amplitude", "a maximum above 0 pixels")
        for name in ("noise", "drift_px", "drift_deg", "flicker", "fps"):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                bad(name, "a finite number >= 0")
        if self.fps <= 0:
            bad("fps", "a frame rate above 0")
        for name in ("difficulty", "blink_prob", "macro_prob"):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not 0 <= v <= 1:
                bad(name, "a number in [0, 1]")
        if (not isinstance(self.class_weights, (tuple, list)) or len(self.class_weights) != 3
                or any(not isinstance(w, Real) or w < 0 for w in self.class_weights) or sum(self.class_weights) <= 0):
            bad("class_weights", "three non-negative weights (negative, positive, surprise) with a positive sum")
        for name in ("onset_range", "offset_range", "apex_range"):
            v = getattr(self, name)
            if not _is_range(v) or not (0 <= v[0] <= v[1] <= 1):
                bad(name, "a (min, max) pair of fractions with 0 <= min <= max <= 1")
        if self.onset_range[1] >= self.offset_range[0]:
            raise ValueError(
                f"SyntheticConfig: onset_range={self.onset_range!r} ends after offset_range={self.offset_range!r} "
                "starts; expected the onset to come before the offset (onset_range max < offset_range min)")
        if not isinstance(self.dataset_name, str) or not self.dataset_name or "/" in self.dataset_name:
            bad("dataset_name", "a non-empty name without '/'")

    @property
    def amplitude_scale(self) -> float:
        """Factor on the amplitude from :attr:`difficulty` and image size (1 at 0.5, 128 px)."""
        return 2.0 ** (1.0 - 2.0 * self.difficulty) * self.image_size / 128.0

    @property
    def noise_scale(self) -> float:
        """Factor on the noise from :attr:`difficulty` (1 at 0.5, 2 at 1, 0.5 at 0)."""
        return 2.0 ** (2.0 * self.difficulty - 1.0)

    @property
    def n_clips(self) -> int:
        return self.n_subjects * self.clips_per_subject

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- planning

def _rng(config: SyntheticConfig, *key: int) -> np.random.Generator:
    name = zlib.crc32(config.dataset_name.encode("utf-8"))
    return np.random.default_rng([int(config.seed), name, *key])


def subject_name(i: int) -> str:
    return f"s{i + 1:02d}"


def class_plan(config: SyntheticConfig) -> np.ndarray:
    """``(n_subjects, clips_per_subject)`` class ids, counts proportional to ``class_weights``.

    Counts use largest-remainder rounding over the whole set; the classes are then shuffled
    across subjects so that, as in real data, subjects differ in their class mix.
    """
    n = config.n_clips
    w = np.asarray(config.class_weights, float)
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    labels = np.repeat(np.arange(3), counts)
    _rng(config, 1_000_003).shuffle(labels)
    return labels.reshape(config.n_subjects, config.clips_per_subject)


def subject_identity(config: SyntheticConfig, subject: int):
    return random_identity(_rng(config, 2_000_003, subject))


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


@dataclass
class _Plan:
    """Everything random about one clip, drawn before any pixel is rendered."""

    subject: int
    index: int
    label: int
    emotion: str
    aus: tuple[int, ...]
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
    drift: np.ndarray              # (T, 3): dx, dy (px), angle (rad) about centre
    centre: np.ndarray             # (2,) rotation centre
    gain: np.ndarray               # (T,) illumination gain
    noise_seed: int


def _plan(config: SyntheticConfig, subject: int, index: int, label: int) -> _Plan:
    rng = _rng(config, 3_000_017, subject, index)
    S = config.image_size
    scheme = get_scheme(SCHEME)
    emotion, aus = sample_emotion_aus(rng, scheme.classes[label])
    # Per-clip pose: the subject sits slightly differently in every recording.
    ident = subject_identity(config, subject)
    subject_lm = identity_landmarks(ident, S)
    angle = np.deg2rad(rng.uniform(-2, 2))
    pose = np.array([rng.uniform(-0.015, 0.015) * S, rng.uniform(-0.015, 0.015) * S, angle])
    pose_centre = subject_lm[27:36].mean(0)
    lm = _similarity(subject_lm, pose, pose_centre)
    T = int(rng.integers(config.frames[0], config.frames[1] + 1))
    onset = int(round(rng.uniform(*config.onset_range) * (T - 1)))
    offset = int(round(rng.uniform(*config.offset_range) * (T - 1)))
    offset = max(offset, onset + 2)
    offset = min(offset, T - 1)
    apex = onset + int(round(rng.uniform(*config.apex_range) * (offset - onset)))
    apex = int(np.clip(apex, onset + 1, offset - 1 if offset - onset >= 2 else offset))
    intensity = _profile(T, onset, apex, offset)

    amp = float(rng.uniform(*config.amplitude)) * config.amplitude_scale
    yy, xx = np.mgrid[0:S, 0:S]
    grid = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float64)
    au_int, au_b = {}, {}
    for j, au in enumerate(rng.permutation(aus)):
        au = int(au)
        au_int[au] = amp * (1.0 if j == 0 else float(rng.uniform(0.6, 1.0)))
        au_b[au] = au_unit_bumps(au, lm, grid)
    au_int = {au: au_int[au] for au in sorted(au_int)}

    zeros = np.zeros(T)
    blink, blink_p, macro, macro_p = [], zeros, [], zeros
    drift = np.zeros((T, 3))
    gain = np.ones(T)
    d = config.distractors
    # Draw every random number regardless of the switches, so that turning a distractor
    # off leaves the rest of the clip identical.
    blink_on = rng.random() < config.blink_prob
    blink_len = rng.uniform(0.08, 0.15) * config.fps  # a fast blink: 80-150 ms
    blink_start = rng.uniform(onset + 1, max(onset + 2, T - blink_len))
    closure = rng.uniform(0.6, 0.95)
    macro_on = rng.random() < config.macro_prob
    macro_len = rng.uniform(0.3, 0.8) * T
    macro_start = rng.uniform(onset + 1, max(onset + 2, T - 0.3 * T))
    macro_amp = rng.uniform(2.0, 5.0) * S / 128.0
    macro_site = int(rng.integers(0, 4))
    walk = rng.standard_normal((T, 3))
    drift_scale = rng.uniform(0.3, 1.0, 3)
    flick_f, flick_ph, flick_jit = rng.uniform(1.0, 8.0), rng.uniform(0, 2 * np.pi), rng.standard_normal(T)
    noise_seed = int(rng.integers(0, 2**31 - 1))
    if d and blink_on:
        blink = blink_bumps(lm, closure)
        blink_p = _bump_profile(T, blink_start, blink_len)
    if d and macro_on:
        macro = _macro_bumps(lm, macro_site, macro_amp, aus)
        macro_p = _bump_profile(T, macro_start, macro_len)
    if d:
        # Smooth random walk, rescaled to the configured maximum and zeroed at the onset.
        from scipy.ndimage import gaussian_filter1d

        path = gaussian_filter1d(np.cumsum(walk, 0), sigma=max(2.0, T / 8), axis=0, mode="nearest")
        path -= path[onset]
        path /= np.abs(path).max(0, keepdims=True) + 1e-9
        drift = path * np.array([config.drift_px * S / 128.0, config.drift_px * S / 128.0, np.deg2rad(config.drift_deg)])
        drift *= drift_scale
        t = np.arange(T) / config.fps
        gain = 1 + config.flicker * (0.7 * np.sin(2 * np.pi * flick_f * t + flick_ph) + 0.3 * flick_jit)
        gain /= gain[onset]
    centre = lm[27:36].mean(0)
    return _Plan(subject, index, label, emotion, tuple(sorted(au_int)), au_int, ident, subject_lm, pose, pose_centre,
                 lm, T, onset, apex, offset,
                 intensity, au_b, blink, blink_p, macro, macro_p, drift, centre, gain, noise_seed)


def _macro_bumps(lm: np.ndarray, site: int, amp: float, aus: tuple[int, ...]):
    """A larger movement (forehead/hairline, jaw side, swallow) in a region the active AUs
    leave alone: the forehead only without brow/eye AUs, the chin only without mouth AUs."""
    ex, ey, iod = face_frame(lm)
    upper = any(a in aus for a in (1, 2, 4, 5, 6, 7, 9))
    lower = any(a in aus for a in (10, 12, 14, 15, 17, 20, 23, 24, 25, 26))
    sites = [
        (lm[19:25].mean(0) - 0.8 * iod * ey, ex * 0.8 - ey * 0.6, 0.3 * iod, not upper),  # forehead / hairline
        (lm[3], -ex, 0.18 * iod, True),                                                     # jaw, image left
        (lm[13], ex, 0.18 * iod, True),                                                     # jaw, image right
        (lm[8] + 0.3 * iod * ey, -ey, 0.3 * iod, not lower),                                # chin/neck (swallow)
    ]
    allowed = [x for x in sites if x[3]]
    c, dvec, s, _ = allowed[site % len(allowed)]
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
    """Unit AU field (sum over AUs of intensity x unit field), blink and macro at ``points``."""
    au = np.zeros_like(points, dtype=np.float64)
    per_au = {}
    for a, bumps in plan.au_bumps.items():
        f = bump_field(points, bumps) * plan.au_intensity[a]
        per_au[a] = f
        au += f
    blink = bump_field(points, plan.blink) if plan.blink else np.zeros_like(au)
    macro = bump_field(points, plan.macro) if plan.macro else np.zeros_like(au)
    return au, per_au, blink, macro


def _local(plan: _Plan, t: int, au, blink, macro) -> np.ndarray:
    return plan.intensity[t] * au + plan.blink_profile[t] * blink + plan.macro_profile[t] * macro


def _landmarks(plan: _Plan) -> np.ndarray:
    au, _, blink, macro = _fields(plan, plan.landmarks)
    out = np.empty((plan.T, 68, 2), np.float32)
    for t in range(plan.T):
        out[t] = _similarity(plan.landmarks + _local(plan, t, au, blink, macro), plan.drift[t], plan.centre)
    return out


def _truth(plan: _Plan, config: SyntheticConfig) -> dict:
    S = config.image_size
    grid = _grid(S)
    au, per_au, blink, macro = _fields(plan, grid)
    a = plan.apex
    total = _similarity(grid + _local(plan, a, au, blink, macro), plan.drift[a], plan.centre) - grid
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
    au, _, blink, macro = _fields(plan, grid)
    au, blink, macro = (f.reshape(S, S, 2).astype(np.float32) for f in (au, blink, macro))
    gx = grid.reshape(S, S, 2).astype(np.float32) - plan.centre.astype(np.float32)
    rng = np.random.default_rng(plan.noise_seed)
    sigma = np.float32(config.noise * config.noise_scale)  # grey levels
    noise_shape = (S, S, 3) if config.colour else (S, S, 1)
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
        if plan.intensity[t] > 0 or strong:
            # AU fields have gradients well below 1 (3 steps: < 0.02 px error); blinks and
            # macro-movements are steeper and get more steps.
            for _ in range(6 if strong else 3):
                x = z - cv2.remap(local, x, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # The clip's pose maps the subject's face image onto the reference frame.
        q = x - pose_c
        q = np.stack([pc * q[..., 0] + ps * q[..., 1], -ps * q[..., 0] + pc * q[..., 1]], -1) + subj_c
        img = cv2.remap(ref255, q, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img *= np.float32(plan.gain[t])
        if sigma > 0:
            img += sigma * rng.standard_normal(noise_shape, dtype=np.float32)
        np.clip(img + np.float32(0.5), 0, 255, out=img)
        frames[t] = img.astype(np.uint8)
    return frames


def _clip_frames(config: SyntheticConfig, subject: int, index: int, label: int) -> np.ndarray:
    return _render_frames(_plan(config, subject, index, label), config)


# Bump when a change to the generator changes the frames it renders for the same config.
GENERATOR_VERSION = "synthetic-1"


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
    label = int(class_plan(config)[subject, index])
    plan = _plan(config, subject, index, label)
    scheme = get_scheme(SCHEME)
    name = subject_name(subject)
    frames = None if lazy else _render_frames(plan, config, face)
    loader = functools.partial(_clip_frames, config, subject, index, label) if lazy else None
    return Clip(
        clip_id=f"{config.dataset_name}/{name}/{index:02d}", subject=name, dataset=config.dataset_name,
        label=label, label_name=scheme.classes[label], emotion=plan.emotion, frames=frames,
        landmarks=_landmarks(plan), onset=plan.onset, apex=plan.apex, offset=plan.offset, aus=plan.aus,
        fps=float(config.fps), frame_numbers=np.arange(plan.T), truth=_truth(plan, config),
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


def load_synthetic(n_subjects: int = 20, clips_per_subject: int = 12, frames: tuple[int, int] = (30, 80),
                   image_size: int = 128, fps: float = 200.0, amplitude: tuple[float, float] = (0.5, 3.0),
                   noise: float = 3.0, difficulty: float = 0.5,
                   class_weights: tuple[float, float, float] = (250.0, 109.0, 83.0), colour: bool = True,
                   seed: int = 0, dataset_name: str = "synthetic", distractors: bool = True,
                   lazy: bool = False, jobs: int = 1, **options) -> ClipSet:
    """The synthetic micro-expression set (see :class:`SyntheticConfig` for every parameter).

    ``options`` takes the remaining :class:`SyntheticConfig` fields (``blink_prob``,
    ``drift_px``, ``macro_prob``, ``onset_range``...). ``lazy`` renders frames on demand;
    ``jobs`` generates clips in parallel processes.
    """
    fields = set(SyntheticConfig.__dataclass_fields__)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ValueError(f"load_synthetic: unknown parameter(s) {unknown}; accepted: {', '.join(sorted(fields))}")
    config = SyntheticConfig(
        n_subjects=n_subjects, clips_per_subject=clips_per_subject, frames=tuple(frames), image_size=image_size,
        fps=fps, amplitude=tuple(amplitude), noise=noise, difficulty=difficulty, class_weights=tuple(class_weights),
        colour=colour, seed=seed, dataset_name=dataset_name, distractors=distractors,
        **{k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()},
    )
    return generate(config, lazy=lazy, jobs=jobs)
