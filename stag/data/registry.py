"""Dataset registry: ``load(name, **params)`` for every adapter, synthetic and real.

Adapters are referenced as ``"module:function"`` strings and imported on first use, so
``import stag.data`` stays light and a missing optional reader only fails for its dataset.
Each loader takes keyword parameters and returns a :class:`~stag.data.clip.ClipSet`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from stag.data.clip import ClipSet

#: Dataset name -> loader, as a callable or a ``"module:function"`` string imported on first use.
LOADERS: dict[str, str | Callable[..., ClipSet]] = {
    "synthetic": "stag.data.synthetic:load_synthetic",
    "casme2": "stag.data.casme2:load_casme2",
    "samm": "stag.data.samm:load_samm",
    "smic_hs": "stag.data.smic:load_smic_hs",
    "casme3_a": "stag.data.casme3:load_casme3_a",
    "megc2019_flow": "stag.data.megc2019:load_megc2019_flow",
    "megc2019_phases": "stag.data.megc2019:load_megc2019_phases",
    "folder": "stag.data.folder:load_folder",
}


def register(name: str, loader: str | Callable[..., ClipSet]) -> None:
    """Add (or replace) a dataset loader under ``name``."""
    LOADERS[name] = loader


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(LOADERS)


def get_loader(name: str) -> Callable[..., ClipSet]:
    """The loader registered as ``name``, imported if given as a ``"module:function"`` string."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(available())}")
    target = LOADERS[name]
    if callable(target):
        return target
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def load(name: str, **params) -> ClipSet:
    """Load dataset ``name`` with the adapter's keyword parameters.

    Unknown parameter names raise a :class:`ValueError` listing the accepted ones.
    """
    loader = get_loader(name)
    sig = inspect.signature(loader)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        unknown = sorted(set(params) - set(sig.parameters))
        if unknown:
            raise ValueError(
                f"dataset {name!r} does not take parameter(s) {unknown}; "
                f"accepted: {', '.join(sig.parameters)}"
            )
    return loader(**params)
