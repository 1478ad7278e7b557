"""One docstring style: numpydoc sections (as networkx), no Google-style ``Args:`` blocks.

Reads every project module with :mod:`ast` (the import-cycle test's walk) and checks each
module, class and function docstring: a section heading is a bare word underlined with
dashes (``Parameters`` / ``----------``), never ``Args:``-style.
"""

from __future__ import annotations

import ast
import re

from tests.test_imports import project_sources

GOOGLE_HEADING = re.compile(
    r"^\s*(Args|Arguments|Returns|Raises|Attributes|Examples?|Yields|Notes?):\s*$", re.M
)
NUMPY_HEADINGS = ("Parameters", "Returns", "Raises", "Attributes", "Examples", "Yields", "Notes")


def _docstrings() -> list[tuple[str, str, str]]:
    sources, _ = project_sources()
    found = []
    for module, source in sources.items():
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                text = ast.get_docstring(node, clean=True)
                if text:
                    found.append((module, getattr(node, "name", "<module>"), text))
    return found


def test_no_google_style_sections() -> None:
    offenders = [
        f"{module}.{name}: {match.group(1)}:"
        for module, name, text in _docstrings()
        if (match := GOOGLE_HEADING.search(text))
    ]
    assert not offenders, offenders


def test_numpydoc_headings_are_underlined() -> None:
    bad = []
    for module, name, text in _docstrings():
        lines = text.splitlines()
        for i, line in enumerate(lines[:-1]):
            if line.strip() in NUMPY_HEADINGS and line == line.rstrip():
                underline = lines[i + 1].strip()
                if set(underline) != {"-"} or len(underline) != len(line.strip()):
                    bad.append(f"{module}.{name}: {line.strip()!r}")
    assert not bad, bad


def test_the_walk_sees_the_package() -> None:
    modules = {module for module, _, _ in _docstrings()}
    assert "aalps.server.config" in modules
    assert "aalps.cost_models.errors" in modules
    # numpydoc sections are in use (the style is not vacuous)
    assert sum("----------" in text for _, _, text in _docstrings()) >= 10
