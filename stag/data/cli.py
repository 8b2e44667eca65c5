"""``stag data``: list the datasets and label schemes, and summarise a dataset.

    stag data list
    stag data summary casme2 --data-root /data/CASME2 [--annotations FILE] [--scheme composite3]
    stag data summary synthetic -p n_subjects 4
    stag data audit megc2019_phases --data-root DIR -p face_dir ../megc2019/apex --codings CODINGS \
        --against megc2019_flow --against-root DIR2 --out results/.../audit

``summary`` prints clips per dataset and class, per subject and class, every skipped row
(excluded by the label scheme, or an error), and every row kept with a warning: clips with
gaps in their frame numbers, clips whose AU string could not be read (their AUs are unknown),
onset/apex/offset inconsistencies. Being a diagnostic, it loads with ``on_error="skip"`` and
``on_order_error="warn"`` where the loader takes them (``-p on_error raise`` to stop at the
first bad row instead). Only the options the dataset's loader accepts are passed to it
(``synthetic`` takes no data root); ``-p NAME VALUE`` passes any other loader parameter
(YAML value).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import warnings

import pandas as pd

from stag.data.frames import compress_ranges
from stag.data.labels import SCHEMES
from stag.data.params import loader_params, parse_parameters
from stag.data.registry import LOADERS, available, get_loader, load

SUMMARY_DEFAULTS = {"on_error": "skip", "on_order_error": "warn"}
HELP = "list datasets and label schemes; summarise a dataset (clips per subject/class/dataset)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="available datasets and label schemes")
    s = sub.add_parser("summary", help="clips per subject, class and dataset",
                       description="Load a dataset (frames are not read) and print its clip counts.")
    s.add_argument("name", help="dataset name (see `stag data list`)")
    s.add_argument("--data-root", default=None, help="folder holding the dataset as distributed")
    s.add_argument("--annotations", default=None, help="annotation file, if not found in the data root")
    s.add_argument("--scheme", default=None, help="label scheme (default: the dataset's native one)")
    s.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="any other loader parameter, e.g. -p frames onset_offset (YAML value)")
    s.add_argument("--max-skipped", type=int, default=200,
                   help="skipped rows and warnings to list, each (default 200)")
    a = sub.add_parser("audit", help="check a copy of precomputed flows before training on it",
                       description="Measure a flow copy's channel order and direction, the registration of its flows "
                                   "to the faces its ROIs are placed on, and (with --codings) whether the ROIs hold the "
                                   "coded motion. Writes OUT/audit.json and OUT/audit.png; exits 1 if a check fails.")
    a.add_argument("name", help="dataset name (megc2019_flow, megc2019_phases)")
    a.add_argument("--data-root", required=True, help="folder holding the copy as distributed")
    a.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="loader parameter, e.g. -p face_dir ../megc2019/apex (YAML value)")
    a.add_argument("--codings", default=None, help="folder with the CASME II / SAMM coding files (region checks)")
    a.add_argument("--against", default=None, metavar="NAME", help="a second copy of the same clips to compare with")
    a.add_argument("--against-root", default=None, help="its data root")
    a.add_argument("--against-param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="its loader parameters")
    a.add_argument("--out", default="audit", help="folder for audit.json and audit.png (default ./audit)")
    a.add_argument("--cache-dir", default=".stag-cache", help="preprocessing cache (default .stag-cache)")
    a.add_argument("--jobs", type=int, default=2, help="preprocessing processes (default 2)")


def format_summary(clipset, max_skipped: int = 20) -> str:
    """The text ``stag data summary`` prints for a :class:`~stag.data.clip.ClipSet`."""
    lines = [f"{clipset.name}: {len(clipset)} clips, {len(set(clipset.subjects))} subjects, "
             f"scheme {clipset.scheme.name} ({', '.join(clipset.scheme.classes)})"]
    for key in ("data_root", "annotations", "frames_dir", "flow_dir"):
        if clipset.params.get(key):
            lines.append(f"  {key}: {clipset.params[key]}")
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.max_columns", 30):
        per_subject = clipset.summary(by="subject")
        per_subject = per_subject[per_subject["total"] > 0]  # crosstab lists every dataset x subject pair
        lines += ["", "Clips per dataset and class:", clipset.summary(by="class").to_string(),
                  "", "Clips per subject and class:", per_subject.to_string()]
    skipped = clipset.skipped
    excluded = sum(why.startswith("excluded") for _, why in skipped)
    if clipset.params.get("annotations"):
        lines[1:1] = [f"  annotation rows: {len(clipset) + len(skipped)} ({len(clipset)} clips kept, {excluded} "
                      f"excluded by the label scheme, {len(skipped) - excluded} errors)"]

    def listing(items):
        out = [f"  {where}: {why}" for where, why in items[:max_skipped]]
        if len(items) > max_skipped:
            out.append(f"  ... {len(items) - max_skipped} more (use --max-skipped)")
        return out

    lines += ["", f"Skipped rows: {len(skipped)} ({excluded} excluded by design, {len(skipped) - excluded} errors)"]
    lines += listing(skipped)
    gaps = [c for c in clipset if len(c.missing_frames)]
    lines += ["", f"Clips with frame gaps: {len(gaps)}"]
    lines += listing([(c.clip_id, f"missing frame(s) {compress_ranges(c.missing_frames)}") for c in gaps])
    unknown = [c for c in clipset if c.au_error]
    lines += ["", f"Clips with unreadable AU strings (AUs unknown): {len(unknown)}"]
    lines += listing([(c.clip_id, c.au_error) for c in unknown])
    others = [(w, m) for w, m in getattr(clipset, "warnings", [])
              if "frame gaps" not in m and "unknown AUs" not in m]
    lines += ["", f"Other warnings: {len(others)}"]
    lines += listing(others)
    return "\n".join(lines)


def _list() -> str:
    lines = ["Datasets (stag data summary NAME ...):"]
    for name in available():
        try:
            loader = get_loader(name)
            doc = (inspect.getdoc(loader) or "").splitlines()
            needs = "needs --data-root" if "data_root" in inspect.signature(loader).parameters else "built in"
            lines.append(f"  {name:<14} {needs:<18} {doc[0] if doc else ''}")
        except ImportError as exc:
            lines.append(f"  {name:<14} (not importable: {exc}; loader {LOADERS[name]})")
    lines += ["", "Label schemes (--scheme):"]
    lines += [f"  {s.name:<12} {', '.join(s.classes)}" for s in SCHEMES.values()]
    return "\n".join(lines)


def _audit(args: argparse.Namespace) -> int:
    # lazy: the audit loads dlib, torch and matplotlib; `stag --help` must not
    from stag.audit import AuditConfig, failures, run_audit, write_audit

    if args.against and not args.against_root:
        raise ValueError("--against needs --against-root (the second copy's data root)")
    against = (args.against, args.against_root, parse_parameters(args.against_param)) if args.against else None
    config = AuditConfig(codings=args.codings, against=against, cache_dir=args.cache_dir, jobs=args.jobs)
    report = run_audit(args.name, args.data_root, parse_parameters(args.param), config)
    js, png = write_audit(report, args.out)
    for c in report["checks"]:
        print(f"{'PASS' if c['passed'] else 'FAIL'}  {c['check']}: {c['detail']}")
    print(f"wrote {js} and {png}")
    for line in failures(report):
        print(line, file=sys.stderr)
    return 0 if report["passed"] else 1


def run(args: argparse.Namespace) -> int:
    if args.data_command == "list":
        print(_list())
        return 0
    if args.data_command == "audit":
        return _audit(args)
    extra = parse_parameters(args.param)
    accepted = inspect.signature(get_loader(args.name)).parameters
    # A summary reports bad rows instead of stopping at the first (training still raises).
    extra = {**{k: v for k, v in SUMMARY_DEFAULTS.items() if k in accepted}, **extra}
    params = loader_params(args.name, args.data_root, args.annotations, args.scheme, extra)
    with warnings.catch_warnings():  # every warning is listed in the summary itself
        warnings.simplefilter("ignore")
        clipset = load(args.name, **params)
    print(format_summary(clipset, args.max_skipped))
    return 0
