"""HTNet-like baseline: a hierarchical transformer over four facial regions of the apex flow.

HTNet (Wang, Zhang, Luo and Sankaranarayana, "HTNet for micro-expression recognition",
Neurocomputing 2024) is the strongest public model on the MEGC2019 composite. This is a
re-implementation of its public architecture (``Model.py`` and ``main_HTNet.py`` of the
authors' repository), written for the uniform interface of :mod:`stag.models`::

    apex flow (u, v, strain) -> resize to 28x28 -> four 14x14 regions around the eyes and
    the mouth corners, tiled 2x2 (eyes on top) -> 7x7 patches -> linear embedding (4x4 grid)
    -> hierarchy 0: 16 blocks of 1x1, transformer (dim 256, 3 heads, 2 layers) -> aggregate
       (3x3 conv to 512, LayerNorm, 3x3/2 max-pool)
    -> hierarchy 1:  4 blocks of 1x1, transformer (dim 512, 6 heads, 2 layers) -> aggregate (to 1024)
    -> hierarchy 2:  1 block  of 1x1, transformer (dim 1024, 12 heads, 10 layers)
    -> LayerNorm -> spatial mean -> linear classifier

Transformers run inside non-overlapping blocks ("local" attention per region at the bottom,
eye-lip interactions higher up); a block's side halves each level while the blocks merge.

Facts of the published configuration (image 28, patch 7, dim 256, heads 3, 3 hierarchies,
block repeats (2, 2, 10), MLP ratio 4; Adam, lr 5e-5, batch 256, 800 epochs): 139.6 M
parameters and 0.43 GFLOP per clip (matrix products and convolutions, 2 FLOPs per
multiply-add).

Differences from the public code, on purpose:

- the public code places the four crops at MTCNN landmarks of the 28x28 face (clipped to
  [7, 21]); the composite's flows are aligned face crops, so the crops here sit at fixed
  canonical landmark positions (the public code's own fallback when detection fails) and
  ``rois`` is ignored;
- the flow is fed as it is, not min-max scaled to 0-255 per clip as the public code does;
- the public crop indexing swaps x and y; here rows are y and columns x;
- the public code adds one learned scalar "position" per token of a block. It is left out where
  it cannot work: in one-token blocks (every level of the published configuration: a constant
  that duplicates a bias) and at the top level (a LayerNorm removes it; its gradient is zero).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from stag.models.baselines import apex_flow
from stag.models.inputs import check_inputs
from stag.models.output import ModelOutput
from stag.models.registry import register_model

#: The authors' training protocol (``main_HTNet.py``): what one LOSO fold costs to train.
PUBLISHED_TRAINING = {"optimizer": "adam", "lr": 5e-5, "batch_size": 256, "epochs": 800}

#: Landmarks ``(x, y)`` of the 28x28 face: left eye, right eye, left and right mouth corners
#: (the public code's fallback landmarks; the nose crop it also computes is never used).
CANONICAL_LANDMARKS = ((9.5, 11.1), (21.4, 10.9), (10.3, 22.1), (20.6, 22.3))


@dataclass(frozen=True)
class HTNetConfig:
    """Configuration of :class:`HTNet` (the defaults are the published ones).

    Attributes:
        image_size: side of the resized face; each region is ``image_size // 2``.
        patch_size: side of the square patches embedded as tokens.
        dim: width of the lowest hierarchy (doubles at each level up).
        heads: heads of the lowest hierarchy (doubles at each level up); ``dim // heads``
            per head, as in the public code.
        num_hierarchies: levels of the hierarchy.
        block_repeats: transformer layers per level, from the bottom.
        mlp_mult: feed-forward hidden width over the level's width.
        dropout: dropout in attention and feed-forward layers.
    """

    image_size: int = 28
    patch_size: int = 7
    dim: int = 256
    heads: int = 3
    num_hierarchies: int = 3
    block_repeats: tuple[int, ...] = (2, 2, 10)
    mlp_mult: int = 4
    dropout: float = 0.0

    def __post_init__(self):
        if self.image_size % 4 or self.image_size < 4:
            raise ValueError(f"image_size must be a multiple of 4 (four regions of half its side), "
                             f"got {self.image_size}")
        if self.patch_size < 1 or self.image_size % self.patch_size:
            raise ValueError(f"patch_size={self.patch_size} must divide image_size={self.image_size}")
        grid = self.image_size // self.patch_size
        blocks = 2 ** (self.num_hierarchies - 1)
        if self.num_hierarchies < 1 or grid % blocks:
            raise ValueError(f"num_hierarchies={self.num_hierarchies} needs the {grid}x{grid} patch grid to split "
                             f"into {blocks}x{blocks} blocks (image_size // patch_size divisible by {blocks})")
        if len(self.block_repeats) != self.num_hierarchies or min(self.block_repeats) < 1:
            raise ValueError(f"block_repeats must give >= 1 layer for each of the {self.num_hierarchies} "
                             f"hierarchies, got {self.block_repeats}")
        if self.dim < self.heads or self.heads < 1:
            raise ValueError(f"need 1 <= heads <= dim, got heads={self.heads}, dim={self.dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


#: Named sizes: ``"published"`` is the authors' configuration; ``"tiny"`` keeps the layout
#: (three levels, the same blocks) at a fraction of the width and depth, for tests.
SIZES = {
    "published": HTNetConfig(),
    "tiny": HTNetConfig(dim=32, heads=2, block_repeats=(1, 1, 1), mlp_mult=2),
}


class _Attention(nn.Module):
    """Multi-head self-attention over the tokens of one block (``dim // heads`` per head)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        inner = self.heads * self.head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.out = nn.Linear(inner, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, dim)
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        out = (self.drop(weights) @ v).transpose(1, 2).reshape(b, n, -1)
        return self.drop(self.out(out))


class _Transformer(nn.Module):
    """Pre-norm transformer layers with one learned scalar position per token of a block.

    A scalar added to every feature of a token survives only where something mixes tokens
    spatially after this level: the aggregate convolution below the top. So ``positions`` is
    ``None`` (``with_positions=False``) where it could not work:

    - a block of one token has no positions to tell apart; its scalar is a constant over the
      whole map, a second copy of the embedding's (or the aggregate norm's) bias;
    - at the top level, every path from the scalar to the output passes a per-token LayerNorm
      (before attention, before the feed-forward, and the final norm), which subtracts it: its
      gradient is exactly zero.

    Every level of the published configuration has one-token blocks, so it has none.
    """

    def __init__(self, dim: int, tokens: int, depth: int, heads: int, mlp_mult: int, dropout: float,
                 with_positions: bool = True):
        super().__init__()
        self.positions = nn.Parameter(torch.randn(tokens)) if with_positions and tokens > 1 else None
        self.layers = nn.ModuleList(
            nn.ModuleList([
                nn.LayerNorm(dim), _Attention(dim, heads, dropout),
                nn.LayerNorm(dim), nn.Sequential(nn.Linear(dim, dim * mlp_mult), nn.GELU(), nn.Dropout(dropout),
                                                 nn.Linear(dim * mlp_mult, dim), nn.Dropout(dropout)),
            ]) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, dim)
        if self.positions is not None:
            x = x + self.positions[None, :, None]
        for norm_a, attn, norm_f, ff in self.layers:
            x = x + attn(norm_a(x))
            x = x + ff(norm_f(x))
        return x


class _ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _to_blocks(x: torch.Tensor, blocks: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B * blocks**2, (H/blocks) * (W/blocks), C)`` tokens per block."""
    b, c, h, w = x.shape
    x = x.view(b, c, blocks, h // blocks, blocks, w // blocks).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b * blocks * blocks, (h // blocks) * (w // blocks), c)


def _from_blocks(x: torch.Tensor, blocks: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`_to_blocks`."""
    c = x.shape[-1]
    x = x.view(-1, blocks, blocks, h // blocks, w // blocks, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(-1, c, h, w)


def facial_regions(face: torch.Tensor, landmarks=CANONICAL_LANDMARKS) -> torch.Tensor:
    """Four square regions around ``landmarks`` tiled 2x2 (eyes on top, mouth corners below).

    Args:
        face: ``(B, C, S, S)`` face flow.
        landmarks: four ``(x, y)`` centres in pixels of a 28x28 face (scaled to ``S``).

    Returns:
        ``(B, C, S, S)``: regions of side ``S // 2``, centres clipped so that each lies inside.
    """
    s = face.shape[-1]
    half = s // 4
    crops = []
    for x, y in landmarks:
        cx = min(max(round(x * s / 28), half), s - half)
        cy = min(max(round(y * s / 28), half), s - half)
        crops.append(face[..., cy - half: cy + half, cx - half: cx + half])
    top = torch.cat(crops[:2], dim=-1)
    bottom = torch.cat(crops[2:], dim=-1)
    return torch.cat([top, bottom], dim=-2)


class HTNet(nn.Module):
    """HTNet-like hierarchical transformer on the apex flow's four facial regions.

    Args:
        num_classes (int, optional): classes. (default: ``3``)
        in_channels (int, optional): flow channels, ``>= 3`` (u, v, strain are used). (default: ``3``)
        num_aus (int, optional): AU head outputs, ``0`` for none. (default: ``0``)
        size (str, optional): ``"published"`` (139.6 M parameters) or ``"tiny"``, see :data:`SIZES`.
            (default: ``"published"``)
        **overrides: fields of :class:`HTNetConfig` replacing those of ``size``.

    Shapes:
        - **input:** as every model: flows ``(B, K, C, H, W)``, rois ``(B, N, 4)`` (ignored),
          key_mask ``(B, K)``, magnitudes ``(B, K)``; the real keyframe with the largest
          magnitude is used (the only one at ``K = 1``).
        - **output:** ``(B, num_classes)``.
    """

    needs_channels = 3

    def __init__(self, num_classes: int = 3, in_channels: int = 3, num_aus: int = 0, size: str = "published",
                 **overrides):
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
        unknown = sorted(set(overrides) - set(HTNetConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown HTNet option(s) {unknown}; options: {sorted(HTNetConfig.__dataclass_fields__)}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if in_channels < self.needs_channels:
            raise ValueError(f"HTNet reads the first 3 flow channels (u, v, strain), got in_channels={in_channels}")
        if num_aus < 0:
            raise ValueError(f"num_aus must be >= 0, got {num_aus}")
        if "block_repeats" in overrides:
            overrides["block_repeats"] = tuple(overrides["block_repeats"])
        cfg = replace(SIZES[size], **overrides)
        self.config, self.size = cfg, size
        self.num_classes, self.in_channels = num_classes, in_channels

        grid = cfg.image_size // cfg.patch_size
        tokens = (grid // 2 ** (cfg.num_hierarchies - 1)) ** 2  # tokens per block, the same at every level
        dims = [cfg.dim * 2 ** i for i in range(cfg.num_hierarchies)]
        heads = [cfg.heads * 2 ** i for i in range(cfg.num_hierarchies)]
        self.embed = nn.Linear(self.needs_channels * cfg.patch_size ** 2, cfg.dim)
        top = cfg.num_hierarchies - 1
        self.transformers = nn.ModuleList(
            _Transformer(d, tokens, r, h, cfg.mlp_mult, cfg.dropout, with_positions=i < top)
            for i, (d, h, r) in enumerate(zip(dims, heads, cfg.block_repeats)))
        self.aggregates = nn.ModuleList(
            nn.Sequential(nn.Conv2d(d, 2 * d, 3, padding=1), _ChannelNorm(2 * d), nn.MaxPool2d(3, 2, padding=1))
            for d in dims[:-1])
        self.norm = _ChannelNorm(dims[-1])
        self.classifier = nn.Linear(dims[-1], num_classes)
        self.au_head = nn.Linear(dims[-1], num_aus) if num_aus > 0 else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` regions mosaic -> ``(B, dim * 2**(num_hierarchies - 1))`` embedding."""
        p = self.config.patch_size
        b, c, s, _ = x.shape
        g = s // p
        patches = x.view(b, c, g, p, g, p).permute(0, 2, 4, 3, 5, 1).reshape(b, g, g, p * p * c)
        x = self.embed(patches).permute(0, 3, 1, 2)  # (B, dim, g, g)
        levels = len(self.transformers)
        for i, transformer in enumerate(self.transformers):
            blocks = 2 ** (levels - 1 - i)
            h, w = x.shape[-2:]
            x = _from_blocks(transformer(_to_blocks(x, blocks)), blocks, h, w)
            if i < levels - 1:
                x = self.aggregates[i](x)
        return self.norm(x).mean(dim=(-2, -1))

    def forward(self, flows, rois, key_mask, magnitudes) -> torch.Tensor:
        return self.forward_details(flows, rois, key_mask, magnitudes).logits

    def forward_details(self, flows, rois, key_mask, magnitudes) -> ModelOutput:
        check_inputs(flows, rois, key_mask, magnitudes, in_channels=self.in_channels)
        s = self.config.image_size
        face = apex_flow(flows, key_mask, magnitudes)[:, : self.needs_channels]
        face = F.interpolate(face, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        h = self.features(facial_regions(face))
        au = self.au_head(h) if self.au_head is not None else None
        return ModelOutput(logits=self.classifier(h), au_logits=au, embedding=h)


@register_model
def htnet(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None, num_aus: int = 0,
          size: str = "published", **cfg) -> HTNet:
    """HTNet-like baseline (ignores ``rois`` and ``prior``); ``size="tiny"`` for tests."""
    return HTNet(num_classes, in_channels, num_aus, size=size, **cfg)
