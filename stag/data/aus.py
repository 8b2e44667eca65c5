"""Facial action units (FACS) used across the study, and AU-string parsing."""

from __future__ import annotations

import re

# The AUs that micro-expression datasets annotate most, in the order of the AU head's outputs.
AU_VOCAB: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)

AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    20: "lip stretcher", 23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop",
}

_AU_TOKEN = re.compile(r"^(?:[LRAB])?(\d+)[A-E]?$", re.IGNORECASE)


def parse_aus(text: object, where: str = "") -> tuple[int, ...]:
    """Parse an annotation AU string into sorted unique AU numbers.

    Accepts ``"4+7"``, ``"R12"``, ``"L10"``, ``"A2"``, ``"12B"`` (intensity letter), commas or
    spaces as separators, and ``"?"``/empty/NaN for unknown (returns ``()``). The side prefix
    (L/R/A/B) is dropped. Anything else raises a :class:`ValueError` naming ``where``.
    """
    if text is None:
        return ()
    if isinstance(text, float):
        if text != text:  # NaN
            return ()
        text = str(int(text)) if text.is_integer() else str(text)
    s = str(text).strip()
    if s in ("", "?", "/", "-", "nan", "None"):
        return ()
    out = set()
    for token in re.split(r"[+,;\s]+", s):
        token = token.strip()
        if not token or token == "?":
            continue
        m = _AU_TOKEN.match(token)
        if not m:
            loc = f"{where}: " if where else ""
            raise ValueError(f"{loc}cannot parse action unit {token!r} in {s!r}; expected forms like '4+7', 'R12', 'L10', 'A2'")
        out.add(int(m.group(1)))
    return tuple(sorted(out))


def au_multi_hot(aus: tuple[int, ...], vocab: tuple[int, ...] = AU_VOCAB):
    """``(len(vocab),)`` float32 0/1 vector of the AUs in ``aus`` (AUs outside ``vocab`` are ignored)."""
    import numpy as np

    v = np.zeros(len(vocab), dtype=np.float32)
    for au in aus:
        if au in vocab:
            v[vocab.index(au)] = 1.0
    return v
