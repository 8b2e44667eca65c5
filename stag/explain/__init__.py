"""Explanations of trained models: Captum attributions, AU-localisation scores, faithfulness curves.

- :mod:`stag.explain.attributions`: Integrated Gradients, GradientShap, Saliency and Occlusion
  on the flow input; ROI occlusion and layer IG on the ROI node features; keyframe importance;
  learned adjacency/attention from ``forward_details``.
- :mod:`stag.explain.scores`: pure-numpy checks against synthetic ground truth (AU-localisation
  lift, pointing game, ROI rank agreement, map agreement).
- :mod:`stag.explain.faithfulness`: deletion/insertion curves against random orders.
- :mod:`stag.explain.study`: :func:`explain_run` over a trained run's folds, held-out clips only.
- :mod:`stag.explain.real_faces`: ROI rankings of trained LOSO folds on their held-out coded
  clips, recorded as ``results/<study>_explain/<run>.csv`` in the format of
  :mod:`stag.results.real_faces`, which reads them back (scored with
  :mod:`stag.results.roi_ranking`) into the real-face chapter's tables and findings.
- :mod:`stag.explain.cli`: ``stag explain``.

Heavy modules (torch, captum) are imported on first use of a name here.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AttributionConfig": "stag.explain.attributions", "attribute_flows": "stag.explain.attributions",
    "roi_occlusion": "stag.explain.attributions", "roi_layer_attribution": "stag.explain.attributions",
    "keyframe_importance": "stag.explain.attributions", "model_details": "stag.explain.attributions",
    "METHODS": "stag.explain.attributions",
    "localisation_score": "stag.explain.scores", "pointing_game": "stag.explain.scores",
    "pixel_map": "stag.explain.scores", "rank_agreement": "stag.explain.scores",
    "pixel_curves": "stag.explain.faithfulness", "roi_curves": "stag.explain.faithfulness",
    "curve_summary": "stag.explain.faithfulness",
    "ExplainConfig": "stag.explain.study", "Explanation": "stag.explain.study",
    "explain_clips": "stag.explain.study", "explain_run": "stag.explain.study",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'stag.explain' has no attribute {name!r}")
