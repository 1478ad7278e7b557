"""Task plans whose figures are the same at every point of the scale ray but the scale point.

The crossover search (:mod:`aalps.optimizer.crossover`) scores the challenged plan whole at
every point it tries, with an evaluator built there
(:meth:`~aalps.cost_models.evaluation.PlanEvaluator.at`). A task whose sizes, incoming
tokens and models' sizes read no parameter that moves along the ray has the very same
figures at each of those points: the evaluator computes them from the same numbers by the
same steps (away from the scale point its sizes come from the same compiled functions of
the same values). :class:`SteadyOutcomes` computes such a task plan's figures once and hands
them to every later point, so a point costs only the tasks that grow, and those by their
cost and success alone (:class:`~aalps.optimizer.ray_scoring.RayScorer`: the same floats).
:meth:`SteadyOutcomes.figures_beside` scores a challenger at a point from the challenged
plan's figures there, looking up only the task plans it changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import sympy
from aalps.cost_models.domain import CHUNK, Operator, TaskGraph, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, PlanOutcome, TaskOutcome
from aalps.cost_models.outcomes import combine_outcomes
from aalps.cost_models.task_sizes import recipe
from aalps.optimizer.operator_twins import scored_fields
from aalps.optimizer.ray_figures import RayFigures, TaskFigures, ray_figures
from aalps.optimizer.ray_scoring import RayScorer

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
        self._facts = evaluator.facts
        self._steady_tasks: dict[str, bool] = {}
        # Per size expression (by ``id``, kept beside it): whether it reads a moving symbol.
        self._expressions: dict[int, tuple[sympy.Expr, bool]] = {}
        self._steady_fields: dict[tuple[str, Operator], bool] = {}
        self._steady: dict[TaskPlan, bool] = {}
        self._known: dict[TaskPlan, TaskOutcome] = {}
        self._scorer = RayScorer(evaluator)
        # The last plans scored, by identity of their task plans' tuple (kept beside it):
        # each one's task plans in the evaluator's order, with the steady ones' figures.
        self._layouts: dict[int, tuple[tuple[TaskPlan, ...], _Layout]] = {}
        # Per pair of plans (by identity, kept beside): where the first differs from the
        # second, by position in the evaluator's order, and those task plans by index
        # there, steady and moving.
        self._differences: dict[
            tuple[int, int], tuple[_Plans, _Plans, _Changes, _Changes, _Changes]
        ] = {}

    def steady(self, task_plan: TaskPlan) -> bool:
        """Whether the task plan's figures are the same at every point but the scale point:
        its models' sizes do not move, and neither do its task's sizes, or at least those
        its operator's figures read (:func:`~aalps.optimizer.operator_twins.scored_fields`:
        DIRECT reads no block)."""
        known = self._steady.get(task_plan)
        if known is None:
            task_id = task_plan.task_id
            known = self._steady[task_plan] = (
                self._task_steady(task_id) or self._fields_steady(task_id, task_plan.operator)
            ) and self._models_steady(m for r in task_plan.roles for m, _ in r.members)
        return known

    def _task_steady(self, task_id: str) -> bool:
        """Whether none of the symbols the task's shape reads moves
        (:func:`~aalps.cost_models.task_sizes.size_symbols`: its size expressions' symbols,
        its chunks' aggregate tokens' but the chunk size), read from its recipe's
        expressions (the same ones), each expression's verdict kept."""
        known = self._steady_tasks.get(task_id)
        if known is None:
            task = self._graph.task_by_id[task_id]
            facts = self._facts
            kept = recipe(task, facts.incoming[task_id], facts.references[task_id])
            moves = any(self._moves(expr) for _, expr in kept.items)
            if not moves and kept.aggregate is not None:
                moves = bool((kept.aggregate.free_symbols - {CHUNK}) & self._moving)
            known = self._steady_tasks[task_id] = not moves
        return known

    def _moves(self, expr: sympy.Expr) -> bool:
        """Whether ``expr`` reads a moving parameter (kept by expression: a request's tasks
        share a few dozen size expressions)."""
        known = self._expressions.get(id(expr))
        if known is None or known[0] is not expr:
            known = self._expressions[id(expr)] = (expr, bool(expr.free_symbols & self._moving))
        return known[1]

    def _fields_steady(self, task_id: str, operator: Operator) -> bool:
        """Whether none of the shape fields the operator's figures read on the task moves
        (False when the operator declares none). The figures are a function of those
        fields' numbers (in floats, or the same fields in mpmath), of the roles' figures
        and of the plan: equal numbers, equal figures at any two points."""
        key = (task_id, operator)
        known = self._steady_fields.get(key)
        if known is None:
            task = self._graph.task_by_id[task_id]
            fields = scored_fields(operator, task)
            if fields is None or "aggregate_tokens" in fields:
                known = False
            else:
                facts = self._facts
                sizes = dict(recipe(task, facts.incoming[task_id], facts.references[task_id]).items)
                known = not any(self._moves(sizes[name]) for name in fields if name in sizes)
            self._steady_fields[key] = known
        return known

    def _models_steady(self, names: Iterable[str]) -> bool:
        return all(not (self._models[n].size.free_symbols & self._moving) for n in names)

    def outcome(self, evaluator: PlanEvaluator, task_plans: Iterable[TaskPlan]) -> PlanOutcome:
        """:meth:`PlanEvaluator.outcome` of the plan of ``task_plans`` at ``evaluator``'s
        point (not the scale point), the steady task plans' figures reused.

        A tuple of task plans met before (the challenged plan, at every point the crossover
        search tries) is laid out in the evaluator's order once: a point then scores only
        its moving task plans and combines the figures as :meth:`PlanEvaluator.combine`
        does (:func:`~aalps.cost_models.outcomes.combine_outcomes` on the same list)."""
        ordered = cast(list[TaskOutcome], self._ordered(evaluator, task_plans, lean=False))
        return combine_outcomes(ordered, evaluator.facts.pred_index)

    def figures(self, evaluator: PlanEvaluator, task_plans: Iterable[TaskPlan]) -> RayFigures:
        """The :class:`~aalps.optimizer.ray_figures.RayFigures` of :meth:`outcome`'s plan:
        its cost and log-success, the same floats, without the rest of the pass (the moving
        task plans scored by their cost and success alone, but when a task's log-success is
        nan: then the sum takes the whole pass, which reads every figure)."""
        ordered = self._ordered(evaluator, task_plans, lean=True)
        if any(o.log_success != o.log_success for o in ordered):
            ordered = self._ordered(evaluator, task_plans, lean=False)
        return ray_figures(ordered, evaluator.facts.pred_index)

    def figures_beside(
        self,
        evaluator: PlanEvaluator,
        task_plans: tuple[TaskPlan, ...],
        reference_plans: tuple[TaskPlan, ...],
        reference: RayFigures,
    ) -> RayFigures:
        """:meth:`figures` of the plan of ``task_plans`` from ``reference``, the figures of
        the plan of ``reference_plans`` at the same point: only the task plans in which the
        two differ are looked up (a challenger changes one task, or a few), the others'
        figures are the reference's (equal task plans, one cache: the same records)."""
        assert evaluator.scale != 1.0
        key = (id(task_plans), id(reference_plans))
        entry = self._differences.get(key)
        if entry is None or entry[0] is not task_plans or entry[1] is not reference_plans:
            if len(self._differences) >= _LAYOUTS:
                self._differences.clear()
            changed = _differences(evaluator.facts.order, task_plans, reference_plans)
            # By index in ``changed``: the steady task plans, and the moving ones (a list
            # kept for :meth:`RayScorer.fill_plan`, given at every point).
            steady: _Changes = []
            moving: _Changes = []
            for k, (_, tp) in enumerate(changed):
                (steady if self.steady(tp) else moving).append((k, tp))
            entry = self._differences[key] = (task_plans, reference_plans, changed, steady, moving)
        changed, steady, moving = entry[2], entry[3], entry[4]
        figures: list[TaskFigures | None] = [None] * len(changed)
        for k, tp in steady:
            figures[k] = self._figure(evaluator, tp)
        if moving:
            self._scorer.fill_plan(evaluator, figures, moving)
        changes = [(i, cast(TaskFigures, f)) for (i, _), f in zip(changed, figures, strict=True)]
        if any(o.log_success != o.log_success for _, o in changes):
            # The sum is nan: the whole pass decides, on every task plan's whole figures.
            return ray_figures(
                self._ordered(evaluator, task_plans, lean=False), evaluator.facts.pred_index
            )
        return reference.swapped(changes)

    def figure(self, evaluator: PlanEvaluator, task_plan: TaskPlan) -> TaskFigures:
        """One task plan's figures at ``evaluator``'s point (not the scale point): the
        evaluator's outcome's cost, its log and log-success, as :meth:`figures` reads them."""
        assert evaluator.scale != 1.0
        return self._figure(evaluator, task_plan)

    def _figure(self, evaluator: PlanEvaluator, task_plan: TaskPlan) -> TaskFigures:
        """One task plan's figures at ``evaluator``'s point (a steady one's computed once, a
        moving one's by :class:`.RayScorer`)."""
        if not self.steady(task_plan):
            return self._scorer.figures(evaluator, task_plan)
        outcome = self._known.get(task_plan)
        if outcome is None:
            outcome = self._known[task_plan] = evaluator.task_outcome(task_plan)
        return outcome

    def _ordered(
        self, evaluator: PlanEvaluator, task_plans: Iterable[TaskPlan], *, lean: bool
    ) -> list[TaskFigures]:
        """The figures of the plan's task plans in the evaluator's order (its layout kept
        for the next point); ``lean``: the moving ones by :class:`.RayScorer`, else the
        evaluator's whole outcomes."""
        assert evaluator.scale != 1.0
        plans = task_plans if isinstance(task_plans, tuple) else tuple(task_plans)
        entry = self._layouts.get(id(plans))
        if entry is None or entry[0] is not plans:
            if len(self._layouts) >= _LAYOUTS:
                self._layouts.clear()
            entry = self._layouts[id(plans)] = (plans, self._layout(evaluator, plans))
        steady, moving = entry[1]
        ordered: list[TaskFigures | None] = list(steady)
        if lean:
            self._scorer.fill_plan(evaluator, ordered, moving)
        else:
            for position, tp in moving:
                ordered[position] = evaluator.task_outcome(tp)
        return cast(list[TaskFigures], ordered)

    def _layout(self, evaluator: PlanEvaluator, plans: tuple[TaskPlan, ...]) -> _Layout:
        """Per position of the evaluator's order, the steady task plan's figures (None for
        a moving one), and the moving ones with their positions."""
        by_task = {tp.task_id: tp for tp in plans}
        ordered: list[TaskOutcome | None] = []
        moving: list[tuple[int, TaskPlan]] = []
        for position, task_id in enumerate(evaluator.facts.order):
            tp = by_task[task_id]
            if self.steady(tp):
                ordered.append(cast(TaskOutcome, self._figure(evaluator, tp)))
            else:
                ordered.append(None)
                moving.append((position, tp))
        return ordered, moving


#: A plan's layout: its steady figures by position (None where it moves) and its moving
#: task plans with their positions.
_Layout = tuple[list[TaskOutcome | None], list[tuple[int, TaskPlan]]]
#: Layouts kept at most (the challenged plan and the challengers of one search).
_LAYOUTS = 64
_Plans = tuple[TaskPlan, ...]
#: Task plans by position in the evaluator's order.
_Changes = list[tuple[int, TaskPlan]]


def _differences(order: Iterable[str], plans: _Plans, reference: _Plans) -> _Changes:
    """The task plans of ``plans`` that are not ``reference``'s, by position in ``order``."""
    theirs = {tp.task_id: tp for tp in reference}
    mine = {tp.task_id: tp for tp in plans}
    assert mine.keys() == theirs.keys()
    return [(i, mine[t]) for i, t in enumerate(order) if mine[t] != theirs[t]]
