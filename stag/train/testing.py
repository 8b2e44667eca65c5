"""Tiny stand-ins for tests and smoke runs of the training machinery.

:func:`toy_prepared` makes :class:`~stag.preprocess.prepared.Prepared` clips whose class is
written into the flow (learnable in a few epochs), and :class:`TinyNet` is a minimal model
with the package's model interface. They live in the package (not in a test file) so that
worker processes (joblib, Dask) can import them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from stag.faces import ROI_TABLE
from stag.preprocess.prepared import Prepared


def toy_prepared(n_subjects: int = 6, clips_per_subject: int = 6, *, num_classes: int = 3, keyframes: int = 2,
                 size: int = 16, datasets: tuple[str, ...] = ("toy",), noise: float = 0.6, seed: int = 0) -> list:
    """Clips with a class-specific motion pattern plus noise and a per-subject offset.

    Class ``c`` moves the left half of the face along ``u`` with sign/strength depending on
    ``c``; a subject adds its own bias so that LOSO is not trivial.
    """
    rng = np.random.default_rng(seed)
    n_rois = len(ROI_TABLE)
    out = []
    for d in datasets:
        for s in range(n_subjects):
            bias = rng.normal(0, 0.3)
            for j in range(clips_per_subject):
                label = int(rng.integers(0, num_classes))
                flows = rng.normal(0, noise, size=(keyframes, 3, size, size)).astype(np.float32)
                pattern = np.linspace(-1, 1, num_classes)[label]
                flows[:, 0, :, : size // 2] += pattern + bias
                flows[:, 1, : size // 2] += 0.5 * (label == num_classes - 1)
                x0 = rng.uniform(0, size / 2, n_rois)
                y0 = rng.uniform(0, size / 2, n_rois)
                rois = np.stack([x0, y0, x0 + size / 4, y0 + size / 4], 1).astype(np.float32)
                out.append(Prepared(
                    clip_id=f"{d}/s{s:02d}/c{j:02d}", subject=f"s{s:02d}", dataset=d, label=label,
                    flows=flows, key_mask=np.ones(keyframes, bool),
                    magnitudes=np.linspace(0.5, 1, keyframes).astype(np.float32),
                    key_indices=np.arange(keyframes), rois=rois, aus=(4, 12) if label == 1 else (1, 2)))
    return out


class TinyNet(nn.Module):
    """A minimal model with the package's interface (for tests).

    Args:
        num_classes: output classes.
        in_channels: flow channels ``C``.
        num_rois, prior, num_aus: accepted for interface compatibility; ``num_aus > 0`` adds
            an AU head.

    Shapes:
        flows (B, K, C, H, W), rois (B, N, 4), key_mask (B, K), magnitudes (B, K) -> (B, num_classes).
    """

    def __init__(self, num_classes: int = 3, in_channels: int = 3, num_rois: int = 16, prior=None,
                 num_aus: int = 0, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(width * 4, num_classes)
        self.au_head = nn.Linear(width * 4, num_aus) if num_aus else None

    def _features(self, flows, key_mask):
        b, k, c, h, w = flows.shape
        x = self.pool(torch.relu(self.conv(flows.reshape(b * k, c, h, w)))).reshape(b, k, -1)
        m = key_mask.float().unsqueeze(-1)
        return (x * m).sum(1) / m.sum(1).clamp(min=1)

    def forward(self, flows, rois, key_mask, magnitudes):
        return self.head(self._features(flows, key_mask))

    def forward_details(self, flows, rois, key_mask, magnitudes):
        f = self._features(flows, key_mask)
        return SimpleNamespace(logits=self.head(f), au_logits=None if self.au_head is None else self.au_head(f))
