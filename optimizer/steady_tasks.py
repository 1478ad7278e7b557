"""Task plans whose figures are the same at every point of the scale ray but the scale point.

The crossover search (:mod:`aalps.optimizer.crossover`) scores the challenged plan whole at
every point it tries, with an evaluator built there
(:meth:`~aalps.cost_models.evaluation.PlanEvaluator.at`). A task whose sizes, incoming
tokens and models' sizes read no parameter that moves along the ray has the very same
figures at each of those points: the evaluator computes them from the same numbers by the
same steps (away from the scale point its sizes come from the same compiled functions of
the same values). :class:`SteadyOutcomes` computes such a task plan's figures once and hands
them to every later point, so a point costs only the tasks that grow.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy
from aalps.cost_models.domain import TaskGraph, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, PlanOutcome, TaskOutcome
from aalps.cost_models.task_sizes import size_symbols

__all__ = ["SteadyOutcomes", "moving_symbols"]


def moving_symbols(graph: TaskGraph) -> frozenset[sympy.Symbol]:
    """The parameters whose values change along the ray: the growing free ones and every
    defined one that is not a function of fixed free ones alone."""
    fixed = {p.symbol for p in graph.parameters if p.expr is None and not p.grows}
    moving = {p.symbol for p in graph.parameters if p.expr is None and p.grows}
    for symbol, expr in graph.substitutions.items():
        if not expr.free_symbols <= fixed:
            moving.add(symbol)
    return frozenset(moving)


class SteadyOutcomes:
    """Plans' figures at ray points other than the scale point, each steady task plan's
    figures computed once for all of them."""

    def __init__(self, evaluator: PlanEvaluator) -> None:
        graph = evaluator.graph
        self._graph = graph
        self._models = evaluator.catalog.by_name
        self._moving = moving_symbols(graph)
        incoming: dict[str, list[sympy.Expr]] = {}
        for edge in graph.edges:
            incoming.setdefault(edge.target, []).append(edge.tokens)
        self._incoming = {t: sympy.Add(*e) for t, e in incoming.items()}
        self._steady_tasks: dict[str, bool] = {}
        self._steady: dict[TaskPlan, bool] = {}
        self._known: dict[TaskPlan, TaskOutcome] = {}

    def steady(self, task_plan: TaskPlan) -> bool:
        """Whether the task plan's figures are the same at every point but the scale point."""
        known = self._steady.get(task_plan)
        if known is None:
            known = self._steady[task_plan] = self._task_steady(
                task_plan.task_id
            ) and self._models_steady(m for r in task_plan.roles for m, _ in r.members)
        return known

    def _task_steady(self, task_id: str) -> bool:
        known = self._steady_tasks.get(task_id)
        if known is None:
            task = self._graph.task_by_id[task_id]
            symbols = size_symbols(task, self._incoming.get(task_id, sympy.Integer(0)))
            known = self._steady_tasks[task_id] = not (symbols & self._moving)
        return known

    def _models_steady(self, names: Iterable[str]) -> bool:
        return all(not (self._models[n].size.free_symbols & self._moving) for n in names)

    def outcome(self, evaluator: PlanEvaluator, task_plans: Iterable[TaskPlan]) -> PlanOutcome:
        """:meth:`PlanEvaluator.outcome` of the plan of ``task_plans`` at ``evaluator``'s
        point (not the scale point), the steady task plans' figures reused."""
        assert evaluator.scale != 1.0
        outcomes: dict[str, TaskOutcome] = {}
        known = self._known
        for tp in task_plans:
            if self.steady(tp):
                outcome = known.get(tp)
                if outcome is None:
                    outcome = known[tp] = evaluator.task_outcome(tp)
            else:
                outcome = evaluator.task_outcome(tp)
            outcomes[tp.task_id] = outcome
        return evaluator.combine(outcomes)
