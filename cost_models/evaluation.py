"""Plan evaluation, two ways: symbolic (for bounds and display) and numeric (for the search).

:class:`PlanEvaluator` is built once per request. It precomputes every task's sizes at the
scale point, so scoring a candidate runs the operator's formula on floats: a few microseconds
per task the first time a (task, operator, models, parameters) choice is seen and a dict
look-up after that. The symbolic cost comes from the very same formula run on sympy
expressions, so the two agree by construction (and tests check that they do).

The records it returns live in :mod:`aalps.cost_models.outcomes`, the compiled task sizes
in :mod:`aalps.cost_models.shapes`; their names are importable from here as well.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import Any

import sympy
from aalps.cost_models import plan_checks, symbolic_costs
from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS, FLOAT, Arithmetic
from aalps.cost_models.bounds import Bound, Separation, derive_bound, separation
from aalps.cost_models.call_costs import asymptotic_tiers, group_cost
from aalps.cost_models.correlated_votes import correlated_lead_choices
from aalps.cost_models.domain import (
    Catalog,
    Model,
    Operator,
    OptimizeRequest,
    Plan,
    Task,
    TaskPlan,
)
from aalps.cost_models.errors import FieldViolation, InvalidRequestError
from aalps.cost_models.far_successes import log_success as far_log_success
from aalps.cost_models.far_successes import with_log_success
from aalps.cost_models.memo_replace import memo_xreplace
from aalps.cost_models.numeric_errors import NUMERIC_FAILURES, numeric_errors, numeric_failure
from aalps.cost_models.operators import (
    OPERATORS,
    RoleSpec,
    Schedule,
    TaskShape,
)
from aalps.cost_models.outcomes import (
    PlanEvaluation,
    PlanOutcome,
    TaskEvaluation,
    TaskOutcome,
    combine_outcomes,
)
from aalps.cost_models.plan_checks import VOTE_CHOICES, make_task_plan
from aalps.cost_models.ray_siblings import RaySiblings, SuccessKey, success_key
from aalps.cost_models.role_calls import RoleCalls
from aalps.cost_models.shapes import (
    CompiledTasks,
    GraphFacts,
    ModelNumbers,
    model_sizes,
    ray_values,
)
from aalps.cost_models.stochastic import lead_choices
from aalps.cost_models.task_scoring import (
    Fixed,
    Resolved,
    RoleEntry,
    RoleKey,
    Settings,
    fixed_of,
    numeric_outcome,
    role_models,
    run_schedule,
    settings,
)

__all__ = [
    "VOTE_CHOICES",
    "PlanEvaluation",
    "PlanEvaluator",
    "PlanOutcome",
    "TaskEvaluation",
    "TaskOutcome",
    "group_cost",
    "make_task_plan",
    "ray_values",
]


class PlanEvaluator:
    """Scores plans of one request; build once, evaluate many candidates.

    ``scale``: the point of the request's scale ray where every numeric figure is taken
    (1.0, the default, is the scale point itself). Every growing free parameter is multiplied
    by ``scale``, defined parameters and model sizes that are expressions (``k*m_s``) follow,
    numbers stay; AHEAD_BY_K's lead grows from ``ahead`` with the steps
    (:func:`~aalps.cost_models.stochastic.lead_at_scale`). Symbolic costs do not depend on it.
    """

    def __init__(
        self,
        request: OptimizeRequest,
        *,
        scale: float = 1.0,
        facts: GraphFacts | None = None,
        siblings: RaySiblings | None = None,
    ) -> None:
        if not scale > 0.0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a positive number, not {scale}")
        self.request = request
        self.graph = request.graph
        self.catalog = request.catalog
        self.scale = scale
        values = self._values = ray_values(self.graph, scale)
        self._model_sizes = model_sizes(request, values, scale)
        self.facts = facts if facts is not None else GraphFacts.of(self.graph)
        self._fields = self.facts.fields
        self._compiled = CompiledTasks(self.graph, self.facts, values, fast=scale != 1.0)
        if scale == 1.0:
            for t in self.graph.tasks:
                self._compiled[t.id]  # noqa: B018 - every size checked when the request is read
        self._successes: dict[TaskPlan, sympy.Expr] = {}
        self._outcomes: dict[TaskPlan, TaskOutcome] = {}
        # What the evaluators of other ray points share with this one (:mod:`.ray_siblings`).
        self._siblings = siblings if siblings is not None else RaySiblings()
        # Per arithmetic: the models' figures, and per (assignment, capability) each role's
        # (:func:`.task_scoring.run_schedule`). They read the catalog and the models' sizes
        # alone, so the evaluators whose models have the same sizes (every ray point, when
        # the sizes are numbers) share them.
        sizes = tuple(repr(size) for size in self._model_sizes.values())
        tables = self._siblings.roles.get(sizes)
        if tables is None:
            tables = self._siblings.roles[sizes] = ({}, {}, {})
        self._numbers: dict[str, dict[str, ModelNumbers]] = tables[0]
        self._role_calls: dict[str, dict[RoleKey, RoleEntry]] = tables[1]
        # Per arithmetic: a task plan's roles resolved, by their entries (the same tables').
        self._resolved: dict[str, dict[Any, Resolved]] = tables[2]
        # Per (task, operator): :data:`.task_scoring.Fixed` (the same at every ray point).
        self._capabilities: dict[tuple[str, Operator], Fixed] = self._siblings.fixed
        self._costs: dict[TaskPlan, sympy.Expr] = {}
        # Per term of a plan's cost and per factor of one: (it with the defined parameters
        # replaced, changed).
        self._substituted_terms: dict[sympy.Expr, tuple[sympy.Expr, bool]] = {}
        self._order = self.facts.order
        self._twins = self.facts.twins
        self._pred_index = self.facts.pred_index

    def at(self, scale: float) -> PlanEvaluator:
        """An evaluator of the same request at ``scale`` along its ray, sharing the graph's
        facts (tasks compiled there on first use) and the figures that are the same at every
        ray point (:mod:`.ray_siblings`).

        The one built at ``scale`` before, while it is still in use, is that evaluator: a
        new one would work out the same figures (each cache holds the numbers its figure's
        formula gives there, whoever asked first) and work them out again. So the crossover
        search reads the far point's figures the search worked out, and a swap curve's the
        points the crossover search scored."""
        points = self._siblings.points
        known = points.get(scale)
        if known is None:
            known = PlanEvaluator(
                self.request, scale=scale, facts=self.facts, siblings=self._siblings
            )
            points[scale] = known
        return known

    def with_catalog(self, catalog: Catalog) -> PlanEvaluator:
        """An evaluator of the same request and ray point with ``catalog`` instead (the same
        models, other figures: "what would this plan cost if dev's price were ×3").

        It shares the compiled task sizes and the graph's facts, and starts with empty caches
        of the figures that read the catalog, so scoring a task plan costs what the first
        scoring did (microseconds); equal to a fresh evaluator of the request with that
        catalog (a test checks that).
        """
        twin = copy.copy(self)
        twin.__dict__.pop("_tiered", None)  # a cached reading of the catalog
        twin.__dict__.pop("_log_successes", None)  # the siblings' (below)
        twin.__dict__.pop("_settings", None)  # the request's (below)
        twin.request = replace(self.request, catalog=catalog)
        twin.catalog = catalog
        twin._model_sizes = model_sizes(twin.request, self._values, self.scale)
        kept = {
            m.name
            for m in catalog.models
            if self.catalog.by_name.get(m.name) is m
            and twin._model_sizes[m.name] == self._model_sizes[m.name]
        }
        # The figures of the models that did not change are the same numbers.
        twin._numbers = {
            name: {m: n for m, n in table.items() if m in kept}
            for name, table in self._numbers.items()
        }
        twin._outcomes, twin._costs, twin._successes = {}, {}, {}
        twin._role_calls, twin._resolved = {}, {}
        # The fixed figures stand; the declarations and successes read the models.
        twin._siblings = self._siblings.for_catalog()
        twin._capabilities = twin._siblings.fixed
        return twin

    # --- feasibility -------------------------------------------------------------------

    def role_specs(self, task: Task, operator: Operator) -> tuple[RoleSpec, ...]:
        return OPERATORS[operator].roles(task)

    def task_plan_problems(
        self, task_plan: TaskPlan, *, field: str = "plan"
    ) -> list[FieldViolation]:
        """Everything wrong with a caller-supplied task plan (:mod:`.plan_checks`)."""
        return plan_checks.task_plan_problems(self, task_plan, field=field)

    def validate_plan(self, plan: Plan, *, field: str = "plan") -> None:
        """Check a caller-supplied plan (:func:`.plan_checks.validate_plan`)."""
        plan_checks.validate_plan(self, plan, field=field)

    # --- one task ----------------------------------------------------------------------

    def _run(
        self, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
    ) -> tuple[Schedule, dict[str, RoleCalls], dict[str, Model]]:
        """The plan's schedule, each role's calls and (first) model (:mod:`.task_scoring`)."""
        schedule, calls, _ = run_schedule(self, task_plan, arithmetic, shape)
        return schedule, calls, role_models(calls)

    def task_cost(self, task_plan: TaskPlan) -> sympy.Expr:
        """The symbolic expected cost of one task plan (cached; :mod:`.symbolic_costs`)."""
        cost = self._costs.get(task_plan)
        return cost if cost is not None else symbolic_costs.task_cost(self, task_plan)

    def task_success(self, task_plan: TaskPlan) -> sympy.Expr:
        """The symbolic success probability of one task plan in the graph's parameters (cached).

        The numeric formula run on sympy expressions (ITERATE_WITH_HISTORY's calls at their
        mean length); AHEAD_BY_K's lead grows with the steps as in :meth:`task_cost`.
        """
        success = self._successes.get(task_plan)
        return success if success is not None else symbolic_costs.task_success(self, task_plan)

    def plan_success(self, plan: Plan) -> sympy.Expr:
        """The symbolic success probability of a plan: the product over its tasks."""
        return sympy.Mul(*(self.task_success(tp) for tp in plan.tasks))

    def lead_choices(self, task_id: str, model: str, target: float | None) -> tuple[int, ...]:
        """AHEAD_BY_K's candidate leads for ``task_id`` with worker ``model`` (no votes).

        :func:`~aalps.cost_models.stochastic.lead_choices` with the model's per-sample reliability
        on one step (per-token error applied) and the task's step count at the scale point.
        """
        task = self.graph.task_by_id[task_id]
        assert task.steps is not None
        compiled = self._compiled[task_id]
        shape = compiled.numeric
        m = self.catalog.by_name[model]
        capability = task.role_capability(Operator.AHEAD_BY_K, "worker")
        p = float(m.capabilities[capability])
        if m.per_token_error:
            p *= (1.0 - float(m.per_token_error)) ** (shape.prompt + shape.step_tokens)
        rho = m.correlation(capability)
        if rho > 0.0:
            return correlated_lead_choices(p, rho, compiled.reference, target)
        return lead_choices(p, compiled.reference, target)

    def task_outcome(self, task_plan: TaskPlan) -> TaskOutcome:
        """The numeric figures of one task plan at the evaluator's ray point (cached)."""
        outcome = self._outcomes.get(task_plan)
        if outcome is None and task_plan.task_id in self._twins:
            outcome = self._twin_outcome(task_plan)
            if outcome is not None:
                self._outcomes[task_plan] = outcome
        if outcome is None:
            compiled = self._compiled[task_plan.task_id]
            try:
                outcome = numeric_outcome(self, task_plan, FLOAT, compiled.numeric)
            except (OverflowError, ZeroDivisionError):
                outcome = None
            if outcome is not None:
                if not math.isfinite(outcome.expected_cost):
                    outcome = None  # the cost overflowed: every figure in mpmath (below)
                elif outcome.success_probability == 0.0 and outcome.log_success == -math.inf:
                    # Only the success underflowed (far along the ray) and its formula does
                    # not run on logs (:mod:`.log_successes`): its log from mpmath, the float
                    # figures stand (a success below 1e-308 moves none of them).
                    outcome = self._big_success(task_plan, outcome)
            if outcome is None:
                with numeric_errors(self._fields[task_plan.task_id], "the task's figures"):
                    outcome = numeric_outcome(self, task_plan, BIG, compiled.big)
            self._outcomes[task_plan] = outcome
        return outcome

    def _twin_outcome(self, task_plan: TaskPlan) -> TaskOutcome | None:
        """The figures of the same choice on the plan's twin task (:mod:`.task_twins`):
        the same numbers. None when they fail, so that the task's own run reports it."""
        twin = self._twins[task_plan.task_id]
        try:
            return self.task_outcome(
                TaskPlan(twin, task_plan.operator, task_plan.roles, task_plan.params)
            )
        except Exception:  # noqa: BLE001 - the error names the twin; the own run raises it
            return None

    def _big_success(self, task_plan: TaskPlan, outcome: TaskOutcome) -> TaskOutcome:
        """``outcome`` with the log of its success from mpmath (the float underflowed):
        the float figures just worked out, which no one else holds, take the log in place
        (:func:`.far_successes.with_log_success`).

        Remembered at the ray point by what the success depends on
        (:func:`.ray_siblings.success_key`): task plans that declare the same reliabilities
        on shapes that agree share one mpmath run.
        """
        # :func:`.numeric_errors.numeric_errors`'s handling, without the context manager's
        # microseconds (many far-point plans come here).
        try:
            key = self._success_key(task_plan)
            memo = self._log_successes
            log_success = None if key is None else memo.get(key)
            if log_success is None:
                compiled = self._compiled[task_plan.task_id]
                # Only the success is read: the operators skip what only the groups need.
                schedule = run_schedule(self, task_plan, BIG_SUCCESS, compiled.big)[0]
                log_success = far_log_success(schedule.success)
                if key is not None:
                    memo[key] = log_success
            return with_log_success(outcome, log_success)
        except InvalidRequestError:
            raise
        except NUMERIC_FAILURES as error:
            field = self._fields[task_plan.task_id]
            raise numeric_failure(field, "the task's figures", error) from error

    def _success_key(self, task_plan: TaskPlan) -> SuccessKey | None:
        """:func:`.ray_siblings.success_key` of the task plan (its fixed figures kept)."""
        return success_key(self, task_plan, fixed_of(self, task_plan))

    @cached_property
    def _settings(self) -> Settings:
        """The request's settings every scoring reads (:func:`.task_scoring.settings`)."""
        return settings(self.request)

    @cached_property
    def _log_successes(self) -> dict[SuccessKey, float]:
        """The mpmath log successes at this ray point, shared with its siblings there."""
        return self._siblings.log_successes.setdefault(self.scale, {})

    # --- whole plans -------------------------------------------------------------------

    def outcome(self, plan: Plan) -> PlanOutcome:
        """Numeric figures of a plan: the search's objective and constraints."""
        cache = self._outcomes
        outcomes = {}
        for tp in plan.tasks:
            known = cache.get(tp)
            outcomes[tp.task_id] = known if known is not None else self.task_outcome(tp)
        return self.combine(outcomes)

    def combine(self, outcomes: Mapping[str, TaskOutcome]) -> PlanOutcome:
        """Sum costs, multiply success, take the critical path of latencies."""
        return combine_outcomes([outcomes[t] for t in self._order], self._pred_index)

    def plan_cost(self, plan: Plan) -> sympy.Expr:
        return sympy.Add(*(self.task_cost(tp) for tp in plan.tasks))

    def bound_of(self, cost: sympy.Expr) -> Bound:
        """Θ of a symbolic cost, in the graph's free parameters."""
        cost = self._substituted(cost)
        return derive_bound(
            asymptotic_tiers(cost) if self._tiered else cost,
            growing=self.graph.growing,
            model_symbols=self.model_symbols,
            assumptions=self.graph.assumptions,
        )

    def _substituted(self, cost: sympy.Expr) -> sympy.Expr:
        """``cost.xreplace(graph.substitutions)``, a sum term by term with each term's (and
        each of its factors') replacement remembered: the plan, the baseline and every
        challenger share most terms. The same steps as sympy's ``xreplace`` (a sum rebuilt
        only when a term changed), so the same expression."""
        rule = self.graph.substitutions
        if not isinstance(cost, sympy.Add) or not rule or cost in rule:
            return cost.xreplace(rule)
        memo = self._substituted_terms
        args = []
        changed = False
        for term in cost.args:
            known = memo.get(term)
            if known is None:  # its factors remembered too (:mod:`.memo_replace`)
                known = memo_xreplace(term, rule, memo)
            args.append(known[0])
            changed |= known[1]
        return cost.func(*args) if changed else cost

    @cached_property
    def _tiered(self) -> bool:
        """Whether costs may hold a price tier's Piecewise (PRICED with a tiered model)."""
        return any(m.tier_threshold_tokens for m in self.catalog.models)

    @cached_property
    def model_symbols(self) -> frozenset[sympy.Symbol]:
        return self.request.model_symbols

    def evaluate(self, plan: Plan) -> PlanEvaluation:
        """Symbolic cost, numeric figures and Θ bound of a (validated) plan."""
        tasks = tuple(
            TaskEvaluation(tp, self.task_cost(tp), self.task_outcome(tp)) for tp in plan.tasks
        )
        cost = sympy.Add(*(t.cost for t in tasks))
        outcome = self.combine({t.plan.task_id: t.outcome for t in tasks})
        with numeric_errors("graph.tasks", "the plan's asymptotic bound"):
            bound = self.bound_of(cost)
        return PlanEvaluation(plan, tasks, cost, outcome, bound)

    def separation(self, baseline: PlanEvaluation, plan: PlanEvaluation) -> list[Separation]:
        return separation(baseline.bound, plan.bound, assumptions=self.graph.assumptions)
