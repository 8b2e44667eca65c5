"""Evaluation protocols: which clips train and which test, fold by fold.

Every splitter yields ``(fold_name, train_idx, test_idx)`` like a scikit-learn splitter, from
per-clip ``groups`` (subject ids, prefixed by dataset so ``casme2/sub01`` and ``smic/s01``
never collide), ``labels`` and ``datasets``. A protocol that promises subject-independent
folds (LOSO, GroupKFold, cross-dataset) checks every fold it yields and raises if a subject
appears on both sides; StratifiedKFold works at clip level, so subjects do leak, and it
says so with a :class:`LeakageWarning` every time it splits.

Also here: :func:`inner_validation_split`, the only way the training loop picks an epoch
without looking at the test fold (a held-out set of *training* subjects).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

Split = tuple[str, np.ndarray, np.ndarray]

PROTOCOLS = ("loso", "group_kfold", "stratified_kfold", "cross_dataset", "lodo")
_ALIASES = {
    "loso": "loso", "logo": "loso",
    "group_kfold": "group_kfold", "groupkfold": "group_kfold", "gkf": "group_kfold",
    "stratified_kfold": "stratified_kfold", "stratifiedkfold": "stratified_kfold", "skf": "stratified_kfold",
    "cross_dataset": "cross_dataset", "crossdataset": "cross_dataset", "cross": "cross_dataset",
    "lodo": "lodo", "leave_one_dataset_out": "lodo",
}


class LeakageWarning(UserWarning):
    """A protocol puts clips of the same subject in training and test folds."""


def _as_arrays(groups, labels=None, datasets=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    groups = np.asarray(groups, dtype=object)
    n = len(groups)
    labels = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels)
    datasets = np.full(n, "", dtype=object) if datasets is None else np.asarray(datasets, dtype=object)
    if len(labels) != n or len(datasets) != n:
        raise ValueError(f"groups, labels and datasets must have the same length; got {n}, {len(labels)}, {len(datasets)}")
    if n == 0:
        raise ValueError("cannot split an empty dataset (0 clips)")
    return groups, labels, datasets


def check_disjoint(groups: Sequence, train_idx: np.ndarray, test_idx: np.ndarray, where: str = "") -> None:
    """Raise ``AssertionError`` if a subject has clips on both sides of a split."""
    groups = np.asarray(groups, dtype=object)
    both = set(groups[train_idx]) & set(groups[test_idx])
    if both:
        raise AssertionError(f"{where or 'split'}: subject(s) {sorted(both)[:5]} on both the training and test side")


@dataclass(frozen=True)
class Protocol:
    """Base: a named splitter. ``subject_disjoint`` says what the protocol promises."""

    name: str = ""
    subject_disjoint: bool = True

    def split(self, groups, labels=None, datasets=None) -> Iterator[Split]:
        groups, labels, datasets = _as_arrays(groups, labels, datasets)
        for fold, train_idx, test_idx in self._split(groups, labels, datasets):
            if len(train_idx) == 0 or len(test_idx) == 0:
                raise ValueError(f"protocol {self.name!r}, fold {fold!r}: empty training or test side")
            if self.subject_disjoint:
                check_disjoint(groups, train_idx, test_idx, f"protocol {self.name!r}, fold {fold!r}")
            yield fold, np.sort(train_idx), np.sort(test_idx)

    def _split(self, groups, labels, datasets) -> Iterator[Split]:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LOSO(Protocol):
    """Leave one subject out: one fold per subject, named after it."""

    name: str = "loso"

    def _split(self, groups, labels, datasets):
        subjects = sorted(set(groups))
        if len(subjects) < 2:
            raise ValueError(f"LOSO needs at least 2 subjects; got {len(subjects)}")
        for s in subjects:
            test = groups == s
            yield str(s), np.flatnonzero(~test), np.flatnonzero(test)


@dataclass(frozen=True)
class GroupKFold(Protocol):
    """``n_splits`` folds with whole subjects on each side (subjects shuffled by ``random_state``,
    then dealt to the folds so clip counts stay balanced, like scikit-learn's GroupKFold)."""

    name: str = "group_kfold"
    n_splits: int = 5
    random_state: int = 0

    def _split(self, groups, labels, datasets):
        subjects = sorted(set(groups))
        if not 2 <= self.n_splits <= len(subjects):
            raise ValueError(f"GroupKFold: n_splits={self.n_splits} must be in [2, number of subjects={len(subjects)}]")
        rng = np.random.default_rng(self.random_state)
        order = [subjects[i] for i in rng.permutation(len(subjects))]
        sizes = {s: int(np.sum(groups == s)) for s in subjects}
        # Largest subjects first, each to the currently lightest fold (stable for ties).
        order.sort(key=lambda s: -sizes[s])
        load = np.zeros(self.n_splits, dtype=np.int64)
        fold_of = {}
        for s in order:
            f = int(np.argmin(load))
            fold_of[s] = f
            load[f] += sizes[s]
        fold_ids = np.array([fold_of[g] for g in groups])
        for f in range(self.n_splits):
            test = fold_ids == f
            yield f"fold{f:02d}", np.flatnonzero(~test), np.flatnonzero(test)


@dataclass(frozen=True)
class StratifiedKFold(Protocol):
    """Clip-level stratified folds. Subjects appear on both sides (optimistic numbers):
    every split warns with :class:`LeakageWarning`."""

    name: str = "stratified_kfold"
    subject_disjoint: bool = False
    n_splits: int = 5
    random_state: int = 0

    def _split(self, groups, labels, datasets):
        # lazy: sklearn is slow to import (python -X importtime); only this function needs it
        from sklearn.model_selection import StratifiedKFold as _SKF

        warnings.warn(
            "stratified_kfold splits clips, not subjects: the same person is in training and test "
            "folds, so its scores are optimistic and not comparable with LOSO.",
            LeakageWarning, stacklevel=3,
        )
        if self.n_splits < 2 or self.n_splits > len(labels):
            raise ValueError(f"StratifiedKFold: n_splits={self.n_splits} must be in [2, number of clips={len(labels)}]")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            skf = _SKF(n_splits=self.n_splits, shuffle=True,
                       random_state=self.random_state)
            for f, (tr, te) in enumerate(skf.split(np.zeros(len(labels)), labels)):
                yield f"fold{f:02d}", tr, te


@dataclass(frozen=True)
class CrossDataset(Protocol):
    """Train on one dataset, test on another. ``pairs`` lists ``(train, test)`` dataset names;
    empty means every ordered pair of the datasets present. Folds are named ``"A->B"``."""

    name: str = "cross_dataset"
    pairs: tuple[tuple[str, str], ...] = ()

    def _split(self, groups, labels, datasets):
        present = sorted(set(datasets))
        pairs = self.pairs or tuple((a, b) for a in present for b in present if a != b)
        if not pairs:
            raise ValueError(f"cross_dataset needs at least two datasets; found {present}")
        for a, b in pairs:
            for d in (a, b):
                if d not in present:
                    raise ValueError(f"cross_dataset: dataset {d!r} is not in the data; present: {present}")
            if a == b:
                raise ValueError(f"cross_dataset: training and test dataset are the same ({a!r})")
            yield f"{a}->{b}", np.flatnonzero(datasets == a), np.flatnonzero(datasets == b)


@dataclass(frozen=True)
class LeaveOneDatasetOut(Protocol):
    """Train on every dataset but one, test on the one left out: one fold per dataset, named
    ``"A+B->C"``. With the MEGC2019 composite: two sources in training, the third unseen."""

    name: str = "lodo"

    def _split(self, groups, labels, datasets):
        present = sorted(set(datasets))
        if len(present) < 2:
            raise ValueError(f"lodo needs at least two datasets; found {present}")
        for test in present:
            train = [d for d in present if d != test]
            yield f"{'+'.join(train)}->{test}", np.flatnonzero(datasets != test), np.flatnonzero(datasets == test)


@dataclass(frozen=True)
class LastSubjectsOut(Protocol):
    """One fold: the last ``n_test`` subjects (sorted ids) test, the others train. The
    architecture chapters' fixed held-out split (:func:`stag.train.experiment.holdout_split`)."""

    name: str = "last_subjects_out"
    n_test: int = 1

    def _split(self, groups, labels, datasets):
        subjects = sorted(set(groups))
        if not 1 <= self.n_test < len(subjects):
            raise ValueError(f"test_subjects={self.n_test}: expected 1..{len(subjects) - 1} "
                             f"({len(subjects)} subjects in the data)")
        test = np.isin(groups, subjects[-self.n_test:])
        yield "holdout", np.flatnonzero(~test), np.flatnonzero(test)


def get_protocol(spec: str | Protocol, *, n_splits: int = 5, random_state: int = 0) -> Protocol:
    """Build a protocol from its name.

    ``spec`` is ``"loso"``, ``"group_kfold"``, ``"stratified_kfold"``, ``"cross_dataset"``
    (every ordered pair), ``"cross_dataset:A->B[,C->D]"`` (``"cross:casme2->samm"`` too) or
    ``"lodo"`` (leave one dataset out).
    A :class:`Protocol` passes through.
    """
    if isinstance(spec, Protocol):
        return spec
    text = str(spec).strip()
    head, _, rest = text.partition(":")
    key = _ALIASES.get(head.strip().lower().replace("-", "_"))
    if key is None:
        raise ValueError(f"unknown protocol {spec!r}; expected one of {', '.join(PROTOCOLS)} "
                         "(or 'cross_dataset:TRAIN->TEST')")
    if rest and key != "cross_dataset":
        raise ValueError(f"protocol {spec!r}: only cross_dataset takes ':TRAIN->TEST'")
    if key == "loso":
        return LOSO()
    if key == "group_kfold":
        return GroupKFold(n_splits=n_splits, random_state=random_state)
    if key == "stratified_kfold":
        return StratifiedKFold(n_splits=n_splits, random_state=random_state)
    if key == "lodo":
        return LeaveOneDatasetOut()
    pairs = []
    for item in filter(None, (p.strip() for p in rest.split(","))):
        a, arrow, b = item.partition("->")
        if not arrow or not a.strip() or not b.strip():
            raise ValueError(f"protocol {spec!r}: expected 'TRAIN->TEST' pairs, got {item!r}")
        pairs.append((a.strip(), b.strip()))
    return CrossDataset(pairs=tuple(pairs))


def protocol_from_description(description: dict) -> Protocol:
    """The protocol that :meth:`Protocol.describe` described (as a run's ``results.json``
    records it), e.g. ``{"name": "cross_dataset", "pairs": [["casme2", "samm"]], ...}``.

    Raises:
        ValueError: the name is not a protocol, or a field is not one of its fields.
    """
    classes = {c.name: c for c in (LOSO, GroupKFold, StratifiedKFold, CrossDataset, LeaveOneDatasetOut,
                                   LastSubjectsOut)}
    d = dict(description)
    cls = classes.get(d.get("name"))
    if cls is None:
        raise ValueError(f"protocol description {description!r}: unknown name; expected one of {', '.join(classes)}")
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(d) - fields)
    if unknown:
        raise ValueError(f"protocol description {description!r}: {cls.__name__} has no field(s) {unknown}")
    if "pairs" in d:
        d["pairs"] = tuple(tuple(p) for p in d["pairs"])
    return cls(**d)


def inner_validation_split(train_idx: np.ndarray, groups: Sequence, labels: Sequence | None = None, *,
                           fraction: float = 0.2, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole *training* subjects for model selection.

    Args:
        train_idx: indices of the fold's training clips (the test fold is never passed in).
        groups: per-clip subject ids of the whole dataset.
        labels: per-clip labels; when given, the held-out subjects are drawn again (up to 20
            tries) until the validation side holds at least two classes.
        fraction: share of training subjects to hold out (at least one, at most all but one).
        random_state: seed of the draw.

    Returns:
        ``(fit_idx, val_idx)``, disjoint by subject, both subsets of ``train_idx``.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"inner validation fraction={fraction} must be in (0, 1)")
    train_idx = np.asarray(train_idx)
    groups = np.asarray(groups, dtype=object)
    subjects = sorted(set(groups[train_idx]))
    if len(subjects) < 2:
        raise ValueError(f"inner validation needs at least 2 training subjects; got {len(subjects)}")
    n_val = min(len(subjects) - 1, max(1, round(fraction * len(subjects))))
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(20):
        val_subjects = set(rng.choice(np.array(subjects, dtype=object), size=n_val, replace=False))
        is_val = np.array([g in val_subjects for g in groups[train_idx]])
        best = is_val
        if labels is None or len(set(np.asarray(labels)[train_idx[is_val]])) >= 2:
            break
    fit_idx, val_idx = train_idx[~best], train_idx[best]
    check_disjoint(groups, fit_idx, val_idx, "inner validation split")
    return fit_idx, val_idx
