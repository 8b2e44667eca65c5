"""Explanations on real faces: does a trained fold's ranking of the face regions put the coded
action units on top?

For every held-out clip of a LOSO run with a FACS coding (the CASME II and SAMM clips of the
MEGC2019 composite; SMIC has none), each explanation method gives an importance per ROI
(``N`` regions of :mod:`stag.faces`), and :mod:`stag.results.roi_ranking` scores
that ranking against the ROIs of the coded AUs, beside its permutation chance level.

Methods (:data:`METHODS`; every importance is a magnitude, evidence for or against the
explained class, fixed before any score was seen):

- ``roi_occlusion``: ``|f(x) - f(x with ROI n at zero flow)|`` for the predicted class; every model.
- ``pixel_ig``: Integrated Gradients on the flow pixels (zero-flow baseline), ``|IG|`` summed
  over keyframes and channels, then its mean over each ROI box (a density: the boxes differ in
  area, and a sum would rank large boxes first whatever the map); every model, including the
  single-image baselines, which see the same flow.
- ``layer_ig``: ``|layer IG|`` on the ROI node features; models with ROI nodes (STAG).
- ``adjacency``: in-strength of each ROI in the learned dynamic adjacency (``sum_i A[i, n]``,
  self-loop excluded): how much the other regions listen to it; models with a graph.

:func:`score_run` explains every fold of a ``stag train`` folder on its own held-out clips,
:func:`record_scores` writes ``<out>/<run>.csv`` (one row per clip and method, with the raw
importances, so the scores can be recomputed from the file) and ``<out>/<run>.json``
(provenance and exclusion counts). A row keeps the *regions* of the clip's coded AUs, never
the AU codes themselves: the codings are licensed with the datasets and stay out of the
repository and the book. ``python -m stag.explain.real_faces RUN_DIR ... --data-root
DIR --codings DIR --out results/megc2019_explain`` does it from a shell.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from stag.data import load
from stag.explain.attributions import (
    AttributionConfig,
    attribute_flows,
    model_details,
    resolve_layer,
    roi_layer_attribution,
    roi_occlusion,
)
from stag.explain.scores import roi_mass
from stag.explain.study import fold_checkpoints, heldout_clips
from stag.faces import ROI_NAMES, coded_rois
from stag.files import atomic_write_text
from stag.preprocess.pipeline import PrepareConfig
from stag.results.real_faces import (COLUMNS, SCORE_NAMES, RealFacesConfig, format_importance, join_names,
                                     parse_importance, score_rows, top_edges)
from stag.results.reproduce import recorded_loader_params
from stag.threads import limit_threads
from stag.train.dataset import collate
from stag.train.experiment import load_and_prepare
from stag.train.records import RunRecord
from stag.train.provenance import command_line, data_checksum, machine, python_call, source_commit, utc_now
from stag.train.run import data_fingerprint, load_fold_model, pack_prepared

METHODS: tuple[str, ...] = ("roi_occlusion", "layer_ig", "adjacency", "pixel_ig")
GRAPH_METHODS: tuple[str, ...] = ("layer_ig", "adjacency")
# --------------------------------------------------------------------------- AU codes -> ROIs
@dataclass
class Codes:
    """FACS codes of the clips, and why clips are left out.

    Attributes:
        aus: clip id -> AU targets, for clips that can be scored (coded, AUs in the ROI table).
        excluded: one row per left-out clip: ``clip_id, dataset, subject, reason, au_text``
            (``reason``: ``no coding`` for SMIC and unjoined clips, ``unreadable`` for an AU string
            that did not parse, ``no ROI`` when no coded AU has a region).
    """

    aus: dict[str, tuple[int, ...]]
    excluded: pd.DataFrame

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.excluded["reason"].value_counts().items()} if len(self.excluded) else {}


def read_codes(clipset) -> Codes:
    """Split a coded :class:`~stag.data.ClipSet` (loaded with ``codings=``) into scorable clips
    and excluded ones."""
    aus, rows = {}, []
    for c in clipset:
        reason = ("no coding" if not getattr(c, "au_coded", False) else "unreadable" if c.au_error
                  else "no ROI" if not coded_rois(c.aus).any() else "")
        if reason:
            rows.append({"clip_id": c.clip_id, "dataset": c.dataset, "subject": c.subject, "reason": reason,
                         "au_text": getattr(c, "au_text", "")})
        else:
            aus[c.clip_id] = tuple(int(a) for a in c.aus)
    return Codes(aus, pd.DataFrame(rows, columns=["clip_id", "dataset", "subject", "reason", "au_text"]))


# --------------------------------------------------------------------------- importances
def model_methods(model) -> tuple[str, ...]:
    """The :data:`METHODS` that apply to ``model``."""
    out = ["roi_occlusion"]
    try:
        resolve_layer(model, None)
        out.append("layer_ig")
    except ValueError:
        pass
    if getattr(model, "connectivity", None) is not None:
        out.append("adjacency")
    out.append("pixel_ig")
    return tuple(m for m in METHODS if m in out)


def roi_importances(model, clips: Sequence, config: RealFacesConfig | None = None) -> dict:
    """ROI importances of ``clips`` under every method that applies to ``model``.

    Args:
        model: a trained package model.
        clips: :class:`~stag.preprocess.prepared.Prepared` clips (held out from ``model``).

    Returns:
        ``{"pred": (B,), "importance": {method: (B, N)}, "adjacency": (B, N, N) or None}``; the
        predicted class is the one explained.
    """
    cfg = config or RealFacesConfig()
    methods = model_methods(model)
    model = model.eval()
    preds, adj, imp = [], [], {m: [] for m in methods}
    with limit_threads(cfg.threads), torch.enable_grad():
        for start in range(0, len(clips), cfg.batch_size):
            batch = collate(list(clips[start:start + cfg.batch_size]))
            ig = attribute_flows(model, batch, AttributionConfig(method="ig", n_steps=cfg.n_steps,
                                                                  internal_batch_size=cfg.internal_batch_size))
            target = ig.target
            preds.append(ig.logits.argmax(1))
            rois = batch["rois"].numpy()
            amap = np.abs(ig.maps).sum(axis=(1, 2))  # (B, H, W)
            imp["pixel_ig"].append(np.stack([roi_mass(amap[i], rois[i]) for i in range(len(amap))]))
            imp["roi_occlusion"].append(np.abs(roi_occlusion(model, batch, target)))
            if "layer_ig" in methods:
                imp["layer_ig"].append(np.abs(roi_layer_attribution(
                    model, batch, target, n_steps=cfg.n_steps, internal_batch_size=cfg.internal_batch_size,
                    num_rois=rois.shape[1])))
            if "adjacency" in methods:
                a = model_details(model, batch)["adjacency"].astype(np.float64)
                adj.append(a)
                imp["adjacency"].append(a.sum(axis=1) - np.diagonal(a, axis1=1, axis2=2))
    return {"pred": np.concatenate(preds), "importance": {m: np.concatenate(v) for m, v in imp.items()},
            "adjacency": np.concatenate(adj) if adj else None}


# --------------------------------------------------------------------------- a run
def run_info(run_dir: str | Path) -> dict:
    """``results.json`` of a finished ``stag train`` folder, read through
    :class:`~stag.train.records.RunRecord` (raises naming the missing file: explain finished runs only)."""
    return RunRecord.load(run_dir).results


def check_data(results: dict, prepared: Sequence) -> None:
    """Raise when ``prepared`` is not the data the run was trained on (its recorded fingerprint)."""
    want = (results.get("provenance") or {}).get("data_fingerprint")
    have = data_fingerprint(pack_prepared(list(prepared)))
    if want and want != have:
        raise ValueError(f"the prepared data (fingerprint {have}) is not the data run {results.get('model')} seed "
                         f"{results.get('seed')} was trained on ({want}); load it with the run's recorded settings")


def score_run(run_dir: str | Path, prepared: Sequence, codes: Codes, config: RealFacesConfig | None = None, *,
              folds: Sequence[str] | None = None, progress: bool = False) -> pd.DataFrame:
    """Explain and score every fold of ``run_dir`` on its own held-out, coded clips.

    Args:
        run_dir: a finished ``stag train`` LOSO folder with ``folds/<fold>/model.pt``.
        prepared: the prepared clips the run was trained on (checked by fingerprint).
        codes: :func:`read_codes` of the same clips loaded with their FACS codings.
        folds: only these folds (default all); the chance level is then taken over them only.

    Returns:
        One row per clip and method, columns :data:`COLUMNS`.
    """
    cfg = config or RealFacesConfig()
    run_dir = Path(run_dir)
    results = run_info(run_dir)
    check_data(results, prepared)
    rows = []
    for path in tqdm(fold_checkpoints(run_dir), desc=f"explain {run_dir.name}", disable=not progress):
        fold = path.parent.name
        info = json.loads((path.parent / "fold.json").read_text()) if (path.parent / "fold.json").is_file() else {}
        fold = str(info.get("fold", fold))
        if folds is not None and fold not in folds:
            continue
        model, ckpt = load_fold_model(path)
        fold = str(ckpt.get("fold", fold))
        held = [p for p in heldout_clips(prepared, ckpt) if p.clip_id in codes.aus]
        if held:
            rows.append(fold_rows(model, held, codes, cfg, run=run_dir.name, results=results, fold=fold))
    if not rows:
        raise ValueError(f"{run_dir}: no fold held out a coded clip")
    return score_rows(pd.concat(rows, ignore_index=True), cfg)[list(COLUMNS)]


def fold_rows(model, clips: Sequence, codes: Codes, config: RealFacesConfig, *, run: str, results: dict,
              fold: str) -> pd.DataFrame:
    """Unscored rows of one fold's clips (importances, codes, top ROIs, edges)."""
    got = roi_importances(model, clips, config)
    rows = []
    for i, p in enumerate(clips):
        coded = coded_rois(codes.aus[p.clip_id])
        for method, values in got["importance"].items():
            text = format_importance(values[i])  # the recorded ranking: top ROIs come from it too
            order = np.argsort(-parse_importance(text), kind="stable")[:config.k]
            rows.append({
                "run": run, "model": results["model"], "selection": results.get("selection"),
                "seed": int(results["seed"]), "fold": fold, "clip_id": p.clip_id, "subject": p.subject,
                "dataset": p.dataset, "label": int(p.label), "pred": int(got["pred"][i]), "method": method,
                "coded_rois": join_names(np.asarray(ROI_NAMES)[coded]),
                "importance": text, "top_rois": join_names(np.asarray(ROI_NAMES)[order]),
                "edges": top_edges(got["adjacency"][i], config.top_edges) if method == "adjacency" else "",
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- loading the data
def load_data(results: dict, data_root: str | Path, codings: str | Path, cache_dir: str | Path | None = None):
    """``(prepared, codes, provenance)``: the run's training data (its recorded loader and
    preprocessing settings, from the cache when there) and the FACS codes of its clips."""
    data = results.get("data") or {}
    params = recorded_loader_params(data)
    loaded = load_and_prepare(data["dataset"], data_root=data_root, annotations=data.get("annotations"),
                              prepare_config=PrepareConfig.from_record(data.get("prepare", {})), cache_dir=cache_dir,
                              jobs=1, progress=False, data_params=params)
    coded = load(data["dataset"], data_root=str(data_root), codings=str(codings), **params)
    codes = read_codes(coded)
    return loaded.prepared, codes, {"data_checksum": data_checksum(loaded.clipset),
                                    "data_checksum_with_codings": data_checksum(coded)}


# --------------------------------------------------------------------------- recording
def record_scores(run_dir: str | Path, out: str | Path, *, data_root: str | Path, codings: str | Path,
                  cache_dir: str | Path | None = None, config: RealFacesConfig | None = None,
                  data=None, command: str | None = None, progress: bool = False) -> Path:
    """Score ``run_dir`` and write ``out/<run>.csv`` and ``out/<run>.json`` (provenance).

    ``data``: ``(prepared, codes, checksums)`` from :func:`load_data` to reuse across runs.
    Returns the CSV path.
    """
    cfg = config or RealFacesConfig()
    run_dir, out = Path(run_dir), Path(out)
    results = run_info(run_dir)
    prepared, codes, sums = data if data is not None else load_data(results, data_root, codings, cache_dir)
    if (results.get("provenance") or {}).get("data_checksum") not in (None, sums["data_checksum"]):
        raise ValueError(f"{run_dir}: the data at {data_root} (checksum {sums['data_checksum']}) is not the data the "
                         f"run was trained on ({results['provenance']['data_checksum']})")
    started, t0, c0 = utc_now(), time.perf_counter(), time.process_time()
    table = score_run(run_dir, prepared, codes, cfg, progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    commit, dirty = source_commit()
    scored = set(table["clip_id"])
    run_clips = {p.clip_id: p for p in prepared}
    excluded = codes.excluded[codes.excluded["clip_id"].isin(run_clips)]
    prov = {
        "run": run_dir.name, "model": results["model"], "selection": results.get("selection"),
        "seed": results.get("seed"), "run_config_hash": results.get("config_hash"),
        "run_commit": (results.get("provenance") or {}).get("commit"),
        "commit": commit, "dirty": dirty, **sums,
        "command": command or python_call("stag.explain.real_faces.record_scores", run_dir=str(run_dir),
                                          out=str(out), data_root=str(data_root), codings=str(codings)),
        "machine": machine(cfg.device), "started_utc": started, "finished_utc": utc_now(),
        "wall_time_s": wall, "cpu_time_s": cpu, "explain": cfg.to_dict(),
        "clips": {"run": len(run_clips), "scored": len(scored),
                  "subjects_scored": int(table.drop_duplicates("clip_id")[["dataset", "subject"]]
                                         .drop_duplicates().shape[0]),
                  "excluded": {str(k): int(v) for k, v in excluded["reason"].value_counts().items()},
                  "no_roi_aus": sorted(set(excluded.loc[excluded["reason"] == "no ROI", "au_text"].astype(str)))},
        "roi_names": list(ROI_NAMES), "class_names": list(results.get("class_names") or []),
    }
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{run_dir.name}.csv"
    atomic_write_text(csv, table.to_csv(index=False))
    atomic_write_text(out / f"{run_dir.name}.json", json.dumps(prov, indent=2, default=str))
    return csv


def recompute_scores(records: str | Path, data_root: str | Path, *, runs: str | Path = "runs/megc2019",
                     codings: str | Path = "", cache_dir: str | Path | None = None,
                     out_root: str | Path = "runs/megc2019_explain") -> Path:
    """Explain again, on a copy of the data at ``data_root``, the runs whose scores are recorded
    in ``records`` (``<run>.csv``; with none, every ``runs/*-seed*`` folder), from their fold
    checkpoints under ``runs/<run>/`` (``stag train`` output), into ``out_root``; returns
    ``out_root``, which :func:`stag.results.chapters.real_faces` reads like a recorded folder.

    ``codings`` defaults to the ``codings`` folder next to ``data_root``.

    Raises:
        FileNotFoundError: a recorded run has no trained folds under ``runs``.
    """
    codings = codings or Path(data_root).parent / "codings"
    names = [p.stem for p in sorted(Path(records).glob("*.csv"))] or \
        [p.parent.name for p in sorted(Path(runs).glob("*-seed*/results.json"))]
    data, key = None, None
    for name in names:
        run_dir = Path(runs) / name
        results = run_info(run_dir)
        this = json.dumps(results.get("data"), sort_keys=True)
        if this != key:
            data, key = load_data(results, data_root, codings, cache_dir), this
        record_scores(run_dir, out_root, data_root=data_root, codings=codings, data=data)
    return Path(out_root)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m stag.explain.real_faces RUN_DIR ... --data-root DIR --codings DIR --out DIR``."""
    ap = argparse.ArgumentParser(prog="python -m stag.explain.real_faces", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="finished `stag train` LOSO folders (with folds/*/model.pt)")
    ap.add_argument("--data-root", required=True, type=Path)
    ap.add_argument("--codings", required=True, type=Path, help="folder with the CASME II / SAMM FACS codings")
    ap.add_argument("--cache-dir", type=Path, default=None, help="the preprocessing cache the runs used")
    ap.add_argument("--out", type=Path, default=Path("results/megc2019_explain"))
    ap.add_argument("--n-steps", type=int, default=RealFacesConfig.n_steps)
    ap.add_argument("--skip-existing", action="store_true", help="leave runs whose CSV is already there")
    args = ap.parse_args(argv)
    cfg = RealFacesConfig(n_steps=args.n_steps)
    cmd = command_line(["python", "-m", "stag.explain.real_faces", *(sys.argv[1:] if argv is None else argv)])
    data, key = None, None
    for run_dir in args.runs:
        if args.skip_existing and (args.out / f"{run_dir.name}.csv").is_file():
            print(f"{run_dir.name}: recorded already, left as it is")
            continue
        results = run_info(run_dir)
        this = json.dumps(results.get("data"), sort_keys=True)
        if this != key:
            data, key = load_data(results, args.data_root, args.codings, args.cache_dir), this
        t0 = time.process_time()
        csv = record_scores(run_dir, args.out, data_root=args.data_root, codings=args.codings, config=cfg,
                            data=data, command=cmd)
        print(f"{run_dir.name}: wrote {csv} ({time.process_time() - t0:.0f} s CPU)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
