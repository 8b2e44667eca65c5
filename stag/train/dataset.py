"""From :class:`~stag.preprocess.prepared.Prepared` samples to model-ready tensors, and
face-aware augmentation.

The whole fold fits in memory (a few thousand clips of ``(K, C, H, W)`` flow at most), so
there is no ``DataLoader``: :func:`collate` stacks the samples once and the loop indexes
batches out of the stacked tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from stag.data.aus import AU_VOCAB, au_targets
from stag.faces import MIRROR


def check_au_targets(items: Sequence, au_loss_weight: float) -> None:
    """With an AU loss, every AU-coded training clip must have readable AU codes.

    Clips with ``au_coded=False`` (no FACS coding at all, e.g. SMIC in the MEGC2019 composite)
    are not checked: the AU loss skips them (``au_mask`` of :func:`collate`).

    Raises:
        stag.data.aus.AUParseError: a coded clip whose AU string could not be read when it was
            loaded (its ``aus`` are unknown, not empty); names the clip and the string.
    """
    if au_loss_weight > 0:
        for p in items:
            if getattr(p, "au_coded", True):
                au_targets(p)


def collate(items: Sequence, num_aus: int | None = None) -> dict[str, torch.Tensor]:
    """Stack prepared clips into a batch.

    Args:
        items: :class:`~stag.preprocess.prepared.Prepared` samples sharing ``K, C, H, W`` and ``N``.
        num_aus: length of the AU multi-hot target (default ``len(AU_VOCAB)``).

    Returns:
        dict with ``flows`` (B, K, C, H, W) float32, ``rois`` (B, N, 4) float32, ``key_mask``
        (B, K) bool, ``magnitudes`` (B, K) float32, ``label`` (B,) int64 and ``aus``
        (B, num_aus) float32 multi-hot over :data:`~stag.data.aus.AU_VOCAB`, and ``au_mask``
        (B,) float32: 1 for AU-coded clips, 0 for clips with ``au_coded=False`` (their ``aus``
        are unknown; the AU loss skips them).
    """
    if len(items) == 0:
        raise ValueError("collate: no samples")
    shapes = {tuple(p.flows.shape) for p in items}
    if len(shapes) != 1:
        raise ValueError(f"collate: samples have different flow shapes {sorted(shapes)}; "
                         "prepare them with one PrepareConfig (same image_size, keyframes, channels)")
    vocab = tuple(AU_VOCAB)
    n_aus = len(vocab) if num_aus is None else num_aus
    aus = np.zeros((len(items), n_aus), dtype=np.float32)
    index = {a: i for i, a in enumerate(vocab[:n_aus])}
    for b, p in enumerate(items):
        for a in p.aus:
            if a in index:
                aus[b, index[a]] = 1.0
    return {
        "flows": torch.from_numpy(np.stack([np.asarray(p.flows, dtype=np.float32) for p in items])),
        "rois": torch.from_numpy(np.stack([np.asarray(p.rois, dtype=np.float32) for p in items])),
        "key_mask": torch.from_numpy(np.stack([np.asarray(p.key_mask, dtype=bool) for p in items])),
        "magnitudes": torch.from_numpy(np.stack([np.asarray(p.magnitudes, dtype=np.float32) for p in items])),
        "label": torch.tensor([int(p.label) for p in items], dtype=torch.int64),
        "aus": torch.from_numpy(aus),
        "au_mask": torch.tensor([float(bool(getattr(p, "au_coded", True))) for p in items], dtype=torch.float32),
    }


def hflip(flows: torch.Tensor, rois: torch.Tensor, mirror: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror a batch of faces left-right.

    The image is flipped along x, the horizontal flow ``u`` (channel 0) changes sign, and the
    ROI boxes are mirrored and re-ordered with :data:`stag.faces.MIRROR` so that row
    ``i`` is still region ``ROI_NAMES[i]`` (the left brow of the flipped face is where the
    right brow was). Strain and magnitude are unchanged by a reflection.

    Shapes:
        flows: (B, K, C, H, W); rois: (B, N, 4) ``x0, y0, x1, y1`` in flow pixels.
    """
    if mirror is None:
        mirror = MIRROR
    width = flows.shape[-1]
    out = torch.flip(flows, dims=[-1]).clone()
    out[:, :, 0] = -out[:, :, 0]
    r = torch.stack([width - rois[..., 2], rois[..., 1], width - rois[..., 0], rois[..., 3]], dim=-1)
    idx = torch.from_numpy(np.array(mirror, dtype=np.int64))
    if idx.numel() != rois.shape[1]:
        raise ValueError(f"hflip: MIRROR has {idx.numel()} entries but the batch has {rois.shape[1]} ROIs")
    return out, r[:, idx]


def shift(flows: torch.Tensor, rois: torch.Tensor, dx: int, dy: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Translate one sample by whole pixels with zero fill (flow values are unchanged by a
    translation); ROI boxes move with the face and are clipped to the frame.

    Shapes:
        flows: (K, C, H, W); rois: (N, 4).
    """
    h, w = flows.shape[-2:]
    out = torch.zeros_like(flows)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = flows[..., ys, xs]
    r = rois + torch.tensor([dx, dy, dx, dy], dtype=rois.dtype)
    r[..., 0::2] = r[..., 0::2].clamp(0, w)
    r[..., 1::2] = r[..., 1::2].clamp(0, h)
    return out, r


def augment(batch: dict[str, torch.Tensor], rng: np.random.Generator, *, flip_p: float = 0.5,
            jitter_px: int = 2, mirror: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
    """Random horizontal flip (face-aware, :func:`hflip`) and small translation jitter
    (:func:`shift`, up to ``jitter_px`` pixels) per sample; labels and AUs are unchanged.
    All randomness comes from ``rng``, so a seeded run is reproducible."""
    flows, rois = batch["flows"], batch["rois"]
    b = flows.shape[0]
    flip = rng.random(b) < flip_p
    if flip.any():
        idx = torch.from_numpy(np.flatnonzero(flip))
        f, r = hflip(flows[idx], rois[idx], mirror)
        flows, rois = flows.clone(), rois.clone()
        flows[idx], rois[idx] = f, r
    if jitter_px > 0:
        d = rng.integers(-jitter_px, jitter_px + 1, size=(b, 2))
        if d.any():
            flows, rois = flows.clone(), rois.clone()
            for i in np.flatnonzero(d.any(axis=1)):
                flows[i], rois[i] = shift(flows[i], rois[i], int(d[i, 0]), int(d[i, 1]))
    return {**batch, "flows": flows, "rois": rois}
