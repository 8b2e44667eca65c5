"""Facts about faces that every layer reads: the 68-point landmark convention and mean shape,
the AU-linked regions of interest (ROIs), and the AU co-occurrence prior between regions.

Landmarks follow the 68-point iBUG/dlib convention (0-based). Sides are the *subject's* sides,
as FACS writes them (``R12`` = the subject's right lip corner), so ``*_R`` regions appear on the
image's left. Every ``*_L`` region has a mirror ``*_R`` region; :data:`MIRROR` is the index
permutation a horizontal flip applies to the ROI axis.

Nothing here computes on images: :mod:`stag.preprocess` turns these into boxes and aligned
faces, :mod:`stag.models` sizes its graph from :data:`ROI_TABLE` and :func:`au_prior_adjacency`,
and the synthetic renderer draws faces from :data:`MEAN_SHAPE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Mean 68-point face shape in iBUG order (x right, y down), normalised so that the outer
# landmarks span [0, 1] horizontally; the widely used OpenFace alignment template.
MEAN_SHAPE = np.array([
    (0.0792396913815, 0.339223741112), (0.0829219487236, 0.456955367943),
    (0.0967927109165, 0.575648016728), (0.122141515615, 0.691921601066),
    (0.168687863544, 0.800341263616), (0.239789390707, 0.895732504778),
    (0.325662452515, 0.977068762493), (0.422318282013, 1.04329000149),
    (0.531777802068, 1.06080371126), (0.641296298053, 1.03981924107),
    (0.738105872266, 0.972268833998), (0.824444363295, 0.889624082279),
    (0.894792677532, 0.792494155836), (0.939395486253, 0.681546643421),
    (0.96111933829, 0.562238253072), (0.970579841181, 0.441758925744),
    (0.971193274221, 0.322118743967), (0.163846223133, 0.249151738053),
    (0.21780354657, 0.204255863861), (0.291299351124, 0.192367318323),
    (0.367460241458, 0.203582210627), (0.4392945113, 0.233135599851),
    (0.586445962425, 0.228141644834), (0.660152671635, 0.195923841854),
    (0.737466449096, 0.182360984545), (0.813236546239, 0.192828009114),
    (0.8707571886, 0.235293377042), (0.51534533827, 0.31863546193),
    (0.516221448289, 0.396200446263), (0.517118861835, 0.473797687758),
    (0.51816430343, 0.553157797772), (0.433701156035, 0.604054457668),
    (0.475501237769, 0.62076344024), (0.520712933176, 0.634268222208),
    (0.565874114041, 0.618796581487), (0.607054002672, 0.60157671656),
    (0.252418718401, 0.331052263829), (0.298663015648, 0.302646354002),
    (0.355749724218, 0.303020650651), (0.403718978315, 0.33867711083),
    (0.352507175597, 0.349987615384), (0.296791759886, 0.350478978225),
    (0.631326076346, 0.334136672344), (0.679073381078, 0.29645404267),
    (0.73597236153, 0.294721285802), (0.782865376271, 0.321305281656),
    (0.740312274764, 0.341849376713), (0.68499850091, 0.343734332172),
    (0.353167761422, 0.746189164237), (0.414587777921, 0.719053835073),
    (0.477677654595, 0.706835892494), (0.522732900812, 0.717092275768),
    (0.569832064287, 0.705414478982), (0.635195811927, 0.71565572516),
    (0.69951672331, 0.739419187253), (0.639447159575, 0.805236879972),
    (0.576410514055, 0.835436670169), (0.525398405766, 0.841706377792),
    (0.47641545769, 0.837505914975), (0.41379548902, 0.810045601727),
    (0.380084785646, 0.749979603086), (0.477955996282, 0.74513234612),
    (0.523389793327, 0.748924302636), (0.571057789237, 0.74332894691),
    (0.672409137852, 0.744177032192), (0.572539621444, 0.776609286626),
    (0.5240106503, 0.783370783245), (0.477561227414, 0.778476346951),
], dtype=np.float64)

# Landmark index groups (iBUG 68), as lists so they index arrays and concatenate.
JAW = list(range(0, 17))
RIGHT_BROW, LEFT_BROW = list(range(17, 22)), list(range(22, 27))  # image left, image right
NOSE_BRIDGE, NOSE_BASE = list(range(27, 31)), list(range(31, 36))
RIGHT_EYE, LEFT_EYE = list(range(36, 42)), list(range(42, 48))
OUTER_LIP, INNER_LIP = list(range(48, 60)), list(range(60, 68))

# Landmark groups of the per-group error tables.
LANDMARK_GROUPS: dict[str, list[int]] = {
    "jaw": JAW, "brows": RIGHT_BROW + LEFT_BROW, "nose": NOSE_BRIDGE + NOSE_BASE,
    "eyes": RIGHT_EYE + LEFT_EYE, "mouth": OUTER_LIP + INNER_LIP,
}

# The outer eye corners: the inter-ocular distance of the landmark error (300-W convention).
OUTER_EYE_CORNERS: tuple[int, int] = (36, 45)


def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners (landmarks 36 and 45): the normaliser of the
    landmark error (NME). ``(..., 68, 2)`` -> ``(...)`` float64, in the landmarks' units."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return np.linalg.norm(lm[..., OUTER_EYE_CORNERS[1], :] - lm[..., OUTER_EYE_CORNERS[0], :], axis=-1)


def eye_centre_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (mean of each eye's six landmarks) of ``(68, 2)``
    landmarks: the unit of the ROI boxes' padding, size and shift (:class:`Roi`)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(lm[LEFT_EYE].mean(0) - lm[RIGHT_EYE].mean(0)))


def _landmark_mirror() -> np.ndarray:
    pairs = [(j, 16 - j) for j in range(17)] + [(17 + j, 26 - j) for j in range(5)]
    pairs += [(27 + j, 27 + j) for j in range(4)] + [(31 + j, 35 - j) for j in range(5)]
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48 + j, 54 - j) for j in range(7)] + [(55 + j, 59 - j) for j in range(5)]
    pairs += [(60 + j, 64 - j) for j in range(5)] + [(65, 67), (66, 66), (67, 65)]
    m = np.arange(68)
    for a, b in pairs:
        m[a], m[b] = b, a
    return m


# iBUG index of each landmark's mirror image (left <-> right), for horizontal flips.
LANDMARK_MIRROR: np.ndarray = _landmark_mirror()
LANDMARK_MIRROR.setflags(write=False)


@dataclass(frozen=True)
class Roi:
    """One region: its landmarks, the AUs it shows, and how its box is drawn.

    Box = bounding box of ``landmarks``, grown by ``pad`` on every side, at least ``min_size``
    wide and high, then moved by ``shift`` (dx, dy); all in units of the distance between the
    eye centres (:func:`eye_centre_distance`).
    """

    name: str
    landmarks: tuple[int, ...]
    aus: tuple[int, ...]
    mirror: str
    pad: float = 0.08
    min_size: float = 0.30
    shift: tuple[float, float] = (0.0, 0.0)


ROI_TABLE: tuple[Roi, ...] = (
    Roi("brow_inner_R", (19, 20, 21), (1, 4), "brow_inner_L", shift=(0.0, -0.06)),
    Roi("brow_inner_L", (22, 23, 24), (1, 4), "brow_inner_R", shift=(0.0, -0.06)),
    Roi("brow_outer_R", (17, 18, 19), (2,), "brow_outer_L", shift=(0.0, -0.06)),
    Roi("brow_outer_L", (24, 25, 26), (2,), "brow_outer_R", shift=(0.0, -0.06)),
    Roi("glabella", (21, 22, 27), (4,), "glabella", min_size=0.32),
    Roi("eye_R", tuple(range(36, 42)), (5, 7), "eye_L", pad=0.06),
    Roi("eye_L", tuple(range(42, 48)), (5, 7), "eye_R", pad=0.06),
    Roi("cheek_R", (40, 41), (6,), "cheek_L", pad=0.0, min_size=0.42, shift=(-0.05, 0.36)),
    Roi("cheek_L", (46, 47), (6,), "cheek_R", pad=0.0, min_size=0.42, shift=(0.05, 0.36)),
    Roi("nose_wing_R", (31, 32, 49), (9, 10), "nose_wing_L", pad=0.04, min_size=0.28),
    Roi("nose_wing_L", (34, 35, 53), (9, 10), "nose_wing_R", pad=0.04, min_size=0.28),
    Roi("mouth_corner_R", (48, 49, 59, 60), (12, 14, 15, 20), "mouth_corner_L", pad=0.06),
    Roi("mouth_corner_L", (53, 54, 55, 64), (12, 14, 15, 20), "mouth_corner_R", pad=0.06),
    Roi("upper_lip", (50, 51, 52, 61, 62, 63), (10, 23, 24, 25), "upper_lip", pad=0.05),
    Roi("lower_lip", (56, 57, 58, 65, 66, 67), (23, 24, 25, 26), "lower_lip", pad=0.05),
    Roi("chin", (7, 8, 9, 57), (17, 26), "chin", pad=0.02, min_size=0.4, shift=(0.0, -0.08)),
)

ROI_NAMES: tuple[str, ...] = tuple(r.name for r in ROI_TABLE)
MIRROR: np.ndarray = np.array([ROI_NAMES.index(r.mirror) for r in ROI_TABLE], dtype=np.int64)
MIRROR.setflags(write=False)


# FACS/EMFACS prototypes of the basic emotions (Ekman & Friesen), used only to say which AUs tend
# to appear together when no AU labels are available.
AU_PROTOTYPES: dict[str, tuple[int, ...]] = {
    "happiness": (6, 12, 25),
    "sadness": (1, 4, 15, 17),
    "surprise": (1, 2, 5, 25, 26),
    "fear": (1, 2, 4, 5, 7, 20, 25, 26),
    "anger": (4, 5, 7, 23, 24),
    "disgust": (4, 9, 10, 15, 17),
    "contempt": (12, 14),
    "repression": (14, 17, 24),
}


def _au_index(aus: tuple[int, ...]) -> dict[int, int]:
    return {a: i for i, a in enumerate(aus)}


def _all_table_aus() -> tuple[int, ...]:
    return tuple(sorted({a for r in ROI_TABLE for a in r.aus}))


def _roi_adjacency(au_cooc: np.ndarray, au_ids: tuple[int, ...]) -> np.ndarray:
    """ROI adjacency from an AU-by-AU co-occurrence matrix: ``A[i, j]`` = the strongest
    co-occurrence averaged over pairs (AU of region ``i``, AU of region ``j``); diagonal 1."""
    idx = _au_index(au_ids)
    n = len(ROI_TABLE)
    adj = np.zeros((n, n), dtype=np.float32)
    for i, ri in enumerate(ROI_TABLE):
        for j, rj in enumerate(ROI_TABLE):
            vals = [au_cooc[idx[a], idx[b]] for a in ri.aus for b in rj.aus if a in idx and b in idx]
            adj[i, j] = float(np.mean(vals)) if vals else 0.0
    np.fill_diagonal(adj, 1.0)
    return adj


def _cooccurrence(sets: list[tuple[int, ...]], au_ids: tuple[int, ...]) -> np.ndarray:
    """Symmetric co-occurrence ``|a and b| / sqrt(|a| |b|)`` (cosine of the indicator columns),
    1 on the diagonal for every AU."""
    idx = _au_index(au_ids)
    x = np.zeros((len(sets), len(au_ids)), dtype=np.float64)
    for r, s in enumerate(sets):
        for a in s:
            if a in idx:
                x[r, idx[a]] = 1.0
    counts = x.sum(0)
    co = x.T @ x
    denom = np.sqrt(np.outer(counts, counts))
    c = np.divide(co, denom, out=np.zeros_like(co), where=denom > 0)
    np.fill_diagonal(c, 1.0)
    return c


def au_prior_adjacency() -> np.ndarray:
    """``(N, N)`` float32 prior adjacency between ROIs, in [0, 1], symmetric, diagonal 1.

    Built from the FACS emotion prototypes (:data:`AU_PROTOTYPES`): AU-by-AU cosine
    co-occurrence over the prototypes (1 for an AU with itself), averaged over the AU pairs of the
    two regions. Regions that show the same AUs (the two inner brows) get high weights; regions
    whose AUs appear together in an emotion (AU6 cheeks with AU12 mouth corners) get some;
    regions whose AUs never meet get 0.
    """
    au_ids = _all_table_aus()
    return _roi_adjacency(_cooccurrence(list(AU_PROTOTYPES.values()), au_ids), au_ids)


def au_prior_from_labels(aus_per_clip) -> np.ndarray:
    """``(N, N)`` float32 ROI adjacency from annotated AUs of training clips.

    Args:
        aus_per_clip: iterable of AU tuples, one per (training) clip, e.g. ``[c.aus for c in train]``.
            Clips with no AUs are ignored. Use only training clips of a fold, never the test subject.

    Raises:
        ValueError: when no clip carries an AU of the ROI table.
    """
    au_ids = _all_table_aus()
    sets = [tuple(a) for a in aus_per_clip if a]
    if not any(a in au_ids for s in sets for a in s):
        raise ValueError("au_prior_from_labels: no clip has an AU of the ROI table "
                         f"({au_ids}); use au_prior_adjacency() for unlabelled data")
    return _roi_adjacency(_cooccurrence(sets, au_ids), au_ids)


def au_region_of(au: int) -> tuple[int, ...]:
    """Indices of the ROIs that show ``au`` (empty when the table has none)."""
    return tuple(i for i, r in enumerate(ROI_TABLE) if au in r.aus)


def coded_rois(aus) -> np.ndarray:
    """``(N,)`` bool: the ROIs that show any of ``aus`` (the AU-to-ROI table; sides ignored)."""
    out = np.zeros(len(ROI_TABLE), dtype=bool)
    for a in aus:
        out[list(au_region_of(int(a)))] = True
    return out
