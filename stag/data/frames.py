"""Listing and reading clip frames, and turning an annotated frame folder into a :class:`Clip`.

Frame files are ordered by the *number in their name*, not lexicographically: the number is
the last run of digits in the file stem (``img46.jpg`` -> 46, ``reg_img46.jpg`` -> 46,
``006_05562.jpg`` -> 5562, ``image586826.bmp`` -> 586826, ``166.jpg`` -> 166), so ``img9``
comes before ``img10``. Frames are read only when a clip's ``loader`` is called, as
``(T, H, W, 3)`` uint8 RGB (grey images are repeated over the three channels).

Frame numbers of a clip are expected to be consecutive. A gap (``img50.jpg`` missing from
``img46..img86``) is a warning naming the clip folder and the missing numbers, recorded as
``Clip.missing_frames`` and counted by ``stag data summary``; the frames around the gap are
used as they are. An onset, apex or offset frame that is itself missing is an error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stag.data.annotations import DataError, Excluded, RowErrors, check_order, check_unique
from stag.data.aus import AUString
from stag.data.clip import Clip, ClipSet
from stag.data.labels import LabelScheme

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
FRAME_MODES = ("all", "onset_offset")
_DIGITS = re.compile(r"(\d+)")


def frame_number(name: str | Path) -> int | None:
    """The frame number in a file name: the last run of digits in its stem, or ``None``."""
    digits = _DIGITS.findall(Path(name).stem)
    return int(digits[-1]) if digits else None


def list_frames(folder: str | Path, exts: Sequence[str] = IMAGE_EXTS) -> tuple[np.ndarray, list[Path]]:
    """Frame numbers ``(T,)`` int64 and paths of the images in ``folder``, in frame-number order.

    Raises:
        DataError: the folder is missing, holds no images, an image name has no number, or
            two images share a frame number.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"clip folder {folder} not found")
    files = [p for p in folder.iterdir() if p.suffix.lower() in exts and p.is_file()]
    if not files:
        raise DataError(f"clip folder {folder} has no frames (expected image files {', '.join(exts)})")
    numbered = []
    for p in files:
        n = frame_number(p.name)
        if n is None:
            raise DataError(f"{p}: no frame number in the file name (expected e.g. img46.jpg)")
        numbered.append((n, p))
    numbered.sort()
    numbers = np.array([n for n, _ in numbered], dtype=np.int64)
    dup = numbers[1:][numbers[1:] == numbers[:-1]]
    if dup.size:
        same = [p.name for n, p in numbered if n == dup[0]]
        raise DataError(f"clip folder {folder}: frame number {int(dup[0])} appears twice ({', '.join(same)})")
    return numbers, [p for _, p in numbered]


def read_image(path: str | Path, *, mode: str = "rgb", what: str = "image",
               size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file, decoded; the only place the package reads an image.

    Args:
        path: the file.
        mode: ``"rgb"``: ``(H, W, 3)`` uint8 RGB (grey images repeated over the channels);
            ``"unchanged"``: the stored array as OpenCV decodes it (channels in OpenCV's
            B, G, R order, 8 or 16 bit), e.g. a flow image.
        what: what the file is, for the error (``"flow image"``, ``"apex face"``).
        size: ``(width, height)`` the image must have, or ``None``.

    Raises:
        DataError: naming the file: it is missing, empty (0 bytes), unreadable or corrupt, or
            not of ``size``.
    """
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    if mode not in ("rgb", "unchanged"):
        raise ValueError(f"read_image: mode={mode!r}; expected 'rgb' or 'unchanged'")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path} not found")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise DataError(f"{what} {path} is empty (0 bytes); expected an image file (PNG, JPEG, ...)")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR if mode == "rgb" else cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{what} {path} is unreadable or corrupt (OpenCV could not decode its "
                        f"{data.size} bytes as an image)")
    if size is not None and (img.shape[1], img.shape[0]) != tuple(size):
        raise DataError(f"{what} {path} is {img.shape[1]}x{img.shape[0]} pixels; expected {size[0]}x{size[1]}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if mode == "rgb" else img


@dataclass(frozen=True)
class FrameLoader:
    """Picklable zero-argument loader: reads ``paths`` into ``(T, H, W, 3)`` uint8 RGB."""

    paths: tuple[str, ...]

    def __call__(self) -> np.ndarray:
        return read_frames(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def read_frames(paths: Sequence[str | Path]) -> np.ndarray:
    """Read images into one ``(T, H, W, 3)`` uint8 array; all must share a size."""
    if not paths:
        raise DataError("no frames to read")
    first = read_image(paths[0])
    out = np.empty((len(paths), *first.shape), dtype=np.uint8)
    out[0] = first
    for i, p in enumerate(paths[1:], start=1):
        img = read_image(p)
        if img.shape != first.shape:
            raise DataError(f"{p}: frame size {img.shape[1]}x{img.shape[0]} differs from the clip's first "
                            f"frame {Path(paths[0]).name} ({first.shape[1]}x{first.shape[0]})")
        out[i] = img
    return out


def frame_position(numbers: np.ndarray, number: int | None, what: str, where: str, folder: Path) -> int | None:
    """0-based position of frame ``number`` in ``numbers``; ``None`` passes through.

    Raises:
        DataError: the frame is not in the clip folder: outside its range, or a gap inside it
            (names the folder, the frame and the folder's range).
    """
    if number is None:
        return None
    pos = int(np.searchsorted(numbers, number))
    if pos >= len(numbers) or numbers[pos] != number:
        span = f"{len(numbers)} frames numbered {int(numbers[0])}..{int(numbers[-1])}"
        if int(numbers[0]) < number < int(numbers[-1]):
            raise DataError(f"{where}: {what} frame {number} is missing from clip folder {folder} (a gap in its "
                            f"{span}; missing {compress_ranges(missing_numbers(numbers))})")
        raise DataError(f"{where}: {what} frame {number} is outside the clip: folder {folder} holds {span}")
    return pos


def missing_numbers(numbers: np.ndarray) -> tuple[int, ...]:
    """Frame numbers absent between the first and last of sorted ``numbers`` (the gaps)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) < 2 or int(numbers[-1] - numbers[0]) + 1 == len(numbers):
        return ()
    return tuple(int(n) for n in np.setdiff1d(np.arange(numbers[0], numbers[-1] + 1), numbers))


def compress_ranges(numbers: Sequence[int]) -> str:
    """``(50, 52, 53, 54)`` -> ``"50, 52-54"``."""
    parts: list[str] = []
    nums = sorted(int(n) for n in numbers)
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ", ".join(parts)


def encode_label(scheme: LabelScheme, emotion: object, where: str) -> tuple[int, str]:
    """``(class id, class name)``; raises :class:`Excluded` when the scheme leaves it out."""
    try:
        name = scheme.class_name(emotion, where)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if name is None:
        raise Excluded(f"excluded: emotion {str(emotion).strip()!r} is left out by label scheme {scheme.name!r}")
    return scheme.classes.index(name), name


def frame_clip(*, dataset: str, subject: str, name: str, folder: Path, emotion: object, scheme: LabelScheme,
               onset: int | None, apex: int | None, offset: int | None, aus: object = (),
               fps: float | None = None, frames: str = "all", on_order_error: str = "raise", where: str = "",
               listing: tuple[np.ndarray, list[Path]] | None = None, clip_name: str | None = None) -> Clip:
    """Build a lazily loaded :class:`Clip` from an annotated frame folder.

    Args:
        onset, apex, offset: the dataset's frame numbers (``None`` when unknown).
        aus: AU targets, or an :class:`~stag.data.aus.AUString` (from
            :func:`~stag.data.aus.read_au_cell`): its targets become ``Clip.aus`` and its
            text/error ``Clip.au_text``/``au_error``; an unreadable string is a warning.
        frames: ``"all"`` (every frame in the folder) or ``"onset_offset"`` (only that range).
        listing: a precomputed :func:`list_frames` result (datasets whose folders hold long
            videos with several clips list each folder once).
        clip_name: the last part of ``clip_id`` (default ``name``).

    The returned clip's onset/apex/offset are 0-based indices into the loaded frames and
    ``frame_numbers`` holds the dataset's numbers of those frames. A gap in those numbers is
    a :class:`UserWarning` naming the folder and the missing numbers (``Clip.missing_frames``).
    """
    if frames not in FRAME_MODES:
        raise ValueError(f"frames={frames!r}: expected one of {FRAME_MODES}")
    label, label_name = encode_label(scheme, emotion, where)
    numbers, paths = listing if listing is not None else list_frames(folder)
    onset, apex, offset = check_order(onset, apex, offset, where, on_order_error)
    pos = {k: frame_position(numbers, v, k, where, folder) for k, v in
           (("onset", onset), ("apex", apex), ("offset", offset))}
    lo, hi = 0, len(numbers) - 1
    if frames == "onset_offset":
        lo = pos["onset"] if pos["onset"] is not None else 0
        hi = pos["offset"] if pos["offset"] is not None else hi
    rel = {k: (None if v is None else v - lo) for k, v in pos.items()}
    clip_id = f"{dataset}/{subject}/{clip_name or name}"
    used = numbers[lo:hi + 1]
    gaps = missing_numbers(used)
    if gaps:
        warnings.warn(f"{where + ': ' if where else ''}clip {clip_id} has frame gaps: folder {folder} lacks frame(s) "
                      f"{compress_ranges(gaps)} in {int(used[0])}..{int(used[-1])}", stacklevel=2)
    au_text = au_error = ""
    if isinstance(aus, AUString):
        au_text, au_error, aus = aus.text, aus.error, aus.targets
        if au_error:
            warnings.warn(f"{au_error}; clip {clip_id} loaded with unknown AUs (aus=()); AU targets for it "
                          f"raise an error", stacklevel=2)
    return Clip(
        clip_id=clip_id, subject=subject, dataset=dataset,
        label=label, label_name=label_name, emotion=str(emotion).strip(),
        onset=rel["onset"], apex=rel["apex"], offset=rel["offset"], aus=tuple(aus), au_text=au_text,
        au_error=au_error, fps=fps, frame_numbers=used.copy(), missing_frames=gaps,
        source=f"{folder} ({where})" if where else str(folder),
        loader=FrameLoader(tuple(str(p) for p in paths[lo:hi + 1])),
    )


def check_modes(frames: str = "all", on_error: str = "raise", on_order_error: str = "raise") -> None:
    """Validate the shared adapter options up front (before any file is read)."""
    for name, value, allowed in (("frames", frames, FRAME_MODES), ("on_error", on_error, ("raise", "skip")),
                                 ("on_order_error", on_order_error, ("raise", "warn"))):
        if value not in allowed:
            raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, allowed))}")


def find_frames_root(data_root: Path, candidates: Sequence[str], looks_right, what: str) -> Path:
    """The first ``data_root / candidate`` folder for which ``looks_right(folder)`` is true.

    Raises:
        FileNotFoundError: none matches; lists the folders tried.
    """
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise FileNotFoundError(f"data root {data_root} is not a folder")
    tried = []
    for c in candidates:
        folder = data_root / c
        tried.append(str(folder))
        if folder.is_dir() and looks_right(folder):
            return folder
    raise FileNotFoundError(f"no {what} found; tried {', '.join(tried)}")


def collect_clips(name: str, scheme: LabelScheme, items, make, *, on_error: str = "raise",
                  params: dict | None = None):
    """Run ``make(item) -> Clip`` over ``(where, item)`` pairs into a :class:`ClipSet`.

    Rows excluded by the label scheme and (with ``on_error="skip"``) rows with errors are
    recorded in ``ClipSet.skipped``; duplicate clip ids are errors naming both rows. Warnings
    issued while a row is made (frame gaps, unreadable AU strings, order problems kept with
    ``on_order_error="warn"``) are recorded in ``ClipSet.warnings`` and passed on.
    """
    errors = RowErrors(on_error)
    clips, wheres, noted = [], [], []
    for where, item in items:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                clip = make(item)
        except Excluded as exc:
            errors.excluded(where, str(exc))
            continue
        except ValueError as exc:  # DataError, and AU / emotion strings the parsers reject
            errors.error(where, exc if isinstance(exc, DataError) else DataError(str(exc)))
            continue
        for w in caught:
            text = str(w.message)
            noted.append((where, text[len(where) + 2:] if text.startswith(f"{where}: ") else text))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        clips.append(clip)
        wheres.append(where)
    keep = check_unique([c.clip_id for c in clips], wheres, errors)
    errors.report(name)
    kept = {wheres[i] for i in keep}
    return ClipSet(name, scheme, [clips[i] for i in keep], dict(params or {}), errors.skipped,
                   [(w, m) for w, m in noted if w in kept])
