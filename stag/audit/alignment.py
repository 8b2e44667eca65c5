"""How well a copy's flows line up with its faces, and with another copy of the same clips.

- :func:`eye_offsets`: per source dataset, how far the flows' eyes (mean strain blobs) sit from
  the faces' eyes (dlib), in pixels of a 28-pixel image, before and after the registration;
- :func:`subject_sensitivity`: how much one subject moves a dataset's transform (the
  registration is fitted on every clip's flows and faces, test subjects included, without
  labels; this bounds what any one subject contributes);
- :func:`cross_copy`: per-clip correlation of two copies' onset->apex images, channel by channel
  on the inner 20 x 20 of 28 pixels, as stored and with both copies brought into their faces'
  frame by their own registrations. Two copies registered independently to the same faces
  must agree with each other: the check that the registration found the face and not an
  artefact.

Pure numpy on :class:`~stag.preprocess.prepared.Prepared` clips.
"""

from __future__ import annotations

import numpy as np

from stag.preprocess.registration import (IDENTITY, Registration, Similarity, face_eyes, fit_similarity, flow_eyes,
                                          mean_strain, to_face_frame)

#: Side the offsets are reported in (the composites' native size).
REPORT_SIDE = 28
#: The inner square compared between copies (20 of 28 pixels: the face, not its border).
INNER = (4 / 28, 24 / 28)
CHANNELS = ("u", "v", "strain")


def _faces(clips) -> list:
    return [p for p in clips if (p.truth or {}).get("landmarks_from") == "dlib"]


def _by_dataset(prepared) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in prepared:
        out.setdefault(p.dataset, []).append(p)
    return out


def eye_offsets(prepared, registration: Registration) -> dict[str, dict]:
    """Per dataset: the mean distance between the flows' and the faces' eye centres, in pixels of
    a 28-pixel image, as stored and after ``registration`` (``{"stored", "registered"}``)."""
    out = {}
    for ds, clips in sorted(_by_dataset(prepared).items()):
        faces = _faces(clips)
        if not faces:
            continue
        side = clips[0].flows.shape[-1]
        fe = flow_eyes(mean_strain(clips))
        le = face_eyes(np.stack([p.landmarks for p in faces]), side)

        def offset(t: Similarity) -> float:
            moved = t.apply(np.array([fe.right, fe.left]))
            return float(np.linalg.norm(moved - np.array([le.right, le.left]), axis=1).mean() * REPORT_SIDE)

        out[ds] = {"stored": round(offset(IDENTITY), 3),
                   "registered": round(offset(registration.transforms.get(ds, IDENTITY)), 3)}
    return out


def subject_sensitivity(prepared) -> dict[str, float]:
    """Per dataset: the largest move of the fitted eye positions (pixels of 28) when the
    transform is refitted without one subject, over every subject."""
    out = {}
    for ds, clips in sorted(_by_dataset(prepared).items()):
        faces = _faces(clips)
        if not faces:
            continue
        side = clips[0].flows.shape[-1]
        full = fit_similarity(flow_eyes(mean_strain(clips)), face_eyes(np.stack([p.landmarks for p in faces]), side))
        probe = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.75]])  # both eyes and the mouth
        worst = 0.0
        for subject in sorted({p.subject for p in clips}):
            rest = [p for p in clips if p.subject != subject]
            rest_faces = [p for p in rest if p in faces]
            if not rest_faces:
                continue
            t = fit_similarity(flow_eyes(mean_strain(rest)), face_eyes(np.stack([p.landmarks for p in rest_faces]), side))
            worst = max(worst, float(np.abs(t.apply(probe) - full.apply(probe)).max() * REPORT_SIDE))
        out[ds] = round(worst, 3)
    return out


def _inner(x: np.ndarray) -> np.ndarray:
    h = x.shape[-1]
    lo, hi = int(round(INNER[0] * h)), int(round(INNER[1] * h))
    return x[..., lo:hi, lo:hi]


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row correlation of ``(n, P)`` arrays."""
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a ** 2).sum(1) * (b ** 2).sum(1))
    return np.divide((a * b).sum(1), den, out=np.zeros(len(a)), where=den > 0)


def cross_copy(first, second, first_registration: Registration, second_registration: Registration) -> dict:
    """Agreement of two copies of the same clips (matched by clip id; phase 0 of each).

    Returns:
        ``{"clips": n, "stored": {...}, "registered": {...}, "per_dataset": {ds: {"stored",
        "registered"}}}`` where each score is ``{"u", "v", "strain", "mean"}``: the mean over clips
        of the per-clip correlation on the inner 20 x 20 (of 28), as stored and with each copy
        resampled into its faces' frame (:func:`~stag.preprocess.registration.to_face_frame`).
    """
    other = {p.clip_id: p for p in second}
    pairs = [(p, other[p.clip_id]) for p in first if p.clip_id in other]
    if not pairs:
        return {"clips": 0}

    def scores(rows) -> dict:
        stored, registered = [], []
        for a, b in rows:
            ta = first_registration.transforms.get(a.dataset, IDENTITY)
            tb = second_registration.transforms.get(b.dataset, IDENTITY)
            stored.append((a.flows[0, :3], b.flows[0, :3]))
            registered.append((to_face_frame(a.flows[0, :3], ta), to_face_frame(b.flows[0, :3], tb)))

        def corr(items) -> dict:
            x = np.stack([_inner(i[0]) for i in items])
            y = np.stack([_inner(i[1]) for i in items])
            r = {c: float(_correlations(x[:, k].reshape(len(x), -1), y[:, k].reshape(len(y), -1)).mean())
                 for k, c in enumerate(CHANNELS)}
            r["mean"] = float(np.mean(list(r.values())))
            return {k: round(v, 4) for k, v in r.items()}

        return {"stored": corr(stored), "registered": corr(registered)}

    out = {"clips": len(pairs), **scores(pairs), "per_dataset": {}}
    for ds in sorted({a.dataset for a, _ in pairs}):
        out["per_dataset"][ds] = scores([(a, b) for a, b in pairs if a.dataset == ds])
    return out
