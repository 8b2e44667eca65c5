"""Model registry (timm style): ``@register_model``, ``build(name, **cfg)``, ``list_models()``.

Every registered factory takes the uniform keyword arguments ``num_classes``, ``in_channels``,
``num_rois``, ``prior``, ``num_aus`` plus its own configuration, and returns an
:class:`torch.nn.Module` with ``forward(flows, rois, key_mask, magnitudes) -> logits`` and
``forward_details(...) -> ModelOutput``.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Decorator registering a model factory under ``name`` (default: the function's name)."""
    def wrap(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _MODELS and _MODELS[key] is not f:
            raise ValueError(f"model {key!r} is already registered by {_MODELS[key].__module__}")
        _MODELS[key] = f
        return f
    return wrap(fn) if fn is not None else wrap


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def build(name: str, num_classes: int = 3, in_channels: int = 3, num_rois: int | None = None, prior=None,
          num_aus: int = 0, **cfg) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models` (``"stag"``, ``"stag_no_graph"``, ``"ststnet"``...).
        num_classes: emotion classes.
        in_channels: flow channels ``C`` of the input stack.
        num_rois: ROI count ``N``; ``None`` takes it from ``prior`` or the ROI table.
        prior: ``(N, N)`` AU co-occurrence prior, ``"au"`` for
            :func:`stag.faces.au_prior_adjacency`, or ``None`` (identity + uniform).
        num_aus: outputs of the auxiliary AU head (``0``: no AU head).
        **cfg: model-specific options (for STAG the fields of :class:`~stag.models.stag.STAGConfig`).
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return _MODELS[name](num_classes=num_classes, in_channels=in_channels, num_rois=num_rois, prior=prior,
                         num_aus=num_aus, **cfg)
