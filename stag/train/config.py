"""The training configuration: one frozen, validated dataclass."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from stag.device import DEVICE_CHOICES

SELECTIONS = ("last", "inner_val", "oracle")
ORACLE_LABEL = "oracle (epoch chosen on the test fold; literature comparison only)"
ORACLE_WARNING = (
    "selection='oracle' picks each fold's best epoch by looking at its test subject, as several "
    "published repositories do. Its scores are optimistic and are reported only to compare with "
    "the literature; use selection='last' or 'inner_val' for honest numbers."
)


@dataclass(frozen=True)
class TrainConfig:
    """How one fold is trained and how its final model is chosen.

    Args:
        epochs: training epochs (>= 1).
        batch_size: clips per optimisation step.
        lr: AdamW peak learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_epochs: linear warm-up length (epochs, may be fractional) before the schedule;
            capped at half of the training steps so short runs still decay.
        schedule: ``"cosine"`` (decay to 0 over the remaining steps) or ``"constant"``.
        loss: ``"focal"`` (:mod:`stag.models.losses`) or ``"ce"`` (cross-entropy).
        focal_gamma: focusing parameter of the focal loss.
        class_weighting: weight classes by inverse training frequency in the loss.
        balanced_sampling: draw batches with class-balanced probabilities instead of shuffling.
        augment: face-aware horizontal flip and translation jitter on training batches.
        flip_p: probability of the horizontal flip.
        jitter_px: maximum translation in flow pixels.
        au_loss_weight: weight of the auxiliary AU multi-label loss (models with an AU head).
        selection: ``"last"`` (fixed schedule; honest, default), ``"inner_val"`` (best epoch on
            an inner validation split of *training* subjects; honest) or ``"oracle"`` (best
            epoch on the test fold: optimistic, for comparison with the literature only).
        average_last: with ``"last"``, average the test softmax over the last this many epochs.
        inner_fraction: share of training subjects held out by ``"inner_val"``.
        patience: with ``"inner_val"``, stop after this many epochs without improvement
            (``None``: train all epochs, keep the best).
        seed: base seed; every fold derives its own seed from it and the fold name.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        amp: mixed precision on CUDA (ignored on the CPU).
        threads: torch CPU threads per fold (``None``: cores divided by parallel jobs).
        eval_batch_size: clips per inference batch.
    """

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    warmup_epochs: float = 1.0
    schedule: str = "cosine"
    loss: str = "focal"
    focal_gamma: float = 2.0
    class_weighting: bool = True
    balanced_sampling: bool = False
    augment: bool = True
    flip_p: float = 0.5
    jitter_px: int = 2
    au_loss_weight: float = 0.0
    selection: str = "last"
    average_last: int = 1
    inner_fraction: float = 0.2
    patience: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    threads: int | None = None
    eval_batch_size: int = 128

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"TrainConfig.{name}={getattr(self, name)!r}: expected {expected}")

        for name in ("epochs", "batch_size", "average_last", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, "an integer >= 1")
        if not self.lr > 0:
            raise bad("lr", "a positive number")
        if self.weight_decay < 0:
            raise bad("weight_decay", ">= 0")
        if self.warmup_epochs < 0:
            raise bad("warmup_epochs", ">= 0")
        if self.schedule not in ("cosine", "constant"):
            raise bad("schedule", "'cosine' or 'constant'")
        if self.loss not in ("focal", "ce"):
            raise bad("loss", "'focal' or 'ce'")
        if self.focal_gamma < 0:
            raise bad("focal_gamma", ">= 0")
        if not 0 <= self.flip_p <= 1:
            raise bad("flip_p", "a probability in [0, 1]")
        if self.jitter_px < 0:
            raise bad("jitter_px", ">= 0")
        if self.au_loss_weight < 0:
            raise bad("au_loss_weight", ">= 0")
        if self.selection not in SELECTIONS:
            raise bad("selection", f"one of {SELECTIONS}")
        if self.average_last > self.epochs:
            raise bad("average_last", f"<= epochs={self.epochs}")
        if self.average_last > 1 and self.selection != "last":
            raise bad("average_last", "1 unless selection='last'")
        if not 0 < self.inner_fraction < 1:
            raise bad("inner_fraction", "in (0, 1)")
        if self.patience is not None and (self.patience < 1 or self.selection != "inner_val"):
            raise bad("patience", "None, or an integer >= 1 with selection='inner_val'")
        if self.threads is not None and self.threads < 1:
            raise bad("threads", "None or >= 1")

        if not (self.device in DEVICE_CHOICES or str(self.device).startswith("cuda:")):
            raise bad("device", f"one of {DEVICE_CHOICES} or 'cuda:N'")

    @property
    def is_oracle(self) -> bool:
        return self.selection == "oracle"

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)


def stable_hash(obj, length: int = 16) -> str:
    """Hex digest of a JSON-serialisable object (keys sorted), stable across runs and machines."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fold_seed(seed: int, fold: str) -> int:
    """A per-fold seed derived from the base seed and the fold name, so a fold gets the same
    initialisation and batch order whatever order or process it runs in."""
    return int(hashlib.sha256(f"{seed}:{fold}".encode()).hexdigest()[:8], 16)
