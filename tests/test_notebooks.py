"""Every chapter is a jupytext pair in sync, has a papermill parameters cell, and is in the toc."""

from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from stag.book.runner import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
# Chapters are numbered NN_name; the appendix's notebooks aN_name.
SOURCES = sorted([*(ROOT / "notebooks").glob("[0-9][0-9]_*.py"), *(ROOT / "notebooks").glob("a[0-9]_*.py")])


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(entries):
        for c in entries:
            yield c["file"]
            yield from walk(c.get("sections", []))

    return [toc["root"], *walk(c for part in toc["parts"] for c in part["chapters"])]


def test_there_are_chapters():
    assert SOURCES, "no notebooks/NN_*.py chapters found"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_pair_is_in_sync_and_stripped(src):
    ipynb = src.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make sync`"
    from_py = jupytext.read(src)
    from_nb = nbformat.read(ipynb, as_version=4)
    assert [c.source for c in from_py.cells] == [c.source for c in from_nb.cells], (
        f"{src.name} and {ipynb.name} differ: run `make sync`")
    for cell in from_nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{ipynb.name} carries outputs; strip them (make sync)"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_has_one_parameters_cell(src):
    nb = jupytext.read(src)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{src.name}: expected exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_has_no_function_definitions(src):
    # Logic lives in the package; a notebook cell is a call plus a plot.
    nb = jupytext.read(src)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "\ndef " not in "\n" + cell.source and "\nclass " not in "\n" + cell.source, (
                f"{src.name} defines a function or class; move it into the stag package")


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_flow_parameter_is_the_package_default(src):
    # A parameters cell holds plain values, so the default is repeated there; this keeps it
    # equal to the one definition, stag.preprocess.flow.DEFAULT_FLOW.
    from stag.preprocess.flow import DEFAULT_FLOW

    nb = jupytext.read(src)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for line in cell.source.splitlines():
        if line.split("=")[0].strip() == "flow_method":
            assert yaml.safe_load(line.split("=", 1)[1]) == DEFAULT_FLOW, (
                f"{src.name}: flow_method default {line!r}, but the package default is {DEFAULT_FLOW!r}")


def test_every_chapter_is_in_the_toc_and_vice_versa():
    listed = set(toc_notebooks(ROOT))
    present = {p.stem for p in SOURCES}
    assert listed == present


def test_toc_markdown_files_exist():
    for f in _toc_files():
        if not f.startswith("book/executed/"):
            assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.ipynb").exists(), f


def test_notebook_file_names_are_their_chapter_numbers():
    """Jupyter Book numbers the chapters of the numbered parts 1, 2, ... in toc order; a
    notebook there is named by its number (``07_real_faces`` is chapter 7)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    number = 0
    for part in toc["parts"]:
        if not part.get("numbered"):
            continue
        for c in part["chapters"]:
            number += 1
            name = Path(c["file"]).name
            if c["file"].startswith("book/executed/"):
                assert name.startswith(f"{number:02d}_"), f"{name} is chapter {number}"


def _parameter_defaults(src: Path) -> dict:
    cell = next(c for c in jupytext.read(src).cells if "parameters" in c.metadata.get("tags", []))
    return {line.split("=", 1)[0].strip(): yaml.safe_load(line.split("=", 1)[1])
            for line in cell.source.splitlines() if "=" in line and not line.lstrip().startswith("#")}


def test_interpretability_explains_the_training_chapters_folds():
    # Chapter 9 explains the folds chapter 6 trained (found by the hash of data and settings),
    # so every setting that enters that hash must have the same default in both.
    training = _parameter_defaults(ROOT / "notebooks" / "06_honest_evaluation.py")
    explaining = _parameter_defaults(ROOT / "notebooks" / "09_explanations.py")
    shared = ("dataset", "protocol", "epochs", "seed", "batch_size", "lr", "cache_dir", "n_subjects",
              "clips_per_subject", "image_size", "output_size", "keyframes", "flow_method", "landmarks")
    assert {k: explaining[k] for k in shared} == {k: training[k] for k in shared}


@pytest.mark.book
@pytest.mark.skipif(not (ROOT / "book" / "executed" / "run.json").exists(), reason="book not executed (stag book)")
def test_the_book_ran_every_notebook_as_nbmake_would():
    """`make test` executes the notebooks once, through `stag book`; its executed copies stand
    for `pytest --nbmake notebooks` when each was made from the current source with the
    notebook's own defaults, every code cell ran and none raised."""
    from stag.book.runner import executed_like_nbmake

    problems = [p for src in SOURCES for p in executed_like_nbmake(ROOT, src.stem)]
    assert not problems, "\n".join(problems)


def test_nbmake_collects_every_notebook():
    """`pytest --nbmake notebooks` works on its own (users run it in their CI): it collects one
    test per chapter; collecting executes nothing."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", "--nbmake", "--collect-only", "-q", "-p",
                           "no:cacheprovider", str(ROOT / "notebooks")], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = {Path(line.split("::")[0]).stem for line in done.stdout.splitlines() if ".ipynb" in line}
    assert collected == {p.stem for p in SOURCES}
