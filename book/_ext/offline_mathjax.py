"""Serve MathJax from a packaged copy instead of a CDN.

The book must render its maths with no network. At build time a MathJax 2.7 copy is placed in
``_static/mathjax`` and Sphinx's ``mathjax_path`` points at it:

- Debian's ``libjs-mathjax`` (``/usr/share/javascript/mathjax``, full fonts) when installed
  (``make system-deps`` installs it): CommonHTML output, no console noise;
- otherwise the ``jupyter-server-mathjax`` wheel (a Python dependency), which ships only the
  STIX-Web fonts for HTML-CSS output.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

DEBIAN_MATHJAX = Path("/usr/share/javascript/mathjax")


def _source() -> tuple[Path, str, dict]:
    """``(folder, combined config name, Hub config)`` of the MathJax copy to publish."""
    if (DEBIAN_MATHJAX / "config" / "TeX-AMS_CHTML.js").exists():
        return DEBIAN_MATHJAX, "TeX-AMS_CHTML", {"messageStyle": "none"}
    spec = find_spec("jupyter_server_mathjax")
    if spec is None or spec.origin is None:
        raise RuntimeError("no offline MathJax: install Debian's libjs-mathjax (make system-deps) "
                           "or the jupyter-server-mathjax wheel (dev extra)")
    stix = {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web", "webFont": "STIX-Web", "imageFont": None}
    return Path(spec.origin).parent / "static", "TeX-AMS-MML_HTMLorMML-full", {"messageStyle": "none", "HTML-CSS": stix}


def _ignore(folder: Path):
    """Skip what the chosen output never loads (keeps the copy at a few MB)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        rel = Path(directory).resolve().relative_to(folder.resolve()).as_posix()
        skip = {n for n in names if n.endswith(".py") or n in ("__pycache__", "unpacked", "test")}
        if rel == "fonts/HTML-CSS":
            skip |= {n for n in names if n not in ("TeX", "STIX-Web")}
        if rel in ("fonts/HTML-CSS/TeX", "fonts/HTML-CSS/STIX-Web"):
            skip |= {n for n in names if n not in ("woff",)}
        return skip
    return ignore


def _config_inited(app, config) -> None:
    _, name, hub_config = _source()
    config.mathjax_path = f"mathjax/MathJax.js?config={name}"
    config.mathjax2_config = hub_config
    config.mathjax3_config = None
    config.myst_update_mathjax = False


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    folder, _, _ = _source()
    dest = Path(app.outdir) / "_static" / "mathjax"
    if not (dest / "MathJax.js").exists():
        shutil.copytree(folder.resolve(), dest, dirs_exist_ok=True, ignore=_ignore(folder))


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
