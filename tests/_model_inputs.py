"""Tiny random model inputs shared by the model tests (not collected: no ``test_`` prefix)."""

from __future__ import annotations

import torch


def make_inputs(b: int = 2, k: int = 4, *, c: int = 3, size: int = 32, n: int = 16, valid=None, seed: int = 0):
    """``(flows, rois, key_mask, magnitudes)`` with boxes inside the image.

    ``valid``: per-clip number of real keyframes (the rest is padding, filled with noise on
    purpose so that a leak would show).
    """
    g = torch.Generator().manual_seed(seed)
    flows = torch.randn(b, k, c, size, size, generator=g)
    x0 = torch.rand(b, n, generator=g) * size * 0.6
    y0 = torch.rand(b, n, generator=g) * size * 0.6
    side = size * (0.15 + 0.2 * torch.rand(b, n, generator=g))
    rois = torch.stack([x0, y0, x0 + side, y0 + side], dim=-1)
    valid = [k] * b if valid is None else list(valid)
    key_mask = torch.arange(k)[None, :] < torch.tensor(valid)[:, None]
    magnitudes = torch.rand(b, k, generator=g) * key_mask
    return flows, rois, key_mask, magnitudes
