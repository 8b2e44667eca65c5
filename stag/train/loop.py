"""Train one fold and predict its test clips, choosing the final model honestly.

:func:`train_fold` is a pure function of its inputs (model factory, training and test
samples, :class:`~stag.train.config.TrainConfig`, fold seed): the same call gives the same
predictions on the same CPU, whichever process runs it. Model selection never looks at the
test subject unless ``selection="oracle"`` is asked for explicitly, and then every output
says so.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from stag.data.clip import subject_group
from stag.device import resolve_device
from stag.train.config import ORACLE_WARNING, TrainConfig
from stag.train.dataset import augment, check_au_targets, collate
from stag.train.metrics import scores
from stag.train.protocols import inner_validation_split


@dataclass
class FoldOutput:
    """What one trained fold hands back.

    Attributes:
        probs: ``(n_test, num_classes)`` softmax of the selected model (or the average over
            the last ``average_last`` epochs).
        epoch: 1-based epoch of the kept model.
        history: one dict per epoch (``epoch``, ``lr``, ``train_loss``, and ``val_uf1`` with
            ``inner_val``, ``test_acc`` with ``oracle``).
        state_dict: CPU weights of the kept model.
        probs_last: with ``oracle``, the last epoch's softmax too (the honest counterpart).
        selection: the selection mode that produced ``probs``.
    """

    probs: np.ndarray
    epoch: int
    history: list[dict] = field(default_factory=list)
    state_dict: dict | None = None
    probs_last: np.ndarray | None = None
    selection: str = "last"


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch (CPU and CUDA) and return a numpy generator; no global numpy state is used."""
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


def make_loss(config: TrainConfig, labels: np.ndarray, num_classes: int, device: torch.device) -> nn.Module:
    """Focal loss from :mod:`stag.models.losses`; ``loss="ce"`` is its ``gamma=0`` case
    (cross-entropy). With ``class_weighting``, per-class ``alpha`` from the training fold's
    labels (:func:`~stag.models.losses.class_balanced_alpha`, inverse frequency)."""
    # lazy: `stag --help` loads this module; stag.models.losses loads only when used
    from stag.models.losses import FocalLoss, class_balanced_alpha

    alpha = class_balanced_alpha(labels, num_classes) if config.class_weighting else None
    gamma = config.focal_gamma if config.loss == "focal" else 0.0
    return FocalLoss(alpha=alpha, gamma=gamma).to(device)


def lr_lambda(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """Multiplier of the peak learning rate at optimisation step ``s``: linear warm-up over
    ``warmup_epochs`` (at most half the steps), then cosine decay to 0 or constant."""
    total = max(1, config.epochs * steps_per_epoch)
    warm = min(int(round(config.warmup_epochs * steps_per_epoch)), total // 2)

    def f(step: int) -> float:
        if warm > 0 and step < warm:
            return (step + 1) / warm
        if config.schedule == "constant":
            return 1.0
        t = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))

    return f


def masked_au_loss(criterion: nn.Module, logits: torch.Tensor, targets: torch.Tensor,
                   mask: torch.Tensor | None) -> torch.Tensor:
    """AU loss averaged over the AU-coded samples only.

    ``criterion`` gives element-wise losses (``reduction="none"``), ``(B, A)``; each sample's
    loss is its mean over the ``A`` AUs, and the batch loss the mean over samples whose
    ``mask`` is 1 (``au_coded``); zero (with a gradient path) when the batch has none.
    """
    per_sample = criterion(logits, targets).mean(dim=1)
    if mask is None:
        return per_sample.mean()
    mask = mask.to(per_sample.dtype)
    return (per_sample * mask).sum() / mask.sum().clamp_min(1.0)


def _to(batch: dict, idx: np.ndarray | None, device: torch.device) -> dict:
    sel = (lambda t: t) if idx is None else (lambda t: t[torch.from_numpy(idx)])
    return {k: sel(v).to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def predict_proba(model: nn.Module, batch: dict, device: torch.device, *, batch_size: int = 128,
                  amp: bool = False) -> np.ndarray:
    """``(n, num_classes)`` float64 softmax of ``model`` over a collated batch."""
    model.eval()
    n = batch["label"].shape[0]
    out = []
    for s in range(0, n, batch_size):
        b = _to(batch, np.arange(s, min(n, s + batch_size)), device)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            logits = model(b["flows"], b["rois"], b["key_mask"], b["magnitudes"])
        out.append(torch.softmax(logits.float(), dim=1).cpu().double().numpy())
    return np.concatenate(out)


def _batches(labels: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> list[np.ndarray]:
    n = len(labels)
    if config.balanced_sampling:
        counts = np.bincount(labels)
        p = 1.0 / counts[labels]
        order = rng.choice(n, size=n, replace=True, p=p / p.sum())
    else:
        order = rng.permutation(n)
    bs = config.batch_size
    batches = [order[s:s + bs] for s in range(0, n, bs)]
    # A trailing batch of one clip breaks batch statistics; fold it into the previous one.
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2] = np.concatenate(batches[-2:])
        batches.pop()
    return batches


def train_fold(model_factory: Callable[[], nn.Module], train: Sequence, test: Sequence, config: TrainConfig, *,
               num_classes: int, seed: int | None = None, groups: Sequence | None = None,
               progress: bool = False, desc: str = "") -> FoldOutput:
    """Train a fresh model on ``train`` and return its softmax on ``test``.

    Args:
        model_factory: zero-argument callable building an untrained model with the interface
            ``model(flows, rois, key_mask, magnitudes) -> logits``.
        train, test: :class:`~stag.preprocess.prepared.Prepared` samples.
        config: the training configuration.
        num_classes: number of classes of the label scheme.
        seed: fold seed (default ``config.seed``); seeds initialisation, batches, augmentation.
        groups: subject id per *training* sample, required by ``selection="inner_val"``
            (default: ``p.dataset/p.subject``).
        progress: show a tqdm bar over epochs.
    """
    seed = config.seed if seed is None else seed
    device = resolve_device(config.device)
    amp = bool(config.amp and device.type == "cuda")
    if config.is_oracle:
        warnings.warn(ORACLE_WARNING, UserWarning, stacklevel=2)
    rng = seed_everything(seed)
    train = list(train)
    check_au_targets(train, config.au_loss_weight)
    labels_all = np.array([int(p.label) for p in train], dtype=np.int64)

    val_batch = None
    if config.selection == "inner_val":
        g = (subject_group([p.dataset for p in train], [p.subject for p in train]) if groups is None
             else np.asarray(list(groups), dtype=object))
        fit_idx, val_idx = inner_validation_split(np.arange(len(train)), g, labels_all,
                                                  fraction=config.inner_fraction, random_state=seed)
        val_batch = collate([train[i] for i in val_idx])
        train = [train[i] for i in fit_idx]
    fit = collate(train)
    labels = fit["label"].numpy()
    test_batch = collate(list(test))

    model = model_factory().to(device)
    criterion = make_loss(config, labels, num_classes, device)
    au_criterion = nn.BCEWithLogitsLoss(reduction="none") if config.au_loss_weight > 0 else None
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = len(_batches(labels, config, np.random.default_rng(0)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_lambda(config, steps))
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    history: list[dict] = []
    best = (-math.inf, 0, None)  # (score, epoch, state)
    averaged: list[np.ndarray] = []
    oracle_probs = None
    bad_epochs = 0
    bar = tqdm(range(1, config.epochs + 1), desc=desc or "epochs", leave=False, disable=not progress)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for idx in _batches(labels, config, rng):
            batch = {k: v[torch.from_numpy(idx)] for k, v in fit.items()}
            if config.augment:
                batch = augment(batch, rng, flip_p=config.flip_p, jitter_px=config.jitter_px)
            b = _to(batch, None, device)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                if au_criterion is not None:
                    out = model.forward_details(b["flows"], b["rois"], b["key_mask"], b["magnitudes"])
                    loss = criterion(out.logits.float(), b["label"])
                    if out.au_logits is not None:
                        loss = loss + config.au_loss_weight * masked_au_loss(
                            au_criterion, out.au_logits.float(), b["aus"][:, :out.au_logits.shape[1]],
                            b.get("au_mask"))
                else:
                    logits = model(b["flows"], b["rois"], b["key_mask"], b["magnitudes"])
                    loss = criterion(logits.float(), b["label"])
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        record = {"epoch": epoch, "lr": optimiser.param_groups[0]["lr"], "train_loss": total / max(1, count)}

        if config.selection == "inner_val":
            p = predict_proba(model, val_batch, device, batch_size=config.eval_batch_size, amp=amp)
            s = scores(val_batch["label"].numpy(), p.argmax(1), num_classes)
            record["val_uf1"], record["val_acc"] = s["uf1"], s["accuracy"]
            key = s["uf1"] if not math.isnan(s["uf1"]) else -1.0
            if key > best[0]:
                best = (key, epoch, copy.deepcopy(model.state_dict()))
                bad_epochs = 0
            else:
                bad_epochs += 1
        elif config.selection == "oracle":
            p = predict_proba(model, test_batch, device, batch_size=config.eval_batch_size, amp=amp)
            acc = float((p.argmax(1) == test_batch["label"].numpy()).mean())
            record["test_acc"] = acc  # oracle only: the test fold steers the choice
            if acc > best[0]:
                best = (acc, epoch, copy.deepcopy(model.state_dict()))
                oracle_probs = p
        elif epoch > config.epochs - config.average_last:
            averaged.append(predict_proba(model, test_batch, device, batch_size=config.eval_batch_size, amp=amp))
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}")
        if config.patience is not None and bad_epochs >= config.patience:
            break

    last_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if config.selection == "last":
        return FoldOutput(probs=np.mean(averaged, axis=0), epoch=history[-1]["epoch"], history=history,
                          state_dict=last_state, selection="last")
    if config.selection == "inner_val":
        model.load_state_dict(best[2])
        probs = predict_proba(model, test_batch, device, batch_size=config.eval_batch_size, amp=amp)
        return FoldOutput(probs=probs, epoch=best[1], history=history,
                          state_dict={k: v.detach().cpu() for k, v in best[2].items()}, selection="inner_val")
    probs_last = predict_proba(model, test_batch, device, batch_size=config.eval_batch_size, amp=amp)
    return FoldOutput(probs=oracle_probs, epoch=best[1], history=history,
                      state_dict={k: v.detach().cpu() for k, v in best[2].items()}, probs_last=probs_last,
                      selection="oracle")
