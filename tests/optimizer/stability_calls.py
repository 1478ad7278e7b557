"""The arguments :func:`aalps.optimizer.api.optimize` calls the stability ranges with, for
tests that run parts of them against a reference on real requests."""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.loading import load_request
from aalps.optimizer import api


def stability_calls(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The (evaluator, plan, spaces, ratio) stability_ranges is called with in optimize
    (none when the request is infeasible)."""
    seen: list[Any] = []

    def keep(evaluator: Any, plan: Any, spaces: Any, *, ratio: bool) -> Any:
        seen.append((evaluator, plan, spaces, ratio))
        return ()

    monkeypatch.setattr(api, "stability_ranges", keep)
    try:
        api.optimize(load_request(data))
    except InfeasibleError:
        return []
    return seen
