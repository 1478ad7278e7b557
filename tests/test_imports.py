"""No import cycle among aalps's modules.

The parts of the package keep their folders at the top of the repository and install as
``aalps.<part>`` (pyproject's package-dir), so the test maps each ``.py`` file to its import
name, reads its imports with :mod:`ast` and asserts that the graph of runtime imports has no
cycle. Runtime imports are the module-level ones and those inside functions (they run on
the first call, and a circle through them is still a circle); imports under
``if TYPE_CHECKING:`` are not. Generated protobuf code (``*_pb2*.py``) imports nothing of
ours and is left out.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
#: Folder at the top of the repository -> its import name.
PARTS = {
    "aalps": "aalps",
    "cost_models": "aalps.cost_models",
    "optimizer": "aalps.optimizer",
    "server": "aalps.server",
    "client": "aalps.client",
    "proto": "aalps.proto",
}


def project_sources() -> tuple[dict[str, str], set[str]]:
    """Every project module's source by import name, and the names that are packages."""
    sources: dict[str, str] = {}
    packages: set[str] = set()
    for folder, prefix in PARTS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "_pb2" in path.name:
                continue
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
                packages.add(".".join((prefix, *parts)))
            sources[".".join((prefix, *parts))] = path.read_text(encoding="utf-8")
    return sources, packages


def _is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``node`` that run, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _runtime_imports(child)


def _longest_known(name: str, known: Collection[str]) -> str | None:
    """The longest prefix of dotted ``name`` that is a project module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports_of(name: str, source: str, *, package: bool, known: Collection[str]) -> set[str]:
    """The project modules that module ``name`` imports at run time.

    Parameters
    ----------
    name
        The module's import name (``aalps.optimizer.enumeration``).
    source
        Its source text.
    package
        Whether it is a package's ``__init__`` (relative imports start from it).
    known
        The project's module names; imports of anything else are ignored.
    """
    found: set[str] = set()
    here = name if package else name.rpartition(".")[0]
    for node in _runtime_imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _longest_known(alias.name, known)
                if target is not None:
                    found.add(target)
            continue
        if node.level:
            base = here.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        for alias in node.names:
            target = _longest_known(f"{module}.{alias.name}", known)
            if target is None:
                target = _longest_known(module, known)
            if target is not None:
                found.add(target)
    found.discard(name)
    return found


def import_graph(sources: Mapping[str, str], packages: Collection[str] = ()) -> nx.DiGraph:
    """The directed graph module -> module it imports at run time."""
    graph = nx.DiGraph()
    graph.add_nodes_from(sources)
    for name, source in sources.items():
        for target in imports_of(name, source, package=name in packages, known=sources):
            graph.add_edge(name, target)
    return graph


def import_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The graph's import circles, one per strongly connected group of two or more modules.

    Each is named by the shortest cycle from the group's least module back to it, so that a
    failure says where to cut (and says it the same way on every run).
    """
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) < 2:
            continue
        inner = graph.subgraph(group)
        start = min(group)
        paths = (nx.shortest_path(inner, after, start) for after in sorted(inner[start]))
        found.append([start, *min(paths, key=len)])
    return sorted(found)


# --- the cycle finder on tiny synthetic graphs ---------------------------------------------


def test_a_planted_cycle_is_found() -> None:
    sources = {
        "aalps.a": "from aalps.b import f\n",
        "aalps.b": "def f():\n    import aalps.c\n",  # inside a function: still a circle
        "aalps.c": "from aalps import a\n",
        "aalps": "",
    }
    assert import_cycles(import_graph(sources, {"aalps"})) == [
        ["aalps.a", "aalps.b", "aalps.c", "aalps.a"]
    ]


def test_type_checking_imports_are_not_edges() -> None:
    sources = {
        "aalps.a": "from aalps.b import f\n",
        "aalps.b": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from aalps.a import g\n"
            "else:\n    import os\n"
        ),
    }
    graph = import_graph(sources)
    assert set(graph.edges) == {("aalps.a", "aalps.b")}
    assert import_cycles(graph) == []


def test_relative_and_package_imports_resolve() -> None:
    sources = {
        "aalps.p": "from . import q\nfrom .r import thing\n",
        "aalps.p.q": "from .. import p\n",
        "aalps.p.r": "from aalps.p.q import x\nimport numpy\n",
    }
    graph = import_graph(sources, {"aalps.p"})
    assert set(graph.edges) == {
        ("aalps.p", "aalps.p.q"),
        ("aalps.p", "aalps.p.r"),
        ("aalps.p.q", "aalps.p"),
        ("aalps.p.r", "aalps.p.q"),
    }
    assert import_cycles(graph) == [["aalps.p", "aalps.p.q", "aalps.p"]]


# --- the project ---------------------------------------------------------------------------


def test_the_walk_sees_the_project() -> None:
    sources, packages = project_sources()
    assert {"aalps", "aalps.cost_models", "aalps.optimizer.enumeration"} <= set(sources)
    assert "aalps.cost_models" in packages
    assert not [name for name in sources if "_pb2" in name]
    graph = import_graph(sources, packages)
    assert graph.has_edge("aalps.optimizer.enumeration", "aalps.optimizer.chunk_enumeration")


def test_no_import_cycle() -> None:
    sources, packages = project_sources()
    cycles = import_cycles(import_graph(sources, packages))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
