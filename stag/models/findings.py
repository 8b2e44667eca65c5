"""Sentences of the architecture chapters (the graph branch, the temporal branch, cross-attention
and efficiency), worded from the tables of :mod:`stag.models.summaries` and
:func:`stag.bench.model.efficiency_table`, so that the prose cannot drift from the numbers.

Every function returns Markdown. Where the wording depends on the result (whether a weight
moved, whether attention favours the apex), the test is written out in the function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Top-level STAG submodules of each branch (names of :func:`stag.models.summaries.parameter_table`).
GRAPH_PARTS: tuple[str, ...] = ("node_encoder", "connectivity", "graph", "graph_readout")
TEMPORAL_PARTS: tuple[str, ...] = ("temporal", "temporal_pool")
#: A learned strength within this distance of its initial value 1 is said not to have moved.
UNMOVED = 0.05


def _parts(parameters: pd.DataFrame, parts: Sequence[str]) -> int:
    return int(sum(parameters.loc[p, "parameters"] for p in parts if p in parameters.index))


def _readout(loc: pd.DataFrame) -> str:
    ratio, above = float(loc["ratio"].median()), float((loc["ratio"] > 1).mean())
    numbers = (f"{ratio:.2f} times as much weight on ROIs with an active AU as on the others (median; above 1 in "
               f"{above:.0%} of clips)")
    if ratio >= 1.1 and above >= 0.75:
        return f"the graph readout reads the regions that moved: it puts {numbers}"
    if ratio <= 1 / 1.1:
        return f"the graph readout leans away from the regions that moved: it puts {numbers}"
    return f"the graph readout does not single out the regions that moved: it puts {numbers}"


def graph_answer(edges: pd.DataFrame, loc: pd.DataFrame, n_clips: int) -> str:
    """The graph chapter's answer: how much the adjacency varies from clip to clip
    (:func:`~stag.models.summaries.adjacency_edges`, edges the prior keeps) and whether the
    readout favours ROIs with an active AU (:func:`~stag.models.summaries.roi_attention_vs_aus`)."""
    spread = float(edges["std_across_clips"].mean())
    relative = float((edges["std_across_clips"] / edges["learned"]).mean())
    return (f"On {n_clips} held-out clips, the connections are clip-specific: an edge weight varies by {spread:.3f} "
            f"from clip to clip (standard deviation, {relative:.0%} of its mean weight; a static adjacency: 0). "
            f"But {_readout(loc)}.")


def graph_findings(*, parameters: pd.DataFrame, edges: pd.DataFrame, prior, adjacency,
                   betas: Mapping[str, Sequence[float]], loc: pd.DataFrame, epochs: int, train_accuracy: float,
                   test_accuracy: float, test_uf1: float, n_test: int) -> str:
    """The graph chapter's closing bullets.

    Args:
        parameters: :func:`~stag.models.summaries.parameter_table` of the model.
        edges: :func:`~stag.models.summaries.adjacency_edges` (NaN ratios dropped).
        prior: ``(N, N)`` prior as the model uses it; adjacency: ``(B, N, N)`` per held-out clip.
        betas: layer name -> the E-GAT heads' edge-bias strengths.
        loc: :func:`~stag.models.summaries.roi_attention_vs_aus`.
    """
    total = int(parameters.loc["total", "parameters"])
    graph, temporal = _parts(parameters, GRAPH_PARTS), _parts(parameters, TEMPORAL_PARTS)
    p, a = np.asarray(prior, float), np.asarray(adjacency, float)
    cut = (p == 0) & ~np.eye(len(p), dtype=bool)
    cut_max = float(a[:, cut].max()) if cut.any() else 0.0
    up, down = edges.iloc[0], edges.iloc[-1]
    b = np.concatenate([np.asarray(v, float) for v in betas.values()])
    moved = float(np.abs(b - 1).max())
    beta = (f"The E-GAT heads' edge-bias strengths $\\beta_h$ range from {b.min():.2f} to {b.max():.2f} after {epochs} "
            f"epochs (they start at 1): "
            + ("this short training left them where they started, so every head follows the AU graph as at "
               "initialisation." if moved < UNMOVED else
               f"training moved them by up to {moved:.2f}; heads with a larger $\\beta_h$ follow the AU graph more "
               "closely."))
    return "\n".join([
        f"- The graph branch (node encoder, connectivity, E-GAT layers, readout) has {graph:,} of STAG's {total:,} "
        f"parameters ({graph / total:.0%}); the temporal branch has {temporal:,} ({temporal / total:.0%}). After "
        f"{epochs} epochs the model classifies {train_accuracy:.0%} of the training clips and {test_accuracy:.0%} of "
        f"the {n_test} held-out clips correctly (held-out UF1 {test_uf1:.2f}): it learned something; this is not a "
        "benchmark.",
        f"- Training re-weighted the AU prior by factors from {down.ratio:.2f} ({down['to']} from {down['from']}) "
        f"to {up.ratio:.2f} ({up['to']} from {up['from']}), averaged over held-out clips, and an edge varies by "
        f"{edges['std_across_clips'].mean():.3f} from clip to clip, which the static-prior ablation "
        f"(`stag_static_adj`) cannot do. The {int(cut.sum())} directed edges the prior cuts "
        + ("stay at exactly 0 in every clip." if cut_max == 0 else f"reach at most {cut_max:.2g}."),
        f"- {beta}",
        f"- {_readout(loc)[0].upper()}{_readout(loc)[1:]}. Attention is not attribution: the explanation chapter "
        "asks the same question with Captum against the ground-truth AU masks.",
    ])


def temporal_answer(summary: pd.DataFrame, vs_prior: pd.DataFrame, strength: float,
                    with_prior: str = "stag", without_prior: str = "stag_no_mag_prior") -> str:
    """The temporal chapter's answer: where the attention goes with and without the magnitude
    prior, and whether the prior or the learned score puts it there.

    Args:
        summary: per-model medians of :func:`~stag.models.summaries.keyframe_attention_table`
            (index: model names; columns ``apex_weight``, ``uniform``, ``spearman``).
        vs_prior: :func:`~stag.models.summaries.attention_vs_prior` of the model with the prior.
        strength: that model's learned prior strength ``s`` (1 at initialisation).

    The prior is said to do the work when ``s`` is within :data:`UNMOVED` of 1 and the model's
    median apex weight is closer to the prior's alone than half the prior's distance from uniform.
    """
    a, u = summary.loc[with_prior, "apex_weight"], summary.loc[with_prior, "uniform"]
    n, rho, rho0 = (summary.loc[without_prior, "apex_weight"], summary.loc[with_prior, "spearman"],
                    summary.loc[without_prior, "spearman"])
    prior, shift = float(vs_prior["prior_apex_weight"].median()), float(vs_prior["shift"].median())
    head = (f"With the prior, the median held-out clip puts {a:.3f} of its temporal attention on the apex keyframe "
            f"(uniform {u:.3f}; without the prior {n:.3f}), and the rank correlation of attention with motion is "
            f"{rho:.2f} (without the prior {rho0:.2f}). ")
    numbers = (f"The prior alone, $(m_k + \\epsilon)^s$ normalised, with its learned strength $s = {strength:.2f}$ "
               f"(it starts at 1), would put {prior:.3f} there, and the learned score moves each keyframe's weight by "
               f"{shift:.3f} on average (median clip)")
    if abs(strength - 1) >= UNMOVED:
        return head + numbers + f": training {'sharpened' if strength > 1 else 'relaxed'} the prior itself."
    if abs(a - prior) <= 0.5 * abs(prior - u):
        return head + numbers + ": the prior, not learning, puts the attention on the apex."
    return head + numbers + f": the learned score {'sharpened' if a > prior else 'relaxed'} the prior's choice."


def temporal_findings(*, answer: str, parameters: pd.DataFrame, strengths: Mapping[str, float],
                      scores: Mapping[str, Mapping[str, float]], n_test: int) -> str:
    """The temporal chapter's closing bullets: the branch's size, the answer
    (:func:`temporal_answer`), the learned prior strengths and the held-out scores of the models
    (name -> :func:`stag.train.evaluate` scores)."""
    total = int(parameters.loc["total", "parameters"])
    temporal = _parts(parameters, TEMPORAL_PARTS)
    others = parameters.drop(index=["total", *TEMPORAL_PARTS], errors="ignore")["parameters"]
    largest = temporal > others.max() if len(others) else True
    moves = ", ".join(f"{v:.3f} ({k})" for k, v in strengths.items())
    still = all(abs(v - 1) < UNMOVED for v in strengths.values())
    uf1 = ", ".join(f"`{k}` {v['uf1']:.2f}" for k, v in scores.items())
    return "\n".join([
        f"- The temporal branch (frame encoder, positions, transformer, attention pool) has {temporal:,} of STAG's "
        f"{total:,} parameters ({temporal / total:.0%}){', more than any other part' if largest else ''}.",
        f"- {answer}",
        f"- Training took the prior strengths from 1 to {moves}"
        + (": the prior acts with the strength it was given." if still else "."),
        f"- On the {n_test} held-out clips the models score UF1 {uf1}. Whether the prior improves recognition is a "
        "question for the LOSO ablation in the training chapter.",
        "- At $K = 1$ the temporal weight is exactly 1, so the same model runs on onset-apex flow datasets, and padded "
        "keyframes get weight 0 and leave the logits unchanged (`tests/test_temporal.py`).",
    ])


def cross_answer(per_roi: pd.DataFrame, share: float, uniform: float, n_clips: int) -> str:
    """The cross-attention chapter's answer: the share of graph -> time attention on the apex
    keyframe against uniform, over clips and per ROI (``per_roi``: column ``ratio to uniform``)."""
    ratio = per_roi["ratio to uniform"]
    above = int((ratio > 1).sum())
    head = (f"Over {n_clips} held-out clips and {len(per_roi)} ROIs, {share:.3f} of the graph $\\to$ time attention "
            f"falls on the apex keyframe against a uniform {uniform:.3f}; {above} of {len(per_roi)} ROIs read the apex "
            f"more than uniform (ratios {ratio.min():.3f} to {ratio.max():.3f}). ")
    if ratio.max() < 1.05 and abs(share / uniform - 1) < 0.05:
        return head + ("Without a prior in this layer, the regions have not learned to look at the apex: their "
                       "attention is close to uniform over the keyframes.")
    if above > len(per_roi) / 2 and share > uniform:
        return head + "Without any prior in this layer, most regions learned to read the apex."
    return head + "Some regions read the apex more than others, without any prior in this layer."


def efficiency_sentence(table: pd.DataFrame, model: str = "stag", reference: str | None = "htnet",
                        target_ms: float = 10.0) -> str:
    """One model's cost at the largest size and K of ``table`` (:func:`stag.bench.model.efficiency_table`,
    batch 1) against a latency target, and, when measured in the same table, against
    ``reference``, the ablations (``<model>_*``) and the other models."""
    size, k = int(table["size"].max()), int(table["K"].max())
    rows = table[(table["size"] == size) & (table["K"] == k) & (table["batch"] == 1)].set_index("model")
    if model not in rows.index:
        return f"`{model}` was not measured at {size}x{size}, K={k}, batch 1."
    r = rows.loc[model]
    text = (f"{model.upper() if model == 'stag' else model} at {size}x{size}, K={k}, batch 1: {r.params / 1e3:.0f} k "
            f"parameters, {r.gflops_per_clip * 1e3:.1f} MFLOP, {r.ms_per_clip:.2f} ms per clip (best of repeats; "
            f"median {r.ms_per_clip_median:.2f} ms; {int(r.threads)} thread{'' if int(r.threads) == 1 else 's'}), "
            f"{'within' if r.ms_per_clip <= target_ms else 'above'} the {target_ms:g} ms target.")
    if reference and reference in rows.index:
        ref = rows.loc[reference]
        text += (f" `{reference}` at its published size, measured in the same run, has {ref.params / r.params:.0f}x "
                 f"the parameters and takes {ref.ms_per_clip:.1f} ms.")
    ablations = rows[rows.index.str.startswith(f"{model}_")]
    others = rows.drop(index=[model, *ablations.index, *([reference] if reference else [])], errors="ignore")
    if len(ablations):
        text += (f" Its ablations take {ablations.ms_per_clip.min():.2f} to {ablations.ms_per_clip.max():.2f} ms"
                 + (f", the other models {others.ms_per_clip.min():.2f} to {others.ms_per_clip.max():.2f} ms."
                    if len(others) else "."))
    return text


def cross_findings(*, answer: str, gates: pd.DataFrame, efficiency: pd.DataFrame) -> str:
    """The cross-attention chapter's closing bullets: the answer (:func:`cross_answer`), the
    fusion gate per class (:func:`~stag.models.summaries.fusion_gate_table`) and the cost
    (:func:`efficiency_sentence`)."""
    by_class = gates.groupby("class")["graph_share"].mean()
    overall = float(gates["graph_share"].mean())
    balanced = bool(((by_class - 0.5).abs() < 0.15).all())
    per_class = ", ".join(f"{c} {v:.2f}" for c, v in by_class.items())
    return "\n".join([
        f"- {answer}",
        f"- The fusion gate takes {overall:.2f} of each feature from the graph branch on average ({per_class} by "
        "class): " + ("both branches contribute to every class." if balanced else
                      "one branch dominates for some classes."),
        f"- {efficiency_sentence(efficiency)}",
    ])
