"""MEGC2019 composite (See et al., 2019) as peers distribute it: one flow image per clip.

CASME II + SAMM + SMIC-HS, 3 classes (0 negative, 1 positive, 2 surprise), 68 subjects and
442 clips = 145 CASME II + 133 SAMM + 164 SMIC (labels: 250 negative, 109 positive, 83
surprise). Layout read::

    DATA_ROOT/
      combined_3_class2_for_optical_flow.csv   # or any *.csv; or annotations=PATH
      STSNet_whole_norm_u_v_os/                # flow PNGs (any sub-folder; found by content)
        sub01_EP02_01f .png   006_006_1_2.png ...   # "{sub}_{filename_o}.png", space optional
      combined_datasets_whole/                 # optional apex faces (found by content)
        sub01_EP02_01f.jpg    s04_s4_ne_03.jpg ...  # "{imagename}", taken verbatim

The CSV is either the copy with a header ``dataset,sub,filename_o,label,apex,imagename,...``
or the official headerless ``dataset,subject,filename,label`` (``casme2,sub01,EP02_01f,1``,
``samm,6,006_1_2,0``, ``smic,s01,s01_ne_01,0``; SAMM subjects as bare numbers there).
Subjects are normalised per source dataset (``sub01``, ``006``, ``s01``), so they never
collide across datasets, and ``Clip.dataset`` is the source (``casme2``/``samm``/``smic``)
so per-dataset metrics work.

Flow decoding: each PNG holds normalised u, v and optical strain as 8-bit channels, in the
order OpenCV reads them (peers wrote the ``(H, W, 3)`` stack ``[u, v, strain]`` with
``cv2.imwrite``). A value ``p`` decodes to ``p / 127.5 - 1`` in ``[-1, 1]`` (16-bit PNGs:
``p / 32767.5 - 1``), so mid-grey is zero motion. Peers min-max normalised each image before
saving, which cannot be undone: decoded values are relative, not pixels.
``Clip.flows`` is ``(1, 3, H, W)`` float32 (K = 1 onset-to-apex flow).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stag.data.annotations import DataError, Excluded, Row, cell_text, find_annotation_file, normalise_header, \
    normalise_subject, read_cells
from stag.data.clip import Clip, ClipSet
from stag.data.frames import FrameLoader, collect_clips, encode_label, read_image
from stag.data.labels import get_scheme

SUBSETS = ("casme2", "samm", "smic")
LABELS = ("negative", "positive", "surprise")  # MEGC2019 label codes 0, 1, 2
_DATASET_ALIASES = {"casme2": "casme2", "casmeii": "casme2", "casme_2": "casme2", "samm": "samm",
                    "smic": "smic", "smic_hs": "smic", "smic-hs": "smic", "smichs": "smic"}
HEADERLESS = ("dataset", "subject", "filename", "label")


def normalise_megc_subject(dataset: str, sub: object, where: str) -> str:
    """Source-dataset subject id: casme2 ``sub01``, samm ``006``, smic ``s01``."""
    if dataset == "casme2":
        return normalise_subject(sub, prefix="sub", width=2, where=where)
    if dataset == "samm":
        return normalise_subject(sub, width=3, where=where)
    return normalise_subject(sub, prefix="s", width=2, where=where)


def decode_flow_png(path: str | Path) -> np.ndarray:
    """A flow PNG as ``(3, H, W)`` float32 in ``[-1, 1]`` (channels u, v, strain)."""
    import cv2

    path = Path(path)
    img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if path.is_file() else None
    if img is None:
        raise DataError(f"flow image {path} is unreadable or corrupt (OpenCV could not decode it)")
    if img.ndim != 3 or img.shape[2] < 3:
        raise DataError(f"flow image {path} has shape {img.shape}; expected 3 channels (u, v, strain)")
    half = 127.5 if img.dtype == np.uint8 else 32767.5
    return np.ascontiguousarray((img[:, :, :3].astype(np.float32) / half - 1.0).transpose(2, 0, 1))


def encode_flow_png(flow: np.ndarray, mode: str = "minmax") -> np.ndarray:
    """``(3, H, W)`` float flow -> ``(H, W, 3)`` uint8 image for ``cv2.imwrite`` (inverse of decode).

    ``mode="minmax"`` scales each channel to 0..255 as peers did (a constant channel -> 128);
    ``mode="clip"`` maps ``[-1, 1]`` to 0..255 exactly (values outside are clipped).
    """
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[0] != 3:
        raise ValueError(f"flow has shape {flow.shape}; expected (3, H, W) = u, v, strain")
    if mode == "clip":
        scaled = (np.clip(flow, -1, 1) + 1.0) * 127.5
    elif mode == "minmax":
        lo = flow.min(axis=(1, 2), keepdims=True)
        span = flow.max(axis=(1, 2), keepdims=True) - lo
        scaled = np.where(span > 0, (flow - lo) / np.where(span > 0, span, 1) * 255.0, 127.5)
    else:
        raise ValueError(f"mode={mode!r}: expected 'minmax' or 'clip'")
    return np.round(scaled).astype(np.uint8).transpose(1, 2, 0).copy()


def _read_rows(path: Path) -> tuple[list[Row], bool]:
    cells = read_cells(path)
    first = [normalise_header(c) for c in (cells[0] if cells else [])]
    has_header = "dataset" in first and ("sub" in first or "subject" in first)
    if has_header:
        names, body, start = first, cells[1:], 2
        for need in (("sub", "subject"), ("filename_o", "filename"), ("label",)):
            if not any(n in names for n in need):
                raise DataError(f"{path.name}: missing column {' or '.join(need)!r} in the header row "
                                f"(found {[c for c in cells[0] if c]}); expected dataset,sub,filename_o,label[,...]")
    else:
        names, body, start = list(HEADERLESS), cells, 1
    rows = []
    for i, raw in enumerate(body):
        if all(cell_text(v) == "" for v in raw if v is not None):
            continue
        if len(raw) < 4:
            raise DataError(f"{path.name} row {i + start}: {len(raw)} fields; expected at least 4 "
                            f"(dataset,subject,filename,label)")
        rows.append(Row(i + start, {n: (v.strip() if isinstance(v, str) else v) for n, v in zip(names, raw) if n},
                        path))
    return rows, has_header


def _pick_folder(root: Path, explicit: str | Path | None, wanted: list[list[str]], what: str) -> Path | None:
    """The folder (``explicit``, or ``root`` / a sub-folder) holding most of the wanted names."""
    if explicit:
        folder = Path(explicit) if Path(explicit).is_absolute() else root / explicit
        if not folder.is_dir():
            raise FileNotFoundError(f"{what} folder {folder} not found")
        return folder
    best, best_hits = None, 0
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        names = set(os.listdir(folder))
        hits = sum(any(n in names for n in alts) for alts in wanted)
        if hits > best_hits:
            best, best_hits = folder, hits
    return best


def load_megc2019_flow(data_root: str | Path, annotations: str | Path | None = None,
                       subsets: tuple[str, ...] | list[str] | str = SUBSETS, scheme: str = "composite3",
                       flow_dir: str | None = None, face_dir: str | None = None, faces: str = "truth",
                       on_error: str = "raise") -> ClipSet:
    """Load the MEGC2019 composite flow images as clips with ``flows`` ``(1, 3, H, W)``.

    Args:
        data_root: folder holding the CSV and the flow (and face) folders.
        annotations: the CSV (default: ``*combined*.csv``, else the only ``*.csv``).
        subsets: source datasets to keep (``"casme2"``, ``"samm"``, ``"smic"``; a comma
            separated string works); other rows are listed in ``ClipSet.skipped``.
        scheme: label scheme over negative/positive/surprise (``composite3``).
        flow_dir, face_dir: folders relative to ``data_root`` (default: found by content).
        faces: where the apex face goes when present: ``"truth"`` (``truth["apex_face"]``,
            ``(H, W, 3)`` uint8 RGB), ``"frames"`` (lazy ``(1, H, W, 3)`` frames, apex = 0) or
            ``"none"``.
        on_error: ``"raise"`` or ``"skip"`` bad rows (recorded in ``ClipSet.skipped``).
    """
    if isinstance(subsets, str):
        subsets = [s.strip() for s in subsets.split(",") if s.strip()]
    bad = sorted(set(subsets) - set(SUBSETS))
    if bad or not subsets:
        raise ValueError(f"subsets={list(subsets)!r}: expected a non-empty selection of {', '.join(SUBSETS)}")
    if faces not in ("truth", "frames", "none"):
        raise ValueError(f"faces={faces!r}: expected 'truth', 'frames' or 'none'")
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    ann = find_annotation_file(root, ["*combined*.csv", "*megc*.csv", "*MEGC*.csv", "*.csv"], annotations,
                               what="MEGC2019 ground-truth CSV")
    rows, has_header = _read_rows(ann)
    get = lambda r, *names: next((r[n] for n in names if r.has(n)), None)  # noqa: E731

    def flow_names(r: Row) -> list[str]:
        raw_sub, fname = cell_text(get(r, "sub", "subject")), cell_text(get(r, "filename_o", "filename"))
        ds = _DATASET_ALIASES.get(cell_text(r["dataset"]).lower(), "")
        subs = [raw_sub]
        try:
            subs.append(normalise_megc_subject(ds, raw_sub, r.where) if ds else raw_sub)
        except DataError:
            pass
        return [f"{s}_{fname}{sep}.png" for s in dict.fromkeys(subs) for sep in ("", " ")]

    flow_root = _pick_folder(root, flow_dir, [flow_names(r) for r in rows], "flow image")
    if flow_root is None:
        raise FileNotFoundError(f"no flow images found in {root} or its sub-folders; expected files named "
                                f"like {flow_names(rows[0])[:2] if rows else '{sub}_{filename_o}.png'}")
    face_names = [[cell_text(r["imagename"])] for r in rows if r.has("imagename") and cell_text(r["imagename"])]
    face_root = _pick_folder(root, face_dir, face_names, "apex face") if faces != "none" and face_names else None

    def make(r: Row) -> Clip:
        w = r.where
        ds = _DATASET_ALIASES.get(cell_text(r["dataset"]).lower())
        if ds is None:
            raise DataError(f"{w}: unknown dataset {cell_text(r['dataset'])!r}; expected one of {', '.join(SUBSETS)}")
        if ds not in subsets:
            raise Excluded(f"excluded: dataset {ds!r} is not in subsets {list(subsets)}")
        subject = normalise_megc_subject(ds, get(r, "sub", "subject"), w)
        fname = cell_text(get(r, "filename_o", "filename"))
        label_text = cell_text(r["label"])
        emotion = LABELS[int(label_text)] if label_text in ("0", "1", "2") else label_text
        if emotion.isdigit():
            raise DataError(f"{w}: label {label_text!r}; expected 0 (negative), 1 (positive) or 2 (surprise)")
        label, label_name = encode_label(scheme_, emotion, w)
        candidates = flow_names(r)
        path = next((flow_root / n for n in candidates if (flow_root / n).is_file()), None)
        if path is None:
            raise DataError(f"{w}: no flow image for clip {fname!r} in {flow_root} (expected one of {candidates})")
        truth: dict = {"flow_file": str(path)}
        if r.has("apex") and cell_text(r["apex"]) not in ("", "nan"):
            truth["apex_frame"] = cell_text(r["apex"])
        clip = Clip(clip_id=f"{ds}/{subject}/{fname}", subject=subject, dataset=ds, label=label,
                    label_name=label_name, emotion=emotion, flows=decode_flow_png(path)[None], source=f"{path} ({w})",
                    truth=truth)
        image = cell_text(r["imagename"]) if r.has("imagename") else ""
        if face_root is not None and image:
            face = face_root / image
            if not face.is_file():
                raise DataError(f"{w}: apex face {image!r} not found in {face_root}")
            truth["imagename"] = image
            if faces == "truth":
                truth["apex_face"] = read_image(face)
            else:
                clip.loader, clip.apex = FrameLoader((str(face),)), 0
        return clip

    params = dict(data_root=str(root), annotations=str(ann), header=has_header, subsets=list(subsets),
                  scheme=scheme_.name, flow_dir=str(flow_root), face_dir=str(face_root) if face_root else None,
                  faces=faces)
    return collect_clips("megc2019_flow", scheme_, ((r.where, r) for r in rows), make, on_error=on_error,
                         params=params)
