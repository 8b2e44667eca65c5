"""The ``stag`` command.

Each sub-command lives in the module that owns its job and exposes ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "data": "stag.data.cli",
    "prepare": "stag.preprocess.cli",
    "train": "stag.train.cli",
    "pretrain": "stag.train.pretrain_cli",
    "explain": "stag.explain.cli",
    "bench": "stag.bench.cli",
    "book": "stag.book.cli",
    "record": "stag.results.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stag", description="STAG-book: micro-expression recognition study")
    parser.add_argument("--version", action="version", version=f"stag {__import__('stag').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a sub-command whose module is not written yet
            if exc.name != module_name:
                raise
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The command as typed, for the provenance of what it writes (stag.train.provenance).
    args._argv = ["stag", *(sys.argv[1:] if argv is None else argv)]
    try:
        return int(args._run(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # Bad input: one clear line, no traceback.
        print(f"stag {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stag {args.command}: interrupted; finished work is kept and a rerun resumes.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
