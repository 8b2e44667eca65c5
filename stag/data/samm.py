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
An apex given as ``-1``/``/`` loads as ``None``. The ``Action Units`` cells use the full
FACS notation: alternatives (``(R6 or R12)+R15``), intensity ranges (``4A/B``), referenced AUs
(``ref(7B)+43``), lip prefixes (``T18``), head/eye codes (``61``) and free words (``soft focus``);
see :mod:`stag.data.aus` for how each is read (alternatives give the union, marked uncertain;
referenced AUs and head/eye codes are not AU targets). A cell that still cannot be read does not
stop loading: the clip gets ``aus=()`` and ``au_error``, and is listed in ``ClipSet.warnings``.

Published counts with the real file: 159 rows, emotions Anger 57, Other 26, Happiness 26,
Surprise 15, Contempt 12, Disgust 9, Fear 8, Sadness 6. Two rows of the released v2 sheet have
an apex outside onset..offset (rows 140 and 147); they load with ``on_order_error="warn"``
(apex dropped, to be estimated), which ``stag data summary`` uses by default. Scheme ``samm_5`` (default) keeps 136
clips (disgust, fear and sadness are listed in ``ClipSet.skipped``); ``composite3`` keeps the
133 negative/positive/surprise clips, as in MEGC2019.
"""

from __future__ import annotations

from pathlib import Path

from stag.data.annotations import find_annotation_file, frame_cell, normalise_subject, read_annotations
from stag.data.aus import AUString, read_au_cell
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, find_frames_root, frame_clip
from stag.data.labels import get_scheme

COLUMNS = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units", "Estimated Emotion")
FRAME_DIRS = ("SAMM", "SAMM_CROP", "SAMM_cropped", ".")
FPS = 200.0


def samm_aus(text: object, where: str = "") -> AUString:
    """SAMM AU cell -> :class:`~stag.data.aus.AUString` (never raises; see :mod:`stag.data.aus`).

    ``"R12 or R15"`` gives targets ``(12, 15)`` (both marked uncertain).
    """
    return read_au_cell(text, where)


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
