"""Drop repeated inline scripts from each page.

Jupyter Book 1.x registers sphinx-thebe's and sphinx-togglebutton's inline configuration
scripts twice; the second ``const THEBE_JS_URL = ...`` is a SyntaxError in every page's
console. Identical script entries are kept once, in their first position.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
