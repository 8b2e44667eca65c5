"""Frames rendered into the MEGC2019 composite's flow-image representation.

The composite's providers distribute each clip as small 8-bit flow images, not frames: one
per phase (onset->apex, and in the two-phase copy apex->offset), channels u, v and optical
strain, each channel min-max scaled to 0..255 on its own, then down-sampled to 28x28 (the
two-phase copy's channels rarely span 0..255, which is what area down-sampling after the
scaling does; :mod:`stag.data.megc2019`). A model trained on that representation never sees
pixels of motion, only relative maps, so data meant to pretrain it (the synthetic set) must
be rendered the same way: :func:`composite_phases` does it with the pipeline's own flow, on
the aligned face, from the annotated (or spotted) onset, apex and offset.

``PrepareConfig(representation="composite")`` runs it inside :func:`stag.preprocess.pipeline.prepare_clip`
(cached like every preprocessing), then hands the images to the same path as the real
composite's flows, so both reach a model through identical code.
"""

from __future__ import annotations

import numpy as np

from stag.data.megc2019 import decode_flow_image, encode_flow_png
from stag.preprocess.flow import DEFAULT_FLOW, flow_stack

#: Side of the composite's flow images.
COMPOSITE_SIZE = 28


def composite_image(flow: np.ndarray, size: int = COMPOSITE_SIZE) -> np.ndarray:
    """One phase as the composite stores it, decoded: ``(3, S, S)`` u, v, strain float flow ->
    per-channel min-max to 8 bits (:func:`~stag.data.megc2019.encode_flow_png`), area
    down-sampling to ``size`` (8-bit), decoding to ``(3, size, size)`` float32 in ``[-1, 1]``."""
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    image = encode_flow_png(flow, "minmax")  # (S, S, 3) uint8 in the composite's channel order
    if image.shape[0] != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return decode_flow_image(image)


def composite_phases(aligned: np.ndarray, onset: int, apex: int, offset: int, *, phases: int = 2,
                     method: str = DEFAULT_FLOW, strain_sigma: float = 2.0,
                     size: int = COMPOSITE_SIZE) -> np.ndarray:
    """The composite's phases of one aligned clip.

    Args:
        aligned: ``(T, S, S)`` uint8 grey aligned face frames.
        onset, apex, offset: frame indices (``onset < apex``; ``apex < offset`` for 2 phases).
        phases: ``1`` (onset->apex) or ``2`` (onset->apex, apex->offset).
        method, strain_sigma: the flow preset and the smoothing before strain
            (:func:`~stag.preprocess.flow.flow_stack`).
        size: side of the images.

    Returns:
        ``(phases, 3, size, size)`` float32 in ``[-1, 1]``, channels u, v, strain.

    Raises:
        ValueError: ``phases`` is not 1 or 2, or the indices are out of order or range.
    """
    if phases not in (1, 2):
        raise ValueError(f"phases={phases!r}: expected 1 (onset->apex) or 2 (onset->apex, apex->offset)")
    t = len(aligned)
    if not 0 <= onset < apex < t or (phases == 2 and not apex < offset < t):
        raise ValueError(f"composite phases need onset < apex{' < offset' if phases == 2 else ''} inside the "
                         f"clip's {t} frames; got onset {onset}, apex {apex}, offset {offset}")
    pairs = [(onset, apex), (apex, offset)][:phases]
    flows = [flow_stack(aligned[a], aligned[[b]], method=method, channels=3, strain_sigma=strain_sigma)[0]
             for a, b in pairs]
    return np.stack([composite_image(f, size) for f in flows]).astype(np.float32)
