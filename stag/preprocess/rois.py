"""AU-linked facial regions of interest (ROIs): the table, boxes from landmarks, node features,
and the AU co-occurrence prior between regions.

Landmarks follow the 68-point iBUG/dlib convention (0-based). Sides are the *subject's* sides,
as FACS writes them (``R12`` = the subject's right lip corner), so ``*_R`` regions appear on the
image's left. Every ``*_L`` region has a mirror ``*_R`` region; :data:`MIRROR` is the index
permutation a horizontal flip applies to the ROI axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roi:
    """One region: its landmarks, the AUs it shows, and how its box is drawn.

    Box = bounding box of ``landmarks``, grown by ``pad`` on every side, at least ``min_size``
    wide and high, then moved by ``shift`` (dx, dy); all in units of the inter-ocular distance.
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

# Inter-ocular distance of the canonical 68-point template, for flows without landmarks.
_EYE_R = tuple(range(36, 42))
_EYE_L = tuple(range(42, 48))


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"landmarks: expected shape (68, 2), got {lm.shape}")
    if not np.isfinite(lm).all():
        raise ValueError("landmarks contain NaN or inf")
    return lm


def roi_boxes(landmarks: np.ndarray, size: int | tuple[int, int], *, scale: float = 1.0) -> np.ndarray:
    """ROI boxes from 68 landmarks.

    Args:
        landmarks: ``(68, 2)`` (x, y) pixel landmarks in the image the boxes are for.
        size: image size ``S`` or ``(H, W)``; boxes are clipped to it.
        scale: multiplies every region's padding and minimum size (1.0 = the table's values).

    Returns:
        ``(N, 4)`` float32 boxes ``(x0, y0, x1, y1)`` in pixels, ``N = len(ROI_TABLE)``, in the
        order of :data:`ROI_TABLE`.
    """
    lm = _check_landmarks(landmarks)
    h, w = (size, size) if np.isscalar(size) else size
    iod = float(np.linalg.norm(lm[list(_EYE_L)].mean(0) - lm[list(_EYE_R)].mean(0)))
    if iod <= 1e-6:
        raise ValueError("landmarks: the two eye centres coincide; cannot size the ROIs")
    boxes = np.empty((len(ROI_TABLE), 4), dtype=np.float64)
    for i, roi in enumerate(ROI_TABLE):
        pts = lm[list(roi.landmarks)]
        lo, hi = pts.min(0), pts.max(0)
        centre = (lo + hi) / 2 + np.array(roi.shift) * iod
        half = np.maximum((hi - lo) / 2 + roi.pad * scale * iod, roi.min_size * scale * iod / 2)
        boxes[i, :2] = centre - half
        boxes[i, 2:] = centre + half
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return boxes.astype(np.float32)


def mirror_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """Boxes of the horizontally flipped image, re-ordered with :data:`MIRROR` so row ``i`` is
    still region ``ROI_NAMES[i]``. ``boxes``: ``(N, 4)``; returns ``(N, 4)``."""
    b = np.asarray(boxes, dtype=np.float32)
    flipped = np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1)
    return flipped[MIRROR]


def roi_crops(stack: np.ndarray, boxes: np.ndarray, out_size: int = 8) -> np.ndarray:
    """Crop and resize every ROI of every frame (numpy helper for plots and baselines).

    Args:
        stack: ``(K, C, H, W)`` flow stack (or ``(C, H, W)``, treated as ``K = 1``).
        boxes: ``(N, 4)`` ROI boxes in pixels of ``stack``.
        out_size: side of each crop.

    Returns:
        ``(N, K, C, out_size, out_size)`` float32 (bilinear resampling of each box).
    """
    import cv2

    x = np.asarray(stack, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"stack: expected (K, C, H, W), got shape {x.shape}")
    k, c, h, w = x.shape
    b = np.asarray(boxes, dtype=np.float64)
    out = np.zeros((len(b), k, c, out_size, out_size), dtype=np.float32)
    for n, (x0, y0, x1, y1) in enumerate(b):
        sx = max(x1 - x0, 1e-3) / out_size
        sy = max(y1 - y0, 1e-3) / out_size
        # Affine map from crop pixel centres to image coordinates (pixel-centre convention).
        m = np.array([[sx, 0, x0 + sx / 2 - 0.5], [0, sy, y0 + sy / 2 - 0.5]], dtype=np.float64)
        for kk in range(k):
            for cc in range(c):
                out[n, kk, cc] = cv2.warpAffine(
                    x[kk, cc], m, (out_size, out_size),
                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return out


def roi_pool(stack: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Mean of every channel inside every ROI box: ``(K, C, H, W)`` -> ``(N, K, C)`` float32."""
    x = np.asarray(stack, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    out = np.zeros((len(boxes), x.shape[0], x.shape[1]), dtype=np.float32)
    for n, (x0, y0, x1, y1) in enumerate(np.asarray(boxes)):
        ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
        ix1, iy1 = max(int(np.ceil(x1)), ix0 + 1), max(int(np.ceil(y1)), iy0 + 1)
        out[n] = x[:, :, iy0:iy1, ix0:ix1].mean(axis=(2, 3))
    return out


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


def template_landmarks(size: int = 128) -> np.ndarray:
    """``(68, 2)`` float32 landmarks of the canonical aligned face at ``size`` x ``size``
    (same template :mod:`stag.preprocess.face` aligns to). Used for flows without landmarks."""
    from stag.preprocess.face import canonical_landmarks

    return canonical_landmarks(size)
