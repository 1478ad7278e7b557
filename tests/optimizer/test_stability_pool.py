"""The stability ranges' pooled alternatives (:mod:`aalps.optimizer.stability_pool`) against
the one-by-one construction they replace: a price's or size's alternatives gathered in
arrays against :func:`~aalps.optimizer.stability_linear._walked` (every alternative scored
and checked in turn), a reliability's table against the same table built entry by entry
from the context's task plans and the evaluator, and the pool's figures against the
evaluator's own. Floats compared exactly (NaN where both are NaN)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_linear import _alternatives, _walked
from aalps.optimizer.stability_probe import Alternatives

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def _figures(context: StabilityContext) -> tuple[list[str], list[tuple[str, str]]]:
    plan = context.plan
    used = sorted({r.model for tp in plan.tasks for r in tp.roles})
    pairs = sorted(
        {(r.model, context.capability(tp, r.role)) for tp in plan.tasks for r in tp.roles}
    )
    return used, pairs


def _check(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    checked = 0
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        context = StabilityContext(evaluator, plan, spaces, ratio)
        used, pairs = _figures(context)
        costs = list(context.costs)
        for model in used:
            # Another cost at 2 per task, so that the rest at 2 differs from the rest at 1.
            costs2 = [c * 1.5 for c in costs]
            fast = _alternatives(context, model, costs, costs2)
            ids, index = context.figure_alternatives(model, "")
            plain = _walked(context, model, ids, index, costs, costs2)
            assert fast.plans == plain.plans
            for name in ("again", "cost1", "rest2", "own", "success"):
                assert _same(getattr(fast, name), getattr(plain, name)), name
            checked += len(plain.plans)
        for model, capability in pairs:
            table = Alternatives(context, model, capability)
            entries = [
                (index, alt, context.involves(alt, model, capability))
                for index in range(len(context.tasks))
                for alt in context.alternatives(index, model, capability)
            ]
            assert table.entries == entries
            cost, success = [], []
            for _, alt, again in entries:
                outcome = evaluator.task_outcome(alt)
                if again:
                    cost.append(math.nan)
                    success.append(math.nan)
                elif outcome.window_violation is not None:
                    cost.append(math.nan)
                    success.append(1.0)
                else:
                    cost.append(outcome.expected_cost)
                    success.append(outcome.success_probability)
            assert _same(table.cost, np.array(cost, dtype=float))
            assert _same(table.success, np.array(success, dtype=float))
            for j, (_, alt, _) in enumerate(entries):
                assert table.position(alt) == j
            assert table.position(context.tasks[0]) is None  # the chosen plan is none
            checked += len(entries)
        # Every pooled task plan's figures are the evaluator's.
        pool = context.pool
        every = np.arange(len(pool.plans), dtype=np.intp)
        figures = pool.figures(every)
        outcomes = [evaluator.task_outcome(tp) for tp in pool.plans]
        assert figures.cost.tolist() == [o.expected_cost for o in outcomes]
        assert figures.success.tolist() == [o.success_probability for o in outcomes]
        assert figures.window.tolist() == [o.window_violation is not None for o in outcomes]
        # What each pooled plan involves, from its roles, and the ids involving each pair.
        for g, tp in enumerate(pool.plans):
            task = evaluator.graph.task_by_id[tp.task_id]
            needs = {s.name: s.capability for s in evaluator.role_specs(task, tp.operator)}
            members = [(m, needs.get(r.role)) for r in tp.roles for m, _ in r.members]
            assert pool.pairs[g] == {(m, "") for m, _ in members} | set(members)
        for pair in {p for s in pool.pairs for p in s} | {("nobody", "")}:
            assert pool.involving(pair).tolist() == [pair in s for s in pool.pairs]
    return checked


@pytest.mark.parametrize("seed", [1, 3, 5, 7, 9, 11])
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(random_request_data(seed), monkeypatch)


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 30, 12), (2, 40, 6)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _check(wide_request_data(seed, n_tasks, n_models), monkeypatch) > 100
