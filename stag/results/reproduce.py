"""Reproducing recorded runs: one fold retrained from its record, or the whole run again.

- :func:`reproduce_fold` rebuilds the data, model (and a pretrained start), training
  configuration and protocol from ``results.json`` and trains one fold through
  :func:`stag.train.run_protocol` itself (``folds=[fold]``, ``expect_config_hash``: the
  record's identity is checked before anything trains), with the record's thread count;
- :func:`reproduction_tolerance` says how close the probabilities must come
  (:data:`CROSS_MACHINE_ATOL`, measured);
- :func:`retrain` replays each record's ``stag train`` command on a user's copy of the data.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd

from stag.train.records import RecordError, RunRecord, load_records


def retrain_command(run: RunRecord, data_root: str | Path, out: str | Path, device: str = "auto") -> list[str]:
    """The recorded ``stag train`` command with another data root, run folder and device
    (the ``argv`` after ``stag``)."""
    cmd = run.provenance.get("command") or ""
    argv = shlex.split(cmd)
    if len(argv) < 2 or argv[0] != "stag" or argv[1] != "train":
        raise RecordError(f"recorded run {run.name}: its command {cmd!r} is not a `stag train` command line")
    argv, out_args = argv[1:], []
    replace = {"--data-root": str(data_root), "--out": str(out), "--device": device, "--cache-dir": ".stag-cache"}
    i = 0
    while i < len(argv):
        key = argv[i].split("=", 1)[0]
        if key in replace:
            i += 1 if "=" in argv[i] else 2
            continue
        out_args.append(argv[i])
        i += 1
    for key, value in replace.items():
        out_args += [key, value]
    prepare = (run.results.get("data") or {}).get("prepare") or {}
    if "registration" not in prepare and "--registration" not in out_args:
        out_args += ["--registration", "none"]  # recorded before ROIs were registered to the flows
    return out_args


def retrain(table: pd.DataFrame, data_root: str | Path, out_root: str | Path, device: str = "auto") -> pd.DataFrame:
    """Rerun every recorded run with its recorded command through ``stag train`` on the data at
    ``data_root`` into ``out_root/<run>`` (resumable), and load the new runs as a table like
    :func:`~stag.train.records.load_records`'s."""
    out_root = Path(out_root)
    for run in table["record"]:
        argv = retrain_command(run, data_root, out_root / run.name, device)
        argv = [*argv, "--quiet"] if "--quiet" not in argv else argv
        # Replayed as the command it was (stag.cli sits above this module, which it loads).
        if subprocess.run([sys.executable, "-m", "stag", *argv]).returncode != 0:
            raise RuntimeError(f"retraining recorded run {run.name} failed: stag {shlex.join(argv)}")
    return load_records(out_root)


def load_or_retrain(records: str | Path, data_root: str | Path = "", device: str = "auto",
                    out_root: str | Path = "runs/megc2019-retrain") -> pd.DataFrame:
    """The chapter's table: the recorded runs (:func:`~stag.train.records.load_records`), or, when
    ``data_root`` is given, the same runs retrained on that data (:func:`retrain`)."""
    table = load_records(records)
    return retrain(table, data_root, out_root, device) if data_root else table


def fold_threads(run: RunRecord) -> int:
    """Torch threads each fold of ``run`` trained with: as recorded (``provenance.numerics``),
    else its ``threads`` setting, else the recorded machine's cores divided by the command's
    ``--jobs`` (as :func:`run_protocol` chose them for records made before threads were
    recorded). Float sums depend on the thread count, so a reproduction uses the same."""
    recorded = (run.provenance.get("numerics") or {}).get("fold_threads")
    if isinstance(recorded, int):
        return recorded
    train = (run.results.get("config") or {}).get("train") or {}
    if train.get("threads"):
        return int(train["threads"])
    argv = shlex.split(run.provenance.get("command") or "")
    jobs = next((int(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "--jobs"), 1)
    cores = int((run.provenance.get("machine") or {}).get("logical_cores") or 1)
    return max(1, cores // max(1, jobs))


#: Largest difference measured between a reproduced fold's class probabilities and its record
#: made on another machine: 9.4e-5 (results/synthetic_study/ststnet-seed0, its smallest fold,
#: reproduced on an AVX2 machine; exactly the same with two busy processes beside it, and 9.1e-5
#: with torch held to its scalar kernels, ATEN_CPU_CAPABILITY=default). Float sums differ
#: between CPUs and kernel choices (SIMD width, MKL's and oneDNN's ISA and blocking), not with
#: the load: on one machine, with the recorded thread count and the same kernel settings, a fold
#: reproduced bit for bit. Ten times the measured worst case.
CROSS_MACHINE_ATOL = 1e-3


def reproduction_tolerance(run: RunRecord) -> float:
    """Absolute tolerance on the class probabilities of a fold of ``run`` reproduced here:
    ``0`` when the record names this process's numerics (same CPU model and torch version, a
    recorded thread count, and every setting of :func:`stag.train.provenance.numerics` equal:
    torch's SIMD capability and ``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``,
    ``MKL_ENABLE_INSTRUCTIONS``, ``MKL_CBWR``, unset counting as a value), else
    :data:`CROSS_MACHINE_ATOL`. A record made before a setting was recorded gets
    :data:`CROSS_MACHINE_ATOL`: the CPU model name alone is too coarse ("AMD EPYC") to promise
    the same kernels."""
    from stag.train.provenance import machine, numerics

    rec, here = run.provenance.get("machine") or {}, machine("cpu")
    num = run.provenance.get("numerics") or {}
    settings = {k: v for k, v in numerics([]).items() if k != "fold_threads"}
    same = (isinstance(num.get("fold_threads"), int)
            and all(k in num and num[k] == v for k, v in settings.items())
            and rec.get("cpu") == here["cpu"] and rec.get("torch") == here["torch"])
    return 0.0 if same else CROSS_MACHINE_ATOL


def recorded_loader_params(data: dict) -> dict:
    """The loader parameters a record was made with (its ``data`` block): the ``-p`` ones, and
    for a composite record made before the channel order was verified (it names no
    ``channel_order``), the legacy reading it used (:data:`stag.data.megc2019.LEGACY_CHANNEL_ORDER`),
    loaded without the channel check that would refuse it."""
    from stag.data.megc2019 import LEGACY_CHANNEL_ORDER

    params = dict(data.get("params") or {})
    named = "channel_order" in params or "channel_order" in (data.get("loader") or {})
    if data.get("dataset") == "megc2019_flow" and not named:
        params["channel_order"] = LEGACY_CHANNEL_ORDER
    if params.get("channel_order") == LEGACY_CHANNEL_ORDER:
        params.setdefault("check_channels", False)  # the misread order, loaded on purpose to reproduce it
    return params


def smallest_fold(run: RunRecord) -> str:
    """The fold with the fewest test clips (first by name among ties)."""
    counts = run.predictions.groupby("fold").size()
    return str(counts[counts == counts.min()].sort_index().index[0])


def reproduce_fold(run: RunRecord | str | Path, data_root: str | Path, fold: str | None = None, *,
                   device: str = "cpu", cache_dir: str | Path | None = None,
                   jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Retrain one fold of a recorded run from its recorded configuration.

    Loads the data with the recorded loader and preprocessing settings
    (:func:`recorded_loader_params`), rebuilds the model (with its pretrained start, made
    again from its recorded configuration) and training configuration from ``results.json``,
    and trains ``fold`` (default :func:`smallest_fold`) with :func:`stag.train.run_protocol`
    (``folds=[fold]``, the record's config hash expected, the record's fold threads).
    Returns ``(new, recorded)`` predictions of that fold, both sorted by clip id. ``jobs``
    processes prepare the data (the result does not depend on it). ``data_root`` may be
    empty for generated data (the synthetic set).

    Raises:
        RecordError: the rebuilt model or configuration is not the recorded one, or the fold
            is not a fold of the run's protocol on this data.
    """
    from dataclasses import fields as dc_fields

    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.config import TrainConfig
    from stag.train.experiment import load_and_prepare
    from stag.train.pretrain import PretrainConfig, with_pretraining
    from stag.train.protocols import protocol_from_description
    from stag.train.run import model_spec, run_protocol

    run = run if isinstance(run, RunRecord) else RunRecord.load(run)
    d = run.results
    data = d.get("data") or {}
    fold = fold or smallest_fold(run)
    loaded = load_and_prepare(data["dataset"], data_root=data_root or None, annotations=data.get("annotations"),
                              prepare_config=PrepareConfig.from_record(data.get("prepare", {})), cache_dir=cache_dir,
                              jobs=jobs, progress=False, data_params=recorded_loader_params(data))
    config = TrainConfig(**{**d["config"]["train"], "device": device, "threads": fold_threads(run)})
    class_names = tuple(d["class_names"])
    spec = model_spec(d["model"], loaded.prepared, len(class_names), config)
    init = d["config"]["model"].get("init")
    if init:  # a pretrained start: made again from its recorded configuration (deterministic, cached)
        pre = PretrainConfig(**{f.name: init[f.name] for f in dc_fields(PretrainConfig) if f.name in init})
        spec, _ = with_pretraining(spec, loaded.prepared, config, pre, cache_dir=cache_dir, jobs=jobs)
    if spec.describe() != d["config"]["model"]:
        raise RecordError(f"recorded run {run.name}: the model rebuilt from its config, {spec.describe()}, is not "
                          f"the recorded {d['config']['model']}")
    try:
        new = run_protocol(loaded.prepared, spec, protocol_from_description(d["config"]["protocol"]), config,
                           class_names=class_names, folds=[fold], expect_config_hash=d.get("config_hash"),
                           progress=False)
    except ValueError as exc:
        raise RecordError(f"recorded run {run.name}: {exc}") from None
    recorded = run.predictions[run.predictions["fold"] == fold]
    pred = new.predictions[new.predictions["fold"].astype(str) == fold]
    return (pred.sort_values("clip_id").reset_index(drop=True), recorded.sort_values("clip_id").reset_index(drop=True))
