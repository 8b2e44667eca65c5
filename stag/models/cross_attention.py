"""Fusion of the two branches: bidirectional cross-attention between ROI tokens and keyframe
tokens, then a gated fusion of the pooled graph and temporal vectors."""

from __future__ import annotations

import torch
from torch import nn

from stag.models.layers import FeedForward, MultiHeadAttention


class CrossAttentionLayer(nn.Module):
    r"""One bidirectional cross-attention layer (pre-norm, residual, feed-forward per side).

    Both directions read the *input* tokens, so the update is symmetric:

    .. math::
        G' = G + \mathrm{Attn}(G \to T),\quad T' = T + \mathrm{Attn}(T \to G),\quad
        G'' = G' + \mathrm{FFN}(G'),\quad T'' = T' + \mathrm{FFN}(T')

    A ROI query asks "when did this region move?", a keyframe query asks "where did the face
    move in this frame?". Padded keyframes are masked as keys. With a single keyframe
    (``K = 1``, e.g. onset-to-apex flow only) the graph->time direction has only one key and
    would give every ROI the same vector, so it is skipped (its map is all ones; a clip padded
    from one real keyframe gets no graph->time update either); time->graph,
    where the keyframe attends over the ROIs, still runs.

    Args:
        dim (int): token width ``D``.
        heads (int, optional): attention heads. (default: ``4``)
        ffn_ratio (float, optional): feed-forward width over ``D``. (default: ``2.0``)
        dropout (float, optional): dropout. (default: ``0.1``)

    Shapes:
        - **input:** graph tokens ``(B, N, D)``, temporal tokens ``(B, K, D)``, key_mask ``(B, K)`` bool.
        - **output:** graph ``(B, N, D)``, temporal ``(B, K, D)``, and with
          ``return_attention_weights=True`` the maps graph->time ``(B, heads, N, K)`` and
          time->graph ``(B, heads, K, N)``.
    """

    def __init__(self, dim: int, heads: int = 4, ffn_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        self.norm_g = nn.LayerNorm(dim)
        self.norm_t = nn.LayerNorm(dim)
        self.graph_to_time = MultiHeadAttention(dim, heads, dropout)
        self.time_to_graph = MultiHeadAttention(dim, heads, dropout)
        self.ffn_g = nn.Sequential(nn.LayerNorm(dim), FeedForward(dim, ffn_ratio, dropout))
        self.ffn_t = nn.Sequential(nn.LayerNorm(dim), FeedForward(dim, ffn_ratio, dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, graph: torch.Tensor, temporal: torch.Tensor, key_mask: torch.Tensor,
                return_attention_weights: bool = False):
        g, t = self.norm_g(graph), self.norm_t(temporal)
        dt, w_tg = self.time_to_graph(t, g, return_attention_weights=True)
        if temporal.shape[1] == 1:
            # One keyframe: graph->time would hand every ROI the same vector, so it leaves the
            # computation (each ROI's single keyframe weight is 1 by definition).
            b, n = graph.shape[:2]
            w_gt = graph.new_ones(b, self.graph_to_time.heads, n, 1)
        else:
            dg, w_gt = self.graph_to_time(g, t, key_mask=key_mask, return_attention_weights=True)
            several = (key_mask.sum(dim=1) > 1).to(dg.dtype)[:, None, None]  # padded K = 1 clips too
            graph = graph + self.drop(dg) * several
        temporal = temporal + self.drop(dt)
        graph = graph + self.drop(self.ffn_g(graph))
        temporal = temporal + self.drop(self.ffn_t(temporal))
        if return_attention_weights:
            return graph, temporal, w_gt, w_tg
        return graph, temporal


class BidirectionalCrossAttention(nn.Module):
    """A stack of :class:`CrossAttentionLayer`.

    Args:
        dim (int): token width ``D``.
        layers (int, optional): number of layers (``>= 1``). (default: ``1``)
        heads, ffn_ratio, dropout: as in :class:`CrossAttentionLayer`.

    Shapes:
        - **input:** graph ``(B, N, D)``, temporal ``(B, K, D)``, key_mask ``(B, K)``.
        - **output:** graph ``(B, N, D)``, temporal ``(B, K, D)``, and on request the last
          layer's maps ``(B, heads, N, K)`` and ``(B, heads, K, N)``.
    """

    def __init__(self, dim: int, layers: int = 1, heads: int = 4, ffn_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        if layers < 1:
            raise ValueError(f"cross-attention layers must be >= 1, got {layers}")
        self.layers = nn.ModuleList(CrossAttentionLayer(dim, heads, ffn_ratio, dropout) for _ in range(layers))

    def forward(self, graph: torch.Tensor, temporal: torch.Tensor, key_mask: torch.Tensor,
                return_attention_weights: bool = False):
        w_gt = w_tg = None
        for layer in self.layers:
            graph, temporal, w_gt, w_tg = layer(graph, temporal, key_mask, return_attention_weights=True)
        if return_attention_weights:
            return graph, temporal, w_gt, w_tg
        return graph, temporal


class GatedFusion(nn.Module):
    r"""Concatenate the graph and temporal vectors, predict a per-feature gate, mix:

    .. math:: z = \sigma(W [g \Vert t] + b), \qquad y = z \odot g + (1 - z) \odot t

    ``z`` near 1 means the feature comes from the graph branch.

    Args:
        dim (int): width ``D`` of both vectors.

    Shapes:
        - **input:** g ``(B, D)``, t ``(B, D)``.
        - **output:** fused ``(B, D)`` and gate ``(B, D)``.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.gate = nn.Linear(2 * dim, dim)

    def forward(self, g: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.sigmoid(self.gate(torch.cat([g, t], dim=-1)))
        return z * g + (1 - z) * t, z
