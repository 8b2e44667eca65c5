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

Flow decoding: each PNG holds normalised optical strain, v and u as 8-bit channels **in the
order OpenCV reads them** (B, G, R), i.e. ``u, v, strain`` in the file's R, G, B order: peers
wrote the ``[u, v, strain]`` stack with an RGB writer. This was checked on the public copy
(``../shared/data/megc2019/flow``, 442 files; :data:`CHANNEL_ORDERS`): OpenCV's channel 0 is
non-negative and right-skewed (skewness 3.8, per-image median 13 of 255), as a strain map is;
channel 1 is mirror-symmetric across the face (correlation with its left-right mirror +0.57)
and carries the brow raise of surprise clips in the upper face (mean deviation 32 above the
eyes, 16 below), as the vertical flow ``v`` does; channel 2 is mirror-antisymmetric (-0.19),
as the horizontal ``u`` is. Until this was checked the adapter read OpenCV's order as
``u, v, strain`` (``channel_order="u,v,strain"``, the legacy reading kept for the records made
with it). A value ``p`` decodes to ``p / 127.5 - 1`` in ``[-1, 1]`` (16-bit PNGs:
``p / 32767.5 - 1``). Peers min-max normalised each channel of each image before saving, so
zero motion is not mid-grey and the scaling cannot be undone: decoded values are relative,
not pixels. ``Clip.flows`` is ``(1, 3, H, W)`` float32 (K = 1 onset-to-apex flow), channels
u, v, strain.

Two phases (``megc2019_phases``, :func:`load_megc2019_phases`): a second public copy of the
same 442 clips (the one CausalNet's repository distributes) holds four 28x28 PNGs per clip,
``{sub}_{filename_o}{suffix} .png``: suffix ``""`` onset to apex, ``"_1"`` apex to offset,
``"_2"`` and ``"_3"`` direction maps of those two phases. Checked on the data
(``../shared/data/megc2019_phases``, 1,768 files, CSV byte-identical to ``megc2019/``'s):

- the channel order is the composite's (OpenCV order strain, v, u: channel 0 non-negative with
  skewness 6.2; channel 1 mirror-symmetric +0.53; channel 2 antisymmetric -0.07);
- phase ``_1`` points the other way: per clip, phase 0 and phase 1 correlate positively in
  strain (mean +0.41: the same regions move) and negatively in v (-0.31, median -0.45) and u
  (-0.25, median -0.33): the face returns;
- the onset-to-apex image is not the ``megc2019/`` file (another flow computation): per
  channel the two copies correlate +0.17 (strain), +0.30 (v), +0.48 (u);
- the images were min-max scaled and then down-sampled: a channel rarely spans 0..255
  (u, v: mean per-image minimum 14-19, maximum 234-239);
- direction maps: OpenCV channel 0 is always 0; channels 1 and 2 follow the flow's direction
  (correlations +0.64 and +0.52 with v and u of the same phase).

Each clip is a K = 2 sequence ``(2, 3, 28, 28)`` (``phases=1``: the onset-to-apex flow alone;
``phases="apex_offset"``: the apex-to-offset flow alone, ``(1, 3, 28, 28)``);
``directions=True`` appends the two direction channels of each phase (``C = 5``; kept through
preprocessing with ``PrepareConfig(extra_channels=True)``).

FACS codings (``codings=``): the composite CSV has no action units, but its CASME II and SAMM
clips are rows of the released codings ``CASME2-coding-*.xlsx`` and
``SAMM_Micro_FACS_Codes*.xlsx`` (``codings`` is a folder holding them, found by the glob
patterns of :mod:`stag.data.casme2` / :mod:`stag.data.samm`, or a list of the files; they are
read with those adapters' columns by :func:`stag.data.annotations.read_annotations`). The join
is on subject + clip name: composite ``sub01``, ``EP02_01f`` = CASME II ``Subject`` 1,
``Filename`` ``EP02_01f``; composite ``006``, ``006_1_2`` = SAMM ``Subject`` 6, ``Filename``
``006_1_2``. A joined clip gets ``aus`` (targets), ``au_text`` and ``au_error`` from
:func:`stag.data.aus.read_au_cell` (an unreadable string is a warning, as in the adapters) and
``au_coded=True``; SMIC clips (no AU codes) and CASME II/SAMM clips without a coding row get
``au_coded=False`` (the latter are counted, named in a warning and in ``ClipSet.warnings``),
so an AU loss skips them. Without ``codings`` every clip has ``au_coded=False``.
``ClipSet.params`` reports the join: ``codings`` (file per source dataset), ``au_coded``
(coded clips per source dataset) and ``au_uncoded`` (CASME II/SAMM clip ids left uncoded).
With the real files all 145 CASME II and 133 SAMM clips of the composite are coded.
"""

from __future__ import annotations

import fnmatch
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from stag.data import casme2, samm
from stag.data.annotations import (DataError, Excluded, Row, cell_text, find_annotation_file, normalise_header,
                                   normalise_subject, read_annotations, read_cells)
from stag.data.aus import AUString, read_au_cell
from stag.data.clip import Clip, ClipSet
from stag.data.flow_checks import check_channel_order
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


#: How the three channels of a composite flow PNG are ordered as OpenCV reads them (B, G, R):
#: the verified order (module doc) and the legacy reading of records made before the check.
CHANNEL_ORDERS: dict[str, tuple[int, int, int]] = {
    # name -> position of u, v and strain among OpenCV's channels
    "strain,v,u": (2, 1, 0),
    "u,v,strain": (0, 1, 2),
}
DEFAULT_CHANNEL_ORDER = "strain,v,u"
LEGACY_CHANNEL_ORDER = "u,v,strain"
#: Flow-file suffixes of the two-phase copy: onset->apex, apex->offset, and their direction maps.
PHASE_SUFFIXES = ("", "_1")
PHASE_NAMES = ("onset->apex", "apex->offset")
DIRECTION_SUFFIXES = ("_2", "_3")
#: What ``load_megc2019_phases(phases=...)`` reads: the phase suffixes of each selection.
PHASE_SELECTIONS: dict[object, tuple[str, ...]] = {2: PHASE_SUFFIXES, 1: PHASE_SUFFIXES[:1],
                                                   "apex_offset": PHASE_SUFFIXES[1:]}


def _channel_order(channel_order: str) -> tuple[int, int, int]:
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order={channel_order!r}: expected one of {', '.join(CHANNEL_ORDERS)} (the order "
                         f"of the flow PNG's channels as OpenCV reads them; verified: {DEFAULT_CHANNEL_ORDER})")
    return CHANNEL_ORDERS[channel_order]


def decode_flow_image(img: np.ndarray, channel_order: str = DEFAULT_CHANNEL_ORDER) -> np.ndarray:
    """An 8- or 16-bit ``(H, W, >=3)`` flow image (OpenCV channel order) as ``(3, H, W)``
    float32 in ``[-1, 1]``, channels u, v, strain."""
    half = 127.5 if img.dtype == np.uint8 else 32767.5
    return np.ascontiguousarray((img[:, :, list(_channel_order(channel_order))].astype(np.float32) / half - 1.0)
                                .transpose(2, 0, 1))


def decode_flow_png(path: str | Path, channel_order: str = DEFAULT_CHANNEL_ORDER,
                    size: tuple[int, int] | None = None, what: str = "flow image") -> np.ndarray:
    """A flow PNG as ``(3, H, W)`` float32 in ``[-1, 1]`` (channels u, v, strain).

    Raises:
        DataError: naming the file: missing, empty, corrupt, not 3 channels, or not ``size``
            (``(width, height)``).
    """
    img = read_image(path, mode="unchanged", what=what, size=size)
    if img.ndim != 3 or img.shape[2] < 3:
        raise DataError(f"{what} {path} has shape {img.shape}; expected 3 channels (strain, v, u)")
    return decode_flow_image(img, channel_order)


def decode_direction_png(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A direction map of the two-phase copy as ``(2, H, W)`` float32 in ``[-1, 1]`` (OpenCV
    channels 1 and 2; channel 0 is always 0 in that copy).

    Raises:
        DataError: naming the file, as :func:`decode_flow_png`.
    """
    img = read_image(path, mode="unchanged", what="direction map", size=size)
    if img.ndim != 3 or img.shape[2] < 3:
        raise DataError(f"direction map {path} has shape {img.shape}; expected 3 channels")
    half = 127.5 if img.dtype == np.uint8 else 32767.5
    return np.ascontiguousarray((img[:, :, 1:3].astype(np.float32) / half - 1.0).transpose(2, 0, 1))


def encode_flow_png(flow: np.ndarray, mode: str = "minmax", channel_order: str = DEFAULT_CHANNEL_ORDER) -> np.ndarray:
    """``(3, H, W)`` float flow (u, v, strain) -> ``(H, W, 3)`` uint8 image for ``cv2.imwrite``,
    channels in ``channel_order`` (inverse of :func:`decode_flow_png`).

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
    order = _channel_order(channel_order)  # position of u, v, strain in the image
    image = np.empty_like(scaled)
    image[list(order)] = scaled
    return np.round(image).astype(np.uint8).transpose(1, 2, 0).copy()


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


def _coding_sources() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], dict]]:
    """Per coded source dataset: (file glob patterns, required columns, subject normalisation)."""
    return {"casme2": (("CASME2-coding-*.xlsx", "CASME2*coding*.xlsx"), casme2.COLUMNS, dict(prefix="sub", width=2)),
            "samm": (("SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"), samm.COLUMNS, dict(width=3))}


def find_codings(codings: str | Path | list | tuple) -> dict[str, Path]:
    """The coding file per source dataset (``casme2``, ``samm``) in a folder or a list of files.

    Raises:
        FileNotFoundError: the folder/files do not exist, or none matches a coding pattern.
    """
    sources = _coding_sources()
    found: dict[str, Path] = {}
    if isinstance(codings, (str, Path)) and Path(codings).is_dir():
        for ds, (patterns, _, _) in sources.items():
            try:
                found[ds] = find_annotation_file(Path(codings), patterns, what=f"{ds} coding file")
            except FileNotFoundError:
                pass
        where = f"folder {codings}"
    else:
        files = [Path(codings)] if isinstance(codings, (str, Path)) else [Path(f) for f in codings]
        for f in files:
            if not f.is_file():
                raise FileNotFoundError(f"coding file {f} not found (codings= takes a folder or a list of files)")
            ds = next((d for d, (patterns, _, _) in sources.items()
                       if any(fnmatch.fnmatch(f.name, pat) for pat in patterns)), None)
            if ds is None:
                raise DataError(f"coding file {f.name}: not a CASME II or SAMM coding file name (expected "
                                f"{' or '.join(p for v in sources.values() for p in v[0])})")
            found[ds] = f
        where = f"files {[str(f) for f in files]}"
    if not found:
        raise FileNotFoundError(f"no coding files in {where}; expected "
                                f"{' or '.join(p for v in sources.values() for p in v[0])}")
    return found


def read_codings(files: dict[str, Path]) -> dict[tuple[str, str, str], tuple[AUString, str]]:
    """``(dataset, subject, filename) -> (AU string, where)`` from the coding files."""
    sources = _coding_sources()
    out: dict[tuple[str, str, str], tuple[AUString, str]] = {}
    for ds, path in files.items():
        _, columns, norm = sources[ds]
        for row in read_annotations(path, columns):
            key = (ds, normalise_subject(row["Subject"], where=row.where, **norm), cell_text(row["Filename"]))
            if key in out:
                raise DataError(f"{row.where}: clip {key[1]}/{key[2]} is coded twice (also {out[key][1]})")
            out[key] = (read_au_cell(row["Action Units"], row.where), row.where)
    return out


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
                       on_error: str = "raise", codings: str | Path | list | None = None,
                       channel_order: str = DEFAULT_CHANNEL_ORDER, check_channels: bool = True) -> ClipSet:
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
        codings: folder (or list of files) with the CASME II / SAMM FACS codings: joined clips
            get ``aus``, ``au_text``, ``au_error``; the others ``au_coded=False`` (module doc).
        channel_order: the flow PNG's channels as OpenCV reads them (:data:`CHANNEL_ORDERS`;
            default the verified ``"strain,v,u"``; ``"u,v,strain"`` is the legacy reading).
        check_channels: measure the channel order on the loaded flows
            (:func:`stag.data.flow_checks.check_channel_order`; recorded in
            ``ClipSet.params["channel_evidence"]``) and refuse an order the evidence contradicts or
            cannot decide (with at least 30 clips). ``False`` loads unchecked (the legacy records).

    Raises:
        DataError: naming the file or folder: a bad row or image (module doc), or a channel
            order the images contradict.
    """
    return _load_composite("megc2019_flow", data_root, annotations, subsets, scheme, flow_dir, face_dir, faces,
                           on_error, codings, channel_order, suffixes=PHASE_SUFFIXES[:1], directions=False,
                           check_channels=check_channels)


def load_megc2019_phases(data_root: str | Path, annotations: str | Path | None = None,
                         subsets: tuple[str, ...] | list[str] | str = SUBSETS, scheme: str = "composite3",
                         phases: int | str = 2, directions: bool = False, flow_dir: str | None = None,
                         face_dir: str | None = None, faces: str = "truth", on_error: str = "raise",
                         codings: str | Path | list | None = None,
                         channel_order: str = DEFAULT_CHANNEL_ORDER, check_channels: bool = True) -> ClipSet:
    """Load the two-phase copy of the composite: clips with ``flows`` ``(phases, C, 28, 28)``.

    Layout read (the copy CausalNet's repository distributes)::

        DATA_ROOT/
          combined_3_class2_for_optical_flow.csv    # the composite CSV (or annotations=PATH)
          flow/                                      # any sub-folder; found by content
            006_006_1_2 .png   006_006_1_2_1 .png   006_006_1_2_2 .png   006_006_1_2_3 .png ...

    Keyframe 0 is ``{sub}_{filename_o}.png`` (onset to apex), keyframe 1
    ``{sub}_{filename_o}_1.png`` (apex to offset); the space before ``.png`` is optional.
    Channels u, v, strain (module doc: the order and the direction of phase 1 were checked
    on the data). The copy has no apex faces: ``face_dir`` may name the composite's apex
    faces (e.g. ``../megc2019/apex``, relative to ``data_root``) for dlib ROIs; without them
    ROIs come from the aligned-face template.

    Args:
        phases: ``2`` (onset->apex, apex->offset), ``1`` (onset->apex alone, as
            ``megc2019_flow``) or ``"apex_offset"`` (apex->offset alone: what the second phase
            carries by itself).
        directions: append the direction maps (``_2``, ``_3``) of each phase as two more
            channels (``C = 5``).
        The others as :func:`load_megc2019_flow`.

    Raises:
        DataError: naming the file: a missing phase, a zero-byte, unreadable or corrupt PNG,
            or phases of one clip that differ in size (with ``on_error="skip"`` the clip is
            skipped and listed in ``ClipSet.skipped`` instead); or, naming the folder, a channel
            order the images contradict (``check_channels``, as :func:`load_megc2019_flow`; the
            evidence also gives the direction of phase 1).
    """
    try:
        suffixes = None if isinstance(phases, bool) else PHASE_SELECTIONS[phases]
    except (KeyError, TypeError):
        suffixes = None
    if suffixes is None:
        raise ValueError(f"phases={phases!r}: expected 2 (onset->apex, apex->offset), 1 (onset->apex) or "
                         f"'apex_offset' (apex->offset alone)")
    return _load_composite("megc2019_phases", data_root, annotations, subsets, scheme, flow_dir, face_dir, faces,
                           on_error, codings, channel_order, suffixes=suffixes,
                           directions=bool(directions), phases=phases, check_channels=check_channels)


def _load_composite(name: str, data_root, annotations, subsets, scheme, flow_dir, face_dir, faces, on_error,
                    codings, channel_order: str, *, suffixes: tuple[str, ...], directions: bool,
                    phases: int | str | None = None, check_channels: bool = True) -> ClipSet:
    """Both composite loaders: one flow file per phase suffix (and a direction map per phase)."""
    if isinstance(subsets, str):
        subsets = [s.strip() for s in subsets.split(",") if s.strip()]
    bad = sorted(set(subsets) - set(SUBSETS))
    if bad or not subsets:
        raise ValueError(f"subsets={list(subsets)!r}: expected a non-empty selection of {', '.join(SUBSETS)}")
    if faces not in ("truth", "frames", "none"):
        raise ValueError(f"faces={faces!r}: expected 'truth', 'frames' or 'none'")
    _channel_order(channel_order)
    root = Path(data_root)
    scheme_ = get_scheme(scheme)
    ann = find_annotation_file(root, ["*combined*.csv", "*megc*.csv", "*MEGC*.csv", "*.csv"], annotations,
                               what="MEGC2019 ground-truth CSV")
    rows, has_header = _read_rows(ann)
    get = lambda r, *names: next((r[n] for n in names if r.has(n)), None)  # noqa: E731
    direction_of = dict(zip(PHASE_SUFFIXES, DIRECTION_SUFFIXES))
    phase_name = dict(zip(PHASE_SUFFIXES, PHASE_NAMES))
    phase_index = {s: k for k, s in enumerate(PHASE_SUFFIXES)}

    def flow_names(r: Row, suffix: str = "") -> list[str]:
        raw_sub, fname = cell_text(get(r, "sub", "subject")), cell_text(get(r, "filename_o", "filename"))
        ds = _DATASET_ALIASES.get(cell_text(r["dataset"]).lower(), "")
        subs = [raw_sub]
        try:
            subs.append(normalise_megc_subject(ds, raw_sub, r.where) if ds else raw_sub)
        except DataError:
            pass
        return [f"{s}_{fname}{suffix}{sep}.png" for s in dict.fromkeys(subs) for sep in ("", " ")]

    flow_root = _pick_folder(root, flow_dir, [flow_names(r) for r in rows], "flow image")
    if flow_root is None:
        raise FileNotFoundError(f"no flow images found in {root} or its sub-folders; expected files named "
                                f"like {flow_names(rows[0])[:2] if rows else '{sub}_{filename_o}.png'}")
    face_names = [[cell_text(r["imagename"])] for r in rows if r.has("imagename") and cell_text(r["imagename"])]
    face_root = _pick_folder(root, face_dir, face_names, "apex face") if faces != "none" and face_names else None
    coding_files = find_codings(codings) if codings not in (None, "", []) else {}
    coded = read_codings(coding_files) if coding_files else {}

    def find(r: Row, suffix: str, what: str) -> Path:
        candidates = flow_names(r, suffix)
        path = next((flow_root / n for n in candidates if (flow_root / n).is_file()), None)
        if path is None:
            fname = cell_text(get(r, "filename_o", "filename"))
            raise DataError(f"{r.where}: no {what} for clip {fname!r} in {flow_root} (expected one of {candidates})")
        return path

    def read_phases(r: Row) -> tuple[np.ndarray, list[Path]]:
        stack, files, size = [], [], None
        for suffix in suffixes:
            k = phase_index[suffix]
            what = "flow image" if suffixes == ("",) else f"phase {k} flow image ({phase_name[suffix]})"
            path = find(r, suffix, what)
            flow = decode_flow_png(path, channel_order, size=size, what=what)
            size = size or (flow.shape[2], flow.shape[1])  # every phase of a clip has the first one's size
            files.append(path)
            if directions:
                dpath = find(r, direction_of[suffix], f"direction map of phase {k}")
                flow = np.concatenate([flow, decode_direction_png(dpath, size=size)])
                files.append(dpath)
            stack.append(flow)
        return np.stack(stack), files

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
        flows, files = read_phases(r)
        truth: dict = {"flow_file": str(files[0]), "flow_files": [str(f) for f in files]}
        if r.has("apex") and cell_text(r["apex"]) not in ("", "nan"):
            truth["apex_frame"] = cell_text(r["apex"])
        clip = Clip(clip_id=f"{ds}/{subject}/{fname}", subject=subject, dataset=ds, label=label,
                    label_name=label_name, emotion=emotion, flows=flows, source=f"{files[0]} ({w})",
                    truth=truth, au_coded=False)
        hit = coded.get((ds, subject, fname))
        if hit is not None:
            au = hit[0]
            clip.aus, clip.au_text, clip.au_error, clip.au_coded = tuple(au.targets), au.text, au.error, True
            if au.error:
                warnings.warn(f"{au.error}; clip {clip.clip_id} loaded with unknown AUs (aus=()); AU targets "
                              f"for it are refused")
        image = cell_text(r["imagename"]) if r.has("imagename") else ""
        if face_root is not None and image:
            face = face_root / image
            if not face.is_file():
                raise DataError(f"{w}: apex face {image!r} not found in {face_root}")
            truth["imagename"] = image
            if faces == "truth":
                truth["apex_face"] = read_image(face, what="apex face")
            else:
                clip.loader, clip.apex = FrameLoader((str(face),)), 0
        return clip

    params = dict(data_root=str(root), annotations=str(ann), header=has_header, subsets=list(subsets),
                  scheme=scheme_.name, flow_dir=str(flow_root), face_dir=str(face_root) if face_root else None,
                  faces=faces, channel_order=channel_order)
    if name == "megc2019_phases":
        params.update(phases=phases, directions=directions)
    if coding_files:
        params["codings"] = {ds: str(p) for ds, p in coding_files.items()}
    clipset = collect_clips(name, scheme_, ((r.where, r) for r in rows), make, on_error=on_error, params=params)
    if check_channels:
        evidence = check_channel_order(clipset, channel_order)
        if evidence is not None:
            clipset.params["channel_evidence"] = evidence.to_dict()
    if coding_files:
        n_coded = {ds: 0 for ds in SUBSETS if ds in subsets}
        uncoded = []
        for c in clipset:
            if c.au_coded:
                n_coded[c.dataset] += 1
            elif c.dataset in ("casme2", "samm"):
                uncoded.append(c.clip_id)
        clipset.params["au_coded"] = n_coded
        clipset.params["au_uncoded"] = uncoded
        if uncoded:
            msg = (f"{len(uncoded)} CASME II/SAMM clips have no row in the codings "
                   f"({', '.join(p.name for p in coding_files.values())}): {', '.join(uncoded)}; "
                   f"they load with au_coded=False (no AU loss)")
            clipset.warnings.append(("codings", msg))
            warnings.warn(msg)
    return clipset
