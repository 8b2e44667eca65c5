"""The model-ready sample that preprocessing produces and models/training consume."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Channel order of every flow stack in the package (documented once, here).
FLOW_CHANNELS: tuple[str, ...] = ("u", "v", "strain", "magnitude")


@dataclass(eq=False)
class Prepared:
    """One preprocessed clip.

    Attributes:
        clip_id, subject, dataset, label, aus, au_error: copied from the :class:`~stag.data.Clip`
            (``au_error`` non-empty: the AU string was unreadable, so the clip has no AU targets).
        flows: ``(K, C, H, W)`` float32. ``flows[k]`` is the optical flow from the onset frame
            to keyframe ``k`` on the aligned face; channels follow :data:`FLOW_CHANNELS`
            (``u, v`` in pixels, x right / y down; ``strain``; optionally ``magnitude``),
            first ``C`` of them. Padded keyframes are all-zero.
        key_mask: ``(K,)`` bool, ``True`` for a real keyframe, ``False`` for padding.
        magnitudes: ``(K,)`` float32 motion magnitude of each keyframe relative to onset,
            normalised to max 1 over the clip (0 for padding): the temporal-attention prior.
        key_indices: ``(K,)`` int64 frame indices of the keyframes (``-1`` for padding).
        rois: ``(N, 4)`` float32 ROI boxes ``(x0, y0, x1, y1)`` in flow pixel coordinates,
            in the order of :data:`stag.faces.ROI_TABLE`.
        landmarks: ``(68, 2)`` float32 aligned onset landmarks in flow pixel coordinates.
        face: ``(H, W)`` uint8 aligned apex face (grey), for overlays.
        truth: synthetic ground truth resampled to the aligned frame (e.g. ``au_masks``
            ``(A, H, W)``, ``au_intensity``), empty for real data.
    """

    clip_id: str
    subject: str
    dataset: str
    label: int
    flows: np.ndarray
    key_mask: np.ndarray
    magnitudes: np.ndarray
    key_indices: np.ndarray
    rois: np.ndarray
    landmarks: np.ndarray | None = None
    face: np.ndarray | None = None
    aus: tuple[int, ...] = ()
    truth: dict = field(default_factory=dict)
    au_error: str = ""  # why the clip's AU string could not be read (then ``aus`` is unknown)
    au_coded: bool = True  # False: the clip has no AU coding at all (SMIC); an AU loss skips it
