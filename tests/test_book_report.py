"""The introduction's parts are written from the committed records, never typed: the abstract's
decisions (at most six sentences), the figure of every real-face comparison and the headlines."""

import re
from pathlib import Path

import pytest

from stag.book.report import intro_parts

ROOT = Path(__file__).resolve().parents[1]


def _sentences(text: str) -> list[str]:
    """Sentences of generated prose: ended by '.', '!' or '?' and a space or the end (numbers like
    0.712 and intervals do not end one)."""
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*(])", text.strip()) if s]


@pytest.fixture(scope="module")
def parts():
    return intro_parts(ROOT)


def test_the_abstract_states_decisions_in_at_most_six_sentences(parts):
    assert 1 <= len(_sentences(parts["abstract"])) <= 2, _sentences(parts["abstract"])  # above the figure
    text = parts["abstract"] + " " + parts["more"]
    assert 1 <= len(_sentences(text)) <= 6, _sentences(text)
    assert "On the synthetic set, where the ground truth is known" in parts["more"]
    assert re.search(r"[+-]0\.\d{3} \[[+-]0\.\d{3}, [+-]0\.\d{3}\]", text)  # numbers, with their interval


def test_the_figure_holds_every_real_face_comparison(parts):
    fig = parts["figure"]
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert any("stag+pre - offapexnet (two-phase)" in s for s in labels)  # a superseded study, shown grey
    assert any("stag - stag_no_graph (first copy)" in s for s in labels)
    assert any(ax.get_title(loc="left").startswith("earlier studies, inputs read wrongly") for ax in fig.axes)


def test_the_headlines_are_the_current_studys_tables(parts):
    assert "| model | seeds | UF1 mean [min-max] |" in parts["headlines"]
    assert "**Two-phase copy**" in parts["headlines"]


def test_an_empty_results_root_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    p = intro_parts(tmp_path)
    assert "0 of 30 pre-registered runs" in p["abstract"]
    assert "pre-registered runs" not in p["more"]  # said once
    assert p["headlines"] == "*No run of the current study is recorded yet.*\n"


def test_the_intro_has_at_most_twelve_generated_sentences(parts):
    """Every generated block the introduction includes, counted together."""
    intro = (ROOT / "book" / "intro.md").read_text()
    included = re.findall(r"```\{include\} generated/(\w+)\.md", intro)
    assert set(included) == {"abstract", "abstract_more", "headlines"}
    prose = [parts["abstract"], parts["more"], re.sub(r"^\|.*\|$", "", parts["headlines"], flags=re.M)]
    assert sum(len(_sentences(p)) for p in prose) <= 12
