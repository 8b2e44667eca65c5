"""Synthetic faces: per-subject identity, 68 landmarks in dlib/iBUG order, and rendering.

The face is drawn *from* its landmarks (jaw line, brows, eyes, nose, lips), so the ground
truth landmarks are the ones a 68-point predictor should find. The drawing is deliberately
plain but has what dlib's HOG face detector looks for: a shaded skin oval against hair and
background, dark brows, eye sockets and irises, nose shading with nostrils, and darker lips.

Coordinates are ``(x, y)`` pixels of the output frame; 0-based, pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from stag.faces import (INNER_LIP, JAW, LEFT_BROW, LEFT_EYE, MEAN_SHAPE, NOSE_BASE, NOSE_BRIDGE, OUTER_LIP, RIGHT_BROW,
                        RIGHT_EYE)

# Where the template's face centre is (between the eyes and the mouth).
_TEMPLATE_CENTRE = np.array([0.52, 0.62])


@dataclass(frozen=True)
class Identity:
    """One synthetic subject's appearance (all sizes relative to the frame size).

    Attributes:
        face_width: jaw-to-jaw width as a fraction of the frame width.
        aspect: face height / width relative to the mean shape.
        centre: face centre offset from the frame centre, fraction of the frame size.
        roll: in-plane head rotation in degrees; ``yaw``: -1..1 small turn (foreshortening).
        eye_spacing, eye_size, brow_raise, nose_length, mouth_width, mouth_drop, jaw_narrow:
            feature-position deviations from the mean shape (template units).
        skin, hair, background, lips, iris: RGB colours in [0, 1].
        texture_seed, texture: seed and amplitude of the smooth skin texture.
        fringe: how far the hair comes down the forehead (0 = high hairline).
    """

    face_width: float
    aspect: float
    centre: tuple[float, float]
    roll: float
    yaw: float
    eye_spacing: float
    eye_size: float
    brow_raise: float
    brow_thickness: float
    nose_length: float
    mouth_width: float
    mouth_drop: float
    jaw_narrow: float
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    background: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    texture_seed: int
    texture: float
    fringe: float

    def to_dict(self) -> dict:
        return asdict(self)


def random_identity(rng: np.random.Generator) -> Identity:
    """Draw one subject's appearance from ``rng``."""
    tone = rng.uniform(0.0, 1.0)
    # Skin tones from light to dark brown; lips a bit redder and darker than the skin.
    light, dark = np.array([0.93, 0.78, 0.66]), np.array([0.45, 0.30, 0.21])
    skin = (1 - tone) * light + tone * dark + rng.normal(0, 0.02, 3)
    hair_v = rng.uniform(0.05, 0.35) * (0.6 if tone > 0.5 else 1.0)
    hair = np.clip(np.array([hair_v * 1.1, hair_v * 0.85, hair_v * 0.7]) + rng.normal(0, 0.02, 3), 0, 1)
    bg_v = rng.uniform(0.55, 0.9) if rng.random() < 0.7 else rng.uniform(0.2, 0.4)
    background = np.clip(bg_v + rng.normal(0, 0.05, 3), 0, 1)
    lips = np.clip(skin * np.array([0.85, 0.55, 0.55]) + np.array([0.05, 0.0, 0.0]), 0, 1)
    iris = np.clip(np.array([0.25, 0.16, 0.1]) * rng.uniform(0.4, 1.4) + rng.normal(0, 0.02, 3), 0, 1)
    return Identity(
        face_width=float(rng.uniform(0.70, 0.78)),
        aspect=float(rng.uniform(0.94, 1.06)),
        centre=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.02, 0.02))),
        roll=float(rng.uniform(-5, 5)),
        yaw=float(rng.uniform(-0.25, 0.25)),
        eye_spacing=float(rng.uniform(-0.025, 0.025)),
        eye_size=float(rng.uniform(0.9, 1.15)),
        brow_raise=float(rng.uniform(-0.02, 0.025)),
        brow_thickness=float(rng.uniform(0.022, 0.036)),
        nose_length=float(rng.uniform(-0.025, 0.025)),
        mouth_width=float(rng.uniform(0.9, 1.1)),
        mouth_drop=float(rng.uniform(-0.02, 0.02)),
        jaw_narrow=float(rng.uniform(-0.04, 0.05)),
        skin=tuple(float(v) for v in np.clip(skin, 0, 1)),
        hair=tuple(float(v) for v in hair),
        background=tuple(float(v) for v in background),
        lips=tuple(float(v) for v in lips),
        iris=tuple(float(v) for v in iris),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        texture=float(rng.uniform(0.02, 0.06)),
        fringe=float(rng.uniform(0.0, 0.6)),
    )


def identity_landmarks(identity: Identity, size: int) -> np.ndarray:
    """``(68, 2)`` float64 neutral landmarks of ``identity`` in a ``size`` x ``size`` frame."""
    p = MEAN_SHAPE.copy()
    eye_c = [np.mean(p[RIGHT_EYE], 0), np.mean(p[LEFT_EYE], 0)]
    for idx, c, sign in ((RIGHT_EYE, eye_c[0], -1), (LEFT_EYE, eye_c[1], 1)):
        p[idx] = c + (p[idx] - c) * identity.eye_size
        p[idx, 0] += sign * identity.eye_spacing
    p[RIGHT_BROW, 0] -= identity.eye_spacing
    p[LEFT_BROW, 0] += identity.eye_spacing
    p[RIGHT_BROW + LEFT_BROW, 1] -= identity.brow_raise
    p[NOSE_BASE + [30], 1] += identity.nose_length
    mouth = OUTER_LIP + INNER_LIP
    mc = np.mean(p[mouth], 0)
    p[mouth, 0] = mc[0] + (p[mouth, 0] - mc[0]) * identity.mouth_width
    p[mouth, 1] += identity.mouth_drop
    # Narrow (or widen) the lower jaw progressively towards the chin.
    for i in JAW:
        w = max(0.0, (p[i, 1] - 0.45) / 0.6)
        p[i, 0] = 0.525 + (p[i, 0] - 0.525) * (1 - identity.jaw_narrow * w)
    # Into pixels: centre, scale, aspect, yaw foreshortening, roll, translate.
    q = p - _TEMPLATE_CENTRE
    scale = identity.face_width * size / 0.892
    q[:, 1] *= identity.aspect
    # Small yaw: the far half of the face is compressed and features shift toward it.
    q[:, 0] = q[:, 0] * (1 - 0.12 * identity.yaw * np.sign(q[:, 0]) ) + 0.03 * identity.yaw
    q *= scale
    th = np.deg2rad(identity.roll)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    q = q @ rot.T
    centre = np.array([size / 2 - 0.5 + identity.centre[0] * size, size / 2 - 0.5 + 0.04 * size + identity.centre[1] * size])
    return q + centre


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    n = rng.standard_normal(shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-8)


def render_face(identity: Identity, landmarks: np.ndarray, size: int, supersample: int = 2) -> np.ndarray:
    """Draw the neutral face of ``identity`` from its ``(68, 2)`` landmarks.

    Returns:
        ``(size, size, 3)`` float32 RGB in [0, 1].
    """
    S = size * supersample
    f = float(supersample)
    lm = (np.asarray(landmarks, np.float64) + 0.5) * f - 0.5  # frame px -> canvas px
    face_scale = np.linalg.norm(lm[16] - lm[0])
    SHIFT = 4  # fixed-point bits for sub-pixel polygon drawing
    one = 1 << SHIFT

    def pts(a):
        return np.round(np.asarray(a) * one).astype(np.int32).reshape(-1, 1, 2)

    def mask_poly(points, blur=0.0, closed=True, thickness=0):
        m = np.zeros((S, S), np.uint8)
        if thickness:
            cv2.polylines(m, [pts(points)], closed, 255, int(round(thickness)), cv2.LINE_AA, SHIFT)
        else:
            cv2.fillPoly(m, [pts(points)], 255, cv2.LINE_AA, SHIFT)
        m = m.astype(np.float32) / 255.0
        if blur > 0:
            m = cv2.GaussianBlur(m, (0, 0), blur)
        return m

    def mask_ellipse(centre, axes, angle=0.0, blur=0.0):
        m = np.zeros((S, S), np.uint8)
        c = (int(round(centre[0] * one)), int(round(centre[1] * one)))
        ax = (max(1, int(round(axes[0] * one))), max(1, int(round(axes[1] * one))))
        cv2.ellipse(m, c, ax, angle, 0, 360, 255, -1, cv2.LINE_AA, SHIFT)
        m = m.astype(np.float32) / 255.0
        if blur > 0:
            m = cv2.GaussianBlur(m, (0, 0), blur)
        return m

    def paint(img, m, colour, alpha=1.0):
        a = (m * alpha)[..., None]
        img *= 1 - a
        img += a * np.asarray(colour, np.float32)

    def shade(img, m, k):
        img *= (1 - k * m)[..., None]

    skin = np.asarray(identity.skin, np.float32)
    hair = np.asarray(identity.hair, np.float32)
    rng = np.random.default_rng(identity.texture_seed)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)

    # Background with a soft vertical gradient.
    img = np.empty((S, S, 3), np.float32)
    img[:] = np.asarray(identity.background, np.float32)
    img *= (1.05 - 0.12 * yy / S)[..., None]

    # Face outline: the jaw line closed by an arc over the forehead.
    jaw = lm[JAW]
    brow_top = min(lm[19, 1], lm[24, 1])
    centre_x = 0.5 * (jaw[0, 0] + jaw[-1, 0])
    half_w = 0.5 * (jaw[-1, 0] - jaw[0, 0])
    top_y = brow_top - 0.42 * face_scale
    up = np.linspace(0, np.pi, 25)
    yaw_dir = lm[27] - 0.5 * (lm[0] + lm[16])
    arc = np.stack([centre_x + half_w * np.cos(up) * 1.02, jaw[0, 1] - (jaw[0, 1] - top_y) * np.sin(up)], 1)
    outline = np.concatenate([jaw, arc[1:-1]], 0)

    # Hair: a dark cap behind the upper head plus the neck below the chin.
    head = mask_ellipse((centre_x, jaw[0, 1] - 0.1 * face_scale), (half_w * 1.18, (jaw[0, 1] - top_y) * 1.2 + 0.05 * face_scale), blur=1.5 * f)
    paint(img, head, hair)
    neck_w = 0.32 * face_scale
    neck = mask_poly([(lm[8, 0] - neck_w, lm[5, 1]), (lm[8, 0] + neck_w, lm[11, 1]), (lm[8, 0] + neck_w * 1.2, S + 5), (lm[8, 0] - neck_w * 1.2, S + 5)], blur=1.0 * f)
    paint(img, neck, skin * 0.72)
    face = mask_poly(outline, blur=0.8 * f)
    # Skin with a smooth texture and a rounded (Lambertian-like) shading.
    tex = 1 + identity.texture * _smooth_noise(rng, (S, S), 3.0 * f) + 0.5 * identity.texture * _smooth_noise(rng, (S, S), 1.0 * f)
    dx = (xx - centre_x - 0.4 * yaw_dir[0]) / (half_w * 1.05)
    dy = (yy - (lm[30, 1] - 0.1 * face_scale)) / (half_w * 1.45)
    r2 = np.clip(dx**2 + dy**2, 0, 1.5)
    light = (1.06 - 0.32 * r2)
    skin_img = skin[None, None, :] * (tex * light)[..., None]
    a = face[..., None]
    img = img * (1 - a) + skin_img * a
    # Hair fringe across the top of the forehead.
    fringe_y = top_y + (0.06 + 0.16 * identity.fringe) * face_scale
    fr = mask_ellipse((centre_x, top_y - 0.02 * face_scale), (half_w * 1.02, fringe_y - top_y + 0.08 * face_scale), blur=1.2 * f)
    paint(img, fr * face, hair)

    # Eye sockets: broad soft darkening under the brows.
    for eye, brow in ((RIGHT_EYE, RIGHT_BROW), (LEFT_EYE, LEFT_BROW)):
        ec = lm[eye].mean(0)
        bc = lm[brow].mean(0)
        c = 0.55 * ec + 0.45 * bc
        w = np.linalg.norm(lm[eye[3]] - lm[eye[0]])
        ang = np.degrees(np.arctan2(*(lm[eye[3]] - lm[eye[0]])[::-1]))
        shade(img, mask_ellipse(c, (0.85 * w, 0.5 * w), ang, blur=0.25 * w), 0.28)
    # Nose: shading along both sides of the bridge, a darker base and nostrils.
    nose_w = np.linalg.norm(lm[35] - lm[31])
    for side in (-1, 1):
        line = lm[NOSE_BRIDGE].copy()
        line[:, 0] += side * 0.35 * nose_w
        line = np.vstack([line, lm[31] if side < 0 else lm[35]])
        shade(img, mask_poly(line, blur=0.12 * nose_w, closed=False, thickness=0.16 * nose_w), 0.22)
    shade(img, mask_ellipse(lm[33] + (0, 0.05 * nose_w), (0.65 * nose_w, 0.18 * nose_w), blur=0.12 * nose_w), 0.25)
    for i in (32, 34):
        c = 0.5 * (lm[i] + lm[33]) * 0.4 + lm[i] * 0.6
        shade(img, mask_ellipse(c + (0, -0.02 * nose_w), (0.14 * nose_w, 0.08 * nose_w), blur=0.05 * nose_w), 0.6)
    tip = mask_ellipse(lm[30] + (0, -0.08 * nose_w), (0.22 * nose_w, 0.2 * nose_w), blur=0.15 * nose_w)
    img = img + 0.08 * tip[..., None]
    # Eyes: sclera, iris and pupil clipped to the lids, dark upper-lid line, lashes.
    for eye in (RIGHT_EYE, LEFT_EYE):
        e = lm[eye]
        w = np.linalg.norm(e[3] - e[0])
        sclera = mask_poly(e, blur=0.03 * w)
        paint(img, sclera, np.array([0.86, 0.84, 0.82]) * skin.mean() / 0.7 * 0.7 + 0.15)
        ic = 0.5 * (e[1] + e[2]) * 0.5 + 0.5 * (e[4] + e[5]) * 0.5
        iris = mask_ellipse(ic, (0.24 * w, 0.24 * w), blur=0.03 * w) * sclera
        paint(img, iris, identity.iris)
        paint(img, mask_ellipse(ic, (0.1 * w, 0.1 * w)) * sclera, (0.03, 0.03, 0.03))
        upper = np.vstack([e[0], e[1], e[2], e[3]])
        paint(img, mask_poly(upper, blur=0.04 * w, closed=False, thickness=0.11 * w), hair * 0.6, 0.9)
        lower = np.vstack([e[3], e[4], e[5], e[0]])
        shade(img, mask_poly(lower, blur=0.05 * w, closed=False, thickness=0.06 * w), 0.25)
    # Brows: thick tapered strokes through the brow landmarks.
    for brow in (RIGHT_BROW, LEFT_BROW):
        b = lm[brow]
        th = identity.brow_thickness * face_scale / 0.9
        upper_edge = b + (0, -0.45 * th)
        lower_edge = (b + (0, 0.55 * th))[::-1]
        poly = np.vstack([upper_edge, lower_edge])
        paint(img, mask_poly(poly, blur=0.18 * th), hair * 0.9, 0.9)
    # Lips: outer lip polygon, darker mouth line along the inner lip, shading under the lip.
    mouth_w = np.linalg.norm(lm[54] - lm[48])
    paint(img, mask_poly(lm[OUTER_LIP], blur=0.025 * mouth_w), identity.lips)
    upper_lip = np.vstack([lm[48:55], lm[[64, 63, 62, 61, 60]]])
    shade(img, mask_poly(upper_lip, blur=0.02 * mouth_w), 0.15)
    inner = np.vstack([lm[[48, 60, 61, 62, 63, 64, 54]], lm[[65, 66, 67]][::-1][::-1]])
    paint(img, mask_poly(lm[[60, 61, 62, 63, 64, 65, 66, 67]], blur=0.02 * mouth_w), (0.12, 0.04, 0.04), 0.9)
    paint(img, mask_poly(lm[[48, 60, 61, 62, 63, 64, 54]], blur=0.015 * mouth_w, closed=False, thickness=0.035 * mouth_w), (0.15, 0.05, 0.05), 0.9)
    del inner
    shade(img, mask_ellipse(lm[57] + (0, 0.08 * mouth_w), (0.3 * mouth_w, 0.06 * mouth_w), blur=0.06 * mouth_w), 0.18)
    # Chin and jaw shadow for a 3-D look.
    shade(img, mask_poly(jaw, blur=0.03 * face_scale, closed=False, thickness=0.02 * face_scale) * face, 0.25)

    img = np.clip(img, 0, 1)
    out = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return out.astype(np.float32)
