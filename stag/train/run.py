"""Run a whole evaluation protocol: split, train every fold, pool predictions, score.

Output folder (``out``)::

    run.json                     config hash + the full configuration (written first)
    folds/<fold>/model.pt        weights + model name/kwargs to rebuild it (see load_fold_model)
    folds/<fold>/predictions.csv this fold's test predictions
    folds/<fold>/fold.json       epoch kept, history, timing; written last = "fold finished"
    predictions.csv, results.json  pooled over all folds (written when every fold is done)

Every file is written atomically (temporary file + rename), so a run killed at any moment
leaves only finished folds behind and a rerun continues from there. A folder that holds
results of another configuration (different data, model, protocol or training config) is
refused, never mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from stag.data.aus import AU_VOCAB
from stag.data.clip import subject_group
from stag.faces import ROI_TABLE, au_prior_adjacency
from stag.files import atomic_write
from stag.preprocess.prepared import Prepared
from stag.train.records import RunRecord
from stag.train.config import ORACLE_LABEL, ORACLE_WARNING, TrainConfig, fold_seed, stable_hash
from stag.train.dataset import check_au_targets
from stag.train.loop import train_fold
from stag.train.metrics import confusion_matrix, per_group_scores, scores, subject_bootstrap_ci
from stag.train.protocols import Protocol, get_protocol
from stag.train.provenance import provenance, python_call


# --------------------------------------------------------------------------- model spec
@dataclass(frozen=True)
class ModelSpec:
    """A model by registry name plus the keyword arguments of :func:`stag.models.build`.

    ``factory`` replaces the registry (tests, user models): it is called with the same
    keyword arguments as ``build`` minus the name. ``init`` is a state dict every built model
    starts from (e.g. synthetic pretraining, :mod:`stag.train.pretrain`). Its identity (in
    :meth:`describe`, hence in the run's config hash) is ``init_info`` when given: the recipe
    that makes the start again (pretraining's configuration and cache key), so a run on another
    CPU, whose pretrained weights differ in the last bits, is still the same run. Without
    ``init_info`` it is the weights' digest.
    """

    name: str
    kwargs: dict = field(default_factory=dict)
    factory: Callable | None = None
    init: dict | None = None
    init_info: dict | None = None

    def build(self):
        if self.factory is not None:
            model = self.factory(**self.kwargs)
        else:
            # lazy: `stag --help` loads this module; stag.models loads only when used
            from stag.models import build

            model = build(self.name, **self.kwargs)
        if self.init is not None:
            model.load_state_dict(self.init)
        return model

    def describe(self) -> dict:
        kw = {k: (_digest_array(v) if isinstance(v, np.ndarray) else v) for k, v in self.kwargs.items()}
        out = {"name": self.name, "kwargs": kw,
               "factory": None if self.factory is None else f"{self.factory.__module__}.{self.factory.__qualname__}"}
        if self.init is not None:
            out["init"] = dict(self.init_info) if self.init_info else {"digest": state_digest(self.init)}
        return out


def state_digest(state: dict) -> str:
    """``sha256:<16 hex>`` over a state dict's names and tensor bytes (in key order)."""
    h = hashlib.sha256()
    for name, t in state.items():
        h.update(name.encode() + b"\0")
        h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return "sha256:" + h.hexdigest()[:16]


def _digest_array(a: np.ndarray) -> str:
    return "sha256:" + hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def model_spec(model: str | ModelSpec | Callable, prepared: Sequence, num_classes: int, config: TrainConfig,
               model_kwargs: dict | None = None) -> ModelSpec:
    """Fill in the data-dependent arguments (classes, channels, ROIs, AU prior) of a model.

    The channels and ROIs come from the first prepared clip, or, with no clips, from
    ``model_kwargs`` (``in_channels``, ``num_rois``); the AU prior is the ROI table's when
    ``num_rois`` is its size.
    """
    if isinstance(model, ModelSpec):
        return model
    shape = ({"in_channels": int(prepared[0].flows.shape[1]), "num_rois": int(prepared[0].rois.shape[0])}
             if len(prepared) else {})
    kwargs = {"num_classes": int(num_classes), **shape, "num_aus": len(AU_VOCAB) if config.au_loss_weight > 0 else 0,
              **(model_kwargs or {})}
    missing = [k for k in ("in_channels", "num_rois") if k not in kwargs]
    if missing:
        raise ValueError(f"model_spec: no prepared clips to read {', '.join(missing)} from; pass them in model_kwargs")
    kwargs = {**kwargs, "prior": kwargs.get("prior", _default_prior(kwargs["num_rois"]))}
    kwargs = {k: kwargs[k] for k in ("num_classes", "in_channels", "num_rois", "prior", "num_aus")} | kwargs
    if callable(model):
        return ModelSpec(getattr(model, "__name__", "custom"), kwargs, factory=model)
    # lazy: `stag --help` loads this module; stag.models loads only when used
    from stag.models import list_models

    if model not in list_models():
        raise ValueError(f"unknown model {model!r}; available: {', '.join(list_models())}")
    return ModelSpec(str(model), kwargs)


def _default_prior(num_rois: int) -> np.ndarray | None:
    return au_prior_adjacency() if num_rois == len(ROI_TABLE) else None


def load_fold_model(path: str | Path, map_location: str = "cpu"):
    """Rebuild the trained model saved in ``folds/<fold>/model.pt`` (eval mode).

    Returns ``(model, checkpoint)``; ``checkpoint`` holds ``fold``, ``epoch``, ``selection``,
    ``model``, ``model_kwargs``, ``class_names``, ``train_config``, ``config_hash`` and
    ``test_clip_ids``.
    """
    ckpt = torch.load(Path(path), map_location=map_location, weights_only=False)
    kwargs = dict(ckpt["model_kwargs"])
    if kwargs.get("prior") is not None:
        kwargs["prior"] = np.asarray(kwargs["prior"], dtype=np.float32)
    # lazy: `stag --help` loads this module; stag.models loads only when used
    from stag.models import build

    model = build(ckpt["model"], **kwargs)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


# --------------------------------------------------------------------------- results
def results_dict(*, scores_: dict, per_dataset: dict, folds: list[dict], confusion: np.ndarray,
                 class_names: Sequence[str], protocol: str, model: str, selection: str, epochs: int, seed: int,
                 config: dict, config_hash: str, wall_time_s: float, uf1_ci: tuple[float, float],
                 honest_last: dict | None, provenance_: dict | None) -> dict:
    """``results.json`` of a finished run (UF1/UAR the MEGC way: summed confusion matrix).

    ``selection == "oracle"`` marks optimistic, test-selected numbers (see
    :data:`~stag.train.config.ORACLE_LABEL`); ``honest_last_epoch`` then holds the
    last-epoch scores of the same run. Read back as a :class:`~stag.train.records.RunRecord`.
    """
    # lazy: `stag --help` loads this module; stag.environment loads only when used
    from stag.environment import device_summary, package_versions

    oracle = selection == "oracle"
    d = {
        "uf1": scores_["uf1"], "uar": scores_["uar"], "accuracy": scores_["accuracy"],
        "uf1_ci95": list(uf1_ci),
        "per_dataset": per_dataset, "folds": folds,
        "protocol": protocol, "model": model, "epochs": epochs, "seed": seed,
        "selection": selection,
        "selection_label": ORACLE_LABEL if oracle else selection,
        "oracle": oracle,
        "class_names": list(class_names),
        "confusion": np.asarray(confusion).tolist(),
        "wall_time_s": wall_time_s,
        "config_hash": config_hash, "config": config,
        "versions": package_versions(), "device": device_summary(),
        "provenance": provenance_,
    }
    if oracle:
        d["warning"] = ORACLE_WARNING
        d["honest_last_epoch"] = honest_last
    return d


# --------------------------------------------------------------------------- file helpers
def _write_json(path: Path, obj) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=_json_default)))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def fold_dirname(fold: str) -> str:
    """File-system-safe folder name of a fold (``"casme2/sub01"`` -> ``"casme2_sub01"``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", fold).strip("_") or "fold"


# --------------------------------------------------------------------------- data packing
def pack_prepared(prepared: Sequence) -> dict:
    """The fields training needs, as a few large arrays (cheap to ship to workers; joblib
    memory-maps them): ``flows`` ``(n, K, C, H, W)``, ``rois`` ``(n, N, 4)``, ``key_mask``
    ``(n, K)``, ``magnitudes`` ``(n, K)``, ``label`` ``(n,)`` and per-clip lists (``aus``,
    ``au_coded``, ``subject``, ``dataset``, ``clip_id``). :func:`unpack_prepared` undoes it and
    :func:`data_fingerprint` hashes it."""
    return {
        "flows": np.stack([np.asarray(p.flows, dtype=np.float32) for p in prepared]),
        "rois": np.stack([np.asarray(p.rois, dtype=np.float32) for p in prepared]),
        "key_mask": np.stack([np.asarray(p.key_mask, dtype=bool) for p in prepared]),
        "magnitudes": np.stack([np.asarray(p.magnitudes, dtype=np.float32) for p in prepared]),
        "label": np.array([int(p.label) for p in prepared], dtype=np.int64),
        "aus": [tuple(p.aus) for p in prepared],
        "au_coded": [bool(getattr(p, "au_coded", True)) for p in prepared],
        "subject": [str(p.subject) for p in prepared],
        "dataset": [str(p.dataset) for p in prepared],
        "clip_id": [str(p.clip_id) for p in prepared],
    }


def unpack_prepared(pack: dict, idx: np.ndarray) -> list:
    """The clips ``idx`` of a :func:`pack_prepared` pack, as :class:`~stag.preprocess.prepared.Prepared`
    (without their keyframe indices, which training does not read)."""
    return [Prepared(clip_id=pack["clip_id"][i], subject=pack["subject"][i], dataset=pack["dataset"][i],
                     label=int(pack["label"][i]), flows=pack["flows"][i], key_mask=pack["key_mask"][i],
                     magnitudes=pack["magnitudes"][i], key_indices=np.zeros(0, np.int64),
                     rois=pack["rois"][i], aus=pack["aus"][i],
                     au_coded=pack.get("au_coded", [True] * len(pack["clip_id"]))[i]) for i in idx]


def data_fingerprint(pack: dict) -> str:
    """16 hex digits of SHA-256 over a :func:`pack_prepared` pack: clip ids, subjects, datasets,
    the arrays and the AUs (the key of a run's or a cached model's training data)."""
    h = hashlib.sha256()
    for key in ("clip_id", "subject", "dataset"):
        h.update("\x1f".join(pack[key]).encode())
    for key in ("flows", "rois", "key_mask", "magnitudes", "label"):
        h.update(np.ascontiguousarray(pack[key]).tobytes())
    h.update(repr(pack["aus"]).encode())
    return h.hexdigest()[:16]


@contextmanager
def _torch_threads(n: int | None, worker: bool = False) -> Iterator[None]:
    """``n`` threads for a fold (see :mod:`stag.threads`): for good in a worker process we own,
    restored afterwards in the caller's process."""
    # lazy: `stag --help` loads this module; stag.threads loads only when used
    from stag.threads import configure_process, limit_threads

    if worker and n is not None:
        configure_process(n)  # before train_fold imports torch: the OpenMP wait policy acts
        yield
        return
    with limit_threads(n):
        yield


def fold_task(pack: dict, spec: ModelSpec, fold: str, train_idx: np.ndarray, test_idx: np.ndarray,
               config: TrainConfig, num_classes: int, threads: int | None, progress: bool = False,
               worker: bool = False) -> dict:
    """Train one fold on the clips ``train_idx`` of ``pack`` and predict ``test_idx`` (runs in this
    process, a loky worker or a Dask worker); returns the fold's output and times.

    ``threads``: torch/BLAS/OpenCV threads of the fold (None: leave them); ``worker``: this
    process is a pool worker, whose thread settings are set for good (:mod:`stag.threads`).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    with _torch_threads(threads, worker=worker), warnings.catch_warnings():
        if config.is_oracle:  # warned once by run_protocol, not once per fold
            warnings.simplefilter("ignore", UserWarning)
        used = torch.get_num_threads()  # what the fold's float sums depend on (recorded in provenance)
        out = train_fold(spec.build, unpack_prepared(pack, train_idx), unpack_prepared(pack, test_idx), config,
                         num_classes=num_classes, seed=fold_seed(config.seed, fold),
                         progress=progress, desc=f"fold {fold}")
    return {"fold": fold, "output": out, "wall_time_s": time.perf_counter() - start, "threads": used,
            "cpu_time_s": time.process_time() - cpu_start,
            "n_train": int(len(train_idx)), "n_test": int(len(test_idx))}


# --------------------------------------------------------------------------- main entry
def run_protocol(prepared: Sequence, model: str | ModelSpec | Callable = "stag", protocol: str | Protocol = "loso",
                 config: TrainConfig | None = None, out: str | Path | None = None, *, jobs: int = 1,
                 dask=None, force: bool = False, class_names: Sequence[str] | None = None,
                 num_classes: int | None = None, model_kwargs: dict | None = None, n_splits: int = 5,
                 progress: bool = True, folds: Sequence[str] | None = None,
                 expect_config_hash: str | None = None) -> RunRecord:
    """Train and evaluate ``model`` on ``prepared`` under ``protocol``.

    Args:
        prepared: :class:`~stag.preprocess.prepared.Prepared` clips (one PrepareConfig).
        model: registry name (:func:`stag.models.list_models`), a :class:`ModelSpec`, or a
            factory taking ``build``'s keyword arguments.
        protocol: ``"loso"``, ``"group_kfold"``, ``"stratified_kfold"``,
            ``"cross_dataset[:A->B]"`` or a :class:`~stag.train.protocols.Protocol`.
        config: :class:`~stag.train.config.TrainConfig` (default: its defaults).
        out: run folder (a temporary one when ``None``: nothing is kept).
        jobs: folds trained in parallel local processes (joblib loky); torch threads per
            worker = ``config.threads`` or cores // jobs.
        dask: a ``distributed.Client`` or scheduler address; folds are submitted there.
        force: retrain finished folds (and replace a folder of another configuration).
        class_names: class names of the label scheme (default ``class0..``).
        num_classes: default ``len(class_names)`` or ``max(label) + 1``.
        model_kwargs: extra keyword arguments for the model.
        n_splits: folds of the k-fold protocols.
        progress: tqdm bars over folds (and epochs when ``jobs == 1``).
        folds: train only these folds (by name); the result then holds their predictions
            alone (``results["partial"]``), and no pooled ``results.json`` is written unless
            every fold is finished. Used to reproduce one fold of a record.
        expect_config_hash: refuse, before training anything, data or settings whose run
            identity (config hash) is not this one (a record's).

    Returns:
        The run as a :class:`~stag.train.records.RunRecord` (its folder is ``out``;
        ``path`` is ``None`` when ``out`` was temporary).

    Raises:
        ValueError: bad arguments, a fold name that is not a fold of ``protocol`` on these
            clips, or a config hash other than ``expect_config_hash``.
    """
    config = config or TrainConfig()
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r}: expected an integer >= 1")
    prepared = list(prepared)
    if not prepared:
        raise ValueError("run_protocol: no prepared clips")
    check_au_targets(prepared, config.au_loss_weight)  # before packing, which keeps only the AUs
    if class_names is not None:
        class_names = tuple(class_names)
        num_classes = num_classes or len(class_names)
    num_classes = int(num_classes or max(int(p.label) for p in prepared) + 1)
    class_names = class_names or tuple(f"class{i}" for i in range(num_classes))
    proto = get_protocol(protocol, n_splits=n_splits, random_state=config.seed)
    if config.is_oracle:
        warnings.warn(ORACLE_WARNING, UserWarning, stacklevel=2)

    start = time.perf_counter()
    pack = pack_prepared(prepared)
    spec = model_spec(model, prepared, num_classes, config, model_kwargs)
    groups = subject_group(pack["dataset"], pack["subject"])
    splits = list(proto.split(groups, pack["label"], np.array(pack["dataset"], dtype=object)))

    run_info = run_identity(pack, class_names, spec, proto, config.to_dict())
    chash = stable_hash(run_info)
    if expect_config_hash is not None and chash != expect_config_hash:
        raise ValueError(f"run_protocol: data or configuration differ from the expected run (config hash {chash} "
                         f"here, {expect_config_hash} expected); check the data checksum and the settings")
    if folds is not None:
        unknown = sorted(set(folds) - {f for f, _, _ in splits})
        if unknown:
            raise ValueError(f"run_protocol: fold(s) {unknown} are not folds of {proto.name} on these clips")
    tmpdir = None
    if out is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="stag-run-")
        out = tmpdir.name
    out = Path(out)
    try:
        previous = _claim(out, chash, run_info, force)
        done = {} if force else _finished_folds(out, chash)
        pending = [(f, tr, te) for f, tr, te in splits if f not in done and (folds is None or f in folds)]
        if folds is None and not pending and (out / "results.json").exists():
            results = RunRecord.load(out)
            if results.config_hash == chash:
                return results
        threads = config.threads or max(1, (os.cpu_count() or 1) // max(1, jobs if dask is None else 1))
        for res in _execute(pending, pack, spec, config, num_classes, jobs, dask, threads, progress):
            _write_fold(out, res, pack, splits, spec, config, chash, class_names)
            # Time spent so far, kept across interrupted invocations.
            _write_json(out / "run.json", {"config_hash": chash, **run_info,
                                           "elapsed_s": previous + time.perf_counter() - start})
        finished = set(_finished_folds(out, chash))
        if folds is not None and not finished >= {f for f, _, _ in splits}:
            return _partial(out, [f for f, _, _ in splits if f in folds], chash, class_names, spec,
                            keep=tmpdir is None)
        results = _collect(out, splits, pack, spec, proto, config, chash, class_names,
                           previous + time.perf_counter() - start)
        if tmpdir is not None:
            results.path = None
        return results
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def _claim(out: Path, chash: str, run_info: dict, force: bool) -> float:
    """Mark ``out`` as this configuration's folder; return the seconds already spent on it."""
    run_json = out / "run.json"
    previous = 0.0
    if run_json.exists():
        old_info = json.loads(run_json.read_text())
        old = old_info.get("config_hash")
        if old != chash or force:
            if old != chash and not force:
                raise RuntimeError(
                    f"{out} holds results of a different configuration (config hash {old}, this run "
                    f"{chash}); use another --out folder, or --force to replace them")
            for p in ("folds", "results.json", "predictions.csv"):
                target = out / p
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        else:
            previous = float(old_info.get("elapsed_s", 0.0))
    _write_json(run_json, {"config_hash": chash, **run_info, "elapsed_s": previous})
    return previous


def _finished_folds(out: Path, chash: str) -> dict[str, dict]:
    done = {}
    for fj in sorted((out / "folds").glob("*/fold.json")):
        info = json.loads(fj.read_text())
        if info.get("config_hash") == chash and (fj.parent / "predictions.csv").exists():
            done[info["fold"]] = info
    return done


def _execute(pending, pack, spec, config, num_classes, jobs, dask, threads, progress) -> Iterator[dict]:
    bar = tqdm(total=len(pending), desc=f"{spec.name} folds", disable=not progress or not pending)
    try:
        if dask is not None:
            from distributed import Client, as_completed  # lazy: Dask is slow to import; only --dask needs it

            client = dask if isinstance(dask, Client) else Client(dask)
            try:
                data = client.scatter(pack, broadcast=True)
                futures = [client.submit(fold_task, data, spec, f, tr, te, config, num_classes, threads,
                                         worker=True, pure=False,
                                         key=f"stag-fold-{fold_dirname(f)}-{time.time_ns()}")
                           for f, tr, te in pending]
                for fut in as_completed(futures):
                    yield fut.result()
                    bar.update()
            finally:
                if not isinstance(dask, Client):
                    client.close()
        elif jobs > 1 and len(pending) > 1:
            from joblib import Parallel, delayed, parallel_config  # lazy: `stag --help` loads this module

            from stag.threads import environment, wait_env

            # Workers start with `threads` in OMP/MKL/OpenBLAS_NUM_THREADS (joblib) and set the
            # rest themselves (worker=True): jobs x threads never exceeds the cores.
            with parallel_config(backend="loky", inner_max_num_threads=threads):
                par = Parallel(n_jobs=jobs, return_as="generator_unordered", max_nbytes="1M")
            # The wait policy must be in the environment the workers start with: loading
            # fold_task imports torch (and OpenMP) before configure_process could set it.
            with warnings.catch_warnings(), environment(wait_env()):
                # loky restarts the shared worker pool when another caller (preprocessing) left
                # it with other settings; that is expected, not a leak.
                warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
                for res in par(delayed(fold_task)(pack, spec, f, tr, te, config, num_classes, threads,
                                                   worker=True)
                               for f, tr, te in pending):
                    yield res
                    bar.update()
        else:
            for f, tr, te in pending:
                yield fold_task(pack, spec, f, tr, te, config, num_classes, config.threads,
                                 progress=progress)
                bar.update()
    finally:
        bar.close()


def _fold_frame(pack, idx, probs, class_names, fold) -> pd.DataFrame:
    df = pd.DataFrame({
        "clip_id": [pack["clip_id"][i] for i in idx],
        "subject": [pack["subject"][i] for i in idx],
        "dataset": [pack["dataset"][i] for i in idx],
        "fold": fold,
        "y_true": pack["label"][idx],
        "y_pred": probs.argmax(1),
    })
    for c, name in enumerate(class_names):
        df[f"p_{name}"] = probs[:, c]
    return df


def fold_predictions(pack, idx, output, class_names, fold) -> pd.DataFrame:
    """A fold's ``predictions.csv`` rows from its :class:`~stag.train.loop.FoldOutput`: the
    kept model's prediction and probabilities, and with ``oracle`` the last epoch's too."""
    df = _fold_frame(pack, idx, output.probs, class_names, fold)
    if output.probs_last is not None:
        df["y_pred_last_epoch"] = output.probs_last.argmax(1)
    return df


def run_identity(pack: dict, class_names, spec: ModelSpec, proto: Protocol, train: dict) -> dict:
    """What makes two runs the same (data, classes, model, protocol, training config less
    ``threads``); its :func:`~stag.train.config.stable_hash` is the run's config hash."""
    return {"data": data_fingerprint(pack), "n_clips": len(pack["label"]), "class_names": list(class_names),
            "model": spec.describe(), "protocol": proto.describe(),
            "train": {k: v for k, v in train.items() if k != "threads"}}


def _write_fold(out, res, pack, splits, spec, config, chash, class_names) -> None:
    fold, fo = res["fold"], res["output"]
    test_idx = next(te for f, _, te in splits if f == fold)
    d = out / "folds" / fold_dirname(fold)
    kwargs = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in spec.kwargs.items()}
    ckpt = {"model": spec.name, "model_kwargs": kwargs, "state_dict": fo.state_dict, "fold": fold,
            "epoch": fo.epoch, "selection": fo.selection, "class_names": list(class_names),
            "train_config": config.to_dict(), "config_hash": chash,
            "test_clip_ids": [pack["clip_id"][i] for i in test_idx]}
    atomic_write(d / "model.pt", lambda p: torch.save(ckpt, p))
    df = fold_predictions(pack, test_idx, fo, class_names, fold)
    atomic_write(d / "predictions.csv", lambda p: df.to_csv(p, index=False))
    s = scores(df["y_true"], df["y_pred"], len(class_names))
    _write_json(d / "fold.json", {
        "fold": fold, "config_hash": chash, "epoch": fo.epoch, "selection": fo.selection,
        "n_train": res["n_train"], "n_test": res["n_test"], "wall_time_s": res["wall_time_s"],
        "cpu_time_s": res.get("cpu_time_s"), "threads": res.get("threads"),
        "accuracy": s["accuracy"], "history": fo.history})


def _read_fold(out: Path, fold: str) -> tuple[pd.DataFrame, dict]:
    d = out / "folds" / fold_dirname(fold)
    info = json.loads((d / "fold.json").read_text())
    pred = pd.read_csv(d / "predictions.csv", dtype={"subject": str, "clip_id": str, "dataset": str})
    return pred, {k: info.get(k) for k in ("fold", "n_train", "n_test", "epoch", "accuracy", "wall_time_s",
                                           "cpu_time_s", "threads")}


def _partial(out: Path, folds: list[str], chash: str, class_names, spec: ModelSpec, keep: bool) -> RunRecord:
    """The trained folds of an unfinished run: their predictions, nothing pooled or scored."""
    read = [_read_fold(out, f) for f in folds]
    pred = pd.concat([p for p, _ in read], ignore_index=True)
    return RunRecord(out.name, out if keep else None, {"partial": True, "config_hash": chash, "model": spec.name,
                                                        "class_names": list(class_names),
                                                        "folds": [i for _, i in read]}, pred)


def _collect(out, splits, pack, spec, proto, config, chash, class_names, wall) -> RunRecord:
    read = [_read_fold(out, fold) for fold, _, _ in splits]
    folds = [info for _, info in read]
    pred = pd.concat([p for p, _ in read], ignore_index=True)
    k = len(class_names)
    s = scores(pred["y_true"], pred["y_pred"], k)
    per = {d: {m: v[m] for m in ("uf1", "uar", "accuracy", "n")}
           for d, v in per_group_scores(pred["y_true"], pred["y_pred"], pred["dataset"], k).items()}
    honest = None
    if "y_pred_last_epoch" in pred:
        honest = {m: v for m, v in scores(pred["y_true"], pred["y_pred_last_epoch"], k).items()}
    d = results_dict(
        scores_=s, per_dataset=per, folds=folds, confusion=confusion_matrix(pred["y_true"], pred["y_pred"], k),
        class_names=class_names, protocol=proto.name, model=spec.name, selection=config.selection,
        epochs=config.epochs, seed=config.seed,
        config={"train": config.to_dict(), "model": spec.describe(), "protocol": proto.describe()},
        config_hash=chash, wall_time_s=wall,
        uf1_ci=subject_bootstrap_ci(pred["y_true"], pred["y_pred"], subject_group(pred["dataset"], pred["subject"]), k,
                                    n_boot=500, random_state=config.seed)[1:],
        honest_last=honest,
        provenance_=provenance(data_fingerprint=data_fingerprint(pack), folds=folds, wall_time_s=wall,
                               device=config.device, command=python_call(
                                   "stag.train.run_protocol", model=spec.name, protocol=proto.name, out=str(out))))
    atomic_write(out / "predictions.csv", lambda p: pred.to_csv(p, index=False))
    _write_json(out / "results.json", d)
    return RunRecord(out.name, out, d, pred)
