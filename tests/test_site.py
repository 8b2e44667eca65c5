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


def test_intro_first_screen_shows_a_real_face_result_and_the_figure(site):
    """What a reader sees of the introduction before scrolling (1280 x 800): the abstract with at
    least one real-face result and its number, and the start of the comparisons figure."""
    base, driver = site
    driver.set_window_size(1280, 800)
    driver.get(f"{base}/book/intro.html")
    visible = driver.execute_script(
        "const h = window.innerHeight;"
        "return Array.from(document.querySelectorAll('main p, main li'))"
        ".filter(e => { const r = e.getBoundingClientRect(); return r.top < h && r.bottom > 0; })"
        ".map(e => e.innerText).join(' ');")
    assert re.search(r"(real faces|copy)[^.]*?[+-]?\d\.\d{3}", visible), visible[:600]
    top, height = driver.execute_script(
        "const i = Array.from(document.images).find(i => (i.currentSrc || i.src).includes('comparisons'));"
        "return [i ? i.getBoundingClientRect().top : null, window.innerHeight];")
    # Not a sliver at the bottom edge: at least 150 px of the figure (its first rows) show.
    assert top is not None and top < height - 150, f"the comparisons figure starts at {top} of {height} px"


def test_tables_fit_the_page_at_1280_px(site):
    """No table or cell output scrolls sideways on any page at 1280 px."""
    from stag.book.browser import page_urls

    base, driver = site
    driver.set_window_size(1280, 800)
    wide = []
    for name, url in page_urls(ROOT, base):
        driver.get(url)
        found = driver.execute_script(
            "return Array.from(document.querySelectorAll('main table, main .cell_output, main .output, "
            "main .table-wrapper, main pre'))"
            ".filter(e => e.scrollWidth > e.clientWidth + 2 && getComputedStyle(e).overflowX !== 'visible')"
            ".filter(e => e.tagName !== 'PRE' || e.closest('.cell_output'))"
            ".map(e => e.tagName + ' ' + e.scrollWidth + '>' + e.clientWidth);")
        if found:
            wide.append(f"{name}: {found[:3]}")
    assert not wide, "\n".join(wide)


EVALUATION_CHAPTERS = ("06_honest_evaluation", "07_real_faces", "08_component_study", "09_explanations",
                       "10_real_face_explanations", "11_efficiency", "a1_first_copy", "a2_two_phase")


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
