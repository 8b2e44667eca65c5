"""Serve MathJax from the packaged copy (jupyter-server-mathjax) instead of a CDN.

The book must render its maths with no network: at build time MathJax 2.7 is copied into
``_static/mathjax`` and Sphinx's ``mathjax_path`` points at it.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML"


def _mathjax_source() -> Path:
    spec = find_spec("jupyter_server_mathjax")
    if spec is None or spec.origin is None:
        raise RuntimeError("jupyter-server-mathjax is not installed; it ships the offline MathJax "
                           "(pip install jupyter-server-mathjax, part of the dev extra)")
    return Path(spec.origin).parent / "static"


def _config_inited(app, config) -> None:
    _mathjax_source()  # fail early with a clear message
    config.mathjax_path = f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    config.mathjax3_config = None


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    if not (dest / "MathJax.js").exists():
        shutil.copytree(_mathjax_source(), dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
