"""The uniform model inputs: their validation, done once at every model's boundary, and the
apex keyframe picked from them."""

from __future__ import annotations

import torch

MIN_SIZE = 16  # the whole-face encoder downsamples by 16 before pooling


def check_inputs(flows: torch.Tensor, rois: torch.Tensor, key_mask: torch.Tensor,
                 magnitudes: torch.Tensor, *, in_channels: int, num_rois: int | None = None) -> None:
    """Raise a :class:`ValueError` naming the argument when the inputs break the contract.

    Args:
        flows: ``(B, K, C, H, W)`` float flow stack.
        rois: ``(B, N, 4)`` float boxes ``(x0, y0, x1, y1)`` in flow pixels.
        key_mask: ``(B, K)`` bool, ``True`` for a real keyframe; every clip needs at least one.
        magnitudes: ``(B, K)`` float keyframe motion magnitudes.
        in_channels: the ``C`` the model was built for.
        num_rois: the ``N`` the model was built for (``None``: any).
    """
    if not torch.is_tensor(flows) or flows.dim() != 5:
        raise ValueError(f"flows must be a (B, K, C, H, W) tensor, got {_shape(flows)}")
    if not flows.is_floating_point():
        raise ValueError(f"flows must be floating point, got {flows.dtype}")
    b, k, c, h, w = flows.shape
    if b < 1 or k < 1:
        raise ValueError(f"flows needs B >= 1 clips and K >= 1 keyframes, got shape {tuple(flows.shape)}")
    if c != in_channels:
        raise ValueError(f"model was built with in_channels={in_channels} but flows have C={c} "
                         f"(shape {tuple(flows.shape)}); build it with in_channels={c}")
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"flows must be at least {MIN_SIZE}x{MIN_SIZE} pixels, got {h}x{w}")
    if not torch.is_tensor(rois) or rois.dim() != 3 or rois.shape[0] != b or rois.shape[2] != 4:
        raise ValueError(f"rois must be a (B={b}, N, 4) tensor of boxes x0,y0,x1,y1, got {_shape(rois)}")
    if num_rois is not None and rois.shape[1] != num_rois:
        raise ValueError(f"model was built with num_rois={num_rois} but rois have N={rois.shape[1]}")
    if not torch.is_tensor(key_mask) or tuple(key_mask.shape) != (b, k):
        raise ValueError(f"key_mask must be a (B={b}, K={k}) bool tensor, got {_shape(key_mask)}")
    if key_mask.dtype != torch.bool:
        raise ValueError(f"key_mask must be bool (True = real keyframe), got {key_mask.dtype}")
    if not torch.is_tensor(magnitudes) or tuple(magnitudes.shape) != (b, k):
        raise ValueError(f"magnitudes must be a (B={b}, K={k}) float tensor, got {_shape(magnitudes)}")
    empty = (~key_mask.any(dim=1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"clip(s) {empty} of the batch have no real keyframe (key_mask all False)")


def apex_keyframe(key_mask: torch.Tensor, magnitudes: torch.Tensor) -> torch.Tensor:
    """``(B,)`` int64 index of each clip's apex keyframe: the real keyframe (``key_mask``)
    with the largest motion magnitude (the flow the apex baselines read,
    :func:`stag.models.baselines.apex_flow`).

    Shapes:
        key_mask: ``(B, K)`` bool tensor; magnitudes: ``(B, K)`` tensor.
    """
    if key_mask.shape != magnitudes.shape or key_mask.dim() != 2:
        raise ValueError(f"apex_keyframe: key_mask {tuple(key_mask.shape)} and magnitudes "
                         f"{tuple(magnitudes.shape)} must both be (B, K)")
    return magnitudes.masked_fill(~key_mask, float("-inf")).argmax(dim=1)


def _shape(x: object) -> str:
    return f"shape {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
