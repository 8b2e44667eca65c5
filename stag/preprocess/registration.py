"""Registration of precomputed flow images to the face images their ROIs are placed on.

A composite copy ships flow images and, separately, face images (the MEGC2019 composite's
apex faces; the two-phase copy has none and borrows the first copy's). STAG places its 16 ROIs
from dlib landmarks on the face, so the face and the flow must show the face in the same place.
Nothing in the files says they do, and on the public copies they do not (``stag data audit``):
the first copy's SAMM flows sit 5 px of 28 above their own apex faces, and the two-phase copy's
CASME II and SMIC flows 2-3 px below them, at another scale.

The registration is measured, not assumed. Both images show the eyes: the faces through dlib,
the flows as the two strongest blobs of mean optical strain (eyelids move in most clips, and
blinks are kept in micro-expression clips). Per source dataset (one crop geometry per dataset;
within a dataset the faces' eye positions vary by 0.25-0.5 px of 28 from clip to clip, less
than a single strain map can locate), the similarity without rotation that maps the flows'
mean eye centres onto the faces' mean eye centres is fitted (:func:`fit_registration`). No
class label is read. Then every clip's landmarks are mapped from the face into the flow and
its ROIs redrawn there (:func:`register_prepared`); the flows themselves are not resampled,
so a model that reads no ROIs sees exactly what it saw before.

Coordinates are fractions of the image side (0..1, x right, y down, pixel ``i`` spanning
``[i, i + 1)`` before division), so one transform serves every output size.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, replace

import cv2
import numpy as np

from stag.data.annotations import DataError
from stag.faces import LEFT_EYE, RIGHT_EYE
from stag.preprocess.rois import roi_boxes

#: Landmark sources (``Prepared.truth["landmarks_from"]``) that come from a separate face image
#: and are therefore registered: dlib on the face, and the fallback for clips where dlib finds
#: no face (then the source dataset's mean dlib landmarks are used, registered like the rest).
REGISTERED_SOURCES: tuple[str, ...] = ("dlib", "template", "dataset mean")
#: Fewest clips with a detected face a source dataset needs before its eyes are located.
MIN_FACES = 20
#: What a fitted registration must satisfy, or the data fail the check (:class:`RegistrationError`):
#: the strain blobs stand out (contrast in robust standard deviations of the map), the eyes
#: are level and a plausible distance apart, and the scale and shift are plausible.
MIN_EYE_CONTRAST = 3.0
MAX_EYE_TILT = 0.08
EYE_SEPARATION = (0.2, 0.8)
SCALE_RANGE = (0.6, 1.6)
MAX_SHIFT = 0.35


class RegistrationError(DataError):
    """A copy's flows cannot be registered to its faces (names the data and the failed check)."""


@dataclass(frozen=True)
class Similarity:
    """``face = scale * (flow - 0.5) + 0.5 + (dx, dy)``: flow coordinates to face coordinates,
    both as fractions of the image side (the identity: ``scale=1, dx=dy=0``)."""

    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    def apply(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` flow points (fractions) -> face points."""
        return self.scale * (np.asarray(points, np.float64) - 0.5) + 0.5 + np.array([self.dx, self.dy])

    def inverse(self) -> Similarity:
        """The face -> flow transform."""
        return Similarity(1.0 / self.scale, -self.dx / self.scale, -self.dy / self.scale)

    def then(self, other: Similarity) -> Similarity:
        """``other`` after ``self`` (``other.apply(self.apply(p))``)."""
        return Similarity(self.scale * other.scale, other.scale * self.dx + other.dx,
                          other.scale * self.dy + other.dy)

    @property
    def is_identity(self) -> bool:
        return self.scale == 1.0 and self.dx == 0.0 and self.dy == 0.0

    def describe(self, side: int = 28) -> str:
        """``scale 0.97, shift (+0.6, +5.2) px of 28``."""
        return f"scale {self.scale:.2f}, shift ({self.dx * side:+.1f}, {self.dy * side:+.1f}) px of {side}"

    def to_dict(self) -> dict:
        return {k: round(float(v), 6) for k, v in asdict(self).items()}


IDENTITY = Similarity()


@dataclass(frozen=True)
class Eyes:
    """Right and left eye centres (image left and image right) as ``(x, y)`` fractions of the
    side, and how clearly they were found (``contrast``: robust standard deviations; ``inf``
    for landmarks)."""

    right: tuple[float, float]
    left: tuple[float, float]
    contrast: float = float("inf")

    @property
    def centre(self) -> np.ndarray:
        return (np.asarray(self.right) + np.asarray(self.left)) / 2

    @property
    def separation(self) -> float:
        return float(np.linalg.norm(np.asarray(self.left) - np.asarray(self.right)))

    @property
    def tilt(self) -> float:
        return abs(self.left[1] - self.right[1])

    def to_dict(self) -> dict:
        return {"right": [round(float(v), 5) for v in self.right], "left": [round(float(v), 5) for v in self.left],
                "contrast": None if not np.isfinite(self.contrast) else round(float(self.contrast), 3)}


def flow_eyes(strain: np.ndarray) -> Eyes:
    """The two eye blobs of a mean strain map.

    Args:
        strain: ``(H, W)`` mean optical strain over many clips of one copy and source dataset
            (any units: only its shape is read).

    Returns:
        :class:`Eyes`: each eye is the centroid of the strain above the 90th percentile in its
        half of the band from 5 % to 65 % of the height (smoothed at 1/28 of the side first);
        ``contrast`` is the mean of the two peaks above the map's median, in units of its median
        absolute deviation.
    """
    m = np.asarray(strain, np.float64)
    if m.ndim != 2 or min(m.shape) < 8:
        raise ValueError(f"strain: expected an (H, W) map of at least 8 x 8, got shape {m.shape}")
    h, w = m.shape
    m = cv2.GaussianBlur(m, (0, 0), max(w / 28.0, 0.5))
    rows = slice(int(round(0.05 * h)), int(round(0.65 * h)))
    found, peaks = [], []
    for cols in (slice(int(round(0.05 * w)), w // 2), slice(w // 2, int(round(0.95 * w)))):
        sub = m[rows, cols]
        weight = np.clip(sub - np.percentile(sub, 90), 0, None)
        if weight.sum() <= 0:
            weight = np.ones_like(sub)
        yy, xx = np.mgrid[rows, cols]
        found.append((float((weight * (xx + 0.5)).sum() / weight.sum() / w),
                      float((weight * (yy + 0.5)).sum() / weight.sum() / h)))
        peaks.append(sub.max())
    med = np.median(m)
    mad = np.median(np.abs(m - med)) * 1.4826
    contrast = float((np.mean(peaks) - med) / mad) if mad > 0 else 0.0
    return Eyes(found[0], found[1], contrast)


def face_eyes(landmarks: np.ndarray, side: float) -> Eyes:
    """Mean eye centres of ``(n, 68, 2)`` (or ``(68, 2)``) landmarks in pixels of a ``side``
    image, as fractions of the side."""
    lm = np.asarray(landmarks, np.float64).reshape(-1, 68, 2) / side
    return Eyes(tuple(lm[:, RIGHT_EYE].mean(axis=(0, 1))), tuple(lm[:, LEFT_EYE].mean(axis=(0, 1))))


def fit_similarity(flow: Eyes, face: Eyes) -> Similarity:
    """The similarity without rotation that maps ``flow``'s eye centres onto ``face``'s (the
    scale from the separations, the shift from the midpoints): exact for two points."""
    scale = face.separation / flow.separation
    shift = face.centre - (scale * (flow.centre - 0.5) + 0.5)
    return Similarity(float(scale), float(shift[0]), float(shift[1]))


def check_fit(where: str, flow: Eyes, transform: Similarity) -> None:
    """Raise :class:`RegistrationError` naming ``where`` and the failed check when the eyes of the
    flows are not clear or the transform is implausible (module constants)."""
    problems = []
    if not flow.contrast >= MIN_EYE_CONTRAST:
        problems.append(f"the eyes do not stand out in the mean strain (contrast {flow.contrast:.1f}; "
                        f"expected >= {MIN_EYE_CONTRAST})")
    if flow.tilt > MAX_EYE_TILT:
        problems.append(f"the two strain blobs are not level (height difference {flow.tilt:.2f} of the side; "
                        f"expected <= {MAX_EYE_TILT})")
    if not EYE_SEPARATION[0] <= flow.separation <= EYE_SEPARATION[1]:
        problems.append(f"the strain blobs are {flow.separation:.2f} of the side apart (expected "
                        f"{EYE_SEPARATION[0]}-{EYE_SEPARATION[1]})")
    if not SCALE_RANGE[0] <= transform.scale <= SCALE_RANGE[1] or max(abs(transform.dx), abs(transform.dy)) > MAX_SHIFT:
        problems.append(f"the fitted transform ({transform.describe()}) is outside scale {SCALE_RANGE} / "
                        f"shift <= {MAX_SHIFT} of the side")
    if problems:
        raise RegistrationError(f"registration of {where}: " + "; ".join(problems)
                                + ". Check the channel order and the faces (`stag data audit`), or train on the "
                                  "stored alignment with registration='none' (--registration none)")


@dataclass
class Registration:
    """Per source dataset: the flow -> face transform and its evidence.

    Attributes:
        transforms: dataset -> :class:`Similarity` (flow to face).
        evidence: dataset -> ``{"flow_eyes", "face_eyes", "faces", "clips"}`` (what was fitted on).
        skipped: dataset -> why it was left as stored (too few faces).
    """

    transforms: dict[str, Similarity] = field(default_factory=dict)
    evidence: dict[str, dict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"method": "eyes", "transforms": {d: t.to_dict() for d, t in self.transforms.items()},
                "evidence": self.evidence, "skipped": self.skipped}

    @classmethod
    def from_dict(cls, d: dict) -> Registration:
        return cls({k: Similarity(**v) for k, v in (d.get("transforms") or {}).items()}, dict(d.get("evidence") or {}),
                   dict(d.get("skipped") or {}))


def _registrable(p) -> bool:
    """Landmarks from a separate face image, not registered yet."""
    truth = p.truth or {}
    return truth.get("landmarks_from") in REGISTERED_SOURCES and "registration" not in truth


def mean_strain(prepared, channel: int = 2) -> np.ndarray:
    """``(H, W)`` mean of the strain channel over every real keyframe of ``prepared``."""
    maps = [p.flows[k, channel] for p in prepared for k in np.flatnonzero(p.key_mask)]
    return np.mean(maps, axis=0)


def fit_registration(prepared, where: str = "the flows", *, check: bool = True) -> Registration:
    """Fit one flow -> face :class:`Similarity` per source dataset of ``prepared``.

    Only clips whose ROI landmarks come from a separate face image (:data:`REGISTERED_SOURCES`)
    take part; a dataset with fewer than :data:`MIN_FACES` dlib faces is left as stored, with a
    warning and a note in ``skipped``.

    Args:
        prepared: :class:`~stag.preprocess.prepared.Prepared` clips (flows with a strain channel).
        where: what the clips are, for messages (e.g. the flow folder).
        check: raise :class:`RegistrationError` when a fit fails :func:`check_fit`.
    """
    reg = Registration()
    by_dataset: dict[str, list] = {}
    for p in prepared:
        if _registrable(p):
            by_dataset.setdefault(p.dataset, []).append(p)
    for ds, clips in sorted(by_dataset.items()):
        faces = [p for p in clips if p.truth.get("landmarks_from") == "dlib"]
        if len(faces) < MIN_FACES:
            reg.skipped[ds] = (f"{len(faces)} clips with a dlib face; {MIN_FACES} are needed to locate the eyes, "
                               f"so its ROIs stay as stored")
            warnings.warn(f"registration of {ds} in {where}: {reg.skipped[ds]}", stacklevel=2)
            continue
        side = clips[0].flows.shape[-1]
        fe = flow_eyes(mean_strain(clips))
        le = face_eyes(np.stack([p.landmarks for p in faces]), side)
        t = fit_similarity(fe, le)
        if check:
            check_fit(f"{ds} in {where}", fe, t)
        reg.transforms[ds] = t
        reg.evidence[ds] = {"flow_eyes": fe.to_dict(), "face_eyes": le.to_dict(), "faces": len(faces),
                            "clips": len(clips)}
    return reg


def register_prepared(prepared, registration: Registration) -> list:
    """``prepared`` with each registrable clip's landmarks moved from its face into its flow
    and its ROIs redrawn there (:func:`~stag.preprocess.rois.roi_boxes`); ``truth`` records the
    transform (``registration``) and the face-frame landmarks (``face_landmarks``). A clip whose
    face had no dlib landmarks gets its dataset's mean dlib landmarks (``landmarks_from`` =
    ``"dataset mean"``). Other clips are returned unchanged."""
    means: dict[str, np.ndarray] = {}
    for p in prepared:
        if _registrable(p) and p.truth.get("landmarks_from") == "dlib":
            means.setdefault(p.dataset, []).append(p.landmarks / p.flows.shape[-1])
    means = {d: np.mean(v, axis=0) for d, v in means.items()}
    out = []
    for p in prepared:
        t = registration.transforms.get(p.dataset)
        if t is None or not _registrable(p):
            out.append(p)
            continue
        side = p.flows.shape[-1]
        truth = dict(p.truth)
        face_lm = p.landmarks / side
        if truth.get("landmarks_from") != "dlib" and p.dataset in means:
            face_lm, truth["landmarks_from"] = means[p.dataset], "dataset mean"
        lm = (t.inverse().apply(face_lm) * side).astype(np.float32)
        truth.update(registration=t.to_dict(), face_landmarks=(face_lm * side).astype(np.float32))
        out.append(replace(p, landmarks=lm, rois=roi_boxes(lm, side), truth=truth))
    return out


def to_face_frame(image: np.ndarray, transform: Similarity) -> np.ndarray:
    """Resample an ``(H, W)`` (or ``(C, H, W)``) flow image into its face's frame (bilinear, edges
    replicated): the pixel at face point ``q`` takes the flow's value at ``transform^-1(q)``.
    For figures and cross-copy comparisons; training never resamples the flows."""
    img = np.asarray(image, np.float32)
    if img.ndim == 3:
        return np.stack([to_face_frame(c, transform) for c in img])
    h, w = img.shape
    s = transform.scale
    # In pixel-centre coordinates (OpenCV's): x_face = s * (x + 0.5 - w/2) + w/2 + dx*w - 0.5.
    m = np.array([[s, 0, s * (0.5 - w / 2) + w / 2 + transform.dx * w - 0.5],
                  [0, s, s * (0.5 - h / 2) + h / 2 + transform.dy * h - 0.5]], np.float64)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
