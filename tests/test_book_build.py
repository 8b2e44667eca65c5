"""The strict build fails on a broken citation or cross-reference and names the page."""

import shutil
from pathlib import Path

import pytest

from stag.book.runner import build_html

ROOT = Path(__file__).resolve().parents[1]


def _mini_book(tmp_path: Path, page: str) -> Path:
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")
    shutil.copy(ROOT / "book" / "bibliography.md", tmp_path / "book" / "bibliography.md")
    (tmp_path / "book" / "images").mkdir()
    shutil.copy(ROOT / "book" / "images" / "favicon.png", tmp_path / "book" / "images")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/chapter\n  - file: book/bibliography\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\n(intro-label)=\n## Section\n\nText.\n")
    (tmp_path / "book" / "chapter.md").write_text(page)
    return tmp_path


@pytest.mark.slow
def test_good_mini_book_builds(tmp_path):
    root = _mini_book(tmp_path, "# Chapter\n\nAs in {cite:p}`singh2026stag`, see {ref}`intro-label`.\n")
    assert build_html(root, log=lambda *a, **k: None).exists()


@pytest.mark.slow
def test_broken_citation_fails_and_names_page(tmp_path):
    root = _mini_book(tmp_path, "# Chapter\n\nAs in {cite:p}`nosuchkey2099`.\n")
    with pytest.raises(RuntimeError) as err:
        build_html(root, log=lambda *a, **k: None)
    assert "chapter.md" in str(err.value) and "nosuchkey2099" in str(err.value)


@pytest.mark.slow
def test_broken_cross_reference_fails_and_names_page(tmp_path):
    root = _mini_book(tmp_path, "# Chapter\n\nSee {ref}`no-such-label`.\n")
    with pytest.raises(RuntimeError) as err:
        build_html(root, log=lambda *a, **k: None)
    assert "chapter.md" in str(err.value) and "no-such-label" in str(err.value)


@pytest.mark.slow
def test_missing_figure_fails_and_names_page(tmp_path):
    root = _mini_book(tmp_path, "# Chapter\n\n![a figure](images/missing.png)\n")
    with pytest.raises(RuntimeError) as err:
        build_html(root, log=lambda *a, **k: None)
    assert "chapter.md" in str(err.value)
