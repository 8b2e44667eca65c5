"""Checks on the built book (run by `make test` after `stag book`): real Chromium, real pages.

Skipped when the book has not been built in this checkout (``_build/html/index.html``).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots" / "full"  # whole pages; stag book writes the first screens above

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built (run `make book`)"),
]


@pytest.fixture(scope="module")
def site():
    from stag.book.browser import chromium, serve

    with serve(HTML) as base, chromium() as driver:
        yield base, driver


def test_every_page_renders_cleanly(site):
    from stag.book.browser import check_page, page_urls

    base, driver = site
    problems = []
    pages = page_urls(ROOT, base)
    for name, url in pages:
        page = check_page(driver, url, SCREENSHOTS / f"{name}.png")
        if page.console_errors:
            problems.append(f"{name}: console errors {page.console_errors}")
        if page.broken_images:
            problems.append(f"{name}: images with no size {page.broken_images}")
        if page.math_elements and page.math_rendered == 0:
            problems.append(f"{name}: {page.math_elements} maths elements but none typeset")
        assert Path(page.screenshot).stat().st_size > 0
    assert not problems, "\n".join(problems)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= len(pages)


def test_maths_typesets_offline(site):
    from stag.book.browser import check_page

    base, driver = site
    page = check_page(driver, f"{base}/book/intro.html")
    assert page.math_elements > 0 and page.math_rendered > 0


def test_search_finds_pages(site):
    from stag.book.browser import search_hits

    base, driver = site
    assert search_hits(driver, base, "micro-expression") > 0


def test_run_json_matches_execution_report():
    facts = json.loads((ROOT / "_build" / "run.json").read_text())
    report = (HTML / "book" / "execution_report.html").read_text()
    for nb in facts["notebooks"]:
        name = nb["notebook"].removeprefix("notebooks/")
        row = re.search(re.escape(name) + r".*?</tr>", report, re.S)
        assert row, f"{name} missing from the execution report"
        assert f"{nb['wall_time_s']:.1f}" in row.group(0)
        assert nb["status"] in row.group(0)


def test_results_archive_is_published():
    import zipfile

    with zipfile.ZipFile(HTML / "_downloads" / "results.zip") as zf:
        names = zf.namelist()
    assert "run.json" in names


def test_intro_headline_matches_training_results():
    """The intro's table is the training chapter's runs, not hand-typed numbers."""
    import pandas as pd

    from stag.book.report import TRAINING_RESULTS, headline_table

    table = headline_table(ROOT)
    runs = pd.read_csv(ROOT / TRAINING_RESULTS / "runs.csv")
    intro = (HTML / "book" / "intro.html").read_text()
    for _, row in table.iterrows():
        uf1 = row["UF1 mean [min-max]"]
        honest = runs[(runs.model == row.model) & (runs.selection == "last")]
        if row.selection == "last":
            assert uf1.split(" ")[0] == f"{honest.uf1.mean():.3f}"
        assert re.search(rf"<td[^>]*>\s*<p>{re.escape(row.model)}</p>.*?{re.escape(uf1)}", intro, re.S) or \
            re.search(rf"{re.escape(row.model)}.*?{re.escape(uf1)}", intro, re.S), row.model


EVALUATION_CHAPTERS = ("06_loso_training", "06b_real_data_megc2019", "06d_two_phase", "06c_component_study",
                       "07_interpretability", "07b_real_faces", "08_results_and_efficiency")


@pytest.mark.parametrize("stem", EVALUATION_CHAPTERS)
def test_evaluation_chapter_opens_with_one_plumbing_cell(stem):
    """On the rendered page, at most one folded code cell comes before the chapter's first
    result: the parameter cells are removed (their values are on the execution-report page)."""
    import nbformat

    nb = nbformat.read(ROOT / "book" / "executed" / f"{stem}.ipynb", as_version=4)
    shown = [c for c in nb.cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    visible = {"display_data", "execute_result"}
    first = next(i for i, c in enumerate(shown) if any(o.output_type in visible for o in c.get("outputs", [])))
    assert first <= 1, f"{stem}: {first} code cells before the first result"
