"""Enumerating the search space, task by task: every feasible task plan worth comparing.

Per task: an operator among those whose facts it has; per role of the operator a model
that has the capability (per-variant families only where the role allows them) and whose
context window holds the role's calls at the scale point; votes on votable roles (and
ensembles of models sharing them, :mod:`aalps.optimizer.ensemble_options`); the
operator's parameters (AHEAD_BY_K's ``ahead``, CHUNK_AGGREGATE's chunk size, see
:mod:`aalps.optimizer.chunk_enumeration`). Infeasible choices are dropped here, so they never
reach a trial, and the reasons are kept for the
:class:`~aalps.cost_models.errors.InfeasibleError` when a task has no plan left.

What "worth comparing" means depends on the request (:class:`~aalps.optimizer.space.Metrics`):
a choice that another beats or equals in expected cost and in every other figure the
request cares about (success probability, latency) can be replaced by it in any plan, so
it is dropped (:func:`~aalps.optimizer.pareto.pareto_filter`). With cost the only figure each
task keeps one choice, and votes are not even tried: they multiply a role's calls and only
ever raise its success.

Three facts about the operators keep the enumeration small, all sound for that filter:

* A role's calls (their number and sizes) do not depend on its model, except through the
  model's reliability in the roles of :data:`RELIABILITY_SETS_CALLS` (more reliable, fewer
  retries) and :data:`RELIABILITY_SHAPES_CALLS`. So a model that is no dearer (size, or
  prices under PRICED), has a window at least as wide, is at least as reliable and no
  slower per token (when those matter) replaces another in every plan: dominated models
  are dropped before anything is scored.
* In :data:`ROLE_SEPARABLE` operators a role's calls do not depend on the other roles'
  models either: the task's cost is the sum of the roles' costs, its success the product
  of theirs, its latency the sum. A role's choices are therefore compared with the other
  roles held at a reference choice (the widest window, so that a window violation is the
  role's own), the dominated ones dropped, and only the product of the survivors is
  scored. (Not so in the retry operators: the worker's reliability sets how often the
  verifier runs.)
* CHUNK_AGGREGATE depends on the chunk size only through the number of chunks
  (:mod:`aalps.optimizer.chunking`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import sympy
from aalps.cost_models.domain import CostModel, Model, Operator, RoleAssignment, Task, TaskPlan
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.evaluation import VOTE_CHOICES, PlanEvaluator
from aalps.cost_models.operators import OPERATORS, RoleSpec, applicable_operators
from aalps.optimizer.cascade_enumeration import cascade_candidates
from aalps.optimizer.chunk_enumeration import ChunkShape, chunk_candidates
from aalps.optimizer.chunk_pruning import AggregatorInput, CountPruner
from aalps.optimizer.ensemble_options import ensemble_options
from aalps.optimizer.lead_saturation import LeadSaturation, success_cap
from aalps.optimizer.model_dominance import RELIABILITY_SETS_CALLS, RELIABILITY_SHAPES_CALLS
from aalps.optimizer.operator_twins import OperatorTable, SharedOutcomes
from aalps.optimizer.param_values import (
    LEAD_FAILURE_FLOOR,
    PARAM_ENUMERATION_LIMIT,
    lead_values,
    param_values,
)
from aalps.optimizer.pareto import pareto_filter
from aalps.optimizer.ray import FAR_SCALE, model_size_at
from aalps.optimizer.role_combinations import ROLE_SEPARABLE, combinations, window_problem
from aalps.optimizer.role_models import RoleModels
from aalps.optimizer.shadowing import Shadows
from aalps.optimizer.space import (
    Candidate,
    ChunkWindows,
    Metrics,
    OperatorOptions,
    Option,
    TaskSpace,
    candidate,
    feasible_in_order,
    task_plan,
    widest,
)
from aalps.optimizer.twin_spaces import twin_space

__all__ = [
    "LEAD_FAILURE_FLOOR",
    "PARAM_ENUMERATION_LIMIT",
    "RELIABILITY_SETS_CALLS",
    "RELIABILITY_SHAPES_CALLS",
    "ROLE_SEPARABLE",
    "OperatorEnumerator",
    "SpaceBuilder",
    "build_spaces",
]


#: Operators whose enumeration does not skip shadowed choices (:mod:`.shadowing`).
_UNSHADOWED = frozenset({Operator.CASCADE, Operator.CHUNK_AGGREGATE})


class SpaceBuilder:
    """Builds :class:`TaskSpace` records for the tasks of one request."""

    def __init__(
        self,
        evaluator: PlanEvaluator,
        metrics: Metrics,
        far: PlanEvaluator | None = None,
        *,
        share: bool = True,
        prune: bool = True,
    ) -> None:
        self.evaluator, self.metrics = evaluator, metrics
        self.prune = prune  # skip shadowed choices (:mod:`.shadowing`); False: its tests
        self.far = far if metrics.far else None
        # Figures shared by tasks that look alike to an operator (:mod:`.operator_twins`).
        self.shared = SharedOutcomes(evaluator, self.far) if share else None
        self._near: SpaceBuilder | None = None  # quick spaces go without the far figures
        self.catalog = evaluator.catalog.models
        graph = evaluator.graph
        self.far_sizes = {
            m.name: model_size_at(graph, m, FAR_SCALE) if self.far is not None else m.size_value
            for m in self.catalog
        }
        self.values = {s: sympy.Float(v, 30) for s, v in evaluator.graph.values.items()}
        priced = evaluator.request.cost_model is CostModel.PRICED
        self.role_models = RoleModels(
            self.catalog,
            None if priced else self.far_sizes,
            success=bool(metrics.success),
            latency=bool(metrics.latency),
        )
        self._built: dict[str, TaskSpace] = {}  # task id -> its space (for its twins)

    def capable(self, role: RoleSpec) -> tuple[Model, ...]:
        """The catalog's models that can play ``role`` (catalog order), remembered."""
        return self.role_models.capable(role)

    def build(self, index: int, task: Task) -> TaskSpace:
        twin = self.evaluator.facts.twins.get(task.id)
        if twin is not None and twin in self._built:
            return twin_space(self._built[twin], index, task)
        space = TaskSpace(index, task)
        for operator in applicable_operators(task):
            OperatorEnumerator(self, space, operator).build()
        pool = [c for op in space.by_operator for c in space.by_operator[op]]
        space.candidates = tuple(pareto_filter(pool, self.metrics.key))
        self._built[task.id] = space
        return space

    def quick(self, index: int, task: Task) -> TaskSpace:
        """A stand-in space when time ran out: DIRECT's choices only (all operators' when
        DIRECT has none), without the far point's figures, marked inexact."""
        if self.far is not None:
            if self._near is None:
                near = replace(self.metrics, far=False)
                self._near = SpaceBuilder(
                    self.evaluator, near, share=self.shared is not None, prune=self.prune
                )
            return self._near.quick(index, task)
        space = TaskSpace(index, task, exact=False)
        if Operator.DIRECT in applicable_operators(task):
            OperatorEnumerator(self, space, Operator.DIRECT).build()
        if not space.by_operator:
            return replace(self.build(index, task), exact=False)
        pool = [c for op in space.by_operator for c in space.by_operator[op]]
        space.candidates = tuple(pareto_filter(pool, self.metrics.key))
        return space

    def number(self, expr: sympy.Expr) -> float:
        """An expression's value at the scale point, computed as the evaluator does."""
        try:
            return float(sympy.N(expr.xreplace(self.values), 30))
        except OverflowError:
            return math.inf


def build_spaces(
    evaluator: PlanEvaluator,
    metrics: Metrics,
    *,
    far: PlanEvaluator | None = None,
    should_stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
    share: bool = True,
    prune: bool = True,
) -> list[TaskSpace] | None:
    """Every task's space, in graph order; None when ``should_stop`` interrupted.

    Past ``deadline`` (``time.monotonic()``) the remaining tasks get
    :meth:`SpaceBuilder.quick` spaces (``exact`` False), so a plan is still found in time.
    ``share`` False scores every task plan itself (:mod:`.operator_twins` off: its tests);
    ``prune`` False scores the choices :mod:`.shadowing` skips (its tests).

    Raises
    ------
    InfeasibleError
        with one reason per task that has no feasible plan (field ``graph.tasks[i]``).
    """
    builder = SpaceBuilder(evaluator, metrics, far, share=share, prune=prune)
    spaces = []
    for index, task in enumerate(evaluator.graph.tasks):
        if should_stop is not None and should_stop():
            return None
        late = deadline is not None and time.monotonic() >= deadline
        spaces.append(builder.quick(index, task) if late else builder.build(index, task))
    reasons = [s.problem() for s in spaces if not s.candidates]
    if reasons:
        raise InfeasibleError(reasons)
    return spaces


class OperatorEnumerator:
    """Enumerates one operator's feasible task plans on one task."""

    def __init__(self, owner: SpaceBuilder, space: TaskSpace, operator: Operator) -> None:
        self.owner = owner
        self.space = space
        self.task = space.task
        self.operator = operator
        self.spec = OPERATORS[operator]
        self.roles = self.spec.roles(self.task)
        self.metrics = owner.metrics
        self.evaluator = owner.evaluator
        # Built once per enumerator: the roles a parameter choice assigns, and each
        # (role, option)'s assignment (plans share them, and their hashes).
        self._used: dict[tuple[tuple[str, int], ...], tuple[str, ...]] = {}
        self.assignments: dict[tuple[str, Option], RoleAssignment] = {}
        # Per role, the models an earlier one shadows (:mod:`.shadowing`); None: none, or
        # not this operator's enumeration (CASCADE, CHUNK_AGGREGATE) or pruning is off.
        self.shadows: Shadows | None = None
        # Each plan scored, with its candidate (role fronts' products repeat plans).
        self._scored: dict[TaskPlan, Candidate] = {}
        self._table: OperatorTable | None = None
        self._table_known = False  # whether ``_table`` was looked up (at the first scoring)

    # --- entry ------------------------------------------------------------------------

    def build(self) -> None:
        models: dict[str, tuple[Model, ...]] = {}
        for role in self.roles:
            able = self.owner.capable(role)
            if not able:
                self.space.problems[self.operator] = self.owner.role_models.no_model(role)
                return
            # A stage's worth lies in its rates as well: no dominance among stage models.
            cascade = self.operator is Operator.CASCADE
            models[role.name] = able if cascade else self._useful(role, able)
        if self.owner.prune and self.operator not in _UNSHADOWED:
            shadows = {
                r.name: self.owner.role_models.shadows(r, models[r.name]) for r in self.roles
            }
            self.shadows = shadows if any(shadows.values()) else None
        votes = {
            r.name: VOTE_CHOICES if (r.votable and self.metrics.success) else (1,)
            for r in self.roles
        }
        if self.operator is Operator.CHUNK_AGGREGATE:
            candidates, feasible, chunk = self._chunked(models, votes)
        elif self.operator is Operator.CASCADE:
            chunk = None
            candidates, stage_models = cascade_candidates(self, models)
            feasible = self.ordered(models, stage_models)
        else:
            chunk = None
            candidates, feasible = self._plain(models, votes)
        if not candidates:
            return
        self.space.problems.pop(self.operator, None)
        self.space.operators[self.operator] = OperatorOptions(
            self.operator,
            self.roles,
            feasible,
            votes,
            tuple(p for p in self.spec.params(self.task) if p.name != "chunk"),
            chunk,
        )
        kept = pareto_filter(candidates, self.metrics.key)
        self.space.by_operator[self.operator] = tuple(kept)

    def _chunked(
        self, models: Mapping[str, tuple[Model, ...]], votes: Mapping[str, tuple[int, ...]]
    ) -> tuple[list[Candidate], dict[str, tuple[str, ...]], ChunkWindows | None]:
        """CHUNK_AGGREGATE's candidates: :func:`.chunk_candidates` on this task's figures."""
        owner = self.owner
        shape = ChunkShape.of(
            self.task,
            incoming=self.evaluator.graph.incoming_tokens(self.task.id),
            values=owner.values,
            number=owner.number,
        )
        (param,) = [p for p in self.spec.params(self.task) if p.name == "chunk"]
        task, far = self.task, owner.far

        def pruner(windows: ChunkWindows) -> CountPruner | None:
            near = AggregatorInput(shape.total, shape.prompt, shape.written)
            wanted = far is not None and self.metrics.far
            return CountPruner.of(
                self,
                windows,
                models,
                metrics=self.metrics,
                evaluator=self.evaluator,
                far=far,
                inputs=(near, AggregatorInput.at(task, far) if wanted and far else None),
                acceptance=task.acceptance is not None,
                capability=self.roles[0].capability,
            )

        return chunk_candidates(
            self,
            self.space,
            shape,
            param,
            models,
            votes,
            metrics=self.metrics,
            capabilities={r.name: r.capability for r in self.roles},
            pruner=pruner,
        )

    def _useful(self, role: RoleSpec, models: tuple[Model, ...]) -> tuple[Model, ...]:
        """The models no other capable model dominates in this role (catalog order),
        remembered per request (:class:`~aalps.optimizer.role_models.RoleModels`)."""
        verifiers = tuple(r.capability for r in self.roles if r.name == "verifier")
        return self.owner.role_models.useful(self.operator, role, models, verifiers)

    # --- scoring ----------------------------------------------------------------------

    def used(self, params: Mapping[str, int]) -> tuple[str, ...]:
        """The roles a plan at ``params`` assigns (remembered)."""
        fixed = tuple(sorted(params.items()))
        used = self._used.get(fixed)
        if used is None:
            used = self._used[fixed] = tuple(
                r.name for r in self.spec.plan_roles(self.task, params)
            )
        return used

    def plan(self, choice: Mapping[str, Option], params: Mapping[str, int]) -> TaskPlan:
        fixed = tuple(sorted(params.items()))
        used = self._used.get(fixed) or self.used(params)  # () is remembered by used() too
        assignments = self.assignments
        roles = []
        for name in used:
            option = choice[name]
            assignment = assignments.get((name, option))
            if assignment is None:
                assignment = assignments[(name, option)] = RoleAssignment(name, *option)
            roles.append(assignment)
        return task_plan(self.task.id, self.operator, tuple(roles), fixed)

    def score(self, choice: Mapping[str, Option], params: Mapping[str, int]) -> Candidate:
        """The choice's task plan with its figures (:meth:`score_plan`)."""
        return self.score_plan(self.plan(choice, params))

    def score_plan(self, plan: TaskPlan) -> Candidate:
        """A task plan of this enumerator with its figures; the far point's only when its
        calls fit their windows at the scale point (a plan that does not is never compared:
        only its window violation is read). A plan another task had scored comes with its
        figures when the operator sees the two tasks alike (:mod:`.operator_twins`). A plan
        scored before comes back as the same candidate, counted again as scored."""
        self.space.scored += 1
        candidate = self._scored.get(plan)
        if candidate is None:
            candidate = self._scored[plan] = self._figures(plan)
        return candidate

    def _figures(self, plan: TaskPlan) -> Candidate:
        """:meth:`score_plan` of a plan not scored before (a :func:`.space.candidate`)."""
        owner = self.owner.shared
        if not self._table_known and owner is not None:  # keyed at the first scoring
            self._table = owner.table(self.task, self.operator, self.roles)
        self._table_known = True
        shared = self._table
        known = None if shared is None else shared.get(plan)
        if known is not None:
            return candidate(plan, *known)
        far = self.owner.far
        outcome = self.evaluator.task_outcome(plan)
        if far is None or outcome.window_violation is not None:
            return candidate(plan, outcome)
        return candidate(plan, outcome, far.task_outcome(plan))

    # --- operators without a chunk size -----------------------------------------------

    def _plain(
        self, models: Mapping[str, tuple[Model, ...]], votes: Mapping[str, tuple[int, ...]]
    ) -> tuple[list[Candidate], dict[str, tuple[str, ...]]]:
        options: dict[str, list[Option]] = {
            r.name: [(m.name, v) for m in models[r.name] for v in votes[r.name]] for r in self.roles
        }
        for r in (r for r in self.roles if len(votes[r.name]) > 1):  # ensembles, where votes are
            options[r.name] += ensemble_options(r, models[r.name])
        reference = {r.name: (widest(models[r.name]).name, 1) for r in self.roles}
        candidates: list[Candidate] = []
        feasible: dict[str, set[str]] = {r.name: set() for r in self.roles}
        saturation = None
        if self.operator is Operator.AHEAD_BY_K:  # leads past a certain chain only cost more
            (worker,) = self.roles
            by_name = {m.name: m for m in models[worker.name]}
            caps = None
            if self.owner.prune:  # another worker's cap too (:mod:`.lead_saturation`)
                far = self.owner.far
                caps = (
                    success_cap(self.task, self.evaluator),
                    None if far is None else success_cap(self.task, far),
                )
            saturation = LeadSaturation(by_name, worker.capability, self.metrics, caps)
        for params in self._param_grid():
            if saturation is None:
                candidates.extend(self.combinations(options, reference, params, feasible))
                continue
            live = {worker.name: saturation.live(options[worker.name])}
            found = self.combinations(live, reference, params, feasible)
            saturation.scored(found)
            candidates.extend(found)
        return candidates, self.ordered(models, feasible)

    def _param_grid(self) -> Iterable[dict[str, int]]:
        specs = [p for p in self.spec.params(self.task) if p.name != "chunk"]
        ranges = [
            lead_values(
                p, self.task, self.owner.catalog, self.roles[0].capability, self.owner.number
            )
            if p.name == "ahead"
            else param_values(p, self.space)
            for p in specs
        ]
        for values in itertools.product(*ranges):
            yield {p.name: v for p, v in zip(specs, values, strict=True)}

    def combinations(
        self,
        options: Mapping[str, Sequence[Option]],
        reference: Mapping[str, Option],
        params: Mapping[str, int],
        feasible: dict[str, set[str]] | None = None,
    ) -> list[Candidate]:
        """:func:`.role_combinations.combinations` of this enumerator."""
        return combinations(self, options, reference, params, feasible)

    def window_problem(self, scored: Sequence[Candidate]) -> None:
        """Record why no choice fits (:func:`.role_combinations.window_problem`)."""
        window_problem(self, scored)

    def ordered(
        self, models: Mapping[str, tuple[Model, ...]], feasible: Mapping[str, set[str]]
    ) -> dict[str, tuple[str, ...]]:
        """Per role, the models found feasible, in catalog order."""
        return feasible_in_order(models, feasible)
