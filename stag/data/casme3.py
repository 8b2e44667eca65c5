"""CAS(ME)^3 Part A (Li et al., 2023): micro-expressions in long videos, 30 fps.

Layout read (as the lab distributes it)::

    DATA_ROOT/
      cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx     # or annotations=PATH
      part_A/data/part_A/spNO.1/b/color/166.jpg ...  # (also data/part_A/, part_A/, or DATA_ROOT)

Annotation columns: ``Subject`` (``spNO.1``, kept verbatim), ``Filename`` (``b``: a long
video of the subject), ``Onset``, ``Apex``, ``Offset`` (the jpg numbers), ``AU``,
``Objective class``, ``emotion`` (disgust, surprise, happy, fear, anger, sad, others).
Extra columns (``label_for_7``, ``imagename_apex``... in copies circulated with peer code)
are ignored. One video holds several micro-expressions, so a clip id is
``casme3_a/{Subject}/{Filename}_{Onset}`` and the default ``frames="onset_offset"`` reads only
the annotated range (``"all"`` would load the whole video for every clip).

Published counts: the release has 860 Part A micro-expressions; the copy circulated with
peer code has 686 rows. Scheme ``casme3_7`` (default) keeps every row; ``casme3_4`` maps them
to negative/positive/surprise/others; ``composite3`` leaves ``others`` out.
"""

from __future__ import annotations

from pathlib import Path

from stag.data.annotations import cell_text, find_annotation_file, frame_cell, read_annotations
from stag.data.aus import read_au_cell
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, find_frames_root, frame_clip, list_frames
from stag.data.labels import get_scheme

COLUMNS = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion")
FRAME_DIRS = ("part_A/data/part_A", "data/part_A", "part_A", ".")
FPS = 30.0


def load_casme3_a(data_root: str | Path, annotations: str | Path | None = None, scheme: str = "casme3_7",
                  frames: str = "onset_offset", frames_dir: str | None = None, modality: str = "color",
                  on_error: str = "raise", on_order_error: str = "raise") -> ClipSet:
    """Load CAS(ME)^3 Part A as lazily read clips.

    Args:
        modality: the per-video sub-folder to read (``"color"``; ``"depth"`` where present).
        Other parameters as :func:`stag.data.casme2.load_casme2`.
    """
    check_modes(frames, on_error, on_order_error)
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    ann = find_annotation_file(root, ["cas(me)3_part_A*.xlsx", "*part_A*label*.xlsx", "*part_A*.xlsx"], annotations)
    frames_root = find_frames_root(root, [frames_dir] if frames_dir else FRAME_DIRS,
                                   lambda d: any(d.glob("spNO.*")), "CAS(ME)^3 Part A frame folder (holding spNO.1/...)")
    rows = read_annotations(ann, COLUMNS)
    listings: dict[Path, tuple] = {}  # each long video is listed once

    def make(row):
        w = row.where
        subject, name = cell_text(row["Subject"]), cell_text(row["Filename"])
        folder = frames_root / subject / name / modality
        if folder not in listings:
            listings[folder] = list_frames(folder)
        onset = frame_cell(row["Onset"], "Onset", w)
        return frame_clip(
            dataset="casme3_a", subject=subject, name=name, clip_name=f"{name}_{onset}", folder=folder,
            emotion=row["emotion"], scheme=scheme_, where=w, fps=FPS, onset=onset,
            apex=frame_cell(row["Apex"], "Apex", w, required=False),
            offset=frame_cell(row["Offset"], "Offset", w),
            aus=read_au_cell(row["AU"], w), frames=frames, on_order_error=on_order_error, listing=listings[folder])

    params = dict(data_root=str(root), annotations=str(ann), scheme=scheme_.name, frames=frames,
                  frames_dir=str(frames_root), modality=modality)
    return collect_clips("casme3_a", scheme_, ((r.where, r) for r in rows), make, on_error=on_error, params=params)
