"""The input audit's figure: where the motion is, against where the ROIs are."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from stag.preprocess.registration import IDENTITY, Registration, to_face_frame
from stag.preprocess.rois import roi_boxes
from stag.viz.theme import PALETTE, new_figure


def motion_variability(flows: np.ndarray) -> np.ndarray:
    """``(H, W)``: per pixel, the standard deviation over clips of the median-centred u and v
    (``sqrt(var u + var v)``) of ``(n, C>=2, H, W)`` flows: where faces move from clip to clip."""
    f = np.asarray(flows, np.float64)[:, :2]
    f = f - np.median(f, axis=(2, 3), keepdims=True)
    return np.sqrt(f.var(axis=0).sum(axis=0))


def audit_figure(prepared, registration: Registration, *, title: str = ""):
    """One column per source dataset: the mean face (grey), the motion variability of the flows
    (colour, brightest where faces move most) and the 16 ROIs from the faces' mean dlib
    landmarks; top row as stored, bottom row with the flows brought into the faces' frame by
    the fitted transform. ``prepared``: clips with ROIs as stored (faces and landmarks at the
    flows' size). Returns the figure."""
    datasets = sorted({p.dataset for p in prepared if p.face is not None})
    fig, axes = new_figure(2, max(len(datasets), 1), width=3.4 * max(len(datasets), 1), height=7.2, squeeze=False)
    for j, ds in enumerate(datasets):
        clips = [p for p in prepared if p.dataset == ds]
        faces = [p for p in clips if (p.truth or {}).get("landmarks_from") == "dlib"]
        side = clips[0].flows.shape[-1]
        face = np.mean([p.face for p in clips if p.face is not None], axis=0)
        landmarks = np.mean([p.landmarks for p in faces], axis=0) if faces else None
        variability = motion_variability(np.stack([p.flows[0] for p in clips]))
        t = registration.transforms.get(ds, IDENTITY)
        for i, (label, transform) in enumerate((("as stored", IDENTITY), ("registered", t))):
            ax = axes[i, j]
            ax.imshow(face, cmap="gray", vmin=0, vmax=255, extent=(0, side, side, 0))
            ax.imshow(to_face_frame(variability, transform), cmap="magma", alpha=0.55, extent=(0, side, side, 0))
            if landmarks is not None:
                for n, (x0, y0, x1, y1) in enumerate(roi_boxes(landmarks, side)):
                    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.0,
                                           ec=PALETTE[n % len(PALETTE)]))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            name = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC"}.get(ds, ds)
            detail = "" if transform.is_identity else f"\n{transform.describe(side)}"
            ax.set_title(f"{name}, {label}{detail}", fontsize=11)
    if title:
        fig.suptitle(f"{title}: motion variability (colour) over the mean face, with the 16 ROIs", fontsize=12)
    fig.tight_layout()
    return fig
