"""Numbers behind the architecture chapters: summaries of what a model's attention and
adjacency did on a batch (pure functions of :class:`~stag.models.output.ModelOutput` fields).
Plots live in :mod:`stag.viz.graph` and :mod:`stag.viz.attention`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def keyframe_attention_table(weights, magnitudes, key_mask) -> "pd.DataFrame":
    """Per clip: how the temporal attention relates to the motion magnitudes.

    Args:
        weights: ``(B, K)`` attention over keyframes.
        magnitudes: ``(B, K)`` keyframe magnitudes.
        key_mask: ``(B, K)`` bool.

    Returns:
        DataFrame with ``valid`` (real keyframes), ``apex_weight`` (weight on the keyframe of
        largest magnitude), ``uniform`` (``1 / valid``), ``entropy`` (normalised to ``[0, 1]``,
        1 = uniform; NaN at one keyframe) and ``spearman`` (rank correlation of weights and
        magnitudes over real keyframes; NaN below three).
    """
    # lazy: scipy is slow to import (python -X importtime); only this function needs it
    from scipy.stats import spearmanr

    w, m, k = _np(weights), _np(magnitudes), _np(key_mask).astype(bool)
    rows = []
    for wi, mi, ki in zip(w, m, k):
        n = int(ki.sum())
        wv, mv = wi[ki], mi[ki]
        ent = float(-(wv * np.log(np.clip(wv, 1e-12, None))).sum() / np.log(n)) if n > 1 else np.nan
        rho = float(spearmanr(wv, mv).statistic) if n > 2 and np.ptp(mv) > 0 and np.ptp(wv) > 0 else np.nan
        rows.append({"valid": n, "apex_weight": float(wv[np.argmax(mv)]), "uniform": 1.0 / n,
                     "entropy": ent, "spearman": rho})
    return pd.DataFrame(rows)


def prior_attention(magnitudes, key_mask, strength: float = 1.0, eps: float = 0.05) -> np.ndarray:
    """The temporal attention the magnitude prior alone gives, without any learned score:
    ``softmax_k(s log(m_k + eps))`` over real keyframes, i.e. ``(m_k + eps)^s`` normalised
    (:class:`stag.models.layers.MagnitudePrior`).

    Args:
        magnitudes: ``(B, K)`` keyframe magnitudes.
        key_mask: ``(B, K)`` bool.
        strength: the prior's strength ``s`` (1 at initialisation).
        eps: the prior's floor.

    Returns:
        ``(B, K)`` float64 weights, 0 on padded keyframes, each row summing to 1.
    """
    m, k = _np(magnitudes).astype(np.float64), _np(key_mask).astype(bool)
    w = np.where(k, (np.clip(m, 0, None) + eps) ** float(strength), 0.0)
    return w / np.maximum(w.sum(1, keepdims=True), 1e-300)


def attention_vs_prior(weights, magnitudes, key_mask, strength: float = 1.0, eps: float = 0.05) -> "pd.DataFrame":
    """Per clip: a model's temporal attention against the attention of its magnitude prior
    alone (:func:`prior_attention`).

    Args:
        weights: ``(B, K)`` the model's temporal attention.
        magnitudes, key_mask: ``(B, K)``.
        strength, eps: the model's prior (``MagnitudePrior.strength`` and ``eps``).

    Returns:
        DataFrame with ``apex_weight`` (the model's weight on the keyframe of largest
        magnitude), ``prior_apex_weight`` (the prior's alone), ``uniform`` (``1 / valid``) and
        ``shift`` (mean over real keyframes of ``|a_k - prior_k|``: what the learned score moved).
    """
    w, m, k = _np(weights).astype(np.float64), _np(magnitudes), _np(key_mask).astype(bool)
    prior = prior_attention(m, k, strength, eps)
    rows = []
    for wi, pi, mi, ki in zip(w, prior, m, k):
        apex = int(np.flatnonzero(ki)[np.argmax(mi[ki])])
        rows.append({"apex_weight": float(wi[apex]), "prior_apex_weight": float(pi[apex]),
                     "uniform": 1.0 / int(ki.sum()), "shift": float(np.abs(wi - pi)[ki].mean())})
    return pd.DataFrame(rows)


def roi_attention_vs_aus(node_attention, aus_per_clip: Sequence[Sequence[int]], roi_aus: Sequence[Sequence[int]]):
    """Per clip: readout attention on the ROIs whose AUs are active versus the other ROIs.

    Args:
        node_attention: ``(B, N)`` weights of the graph readout.
        aus_per_clip: active AUs of each clip (ground truth on synthetic data).
        roi_aus: AUs of each ROI (``[r.aus for r in ROI_TABLE]``).

    Returns:
        DataFrame with ``n_active_rois``, ``active_mean`` and ``other_mean`` (mean weight per
        ROI in each group) and ``ratio`` (active / other); clips without an active ROI are left out.
    """
    a = _np(node_attention)
    rows = []
    for i, (wi, aus) in enumerate(zip(a, aus_per_clip)):
        active = np.array([bool(set(r) & set(aus)) for r in roi_aus])
        if not active.any() or active.all():
            continue
        am, om = float(wi[active].mean()), float(wi[~active].mean())
        rows.append({"clip": i, "n_active_rois": int(active.sum()), "active_mean": am, "other_mean": om,
                     "ratio": am / om if om > 0 else np.inf})
    return pd.DataFrame(rows)


def adjacency_edges(prior, adjacency, names: Sequence[str]):
    """One row per directed edge ``i <- j`` (``i != j``): prior weight, mean learned weight over
    the batch, its spread across clips, and the learned/prior ratio, sorted by the ratio.

    Args:
        prior: ``(N, N)`` prior adjacency (as the model normalised it).
        adjacency: ``(B, N, N)`` per-clip adjacency from ``forward_details``.
        names: ``N`` ROI names.
    """
    p, a = _np(prior), _np(adjacency)
    mean, std = a.mean(0), a.std(0)
    n = len(names)
    rows = [{"to": names[i], "from": names[j], "prior": float(p[i, j]), "learned": float(mean[i, j]),
             "std_across_clips": float(std[i, j]),
             "ratio": float(mean[i, j] / p[i, j]) if p[i, j] > 0 else np.nan}
            for i in range(n) for j in range(n) if i != j]
    return pd.DataFrame(rows).sort_values("ratio", ascending=False, na_position="last").reset_index(drop=True)


def fusion_gate_table(gate, labels, class_names: Sequence[str] | None = None):
    """Per clip: mean of the fusion gate over features (share taken from the graph branch).

    Args:
        gate: ``(B, D)`` fusion gate.
        labels: ``(B,)`` class ids.
        class_names: names for the ids.
    """
    g, y = _np(gate), _np(labels).astype(int)
    names = [class_names[i] if class_names is not None else str(i) for i in y]
    return pd.DataFrame({"class": names, "graph_share": g.mean(1), "features_mostly_graph": (g > 0.5).mean(1)})


def parameter_table(model) -> "pd.DataFrame":
    """Trainable parameters of each top-level submodule of ``model``; parts an ablation removed
    (attributes set to ``None``) are listed with 0 and ``removed=True``."""
    rows = [{"part": name, "parameters": sum(p.numel() for p in child.parameters() if p.requires_grad),
             "removed": False} for name, child in model.named_children()]
    rows = [r for r in rows if r["parameters"] > 0]
    rows += [{"part": k, "parameters": 0, "removed": True} for k, v in vars(model).items()
             if v is None and not k.startswith("_")]
    total = {"part": "total", "parameters": sum(r["parameters"] for r in rows), "removed": False}
    return pd.DataFrame(rows + [total]).set_index("part")
