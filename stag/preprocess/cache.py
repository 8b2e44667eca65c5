"""On-disk cache of preprocessed clips: one ``.npz`` per clip, keyed by content and parameters.

The key is a SHA-1 over :data:`CODE_VERSION`, every preprocessing parameter, the clip's ids and
annotations, and the bytes of its frames / flows / landmarks / ground truth. Changing any of them
gives a new key, so a stale entry is never read; files are written to a temporary name and then
renamed, so an interrupted run leaves either a whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from stag.files import atomic_write
from stag.preprocess.prepared import Prepared

# Bump when a change to the preprocessing code changes its output. prepare-5: the keyframe
# magnitude curve uses DEFAULT_FLOW (tuned DIS) instead of DIS "medium", so keyframes moved.
# prepare-6: truth["landmark_nme"] is normalised by the outer-eye-corner distance (36/45).
CODE_VERSION = "prepare-6"

_ARRAYS = ("flows", "key_mask", "magnitudes", "key_indices", "rois", "landmarks", "face")


def _update(h, value) -> None:
    """Feed ``value`` (arrays, scalars, strings, sequences, dicts) into hash ``h`` unambiguously."""
    if value is None:
        h.update(b"N")
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(f"A{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for k in sorted(value, key=str):
            _update(h, str(k))
            _update(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _update(h, v)
    else:
        h.update(f"S{type(value).__name__}:{value!r}".encode())


def clip_key(clip, params: dict, frames: np.ndarray | None = None) -> str:
    """Cache key of ``clip`` preprocessed with ``params`` (a JSON-able dict of every parameter).

    Args:
        clip: a :class:`~stag.data.Clip`.
        params: the preprocessing parameters.
        frames: the clip's frames when already loaded (lazy clips); otherwise ``clip.frames``.
            Ignored when the clip has a ``fingerprint`` (its frames are a pure function of it).
    """
    h = hashlib.sha1()
    _update(h, CODE_VERSION)
    _update(h, json.dumps(params, sort_keys=True, default=str))
    _update(h, [clip.clip_id, clip.subject, clip.dataset, int(clip.label), clip.onset, clip.apex,
                clip.offset, tuple(clip.aus), clip.au_error]
            + ([] if getattr(clip, "au_coded", True) else ["au_coded=False"]))
    if clip.fingerprint:
        _update(h, "fingerprint:" + clip.fingerprint)
    else:
        _update(h, frames if frames is not None else clip.frames)
    _update(h, clip.flows)
    _update(h, clip.landmarks)
    _update(h, clip.truth)
    return h.hexdigest()


class PrepareCache:
    """A folder of cached :class:`Prepared` entries (``<root>/<key>.npz``)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def load(self, key: str) -> Prepared | None:
        """The entry under ``key``, or ``None`` when absent or unreadable (then it is recomputed)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return read_prepared(path)
        except Exception:  # a truncated or foreign file: treat as a miss
            return None

    def save(self, key: str, prepared: Prepared) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        write_prepared(path, prepared)
        return path


def write_prepared(path: Path, p: Prepared) -> None:
    """Write ``p`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    arrays = {name: getattr(p, name) for name in _ARRAYS if getattr(p, name) is not None}
    scalars, truth_meta = {}, {}
    for k, v in p.truth.items():
        if isinstance(v, np.ndarray):
            arrays[f"truth__{k}"] = v
        else:
            truth_meta[k] = v
    meta = {"clip_id": p.clip_id, "subject": p.subject, "dataset": p.dataset, "label": int(p.label),
            "aus": list(p.aus), "au_error": p.au_error, "au_coded": bool(p.au_coded), "truth": truth_meta, **scalars}
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a bare name
            np.savez(fh, **arrays)  # flows are noise-like floats: compression saved ~nothing and cost reads

    atomic_write(path, write)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"cannot store {type(o).__name__} in the prepare cache")


def read_prepared(path: Path) -> Prepared:
    """Read a :class:`Prepared` written by :func:`write_prepared`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}
    truth = dict(meta.get("truth", {}))
    if "au_ids" in truth:
        truth["au_ids"] = tuple(truth["au_ids"])
    if "au_intensity" in truth:
        truth["au_intensity"] = {int(k): float(v) for k, v in truth["au_intensity"].items()}
    for k in [k for k in arrays if k.startswith("truth__")]:
        truth[k[len("truth__"):]] = arrays.pop(k)
    return Prepared(clip_id=meta["clip_id"], subject=meta["subject"], dataset=meta["dataset"],
                    label=int(meta["label"]), flows=arrays["flows"], key_mask=arrays["key_mask"],
                    magnitudes=arrays["magnitudes"], key_indices=arrays["key_indices"],
                    rois=arrays["rois"], landmarks=arrays.get("landmarks"), face=arrays.get("face"),
                    aus=tuple(meta["aus"]), truth=truth, au_error=meta.get("au_error", ""),
                    au_coded=bool(meta.get("au_coded", True)))
