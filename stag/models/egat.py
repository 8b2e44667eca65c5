"""The graph branch: ROI patches cropped from the flow stack, a shared patch CNN, keyframe
pooling into ROI node features, and the enhanced graph attention (E-GAT) layers.

Nodes are the facial regions of interest of :mod:`stag.faces` (each tied to AUs);
edges come from :class:`stag.models.connectivity.AUGuidedAdjacency`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stag.models.layers import AttentionPool, FeedForward, GridPool, MagnitudePrior, MultiHeadAttention, conv_stage


def crop_rois(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Differentiable crop-and-resize of boxes with :func:`F.affine_grid` / :func:`F.grid_sample`.

    Box coordinates are continuous pixel edges: ``(0, 0, W, H)`` is the whole image, so a box
    ``(x0, y0, x1, y1)`` maps to normalised ``x = 2 x0 / W - 1 ... 2 x1 / W - 1`` (with
    ``align_corners=False``). Samples outside the image read zeros (zero flow). All boxes of a
    clip are sampled in one ``grid_sample`` call by stacking their grids vertically.

    Args:
        images: ``(B, C, H, W)``; for a flow stack pass ``(B, K*C, H, W)`` to crop every keyframe at once.
        boxes: ``(B, N, 4)`` boxes ``x0, y0, x1, y1`` in pixels.
        size: output patch side ``p``.

    Returns:
        ``(B, N, C, p, p)`` bilinear samples.
    """
    b, c, h, w = images.shape
    n = boxes.shape[1]
    x0, y0, x1, y1 = boxes.to(images.dtype).unbind(-1)
    theta = torch.zeros(b, n, 2, 3, dtype=images.dtype, device=images.device)
    theta[..., 0, 0] = (x1 - x0) / w
    theta[..., 0, 2] = (x0 + x1) / w - 1
    theta[..., 1, 1] = (y1 - y0) / h
    theta[..., 1, 2] = (y0 + y1) / h - 1
    grid = F.affine_grid(theta.reshape(b * n, 2, 3), [b * n, 1, size, size], align_corners=False)
    grid = grid.reshape(b, n * size, size, 2)
    patches = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return patches.reshape(b, c, n, size, size).transpose(1, 2)


class PatchEncoder(nn.Module):
    """Small CNN shared by every ROI patch of every keyframe.

    A stride-2 conv halves the patch at once (micro-expression flow is smooth, and there are
    ``N * K`` patches per clip, so the first activation map dominates the cost), a second conv
    mixes the 3x3 neighbourhoods, then the map is flattened (not globally pooled: where in the
    ROI the motion is matters, e.g. brow edge vs centre) and projected to ``D``.

    Args:
        in_channels (int): flow channels ``C``.
        dim (int): output width ``D``.
        width (int, optional): channels of both conv stages. (default: ``16``)
        grid (int, optional): side of the pooled map that is flattened. (default: ``4``)

    Shapes:
        - **input:** ``(M, C, p, p)`` patches, any ``p >= 4``.
        - **output:** ``(M, D)``.
    """

    def __init__(self, in_channels: int, dim: int, width: int = 16, grid: int = 4):
        super().__init__()
        self.features = nn.Sequential(conv_stage(in_channels, width, 3, 2), conv_stage(width, width, 3, 1),
                                      GridPool(grid))
        self.proj = nn.Linear(width * grid * grid, dim)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(patches))


class NodeEncoder(nn.Module):
    r"""ROI node features: crop every ROI from every keyframe, encode, add a learned ROI
    embedding, and pool over keyframes with attention (masked, optional magnitude prior).

    .. math:: h_{n,k} = \mathrm{CNN}(\mathrm{crop}(F_k, r_n)) + e_n,\qquad
              x_n = \textstyle\sum_k a_{n,k} h_{n,k}

    Args:
        in_channels (int): flow channels ``C``.
        num_rois (int): ROI count ``N`` (size of the ROI embedding table).
        dim (int): node width ``D``.
        patch_size (int, optional): side of the resampled ROI patch. (default: ``8``)
        magnitude_prior (MagnitudePrior, optional): prior for the keyframe pooling, or ``None``. (default: ``None``)

    Shapes:
        - **input:** flows ``(B, K, C, H, W)``, rois ``(B, N, 4)``, key_mask ``(B, K)``, magnitudes ``(B, K)``.
        - **output:** nodes ``(B, N, D)`` and keyframe weights ``(B, N, K)``.
    """

    def __init__(self, in_channels: int, num_rois: int, dim: int, patch_size: int = 8,
                 magnitude_prior: MagnitudePrior | None = None):
        super().__init__()
        if patch_size < 4:
            raise ValueError(f"patch_size must be >= 4, got {patch_size}")
        self.patch_size = patch_size
        self.patch_encoder = PatchEncoder(in_channels, dim)
        self.roi_embedding = nn.Parameter(torch.randn(num_rois, dim) * 0.02)
        self.pool = AttentionPool(dim, magnitude_prior)

    def forward(self, flows: torch.Tensor, rois: torch.Tensor, key_mask: torch.Tensor,
                magnitudes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, k, c, h, w = flows.shape
        n, p = rois.shape[1], self.patch_size
        patches = crop_rois(flows.reshape(b, k * c, h, w), rois, p)          # (B, N, K*C, p, p)
        feats = self.patch_encoder(patches.reshape(b * n * k, c, p, p)).view(b, n, k, -1)
        feats = feats + self.roi_embedding[:, None, :]
        mask = key_mask[:, None, :].expand(b, n, k)
        mags = magnitudes[:, None, :].expand(b, n, k)
        return self.pool(feats, mask, mags)


class EGATLayer(nn.Module):
    r"""Enhanced graph attention layer on a dense weighted graph.

    Message passing over all ROI pairs: project, score with a per-head edge bias from the
    adjacency, softmax over the neighbours ``j`` of each node ``i``, aggregate; then the
    "enhanced" parts, a residual connection, LayerNorm and a feed-forward network
    (pre-norm, as in a transformer block):

    .. math::
        \alpha^h_{ij} = \mathrm{softmax}_j\Big(\frac{q^h_i \cdot k^h_j}{\sqrt{d_h}}
                        + \beta_h \log(A_{ij} + \epsilon)\Big)

    so a zero edge is (almost) cut, ``A = 1`` everywhere is plain self-attention, and the
    learned ``beta_h`` lets each head decide how strictly to follow the graph. Without
    positional terms the layer is permutation-equivariant: permuting nodes and adjacency
    permutes the output.

    Args:
        dim (int): node width ``D``.
        heads (int, optional): attention heads. (default: ``4``)
        ffn_ratio (float, optional): feed-forward hidden width over ``D``. (default: ``2.0``)
        dropout (float, optional): dropout on attention weights and residual branches. (default: ``0.1``)
        eps (float, optional): floor inside the log of the edge bias. (default: ``1e-4``)

    Shapes:
        - **input:** x ``(B, N, D)``, adjacency ``(B, N, N)`` non-negative (row ``i``: edges into ``i``).
        - **output:** ``(B, N, D)``, and with ``return_attention_weights=True`` also ``(B, heads, N, N)``.
    """

    def __init__(self, dim: int, heads: int = 4, ffn_ratio: float = 2.0, dropout: float = 0.1, eps: float = 1e-4):
        super().__init__()
        self.eps = eps
        self.edge_scale = nn.Parameter(torch.ones(heads))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_ratio, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, return_attention_weights: bool = False):
        bias = self.edge_scale.view(1, -1, 1, 1) * torch.log(adjacency.clamp_min(0) + self.eps).unsqueeze(1)
        h = self.norm1(x)
        h, weights = self.attn(h, h, bias=bias, return_attention_weights=True)
        x = x + self.drop(h)
        x = x + self.drop(self.ffn(self.norm2(x)))
        return (x, weights) if return_attention_weights else x


class EGAT(nn.Module):
    """A stack of :class:`EGATLayer` sharing one adjacency.

    Args:
        dim (int): node width ``D``.
        layers (int, optional): number of layers (``>= 1``). (default: ``2``)
        heads, ffn_ratio, dropout: as in :class:`EGATLayer`.

    Shapes:
        - **input:** x ``(B, N, D)``, adjacency ``(B, N, N)``.
        - **output:** ``(B, N, D)``, and with ``return_attention_weights=True`` the last layer's
          weights ``(B, heads, N, N)``.
    """

    def __init__(self, dim: int, layers: int = 2, heads: int = 4, ffn_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        if layers < 1:
            raise ValueError(f"graph layers must be >= 1, got {layers}")
        self.layers = nn.ModuleList(EGATLayer(dim, heads, ffn_ratio, dropout) for _ in range(layers))

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, return_attention_weights: bool = False):
        weights = None
        for layer in self.layers:
            x, weights = layer(x, adjacency, return_attention_weights=True)
        return (x, weights) if return_attention_weights else x
