"""The plan a stability analysis varies around: its tasks' figures and alternatives.

:class:`StabilityContext` holds what every range of :mod:`aalps.optimizer.stability`
shares: the chosen plan's per-task outcomes, the request's objective and constraints, the
single-task alternatives each varied figure can favour (cached per task, model and
capability, as ids of a pool that numbers each task plan once for every figure:
:mod:`aalps.optimizer.stability_pool`), and a layout of the plan's critical path, so that
a one-task change is checked against the constraints without recombining the plan
(:mod:`aalps.optimizer.swap_check`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.ensemble_roles import with_member
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.cost_models.operators import RoleSpec
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer.cascade_enumeration import cascade_alternatives
from aalps.optimizer.scaled_figures import ScaledFigures
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability_pool import Pairs, PlanPool
from aalps.optimizer.stability_shared import ShapeKeys, SharedScorer
from aalps.optimizer.swap_check import PlanLayout, SwapCheck

__all__ = ["StabilityContext"]


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
        self.costs = [o.expected_cost for o in self.outcomes]
        self.successes = [o.success_probability for o in self.outcomes]
        self.layout = PlanLayout(evaluator.facts, [tp.task_id for tp in self.tasks])
        self._apart_from_cost: SwapCheck | None = None
        self._success = math.prod(o.success_probability for o in self.outcomes)
        self._capabilities: dict[tuple[str, object], dict[str, str]] = {}
        self._able: dict[tuple[str, object], dict[str, tuple[str, ...]]] = {}
        self._able_by_spec: dict[RoleSpec, tuple[str, ...]] = {}
        # Per task plan: every (model, capability) and (model, "") its roles involve.
        self._involved: dict[TaskPlan, frozenset[tuple[str, str | None]]] = {}
        # Per capability table (by identity: equal tables are one, :func:`_capability_tables`)
        # and roles' (role, model, ensemble): what they involve. The search's candidates
        # repeat a few role choices over every task and parameter.
        self._pairs_of_roles: dict[tuple[object, ...], frozenset[tuple[str, str | None]]] = {}
        self._bases: dict[int, _Candidates] = {}
        self._role_swaps: dict[tuple[int, int, str], list[int]] = {}
        self._chosen_of: dict[int, _Chosen] = {}
        # Alike task plans of alike tasks scored once per evaluator (:mod:`.stability_shared`).
        # A function over the table, not a method: the keys hold it, and a bound method
        # would tie the context into a reference cycle (freed only by the collector).
        self._capability_table = _capability_tables(evaluator, self._capabilities)
        self.shapes = ShapeKeys(evaluator, self._capability_table)
        self.pool = PlanPool(self.scorer(evaluator))
        self.scaled = ScaledFigures(evaluator).scaled  # the figures scaled, for the ranges
        self._ids: dict[tuple[int, str, str], list[int]] = {}

    def scorer(self, evaluator: PlanEvaluator) -> SharedScorer:
        """A scorer of task plans under ``evaluator`` (one of this request's, a figure
        scaled), sharing alike task plans' figures across alike tasks."""
        return SharedScorer(evaluator, self.shapes)

    def capability(self, tp: TaskPlan, role: str) -> str:
        return self._capability_table(tp)[role]

    def able(self, tp: TaskPlan) -> dict[str, tuple[str, ...]]:
        """Per role of the task plan's operator, every catalog model able to play it (the
        enumeration drops dominated models, which a changed figure may bring back)."""
        key = (tp.task_id, tp.operator)
        table = self._able.get(key)
        if table is None:
            task = self.evaluator.graph.task_by_id[tp.task_id]
            table = self._able[key] = {
                spec.name: self._able_for(spec)
                for spec in self.evaluator.role_specs(task, tp.operator)
            }
        return table

    def _able_for(self, spec: RoleSpec) -> tuple[str, ...]:
        """Every catalog model able to play a role of ``spec`` (the same for every task whose
        operator has an equal role)."""
        known = self._able_by_spec.get(spec)
        if known is None:
            known = self._able_by_spec[spec] = tuple(
                m.name for m in self.evaluator.catalog.models if model_problem(spec, m) is None
            )
        return known

    def involves(self, tp: TaskPlan, model: str, capability: str) -> bool:
        """Whether a role of ``tp`` answers with ``model`` (and, unless ``capability`` is
        empty, needs that capability of it)."""
        return (model, capability) in self._pairs(tp)

    def pairs(self, tp: TaskPlan) -> frozenset[tuple[str, str | None]]:
        """Every (model, capability) and (model, "") the roles of ``tp`` involve."""
        return self._pairs(tp)

    def _pairs(self, tp: TaskPlan) -> frozenset[tuple[str, str | None]]:
        """Every (model, capability) and (model, "") the roles of ``tp`` involve (a task
        plan of the pool: kept there by id; another: kept here)."""
        g = self.pool.ids.get(tp)
        if g is not None:
            return self.pool.pairs[g]
        pairs = self._involved.get(tp)
        if pairs is None:
            pairs = self._involved[tp] = self._pairs_new(tp)
        return pairs

    def _pairs_new(self, tp: TaskPlan) -> frozenset[tuple[str, str | None]]:
        """:meth:`_pairs` worked out from the roles and their capabilities (once per
        capability table and roles' models)."""
        table = self._capabilities.get((tp.task_id, tp.operator))
        if table is None:
            table = self._capability_table(tp)
        roles = tp.roles
        if len(roles) == 1:
            r = roles[0]
            key: tuple[object, ...] = (id(table), r.role, r.model, r.ensemble)
        else:
            key = (id(table), *[(r.role, r.model, r.ensemble) for r in roles])
        known = self._pairs_of_roles.get(key)
        if known is None:
            known = self._pairs_of_roles[key] = _involved(table, roles)
        return known

    def alternatives(self, index: int, model: str, capability: str) -> list[TaskPlan]:
        """Task plans for task ``index`` other than the chosen one that the figure can favour."""
        plans = self.pool.plans
        return [plans[g] for g in self.alternative_ids(index, model, capability)]

    def alternative_ids(self, index: int, model: str, capability: str) -> list[int]:
        """:meth:`alternatives` as ids of :attr:`pool` (made once per task and figure)."""
        key = (index, model, capability)
        known = self._ids.get(key)
        if known is None:
            known = self._ids[key] = self._ids_of(index, model, capability)
        return known

    def figure_alternatives(self, model: str, capability: str) -> tuple[np.ndarray, np.ndarray]:
        """Every task's :meth:`alternative_ids` for the figure, flat in task order, and the
        index of each one's task."""
        known, make = self._ids, self._ids_of
        ids: list[int] = []
        counts: list[int] = []
        for i in range(len(self.tasks)):
            key = (i, model, capability)
            found = known.get(key)
            if found is None:
                found = known[key] = make(i, model, capability)
            ids += found
            counts.append(len(found))
        index = np.repeat(np.arange(len(counts), dtype=np.intp), counts)
        return np.array(ids, dtype=np.intp), index

    def _candidates(self, index: int) -> _Candidates:
        """The task's scored candidates and (under a cascade) every cascade, indexed by what
        they involve: what every figure's alternatives start from."""
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
            known = self._bases[index] = _Candidates(bases, cascades, self.pool, self._pairs_new)
        return known

    def _swaps(
        self, index: int, model: str, capability: str, needed: tuple[str | None, ...]
    ) -> list[int]:
        """The ids of the single-role swaps of the chosen task plan that move a role of
        ``capability`` (any, when empty) off ``model`` or onto it, in role order (each
        role's swaps made once per model and shared by the figures that ask); ``needed``:
        the capability each role of the chosen plan needs (:class:`_Chosen`)."""
        chosen = self.tasks[index]
        if chosen.operator is Operator.CASCADE:
            return []
        swaps: list[int] = []
        made_of = self._role_swaps
        for i, needs in enumerate(needed):
            if capability and needs != capability:
                continue
            key = (index, i, model)
            made = made_of.get(key)
            if made is None:
                made = made_of[key] = self.pool.add_all(
                    self._swaps_of(chosen, i, model), self._pairs_new
                )
            swaps += made
        return swaps

    def _chosen(self, index: int) -> _Chosen:
        """What every figure reads of task ``index``'s chosen plan (once its candidates are
        numbered: its id among them does not change after)."""
        known = self._chosen_of.get(index)
        if known is None:
            chosen = self.tasks[index]
            candidates = self._candidates(index)
            table = self._capability_table(chosen)
            known = self._chosen_of[index] = _Chosen(
                candidates,
                self.pool.ids.get(chosen),
                self._pairs(chosen),
                tuple(table.get(r.role) for r in chosen.roles),
            )
        return known

    def _swaps_of(self, chosen: TaskPlan, i: int, model: str) -> list[TaskPlan]:
        """The chosen task plan with role ``i`` moved off ``model`` (to every other able
        model) or onto it."""
        role = chosen.roles[i]
        models, names = self.able(chosen)[role.role], [m for m, _ in role.members]
        targets = (
            [n for n in models if n not in names]
            if model in names
            else ([model] if model in models else [])
        )
        made = []
        task_id, operator, params = chosen.task_id, chosen.operator, chosen.params
        old = model if model in names else role.model
        before, after = chosen.roles[:i], chosen.roles[i + 1 :]
        for name in targets:
            # ``replace(chosen, roles=...)``: the same fields, without its generic path.
            roles = (*before, with_member(role, old, name), *after)
            made.append(TaskPlan(task_id, operator, roles, params))
        return made

    def _ids_of(self, index: int, model: str, capability: str) -> list[int]:
        """In order: the scored candidates, the swaps (:meth:`_swaps`), the cascades; each
        once, the chosen plan left out. All of them when the chosen plan involves the
        figure, else the swaps and those that involve it."""
        chosen = self._chosen(index)
        swaps = self._swaps(index, model, capability, chosen.capabilities)
        if (model, capability) in chosen.pairs:
            return chosen.candidates.every(swaps, chosen.skip)
        return chosen.candidates.involving((model, capability), swaps, chosen.skip)

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


@dataclass(frozen=True)
class _Chosen:
    """A task's candidates, its chosen plan's id among them (None: not one), what the
    chosen plan involves and the capability each of its roles needs."""

    candidates: _Candidates
    skip: int | None
    pairs: frozenset[tuple[str, str | None]]
    capabilities: tuple[str | None, ...]


class _Candidates:
    """One task's scored candidates and cascades, in order (the candidates first, each plan
    once), with the positions of those involving each (model, capability) and (model, ""),
    and their ids in the context's pool."""

    def __init__(
        self, bases: list[TaskPlan], cascades: list[TaskPlan], pool: PlanPool, involved: Pairs
    ) -> None:
        every = pool.add_all(itertools.chain(bases, cascades), involved)
        ids = self.ids = list(dict.fromkeys(every))
        self.count = len(set(every[: len(bases)]))  # the candidates' places
        self.local = {g: j for j, g in enumerate(ids)}  # id -> position
        # The positions by what their plans involve (a few sets, shared by many plans),
        # then by pair, in increasing order.
        by_set: dict[frozenset[tuple[str, str | None]], list[int]] = {}
        pairs = pool.pairs
        for j, g in enumerate(ids):
            involves = pairs[g]
            listed = by_set.get(involves)
            if listed is None:
                by_set[involves] = [j]
            else:
                listed.append(j)
        by_pair: dict[tuple[str, str | None], list[int]] = {}
        merged = []
        for involves, positions in by_set.items():
            for pair in involves:
                known = by_pair.get(pair)
                if known is None:
                    by_pair[pair] = positions.copy()
                else:
                    known += positions
                    merged.append(known)
        for known in merged:
            known.sort()
        self.by_pair = by_pair

    def every(self, swaps: list[int], skip: int | None) -> list[int]:
        """The candidates, the ``swaps`` not among them, the cascades not among those, each
        once, ``skip`` (the chosen plan) left out: the alternatives of a figure the chosen
        plan involves. (A swap equal to a cascade counts in the swaps' place.)"""
        ids, count = self.ids, self.count
        out = ids[:count]
        if swaps:
            seen = set(out)
            for g in swaps:
                if g not in seen:
                    seen.add(g)
                    out.append(g)
            out += [g for g in ids[count:] if g not in seen]
        else:
            out += ids[count:]
        if skip is not None and skip in out:
            out.remove(skip)
        return out

    def involving(self, key: tuple[str, str], swaps: list[int], skip: int | None) -> list[int]:
        """The plans involving ``key`` and the ``swaps`` (which involve it), in the order
        candidates, swaps, cascades, each once, ``skip`` (the chosen plan) left out: the
        alternatives of a figure the chosen plan does not involve. (A swap equal to a
        candidate keeps the candidate's place; one equal to a cascade counts as that
        cascade.)"""
        ids, local = self.ids, self.local
        found = self.by_pair.get(key, [])
        mine = local.get(skip) if skip is not None else None  # the chosen plan's place
        if not swaps:
            return [ids[j] for j in found if j != mine]
        count = self.count
        taken, moved = set(found), set()
        extra: dict[int, None] = {}
        for g in swaps:
            j = local.get(g)
            if j is None:
                extra[g] = None
            elif j < count:
                taken.add(j)
            elif j in taken:  # a cascade (it never is): in the swaps' place
                extra[g] = None
                moved.add(j)
        if skip is not None:
            extra.pop(skip, None)
        ordered = sorted(taken)
        out = [ids[j] for j in ordered if j < count and j != mine]
        out += extra
        out += [ids[j] for j in ordered if j >= count and j != mine and j not in moved]
        return out


def _involved(
    table: dict[str, str], roles: tuple[RoleAssignment, ...]
) -> frozenset[tuple[str, str | None]]:
    """Every (model, capability) and (model, "") the ``roles`` involve, each role needing
    its capability in ``table``."""
    found: set[tuple[str, str | None]] = set()
    add = found.add
    for r in roles:
        capability = table.get(r.role)
        if r.ensemble:
            for share in r.ensemble:
                add((share.model, ""))
                add((share.model, capability))
        else:
            add((r.model, ""))
            add((r.model, capability))
    return frozenset(found)


def _capability_tables(
    evaluator: PlanEvaluator, tables: dict[tuple[str, object], dict[str, str]]
) -> Callable[[TaskPlan], dict[str, str]]:
    """Per task plan, per role of its operator, the capability it needs (kept in ``tables``;
    equal tables are one object, so that what a table's roles involve is kept once)."""
    equal: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def table_of(tp: TaskPlan) -> dict[str, str]:
        key = (tp.task_id, tp.operator)
        table = tables.get(key)
        if table is None:
            task = evaluator.graph.task_by_id[tp.task_id]
            specs = evaluator.role_specs(task, tp.operator)
            made = {r.name: r.capability for r in specs}
            table = tables[key] = equal.setdefault(tuple(made.items()), made)
        return table

    return table_of
