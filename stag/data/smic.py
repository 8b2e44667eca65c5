"""SMIC-HS (Li et al., 2013): 164 segmented micro-expression clips of 16 subjects, 100 fps.

Layout read (as the lab distributes it)::

    DATA_ROOT/
      HS/s1/micro/negative/s1_ne_01/image586826.bmp ...   # or SMIC/HS/..., SMIC_all_raw/HS/...

There is no annotation file: the emotion is the folder (``negative``, ``positive``,
``surprise``) and each clip folder holds the clip from onset to offset. Each Clip therefore
has ``onset = 0``, ``offset = T - 1`` and ``apex = None`` (to be estimated). Subject folders
``s1`` become subject ids ``s01`` (as in MEGC2019). Only ``micro/`` is read (``non_micro/``
holds non-micro movements). Published counts with the real files: 164 clips, 16 subjects,
negative 70, positive 51, surprise 43; all of them enter MEGC2019 (``composite3``).
"""

from __future__ import annotations

import re
from pathlib import Path

from stag.data.annotations import normalise_subject
from stag.data.clip import ClipSet
from stag.data.frames import check_modes, collect_clips, find_frames_root, frame_clip, list_frames
from stag.data.labels import get_scheme

FRAME_DIRS = ("HS", "SMIC/HS", "SMIC_all_raw/HS", "SMIC-HS", ".")
FPS = 100.0
_SUBJECT = re.compile(r"(?i)s\d+")


def _subject_dirs(folder: Path) -> list[Path]:
    dirs = [p for p in folder.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)]
    return sorted(dirs, key=lambda p: int(p.name[1:]))


def load_smic_hs(data_root: str | Path, scheme: str = "smic_3", frames: str = "all",
                 frames_dir: str | None = None, on_error: str = "raise") -> ClipSet:
    """Load SMIC-HS as lazily read clips.

    Args:
        data_root: folder holding ``HS/`` (or ``SMIC/HS/``...), or the ``HS`` folder itself.
        scheme: label scheme (``smic_3`` native; ``composite3`` is the same three classes).
        frames: ``"all"`` or ``"onset_offset"`` (identical here: clips are segmented).
        frames_dir: the folder of ``s1/``... relative to ``data_root``, if not found.
        on_error: ``"raise"`` or ``"skip"`` bad clip folders (recorded in ``ClipSet.skipped``).
    """
    check_modes(frames, on_error)
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    hs = find_frames_root(root, [frames_dir] if frames_dir else FRAME_DIRS,
                          lambda d: any((s / "micro").is_dir() for s in _subject_dirs(d)),
                          "SMIC-HS folder (holding s1/micro/...)")
    items = []
    for sdir in _subject_dirs(hs):
        micro = sdir / "micro"
        if not micro.is_dir():
            continue  # subjects without micro-expressions have no micro/ folder
        for edir in sorted(p for p in micro.iterdir() if p.is_dir()):
            for cdir in sorted(p for p in edir.iterdir() if p.is_dir()):
                items.append((str(cdir.relative_to(hs)), (sdir.name, edir.name, cdir)))

    def make(item):
        sname, emotion, cdir = item
        where = str(cdir.relative_to(hs))
        listing = list_frames(cdir)
        numbers = listing[0]
        return frame_clip(dataset="smic", subject=normalise_subject(sname, prefix="s", width=2), name=cdir.name,
                          folder=cdir, emotion=emotion, scheme=scheme_, onset=int(numbers[0]), apex=None,
                          offset=int(numbers[-1]), fps=FPS, frames=frames, where=where, listing=listing)

    params = dict(data_root=str(root), scheme=scheme_.name, frames=frames, frames_dir=str(hs))
    return collect_clips("smic_hs", scheme_, items, make, on_error=on_error, params=params)
