"""Models: STAG, its ablations and the baselines, behind one registry and one interface.

Every model: ``logits = model(flows, rois, key_mask, magnitudes)`` with flows
``(B, K, C, H, W)`` float32, rois ``(B, N, 4)`` boxes in flow pixels, key_mask ``(B, K)`` bool
(``True`` = real keyframe), magnitudes ``(B, K)``; and ``model.forward_details(...)`` ->
:class:`ModelOutput`.

>>> from stag.models import build, list_models
>>> model = build("stag", num_classes=3, in_channels=3, num_rois=12)
"""

from stag.models import baselines as _baselines  # noqa: F401  (registers the baselines)
from stag.models import htnet as _htnet  # noqa: F401  (registers the HTNet-like baseline)
from stag.models import stag as _stag  # noqa: F401  (registers STAG and its ablations)
from stag.models.baselines import OffApexNet, STSTNet
from stag.models.htnet import HTNet, HTNetConfig
from stag.models.losses import FocalLoss, class_balanced_alpha, focal_loss
from stag.models.output import ModelOutput
from stag.models.registry import build, list_models, register_model
from stag.models.stag import STAG, STAGConfig

__all__ = ["build", "list_models", "register_model", "ModelOutput", "STAG", "STAGConfig", "STSTNet",
           "OffApexNet", "HTNet", "HTNetConfig", "FocalLoss", "focal_loss", "class_balanced_alpha", "count_parameters"]


def count_parameters(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
