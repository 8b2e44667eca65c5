"""What every model returns from ``forward_details``: one dataclass, ``None`` where absent."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class ModelOutput:
    """Everything a model computes for a batch, for training, plots and attribution.

    Attributes:
        logits: ``(B, num_classes)`` emotion logits (what ``model(...)`` returns).
        au_logits: ``(B, num_aus)`` action-unit logits (multi-label), or ``None`` without an AU head.
        adjacency: ``(B, N, N)`` AU-guided adjacency the graph layers used (row ``i`` = edges
            into ROI ``i``), or ``None`` without a graph branch.
        graph_attention: ``(B, heads, N, N)`` attention of the last graph layer, rows sum to 1.
        temporal_attention: ``(B, K)`` weights of the temporal pooling over keyframes
            (0 on padding, rows sum to 1), or ``None`` without a temporal branch.
        node_embeddings: ``(B, N, D)`` ROI node embeddings after the graph (and cross-attention) layers.
        node_keyframe_attention: ``(B, N, K)`` per-ROI weights pooling keyframes into node features.
        node_attention: ``(B, N)`` readout weights of the ROI nodes into the graph vector.
        cross_graph_to_time: ``(B, heads, N, K)`` last cross-attention layer, ROI queries over keyframes.
        cross_time_to_graph: ``(B, heads, K, N)`` last cross-attention layer, keyframe queries over ROIs.
        fusion_gate: ``(B, D)`` gate of the fusion, the share of the graph vector in the embedding.
        embedding: ``(B, D)`` the fused clip embedding fed to the heads.
    """

    logits: torch.Tensor
    au_logits: torch.Tensor | None = None
    adjacency: torch.Tensor | None = None
    graph_attention: torch.Tensor | None = None
    temporal_attention: torch.Tensor | None = None
    node_embeddings: torch.Tensor | None = None
    node_keyframe_attention: torch.Tensor | None = None
    node_attention: torch.Tensor | None = None
    cross_graph_to_time: torch.Tensor | None = None
    cross_time_to_graph: torch.Tensor | None = None
    fusion_gate: torch.Tensor | None = None
    embedding: torch.Tensor | None = None

    def detach(self) -> "ModelOutput":
        """A copy with every tensor detached and moved to the CPU (for plotting)."""
        return ModelOutput(**{f.name: (None if getattr(self, f.name) is None
                                       else getattr(self, f.name).detach().cpu()) for f in fields(self)})

    def available(self) -> list[str]:
        """Names of the fields this model filled."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]
