"""Do the ROIs hold the coded motion? And which way do u and v point?

Both questions are asked with the released FACS codings (CASME II and SAMM clips of a composite;
SMIC has none) and never with a model:

- **region check** (:func:`region_check`): each coded clip ranks its 16 ROIs by the motion
  energy inside them (mean over the box of the squared u and v about their image medians: the
  providers' per-image min-max scaling puts zero motion at an unknown level, and most of a face
  does not move), and the reciprocal rank of the first ROI tied to a coded AU is compared with
  its chance level: the same ranking scored against the AU codes of every clip of the same
  dataset and class (:func:`stag.results.roi_ranking.chance_scores`, the explanation scores'
  chance). Lift = score - chance, with a 95% interval over subjects. Variants
  (:data:`VARIANTS`) ask why the lift is what it is: the registration, the size of the regions
  at 28 pixels, the per-image min-max scaling of each channel;
- **direction** (:func:`direction_check`): in clips coded with a brow raiser (AU1 or AU2, no
  AU4) the brows move up, and with the brow lowerer (AU4, no AU1/AU2) down; in clips coded with
  the lip corner puller (AU12) the mouth corners move apart. The mean v in the brow ROIs and the
  difference of u between the image-right and image-left mouth corners say which way v and u
  point (image rows grow downwards).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stag.results.roi_ranking import chance_scores, ranking_scores
from stag.explain.scores import roi_mass
from stag.faces import ROI_NAMES, coded_rois
from stag.preprocess.registration import Registration, Similarity, register_prepared
from stag.preprocess.rois import roi_boxes
from stag.train.metrics import subject_bootstrap_means


@dataclass(frozen=True)
class Variant:
    """One way of measuring the region check: the energy (``"uv"``: median-centred u and v;
    ``"uv_scaled"``: each of them divided by its median absolute deviation first, undoing the
    per-channel min-max scaling's unequal gains; ``"strain"``), the region size (``box_scale``
    times the table's padding) and an upsampling factor before pooling (pixel quantisation)."""

    name: str
    energy: str = "uv"
    box_scale: float = 1.0
    upsample: int = 1


#: The region check's measurements: the first is the check itself, the others diagnose it.
VARIANTS: tuple[Variant, ...] = (
    Variant("motion energy (u, v)"),
    Variant("u and v rescaled", energy="uv_scaled"),
    Variant("optical strain", energy="strain"),
    Variant("regions 1.5x larger", box_scale=1.5),
    Variant("pooled at 4x resolution", upsample=4),
)


def motion_map(flow: np.ndarray, energy: str = "uv") -> np.ndarray:
    """``(H, W)`` motion of one ``(C>=3, H, W)`` flow (u, v, strain) for the region check."""
    u, v, s = (np.asarray(flow[c], np.float64) for c in range(3))
    u, v = u - np.median(u), v - np.median(v)
    if energy == "uv":
        return u ** 2 + v ** 2
    if energy == "uv_scaled":
        def mad(x):
            m = np.median(np.abs(x))
            return m if m > 0 else 1.0
        return (u / mad(u)) ** 2 + (v / mad(v)) ** 2
    if energy == "strain":
        return s - np.median(s)
    raise ValueError(f"energy={energy!r}: expected 'uv', 'uv_scaled' or 'strain'")


def region_importance(p, variant: Variant) -> np.ndarray:
    """``(N,)`` motion of each ROI of a prepared clip (phase 0) under ``variant``."""
    amap = motion_map(p.flows[0], variant.energy)
    side = amap.shape[-1]
    boxes = p.rois if variant.box_scale == 1.0 else roi_boxes(p.landmarks, side, scale=variant.box_scale)
    if variant.upsample > 1:
        big = side * variant.upsample
        amap = cv2.resize(amap.astype(np.float32), (big, big), interpolation=cv2.INTER_LINEAR)
        boxes = boxes * variant.upsample
    return roi_mass(amap, boxes)


def _coded(prepared, aus: dict) -> list:
    return [p for p in prepared if p.clip_id in aus and coded_rois(aus[p.clip_id]).any()]


def region_check(prepared, aus: dict[str, tuple[int, ...]], variant: Variant = VARIANTS[0], *,
                 n_boot: int = 2000, random_state: int = 0) -> dict:
    """The region check of ``prepared`` (as their ROIs are placed) under ``variant``.

    Args:
        prepared: prepared clips (their ROIs as stored or registered).
        aus: clip id -> coded AUs (clips without an entry, or with no AU in the ROI table, are
            left out).

    Returns:
        ``{"clips", "score", "chance", "lift", "lift_ci"}``: mean reciprocal rank of the first coded
        ROI, its chance level, their difference and its 95% subject-bootstrap interval.
    """
    clips = _coded(prepared, aus)
    if not clips:
        return {"clips": 0}
    imp = np.stack([region_importance(p, variant) for p in clips])
    sets = np.stack([coded_rois(aus[p.clip_id]) for p in clips])
    score = np.array([ranking_scores(imp[i], sets[i])["mrr"][0] for i in range(len(clips))])
    chance = chance_scores(imp, sets, [f"{p.dataset}/{p.label}" for p in clips])["mrr"]
    lift = score - chance
    boots = subject_bootstrap_means(lift, [f"{p.dataset}/{p.subject}" for p in clips], n_boot=n_boot,
                                    random_state=random_state)
    lo, hi = np.nanquantile(boots, [0.025, 0.975])
    return {"clips": len(clips), "score": round(float(score.mean()), 4), "chance": round(float(chance.mean()), 4),
            "lift": round(float(lift.mean()), 4), "lift_ci": [round(float(lo), 4), round(float(hi), 4)]}


def _mean_ci(values: np.ndarray, subjects: list[str], n_boot: int, random_state: int) -> dict:
    if not len(values):
        return {"clips": 0}
    boots = subject_bootstrap_means(values, subjects, n_boot=n_boot, random_state=random_state)
    lo, hi = np.nanquantile(boots, [0.025, 0.975])
    return {"clips": len(values), "mean": round(float(np.mean(values)), 4), "ci": [round(float(lo), 4),
                                                                                  round(float(hi), 4)]}


def _roi_mean(p, channel: int, names: tuple[str, ...]) -> float:
    x = np.asarray(p.flows[0, channel], np.float64)
    vals = roi_mass(x - np.median(x), p.rois)
    return float(np.mean([vals[ROI_NAMES.index(n)] for n in names]))


BROWS = ("brow_inner_R", "brow_inner_L", "brow_outer_R", "brow_outer_L")


def direction_check(prepared, aus: dict[str, tuple[int, ...]], *, n_boot: int = 2000, random_state: int = 0) -> dict:
    """Which way v and u point, from the coded brow and lip-corner actions (module doc).

    Returns:
        ``{"v_brow_raise", "v_brow_lower", "u_lip_corners", "v_points", "u_points"}``: the first
        three are ``{"clips", "mean", "ci"}`` of median-centred decoded values (v in the brow ROIs;
        u at the image-right minus the image-left mouth corner); ``v_points`` is ``"down"`` when
        raised brows have negative v and lowered brows positive v (image convention), ``"up"`` for
        the reverse, ``"undecided"`` otherwise; ``u_points`` ``"right"`` when the corners of AU12
        clips move apart in u, ``"left"`` for the reverse.
    """
    def pick(test):
        return [p for p in prepared if p.clip_id in aus and test(set(aus[p.clip_id]))]

    raise_ = pick(lambda a: bool(a & {1, 2}) and 4 not in a)
    lower = pick(lambda a: 4 in a and not a & {1, 2})
    smile = pick(lambda a: 12 in a)

    def subjects(clips):
        return [f"{p.dataset}/{p.subject}" for p in clips]

    up = _mean_ci(np.array([_roi_mean(p, 1, BROWS) for p in raise_]), subjects(raise_), n_boot, random_state)
    down = _mean_ci(np.array([_roi_mean(p, 1, BROWS) for p in lower]), subjects(lower), n_boot, random_state)
    apart = _mean_ci(np.array([_roi_mean(p, 0, ("mouth_corner_L",)) - _roi_mean(p, 0, ("mouth_corner_R",))
                               for p in smile]), subjects(smile), n_boot, random_state)

    def sign(ci) -> int:
        return 0 if ci is None else (1 if ci[0] > 0 else -1 if ci[1] < 0 else 0)

    s_up, s_down = sign(up.get("ci")), sign(down.get("ci"))
    v_points = ("down" if (s_up, s_down) in ((-1, 1), (-1, 0), (0, 1)) else
                "up" if (s_up, s_down) in ((1, -1), (1, 0), (0, -1)) else "undecided")
    s_u = sign(apart.get("ci"))
    return {"v_brow_raise": up, "v_brow_lower": down, "u_lip_corners": apart, "v_points": v_points,
            "u_points": "right" if s_u > 0 else "left" if s_u < 0 else "undecided"}


def stored_and_registered(stored, registered, aus: dict, *, n_boot: int = 2000, random_state: int = 0) -> list[dict]:
    """Every :data:`VARIANTS` measurement, as stored and registered: one row each
    (``{"variant", "rois", "clips", "score", "chance", "lift", "lift_ci"}``); the stored rows
    only for the check itself (its diagnostics are asked of the registered ROIs)."""
    rows = [{"variant": VARIANTS[0].name, "rois": "as stored",
             **region_check(stored, aus, VARIANTS[0], n_boot=n_boot, random_state=random_state)}]
    for v in VARIANTS:
        rows.append({"variant": v.name, "rois": "registered",
                     **region_check(registered, aus, v, n_boot=n_boot, random_state=random_state)})
    return rows


def shift_scan(stored, registration, aus: dict, shifts_px: tuple[float, ...] = (-3, -2, -1, 0, 1, 2, 3), *,
               side: int = 28) -> list[dict]:
    """The region check's lift with every fitted transform moved vertically by each of
    ``shifts_px`` (pixels of ``side``) more: the registration is fitted on the eyes alone, so a
    lift that peaks at or near 0 is independent evidence that it put the ROIs where the coded
    motion is. One row per shift: ``{"shift_px", "lift"}`` (no interval: a diagnostic)."""
    rows = []
    for dy in shifts_px:
        moved = Registration({d: Similarity(t.scale, t.dx, t.dy + dy / side)
                              for d, t in registration.transforms.items()})
        rows.append({"shift_px": float(dy), "lift": region_check(register_prepared(stored, moved), aus,
                                                                 n_boot=1)["lift"]})
    return rows
