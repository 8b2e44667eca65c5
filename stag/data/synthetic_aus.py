"""Action-unit deformations and emotion -> AU distributions for the synthetic set.

Each AU is a smooth local displacement field: a sum of Gaussian bumps centred on the
landmarks that the AU moves (for instance AU12 pulls both lip corners outwards and up),
with directions given in the face's own frame (x along the eye line, y down the face) so
that they follow the head's roll. A field is normalised so that its largest displacement is
1 px; multiplying by the AU's intensity gives the apex displacement in pixels.

Each emotion is a *distribution* over AU combinations, not one pattern, and some negative
emotions share AUs with surprise (AU1/AU2 in fear and sadness), as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bump:
    """One Gaussian displacement bump of an AU.

    Attributes:
        landmarks: iBUG indices whose mean is the bump centre (image-left side for
            bilateral AUs; the mirrored bump is added automatically).
        direction: displacement direction (x, y) in the face frame for the image-left side.
        sigma: Gaussian width as a fraction of the inter-ocular distance.
        weight: relative strength.
        offset: centre offset (x, y) in inter-ocular units, face frame.
    """

    landmarks: tuple[int, ...]
    direction: tuple[float, float]
    sigma: float
    weight: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)


def _mirror_index(i: int) -> int:
    """iBUG index of the landmark mirrored left <-> right."""
    table = {**{j: 16 - j for j in range(17)},
             **{17 + j: 26 - j for j in range(5)},
             **{27 + j: 27 + j for j in range(4)},
             31: 35, 32: 34, 33: 33, 34: 32, 35: 31,
             36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46,
             42: 39, 43: 38, 44: 37, 45: 36, 46: 41, 47: 40,
             48: 54, 49: 53, 50: 52, 51: 51, 52: 50, 53: 49, 54: 48,
             55: 59, 56: 58, 57: 57, 58: 56, 59: 55,
             60: 64, 61: 63, 62: 62, 63: 61, 64: 60, 65: 67, 66: 66, 67: 65}
    return table[i]


# Bumps of each AU (image-left half for bilateral ones; midline bumps have x-direction 0).
AU_BUMPS: dict[int, tuple[Bump, ...]] = {
    1: (Bump((20, 21), (0.15, -1.0), 0.22), Bump((21,), (0.0, -1.0), 0.16, 0.6, (0.05, -0.12))),
    2: (Bump((17, 18), (-0.1, -1.0), 0.22), Bump((19,), (0.0, -1.0), 0.2, 0.6)),
    4: (Bump((20, 21), (0.55, 0.85), 0.2), Bump((21,), (0.6, 0.3), 0.14, 0.5, (0.12, 0.0))),
    5: (Bump((37, 38), (0.0, -1.0), 0.14),),
    6: (Bump((40, 41), (0.1, -1.0), 0.2, 0.8, (0.0, 0.12)), Bump((1, 31), (0.2, -1.0), 0.26, 1.0, (0.05, -0.1))),
    7: (Bump((40, 41), (0.0, -1.0), 0.14), Bump((37, 38), (0.0, 0.6), 0.12, 0.5)),
    9: (Bump((31,), (0.1, -1.0), 0.16),),
    10: (Bump((49, 50), (0.0, -1.0), 0.18), Bump((51,), (0.0, -1.0), 0.15, 0.7)),
    12: (Bump((48,), (-0.8, -0.6), 0.2),),
    14: (Bump((48,), (-0.95, 0.15), 0.16),),
    15: (Bump((48,), (-0.15, 1.0), 0.18),),
    17: (Bump((57, 8), (0.0, -1.0), 0.28), Bump((57,), (0.0, -1.0), 0.18, 0.6)),
    20: (Bump((48,), (-1.0, 0.25), 0.18),),
    23: (Bump((50, 61), (0.0, 0.6), 0.14), Bump((58, 67), (0.0, -0.6), 0.14)),
    24: (Bump((51, 62), (0.0, 0.8), 0.16, 0.8), Bump((57, 66), (0.0, -0.8), 0.16, 0.8)),
    25: (Bump((57, 66), (0.0, 1.0), 0.2), Bump((51, 62), (0.0, -0.5), 0.16, 0.4)),
    26: (Bump((57, 8), (0.0, 1.0), 0.34), Bump((8,), (0.0, 1.0), 0.3, 0.7, (0.0, 0.1))),
}
# AUs whose bumps sit on the midline (drawn once, not mirrored).
MIDLINE_AUS = frozenset({17, 23, 24, 25, 26})

# Emotion word (canonical, see stag.data.labels) -> (probability, AU combination) pairs.
EMOTION_AUS: dict[str, tuple[tuple[float, tuple[int, ...]], ...]] = {
    "happiness": ((0.45, (6, 12)), (0.3, (12,)), (0.1, (6, 12, 25)), (0.1, (12, 25)), (0.05, (6,))),
    "surprise": ((0.4, (1, 2)), (0.2, (1, 2, 25)), (0.15, (1, 2, 26)), (0.1, (1, 2, 5)), (0.1, (2,)), (0.05, (1,))),
    "disgust": ((0.35, (4, 7)), (0.25, (9,)), (0.2, (4, 9)), (0.2, (10,))),
    "repression": ((0.35, (14,)), (0.25, (15, 17)), (0.2, (17,)), (0.2, (14, 17))),
    "anger": ((0.5, (4, 7)), (0.3, (4,)), (0.2, (4, 7, 23))),
    "sadness": ((0.5, (1, 4, 15)), (0.5, (1, 15))),
    "fear": ((0.6, (1, 2, 4, 20)), (0.4, (1, 4, 20))),
    "contempt": ((1.0, (14,)),),
}
# Negative clips: which negative emotion (composite3 maps them all onto "negative").
NEGATIVE_EMOTIONS: tuple[tuple[float, str], ...] = (
    (0.35, "disgust"), (0.25, "repression"), (0.2, "anger"), (0.1, "sadness"), (0.05, "fear"), (0.05, "contempt"),
)
CLASS_EMOTIONS = {"negative": NEGATIVE_EMOTIONS, "positive": ((1.0, "happiness"),), "surprise": ((1.0, "surprise"),)}


def synthetic_aus() -> tuple[int, ...]:
    """Every AU the generator can animate, sorted."""
    return tuple(sorted(AU_BUMPS))


def _choose(rng: np.random.Generator, options):
    p = np.array([o[0] for o in options], float)
    return options[int(rng.choice(len(options), p=p / p.sum()))][1]


def sample_emotion_aus(rng: np.random.Generator, class_name: str) -> tuple[str, tuple[int, ...]]:
    """Draw ``(emotion word, sorted AUs)`` for a composite3 class name."""
    if class_name not in CLASS_EMOTIONS:
        raise ValueError(f"class {class_name!r}: expected one of {sorted(CLASS_EMOTIONS)}")
    emotion = _choose(rng, CLASS_EMOTIONS[class_name])
    aus = _choose(rng, EMOTION_AUS[emotion])
    return emotion, tuple(sorted(aus))


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(ex, ey, iod)``: unit x axis along the eye line, unit y axis down the face, and
    the inter-ocular distance (outer eye corners) in pixels."""
    d = landmarks[45] - landmarks[36]
    iod = float(np.linalg.norm(d))
    ex = d / iod
    ey = np.array([-ex[1], ex[0]])
    return ex, ey, iod


def _bumps_of(au: int, landmarks: np.ndarray):
    """Yield ``(centre, direction_px_unit, sigma_px, weight)`` for both sides of an AU."""
    ex, ey, iod = face_frame(landmarks)
    for b in AU_BUMPS[au]:
        sides = [1] if (au in MIDLINE_AUS) else [1, -1]
        for side in sides:
            idx = b.landmarks if side == 1 else tuple(_mirror_index(i) for i in b.landmarks)
            c = landmarks[list(idx)].mean(0) + iod * ((side * b.offset[0]) * ex + b.offset[1] * ey)
            d = (side * b.direction[0]) * ex + b.direction[1] * ey
            yield c, d, b.sigma * iod, b.weight


def bump_field(points: np.ndarray, bumps) -> np.ndarray:
    """Sum of Gaussian displacement bumps at ``points`` (N, 2) -> (N, 2) float64."""
    out = np.zeros_like(points, dtype=np.float64)
    for c, d, s, w in bumps:
        if w == 0:
            continue
        r2 = np.sum((points - c) ** 2, axis=1)
        out += (w * np.exp(-r2 / (2 * s * s)))[:, None] * np.asarray(d)[None, :]
    return out


def au_unit_bumps(au: int, landmarks: np.ndarray, grid: np.ndarray):
    """The bumps of ``au`` scaled so that the field's peak magnitude on ``grid`` is 1 px."""
    if au not in AU_BUMPS:
        raise ValueError(f"AU {au} is not animated by the synthetic generator; available: {synthetic_aus()}")
    bumps = list(_bumps_of(au, landmarks))
    peak = float(np.linalg.norm(bump_field(grid, bumps), axis=1).max())
    return [(c, d, s, w / peak) for c, d, s, w in bumps]


def blink_bumps(landmarks: np.ndarray, closure: float):
    """Bumps that close both upper lids by ``closure`` x the eye opening (pixels)."""
    ex, ey, iod = face_frame(landmarks)
    out = []
    for up, low in (((37, 38), (40, 41)), ((43, 44), (46, 47))):
        opening = float(np.linalg.norm(landmarks[list(up)].mean(0) - landmarks[list(low)].mean(0)))
        c = landmarks[list(up)].mean(0) - 0.04 * iod * ey
        out.append((c, ey, 0.09 * iod, closure * opening))
    return out
