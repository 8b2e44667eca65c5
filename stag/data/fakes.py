"""Tiny fake copies of every dataset layout, for tests, demos and stand-ins.

Each writer builds the folder tree and annotation file of one release (real column names
and quirks: CASME II's unnamed spacer columns, SAMM's 13 note rows and numeric subjects, the
MEGC2019 CSV with or without a header, flow PNGs with or without a space before ``.png``)
filled with a few generated frames. Frame ``k`` of a clip is a flat grey image of brightness
:func:`frame_value` ``(k)``, so a test can check that frames load in frame-number order.
Frame numbers deliberately cross a digit boundary (``img9`` -> ``img10``).

Every writer returns a :class:`FakeLayout` with the paths and the rows it wrote, which is
what a correct adapter must read back. ``write_megc2019_flow_layout`` takes arrays, so it
also turns synthetic flows into a MEGC2019-composite stand-in. ``write_frames_for_annotations``
writes the frame tree of a *real* CASME II or SAMM annotation file (not copying the file), so
the released codings can be loaded and summarised without the licensed frames.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from stag.data import casme2, samm
from stag.data.annotations import DataError, frame_cell, normalise_subject, read_annotations
from stag.data.folder import DEFAULT_COLUMNS, PRESETS
from stag.data.megc2019 import DEFAULT_CHANNEL_ORDER, DIRECTION_SUFFIXES, PHASE_SUFFIXES, encode_flow_png


@dataclass
class FakeLayout:
    """What a writer produced: ``root`` (pass as ``data_root``), the annotation file, the rows."""

    root: Path
    annotations: Path | None
    rows: list[dict] = field(default_factory=list)


def frame_value(k: int, n: int) -> int:
    """Brightness of the ``k``-th of ``n`` frames of a fake clip (strictly increasing in ``k``)."""
    return int(round(30 + 190 * k / max(n - 1, 1)))


def _write_frames(folder: Path, numbers: Sequence[int], name: str, size: tuple[int, int], grey: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    for k, n in enumerate(numbers):
        value = frame_value(k, len(numbers))
        img = np.full((h, w) if grey else (h, w, 3), value, dtype=np.uint8)
        if not cv2.imwrite(str(folder / name.format(n=n)), img):
            raise OSError(f"could not write {folder / name.format(n=n)}")


def _write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> None:
    # lazy: openpyxl is slow to import (python -X importtime); only this function needs it
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    for r in rows:
        ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _write_csv(path: Path, rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def _clip_rows(defaults: list[dict], rows: list[dict] | None, first: int, n: int) -> list[dict]:
    out = []
    for r in rows if rows is not None else defaults:
        r = {"first": first, "n_frames": n, **r}
        f, m = r["first"], r["n_frames"]
        r.setdefault("onset", f + 1)
        r.setdefault("apex", f + m // 2)
        r.setdefault("offset", f + m - 2)
        out.append(r)
    return out


CASME2_DEFAULT = [
    {"subject": 1, "filename": "EP02_01f", "aus": "4+7", "emotion": "disgust"},
    {"subject": 1, "filename": "EP03_02", "aus": "R12", "emotion": "happiness"},
    {"subject": 2, "filename": "EP09_05f", "aus": "L10", "emotion": "repression"},
    {"subject": 2, "filename": "EP13_01", "aus": "1+2", "emotion": "surprise"},
    {"subject": 2, "filename": "EP19_03", "aus": "4", "emotion": "others"},
    {"subject": 11, "filename": "EP15_04f", "aus": "4+L10", "emotion": "fear", "apex": "/"},
]


def write_casme2_layout(root: str | Path, rows: list[dict] | None = None, *, n_frames: int = 8, first_frame: int = 5,
                        size: tuple[int, int] = (32, 24), cropped: bool = False,
                        annotation_name: str = "CASME2-coding-20190701.xlsx") -> FakeLayout:
    """CASME II: ``CASME2-RAW/sub01/EP02_01f/img5.jpg``.. (or ``Cropped/../reg_img5.jpg``) + coding xlsx.

    ``rows``: dicts with ``subject`` (int), ``filename``, ``aus``, ``emotion`` and optionally
    ``onset``/``apex``/``offset`` (frame numbers, ``"/"`` for unknown), ``first``/``n_frames``.
    """
    root = Path(root)
    rows = _clip_rows(CASME2_DEFAULT, rows, first_frame, n_frames)
    top, name = ("Cropped", "reg_img{n}.jpg") if cropped else ("CASME2-RAW", "img{n}.jpg")
    table = [["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
              "Estimated Emotion", "Objective Classes"]]
    for r in rows:
        _write_frames(root / top / f"sub{int(r['subject']):02d}" / r["filename"],
                      range(r["first"], r["first"] + r["n_frames"]), name, size)
        table.append([r["subject"], r["filename"], None, r["onset"], r["apex"], r["offset"], None, r["aus"],
                      r["emotion"], 1])
    ann = root / annotation_name
    _write_xlsx(ann, table)
    return FakeLayout(root, ann, rows)


SAMM_DEFAULT = [
    {"subject": 6, "filename": "006_1_2", "aus": "4+7", "emotion": "Anger"},
    {"subject": 6, "filename": "006_1_5", "aus": "R12", "emotion": "Happiness"},
    {"subject": 7, "filename": "007_3_1", "aus": "R12 or R15", "emotion": "Contempt"},
    {"subject": 7, "filename": "007_5_3", "aus": "1+2", "emotion": "Surprise"},
    {"subject": 11, "filename": "011_2_2", "aus": "14", "emotion": "Other", "apex": -1},
    {"subject": 11, "filename": "011_4_1", "aus": "9", "emotion": "Disgust"},
]
SAMM_NOTES = [
    ["SAMM Micro-FACS Codes"], [], ["Notes:"],
    ["Onset, Apex and Offset are frame numbers; Duration is in frames."],
    ["Action Units follow FACS; L/R = left/right; letters A-E = intensity."],
    ["Inducement Code identifies the stimulus video."], [],
    ["Estimated Emotion is based on the AUs and the stimulus."], [],
    ["Objective Classes as in Davison et al."], [], ["Version 2"], [],
]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]


def write_samm_layout(root: str | Path, rows: list[dict] | None = None, *, n_frames: int = 8, first_frame: int = 5595,
                      size: tuple[int, int] = (30, 20),
                      annotation_name: str = "SAMM_Micro_FACS_Codes_v2.xlsx") -> FakeLayout:
    """SAMM: ``SAMM/006/006_1_2/006_05595.jpg``.. (grey) + the xlsx with 13 note rows.

    ``Subject`` is written as a number (``6``), as in the release; folders use ``006``.
    """
    root = Path(root)
    rows = _clip_rows(SAMM_DEFAULT, rows, first_frame, n_frames)
    table = [*SAMM_NOTES, SAMM_HEADER]
    for r in rows:
        sub = f"{int(r['subject']):03d}"
        _write_frames(root / "SAMM" / sub / r["filename"], range(r["first"], r["first"] + r["n_frames"]),
                      sub + "_{n:05d}.jpg", size, grey=True)
        table.append([r["subject"], r["filename"], 1, r["onset"], r["apex"], r["offset"], r["n_frames"],
                      "Micro - 1/2", r["aus"], r["emotion"], 1, None])
    ann = root / annotation_name
    _write_xlsx(ann, table)
    return FakeLayout(root, ann, rows)


def write_frames_for_annotations(root: str | Path, dataset: str, annotations: str | Path, *,
                                 size: tuple[int, int] = (8, 8)) -> FakeLayout:
    """A fake frame tree for a *real* annotation file, so its rows load without the licensed frames.

    For every row of ``annotations`` (a released ``CASME2-coding-*.xlsx`` or
    ``SAMM_Micro_FACS_Codes*.xlsx``; ``dataset`` is ``"casme2"`` or ``"samm"``) the clip
    folder is written in the release layout under ``root`` with every frame from the
    smallest to the largest of its onset/apex/offset numbers, all the same small grey image
    (frames are never meant to be looked at). The annotation file itself is not copied: pass
    it as ``annotations=`` to the loader or to ``stag data summary --annotations``. Rows whose
    subject, file name or frame cells cannot be read get no folder (the loader reports them).
    """
    if dataset == "samm":
        COLUMNS = samm.COLUMNS
        onset_c, apex_c, offset_c = "Onset Frame", "Apex Frame", "Offset Frame"

        def folder_and_name(subject):
            sub = normalise_subject(subject, width=3)
            return Path("SAMM") / sub, sub + "_{n:05d}.jpg"
    elif dataset == "casme2":
        COLUMNS = casme2.COLUMNS
        onset_c, apex_c, offset_c = "OnsetFrame", "ApexFrame", "OffsetFrame"

        def folder_and_name(subject):
            return Path("CASME2-RAW") / normalise_subject(subject, prefix="sub", width=2), "img{n}.jpg"
    else:
        raise ValueError(f"dataset={dataset!r}: expected 'casme2' or 'samm'")
    root = Path(root)
    ok, data = cv2.imencode(".jpg", np.full((size[1], size[0]), 128, dtype=np.uint8))
    if not ok:
        raise OSError("could not encode a jpg")
    blob = data.tobytes()
    rows = []
    for row in read_annotations(Path(annotations), COLUMNS):
        try:
            sub_dir, pattern = folder_and_name(row["Subject"])
            numbers = [frame_cell(row[c], c, row.where, required=False) for c in (onset_c, apex_c, offset_c)]
        except DataError:
            continue
        numbers = [n for n in numbers if n is not None]
        name = str(row["Filename"]).strip()
        if not numbers or not name:
            continue
        folder = root / sub_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(min(numbers), max(numbers) + 1):
            (folder / pattern.format(n=n)).write_bytes(blob)
        rows.append({"where": row.where, "folder": str(folder), "first": min(numbers), "last": max(numbers)})
    return FakeLayout(root, None, rows)


SMIC_DEFAULT = [
    {"subject": "s1", "clip": "s1_ne_01", "emotion": "negative"},
    {"subject": "s1", "clip": "s1_po_02", "emotion": "positive"},
    {"subject": "s2", "clip": "s2_sur_01", "emotion": "surprise"},
    {"subject": "s11", "clip": "s11_ne_03", "emotion": "negative"},
]


def write_smic_layout(root: str | Path, rows: list[dict] | None = None, *, n_frames: int = 7,
                      first_frame: int = 96, size: tuple[int, int] = (28, 24)) -> FakeLayout:
    """SMIC-HS: ``SMIC/HS/s1/micro/negative/s1_ne_01/image96.bmp``.. (no annotation file).

    A ``non_micro/`` folder is written too (adapters must ignore it).
    """
    root = Path(root)
    out = []
    for r in rows if rows is not None else SMIC_DEFAULT:
        r = {"first": first_frame, "n_frames": n_frames, **r}
        hs = root / "SMIC" / "HS" / r["subject"]
        _write_frames(hs / "micro" / r["emotion"] / r["clip"], range(r["first"], r["first"] + r["n_frames"]),
                      "image{n}.bmp", size)
        _write_frames(hs / "non_micro" / r["clip"].replace("_", "_nm_", 1), range(1, 3), "image{n}.bmp", size)
        out.append(r)
    return FakeLayout(root, None, out)


CASME3_DEFAULT = [
    {"subject": "spNO.1", "filename": "b", "onset": 3, "apex": 6, "offset": 9, "aus": "4+7", "emotion": "disgust"},
    {"subject": "spNO.1", "filename": "b", "onset": 8, "apex": 11, "offset": 14, "aus": "12", "emotion": "happy"},
    {"subject": "spNO.2", "filename": "a", "onset": 2, "apex": 5, "offset": 12, "aus": "1+2", "emotion": "surprise"},
    {"subject": "spNO.2", "filename": "c", "onset": 4, "apex": 7, "offset": 10, "aus": "15", "emotion": "sad"},
]


def write_casme3_layout(root: str | Path, rows: list[dict] | None = None, *, n_frames: int = 16,
                        size: tuple[int, int] = (32, 24),
                        annotation_name: str = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx") -> FakeLayout:
    """CAS(ME)^3 Part A: ``part_A/data/part_A/spNO.1/b/color/1.jpg``.. (one long video per
    subject/filename, frames 1..n_frames, several clips per video) + the label xlsx."""
    root = Path(root)
    rows = [dict(r) for r in (rows if rows is not None else CASME3_DEFAULT)]
    base = root / "part_A" / "data" / "part_A"
    for sub, fn in dict.fromkeys((r["subject"], r["filename"]) for r in rows):
        _write_frames(base / sub / fn / "color", range(1, n_frames + 1), "{n}.jpg", size)
    table = [["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]]
    table += [[r["subject"], r["filename"], r["onset"], r["apex"], r["offset"], r["aus"], 1, r["emotion"]]
              for r in rows]
    ann = root / annotation_name
    _write_xlsx(ann, table)
    return FakeLayout(root, ann, rows)


FOLDER_DEFAULT = [
    {"subject": "p01", "clip": "clip_a", "aus": "AU4+AU7", "label": "negative"},
    {"subject": "p01", "clip": "clip_b", "aus": "AU12(k)", "label": "positive"},
    {"subject": "p02", "clip": "clip_c", "aus": "AU1+AU2", "label": "surprise"},
]


def write_folder_layout(root: str | Path, rows: list[dict] | None = None, *, preset: str | None = None,
                        n_frames: int = 8, first_frame: int = 5, size: tuple[int, int] = (32, 24),
                        annotation_name: str = "labels.csv") -> FakeLayout:
    """Generic layout: ``{subject}/{clip}/img5.jpg``.. + a CSV with the preset's header names."""
    root = Path(root)
    names = {**DEFAULT_COLUMNS, **(PRESETS[preset]["columns"] if preset else {})}
    defaults = FOLDER_DEFAULT
    if preset == "dfme":  # DFME's seven emotions
        defaults = [{**r, "label": e} for r, e in zip(FOLDER_DEFAULT, ("anger", "happiness", "surprise"))]
    rows = _clip_rows(defaults, rows, first_frame, n_frames)
    fields = ("subject", "clip", "onset", "apex", "offset", "label", "aus")
    table = [[names[f] for f in fields]]
    for r in rows:
        _write_frames(root / r["subject"] / r["clip"], range(r["first"], r["first"] + r["n_frames"]), "img{n}.jpg", size)
        table.append([r[f] for f in fields])
    ann = root / annotation_name
    _write_csv(ann, table)
    return FakeLayout(root, ann, rows)


def write_megc2019_flow_layout(root: str | Path, flows, subjects: Sequence[str] | None = None,
                               datasets: Sequence[str] | None = None, filenames: Sequence[str] | None = None,
                               labels: Sequence[int] | None = None, *, faces: Sequence[np.ndarray] | None = None,
                               imagenames: Sequence[str] | None = None, header: bool = True,
                               space_before_png: bool = False, encode: str = "minmax",
                               csv_name: str = "combined_3_class2_for_optical_flow.csv",
                               flow_folder: str = "STSNet_whole_norm_u_v_os",
                               face_folder: str = "combined_datasets_whole", directions: bool = False,
                               channel_order: str = DEFAULT_CHANNEL_ORDER) -> FakeLayout:
    """Write a MEGC2019-composite layout from arrays (or from clips that carry ``flows``).

    Args:
        flows: ``(N, 3, H, W)`` array or N ``(3, H, W)`` arrays (u, v, strain); N ``(P, 3, H, W)``
            arrays write P phases (the two-phase copy: ``{sub}_{filename}.png`` onset->apex,
            ``..._1.png`` apex->offset); or a sequence of :class:`~stag.data.clip.Clip` with
            ``flows`` (the first keyframe is written, and subject/dataset/filename/label default
            to the clip's); or a sequence of dicts with keys ``flow``, ``subject``, ``dataset``,
            ``filename``, ``label``.
        subjects: per clip, as the header CSV writes them (``sub01``, ``006``, ``s01``).
        datasets: per clip, ``casme2``/``samm``/``smic``.
        filenames: per clip (``EP02_01f``); file ``{subject}_{filename}.png``.
        labels: per clip, 0 negative, 1 positive, 2 surprise.
        faces: optional apex faces ``(H, W, 3)`` uint8 RGB, written as ``imagenames`` jpgs
            (default name ``{subject}_{filename}.jpg``).
        header: ``True``: ``dataset,sub,filename_o,label,apex,imagename,sub_filename``;
            ``False``: the official headerless ``dataset,subject,filename,label`` (SAMM
            subjects written as bare numbers, like the official file).
        space_before_png: name flow files ``"{sub}_{filename} .png"`` like one peer copy.
        encode: ``"minmax"`` (per-channel min-max, as peers did) or ``"clip"`` (``[-1, 1]``).
        directions: with phases, also write each phase's direction map (``_2``, ``_3``:
            OpenCV channel 0 zero, channels 1-2 the phase's v and u, ``encode`` scaled).
        channel_order: the PNG channel order as OpenCV writes it (the composite's by default).
    """
    root = Path(root)
    items = list(flows)
    if items and isinstance(items[0], dict):  # [{"flow", "subject", "dataset", "filename", "label"}, ...]
        recs = items
        items = [r["flow"] for r in recs]
        subjects, datasets = [r["subject"] for r in recs], [r["dataset"] for r in recs]
        filenames, labels = [r["filename"] for r in recs], [r["label"] for r in recs]
    if items and hasattr(items[0], "clip_id"):
        clips = items
        items = [c.flows[0] for c in clips]
        subjects = subjects or [c.subject for c in clips]
        datasets = datasets or [c.dataset for c in clips]
        filenames = filenames or [c.clip_id.rsplit("/", 1)[-1] for c in clips]
        labels = labels if labels is not None else [c.label for c in clips]
    n = len(items)
    for name, seq in (("subjects", subjects), ("datasets", datasets), ("filenames", filenames), ("labels", labels)):
        if seq is None or len(seq) != n:
            raise ValueError(f"{name}: expected {n} values (one per flow), got {None if seq is None else len(seq)}")
    if faces is not None and len(faces) != n:
        raise ValueError(f"faces: expected {n} images, got {len(faces)}")
    (root / flow_folder).mkdir(parents=True, exist_ok=True)
    table = [["dataset", "sub", "filename_o", "label", "apex", "imagename", "sub_filename"]] if header else []
    rows = []
    for i in range(n):
        sub, ds, fn, lab = str(subjects[i]), str(datasets[i]), str(filenames[i]), int(labels[i])
        sep = " " if space_before_png else ""
        phases = np.asarray(items[i], np.float32)
        phases = phases[None] if phases.ndim == 3 else phases
        images = [(suffix, encode_flow_png(f, encode, channel_order)) for suffix, f in zip(PHASE_SUFFIXES, phases)]
        if directions:
            images += [(DIRECTION_SUFFIXES[k], _direction_image(f, encode)) for k, f in enumerate(phases)]
        for suffix, image_ in images:
            path_k = root / flow_folder / f"{sub}_{fn}{suffix}{sep}.png"
            if not cv2.imwrite(str(path_k), image_):
                raise OSError(f"could not write {path_k}")
        path = root / flow_folder / f"{sub}_{fn}{sep}.png"
        image = imagenames[i] if imagenames is not None else f"{sub}_{fn}.jpg"
        if faces is not None:
            (root / face_folder).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / face_folder / image), cv2.cvtColor(np.asarray(faces[i], np.uint8), cv2.COLOR_RGB2BGR))
        if header:
            table.append([ds, sub, fn, lab, 0, image, f"{sub}_{fn}"])
        else:
            official_sub = str(int(sub)) if ds == "samm" and sub.isdigit() else sub
            table.append([ds, official_sub, fn, lab])
        rows.append({"dataset": ds, "subject": sub, "filename": fn, "label": lab, "imagename": image,
                     "flow_file": path.name})
    ann = root / csv_name
    _write_csv(ann, table)
    return FakeLayout(root, ann, rows)


def _direction_image(flow: np.ndarray, encode: str) -> np.ndarray:
    """A direction map as the two-phase copy stores it: ``(H, W, 3)`` uint8, OpenCV channel 0
    zero, channels 1 and 2 the scaled v and u of the phase."""
    img = encode_flow_png(flow, encode, "u,v,strain")  # channels u, v, strain
    return np.stack([np.zeros_like(img[..., 0]), img[..., 1], img[..., 0]], -1)


def face_like_flows(labels, rng: np.random.Generator, size: int = 28, noise: float = 0.1) -> np.ndarray:
    """``(n, 3, size, size)`` float32 flows (u, v, strain in ``[-1, 1]``) shaped like a frontal
    face's, so that :func:`stag.data.flow_checks.channel_evidence` reads them right: v mirror-
    symmetric (both brows move together), u mirror-antisymmetric (the mouth corners move apart),
    strain their non-negative, right-skewed magnitude; the class (``labels``: 0, 1, 2) sets which
    moves most (brows for 0, mouth corners for 1, both for 2), plus Gaussian ``noise``."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    side = size / 28.0

    def blob(x, y, s=2.0):
        return np.exp(-((xx - x * side) ** 2 + (yy - y * side) ** 2) / (2 * (s * side) ** 2))

    brows = blob(8, 6) + blob(20, 6)
    corners = blob(20, 21) - blob(8, 21)
    out = []
    for y in labels:
        a, b = rng.uniform(0.6, 1.0, 2) * np.array([(1.0, 0.3), (0.3, 1.0), (1.0, 1.0)][int(y) % 3])
        u, v = b * corners, -a * brows
        f = np.stack([u, v, np.sqrt(u ** 2 + v ** 2) * 2 - 1]) + rng.normal(0, noise, (3, size, size))
        out.append(np.clip(f, -1, 1))
    return np.asarray(out, np.float32)


MEGC_DEFAULT = [
    ("casme2", "sub01", "EP02_01f", 0, "sub01_EP02_01f.jpg"),
    ("casme2", "sub01", "EP03_02", 1, "sub01_EP03_02.jpg"),
    ("casme2", "sub02", "EP13_01", 2, "sub02_EP13_01.jpg"),
    ("samm", "006", "006_1_2", 0, "006_006_1_2.jpg"),
    ("samm", "007", "007_5_3", 2, "007_007_5_3.jpg"),
    ("smic", "s01", "s01_ne_01", 0, "s01_s1_ne_01.jpg"),
    ("smic", "s04", "s04_po_03", 1, "s04_s4_po_03.jpg"),
]


def write_megc2019_flow_fake(root: str | Path, *, header: bool = True, space_before_png: bool = False,
                             size: int = 28, faces: bool = True, seed: int = 0) -> FakeLayout:
    """A small composite (7 clips over casme2/samm/smic) with random flows in ``[-1, 1]``.

    Flows are written with ``encode="clip"`` so they decode back to within 1/255.
    ``FakeLayout.rows[i]["flow"]`` holds the written ``(3, H, W)`` array.
    """
    rng = np.random.default_rng(seed)
    flows = rng.uniform(-1, 1, size=(len(MEGC_DEFAULT), 3, size, size)).astype(np.float32)
    face_imgs = [np.full((32, 32, 3), 40 + 25 * i, np.uint8) for i in range(len(MEGC_DEFAULT))] if faces else None
    cols = list(zip(*MEGC_DEFAULT))
    layout = write_megc2019_flow_layout(root, flows, cols[1], cols[0], cols[2], cols[3], faces=face_imgs,
                                        imagenames=cols[4], header=header, space_before_png=space_before_png,
                                        encode="clip")
    for r, f in zip(layout.rows, flows):
        r["flow"] = f
    return layout


def write_megc2019_phases_fake(root: str | Path, *, phases: int = 2, directions: bool = True,
                               space_before_png: bool = True, size: int = 28, seed: int = 0) -> FakeLayout:
    """A small two-phase composite (the 7 clips of :data:`MEGC_DEFAULT`) in the layout of the
    copy CausalNet distributes: ``flow/{sub}_{filename}{"", "_1", "_2", "_3"} .png`` and the
    composite CSV, no apex faces. Phase 1 is phase 0 reversed plus noise (the face returns).
    ``FakeLayout.rows[i]["flow"]`` holds the written ``(phases, 3, H, W)`` array (``encode="clip"``,
    so it decodes back to within 1/255)."""
    rng = np.random.default_rng(seed)
    onset_apex = rng.uniform(-0.8, 0.8, size=(len(MEGC_DEFAULT), 3, size, size)).astype(np.float32)
    back = np.clip(onset_apex * np.array([-1, -1, 1], np.float32)[:, None, None]
                   + rng.normal(0, 0.1, onset_apex.shape), -1, 1).astype(np.float32)
    flows = np.stack([onset_apex, back], 1)[:, :phases]
    cols = list(zip(*MEGC_DEFAULT))
    layout = write_megc2019_flow_layout(root, list(flows), cols[1], cols[0], cols[2], cols[3], imagenames=cols[4],
                                        space_before_png=space_before_png, encode="clip", flow_folder="flow",
                                        directions=directions)
    for r, f in zip(layout.rows, flows):
        r["flow"] = f
    return layout
