"""CASME II (Yan et al., 2014): 255 coded micro-expression clips of 26 subjects, 200 fps.

Layout read (as the lab distributes it)::

    DATA_ROOT/
      CASME2-coding-20190701.xlsx        # any CASME2-coding-*.xlsx; or annotations=PATH
      CASME2-RAW/sub01/EP02_01f/img46.jpg ...   # or CASME2_RAW_selected/, or the cropped
      Cropped/sub01/EP02_01f/reg_img46.jpg ...  # release (frames_dir="Cropped")

Annotation columns (first sheet, header on row 1): ``Subject`` (int, ``1`` -> folder
``sub01``), ``Filename`` (``EP02_01f``), ``OnsetFrame``, ``ApexFrame`` (``/`` when unknown:
the clip's ``apex`` is then ``None``), ``OffsetFrame``, ``Action Units`` (``4+7``, ``R12``),
``Estimated Emotion``; the two unnamed spacer columns and ``Objective Classes`` are ignored.
AU cells are read by :func:`stag.data.aus.read_au_cell` (an xlsx number such as ``12`` is the
AU 12); a cell that cannot be read loads the clip with ``aus=()`` and ``au_error`` set, listed
in ``ClipSet.warnings``, instead of stopping the load.

Published counts with the real files: 255 rows, emotions others 99, disgust 63, happiness 32,
surprise 28, repression 27, sadness 4, fear 2. Scheme ``casme2_5`` (default) keeps 249 clips
(sadness and fear are excluded and listed in ``ClipSet.skipped``); ``composite3`` keeps the
156 negative/positive/surprise clips (MEGC2019 used 145 of them). Peers report a few
inconsistent rows in the release (a wrong offset, 21 apexes given as ``/``); an unknown apex
loads as ``None``, and an order violation raises unless ``on_order_error="warn"`` (keep the
clip without the inconsistent frame) or ``on_error="skip"`` (counted in ``skipped``).
"""

from __future__ import annotations

from pathlib import Path

from stag.data.annotations import frame_cell, normalise_subject, read_annotations, find_annotation_file
from stag.data.aus import read_au_cell
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, find_frames_root, frame_clip
from stag.data.labels import get_scheme

COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion")
FRAME_DIRS = ("CASME2-RAW", "CASME2_RAW_selected", "CASME2-RAW-selected", "Cropped", "CASME2_Cropped", ".")
FPS = 200.0


def load_casme2(data_root: str | Path, annotations: str | Path | None = None, scheme: str = "casme2_5",
                frames: str = "all", frames_dir: str | None = None, on_error: str = "raise",
                on_order_error: str = "raise") -> ClipSet:
    """Load CASME II as lazily read clips.

    Args:
        data_root: folder holding the annotation xlsx and the frame folders.
        annotations: the coding xlsx (default: ``CASME2-coding-*.xlsx`` in ``data_root``).
        scheme: label scheme (``casme2_5`` native, ``composite3``...).
        frames: ``"all"`` or ``"onset_offset"`` (only the annotated range is loaded).
        frames_dir: folder of ``subNN/`` folders, relative to ``data_root`` (default: the first
            of ``CASME2-RAW``, ``CASME2_RAW_selected``, ``Cropped``... that exists).
        on_error: ``"raise"`` or ``"skip"`` bad rows (recorded in ``ClipSet.skipped``).
        on_order_error: ``"raise"`` or ``"warn"`` on onset > apex > offset violations.
    """
    check_modes(frames, on_error, on_order_error)
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    ann = find_annotation_file(root, ["CASME2-coding-*.xlsx", "CASME2*coding*.xlsx"], annotations)
    frames_root = find_frames_root(root, [frames_dir] if frames_dir else FRAME_DIRS,
                                   lambda d: any(d.glob("sub*")), "CASME II frame folder (holding sub01/...)")
    rows = read_annotations(ann, COLUMNS)

    def make(row):
        w = row.where
        subject = normalise_subject(row["Subject"], prefix="sub", width=2, where=w)
        name = str(row["Filename"]).strip()
        return frame_clip(
            dataset="casme2", subject=subject, name=name, folder=frames_root / subject / name,
            emotion=row["Estimated Emotion"], scheme=scheme_, where=w, fps=FPS,
            onset=frame_cell(row["OnsetFrame"], "OnsetFrame", w),
            apex=frame_cell(row["ApexFrame"], "ApexFrame", w, required=False),
            offset=frame_cell(row["OffsetFrame"], "OffsetFrame", w),
            aus=read_au_cell(row["Action Units"], w), frames=frames, on_order_error=on_order_error)

    params = dict(data_root=str(root), annotations=str(ann), scheme=scheme_.name, frames=frames,
                  frames_dir=str(frames_root))
    return collect_clips("casme2", scheme_, ((r.where, r) for r in rows), make, on_error=on_error, params=params)
