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


# --------------------------------------------------------------------------- chapter 1 tables
def example_clip(clips: Sequence[Clip], label: str, by: str = "intensity") -> Clip:
    """The clip of class ``label`` with the largest true AU intensity (``by="intensity"``) or
    the most coded AUs (``by="aus"``); ties go to the first."""
    pool = [c for c in clips if c.label_name == label]
    if not pool:
        raise ValueError(f"example_clip: no clip of class {label!r}")
    if by == "intensity":
        return max(pool, key=lambda c: max(c.truth["au_intensity"].values(), default=0.0))
    if by == "aus":
        return max(pool, key=lambda c: len(c.aus))
    raise ValueError(f"example_clip: by={by!r}; expected 'intensity' or 'aus'")


def first_with(clips: Sequence[Clip], nuisance: str = "blink") -> Clip:
    """The first clip whose true ``nuisance`` profile (``"blink"``, ``"macro"``) is non-zero,
    else the first clip."""
    return next((c for c in clips if np.any(np.asarray(c.truth[nuisance]) > 0)), clips[0])


def au_combination_table(clips: Sequence[Clip]) -> pd.DataFrame:
    """Clips per (class, emotion, AU combination), most frequent first within each class."""
    combos = pd.DataFrame({"class": [c.label_name for c in clips], "emotion": [c.emotion for c in clips],
                           "AUs": ["+".join(map(str, c.aus)) for c in clips]})
    return (combos.value_counts().rename("clips").reset_index()
            .sort_values(["class", "clips"], ascending=[True, False]).reset_index(drop=True))


def phase_table(clips: Sequence[Clip]) -> pd.DataFrame:
    """Mean, min and max over clips of the length, onset/apex/offset frames, the strongest AU's
    apex displacement (px) and the share of clips with a blink or a macro-movement."""
    phase = pd.DataFrame({"frames": [len(c.frames) for c in clips], "onset": [c.onset for c in clips],
                          "apex": [c.apex for c in clips], "offset": [c.offset for c in clips],
                          "apex px": [max(c.truth["au_intensity"].values(), default=0.0) for c in clips],
                          "with blink": [float(np.any(np.asarray(c.truth["blink"]) > 0)) for c in clips],
                          "with macro-movement": [float(np.any(np.asarray(c.truth["macro"]) > 0)) for c in clips]})
    return phase.describe().loc[["mean", "min", "max"]]


def baseline_table(result: BaselineResult) -> pd.DataFrame:
    """One row: UF1, UAR, accuracy and the majority-class UF1 of :func:`difference_baseline`."""
    return pd.DataFrame([{"UF1": result.uf1, "UAR": result.uar, "accuracy": result.accuracy,
                          "majority-class UF1": result.chance_uf1}])


def dlib_findings(summary: pd.DataFrame) -> str:
    """One sentence from :func:`dlib_summary`: detection rate, mean error and the landmark
    groups with the largest and smallest error."""
    row = summary.iloc[0]
    groups = pd.Series({g: row[f"error_{g}"] for g in LANDMARK_GROUPS if f"error_{g}" in row})
    return (f"dlib found a face in {row['detection_rate']:.1%} of {int(row['frames'])} frames; mean landmark error "
            f"{row['error_px']:.2f} px ({row['nme_iod']:.3f} of the inter-ocular distance); largest in the "
            f"{groups.idxmax()} group, smallest in the {groups.idxmin()} group")


def keyframe_summary(keys: pd.DataFrame) -> pd.DataFrame:
    """Keyframe selection against the truth, from :func:`stag.preprocess.pipeline.keyframe_table`:
    apex error (frames), interval coverage and precision, landmark error; one ``value`` column."""
    return pd.DataFrame([{
        "clips": len(keys), "apex error mean (frames)": keys.apex_error.mean(),
        "apex error median": keys.apex_error.median(), "apex within 2 frames": (keys.apex_error <= 2).mean(),
        "interval coverage": keys.coverage.mean(), "precision": keys.precision.mean(),
        "contains apex": keys.contains_apex.mean(), "landmark error (px)": keys.landmark_error_px.mean(),
    }]).T.rename(columns={0: "value"})


def magnitude_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Per magnitude measure of :func:`stag.preprocess.pipeline.compare_magnitude_methods`:
    clips, mean apex error, share within 2 frames and milliseconds per clip."""
    return check.groupby("method").agg(
        clips=("clip_id", "size"), apex_error_mean=("apex_error", "mean"),
        apex_within_2=("apex_error", lambda e: (e <= 2).mean()), ms_per_clip=("seconds", lambda s: 1000 * s.mean()))


def keyframe_findings(keys: pd.DataFrame, magnitudes: pd.DataFrame) -> str:
    """Two sentences: how well the keyframes find the apex and cover the interval, and the
    flow magnitude against the intensity difference (:func:`magnitude_summary`)."""
    first = (f"keyframes: mean apex error {keys.apex_error.mean():.2f} frames over {len(keys)} clips "
             f"({(keys.apex_error <= 2).mean():.0%} within 2 frames); the keyframes span {keys.coverage.mean():.0%} "
             f"of the true interval on average and all lie inside it in {(keys.precision == 1).mean():.0%} of clips")
    if not {"flow", "intensity"} <= set(magnitudes.index):
        return first
    m = magnitudes
    return (first + f"\nmagnitude measure: flow {m.loc['flow', 'apex_error_mean']:.2f} vs intensity difference "
            f"{m.loc['intensity', 'apex_error_mean']:.2f} frames of apex error, at {m.loc['flow', 'ms_per_clip']:.0f} "
            f"vs {m.loc['intensity', 'ms_per_clip']:.0f} ms per clip")


def prepared_and_clip(prepared: Sequence, clips: Sequence[Clip], clip_id: str) -> tuple:
    """``(prepared clip, clip)`` with id ``clip_id``, for figures that set one against the truth."""
    p = next((x for x in prepared if x.clip_id == clip_id), None)
    c = next((x for x in clips if x.clip_id == clip_id), None)
    if p is None or c is None:
        raise KeyError(f"clip {clip_id!r} is not among the {'prepared clips' if p is None else 'clips'}")
    return p, c
