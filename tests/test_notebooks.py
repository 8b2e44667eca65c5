"""Every chapter is a jupytext pair in sync, has a papermill parameters cell, and is in the toc."""

from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from stag.book.runner import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.py"))


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
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        if not f.startswith("book/executed/"):
            assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.ipynb").exists(), f


def _parameter_defaults(src: Path) -> dict:
    cell = next(c for c in jupytext.read(src).cells if "parameters" in c.metadata.get("tags", []))
    return {line.split("=", 1)[0].strip(): yaml.safe_load(line.split("=", 1)[1])
            for line in cell.source.splitlines() if "=" in line and not line.lstrip().startswith("#")}


def test_interpretability_explains_the_training_chapters_folds():
    # Chapter 07 explains the folds chapter 06 trained (found by the hash of data and settings),
    # so every setting that enters that hash must have the same default in both.
    training = _parameter_defaults(ROOT / "notebooks" / "06_loso_training.py")
    explaining = _parameter_defaults(ROOT / "notebooks" / "07_interpretability.py")
    shared = ("dataset", "protocol", "epochs", "seed", "batch_size", "lr", "cache_dir", "n_subjects",
              "clips_per_subject", "image_size", "output_size", "keyframes", "flow_method", "landmarks")
    assert {k: explaining[k] for k in shared} == {k: training[k] for k in shared}
