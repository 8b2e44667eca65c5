"""Facial action units (FACS) used across the study, and AU-string parsing.

Action Unit notation
--------------------
The released codings write a clip's AUs as a FACS score string. :func:`parse_au_string`
reads every form found in the CASME II (``CASME2-coding-20190701.xlsx``) and SAMM
(``SAMM_Micro_FACS_Codes_v2.xlsx``) releases into an :class:`AUString` of :class:`AUCode`:

========================  ===================================================================
written                   read as
========================  ===================================================================
``4+7``, ``1+2+ 4``       codes joined by ``+`` (also ``,`` ``;`` or spaces; spaces around
                          ``+`` are ignored; a repeated AU counts once)
``R12``, ``L10``,         side prefix: ``L``/``R`` left/right, ``A`` asymmetric, ``U``
``A2``, ``A/L12``         unilateral; ``A/L12`` (either, as written) keeps side ``"A/L"``
``T18``, ``B18``          lip prefix for the lip AUs (8, 18, 22, 23, 24, 28): ``T`` top lip,
                          ``B`` bottom lip. These are lip AUs (18 lip pucker, 23 lip
                          tightener), not tongue codes: FACS has no T-prefixed tongue codes
                          (tongue show is AD 19, tongue bulge AD 36). ``B`` before any other
                          AU is read as "bilateral", as earlier versions did.
``12B``, ``4A/B``         intensity A (trace) .. E (maximum); a range keeps both (``"A/B"``)
``R12 or R14``,           alternatives: every alternative is kept, each marked ``uncertain``
``(R6 or R12)+R15``       (parentheses only group)
``ref(7B)+43``,           ``referenced``: an AU the coder refers to (e.g. visible from a
``7B+ ref(43)``           neighbouring event) but did not code for this clip; never a target
``soft focus``            free words are kept as ``notes``
``?``, ``/``, empty       unknown: no codes
========================  ===================================================================

What a number is (:func:`code_kind`), following the FACS manual (Ekman, Friesen & Hager,
*Facial Action Coding System*, 2002; the same table is reproduced e.g. by the
Wikipedia article "Facial Action Coding System"):

- ``"au"``, action units of the face: 1, 2, 4-18, 20, 22-28 (3 is unused in FACS),
  38 nostril dilator, 39 nostril compressor, 41 lid droop, 42 slit, 43 eyes closed,
  44 squint, 45 blink, 46 wink. 39 and 43 are therefore AU targets.
- ``"descriptor"``, action descriptors (movements without a specific muscle basis):
  19 tongue show, 21 neck tightener, 29-37 (jaw thrust ... lip wipe), 40 sniff, 50 speech.
- ``"head"``, head positions 51-58 (e.g. 56 head tilt right); ``"eye"``, eye positions
  61-69 (e.g. 61 eyes turn left); ``"other"``, visibility and gross-behaviour codes (70+)
  and anything else.

AU targets (:attr:`AUString.targets`, what :func:`parse_aus` returns and what the AU loss
is trained on) are the codes of kind ``"au"`` that are not ``referenced``. Uncertain
alternatives *are* targets (``"R12 or R14"`` -> ``(12, 14)``): the coder saw movement that
is one of them, both act on the same face region, and dropping them would call the clip
AU-free. Descriptors, head/eye positions and notes are kept on the :class:`AUString` but
are not targets.

A string that still cannot be read raises :class:`AUParseError` from
:func:`parse_au_string`/:func:`parse_aus`. Dataset adapters use :func:`read_au_cell`
instead, which never raises: the clip loads with ``aus=()`` and ``au_error`` set, the row is
listed as a warning by ``stag data summary``, and :func:`au_targets` raises only when the
AU targets of that clip are actually requested (training with an AU loss).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

# The AUs that micro-expression datasets annotate most, in the order of the AU head's outputs.
AU_VOCAB: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)

AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    20: "lip stretcher", 23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop",
}

# FACS 2002 (Ekman, Friesen & Hager): which numbers are action units of the face.
FACE_AUS: frozenset[int] = frozenset([1, 2, *range(4, 19), 20, *range(22, 29), 38, 39, *range(41, 47)])
ACTION_DESCRIPTORS: frozenset[int] = frozenset([19, 21, *range(29, 38), 40, 50])
HEAD_POSITIONS: frozenset[int] = frozenset(range(51, 59))
EYE_POSITIONS: frozenset[int] = frozenset(range(61, 70))
LIP_AUS: frozenset[int] = frozenset([8, 18, 22, 23, 24, 28])  # scored per lip with T (top) / B (bottom)

SIDES = {"L": "left", "R": "right", "A": "asymmetric", "U": "unilateral", "B": "bilateral"}
_UNKNOWN = ("", "?", "/", "-", "nan", "none")
_CODE = re.compile(r"^(?:(?P<side>[LRAUTB](?:/[LRAU])?))?(?P<num>\d{1,2})(?P<int>[A-E](?:/[A-E])?)?$")
_CHUNK = re.compile(r"\s*(?:(?P<ref>ref\s*\()|(?P<open>\()|(?P<close>\))|(?P<sep>[+,;])|(?P<q>\?)"
                    r"|(?P<word>[A-Za-z0-9/.'-]+))", re.IGNORECASE)


class AUParseError(ValueError):
    """An AU string that :func:`parse_au_string` cannot read; the message names where and what."""


def code_kind(number: int) -> str:
    """FACS category of a code number: ``"au"``, ``"descriptor"``, ``"head"``, ``"eye"`` or ``"other"``."""
    if number in FACE_AUS:
        return "au"
    if number in ACTION_DESCRIPTORS:
        return "descriptor"
    if number in HEAD_POSITIONS:
        return "head"
    if number in EYE_POSITIONS:
        return "eye"
    return "other"


@dataclass(frozen=True)
class AUCode:
    """One code of a FACS score string.

    Attributes:
        number: the FACS number (``12`` in ``R12B``).
        side: ``"L"``, ``"R"``, ``"A"`` (asymmetric), ``"U"`` (unilateral), ``"B"``
            (bilateral), ``"A/L"`` (as written: either), or ``None`` (not given).
        lip: ``"T"`` (top) or ``"B"`` (bottom) lip for the lip AUs, else ``None``.
        intensity: ``"A"`` .. ``"E"``, a range as written (``"A/B"``), or ``None``.
        uncertain: part of an ``or`` alternative.
        referenced: inside ``ref(...)``: referred to, not coded on this clip.
        kind: :func:`code_kind` of ``number``.
    """

    number: int
    side: str | None = None
    lip: str | None = None
    intensity: str | None = None
    uncertain: bool = False
    referenced: bool = False
    kind: str = "au"

    @property
    def is_target(self) -> bool:
        """An AU target: a facial action unit that was coded (not referenced)."""
        return self.kind == "au" and not self.referenced


@dataclass(frozen=True)
class AUString:
    """A parsed AU cell.

    Attributes:
        text: the cell as written (``""`` for empty/unknown).
        codes: every code, in the order written.
        notes: free words (``"soft focus"``).
        error: why the cell could not be read (then ``codes == ()``), else ``""``.
    """

    text: str
    codes: tuple[AUCode, ...] = ()
    notes: tuple[str, ...] = ()
    error: str = ""

    @property
    def targets(self) -> tuple[int, ...]:
        """Sorted unique AU targets (see the module docstring)."""
        return tuple(sorted({c.number for c in self.codes if c.is_target}))

    @property
    def known(self) -> bool:
        return not self.error


def _cell_str(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, float):
        if text != text:  # NaN
            return ""
        text = str(int(text)) if text.is_integer() else str(text)
    s = " ".join(str(text).split())
    return "" if s.lower() in _UNKNOWN else s


def _code(token: str, where: str, s: str, uncertain: bool, referenced: bool) -> AUCode:
    m = _CODE.match(token.upper())
    loc = f"{where}: " if where else ""
    if not m:
        raise AUParseError(f"{loc}cannot parse action unit {token!r} in {s!r}; expected forms like '4+7', 'R12', "
                           f"'L10', 'A2', '12B', '4A/B', 'T18', 'ref(7B)', 'R12 or R14'")
    number, prefix = int(m.group("num")), m.group("side")
    side = lip = None
    if prefix in ("T", "B") and number in LIP_AUS:
        lip = prefix
    elif prefix == "T":
        raise AUParseError(f"{loc}cannot parse action unit {token!r} in {s!r}: the T (top lip) prefix applies only "
                           f"to the lip AUs {sorted(LIP_AUS)}")
    else:
        side = prefix
    return AUCode(number, side, lip, m.group("int"), uncertain, referenced, code_kind(number))


def parse_au_string(text: object, where: str = "") -> AUString:
    """Parse an AU annotation cell into an :class:`AUString` (notation: module docstring).

    Args:
        text: the cell (str, int, float; ``None``/NaN/``"?"``/``"/"`` mean unknown).
        where: location for error messages (``"SAMM_Micro_FACS_Codes_v2.xlsx row 30"``).

    Raises:
        AUParseError: the string does not follow the notation; names ``where`` and the token.
    """
    s = _cell_str(text)
    if not s:
        return AUString("")
    loc = f"{where}: " if where else ""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _CHUNK.match(s, pos)
        if not m or m.end() == pos:
            if s[pos:].strip() == "":
                break
            raise AUParseError(f"{loc}cannot parse action unit string {s!r} at {s[pos:]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    codes: list[AUCode] = []
    notes: list[str] = []
    i = 0

    def sequence(referenced: bool, depth: int) -> None:
        """term ((sep | nothing) term)* up to ``)`` or the end; a term is an or-chain."""
        nonlocal i
        while i < len(tokens):
            kind, value = tokens[i]
            if kind == "close":
                if depth == 0:
                    raise AUParseError(f"{loc}unbalanced ')' in action unit string {s!r}")
                return
            if kind in ("sep", "q"):
                i += 1
                continue
            alternatives = [atom(referenced, depth)]
            while i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].lower() == "or":
                i += 1
                if i >= len(tokens) or tokens[i][0] in ("sep", "close"):
                    raise AUParseError(f"{loc}'or' without a second alternative in action unit string {s!r}")
                alternatives.append(atom(referenced, depth))
            if len(alternatives) > 1:
                for group in alternatives:
                    for k in group:
                        codes[k] = replace(codes[k], uncertain=True)
        if depth:
            raise AUParseError(f"{loc}unbalanced '(' in action unit string {s!r}")

    def atom(referenced: bool, depth: int) -> list[int]:
        """One code, note or bracketed group; returns the indices of the codes it added."""
        nonlocal i
        kind, value = tokens[i]
        start = len(codes)
        if kind in ("open", "ref"):
            i += 1
            sequence(referenced or kind == "ref", depth + 1)
            i += 1  # the ')'
            return list(range(start, len(codes)))
        if kind == "word" and re.fullmatch(r"[A-Za-z][A-Za-z'.-]+", value) and value.lower() not in ("or", "ref") \
                and not value.upper().startswith("AU"):
            words = [value]
            i += 1
            while (i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].lower() != "or"
                   and re.fullmatch(r"[A-Za-z][A-Za-z'.-]+", tokens[i][1])):
                words.append(tokens[i][1])
                i += 1
            notes.append(" ".join(words))
            return []
        if kind != "word":
            raise AUParseError(f"{loc}unexpected {value!r} in action unit string {s!r}")
        codes.append(_code(value, where, s, False, referenced))
        i += 1
        return [start]

    sequence(False, 0)
    return AUString(s, tuple(codes), tuple(notes))


def read_au_cell(text: object, where: str = "") -> AUString:
    """:func:`parse_au_string` for dataset adapters: never raises.

    A string that cannot be read gives ``AUString(text, error=...)``: no codes, no targets;
    the clip still loads and :func:`au_targets` refuses it later.
    """
    try:
        return parse_au_string(text, where)
    except AUParseError as exc:
        return AUString(_cell_str(text), error=str(exc))


def parse_aus(text: object, where: str = "") -> tuple[int, ...]:
    """Parse an annotation AU string into its sorted unique AU targets.

    ``"4+7"`` -> ``(4, 7)``, ``"R12 or R14"`` -> ``(12, 14)``, ``"ref(7B)+43"`` -> ``(43,)``,
    ``"L12 + 61"`` -> ``(12,)``; ``"?"``/empty/NaN -> ``()``. Semantics in the module
    docstring (:func:`parse_au_string` gives the full structure).

    Raises:
        AUParseError (a ValueError): naming ``where`` and the token that could not be read.
    """
    return parse_au_string(text, where).targets


def au_targets(item) -> tuple[int, ...]:
    """The AU targets of a clip (or anything with ``aus`` and ``au_error``), for an AU loss.

    Raises:
        AUParseError: the clip's AU string could not be read when it was loaded, so it has
            no AU targets; names the clip and the string.
    """
    error = getattr(item, "au_error", "")
    if error:
        name = getattr(item, "clip_id", "clip")
        raise AUParseError(f"{name}: no AU targets, its action unit string could not be read ({error}); "
                           f"fix the annotation, drop the clip, or train without the AU loss (au_loss_weight=0)")
    return tuple(item.aus)


def au_multi_hot(aus: tuple[int, ...], vocab: tuple[int, ...] = AU_VOCAB):
    """``(len(vocab),)`` float32 0/1 vector of the AUs in ``aus`` (AUs outside ``vocab`` are ignored)."""
    v = np.zeros(len(vocab), dtype=np.float32)
    for au in aus:
        if au in vocab:
            v[vocab.index(au)] = 1.0
    return v
