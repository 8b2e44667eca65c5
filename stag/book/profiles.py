"""Named parameter sets for ``stag book --profile``.

``quick`` is the notebooks' own defaults (the whole book in about ten minutes on two CPU
cores). ``full`` is the full-scale study, meant for a GPU: chapter 6 trains STAG, every
ablation, the baselines and their equal-input controls with 3 seeds each (``models`` is the
list chapter 6 trains and chapter 11 reports; chapter 9 explains ``explain_models``). A profile
value is passed only to the notebooks that declare that parameter.
"""

from __future__ import annotations

#: Chapter 6's models in the full profile: STAG, every ablation, both baselines and the
#: baselines at STAG's input resolution (the component study of issue 17, trained live).
FULL_MODELS = ("stag,stag_no_graph,stag_no_temporal,stag_static_adj,stag_late_fusion,stag_no_mag_prior,"
               "ststnet,offapexnet,ststnet_64,offapexnet_64")

PROFILES: dict[str, dict[str, object]] = {
    "quick": {},
    "full": {
        "n_subjects": 26,
        "clips_per_subject": 16,
        "image_size": 128,
        "keyframes": 8,
        "epochs": 60,
        "seeds": 3,
        "protocol": "loso",
        "output_size": 0,  # 0 = keep the aligned 128 px flow
        "models": FULL_MODELS,
        "oracle_models": "stag,ststnet,offapexnet",
    },
}


def profile_parameters(name: str) -> dict[str, object]:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return dict(PROFILES[name])
