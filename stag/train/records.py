"""Run records: any run folder, live or recorded, as one checked object, and the table of them.

A run folder holds what :func:`stag.train.run_protocol` writes at its end: ``results.json``
(scores, full configuration, provenance) and ``predictions.csv`` (one row per test clip). A
*recorded* run is such a folder copied, with only those two files, under
``results/<study>/<run>/`` (:func:`record_run`, ``stag record``); a *live* run is the folder a
chapter or ``stag train`` just wrote. Both are a :class:`RunRecord`, loaded and checked here:

- :meth:`RunRecord.load` reads the two files; :meth:`RunRecord.check` re-scores every view
  from its predictions with :mod:`stag.train.metrics` and checks that every clip is predicted
  (:func:`rescore`, :func:`check_coverage`), failing with the run named when a number in
  ``results.json`` disagrees;
- a run made with ``--selection oracle`` also records each fold's honest last epoch, so it
  gives two views (:meth:`RunRecord.views`): ``<run>/last`` (honest) and ``<run>/oracle``
  (labelled, literature comparison only);
- :func:`load_records` (a folder of records) and :func:`records_table` (live runs) build the
  one table, one row per view, that every table of :mod:`stag.results.tables` reads.

Run names: ``<model>-seed<N>`` for LOSO runs recorded with ``--selection oracle`` (both
views), ``<model>-<selection>-seed<N>`` for others (``ststnet-inner_val-seed2``). The tables
read model, selection, seed and protocol from ``results.json``; the name only has to be unique.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stag.data.clip import subject_group
from stag.train.names import ROLE_ORDER, RunName, run_name  # noqa: F401  (ROLE_ORDER: the tables' order)
from stag.train.metrics import confusion_matrix, per_group_scores, scores

RECORD_FILES = ("results.json", "predictions.csv")

DATASET_NAMES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC"}

SELECTION_ORDER = ("last", "inner_val", "oracle")


HONEST = ("last", "inner_val")

#: How oracle rows read in every table.
ORACLE_SHORT = "oracle (test-selected epoch)"



class RecordError(ValueError):
    """A run record is inconsistent (scores that its predictions do not give, missing clips)."""


@dataclass
class RunRecord:
    """One run folder (live or recorded): its name, ``results.json`` and ``predictions.csv``.

    ``path`` is ``None`` for a live run made in a temporary folder (nothing was kept). The
    properties read ``results.json`` (``uf1``, ``model``, ``seed``...), so the same object
    serves a chapter that just trained and one that reads committed records.
    """

    name: str
    path: Path | None
    results: dict
    predictions: pd.DataFrame = field(repr=False)

    @classmethod
    def load(cls, path: str | Path, *, check: bool = False) -> RunRecord:
        """Read a run folder; with ``check``, also :meth:`check` it.

        Raises:
            FileNotFoundError: naming the missing file.
            RecordError: with ``check``, a view whose predictions do not give its scores.
        """
        path = Path(path)
        for f in RECORD_FILES:
            if not (path / f).is_file():
                raise FileNotFoundError(f"run {path.name}: {path / f} is missing")
        pred = pd.read_csv(path / "predictions.csv", dtype={"subject": str, "clip_id": str, "dataset": str,
                                                            "fold": str})
        run = cls(path.name, path, json.loads((path / "results.json").read_text()), pred)
        if check:
            run.check()
        return run

    # -- what results.json says
    @property
    def class_names(self) -> list[str]:
        return list(self.results["class_names"])

    @property
    def groups(self) -> np.ndarray:
        """``dataset/subject`` of every prediction row (the unit the bootstrap resamples)."""
        return subject_group(self.predictions["dataset"], self.predictions["subject"])

    @property
    def provenance(self) -> dict:
        return self.results.get("provenance") or {}

    def __getattr__(self, name: str):
        # uf1, uar, accuracy, model, protocol, selection, seed, epochs, folds, per_dataset,
        # config, config_hash, wall_time_s: read from results.json
        if name in _RESULT_FIELDS:
            return self.results.get(name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def is_oracle(self) -> bool:
        return self.results.get("selection") == "oracle"

    @property
    def confusion(self) -> np.ndarray:
        return np.asarray(self.results["confusion"])

    @property
    def uf1_ci(self) -> tuple[float, float]:
        """95% subject-bootstrap interval of this run's UF1 (``uf1_ci95``)."""
        return tuple(self.results.get("uf1_ci95") or (np.nan, np.nan))

    @property
    def honest_last(self) -> dict | None:
        """An oracle run's last-epoch scores (``honest_last_epoch``), else ``None``."""
        return self.results.get("honest_last_epoch")

    @property
    def out(self) -> Path | None:
        """The run folder (``None``: a temporary one, not kept)."""
        return self.path

    def views(self) -> list[RunRecord]:
        """The selections this run holds.

        A run trained with ``--selection oracle`` evaluates the test fold after every epoch
        only to *report* the best one; training itself is the same as with ``last`` (same
        seed, batches and weights), and it also records each fold's last-epoch prediction
        (``y_pred_last_epoch``, scored in ``honest_last_epoch``). Such a run gives two
        views: ``<run>/last`` (honest) and ``<run>/oracle`` (labelled, literature comparison
        only). Every other run is its own single view.
        """
        d, pred = self.results, self.predictions
        if d.get("selection") != "oracle" or "y_pred_last_epoch" not in pred:
            return [self]
        honest = d.get("honest_last_epoch") or {}
        last_pred = pred.drop(columns=[c for c in pred if c.startswith("p_")]).assign(y_pred=pred["y_pred_last_epoch"])
        last = {k: v for k, v in d.items() if k not in ("confusion", "per_dataset", "uf1_ci95", "warning",
                                                        "honest_last_epoch", "selection_label")}
        last.update(selection="last", oracle=False, **{m: honest.get(m) for m in ("uf1", "uar", "accuracy")})
        return [RunRecord(f"{self.name}/last", self.path, last, last_pred),
                RunRecord(f"{self.name}/oracle", self.path, d, pred)]

    def check(self) -> list[dict]:
        """Re-score every view and check its coverage; the scores of each view.

        Raises:
            RecordError: naming the view and the number or clips that do not match.
        """
        out = []
        for view in self.views():
            check_coverage(view)
            out.append(rescore(view))
        return out


_RESULT_FIELDS = frozenset({"uf1", "uar", "accuracy", "model", "protocol", "selection", "seed", "epochs", "folds",
                            "per_dataset", "config", "config_hash", "wall_time_s"})


def rescore(run: RunRecord | str | Path) -> dict:
    """Scores of ``run`` recomputed from ``predictions.csv``, checked against ``results.json``.

    Returns ``{uf1, uar, accuracy, per_dataset, confusion}`` (the MEGC way: one confusion
    matrix summed over folds).

    Raises:
        RecordError: naming the run and the number that differs (a predictions file edited
            or swapped after the run).
    """
    run = run if isinstance(run, RunRecord) else RunRecord.load(run)
    d, pred = run.results, run.predictions
    k = len(run.class_names)
    s = scores(pred["y_true"], pred["y_pred"], k)
    cm = confusion_matrix(pred["y_true"], pred["y_pred"], k)
    per = per_group_scores(pred["y_true"], pred["y_pred"], pred["dataset"], k)
    problems = []
    for m in ("uf1", "uar", "accuracy"):
        if not np.isclose(s[m], d[m], rtol=0, atol=1e-9, equal_nan=True):
            problems.append(f"{m} {d[m]!r} in results.json, {s[m]!r} from predictions.csv")
    if "confusion" in d and not np.array_equal(cm, np.asarray(d["confusion"])):
        problems.append(f"confusion {d['confusion']} in results.json, {cm.tolist()} from predictions.csv")
    if "per_dataset" not in d:
        pass  # the last-epoch view of an oracle record: results.json scores it overall only
    elif set(per) != set(d["per_dataset"]):
        problems.append(f"datasets {sorted(d['per_dataset'])} in results.json, {sorted(per)} in predictions.csv")
    else:
        for name, v in per.items():
            for m in ("uf1", "uar", "accuracy", "n"):
                if not np.isclose(v[m], d["per_dataset"][name][m], rtol=0, atol=1e-9, equal_nan=True):
                    problems.append(f"{name} {m} {d['per_dataset'][name][m]!r} in results.json, {v[m]!r} "
                                    "from predictions.csv")
    if problems:
        raise RecordError(f"recorded run {run.name} ({run.path}): predictions.csv does not give the scores in "
                          f"results.json: " + "; ".join(problems))
    return {**s, "per_dataset": per, "confusion": cm}


def check_coverage(run: RunRecord) -> None:
    """Every clip of the data is predicted (LOSO, k-fold: exactly once; cross-dataset: each
    fold predicts every clip of its test dataset once).

    Raises:
        RecordError: naming the run, with the counts.
    """
    pred = run.predictions
    d = run.results
    n_data = (d.get("data") or {}).get("n_clips")
    if d["protocol"] == "cross_dataset":
        dup = pred.duplicated(["fold", "clip_id"])
        if dup.any():
            raise RecordError(f"recorded run {run.name}: clips predicted twice in one fold: "
                              f"{pred.loc[dup, 'clip_id'].head(3).tolist()}")
        for test, g in pred.groupby("dataset"):
            sets = {f: frozenset(gg["clip_id"]) for f, gg in g.groupby("fold")}
            if len(set(sets.values())) > 1:
                raise RecordError(f"recorded run {run.name}: folds testing {test} predict different clips")
        return
    if pred["clip_id"].duplicated().any():
        raise RecordError(f"recorded run {run.name}: some clips are predicted more than once "
                          f"({pred['clip_id'][pred['clip_id'].duplicated()].head(3).tolist()})")
    if n_data is not None and len(pred) != int(n_data):
        raise RecordError(f"recorded run {run.name}: predictions.csv has {len(pred)} clips but the run's data "
                          f"has {n_data}; record a finished run only")
    if len(d.get("folds", [])) != pred["fold"].nunique():
        raise RecordError(f"recorded run {run.name}: results.json lists {len(d.get('folds', []))} folds, "
                          f"predictions.csv {pred['fold'].nunique()}")


def records_table(runs: Iterable[RunRecord], variant: Callable[[dict], RunName] = run_name) -> pd.DataFrame:
    """One row per view of ``runs`` (live or recorded :class:`RunRecord`), each checked.

    ``variant(results) -> RunName`` names the model of each run in the tables (default
    :func:`~stag.train.names.run_name`); a study whose runs differ in their data settings names
    them apart (``stag@K1``: :meth:`RunName.from_results` with the study's K).

    Columns: ``run, name`` (the :class:`~stag.train.names.RunName`), ``model`` (its text), ``role,
    protocol, selection, seed, epochs, n_clips, uf1, uar,
    accuracy, keyframes, data_params`` (the loader's ``-p`` parameters), ``uf1_<dataset>,
    uar_<dataset>`` (each dataset present), ``commit, dirty, data_checksum, command, device,
    cpu, cores, wall_time_s, cpu_time_s`` and ``record`` (the view's :class:`RunRecord`).
    Scores come from :func:`rescore`, never from the JSON. No runs give an empty table with
    these columns.

    Raises:
        RecordError: a view whose predictions do not give its scores, or miss clips.
    """
    rows = []
    for run in (v for r in runs for v in r.views()):
        check_coverage(run)
        s = rescore(run)
        d, p = run.results, run.provenance
        mach = p.get("machine") or {}
        name = variant(d)
        data = d.get("data") or {}
        row = {"run": run.name, "name": name, "model": str(name), "role": name.role, "protocol": d["protocol"],
               "selection": d["selection"], "seed": int(d["seed"]), "epochs": d["epochs"],
               "n_clips": len(run.predictions), "uf1": s["uf1"], "uar": s["uar"], "accuracy": s["accuracy"],
               "keyframes": (data.get("prepare") or {}).get("keyframes"), "data_params": data.get("params") or {}}
        for name, v in s["per_dataset"].items():
            row[f"uf1_{name}"], row[f"uar_{name}"] = v["uf1"], v["uar"]
        row.update(commit=p.get("commit"), dirty=p.get("dirty"), data_checksum=p.get("data_checksum"),
                   command=p.get("command"), device=mach.get("device"), cpu=mach.get("cpu"),
                   cores=mach.get("logical_cores"), wall_time_s=p.get("wall_time_s", d.get("wall_time_s")),
                   cpu_time_s=p.get("cpu_time_s"), record=run)
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=TABLE_COLUMNS)


TABLE_COLUMNS = ["run", "name", "model", "role", "protocol", "selection", "seed", "epochs", "n_clips", "uf1", "uar",
                 "accuracy", "keyframes", "data_params", "commit", "dirty", "data_checksum", "command", "device",
                 "cpu", "cores", "wall_time_s", "cpu_time_s", "record"]


def load_records(root: str | Path, variant: Callable[[dict], RunName] = run_name) -> pd.DataFrame:
    """:func:`records_table` of every run folder under ``root`` (``root/*/results.json``, in
    name order); an absent or empty ``root`` gives an empty table."""
    root = Path(root)
    folders = sorted(root.glob("*/results.json")) if root.is_dir() else []
    return records_table((RunRecord.load(rj.parent) for rj in folders), variant)


def tried(root: str | Path) -> str:
    """The committed list of what was tried and with what budget (``TRIED.md``, else
    ``TRIED.yaml``/``TRIED.yml`` rendered as a Markdown list); a note when absent."""
    root = Path(root)
    if (root / "TRIED.md").is_file():
        return (root / "TRIED.md").read_text()
    for name in ("TRIED.yaml", "TRIED.yml"):
        if (root / name).is_file():
            import yaml

            data = yaml.safe_load((root / name).read_text())
            items = data if isinstance(data, list) else [{"what": k, "budget": v} for k, v in (data or {}).items()]
            return "\n".join("- " + "; ".join(f"**{k}**: {v}" for k, v in (i.items() if isinstance(i, dict)
                                                                           else [("what", i)]))
                             for i in items)
    return f"_No list of what was tried has been recorded ({root / 'TRIED.md'} is absent)._"


def record_run(run_dir: str | Path, dest: str | Path, *, force: bool = False) -> Path:
    """Copy a finished run's ``results.json`` and ``predictions.csv`` (only those) to ``dest``.

    The run must carry provenance, cover every clip and re-score to its own numbers, in every
    view it holds (:meth:`RunRecord.views`: an oracle record's last epoch too). An
    existing different record at ``dest`` is refused unless ``force``; an identical one is
    left as it is.

    Raises:
        FileNotFoundError: the run folder lacks one of the two files.
        RecordError: no provenance, missing clips, scores that do not match, or a different
            record at ``dest`` without ``force``.
    """
    run_dir, dest = Path(run_dir), Path(dest)
    run = RunRecord.load(run_dir)
    run.name = dest.name
    if not run.provenance.get("commit"):
        raise RecordError(f"{run_dir}/results.json has no provenance; rerun it with this version of `stag train`")
    run.check()  # every view: an oracle record's honest last epoch is checked like the rest
    if dest.exists():
        same = all((dest / f).is_file() and (dest / f).read_bytes() == (run_dir / f).read_bytes()
                   for f in RECORD_FILES)
        extra = sorted(p.name for p in dest.iterdir() if p.name not in RECORD_FILES)
        if same and not extra:
            return dest
        if not force:
            raise RecordError(f"{dest} already holds a different record; pass --force to replace it")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in RECORD_FILES:
        shutil.copyfile(run_dir / f, dest / f)
    return dest

