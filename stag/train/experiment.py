"""Load a dataset and prepare it (through the cache): the shared first step of ``stag train``,
the training chapter and the ``train`` benchmark; and the subject hold-out that the
architecture chapters share (:func:`chapter_setup`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stag.data import available, load
from stag.data.params import loader_params
from stag.faces import au_prior_adjacency
from stag.preprocess.flow import DEFAULT_FLOW
from stag.preprocess.pipeline import PrepareConfig, prepare_dataset
from stag.train.dataset import collate
from stag.train.protocols import LastSubjectsOut


@dataclass
class PreparedData:
    """Prepared clips plus what training needs to know about their label scheme."""

    prepared: list
    class_names: tuple[str, ...]
    name: str
    clipset: object = None
    prepare_seconds: float = 0.0
    load_seconds: float = 0.0
    registration: dict | None = None  # the fitted flow -> face transforms (None: nothing registered)

    def describe(self) -> str:
        """One line: clips, subjects, classes, the flow stack's shape ``(K, C, H, W)``, and the
        seconds spent loading and preparing."""
        subjects = {(p.dataset, p.subject) for p in self.prepared}
        shape = tuple(self.prepared[0].flows.shape) if self.prepared else ()
        return (f"{len(self.prepared)} clips, {len(subjects)} subjects, classes {self.class_names}; "
                f"flow stack {shape}; loaded in {self.load_seconds:.1f} s, prepared in {self.prepare_seconds:.1f} s")


def load_and_prepare(dataset: str = "synthetic", *, data_root: str | Path | None = None,
                     annotations: str | Path | None = None, prepare_config=None,
                     cache_dir: str | Path | None = None, jobs: int = 2, progress: bool = True,
                     data_params: dict | None = None) -> PreparedData:
    """``stag.data.load`` then ``stag.preprocess.pipeline.prepare_dataset`` (cached).

    Args:
        dataset: a name from :func:`stag.data.available`.
        data_root, annotations: passed to loaders that take them (``synthetic`` does not).
        prepare_config: a :class:`~stag.preprocess.pipeline.PrepareConfig`.
        cache_dir: preprocessing cache folder (``None``: no cache).
        jobs: preprocessing worker processes.
        data_params: other loader parameters (``n_subjects``, ``dataset_name``, ``seed``...).

    Raises:
        ValueError: unknown dataset, or a required parameter (the data root) is missing.
        FileNotFoundError: the data root does not exist.
    """
    if dataset not in available():
        raise ValueError(f"unknown dataset {dataset!r}; available: {', '.join(available())}")
    if data_root not in (None, "") and not Path(data_root).exists():
        raise FileNotFoundError(f"--data-root {data_root}: no such folder (dataset {dataset!r})")
    params = loader_params(dataset, str(data_root) if data_root else None,
                           str(annotations) if annotations else None, extra=data_params)
    if dataset == "synthetic":
        # Frames are rendered only for clips the preprocessing cache does not hold yet.
        params.setdefault("lazy", True)
    t0 = time.perf_counter()
    clipset = load(dataset, **params)
    t1 = time.perf_counter()
    if len(clipset) == 0:
        raise ValueError(f"dataset {dataset!r} ({params}) has no clips")
    stats: dict = {}
    prepared = prepare_dataset(clipset, prepare_config or PrepareConfig(), cache_dir=cache_dir, jobs=jobs,
                               progress=progress, stats=stats)
    return PreparedData(prepared=prepared, class_names=tuple(clipset.scheme.classes), name=clipset.name,
                        clipset=clipset, load_seconds=t1 - t0, prepare_seconds=time.perf_counter() - t1,
                        registration=stats.get("registration") or None)


def cross_domain_data(data: PreparedData, *, prepare_config=None, cache_dir: str | Path | None = None,
                      jobs: int = 2, n_subjects: int = 6, clips_per_subject: int = 12, seed: int = 0,
                      lab: str = "b") -> list:
    """Prepared clips of at least two domains for the ``cross_dataset`` protocol.

    A composite (clips of several source datasets) is returned as it is: its datasets are the
    domains. Synthetic data gets a second domain: ``n_subjects`` new subjects recorded in
    another lab (``lab``, see :data:`stag.data.synthetic.LABS`: other face shapes, frame rate,
    camera gain, noise and resolution) with seed ``seed + 1000``, named ``synthetic_lab_<lab>``,
    prepared with ``prepare_config`` through the cache. Any other single dataset has no second domain:
    the result is empty (no cross-dataset pair to train).
    """
    if len({p.dataset for p in data.prepared}) > 1:
        return list(data.prepared)
    if not data.name.startswith("synthetic"):
        return []
    other = load_and_prepare("synthetic", prepare_config=prepare_config, cache_dir=cache_dir, jobs=jobs,
                             progress=False,
                             data_params={"n_subjects": n_subjects, "clips_per_subject": clips_per_subject,
                                          "seed": seed + 1000, "lab": lab, "dataset_name": f"synthetic_lab_{lab}",
                                          "jobs": jobs})
    return list(data.prepared) + list(other.prepared)


@dataclass
class HoldOut:
    """A subject-disjoint split for the architecture chapters' demonstrations.

    Attributes:
        held_out: the held-out subject ids.
        train_clips, test_clips: the :class:`~stag.preprocess.prepared.Prepared` clips of each side.
        train, test: the same clips collated into model batches (:func:`stag.train.dataset.collate`).
    """

    held_out: list[str]
    train_clips: list
    test_clips: list
    train: dict
    test: dict


def holdout_split(prepared: list, test_subjects: int) -> HoldOut:
    """Hold out the last ``test_subjects`` subjects (sorted ids); train on the others.

    Raises:
        ValueError: ``test_subjects`` is not between 1 and the number of subjects - 1.
    """
    groups = np.array([p.subject for p in prepared], dtype=object)
    _, train_idx, test_idx = next(LastSubjectsOut(n_test=test_subjects).split(groups))
    train_clips, test_clips = [prepared[i] for i in train_idx], [prepared[i] for i in test_idx]
    held_out = sorted({p.subject for p in test_clips})
    return HoldOut(held_out, train_clips, test_clips, collate(train_clips), collate(test_clips))


@dataclass
class ChapterData(HoldOut):
    """:class:`HoldOut` plus what the architecture chapters share.

    Attributes:
        prepared: every prepared clip (both sides of the split).
        class_names: the label scheme's classes.
        prior: ``(N, N)`` AU co-occurrence prior between the ROIs
            (:func:`stag.faces.au_prior_adjacency`).
    """

    prepared: list = None
    class_names: tuple[str, ...] = ()
    prior: object = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def chapter_setup(*, seed: int = 0, n_subjects: int = 10, clips_per_subject: int = 8, image_size: int = 64,
                  keyframes: int = 8, flow_method: str = DEFAULT_FLOW, test_subjects: int = 2,
                  cache_dir: str | Path | None = None, jobs: int = 2) -> ChapterData:
    """The synthetic subset and subject hold-out of the architecture chapters (graph,
    temporal, cross-attention), prepared through the cache so the chapters share it.

    Args:
        seed: seed of the synthetic data.
        n_subjects, clips_per_subject, image_size: size of the synthetic set (pixels).
        keyframes, flow_method: :class:`~stag.preprocess.pipeline.PrepareConfig` fields.
        test_subjects: subjects held out (:func:`holdout_split`).
        cache_dir: preprocessing cache folder (``None``: no cache).
        jobs: preprocessing worker processes.
    """
    data = load_and_prepare("synthetic", prepare_config=PrepareConfig(image_size=image_size, keyframes=keyframes,
                                                                      flow_method=flow_method),
                            cache_dir=cache_dir, jobs=jobs, progress=False,
                            data_params=dict(n_subjects=n_subjects, clips_per_subject=clips_per_subject,
                                             image_size=image_size, seed=seed))
    split = holdout_split(data.prepared, test_subjects)
    return ChapterData(split.held_out, split.train_clips, split.test_clips, split.train, split.test,
                       prepared=data.prepared, class_names=data.class_names, prior=au_prior_adjacency())


def forward_details(model, batch: dict):
    """``model.forward_details`` on a collated batch, in eval mode and without gradients:
    the attention maps, adjacency and gates the chapters plot
    (:class:`~stag.models.output.ModelOutput`, detached)."""
    model.eval()
    with torch.no_grad():
        return model.forward_details(batch["flows"], batch["rois"], batch["key_mask"], batch["magnitudes"]).detach()


@dataclass
class TrainingSetup:
    """What the training chapters (06) and the interpretability chapter (07) share: the data,
    the configs built from their parameters, and the folder their runs are cached under.

    Attributes:
        data: the loaded and prepared clips (:class:`PreparedData`).
        prepare_config, train_config: the :class:`~stag.preprocess.pipeline.PrepareConfig` and
            :class:`~stag.train.config.TrainConfig` the parameters map onto.
        data_params: the loader parameters used (the synthetic set's size and seed).
        runs_root: ``cache_dir/runs/06_honest_evaluation``, where chapter 6 trains and chapter 9
            finds the same folds.
    """

    data: PreparedData
    prepare_config: object
    train_config: object
    data_params: dict
    runs_root: Path


def training_setup(*, dataset: str = "synthetic", data_root: str = "", annotations: str = "", seed: int = 0,
                   epochs: int = 30, batch_size: int = 32, lr: float = 1e-3, device: str = "auto",
                   cache_dir: str | Path = ".stag-cache", n_subjects: int = 20, clips_per_subject: int = 12,
                   image_size: int = 128, output_size: int | None = 64, keyframes: int = 4,
                   flow_method: str = DEFAULT_FLOW, landmarks: str = "detect", jobs: int = 2) -> TrainingSetup:
    """Chapters 6 and 7's data and configs from their papermill parameters (the same names),
    loaded and prepared through the cache, so chapter 9 reuses chapter 6's folds exactly.

    ``n_subjects`` and ``clips_per_subject`` apply to the synthetic set only; ``data_root``
    and ``annotations`` to real datasets (empty: not given).
    """
    from stag.train.config import TrainConfig

    data_params = {"n_subjects": n_subjects, "clips_per_subject": clips_per_subject, "seed": seed,
                   "jobs": jobs} if dataset == "synthetic" else {}
    prepare_config = PrepareConfig(image_size=image_size, output_size=output_size or None, keyframes=keyframes,
                                   flow_method=flow_method, landmarks=landmarks)
    train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device)
    data = load_and_prepare(dataset, data_root=data_root or None, annotations=annotations or None,
                            prepare_config=prepare_config, cache_dir=cache_dir, jobs=jobs, progress=False,
                            data_params=data_params)
    return TrainingSetup(data, prepare_config, train_config, data_params, Path(cache_dir) / "runs" / "06_honest_evaluation")
