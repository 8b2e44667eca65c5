"""``stag bench model``: parameters, forward FLOPs and CPU latency of every registered model.

FLOPs come from :class:`torch.utils.flop_counter.FlopCounterMode` (matrix multiplications and
convolutions, 2 FLOPs per multiply-add; resampling, norms and activations are not counted) at
batch 1. Latency is the wall time of a forward pass under ``torch.inference_mode`` after
warm-up, on random inputs of the uniform interface, with the process's torch threads; the
table gives the best of the repeats (what the model costs; robust to other processes sharing
the CPU) and their median (what a busy machine gave).
"""

from __future__ import annotations

import argparse
import statistics
import time

HELP = "parameters, FLOPs and CPU latency of STAG, its ablations and the baselines"

DEFAULT_SIZES = (128, 64)
DEFAULT_KEYFRAMES = (1, 8)
DEFAULT_BATCHES = (1, 32)


def example_inputs(batch: int, keyframes: int, size: int, *, in_channels: int = 3, num_rois: int = 16, seed: int = 0):
    """Random ``(flows, rois, key_mask, magnitudes)`` of the uniform interface (boxes inside the face)."""
    import torch

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
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(*inputs)
    return int(counter.get_total_flops())


def latency_ms(model, inputs, *, repeats: int = 20, warmup: int = 3, budget_s: float = 1.0) -> tuple[float, float]:
    """``(best, median)`` milliseconds per forward pass (stops early after ``budget_s`` s of timing)."""
    import torch

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


def efficiency_table(models=None, sizes=DEFAULT_SIZES, keyframes=DEFAULT_KEYFRAMES, batches=DEFAULT_BATCHES, *,
                     num_rois: int = 16, in_channels: int = 3, repeats: int = 20, budget_s: float = 1.0,
                     threads: int | None = None, seed: int = 0):
    """One row per (model, input size, K, batch): params, GFLOPs per clip, latency.

    Args:
        models: registry names (default: every registered model).
        sizes: flow side lengths ``H = W``.
        keyframes: values of ``K``.
        batches: batch sizes for the latency.
        num_rois, in_channels: input layout.
        repeats, budget_s: timing repeats per row and the time cap per row.
        threads: torch CPU threads during the measurement, restored afterwards (``None``: as is).
        seed: seeds weights and inputs.

    Returns:
        :class:`pandas.DataFrame` with columns ``model, params, size, K, batch, gflops_per_clip,
        ms_per_batch, ms_per_clip, clips_per_s`` (from the best repeat), ``ms_per_clip_median``
        and ``threads``.
    """
    import pandas as pd
    import torch

    from stag.models import list_models

    names = list(models) if models else list_models()
    unknown = [m for m in names if m not in list_models()]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; registered: {', '.join(list_models())}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be None or >= 1, got {threads}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        rows = _measure(names, sizes, keyframes, batches, num_rois, in_channels, repeats, budget_s, seed)
    finally:
        torch.set_num_threads(previous)
    return pd.DataFrame(rows)


def _measure(names, sizes, keyframes, batches, num_rois, in_channels, repeats, budget_s, seed) -> list[dict]:
    import torch

    from stag.models import build, count_parameters

    rows = []
    for name in names:
        torch.manual_seed(seed)
        model = build(name, num_rois=num_rois, in_channels=in_channels).eval()
        params = count_parameters(model)
        for size in sizes:
            for k in keyframes:
                flops = count_flops(model, example_inputs(1, k, size, in_channels=in_channels, num_rois=num_rois,
                                                          seed=seed))
                for b in batches:
                    inputs = example_inputs(b, k, size, in_channels=in_channels, num_rois=num_rois, seed=seed)
                    ms, median = latency_ms(model, inputs, repeats=repeats, budget_s=budget_s)
                    rows.append({"model": name, "params": params, "size": size, "K": k, "batch": b,
                                 "gflops_per_clip": flops / 1e9, "ms_per_batch": ms, "ms_per_clip": ms / b,
                                 "clips_per_s": 1000.0 * b / ms, "ms_per_clip_median": median / b,
                                 "threads": torch.get_num_threads()})
    return rows


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


def run(args: argparse.Namespace):
    models = [m.strip() for m in args.models.split(",") if m.strip()] or None
    table = efficiency_table(models, args.sizes, args.keyframes, args.batches, num_rois=args.num_rois,
                             repeats=args.repeats, threads=args.threads)
    return table.round({"gflops_per_clip": 4, "ms_per_batch": 2, "ms_per_clip": 3, "clips_per_s": 1,
                        "ms_per_clip_median": 3})
