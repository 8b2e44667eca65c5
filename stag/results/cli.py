"""``stag record``: copy a finished run into a recorded-runs folder, after checking every view.

    stag record runs/megc2019/stag-seed0 results/megc2019/stag-seed0

Only ``results.json`` and ``predictions.csv`` are copied (:func:`stag.train.records.record_run`);
a run whose predictions do not give its scores, in any view it holds, never enters ``results/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stag.train.records import record_run, rescore

HELP = "copy a finished run's results.json and predictions.csv into a recorded-runs folder (results/...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="finished run folder (stag train --out)")
    parser.add_argument("dest", type=Path, help="record folder, e.g. results/megc2019/stag-last-seed0")
    parser.add_argument("--force", action="store_true", help="replace a different existing record")


def run(args: argparse.Namespace) -> int:
    dest = record_run(args.run_dir, args.dest, force=args.force)
    r = rescore(dest)
    print(f"recorded {args.run_dir} -> {dest} (UF1 {r['uf1']:.3f}, UAR {r['uar']:.3f}; results.json + "
          "predictions.csv only)")
    return 0

