"""AU-linked facial regions of interest (ROIs) on images: boxes from landmarks, their mirror
images, crops and pooled node features.

The regions themselves (:data:`stag.faces.ROI_TABLE`, :data:`stag.faces.ROI_NAMES`,
:data:`stag.faces.MIRROR`) and the AU prior between them live in :mod:`stag.faces`.
"""

from __future__ import annotations

import cv2
import numpy as np

from stag.faces import MIRROR, ROI_TABLE, eye_centre_distance
from stag.preprocess.face import canonical_landmarks


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
    iod = eye_centre_distance(lm)  # the unit of the table's pad, min_size and shift
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
    still region ``stag.faces.ROI_NAMES[i]``. ``boxes``: ``(N, 4)``; returns ``(N, 4)``."""
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


def template_landmarks(size: int = 128) -> np.ndarray:
    """``(68, 2)`` float32 landmarks of the canonical aligned face at ``size`` x ``size``
    (same template :mod:`stag.preprocess.face` aligns to). Used for flows without landmarks."""
    return canonical_landmarks(size)
