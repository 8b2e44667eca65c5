"""Single-frame baselines from the MER literature, on the onset-apex flow.

Both read the keyframe with the largest magnitude among the real keyframes (the apex in a
keyframe stack; the only frame at ``K = 1``), resize it to 28x28 inside the model, and follow
the published layouts at that scale:

- STSTNet (Liong et al., 2019): three shallow streams on ``u``, ``v`` and optical strain,
  each one 3x3 conv (3, 5 and 8 filters), max pooling, concatenation, average pooling, one
  dense layer.
- Off-ApexNet (Gan et al., 2019): two streams on ``u`` and ``v``, each two 5x5 conv + pool
  stages (6 and 16 filters), concatenation, a 1024-unit dense layer, the classifier.

``ststnet_64`` and ``offapexnet_64`` are the same networks reading the flow at 64x64, the
resolution STAG reads: the equal-input controls of the component study (only the dense
layer grows with the input).

``ststnet_stack`` and ``offapexnet_stack`` are the equal-input controls of the two-phase
composite (``megc2019_phases``): the same layers at 28x28, with one stream per channel of
each of the first two keyframes (onset->apex and apex->offset stacked as channels), so a
baseline sees both phases that STAG sees at K = 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stag.models.inputs import apex_keyframe, check_inputs
from stag.models.layers import drop_bias, drop_state_keys
from stag.models.output import ModelOutput
from stag.models.registry import register_model

INPUT_SIZE = 28


def apex_flow(flows: torch.Tensor, key_mask: torch.Tensor, magnitudes: torch.Tensor) -> torch.Tensor:
    """The keyframe with the largest magnitude among real keyframes, per clip.

    Args:
        flows: ``(B, K, C, H, W)``.
        key_mask: ``(B, K)`` bool.
        magnitudes: ``(B, K)``.

    Returns:
        ``(B, C, H, W)``.
    """
    return flows[torch.arange(flows.shape[0], device=flows.device), apex_keyframe(key_mask, magnitudes)]


def stacked_keyframes(flows: torch.Tensor, key_mask: torch.Tensor, keyframes: int) -> torch.Tensor:
    """The first ``keyframes`` keyframes stacked as channels, padded keyframes (and missing
    ones) as zero flow.

    Args:
        flows: ``(B, K, C, H, W)``.
        key_mask: ``(B, K)`` bool.
        keyframes: how many keyframes to stack.

    Returns:
        ``(B, keyframes * C, H, W)``: channels of keyframe 0, then of keyframe 1, ...
    """
    b, k, c, h, w = flows.shape
    x = flows[:, :keyframes] * key_mask[:, :keyframes, None, None, None].to(flows.dtype)
    if k < keyframes:
        x = torch.cat([x, x.new_zeros(b, keyframes - k, c, h, w)], 1)
    return x.reshape(b, keyframes * c, h, w)


class _ApexBaseline(nn.Module):
    """Shared plumbing: validation, apex selection (or keyframe stacking), resize, the optional AU head."""

    needs_channels = 2

    def __init__(self, num_classes: int, in_channels: int, num_aus: int, input_size: int = INPUT_SIZE,
                 keyframes: int = 1):
        super().__init__()
        if not isinstance(keyframes, int) or keyframes < 1:
            raise ValueError(f"keyframes must be an int >= 1 (1: the apex keyframe; more: the first ones "
                             f"stacked as channels), got {keyframes!r}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if in_channels < self.needs_channels:
            raise ValueError(f"{type(self).__name__} reads the first {self.needs_channels} flow channels "
                             f"(u, v{', strain' if self.needs_channels > 2 else ''}), got in_channels={in_channels}")
        if num_aus < 0:
            raise ValueError(f"num_aus must be >= 0, got {num_aus}")
        if not isinstance(input_size, int) or input_size < 16:
            raise ValueError(f"input_size must be an int >= 16 (the side the apex flow is resized to), "
                             f"got {input_size!r}")
        self.num_classes, self.in_channels, self.input_size = num_classes, in_channels, input_size
        self.keyframes = keyframes
        self.streams_in = self.needs_channels * keyframes  # single-channel streams the network runs

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (B, streams_in, S, S) -> (B, F), S = input_size
        raise NotImplementedError

    def forward(self, flows, rois, key_mask, magnitudes) -> torch.Tensor:
        return self.forward_details(flows, rois, key_mask, magnitudes).logits

    def forward_details(self, flows, rois, key_mask, magnitudes) -> ModelOutput:
        check_inputs(flows, rois, key_mask, magnitudes, in_channels=self.in_channels)
        if self.keyframes == 1:
            x = apex_flow(flows, key_mask, magnitudes)[:, : self.needs_channels]
        else:
            x = stacked_keyframes(flows[:, :, : self.needs_channels], key_mask, self.keyframes)
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                          antialias=True)
        h = self.features(x)
        au = self.au_head(h) if self.au_head is not None else None
        return ModelOutput(logits=self.classifier(h), au_logits=au, embedding=h)


class STSTNet(_ApexBaseline):
    """STSTNet-like shallow triple-stream CNN on (u, v, strain) at 28x28.

    Args:
        num_classes (int, optional): classes. (default: ``3``)
        in_channels (int, optional): flow channels, ``>= 3`` (the first three are used). (default: ``3``)
        num_aus (int, optional): AU head outputs, ``0`` for none. (default: ``0``)
        dropout (float, optional): dropout before the dense layer. (default: ``0.0``)
        input_size (int, optional): side the apex flow is resized to; ``28`` as published,
            ``64`` for the equal-input control (:func:`ststnet_64`). (default: ``28``)
        keyframes (int, optional): ``1`` reads the apex keyframe (as published); ``2`` the
            first two keyframes, three streams each (:func:`ststnet_stack`). (default: ``1``)

    Shapes:
        - **input:** as every model: flows ``(B, K, C, H, W)``, rois, key_mask, magnitudes.
        - **output:** ``(B, num_classes)``.
    """

    needs_channels = 3

    def __init__(self, num_classes: int = 3, in_channels: int = 3, num_aus: int = 0, dropout: float = 0.0,
                 input_size: int = INPUT_SIZE, keyframes: int = 1):
        super().__init__(num_classes, in_channels, num_aus, input_size, keyframes)
        # No convolution bias: the BatchNorm after it subtracts the batch mean, so it could never learn.
        self.streams = nn.ModuleList(
            nn.Sequential(drop_bias(nn.Conv2d(1, c, 3, padding=1)), nn.BatchNorm2d(c), nn.ReLU(),
                          nn.MaxPool2d(3, 3, padding=1))
            for c in (3, 5, 8) * keyframes)
        self.pool = nn.AvgPool2d(2, 2)  # 28: 10x10 -> 5x5; 64: 22x22 -> 11x11
        side = ((input_size - 1) // 3 + 1) // 2
        width = 16 * keyframes * side * side
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width, num_classes))
        self.au_head = nn.Sequential(nn.Flatten(), nn.Linear(width, num_aus)) if num_aus > 0 else None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints made before the convolutions' bias was dropped
        drop_state_keys(state_dict, prefix, [f"streams.{i}.0.bias" for i in range(len(self.streams))])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.cat([s(x[:, i: i + 1]) for i, s in enumerate(self.streams)], dim=1))


class OffApexNet(_ApexBaseline):
    """Off-ApexNet-like two-stream CNN on (u, v) at 28x28.

    Args:
        num_classes (int, optional): classes. (default: ``3``)
        in_channels (int, optional): flow channels, ``>= 2`` (the first two are used). (default: ``3``)
        num_aus (int, optional): AU head outputs, ``0`` for none. (default: ``0``)
        hidden (int, optional): width of the dense layer. (default: ``1024``)
        dropout (float, optional): dropout after the dense layer. (default: ``0.5``)
        input_size (int, optional): side the apex flow is resized to; ``28`` as published,
            ``64`` for the equal-input control (:func:`offapexnet_64`). (default: ``28``)
        keyframes (int, optional): ``1`` reads the apex keyframe (as published); ``2`` the
            first two keyframes, two streams each (:func:`offapexnet_stack`). (default: ``1``)

    Shapes:
        - **input:** as every model.
        - **output:** ``(B, num_classes)``.
    """

    needs_channels = 2

    def __init__(self, num_classes: int = 3, in_channels: int = 3, num_aus: int = 0, hidden: int = 1024,
                 dropout: float = 0.5, input_size: int = INPUT_SIZE, keyframes: int = 1):
        super().__init__(num_classes, in_channels, num_aus, input_size, keyframes)
        self.streams = nn.ModuleList(
            nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
            for _ in range(self.streams_in))
        width = self.streams_in * 16 * (input_size // 4) ** 2  # streams of 16 maps, pooled twice by 2
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(hidden, num_classes)
        self.au_head = nn.Linear(hidden, num_aus) if num_aus > 0 else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(torch.cat([s(x[:, i: i + 1]) for i, s in enumerate(self.streams)], dim=1))


@register_model
def ststnet(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None, num_aus: int = 0,
            **cfg) -> STSTNet:
    """STSTNet-like baseline (ignores ``rois`` and ``prior``)."""
    return STSTNet(num_classes, in_channels, num_aus, **cfg)


@register_model
def offapexnet(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
               num_aus: int = 0, **cfg) -> OffApexNet:
    """Off-ApexNet-like baseline (ignores ``rois`` and ``prior``)."""
    return OffApexNet(num_classes, in_channels, num_aus, **cfg)


#: Side of the equal-input controls: the flow resolution STAG reads in the book and the
#: synthetic component study (``--output-size 64``).
CONTROL_SIZE = 64


@register_model
def ststnet_64(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
               num_aus: int = 0, **cfg) -> STSTNet:
    """Equal-input control: the STSTNet-like network reading the apex flow at 64 x 64 (STAG's
    resolution) instead of 28 x 28; only the dense layer grows."""
    return STSTNet(num_classes, in_channels, num_aus, **{"input_size": CONTROL_SIZE, **cfg})


@register_model
def offapexnet_64(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                  num_aus: int = 0, **cfg) -> OffApexNet:
    """Equal-input control: the Off-ApexNet-like network reading the apex flow at 64 x 64
    (STAG's resolution) instead of 28 x 28; only the dense layer grows."""
    return OffApexNet(num_classes, in_channels, num_aus, **{"input_size": CONTROL_SIZE, **cfg})


#: Keyframes the stacked controls read: the two phases of the two-phase composite.
STACK_KEYFRAMES = 2


@register_model
def ststnet_stack(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                  num_aus: int = 0, **cfg) -> STSTNet:
    """Equal-input control for two phases: the STSTNet-like network at 28 x 28 reading the first
    two keyframes (onset->apex, apex->offset) as six streams (u, v, strain of each)."""
    return STSTNet(num_classes, in_channels, num_aus, **{"keyframes": STACK_KEYFRAMES, **cfg})


@register_model
def offapexnet_stack(num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
                     num_aus: int = 0, **cfg) -> OffApexNet:
    """Equal-input control for two phases: the Off-ApexNet-like network at 28 x 28 reading the
    first two keyframes (onset->apex, apex->offset) as four streams (u, v of each)."""
    return OffApexNet(num_classes, in_channels, num_aus, **{"keyframes": STACK_KEYFRAMES, **cfg})
