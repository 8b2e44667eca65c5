"""SAMM (Davison et al., 2018): 159 micro-expressions of 32 subjects, grey 960x650, 200 fps.

Layout read (as the lab distributes it)::

    DATA_ROOT/
      SAMM_Micro_FACS_Codes_v2.xlsx      # any SAMM_Micro_FACS_Codes*.xlsx; or annotations=PATH
      SAMM/006/006_1_2/006_05562.jpg ... # or the subject folders directly in DATA_ROOT

Annotation file: 13 rows of notes, then the header row (row 14, found by content, not by
offset): ``Subject`` (stored as a number, ``6``; folders use ``006``), ``Filename``
(``006_1_2``), ``Inducement Code``, ``Onset Frame``, ``Apex Frame``, ``Offset Frame``,
``Duration``, ``Micro``, ``Action Units`` (``4+7``, ``R12``), ``Estimated Emotion``,
``Objective Classes``, ``Notes``. The frame number is the integer after the last underscore.
An apex given as ``-1``/``/`` loads as ``None``. A few AU cells list alternatives
(``R12 or R15``); they are read as the union of the AUs named.

Published counts with the real file: 159 rows, emotions Anger 57, Other 26, Happiness 26,
Surprise 15, Contempt 12, Disgust 9, Fear 8, Sadness 6. Scheme ``samm_5`` (default) keeps 136
clips (disgust, fear and sadness are listed in ``ClipSet.skipped``); ``composite3`` keeps the
133 negative/positive/surprise clips, as in MEGC2019.
"""

from __future__ import annotations

import re
from pathlib import Path

from stag.data.annotations import find_annotation_file, frame_cell, normalise_subject, read_annotations
from stag.data.aus import parse_aus
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, find_frames_root, frame_clip
from stag.data.labels import get_scheme

COLUMNS = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units", "Estimated Emotion")
FRAME_DIRS = ("SAMM", "SAMM_CROP", "SAMM_cropped", ".")
FPS = 200.0


def samm_aus(text: object, where: str = "") -> tuple[int, ...]:
    """SAMM AU cell -> AUs; ``"R12 or R15"`` alternatives give the union (``(12, 15)``)."""
    if isinstance(text, str):
        text = re.sub(r"(?i)\s+or\s+", "+", text)
    return parse_aus(text, where)


def load_samm(data_root: str | Path, annotations: str | Path | None = None, scheme: str = "samm_5",
              frames: str = "all", frames_dir: str | None = None, on_error: str = "raise",
              on_order_error: str = "raise") -> ClipSet:
    """Load SAMM as lazily read clips (parameters as :func:`stag.data.casme2.load_casme2`)."""
    check_modes(frames, on_error, on_order_error)
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    ann = find_annotation_file(root, ["SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"], annotations)
    frames_root = find_frames_root(root, [frames_dir] if frames_dir else FRAME_DIRS,
                                   lambda d: any(p.is_dir() and p.name.isdigit() for p in d.iterdir()),
                                   "SAMM frame folder (holding 006/...)")
    rows = read_annotations(ann, COLUMNS)

    def make(row):
        w = row.where
        subject = normalise_subject(row["Subject"], width=3, where=w)
        name = str(row["Filename"]).strip()
        return frame_clip(
            dataset="samm", subject=subject, name=name, folder=frames_root / subject / name,
            emotion=row["Estimated Emotion"], scheme=scheme_, where=w, fps=FPS,
            onset=frame_cell(row["Onset Frame"], "Onset Frame", w),
            apex=frame_cell(row["Apex Frame"], "Apex Frame", w, required=False),
            offset=frame_cell(row["Offset Frame"], "Offset Frame", w),
            aus=samm_aus(row["Action Units"], w), frames=frames, on_order_error=on_order_error)

    params = dict(data_root=str(root), annotations=str(ann), scheme=scheme_.name, frames=frames,
                  frames_dir=str(frames_root))
    return collect_clips("samm", scheme_, ((r.where, r) for r in rows), make, on_error=on_error, params=params)
