"""Face detection, 68-point landmarks, and similarity alignment of a clip to a canonical face.

dlib's HOG frontal face detector finds the face on the onset frame; dlib's 68-point shape
predictor (from the ``face_recognition_models`` package) places the landmarks. The clip is then
warped with *one* similarity transform (rotation, uniform scale, translation) estimated from the
onset eyes and nose, so the subtle motion between frames is not disturbed by per-frame landmark
jitter. A face that moves away from the onset box by more than ``redetect_shift`` of its size is
re-detected.

The canonical template (:func:`canonical_landmarks`) is the OpenFace mean face shape, placed so
the face fills 80 % of the crop width.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from stag.faces import MEAN_SHAPE, inter_ocular_distance

# Landmarks that drive the alignment: both eyes (12 points) and the nose bridge and base (9).
ALIGN_POINTS: tuple[int, ...] = tuple(range(36, 48)) + tuple(range(27, 36))


def _unit_template() -> np.ndarray:
    """68 (x, y) points of the canonical frontal face in the unit square (iBUG order).

    The mean shape is the OpenFace alignment template (:data:`stag.faces.MEAN_SHAPE`, which the
    synthetic renderer draws from too),
    scaled so the face spans 80 % of the crop width, centred, with the brows about 12 % below
    the top edge so brow motion (AU1/AU2/AU4) stays inside the crop.
    """
    return (MEAN_SHAPE - np.array([0.525, 0.60])) * (0.8 / 0.892) + 0.5


def canonical_landmarks(size: int = 128) -> np.ndarray:
    """``(68, 2)`` float32 landmarks of the canonical aligned face in a ``size`` x ``size`` crop."""
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    return (_unit_template() * size).astype(np.float32)


# ---------------------------------------------------------------------------- similarity maths
def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama, no reflection) mapping ``src`` to ``dst``.

    Args:
        src, dst: ``(P, 2)`` corresponding points, ``P >= 2``.

    Returns:
        ``(2, 3)`` float64 matrix ``M`` with ``dst ~= src @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"estimate_similarity: expected two (P>=2, 2) arrays, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0 ** 2).sum() / len(src)
    if var_s < 1e-12:
        raise ValueError("estimate_similarity: source points are all the same")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    r = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s
    m = np.zeros((2, 3))
    m[:, :2] = scale * r
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def apply_similarity(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` transform to ``(..., 2)`` points."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def alignment_transform(landmarks: np.ndarray, size: int = 128) -> np.ndarray:
    """``(2, 3)`` similarity mapping image landmarks onto the canonical ``size`` template (eyes + nose)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"landmarks: expected (68, 2), got {lm.shape}")
    idx = list(ALIGN_POINTS)
    return estimate_similarity(lm[idx], canonical_landmarks(size)[idx])


def warp_frames(frames: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Warp ``(T, H, W[, 3])`` frames with the ``(2, 3)`` transform into ``(T, size, size[, 3])``."""
    out = [cv2.warpAffine(np.ascontiguousarray(f), m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE) for f in frames]
    return np.stack(out)


# ---------------------------------------------------------------------------- dlib models
@dataclass(frozen=True)
class FaceModel:
    """dlib's face detector and 68-point shape predictor, loaded once per process."""

    detector: object
    predictor: object
    predictor_path: str

    def detect(self, grey: np.ndarray, upsample: int = 0) -> list[tuple[int, int, int, int]]:
        """Face boxes ``(x0, y0, x1, y1)`` in a ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 image,
        largest first."""
        rects = self.detector(np.ascontiguousarray(grey), upsample)
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))

    def landmarks(self, grey: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """``(68, 2)`` float32 landmarks of the face in ``box`` (grey or RGB uint8 image)."""
        # lazy: dlib is slow to import (python -X importtime); only this function needs it
        import dlib

        rect = dlib.rectangle(*[int(round(v)) for v in box])
        shape = self.predictor(np.ascontiguousarray(grey), rect)
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float32)


def predictor_path() -> Path:
    """Path of dlib's 68-point model inside the installed ``face_recognition_models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("package face_recognition_models is not installed; it provides "
                                "shape_predictor_68_face_landmarks.dat")
    path = Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.exists():
        raise FileNotFoundError(f"dlib landmark model not found at {path}")
    return path


@lru_cache(maxsize=1)
def load_face_model() -> FaceModel:
    """The process's :class:`FaceModel` (loaded on first call, then reused)."""
    # lazy: dlib is slow to import (python -X importtime); only this function needs it
    import dlib

    path = predictor_path()
    return FaceModel(dlib.get_frontal_face_detector(), dlib.shape_predictor(str(path)), str(path))


# ---------------------------------------------------------------------------- clip alignment
@dataclass
class AlignedClip:
    """A clip warped to the canonical face.

    Attributes:
        frames: ``(T, S, S)`` uint8 grey aligned frames.
        landmarks: ``(68, 2)`` float32 onset landmarks in aligned pixels.
        transform: ``(2, 3)`` image -> aligned similarity.
        image_landmarks: ``(68, 2)`` float32 onset landmarks in the original image.
        box: onset face box ``(x0, y0, x1, y1)`` in the original image.
        redetected: frames where the face was searched for again.
        frame_landmarks: aligned ``(68, 2)`` landmarks of the ``check_frames``.
    """

    frames: np.ndarray
    landmarks: np.ndarray
    transform: np.ndarray
    image_landmarks: np.ndarray
    box: tuple[int, int, int, int]
    redetected: tuple[int, ...] = ()
    frame_landmarks: dict = field(default_factory=dict)


def to_grey(frames: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` RGB or ``(T, H, W)`` uint8 -> ``(T, H, W)`` uint8 grey (ITU-R 601 luma)."""
    f = np.asarray(frames)
    if f.ndim == 3:
        return f.astype(np.uint8, copy=False)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"frames: expected (T, H, W, 3) RGB or (T, H, W), got {f.shape}")

    return np.stack([cv2.cvtColor(np.ascontiguousarray(x, dtype=np.uint8), cv2.COLOR_RGB2GRAY) for x in f])


def find_face(model: FaceModel, grey: np.ndarray, clip_id: str, frame: int) -> tuple[int, int, int, int]:
    """The largest face box in ``grey``; retries with 2x upsampling; raises a clear error."""
    for upsample in (0, 1):
        boxes = model.detect(grey, upsample)
        if boxes:
            return boxes[0]
    raise RuntimeError(f"no face found in clip {clip_id!r} at frame {frame} "
                       f"(image {grey.shape[1]}x{grey.shape[0]}, dlib HOG detector, upsample 0 and 1)")


def align_clip(frames: np.ndarray, onset: int = 0, *, size: int = 128, clip_id: str = "?",
               face_model: FaceModel | None = None, landmarks: np.ndarray | None = None,
               check_frames: tuple[int, ...] = (), redetect_shift: float = 0.15) -> AlignedClip:
    """Detect, landmark and align a clip on its onset frame.

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB or ``(T, H, W)`` grey.
        onset: index of the reference frame.
        size: side of the aligned crop.
        clip_id: used in error messages.
        face_model: dlib models (default: :func:`load_face_model`).
        landmarks: ``(68, 2)`` onset landmarks to use instead of detecting (e.g. provided by the
            dataset); detection is skipped.
        check_frames: frames (e.g. the apex) landmarked too (tracked from the onset box); if their
            landmarks moved by more than ``redetect_shift`` of the box size, the face is
            re-detected on that frame first. Their aligned landmarks land in ``frame_landmarks``.
            The clip itself is always aligned with the onset transform.

    Raises:
        RuntimeError: no face in the onset frame (names the clip and frame).
    """
    grey = to_grey(frames)
    if not 0 <= onset < len(grey):
        raise ValueError(f"clip {clip_id!r}: onset {onset} outside 0..{len(grey) - 1}")
    redetected: list[int] = []
    others: dict[int, np.ndarray] = {}
    if landmarks is not None:
        lm = np.asarray(landmarks, dtype=np.float32)
        box = tuple(int(v) for v in (*lm.min(0), *lm.max(0)))
    else:
        model = face_model or load_face_model()
        box = find_face(model, grey[onset], clip_id, onset)
        lm = model.landmarks(grey[onset], box)
        side = max(box[2] - box[0], 1)
        for t in check_frames:
            if t == onset or not 0 <= t < len(grey):
                continue
            lm_t = model.landmarks(grey[t], box)
            if np.linalg.norm(lm_t.mean(0) - lm.mean(0)) > redetect_shift * side:
                redetected.append(int(t))
                box_t = find_face(model, grey[t], clip_id, t)
                lm_t = model.landmarks(grey[t], box_t)
            others[int(t)] = lm_t
    m = alignment_transform(lm, size)
    aligned_others = {t: apply_similarity(m, v).astype(np.float32) for t, v in others.items()}
    return AlignedClip(warp_frames(grey, m, size), apply_similarity(m, lm).astype(np.float32), m,
                       np.asarray(lm, dtype=np.float32), box, tuple(redetected), aligned_others)


def face_mask(landmarks: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool mask of the convex hull of the 68 landmarks (the face below the hairline)."""
    h, w = (size, size) if np.isscalar(size) else size
    mask = np.zeros((h, w), np.uint8)
    hull = cv2.convexHull(np.rint(np.asarray(landmarks)).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def landmark_error(pred: np.ndarray, true: np.ndarray, normalise: str = "iod") -> float:
    """Mean point-to-point landmark error of ``(P, 2)`` points, in pixels (``normalise="px"``) or
    as a fraction of the true inter-ocular distance (``"iod"``, the usual NME), which is the
    distance between the outer eye corners 36 and 45 (:func:`stag.faces.inter_ocular_distance`,
    the 300-W convention; ``"iod"`` needs all 68 landmarks)."""
    p, t = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    err = float(np.linalg.norm(p - t, axis=-1).mean())
    if normalise == "px":
        return err
    if normalise != "iod":
        raise ValueError(f"normalise={normalise!r}: expected 'px' or 'iod'")
    return err / float(inter_ocular_distance(t))
