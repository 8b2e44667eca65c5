"""``stag book``: execute the notebooks with papermill and build the Jupyter Book."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stag.data.params import parse_parameters
from stag.device import DEVICE_CHOICES

HELP = "execute the notebooks (papermill) and build the book (Jupyter Book)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", choices=("quick", "full"),
                        help="parameter set: quick (default, ~10 min on 2 CPU cores) or full")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="override a notebook parameter (YAML value), for every notebook declaring it")
    parser.add_argument("--only", action="append", default=[], metavar="NN",
                        help="execute only chapter NN (repeatable); others keep their executed copies")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--no-build", action="store_true", help="execute notebooks, skip the HTML build")
    parser.add_argument("--no-execute", action="store_true", help="build HTML from the executed copies only")
    parser.add_argument("--no-screenshots", action="store_true",
                        help="skip the first-screen screenshots of every page (_build/screenshots/<page>.png)")
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (holds _toc.yml)")


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module; stag.book.runner loads when the command runs
    from stag.book.runner import NotebookFailed, build_html, execute_book

    root = args.root.resolve()
    if not (root / "_toc.yml").exists():
        raise FileNotFoundError(f"{root / '_toc.yml'} not found; run from the project root or pass --root")
    overrides = parse_parameters(args.parameter)
    if not args.no_execute:
        try:
            execute_book(root, profile=args.profile, overrides=overrides, only=args.only, device=args.device)
        except NotebookFailed as exc:
            print(f"stag book: error: {exc}", file=sys.stderr)
            return 1
    if not args.no_build:
        # lazy: `stag --help` imports every command module; the build's modules load when it runs
        from stag.book.report import write_build_artifacts, write_reports
        from stag.book.runner import check_executed

        check_executed(root)
        facts = write_reports(root)
        index = build_html(root)
        run_json, results_zip = write_build_artifacts(root, facts)
        print(f"book: {index}\nrun record: {run_json}\nresults: {results_zip}")
        if not args.no_screenshots:
            # lazy: selenium (an optional dev dependency) is needed only for the screenshots
            from stag.book.browser import screenshot_first_screens

            try:
                shots = screenshot_first_screens(root)
            except FileNotFoundError as exc:  # no Chromium on this machine: the book is built all the same
                print(f"stag book: note: no first-screen screenshots: {exc}", file=sys.stderr)
            else:
                print(f"first screens: {len(shots)} pages in {shots[0].parent if shots else '-'}")
    return 0
