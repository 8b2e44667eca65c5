"""STAG (Singh, Sharma and Sharma, 2026): the spatio-temporal AU-graph network, assembled from its branches.

::

    flows (B,K,C,H,W), rois (B,N,4), key_mask (B,K), magnitudes (B,K)
      |-- graph branch:    NodeEncoder (crop every ROI of every keyframe -> patch CNN -> keyframe pool)
      |                    -> AUGuidedAdjacency (AU prior x feature gate) -> EGAT layers  -> ROI tokens (B,N,D)
      '-- temporal branch: TemporalEncoder (frame CNN -> positions -> transformer)       -> keyframe tokens (B,K,D)
    ROI tokens <-> keyframe tokens: BidirectionalCrossAttention
    ROI readout (attention over ROIs), TemporalAttentionPool (magnitude prior)
      -> GatedFusion -> LayerNorm -> emotion head (+ AU head)

Each ablation switch removes a submodule (it becomes ``None``); ``forward`` follows what exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from stag.faces import ROI_TABLE, au_prior_adjacency
from stag.models.connectivity import ADJACENCY_MODES, AUGuidedAdjacency
from stag.models.cross_attention import BidirectionalCrossAttention, GatedFusion
from stag.models.egat import EGAT, NodeEncoder
from stag.models.inputs import check_inputs
from stag.models.layers import AttentionPool, MagnitudePrior
from stag.models.output import ModelOutput
from stag.models.registry import register_model
from stag.models.temporal import POSITION_KINDS, TemporalAttentionPool, TemporalEncoder


@dataclass
class STAGConfig:
    """Configuration of :class:`STAG`; every field is a plain value (JSON-serialisable).

    Attributes:
        num_classes: emotion classes.
        in_channels: flow channels ``C`` (u, v, strain[, magnitude]).
        num_rois: ROI nodes ``N``.
        num_aus: outputs of the auxiliary AU head; ``0`` removes it.
        dim: token/node width ``D``.
        heads: attention heads everywhere (must divide ``dim``).
        graph_layers, temporal_layers, cross_layers: depth of each part.
        ffn_ratio: feed-forward hidden width over ``dim``.
        dropout: dropout in attention and residual branches, and before the heads.
        patch_size: side of the resampled ROI patches.
        positions: temporal positions, ``"learned"`` or ``"sinusoidal"``.
        max_keyframes: largest ``K`` for learned positions.
        adjacency: ``"dynamic"`` (AU prior x learned gate), ``"prior"`` (static), ``"full"``, ``"identity"``.
        top_k: keep only the ``k`` strongest edges per ROI, or ``None``.
        use_graph: the ROI graph branch (False: temporal branch only).
        use_temporal: the temporal transformer branch (False: graph branch only).
        cross_attention: bidirectional cross-attention between the branches (False: late fusion).
        magnitude_prior: add the keyframe-magnitude log-prior to keyframe attention (node and temporal pooling).
        prior_eps: floor of the magnitude prior, ``log(m + eps)``.
    """

    num_classes: int = 3
    in_channels: int = 3
    num_rois: int = 16  # len(stag.faces.ROI_TABLE); build() reads it from the table
    num_aus: int = 0
    dim: int = 64
    heads: int = 4
    graph_layers: int = 2
    temporal_layers: int = 2
    cross_layers: int = 1
    ffn_ratio: float = 2.0
    dropout: float = 0.1
    patch_size: int = 8
    positions: str = "learned"
    max_keyframes: int = 32
    adjacency: str = "dynamic"
    top_k: int | None = None
    use_graph: bool = True
    use_temporal: bool = True
    cross_attention: bool = True
    magnitude_prior: bool = True
    prior_eps: float = 0.05

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"STAGConfig: {msg}")
        need(self.num_classes >= 2, f"num_classes must be >= 2, got {self.num_classes}")
        need(self.in_channels >= 1, f"in_channels must be >= 1, got {self.in_channels}")
        need(self.num_rois >= 1, f"num_rois must be >= 1, got {self.num_rois}")
        need(self.num_aus >= 0, f"num_aus must be >= 0, got {self.num_aus}")
        need(self.dim >= 1 and self.heads >= 1 and self.dim % self.heads == 0,
             f"heads={self.heads} must divide dim={self.dim}")
        for name in ("graph_layers", "temporal_layers", "cross_layers", "max_keyframes"):
            need(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        need(self.ffn_ratio > 0, f"ffn_ratio must be > 0, got {self.ffn_ratio}")
        need(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        need(self.patch_size >= 4, f"patch_size must be >= 4, got {self.patch_size}")
        need(self.positions in POSITION_KINDS, f"positions must be one of {POSITION_KINDS}, got {self.positions!r}")
        need(self.adjacency in ADJACENCY_MODES, f"adjacency must be one of {ADJACENCY_MODES}, got {self.adjacency!r}")
        need(self.top_k is None or self.top_k >= 1, f"top_k must be >= 1 or None, got {self.top_k}")
        need(self.use_graph or self.use_temporal, "use_graph and use_temporal cannot both be False")
        need(not self.cross_attention or (self.use_graph and self.use_temporal),
             "cross_attention=True needs both branches; set cross_attention=False with use_graph/use_temporal=False")
        need(self.prior_eps > 0, f"prior_eps must be > 0, got {self.prior_eps}")

    def to_dict(self) -> dict:
        return asdict(self)


class STAG(nn.Module):
    """STAG: a spatio-temporal graph over AU regions (Spatio-temporal Evolving Structural Representation of Action Units).

    Args:
        config (STAGConfig, optional): the configuration; keyword arguments override its
            fields (``STAG(use_graph=False, cross_attention=False)``). (default: ``STAGConfig()``)
        prior (array-like, optional): ``(N, N)`` AU co-occurrence prior of the adjacency;
            ``None`` gives identity + uniform. Stored as a buffer. (default: ``None``)

    Shapes:
        - **input:** flows ``(B, K, C, H, W)`` float, rois ``(B, N, 4)`` boxes in flow pixels,
          key_mask ``(B, K)`` bool (``True`` = real keyframe), magnitudes ``(B, K)``; any
          ``H, W >= 16`` and ``K >= 1`` (``K <= max_keyframes`` with learned positions).
        - **output:** ``forward`` gives logits ``(B, num_classes)``; ``forward_details`` a
          :class:`ModelOutput`.
    """

    def __init__(self, config: STAGConfig | None = None, *, prior=None, **overrides):
        super().__init__()
        cfg = replace(config or STAGConfig(), **overrides) if overrides else (config or STAGConfig())
        self.config = cfg
        d, h, r, p = cfg.dim, cfg.heads, cfg.ffn_ratio, cfg.dropout

        def mag_prior() -> MagnitudePrior | None:
            return MagnitudePrior(cfg.prior_eps) if cfg.magnitude_prior else None

        # Graph branch.
        self.node_encoder = NodeEncoder(cfg.in_channels, cfg.num_rois, d, cfg.patch_size, mag_prior()) \
            if cfg.use_graph else None
        self.connectivity = AUGuidedAdjacency(cfg.num_rois, d, prior, cfg.adjacency, cfg.top_k) \
            if cfg.use_graph else None
        self.graph = EGAT(d, cfg.graph_layers, h, r, p) if cfg.use_graph else None
        self.graph_readout = AttentionPool(d) if cfg.use_graph else None
        # Temporal branch.
        self.temporal = TemporalEncoder(cfg.in_channels, d, cfg.temporal_layers, h, r, p, cfg.positions,
                                        cfg.max_keyframes) if cfg.use_temporal else None
        self.temporal_pool = TemporalAttentionPool(d, mag_prior()) if cfg.use_temporal else None
        # Fusion.
        self.cross = BidirectionalCrossAttention(d, cfg.cross_layers, h, r, p) if cfg.cross_attention else None
        self.fusion = GatedFusion(d) if (cfg.use_graph and cfg.use_temporal) else None
        # Heads.
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(p)
        self.head = nn.Linear(d, cfg.num_classes)
        self.au_head = nn.Linear(d, cfg.num_aus) if cfg.num_aus > 0 else None

    def forward(self, flows: torch.Tensor, rois: torch.Tensor, key_mask: torch.Tensor,
                magnitudes: torch.Tensor) -> torch.Tensor:
        return self.forward_details(flows, rois, key_mask, magnitudes).logits

    def forward_details(self, flows: torch.Tensor, rois: torch.Tensor, key_mask: torch.Tensor,
                        magnitudes: torch.Tensor) -> ModelOutput:
        cfg = self.config
        check_inputs(flows, rois, key_mask, magnitudes, in_channels=cfg.in_channels,
                     num_rois=cfg.num_rois if cfg.use_graph else None)
        magnitudes = magnitudes.to(flows.dtype)
        out = {}
        nodes = tokens = None
        if self.node_encoder is not None:
            nodes, out["node_keyframe_attention"] = self.node_encoder(flows, rois, key_mask, magnitudes)
            out["adjacency"] = self.connectivity(nodes)
            nodes, out["graph_attention"] = self.graph(nodes, out["adjacency"], return_attention_weights=True)
        if self.temporal is not None:
            tokens = self.temporal(flows, key_mask)
        if self.cross is not None:
            nodes, tokens, out["cross_graph_to_time"], out["cross_time_to_graph"] = self.cross(
                nodes, tokens, key_mask, return_attention_weights=True)
        g = t = None
        if nodes is not None:
            out["node_embeddings"] = nodes
            g, out["node_attention"] = self.graph_readout(nodes)
        if tokens is not None:
            t, out["temporal_attention"] = self.temporal_pool(tokens, key_mask, magnitudes)
        if self.fusion is not None:
            emb, out["fusion_gate"] = self.fusion(g, t)
        else:
            emb = g if g is not None else t
        emb = self.norm(emb)
        logits = self.head(self.drop(emb))
        au_logits = self.au_head(self.drop(emb)) if self.au_head is not None else None
        return ModelOutput(logits=logits, au_logits=au_logits, embedding=emb, **out)


def resolve_prior(num_rois: int | None, prior):
    """Resolve ``(num_rois, prior)`` from what :func:`~stag.models.build` was given.

    ``prior="au"`` loads :func:`stag.faces.au_prior_adjacency`; ``num_rois=None``
    takes ``N`` from the prior, else from the ROI table :data:`stag.faces.ROI_TABLE`.
    """
    if isinstance(prior, str):
        if prior != "au":
            raise ValueError(f"prior must be an (N, N) array, 'au' or None, got {prior!r}")
        prior = au_prior_adjacency()
    if num_rois is None:
        if prior is not None:
            num_rois = len(prior)
        else:
            num_rois = len(ROI_TABLE)
    return int(num_rois), prior


def _build_stag(name: str, fixed: dict, num_classes: int, in_channels: int, num_rois: int | None, prior,
                num_aus: int, **cfg) -> STAG:
    for key, value in fixed.items():
        if key in cfg and cfg[key] != value:
            raise ValueError(f"model {name!r} fixes {key}={value!r}; build 'stag' with {key}={cfg[key]!r} instead")
    num_rois, prior = resolve_prior(num_rois, prior)
    fields = {**cfg, **fixed}
    unknown = set(fields) - set(STAGConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown STAG option(s) {sorted(unknown)}; expected fields of STAGConfig: "
                         f"{', '.join(STAGConfig.__dataclass_fields__)}")
    config = STAGConfig(num_classes=num_classes, in_channels=in_channels, num_rois=num_rois, num_aus=num_aus, **fields)
    return STAG(config, prior=prior)


@register_model
def stag(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None, num_aus: int = 0,
         **cfg) -> STAG:
    """Full STAG: graph + temporal branches, cross-attention, dynamic adjacency, magnitude prior."""
    return _build_stag("stag", {}, num_classes, in_channels, num_rois, prior, num_aus, **cfg)


@register_model
def stag_no_graph(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                  num_aus: int = 0, **cfg) -> STAG:
    """Ablation: temporal branch only (no ROI graph, hence no cross-attention)."""
    return _build_stag("stag_no_graph", {"use_graph": False, "cross_attention": False},
                       num_classes, in_channels, num_rois, prior, num_aus, **cfg)


@register_model
def stag_no_temporal(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                     num_aus: int = 0, **cfg) -> STAG:
    """Ablation: graph branch only (no temporal transformer, hence no cross-attention)."""
    return _build_stag("stag_no_temporal", {"use_temporal": False, "cross_attention": False},
                       num_classes, in_channels, num_rois, prior, num_aus, **cfg)


@register_model
def stag_late_fusion(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                     num_aus: int = 0, **cfg) -> STAG:
    """Ablation: both branches, no cross-attention; pooled vectors meet only in the gated fusion."""
    return _build_stag("stag_late_fusion", {"cross_attention": False},
                       num_classes, in_channels, num_rois, prior, num_aus, **cfg)


@register_model
def stag_static_adj(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                    num_aus: int = 0, **cfg) -> STAG:
    """Ablation: static AU-prior adjacency (no per-sample re-weighting)."""
    return _build_stag("stag_static_adj", {"adjacency": "prior"},
                       num_classes, in_channels, num_rois, prior, num_aus, **cfg)


@register_model
def stag_no_mag_prior(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                      num_aus: int = 0, **cfg) -> STAG:
    """Ablation: keyframe attention without the motion-magnitude prior."""
    return _build_stag("stag_no_mag_prior", {"magnitude_prior": False},
                       num_classes, in_channels, num_rois, prior, num_aus, **cfg)


# Ablations that leave the model unchanged when every clip has a single keyframe (K = 1, e.g.
# the MEGC2019 composite's onset-to-apex flows): with one keyframe, keyframe attention pooling
# is the identity, so what they remove is not computed at K = 1 in the full model either.
NOT_APPLICABLE_AT_K1: dict[str, str] = {
    "stag_no_mag_prior": "n/a at K=1: the magnitude prior weighs keyframes, and one keyframe has nothing to weigh",
}


def ablation_note(name: str, keyframes: int) -> str | None:
    """Why model ``name`` is not a meaningful ablation at ``keyframes`` per clip, or ``None``."""
    return NOT_APPLICABLE_AT_K1.get(name) if keyframes == 1 else None
