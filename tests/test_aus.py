"""FACS AU-string notation (stag/data/aus.py): every form in the released CASME II and SAMM codings."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from stag.data.aus import (AUCode, AUParseError, AUString, au_targets, code_kind, parse_au_string, parse_aus,
                           read_au_cell)


def _shared_data() -> Path:
    env = os.environ.get("STAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def C(number, side=None, lip=None, intensity=None, uncertain=False, referenced=False, kind="au"):  # noqa: N802
    return AUCode(number, side, lip, intensity, uncertain, referenced, kind)


# (text, codes, notes, targets)
NOTATIONS = [
    ("(R6 or R12) + R15", [C(6, "R", uncertain=True), C(12, "R", uncertain=True), C(15, "R")], (), (6, 12, 15)),
    ("(R6 or R12)+R15", [C(6, "R", uncertain=True), C(12, "R", uncertain=True), C(15, "R")], (), (6, 12, 15)),
    ("10A/B", [C(10, intensity="A/B")], (), (10,)),
    ("12A+ref(24)", [C(12, intensity="A"), C(24, referenced=True)], (), (12,)),
    ("13+T18+39", [C(13), C(18, lip="T"), C(39)], (), (13, 18, 39)),
    ("4+13+T18+39", [C(4), C(13), C(18, lip="T"), C(39)], (), (4, 13, 18, 39)),
    ("4A/B", [C(4, intensity="A/B")], (), (4,)),
    ("4D+ref(6)+7C+43E", [C(4, intensity="D"), C(6, referenced=True), C(7, intensity="C"), C(43, intensity="E")], (),
     (4, 7, 43)),
    ("7B+ ref(43)", [C(7, intensity="B"), C(43, referenced=True)], (), (7,)),
    ("7D+ref(43)", [C(7, intensity="D"), C(43, referenced=True)], (), (7,)),
    ("A/L12", [C(12, side="A/L")], (), (12,)),
    ("A9E+ref(10)", [C(9, "A", intensity="E"), C(10, referenced=True)], (), (9,)),
    ("L12 + 61", [C(12, "L"), C(61, kind="eye")], (), (12,)),
    ("L12 or L14", [C(12, "L", uncertain=True), C(14, "L", uncertain=True)], (), (12, 14)),
    ("R12 or R14", [C(12, "R", uncertain=True), C(14, "R", uncertain=True)], (), (12, 14)),
    ("R14+17+soft focus", [C(14, "R"), C(17)], ("soft focus",), (14, 17)),
    ("R14A or 17A or 24A", [C(14, "R", intensity="A", uncertain=True), C(17, intensity="A", uncertain=True),
                            C(24, intensity="A", uncertain=True)], (), (14, 17, 24)),
    ("T18+39", [C(18, lip="T"), C(39)], (), (18, 39)),
    ("T23", [C(23, lip="T")], (), (23,)),
    ("ref(5)+20C+25+26", [C(5, referenced=True), C(20, intensity="C"), C(25), C(26)], (), (20, 25, 26)),
    ("ref(7B)+43", [C(7, intensity="B", referenced=True), C(43)], (), (43,)),
    ("ref(7B)+43C", [C(7, intensity="B", referenced=True), C(43, intensity="C")], (), (43,)),
    ("ref(L10)+A12B", [C(10, "L", referenced=True), C(12, "A", intensity="B")], (), (12,)),
    # further forms of the releases
    ("B18+25", [C(18, lip="B"), C(25)], (), (18, 25)),
    ("7B+56", [C(7, intensity="B"), C(56, kind="head")], (), (7,)),
    ("4+6+7+9+43E", [C(4), C(6), C(7), C(9), C(43, intensity="E")], (), (4, 6, 7, 9, 43)),
    ("L20+21", [C(20, "L"), C(21, kind="descriptor")], (), (20,)),
    ("1A+2B+L14C", [C(1, intensity="A"), C(2, intensity="B"), C(14, "L", intensity="C")], (), (1, 2, 14)),
    (12, [C(12)], (), (12,)),
]


@pytest.mark.parametrize("text,codes,notes,targets", NOTATIONS, ids=[str(n[0]) for n in NOTATIONS])
def test_every_notation_gives_its_structured_result(text, codes, notes, targets):
    parsed = parse_au_string(text, "row 30")
    assert parsed.codes == tuple(codes) and parsed.notes == notes and parsed.known
    assert parsed.targets == targets == parse_aus(text)


def test_facs_kinds():
    assert [code_kind(n) for n in (1, 8, 18, 23, 38, 39, 43, 46)] == ["au"] * 8
    assert [code_kind(n) for n in (19, 21, 31, 50)] == ["descriptor"] * 4
    assert (code_kind(56), code_kind(61), code_kind(3), code_kind(80)) == ("head", "eye", "other", "other")


@pytest.mark.parametrize("text", ["4+12Z", "4+AUx", "T4", "(R6 or R12", "R6)+R15", "4 or", "4+#"])
def test_unreadable_strings_raise_with_location_and_read_au_cell_does_not(text):
    with pytest.raises(AUParseError, match="row 7"):
        parse_au_string(text, "row 7")
    cell = read_au_cell(text, "row 7")
    assert cell == AUString(text, error=cell.error) and cell.targets == () and not cell.known and "row 7" in cell.error


def test_au_targets_refuses_a_clip_whose_aus_are_unknown():
    from stag.data.clip import Clip

    ok = Clip("d/s/a", "s", "d", 0, "x", aus=(4, 7), au_text="4+7")
    bad = Clip("d/s/b", "s", "d", 0, "x", aus=(), au_text="4+12Z", au_error="row 7: cannot parse '12Z'")
    assert au_targets(ok) == (4, 7)
    with pytest.raises(AUParseError, match=r"d/s/b: no AU targets.*12Z.*au_loss_weight=0"):
        au_targets(bad)


def test_every_au_string_of_the_released_codings_parses():
    path = _shared_data() / "au_combinations.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found (the released AU strings live in ../shared/data or $STAG_SHARED_DATA)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 184
    for r in rows:
        parsed = parse_au_string(r["action_units_raw"], f"au_combinations.csv {r['dataset']}")
        assert parsed.codes, r
        assert all(c.kind != "other" for c in parsed.codes), r
