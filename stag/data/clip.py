"""The Clip schema: one micro-expression sample, as every adapter yields it.

A :class:`Clip` is what the rest of the package consumes. Real adapters fill ``loader`` and
leave ``frames`` empty, so frames are read from disk only when :meth:`Clip.load_frames` is
called; the synthetic generator and precomputed-flow adapters fill ``frames``/``flows``
directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stag.data.labels import LabelScheme


def subject_group(dataset, subject) -> np.ndarray:
    """The unit LOSO folds and every subject bootstrap are made of: ``"<dataset>/<subject>"``,
    so that subjects of different source datasets never merge.

    Args:
        dataset, subject: scalars, or equal-length sequences (lists, arrays, pandas Series).

    Returns:
        ``(n,)`` object array of keys (a 1-element array for scalars).
    """
    ds = np.atleast_1d(np.asarray(dataset, dtype=object))
    sub = np.atleast_1d(np.asarray(subject, dtype=object))
    if ds.shape != sub.shape:
        raise ValueError(f"subject_group: {len(ds)} datasets for {len(sub)} subjects")
    return np.array([f"{d}/{s}" for d, s in zip(ds, sub)], dtype=object)


@dataclass(eq=False)
class Clip:
    """One micro-expression clip.

    Attributes:
        clip_id: unique id within its :class:`ClipSet`, ``"{dataset}/{subject}/{name}"``.
        subject: normalised subject id (``"sub01"``, ``"006"``, ``"s01"``).
        dataset: source dataset name (``"casme2"``, ``"samm"``, ``"smic"``, ``"synthetic"``...).
        label: class id in the :class:`ClipSet`'s label scheme.
        label_name: class name in that scheme (``"negative"``).
        emotion: the dataset's own emotion string, as annotated (``"repression"``).
        frames: ``(T, H, W, 3)`` uint8 RGB frames, or ``None`` when read lazily / absent.
        flows: ``(K, C, H, W)`` float32 precomputed flow stack, or ``None``.
        landmarks: ``(T, 68, 2)`` float32 (x, y) pixel landmarks, or ``None``.
        onset, apex, offset: 0-based indices into ``frames`` (not the dataset's frame
            numbers), or ``None`` when not annotated.
        aus: active action units, sorted (``(4, 7)``): the AU targets of the annotation
            (:func:`stag.data.aus.parse_aus`); ``()`` when none or when unreadable.
        au_text: the annotation's AU string as written (``"(R6 or R12)+R15"``), if any.
        au_error: why ``au_text`` could not be read (then ``aus == ()`` means *unknown*, and
            :func:`stag.data.aus.au_targets` refuses the clip), else ``""``.
        au_coded: whether the clip was FACS coded at all: ``False`` for clips with no AU
            annotation (SMIC in the MEGC2019 composite), whose ``aus == ()`` means *unknown*;
            an AU loss skips them (not an error, unlike ``au_error``).
        fps: frame rate in frames per second, when known.
        frame_numbers: the dataset's own frame numbers of ``frames`` (e.g. ``46..86``).
        missing_frames: frame numbers absent from the folder inside the loaded range (a gap:
            ``(50,)`` when ``img50.jpg`` is missing from ``img46..img86``), sorted.
        truth: ground truth that only synthetic data has (``au_intensity``, ``au_masks``...).
        source: where the clip came from (folder or file path, annotation row) for errors.
        loader: zero-argument callable returning ``(T, H, W, 3)`` uint8 frames.
        fingerprint: identity of the frames when they are a deterministic function of known
            parameters (synthetic clips: generator version, config, subject, index); caches
            key on it instead of hashing the frames, so a warm cache never renders them.
            Empty for data read from disk, whose frames are hashed.
    """

    clip_id: str
    subject: str
    dataset: str
    label: int
    label_name: str
    emotion: str = ""
    frames: np.ndarray | None = field(default=None, repr=False)
    flows: np.ndarray | None = field(default=None, repr=False)
    landmarks: np.ndarray | None = field(default=None, repr=False)
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    aus: tuple[int, ...] = ()
    au_text: str = ""
    au_error: str = ""
    fps: float | None = None
    frame_numbers: np.ndarray | None = field(default=None, repr=False)
    missing_frames: tuple[int, ...] = field(default=(), repr=False)
    truth: dict[str, Any] = field(default_factory=dict, repr=False)
    source: str = ""
    loader: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    fingerprint: str = field(default="", repr=False)
    au_coded: bool = True

    def load_frames(self) -> np.ndarray:
        """Return the ``(T, H, W, 3)`` uint8 frames, reading them from disk if needed.

        Frames are not cached on the clip, so iterating a large dataset keeps only the
        clip being processed in memory.
        """
        if self.frames is not None:
            return self.frames
        if self.loader is None:
            raise ValueError(f"clip {self.clip_id!r} has no frames (source: {self.source or 'unknown'})")
        return self.loader()

    @property
    def has_frames(self) -> bool:
        return self.frames is not None or self.loader is not None


@dataclass
class ClipSet(Sequence[Clip]):
    """An ordered collection of clips sharing one label scheme.

    ``skipped`` lists ``(where, why)`` for every annotation row that was left out on purpose
    (a class the scheme excludes, or bad input when the adapter was asked to skip it), so
    nothing disappears silently. ``warnings`` lists ``(where, message)`` for rows that were
    kept with a problem (an unreadable AU string, a gap in the frame numbers, an
    inconsistent frame dropped with ``on_order_error="warn"``).
    """

    name: str
    scheme: LabelScheme
    clips: list[Clip]
    params: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        for i, clip in enumerate(self.clips):
            if clip.clip_id in seen:
                raise ValueError(
                    f"duplicate clip id {clip.clip_id!r} in dataset {self.name!r} "
                    f"(entries {seen[clip.clip_id]} and {i}; sources: "
                    f"{self.clips[seen[clip.clip_id]].source!r} and {clip.source!r})"
                )
            seen[clip.clip_id] = i

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return ClipSet(self.name, self.scheme, self.clips[i], dict(self.params))
        return self.clips[i]

    def __iter__(self) -> Iterator[Clip]:
        return iter(self.clips)

    @property
    def labels(self) -> np.ndarray:
        """``(n,)`` int64 class ids."""
        return np.array([c.label for c in self.clips], dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        """``(n,)`` subject ids, prefixed by dataset when several datasets are mixed."""
        return subject_group([c.dataset for c in self.clips], [c.subject for c in self.clips])

    def subset(self, indices: Sequence[int]) -> ClipSet:
        return ClipSet(self.name, self.scheme, [self.clips[i] for i in indices], dict(self.params))

    def summary(self, by: str = "class"):
        """Clip counts as a :class:`pandas.DataFrame`.

        ``by="class"``: rows = dataset, columns = classes. ``by="subject"``: rows =
        (dataset, subject), columns = classes. Both with a ``total`` column.
        """
        if not self.clips:
            return pd.DataFrame(columns=[*self.scheme.classes, "total"])
        df = pd.DataFrame({
            "dataset": [c.dataset for c in self.clips],
            "subject": [c.subject for c in self.clips],
            "class": pd.Categorical([c.label_name for c in self.clips], categories=self.scheme.classes),
        })
        keys = {"class": ["dataset"], "subject": ["dataset", "subject"], "dataset": ["dataset"]}
        if by not in keys:
            raise ValueError(f"by={by!r}: expected one of {sorted(keys)}")
        table = pd.crosstab([df[k] for k in keys[by]], df["class"], dropna=False)
        table = table.reindex(columns=list(self.scheme.classes), fill_value=0)
        table["total"] = table.sum(axis=1)
        # crosstab keeps every category combination; a subject of another dataset is not a row here.
        return table[table["total"] > 0]
