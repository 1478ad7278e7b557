"""Each operator's declared ``shape_fields`` cover every TaskShape field its schedule reads.

:mod:`aalps.optimizer.operator_twins` shares the figures of task plans whose tasks agree on
those fields, so a field read but not declared would share figures that differ. Two checks:
the source (every ``shape.x`` in ``schedule`` and in the operator functions it hands the
shape to, on every path) and a run (the fields read while every task plan of the examples
and of random requests is scored, through a shape that records its reads).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from aalps.cost_models.domain import Operator, OptimizeRequest, Task
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, TaskShape
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.operator_twins import scored_fields
from aalps.optimizer.ray import FAR_SCALE
from aalps.optimizer.space import Metrics

from tests.optimizer.random_requests import random_request, wide_request_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHAPE_NAMES = {f.name for f in fields(TaskShape)} | {"report_written"}
DECLARED = {op: spec.shape_fields for op, spec in OPERATORS.items() if spec.shape_fields}


def test_the_undeclared_operators_are_the_two_that_read_more_than_the_shape() -> None:
    assert {op for op, spec in OPERATORS.items() if spec.shape_fields is None} == {
        Operator.CASCADE,
        Operator.CHUNK_AGGREGATE,
    }
    for names in DECLARED.values():
        assert names <= SHAPE_NAMES
        assert "aggregate_tokens" not in names  # a function: not comparable
        if "report_written" in names:
            assert "report_tokens" in names


def _source_reads(function: Callable[..., Any]) -> set[str]:
    """The shape fields ``function`` reads, following the shape into operator functions
    (through a :func:`~aalps.cost_models.operators.base.per_shape` memo: the function it
    remembers)."""
    function = inspect.unwrap(function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    arguments = node.args.args + node.args.kwonlyargs
    names = {a.arg for a in arguments if a.annotation and ast.unparse(a.annotation) == "TaskShape"}
    assert names, function
    reads: set[str] = set()
    uses = 0  # every load of the shape must be a field read or an argument followed here
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            if sub.value.id in names:
                reads.add(sub.attr)
                uses += 1
        if isinstance(sub, ast.Call):
            passed = [a for a in [*sub.args, *(k.value for k in sub.keywords)]]
            if any(isinstance(a, ast.Name) and a.id in names for a in passed):
                assert isinstance(sub.func, ast.Name), ast.unparse(sub)
                callee = function.__globals__[sub.func.id]
                assert callee.__module__.startswith("aalps.cost_models.operators"), callee
                reads |= _source_reads(callee)
                uses += sum(isinstance(a, ast.Name) and a.id in names for a in passed)
    loads = sum(isinstance(s, ast.Name) and s.id in names for s in ast.walk(node))
    assert uses == loads, f"{function.__qualname__} uses the shape otherwise"
    return reads


@pytest.mark.parametrize("operator", sorted(DECLARED, key=str))
def test_the_source_reads_only_declared_fields(operator: Operator) -> None:
    spec = OPERATORS[operator]
    reads = _source_reads(type(spec).schedule)
    assert reads <= DECLARED[operator], reads - DECLARED[operator]
    # The declarations are not padded either: each names a field the source reads.
    assert DECLARED[operator] - {"report_tokens"} <= reads


def test_the_source_check_follows_helpers() -> None:
    """The walk above sees through a helper: MAP's chain decisions read the step count
    (in its layout, remembered per shape)."""
    assert _source_reads(type(OPERATORS[Operator.MAP]).schedule) == {
        "block_count",
        "block_output",
        "block_size",
        "prompt",
        "step_count",
    }


class _Recording:
    """A shape that records the fields read while ``current`` names an operator."""

    def __init__(self, shape: TaskShape, log: dict[Any, set[str]], current: list[Any]):
        self._shape, self._log, self._current = shape, log, current

    def __getattr__(self, name: str) -> Any:
        if self._current[0] is not None:
            self._log.setdefault(self._current[0], set()).add(name)
        return getattr(self._shape, name)


def _requests() -> Iterator[OptimizeRequest]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        yield load_request(yaml.safe_load(path.read_text()))
    for seed in range(6):
        yield random_request(seed)
    yield load_request(wide_request_data(3, 40, 6))


def test_scoring_reads_only_declared_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per scored (operator, task): the fields read are among :func:`.scored_fields`."""
    log: dict[Any, set[str]] = {}
    current: list[Any] = [None]
    own = PlanEvaluator.task_outcome
    tasks: dict[int, Task] = {}  # by id(): tasks do not hash, and ids repeat across requests

    def recorded(evaluator: PlanEvaluator, plan: Any) -> Any:
        task = evaluator.graph.task_by_id[plan.task_id]
        tasks[id(task)] = task
        current[0] = (plan.operator, id(task))
        try:
            return own(evaluator, plan)
        finally:
            current[0] = None

    monkeypatch.setattr(PlanEvaluator, "task_outcome", recorded)
    for request in _requests():
        near = PlanEvaluator(request)
        far = near.at(FAR_SCALE)
        for evaluator in (near, far):
            for task in request.graph.tasks:
                compiled = evaluator._compiled[task.id]
                compiled.numeric = _Recording(compiled.numeric, log, current)  # type: ignore[assignment]
                compiled.big = _Recording(compiled.big, log, current)  # type: ignore[assignment]
        build_spaces(near, Metrics.of(request, far=True), far=far, share=False)
    assert set(DECLARED) <= {operator for operator, _ in log}  # every one was scored
    unverified = 0
    for (operator, key), reads in log.items():
        names = scored_fields(operator, tasks[key])
        if names is not None:
            assert reads <= set(names), (operator, tasks[key].id, reads - set(names))
            unverified += "acceptance" in names
    assert unverified > 0
