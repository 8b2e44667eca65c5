"""Checks of the synthetic set against the real tools: dlib detection and a simple baseline.

* :func:`dlib_check` runs dlib's HOG frontal face detector and the 68-point shape predictor
  (model from ``face-recognition-models``) on the rendered frames and compares the
  predicted landmarks with the ground truth.
* :func:`difference_baseline` is the floor every model must beat: logistic regression on
  the downsampled ``|apex - onset|`` image, evaluated leave-one-subject-out.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stag.data.clip import Clip, ClipSet

# Landmark groups for the error table (iBUG 68).
LANDMARK_GROUPS: dict[str, range] = {
    "jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36),
    "eyes": range(36, 48), "mouth": range(48, 68),
}


def dlib_model_path() -> str:
    """Path of ``shape_predictor_68_face_landmarks.dat`` shipped by ``face-recognition-models``.

    The package is located without importing it (its ``__init__`` imports ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face-recognition-models is not installed; it provides dlib's 68-point model")
    path = os.path.join(os.path.dirname(spec.origin), "models", "shape_predictor_68_face_landmarks.dat")
    if not os.path.exists(path):
        raise FileNotFoundError(f"dlib 68-point model not found at {path}")
    return path


def dlib_check(clips: Sequence[Clip], frame_stride: int = 1, upsample: int = 0) -> "pandas.DataFrame":  # noqa: F821
    """Run dlib on every ``frame_stride``-th frame of ``clips``.

    Returns:
        One row per frame: ``clip_id``, ``subject``, ``frame``, ``detected`` (bool),
        ``faces`` (number of detections), ``box_width`` (px), ``nme_iod`` (mean landmark
        error / inter-ocular distance) and the mean error in pixels overall (``error_px``)
        and per landmark group (``error_<group>``); errors are NaN when nothing was found.
    """
    import dlib
    import pandas as pd

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(dlib_model_path())
    rows = []
    for clip in clips:
        frames = clip.load_frames()
        for t in range(0, len(frames), max(1, int(frame_stride))):
            img = np.ascontiguousarray(frames[t])
            rects = detector(img, upsample)
            row = {"clip_id": clip.clip_id, "subject": clip.subject, "frame": t,
                   "detected": len(rects) > 0, "faces": len(rects), "box_width": np.nan,
                   "error_px": np.nan, "nme_iod": np.nan, **{f"error_{g}": np.nan for g in LANDMARK_GROUPS}}
            if rects and clip.landmarks is not None:
                rect = max(rects, key=lambda r: r.width() * r.height())
                shape = predictor(img, rect)
                pred = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float64)
                truth = clip.landmarks[t].astype(np.float64)
                err = np.linalg.norm(pred - truth, axis=1)
                row["box_width"] = rect.width()
                row["error_px"] = float(err.mean())
                row["nme_iod"] = float(err.mean() / np.linalg.norm(truth[45] - truth[36]))
                for g, idx in LANDMARK_GROUPS.items():
                    row[f"error_{g}"] = float(err[list(idx)].mean())
            rows.append(row)
    return pd.DataFrame(rows)


def dlib_summary(table) -> "pandas.DataFrame":  # noqa: F821
    """One-row summary of :func:`dlib_check`: frames, detection rate, mean errors (px)."""
    import pandas as pd

    cols = ["error_px", "nme_iod", *[f"error_{g}" for g in LANDMARK_GROUPS]]
    out = {"frames": len(table), "detection_rate": float(table["detected"].mean()),
           "multiple_faces": int((table["faces"] > 1).sum()), "box_width_px": float(table["box_width"].mean())}
    out.update({c: float(table[c].mean()) for c in cols})
    return pd.DataFrame([out])


def class_mean_differences(clipset: ClipSet, blur: float = 1.0) -> np.ndarray:
    """``(num_classes, H, W)`` float32 mean grey ``|apex - onset|`` image of each class."""
    size = None
    sums, counts = None, np.zeros(clipset.scheme.num_classes)
    for clip in clipset:
        d = difference_features(clip, size=0, blur=blur)
        if sums is None:
            size = int(round(np.sqrt(d.size)))
            sums = np.zeros((clipset.scheme.num_classes, d.size), np.float64)
        sums[clip.label] += d
        counts[clip.label] += 1
    return (sums / np.maximum(counts, 1)[:, None]).reshape(-1, size, size).astype(np.float32)


@dataclass(frozen=True)
class BaselineResult:
    """Leave-one-subject-out result of :func:`difference_baseline`."""

    uf1: float
    uar: float
    accuracy: float
    chance_uf1: float
    predictions: "pandas.DataFrame"  # noqa: F821


def difference_features(clip: Clip, size: int = 16, blur: float = 1.0) -> np.ndarray:
    """``(size*size,)`` float32: the grey ``|apex - onset|`` image, blurred and area-downsampled
    (``size=0`` keeps the full resolution)."""
    import cv2

    frames = clip.load_frames()
    if clip.onset is None or clip.apex is None:
        raise ValueError(f"clip {clip.clip_id!r} has no onset/apex annotation")
    grey = frames[[clip.onset, clip.apex]].astype(np.float32).mean(-1)
    diff = np.abs(grey[1] - grey[0])
    if blur > 0:
        diff = cv2.GaussianBlur(diff, (0, 0), blur)
    if size:
        diff = cv2.resize(diff, (size, size), interpolation=cv2.INTER_AREA)
    return diff.ravel()


def difference_baseline(clipset: ClipSet, size: int = 16, C: float = 0.1, random_state: int = 0) -> BaselineResult:
    """Logistic regression on :func:`difference_features`, leave-one-subject-out.

    UF1 is the macro F1 of the predictions pooled over all folds (the MEGC convention),
    UAR the mean per-class recall. ``chance_uf1`` is the UF1 of always predicting the
    majority class, for reference.
    """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, recall_score
    from sklearn.model_selection import LeaveOneGroupOut
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.stack([difference_features(c, size) for c in clipset])
    y = clipset.labels
    groups = clipset.subjects
    pred = np.empty_like(y)
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=random_state))
        model.fit(X[train], y[train])
        pred[test] = model.predict(X[test])
    labels = list(range(clipset.scheme.num_classes))
    majority = np.full_like(y, np.bincount(y, minlength=len(labels)).argmax())
    table = pd.DataFrame({"clip_id": [c.clip_id for c in clipset], "subject": [c.subject for c in clipset],
                          "y_true": y, "y_pred": pred})
    return BaselineResult(
        uf1=float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        uar=float(recall_score(y, pred, labels=labels, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(y, pred)),
        chance_uf1=float(f1_score(y, majority, labels=labels, average="macro", zero_division=0)),
        predictions=table,
    )
