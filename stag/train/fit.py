"""A fixed-schedule fit on training clips, cached on disk: the training path of the
architecture chapters.

The graph, temporal and fusion chapters need a model that has seen data, so that its
adjacency and attention mean something; they do not need a protocol
(:func:`stag.train.run_protocol`, which owns honest evaluation). :func:`fit` trains one
model on training clips with :func:`stag.train.loop.train_fold`, the loop of every
protocol run, so ``epochs`` and every other :class:`~stag.train.config.TrainConfig` field
mean the same thing in a chapter as in ``stag train``. :func:`fit_or_load` (and :func:`fit_cached`, which also says whether it loaded) caches the
weights under a key that hashes everything the weights depend on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from stag.device import resolve_device
from stag.files import atomic_write
from stag.train.config import TrainConfig, stable_hash
from stag.train.loop import predict_proba, train_fold
from stag.train.metrics import scores
from stag.train.run import ModelSpec, data_fingerprint, pack_prepared

CACHE_FOLDER = "fit"


def prepared_fingerprint(prepared: Sequence) -> str:
    """Hash of the prepared clips' arrays, labels, AUs and ids: the ``data`` fingerprint that
    :func:`stag.train.run_protocol` records for the same clips."""
    return data_fingerprint(pack_prepared(list(prepared)))


def fit_key(model_name: str, train_prepared: Sequence, config: TrainConfig, **build_kwargs) -> str:
    """Cache key of :func:`fit_or_load`: a stable hash of the model name, its build arguments
    (arrays by content), the whole :class:`TrainConfig`, the device it resolves to, the torch
    version and the training clips' fingerprint."""
    spec = ModelSpec(model_name, dict(build_kwargs)).describe()
    return stable_hash({"model": spec["name"], "kwargs": spec["kwargs"], "config": config.to_dict(),
                        "device": resolve_device(config.device).type, "torch": torch.__version__,
                        "data": prepared_fingerprint(train_prepared)}, length=20)


def fit(model_name: str, train_prepared: Sequence, config: TrainConfig, **build_kwargs) -> tuple[nn.Module, list[dict]]:
    """Build registry model ``model_name`` and train it on ``train_prepared`` for the fixed
    schedule of ``config`` (no test data is seen).

    Args:
        model_name: a name from :func:`stag.models.list_models`.
        train_prepared: :class:`~stag.preprocess.prepared.Prepared` training clips.
        config: the schedule; ``selection`` must be ``"last"`` or ``"inner_val"`` (an inner
            split of the training subjects). ``threads`` sets torch's CPU threads while
            training and is restored afterwards (``None``: leave as is).
        **build_kwargs: arguments of :func:`stag.models.build` (``num_classes`` is required;
            ``prior``, ``dim``...).

    Returns:
        ``(model in eval mode on the CPU, history)``, with ``history`` one dict per epoch
        (``epoch``, ``lr``, ``train_loss``; see :class:`~stag.train.loop.FoldOutput`).

    Raises:
        ValueError: no training clips, ``num_classes`` missing, or ``selection="oracle"``.
    """
    train_prepared = list(train_prepared)
    if not train_prepared:
        raise ValueError(f"fit({model_name!r}): no training clips")
    if "num_classes" not in build_kwargs:
        raise ValueError(f"fit({model_name!r}): pass num_classes=... (an argument of stag.models.build)")
    if config.is_oracle:
        raise ValueError("fit: selection='oracle' needs a test fold; use 'last' or 'inner_val'")
    spec = ModelSpec(model_name, dict(build_kwargs))
    # train_fold predicts a test set; one training clip stands in, and its prediction is dropped.
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        out = train_fold(spec.build, train_prepared, train_prepared[:1], config,
                         num_classes=int(build_kwargs["num_classes"]))
    finally:
        torch.set_num_threads(threads)
    model = spec.build()
    model.load_state_dict(out.state_dict)
    return model.eval(), out.history


@dataclass(frozen=True)
class CachedFit:
    """What :func:`fit_cached` returns: the model (eval mode, CPU), its per-epoch history, its
    :func:`fit_key` and whether it was read back from the cache rather than trained."""

    model: nn.Module
    history: list[dict]
    key: str
    loaded: bool


def fit_cached(model_name: str, train_prepared: Sequence, config: TrainConfig, *,
               cache_dir: str | Path | None, **build_kwargs) -> CachedFit:
    """:func:`fit`, or load its result from ``cache_dir/fit/<model_name>-<key>.pt``.

    The key is :func:`fit_key`: a changed model, build argument, config field or training
    clip gives a new file, and the other entries stay.

    Args:
        cache_dir: cache folder (``None``: always train, write nothing).
        model_name, train_prepared, config, **build_kwargs: see :func:`fit`.
    """
    key = fit_key(model_name, train_prepared, config, **build_kwargs)
    path = None if cache_dir is None else Path(cache_dir) / CACHE_FOLDER / f"{model_name}-{key}.pt"
    if path is not None and path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = ModelSpec(model_name, dict(build_kwargs)).build()
        model.load_state_dict(saved["state_dict"])
        return CachedFit(model.eval(), list(saved["history"]), key, loaded=True)
    model, history = fit(model_name, train_prepared, config, **build_kwargs)
    if path is not None:
        saved = {"state_dict": model.state_dict(), "history": history, "model": model_name, "key": key,
                 "train_config": config.to_dict()}
        atomic_write(path, lambda p: torch.save(saved, p))
    return CachedFit(model, history, key, loaded=False)


def fit_or_load(model_name: str, train_prepared: Sequence, config: TrainConfig, *,
                cache_dir: str | Path | None, **build_kwargs) -> tuple[nn.Module, list[dict]]:
    """:func:`fit_cached`, as ``(model in eval mode on the CPU, per-epoch history)``."""
    done = fit_cached(model_name, train_prepared, config, cache_dir=cache_dir, **build_kwargs)
    return done.model, done.history


def evaluate(model: nn.Module, batch: dict, num_classes: int | None = None) -> dict[str, float]:
    """UF1, UAR and accuracy (:func:`stag.train.metrics.scores`) of ``model`` on a collated
    batch (:func:`stag.train.dataset.collate`), on the CPU.

    Args:
        num_classes: classes of the label scheme (default: the model's logits width).
    """
    probs = predict_proba(model, batch, torch.device("cpu"))
    return scores(batch["label"].numpy(), probs.argmax(1), probs.shape[1] if num_classes is None else num_classes)


__all__ = ["fit", "fit_cached", "CachedFit", "fit_or_load", "fit_key", "prepared_fingerprint", "evaluate"]
