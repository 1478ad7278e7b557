"""The hand-written constructors of the records every scored candidate builds
(:class:`~aalps.cost_models.operators.CallGroup`, :class:`~aalps.cost_models.operators.Schedule`,
and :func:`~aalps.cost_models.task_scoring.numeric_outcome`'s :class:`TaskOutcome`) against the
records dataclasses' own ``__init__`` builds from the same fields: the same values, the same
types, the same defaults, still frozen, equal and with equal hashes."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import mpmath
import pytest
from aalps.cost_models.arithmetic import BIG, FLOAT
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import CallGroup, Schedule, ToolUse
from aalps.cost_models.outcomes import TaskOutcome
from aalps.cost_models.task_scoring import numeric_outcome

from tests.cost_models.test_task_scoring import _plans
from tests.optimizer.random_requests import wide_request_data


def _generated(cls: type) -> type:
    """A frozen dataclass with ``cls``'s fields and the ``__init__`` dataclasses writes."""
    return dataclasses.make_dataclass(
        f"Generated{cls.__name__}",
        [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(cls)],
        frozen=True,
    )


def _state(record: Any) -> list[tuple[str, type, Any]]:
    return [(k, type(v), v) for k, v in vars(record).items()]


_GROUP_ARGS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("worker", 1, 120.0, 4.0), {}),
    (("worker", 7.0, 300.0, 1.0), {"parallel": 7.0}),
    (("fixer", 3, 250.0, 30.0, 120.0, 2, 5, 0.5, 3, 0.25, "worker", True), {}),
    (("verifier",), {"calls": 2.5, "input": 10, "output": 1, "follows": "worker"}),
    (("worker", mpmath.mpf(10) ** 400, mpmath.mpf(3), 1), {"stages": mpmath.mpf(2)}),
    (("stage1", 0.5, 100.0, 1.0), {"nested": True, "variance": 0.25}),
]


@pytest.mark.parametrize(("args", "kwargs"), _GROUP_ARGS)
def test_call_group_is_the_dataclass_record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    reference = _generated(CallGroup)(*args, **kwargs)
    group = CallGroup(*args, **kwargs)
    assert _state(group) == _state(reference)
    assert [f.name for f in dataclasses.fields(group)] == list(vars(group))
    assert group == CallGroup(*args, **kwargs)
    assert hash(group) == hash(CallGroup(*args, **kwargs))
    assert group.calls is reference.calls and group.input is reference.input
    with pytest.raises(dataclasses.FrozenInstanceError):
        group.calls = 2  # type: ignore[misc]
    copied = dataclasses.replace(group, calls=9)
    assert copied.calls == 9 and _state(copied)[2:] == _state(group)[2:]
    assert repr(group).startswith("CallGroup(role=")


def test_schedule_is_the_dataclass_record() -> None:
    groups = (CallGroup("worker", 1, 10.0, 2.0),)
    tools = (ToolUse("tool", 1, 0.5, 2.0),)
    generated = _generated(Schedule)
    for args in [(groups, 0.5), (groups, mpmath.mpf("1e-400"), tools), ((), 1)]:
        schedule = Schedule(*args)
        assert _state(schedule) == _state(generated(*args))
        assert schedule == Schedule(*args) and hash(schedule) == hash(Schedule(*args))
    assert _state(Schedule(groups=groups, success=0.25, tools=tools)) == _state(
        generated(groups, 0.25, tools)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        Schedule((), 1.0).success = 0.5  # type: ignore[misc]


def test_scored_outcomes_are_task_outcomes() -> None:
    """:func:`numeric_outcome` builds its records in place: each one is the record
    ``TaskOutcome(...)`` builds from its fields (the same values, types and order, frozen,
    equal), on every candidate of a request, in floats and in mpmath."""
    request = load_request(wide_request_data(0, 6, 5))
    compared = 0
    for scale in (1.0, 1e6):
        evaluator = PlanEvaluator(request, scale=scale)
        for plan in _plans(evaluator):
            compiled = evaluator._compiled[plan.task_id]
            for arithmetic, shape in ((FLOAT, compiled.numeric), (BIG, compiled.big)):
                try:
                    built = numeric_outcome(evaluator, plan, arithmetic, shape)
                except Exception:  # noqa: BLE001, S112 - no record to compare
                    continue
                values = [getattr(built, f.name) for f in dataclasses.fields(TaskOutcome)]
                reference = TaskOutcome(*values)
                assert type(built) is TaskOutcome
                assert _state(built) == _state(reference)
                assert built == reference or math.isnan(built.expected_cost)
                with pytest.raises(dataclasses.FrozenInstanceError):
                    built.latency = 1.0  # type: ignore[misc]
                compared += 1
    assert compared > 20
