"""`stag book`'s runner on a tiny two-chapter project: real papermill, real kernels."""

import json
from pathlib import Path

import nbformat
import pytest

from stag.book.runner import NotebookFailed, execute_book, resolve_parameters, toc_notebooks
from stag.cli import main


def _notebook(path: Path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter"), p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: C\n    chapters:\n"
        "      - file: book/executed/01_ok\n      - file: book/executed/02_maybe\n")
    _notebook(tmp_path / "notebooks" / "01_ok.ipynb", "n = 1\nlabel = 'a'", "assert n > 0\nprint(label * n)")
    _notebook(tmp_path / "notebooks" / "02_maybe.ipynb", "fail = False\nn = 1",
              "x = 1\nif fail:\n    raise RuntimeError('boom in chapter two')")
    return tmp_path


def test_toc_order(project):
    assert toc_notebooks(project) == ["01_ok", "02_maybe"]


def test_executes_in_order_and_records_run(project):
    run = execute_book(project, overrides={"n": 3}, log=lambda *a, **k: None)
    assert [r.status for r in run.notebooks] == ["ok", "ok"]
    out = nbformat.read(project / "book/executed/01_ok.ipynb", as_version=4)
    assert "aaa" in "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    record = json.loads((project / "book/executed/run.json").read_text())
    entry = record["notebooks"]["notebooks/01_ok.ipynb"]
    assert entry["parameters"]["n"] == 3 and entry["status"] == "ok" and entry["wall_time_s"] > 0


def test_failure_names_notebook_and_cell_and_keeps_good_copy(project):
    execute_book(project, log=lambda *a, **k: None)
    good = (project / "book/executed/02_maybe.ipynb").read_bytes()
    with pytest.raises(NotebookFailed) as err:
        execute_book(project, overrides={"fail": True}, only=["02"], log=lambda *a, **k: None)
    msg = str(err.value)
    assert "notebooks/02_maybe.ipynb" in msg and "cell [" in msg and "boom in chapter two" in msg
    assert (project / "book/executed/02_maybe.failed.ipynb").exists()
    assert (project / "book/executed/02_maybe.ipynb").read_bytes() == good


def test_bad_parameter_type_is_named(project):
    with pytest.raises(ValueError, match=r"parameter n='abc'.*expected int"):
        resolve_parameters(project, ["01_ok", "02_maybe"], {"n": "abc"})


def test_unknown_parameter_lists_known_ones(project):
    with pytest.raises(ValueError, match=r"\['epochz'\].*known parameters: fail, label, n"):
        resolve_parameters(project, ["01_ok", "02_maybe"], {"epochz": 3})


def test_only_unknown_chapter(project):
    with pytest.raises(ValueError, match="no notebook with that number"):
        execute_book(project, only=["07"], log=lambda *a, **k: None)


def test_cli_reports_bad_value_clearly(project, capsys):
    rc = main(["book", "--root", str(project), "--no-build", "-p", "n", "many"])
    assert rc == 2
    assert "parameter n='many'" in capsys.readouterr().err


def test_cli_failed_notebook_exit_code(project, capsys):
    rc = main(["book", "--root", str(project), "--no-build", "--only", "2", "-p", "fail", "true"])
    assert rc == 1
    assert "02_maybe.ipynb failed in cell" in capsys.readouterr().err


def test_unexecuted_cell_is_named(project):
    from stag.book.runner import check_executed

    execute_book(project, log=lambda *a, **k: None)
    check_executed(project)
    path = project / "book/executed/01_ok.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].execution_count = None
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match=r"01_ok.ipynb: cell 3 was not executed"):
        check_executed(project)


def test_profiles_reach_the_real_notebooks():
    """Every value of every profile is declared by some chapter, with the right type."""
    from stag.book.profiles import PROFILES
    from stag.book.runner import declared_parameters, plan_parameters

    root = Path(__file__).resolve().parents[1]
    declared = set()
    for stem in toc_notebooks(root):
        declared |= set(declared_parameters(root / "notebooks" / f"{stem}.ipynb"))
    for name, values in PROFILES.items():
        assert set(values) <= declared, f"profile {name}: {sorted(set(values) - declared)} reach no chapter"
        plan = plan_parameters(root, profile=name, device="cpu")
        assert all(p.get("device", "cpu") == "cpu" for p in plan.values())
    full = plan_parameters(root, profile="full")
    assert full["06_honest_evaluation"]["epochs"] == PROFILES["full"]["epochs"]


def test_full_profile_trains_every_ablation_with_three_seeds():
    """`stag book --profile full` runs the whole component study live in chapter 6; chapter 7
    keeps explaining STAG (its model list is its own parameter)."""
    from stag.book.runner import plan_parameters
    from stag.models import list_models
    from stag.train.study import parse_models

    root = Path(__file__).resolve().parents[1]
    full = plan_parameters(root, profile="full")
    chapter6 = parse_models(full["06_honest_evaluation"]["models"])
    assert {m for m in list_models() if m.startswith("stag")} <= set(chapter6)
    assert {"ststnet", "offapexnet", "ststnet_64", "offapexnet_64"} <= set(chapter6)
    assert full["06_honest_evaluation"]["seeds"] >= 3
    assert "models" not in full["09_explanations"]  # chapter 7's own list is `explain_models`


def test_parameter_cells_leave_the_rendered_page_and_the_source_is_recorded(tmp_path):
    import nbformat

    from stag.book.runner import finish_executed, source_digest

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters", "hide-input"]}),
        nbformat.v4.new_code_cell("# Parameters\nx = 2", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(x)")])
    path, src = tmp_path / "nb.ipynb", tmp_path / "src.ipynb"
    nbformat.write(nb, path)
    nbformat.write(nb, src)
    finish_executed(path, src, {"x": 2})
    out = nbformat.read(path, as_version=4)
    assert out.cells[0].metadata.tags == ["parameters", "hide-input", "remove-cell"]
    assert out.cells[1].metadata.tags == ["injected-parameters", "remove-cell"]
    assert "tags" not in out.cells[2].metadata
    assert out.metadata.stag == {"source": "notebooks/src.ipynb", "source_sha256": source_digest(src),
                                 "injected_parameters": {"x": 2}}


def test_an_executed_copy_is_checked_like_nbmake(tmp_path):
    """The book's executed copy stands for nbmake's run only when it was made from the current
    source, with the notebook's own defaults, every cell ran and none raised."""
    import nbformat

    from stag.book.runner import EXECUTED_DIR, NOTEBOOK_DIR, executed_like_nbmake, finish_executed

    (tmp_path / NOTEBOOK_DIR).mkdir()
    (tmp_path / EXECUTED_DIR).mkdir(parents=True)
    src = tmp_path / NOTEBOOK_DIR / "01_x.ipynb"
    cells = [nbformat.v4.new_code_cell("epochs = 3", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("print(epochs)")]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), src)
    done = nbformat.v4.new_notebook(cells=[c.copy() for c in cells], metadata=kernel)
    for i, c in enumerate(done.cells, 1):
        c["execution_count"] = i
    out = tmp_path / EXECUTED_DIR / "01_x.ipynb"
    nbformat.write(done, out)
    finish_executed(out, src, {})
    assert executed_like_nbmake(tmp_path, "01_x") == []
    finish_executed(out, src, {"epochs": 40})
    assert executed_like_nbmake(tmp_path, "01_x") == ["01_x: executed with parameters other than its defaults: "
                                                      "{'epochs': 40}"]
    finish_executed(out, src, {})
    nbformat.write(nbformat.v4.new_notebook(cells=[*cells, nbformat.v4.new_code_cell("1")], metadata=kernel), src)
    assert executed_like_nbmake(tmp_path, "01_x") == ["01_x: executed from another version of notebooks/01_x.ipynb"]
    assert executed_like_nbmake(tmp_path, "02_y") == ["book/executed/02_y.ipynb is missing"]
