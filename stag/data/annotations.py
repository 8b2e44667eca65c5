"""Reading annotation files: tables, header rows, subject ids, frame-number cells, errors.

Shared by every real-dataset adapter. The rules (from ``shared/DATASETS.md``):

- Header names are matched leniently in case and surrounding whitespace (``" onset frame"``
  matches ``"Onset Frame"``), everything else strictly; a missing column is named.
- The header row is found by content (SAMM has 13 rows of notes above it), never by offset.
- Rows whose cells are all empty are not data and are passed over; every other row becomes a
  clip, a documented exclusion (an emotion the label scheme leaves out) or an error.
- Errors name the file and the row (``"CASME2-coding-20190701.xlsx row 7"``) and say what was
  expected. With ``on_error="skip"`` a bad row is recorded in ``ClipSet.skipped`` instead.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

UNKNOWN_CELLS = ("", "/", "-", "?", "nan", "none", "n/a", "na", "-1")


class DataError(ValueError):
    """Bad dataset input (annotation row, frame folder, image); the message says where."""


class Excluded(Exception):
    """A row left out by design (its emotion is excluded by the label scheme)."""


def normalise_header(text: object) -> str:
    """``"  Onset  Frame "`` -> ``"onset frame"``: lower case, whitespace trimmed and collapsed."""
    return " ".join(str(text).split()).lower() if text is not None else ""


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


@dataclass(frozen=True)
class Row:
    """One data row of an annotation table.

    Attributes:
        number: 1-based row number as a spreadsheet or text editor shows it.
        values: normalised header name -> cell value.
        path: the annotation file.
    """

    number: int
    values: dict[str, object]
    path: Path

    @property
    def where(self) -> str:
        return f"{self.path.name} row {self.number}"

    def __getitem__(self, column: str) -> object:
        return self.values.get(normalise_header(column))

    def has(self, column: str) -> bool:
        return normalise_header(column) in self.values


def read_cells(path: Path, sheet: str | int | None = None) -> list[list[object]]:
    """All cells of the first (or ``sheet``) worksheet of an xlsx, or of a csv file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # lazy: only spreadsheets need it (CSV annotations do not)

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zip/xml errors from a damaged file
            raise DataError(f"{path}: cannot read as an xlsx workbook ({exc})") from None
        try:
            if sheet is None:
                ws = book.worksheets[0]
            elif isinstance(sheet, int):
                ws = book.worksheets[sheet]
            else:
                ws = book[sheet]
            return [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix in (".csv", ".txt", ".tsv"):
        text = path.read_text(encoding="utf-8-sig")
        dialect = "excel-tab" if suffix == ".tsv" else "excel"
        return [list(r) for r in csv.reader(text.splitlines(), dialect=dialect)]
    raise DataError(f"{path}: unsupported annotation format {suffix!r}; expected .xlsx or .csv")


def find_header(cells: Sequence[Sequence[object]], required: Sequence[str], path: Path,
                max_scan: int = 50) -> int:
    """Index of the first row (within ``max_scan``) holding every ``required`` column name.

    Raises:
        DataError: no such row; names the missing columns relative to the closest row.
    """
    want = [normalise_header(c) for c in required]
    best, best_hits = 0, -1
    for i, row in enumerate(cells[:max_scan]):
        names = {normalise_header(c) for c in row}
        hits = sum(w in names for w in want)
        if hits == len(want):
            return i
        if hits > best_hits:
            best, best_hits = i, hits
    if not cells:
        raise DataError(f"{path.name}: the file is empty; expected a header row with columns {list(required)}")
    found = [str(c) for c in cells[best] if not _is_empty(c)]
    names = {normalise_header(c) for c in cells[best]}
    missing = [c for c, w in zip(required, want) if w not in names]
    raise DataError(
        f"{path.name}: missing column(s) {missing} (closest header candidate: row {best + 1}, "
        f"with columns {found}); expected a header row with {list(required)}"
    )


def read_annotations(path: Path, required: Sequence[str], *, sheet: str | int | None = None,
                     header: bool = True, names: Sequence[str] | None = None) -> list[Row]:
    """Read an annotation table into :class:`Row` objects.

    Args:
        path: ``.xlsx`` (first sheet unless ``sheet``) or ``.csv`` file.
        required: column names that must be present (matched leniently, see module doc).
        header: ``False`` for a headerless file; then ``names`` gives the columns by position.
        names: column names for a headerless file.
    """
    path = Path(path)
    cells = read_cells(path, sheet)
    if header:
        h = find_header(cells, required, path)
        columns = [normalise_header(c) for c in cells[h]]
        start = h + 1
    else:
        if names is None:
            raise ValueError("read_annotations(header=False) needs names=")
        columns = [normalise_header(c) for c in names]
        start = 0
    rows = []
    for i in range(start, len(cells)):
        raw = cells[i]
        if all(_is_empty(v) for v in raw):
            continue
        if not header and len(raw) < len(columns):
            raise DataError(f"{path.name} row {i + 1}: {len(raw)} fields; expected {len(columns)} "
                            f"({', '.join(names or [])})")
        values = {}
        for name, v in zip(columns, raw):
            if name and name not in values:  # unnamed spacer columns are dropped
                values[name] = v.strip() if isinstance(v, str) else v
        rows.append(Row(i + 1, values, path))
    return rows


def find_annotation_file(data_root: Path, patterns: Iterable[str], explicit: str | Path | None = None,
                         what: str = "annotation file", unique: bool = False) -> Path:
    """The annotation file: ``explicit`` (absolute or relative to ``data_root``) or a glob match.

    Patterns are tried in order in ``data_root`` and one folder below; when several files
    match, the last in sorted order is taken (date-stamped names: the newest), unless
    ``unique`` is set: then several matches are an error listing them.
    """
    data_root = Path(data_root)
    if explicit not in (None, ""):
        p = Path(explicit)
        for cand in (p, data_root / p):
            if cand.is_file():
                return cand
        raise FileNotFoundError(f"{what} {p} not found (looked at {p} and {data_root / p})")
    if not data_root.is_dir():
        raise FileNotFoundError(f"data root {data_root} is not a folder")
    patterns = list(patterns)
    for pattern in patterns:
        hits = sorted(set(data_root.glob(pattern)) | set(data_root.glob(f"*/{pattern}")))
        hits = [h for h in hits if h.is_file() and not h.name.startswith("~$")]
        if len(hits) > 1 and unique:
            raise DataError(f"several {what}s match {pattern} in {data_root}: {', '.join(h.name for h in hits)}; "
                            f"pass annotations=PATH")
        if hits:
            return hits[-1]
    raise FileNotFoundError(
        f"no {what} in {data_root} (searched for {', '.join(patterns)} there and one folder down); "
        f"pass annotations=PATH"
    )


def cell_text(value: object) -> str:
    """A cell as trimmed text; whole floats lose their ``.0`` (xlsx numbers: ``6.0`` -> ``"6"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def normalise_subject(value: object, *, prefix: str = "", width: int = 2, where: str = "") -> str:
    """Normalise a subject id to the form the frame folders use.

    ``prefix="sub", width=2``: ``1``, ``"1"``, ``"01"``, ``"sub1"`` -> ``"sub01"`` (CASME II).
    ``prefix="", width=3``: ``6``, ``"6"``, ``"006"`` -> ``"006"`` (SAMM). ``prefix="s"``:
    ``"s1"`` -> ``"s01"`` (SMIC). Ids that are not a number with an optional prefix (``"spNO.1"``)
    are returned trimmed but otherwise unchanged.
    """
    if _is_empty(value):
        raise DataError(f"{where}: empty subject id" if where else "empty subject id")
    text = cell_text(value)
    m = re.fullmatch(rf"(?i)(?:{re.escape(prefix)})?0*(\d+)", text) if prefix else re.fullmatch(r"0*(\d+)", text)
    if m:
        return f"{prefix}{int(m.group(1)):0{width}d}"
    return text


def frame_cell(value: object, column: str, where: str, required: bool = True) -> int | None:
    """A frame-number cell as an int; ``None`` for unknown (``/``, ``-``, empty, ``-1``).

    Raises:
        DataError: not a whole number, or unknown while ``required``.
    """
    if _is_empty(value) or cell_text(value).lower() in UNKNOWN_CELLS:
        if required:
            raise DataError(f"{where}: column {column!r} is empty or unknown ({value!r}); expected a frame number")
        return None
    text = cell_text(value)
    try:
        number = int(text)
    except ValueError:
        raise DataError(f"{where}: column {column!r} = {value!r} is not a frame number") from None
    if number < 0:
        raise DataError(f"{where}: column {column!r} = {number} is negative; expected a frame number")
    return number


def check_order(onset: int | None, apex: int | None, offset: int | None, where: str,
                on_order_error: str = "raise") -> tuple[int | None, int | None, int | None]:
    """Check ``onset <= apex <= offset`` (unknown values are ignored).

    With ``on_order_error="warn"`` a :class:`UserWarning` is issued and the inconsistent value
    is dropped (set to ``None``) so downstream code estimates it: an offset before the onset
    drops the offset, then an apex outside ``[onset, offset]`` drops the apex.
    """
    if on_order_error not in ("raise", "warn"):
        raise ValueError(f"on_order_error={on_order_error!r}: expected 'raise' or 'warn'")
    problems = []
    if onset is not None and offset is not None and onset > offset:
        problems.append(f"onset frame {onset} > offset frame {offset}")
    if apex is not None and onset is not None and onset > apex:
        problems.append(f"onset frame {onset} > apex frame {apex}")
    if apex is not None and offset is not None and apex > offset:
        problems.append(f"apex frame {apex} > offset frame {offset}")
    if not problems:
        return onset, apex, offset
    msg = f"{where}: {'; '.join(problems)}; expected onset <= apex <= offset"
    if on_order_error == "raise":
        raise DataError(msg + " (pass on_order_error='warn' to keep the clip without the inconsistent frame)")
    if onset is not None and offset is not None and onset > offset:
        offset = None
    if apex is not None and ((onset is not None and apex < onset) or (offset is not None and apex > offset)):
        apex = None
    warnings.warn(msg + f"; kept with onset={onset}, apex={apex}, offset={offset}", stacklevel=3)
    return onset, apex, offset


@dataclass
class RowErrors:
    """Collects skipped rows; raises or records each :class:`DataError` per ``on_error``."""

    on_error: str = "raise"
    skipped: list[tuple[str, str]] = field(default_factory=list)
    n_errors: int = 0

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error={self.on_error!r}: expected 'raise' or 'skip'")

    def excluded(self, where: str, why: str) -> None:
        self.skipped.append((where, why))

    def error(self, where: str, exc: Exception) -> None:
        if self.on_error == "raise":
            raise exc
        self.n_errors += 1
        self.skipped.append((where, str(exc)))

    def report(self, dataset: str) -> None:
        """Warn once about rows skipped because of errors (exclusions by design are quiet)."""
        if self.n_errors:
            errs = [w for w, why in self.skipped if not why.startswith("excluded")]
            warnings.warn(f"{dataset}: skipped {self.n_errors} row(s) with errors (see ClipSet.skipped): "
                          f"{', '.join(errs[:5])}{' ...' if len(errs) > 5 else ''}", stacklevel=3)


def check_unique(keys: Sequence[str], wheres: Sequence[str], errors: RowErrors) -> list[int]:
    """Indices to keep: the first of each key; later duplicates are errors naming both rows."""
    first: dict[str, int] = {}
    keep = []
    for i, (k, w) in enumerate(zip(keys, wheres)):
        if k in first:
            errors.error(w, DataError(f"{w}: duplicate clip id {k!r} (first defined at {wheres[first[k]]})"))
            continue
        first[k] = i
        keep.append(i)
    return keep
