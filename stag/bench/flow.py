"""``stag bench flow``: optical-flow speed (pairs/s on one core) and accuracy (end-point error).

Two kinds of test pair, both with a known answer:

- ``warp``: a rendered synthetic face warped by a smooth random field of up to ``max_px`` pixels
  plus a global sub-pixel drift, at 128 x 128 and 224 x 224;
- ``synthetic``: aligned onset and apex faces of synthetic micro-expression clips, against the
  generator's true onset->apex flow resampled into the aligned frame (``truth["apex_flow"]``).

EPE is averaged inside the face (convex hull of the landmarks), where flow is defined.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stag.preprocess.flow import DEFAULT_FLOW, compute_flow, endpoint_error, optical_strain, warp_image

HELP = "optical flow: pairs/s on one core and end-point error vs known warps (TV-L1, DIS, Farneback)"
DEFAULT_METHODS = ("tvl1_default", "tvl1", "dis", "dis_medium", "farneback")


@dataclass
class FlowPair:
    """Two aligned grey faces with the true flow from the first to the second.

    ``first``, ``second``: ``(H, W)`` uint8; ``flow``: ``(H, W, 2)`` float32 px; ``mask``: ``(H, W)``
    bool where the error is measured.
    """

    first: np.ndarray
    second: np.ndarray
    flow: np.ndarray
    mask: np.ndarray
    name: str = ""


def _smooth_field(rng: np.random.Generator, size: int, max_px: float, drift_px: float) -> np.ndarray:
    # lazy: `stag --help` imports every bench suite; cv2 loads when the suite runs
    import cv2

    coarse = rng.standard_normal((6, 6, 2)).astype(np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    field *= max_px / max(float(np.abs(field).max()), 1e-6)
    angle = rng.uniform(0, 2 * np.pi)
    return field + drift_px * np.array([np.cos(angle), np.sin(angle)], np.float32)


def warp_pairs(n: int = 8, size: int = 128, max_px: float = 2.0, drift_px: float = 0.3,
               seed: int = 0) -> list[FlowPair]:
    """``n`` synthetic faces (one per subject) warped by a smooth known field (see module doc)."""
    # lazy: `stag --help` imports every bench suite; cv2 loads when the suite runs
    import cv2

    from stag.data.synthetic_face import identity_landmarks, random_identity, render_face
    from stag.preprocess.face import face_mask, to_grey

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ident = random_identity(rng)
        lm = identity_landmarks(ident, size)
        img = render_face(ident, lm, size)
        grey = to_grey(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)[None])[0]
        field = _smooth_field(rng, size, max_px, drift_px)
        second = warp_image(grey, field)
        noise = rng.normal(0, 1.0, (2, size, size))
        a = np.clip(grey + noise[0], 0, 255).astype(np.uint8)
        b = np.clip(second.astype(np.float64) + noise[1], 0, 255).astype(np.uint8)
        mask = face_mask(lm, size)
        mask = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        out.append(FlowPair(a, b, field.astype(np.float32), mask, f"warp{i}"))
    return out


def synthetic_pairs(clips, size: int = 128, face_model=None) -> list[FlowPair]:
    """Aligned (onset, true apex) faces of synthetic clips with their true aligned apex flow."""
    # lazy: `stag --help` imports every bench suite; stag.preprocess.face loads when the suite runs
    from stag.preprocess.face import align_clip, face_mask
    from stag.preprocess.pipeline import resample_truth

    out = []
    for clip in clips:
        if "apex_flow" not in clip.truth or clip.apex is None:
            raise ValueError(f"clip {clip.clip_id!r} has no truth['apex_flow']; use synthetic data")
        onset = int(clip.onset or 0)
        frames = clip.load_frames()
        al = align_clip(frames, onset, size=size, clip_id=clip.clip_id, face_model=face_model)
        truth = resample_truth(clip.truth, al.transform, size, size, frames.shape[1:3])
        mask = face_mask(al.landmarks, size)
        out.append(FlowPair(al.frames[onset], al.frames[clip.apex], truth["apex_flow"], mask, clip.clip_id))
    return out


def measure(pairs: list[FlowPair], methods=DEFAULT_METHODS, min_time: float = 0.5,
            reference: str | None = "tvl1_default", strain_sigma: float = 2.0) -> "pd.DataFrame":
    """Speed and accuracy of each method on ``pairs`` on ONE core (``cv2.setNumThreads(1)``).

    Returns a DataFrame with one row per method: ``pairs_per_s``, ``epe`` (mean end-point error
    in px inside the masks), ``epe_median``, ``strain_error`` (mean |strain - true strain|, estimated strain after a ``strain_sigma``
    Gaussian as in preprocessing), and ``diff_vs_<reference>`` (mean |flow - reference
    flow| in px, when ``reference`` is among ``methods``).
    """
    # lazy: `stag --help` imports every bench suite; cv2 loads when the suite runs
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        flows, rows = {}, []
        for method in methods:
            compute_flow(pairs[0].first, pairs[0].second, method)  # warm-up (allocations)
            start = time.perf_counter()
            est = [compute_flow(p.first, p.second, method) for p in pairs]
            n = len(pairs)
            while time.perf_counter() - start < min_time:
                for p in pairs:
                    compute_flow(p.first, p.second, method)
                n += len(pairs)
            elapsed = time.perf_counter() - start
            flows[method] = est
            errs = [endpoint_error(f, p.flow, p.mask) for f, p in zip(est, pairs)]
            strain = [float(np.abs(optical_strain(f, strain_sigma) - optical_strain(p.flow))[p.mask].mean())
                      for f, p in zip(est, pairs)]
            rows.append({"method": method, "size": pairs[0].first.shape[0], "pairs": len(pairs),
                         "pairs_per_s": n / elapsed, "epe": float(np.mean(errs)),
                         "epe_median": float(np.median(errs)), "strain_error": float(np.mean(strain))})
        table = pd.DataFrame(rows)
        if reference in flows:
            table[f"diff_vs_{reference}"] = [
                float(np.mean([endpoint_error(f, r, p.mask) for f, r, p in zip(flows[m], flows[reference], pairs)]))
                for m in table["method"]]
        return table
    finally:
        cv2.setNumThreads(threads)


def method_summary(table: "pd.DataFrame") -> "pd.DataFrame":  # noqa: F821 (pandas imported lazily)
    """One row per method from :func:`measure` tables tagged with a ``set`` column
    (``"synthetic apex"`` and ``"warp"``): EPE on each set (px) and pairs/s on one core (on the
    synthetic apex pairs), lowest synthetic-apex EPE first."""
    by = table.pivot_table(index="method", columns="set", values=["epe", "pairs_per_s"])
    return pd.DataFrame({
        "EPE synthetic apex (px)": by["epe"]["synthetic apex"], "EPE warp (px)": by["epe"]["warp"],
        "pairs/s (one core)": by["pairs_per_s"]["synthetic apex"],
    }).sort_values("EPE synthetic apex (px)")


def flow_sentences(table: "pd.DataFrame", default: str | None = None,  # noqa: F821
             against: tuple[str, ...] = ("tvl1", "tvl1_default")) -> str:
    """The chapter's answer as Markdown lines: the default's EPE and speed next to each method
    of ``against``, and how far tuned TV-L1 stays from default TV-L1 (``diff_vs_tvl1_default``).

    Args:
        table: :func:`measure` tables with a ``set`` column (see :func:`method_summary`).
        default: the method to report (default :data:`stag.preprocess.flow.DEFAULT_FLOW`).
    """
    default = default or DEFAULT_FLOW
    s = method_summary(table)
    epe, speed = "EPE synthetic apex (px)", "pairs/s (one core)"
    lines = [f"- The default flow method is `{default}`: rank {list(s.index).index(default) + 1} of {len(s)} by "
             f"end-point error on the synthetic apex pairs."]
    for other in against:
        if other in s.index and other != default:
            lines.append(f"- Against `{other}`: EPE {s.loc[default, epe]:.3f} px against {s.loc[other, epe]:.3f} px, "
                         f"at {s.loc[default, speed] / s.loc[other, speed]:.0f}x the speed.")
    if {"tvl1", "tvl1_default"} <= set(s.index) and "diff_vs_tvl1_default" in table.columns:
        gap = table.loc[table["method"] == "tvl1", "diff_vs_tvl1_default"].max()
        lines.append(f"- Tuned TV-L1 stays within {gap:.3f} px of default TV-L1 at "
                     f"{s.loc['tvl1', speed] / s.loc['tvl1_default', speed]:.1f}x its speed.")
    return "\n".join(lines)


@dataclass
class FlowPanel:
    """The flows of one pair, for a side-by-side figure.

    ``index``: the pair's position in the list; ``flows``: method name (and ``"truth"``) ->
    ``(H, W, 2)`` flow; ``local``: the same flows with the head motion removed (the affine
    motion fitted inside the face mask, as the keyframe magnitude curve removes it);
    ``strain``: the same keys -> ``(H, W)`` optical strain of ``flows``.
    """

    index: int
    pair: FlowPair
    flows: dict[str, np.ndarray]
    local: dict[str, np.ndarray]
    strain: dict[str, np.ndarray]


def _head_motion_remover(mask: np.ndarray):
    # The magnitude curve's own affine fit (stag.preprocess.keyframes), so that "head motion
    # removed" means the same thing in the flow figure and in keyframe selection.
    from stag.preprocess.keyframes import AffineRemover

    return AffineRemover(np.asarray(mask, bool))


def strongest_pair_panel(pairs: list[FlowPair], methods=("tvl1", "dis", "farneback"),
                         strain_sigma: float = 1.0) -> FlowPanel:
    """The pair with the strongest facial movement, estimated by every method of ``methods``,
    beside the truth.

    "Strongest" is the largest mean true displacement inside the mask once the head motion
    (an affine fit inside the mask) is removed: head drift moves the whole face and would
    otherwise pick the pair with the most drift rather than the clearest expression. Strain
    of estimated flows after a Gaussian of ``strain_sigma`` px (the truth is not smoothed).
    """
    if not pairs:
        raise ValueError("strongest_pair_panel: no flow pairs given")
    local_motion = [np.linalg.norm(_head_motion_remover(p.mask)(p.flow), axis=-1)[p.mask].mean() for p in pairs]
    i = int(np.argmax(local_motion))
    pair = pairs[i]
    flows = {m: compute_flow(pair.first, pair.second, m) for m in methods}
    flows["truth"] = pair.flow
    remove = _head_motion_remover(pair.mask)
    local = {k: remove(v) for k, v in flows.items()}
    strain = {k: optical_strain(v, 0.0 if k == "truth" else strain_sigma) for k, v in flows.items()}
    return FlowPanel(i, pair, flows, local, strain)


def panel_agreement(panel: FlowPanel) -> "pd.DataFrame":  # noqa: F821
    """How far each method's maps in ``panel`` agree with the truth, inside the face mask.

    Returns:
        One row per method (not the truth): ``epe`` (px, full flow), ``epe_local`` (px, head
        motion removed from both), ``r_local`` (Pearson correlation of the local flow
        magnitude with the true one) and ``r_strain`` (of the strain maps).
    """
    m = panel.pair.mask
    true_local, true_strain = panel.local["truth"], panel.strain["truth"]

    def r(a, b) -> float:
        a, b = np.asarray(a, np.float64)[m], np.asarray(b, np.float64)[m]
        return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")

    rows = [{"method": k, "epe": endpoint_error(panel.flows[k], panel.flows["truth"], m),
             "epe_local": endpoint_error(panel.local[k], true_local, m),
             "r_local": r(np.linalg.norm(panel.local[k], axis=-1), np.linalg.norm(true_local, axis=-1)),
             "r_strain": r(panel.strain[k], true_strain)}
            for k in panel.flows if k != "truth"]
    return pd.DataFrame(rows).set_index("method")


def panel_sentences(panel: FlowPanel, agreement: "pd.DataFrame", clip_id: str = "") -> str:  # noqa: F821
    """What the panel figure shows, as Markdown: how much of the true motion is head motion,
    and how closely each method's local flow and strain follow the truth
    (:func:`panel_agreement`), best strain agreement first."""
    m = panel.pair.mask
    total = float(np.linalg.norm(panel.flows["truth"], axis=-1)[m].mean())
    local = float(np.linalg.norm(panel.local["truth"], axis=-1)[m].mean())
    name = f"`{clip_id}`" if clip_id else "this pair"
    a = agreement.sort_values("r_strain", ascending=False)
    per_method = "; ".join(f"`{k}` {row.r_local:.2f} and {row.r_strain:.2f}" for k, row in a.iterrows())
    best, worst = a.index[0], a.index[-1]
    return (f"- In {name}, the true displacement inside the face averages {total:.2f} px; without the head "
            f"motion, {local:.2f} px of facial movement remain. The panels show the flow after removing the "
            f"head motion, as the keyframe curve does.\n"
            f"- Inside the face, the correlation with the truth of the local flow magnitude and of the strain "
            f"is {per_method}. The strain of `{best}` follows the true strain most closely and that of `{worst}` "
            f"least; their end-point errors without the head motion are {agreement.loc[best, 'epe_local']:.3f} px "
            f"and {agreement.loc[worst, 'epe_local']:.3f} px.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), help="flow presets to compare")
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 224], help="image sizes of the warp pairs")
    parser.add_argument("--pairs", type=int, default=8, help="pairs per test set")
    parser.add_argument("--clips", type=int, default=12, help="synthetic clips for the apex-flow set (0 = skip)")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of timing per method and set")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace):
    tables = []
    for size in args.sizes:
        t = measure(warp_pairs(args.pairs, size, seed=args.seed), args.methods, args.min_time)
        t.insert(0, "set", "warp")
        tables.append(t)
    if args.clips:
        from stag.data import load

        n_sub = max(1, (args.clips + 3) // 4)
        clips = list(load("synthetic", n_subjects=n_sub, clips_per_subject=4, seed=args.seed))[:args.clips]
        t = measure(synthetic_pairs(clips), args.methods, args.min_time)
        t.insert(0, "set", "synthetic_apex")
        tables.append(t)
    return pd.concat(tables, ignore_index=True)
