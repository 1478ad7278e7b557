"""The numeric scoring of one task plan: the search's hot path.

:class:`~aalps.cost_models.evaluation.PlanEvaluator` scores hundreds of thousands of task
plans per large request; each is one run of its operator's formula and a sum over the
schedule's call groups. This module holds that loop, written to do no work twice:

* a role's figures (its :class:`~aalps.cost_models.role_calls.RoleCalls`, the shares it
  declares to the :class:`~aalps.cost_models.vote_reliability.RoleReliability` with their
  ``ρ`` already converted, whether a member has a setup cost) are built once per
  (assignment, capability) and arithmetic: a :class:`RoleEntry`;
* a call group's cost goes through :func:`group_coster`, the request's cost model and cache
  settings resolved once.

Every figure is computed by the same operations, in the same order, as the general rules
(:func:`~aalps.cost_models.prompt_cache.cached_group_cost`, :meth:`RoleCalls.cost`), so the
numbers are identical to theirs (``tests/cost_models/test_task_scoring.py`` checks it
against a plain reference).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS, Arithmetic, Value
from aalps.cost_models.call_costs import (
    Pricing,
    forward_pass_cost,
    group_cost,
    kv_cached_cost,
    quadratic_attention_cost,
)
from aalps.cost_models.cascade_tail import CascadeTail, cascade_tail
from aalps.cost_models.domain import (
    CostModel,
    Model,
    Operator,
    OptimizeRequest,
    RoleAssignment,
    TaskPlan,
    VoteShare,
)
from aalps.cost_models.operators import OPERATORS, CallGroup, OperatorSpec, Schedule, TaskShape
from aalps.cost_models.outcomes import RetryTail, TaskOutcome
from aalps.cost_models.prompt_cache import CACHED_PASSES, cached_group_cost
from aalps.cost_models.role_calls import RoleCalls, member_models, role_calls
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.shapes import ModelNumbers, log_of, to_float
from aalps.cost_models.tools import tool_figures
from aalps.cost_models.vote_reliability import (
    Prepared,
    RememberedReliability,
    RoleReliability,
    prepare,
)

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = [
    "GroupCoster",
    "RoleEntry",
    "RoleKey",
    "fixed_of",
    "group_coster",
    "numeric_outcome",
    "role_entry",
    "run_schedule",
]

#: ``coster(group, request, pricing, votes, arithmetic, prompt)``: one member's cost of a
#: call group (:func:`~aalps.cost_models.prompt_cache.cached_group_cost`).
GroupCoster = Callable[[CallGroup, OptimizeRequest, Pricing, int, Arithmetic, Value], Value]

#: Operators whose attempts are checked (the others' success also needs acceptance).
_VERIFIED = (Operator.GLOBAL_RETRY, Operator.LOCAL_RETRY)

_PASS_COSTS: dict[CostModel, Callable[[Value, Value, Value], Value]] = {
    CostModel.FORWARD_PASS: forward_pass_cost,
    CostModel.KV_CACHED: kv_cached_cost,
    CostModel.QUADRATIC_ATTENTION: quadratic_attention_cost,
}


@lru_cache(maxsize=64)
def group_coster(cost_model: CostModel, enabled: bool | None, lifetime: int) -> GroupCoster:
    """:func:`~aalps.cost_models.prompt_cache.cached_group_cost` for requests with these
    settings: the common cases (a group of equal calls, no cache to account for) in one
    step, the others through the general rule. The same operations either way."""
    if cost_model is CostModel.PRICED:
        if lifetime > 0:
            return cached_group_cost  # the cache writes depend on the calls

        def priced(
            group: CallGroup,
            request: OptimizeRequest,
            pricing: Pricing,
            votes: int,
            arithmetic: Arithmetic,
            prompt: Value,
        ) -> Value:
            # A plain price list bills every call's tokens (group_cost via priced_call_cost).
            if group.input_step == 0 and pricing.cache_read == 0 and pricing.tier_threshold == 0:
                billed = pricing.price_in * group.input + pricing.price_out * group.output
                return votes * group.calls * billed
            return cached_group_cost(group, request, pricing, votes, arithmetic, prompt)

        return priced
    if cost_model in CACHED_PASSES and enabled is True:
        return cached_group_cost  # the prompt is charged once per cache write
    one_call = _PASS_COSTS[cost_model]

    def passes(
        group: CallGroup,
        request: OptimizeRequest,
        pricing: Pricing,
        votes: int,
        arithmetic: Arithmetic,
        prompt: Value,
    ) -> Value:
        if group.input_step == 0:
            return votes * group.calls * one_call(pricing.size, group.input, group.output)
        return group_cost(group, cost_model, pricing, votes, arithmetic, prompt)

    return passes


@dataclass(frozen=True, slots=True)
class RoleEntry:
    """One role's figures in one arithmetic: built once per (assignment, capability)."""

    calls: RoleCalls
    prepared: Prepared  # what the role declares to a RoleReliability
    model: Model  # the (first) member's model
    setup: bool  # whether a member has a one-time setup cost
    memo: dict[tuple[Any, ...], Value]  # its reliabilities in mpmath (RememberedReliability)


def _entry(
    assignment: RoleAssignment,
    capability: str,
    numbers: dict[str, ModelNumbers],
    evaluator: PlanEvaluator,
    arithmetic: Arithmetic,
) -> RoleEntry:
    by_name = evaluator.catalog.by_name
    for name, _ in assignment.members:  # converted on first use (once each)
        if name not in numbers:
            numbers[name] = ModelNumbers.of(by_name[name], arithmetic, evaluator._model_sizes[name])
    calls, shares = role_calls(assignment, capability, numbers, by_name)
    return RoleEntry(
        calls,
        prepare(arithmetic, shares),
        calls.members[0].model,
        any(m.model.setup_cost for m in calls.members),
        {},
    )


#: What an evaluator keeps a :class:`RoleEntry` by: the assignment's role, model, votes
#: and ensemble, and the capability.
RoleKey = tuple[str, str, int, tuple[VoteShare, ...], str]

#: Per (task, operator): the operator, its roles' capabilities, whether its attempts are
#: unverified (success times the acceptance), whether it rates its stages (CASCADE), the task.
Fixed = tuple[OperatorSpec, dict[str, str], bool, bool, Any]


def fixed_of(evaluator: PlanEvaluator, task_plan: TaskPlan) -> Fixed:
    """The task plan's (task, operator) :data:`Fixed` figures, kept in the evaluator."""
    key = (task_plan.task_id, task_plan.operator)
    fixed = evaluator._capabilities.get(key)
    if fixed is None:
        fixed = evaluator._capabilities[key] = fixed_figures(evaluator, task_plan)
    return fixed


def role_entry(
    evaluator: PlanEvaluator, assignment: RoleAssignment, capability: str, arithmetic: Arithmetic
) -> RoleEntry:
    """The role's :class:`RoleEntry` in ``arithmetic``, kept in the evaluator by
    :data:`RoleKey`: the assignment's fields, not the assignment (a tuple of strings and
    ints hashes and compares in C, the dataclass's ``__hash__``/``__eq__`` in Python; equal
    fields, equal assignments, the same entry)."""
    known = evaluator._role_calls.setdefault(arithmetic.name, {})
    key = (assignment.role, assignment.model, assignment.votes, assignment.ensemble, capability)
    entry = known.get(key)
    if entry is None:
        numbers = evaluator._numbers.setdefault(arithmetic.name, {})
        entry = known[key] = _entry(assignment, capability, numbers, evaluator, arithmetic)
    return entry


def run_schedule(
    evaluator: PlanEvaluator, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
) -> tuple[Schedule, dict[str, RoleCalls], bool]:
    """The task plan's schedule, each role's calls, and whether a role has a setup cost."""
    fixed = evaluator._capabilities.get((task_plan.task_id, task_plan.operator))
    if fixed is None:
        fixed = fixed_of(evaluator, task_plan)
    spec, capability, unverified, rates, task = fixed
    known = evaluator._role_calls.get(arithmetic.name)
    if known is None:
        known = evaluator._role_calls[arithmetic.name] = {}
    calls: dict[str, RoleCalls] = {}
    models: dict[str, Model] = {}  # each role's (first) model, for the stages' rates
    # BIG's numbers are slow to work out: there each role keeps its answers.
    big = arithmetic is BIG or arithmetic is BIG_SUCCESS
    remembered = RememberedReliability(arithmetic) if big else None
    reliability = RoleReliability(arithmetic) if remembered is None else remembered
    setup = False
    for assignment in task_plan.roles:
        role = assignment.role
        cap = capability.get(role)
        if cap is not None:
            # The assignment's fields, not the assignment: a tuple of strings and ints
            # hashes and compares in C, the dataclass's ``__hash__``/``__eq__`` in Python
            # (equal fields, equal assignments: the same entry).
            # :func:`role_entry`'s look-up, inlined on this hot path.
            entry = known.get((role, assignment.model, assignment.votes, assignment.ensemble, cap))
            if entry is None:
                entry = role_entry(evaluator, assignment, cap, arithmetic)
            calls[role] = entry.calls
            if remembered is not None:
                remembered.remember(role, entry.prepared, entry.memo)
            else:
                reliability.put(role, entry.prepared)
            if entry.setup:
                setup = True
            if rates:
                models[role] = entry.model
    rated = spec.rated(task, models, capability, reliability, arithmetic) if rates else reliability
    schedule = spec.schedule(shape, rated, dict(task_plan.params), arithmetic)
    if unverified:
        units = shape.block_count if shape.block_count != 0 else 1
        schedule = Schedule(
            schedule.groups, schedule.success * shape.acceptance**units, schedule.tools
        )
    return schedule, calls, setup


def numeric_outcome(
    evaluator: PlanEvaluator, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
) -> TaskOutcome:
    """The figures of one task plan in ``arithmetic`` (FLOAT, or BIG when it overflowed)."""
    schedule, roles, has_setup = run_schedule(evaluator, task_plan, arithmetic, shape)
    request = evaluator.request
    parallelism = request.constraints.parallelism
    groups = schedule.groups
    setup = setup_of(member_models(roles)) if has_setup else None
    cost, latency = tool_figures(schedule.tools, request.cost_model)
    share = 0 if setup is None else amortized(setup, request.volume, arithmetic)
    cost = cost + share
    violation = None
    variance: Value = 0
    stops: list[tuple[Value, Value]] = []
    retry: RetryTail | CascadeTail | None = None
    per_attempt: dict[str, Value] | None = None
    cache = request.prompt_cache
    coster = group_coster(request.cost_model, cache.enabled, cache.lifetime)
    prompt = shape.prompt
    for g in groups:
        calls = g.calls
        if calls == 0:
            continue  # no call (CHUNK_AGGREGATE on an empty input): no cost, no time
        role = g.role
        own = roles[role]
        members = own.members
        first = members[0]
        spent = coster(g, request, first.pricing, first.votes, arithmetic, prompt)
        for m in members[1:]:
            spent = spent + coster(g, request, m.pricing, m.votes, arithmetic, prompt)
        cost = cost + spent
        if g.nested:  # a CASCADE stage: it runs only when every stage before rejected
            stops.append((calls, spent))
        if g.variance:
            if per_attempt is None:
                # Per-attempt cost of each random group, with the groups that follow it.
                per_attempt = {
                    f.role: roles[f.role].attempt_cost(request, f.input, f.output, prompt)
                    for f in groups
                    if f.variance or f.follows
                }
            one = per_attempt[role] + sum(per_attempt[f.role] for f in groups if f.follows == role)
            variance = variance + g.variance * one * one
            if g.retry_units and retry is None:
                units = int(round(to_float(g.retry_units)))
                mean = to_float(calls * one)
                retry = RetryTail(units, to_float(g.retry_accept), to_float(one), mean)
        step = g.input_step
        mean_in = g.input + (calls - 1) * step / 2 if step else g.input
        rounds = g.stages * (
            1 if parallelism is None else arithmetic.rounds(g.parallel * own.votes, parallelism)
        )
        latency = latency + rounds * own.latency_per_token * (mean_in + g.output)
        if violation is None:
            peak = (g.input + (calls - 1) * step if step else g.input) + g.output  # max_input
            if type(peak) is not float:
                peak = to_float(peak)
            if not peak <= own.window_limit:  # a member's window may not hold it (or nan)
                violation = own.window_violation(role, peak)
    if stops:  # a CASCADE (no other random group): it stops at a random stage
        variance, retry = cascade_tail(stops)
    success = schedule.success
    if type(cost) is float and type(success) is float:
        log_cost = math.log(cost) if cost > 0 else -math.inf
        log_success = math.log(success) if success > 0 else -math.inf
        float_success = success
    else:
        log_cost, log_success = log_of(cost), log_of(success)
        float_success = to_float(success)
    return _outcome(
        cost if type(cost) is float else to_float(cost),
        log_cost,
        float_success,
        latency if type(latency) is float else to_float(latency),
        variance if type(variance) is float else to_float(variance),
        violation,
        retry,
        log_success,
        0.0 if setup is None else float(setup),
        share if type(share) is float else to_float(share),
    )


#: :class:`TaskOutcome`'s fields, in the order :func:`_outcome` writes them.
_FIELDS = (
    "expected_cost",
    "log_cost",
    "success_probability",
    "latency",
    "cost_variance",
    "window_violation",
    "retry",
    "log_success",
    "setup_cost",
    "setup_share",
)
assert _FIELDS == tuple(f.name for f in fields(TaskOutcome))
_new = object.__new__


def _outcome(
    expected_cost: float,
    log_cost: float,
    success_probability: float,
    latency: float,
    cost_variance: float,
    window_violation: str | None,
    retry: RetryTail | CascadeTail | None,
    log_success: float,
    setup_cost: float,
    setup_share: float,
) -> TaskOutcome:
    """``TaskOutcome(...)`` without the frozen dataclass's ``__init__`` (one attribute
    write at a time): the same record, built for every scored candidate, each field
    stored in the instance's dict by name (a third of the time of ``dict.update`` over a
    ``zip``). Through the constructor when ``log_success`` is nan (its ``__post_init__``
    fills it)."""
    if log_success != log_success:  # nan
        return TaskOutcome(
            expected_cost,
            log_cost,
            success_probability,
            latency,
            cost_variance,
            window_violation,
            retry,
            log_success,
            setup_cost,
            setup_share,
        )
    outcome: TaskOutcome = _new(TaskOutcome)
    state = outcome.__dict__
    state["expected_cost"] = expected_cost
    state["log_cost"] = log_cost
    state["success_probability"] = success_probability
    state["latency"] = latency
    state["cost_variance"] = cost_variance
    state["window_violation"] = window_violation
    state["retry"] = retry
    state["log_success"] = log_success
    state["setup_cost"] = setup_cost
    state["setup_share"] = setup_share
    return outcome


def fixed_figures(evaluator: PlanEvaluator, task_plan: TaskPlan) -> Fixed:
    """A (task, operator)'s :data:`Fixed` figures (see :func:`run_schedule`)."""
    task = evaluator.graph.task_by_id[task_plan.task_id]
    spec = OPERATORS[task_plan.operator]
    capability = {r.name: r.capability for r in spec.roles(task)}
    # Unverified attempts: each block is right only with the acceptance probability.
    unverified = task.acceptance is not None and task_plan.operator not in _VERIFIED
    rates = type(spec).rated is not OperatorSpec.rated
    return spec, capability, unverified, rates, task


def role_models(calls: Mapping[str, RoleCalls]) -> dict[str, Model]:
    """Each role's (first) model."""
    return {role: c.members[0].model for role, c in calls.items()}
