"""Published counts on the real datasets, run only where a licensed copy is present.

Set ``STAG_CASME2``, ``STAG_SAMM``, ``STAG_SMIC``, ``STAG_MEGC2019`` to the data roots (as laid
out in book/rerun_on_your_data.md). The MEGC2019 composite is also looked for in the shared data
folder (``$STAG_SHARED_DATA``, else ``../shared/data`` beside the repository), like the other
real-data tests do. A test whose data is at neither place is skipped; the same counts
are checked on full-size fake copies in tests/test_adapters.py and test_adapters_megc.py.
Rows of the real sheets with known inconsistencies are kept (``on_order_error="warn"``) or
skipped with a reason (``on_error="skip"``), so rows = clips + skipped.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from stag.data import load


def _shared_data() -> Path:
    """The shared data folder: ``$STAG_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    env = os.environ.get("STAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _root(var: str, shared: str | None = None) -> str:
    """``$var``, else ``shared`` under the shared data folder when it exists; else skip, saying why."""
    root = os.environ.get(var)
    if root:
        return root
    if shared and (_shared_data() / shared).exists():
        return str(_shared_data() / shared)
    where = f" and no {_shared_data() / shared}" if shared else ""
    pytest.skip(f"{var} not set{where} (no licensed copy here)")


def _load(name: str, var: str, shared: str | None = None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(name, data_root=_root(var, shared), on_error="skip", **kw)


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
    cs = _load("megc2019_flow", "STAG_MEGC2019", "megc2019")
    assert len(cs) == 442 and len(set(cs.subjects)) == 68 and not cs.skipped
    assert cs.summary()["total"].to_dict() == {"casme2": 145, "samm": 133, "smic": 164}
    assert cs.summary()[["negative", "positive", "surprise"]].sum().tolist() == [250, 109, 83]


# ----------------------------------------------------------------- released files in ../shared/data
# The released annotation files (never copied into the repository) with a fake frame tree
# written from them, so their rows load exactly as a user's copy would.

SAMM_XLSX = "SAMM_Micro_FACS_Codes_v2.xlsx"
CASME2_XLSX = "CASME2-coding-20190701.xlsx"


def _shared(*parts: str):
    path = _shared_data().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found (released files live in ../shared/data beside the repository or "
                    f"$STAG_SHARED_DATA; a user's clone has none)")
    return path


def _released(tmp_path, dataset: str, xlsx: str, **kw):
    from stag.data import fakes

    ann = _shared("codings", xlsx)
    fakes.write_frames_for_annotations(tmp_path, dataset, ann)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(dataset, data_root=tmp_path, annotations=ann, **kw)


def test_released_samm_xlsx_loads_159_micro_expressions(tmp_path):
    cs = _released(tmp_path, "samm", SAMM_XLSX, on_order_error="warn")
    assert len(cs) + len(cs.skipped) == 159 and len(cs) == 136
    assert all(why.startswith("excluded: emotion") and "label scheme 'samm_5'" in why for _, why in cs.skipped)
    assert {why.split("'")[1] for _, why in cs.skipped} == {"Disgust", "Fear", "Sadness"}
    assert not any(c.au_error for c in cs) and not any(len(c.missing_frames) for c in cs)
    # row 30, which used to stop loading: "(R6 or R12)+R15"
    row30 = [c for c in cs if c.source.endswith("row 30)")]
    assert [(c.au_text, c.aus) for c in row30] == [("(R6 or R12)+R15", (6, 12, 15))]
    # the two rows of v2 with an apex outside onset..offset are kept without that apex
    assert [w.split()[-1] for w, _ in cs.warnings] == ["140", "147"]
    everything = _released(tmp_path, "samm", SAMM_XLSX, on_order_error="warn", scheme="composite3")
    assert len(everything) == 133 and len(everything.skipped) == 26


def test_released_casme2_xlsx_loads_255_rows(tmp_path):
    cs = _released(tmp_path, "casme2", CASME2_XLSX, on_order_error="warn")
    assert len(cs) + len(cs.skipped) == 255 and len(cs) == 249 and len(set(cs.subjects)) == 26
    assert not any(c.au_error for c in cs)


def test_stag_data_summary_on_the_released_samm_xlsx(tmp_path, capsys):
    from stag.cli import main
    from stag.data import fakes

    ann = _shared("codings", SAMM_XLSX)
    fakes.write_frames_for_annotations(tmp_path, "samm", ann)
    assert main(["data", "summary", "samm", "--data-root", str(tmp_path), "--annotations", str(ann)]) == 0
    out = capsys.readouterr().out
    assert "samm: 136 clips" in out
    assert "annotation rows: 159 (136 clips kept, 23 excluded by the label scheme, 0 errors)" in out
    assert "Skipped rows: 23 (23 excluded by design, 0 errors)" in out
    assert out.count("is left out by label scheme 'samm_5'") == 23  # each exclusion listed
    assert "Clips with frame gaps: 0" in out and "Clips with unreadable AU strings (AUs unknown): 0" in out


def test_official_headerless_megc2019_ground_truth_loads_442_clips(tmp_path):
    import csv

    root = _shared("megc2019")
    with open(root / "combined_3_class2_for_optical_flow.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    official = tmp_path / "megc2019_ground_truth.csv"  # dataset,subject,filename,label; SAMM subject 6
    with open(official, "w", newline="") as f:
        csv.writer(f).writerows([r["dataset"], str(int(r["sub"])) if r["dataset"] == "samm" else r["sub"],
                                 r["filename_o"], r["label"]] for r in rows)
    cs = load("megc2019_flow", data_root=root, annotations=official)
    assert len(cs) == 442 and len(set(cs.subjects)) == 68
    assert cs.summary()["total"].to_dict() == {"casme2": 145, "samm": 133, "smic": 164}
