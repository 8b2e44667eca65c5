"""The model as Captum sees it: a tensor-valued forward over the four model inputs, the batch
converted to those inputs, and the forward evaluated on many masked copies of the flows.

Shared by :mod:`stag.explain.attributions` (ROI occlusion) and :mod:`stag.explain.faithfulness`
(deletion/insertion curves).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

INPUT_KEYS: tuple[str, ...] = ("flows", "rois", "key_mask", "magnitudes")


class LogitForward(nn.Module):
    """A tensor-valued forward for Captum around a package model.

    Args:
        model: any model called as ``model(flows, rois, key_mask, magnitudes)``; if it returns
            an object with ``.logits`` (a ``ModelOutput``), the logits are taken.

    Shapes:
        flows ``(B, K, C, H, W)``, rois ``(B, N, 4)``, key_mask ``(B, K)`` bool,
        magnitudes ``(B, K)`` -> ``(B, num_classes)`` logits.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, flows, rois, key_mask, magnitudes):  # noqa: D102 (documented on the class)
        out = self.model(flows, rois, key_mask, magnitudes)
        return out.logits if hasattr(out, "logits") else out


def as_inputs(batch: dict[str, Any], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Pick and convert the four model inputs of a collated batch to tensors on ``device``.

    Raises ValueError naming the missing key or a wrong shape.
    """
    missing = [k for k in INPUT_KEYS if k not in batch]
    if missing:
        raise ValueError(f"batch lacks {missing}; expected keys {INPUT_KEYS} as made by stag.train.dataset.collate")
    out = {}
    for key in INPUT_KEYS:
        value = batch[key]
        t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        if key == "key_mask":
            t = t.bool()
        else:
            t = t.float()
        out[key] = t.to(device)
    f = out["flows"]
    if f.ndim != 5:
        raise ValueError(f"batch['flows'] has shape {tuple(f.shape)}; expected (B, K, C, H, W)")
    return out


def prepare_forward(model: nn.Module, batch, device=None):
    """Put ``model`` in eval mode and wrap it for Captum.

    Returns ``(forward, inputs, flows, extra)``: the :class:`LogitForward` on ``device``
    (default: the model's), the batch tensors on that device, the flows to attribute and the
    other forward inputs in :data:`INPUT_KEYS` order.
    """
    model.eval()
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    forward = LogitForward(model).to(device)
    inputs = as_inputs(batch, device)
    return forward, inputs, inputs["flows"], tuple(inputs[k] for k in INPUT_KEYS[1:])


def evaluate_masked(forward: nn.Module, flows: torch.Tensor, extra: tuple, target: torch.Tensor,
                    keeps: np.ndarray, *, chunk: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target logit, target probability and prediction for many pixel masks at once.

    Args:
        forward: tensor-valued forward (``LogitForward``).
        flows: ``(B, K, C, H, W)``; extra: the other inputs, batch-first.
        target: ``(B,)`` classes.
        keeps: ``(S, B, H, W)`` bool, ``True`` where the flow is kept (elsewhere set to zero).
        chunk: rows per forward pass (``S * B`` rows are split into chunks of whole steps).

    Returns:
        ``logit``, ``prob``, ``pred``, each ``(S, B)``.
    """
    s, b = keeps.shape[:2]
    per = max(1, chunk // b)
    logit, prob, pred = [], [], []
    with torch.no_grad():
        for i in range(0, s, per):
            k = torch.as_tensor(keeps[i:i + per], device=flows.device, dtype=flows.dtype)  # (m, B, H, W)
            m = k.shape[0]
            x = (flows[None] * k[:, :, None, None]).flatten(0, 1)
            args = tuple(torch.cat([e] * m) for e in extra)
            out = forward(x, *args).unflatten(0, (m, b))  # (m, B, classes)
            t = target[None, :, None].expand(m, b, 1)
            logit.append(out.gather(2, t)[..., 0])
            prob.append(torch.softmax(out, dim=2).gather(2, t)[..., 0])
            pred.append(out.argmax(2))
    return (torch.cat(logit).cpu().numpy(), torch.cat(prob).cpu().numpy(), torch.cat(pred).cpu().numpy())
