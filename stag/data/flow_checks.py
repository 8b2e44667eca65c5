"""What a copy of precomputed flow images holds, measured from the images alone.

Peers distribute optical flow as 8-bit images with three channels (u, v and optical strain) and
say little about their order. Read in the wrong order, a model trains on u as if it were
strain and still scores: this project's first composite study did exactly that. So the order is
read off the data, with two properties that need no label:

- **strain** is a magnitude: non-negative and right-skewed (most of a face does not move);
  u and v are signed and roughly symmetric about their median. Per image, the skewness of each
  channel; the strain channel's is the largest by far.
- **v** (vertical motion) is mirror-symmetric across a frontal face (both brows rise together)
  and **u** (horizontal) is mirror-antisymmetric (the mouth corners move apart): per image, the
  correlation of each channel (about its median) with its left-right mirror image.

Where a copy has two phases (onset->apex, apex->offset), the second phase's direction is read
the same way: per clip, the correlation of u and v between the phases (negative: the face
returns).

:func:`channel_evidence` measures, :func:`check_channel_order` refuses a configured order that
the evidence contradicts or cannot decide. Both read the decoded flows of a
:class:`~stag.data.clip.ClipSet` (channels u, v, strain in the configured order); they never read
a class label. Pure numpy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from stag.data.annotations import DataError

#: Fewest clips for a verdict; with fewer the evidence is reported but never refuses.
MIN_CLIPS = 30
#: The strain channel's median skewness must exceed this, and the other two channels' by
#: :data:`SKEW_MARGIN` (public copies: 3.8 and 6.2 against at most 0.6).
MIN_STRAIN_SKEW, SKEW_MARGIN = 1.0, 1.0
#: v's mirror correlation must exceed u's by this (public copies: 0.76 and 0.60).
MIRROR_MARGIN = 0.2
NAMES = ("u", "v", "strain")


@dataclass(frozen=True)
class ChannelEvidence:
    """Per decoded channel (u, v, strain as configured) over ``n_clips`` clips: the median per-image
    ``skewness`` and ``mirror`` correlation, the verdict (``found``: which configured channel
    looks like which, or ``None`` where it cannot be decided) and, for two phases, the median
    per-clip correlation of phase 1 with phase 0 in u, v and strain (``phase_correlation``)."""

    n_clips: int
    skewness: tuple[float, float, float]
    mirror: tuple[float, float, float]
    found: tuple[str, str, str] | None
    phase_correlation: tuple[float, float, float] | None = None

    @property
    def decided(self) -> bool:
        return self.found is not None and self.n_clips >= MIN_CLIPS

    @property
    def agrees(self) -> bool:
        """The configured reading (u, v, strain) is what the evidence finds."""
        return self.found == NAMES

    @property
    def phase_direction(self) -> str | None:
        """``"back"`` (phase 1 returns: u and v anticorrelate with phase 0), ``"same"``, or ``None``."""
        if self.phase_correlation is None:
            return None
        u, v, _ = self.phase_correlation
        return "back" if u < 0 and v < 0 else "same" if u > 0 and v > 0 else "mixed"

    def describe(self) -> str:
        """One sentence per finding."""
        parts = [f"{n}: skewness {s:+.1f}, mirror correlation {m:+.2f}"
                 for n, s, m in zip(NAMES, self.skewness, self.mirror)]
        verdict = ("the configured order reads correctly" if self.agrees else
                   f"the channels read as {', '.join(NAMES)} look like {', '.join(self.found)}" if self.found else
                   "the channel order cannot be decided")
        text = f"{self.n_clips} clips; " + "; ".join(parts) + f"; {verdict}"
        if self.phase_correlation is not None:
            u, v, s = self.phase_correlation
            text += (f"; phase 1 against phase 0: u {u:+.2f}, v {v:+.2f}, strain {s:+.2f} "
                     f"(phase 1 points {'back' if self.phase_direction == 'back' else self.phase_direction})")
        return text

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(decided=self.decided, agrees=self.agrees, phase_direction=self.phase_direction)
        return d


def _skewness(x: np.ndarray) -> np.ndarray:
    """Per image skewness of ``(n, H, W)``."""
    flat = x.reshape(len(x), -1).astype(np.float64)
    c = flat - flat.mean(1, keepdims=True)
    sd = np.sqrt((c ** 2).mean(1))
    return np.divide((c ** 3).mean(1), sd ** 3, out=np.zeros(len(x)), where=sd > 0)


def _mirror(x: np.ndarray) -> np.ndarray:
    """Per image correlation of ``(n, H, W)`` (about its median) with its left-right mirror."""
    c = x.astype(np.float64) - np.median(x, axis=(1, 2), keepdims=True)
    return _correlation(c, c[:, :, ::-1])


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    den = np.sqrt((a ** 2).sum(1) * (b ** 2).sum(1))
    return np.divide((a * b).sum(1), den, out=np.zeros(len(a)), where=den > 0)


def channel_evidence(flows: np.ndarray) -> ChannelEvidence:
    """Evidence for the channel order of decoded flows.

    Args:
        flows: ``(n, K, 3, H, W)`` (or ``(n, 3, H, W)``) decoded flows, channels as the loader
            read them (u, v, strain in the configured order); only phase 0 decides the order.

    Returns:
        :class:`ChannelEvidence`. ``found`` names the channel with the largest skewness
        ``strain`` when it exceeds :data:`MIN_STRAIN_SKEW` and the others by :data:`SKEW_MARGIN`,
        and of the other two ``v`` the more mirror-symmetric when the two differ by
        :data:`MIRROR_MARGIN`; otherwise ``None``.
    """
    f = np.asarray(flows, np.float32)
    if f.ndim == 4:
        f = f[:, None]
    if f.ndim != 5 or f.shape[2] < 3:
        raise ValueError(f"flows: expected (n, K, 3, H, W) decoded flows, got shape {f.shape}")
    first = f[:, 0, :3]
    skew = tuple(float(np.median(_skewness(first[:, c]))) for c in range(3))
    mirror = tuple(float(np.median(_mirror(first[:, c]))) for c in range(3))
    found = None
    s = int(np.argmax(skew))
    others = [c for c in range(3) if c != s]
    if skew[s] >= MIN_STRAIN_SKEW and skew[s] - max(skew[c] for c in others) >= SKEW_MARGIN:
        a, b = others
        if abs(mirror[a] - mirror[b]) >= MIRROR_MARGIN:
            v, u = (a, b) if mirror[a] > mirror[b] else (b, a)
            names = [""] * 3
            names[u], names[v], names[s] = "u", "v", "strain"
            found = tuple(names)
    phases = None
    if f.shape[1] >= 2:
        phases = tuple(float(np.median(_correlation(f[:, 0, c], f[:, 1, c]))) for c in range(3))
    return ChannelEvidence(len(f), skew, mirror, found, phases)


def check_channel_order(clipset, channel_order: str) -> ChannelEvidence:
    """Measure :func:`channel_evidence` on ``clipset``'s flows and refuse them when, with at least
    :data:`MIN_CLIPS` clips, the evidence contradicts ``channel_order`` or cannot decide it.

    Raises:
        DataError: naming the flow folder, the configured order and what was measured.
    """
    clips = [c for c in clipset if c.flows is not None]
    ev = channel_evidence(np.stack([c.flows[:, :3] for c in clips])) if clips else None
    if ev is None or ev.n_clips < MIN_CLIPS or ev.agrees:
        return ev
    where = (getattr(clipset, "params", None) or {}).get("flow_dir") or getattr(clipset, "name", "the flow images")
    problem = (f"they look like {', '.join(ev.found)}: the order is wrong" if ev.found else
               "the evidence cannot decide which channel is which")
    raise DataError(f"flow images in {where}: read with channel_order={channel_order!r} as u, v, strain, but "
                    f"{problem} ({ev.describe()}). Pass the right channel_order (-p channel_order ...), or "
                    f"check_channels=False to load them unchecked")
