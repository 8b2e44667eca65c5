"""``stag data audit``: what a copy of precomputed flows holds, measured before training on it.

:func:`run_audit` loads a copy unchecked, prepares it at 28 pixels with its ROIs as stored,
and measures, from the images alone unless codings are given:

1. **channels** (:mod:`stag.data.flow_checks`): which channel is strain, v and u, and for two
   phases which way the second points;
2. **registration** (:mod:`stag.preprocess.registration`, :mod:`stag.audit.alignment`): the flow
   -> face transform of each source dataset, the eye offsets before and after, how much one
   subject moves it, and, with a second copy of the same clips (``against``), how well the two
   copies agree as stored and in their faces' frame;
3. with the FACS codings: the **region check** and the **direction** of u and v
   (:mod:`stag.audit.regions`).

Each check passes or fails (:data:`CHECKS`); :func:`write_audit` writes ``audit.json`` and the
figure ``audit.png`` (the mean face, the motion variability and the 16 ROIs, as stored and
registered), and ``stag data audit`` exits 1 naming the data and every failed check. Training
refuses the same failures by itself: the loaders check the channel order and preprocessing
checks the registration (its default), so a copy that fails here is never trained on silently.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stag.audit import alignment, regions
from stag.data import load
from stag.data.flow_checks import channel_evidence
from stag.files import atomic_write_text
from stag.preprocess.pipeline import PrepareConfig, prepare_dataset
from stag.preprocess.registration import RegistrationError, check_fit, fit_registration, flow_eyes, mean_strain, \
    register_prepared
from stag.train.provenance import data_checksum, source_commit, utc_now

#: Size the audit prepares the flows at (the composites' own).
AUDIT_SIDE = 28
#: The least cross-copy agreement (mean correlation over u, v and strain) two registered copies of
#: the same clips must reach; as stored the public copies agree at 0.29.
MIN_CROSS_COPY = 0.5
CHECKS = ("channel order", "registration", "cross-copy agreement", "regions hold the coded motion")


@dataclass(frozen=True)
class AuditConfig:
    """What :func:`run_audit` compares against and how.

    Attributes:
        codings: folder with the CASME II / SAMM coding files (region and direction checks).
        against: name, data root and loader parameters of a second copy of the same clips.
        cache_dir: preprocessing cache (dlib landmarks of the faces are the slow part).
        jobs: preprocessing processes.
        n_boot: subject-bootstrap resamples of the intervals.
    """

    codings: str | None = None
    against: tuple[str, str, dict] | None = None
    cache_dir: str | None = ".stag-cache"
    jobs: int = 2
    n_boot: int = 2000


def _prepare(name: str, data_root: str, params: dict, config: AuditConfig):
    params = {**params, "check_channels": False}  # measured and reported here, not refused
    clipset = load(name, data_root=data_root, **params)
    k = int(next(iter(clipset)).flows.shape[0])
    cfg = PrepareConfig(image_size=AUDIT_SIDE, keyframes=k, registration="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_dataset(clipset, cfg, cache_dir=config.cache_dir, jobs=config.jobs, progress=False)
    return clipset, prepared


def _codes(name: str, data_root: str, params: dict, codings: str) -> dict[str, tuple[int, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coded = load(name, data_root=data_root, codings=codings, **{**params, "check_channels": False})
    return {c.clip_id: tuple(int(a) for a in c.aus) for c in coded if c.au_coded and not c.au_error}


def _registration(prepared, where: str):
    reg = fit_registration(prepared, where, check=False)
    failures = []
    for ds, t in reg.transforms.items():
        try:
            check_fit(f"{ds} in {where}", flow_eyes(mean_strain([p for p in prepared if p.dataset == ds])), t)
        except RegistrationError as exc:
            failures.append(str(exc))
    return reg, failures


def run_audit(name: str, data_root: str | Path, params: dict | None = None,
              config: AuditConfig | None = None) -> dict:
    """Audit one copy (module doc). Returns the report (what :func:`write_audit` writes), with
    ``checks``: one ``{"check", "passed", "detail"}`` per check that could be run, and
    ``passed``: all of them did. The ``_prepared`` entries (stored and registered clips) are for
    the figure and are not written."""
    config = config or AuditConfig()
    params = dict(params or {})
    clipset, stored = _prepare(name, str(data_root), params, config)
    where = str(clipset.params.get("flow_dir") or data_root)
    evidence = channel_evidence(np.stack([p.flows[:, :3] for p in stored]))
    reg, reg_failures = _registration(stored, where)
    registered = register_prepared(stored, reg)
    report: dict = {
        "data": {"name": name, "data_root": str(data_root), "params": params, "flow_dir": where,
                 "face_dir": clipset.params.get("face_dir"), "clips": len(stored),
                 "data_checksum": data_checksum(clipset)},
        "channels": {**evidence.to_dict(), "description": evidence.describe()},
        "registration": {**reg.to_dict(), "eye_offset_px28": alignment.eye_offsets(stored, reg),
                         "one_subject_moves_it_px28": alignment.subject_sensitivity(stored),
                         "described": {d: t.describe() for d, t in reg.transforms.items()}},
    }
    checks = [{"check": CHECKS[0], "passed": evidence.decided and evidence.agrees, "detail": evidence.describe()}]
    checks.append({"check": CHECKS[1], "passed": not reg_failures and bool(reg.transforms),
                   "detail": "; ".join(reg_failures) or ("; ".join(f"{d}: {t.describe()}" for d, t in
                                                                   reg.transforms.items()) or
                                                         "no source dataset had enough faces to register")})
    if config.against:
        a_name, a_root, a_params = config.against
        a_clips, a_stored = _prepare(a_name, a_root, dict(a_params), config)
        a_reg, _ = _registration(a_stored, str(a_clips.params.get("flow_dir") or a_root))
        cc = alignment.cross_copy(stored, a_stored, reg, a_reg)
        report["cross_copy"] = {"against": {"name": a_name, "data_root": str(a_root), "params": dict(a_params)},
                                "against_registration": a_reg.to_dict(), **cc}
        ok = cc.get("clips", 0) > 0 and cc["registered"]["mean"] >= MIN_CROSS_COPY
        checks.append({"check": CHECKS[2], "passed": bool(ok),
                       "detail": (f"{cc.get('clips', 0)} clips in both copies; mean correlation "
                                  f"{cc.get('stored', {}).get('mean', float('nan')):.2f} as stored, "
                                  f"{cc.get('registered', {}).get('mean', float('nan')):.2f} registered "
                                  f"(at least {MIN_CROSS_COPY} needed)")})
    if config.codings:
        aus = _codes(name, str(data_root), params, config.codings)
        rows = regions.stored_and_registered(stored, registered, aus, n_boot=config.n_boot)
        report["regions"] = rows
        report["region_shift_scan"] = regions.shift_scan(stored, reg, aus)
        report["direction"] = regions.direction_check(registered, aus, n_boot=config.n_boot)
        main = next(r for r in rows if r["rois"] == "registered")
        ok = main.get("clips", 0) > 0 and main["lift_ci"][0] > 0
        checks.append({"check": CHECKS[3], "passed": bool(ok),
                       "detail": (f"{main.get('clips', 0)} coded clips; reciprocal rank of the first coded ROI "
                                  f"by motion energy {main.get('score', float('nan')):.3f} against chance "
                                  f"{main.get('chance', float('nan')):.3f} (lift {main.get('lift', float('nan')):+.3f}"
                                  f" [{main.get('lift_ci', [np.nan, np.nan])[0]:+.3f}, "
                                  f"{main.get('lift_ci', [np.nan, np.nan])[1]:+.3f}])")})
    report["checks"] = checks
    report["passed"] = all(c["passed"] for c in checks)
    commit, dirty = source_commit()
    report["provenance"] = {"commit": commit, "dirty": dirty, "finished_utc": utc_now(), "config": asdict(config)}
    report["_prepared"] = {"stored": stored, "registered": registered, "registration": reg}
    return report


def failures(report: dict) -> list[str]:
    """One line per failed check, naming the data."""
    where = report["data"]["flow_dir"]
    return [f"{where}: {c['check']} failed: {c['detail']}" for c in report["checks"] if not c["passed"]]


def write_audit(report: dict, out: str | Path) -> tuple[Path, Path]:
    """``out/audit.json`` (the report without the prepared clips) and ``out/audit.png``."""
    from stag.viz.audit import audit_figure  # lazy: matplotlib

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    body = {k: v for k, v in report.items() if not k.startswith("_")}
    js = out / "audit.json"
    atomic_write_text(js, json.dumps(body, indent=1, default=_jsonable) + "\n")
    prep = report["_prepared"]
    fig = audit_figure(prep["stored"], prep["registration"], title=report["data"]["name"])
    png = out / "audit.png"
    fig.savefig(png, bbox_inches="tight")
    return js, png


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    return str(x)
