"""What the book run produced, written for readers and machines.

After papermill has executed the notebooks, :func:`write_reports` turns ``book/executed/run.json``
into:

- ``book/generated/execution_report.md``: every notebook with its parameters, wall time,
  device and status, plus package versions, the git commit and the machine (included by the
  appendix page ``book/execution_report.md``);
- ``book/generated/headline.md``: the headline results table of the intro, the summary the
  training chapter saved (never typed by hand); ``headline_real.md``, the answer of the
  real-data chapter on the recorded MEGC2019 runs, ``headline_phases.md``, the answer of the
  two-phase chapter (motion over time on real faces), and ``headline_synthetic_study.md``, the
  answer of the recorded component study on the calibrated synthetic set: each the same call
  as its chapter makes (:mod:`stag.results.chapters`);
- ``_build/run.json``: the same facts, machine-readable (written after the HTML build);
- ``_build/html/_downloads/results.zip``: every chapter's results for download.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd

from stag.book.runner import EXECUTED_DIR, toc_notebooks
from stag.environment import device_summary, git_commit, package_versions
from stag.files import atomic_write, atomic_write_text
from stag.results import chapters
from stag.results.tables import headline

GENERATED_DIR = Path("book") / "generated"
RESULTS_DIR = EXECUTED_DIR / "results"
TRAINING_RESULTS = RESULTS_DIR / "06_loso_training"


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


def headline_table(root: Path):
    """Honest runs of the training chapter: the summary it saved (``summary.csv``,
    :func:`stag.results.tables.summary`), as its opening table, so the intro and the chapter
    share one computation."""
    folder = root / TRAINING_RESULTS
    if not (folder / "summary.csv").exists():
        raise FileNotFoundError(f"{folder / 'summary.csv'} not found: the training chapter (06) writes it; run it first")
    return headline(pd.read_csv(folder / "summary.csv"))


def headline_markdown(root: Path) -> str:
    """The intro's results table as MyST markdown."""
    if "06_loso_training" not in toc_notebooks(root):
        return "*The training chapter is not part of this build, so there is no results table.*\n"
    table = headline_table(root)
    return markdown_table(table.to_dict(orient="records"), list(table.columns)) + "\n"


REAL_DATA_RECORDS = Path("results") / "megc2019"
REAL_FACES_RECORDS = Path("results") / "megc2019_explain"


def real_data_markdown(root: Path) -> str:
    """The intro's real-data finding: the real-data chapter's answer on the recorded MEGC2019
    composite runs (honest rows, :func:`stag.results.chapters.real_data`) and the real-face
    chapter's one sentence (:func:`stag.results.chapters.real_faces`)."""
    answer = chapters.real_data(root / REAL_DATA_RECORDS)
    if answer.tables["headline"].empty:
        return "*No recorded real-data runs are in this checkout.*\n"
    head = answer.tables["headline"][["model", "selection", "seeds", "UF1 mean [min-max]",
                                      "UF1 95% subject bootstrap", "UAR mean [min-max]"]]
    ensemble = answer.sentences["ensemble"] + " " if answer.sentences["ensemble"] else ""
    faces = chapters.real_faces(root / REAL_FACES_RECORDS)
    faces_text = ("\n\n**Do the explanations land on the coded action units?** " + faces.sentences["intro"]
                  + " (Chapter \"Real faces\".)" if not faces.empty else "")
    return (markdown_table(head.to_dict(orient="records"), list(head.columns)) + "\n\n"
            + answer.sentences["comparison"] + " " + ensemble + answer.sentences["components"] + faces_text + "\n")


PHASES_RECORDS = Path("results") / "megc2019_phases"


def two_phase_markdown(root: Path) -> str:
    """The intro's answer to "does motion over time help STAG on real faces?": the two-phase
    chapter's answer on its records (:func:`stag.results.chapters.two_phase`)."""
    answer = chapters.two_phase(root / PHASES_RECORDS)
    if answer.empty:
        return "*No recorded two-phase runs are in this checkout.*\n"
    head = answer.tables["headline"][["model", "seeds", "UF1 mean [min-max]", "UF1 95% subject bootstrap",
                                      "UAR mean [min-max]"]]
    return (markdown_table(head.to_dict(orient="records"), list(head.columns)) + "\n\n" + answer.sentences["answer"]
            + "\n\n(Chapter \"Motion over time on real faces\".)\n")


def synthetic_study_markdown(root: Path) -> str:
    """The intro's component-study block: the component-study chapter's answer
    (:func:`stag.results.chapters.synthetic_study`): every recorded model (last epoch, mean and
    range over seeds, subject-bootstrap interval), the findings, and one line each on the
    apex-noise experiment and the default flow."""
    answer = chapters.synthetic_study(root / "results")
    if answer.empty:
        return "*No recorded synthetic component study is in this checkout.*\n"
    head = answer.tables["headline"][["model", "seeds", "UF1 mean [min-max]", "UF1 95% subject bootstrap",
                                      "UAR mean [min-max]"]]
    text = answer.sentences["study"]
    if answer.sentences["apex"]:
        text += "\n" + answer.sentences["apex"]
    if answer.sentences["flow"]:
        text += "\n- " + answer.sentences["flow"]
    return (markdown_table(head.to_dict(orient="records"), list(head.columns)) + "\n\n" + text
            + "\n\n(Chapter \"What each part of STAG buys\".)\n")


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
    """Write the execution report, the headline table and the results archive that the
    pages include or link (before the HTML build)."""
    facts = run_facts(root)
    atomic_write_text(root / GENERATED_DIR / "execution_report.md", execution_report_markdown(facts))
    atomic_write_text(root / GENERATED_DIR / "headline.md", headline_markdown(root))
    atomic_write_text(root / GENERATED_DIR / "headline_real.md", real_data_markdown(root))
    atomic_write_text(root / GENERATED_DIR / "headline_phases.md", two_phase_markdown(root))
    atomic_write_text(root / GENERATED_DIR / "headline_synthetic_study.md", synthetic_study_markdown(root))
    package_results(root, facts, root / GENERATED_DIR / "results.zip")
    return facts


def write_build_artifacts(root: Path, facts: dict) -> tuple[Path, Path]:
    """``_build/run.json`` and ``_build/html/_downloads/results.zip`` (after the HTML build)."""
    run_json = atomic_write_text(root / "_build" / "run.json", json.dumps(facts, indent=2, default=str))
    zip_path = root / "_build" / "html" / "_downloads" / "results.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / GENERATED_DIR / "results.zip", zip_path)
    return run_json, zip_path
