"""Building blocks shared by the branches: attention with bias and masks, feed-forward,
pre-norm transformer block, attention pooling with an optional magnitude prior, conv stages.

Attention is written out (project, score, softmax, aggregate) rather than hidden in
:func:`torch.nn.functional.scaled_dot_product_attention`, because every caller needs the
weights back for plots and attribution, and the sequences here are short (N ~ 12 ROIs, K <= 32).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def drop_bias(layer: nn.Module) -> nn.Module:
    """``layer`` without its bias (``layer.bias`` is ``None``).

    For a bias that no loss can move (a key projection's, which softmax removes; a convolution's
    followed by BatchNorm, which the batch mean removes). The layer is built with its bias and
    the bias then dropped, so that it still draws its random initial values: every later
    parameter starts where it did in the runs recorded before the bias was removed, and their
    folds still reproduce.
    """
    layer.register_parameter("bias", None)
    return layer


def drop_state_keys(state_dict: dict, prefix: str, names) -> None:
    """Remove ``prefix + name`` for each of ``names`` from ``state_dict`` (checkpoints saved while
    a dropped bias (:func:`drop_bias`) still existed load without it)."""
    for name in names:
        state_dict.pop(prefix + name, None)


class MultiHeadAttention(nn.Module):
    r"""Multi-head scaled dot-product attention with an additive bias and a key mask.

    .. math::
        \alpha^h_{ij} = \mathrm{softmax}_j\Big(\frac{(W_q x_i)^h \cdot (W_k y_j)^h}{\sqrt{d_h}}
        + b^h_{ij}\Big), \qquad o_i = W_o \big\Vert_h \sum_j \alpha^h_{ij} (W_v y_j)^h

    Args:
        dim (int): token width ``D`` (queries and keys).
        heads (int, optional): number of heads; must divide ``dim``. (default: ``4``)
        dropout (float, optional): dropout on the attention weights. (default: ``0.0``)

    Shapes:
        - **input:** query ``(B, Lq, D)``, key ``(B, Lk, D)``, optional value ``(B, Lk, D)``
          (defaults to key), bias broadcastable to ``(B, heads, Lq, Lk)``, key_mask ``(B, Lk)``
          bool (``True`` = attend).
        - **output:** ``(B, Lq, D)``, and with ``return_attention_weights=True`` also the
          weights ``(B, heads, Lq, Lk)`` (before dropout; rows sum to 1, 0 on masked keys).

    The key projection has no bias: it would add ``q_i . b_k`` to every logit of query ``i``,
    which the softmax over keys removes, so it could never learn (:mod:`stag.models.liveness`).
    """

    def __init__(self, dim: int, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"heads={heads} must divide dim={dim}")
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = drop_bias(nn.Linear(dim, dim))
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        drop_state_keys(state_dict, prefix, ["k.bias"])  # checkpoints made before the bias was dropped
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor | None = None, *,
                bias: torch.Tensor | None = None, key_mask: torch.Tensor | None = None,
                return_attention_weights: bool = False):
        value = key if value is None else value
        b, lq, _ = query.shape
        lk = key.shape[1]
        q = self.q(query).view(b, lq, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(key).view(b, lk, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(value).view(b, lk, self.heads, self.head_dim).transpose(1, 2)
        logits = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        if bias is not None:
            logits = logits + bias
        if key_mask is not None:
            logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        weights = logits.softmax(dim=-1)
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, lq, self.dim)
        out = self.out(out)
        return (out, weights) if return_attention_weights else out


class FeedForward(nn.Sequential):
    """Two-layer MLP ``D -> ratio*D -> D`` with GELU, the position-wise half of a transformer block."""

    def __init__(self, dim: int, ratio: float = 2.0, dropout: float = 0.0):
        hidden = max(1, int(round(dim * ratio)))
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + Attn(LN(x))`` then ``x + FFN(LN(x))``.

    Args:
        dim (int): token width ``D``.
        heads (int, optional): attention heads. (default: ``4``)
        ffn_ratio (float, optional): hidden width of the feed-forward part over ``D``. (default: ``2.0``)
        dropout (float, optional): dropout on attention weights and residual branches. (default: ``0.1``)

    Shapes:
        - **input:** x ``(B, L, D)``, optional bias broadcastable to ``(B, heads, L, L)``,
          optional key_mask ``(B, L)`` bool.
        - **output:** ``(B, L, D)`` (and the weights ``(B, heads, L, L)`` on request).
    """

    def __init__(self, dim: int, heads: int = 4, ffn_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_ratio, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, *, bias: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None, return_attention_weights: bool = False):
        h = self.norm1(x)
        h, weights = self.attn(h, h, bias=bias, key_mask=key_mask, return_attention_weights=True)
        x = x + self.drop(h)
        x = x + self.drop(self.ffn(self.norm2(x)))
        return (x, weights) if return_attention_weights else x


class MagnitudePrior(nn.Module):
    r"""Additive log-prior from keyframe motion magnitudes: ``s * log(m + eps)``.

    Added to attention logits over keyframes, it multiplies the attention by ``(m + eps)^s``:
    frames that move more (closer to the apex) start with more weight, and the learned
    strength ``s`` (initialised to 1) lets training keep or relax the prior.

    Args:
        eps (float, optional): floor that keeps a still frame (``m = 0``) at a finite logit. (default: ``0.05``)

    Shapes:
        - **input:** magnitudes ``(B, K)`` (``>= 0``, normalised to max 1 per clip).
        - **output:** ``(B, K)`` logit offsets.
    """

    def __init__(self, eps: float = 0.05):
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.eps = eps
        self.strength = nn.Parameter(torch.ones(()))

    def forward(self, magnitudes: torch.Tensor) -> torch.Tensor:
        return self.strength * torch.log(magnitudes.clamp_min(0) + self.eps)


class AttentionPool(nn.Module):
    r"""Attention pooling of a set of tokens into one vector, with optional mask and prior.

    .. math::
        a_k = \mathrm{softmax}_k\big(w^\top \tanh(W x_k) + \mathrm{prior}(m)_k\big)
        \;\text{over valid } k, \qquad y = \textstyle\sum_k a_k x_k

    With one valid token its weight is exactly 1. With a single token slot (``L = 1``, e.g.
    one keyframe) the pooling is the identity, so the score and the prior leave the
    computation instead of producing a constant weight.

    Args:
        dim (int): token width ``D``.
        prior (MagnitudePrior, optional): added to the logits when given, else ``None``. (default: ``None``)

    Shapes:
        - **input:** x ``(..., L, D)``, optional mask ``(..., L)`` bool, magnitudes ``(..., L)``
          (needed only with a prior).
        - **output:** pooled ``(..., D)`` and weights ``(..., L)``.
    """

    def __init__(self, dim: int, prior: MagnitudePrior | None = None):
        super().__init__()
        # No bias on the last layer: softmax is shift-invariant, so it would never learn.
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1, bias=False))
        self.prior = prior

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                magnitudes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[-2] == 1:  # one slot: nothing to weigh (the prior would be a constant)
            return x[..., 0, :], torch.ones(x.shape[:-1], dtype=x.dtype, device=x.device)
        logits = self.score(x).squeeze(-1)
        if self.prior is not None:
            if magnitudes is None:
                raise ValueError("AttentionPool with a magnitude prior needs magnitudes")
            logits = logits + self.prior(magnitudes)
        if mask is not None:
            logits = logits.masked_fill(~mask, float("-inf"))
        weights = logits.softmax(dim=-1)
        return (weights.unsqueeze(-1) * x).sum(dim=-2), weights


def conv_stage(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    """Conv -> GroupNorm -> GELU. GroupNorm, not BatchNorm: the output of a clip must not
    depend on the other clips of its batch or on padded keyframes."""
    groups = math.gcd(cout, 8)
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel - stride + 1) // 2),
                         nn.GroupNorm(groups, cout), nn.GELU())


class GridPool(nn.Module):
    """Average-pool a map to ``grid x grid`` and flatten; the identity when it already has that size
    (``adaptive_avg_pool2d`` is not free even then, and these maps are tiny and many).

    Shapes:
        - **input:** ``(M, C, H, W)``.
        - **output:** ``(M, C * grid * grid)``.
    """

    def __init__(self, grid: int):
        super().__init__()
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.grid, self.grid):
            x = nn.functional.adaptive_avg_pool2d(x, self.grid)
        return x.flatten(1)
