"""Captum attributions for any model with the package's forward signature.

Every model in :mod:`stag.models` is called as ``model(flows, rois, key_mask, magnitudes)``
and returns ``(B, num_classes)`` logits. Captum attributes a tensor-valued forward with respect
to its first input, so the flows are the explained input and ``rois``, ``key_mask`` and
``magnitudes`` travel as ``additional_forward_args``: they are held fixed along the
integration path. (The magnitude prior is computed from the flows during preprocessing; it
stays at the clip's value, so an attribution explains the flow pixels *given* the chosen
keyframes and their prior.)

Methods on the flow input (``(B, K, C, H, W)`` attributions, the input's shape):

- ``"ig"``: Integrated Gradients from the **zero-flow baseline** (no motion at all, the
  natural "absence of a micro-expression"); completeness holds: the attributions of a clip
  sum to ``f(flows) - f(0)`` up to the Riemann error reported as ``delta``.
- ``"gradshap"``: GradientShap, the expectation of gradient x (input - baseline) over random
  points between the zero baseline and the flows, with Gaussian input noise (SmoothGrad-like).
- ``"saliency"``: absolute input gradient (Captum's ``Saliency``); cheap, local, not complete.
- ``"occlusion"``: change of the target logit when a ``window x window`` patch of every
  keyframe and channel is set to zero flow; model-agnostic, works for every baseline model.

Region and structure level: :func:`roi_occlusion` (drop of the target logit when an ROI box
carries no motion), :func:`roi_layer_attribution` (LayerIntegratedGradients on a model's
ROI node features), :func:`keyframe_importance` (attribution per keyframe) and
:func:`model_details` (learned adjacency and attention over ROI pairs and keyframes from
``model.forward_details``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from stag.explain.forward import INPUT_KEYS, as_inputs, evaluate_masked, prepare_forward
from stag.explain.scores import roi_masks

METHODS: tuple[str, ...] = ("ig", "gradshap", "saliency", "occlusion")
# ModelOutput fields read by model_details, with their trailing axes (N = ROIs, K = keyframes).
DETAIL_SHAPES: dict[str, str] = {"adjacency": "NN", "graph_attention": "NN", "temporal_attention": "K",
                                 "node_attention": "N"}


@dataclass
class AttributionConfig:
    """How attributions are computed.

    Args:
        method: one of :data:`METHODS` (default ``"ig"``).
        target: ``"pred"`` explains the predicted class, ``"label"`` the true class (needs
            ``batch["label"]``).
        n_steps: integration steps of Integrated Gradients (and of layer IG).
        internal_batch_size: IG/GradientShap forward chunk size (memory bound), ``None`` = all.
        gradshap_samples: number of random samples per clip for GradientShap.
        gradshap_noise: Gaussian input noise of GradientShap, as a fraction of the batch's flow std.
        occlusion_window: side of the square occlusion patch, pixels.
        occlusion_stride: step between occlusion patches, pixels.
        random_state: seed for GradientShap and for random controls.
    """

    method: str = "ig"
    target: str = "pred"
    n_steps: int = 32
    internal_batch_size: int | None = 64
    gradshap_samples: int = 16
    gradshap_noise: float = 0.1
    occlusion_window: int = 8
    occlusion_stride: int = 4
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}; expected one of {METHODS}")
        if self.target not in ("pred", "label"):
            raise ValueError(f"target={self.target!r}; expected 'pred' or 'label'")
        if self.n_steps < 2:
            raise ValueError(f"n_steps={self.n_steps}; expected >= 2")
        if self.occlusion_window < 1 or self.occlusion_stride < 1:
            raise ValueError("occlusion_window and occlusion_stride must be >= 1 pixel")


@dataclass
class Attribution:
    """Attributions of a batch of clips.

    Attributes:
        method: the method name.
        maps: ``(B, K, C, H, W)`` float32, same shape as the flows.
        target: ``(B,)`` class explained for each clip.
        logits: ``(B, num_classes)`` model output on the real flows.
        baseline_logits: ``(B, num_classes)`` output on zero flows (IG/GradientShap), else ``None``.
        delta: ``(B,)`` IG completeness error ``sum(maps) - (f(x) - f(0))`` for the target
            class, else ``None``.
    """

    method: str
    maps: np.ndarray
    target: np.ndarray
    logits: np.ndarray
    baseline_logits: np.ndarray | None = None
    delta: np.ndarray | None = None


def _targets(forward: nn.Module, inputs: dict[str, torch.Tensor], batch: dict[str, Any], how: str) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        logits = forward(*(inputs[k] for k in INPUT_KEYS))
    if how == "label":
        if "label" not in batch:
            raise ValueError("target='label' needs batch['label']")
        target = torch.as_tensor(np.asarray(batch["label"])).long().to(logits.device)
    else:
        target = logits.argmax(dim=1)
    return logits, target


def attribute_flows(
    model: nn.Module,
    batch: dict[str, Any],
    config: AttributionConfig | None = None,
    *,
    target: np.ndarray | None = None,
    device: torch.device | str | None = None,
) -> Attribution:
    """Attribute the target logit of each clip to its flow pixels.

    Args:
        model: a package model (put in ``eval()`` mode here).
        batch: collated inputs ``flows (B,K,C,H,W), rois (B,N,4), key_mask (B,K),
            magnitudes (B,K)`` and optionally ``label (B,)``.
        config: :class:`AttributionConfig` (method and its settings).
        target: ``(B,)`` explicit classes to explain; overrides ``config.target``.
        device: where to run; defaults to the model's device.

    Returns:
        :class:`Attribution` with ``maps`` of the flows' shape.
    """
    # lazy: captum is slow to import (python -X importtime); only this function needs it
    from captum.attr import GradientShap, IntegratedGradients, Occlusion, Saliency

    cfg = config or AttributionConfig()
    forward, inputs, flows, extra = prepare_forward(model, batch, device)
    logits, tgt = _targets(forward, inputs, batch, cfg.target)
    if target is not None:
        tgt = torch.as_tensor(np.asarray(target)).long().to(logits.device)
    baseline = torch.zeros_like(flows)  # zero flow = no motion
    base_logits = delta = None

    if cfg.method == "ig":
        ig = IntegratedGradients(forward)
        maps, d = ig.attribute(flows, baselines=baseline, target=tgt, additional_forward_args=extra,
                               n_steps=cfg.n_steps, internal_batch_size=cfg.internal_batch_size,
                               return_convergence_delta=True)
        delta = d.detach().cpu().numpy()
    elif cfg.method == "gradshap":
        torch.manual_seed(cfg.random_state)
        gs = GradientShap(forward)
        noise = float(cfg.gradshap_noise * flows.std().item())
        maps = gs.attribute(flows, baselines=torch.zeros_like(flows[:1]).repeat(2, 1, 1, 1, 1), target=tgt,
                            additional_forward_args=extra, n_samples=cfg.gradshap_samples, stdevs=noise)
    elif cfg.method == "saliency":
        maps = Saliency(forward).attribute(flows.clone().requires_grad_(True), target=tgt, additional_forward_args=extra, abs=True)
    else:
        k, c, h, w = flows.shape[1:]
        win = (k, c, min(cfg.occlusion_window, h), min(cfg.occlusion_window, w))
        stride = (k, c, min(cfg.occlusion_stride, h), min(cfg.occlusion_stride, w))
        maps = Occlusion(forward).attribute(flows, sliding_window_shapes=win, strides=stride, baselines=0.0,
                                            target=tgt, additional_forward_args=extra,
                                            perturbations_per_eval=max(1, 64 // max(1, len(flows))))
    if cfg.method in ("ig", "gradshap"):
        with torch.no_grad():
            base_logits = forward(baseline, *extra).cpu().numpy()
    return Attribution(
        method=cfg.method,
        maps=maps.detach().cpu().numpy().astype(np.float32),
        target=tgt.cpu().numpy(),
        logits=logits.cpu().numpy(),
        baseline_logits=base_logits,
        delta=delta,
    )


def roi_occlusion(
    model: nn.Module,
    batch: dict[str, Any],
    target: np.ndarray,
    *,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Region-level occlusion: drop of the target logit when one ROI box carries no motion.

    Each ROI box ``(x0, y0, x1, y1)`` is set to zero flow in every keyframe and channel; the
    importance is ``f(flows) - f(flows with ROI n removed)`` for the target class.
    Model-agnostic (works for baselines that have no ROI nodes).

    Returns:
        ``(B, N)`` float32.
    """
    forward, inputs, flows, extra = prepare_forward(model, batch, device)
    rois = inputs["rois"].cpu().numpy()
    tgt = torch.as_tensor(np.asarray(target)).long().to(flows.device)
    b, _, _, h, w = flows.shape
    boxes = np.stack([roi_masks(rois[j], (h, w)) for j in range(b)])  # (B, N, H, W)
    keeps = np.concatenate([np.ones((1, b, h, w), bool), ~boxes.transpose(1, 0, 2, 3)])  # (1 + N, B, H, W)
    logit, _, _ = evaluate_masked(forward, flows, extra, tgt, keeps)
    out = (logit[0][None] - logit[1:]).T.astype(np.float32)
    return out


def resolve_layer(model: nn.Module, layer: str | nn.Module | None) -> nn.Module:
    """The module whose output are the ROI node features.

    ``layer`` may be a module, a dotted attribute path (``"graph.node_proj"``), or ``None``:
    then the model's ``node_feature_layer`` attribute (a module or a dotted path) is used, or
    its ``node_encoder`` (STAG).
    """
    if isinstance(layer, nn.Module):
        return layer
    name = layer if layer is not None else getattr(model, "node_feature_layer", None)
    if name is None and isinstance(getattr(model, "node_encoder", None), nn.Module):
        name = "node_encoder"  # STAG's ROI node encoder
    if isinstance(name, nn.Module):
        return name
    if not name:
        raise ValueError(
            f"{type(model).__name__} names no ROI node-feature layer: pass layer='dotted.path' "
            "or give the model a `node_feature_layer` attribute"
        )
    module: Any = model
    for part in str(name).split("."):
        if not hasattr(module, part):
            raise ValueError(f"{type(model).__name__} has no submodule {name!r} (failed at {part!r})")
        module = getattr(module, part)
    if not isinstance(module, nn.Module):
        raise ValueError(f"{name!r} on {type(model).__name__} is not an nn.Module")
    return module


def roi_layer_attribution(
    model: nn.Module,
    batch: dict[str, Any],
    target: np.ndarray,
    *,
    layer: str | nn.Module | None = None,
    num_rois: int | None = None,
    n_steps: int = 32,
    internal_batch_size: int | None = 64,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """LayerIntegratedGradients on the ROI node features (zero-flow baseline).

    The layer's output must have a ROI axis of length ``N`` (``num_rois``, default the
    batch's ``rois.shape[1]``) right after the batch axis or after a keyframe axis; all other
    axes are summed, so each ROI gets its share of ``f(x) - f(0)``.

    Returns:
        ``(B, N)`` float32 signed importance per ROI.
    """
    # lazy: captum is slow to import (python -X importtime); only this function needs it
    from captum.attr import LayerIntegratedGradients

    forward, inputs, flows, extra = prepare_forward(model, batch, device)
    n = int(num_rois or inputs["rois"].shape[1])
    # The node layer may return (features, attention): a forward hook routes the features
    # through an identity "tap" that Captum attributes, so extra outputs need no gradient.
    tap = nn.Identity()

    def route(_module, _inputs, output):
        return (tap(output[0]), *output[1:]) if isinstance(output, tuple) else tap(output)

    handle = resolve_layer(model, layer).register_forward_hook(route)
    try:
        lig = LayerIntegratedGradients(forward, tap)
        attr = lig.attribute(flows, baselines=torch.zeros_like(flows),
                             target=torch.as_tensor(np.asarray(target)).long().to(flows.device),
                             additional_forward_args=extra, n_steps=n_steps, internal_batch_size=internal_batch_size)
    finally:
        handle.remove()
    a = attr.detach().cpu()
    b = flows.shape[0]
    if a.shape[0] != b:
        raise ValueError(f"node-feature layer output has batch size {a.shape[0]}; expected {b}")
    axes = [i for i in range(1, a.ndim) if a.shape[i] == n]
    if not axes:
        raise ValueError(f"node-feature layer output {tuple(a.shape)} has no ROI axis of length {n}")
    roi_axis = axes[0]
    other = [i for i in range(1, a.ndim) if i != roi_axis]
    return a.sum(dim=other).numpy().astype(np.float32) if other else a.numpy().astype(np.float32)


def keyframe_importance(maps: np.ndarray, *, reduce: str = "signed", key_mask: np.ndarray | None = None) -> np.ndarray:
    """``(B, K)`` attribution per keyframe: the sum over channels and pixels.

    ``reduce="signed"`` (net contribution, sums to the IG total over keyframes) or
    ``"absolute"``. Padded keyframes (``key_mask`` False) get NaN.
    """
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim != 5:
        raise ValueError(f"maps must be (B, K, C, H, W); got {m.shape}")
    if reduce not in ("signed", "absolute"):
        raise ValueError(f"reduce={reduce!r}; expected 'signed' or 'absolute'")
    out = (np.abs(m) if reduce == "absolute" else m).sum(axis=(2, 3, 4))
    if key_mask is not None:
        out = np.where(np.asarray(key_mask, dtype=bool), out, np.nan)
    return out


def model_details(model: nn.Module, batch: dict[str, Any], *, device: torch.device | str | None = None) -> dict[str, np.ndarray | None]:
    """Learned structure of a forward pass over ROI pairs, ROIs and keyframes.

    Keys: ``adjacency`` ``(B, N, N)`` (the AU-guided dynamic adjacency), ``graph_attention``
    ``(B, N, N)`` (last graph layer, heads averaged), ``temporal_attention`` ``(B, K)`` and
    ``node_attention`` ``(B, N)`` (readout weight of each ROI).

    Calls ``model.forward_details(flows, rois, key_mask, magnitudes)``; fields a model does
    not have (baselines, ablations) come back as ``None``. Attention tensors with extra
    head/layer axes are averaged down to ``(B, N, N)`` / ``(B, K)``.
    """
    model.eval()
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    inputs = as_inputs(batch, device)
    if not hasattr(model, "forward_details"):
        return dict.fromkeys(DETAIL_SHAPES)
    with torch.no_grad():
        out = model.forward_details(*(inputs[k] for k in INPUT_KEYS))
    b, k = inputs["key_mask"].shape
    n = inputs["rois"].shape[1]
    result: dict[str, np.ndarray | None] = {}
    for name, kind in DETAIL_SHAPES.items():
        trailing = tuple(n if d == "N" else k for d in kind)
        value = getattr(out, name, None)
        result[name] = None if value is None else _squeeze_to(value, b, trailing)
    return result


def _squeeze_to(value: Any, batch: int, trailing: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, (list, tuple)):  # one tensor per layer
        value = torch.stack([torch.as_tensor(v) for v in value], dim=1)
    a = torch.as_tensor(value).detach().float().cpu()
    if a.shape[0] != batch or tuple(a.shape[a.ndim - len(trailing):]) != trailing:
        raise ValueError(f"cannot read shape {tuple(a.shape)} as (B={batch}, ..., {trailing})")
    while a.ndim > 1 + len(trailing):
        a = a.mean(dim=1)  # heads / layers
    return a.numpy()
