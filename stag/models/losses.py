"""Focal loss with per-class weights, for the class imbalance of MER datasets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def class_balanced_alpha(labels: Sequence[int] | np.ndarray, num_classes: int, beta: float | None = None) -> torch.Tensor:
    r"""Per-class weights from class frequencies, normalised so the frequency-weighted mean is 1.

    Without ``beta``, inverse frequency (scikit-learn's "balanced"):
    :math:`\alpha_c = n / (C\, n_c)`. With ``beta`` in ``[0, 1)``, the effective-number weights
    of Cui et al. (2019), :math:`\alpha_c \propto (1 - \beta) / (1 - \beta^{n_c})`. Either way
    :math:`\sum_c n_c \alpha_c = n`, so the loss keeps the scale of unweighted cross-entropy.
    A class absent from ``labels`` gets weight 1 (it contributes no term anyway).

    Args:
        labels: class ids of the training samples (only those: never the test fold).
        num_classes: ``C``.
        beta: effective-number hyper-parameter, or ``None`` for inverse frequency.

    Returns:
        ``(C,)`` float32 tensor.
    """
    y = np.asarray(labels, dtype=np.int64).ravel()
    if y.size == 0:
        raise ValueError("class_balanced_alpha needs at least one label")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got range [{y.min()}, {y.max()}]")
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    present = counts > 0
    if beta is None:
        raw = np.where(present, 1.0 / np.maximum(counts, 1), 0.0)
    else:
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        raw = np.where(present, (1 - beta) / (1 - beta ** np.maximum(counts, 1)), 0.0)
    alpha = raw * y.size / float((raw * counts).sum())
    alpha[~present] = 1.0
    return torch.tensor(alpha, dtype=torch.float32)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: torch.Tensor | Sequence[float] | None = None,
               gamma: float = 2.0, reduction: str = "mean") -> torch.Tensor:
    r"""Multi-class focal loss (Lin et al., 2017):

    .. math:: \ell_i = -\alpha_{y_i} (1 - p_{i,y_i})^{\gamma} \log p_{i,y_i}

    At ``gamma = 0`` and ``alpha = 1`` it is cross-entropy. ``"mean"`` divides by the number
    of samples (not by the sum of ``alpha``, unlike ``F.cross_entropy(weight=...)``), so the
    weights change the balance between classes, not the scale of the loss.

    Args:
        logits: ``(B, C)``.
        target: ``(B,)`` int64 class ids.
        alpha: ``(C,)`` per-class weights, or ``None`` for 1.
        gamma: focusing parameter ``>= 0``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if logits.dim() != 2 or target.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (B, C) and target (B,), got {tuple(logits.shape)} and {tuple(target.shape)}")
    logp = F.log_softmax(logits, dim=-1).gather(1, target[:, None]).squeeze(1)
    loss = -logp if gamma == 0 else -((1 - logp.exp()).clamp_min(0) ** gamma) * logp
    if alpha is not None:
        alpha = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
        if alpha.shape != logits.shape[1:]:
            raise ValueError(f"alpha must have one weight per class ({logits.shape[1]}), got shape {tuple(alpha.shape)}")
        loss = alpha[target] * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`; ``alpha`` is a buffer (moves with ``.to(device)``).

    Args:
        alpha (Tensor or sequence, optional): ``(C,)`` per-class weights, e.g. from
            :func:`class_balanced_alpha`; ``None`` for 1. (default: ``None``)
        gamma (float, optional): focusing parameter. (default: ``2.0``)
        reduction (str, optional): ``"mean"``, ``"sum"`` or ``"none"``. (default: ``"mean"``)

    Shapes:
        - **input:** logits ``(B, C)``, target ``(B,)`` int64.
        - **output:** scalar, or ``(B,)`` with ``reduction="none"``.
    """

    def __init__(self, alpha=None, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma, self.reduction = gamma, reduction
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, target, self.alpha, self.gamma, self.reduction)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, alpha={None if self.alpha is None else self.alpha.tolist()}"
