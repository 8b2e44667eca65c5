"""``stag bench synthetic``: how fast the synthetic set is generated (clips/s, frames/s)."""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

HELP = "generation speed of the synthetic micro-expression set (clips/s, frames/s)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-subjects", type=int, default=20, help="subjects (default 20)")
    parser.add_argument("--clips-per-subject", type=int, default=12, help="clips per subject (default 12)")
    parser.add_argument("--image-size", type=int, default=128, help="frame size in pixels (default 128)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="process counts to measure (default: 1 2)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace):
    # lazy: `stag --help` loads this module; stag.data.synthetic loads only when used
    from stag.data.synthetic import SyntheticConfig, generate

    config = SyntheticConfig(n_subjects=args.n_subjects, clips_per_subject=args.clips_per_subject,
                             image_size=args.image_size, seed=args.seed)
    rows = []
    for jobs in args.jobs:
        if jobs < 1:
            raise ValueError(f"--jobs {jobs}: expected process counts >= 1")
        start = time.perf_counter()
        cpu0 = os.times()
        clips = generate(config, jobs=jobs)
        wall = time.perf_counter() - start
        cpu1 = os.times()
        frames = sum(len(c.frames) for c in clips)
        rows.append({
            "jobs": jobs, "clips": len(clips), "frames": frames, "image_size": config.image_size,
            "wall_s": round(wall, 2),
            "cpu_s_main": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 2),
            "clips_per_s": round(len(clips) / wall, 1), "frames_per_s": round(frames / wall, 1),
            "MB": round(sum(c.frames.nbytes for c in clips) / 2**20, 1),
        })
        del clips
    return pd.DataFrame(rows)
