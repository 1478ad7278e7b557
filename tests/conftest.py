"""Shared fixtures: the example request files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_data(name: str) -> dict[str, Any]:
    """The raw dict of ``examples/<name>.yaml``."""
    with open(EXAMPLES / f"{name}.yaml", encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
