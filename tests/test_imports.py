"""The import graph of ``stag``, built from the source: no cycle, no library module importing a
command-line module, no private name imported across modules.

The graph counts every ``import`` and ``from ... import`` (relative ones and those inside
functions too) and every string that names a ``stag`` module, since ``stag.cli`` and
``stag.bench`` load their sub-commands by ``importlib`` from such strings.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_names(package_dir: Path) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file under ``package_dir``."""
    base = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of the package (None if none)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def import_graph(package_dir: Path) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges ``{module: {modules it imports}}`` and the private imports ``(importer, module, name)``.

    ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``;
    a private import is ``from other import _name`` where ``_name`` is not a module.
    """
    modules = module_names(package_dir)
    top = package_dir.name
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = mod if _is_package(path) else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _resolve(alias.name, modules)
                    if target:
                        edges[mod].add(target)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                if base != top and not base.startswith(top + "."):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in modules:
                        edges[mod].add(full)
                        continue
                    target = _resolve(base, modules)
                    if target:
                        edges[mod].add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__") and target != mod:
                        private.append((mod, base, alias.name))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
                edges[mod].add(node.value)  # loaded by importlib from its name
        edges[mod].discard(mod)
    return edges, private


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None when the graph has none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def is_cli(module: str) -> bool:
    """A command-line module: ``cli`` or ``__main__`` at any level."""
    return module.rpartition(".")[2] in ("cli", "__main__")


def cli_imports(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """``(library module, CLI module it imports)`` pairs."""
    return sorted((a, b) for a, targets in edges.items() if not is_cli(a) for b in targets if is_cli(b))


# --- the checks on stag -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stag_graph():
    return import_graph(ROOT / "stag")


def test_graph_sees_the_package(stag_graph):
    edges, _ = stag_graph
    assert "stag.train.run" in edges and "stag.cli" in edges
    assert "stag.data.registry" in edges["stag.data"]  # from stag.data.registry import ...
    assert "stag.data.cli" in edges["stag.cli"]  # by importlib, from the COMMANDS table


def test_no_import_cycle(stag_graph):
    edges, _ = stag_graph
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_library_modules_do_not_import_cli_modules(stag_graph):
    edges, _ = stag_graph
    bad = cli_imports(edges)
    assert not bad, "library modules importing CLI modules: " + "; ".join(f"{a} -> {b}" for a, b in bad)


# Dependencies point one way (STYLE.md). Modules of the same rank may import each other (the graph
# has no cycle); a command-line module sits above everything.
# The results layer reads recorded runs and explanation scores; explaining (Captum, trained folds)
# and benchmarking sit above it, so no module of stag.results imports stag.explain.
RANKS = {"faces": 0, "files": 0, "device": 0, "environment": 0, "threads": 0, "data": 1, "preprocess": 2,
         "models": 3, "train": 4, "results": 5, "explain": 6, "bench": 6, "viz": 6, "audit": 7, "book": 7}


def upward_imports(edges: dict[str, set[str]], ranks: dict[str, int]) -> list[tuple[str, str]]:
    """``(module, module of a higher rank it imports)`` pairs, CLI modules exempt."""
    def rank(m):
        parts = m.split(".")
        return ranks.get(parts[1], -1) if len(parts) > 1 else -1

    return sorted((a, b) for a, targets in edges.items() if not is_cli(a) for b in targets
                  if not is_cli(b) and rank(b) > rank(a) >= 0)


def test_dependencies_point_one_way(stag_graph):
    edges, _ = stag_graph
    assert set(RANKS) | {"cli", "__main__"} >= {m.split(".")[1] for m in edges if "." in m}, "a new subpackage needs a rank"
    bad = upward_imports(edges, RANKS)
    assert not bad, "imports against the layering: " + "; ".join(f"{a} -> {b}" for a, b in bad)


def test_no_private_names_across_modules(stag_graph):
    _, private = stag_graph
    assert not private, "private names imported: " + "; ".join(f"{a}: from {m} import {n}" for a, m, n in private)


# --- the checker itself can fail ----------------------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_checker_finds_a_cycle_through_a_function_level_relative_import(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import g\n",
        "pkg/sub/__init__.py": "",
        "pkg/b.py": "def g():\n    from .sub import c\n",
        "pkg/sub/c.py": "from .. import a\n",
    })
    edges, _ = import_graph(pkg)
    assert edges["pkg.b"] == {"pkg.sub.c"} and edges["pkg.sub.c"] == {"pkg.a"}
    assert find_cycle(edges) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_checker_finds_an_importlib_cycle_cli_imports_and_private_names(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/cli.py": "import importlib\nCOMMANDS = {'x': 'pkg.x.cli'}\n",
        "pkg/x/__init__.py": "",
        "pkg/x/cli.py": "from pkg.cli import main\nfrom pkg.x.core import _helper\n",
        "pkg/x/core.py": "import pkg.x.cli\n",
    })
    edges, private = import_graph(pkg)
    assert find_cycle(edges) in (["pkg.cli", "pkg.x.cli", "pkg.cli"], ["pkg.x.cli", "pkg.cli", "pkg.x.cli"])
    assert cli_imports(edges) == [("pkg.x.core", "pkg.x.cli")]
    assert private == [("pkg.x.cli", "pkg.x.core", "_helper")]


def test_checker_finds_an_upward_import(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/data/__init__.py": "",
        "pkg/data/load.py": "def f():\n    from pkg.models.net import Net\n",
        "pkg/models/__init__.py": "",
        "pkg/models/net.py": "from pkg.data.load import f\n",
        "pkg/models/cli.py": "",
    })
    edges, _ = import_graph(pkg)
    assert upward_imports(edges, {"data": 1, "models": 3}) == [("pkg.data.load", "pkg.models.net")]


def test_checker_passes_a_clean_package(tmp_path):
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import f\n",
        "pkg/a.py": "import os\nfrom pkg import b\n",
        "pkg/b.py": "from __future__ import annotations\n",
        "pkg/cli.py": "from pkg.a import f\n",
    })
    edges, private = import_graph(pkg)
    assert find_cycle(edges) is None and not cli_imports(edges) and not private
