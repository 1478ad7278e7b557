"""The built-in request files: the paper's three examples and seven more.

They install as the package ``aalps.examples`` (from ``examples/`` in the repository); in a
source checkout that is not installed, the ``examples/`` folder beside ``client/`` is used,
so ``aalps optimize k_task_routing`` works either way.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from aalps.client.errors import InvalidArgumentError

__all__ = ["Example", "examples", "find_example", "get_example"]

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Example:
    """One built-in request file."""

    name: str
    description: str
    resource: Traversable

    def read_text(self) -> str:
        return self.resource.read_text(encoding="utf-8")


def _folder() -> Traversable:
    try:
        return importlib.resources.files("aalps.examples")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "examples"


def _description(text: str) -> str:
    """The file's first sentence, from its leading comment lines (without the ``#``).

    Usually the first line; a sentence that goes on to the next line is followed there
    (at most three lines), so a listing never ends a description mid-sentence.
    """
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        lines.append(stripped.lstrip("#").strip())
        if lines[-1].endswith((".", "?", "!")) or len(lines) == 3:
            break
    return " ".join(lines)


def examples() -> list[Example]:
    """Every built-in example, sorted by name."""
    folder = _folder()
    found = [
        Example(
            name=item.name.rsplit(".", 1)[0],
            description=_description(item.read_text(encoding="utf-8")),
            resource=item,
        )
        for item in folder.iterdir()
        if item.is_file() and item.name.endswith(_SUFFIXES)
    ]
    return sorted(found, key=lambda e: e.name)


def find_example(name: str) -> Example | None:
    """The example called ``name`` (with or without its ``.yaml`` suffix), or None."""
    stem = name
    for suffix in _SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return next((e for e in examples() if e.name == stem), None)


def get_example(name: str) -> Example:
    """The example called ``name``; an :class:`InvalidArgumentError` listing the names if none."""
    example = find_example(name)
    if example is None:
        names = ", ".join(e.name for e in examples())
        raise InvalidArgumentError([(name, f"no such built-in example (available: {names})")])
    return example
