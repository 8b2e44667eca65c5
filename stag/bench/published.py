"""Scores published by others on the MEGC2019 composite, kept apart from anything measured here.

Source: the papers as collected in the project's dataset notes (``DATASETS.md``, MEGC2019
composite: CASME II + SAMM + SMIC-HS, 3 classes, LOSO over 68 subjects). Most of these
repositories choose each fold's best epoch on its test subject (the oracle selection of
chapter 6), so they are optimistic and not comparable with honest scores.
"""

from __future__ import annotations

import pandas as pd

#: ``(model, UF1, UAR)`` as published.
PUBLISHED_COMPOSITE: tuple[tuple[str, float, float], ...] = (
    ("HTNet", 0.860, 0.848),
    ("FRL-DGT", 0.812, 0.811),
    ("STSTNet", 0.735, 0.761),
    ("Off-ApexNet", 0.720, 0.710),
)

SELECTION = "best test-subject epoch (oracle), mostly"


def published_composite() -> pd.DataFrame:
    """The literature's composite scores: ``model, UF1, UAR, epoch selection, source``."""
    table = pd.DataFrame(PUBLISHED_COMPOSITE, columns=["model", "UF1", "UAR"])
    table["epoch selection"] = SELECTION
    table["source"] = "literature"
    return table
