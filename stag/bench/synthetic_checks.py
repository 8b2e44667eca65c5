"""Checks of the synthetic set against the real tools: dlib detection and a simple baseline.

* :func:`dlib_check` runs the face pipeline's dlib detector and 68-point shape predictor
  (:func:`stag.preprocess.face.load_face_model`) on the rendered frames and compares the
  predicted landmarks with the ground truth (:func:`stag.preprocess.face.landmark_error`).
* :func:`difference_baseline` is the floor every model must beat: logistic regression on
  the downsampled ``|apex - onset|`` image, evaluated leave-one-subject-out
  (:class:`stag.train.protocols.LOSO`, UF1 from :mod:`stag.train.metrics`).

They sit with the benchmarks because they use the data, the face pipeline and the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stag.data.clip import Clip, ClipSet
from stag.faces import LANDMARK_GROUPS
from stag.preprocess.face import landmark_error, load_face_model
from stag.train.metrics import scores
from stag.train.protocols import LOSO


def dlib_check(clips: Sequence[Clip], frame_stride: int = 1, upsample: int = 0) -> pd.DataFrame:
    """Run dlib on every ``frame_stride``-th frame of ``clips``.

    Returns:
        One row per frame: ``clip_id``, ``subject``, ``frame``, ``detected`` (bool),
        ``faces`` (number of detections), ``box_width`` (px), ``nme_iod`` (mean landmark
        error / the distance between the outer eye corners, :func:`stag.faces.inter_ocular_distance`)
        and the mean error in pixels overall (``error_px``) and per landmark group
        (``error_<group>``, :data:`stag.faces.LANDMARK_GROUPS`); errors are NaN when nothing was found.
    """
    model = load_face_model()
    rows = []
    for clip in clips:
        frames = clip.load_frames()
        for t in range(0, len(frames), max(1, int(frame_stride))):
            img = np.ascontiguousarray(frames[t])
            boxes = model.detect(img, upsample)  # largest first
            row = {"clip_id": clip.clip_id, "subject": clip.subject, "frame": t,
                   "detected": len(boxes) > 0, "faces": len(boxes), "box_width": np.nan,
                   "error_px": np.nan, "nme_iod": np.nan, **{f"error_{g}": np.nan for g in LANDMARK_GROUPS}}
            if boxes and clip.landmarks is not None:
                box = boxes[0]
                pred = model.landmarks(img, box).astype(np.float64)
                truth = clip.landmarks[t].astype(np.float64)
                row["box_width"] = box[2] - box[0]
                row["error_px"] = landmark_error(pred, truth, "px")
                row["nme_iod"] = landmark_error(pred, truth, "iod")
                for g, idx in LANDMARK_GROUPS.items():
                    row[f"error_{g}"] = landmark_error(pred[idx], truth[idx], "px")
            rows.append(row)
    return pd.DataFrame(rows)


def dlib_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One-row summary of :func:`dlib_check`: frames, detection rate, mean errors (px)."""
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
    predictions: pd.DataFrame


def difference_features(clip: Clip, size: int = 16, blur: float = 1.0) -> np.ndarray:
    """``(size*size,)`` float32: the grey ``|apex - onset|`` image, blurred and area-downsampled
    (``size=0`` keeps the full resolution)."""
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
    UAR the mean per-class recall (both :func:`stag.train.metrics.scores`). ``chance_uf1`` is the
    UF1 of always predicting the majority class, for reference.
    """
    X = np.stack([difference_features(c, size) for c in clipset])
    y = clipset.labels
    groups = clipset.subjects
    pred = np.empty_like(y)
    for _, train, test in LOSO().split(groups, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=random_state))
        model.fit(X[train], y[train])
        pred[test] = model.predict(X[test])
    n = clipset.scheme.num_classes
    majority = np.full_like(y, np.bincount(y, minlength=n).argmax())
    result = scores(y, pred, n)
    table = pd.DataFrame({"clip_id": [c.clip_id for c in clipset], "subject": [c.subject for c in clipset],
                          "y_true": y, "y_pred": pred})
    return BaselineResult(
        uf1=result["uf1"], uar=result["uar"], accuracy=result["accuracy"],
        chance_uf1=scores(y, majority, n)["uf1"],
        predictions=table,
    )
