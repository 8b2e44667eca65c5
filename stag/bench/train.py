"""``stag bench train``: LOSO wall time per model on the default synthetic set, and the
speed-up of training folds in 2 processes (``--jobs 2``) over 1.

The composite case times the recorded real-data recipe on the MEGC2019 composite flows
(68 folds, K = 1, 64-pixel flows, 30 epochs, lr 1e-3)::

    stag bench train --dataset megc2019_flow --data-root ../shared/data/megc2019 --jobs 2

Every run trains from scratch in a temporary folder (no cached folds); preprocessing goes
through the usual cache (``--cache-dir``), so only its first run pays for the flow.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd

from stag.train import TrainConfig, run_protocol

HELP = "LOSO wall time per model on the synthetic set, and --jobs 2 vs --jobs 1 speed-up"

DEFAULT_MODELS = "stag,ststnet,offapexnet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated models (default {DEFAULT_MODELS})")
    parser.add_argument("--dataset", default="synthetic", help="synthetic (default) or megc2019_flow (the composite case)")
    parser.add_argument("--data-root", default=None, help="the composite's folder (with --dataset megc2019_flow)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per fold (default 6, the book's quick profile; 30 for the composite)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="fold-parallel process counts to time")
    parser.add_argument("--speedup-models", default="stag,ststnet",
                        help="models timed at every --jobs value (the others only at the largest)")
    parser.add_argument("--n-subjects", type=int, default=20)
    parser.add_argument("--clips-per-subject", type=int, default=12)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--output-size", type=int, default=64)
    parser.add_argument("--keyframes", type=int, default=4)
    parser.add_argument("--cache-dir", default=".stag-cache", help="preprocessing cache (default .stag-cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fold (default 1)")


def loso_wall_time(prepared, model: str, *, epochs: int, jobs: int, class_names, seed: int = 0,
                   threads: int | None = 1, lr: float = 2e-3) -> dict:
    """Train ``model`` under LOSO from scratch and time it; returns one table row.

    ``threads``: torch threads per fold (1: the speed-up then measures fold parallelism
    alone, and two threads never wait for each other on a busy two-core machine).
    """
    config = TrainConfig(epochs=epochs, batch_size=32, lr=lr, seed=seed, device="cpu", threads=threads)
    with tempfile.TemporaryDirectory(prefix="stag-bench-train-") as out:
        start = time.perf_counter()
        res = run_protocol(prepared, model, "loso", config, out, jobs=jobs, class_names=class_names, progress=False)
        wall = time.perf_counter() - start
    fold_s = sum(f["wall_time_s"] for f in res.folds)
    cpu_s = sum(f["cpu_time_s"] or 0.0 for f in res.folds)
    return {"model": model, "jobs": jobs, "folds": len(res.folds), "epochs": epochs, "wall_s": wall,
            "fold_s_sum": fold_s, "fold_cpu_s": cpu_s, "cpu_s_per_fold_epoch": cpu_s / (len(res.folds) * epochs),
            "uf1": res.uf1, "uar": res.uar, "accuracy": res.accuracy}


def train_table(prepared, models, *, epochs: int, jobs=(1, 2), speedup_models=("stag",), class_names=None,
                seed: int = 0, threads: int | None = 1, lr: float = 2e-3):
    """Rows of :func:`loso_wall_time` for every model at ``max(jobs)`` and for
    ``speedup_models`` at every ``jobs`` value, with ``speedup`` = wall(jobs=min) / wall(jobs)."""
    rows = []
    top = max(jobs)
    for model in models:
        for j in sorted(set(jobs)) if model in speedup_models else [top]:
            rows.append(loso_wall_time(prepared, model, epochs=epochs, jobs=j, class_names=class_names, seed=seed,
                                       threads=threads, lr=lr))
    table = pd.DataFrame(rows)
    base = table[table["jobs"] == min(jobs)].set_index("model")["wall_s"]
    table["speedup"] = [base[m] / w if m in base.index else float("nan") for m, w in zip(table["model"], table["wall_s"])]
    return table


def run(args: argparse.Namespace):
    # lazy: `stag --help` loads this module; stag.preprocess.pipeline loads only when used
    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.experiment import load_and_prepare
    from stag.train.study import parse_models

    composite = args.dataset != "synthetic"
    epochs = args.epochs if args.epochs is not None else (30 if composite else 6)
    if epochs < 1:
        raise ValueError(f"--epochs {epochs}: expected >= 1")
    if min(args.jobs) < 1:
        raise ValueError(f"--jobs {args.jobs}: expected values >= 1")
    models = parse_models(args.models)
    speedup = parse_models(args.speedup_models) if args.speedup_models else []
    if composite:  # the recorded real-data recipe (results/megc2019/TRIED.md)
        if not args.data_root:
            raise ValueError(f"--dataset {args.dataset} needs --data-root")
        cfg = PrepareConfig(keyframes=1, output_size=args.output_size)
        data = load_and_prepare(args.dataset, data_root=args.data_root, prepare_config=cfg,
                                cache_dir=args.cache_dir, jobs=2, progress=False)
    else:
        cfg = PrepareConfig(image_size=args.image_size, output_size=args.output_size, keyframes=args.keyframes,
                            landmarks="given")
        data = load_and_prepare("synthetic", prepare_config=cfg, cache_dir=args.cache_dir, jobs=2, progress=False,
                                data_params={"n_subjects": args.n_subjects, "clips_per_subject": args.clips_per_subject,
                                             "seed": args.seed, "jobs": 2})
    table = train_table(data.prepared, models, epochs=epochs, jobs=tuple(args.jobs), speedup_models=speedup,
                        class_names=data.class_names, seed=args.seed, threads=args.threads,
                        lr=1e-3 if composite else 2e-3)
    return table.round({"wall_s": 1, "fold_s_sum": 1, "fold_cpu_s": 1, "cpu_s_per_fold_epoch": 3, "uf1": 3, "uar": 3,
                        "accuracy": 3, "speedup": 2})
