"""Generic adapter: one annotation table (csv/xlsx) plus a root of per-clip frame folders.

Use it for datasets whose release layout varies by version (4DME (Li et al., 2022),
DFME (Zhao et al., 2023)) or for your own data. Each table row is one clip; the frames of a
row are in ``data_root / clip_path.format(subject=..., clip=...)`` (default
``"{subject}/{clip}"``), ordered by the number in their file names.

Columns are named through a mapping from our fields to your header names (matched ignoring
case and surrounding spaces). The default mapping, for a table you write yourself::

    subject,clip,onset,apex,offset,label,aus
    sub01,EP02_01f,46,59,86,happiness,6+12

=========  ===========  =======================  ==============================================
field      default      preset ``"4dme"``        preset ``"dfme"``
=========  ===========  =======================  ==============================================
subject    ``subject``  ``sub_ID``               ``Subject``
clip       ``clip``     ``fold_name``            ``Filename``
onset      ``onset``    ``Onset``                ``Onset``
apex       ``apex``     ``Apex``                 ``Apex``
offset     ``offset``   ``Offset``               ``Offset``
label      ``label``    ``Emotion``              ``Emotion``
aus        ``aus``      ``AUs``                  ``AU``
scheme     composite3   composite3               dfme_7
=========  ===========  =======================  ==============================================

The 4DME names are those of the 4DME label sheet as read by the MEB toolbox; AU cells there
look like ``AU4+AU7(k)``: the ``AU`` prefix and parenthesised markers are dropped before
parsing (``(4, 7)``). DFME releases differ between versions and we could not check one; the
``"dfme"`` preset assumes the CASME-group naming above. If your copy differs, override any
field with ``columns={"label": "Estimated Emotion", ...}`` (a field mapped to ``None`` is
optional: ``{"apex": None}`` for data without apex; ``{"aus": None}`` without AUs).
Onset/apex/offset are the frame numbers in the file names; leave onset/offset unmapped for
segmented clips (then onset = 0, offset = T - 1).
"""

from __future__ import annotations

import re
from pathlib import Path

from stag.data.annotations import cell_text, find_annotation_file, frame_cell, read_annotations
from stag.data.aus import AUString, read_au_cell
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, frame_clip, list_frames
from stag.data.labels import get_scheme

FIELDS = ("subject", "clip", "onset", "apex", "offset", "label", "aus")
DEFAULT_COLUMNS: dict[str, str | None] = {f: f for f in FIELDS}
PRESETS: dict[str, dict] = {
    "4dme": {"columns": {"subject": "sub_ID", "clip": "fold_name", "onset": "Onset", "apex": "Apex",
                         "offset": "Offset", "label": "Emotion", "aus": "AUs"}, "scheme": "composite3"},
    "dfme": {"columns": {"subject": "Subject", "clip": "Filename", "onset": "Onset", "apex": "Apex",
                         "offset": "Offset", "label": "Emotion", "aus": "AU"}, "scheme": "dfme_7"},
}


def clean_aus(text: object, where: str = "") -> AUString:
    """``"AU4+AU7(k)"`` -> AUs ``(4, 7)``: drop ``AU`` prefixes and parenthesised markers (but
    keep ``ref(...)``), then read with :func:`~stag.data.aus.read_au_cell`, which never raises:
    an unreadable string loads the clip with unknown AUs and a warning."""
    if isinstance(text, str):
        text = re.sub(r"(?<!ref)\([^)]*\)", "", re.sub(r"(?i)\bAU\s*", "", text))
    return read_au_cell(text, where)


def load_folder(data_root: str | Path, annotations: str | Path | None = None, preset: str | None = None,
                columns: dict[str, str | None] | None = None, scheme: str | None = None,
                dataset: str | None = None, clip_path: str = "{subject}/{clip}", fps: float | None = None,
                frames: str = "all", on_error: str = "raise", on_order_error: str = "raise") -> ClipSet:
    """Load clips described by a table over a frames root.

    Args:
        data_root: root of the frame folders.
        annotations: the csv/xlsx table (absolute or relative to ``data_root``; default: the
            one ``*.csv`` in ``data_root``, an error if there are several).
        preset: ``"4dme"`` or ``"dfme"`` column names (see the module docstring).
        columns: field -> header name overrides (on top of the preset).
        scheme: label scheme (default: the preset's, else ``composite3``).
        dataset: ``Clip.dataset`` (default: the preset name, else ``"folder"``).
        clip_path: frame folder of a row, relative to ``data_root``.
        Other parameters as :func:`stag.data.casme2.load_casme2`.
    """
    check_modes(frames, on_error, on_order_error)
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset={preset!r}: expected one of {', '.join(PRESETS)} or None")
    mapping = dict(DEFAULT_COLUMNS)
    mapping.update(PRESETS[preset]["columns"] if preset else {})
    unknown = sorted(set(columns or {}) - set(FIELDS))
    if unknown:
        raise ValueError(f"columns: unknown field(s) {unknown}; expected some of {', '.join(FIELDS)}")
    mapping.update(columns or {})
    for needed in ("subject", "clip", "label"):
        if mapping[needed] is None:
            raise ValueError(f"columns[{needed!r}] cannot be None: every row needs a {needed}")
    scheme_ = get_scheme(scheme or (PRESETS[preset]["scheme"] if preset else "composite3"))
    name = dataset or preset or "folder"
    root = Path(data_root)
    ann = find_annotation_file(root, ["*.csv"], annotations, unique=True)
    rows = read_annotations(ann, [c for c in mapping.values() if c is not None])
    col = {f: c for f, c in mapping.items() if c is not None}

    def make(row):
        w = row.where
        subject, clip = cell_text(row[col["subject"]]), cell_text(row[col["clip"]])
        try:
            folder = root / clip_path.format(subject=subject, clip=clip)
        except (KeyError, IndexError) as exc:
            raise ValueError(f"clip_path={clip_path!r}: unknown placeholder {exc}; use {{subject}} and {{clip}}") from None
        listing = list_frames(folder)
        segmented = "onset" not in col and "offset" not in col
        get = lambda f, req: frame_cell(row[col[f]], col[f], w, required=req) if f in col else None  # noqa: E731
        onset = int(listing[0][0]) if segmented else get("onset", True)
        offset = int(listing[0][-1]) if segmented else get("offset", True)
        return frame_clip(dataset=name, subject=subject, name=clip, folder=folder, emotion=row[col["label"]],
                          scheme=scheme_, where=w, fps=fps, onset=onset, apex=get("apex", False), offset=offset,
                          aus=clean_aus(row[col["aus"]], w) if "aus" in col else (), frames=frames,
                          on_order_error=on_order_error, listing=listing)

    params = dict(data_root=str(root), annotations=str(ann), preset=preset, columns=mapping, scheme=scheme_.name,
                  dataset=name, clip_path=clip_path, frames=frames)
    return collect_clips(name, scheme_, ((r.where, r) for r in rows), make, on_error=on_error, params=params)


__all__ = ["load_folder", "PRESETS", "FIELDS", "clean_aus"]
