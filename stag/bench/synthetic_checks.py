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
from stag.preprocess.face import align_clip, face_mask, landmark_error, load_face_model
from stag.preprocess.keyframes import Keyframes, detrend, motion_magnitude, select_keyframes, smooth_curve
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


def baseline_sentence(result: BaselineResult, n_clips: int) -> str:
    """The chapter's answer: the LOSO UF1 of :func:`difference_baseline` against the majority
    class and a perfect model, in one sentence. The classes are called learnable when the UF1
    beats the majority class by 0.1, and not trivially so when it stays 0.1 below 1."""
    learnable = result.uf1 >= result.chance_uf1 + 0.1
    verdict = ("the classes are learnable, and not trivially so" if learnable and result.uf1 <= 0.9 else
               "the classes are learnable, even by this simple model" if learnable else
               "a linear model barely beats the majority class")
    return (f"On {n_clips} clips, a linear model on the true apex-onset difference scores LOSO UF1 "
            f"{result.uf1:.3f} (UAR {result.uar:.3f}) against {result.chance_uf1:.3f} for the majority class "
            f"and 1 for a perfect model: {verdict}.")


def dlib_findings(summary: pd.DataFrame) -> str:
    """One sentence from :func:`dlib_summary`: detection rate, mean error and the landmark
    groups with the largest and smallest error."""
    row = summary.iloc[0]
    groups = pd.Series({g: row[f"error_{g}"] for g in LANDMARK_GROUPS if f"error_{g}" in row})
    return (f"dlib found a face in {row['detection_rate']:.1%} of {int(row['frames'])} frames; mean landmark error "
            f"{row['error_px']:.2f} px ({row['nme_iod']:.3f} of the inter-ocular distance); largest in the "
            f"{groups.idxmax()} group, smallest in the {groups.idxmin()} group.")


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
    first = (f"- Keyframes: mean apex error {keys.apex_error.mean():.2f} frames over {len(keys)} clips "
             f"(median {keys.apex_error.median():.0f}; {(keys.apex_error <= 2).mean():.0%} within 2 frames); the "
             f"keyframes span {keys.coverage.mean():.0%} of the true interval on average and all lie inside it in "
             f"{(keys.precision == 1).mean():.0%} of clips.")
    if not {"flow", "intensity"} <= set(magnitudes.index):
        return first
    m = magnitudes
    return (first + f"\n- Magnitude measure: optical flow {m.loc['flow', 'apex_error_mean']:.2f} against grey-level "
            f"difference {m.loc['intensity', 'apex_error_mean']:.2f} frames of mean apex error on "
            f"{int(m.loc['flow', 'clips'])} clips, at {m.loc['flow', 'ms_per_clip']:.0f} against "
            f"{m.loc['intensity', 'ms_per_clip']:.0f} ms per clip.")


# --------------------------------------------------------------------------- apex spotting, step by step
#: Ground-truth profiles of the movements that are not the expression (``Clip.truth`` keys).
DISTRACTORS: tuple[str, ...] = ("blink", "macro")
_DISTRACTOR_NAMES = {"blink": "a blink", "macro": "a macro-movement"}


@dataclass(frozen=True)
class SpottingTrace:
    """How the apex of one clip was spotted, step by step.

    Attributes:
        clip_id: the clip.
        smoothed: ``(T,)`` motion relative to the onset (mean flow magnitude inside the face,
            head motion removed, px of the 64 px magnitude frame), smoothed.
        trend: ``(T,)`` the straight line through the smoothed curve at the annotated onset
            and offset, which detrending subtracts (zero without an offset).
        used: ``(T,)`` ``smoothed - trend`` clipped at 0: the curve the apex is spotted on and
            the keyframes are drawn from (``Keyframes.curve``).
        keyframes: the selection (:class:`~stag.preprocess.keyframes.Keyframes`).
    """

    clip_id: str
    smoothed: np.ndarray
    trend: np.ndarray
    used: np.ndarray
    keyframes: Keyframes


def spotting_trace(clip: Clip, cfg=None, face_model=None) -> SpottingTrace:
    """Re-run the keyframe step of :func:`stag.preprocess.pipeline.prepare_clip` on one clip and
    keep its intermediate curves (prepared clips keep only the last one). Same alignment,
    magnitude measure, smoothing, search window and detrending, so ``used`` and the keyframes
    equal the prepared clip's ``truth["magnitude_curve"]`` and ``key_indices``.

    Args:
        clip: a clip with frames and an annotated onset.
        cfg: :class:`~stag.preprocess.pipeline.PrepareConfig` (``align=True``, ``apex="spotted"``).
    """
    # lazy: the pipeline module (joblib, registration) loads only when a trace is made
    from stag.preprocess.pipeline import PrepareConfig

    cfg = cfg or PrepareConfig()
    if not cfg.align or cfg.apex != "spotted":
        raise ValueError(f"spotting_trace: expected PrepareConfig(align=True, apex='spotted'), got align={cfg.align}, "
                         f"apex={cfg.apex!r}")
    onset = int(clip.onset or 0)
    given = None
    if cfg.landmarks == "given" and clip.landmarks is not None:
        given = np.asarray(clip.landmarks)[onset]
    al = align_clip(clip.load_frames(), onset, size=cfg.image_size, clip_id=clip.clip_id, face_model=face_model,
                    landmarks=given)
    raw = motion_magnitude(al.frames, onset, cfg.magnitude_method, mask=face_mask(al.landmarks, cfg.image_size))
    offset = clip.offset if (cfg.search == "annotated" and clip.offset is not None) else None
    kf = select_keyframes(raw, cfg.keyframes, onset, offset, strategy=cfg.selection, smoothing=cfg.smoothing)
    smoothed = smooth_curve(raw, cfg.smoothing)
    trend = np.zeros_like(smoothed)
    if offset is not None:
        trend = smoothed - detrend(smoothed, onset, min(int(offset), len(smoothed) - 1))
    return SpottingTrace(clip.clip_id, smoothed, trend, kf.curve.astype(np.float64), kf)


def clip_by_id(clips: Sequence[Clip], clip_id: str) -> Clip:
    """The clip of ``clips`` with id ``clip_id``."""
    found = next((c for c in clips if c.clip_id == clip_id), None)
    if found is None:
        raise KeyError(f"clip {clip_id!r} is not among the {len(clips)} clips")
    return found


def typical_and_worst(keys: pd.DataFrame) -> tuple[str, str]:
    """Clip ids of a typical clip (the first with the median apex error, the lower median for an
    even count) and of the clip with the largest apex error (the first of ties), from
    :func:`stag.preprocess.pipeline.keyframe_table`."""
    if keys.empty:
        raise ValueError("typical_and_worst: empty keyframe table")
    errors = np.sort(keys["apex_error"].to_numpy())
    median = errors[(len(errors) - 1) // 2]
    typical = keys.loc[keys["apex_error"] == median, "clip_id"].iloc[0]
    return str(typical), str(keys.loc[keys["apex_error"].idxmax(), "clip_id"])


def _active(clip: Clip, frame: int, share: float = 0.05) -> list[str]:
    """Distractors under way at ``frame`` (profile above ``share`` of its peak)."""
    out = []
    for name in DISTRACTORS:
        prof = np.asarray(clip.truth.get(name, ()), dtype=float)
        if len(prof) > frame and prof.max() > 0 and prof[frame] > share * prof.max():
            out.append(name)
    return out


def _during(names: list[str]) -> str:
    return " and ".join(_DISTRACTOR_NAMES[n] for n in names)


def spotting_explanation(trace: SpottingTrace, clip: Clip) -> str:
    """Why the apex of ``clip`` was spotted where it was, in a sentence or two worded from its
    :class:`SpottingTrace` and its ground truth (true phases, blink and macro-movement profiles)."""
    onset, apex, offset = int(clip.onset or 0), int(clip.apex), int(clip.offset if clip.offset is not None else
                                                                       len(trace.smoothed) - 1)
    spotted = int(trace.keyframes.apex)
    s, line, used = trace.smoothed, trace.trend, trace.used
    gap = abs(spotted - apex)
    head = (f"In `{clip.clip_id}` the spotted apex is frame {spotted}, {gap} frame{'' if gap == 1 else 's'} from the "
            f"true apex (frame {apex})")
    at_spot = _active(clip, spotted)
    spot_note = f", while {_during(at_spot)} is under way" if at_spot else ""
    if gap <= 2:
        return head + f": the detrended curve peaks within the expression{spot_note}."
    if used[apex] <= 0:
        at_offset = _active(clip, offset)
        cause = f" because {_during(at_offset)} is under way there" if at_offset else ""
        inside = used[onset:offset + 1]
        return (head + f". The smoothed motion at the true apex is {s[apex]:.3f} px, but the motion at the annotated "
                f"offset (frame {offset}) is {s[offset]:.3f} px{cause}, so the onset-to-offset line that detrending "
                f"subtracts passes {line[apex]:.3f} px at the true apex, above the curve: the detrended curve is zero "
                f"on {np.mean(inside <= 0):.0%} of the frames from onset to offset, and the apex is spotted at the "
                f"largest value left{spot_note}.")
    amp = max(clip.truth.get("au_intensity", {}).values(), default=float("nan"))
    reason = (f"{_during(at_spot)} moves the face more than the expression" if at_spot else
              f"the expression is weak (largest true AU displacement {amp:.2f} px) and noise or head motion "
              "outweighs it")
    return (head + f". After detrending, the motion at the spotted apex is {used[spotted]:.3f} px against "
            f"{used[apex]:.3f} px at the true apex: {reason}.")


def distractor_inside(keys: pd.DataFrame, clips: Sequence[Clip]) -> np.ndarray:
    """``(len(keys),)`` bool: a blink or macro-movement is under way somewhere between the true
    onset and offset of each clip of ``keys`` (:func:`stag.preprocess.pipeline.keyframe_table`)."""
    by_id = {c.clip_id: c for c in clips}
    return np.array([any(np.asarray(by_id[r.clip_id].truth.get(n, [0.0]), float)[int(r.onset):int(r.offset) + 1]
                         .max(initial=0) > 0 for n in DISTRACTORS) for r in keys.itertuples()], dtype=bool)


def spotting_error_table(keys: pd.DataFrame, clips: Sequence[Clip], groups: int = 4) -> pd.DataFrame:
    """Apex error by strength of the expression: clips of ``keys`` in ``groups`` quantile bins of
    their largest true AU displacement (px), with the mean and median apex error, the share
    within 2 frames and the share with a blink or macro-movement between onset and offset
    (:func:`distractor_inside`)."""
    by_id = {c.clip_id: c for c in clips}
    df = pd.DataFrame({"apex_error": keys["apex_error"].to_numpy(),
                       "au_px": [max(by_id[c].truth["au_intensity"].values(), default=0.0) for c in keys["clip_id"]],
                       "distractor": distractor_inside(keys, clips)})
    df["AU displacement (px)"] = pd.qcut(df["au_px"], groups, precision=2)
    return df.groupby("AU displacement (px)", observed=True).agg(
        clips=("apex_error", "size"), apex_error_mean=("apex_error", "mean"),
        apex_error_median=("apex_error", "median"), within_2=("apex_error", lambda e: (e <= 2).mean()),
        with_distractor=("distractor", "mean"))


def spotting_findings(keys: pd.DataFrame, clips: Sequence[Clip], threshold: float = 2) -> str:
    """Where spotting fails over the whole table, in two sentences: the mean apex error of the
    weakest and strongest quarter of expressions (:func:`spotting_error_table`), and how often a
    blink or macro-movement falls inside the expression of the clips whose apex error exceeds
    ``threshold`` frames, against the others."""
    table = spotting_error_table(keys, clips)
    weak, strong = table.iloc[0], table.iloc[-1]
    inside = distractor_inside(keys, clips)
    large = keys["apex_error"].to_numpy() > threshold
    verb = "grows" if weak.apex_error_mean > strong.apex_error_mean else "does not grow"
    share_large = inside[large].mean() if large.any() else float("nan")
    share_other = inside[~large].mean() if (~large).any() else float("nan")
    return (f"Over the {len(keys)} clips, the apex error {verb} as the expression weakens: "
            f"{weak.apex_error_mean:.1f} frames on average for the quarter with the weakest AU movement "
            f"({table.index[0]} px), {strong.apex_error_mean:.1f} for the strongest ({table.index[-1]} px). "
            f"A blink or macro-movement falls between onset and offset in {share_large:.0%} of the "
            f"{int(large.sum())} clips whose apex error exceeds {threshold:g} frames, against {share_other:.0%} "
            f"of the others.")


def chapter_findings(*, n_clips: int, n_frames: int, seconds: float, jobs: int, dlib: pd.DataFrame,
                     baseline: BaselineResult, keys: pd.DataFrame, magnitudes: pd.DataFrame,
                     clips: Sequence[Clip]) -> str:
    """The data chapter's closing bullets (Markdown), each worded from the chapter's own results:
    generation, :func:`dlib_findings`, :func:`baseline_sentence`, :func:`keyframe_findings` and
    :func:`spotting_findings`."""
    return "\n".join([
        f"- The generator rendered {n_clips} clips ({n_frames} frames) in {seconds:.0f} s with {jobs} job(s); "
        "every clip is a pure function of its seed, so the set is the same on every run.",
        f"- The real face pipeline accepts the rendered faces: {dlib_findings(dlib)}",
        "- The apex-onset difference is invisible without magnification, as in real micro-expressions; "
        "magnified, it lines up with the true displacement.",
        f"- {baseline_sentence(baseline, n_clips)}",
        keyframe_findings(keys, magnitudes),
        f"- {spotting_findings(keys, clips)}",
    ])
