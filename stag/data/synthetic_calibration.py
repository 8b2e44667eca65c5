"""Calibration of the synthetic set's difficulty against the real composite.

The default :class:`~stag.data.synthetic.SyntheticConfig` must be about as hard as real data:
the STSTNet-like baseline, trained with honest LOSO (last epoch, 30 epochs, one 64 x 64
onset->apex flow), scores UF1 0.60-0.70 on the MEGC2019 composite (:data:`TARGET_UF1`), so
the default ``difficulty`` is the one where it scores the same on the synthetic set.

Every calibration point is a ``stag train`` run; :func:`calibration_row` reads a finished
run folder into one row and the committed table (``results/synthetic_calibration/
calibration.csv``, described in ``CALIBRATION.md`` beside it) is what the book plots via
:func:`calibration_table`. Nothing is trained when the book builds.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Honest-LOSO UF1 range of the STSTNet-like baseline on the real composite (30 epochs, last
#: epoch, 64 x 64 onset->apex flow; per-seed 0.62-0.66 and 0.676-0.694 in the design notes).
TARGET_UF1: tuple[float, float] = (0.60, 0.70)

#: The committed calibration table (repository-relative).
#: Where the committed calibration points lie, relative to a results root (the repository's ``results/``).
CALIBRATION_CSV = Path("synthetic_calibration") / "calibration.csv"

COLUMNS = ("difficulty", "model", "seed", "epochs", "selection", "uf1", "uar", "accuracy", "n_clips",
           "wall_time_s", "commit", "generator", "params", "command")


def calibration_row(run_dir: str | Path) -> dict:
    """One calibration point from a finished ``stag train --dataset synthetic`` run folder.

    ``difficulty`` is the run's ``-p difficulty`` (or the generator's default when not given).

    Raises:
        FileNotFoundError: the folder has no ``results.json`` (the run did not finish).
        ValueError: the run is not on the synthetic set.
    """
    from stag.data.synthetic import GENERATOR_VERSION, SyntheticConfig

    path = Path(run_dir) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no results.json; expected a finished `stag train` run folder")
    d = json.loads(path.read_text())
    data = d.get("data", {})
    if data.get("dataset") != "synthetic":
        raise ValueError(f"{run_dir}: dataset {data.get('dataset')!r}; expected a run on 'synthetic'")
    params = dict(data.get("params") or {})
    prov = d.get("provenance", {})
    return {
        "difficulty": float(params.get("difficulty", SyntheticConfig().difficulty)),
        "model": d["model"], "seed": d["seed"], "epochs": d["epochs"], "selection": d.get("selection", ""),
        "uf1": round(float(d["uf1"]), 4), "uar": round(float(d["uar"]), 4), "accuracy": round(float(d["accuracy"]), 4),
        "n_clips": data.get("n_clips"), "wall_time_s": round(float(d.get("wall_time_s", float("nan"))), 1),
        "commit": str(prov.get("commit", ""))[:10], "generator": GENERATOR_VERSION,
        "params": json.dumps(params, sort_keys=True), "command": prov.get("command", ""),
    }


def calibration_table(path: str | Path) -> "pandas.DataFrame":  # noqa: F821
    """The committed calibration points (``difficulty``, ``model``, ``uf1``...), with
    ``is_default`` marking rows at the generator's default difficulty and ``in_target``
    rows inside :data:`TARGET_UF1`. ``path`` is the table (``<results root>/`` + :data:`CALIBRATION_CSV`).

    Raises:
        FileNotFoundError: naming the expected table.
    """
    import pandas as pd

    from stag.data.synthetic import SyntheticConfig

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no calibration table; expected results/synthetic_calibration/calibration.csv")
    table = pd.read_csv(path)
    table["is_default"] = (table["difficulty"] - SyntheticConfig().difficulty).abs() < 1e-9
    table["in_target"] = table["uf1"].between(*TARGET_UF1)
    keys = [c for c in ("model", "difficulty", "seed") if c in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def calibration_summary(table: "pandas.DataFrame") -> "pandas.DataFrame":  # noqa: F821
    """Mean UF1 per model (rows) and difficulty (columns) over the recorded seeds, written
    ``"0.634 (3)"`` (mean, seeds); the default difficulty's column is marked ``*``."""
    from stag.data.synthetic import SyntheticConfig

    default = SyntheticConfig().difficulty
    g = table.groupby(["model", "difficulty"])["uf1"].agg(["mean", "size"]).reset_index()
    g["cell"] = [f"{m:.3f} ({n})" for m, n in zip(g["mean"], g["size"])]
    out = g.pivot(index="model", columns="difficulty", values="cell").fillna("")
    out.columns = [f"{d:.2f}{' *' if abs(d - default) < 1e-9 else ''}" for d in out.columns]
    out.columns.name = "difficulty"
    return out
