"""The symbolic cost of an operator outside SUCCESS_ONLY, run with
:data:`~aalps.cost_models.arithmetic.SYMBOLIC_COST` (the success not worked out:
:func:`~aalps.cost_models.symbolic_costs.cost_schedule`), has exactly the call groups and
tools of the full :data:`~aalps.cost_models.arithmetic.SYMBOLIC` run, and so its cost:
compared field by field (``sympy.srepr``) on every such task plan of random requests."""

from __future__ import annotations

import itertools
from pathlib import Path

import sympy
import yaml
from aalps.cost_models import symbolic_costs
from aalps.cost_models.arithmetic import SYMBOLIC, UNWORKED
from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem
from aalps.cost_models.symbolic_costs import SUCCESS_ONLY, cost_schedule

from tests.cost_models.full_run_costs import full_run_cost
from tests.cost_models.test_success_only_costs import _exact, _requests

_FULL = frozenset(Operator) - SUCCESS_ONLY
_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


#: The examples whose tasks may run CASCADE (the random requests have no cascade fact).
_WITH_CASCADE = ("cascade",)


def _task_plans(evaluator: PlanEvaluator) -> list[TaskPlan]:
    """Every plan of every task with an operator outside SUCCESS_ONLY: each able model per
    role the parameters assign, the first values of the parameters."""
    catalog = evaluator.request.catalog
    out = []
    for task in evaluator.graph.tasks:
        for operator in applicable_operators(task):
            if operator not in _FULL:
                continue
            spec = OPERATORS[operator]
            params = [
                [(p.name, v) for v in range(p.low, min(p.high, p.low + 2) + 1)]
                for p in spec.params(task)
            ]
            for values in itertools.product(*params):
                per_role = [
                    [
                        RoleAssignment(role.name, m.name, 1)
                        for m in catalog.models
                        if model_problem(role, m) is None
                    ]
                    for role in spec.plan_roles(task, dict(values))
                ]
                for roles in itertools.product(*per_role):
                    out.append(TaskPlan(task.id, operator, roles, tuple(sorted(values))))
    return out


def test_cost_only_run_has_the_full_runs_groups_and_cost():
    checked = {op: 0 for op in _FULL}
    verified = 0
    examples = [yaml.safe_load((_EXAMPLES / f"{n}.yaml").read_text()) for n in _WITH_CASCADE]
    for request in _requests() + [load_request(d) for d in examples]:
        reference = PlanEvaluator(request)
        shortcut = PlanEvaluator(request)  # its own caches: nothing taken from the reference
        for task_plan in _task_plans(reference):
            shape = reference._compiled[task_plan.task_id].symbolic
            try:
                full, full_calls, _ = reference._run(task_plan, SYMBOLIC, shape)
            except (KeyError, ValueError, TypeError):
                continue  # a plan the checks reject (a cascade stage without rates)
            schedule, calls = cost_schedule(shortcut, task_plan, shape)
            assert _exact(schedule.groups) == _exact(full.groups), task_plan
            assert schedule.tools == full.tools
            assert calls == full_calls
            assert schedule.success is UNWORKED  # not worked out: nothing to compare
            got = symbolic_costs.task_cost(shortcut, task_plan)
            expected = full_run_cost(reference, task_plan)
            assert sympy.srepr(got) == sympy.srepr(expected), task_plan
            verified += any(g.role == "verifier" for g in full.groups)
            checked[task_plan.operator] += 1
    assert all(n >= 30 for n in checked.values()), checked
    assert verified >= 30  # retries with an LLM verifier (the skipped rightness) among them
