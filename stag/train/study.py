"""Several protocol runs (models x seeds x selections) with cached run folders.

Each run goes to its own folder ``root/<model>-<protocol>-<selection>-seed<s>-<hash>``
where the hash covers the data and every setting, so a rerun with the same parameters
reuses finished runs (and folds) and a changed parameter gets a fresh folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stag.models import list_models
from stag.train.config import TrainConfig, stable_hash
from stag.train.records import RunRecord
from stag.train.run import data_fingerprint, fold_dirname, pack_prepared, run_protocol


def parse_models(models: str | Sequence[str]) -> list[str]:
    """``"stag, ststnet"`` or a list -> ``["stag", "ststnet"]`` (validated against the registry)."""
    names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if str(m).strip()]
    unknown = [m for m in names if m not in list_models()]
    if unknown or not names:
        raise ValueError(f"models={models!r}: unknown {unknown}; available: {', '.join(list_models())}")
    return names


def seed_list(seeds: int | Sequence[int], base: int = 0) -> list[int]:
    """``seeds=3`` -> ``[base, base+1, base+2]``; a list passes through."""
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds={seeds}: expected >= 1 (a count) or a list of seeds")
        return [base + i for i in range(seeds)]
    return [int(s) for s in seeds]


def run_folder(root: str | Path, model: str, protocol: str, config: TrainConfig, data_key: str) -> Path:
    key = stable_hash({"model": model, "protocol": protocol, "config": config.to_dict(), "data": data_key}, 10)
    return Path(root) / fold_dirname(f"{model}-{protocol}-{config.selection}-seed{config.seed}-{key}")


def run_study(prepared: Sequence, models: str | Sequence[str], *, protocol: str = "loso",
              config: TrainConfig | None = None, seeds: int | Sequence[int] = 1,
              selections: Sequence[str] = ("last",), root: str | Path, jobs: int = 1,
              class_names: Sequence[str] | None = None, dask=None, progress: bool = True,
              n_splits: int = 5) -> list[RunRecord]:
    """Run every (model, selection, seed) under ``protocol``; reuse finished runs.

    ``config`` supplies everything but ``seed`` and ``selection``.
    """
    config = config or TrainConfig()
    data_key = data_fingerprint(pack_prepared(prepared))
    out = []
    for model in parse_models(models):
        for selection in selections:
            for seed in seed_list(seeds, config.seed):
                cfg = config.replace(seed=seed, selection=selection)
                folder = run_folder(root, model, protocol, cfg, data_key)
                out.append(run_protocol(prepared, model, protocol, cfg, folder, jobs=jobs, dask=dask,
                                        class_names=class_names, progress=progress, n_splits=n_splits))
    return out
