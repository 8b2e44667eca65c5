"""``stag prepare``: fill the preprocessing cache for a dataset.

    stag prepare --dataset synthetic --cache-dir .stag-cache --jobs 2
    stag prepare --dataset casme2 --data-root /data/CASME2 --keyframes 8 --flow-method dis

Every clip is aligned, keyframed and turned into a flow stack, then written to
``CACHE_DIR/prepare/<key>.npz``. A rerun reuses every finished clip (an interrupted run
resumes); ``--force`` recomputes. A clip that fails is named with its error at the end; the
others are kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from stag.data.params import loader_params, parse_parameters
from stag.data.registry import load
from stag.preprocess.keyframes import APEX_SOURCES

HELP = "preprocess a dataset (align, keyframes, optical flow, ROIs) into the cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="dataset name (see `stag data list`)")
    parser.add_argument("--data-root", default=None, help="folder holding the dataset as distributed")
    parser.add_argument("--annotations", default=None, help="annotation file, if not found in the data root")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="any other loader parameter, e.g. -p n_subjects 4 (YAML value)")
    parser.add_argument("--image-size", type=int, default=128, help="aligned face size in px (default 128)")
    parser.add_argument("--output-size", type=int, default=None, help="final flow size (default: image size)")
    parser.add_argument("--keyframes", type=int, default=8, help="K keyframes (default 8; 1 = onset-apex)")
    parser.add_argument("--flow-method", default=None, help="flow preset (default: PrepareConfig's)")
    parser.add_argument("--channels", type=int, default=3, help="3 = u, v, strain; 4 adds magnitude")
    parser.add_argument("--magnitude-method", default=None, help="keyframe magnitude: flow or intensity")
    parser.add_argument("--apex", default="spotted", choices=APEX_SOURCES,
                        help="apex keyframe: largest motion (default) or the annotated apex frame")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--cache-dir", type=Path, default=Path(".stag-cache"), help="cache folder")
    parser.add_argument("--force", action="store_true", help="recompute clips that are already cached")
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips (for a quick look)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_config(args: argparse.Namespace):
    # lazy: `stag --help` imports every command module; stag.preprocess.pipeline loads when the command runs
    from stag.preprocess.pipeline import PrepareConfig

    kw = {"image_size": args.image_size, "output_size": args.output_size, "keyframes": args.keyframes,
          "channels": args.channels, "apex": args.apex}
    if args.flow_method:
        kw["flow_method"] = args.flow_method
    if args.magnitude_method:
        kw["magnitude_method"] = args.magnitude_method
    return PrepareConfig(**kw)


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module; stag.preprocess.pipeline loads when the command runs
    from stag.preprocess.pipeline import keyframe_table, prepare_dataset

    cfg = build_config(args)
    if args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs}: expected >= 1")
    extra = parse_parameters(args.param)
    clips = load(args.dataset, **loader_params(args.dataset, args.data_root, args.annotations, extra=extra))
    for where, why in getattr(clips, "skipped", []):  # -p on_error skip: every skipped row, named
        print(f"skipped: {where}: {why}", file=sys.stderr)
    if args.limit is not None:
        clips = clips[:args.limit]
    stats: dict = {}
    start = time.perf_counter()
    try:
        prepared = prepare_dataset(clips, cfg, cache_dir=args.cache_dir, jobs=args.jobs,
                                   progress=not args.no_progress, force=args.force, on_error="skip", stats=stats)
    finally:
        wall = time.perf_counter() - start
    print(f"prepared {len(prepared)} of {len(clips)} clips in {wall:.1f} s "
          f"({len(stats.get('hits', []))} from cache, {len(stats.get('computed', []))} computed, "
          f"{len(stats.get('failed', {}))} failed) -> {args.cache_dir / 'prepare'}")
    table = keyframe_table(prepared)
    if len(table):
        print(f"keyframes vs ground truth: apex error {table.apex_error.mean():.2f} frames (mean), "
              f"interval coverage {table.coverage.mean():.2f}, landmark error "
              f"{table.landmark_error_px.mean():.2f} px")
    for cid, err in stats.get("failed", {}).items():
        print(f"failed: {cid}: {err}", file=sys.stderr)
    return 1 if stats.get("failed") else 0
