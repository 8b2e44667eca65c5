"""Where the composite's ROI landmarks come from, counted and recorded with provenance.

STAG's nodes are face regions placed from 68 dlib landmarks found on each clip's apex face;
when dlib finds no face, from the aligned-face template. :func:`landmark_record` counts the
sources per dataset (with the commit and data checksum of the count) and
:func:`landmark_table` reads the committed count (``results/megc2019/landmarks.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


LANDMARKS_RECORD = "landmarks.json"


def landmark_record(data_root: str | Path, *, cache_dir: str | Path | None = None, jobs: int = 2) -> dict:
    """Where the composite's ROI landmarks come from: dlib (HOG detector, 68 points) on each
    clip's apex face, or the aligned-face template when dlib finds no face; per source
    dataset, with the provenance of the count (commit, data checksum, the call)."""
    from stag.preprocess.pipeline import PrepareConfig, landmark_sources
    from stag.train.experiment import load_and_prepare
    from stag.train.provenance import data_checksum, python_call, source_commit, utc_now

    data = load_and_prepare("megc2019_flow", data_root=data_root, prepare_config=PrepareConfig(keyframes=1,
                            output_size=64), cache_dir=cache_dir, jobs=jobs, progress=False)
    commit, dirty = source_commit()
    table = landmark_sources(data.prepared)
    return {"table": table.reset_index().to_dict(orient="records"),
            "provenance": {"commit": commit, "dirty": dirty, "data_checksum": data_checksum(data.clipset),
                           "command": python_call("stag.results.landmarks.landmark_record", data_root=str(data_root)),
                           "finished_utc": utc_now()}}


def landmark_table(records: str | Path, data_root: str | Path = "") -> tuple[pd.DataFrame, dict]:
    """The landmark-source table and its provenance: recomputed from ``data_root`` when given,
    else read from ``records/landmarks.json`` (empty when absent)."""
    path = Path(records) / LANDMARKS_RECORD
    rec = landmark_record(data_root) if data_root else (json.loads(path.read_text()) if path.is_file() else None)
    if rec is None:
        return pd.DataFrame(columns=["dataset", "dlib", "template", "total"]), {}
    table = pd.DataFrame(rec["table"])
    table = table.loc[:, (table != 0).any(axis=0)]  # a source no clip used is not a column
    table.insert(len(table.columns), "found by dlib", (table.get("dlib", 0) / table["total"]).map("{:.0%}".format))
    return table, rec["provenance"]

