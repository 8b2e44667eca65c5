"""A small, cached training helper for the architecture chapters and smoke tests.

The chapters on the graph, temporal and fusion parts need a model that has seen data, so
that its adjacency and attention mean something; they do not need the full protocol
(:func:`stag.train.run_protocol`, which owns honest evaluation). :func:`quick_fit` trains a
model in place on one batch dictionary for a fixed schedule (no selection on any test
data); :func:`fit_or_load` caches the weights keyed by a hash of the model, the
configuration and the training tensors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stag.files import atomic_write
from stag.models.losses import FocalLoss, class_balanced_alpha

INPUT_KEYS: tuple[str, ...] = ("flows", "rois", "key_mask", "magnitudes")


@dataclass(frozen=True)
class QuickFitConfig:
    """Fixed training schedule of :func:`quick_fit`.

    Attributes:
        epochs: passes over the training batch.
        batch_size: clips per step.
        lr: AdamW learning rate (constant).
        weight_decay: AdamW weight decay.
        gamma: focal-loss focusing parameter (``0``: cross-entropy).
        class_weighting: focal-loss ``alpha`` from the training class frequencies.
        seed: seeds the initialisation and the batch order.
        threads: torch CPU threads while training, restored afterwards (``None``: leave as is).
            One thread is the fastest for these small models on a shared 2-core CPU: two
            threads of tiny ops spend their time waiting for each other when another process
            holds a core.
    """

    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-2
    gamma: float = 2.0
    class_weighting: bool = True
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"QuickFitConfig: epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if not self.lr > 0 or self.weight_decay < 0 or self.gamma < 0:
            raise ValueError("QuickFitConfig: expected lr > 0, weight_decay >= 0, gamma >= 0")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"QuickFitConfig: threads must be None or >= 1, got {self.threads}")


def quick_fit(model: nn.Module, batch: dict, config: QuickFitConfig = QuickFitConfig(),
              num_classes: int | None = None) -> list[float]:
    """Train ``model`` in place on ``batch`` and return the mean training loss of every epoch.

    Args:
        model: a model of the uniform interface.
        batch: dict with ``flows``, ``rois``, ``key_mask``, ``magnitudes`` and ``label``
            tensors (e.g. from :func:`stag.train.dataset.collate`), training clips only.
        config: the schedule.
        num_classes: classes (default: the model's logits width).
    """
    missing = [k for k in (*INPUT_KEYS, "label") if k not in batch]
    if missing:
        raise ValueError(f"quick_fit: batch lacks {missing}; expected keys {(*INPUT_KEYS, 'label')}")
    labels = batch["label"].long()
    g = torch.Generator().manual_seed(config.seed)
    if num_classes is None:
        with torch.no_grad():
            num_classes = model(*(batch[k][:1] for k in INPUT_KEYS)).shape[1]
    alpha = class_balanced_alpha(labels.numpy(), num_classes) if config.class_weighting else None
    criterion = FocalLoss(alpha, config.gamma)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = []
    previous_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        _train(model, batch, labels, criterion, optimiser, config, g, history)
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return history


def _train(model, batch, labels, criterion, optimiser, config, g, history) -> None:
    n = len(labels)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=g)
        total = 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start: start + config.batch_size]
            loss = criterion(model(*(batch[k][idx] for k in INPUT_KEYS)), labels[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / n)


def _digest(batch: dict, name: str, build_kwargs: dict, config: QuickFitConfig) -> str:
    h = hashlib.sha256()
    kw = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in build_kwargs.items()}
    # threads stay in the key: float reductions, hence the trained weights, depend on them.
    h.update(json.dumps({"name": name, "kwargs": kw, "config": asdict(config), "torch": torch.__version__},
                        sort_keys=True, default=str).encode())
    for k in (*INPUT_KEYS, "label"):
        t = batch[k].detach().cpu().contiguous()
        h.update(str((k, tuple(t.shape), str(t.dtype))).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:20]


def fit_or_load(name: str, batch: dict, config: QuickFitConfig = QuickFitConfig(), *,
                cache_dir: str | Path | None = None, **build_kwargs) -> tuple[nn.Module, list[float]]:
    """Build registry model ``name``, train it with :func:`quick_fit`, cache it; or load it.

    Args:
        name: registry name (:func:`stag.models.list_models`).
        batch: training tensors (see :func:`quick_fit`).
        config: the schedule.
        cache_dir: folder for ``quickfit/<hash>.pt`` (``None``: always train).
        **build_kwargs: arguments of :func:`stag.models.build` (``num_classes``, ``prior``...).

    Returns:
        ``(model in eval mode, per-epoch training losses)``.
    """
    from stag.models.registry import build

    torch.manual_seed(config.seed)
    model = build(name, **build_kwargs)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "quickfit" / f"{name}-{_digest(batch, name, build_kwargs, config)}.pt"
        if path.exists():
            saved = torch.load(path, map_location="cpu", weights_only=False)
            model.load_state_dict(saved["state_dict"])
            return model.eval(), list(saved["history"])
    history = quick_fit(model, batch, config)
    if path is not None:
        saved = {"state_dict": model.state_dict(), "history": history, "name": name}
        atomic_write(path, lambda p: torch.save(saved, p))
    return model, history


def batch_accuracy(model: nn.Module, batch: dict) -> float:
    """Share of clips in ``batch`` whose arg-max logit is the label (model in eval mode, no grad)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pred = model(*(batch[k] for k in INPUT_KEYS)).argmax(1)
    finally:
        model.train(was_training)
    return float((pred == batch["label"]).float().mean())
