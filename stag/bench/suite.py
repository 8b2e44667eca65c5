"""``stag bench suite``: the README's two commands, timed stage by stage on a fresh clone.

The suite clones the repository (its committed ``HEAD``) into a temporary folder, installs the
environment there (``make install``, timed on its own), then times what ``make test`` and
``make book`` do after the install, with empty caches:

- ``make test``: the unit tests, the book (papermill executes every notebook once), the site and
  notebook checks;
- ``make book``: with the caches of the test run removed (``.stag-cache``, ``book/executed``,
  ``_build``, ``book/generated``), the book again from cold.

``--busy N`` runs N CPU-bound processes beside every stage (as CI beside other jobs).
``--readme README.md`` writes the table between the ``<!-- bench-suite:start -->`` and
``<!-- bench-suite:end -->`` markers. A stage that fails stops the suite and is reported with
its exit code: a benchmark of a red build means nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

HELP = "time `make test` and `make book` stage by stage on a fresh clone (installed, caches empty)"

#: The stages, in order: (name, command run in the clone, which README command it belongs to).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("install", "make install system-deps", "both"),
    ("unit tests", '.venv/bin/python -m pytest tests -q -m "not book and not load" -n auto --maxprocesses 4 '
                   '--dist loadfile', "make test"),
    ("book, cold caches", ".venv/bin/stag book --profile quick", "make test"),
    ("site and notebook checks", ".venv/bin/python -m pytest tests -q -m book", "make test"),
    ("book again, cold caches", "rm -rf .stag-cache book/executed _build book/generated && make book", "make book"),
)
START, END = "<!-- bench-suite:start -->", "<!-- bench-suite:end -->"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository to clone (default: here)")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside every stage (default 0)")
    parser.add_argument("--readme", type=Path, default=None, help="write the table into this README's block")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")


@contextlib.contextmanager
def busy(n: int) -> Iterator[None]:
    """``n`` processes that spin on the CPU for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def time_stage(cmd: str, cwd: Path, log: Path) -> tuple[float, int]:
    """Run ``cmd`` in a shell under ``cwd``, its output to ``log``; ``(wall seconds, exit code)``."""
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(["bash", "-eo", "pipefail", "-c", cmd], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                              env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}).returncode
    return time.perf_counter() - start, code


def run_suite(repo: Path, *, busy_processes: int = 0, keep: bool = False, log=print) -> pd.DataFrame:
    """Clone ``repo`` and time :data:`STAGES`; one row per stage plus one total per README command.

    Columns: ``command, stage, wall_s, minutes, exit_code``; ``attrs["clone"]`` is the clone's
    path (kept with ``keep``), ``attrs["commit"]`` what was cloned.
    """
    repo = Path(repo).resolve()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                            check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="stag-suite-"))
    clone = work / repo.name
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    shared = repo.parent / "shared"
    if shared.is_dir() and not (work / "shared").exists():  # CI has ../shared beside the clone
        (work / "shared").symlink_to(shared)
    rows = []
    try:
        for name, cmd, command in STAGES:
            log(f"[suite] {name}: {cmd}", flush=True)
            with busy(busy_processes):
                wall, code = time_stage(cmd, clone, work / f"{name.replace(' ', '_').replace(',', '')}.log")
            rows.append({"command": command, "stage": name, "wall_s": round(wall, 1), "exit_code": code})
            log(f"[suite] {name}: {wall:.0f} s (exit {code})", flush=True)
            if code:
                break
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    table = pd.DataFrame(rows)
    for command in ("make test", "make book"):
        part = table[table["command"] == command]
        if len(part):
            rows.append({"command": command, "stage": "total after install", "wall_s": round(part["wall_s"].sum(), 1),
                         "exit_code": int(part["exit_code"].max())})
    table = pd.DataFrame(rows)
    table["minutes"] = (table["wall_s"] / 60).round(1)
    table.attrs.update(clone=str(clone), commit=commit, busy=busy_processes)
    return table[["command", "stage", "wall_s", "minutes", "exit_code"]]


def markdown(table: pd.DataFrame, machine: str) -> str:
    """The README block: the table and how it was measured."""
    lines = [f"Measured by `stag bench suite{' --busy ' + str(table.attrs.get('busy')) if table.attrs.get('busy') else ''}` "
             f"at commit `{str(table.attrs.get('commit', ''))[:12]}` on {machine}: a fresh clone, installed, caches "
             "empty.", "", "| command | stage | wall time (s) | minutes |", "|---|---|---|---|"]
    lines += [f"| {r['command']} | {r['stage']} | {r['wall_s']:.0f} | {r['minutes']:.1f} |" for _, r in table.iterrows()]
    return "\n".join(lines)


def write_readme(readme: Path, block: str) -> None:
    """Replace the text between :data:`START` and :data:`END` in ``readme``.

    Raises:
        ValueError: the markers are missing.
    """
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme}: no {START} ... {END} block to write the table into")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def run(args: argparse.Namespace) -> pd.DataFrame:
    from stag.environment import cpu_model, device_summary  # lazy, as the other suites

    table = run_suite(args.repo, busy_processes=args.busy, keep=args.keep)
    if args.readme is not None:
        import torch

        info = device_summary()
        machine = (f"{cpu_model()} ({torch.backends.cpu.get_cpu_capability()} kernels), "
                   f"{info.get('cpu_count', '?')} cores") + (
            f", beside {args.busy} busy processes" if args.busy else ", quiet")
        write_readme(args.readme, markdown(table, machine))
    return table
