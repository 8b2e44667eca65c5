"""``stag bench prepare``: clips/s of the whole preprocessing (align, keyframes, flow, ROIs) on the
synthetic set, with 1 and 2 worker processes, cold (no cache) and warm (all cached)."""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd

from stag.data import load

HELP = "whole-clip preprocessing throughput (clips/s) with 1 and 2 jobs, cold and warm cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-subjects", type=int, default=20)
    parser.add_argument("--clips-per-subject", type=int, default=12)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--flow-method", default=None, help="flow preset (default: PrepareConfig's)")
    parser.add_argument("--magnitude-method", default=None, help="flow or intensity (default: PrepareConfig's)")
    parser.add_argument("--keyframes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace):
    # lazy: `stag --help` loads this module; stag.preprocess.pipeline loads only when used
    from stag.preprocess.pipeline import PrepareConfig, keyframe_table, prepare_dataset

    kw = {"keyframes": args.keyframes}
    if args.flow_method:
        kw["flow_method"] = args.flow_method
    if args.magnitude_method:
        kw["magnitude_method"] = args.magnitude_method
    cfg = PrepareConfig(**kw)
    clips = load("synthetic", n_subjects=args.n_subjects, clips_per_subject=args.clips_per_subject,
                 seed=args.seed, jobs=2)
    rows = []
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix="stag-bench-prepare-") as cache:
            for phase in ("cold", "warm"):
                start = time.perf_counter()
                prepared = prepare_dataset(clips, cfg, cache_dir=cache, jobs=jobs, progress=False)
                wall = time.perf_counter() - start
                kt = keyframe_table(prepared)
                rows.append({"jobs": jobs, "cache": phase, "clips": len(prepared), "wall_s": wall,
                             "clips_per_s": len(prepared) / wall, "flow_method": cfg.flow_method,
                             "magnitude_method": cfg.magnitude_method,
                             "apex_error_frames": float(kt.apex_error.mean()) if len(kt) else float("nan")})
    return pd.DataFrame(rows)
