"""What the book run produced, written for readers and machines.

After papermill has executed the notebooks, :func:`write_reports` turns ``book/executed/run.json``
into:

- ``book/generated/execution_report.md``: every notebook with its parameters, wall time,
  device and status, plus package versions, the git commit and the machine (included by the
  appendix page ``book/execution_report.md``);
- ``book/generated/abstract.md``, ``comparisons.png``, ``abstract_more.md`` and ``headlines.md``: the introduction's
  answer, figure and tables, from one call on the recorded studies
  (:func:`stag.results.chapters.abstract`, the same tables as the chapters');
- ``_build/run.json``: the same facts, machine-readable (written after the HTML build);
- ``_build/html/_downloads/results.zip``: every chapter's results for download.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path

from stag.book.runner import EXECUTED_DIR, toc_notebooks
from stag.environment import device_summary, git_commit, package_versions
from stag.files import atomic_write, atomic_write_text
from stag.results import chapters
from stag.results.registered import COPIES

GENERATED_DIR = Path("book") / "generated"
RESULTS_DIR = EXECUTED_DIR / "results"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A GitHub/MyST pipe table; ``|`` inside cells is escaped."""
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def run_facts(root: Path) -> dict:
    """Everything known about the run that produced ``book/executed``, in toc order."""
    path = root / EXECUTED_DIR / "run.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: execute the notebooks first (stag book)")
    recorded = json.loads(path.read_text())["notebooks"]
    notebooks = []
    for stem in toc_notebooks(root):
        key = f"notebooks/{stem}.ipynb"
        if key not in recorded:
            raise RuntimeError(f"{key} is in _toc.yml but has never been executed (run `stag book --only "
                               f"{stem.split('_', 1)[0]}`)")
        notebooks.append(recorded[key])
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": git_commit(root),
        "machine": device_summary(),
        "versions": package_versions(),
        "total_wall_time_s": round(sum(n["wall_time_s"] for n in notebooks), 1),
        "notebooks": notebooks,
    }


def _format_params(params: dict) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in params.items())


def execution_report_markdown(facts: dict) -> str:
    rows = [{
        "notebook": n["notebook"].removeprefix("notebooks/"),
        "status": n["status"],
        "wall time (s)": f"{n['wall_time_s']:.1f}",
        "device": n.get("parameters", {}).get("device", n.get("device", "")),
        "profile": n.get("profile", ""),
        "started": n.get("started", ""),
        "parameters": _format_params(n.get("parameters", {})),
    } for n in facts["notebooks"]]
    machine = facts["machine"]
    versions = [{"package": k, "version": v} for k, v in facts["versions"].items()]
    return "\n\n".join([
        f"Generated {facts['generated']} from commit `{facts['git_commit']}` on "
        f"{machine.get('processor', '?')} ({machine.get('cpu_count', '?')} cores, "
        f"CUDA: {machine.get('cuda_device', 'none')}). Total notebook wall time: "
        f"{facts['total_wall_time_s']:.1f} s.",
        "## Notebooks",
        markdown_table(rows, ["notebook", "status", "wall time (s)", "device", "profile", "started", "parameters"]),
        "## Packages",
        markdown_table(versions, ["package", "version"]),
    ]) + "\n"


RESULTS_ROOT = Path("results")


def intro_parts(root: Path) -> dict[str, object]:
    """What the introduction shows, from one call (:func:`stag.results.chapters.abstract`) on the
    recorded real-face studies and the component study:

    - ``abstract``: the real-face decisions, worded from the tables, above the figure;
    - ``figure``: every paired comparison made on real faces, the superseded ones grey;
    - ``more``: runs still to record and the synthetic component study's decision, below it;
    - ``headlines``: the current study's runs per copy (UF1 mean [min-max] and interval).
    """
    # lazy: matplotlib is only needed for the figure
    from stag.viz.results import plot_comparisons

    answer = chapters.abstract(root / RESULTS_ROOT)
    fig = plot_comparisons(answer.tables["comparisons"])  # the caption says what it shows
    blocks = []
    for copy, table in answer.extra["headlines"].items():
        label = next(c.label for c in COPIES if c.folder == copy)
        if len(table):
            head = table[["model", "seeds", "UF1 mean [min-max]", "UF1 95% subject bootstrap", "UAR mean [min-max]"]]
            blocks.append(f"**{label[0].upper() + label[1:]}**\n\n"
                          + markdown_table(head.to_dict(orient="records"), list(head.columns)))
    return {"abstract": answer.sentences["abstract"] + "\n", "more": answer.sentences["more"] + "\n", "figure": fig,
            "headlines": "\n\n".join(blocks) + "\n" if blocks else "*No run of the current study is recorded yet.*\n"}


def package_results(root: Path, facts: dict, dest: Path) -> Path:
    """Zip every chapter's results (``book/executed/results/**``) with the run record."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    results = root / RESULTS_DIR

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("run.json", json.dumps(facts, indent=2, default=str))
            if results.exists():
                for f in sorted(results.rglob("*")):
                    if f.is_file():
                        zf.write(f, f.relative_to(results.parent).as_posix())

    return atomic_write(dest, write)


def write_reports(root: Path) -> dict:
    """Write the execution report, the introduction's parts (:func:`intro_parts`) and the
    results archive that the pages include or link (before the HTML build)."""
    facts = run_facts(root)
    out = root / GENERATED_DIR
    atomic_write_text(out / "execution_report.md", execution_report_markdown(facts))
    parts = intro_parts(root)
    atomic_write_text(out / "abstract.md", parts["abstract"])
    atomic_write_text(out / "abstract_more.md", parts["more"])
    atomic_write_text(out / "headlines.md", parts["headlines"])
    atomic_write(out / "comparisons.png", lambda tmp: parts["figure"].savefig(tmp, format="png", bbox_inches="tight"))
    import matplotlib.pyplot as plt  # lazy, as in intro_parts

    plt.close(parts["figure"])
    package_results(root, facts, out / "results.zip")
    return facts


def write_build_artifacts(root: Path, facts: dict) -> tuple[Path, Path]:
    """``_build/run.json`` and ``_build/html/_downloads/results.zip`` (after the HTML build)."""
    run_json = atomic_write_text(root / "_build" / "run.json", json.dumps(facts, indent=2, default=str))
    zip_path = root / "_build" / "html" / "_downloads" / "results.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / GENERATED_DIR / "results.zip", zip_path)
    return run_json, zip_path
