"""Synthetic pretraining for composite models: a start that has seen motion over time.

The two-phase composite (``megc2019_phases``) gives 442 real clips; a model that should learn
from two phases (onset->apex, apex->offset) has little to learn them from. The synthetic set
(:mod:`stag.data.synthetic`) has no such limit and carries the same classes, so a model can
first be trained on synthetic clips *rendered into the composite's own representation*
(``PrepareConfig(representation="composite")``: the same phases, 28x28 images, per-channel
min-max scaling, the same channel order; :mod:`stag.preprocess.composite`), then trained on
each LOSO fold from those weights. No real clip is seen by pretraining, so it cannot leak a
test subject; it is one more fixed step of the recipe, run by :func:`pretrain` (cached) and
shipped as ``stag pretrain`` and ``stag train --pretrain synthetic``.

The pretrained start enters a run's identity through :class:`~stag.train.run.ModelSpec`
(``init_info``: this configuration and the cache key of the pretraining fit, which hashes the
model, the recipe and the synthetic clips), so a pretrained run and one trained from scratch
never share a folder or a cache entry, and a record says how its start was made (``stag
train`` also records the weights' digest in ``results.json``'s ``pretrain`` block).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from stag.train.config import TrainConfig
from stag.train.run import ModelSpec

#: Where pretraining can come from (``stag train --pretrain``).
PRETRAIN_SOURCES = ("none", "synthetic")


@dataclass(frozen=True)
class PretrainConfig:
    """Synthetic pretraining, fixed once for every model and dataset.

    Attributes:
        n_subjects, clips_per_subject: size of the synthetic pretraining set (40 x 12 = 480
            clips, about the composite's 442).
        difficulty: the generator's difficulty (its calibrated default, 0.2).
        data_seed: seed of the synthetic set (the same set for every run seed).
        epochs: training epochs on it (the recipe of the LOSO folds, 30).
        apex: ``"annotated"`` (the generator's true apex, as the composite's providers used
            the annotated apex) or ``"spotted"``.
    """

    n_subjects: int = 40
    clips_per_subject: int = 12
    difficulty: float = 0.2
    data_seed: int = 0
    epochs: int = 30
    apex: str = "annotated"

    def __post_init__(self) -> None:
        for name in ("n_subjects", "clips_per_subject", "epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "n_subjects" else 1):
                raise ValueError(f"PretrainConfig.{name}={v!r}: expected an integer >= "
                                 f"{2 if name == 'n_subjects' else 1}")
        if not 0 <= self.difficulty <= 1:
            raise ValueError(f"PretrainConfig.difficulty={self.difficulty!r}: expected 0..1")
        if self.apex not in ("annotated", "spotted"):
            raise ValueError(f"PretrainConfig.apex={self.apex!r}: expected 'annotated' or 'spotted'")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Pretrained:
    """The result of :func:`pretrain`: the weights, the data they saw and what they cost."""

    state_dict: dict
    config: PretrainConfig
    key: str
    n_clips: int
    history: list
    prepare_seconds: float
    train_seconds: float
    #: The weights came from the cache (``train_seconds`` is then a load, not a training).
    loaded: bool = False

    @property
    def info(self) -> dict:
        """What :class:`~stag.train.run.ModelSpec` records of it (``init_info``)."""
        return {"pretrain": "synthetic", **self.config.to_dict(), "n_clips": self.n_clips, "key": self.key}


def composite_model_spec(model: str, train: TrainConfig) -> ModelSpec:
    """The model ``stag train`` builds for the composite (three classes, three channels, the
    ROI table and its AU prior), so a pretraining made without the data shares its cache entry."""
    from stag.data.labels import get_scheme
    from stag.data.synthetic import SCHEME
    from stag.faces import ROI_TABLE
    from stag.train.run import model_spec

    return model_spec(model, [], len(get_scheme(SCHEME).classes), train,
                      model_kwargs={"in_channels": 3, "num_rois": len(ROI_TABLE)})


def pretraining_data(keyframes: int, output_size: int, config: PretrainConfig, *, cache_dir=None,
                     jobs: int = 2) -> list:
    """The synthetic pretraining clips in the composite's representation, prepared (cached):
    ``keyframes`` phases at ``output_size`` pixels, as the target data's stack."""
    # lazy: the preprocessing stack loads only when pretraining runs
    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.experiment import load_and_prepare

    prep = PrepareConfig(representation="composite", keyframes=keyframes, output_size=output_size,
                         landmarks="given", apex=config.apex)
    data = load_and_prepare("synthetic", prepare_config=prep, cache_dir=cache_dir, jobs=jobs, progress=False,
                            data_params={"n_subjects": config.n_subjects,
                                         "clips_per_subject": config.clips_per_subject,
                                         "difficulty": config.difficulty, "seed": config.data_seed})
    return data.prepared


def pretrain(spec: ModelSpec, keyframes: int, output_size: int, train: TrainConfig, config: PretrainConfig, *,
             cache_dir: str | Path | None = None, jobs: int = 2) -> Pretrained:
    """Train ``spec``'s model on the synthetic composite for ``config.epochs`` (seed
    ``train.seed``), with the recipe ``train`` (last epoch kept; one thread, so the weights
    do not depend on the machine's cores), cached under ``cache_dir``
    (:func:`stag.train.fit.fit_cached`).
    """
    # lazy: fit pulls in the training loop
    from stag.train.fit import fit_cached

    start = time.perf_counter()
    prepared = pretraining_data(keyframes, output_size, config, cache_dir=cache_dir, jobs=jobs)
    prepared_s = time.perf_counter() - start
    recipe = replace(train, epochs=config.epochs, selection="last", average_last=1, patience=None, threads=1)
    done = fit_cached(spec.name, prepared, recipe, cache_dir=cache_dir, **spec.kwargs)
    return Pretrained(done.model.state_dict(), config, done.key, len(prepared), done.history, prepared_s,
                      time.perf_counter() - start - prepared_s, done.loaded)


def with_pretraining(spec: ModelSpec, prepared, train: TrainConfig, config: PretrainConfig, *,
                     cache_dir: str | Path | None = None, jobs: int = 2) -> tuple[ModelSpec, Pretrained]:
    """``spec`` starting from synthetic pretraining matched to ``prepared``'s stack
    (its keyframes and side)."""
    k, _, _, side = prepared[0].flows.shape
    done = pretrain(spec, int(k), int(side), train, config, cache_dir=cache_dir, jobs=jobs)
    return replace(spec, init=done.state_dict, init_info=done.info), done
