"""A task plan's cost and success at points of the scale ray, without the rest of its figures.

The crossover search (:mod:`aalps.optimizer.crossover`) scores the challenged plan whole at
some thirty points of the ray (:mod:`aalps.optimizer.steady_tasks`) and reads three figures
of each task plan there: the expected cost, its log and the log-success
(:mod:`aalps.optimizer.ray_figures`). :meth:`PlanEvaluator.task_outcome
<aalps.cost_models.evaluation.PlanEvaluator.task_outcome>` works out the whole
:class:`~aalps.cost_models.outcomes.TaskOutcome` (latency, variance, window, tails) and, at
each point, what does not depend on the point again: the task's compiled record, the
(task, operator)'s fixed figures, each role's entry and the reliability the roles declare.

:class:`RayScorer` keeps, per task plan, what
:func:`~aalps.cost_models.task_scoring.run_schedule` works out before the operator's
schedule (the roles' calls, the reliability they declare, the setup's share), valid at every
point whose evaluator has the same role tables (the models' sizes are the same there: every
point, when they are numbers). Per point it builds the task's shape as the evaluator does
(:func:`~aalps.cost_models.task_sizes.fast_shape` of the task's recipe), runs the schedule
and sums the cost by :func:`~aalps.cost_models.task_scoring.numeric_outcome`'s operations in
its order: the same floats. Whatever is not that plain path goes to the evaluator, which
then decides as it always did: an operator that rates its stages or stops at a random stage
(CASCADE), a request with a parallelism limit, a retry tail whose attempt count is not a
finite number (the evaluator's pass raises there and falls back to mpmath), a figure that
is not a float, not finite or zero (but a success that underflowed far along the ray: its
log on logs, as the evaluator works it out, :mod:`~aalps.cost_models.log_successes`), any
exception. A twin task (:mod:`.task_twins`) is scored as its twin's plan, as the evaluator
does.

At a point, task plans whose figures read the same share one scoring, by the rule
:mod:`aalps.optimizer.operator_twins` shares the search's: the same operator, roles'
entries and parameters, and the same shape fields where the operator and the scoring read
(:func:`~aalps.optimizer.operator_twins.scored_fields`; DIRECT reads no block): the same
size expressions (a number at a point is its expression's: a 1,000-task request has a few
dozen distinct ones), the other fields equal with their types (none a ``-0.0``). The task
plans are grouped once; a task plan whose group was scored at the point costs a look-up,
no shape: in a 1,000-task plan about six in ten. Where the evaluator scored a group's task
plan (an mpmath pass far along the ray), the others of the group take its figures too.
``tests/optimizer/test_ray_scoring.py`` checks the figures against the evaluator's on
every candidate of many requests.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aalps.cost_models.arithmetic import FLOAT
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.log_successes import float_log_success
from aalps.cost_models.operators import OperatorSpec, TaskShape
from aalps.cost_models.outcomes import TaskOutcome
from aalps.cost_models.role_calls import RoleCalls, member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.task_scoring import (
    GroupCoster,
    fixed_of,
    group_coster,
    role_entry,
    settings,
)
from aalps.cost_models.task_sizes import Recipe, SizeMemo, fast_shape, recipe, to_float
from aalps.cost_models.tools import tool_figures
from aalps.cost_models.vote_reliability import RoleReliability
from aalps.optimizer.operator_twins import scored_fields

__all__ = ["RayScorer", "RayTask"]

#: Ray points whose shapes are kept at once (a crossover search visits about thirty).
_POINTS = 64


class RayTask:
    """The figures of a task plan the crossover search reads at a ray point (the same
    floats as the evaluator's :class:`~aalps.cost_models.outcomes.TaskOutcome` there)."""

    __slots__ = ("expected_cost", "log_cost", "log_success")

    def __init__(self, expected_cost: float, log_cost: float, log_success: float) -> None:
        self.expected_cost = expected_cost
        self.log_cost = log_cost
        self.log_success = log_success

    def __repr__(self) -> str:
        return f"RayTask({self.expected_cost!r}, {self.log_cost!r}, {self.log_success!r})"


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What :func:`run_schedule` works out before the schedule, the same at every point
    whose evaluator has ``tables`` for its role entries."""

    spec: OperatorSpec
    unverified: bool
    calls: dict[str, RoleCalls]
    reliability: RoleReliability
    share: Any  # the setup's share per run (0 without a setup)
    params: tuple[tuple[str, int], ...]
    #: The parameters as the operator reads them (a read-only mapping, built once).
    arguments: Mapping[str, int]
    recipe: Recipe
    tables: object  # the evaluators' role tables the entries were taken from
    #: The number of what the figures read, when declared (operator, unverified, roles'
    #: entries by identity, parameters, the scored fields: sizes by expression, the others
    #: by value): task plans of one group have the same figures at a point.
    group: int | None


class RayScorer:
    """Task plans' :class:`RayTask` at ray points other than the scale point."""

    def __init__(self, evaluator: PlanEvaluator) -> None:
        request = evaluator.request
        cache = request.prompt_cache
        self._coster: GroupCoster = group_coster(request.cost_model, cache.enabled, cache.lifetime)
        #: One call's cost where the coster prices a group of equal calls as
        #: ``votes · calls · one_call(size, input, output)`` (its own steps, inlined in
        #: :meth:`_run` as :func:`numeric_outcome` inlines them), else None.
        self._one_call = settings(request).one_call
        self._cost_model = request.cost_model
        #: Off for requests whose latency pass can raise on its own (a parallelism limit).
        self._enabled = request.constraints.parallelism is None
        # Per task plan, by ``id`` (kept beside it: no dataclass hash per look-up).
        self._prepared: dict[int, tuple[TaskPlan, _Prepared | None]] = {}
        # Numbers of what task plans read (see ``_Prepared.group``).
        self._groups: dict[Hashable, int] = {}
        # Per ray point: the shapes built there, and the figures by what they read.
        self._points: dict[float, tuple[SizeMemo, dict[int, RayTask | TaskOutcome]]] = {}
        # Per list :meth:`fill_plan` was given (by ``id``, kept beside it): each task plan
        # with its preparation, as ``_prepared`` holds it.
        self._lists: dict[int, tuple[_Moving, list[tuple[int, TaskPlan, _Prepared | None]]]] = {}

    def figures(self, evaluator: PlanEvaluator, task_plan: TaskPlan) -> RayTask | TaskOutcome:
        """The task plan's figures at ``evaluator``'s point (not the scale point): a
        :class:`RayTask`, or the evaluator's outcome where it decides (module docstring)."""
        found: list[RayTask | TaskOutcome | None] = [None]
        self.fill(evaluator, found, [(0, task_plan)])
        figure = found[0]
        assert figure is not None
        return figure

    def fill(
        self,
        evaluator: PlanEvaluator,
        ordered: list[Any],
        task_plans: Iterable[tuple[int, TaskPlan]],
    ) -> None:
        """``ordered[i]`` = :meth:`figures` of each ``(i, task plan)``, at one point."""
        outcomes = evaluator._outcomes
        if not self._enabled:
            for position, tp in task_plans:
                ordered[position] = evaluator.task_outcome(tp)
            return
        memo, shared = self._point(evaluator.scale)
        tables = evaluator._role_calls
        prepared_of = self._prepared
        score = self._score
        for position, tp in task_plans:
            if outcomes:  # the point's figures worked out by the evaluator before
                known = outcomes.get(tp)
                if known is not None:
                    ordered[position] = known
                    continue
            entry = prepared_of.get(id(tp))
            if entry is None or entry[0] is not tp:
                try:
                    prepared = self._prepare(evaluator, memo, tp)
                except Exception:  # noqa: BLE001 - the evaluator's own run decides (and raises)
                    prepared = None
                entry = prepared_of[id(tp)] = (tp, prepared)
            prepared = entry[1]
            found: RayTask | TaskOutcome | None = None
            group = None
            if prepared is not None and prepared.tables is tables:
                group = prepared.group
                try:
                    found = score(evaluator, memo, shared, prepared)
                except Exception:  # noqa: BLE001 - as above
                    found = None
            if found is None:
                # The evaluator's figures (an mpmath pass, far along the ray), the group's.
                found = evaluator.task_outcome(tp)
                if group is not None:
                    shared[group] = found
            ordered[position] = found

    def _point(self, scale: float) -> tuple[SizeMemo, dict[int, RayTask | TaskOutcome]]:
        """The sizes and the groups' figures kept for the ray point at ``scale``."""
        point = self._points.get(scale)
        if point is None:
            if len(self._points) >= _POINTS:
                self._points.clear()
            point = self._points[scale] = (SizeMemo(), {})
        return point

    def fill_plan(self, evaluator: PlanEvaluator, ordered: list[Any], moving: _Moving) -> None:
        """:meth:`fill` for a list given at every point (a plan's moving task plans): the
        same figures by the same steps, each task plan's preparation read from a list kept
        for ``moving`` rather than looked up, and a group already scored at the point
        taken without a call (some 900 task plans a point, 30 points, at 1,000 tasks)."""
        entry = self._lists.get(id(moving))
        if entry is None or entry[0] is not moving or not self._enabled:
            self.fill(evaluator, ordered, moving)  # prepares them (or the evaluator's)
            if self._enabled:
                prepared_of = self._prepared
                kept = [(position, tp, prepared_of.get(id(tp))) for position, tp in moving]
                # Those the evaluator had scored at the point were not prepared: not yet.
                if all(e is not None and e[0] is tp for _, tp, e in kept):
                    if len(self._lists) >= _POINTS:
                        self._lists.clear()
                    self._lists[id(moving)] = (
                        moving,
                        [(position, tp, e[1]) for position, tp, e in kept if e is not None],
                    )
            return
        memo, shared = self._point(evaluator.scale)
        shapes = memo.shapes
        values = evaluator._values
        outcomes = evaluator._outcomes
        tables = evaluator._role_calls
        run = self._run
        for position, tp, prepared in entry[1]:
            if outcomes:  # the point's figures worked out by the evaluator before
                known = outcomes.get(tp)
                if known is not None:
                    ordered[position] = known
                    continue
            found: RayTask | TaskOutcome | None = None
            group = None
            if prepared is not None and prepared.tables is tables:
                group = prepared.group
                # :meth:`_score`, inline
                if group is not None:
                    found = shared.get(group)
                if found is None:
                    try:
                        sizes = prepared.recipe
                        shape = shapes.get(sizes)
                        if shape is None:  # :meth:`_shape`, inline
                            shape = shapes[sizes] = fast_shape(sizes, values, memo)
                        found = run(evaluator, shape, prepared)
                    except Exception:  # noqa: BLE001 - the evaluator's own run decides
                        found = None
                    if group is not None and found is not None:
                        shared[group] = found
            if found is None:
                found = evaluator.task_outcome(tp)
                if group is not None:
                    shared[group] = found
            ordered[position] = found

    def _prepare(
        self, evaluator: PlanEvaluator, memo: SizeMemo, task_plan: TaskPlan
    ) -> _Prepared | None:
        """:func:`run_schedule`'s work before the schedule (None: the evaluator scores it)."""
        twin = evaluator.facts.twins.get(task_plan.task_id)
        if twin is not None:  # the evaluator scores the twin's plan: the same numbers
            task_plan = TaskPlan(twin, task_plan.operator, task_plan.roles, task_plan.params)
        spec, capability, unverified, rates, task = fixed_of(evaluator, task_plan)
        if rates:
            return None
        calls: dict[str, RoleCalls] = {}
        reliability = RoleReliability(FLOAT)
        setup = False
        entries = []
        for assignment in task_plan.roles:
            cap = capability.get(assignment.role)
            if cap is not None:
                entry = role_entry(evaluator, assignment, cap, FLOAT)
                calls[assignment.role] = entry.calls
                reliability.put(assignment.role, entry.prepared)
                setup = setup or entry.setup
                entries.append((assignment.role, id(entry)))
        share: Any = 0
        if setup:
            amount = setup_of(member_models(calls))
            float(amount)  # noqa: B018 - as the evaluator's record converts it
            share = amortized(amount, evaluator.request.volume, FLOAT)
        facts = evaluator.facts
        known = recipe(task, facts.incoming[task.id], facts.references[task.id])
        # What the figures read: the size expressions among the scored fields (by identity:
        # the same expression, the same number at any point; the recipe keeps them alive)
        # and the other fields' values, the same at every point (with their types).
        group = None
        fields = scored_fields(task_plan.operator, task)
        if fields is not None and "aggregate_tokens" not in fields:
            sizes = dict(known.items)
            shape = self._shape(evaluator, memo, known)
            constants = tuple(
                (name, type(value), value)
                for name in fields
                if name not in sizes
                for value in (getattr(shape, name),)
            )
            if not _negative_zero(tuple(v for _, _, v in constants)):
                reads = (
                    task_plan.operator,
                    unverified,
                    tuple(entries),
                    task_plan.params,
                    constants,
                    tuple((name, id(sizes[name])) for name in fields if name in sizes),
                )
                group = self._groups.setdefault(reads, len(self._groups))
        return _Prepared(
            spec,
            unverified,
            calls,
            reliability,
            share,
            task_plan.params,
            MappingProxyType(dict(task_plan.params)),
            known,
            evaluator._role_calls,
            group,
        )

    @staticmethod
    def _shape(evaluator: PlanEvaluator, memo: SizeMemo, known: Recipe) -> TaskShape:
        """The task's shape at the point, as the evaluator builds it (once per recipe)."""
        shape = memo.shapes.get(known)
        if shape is None:
            shape = memo.shapes[known] = fast_shape(known, evaluator._values, memo)
        return shape

    def _score(
        self,
        evaluator: PlanEvaluator,
        memo: SizeMemo,
        shared: dict[int, RayTask | TaskOutcome],
        prepared: _Prepared,
    ) -> RayTask | TaskOutcome | None:
        """:func:`numeric_outcome`'s cost and success in floats, or None (the evaluator's);
        shared at the point by the task plans of its group (``_Prepared.group``), which
        then need no shape either (nor an mpmath pass, where the evaluator scored one)."""
        group = prepared.group
        if group is not None:
            known = shared.get(group)
            if known is not None:
                return known
        result = self._run(evaluator, self._shape(evaluator, memo, prepared.recipe), prepared)
        if group is not None and result is not None:
            shared[group] = result
        return result

    def _run(
        self, evaluator: PlanEvaluator, shape: TaskShape, prepared: _Prepared
    ) -> RayTask | None:
        """The schedule on ``shape`` and its cost and success (None: the evaluator's)."""
        schedule = prepared.spec.schedule(shape, prepared.reliability, prepared.arguments, FLOAT)
        success = schedule.success
        if prepared.unverified:
            units = shape.block_count if shape.block_count != 0 else 1
            success = success * shape.acceptance**units
        tools = schedule.tools
        cost = (tool_figures(tools, self._cost_model)[0] if tools else 0) + prepared.share
        one_call = self._one_call
        prompt = shape.prompt
        calls = prepared.calls
        tail = True  # whether the first retry group's attempt count is yet to be read
        for g in schedule.groups:
            count = g.calls
            if count == 0:
                continue
            if g.nested:
                return None  # a CASCADE stage: its tail is the evaluator's
            if tail and g.variance and g.retry_units:
                tail = False
                if not math.isfinite(to_float(g.retry_units)):
                    return None  # the evaluator's pass raises here (and goes to mpmath)
            members = calls[g.role].members
            first = members[0]
            if one_call is not None and g.input_step == 0:
                # The coster's own steps (its passes of equal calls), as numeric_outcome's.
                put, out = g.input, g.output
                spent = first.votes * count * one_call(first.pricing.size, put, out)
                for m in members[1:]:
                    spent = spent + m.votes * count * one_call(m.pricing.size, put, out)
            else:
                coster = self._coster
                request = evaluator.request
                spent = coster(g, request, first.pricing, first.votes, FLOAT, prompt)
                for m in members[1:]:
                    spent = spent + coster(g, request, m.pricing, m.votes, FLOAT, prompt)
            cost = cost + spent
        if type(success) is float:
            if success > 0.0:
                log_success = math.log(success)
            elif success == 0.0 and type(cost) is float and 0.0 < cost < math.inf:
                # Underflowed far along the ray: its log on logs, as numeric_outcome works
                # it out (None, or -inf: the operator's formula does not run on logs, the
                # evaluator's mpmath run decides).
                found = float_log_success(
                    prepared.spec,
                    shape,
                    prepared.reliability,
                    prepared.arguments,
                    prepared.unverified,
                )
                if found is None or found == -math.inf:
                    return None
                log_success = found
            else:
                return None  # nan: the evaluator's
        elif type(success) is int and success == 1:
            log_success = 0.0  # certain (the evaluator's ``log_of`` gives the same)
        else:
            return None
        if type(cost) is not float or not 0.0 < cost < math.inf:
            return None
        return RayTask(cost, math.log(cost), log_success)


#: Task plans by position in the evaluator's order (:meth:`RayScorer.fill_plan`).
_Moving = list[tuple[int, TaskPlan]]


def _negative_zero(values: tuple[Any, ...]) -> bool:
    """Whether a value is a float ``-0.0`` (equal to ``0.0``, yet its sign shows)."""
    return any(type(v) is float and v == 0 and math.copysign(1.0, v) < 0 for v in values)
