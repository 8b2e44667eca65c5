"""From a :class:`~stag.data.Clip` to a model-ready :class:`~stag.preprocess.prepared.Prepared`.

``prepare_clip`` chains the pure steps (align -> magnitude curve -> keyframes -> flow stack ->
ROIs); ``prepare_dataset`` runs it over a :class:`~stag.data.ClipSet` in worker processes with
the on-disk cache of :mod:`stag.preprocess.cache`.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from stag.preprocess.cache import PrepareCache, clip_key
from stag.preprocess.composite import COMPOSITE_SIZE, composite_phases
from stag.preprocess.face import (align_clip, apply_similarity, canonical_landmarks, face_mask, find_face,
                                  landmark_error, load_face_model, to_grey)
from stag.preprocess.flow import (DEFAULT_FLOW, FLOW_METHODS, flow_channels, flow_magnitude, flow_stack,
                                  normalise_stack, optical_strain, resize_stack)
from stag.preprocess.keyframes import (APEX_SOURCES, MAGNITUDE_METHODS, SELECTION_STRATEGIES, keyframe_scores,
                                       motion_magnitude, select_keyframes)
from stag.preprocess.prepared import FLOW_CHANNELS, Prepared
from stag.preprocess.registration import fit_registration, register_prepared
from stag.preprocess.rois import roi_boxes
from stag.threads import configure_process


#: What a clip with frames is turned into (:attr:`PrepareConfig.representation`).
REPRESENTATIONS: tuple[str, ...] = ("frames", "composite")
#: How precomputed flows are registered to their faces (:attr:`PrepareConfig.registration`).
REGISTRATIONS: tuple[str, ...] = ("eyes", "none")
#: PrepareConfig fields applied after the per-clip cache (not part of its key).
UNCACHED_FIELDS: tuple[str, ...] = ("registration",)
#: Fields added after runs were recorded, with the value those records were made with
#: (:meth:`PrepareConfig.from_record`).
RECORDED_DEFAULTS: dict[str, object] = {"registration": "none"}


@dataclass(frozen=True)
class PrepareConfig:
    """Every preprocessing parameter (all of them enter the cache key).

    Attributes:
        image_size: side of the aligned face crop, pixels.
        output_size: side of the final flow stack (``None`` = ``image_size``). The stack is
            area-resampled; ``u``, ``v`` (and ``magnitude``) are multiplied by
            ``output_size / image_size`` so they stay in output pixels; ROIs and landmarks are scaled too.
        keyframes: K, the number of keyframes (``1`` = onset-apex flow only).
        flow_method: preset of :data:`stag.preprocess.flow.FLOW_PRESETS`. The default,
            :data:`stag.preprocess.flow.DEFAULT_FLOW` (tuned DIS), had a lower end-point error than
            TV-L1 on the synthetic ground truth at over ten times the speed (``stag bench flow``,
            chapter 02).
        channels: 2..4 channels of :data:`FLOW_CHANNELS` (3 = u, v, strain; 4 adds magnitude).
        strain_sigma: Gaussian smoothing (px) of the flow before its strain is taken.
        magnitude_method: ``"flow"`` (fast DIS flow on every frame, global head motion removed)
            or ``"intensity"`` (grey-level difference to onset: cheaper, but head drift
            doubles the apex error on the synthetic set).
        smoothing: Gaussian sigma (frames) of the magnitude curve.
        selection: keyframe strategy (``cumulative``, ``top``, ``uniform``).
        apex: ``"spotted"`` (the default): the apex keyframe is the frame of largest motion
            between the annotated onset and offset; ``"annotated"``: the dataset's apex frame,
            as apex-based methods read it (wrong when the annotation is; see
            :func:`stag.data.apex_annotation.perturb_apex`).
        search: ``"annotated"`` searches the apex between the annotated onset and offset (as
            the datasets provide them); ``"clip"`` from the onset (or frame 0) to the last frame.
        align: similarity-align faces to the canonical template (else just resize the frame).
        landmarks: ``"detect"`` (dlib on the onset frame) or ``"given"`` (the clip's own
            landmarks when it has them, e.g. synthetic ground truth; detect otherwise).
        normalise: flow normalisation, see :func:`stag.preprocess.flow.normalise_stack`.
        representation: what a clip with frames becomes: ``"frames"`` (the default: onset ->
            keyframe flows in pixels) or ``"composite"``, the MEGC2019 composite's flow images
            (:mod:`stag.preprocess.composite`: ``keyframes`` = 1 or 2 phases, onset->apex and
            apex->offset, each channel min-max scaled to 8 bits and down-sampled to 28x28), then
            read like the composite's own files. For synthetic pretraining of composite models.
        extra_channels: keep a provider's flow channels after u, v, strain (the two-phase
            copy's direction maps, ``megc2019_phases -p directions true``) after the
            ``channels`` chosen; needs ``channels=3``.
        registration: where the ROIs of precomputed flows go when their landmarks come from a
            separate face image (the composites' apex faces): ``"eyes"`` (the default) fits,
            per source dataset, the transform that puts the flows' eyes on the faces' eyes and
            draws the ROIs through it (:mod:`stag.preprocess.registration`); ``"none"`` places
            them as if flow and face were aligned (every run recorded before the registration
            existed). No effect on clips whose flows are computed here from frames. Applied
            after the per-clip cache, so it is not part of the cache key.
    """

    image_size: int = 128
    output_size: int | None = None
    keyframes: int = 8
    flow_method: str = DEFAULT_FLOW
    channels: int = 3
    strain_sigma: float = 2.0
    magnitude_method: str = "flow"
    smoothing: float = 2.0
    selection: str = "cumulative"
    apex: str = "spotted"
    search: str = "annotated"
    align: bool = True
    landmarks: str = "detect"
    normalise: str = "none"
    representation: str = "frames"
    extra_channels: bool = False
    registration: str = "eyes"

    def __post_init__(self) -> None:
        def bad(name, expected):
            raise ValueError(f"PrepareConfig.{name}={getattr(self, name)!r}: expected {expected}")

        if not isinstance(self.image_size, int) or self.image_size < 16:
            bad("image_size", "an int >= 16")
        if self.output_size is not None and (not isinstance(self.output_size, int) or self.output_size < 4):
            bad("output_size", "None or an int >= 4")
        if not isinstance(self.keyframes, int) or self.keyframes < 1:
            bad("keyframes", "an int >= 1")
        if self.flow_method not in FLOW_METHODS:
            bad("flow_method", f"one of {FLOW_METHODS}")
        if self.channels not in (2, 3, 4):
            bad("channels", f"2, 3 or 4 (of {FLOW_CHANNELS})")
        if self.magnitude_method not in MAGNITUDE_METHODS:
            bad("magnitude_method", f"one of {MAGNITUDE_METHODS}")
        if not self.strain_sigma >= 0:
            bad("strain_sigma", "a sigma >= 0 (pixels)")
        if not self.smoothing >= 0:
            bad("smoothing", "a sigma >= 0 (frames)")
        if self.selection not in SELECTION_STRATEGIES:
            bad("selection", f"one of {SELECTION_STRATEGIES}")
        if self.apex not in APEX_SOURCES:
            bad("apex", "'spotted' (largest motion) or 'annotated' (the dataset's apex frame)")
        if self.search not in ("annotated", "clip"):
            bad("search", "'annotated' or 'clip'")
        if self.landmarks not in ("detect", "given"):
            bad("landmarks", "'detect' or 'given'")
        if self.normalise not in ("none", "std", "clip"):
            bad("normalise", "'none', 'std' or 'clip'")
        if self.representation not in REPRESENTATIONS:
            bad("representation", f"one of {REPRESENTATIONS}")
        if self.representation == "composite" and self.keyframes not in (1, 2):
            bad("keyframes", "1 or 2 with representation='composite' (its phases: onset->apex, apex->offset)")
        if self.extra_channels and self.channels != 3:
            bad("extra_channels", "False unless channels=3 (the provider's channels follow u, v, strain)")
        if self.registration not in REGISTRATIONS:
            bad("registration", f"one of {REGISTRATIONS} (fit flows to faces by the eyes, or leave them as stored)")

    @property
    def out_size(self) -> int:
        return self.output_size or self.image_size

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PrepareConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"PrepareConfig: unknown parameters {unknown}; expected some of {sorted(names)}")
        return cls(**d)

    @classmethod
    def from_record(cls, d: dict) -> PrepareConfig:
        """The configuration a recorded run (its ``results.json`` ``data.prepare``) was made with:
        a field added after the record was written takes the value that reproduces it
        (:data:`RECORDED_DEFAULTS`), not today's default."""
        return cls.from_dict({**RECORDED_DEFAULTS, **d})


# ---------------------------------------------------------------------------- helpers
def resample_truth(truth: dict, m: np.ndarray | None, size: int, out: int, src_shape) -> dict:
    """Bring synthetic ground truth into the aligned (and resized) frame.

    ``au_masks`` (A, H, W) bool are warped with nearest neighbour; ``apex_flow`` (H, W, 2) is
    warped spatially and its vectors are rotated/scaled by the similarity, then scaled by
    ``out / size``. ``m`` is the ``(2, 3)`` similarity of the alignment (``None``: plain resize
    of a ``src_shape`` frame to ``size``); also used by ``stag bench flow``.
    """
    res: dict = {}
    for k in ("au_ids", "au_intensity", "intensity"):
        if k in truth:
            v = truth[k]
            res[k] = tuple(int(a) for a in v) if k == "au_ids" else (
                {int(a): float(b) for a, b in v.items()} if k == "au_intensity" else np.asarray(v, np.float32))
    h, w = src_shape
    if m is None:  # plain resize
        m = np.array([[size / w, 0, 0], [0, size / h, 0]], dtype=np.float64)
    scale = out / size
    if "au_masks" in truth and truth["au_masks"] is not None:
        masks = np.asarray(truth["au_masks"]).astype(np.uint8)
        warped = [cv2.warpAffine(mk, m, (size, size), flags=cv2.INTER_NEAREST) for mk in masks]
        if out != size:
            warped = [cv2.resize(mk, (out, out), interpolation=cv2.INTER_NEAREST) for mk in warped]
        res["au_masks"] = np.stack(warped).astype(bool) if warped else np.zeros((0, out, out), bool)
    if "apex_flow" in truth and truth["apex_flow"] is not None:
        f = np.asarray(truth["apex_flow"], np.float32)
        vec = f @ m[:, :2].T.astype(np.float32)
        uv = np.stack([cv2.warpAffine(np.ascontiguousarray(vec[..., c]), m, (size, size), flags=cv2.INTER_LINEAR)
                       for c in range(2)], -1)
        if out != size:
            uv = np.stack([cv2.resize(uv[..., c], (out, out), interpolation=cv2.INTER_AREA) for c in range(2)], -1)
            uv *= scale
        res["apex_flow"] = uv.astype(np.float32)
    return res


def _frames_path(clip, cfg: PrepareConfig, face_model):
    """Aligned grey frames ``(T, S, S)``, aligned onset landmarks, transform, detected image landmarks."""
    frames = clip.load_frames()
    if frames.ndim not in (3, 4) or len(frames) < 2:
        raise ValueError(f"clip {clip.clip_id!r}: expected (T>=2, H, W[, 3]) frames, got {frames.shape}")
    onset = int(clip.onset or 0)
    given = None
    if cfg.landmarks == "given" and clip.landmarks is not None:
        given = np.asarray(clip.landmarks)[onset]
    size = cfg.image_size
    if cfg.align:
        al = align_clip(frames, onset, size=size, clip_id=clip.clip_id, face_model=face_model, landmarks=given)
        return frames, al.frames, al.landmarks, al.transform, al.image_landmarks

    grey = to_grey(frames)
    h, w = grey.shape[1:]
    m = np.array([[size / w, 0, 0], [0, size / h, 0]], dtype=np.float64)
    resized = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in grey])
    if given is not None:
        return frames, resized, apply_similarity(m, given).astype(np.float32), m, given
    return frames, resized, canonical_landmarks(size), m, None


def prepare_clip(clip, cfg: PrepareConfig | None = None, face_model=None) -> Prepared:
    """Preprocess one clip.

    Clips with frames: align on the onset face, compute the magnitude curve relative to the
    onset, choose ``cfg.keyframes`` keyframes, compute onset->keyframe flow only for those, and
    place the ROIs from the aligned onset landmarks.

    Clips with precomputed ``flows`` (e.g. MEGC2019 onset-apex flow, K = 1; any frames are then
    only the apex face): keep their K, take or derive the channels (strain and magnitude from
    u, v), resize to ``cfg.out_size`` *keeping the values* (their units are the provider's:
    MEGC2019 peers min-max normalised each channel), and place ROIs from, in order: the clip's
    landmarks (apex row, in the flow's pixels), dlib landmarks on the apex face (frames or
    ``truth["apex_face"]``, scaled from the face's size to the flow's), or the canonical
    aligned-face template when there is no face or dlib finds none.

    For synthetic clips ``Prepared.truth`` also holds the ground truth in the aligned frame
    (``au_masks``, ``apex_flow``, ``au_ids``, ``au_intensity``), the true ``onset/apex/offset``,
    and how well preprocessing found them (``spotted_apex``, ``spotted_interval``,
    ``magnitude_curve``, ``landmark_error_px`` and ``landmark_nme`` of the detected onset landmarks).
    """
    cfg = cfg or PrepareConfig()
    if clip.flows is not None:
        return _prepare_flows(clip, cfg, face_model)
    if not clip.has_frames:
        raise ValueError(f"clip {clip.clip_id!r} has neither frames nor flows (source: {clip.source or '?'})")
    raw, aligned, lm, m, image_lm = _frames_path(clip, cfg, face_model)
    onset = int(clip.onset or 0)
    offset = clip.offset if (cfg.search == "annotated" and clip.offset is not None) else None
    if cfg.representation == "composite":
        return _prepare_composite(clip, cfg, aligned, lm, onset, offset)

    curve = motion_magnitude(aligned, onset, cfg.magnitude_method, mask=face_mask(lm, cfg.image_size))
    apex = None
    if cfg.apex == "annotated":
        if clip.apex is None:
            raise ValueError(f"clip {clip.clip_id!r} has no annotated apex; PrepareConfig.apex='annotated' needs one "
                             "(use apex='spotted')")
        apex = int(clip.apex)
    kf = select_keyframes(curve, cfg.keyframes, onset, offset, strategy=cfg.selection, smoothing=cfg.smoothing,
                          apex=apex)
    keys = kf.indices[kf.mask]
    stack = np.zeros((cfg.keyframes, cfg.channels, cfg.image_size, cfg.image_size), dtype=np.float32)
    stack[:len(keys)] = flow_stack(aligned[onset], aligned[keys], method=cfg.flow_method, channels=cfg.channels,
                                   strain_sigma=cfg.strain_sigma)
    stack = normalise_stack(stack, cfg.normalise)
    out = cfg.out_size
    scale = out / cfg.image_size
    if out != cfg.image_size:
        stack = resize_stack(stack, out)
    face = aligned[kf.apex]
    if out != cfg.image_size:
        face = cv2.resize(face, (out, out), interpolation=cv2.INTER_AREA)
    rois = roi_boxes(lm, cfg.image_size) * scale
    truth: dict = {}
    if clip.truth and ("apex_flow" in clip.truth or "au_masks" in clip.truth):  # synthetic ground truth
        truth = resample_truth(clip.truth, m, cfg.image_size, out, raw.shape[1:3])
        if clip.apex is not None:
            truth.update(onset=int(clip.onset or 0), apex=int(clip.apex),
                         offset=int(clip.offset if clip.offset is not None else len(aligned) - 1))
            truth.update(spotted_apex=int(kf.apex), spotted_interval=np.array(kf.interval, np.int64),
                         magnitude_curve=kf.curve.astype(np.float32))
            truth.update({f"keyframe_{k}": v for k, v in
                          keyframe_scores(kf, truth["onset"], truth["apex"], truth["offset"]).items()})
        if clip.landmarks is not None and image_lm is not None:
            gt = np.asarray(clip.landmarks)[int(clip.onset or 0)]
            truth["landmark_error_px"] = landmark_error(image_lm, gt, "px")
            truth["landmark_nme"] = landmark_error(image_lm, gt, "iod")
    return Prepared(clip_id=clip.clip_id, subject=clip.subject, dataset=clip.dataset, label=int(clip.label),
                    flows=stack.astype(np.float32), key_mask=kf.mask, magnitudes=kf.magnitudes,
                    key_indices=kf.indices, rois=rois.astype(np.float32), landmarks=(lm * scale).astype(np.float32),
                    face=face.astype(np.uint8), aus=tuple(clip.aus), truth=truth,
                    au_error=clip.au_error, au_coded=bool(getattr(clip, "au_coded", True)))


def _prepare_composite(clip, cfg: PrepareConfig, aligned: np.ndarray, lm: np.ndarray, onset: int,
                       offset: int | None) -> Prepared:
    """A clip with frames rendered into the composite's flow images (:mod:`stag.preprocess.composite`),
    then prepared like the composite's own files; ROIs from the aligned landmarks."""
    last = len(aligned) - 1
    if cfg.apex == "annotated":
        if clip.apex is None:
            raise ValueError(f"clip {clip.clip_id!r} has no annotated apex; PrepareConfig.apex='annotated' needs one "
                             "(use apex='spotted')")
        apex = int(clip.apex)
    else:
        curve = motion_magnitude(aligned, onset, cfg.magnitude_method, mask=face_mask(lm, cfg.image_size))
        apex = int(select_keyframes(curve, 1, onset, offset, strategy=cfg.selection, smoothing=cfg.smoothing).apex)
    end = int(offset) if offset is not None else last
    apex = min(max(apex, onset + 1), last - (cfg.keyframes == 2))  # a phase needs two distinct frames
    end = min(max(end, apex + 1), last)
    flows = composite_phases(aligned, onset, apex, end, phases=cfg.keyframes, method=cfg.flow_method,
                             strain_sigma=cfg.strain_sigma)
    rendered = replace(clip, flows=flows, frames=None, loader=None, truth={},
                       landmarks=(lm * (COMPOSITE_SIZE / cfg.image_size)).astype(np.float32))
    return _prepare_flows(rendered, cfg)


def _apex_face(clip) -> np.ndarray | None:
    """The apex face of a flow-only clip as ``(H, W)`` uint8 grey, or ``None``."""
    img = clip.truth.get("apex_face") if clip.truth else None
    if img is None and clip.has_frames:
        frames = clip.load_frames()
        img = frames[min(int(clip.apex or 0), len(frames) - 1)] if len(frames) else None
    if img is None:
        return None
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(img * (255 if img.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
    return to_grey(img[None])[0] if img.ndim == 3 else img


# Where a flow-only clip's ROI landmarks come from (``Prepared.truth["landmarks_from"]``): the
# clip's own landmarks, dlib on its apex face, or the aligned-face template when dlib finds no
# face (or there is no apex face).
LANDMARK_SOURCES: tuple[str, ...] = ("given", "dlib", "template")


def landmark_sources(prepared) -> pd.DataFrame:
    """Clips per dataset by landmark source (columns :data:`LANDMARK_SOURCES`, plus ``total``);
    clips prepared before the source was recorded count as ``unknown``."""
    rows = [(p.dataset, (p.truth or {}).get("landmarks_from", "unknown")) for p in prepared]
    table = pd.crosstab(pd.Series([r[0] for r in rows], name="dataset"),
                        pd.Series([r[1] for r in rows], name="landmarks from"))
    cols = [c for c in (*LANDMARK_SOURCES, "unknown") if c in table.columns or c in LANDMARK_SOURCES]
    table = table.reindex(columns=cols, fill_value=0)
    table["total"] = table.sum(axis=1)
    return table


def _prepare_flows(clip, cfg: PrepareConfig, face_model=None) -> Prepared:
    f = np.asarray(clip.flows, dtype=np.float32)
    if f.ndim == 3:
        f = f[None]
    if f.ndim != 4 or f.shape[1] < 2:
        raise ValueError(f"clip {clip.clip_id!r}: flows must be (K, C>=2, H, W), got {f.shape}")
    k, c, h, w = f.shape
    if h != w:  # square the stack so that one size describes it
        side = max(h, w)
        f = np.stack([[cv2.resize(ch, (side, side), interpolation=cv2.INTER_LINEAR) for ch in fk] for fk in f])
        h = w = side
    chans = []
    for kk in range(k):
        uv = np.stack([f[kk, 0], f[kk, 1]], -1)
        full = [f[kk, 0], f[kk, 1]]
        if cfg.channels >= 3:
            full.append(f[kk, 2] if c >= 3 else optical_strain(uv, cfg.strain_sigma))
        if cfg.channels >= 4:
            full.append(f[kk, 3] if c >= 4 else flow_magnitude(uv))
        chans.append(np.stack(full))
    if cfg.extra_channels and c > 3:
        chans = [np.concatenate([ck, f[kk, 3:]]) for kk, ck in enumerate(chans)]
    stack = normalise_stack(np.stack(chans).astype(np.float32), cfg.normalise)
    out = cfg.out_size
    if out != w:
        stack = resize_stack(stack, out, scale_values=False)
    # A provider's min-max scaling puts zero motion at an unknown level per image; most of a
    # face does not move, so motion is measured from each channel's median.
    uv = stack[:, :2] - np.median(stack[:, :2], axis=(2, 3), keepdims=True)
    mags = flow_magnitude(np.moveaxis(uv, 1, -1)).mean(axis=(1, 2))
    mags = (mags / mags.max() if mags.max() > 0 else np.ones(k)).astype(np.float32)
    face = _apex_face(clip)
    lm, source = None, LANDMARK_SOURCES[2]
    if clip.landmarks is not None:
        lms = np.asarray(clip.landmarks, np.float32)
        lm = lms[min(int(clip.apex or 0), len(lms) - 1)] if lms.ndim == 3 else lms
        lm, source = lm * (out / w), LANDMARK_SOURCES[0]
    elif face is not None:
        model = face_model or load_face_model()
        try:
            box = find_face(model, face, clip.clip_id, int(clip.apex or 0))
            lm = model.landmarks(face, box) * np.array([out / face.shape[1], out / face.shape[0]], np.float32)
            source = LANDMARK_SOURCES[1]
        except RuntimeError:
            lm = None  # no face found on the apex image: use the template below
    if lm is None:
        lm = canonical_landmarks(out)
    if face is not None:
        face = cv2.resize(face, (out, out), interpolation=cv2.INTER_AREA)
    idx = np.arange(k, dtype=np.int64) if k > 1 else np.array([int(clip.apex) if clip.apex is not None else 0])
    return Prepared(clip_id=clip.clip_id, subject=clip.subject, dataset=clip.dataset, label=int(clip.label),
                    flows=stack, key_mask=np.ones(k, bool), magnitudes=mags, key_indices=idx,
                    rois=roi_boxes(lm, out), landmarks=np.asarray(lm, np.float32), face=face,
                    aus=tuple(clip.aus), truth={"landmarks_from": source},
                    au_error=clip.au_error, au_coded=bool(getattr(clip, "au_coded", True)))


# ---------------------------------------------------------------------------- datasets
def _limit_threads() -> None:
    """One thread per worker: OpenCV, BLAS and torch would otherwise each spawn one per core
    (the policy of :mod:`stag.threads`; torch is not imported just for this)."""
    configure_process(1)


def _work(clip, cfg: PrepareConfig, cache_root: str | None, params: dict, force: bool = False):
    """Worker: key (loading lazy frames), cache lookup (unless ``force``), compute, save.

    Returns ``(clip_id, Prepared or None, error or None, cache_hit)``.
    """
    try:
        cache = PrepareCache(cache_root) if cache_root else None
        if cache is not None and not force and clip.fingerprint:
            hit = cache.load(clip_key(clip, params))  # no need to render or read the frames
            if hit is not None:
                return clip.clip_id, hit, None, True
        frames = clip.load_frames() if clip.has_frames and clip.frames is None else None
        if frames is not None:
            clip = _with_frames(clip, frames)
        key = clip_key(clip, params) if cache else None
        if cache is not None and not force:
            hit = cache.load(key)
            if hit is not None:
                return clip.clip_id, hit, None, True
        p = prepare_clip(clip, cfg)
        if cache is not None:
            cache.save(key, p)
        return clip.clip_id, p, None, False
    except Exception as exc:  # reported per clip; other clips go on
        return clip.clip_id, None, f"{type(exc).__name__}: {exc}", False


def _work_in_worker(*args):
    _limit_threads()
    return _work(*args)


def _with_frames(clip, frames):
    return replace(clip, frames=frames, loader=None)


def prepare_dataset(clipset, cfg: PrepareConfig | None = None, cache_dir: str | os.PathLike | None = None,
                    jobs: int = 2, progress: bool = True, force: bool = False,
                    on_error: str = "raise", stats: dict | None = None) -> list[Prepared]:
    """Preprocess every clip of ``clipset``, reusing and filling the cache.

    Args:
        clipset: a :class:`~stag.data.ClipSet` (or any sequence of clips).
        cfg: parameters (default :class:`PrepareConfig`).
        cache_dir: cache folder (entries go to ``cache_dir/prepare/``); ``None`` disables caching.
        jobs: worker processes (1 = in this process). Each worker uses one thread.
        progress: show a tqdm bar.
        force: recompute even when an entry exists (and overwrite it).
        on_error: ``"raise"``: after all other clips finished (and were cached), raise a
            RuntimeError naming every failed clip; ``"skip"``: leave them out with a warning.
        stats: if a dict is given, it receives ``hits``, ``computed``, ``failed`` (clip ids)
            and ``registration`` (:meth:`~stag.preprocess.registration.Registration.to_dict`;
            empty when nothing was registered).

    Returns:
        Prepared clips in the order of ``clipset`` (failed ones left out under ``"skip"``), with
        ``cfg.registration`` applied (:mod:`stag.preprocess.registration`).

    Raises:
        RegistrationError: ``cfg.registration="eyes"`` and the flows of a source dataset cannot be
            registered to its faces (the message names the flow folder and the failed check).
    """
    cfg = cfg or PrepareConfig()
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r}: expected 'raise' or 'skip'")
    if jobs < 1:
        raise ValueError(f"jobs={jobs}: expected >= 1")
    clips = list(clipset)
    params = {k: v for k, v in cfg.to_dict().items() if k not in UNCACHED_FIELDS}
    cache = PrepareCache(Path(cache_dir) / "prepare") if cache_dir is not None else None
    results: dict[str, Prepared] = {}
    hits, computed, failed = [], [], {}
    todo = []
    for clip in clips:
        # In-memory clips are looked up here, so a warm rerun starts no worker at all.
        keyable = clip.frames is not None or not clip.has_frames or bool(clip.fingerprint)
        if cache is not None and not force and keyable:
            p = cache.load(clip_key(clip, params))
            if p is not None:
                results[clip.clip_id] = p
                hits.append(clip.clip_id)
                continue
        todo.append(clip)
    root = str(cache.root) if cache is not None else None
    todo_args = [(c, cfg, root, params, force) for c in todo]

    def handle(res):
        cid, p, err, hit = res
        if err is not None:
            failed[cid] = err
            return
        results[cid] = p
        (hits if hit else computed).append(cid)

    bar = None
    if progress and todo:
        bar = tqdm(total=len(todo), desc=f"prepare ({jobs} job{'s' if jobs > 1 else ''})", unit="clip")
    if jobs == 1 or len(todo) <= 1:
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)  # same per-clip cost as in a worker; restored below
        try:
            for args in todo_args:
                handle(_work(*args))
                if bar is not None:
                    bar.update()
        finally:
            cv2.setNumThreads(threads)
    else:
        par = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered", batch_size=1)
        for res in par(delayed(_work_in_worker)(*args) for args in todo_args):
            handle(res)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    if stats is not None:
        stats.update(hits=hits, computed=computed, failed=dict(failed), registration={})
    if failed:
        lines = "; ".join(f"{cid}: {err}" for cid, err in failed.items())
        msg = (f"prepare: {len(failed)} of {len(clips)} clips failed ({lines}); "
               f"{len(results)} finished clips are cached and a rerun resumes")
        if on_error == "raise":
            raise RuntimeError(msg)
        warnings.warn(msg, stacklevel=2)
    prepared = [results[c.clip_id] for c in clips if c.clip_id in results]
    if cfg.registration == "eyes":
        where = (getattr(clipset, "params", None) or {}).get("flow_dir") or getattr(clipset, "name", "the flows")
        registration = fit_registration(prepared, str(where))
        if registration.transforms:
            prepared = register_prepared(prepared, registration)
            if stats is not None:
                stats["registration"] = registration.to_dict()
    return prepared


def keyframe_table(prepared: list[Prepared]):
    """One row per synthetic clip: true and spotted apex, apex error, keyframe precision,
    interval coverage, landmark error. ``pandas.DataFrame`` (empty without ground truth)."""
    rows = []
    for p in prepared:
        t = p.truth
        if "spotted_apex" not in t:
            continue
        rows.append({"clip_id": p.clip_id, "subject": p.subject, "onset": t["onset"], "apex": t["apex"],
                     "offset": t["offset"], "spotted_apex": t["spotted_apex"],
                     "apex_error": t["keyframe_apex_error"], "precision": t["keyframe_precision"],
                     "coverage": t["keyframe_coverage"], "contains_apex": t["keyframe_contains_apex"],
                     "landmark_error_px": t.get("landmark_error_px", np.nan),
                     "landmark_nme": t.get("landmark_nme", np.nan)})
    return pd.DataFrame(rows)


def compare_magnitude_methods(clips, cfg: PrepareConfig | None = None, methods=MAGNITUDE_METHODS,
                              face_model=None):
    """Apex error and cost of each keyframe-magnitude method on clips with annotated phases.

    Each clip is aligned once; then every method computes its curve and spots the apex as
    :func:`prepare_clip` would (same smoothing, search window and detrending).

    Returns:
        ``pandas.DataFrame`` with one row per (clip, method): ``apex_error`` (frames),
        ``seconds`` (time of the magnitude curve alone), ``frames``.
    """
    cfg = cfg or PrepareConfig()
    rows = []
    for clip in clips:
        if clip.apex is None:
            raise ValueError(f"clip {clip.clip_id!r} has no annotated apex to compare against")
        onset = int(clip.onset or 0)
        al = align_clip(clip.load_frames(), onset, size=cfg.image_size, clip_id=clip.clip_id, face_model=face_model)
        mask = face_mask(al.landmarks, cfg.image_size)
        offset = clip.offset if cfg.search == "annotated" else None
        for method in methods:
            start = time.perf_counter()
            curve = motion_magnitude(al.frames, onset, method, mask=mask)
            seconds = time.perf_counter() - start
            kf = select_keyframes(curve, cfg.keyframes, onset, offset, strategy=cfg.selection,
                                  smoothing=cfg.smoothing)
            rows.append({"clip_id": clip.clip_id, "method": method, "apex_error": abs(kf.apex - int(clip.apex)),
                         "seconds": seconds, "frames": len(al.frames)})
    return pd.DataFrame(rows)
