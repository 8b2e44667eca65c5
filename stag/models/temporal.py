"""The temporal branch: whole-face flow of each keyframe -> a token, temporal positions,
a transformer encoder over the keyframes, and attention pooling with a magnitude prior."""

from __future__ import annotations

import math

import torch
from torch import nn

from stag.models.layers import AttentionPool, GridPool, MagnitudePrior, TransformerBlock, conv_stage

POSITION_KINDS: tuple[str, ...] = ("learned", "sinusoidal")


class FrameEncoder(nn.Module):
    """Whole-face flow of one keyframe -> one token; downsamples by 4 in its first layer.

    Stages: 4x4 stride-4 patchify conv, two stride-2 convs (so /16 in all), adaptive pooling
    to a 4x4 grid, flatten (keeps the coarse face layout), linear to ``D``. Any ``H, W >= 16``.

    Args:
        in_channels (int): flow channels ``C``.
        dim (int): token width ``D``.
        width (int, optional): channels of the first stage (then x2, x4). (default: ``16``)

    Shapes:
        - **input:** ``(M, C, H, W)``.
        - **output:** ``(M, D)``.
    """

    def __init__(self, in_channels: int, dim: int, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(conv_stage(in_channels, width, 4, 4), conv_stage(width, 2 * width, 3, 2),
                                      conv_stage(2 * width, 4 * width, 3, 2), GridPool(4))
        self.proj = nn.Linear(4 * width * 16, dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(frames))


def sinusoidal_positions(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(length, dim)`` fixed sine/cosine positions of Vaswani et al. (any length)."""
    pos = torch.arange(length, device=device, dtype=dtype)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=dtype) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device, dtype=dtype)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return out


class TemporalPositions(nn.Module):
    """Adds a position code per keyframe slot: learned (up to ``max_len``) or sinusoidal (any ``K``).

    With ``K = 1`` (or, given ``key_mask``, one real keyframe) nothing is added: one keyframe
    has no order.

    Args:
        dim (int): token width ``D``.
        kind (str, optional): ``"learned"`` or ``"sinusoidal"``. (default: ``"learned"``)
        max_len (int, optional): largest ``K`` for learned positions. (default: ``32``)

    Shapes:
        - **input:** ``(B, K, D)``, optional key_mask ``(B, K)`` bool.
        - **output:** ``(B, K, D)``.
    """

    def __init__(self, dim: int, kind: str = "learned", max_len: int = 32):
        super().__init__()
        if kind not in POSITION_KINDS:
            raise ValueError(f"positions must be one of {POSITION_KINDS}, got {kind!r}")
        self.kind, self.max_len = kind, max_len
        self.table = nn.Parameter(torch.randn(max_len, dim) * 0.02) if kind == "learned" else None

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        k, d = x.shape[1], x.shape[2]
        if k == 1:  # a single keyframe has no order: a position would only be a constant bias
            return x
        if self.table is None:
            pos = sinusoidal_positions(k, d, x.device, x.dtype)
        elif k > self.max_len:
            raise ValueError(f"K={k} keyframes exceeds max_keyframes={self.max_len} of the learned positions; "
                             "build the model with a larger max_keyframes or positions='sinusoidal'")
        else:
            pos = self.table[:k]
        if key_mask is None:
            return x + pos
        # Clips padded from a single real keyframe get no position either, as when alone.
        ordered = (key_mask.sum(dim=1) > 1).to(x.dtype)[:, None, None]
        return x + ordered * pos


class TemporalEncoder(nn.Module):
    """Keyframe tokens contextualised over time by a transformer encoder (padding masked).

    Args:
        in_channels (int): flow channels ``C``.
        dim (int): token width ``D``.
        layers (int, optional): transformer blocks (``>= 1``). (default: ``2``)
        heads (int, optional): attention heads. (default: ``4``)
        ffn_ratio (float, optional): feed-forward width over ``D``. (default: ``2.0``)
        dropout (float, optional): dropout. (default: ``0.1``)
        positions (str, optional): ``"learned"`` or ``"sinusoidal"``. (default: ``"learned"``)
        max_keyframes (int, optional): largest ``K`` for learned positions. (default: ``32``)

    Shapes:
        - **input:** flows ``(B, K, C, H, W)``, key_mask ``(B, K)`` bool.
        - **output:** tokens ``(B, K, D)`` (padded slots carry values that nothing downstream
          reads: every attention and pooling masks them), and with
          ``return_attention_weights=True`` the last block's self-attention ``(B, heads, K, K)``.
    """

    def __init__(self, in_channels: int, dim: int, layers: int = 2, heads: int = 4, ffn_ratio: float = 2.0,
                 dropout: float = 0.1, positions: str = "learned", max_keyframes: int = 32):
        super().__init__()
        if layers < 1:
            raise ValueError(f"temporal layers must be >= 1, got {layers}")
        self.frame_encoder = FrameEncoder(in_channels, dim)
        self.positions = TemporalPositions(dim, positions, max_keyframes)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, ffn_ratio, dropout) for _ in range(layers))

    def forward(self, flows: torch.Tensor, key_mask: torch.Tensor, return_attention_weights: bool = False):
        b, k, c, h, w = flows.shape
        x = self.frame_encoder(flows.reshape(b * k, c, h, w)).view(b, k, -1)
        x = self.positions(x, key_mask)
        weights = None
        for block in self.blocks:
            x, weights = block(x, key_mask=key_mask, return_attention_weights=True)
        return (x, weights) if return_attention_weights else x


class TemporalAttentionPool(AttentionPool):
    r"""Pools keyframe tokens into the clip's temporal vector.

    Logits are a learned score plus, with a prior, :math:`s \log(m_k + \epsilon)` from the
    keyframe motion magnitudes; padded keyframes get weight exactly 0 and with a single
    real keyframe (``K = 1``) its weight is exactly 1.

    Args:
        dim (int): token width ``D``.
        prior (MagnitudePrior, optional): the magnitude prior, or ``None`` to pool on content only.

    Shapes:
        - **input:** tokens ``(B, K, D)``, key_mask ``(B, K)`` bool, magnitudes ``(B, K)``.
        - **output:** ``(B, D)`` and weights ``(B, K)``.
    """
