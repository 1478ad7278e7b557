"""A twin task's space is copied from its twin's (:mod:`aalps.optimizer.twin_spaces`): the
spaces equal those of enumerating every task, figure for figure (plans renamed to their own
task), and so do the plans :func:`~aalps.optimizer.api.optimize` returns.
"""

from __future__ import annotations

import copy
from typing import Any

import aalps.optimizer.enumeration as enumeration
import pytest
from aalps.cost_models.loading import load_request
from aalps.optimizer.api import optimize
from aalps.optimizer.space import TaskSpace

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.space_summaries import built_spaces, space_summary


def _with_twins(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a copy of each of its first ten tasks (another id, no incoming edge)."""
    data = copy.deepcopy(data)
    tasks = data["graph"]["tasks"]
    for task in tasks[:10]:
        twin = copy.deepcopy(task)
        twin["id"] = f"{task['id']}_twin"
        tasks.append(twin)
    return data


CASES: list[tuple[str, dict[str, Any]]] = [
    *((f"random {s}", _with_twins(random_request_data(s))) for s in range(1, 31)),
    *((f"wide {s}", _with_twins(wide_request_data(s, 30, 8))) for s in range(3)),
    (
        "wide 0, success >= 0.5",
        _with_twins(wide_request_data(0, 30, 8, min_success_probability=0.5)),
    ),
]


def test_the_cases_have_twins() -> None:
    twins = [len(built_spaces(data)[0].facts.twins) for _, data in CASES]
    assert sum(1 for n in twins if n) >= len(CASES) // 2


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_copied_twin_spaces_equal_enumerated_ones(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, copied = built_spaces(data)
    _switch_off(monkeypatch)
    _, enumerated = built_spaces(data)
    assert [space_summary(s) for s in copied] == [space_summary(s) for s in enumerated], name


@pytest.mark.parametrize(("name", "data"), CASES[::6], ids=[n for n, _ in CASES[::6]])
def test_optimize_returns_the_same_plans(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = _optimized(data)
    _switch_off(monkeypatch)
    assert copied == _optimized(data), name


def _optimized(data: dict[str, Any]) -> Any:
    """The plans and the scored count optimize returns, or the error it raises (a copy of
    ten tasks may break a cost limit)."""
    try:
        result = optimize(load_request(data))
    except Exception as error:  # noqa: BLE001 - compared, not handled
        return repr(error)
    return result.plan, result.asymptotic_plan, result.stats.candidates


class _Forgetful(dict[str, TaskSpace]):
    """A builder's record of built spaces that keeps none: every task is enumerated."""

    def __setitem__(self, key: str, value: TaskSpace) -> None:
        pass


def _switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every task's space enumerated, twins too (the copy is never reached)."""
    init = enumeration.SpaceBuilder.__init__

    def forgetful(self: enumeration.SpaceBuilder, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._built = _Forgetful()

    def never(*args: object) -> TaskSpace:
        raise AssertionError("twin spaces are switched off")

    monkeypatch.setattr(enumeration.SpaceBuilder, "__init__", forgetful)
    monkeypatch.setattr(enumeration, "twin_space", never)
