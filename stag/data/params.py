"""Loader parameters from command-line style options: ``-p NAME VALUE`` pairs read as YAML, and
the keyword arguments a dataset's loader accepts.

Used by the commands (``stag data``, ``stag prepare``, ``stag train``, ``stag book``) and by
library code that loads a dataset by name (:func:`stag.train.experiment.load_and_prepare`).
"""

from __future__ import annotations

import inspect
import warnings

import yaml

from stag.data.registry import get_loader


def parse_parameters(pairs: list[tuple[str, str]] | list[list[str]]) -> dict[str, object]:
    """``-p NAME VALUE`` pairs -> ``{NAME: value}``, each value read as YAML (``3``, ``true``, ``[a, b]``).

    Raises:
        ValueError: naming the parameter whose value is not valid YAML.
    """
    out = {}
    for name, value in pairs:
        try:
            out[name] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"-p {name} {value!r}: not a valid YAML value ({exc})") from None
    return out


def loader_params(name: str, data_root: str | None = None, annotations: str | None = None,
                  scheme: str | None = None, extra: dict | None = None) -> dict:
    """Keyword arguments for dataset ``name``'s loader, keeping only those it accepts.

    A given option the loader does not take (``data_root`` for ``synthetic``) is dropped with a
    :class:`UserWarning`; ``extra`` keys are passed through (the registry rejects unknown ones).

    Raises:
        ValueError: the loader needs a parameter (a data root) that was not given.
    """
    sig = inspect.signature(get_loader(name))
    accepted = list(sig.parameters)
    given = {"data_root": data_root, "annotations": annotations, "scheme": scheme}
    params = {}
    for key, value in given.items():
        if value in (None, ""):
            continue
        if key not in accepted:  # e.g. synthetic has no data root: say so, and go on without it
            warnings.warn(f"dataset {name!r} takes no --{key.replace('_', '-')}; ignored", stacklevel=2)
            continue
        params[key] = value
    required = [p for p, v in sig.parameters.items() if v.default is inspect.Parameter.empty
                and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
    params.update(extra or {})
    missing = [p for p in required if p not in params]
    if missing:
        raise ValueError(f"dataset {name!r} needs {', '.join('--' + m.replace('_', '-') for m in missing)}")
    return params
