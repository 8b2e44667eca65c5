"""Focal loss and class-balanced weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stag.models.losses import FocalLoss, class_balanced_alpha, focal_loss


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(16, 4, generator=g) * 2, torch.randint(0, 4, (16,), generator=g)


def test_equals_cross_entropy_at_gamma_zero():
    logits, y = _batch()
    torch.testing.assert_close(focal_loss(logits, y, gamma=0.0), F.cross_entropy(logits, y))
    torch.testing.assert_close(focal_loss(logits, y, alpha=torch.ones(4), gamma=0.0), F.cross_entropy(logits, y))
    torch.testing.assert_close(FocalLoss(gamma=0.0)(logits, y), F.cross_entropy(logits, y))
    torch.testing.assert_close(focal_loss(logits, y, gamma=0.0, reduction="none"),
                               F.cross_entropy(logits, y, reduction="none"))


def test_gamma_two_down_weights_easy_examples():
    y = torch.tensor([0, 0])
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.2, 0.0, 0.0]])  # easy (p ~ 0.91), hard (p ~ 0.38)
    ce = F.cross_entropy(logits, y, reduction="none")
    fl = focal_loss(logits, y, gamma=2.0, reduction="none")
    p = logits.softmax(-1)[:, 0]
    torch.testing.assert_close(fl, (1 - p) ** 2 * ce)
    ratio = fl / ce
    assert ratio[0] < 0.01 and ratio[1] > 0.35
    assert (fl <= ce).all()


def test_alpha_weights_each_sample_by_its_class():
    logits, y = _batch(1)
    alpha = torch.tensor([0.5, 1.0, 2.0, 4.0])
    per = focal_loss(logits, y, gamma=2.0, reduction="none")
    weighted = focal_loss(logits, y, alpha=alpha, gamma=2.0, reduction="none")
    torch.testing.assert_close(weighted, alpha[y] * per)
    torch.testing.assert_close(focal_loss(logits, y, alpha=alpha, reduction="sum"), weighted.sum())
    module = FocalLoss(alpha=alpha, gamma=2.0)
    torch.testing.assert_close(module(logits, y), weighted.mean())
    assert module.alpha.dtype == torch.float32 and "alpha" in dict(module.named_buffers())


def test_confident_logits_give_finite_gradients():
    logits = torch.tensor([[60.0, -60.0], [-60.0, 60.0]], requires_grad=True)
    loss = focal_loss(logits, torch.tensor([0, 1]), gamma=2.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_class_balanced_alpha_inverse_frequency():
    labels = [0] * 6 + [1] * 3 + [2]
    alpha = class_balanced_alpha(labels, 3)
    torch.testing.assert_close(alpha, torch.tensor([10 / 18, 10 / 9, 10 / 3]))
    counts = np.bincount(labels)
    assert np.isclose((alpha.numpy() * counts).sum(), len(labels))  # keeps the loss scale


def test_class_balanced_alpha_effective_number_and_absent_class():
    labels = np.array([0] * 90 + [1] * 10)
    a = class_balanced_alpha(labels, 3, beta=0.99)
    raw = np.array([(1 - 0.99) / (1 - 0.99**90), (1 - 0.99) / (1 - 0.99**10)])
    expected = raw * 100 / (raw * [90, 10]).sum()
    np.testing.assert_allclose(a.numpy()[:2], expected, rtol=1e-5)
    assert a[2] == 1.0  # absent class
    assert a[1] / a[0] < 9  # milder than inverse frequency
    b0 = class_balanced_alpha(labels, 2, beta=0.0)  # beta = 0: all ones
    torch.testing.assert_close(b0, torch.ones(2))


@pytest.mark.parametrize("call, match", [
    (lambda: class_balanced_alpha([0, 3], 3), r"labels must be in \[0, 3\)"),
    (lambda: class_balanced_alpha([], 3), "at least one label"),
    (lambda: class_balanced_alpha([0, 1], 2, beta=1.0), "beta must be in"),
    (lambda: focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), gamma=-1.0), "gamma must be >= 0"),
    (lambda: focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), alpha=[1.0, 2.0]), "one weight per class"),
    (lambda: focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg"), "reduction must be"),
    (lambda: focal_loss(torch.zeros(2, 3), torch.tensor([0, 1, 2])), r"expected logits \(B, C\)"),
    (lambda: FocalLoss(gamma=-0.5), "gamma must be >= 0"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
