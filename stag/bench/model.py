"""``stag bench model``: parameters, forward FLOPs, CPU latency and training cost of the models.

FLOPs come from :class:`torch.utils.flop_counter.FlopCounterMode` (matrix multiplications and
convolutions, 2 FLOPs per multiply-add; resampling, norms and activations are not counted) at
batch 1. Latency is the wall time of a forward pass under ``torch.inference_mode`` after
warm-up, on random inputs of the uniform interface, with the process's torch threads; the
table gives the best of the repeats (what the model costs; robust to other processes sharing
the CPU) and their median (what a busy machine gave).

Training cost (``train=True``) is the wall time of one optimisation step (forward,
cross-entropy, backward, optimiser update) at the model's own training batch size
(:func:`training_protocol`: HTNet's published 256, the ``stag train`` default otherwise),
extrapolated to one epoch of a composite LOSO fold (:data:`COMPOSITE_FOLD_CLIPS` training
clips, ``clips / batch`` steps) and to the model's whole protocol (epochs x folds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from stag.results.efficiency import cost_table  # noqa: F401  (the CLI prints it; tables live in results)
from stag.train.config import TrainConfig

HELP = "parameters, FLOPs and CPU latency of STAG, its ablations and the baselines"

DEFAULT_SIZES = (128, 64)
DEFAULT_KEYFRAMES = (1, 8)
DEFAULT_BATCHES = (1, 32)

#: Training clips of one LOSO fold of the MEGC2019 composite (442 clips of 68 subjects, less
#: the held-out subject's), and its folds.
COMPOSITE_FOLD_CLIPS = 435
COMPOSITE_FOLDS = 68


def training_protocol(name: str) -> dict:
    """How a registered model is trained: ``batch_size, epochs, lr, optimizer, source``.

    HTNet-like follows the authors' published protocol; every other model the defaults of
    :class:`~stag.train.config.TrainConfig` (what ``stag train`` runs).
    """
    # lazy: `stag --help` loads this module; stag.models.htnet loads only when used
    from stag.models.htnet import PUBLISHED_TRAINING

    if name == "htnet":
        return {**PUBLISHED_TRAINING, "source": "published (HTNet main_HTNet.py)"}
    cfg = TrainConfig()
    return {"optimizer": "adamw", "lr": cfg.lr, "batch_size": cfg.batch_size, "epochs": cfg.epochs,
            "source": "stag train defaults"}


def example_inputs(batch: int, keyframes: int, size: int, *, in_channels: int = 3, num_rois: int = 16, seed: int = 0):
    """Random ``(flows, rois, key_mask, magnitudes)`` of the uniform interface (boxes inside the face)."""
    g = torch.Generator().manual_seed(seed)
    flows = torch.randn(batch, keyframes, in_channels, size, size, generator=g) * 0.5
    x0 = torch.rand(batch, num_rois, generator=g) * size * 0.7
    y0 = torch.rand(batch, num_rois, generator=g) * size * 0.7
    side = size * (0.12 + 0.1 * torch.rand(batch, num_rois, generator=g))
    rois = torch.stack([x0, y0, x0 + side, y0 + side], dim=-1)
    key_mask = torch.ones(batch, keyframes, dtype=torch.bool)
    magnitudes = torch.rand(batch, keyframes, generator=g)
    return flows, rois, key_mask, magnitudes


def count_flops(model, inputs) -> int:
    """Forward FLOPs of ``model(*inputs)`` counted by :class:`FlopCounterMode`."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(*inputs)
    return int(counter.get_total_flops())


def latency_ms(model, inputs, *, repeats: int = 20, warmup: int = 3, budget_s: float = 1.0) -> tuple[float, float]:
    """``(best, median)`` milliseconds per forward pass (stops early after ``budget_s`` s of timing)."""
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(*inputs)
        start = time.perf_counter()
        for _ in range(repeats):
            t = time.perf_counter()
            model(*inputs)
            times.append(time.perf_counter() - t)
            if time.perf_counter() - start > budget_s and len(times) >= 3:
                break
    return 1000.0 * min(times), 1000.0 * statistics.median(times)


def train_step_s(model, inputs, labels, *, optimizer: str = "adam", lr: float = 1e-3, repeats: int = 1,
                 warmup_clips: int = 2) -> tuple[float, float]:
    """``(best, median)`` seconds of one training step on the whole batch ``inputs``.

    A step is zero-grad, forward, cross-entropy, backward and the optimiser update. One
    warm-up step on the first ``warmup_clips`` clips allocates the optimiser state (lazily
    created by the first update) without paying for a full batch. The model is left in
    training mode with updated weights: pass a throw-away model.

    Args:
        model: a registry model.
        inputs: ``(flows, rois, key_mask, magnitudes)`` of ``B`` clips.
        labels: ``(B,)`` int64 classes.
        optimizer: ``"adam"`` or ``"adamw"``.
        lr: learning rate.
        repeats: timed steps.
        warmup_clips: clips of the warm-up step (``0``: none).
    """
    if optimizer not in ("adam", "adamw"):
        raise ValueError(f"optimizer must be 'adam' or 'adamw', got {optimizer!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW)(model.parameters(), lr=lr)
    model.train()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(*x), y).backward()
        opt.step()

    if warmup_clips > 0:
        n = min(warmup_clips, len(labels))
        step([t[:n] for t in inputs], labels[:n])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step(inputs, labels)
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def efficiency_table(models=None, sizes=DEFAULT_SIZES, keyframes=DEFAULT_KEYFRAMES, batches=DEFAULT_BATCHES, *,
                     num_rois: int = 16, in_channels: int = 3, repeats: int = 20, budget_s: float = 1.0,
                     threads: int | None = None, seed: int = 0, warmup: int = 3, train: bool = False,
                     fold_clips: int = COMPOSITE_FOLD_CLIPS, folds: int = COMPOSITE_FOLDS, train_repeats: int = 1,
                     num_classes: int = 3):
    """One row per (model, input size, K, batch): params, GFLOPs per clip, latency[, training cost].

    Args:
        models: registry names (default: every registered model).
        sizes: flow side lengths ``H = W``.
        keyframes: values of ``K``.
        batches: batch sizes for the latency.
        num_rois, in_channels: input layout.
        repeats, budget_s: timing repeats per row and the time cap per row.
        threads: torch CPU threads during the measurement, restored afterwards (``None``: as is).
        seed: seeds weights and inputs.
        warmup: untimed forward passes before each latency row.
        train: also time one training step per (model, size, K) at the model's training batch
            size (:func:`training_protocol`, capped at ``fold_clips``).
        fold_clips, folds: training clips of one LOSO fold and the number of folds, for the
            per-epoch and whole-protocol extrapolation (default: the MEGC2019 composite).
        train_repeats: timed training steps (best taken).
        num_classes: classes of the heads (and of the training labels).

    Returns:
        :class:`pandas.DataFrame` with columns ``model, params, size, K, batch, gflops_per_clip,
        ms_per_batch, ms_per_clip, clips_per_s`` (from the best repeat), ``ms_per_clip_median``
        and ``threads``; with ``train``, also ``train_batch, s_per_step, s_per_epoch`` (one
        epoch of ``fold_clips`` clips: ``s_per_step * fold_clips / train_batch``), ``epochs``
        and ``protocol_h`` (hours for ``epochs`` epochs of ``folds`` folds on this CPU).
    """
    # lazy: `stag --help` loads this module; stag.models loads only when used
    from stag.models import list_models

    names = list(models) if models else list_models()
    unknown = [m for m in names if m not in list_models()]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; registered: {', '.join(list_models())}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be None or >= 1, got {threads}")
    if train and (fold_clips < 1 or folds < 1 or train_repeats < 1):
        raise ValueError(f"fold_clips, folds and train_repeats must be >= 1, got {fold_clips}, {folds}, "
                         f"{train_repeats}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        rows = _measure(names, sizes, keyframes, batches, num_rois, in_channels, repeats, budget_s, warmup, seed,
                        num_classes, (fold_clips, folds, train_repeats) if train else None)
    finally:
        torch.set_num_threads(previous)
    return pd.DataFrame(rows)


def _measure(names, sizes, keyframes, batches, num_rois, in_channels, repeats, budget_s, warmup, seed, num_classes,
             train) -> list[dict]:

    # lazy: `stag --help` loads this module; stag.models loads only when used
    from stag.models import build, count_parameters

    rows = []
    for name in names:
        torch.manual_seed(seed)
        model = build(name, num_classes=num_classes, num_rois=num_rois, in_channels=in_channels).eval()
        params = count_parameters(model)
        for size in sizes:
            for k in keyframes:
                flops = count_flops(model, example_inputs(1, k, size, in_channels=in_channels, num_rois=num_rois,
                                                          seed=seed))
                for b in batches:
                    inputs = example_inputs(b, k, size, in_channels=in_channels, num_rois=num_rois, seed=seed)
                    ms, median = latency_ms(model, inputs, repeats=repeats, warmup=warmup, budget_s=budget_s)
                    rows.append({"model": name, "params": params, "size": size, "K": k, "batch": b,
                                 "gflops_per_clip": flops / 1e9, "ms_per_batch": ms, "ms_per_clip": ms / b,
                                 "clips_per_s": 1000.0 * b / ms, "ms_per_clip_median": median / b,
                                 "threads": torch.get_num_threads()})
        if train is not None:  # after the latencies: training changes the weights, not the cost
            costs = _training_costs(model, name, sizes, keyframes, num_rois, in_channels, seed, num_classes, *train)
            rows[-len(sizes) * len(keyframes) * len(batches):] = [
                {**r, **costs[(r["size"], r["K"])]} for r in rows[-len(sizes) * len(keyframes) * len(batches):]]
        del model
    return rows


def _training_costs(model, name, sizes, keyframes, num_rois, in_channels, seed, num_classes, fold_clips, folds,
                    repeats) -> dict:
    protocol = training_protocol(name)
    b = min(protocol["batch_size"], fold_clips)
    costs = {}
    for size in sizes:
        for k in keyframes:
            inputs = example_inputs(b, k, size, in_channels=in_channels, num_rois=num_rois, seed=seed)
            labels = torch.arange(b) % num_classes
            step, _ = train_step_s(model, inputs, labels, optimizer=protocol["optimizer"], lr=protocol["lr"],
                                   repeats=repeats)
            epoch = step * fold_clips / b
            costs[(size, k)] = {"train_batch": b, "s_per_step": step, "s_per_epoch": epoch,
                                "epochs": protocol["epochs"], "protocol_h": epoch * protocol["epochs"] * folds / 3600.0}
    model.eval()
    return costs


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="", help="comma-separated registry names (default: all)")
    parser.add_argument("--sizes", type=_ints, default=DEFAULT_SIZES, help="input sides H=W (default 128,64)")
    parser.add_argument("--keyframes", type=_ints, default=DEFAULT_KEYFRAMES, help="values of K (default 1,8)")
    parser.add_argument("--batches", type=_ints, default=DEFAULT_BATCHES, help="batch sizes (default 1,32)")
    parser.add_argument("--num-rois", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20, help="timed forward passes per row")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 is steadier on a shared CPU")
    parser.add_argument("--train", action=argparse.BooleanOptionalAction, default=True,
                        help="also time one training step at each model's batch size, per epoch of a "
                             f"{COMPOSITE_FOLD_CLIPS}-clip LOSO fold and per protocol (default: on)")
    parser.add_argument("--fold-clips", type=int, default=COMPOSITE_FOLD_CLIPS,
                        help=f"training clips of one LOSO fold (default {COMPOSITE_FOLD_CLIPS}, the composite)")
    parser.add_argument("--folds", type=int, default=COMPOSITE_FOLDS, help=f"LOSO folds (default {COMPOSITE_FOLDS})")


def run(args: argparse.Namespace):
    models = [m.strip() for m in args.models.split(",") if m.strip()] or None
    table = efficiency_table(models, args.sizes, args.keyframes, args.batches, num_rois=args.num_rois,
                             repeats=args.repeats, threads=args.threads, train=args.train, fold_clips=args.fold_clips,
                             folds=args.folds)
    return table.round({"gflops_per_clip": 4, "ms_per_batch": 2, "ms_per_clip": 3, "clips_per_s": 1,
                        "ms_per_clip_median": 3, "s_per_step": 3, "s_per_epoch": 2, "protocol_h": 2})
