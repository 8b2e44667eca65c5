"""Action-unit deformations and the class -> AU-combination distribution of the synthetic set.

Each AU is a smooth local displacement field: a sum of Gaussian bumps centred on the
landmarks that the AU moves (for instance AU12 pulls both lip corners outwards and up),
with directions given in the face's own frame (x along the eye line, y down the face) so
that they follow the head's roll. A field is normalised so that its largest displacement is
1 px; multiplying by the AU's intensity gives the apex displacement in pixels. A unilateral
code (``L10``, ``R12``) moves one side only.

Which AUs a clip shows is drawn from the real codings: :func:`au_combinations` is the table of
(composite3 class, emotion, AU combination, number of clips) counted once from the released
CASME II and SAMM codings and shipped as package data (``au_combinations_real.csv``; see
:func:`derive_au_combinations`). Every AU in it has a motion field here, including those
outside the ROI table (8, 13, 16, 18, 38, 39, 43), so the generator's vocabulary is the
data's, not the graph prior's.
"""

from __future__ import annotations

import functools
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
    # AUs of the real codings outside the ROI table (FACS 2002 descriptions).
    8: (Bump((50, 61), (0.0, 0.7), 0.13), Bump((58, 67), (0.0, -0.7), 0.13)),      # lips toward each other
    13: (Bump((48,), (-0.45, -1.0), 0.13),),                                       # sharp lip puller (cheek puffer)
    16: (Bump((58, 67), (0.0, 1.0), 0.15),),                                       # lower lip depressor
    18: (Bump((48,), (1.0, 0.0), 0.16), Bump((49, 59), (0.6, 0.0), 0.14, 0.6)),    # lip pucker: corners inwards
    38: (Bump((31,), (-1.0, -0.2), 0.12),),                                        # nostril dilator
    39: (Bump((31,), (1.0, 0.1), 0.12),),                                          # nostril compressor
    43: (Bump((37, 38), (0.0, 1.0), 0.12), Bump((40, 41), (0.0, -0.3), 0.1, 0.4)), # eyes closing (lids droop)
}
# AUs whose bumps sit on the midline (drawn once, not mirrored).
MIDLINE_AUS = frozenset({8, 16, 17, 23, 24, 25, 26})

# The class -> AU combination table (package data), derived once from the released codings.
AU_TABLE_RESOURCE = "au_combinations_real.csv"
_TABLE_HEADER = """\
# AU combinations of the micro-expression clips in the released CASME II (CASME2-coding-20190701.xlsx)
# and SAMM (SAMM_Micro_FACS_Codes_v2.xlsx) codings, per dataset, composite3 class and emotion.
# Derived once by stag.data.synthetic_aus.derive_au_combinations from the per-string counts
# (au_combinations.csv: dataset, composite3, emotion, AU string as written, clips); AU strings
# parsed with stag.data.aus.parse_au_string, keeping the AU targets (referenced codes, action
# descriptors, head/eye positions and notes dropped) and their L/R side. Clips outside the
# composite (composite3 = none) and strings with no AU target are left out.
# Counts only: no subject or clip names.
"""


def derive_au_combinations(source: str, out: str | None = None):
    """Count (dataset, composite3, emotion, AU combination) from the per-string table ``source``.

    ``source`` is the CSV of AU strings as written (columns ``dataset, composite3, emotion,
    action_units_raw, clips``); each string is parsed with :func:`stag.data.aus.parse_au_string`
    and written as its sorted AU targets joined by ``+``, a one-sided code keeping its ``L``/``R``
    prefix (``4+7+L10``). Rows of class ``none`` and strings without an AU target are dropped.

    Returns:
        The table as a DataFrame (``dataset, composite3, emotion, aus, clips``), sorted;
        written with the provenance header to ``out`` when given.
    """
    import pandas as pd

    from stag.data.aus import parse_au_string

    raw = pd.read_csv(source)
    rows = []
    for r in raw.itertuples(index=False):
        if r.composite3 not in ("negative", "positive", "surprise"):
            continue
        parsed = parse_au_string(r.action_units_raw, f"{source}: {r.dataset} {r.emotion}")
        sides: dict[int, set] = {}
        for c in parsed.codes:
            if c.is_target:
                sides.setdefault(c.number, set()).add(c.side if c.side in ("L", "R") else "")
        if not sides:
            continue
        aus = "+".join(f"{next(iter(sd)) if len(sd) == 1 else ''}{n}" for n, sd in sorted(sides.items()))
        rows.append((r.dataset, r.composite3, r.emotion, aus, int(r.clips)))
    table = (pd.DataFrame(rows, columns=["dataset", "composite3", "emotion", "aus", "clips"])
             .groupby(["dataset", "composite3", "emotion", "aus"], as_index=False)["clips"].sum()
             .sort_values(["dataset", "composite3", "emotion", "clips", "aus"], ascending=[True, True, True, False, True])
             .reset_index(drop=True))
    if out is not None:
        with open(out, "w", encoding="utf-8") as f:
            f.write(_TABLE_HEADER)
            table.to_csv(f, index=False, lineterminator="\n")
    return table


@dataclass(frozen=True)
class AUCombination:
    """One row of the AU table: a class's AU combination and how many real clips showed it.

    Attributes:
        dataset: ``"casme2"`` or ``"samm"``.
        composite3: ``"negative"``, ``"positive"`` or ``"surprise"``.
        emotion: the dataset's emotion word (``"disgust"``, ``"happiness"``...).
        aus: sorted AU numbers.
        sides: per AU, ``"L"``/``"R"`` (the subject's side; one side moves) or ``""`` (both).
        clips: real clips with this combination (the sampling weight).
    """

    dataset: str
    composite3: str
    emotion: str
    aus: tuple[int, ...]
    sides: tuple[str, ...]
    clips: int


def parse_combination(text: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``"4+7+L10"`` -> ``((4, 7, 10), ("", "", "L"))``."""
    out = []
    for tok in str(text).split("+"):
        tok = tok.strip()
        side = tok[0] if tok[:1] in ("L", "R") else ""
        out.append((int(tok[len(side):]), side))
    out.sort()
    return tuple(a for a, _ in out), tuple(s for _, s in out)


@functools.lru_cache(maxsize=1)
def au_combinations() -> tuple[AUCombination, ...]:
    """The packaged class -> AU combination table (:data:`AU_TABLE_RESOURCE`), one entry a row."""
    import csv
    import io
    from importlib.resources import files

    text = files("stag.data").joinpath(AU_TABLE_RESOURCE).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    out = []
    for r in csv.DictReader(io.StringIO("\n".join(lines))):
        aus, sides = parse_combination(r["aus"])
        out.append(AUCombination(r["dataset"], r["composite3"], r["emotion"], aus, sides, int(r["clips"])))
    return tuple(out)


AU_SOURCES = ("pooled", "casme2", "samm")


def class_combinations(class_name: str, source: str = "pooled") -> tuple[AUCombination, ...]:
    """The table's rows of one composite3 class, from both datasets (``"pooled"``) or one."""
    if source not in AU_SOURCES:
        raise ValueError(f"AU source {source!r}: expected one of {AU_SOURCES}")
    rows = tuple(r for r in au_combinations() if r.composite3 == class_name and source in ("pooled", r.dataset))
    if not rows:
        raise ValueError(f"class {class_name!r}: expected one of negative, positive, surprise")
    return rows


def synthetic_aus() -> tuple[int, ...]:
    """Every AU the generator can animate, sorted."""
    return tuple(sorted(AU_BUMPS))


def sample_combination(rng: np.random.Generator, class_name: str, source: str = "pooled") -> AUCombination:
    """Draw one row of :func:`class_combinations` with probability proportional to its clips."""
    rows = class_combinations(class_name, source)
    p = np.array([r.clips for r in rows], float)
    return rows[int(rng.choice(len(rows), p=p / p.sum()))]


def sample_emotion_aus(rng: np.random.Generator, class_name: str, source: str = "pooled") -> tuple[str, tuple[int, ...]]:
    """Draw ``(emotion word, sorted AUs)`` for a composite3 class name from the real table."""
    row = sample_combination(rng, class_name, source)
    return row.emotion, row.aus


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(ex, ey, iod)``: unit x axis along the eye line, unit y axis down the face, and
    the inter-ocular distance (outer eye corners) in pixels."""
    d = landmarks[45] - landmarks[36]
    iod = float(np.linalg.norm(d))
    ex = d / iod
    ey = np.array([-ex[1], ex[0]])
    return ex, ey, iod


def _bumps_of(au: int, landmarks: np.ndarray, side: str = ""):
    """Yield ``(centre, direction_px_unit, sigma_px, weight)`` for the moving side(s) of an AU.

    ``side`` is the subject's side (``"R"`` is image left in a frontal view, ``"L"`` image
    right) for a one-sided code, ``""`` for both; midline AUs ignore it.
    """
    ex, ey, iod = face_frame(landmarks)
    for b in AU_BUMPS[au]:
        sides = [1] if au in MIDLINE_AUS else {"R": [1], "L": [-1]}.get(side, [1, -1])
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


def au_unit_bumps(au: int, landmarks: np.ndarray, grid: np.ndarray, side: str = ""):
    """The bumps of ``au`` (one ``side`` or both) scaled so that the field's peak magnitude on ``grid`` is 1 px."""
    if au not in AU_BUMPS:
        raise ValueError(f"AU {au} is not animated by the synthetic generator; available: {synthetic_aus()}")
    bumps = list(_bumps_of(au, landmarks, side))
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
