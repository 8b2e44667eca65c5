"""Explain trained folds on their held-out clips and score the explanations.

:func:`explain_clips` runs every configured attribution method on a list of
:class:`~stag.preprocess.prepared.Prepared` clips with one model and returns an
:class:`Explanation` (tables + small arrays for figures). :func:`explain_run` does it for every
fold of a :func:`stag.train.run_protocol` output folder, each fold's model on **that fold's
held-out clips only** (the ``test_clip_ids`` stored in its checkpoint), so no explanation is
computed on a clip the model was trained on.

With ``cache=True``, :func:`explain_run` keeps each fold's explanation under the run folder,
keyed like the training runs (:func:`explanation_key`), so a second caller with the same run,
data and settings (``pytest --nbmake`` after ``stag book``) loads it instead of recomputing::

    <run_dir>/explanations/<key>/explain.json           what the key was computed from
    <run_dir>/explanations/<key>/<fold>-<model>.pkl     one fold's Explanation (<model>: hash of model.pt)

Where the clip carries synthetic ground truth (``truth["au_masks"]``), each map is scored
(:mod:`stag.explain.scores`) beside two controls that use no model: a *random* map (lift ~1
by construction) and the *motion* map (the flow magnitude itself: how much any map that
follows the input motion would get).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from stag.device import resolve_device
from stag.explain import scores as S
from stag.explain.attributions import (METHODS, AttributionConfig, attribute_flows, keyframe_importance, model_details,
                                       resolve_layer, roi_layer_attribution, roi_occlusion)
from stag.explain.faithfulness import DEFAULT_FRACTIONS, pixel_curves, roi_curves
from stag.faces import ROI_NAMES
from stag.files import atomic_write, atomic_write_text
from stag.preprocess.prepared import FLOW_CHANNELS
from stag.threads import limit_threads
from stag.train.config import stable_hash
from stag.train.dataset import collate
from stag.train.run import data_fingerprint, fold_dirname, load_fold_model, pack_prepared


@dataclass(frozen=True)
class ExplainConfig:
    """What :func:`explain_clips` computes.

    Args:
        methods: pixel attribution methods, a subset of :data:`~stag.explain.attributions.METHODS`.
        target: ``"pred"`` (explain the predicted class) or ``"label"`` (the true class).
        n_steps: Integrated Gradients steps (pixel and layer IG).
        gradshap_samples: GradientShap samples per clip.
        occlusion_window, occlusion_stride: occlusion patch side and step, pixels.
        reduce: how a ``(K, C, H, W)`` attribution becomes a pixel map for the scores
            (``"positive"``, ``"absolute"``; see :func:`~stag.explain.scores.pixel_map`).
        pointing_tolerance: pointing-game tolerance, pixels.
        layer_ig: LayerIntegratedGradients on the ROI node features, when the model has a
            node-feature layer (``node_feature_layer`` or ``node_encoder``).
        roi_occlusion: region-level occlusion of each ROI box.
        faithfulness: deletion/insertion curves (pixels, and ROIs by ROI occlusion).
        fractions: pixel fractions of the curves.
        clips_per_fold: explain at most this many held-out clips per fold (evenly spread
            over the fold's clips; ``None`` = all).
        batch_size: clips per attribution batch.
        keep_attributions: keep the full ``(B, K, C, H, W)`` arrays (for saving), not only maps.
        random_state: seed of GradientShap, the random map control and the random curves.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        threads: CPU threads (torch, BLAS, OpenCV) while explaining; ``None`` leaves the
            process's setting. One by default: the attributions are thousands of small ops, and
            a second thread gained nothing on idle cores and lost up to tenfold on busy ones
            (see :mod:`stag.threads`). Not part of the cache key.
    """

    methods: tuple[str, ...] = ("ig", "gradshap", "saliency", "occlusion")
    target: str = "pred"
    n_steps: int = 32
    gradshap_samples: int = 16
    occlusion_window: int = 8
    occlusion_stride: int = 4
    reduce: str = "positive"
    pointing_tolerance: int = 1
    layer_ig: bool = True
    roi_occlusion: bool = True
    faithfulness: bool = True
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    clips_per_fold: int | None = None
    batch_size: int = 16
    keep_attributions: bool = False
    random_state: int = 0
    device: str = "auto"
    threads: int | None = 1

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"ExplainConfig.methods={self.methods!r}: expected a non-empty subset of {METHODS}")
        if self.reduce not in ("positive", "absolute"):
            raise ValueError(f"ExplainConfig.reduce={self.reduce!r}: expected 'positive' or 'absolute'")
        if self.clips_per_fold is not None and self.clips_per_fold < 1:
            raise ValueError(f"ExplainConfig.clips_per_fold={self.clips_per_fold}: expected >= 1 or None")
        if self.batch_size < 1:
            raise ValueError(f"ExplainConfig.batch_size={self.batch_size}: expected >= 1")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"ExplainConfig.threads={self.threads!r}: expected None or an integer >= 1")

    def to_dict(self) -> dict:
        """Plain values of every field (JSON-serialisable)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def attribution(self, method: str) -> AttributionConfig:
        return AttributionConfig(method=method, target=self.target, n_steps=self.n_steps,
                                 gradshap_samples=self.gradshap_samples, occlusion_window=self.occlusion_window,
                                 occlusion_stride=self.occlusion_stride, random_state=self.random_state)


@dataclass
class Explanation:
    """Explanations of a set of clips.

    Attributes:
        clips: one row per clip: ``clip_id, subject, dataset, fold, label, pred, target,
            correct, aus, area_share``.
        scores: one row per clip and method (plus the ``random`` and ``motion`` controls):
            ``inside_share, lift, lift_abs`` (absolute instead of positive attribution),
            ``lift_apex`` (the keyframe of largest magnitude only), ``lift_<channel>`` (one flow
            channel), ``pointing_hit, pointing_chance, roi_spearman``, ``delta`` (IG completeness
            error ``sum(attr) - (f(x) - f(0))``) and ``delta_rel`` (its size relative to
            ``|f(x) - f(0)|``); NaN where there is no ground truth.
        regions: long table ``clip_id, source, roi, roi_name, value`` of ROI importances per
            source (each pixel method's ROI density, ``roi_occlusion``, ``layer_ig``) and the
            ground truth (``truth``: AU intensity mapped to the ROI).
        keyframes: ``clip_id, method, k, key_index, importance, magnitude, temporal_attention``.
        curves: deletion/insertion curves ``clip_id, method, mode, order, fraction, logit, prob,
            correct`` (``method="random"`` is the random pixel order; ``unit`` pixel or roi).
        maps: method -> ``(B, H, W)`` float32 pixel maps (``reduce`` of the config), row order of ``clips``.
        faces: ``(B, H, W)`` uint8 aligned apex faces (zeros when absent).
        masks: ``(B, H, W)`` bool union of the active AU masks (all False without truth).
        rois: ``(B, N, 4)`` ROI boxes.
        edges: ``adjacency``/``graph_attention`` ``(B, N, N)``, ``node_attention`` ``(B, N)``,
            ``temporal_attention`` ``(B, K)`` from ``forward_details`` (absent keys: model lacks them).
        attributions: method -> ``(B, K, C, H, W)`` when ``keep_attributions``.
        timings: method -> seconds spent.
    """

    clips: pd.DataFrame
    scores: pd.DataFrame
    regions: pd.DataFrame
    keyframes: pd.DataFrame
    curves: pd.DataFrame
    maps: dict[str, np.ndarray]
    faces: np.ndarray
    masks: np.ndarray
    rois: np.ndarray
    edges: dict[str, np.ndarray] = field(default_factory=dict)
    attributions: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def concat(cls, parts: Sequence[Explanation]) -> Explanation:
        """Join explanations of disjoint clip sets (e.g. the folds of a run)."""
        parts = [p for p in parts if len(p.clips)]
        if not parts:
            raise ValueError("Explanation.concat: nothing to join")
        out = {}
        for f in fields(cls):
            values = [getattr(p, f.name) for p in parts]
            if isinstance(values[0], pd.DataFrame):
                out[f.name] = pd.concat(values, ignore_index=True)
            elif isinstance(values[0], np.ndarray):
                out[f.name] = np.concatenate(values)
            elif f.name == "timings":
                out[f.name] = {k: sum(v.get(k, 0.0) for v in values) for k in values[0]}
            else:
                keys = set.intersection(*(set(v) for v in values))
                out[f.name] = {k: np.concatenate([v[k] for v in values]) for k in values[0] if k in keys}
        return cls(**out)

    def localisation_table(self, by: Sequence[str] = ("method",)) -> pd.DataFrame:
        """Mean scores per ``by`` (e.g. ``("method", "label")``), clips with ground truth only.

        Columns: ``clips``, mean ``inside_share``, ``area_share``, ``lift`` (and its median),
        ``pointing_hit`` (rate) beside ``pointing_chance``, ``roi_spearman``.
        """
        clips = self.clips[["clip_id", "label", "label_name", "correct", "area_share"]].rename(
            columns={"area_share": "clip_area"})
        df = self.scores.merge(clips, on="clip_id", how="left")
        df = df[np.isfinite(df["clip_area"]) & (df["clip_area"] > 0)]
        agg = df.groupby(list(by), sort=False).agg(
            clips=("clip_id", "nunique"), inside_share=("inside_share", "mean"), area_share=("area_share", "mean"),
            lift=("lift", "mean"), lift_median=("lift", "median"), pointing_hit=("pointing_hit", "mean"),
            pointing_chance=("pointing_chance", "mean"), roi_spearman=("roi_spearman", "mean"))
        return agg


SCORE_COLUMNS: tuple[str, ...] = ("clip_id", "method", "inside_share", "area_share", "lift", "lift_abs",
                                  "pointing_hit", "pointing_chance", "roi_spearman", "delta", "delta_rel")


def _with_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``df`` with every column of ``columns`` present (NaN where absent, e.g. real data)."""
    for col in columns:
        if col not in df.columns:
            df[col] = np.nan
    return df


def _truth(p) -> tuple[np.ndarray | None, tuple[int, ...], dict]:
    t = p.truth or {}
    masks = t.get("au_masks")
    if masks is None:
        return None, (), {}
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.shape[-2:] != tuple(p.flows.shape[-2:]):
        raise ValueError(f"clip {p.clip_id}: truth['au_masks'] is {masks.shape[-2:]} but flows are "
                         f"{tuple(p.flows.shape[-2:])}; masks must be resampled into the flow frame")
    ids = tuple(int(a) for a in t.get("au_ids", p.aus))
    intensity = {int(k): float(v) for k, v in dict(t.get("au_intensity", {})).items()}
    return masks, ids, intensity


def _roi_names(n: int) -> list[str]:
    return list(ROI_NAMES) if len(ROI_NAMES) == n else [f"roi{i}" for i in range(n)]


def _has_node_layer(model: nn.Module) -> bool:
    try:
        resolve_layer(model, None)
        return True
    except ValueError:
        return False


def _spread(n: int, k: int | None) -> np.ndarray:
    """``k`` indices spread evenly over ``range(n)`` (all when ``k`` is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def explain_clips(model: nn.Module, clips: Sequence, config: ExplainConfig | None = None, *, fold: str = "",
                  class_names: Sequence[str] | None = None) -> Explanation:
    """Run every configured method on ``clips`` with ``model`` and score the results.

    Args:
        model: a trained package model.
        clips: :class:`~stag.preprocess.prepared.Prepared` samples (one flow shape); the
            caller guarantees they were held out from ``model``'s training.
        config: :class:`ExplainConfig`.
        fold: fold name recorded in the tables.
        class_names: names for the ``label``/``pred`` columns (``label_name``, ``pred_name``).
    """
    cfg = config or ExplainConfig()
    clips = list(clips)
    if not clips:
        raise ValueError("explain_clips: no clips")
    device = resolve_device(cfg.device)
    model = model.to(device).eval()
    parts = []
    with limit_threads(cfg.threads):
        for start in range(0, len(clips), cfg.batch_size):
            chunk = clips[start:start + cfg.batch_size]
            parts.append(_explain_batch(model, chunk, collate(chunk), cfg, fold, device, class_names,
                                        offset=start))
    return Explanation.concat(parts)


def _explain_batch(model, clips, batch, cfg: ExplainConfig, fold, device, class_names, offset) -> Explanation:
    b, k, c, h, w = batch["flows"].shape
    n = batch["rois"].shape[1]
    roi_names = _roi_names(n)
    rng = np.random.default_rng(cfg.random_state + offset)
    flows_np = batch["flows"].numpy()
    rois_np = batch["rois"].numpy()
    key_mask = batch["key_mask"].numpy()
    timings: dict[str, float] = {}

    truths = [_truth(p) for p in clips]
    masks = np.stack([S.union_mask(t[0]) if t[0] is not None else np.zeros((h, w), bool) for t in truths])
    roi_truth = [S.au_truth_per_roi(t[0], t[1], t[2], rois_np[i]) if t[0] is not None and len(t[1]) else None
                 for i, t in enumerate(truths)]

    # Attributions per method (the first fixes the target every other method explains).
    atts = {}
    target = None
    for method in cfg.methods:
        t0 = time.perf_counter()
        atts[method] = attribute_flows(model, batch, cfg.attribution(method), target=target, device=device)
        target = atts[method].target if target is None else target
        timings[method] = time.perf_counter() - t0
    first = atts[cfg.methods[0]]
    pred = first.logits.argmax(1)
    labels = batch["label"].numpy()
    names = list(class_names) if class_names is not None else None

    clip_rows = []
    for i, p in enumerate(clips):
        clip_rows.append({
            "clip_id": p.clip_id, "subject": p.subject, "dataset": p.dataset, "fold": fold,
            "label": int(labels[i]), "pred": int(pred[i]), "target": int(target[i]),
            "label_name": names[labels[i]] if names else str(labels[i]),
            "pred_name": names[pred[i]] if names else str(pred[i]),
            "correct": bool(pred[i] == labels[i]), "aus": "+".join(map(str, p.aus)),
            "area_share": float(masks[i].mean()) if truths[i][0] is not None else np.nan})

    # Pixel maps: the methods plus two model-free controls.
    maps = {m: np.stack([S.pixel_map(a.maps[i], reduce=cfg.reduce, key_mask=key_mask[i]) for i in range(b)])
            for m, a in atts.items()}
    motion = np.sqrt((flows_np[:, :, :2] ** 2).sum(axis=2))  # (B, K, H, W) flow magnitude
    maps["motion"] = np.stack([motion[i][key_mask[i]].sum(0) for i in range(b)])
    maps["random"] = S.random_map((b, h, w), rng)

    score_rows, region_rows = [], []
    for name, mp in maps.items():
        for i, p in enumerate(clips):
            row = {"clip_id": p.clip_id, "method": name}
            tmask = truths[i][0]
            if tmask is not None:
                loc = S.localisation_score(mp[i], tmask)
                hit, chance = S.pointing_game(mp[i], tmask, tolerance=cfg.pointing_tolerance)
                row.update(inside_share=loc.inside_share, area_share=loc.area_share, lift=loc.lift,
                           pointing_hit=float(hit), pointing_chance=chance)
                if name in atts:
                    a = atts[name].maps[i]
                    row["lift_abs"] = S.localisation_score(
                        S.pixel_map(a, reduce="absolute", key_mask=key_mask[i]), tmask).lift
                    apex = int(np.argmax(np.where(key_mask[i], np.asarray(clips[i].magnitudes), -np.inf)))
                    row["lift_apex"] = S.localisation_score(S.pixel_map(a[apex], reduce=cfg.reduce), tmask).lift
                    for ci in range(c):
                        row[f"lift_{FLOW_CHANNELS[ci]}"] = S.localisation_score(
                            S.pixel_map(a, reduce=cfg.reduce, channels=[ci], key_mask=key_mask[i]), tmask).lift
            importance = S.roi_mass(mp[i], rois_np[i])
            row["roi_spearman"] = S.rank_agreement(importance, roi_truth[i]) if roi_truth[i] is not None else np.nan
            if name in atts and atts[name].delta is not None:
                att = atts[name]
                gap = float(att.logits[i, att.target[i]] - att.baseline_logits[i, att.target[i]])
                row["delta"] = float(att.delta[i])
                row["delta_rel"] = abs(row["delta"]) / max(abs(gap), 1e-12)
            score_rows.append(row)
            if name != "random":
                region_rows += [{"clip_id": p.clip_id, "source": name, "roi": r, "roi_name": roi_names[r],
                                 "value": float(importance[r])} for r in range(n)]

    # Region level: ROI occlusion and layer IG on the node features.
    roi_sources = {}
    if cfg.roi_occlusion:
        t0 = time.perf_counter()
        roi_sources["roi_occlusion"] = roi_occlusion(model, batch, target, device=device)
        timings["roi_occlusion"] = time.perf_counter() - t0
    if cfg.layer_ig and _has_node_layer(model):
        t0 = time.perf_counter()
        roi_sources["layer_ig"] = roi_layer_attribution(model, batch, target, n_steps=cfg.n_steps, device=device,
                                                        num_rois=n)
        timings["layer_ig"] = time.perf_counter() - t0
    for src, vals in roi_sources.items():
        for i, p in enumerate(clips):
            region_rows += [{"clip_id": p.clip_id, "source": src, "roi": r, "roi_name": roi_names[r],
                             "value": float(vals[i, r])} for r in range(n)]
            score_rows.append({"clip_id": p.clip_id, "method": src,
                               "roi_spearman": S.rank_agreement(vals[i], roi_truth[i])
                               if roi_truth[i] is not None else np.nan})
    for i, p in enumerate(clips):
        if roi_truth[i] is not None:
            region_rows += [{"clip_id": p.clip_id, "source": "truth", "roi": r, "roi_name": roi_names[r],
                             "value": float(roi_truth[i][r])} for r in range(n)]

    # Temporal and structural.
    edges = {key: v for key, v in model_details(model, batch, device=device).items() if v is not None}
    key_rows = []
    for m, a in atts.items():
        if m == "occlusion":  # its window spans every keyframe: equal shares by construction
            continue
        imp = keyframe_importance(a.maps, key_mask=key_mask)
        for i, p in enumerate(clips):
            for kk in range(k):
                key_rows.append({"clip_id": p.clip_id, "method": m, "k": kk,
                                 "key_index": int(np.asarray(p.key_indices)[kk]) if len(p.key_indices) > kk else -1,
                                 "importance": float(imp[i, kk]), "magnitude": float(p.magnitudes[kk]),
                                 "temporal_attention": float(edges["temporal_attention"][i, kk])
                                 if "temporal_attention" in edges else np.nan})

    # Faithfulness: pixels ranked by each method's signed map vs a random order; ROIs by occlusion.
    curve_parts = []
    if cfg.faithfulness:
        t0 = time.perf_counter()
        for m, a in atts.items():
            signed = np.stack([S.pixel_map(a.maps[i], reduce="signed" if m != "saliency" else "absolute",
                                           key_mask=key_mask[i]) for i in range(b)])
            curve_parts.append(pixel_curves(model, batch, signed, target, fractions=cfg.fractions,
                                            orders=("attribution",), device=device).assign(method=m, unit="pixel"))
        curve_parts.append(pixel_curves(model, batch, maps["random"], target, fractions=cfg.fractions,
                                        orders=("random",), random_state=cfg.random_state + offset,
                                        device=device).assign(method="random", unit="pixel"))
        if "roi_occlusion" in roi_sources:
            rc = roi_curves(model, batch, roi_sources["roi_occlusion"], target,
                            random_state=cfg.random_state + offset, device=device)
            rc["method"] = np.where(rc["order"] == "random", "random", "roi_occlusion")
            curve_parts.append(rc.assign(unit="roi"))
        timings["faithfulness"] = time.perf_counter() - t0
    curves = pd.concat(curve_parts, ignore_index=True) if curve_parts else pd.DataFrame()
    if len(curves):
        curves["clip_id"] = [clips[i].clip_id for i in curves["clip"]]
        curves = curves.drop(columns="clip")

    faces = np.stack([np.asarray(p.face, dtype=np.uint8) if p.face is not None and np.shape(p.face) == (h, w)
                      else np.zeros((h, w), np.uint8) for p in clips])
    return Explanation(
        clips=pd.DataFrame(clip_rows), scores=_with_columns(pd.DataFrame(score_rows), SCORE_COLUMNS), regions=pd.DataFrame(region_rows),
        keyframes=pd.DataFrame(key_rows), curves=curves,
        maps={m: v.astype(np.float32) for m, v in maps.items()}, faces=faces, masks=masks, rois=rois_np,
        edges=edges, attributions={m: a.maps for m, a in atts.items()} if cfg.keep_attributions else {},
        timings=timings)


def fold_checkpoints(run_dir: str | Path) -> list[Path]:
    """The ``folds/<fold>/model.pt`` files of a :func:`~stag.train.run_protocol` folder, sorted."""
    run_dir = Path(run_dir)
    paths = sorted((run_dir / "folds").glob("*/model.pt"))
    if not paths:
        raise FileNotFoundError(f"{run_dir}: no trained folds (expected folds/<fold>/model.pt written by `stag train`)")
    return paths


def heldout_clips(prepared: Sequence, checkpoint: dict, *, clip_ids: Sequence[str] | None = None) -> list:
    """The clips of ``prepared`` that the checkpoint's fold held out (its ``test_clip_ids``).

    ``clip_ids`` narrows the selection; asking for a clip the fold trained on raises.
    """
    test_ids = list(checkpoint.get("test_clip_ids") or [])
    if not test_ids:
        raise ValueError(f"checkpoint of fold {checkpoint.get('fold')!r} lists no test_clip_ids; cannot tell held-out clips")
    held = set(test_ids)
    if clip_ids is not None:
        wanted = set(clip_ids)
        trained_on = sorted(wanted - held)
        if trained_on:
            raise ValueError(f"fold {checkpoint.get('fold')!r} did not hold out {trained_on[:5]}: "
                             "explanations are only computed on a model's held-out clips")
        held = wanted
    by_id = {p.clip_id: p for p in prepared}
    missing = [cid for cid in test_ids if cid in held and cid not in by_id]
    if missing:
        raise ValueError(f"fold {checkpoint.get('fold')!r}: held-out clips {missing[:5]} are not in the prepared data "
                         "(was the run trained on other data?)")
    return [by_id[cid] for cid in test_ids if cid in held]


#: Bumped when the stored Explanation changes meaning, so older cache entries are not read.
CACHE_VERSION = 1


def _digest(obj, h) -> None:
    """Feed ``obj`` (arrays, containers, scalars) into the hash ``h``, order-stable."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(f"<{k}>".encode())
            _digest(obj[k], h)
    elif isinstance(obj, (list, tuple)):
        h.update(f"[{len(obj)}".encode())
        for v in obj:
            _digest(v, h)
    else:
        h.update(repr(obj).encode())


def explain_fingerprint(prepared: Sequence) -> str:
    """Hash of everything an explanation reads from the clips: the training data fingerprint
    (:func:`stag.train.run.data_fingerprint`) plus the apex faces, keyframe indices, landmarks
    and ground truth (AU masks and intensities)."""
    prepared = list(prepared)
    h = hashlib.sha256(data_fingerprint(pack_prepared(prepared)).encode())
    for p in prepared:
        _digest([p.clip_id, p.face, p.key_indices, p.landmarks, p.truth or {}], h)
    return h.hexdigest()[:16]


def explanation_key(run_dir: str | Path, prepared: Sequence, config: ExplainConfig,
                    clip_ids: Sequence[str] | None = None) -> tuple[str, dict]:
    """The cache key of explaining ``run_dir`` on ``prepared`` with ``config``, and what it hashes.

    The key covers the run's ``config_hash`` (its ``run.json``: data, model, protocol, training
    settings), :func:`explain_fingerprint` of the clips, every :class:`ExplainConfig` field
    except ``threads``, the clip selection and :data:`CACHE_VERSION`. Each fold's file is
    further named by a hash of its ``model.pt``, so retrained weights never reuse an entry.
    """
    run_json = Path(run_dir) / "run.json"
    if not run_json.exists():
        raise FileNotFoundError(f"{run_dir}: no run.json; caching needs a `stag train` / run_protocol folder")
    info = {
        "version": CACHE_VERSION,
        "run": json.loads(run_json.read_text())["config_hash"],
        "data": explain_fingerprint(prepared),
        "explain": {k: v for k, v in config.to_dict().items() if k != "threads"},
        "clip_ids": sorted(clip_ids) if clip_ids is not None else None,
    }
    return stable_hash(info), info


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def explain_run(prepared: Sequence, run_dir: str | Path, config: ExplainConfig | None = None, *,
                folds: Sequence[str] | None = None, clip_ids: Sequence[str] | None = None,
                on_fold: Callable[[str, Explanation], None] | None = None, progress: bool = True,
                cache: bool = False, stats: dict | None = None) -> Explanation:
    """Explain every trained fold of ``run_dir`` on its own held-out clips.

    Args:
        prepared: the prepared clips the run was trained on (same clip ids).
        run_dir: output folder of :func:`stag.train.run_protocol` / ``stag train``.
        config: :class:`ExplainConfig` (``clips_per_fold`` caps the clips per fold).
        folds: fold names to explain (default all).
        clip_ids: restrict to these clips (each is explained by the fold that held it out).
        on_fold: called with ``(fold, explanation)`` after each fold (e.g. to save arrays).
        cache: load each fold's explanation from ``run_dir/explanations/<key>/`` when it is
            there, and store it there when computed (see :func:`explanation_key`). An entry
            is written once, atomically, and never replaced; another key is another folder.
        stats: if a dict is given, it receives ``hits`` and ``computed`` (fold names) and
            ``entry`` (the cache folder, or None).
    """
    cfg = config or ExplainConfig()
    parts = []
    wanted = set(clip_ids) if clip_ids is not None else None
    paths = fold_checkpoints(run_dir)
    entry = None
    if cache:
        key, info = explanation_key(run_dir, prepared, cfg, clip_ids)
        entry = Path(run_dir) / "explanations" / key
        if not (entry / "explain.json").exists():
            atomic_write_text(entry / "explain.json", json.dumps({"key": key, **info}, indent=2, default=str))
    hits, computed = [], []
    for path in tqdm(paths, desc="explain folds", disable=not progress):
        model, ckpt = load_fold_model(path)
        fold = str(ckpt.get("fold", path.parent.name))
        if folds is not None and fold not in folds:
            continue
        chosen = None
        if wanted is not None:
            chosen = [cid for cid in ckpt.get("test_clip_ids", []) if cid in wanted]
            if not chosen:
                continue
        held = heldout_clips(prepared, ckpt, clip_ids=chosen)
        held = [held[i] for i in _spread(len(held), cfg.clips_per_fold)]
        stored = entry / f"{fold_dirname(fold)}-{_file_hash(path)}.pkl" if entry is not None else None
        if stored is not None and stored.exists():
            with open(stored, "rb") as fh:
                part = pickle.load(fh)
            hits.append(fold)
        else:
            with torch.enable_grad():
                part = explain_clips(model, held, cfg, fold=fold, class_names=ckpt.get("class_names"))
            if stored is not None and not stored.exists():  # another process may have just stored it
                atomic_write(stored, lambda p: p.write_bytes(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)))
            computed.append(fold)
        if on_fold is not None:
            on_fold(fold, part)
        parts.append(part)
    if stats is not None:
        stats.update(hits=hits, computed=computed, entry=entry)
    if not parts:
        what = f"folds={list(folds)!r}" if folds is not None else f"clips {sorted(wanted or [])[:5]}"
        raise ValueError(f"{run_dir}: no fold held out {what}; explanations are only computed on a model's "
                         "held-out clips")
    result = Explanation.concat(parts)
    if wanted is not None and folds is None:
        unexplained = sorted(wanted - set(result.clips["clip_id"]))
        if unexplained:
            raise ValueError(f"{run_dir}: no fold held out {unexplained[:5]}; explanations are only computed on "
                             "a model's held-out clips")
    return result
