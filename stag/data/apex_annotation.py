"""Noisy and absent apex annotations: the situation of SMIC-HS and of hurried coders.

Apex-based methods read the flow from the onset to the *annotated* apex frame. Real apex
annotations are imprecise (coders disagree by several frames at 200 fps) and SMIC-HS has
none at all; MEGC2019 then takes the middle frame of the onset-offset interval. These pure
functions turn exact annotations into such annotations, so that the synthetic set (whose
true apex is known) can measure what an apex-based method loses and what STAG, which picks
its keyframes from the motion itself, keeps. Only ``Clip.apex`` changes: frames, onset,
offset, label and ground truth (``Clip.truth``) stay as they were.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

import numpy as np

from stag.data.clip import Clip

#: What ``apex_noise`` may be besides a number: the annotation is absent and the middle frame of
#: the onset-offset interval stands in for it (the MEGC2019 convention for SMIC-HS).
ABSENT = "absent"


def _window(clip: Clip) -> tuple[int, int]:
    if clip.onset is None or clip.apex is None:
        raise ValueError(f"clip {clip.clip_id!r}: onset={clip.onset}, apex={clip.apex}; a noisy apex needs an "
                         "annotated onset and apex")
    onset = int(clip.onset)
    last = int(clip.offset) if clip.offset is not None else len(clip.frame_numbers) - 1
    return onset, last


def middle_apex(clip: Clip) -> int:
    """The frame halfway between the annotated onset and offset (what stands in for an absent apex)."""
    onset, last = _window(clip)
    return (onset + last) // 2


def noisy_apex(clip: Clip, noise: float, seed: int = 0) -> int:
    """The apex an imprecise coder would annotate.

    The true apex moves by a Gaussian number of frames with standard deviation ``noise`` times
    the clip's onset->apex duration, rounded and kept inside ``(onset, offset]``. The draw
    depends only on ``seed`` and the clip id, so every model and rerun sees the same
    annotation.

    Raises:
        ValueError: ``noise`` is negative or not finite, or the clip lacks onset or apex.
    """
    if isinstance(check_apex_noise(noise), str):
        raise ValueError(f"noisy_apex: noise={noise!r} must be a number; use middle_apex for an absent apex")
    onset, last = _window(clip)
    apex = int(clip.apex)
    if noise == 0:
        return apex
    rng = np.random.default_rng([int(seed), zlib.crc32(clip.clip_id.encode())])
    shifted = apex + int(np.rint(rng.normal(0.0, noise * max(apex - onset, 1))))
    return int(np.clip(shifted, min(onset + 1, last), last))


def check_apex_noise(noise: object) -> float | str:
    """``noise`` if it is a valid ``apex_noise`` (a finite number >= 0 or ``"absent"``).

    Raises:
        ValueError: naming the parameter and what is accepted.
    """
    number = isinstance(noise, (int, float, np.number)) and not isinstance(noise, bool)
    ok = noise == ABSENT if isinstance(noise, str) else (number and np.isfinite(noise) and noise >= 0)
    if not ok:
        raise ValueError(f"apex_noise={noise!r}: expected a number >= 0 (a fraction of the onset->apex duration) "
                         f"or {ABSENT!r}")
    return noise if isinstance(noise, str) else float(noise)


def perturb_apex(clips: Sequence[Clip], noise: float | str, seed: int = 0) -> list[Clip]:
    """``clips`` with their apex annotation made noisy (:func:`noisy_apex`, ``noise`` a number)
    or absent (``noise == "absent"``: :func:`middle_apex`). ``noise=0`` returns them unchanged.

    Raises:
        ValueError: an unknown ``noise`` (naming what is accepted).
    """
    noise = check_apex_noise(noise)
    if isinstance(noise, str):
        return [dataclasses.replace(c, apex=middle_apex(c)) for c in clips]
    if noise == 0:
        return list(clips)
    return [dataclasses.replace(c, apex=noisy_apex(c, float(noise), seed)) for c in clips]


def apex_shift(original: Sequence[Clip], perturbed: Sequence[Clip]) -> np.ndarray:
    """``(n,)`` absolute apex shift in frames between two versions of the same clips."""
    if [c.clip_id for c in original] != [c.clip_id for c in perturbed]:
        raise ValueError("apex_shift: the two clip lists hold different clips")
    return np.array([abs(int(a.apex) - int(b.apex)) for a, b in zip(original, perturbed)], dtype=np.int64)
