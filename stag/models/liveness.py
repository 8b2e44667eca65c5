"""Gradient liveness: does every trainable parameter of a model receive a gradient?

A parameter that no loss can move is a defect of the model (HTNet-like's scalar "position" of a
one-token block was one: the top LayerNorm removes it, so its gradient is exactly zero). The
check must not depend on the machine: in float32 a gradient that is zero in exact arithmetic
comes out as rounding noise (4.8e-7 was seen on an AVX-512 CPU, exactly 0 on others), so a test
of ``grad != 0`` passes or fails with the CPU's SIMD level. Here the model and its inputs are
cast to float64, where such noise measured below 3e-17 on these inputs (the attention key biases
before they were dropped), while every live gradient of the registered models is above 4e-3;
:data:`DEAD_BELOW` sits six orders of magnitude or more from either.

``python -m stag.models.liveness`` checks every registered model and exits 1 naming the dead
parameters; the test suite runs it with the machine's default kernels and with torch, MKL and
oneDNN held to AVX2 (``ATEN_CPU_CAPABILITY=avx2``, ``MKL_ENABLE_INSTRUCTIONS=AVX2``,
``ONEDNN_MAX_CPU_ISA=AVX2``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import torch
from torch import nn

from stag.models.registry import build, list_models

#: Largest absolute gradient (float64, loss of order 1) that still counts as "no gradient".
DEAD_BELOW = 1e-9


def example_batch(k: int, *, b: int = 4, c: int = 3, size: int = 32, n: int = 16, seed: int = 3):
    """``(flows, rois, key_mask, magnitudes)`` in float64: random flows, boxes inside the image,
    and clips with fewer real keyframes than ``k`` (padding is noise, so a leak would show)."""
    g = torch.Generator().manual_seed(seed)
    flows = torch.randn(b, k, c, size, size, generator=g, dtype=torch.float64)
    x0 = torch.rand(b, n, generator=g, dtype=torch.float64) * size * 0.6
    y0 = torch.rand(b, n, generator=g, dtype=torch.float64) * size * 0.6
    side = size * (0.15 + 0.2 * torch.rand(b, n, generator=g, dtype=torch.float64))
    rois = torch.stack([x0, y0, x0 + side, y0 + side], dim=-1)
    valid = torch.tensor([max(1, k - (i % 3)) for i in range(b)])
    key_mask = torch.arange(k)[None, :] < valid[:, None]
    magnitudes = torch.rand(b, k, generator=g, dtype=torch.float64) * key_mask
    return flows, rois, key_mask, magnitudes


def _default_loss(out) -> torch.Tensor:
    loss = out.logits.pow(2).sum()
    return loss + out.au_logits.pow(2).sum() if out.au_logits is not None else loss


def gradient_sizes(model: nn.Module, inputs: Sequence[torch.Tensor],
                   loss: Callable[..., torch.Tensor] = _default_loss) -> dict[str, float]:
    """Largest absolute gradient of every trainable parameter after one backward pass in float64.

    Args:
        model: any registered model (``forward_details(flows, rois, key_mask, magnitudes)``); it is
            cast to float64 in place and put in train mode.
        inputs: ``(flows, rois, key_mask, magnitudes)``; floating tensors are cast to float64.
        loss: ``ModelOutput -> scalar`` (default: the squared logits and AU logits, which reach
            every output unit).

    Returns:
        ``{parameter name: max |grad|}`` (``0.0`` where no gradient arrived at all).
    """
    model = model.double().train()
    model.zero_grad(set_to_none=True)
    args = [t.double() if torch.is_floating_point(t) else t for t in inputs]
    loss(model.forward_details(*args)).backward()
    return {name: (0.0 if p.grad is None else float(p.grad.abs().max()))
            for name, p in model.named_parameters() if p.requires_grad}


def dead_parameters(model: nn.Module, inputs: Sequence[torch.Tensor],
                    loss: Callable[..., torch.Tensor] = _default_loss) -> list[str]:
    """Names of the trainable parameters whose float64 gradient is below :data:`DEAD_BELOW`."""
    return [n for n, g in gradient_sizes(model, inputs, loss).items() if not g > DEAD_BELOW]


def _build_small(name: str) -> nn.Module:
    torch.manual_seed(0)
    kw: dict = {"num_rois": 16, "num_aus": 4}
    if name.startswith("stag"):
        kw["dropout"] = 0.0  # a dropped unit has no gradient in that pass by design
    if name == "htnet":
        kw["size"] = "tiny"
    return build(name, **kw)


def check_registry(names: Sequence[str] | None = None, ks: Sequence[int] = (1, 4)) -> dict[str, dict]:
    """Every model of ``names`` (default: the registry) at each K of ``ks``: its dead parameters
    and its smallest live gradient. ``{name: {"dead": [...], "smallest": float}}``; a parameter
    counts as dead only if it is dead at every K (a magnitude prior, say, only acts at K > 1)."""
    out = {}
    for name in names or list_models():
        sizes = [gradient_sizes(_build_small(name), example_batch(k)) for k in ks]
        best = {p: max(s[p] for s in sizes) for p in sizes[0]}
        dead = sorted(p for p, g in best.items() if not g > DEAD_BELOW)
        live = [g for g in best.values() if g > DEAD_BELOW]
        out[name] = {"dead": dead, "smallest": min(live) if live else 0.0}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stag.models.liveness", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help="registered model names (default: all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = check_registry(args.models or None)
    print(f"ATen CPU capability: {torch.backends.cpu.get_cpu_capability()}")
    for name, r in report.items():
        state = "dead: " + ", ".join(r["dead"]) if r["dead"] else "every parameter live"
        print(f"{name:22s} smallest live gradient {r['smallest']:.1e}  {state}")
    return 1 if any(r["dead"] for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
