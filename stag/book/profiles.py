"""Named parameter sets for ``stag book --profile``.

``quick`` is the notebooks' own defaults (the whole book in about ten minutes on two CPU
cores). ``full`` is the full-scale study, meant for a GPU. A profile value is passed only to
the notebooks that declare that parameter.
"""

from __future__ import annotations

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
        "oracle_models": "stag,ststnet,offapexnet",
    },
}


def profile_parameters(name: str) -> dict[str, object]:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return dict(PROFILES[name])
