"""``stag bench SUITE``: run one benchmark suite and print (and optionally save) its table."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

import pandas as pd

from stag.bench import SUITES

HELP = "measure throughput, latency and wall time (suites: " + ", ".join(SUITES) + ")"


def _suite_modules() -> dict:
    mods = {}
    for name, module_name in SUITES.items():
        try:
            mods[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
    return mods


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for name, module in _suite_modules().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--out", type=Path, default=None, help="folder for <suite>.csv and <suite>.json")
        module.add_arguments(p)
        p.set_defaults(_suite=module)


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module; stag.environment loads when the command runs
    from stag.environment import device_summary, package_versions

    start = time.perf_counter()
    table: pd.DataFrame = args._suite.run(args)
    wall = time.perf_counter() - start
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(table.to_string(index=False))
    print(f"\n[{args.suite}] {wall:.1f} s on {device_summary()['processor']} "
          f"({device_summary()['torch_threads']} torch threads)")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / f"{args.suite}.csv", index=False)
        meta = {"suite": args.suite, "wall_time_s": wall, "device": device_summary(),
                "versions": package_versions(), "rows": table.to_dict(orient="records")}
        (args.out / f"{args.suite}.json").write_text(json.dumps(meta, indent=2, default=str))
    return 0
