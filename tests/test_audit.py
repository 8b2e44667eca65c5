"""The input audit: the region and direction checks on clips with known motion, and, when the
public copies are present, the committed audit reports reproduce."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from stag.audit import alignment, regions
from stag.faces import ROI_NAMES
from stag.preprocess.face import canonical_landmarks
from stag.preprocess.prepared import Prepared
from stag.preprocess.registration import Registration, Similarity
from stag.preprocess.rois import roi_boxes

SIDE = 28
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STAG_SHARED_DATA", ROOT.parent / "shared" / "data"))
LM = canonical_landmarks(SIDE)
BOXES = roi_boxes(LM, SIDE)
CODES = {"brow": (1, 2), "smile": (12,), "frown": (4,)}


def _clip(i: int, kind: str, rng, *, moving: bool = True) -> Prepared:
    """A clip whose u/v move inside the ROIs of its kind's AUs (or elsewhere, ``moving=False``)."""
    u = rng.normal(0, 0.05, (SIDE, SIDE))
    v = rng.normal(0, 0.05, (SIDE, SIDE))
    names = {"brow": ["brow_inner_R", "brow_inner_L", "brow_outer_R", "brow_outer_L"],
             "smile": ["mouth_corner_R", "mouth_corner_L"], "frown": ["glabella"]}[kind]
    if not moving:
        names = {"brow": ["chin"], "smile": ["glabella"], "frown": ["chin"]}[kind]
    for n in names:
        x0, y0, x1, y1 = (int(round(c)) for c in BOXES[ROI_NAMES.index(n)])
        if kind == "brow":
            v[y0:y1, x0:x1] -= 1.0  # up
        elif kind == "frown":
            v[y0:y1, x0:x1] += 1.0  # down
        else:
            u[y0:y1, x0:x1] += 1.0 if n.endswith("_L") else -1.0  # apart
    flows = np.stack([u, v, np.sqrt(u ** 2 + v ** 2)])[None].astype(np.float32)
    return Prepared(clip_id=f"samm/{i % 6:03d}/{kind}{i}", subject=f"{i % 6:03d}", dataset="samm", label=i % 2,
                    flows=flows, key_mask=np.ones(1, bool), magnitudes=np.ones(1, np.float32),
                    key_indices=np.zeros(1, np.int64), rois=BOXES, landmarks=LM.astype(np.float32),
                    truth={"landmarks_from": "dlib"})


def _set(moving: bool = True, n: int = 36):
    rng = np.random.default_rng(0)
    kinds = ["brow", "smile", "frown"]
    clips = [_clip(i, kinds[i % 3], rng, moving=moving) for i in range(n)]
    return clips, {c.clip_id: CODES[kinds[i % 3]] for i, c in enumerate(clips)}


def test_region_check_finds_motion_in_the_coded_regions_and_not_elsewhere():
    clips, aus = _set()
    hit = regions.region_check(clips, aus, n_boot=200)
    assert hit["clips"] == 36 and hit["score"] > 0.95 and hit["lift"] > 0.2 and hit["lift_ci"][0] > 0
    away, aus = _set(moving=False)
    miss = regions.region_check(away, aus, n_boot=200)
    assert miss["lift"] < hit["lift"] - 0.2


def test_direction_check_reads_v_down_and_u_right():
    clips, aus = _set()
    d = regions.direction_check(clips, aus, n_boot=200)
    assert d["v_points"] == "down" and d["u_points"] == "right"
    assert d["v_brow_raise"]["mean"] < 0 < d["v_brow_lower"]["mean"] and d["u_lip_corners"]["mean"] > 0
    flipped = [c.__class__(**{**c.__dict__, "flows": c.flows * np.array([-1, -1, 1], np.float32)[None, :, None, None]})
               for c in clips]
    d = regions.direction_check(flipped, aus, n_boot=200)
    assert d["v_points"] == "up" and d["u_points"] == "left"


def test_motion_map_variants():
    flow = np.zeros((3, 8, 8), np.float32)
    flow[0, 2, 3] = 2.0
    assert regions.motion_map(flow, "uv")[2, 3] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="energy='x'"):
        regions.motion_map(flow, "x")


def test_cross_copy_agreement_rises_when_each_copy_is_registered():
    clips, _ = _set()
    shifted = [c.__class__(**{**c.__dict__, "flows": np.roll(c.flows, 3, axis=-2)}) for c in clips]
    out = alignment.cross_copy(clips, shifted, Registration(), Registration({"samm": Similarity(1.0, 0.0, -3 / SIDE)}))
    assert out["clips"] == 36
    assert out["registered"]["mean"] > 0.9 > out["stored"]["mean"] + 0.3


@pytest.mark.skipif(not (DATA / "megc2019_phases").is_dir(), reason=f"public copies not present at {DATA}")
def test_committed_audits_reproduce(tmp_path):
    """The audits kept beside the registered study's records are what the audit measures today:
    the two-phase copy's in full, and the first copy's registration (fitted again as the second
    copy of the same audit; one preparation of each copy serves both)."""
    from stag.audit import AuditConfig, run_audit

    def committed(copy):
        return json.loads((ROOT / "results" / "registered" / copy / "audit" / "audit.json").read_text())

    phases, first = committed("megc2019_phases"), committed("megc2019")
    against = phases["cross_copy"]["against"]
    config = AuditConfig(codings=str(DATA / "codings"), cache_dir=str(tmp_path / "cache"), n_boot=200,
                         against=(against["name"], str(DATA / Path(against["data_root"]).name), against["params"]))
    report = run_audit(phases["data"]["name"], DATA / "megc2019_phases", phases["data"]["params"], config)
    assert report["passed"] and report["data"]["data_checksum"] == phases["data"]["data_checksum"]
    assert list(report["channels"]["found"]) == phases["channels"]["found"] == ["u", "v", "strain"]
    assert report["channels"]["phase_direction"] == "back"
    for fitted, kept in ((report["registration"], phases["registration"]),
                         (report["cross_copy"]["against_registration"], first["registration"])):
        for ds, t in kept["transforms"].items():
            for k in ("scale", "dx", "dy"):
                assert fitted["transforms"][ds][k] == pytest.approx(t[k], abs=1e-4), (ds, k)
    main = next(r for r in report["regions"] if r["rois"] == "registered")
    assert main["lift"] == pytest.approx(next(r for r in phases["regions"] if r["rois"] == "registered")["lift"],
                                         abs=1e-3)
    assert report["cross_copy"]["registered"]["mean"] == pytest.approx(phases["cross_copy"]["registered"]["mean"],
                                                                      abs=1e-3)
