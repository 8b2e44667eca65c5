"""Published counts on the real datasets, run only where a licensed copy is present.

Set ``STAG_CASME2``, ``STAG_SAMM``, ``STAG_SMIC``, ``STAG_MEGC2019`` to the data roots (as laid
out in book/rerun_on_your_data.md). Without them every test here is skipped; the same counts
are checked on full-size fake copies in tests/test_adapters.py and test_adapters_megc.py.
Rows of the real sheets with known inconsistencies are kept (``on_order_error="warn"``) or
skipped with a reason (``on_error="skip"``), so rows = clips + skipped.
"""

from __future__ import annotations

import os
import warnings

import pytest

from stag.data import load


def _root(var: str) -> str:
    root = os.environ.get(var)
    if not root:
        pytest.skip(f"{var} not set (no licensed copy here)")
    return root


def _load(name: str, var: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(name, data_root=_root(var), on_error="skip", **kw)


def test_casme2_has_255_rows():
    cs = _load("casme2", "STAG_CASME2", on_order_error="warn")
    assert len(cs) + len(cs.skipped) == 255 and len(set(cs.subjects)) == 26


def test_samm_has_159_rows():
    cs = _load("samm", "STAG_SAMM", on_order_error="warn")
    assert len(cs) + len(cs.skipped) == 159


def test_smic_hs_has_164_clips_of_16_subjects():
    cs = _load("smic_hs", "STAG_SMIC")
    assert len(cs) == 164 and len(set(cs.subjects)) == 16 and not cs.skipped


def test_megc2019_composite_has_442_clips_of_68_subjects():
    cs = _load("megc2019_flow", "STAG_MEGC2019")
    assert len(cs) == 442 and len(set(cs.subjects)) == 68 and not cs.skipped
    assert cs.summary()["total"].to_dict() == {"casme2": 145, "samm": 133, "smic": 164}
    assert cs.summary()[["negative", "positive", "surprise"]].sum().tolist() == [250, 109, 83]
