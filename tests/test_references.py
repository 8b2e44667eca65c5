"""The bibliography names the STAG paper correctly (book/references.bib)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _entry(key: str) -> str:
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    m = re.search(rf"@\w+\{{{key},(.*?)\n\}}", text, re.DOTALL)
    assert m, f"no entry {key!r} in book/references.bib"
    return m.group(1)


def _field(entry: str, name: str) -> str:
    m = re.search(rf"^\s*{name}\s*=\s*\{{(.*)\}},?\s*$", entry, re.MULTILINE)
    assert m, f"no {name} field"
    return re.sub(r"[{}]", "", m.group(1))


def test_stag_paper_entry_has_its_authors_and_title():
    entry = _entry("singh2026stag")
    assert _field(entry, "title") == ("STAG: Spatio-temporal Evolving Structural Representation of Action Units "
                                      "for Micro-expression Recognition")
    assert [a.strip() for a in _field(entry, "author").split(" and ")] == [
        "Singh, Dinesh", "Sharma, Varun", "Sharma, Nandani"]
    assert _field(entry, "eprint") == "2606.28083" and _field(entry, "year") == "2026"


def test_no_citation_uses_the_old_key():
    files = [ROOT / "README.md", *(ROOT / "book").glob("*.md"), *(ROOT / "notebooks").glob("*.py"),
             *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "stag").rglob("*.py")]
    assert [str(p.relative_to(ROOT)) for p in files if "sharma2026stag" in p.read_text(encoding="utf-8")] == []
