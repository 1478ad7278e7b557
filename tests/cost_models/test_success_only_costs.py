"""The symbolic cost of a SUCCESS_ONLY operator's plan, run with a reliability of 1
(:func:`~aalps.cost_models.symbolic_costs.cost_schedule`), is exactly the cost of the full run
(:func:`~aalps.cost_models.task_scoring.run_schedule` with the roles' real reliabilities):
compared with ``sympy.srepr`` on every such task plan of random requests."""

from __future__ import annotations

import itertools

import sympy
from aalps.cost_models import symbolic_costs
from aalps.cost_models.arithmetic import SYMBOLIC
from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, TaskShape, applicable_operators
from aalps.cost_models.plan_checks import model_problem
from aalps.cost_models.symbolic_costs import SUCCESS_ONLY, cost_schedule

from tests.cost_models.full_run_costs import full_run_cost
from tests.optimizer.random_requests import random_request_data, wide_request_data

_VOTES = (1, 3, 9)


def _task_plans(evaluator: PlanEvaluator, operators: frozenset[Operator]) -> list[TaskPlan]:
    """Every plan of every task with one of ``operators``: each able model, 1/3/9 votes,
    the first values of the parameters."""
    catalog = evaluator.request.catalog
    out = []
    for task in evaluator.graph.tasks:
        for operator in applicable_operators(task):
            if operator not in operators:
                continue
            spec = OPERATORS[operator]
            per_role = [
                [
                    RoleAssignment(role.name, m.name, v)
                    for m in catalog.models
                    if model_problem(role, m) is None
                    for v in (_VOTES if role.votable else (1,))
                ]
                for role in spec.roles(task)
            ]
            params = [
                [(p.name, v) for v in range(p.low, min(p.high, p.low + 2) + 1)]
                for p in spec.params(task)
            ]
            for roles in itertools.product(*per_role):
                for values in itertools.product(*params):
                    out.append(TaskPlan(task.id, operator, roles, tuple(sorted(values))))
    return out


def _requests() -> list:
    datas = [random_request_data(seed) for seed in range(1, 41)]
    datas += [wide_request_data(seed, 12, 6) for seed in range(3)]
    return [load_request(d) for d in datas]


def test_success_only_cost_equals_the_full_run():
    checked = {op: 0 for op in SUCCESS_ONLY}
    for request in _requests():
        reference = PlanEvaluator(request)
        shortcut = PlanEvaluator(request)  # its own caches: nothing taken from the reference
        for task_plan in _task_plans(reference, SUCCESS_ONLY):
            shape = reference._compiled[task_plan.task_id].symbolic
            schedule, calls = cost_schedule(shortcut, task_plan, shape)
            full, full_calls, _ = reference._run(task_plan, SYMBOLIC, shape)
            assert repr(schedule.groups) == repr(full.groups)
            assert _exact(schedule.groups) == _exact(full.groups)
            assert schedule.tools == full.tools
            assert calls == full_calls
            expected = full_run_cost(reference, task_plan)
            got = symbolic_costs.task_cost(shortcut, task_plan)
            assert sympy.srepr(got) == sympy.srepr(expected), task_plan
            assert got != 0, task_plan  # a real cost
            checked[task_plan.operator] += 1
    # Every shortcut operator the random requests can draw was compared, many times each.
    assert all(n >= 30 for n in checked.values()), checked
    assert sum(checked.values()) > 2000


def _fields(group: object) -> list[object]:
    return [getattr(group, name) for name in group.__dataclass_fields__]


def _exact(groups: tuple) -> list[list[tuple[str, str]]]:
    """Each group's fields with their types, sympy values by ``srepr``."""
    return [
        [
            (type(v).__name__, sympy.srepr(v) if isinstance(v, sympy.Basic) else repr(v))
            for v in _fields(g)
        ]
        for g in groups
    ]


class _Symbolic:
    """A reliability that answers a fresh symbol per call: whatever the schedule does with
    it shows in its groups and tools."""

    def __init__(self) -> None:
        self.symbols: list[sympy.Symbol] = []

    def __call__(self, role: str, tokens_in: object, decisions: object = 1) -> sympy.Expr:
        s = sympy.Symbol(f"rel_{len(self.symbols)}", positive=True)
        self.symbols.append(s)
        return s / 2  # never 1, never 0: no branch on a special value is taken

    def correlation(self, role: str) -> float:
        return 0.0


def _groups_read_reliability(request, task_plan: TaskPlan, shape: TaskShape) -> bool:
    reliability = _Symbolic()
    spec = OPERATORS[task_plan.operator]
    schedule = spec.schedule(shape, reliability, dict(task_plan.params), SYMBOLIC)
    held = {
        s
        for g in schedule.groups
        for v in _fields(g)
        if isinstance(v, sympy.Basic)
        for s in v.free_symbols
    }
    held |= {
        s
        for t in schedule.tools
        for v in _fields(t)
        if isinstance(v, sympy.Basic)
        for s in v.free_symbols
    }
    assert reliability.symbols or not schedule.groups or shape.tool_task
    return bool(held & set(reliability.symbols))


def test_success_only_operators_keep_the_reliability_out_of_their_groups():
    """The reason the shortcut holds: a SUCCESS_ONLY schedule's groups and tools carry none
    of the reliabilities it was handed; the retries' and AHEAD_BY_K's do (they size their
    calls by it), so the check can tell."""
    reading = set()
    for request in _requests()[:20]:
        evaluator = PlanEvaluator(request)
        for task_plan in _task_plans(evaluator, frozenset(Operator)):
            if task_plan.operator is Operator.CASCADE:
                continue  # rated stages: not a plain reliability
            shape = evaluator._compiled[task_plan.task_id].symbolic
            if _groups_read_reliability(request, task_plan, shape):
                reading.add(task_plan.operator)
    assert not reading & SUCCESS_ONLY
    assert {Operator.GLOBAL_RETRY, Operator.AHEAD_BY_K} <= reading
