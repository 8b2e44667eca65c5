"""AU-guided dynamic connectivity: the adjacency between ROI nodes.

The prior says which ROIs move together (AU co-occurrence between the regions, from
:func:`stag.faces.au_prior_adjacency`); the dynamic part re-weights those edges
per clip from the node features, so a clip whose brows and mouth corners move together
strengthens that edge.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

ADJACENCY_MODES: tuple[str, ...] = ("dynamic", "prior", "full", "identity")


def default_prior(num_rois: int) -> np.ndarray:
    """Identity plus uniform: ``1`` on the diagonal, ``0.5`` elsewhere (every edge allowed,
    self-loops favoured). Used when no AU co-occurrence prior is given."""
    return (0.5 * (np.eye(num_rois) + np.ones((num_rois, num_rois)))).astype(np.float32)


def normalise_prior(prior, num_rois: int) -> torch.Tensor:
    """Check a prior adjacency and scale it to ``[0, 1]`` with a unit diagonal.

    Args:
        prior: ``(N, N)`` array-like of non-negative finite weights, or ``None`` for
            :func:`default_prior`.
        num_rois: the expected ``N``.

    Returns:
        ``(N, N)`` float32 tensor.
    """
    if prior is None:
        return torch.from_numpy(default_prior(num_rois))
    p = torch.as_tensor(np.asarray(prior, dtype=np.float32))
    if p.shape != (num_rois, num_rois):
        raise ValueError(f"prior adjacency must be ({num_rois}, {num_rois}) for num_rois={num_rois}, got {tuple(p.shape)}")
    if not torch.isfinite(p).all() or (p < 0).any():
        raise ValueError("prior adjacency must be finite and non-negative")
    top = p.max()
    p = p / top if top > 0 else p
    p.fill_diagonal_(1.0)  # a ROI always keeps its own features
    return p


def top_k_rows(adjacency: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest entries of each row (the self-loop always kept), zero the rest.

    Args:
        adjacency: ``(B, N, N)``.
        k: edges kept per row, ``1 <= k``; ``k >= N`` keeps everything.
    """
    n = adjacency.shape[-1]
    if k >= n:
        return adjacency
    eye = torch.eye(n, dtype=torch.bool, device=adjacency.device)
    # Rank the self-loop first so it is always among the kept k.
    ranked = adjacency.masked_fill(eye, float("inf"))
    idx = ranked.topk(k, dim=-1).indices
    keep = torch.zeros_like(adjacency, dtype=torch.bool).scatter_(-1, idx, True)
    return adjacency * keep


class FeatureSimilarityGate(nn.Module):
    r"""Per-sample edge gate from node features: ``g_ij = 2 sigma(q_i . k_j / sqrt(d) + b)``.

    Features are layer-normalised first so the similarity is on a fixed scale. With
    ``q . k = 0`` the gate is exactly 1 (``A = P``); training learns to strengthen an edge
    (up to x2) or cut it.

    Args:
        dim (int): node width ``D``.
        proj_dim (int, optional): width of the similarity projections. (default: ``16``)

    Shapes:
        - **input:** ``(B, N, D)``.
        - **output:** ``(B, N, N)`` in ``(0, 2)``.
    """

    def __init__(self, dim: int, proj_dim: int = 16):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, proj_dim)
        self.k = nn.Linear(dim, proj_dim)
        self.bias = nn.Parameter(torch.zeros(()))
        self.scale = 1.0 / math.sqrt(proj_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return 2.0 * torch.sigmoid(self.q(x) @ self.k(x).transpose(-1, -2) * self.scale + self.bias)


class AUGuidedAdjacency(nn.Module):
    r"""Adjacency between ROI nodes, one of four modes.

    - ``"dynamic"``: :math:`A_{ij} = P_{ij}\, g_{ij}(x)`, the AU prior re-weighted per clip by
      a learned gate on node-feature similarity (:class:`FeatureSimilarityGate`).
    - ``"prior"``: :math:`A = P`, static AU co-occurrence prior.
    - ``"full"``: all ones (plain self-attention over ROIs).
    - ``"identity"``: self-loops only (no message passing between ROIs).

    ``top_k`` optionally keeps only the ``k`` strongest edges per row (self-loop included).

    Args:
        num_rois (int): ``N``.
        dim (int): node width ``D`` (used by the gate).
        prior (array-like, optional): ``(N, N)`` non-negative AU prior; ``None`` gives
            :func:`default_prior`. Scaled to max 1 with a unit diagonal. (default: ``None``)
        mode (str, optional): one of :data:`ADJACENCY_MODES`. (default: ``"dynamic"``)
        top_k (int, optional): edges kept per row, or ``None`` for all. (default: ``None``)

    Shapes:
        - **input:** node features ``(B, N, D)``.
        - **output:** ``(B, N, N)`` non-negative.
    """

    def __init__(self, num_rois: int, dim: int, prior=None, mode: str = "dynamic", top_k: int | None = None):
        super().__init__()
        if mode not in ADJACENCY_MODES:
            raise ValueError(f"adjacency must be one of {ADJACENCY_MODES}, got {mode!r}")
        if top_k is not None and not 1 <= top_k:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        self.mode, self.top_k = mode, top_k
        if mode == "full":
            base = torch.ones(num_rois, num_rois)
        elif mode == "identity":
            base = torch.eye(num_rois)
        else:
            base = normalise_prior(prior, num_rois)
        self.register_buffer("base", base)
        self.gate = FeatureSimilarityGate(dim) if mode == "dynamic" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        if n != self.base.shape[0]:
            raise ValueError(f"adjacency built for {self.base.shape[0]} ROIs, got {n} nodes")
        adjacency = self.base.expand(b, n, n)
        if self.gate is not None:
            adjacency = adjacency * self.gate(x)
        if self.top_k is not None:
            adjacency = top_k_rows(adjacency, self.top_k)
        return adjacency

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, top_k={self.top_k}"
