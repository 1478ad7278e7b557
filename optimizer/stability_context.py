"""The plan a stability analysis varies around: its tasks' figures and alternatives.

:class:`StabilityContext` holds what every range of :mod:`aalps.optimizer.stability`
shares: the chosen plan's per-task outcomes, the request's objective and constraints, the
single-task alternatives each varied figure can favour (cached per task, model and
capability), and a layout of the plan's critical path, so that a one-task change is checked
against the constraints without recombining the plan (:mod:`aalps.optimizer.swap_check`).
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import replace

from aalps.cost_models.domain import Operator, Plan, TaskPlan
from aalps.cost_models.ensemble_roles import with_member
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer.cascade_enumeration import cascade_alternatives
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.swap_check import PlanLayout, SwapCheck

__all__ = ["StabilityContext"]

#: Task plans, each with every (model, capability) and (model, "") its roles involve.
Involving = dict[TaskPlan, Container[tuple[str, str | None]]]


class _Every:
    """What a single-role swap involves, as far as the figure that made it asks."""

    def __contains__(self, pair: object) -> bool:
        return True


_EVERY = _Every()


class StabilityContext:
    """The chosen plan, its per-task outcomes, the spaces and the request's objective."""

    def __init__(
        self, evaluator: PlanEvaluator, plan: Plan, spaces: Sequence[TaskSpace], ratio: bool
    ) -> None:
        self.evaluator = evaluator
        self.plan = plan
        self.tasks = list(plan.tasks)
        self.spaces = {s.task.id: s for s in spaces}
        self.ratio = ratio
        self.constraints = evaluator.request.constraints
        # The cost of a correct result (sum of costs over product of successes) couples the
        # tasks as constraints do: two changes may win where neither does alone.
        self.constrained = self.constraints.coupled
        self.conditional = self.constrained or ratio
        self.outcomes = [evaluator.task_outcome(tp) for tp in self.tasks]
        self.layout = PlanLayout(evaluator.facts, [tp.task_id for tp in self.tasks])
        self._apart_from_cost: SwapCheck | None = None
        self._success = math.prod(o.success_probability for o in self.outcomes)
        self._capabilities: dict[tuple[str, object], dict[str, str]] = {}
        self._able: dict[tuple[str, object], dict[str, tuple[str, ...]]] = {}
        self._alternatives: dict[tuple[int, str, str], list[TaskPlan]] = {}
        # Per task plan: every (model, capability) and (model, "") its roles involve.
        self._involved: dict[TaskPlan, frozenset[tuple[str, str | None]]] = {}
        self._bases: dict[int, tuple[Involving, Involving]] = {}

    def capability(self, tp: TaskPlan, role: str) -> str:
        return self._capability_table(tp)[role]

    def _capability_table(self, tp: TaskPlan) -> dict[str, str]:
        """Per role of the task plan's operator, the capability it needs."""
        key = (tp.task_id, tp.operator)
        table = self._capabilities.get(key)
        if table is None:
            task = self.evaluator.graph.task_by_id[tp.task_id]
            specs = self.evaluator.role_specs(task, tp.operator)
            table = self._capabilities[key] = {r.name: r.capability for r in specs}
        return table

    def able(self, tp: TaskPlan) -> dict[str, tuple[str, ...]]:
        """Per role of the task plan's operator, every catalog model able to play it (the
        enumeration drops dominated models, which a changed figure may bring back)."""
        key = (tp.task_id, tp.operator)
        table = self._able.get(key)
        if table is None:
            task = self.evaluator.graph.task_by_id[tp.task_id]
            table = self._able[key] = {
                spec.name: tuple(
                    m.name for m in self.evaluator.catalog.models if model_problem(spec, m) is None
                )
                for spec in self.evaluator.role_specs(task, tp.operator)
            }
        return table

    def involves(self, tp: TaskPlan, model: str, capability: str) -> bool:
        """Whether a role of ``tp`` answers with ``model`` (and, unless ``capability`` is
        empty, needs that capability of it)."""
        return (model, capability) in self._pairs(tp)

    def _pairs(self, tp: TaskPlan) -> frozenset[tuple[str, str | None]]:
        """Every (model, capability) and (model, "") the roles of ``tp`` involve."""
        pairs = self._involved.get(tp)
        if pairs is None:
            table = self._capability_table(tp)
            pairs = self._involved[tp] = frozenset(
                pair
                for r in tp.roles
                for m, _ in r.members
                for pair in ((m, ""), (m, table.get(r.role)))
            )
        return pairs

    def alternatives(self, index: int, model: str, capability: str) -> list[TaskPlan]:
        """Task plans for task ``index`` other than the chosen one that the figure can favour."""
        key = (index, model, capability)
        known = self._alternatives.get(key)
        if known is None:
            known = self._alternatives[key] = self._alternatives_of(index, model, capability)
        return known

    def _candidates(self, index: int) -> tuple[Involving, Involving]:
        """The task's scored candidates and (under a cascade) every cascade, each with what
        it involves, in order: what every figure's alternatives start from."""
        known = self._bases.get(index)
        if known is None:
            chosen = self.tasks[index]
            space = self.spaces.get(chosen.task_id)
            bases = [c.plan for cands in space.by_operator.values() for c in cands] if space else []
            task = self.evaluator.graph.task_by_id[chosen.task_id]
            cascades = (  # every model, order and cut-off (the space keeps few)
                cascade_alternatives(task, self.evaluator.catalog)
                if task.cascade is not None
                else []
            )
            known = self._bases[index] = (
                {tp: self._pairs(tp) for tp in bases},
                {tp: self._pairs(tp) for tp in cascades},
            )
        return known

    def _alternatives_of(self, index: int, model: str, capability: str) -> list[TaskPlan]:
        chosen = self.tasks[index]
        bases, cascades = self._candidates(index)
        found = dict(bases)
        able = self.able(chosen)
        for i, role in enumerate(chosen.roles):
            if capability and self.capability(chosen, role.role) != capability:
                continue
            models, names = able[role.role], [m for m, _ in role.members]
            targets = (
                [n for n in models if n not in names]
                if model in names
                else ([model] if model in models else [])
            )
            for name in targets:
                roles = list(chosen.roles)
                roles[i] = with_member(role, model if model in names else role.model, name)
                if chosen.operator is not Operator.CASCADE:
                    # It puts the model in a role of the capability: it involves both.
                    found[replace(chosen, roles=tuple(roles))] = _EVERY
        found.update(cascades)
        found.pop(chosen, None)
        if self.involves(chosen, model, capability):
            return list(found)
        key = (model, capability)
        return [tp for tp, pairs in found.items() if key in pairs]

    def feasible_apart_from_cost(self, index: int, outcome: TaskOutcome) -> bool:
        """Whether the plan with task ``index`` done as ``outcome`` meets the constraints
        other than ``max_cost`` (which varies with a price)."""
        if outcome.window_violation is not None:
            return False
        if not self.constrained:
            return True
        check = self._apart_from_cost
        if check is None:
            apart = replace(self.constraints, max_cost=None)
            check = self._apart_from_cost = self.layout.check(self.outcomes, apart)
        return check.meets(
            self.layout.position[index], outcome, 0.0, self._success_with(index, outcome)
        )

    def _success_with(self, index: int, outcome: TaskOutcome) -> float:
        """The plan's success probability with task ``index`` done as ``outcome``."""
        own = self.outcomes[index].success_probability
        if own > 0:
            return self._success / own * outcome.success_probability
        return math.prod(
            outcome.success_probability if i == index else o.success_probability
            for i, o in enumerate(self.outcomes)
        )
