"""The numeric scoring of one task plan: the search's hot path.

:class:`~aalps.cost_models.evaluation.PlanEvaluator` scores hundreds of thousands of task
plans per large request; each is one run of its operator's formula and a sum over the
schedule's call groups. This module holds that loop, written to do no work twice:

* a role's figures (its :class:`~aalps.cost_models.role_calls.RoleCalls`, the shares it
  declares to the :class:`~aalps.cost_models.vote_reliability.RoleReliability` with their
  ``ρ`` already converted, whether a member has a setup cost) are built once per
  (assignment, capability) and arithmetic: a :class:`RoleEntry`; the reliability a plan's
  roles declare together, and what its call groups read of them, once per those entries
  (:mod:`aalps.cost_models.role_entries`);
* a call group's cost goes through :func:`group_coster`, the request's cost model and cache
  settings resolved once per evaluator (:class:`Settings`); a group of equal calls under
  a cost model of forward passes is priced in place, by the coster's own operations.

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
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aalps.cost_models.arithmetic import Arithmetic, Value, power
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
    TaskPlan,
)
from aalps.cost_models.log_successes import float_log_success
from aalps.cost_models.operators import OPERATORS, CallGroup, OperatorSpec, Schedule, TaskShape
from aalps.cost_models.outcomes import RetryTail, TaskOutcome
from aalps.cost_models.prompt_cache import CACHED_PASSES, cached_group_cost
from aalps.cost_models.role_calls import RoleCalls, member_models
from aalps.cost_models.role_entries import (
    Resolved,
    RoleEntry,
    RoleFigures,
    RoleKey,
    resolve,
    resolved_roles,
    role_entry,
)
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.shapes import log_of, to_float
from aalps.cost_models.tools import tool_figures

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = [
    "GroupCoster",
    "RoleEntry",
    "Resolved",
    "RoleKey",
    "Settings",
    "fixed_of",
    "group_coster",
    "numeric_outcome",
    "resolve",
    "resolved_roles",
    "role_entry",
    "run_schedule",
    "settings",
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


def run_schedule(
    evaluator: PlanEvaluator, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
) -> tuple[Schedule, dict[str, RoleCalls], bool]:
    """The task plan's schedule, each role's calls, and whether a role has a setup cost."""
    spec, capability, unverified, rates, task = fixed_of(evaluator, task_plan)
    calls, models, setup, reliability, _ = resolved_roles(
        evaluator, task_plan, capability, arithmetic
    )
    rated = spec.rated(task, models, capability, reliability, arithmetic) if rates else reliability
    params = dict(task_plan.params) if task_plan.params else _NO_PARAMS
    schedule = spec.schedule(shape, rated, params, arithmetic)
    if unverified and arithmetic.success:
        units = shape.block_count if shape.block_count != 0 else 1
        # The acceptance to the blocks: an mpmath power remembered (:func:`power`).
        schedule = Schedule(
            schedule.groups, schedule.success * power(shape.acceptance, units), schedule.tools
        )
    return schedule, calls, setup


#: The parameters of a task plan that has none (the operators only read them).
_NO_PARAMS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Settings:
    """A request's settings every scoring reads, resolved once per evaluator."""

    request: OptimizeRequest
    parallelism: int | None
    coster: GroupCoster
    #: One call's cost when ``coster`` prices a group of equal calls (``input_step`` 0) as
    #: ``votes · calls · one_call(size, input, output)`` (:func:`group_coster`'s passes),
    #: else None.
    one_call: Callable[[Value, Value, Value], Value] | None


def settings(request: OptimizeRequest) -> Settings:
    """The request's :class:`Settings` (its group coster through :func:`group_coster`)."""
    cache = request.prompt_cache
    cost_model = request.cost_model
    passes = cost_model is not CostModel.PRICED and not (
        cost_model in CACHED_PASSES and cache.enabled is True
    )
    return Settings(
        request,
        request.constraints.parallelism,
        group_coster(cost_model, cache.enabled, cache.lifetime),
        _PASS_COSTS[cost_model] if passes else None,
    )


def numeric_outcome(
    evaluator: PlanEvaluator, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
) -> TaskOutcome:
    """The figures of one task plan in ``arithmetic`` (FLOAT, or BIG when it overflowed).

    :func:`run_schedule`'s steps come first, inlined (every scored candidate runs them):
    the same operations in the same order."""
    # --- run_schedule, inlined ---------------------------------------------------------
    fixed = evaluator._capabilities.get((task_plan.task_id, task_plan.operator))
    if fixed is None:
        fixed = fixed_of(evaluator, task_plan)
    spec, capability, unverified, rates, task = fixed
    name = arithmetic.name
    known = evaluator._role_calls.get(name)
    if known is None:
        known = evaluator._role_calls[name] = {}
    # The roles' entries in order: one entry, or a tuple of them (None: no role).
    key: Any = None
    for assignment in task_plan.roles:
        role = assignment.role
        cap = capability.get(role)
        if cap is not None:
            # The assignment's fields, not the assignment: a tuple of strings and ints
            # hashes and compares in C, the dataclass's ``__hash__``/``__eq__`` in Python
            # (equal fields, equal assignments: the same entry). :func:`role_entry`'s
            # look-up, inlined.
            entry = known.get((role, assignment.model, assignment.votes, assignment.ensemble, cap))
            if entry is None:
                entry = role_entry(evaluator, assignment, cap, arithmetic)
            if key is None:
                key = entry
            elif type(key) is tuple:
                key = (*key, entry)
            else:
                key = (key, entry)
    # :func:`resolved_roles`'s look-up, inlined.
    resolved = evaluator._resolved.get(name)
    if resolved is None:
        resolved = evaluator._resolved[name] = {}
    both = resolved.get(key)
    if both is None:
        entries = [] if key is None else list(key) if type(key) is tuple else [key]
        both = resolved[key] = resolve(entries, arithmetic)
    roles, models, has_setup, reliability, figures = both
    rated = spec.rated(task, models, capability, reliability, arithmetic) if rates else reliability
    params = task_plan.params
    arguments = dict(params) if params else _NO_PARAMS
    schedule = spec.schedule(shape, rated, arguments, arithmetic)
    success = schedule.success
    if unverified:
        units = shape.block_count if shape.block_count != 0 else 1
        success = success * shape.acceptance**units
    # --- the figures ---------------------------------------------------------------------
    scoring = evaluator._settings
    request = scoring.request
    parallelism = scoring.parallelism
    coster = scoring.coster
    one_call = scoring.one_call
    groups = schedule.groups
    setup = setup_of(member_models(roles)) if has_setup else None
    tools = schedule.tools
    cost, latency = tool_figures(tools, request.cost_model) if tools else (0, 0)
    share = 0 if setup is None else amortized(setup, request.volume, arithmetic)
    cost = cost + share
    violation = None
    variance: Value = 0
    stops: list[tuple[Value, Value]] = []
    retry: RetryTail | CascadeTail | None = None
    per_attempt: dict[str, Value] | None = None
    prompt = shape.prompt
    for g in groups:
        calls = g.calls
        if calls == 0:
            continue  # no call (CHUNK_AGGREGATE on an empty input): no cost, no time
        role = g.role
        own, pricing, votes, rest, all_votes, per_token, window = figures[role]
        step = g.input_step
        tokens_in = g.input
        tokens_out = g.output
        if step == 0 and one_call is not None:  # the coster's own steps (passes)
            spent = votes * calls * one_call(pricing.size, tokens_in, tokens_out)
            for m in rest:
                spent = spent + m.votes * calls * one_call(m.pricing.size, tokens_in, tokens_out)
        else:
            spent = coster(g, request, pricing, votes, arithmetic, prompt)
            for m in rest:
                spent = spent + coster(g, request, m.pricing, m.votes, arithmetic, prompt)
        cost = cost + spent
        if g.nested:  # a CASCADE stage: it runs only when every stage before rejected
            stops.append((calls, spent))
        if g.variance:
            if per_attempt is None:
                # Per-attempt cost of each random group, with the groups that follow it.
                per_attempt = (
                    {
                        f.role: roles[f.role].attempt_cost(request, f.input, f.output, prompt)
                        for f in groups
                        if f.variance or f.follows
                    }
                    if one_call is None
                    else _pass_attempts(groups, figures, one_call)
                )
            one = per_attempt[role] + sum(per_attempt[f.role] for f in groups if f.follows == role)
            variance = variance + g.variance * one * one
            if g.retry_units and retry is None:
                units = int(round(to_float(g.retry_units)))
                mean = to_float(calls * one)
                retry = RetryTail(units, to_float(g.retry_accept), to_float(one), mean)
        mean_in = tokens_in + (calls - 1) * step / 2 if step else tokens_in
        # ``stages · 1`` without parallelism: the stages themselves (the same number).
        rounds = (
            g.stages
            if parallelism is None
            else g.stages * arithmetic.rounds(g.parallel * all_votes, parallelism)
        )
        latency = latency + rounds * per_token * (mean_in + tokens_out)
        if violation is None:
            peak = (tokens_in + (calls - 1) * step if step else tokens_in) + tokens_out
            if type(peak) is not float:
                peak = to_float(peak)
            if not peak <= window:  # a member's window may not hold it (or nan)
                violation = own.window_violation(role, peak)
    if stops:  # a CASCADE (no other random group): it stops at a random stage
        variance, retry = cascade_tail(stops)
    if type(cost) is float and type(success) is float:
        log_cost = math.log(cost) if cost > 0 else -math.inf
        if success > 0:
            log_success = math.log(success)
        elif success == 0.0:  # underflowed far along the ray (or none): its log on logs
            found = float_log_success(spec, shape, rated, arguments, unverified)
            log_success = -math.inf if found is None else found  # -inf: mpmath's (the caller)
        else:
            log_success = -math.inf
        float_success = success
    else:
        log_cost = log_of(cost)
        # A sure success as the int 1 (a tool's 1 - 0): log_of's mpmath log gives 0.0.
        log_success = 0.0 if type(success) is int and success == 1 else log_of(success)
        float_success = to_float(success)
    if log_success != log_success:  # nan: the constructor's ``__post_init__`` fills it
        return TaskOutcome(
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
    # ``TaskOutcome(...)`` without the frozen dataclass's ``__init__`` (one attribute write
    # at a time): the same record, built for every scored candidate, each field stored in
    # the instance's dict by name, in :data:`_FIELDS`' order.
    outcome: TaskOutcome = _new(TaskOutcome)
    state = outcome.__dict__
    state["expected_cost"] = cost if type(cost) is float else to_float(cost)
    state["log_cost"] = log_cost
    state["success_probability"] = float_success
    state["latency"] = latency if type(latency) is float else to_float(latency)
    state["cost_variance"] = variance if type(variance) is float else to_float(variance)
    state["window_violation"] = violation
    state["retry"] = retry
    state["log_success"] = log_success
    state["setup_cost"] = 0.0 if setup is None else float(setup)
    state["setup_share"] = share if type(share) is float else to_float(share)
    return outcome


def _pass_attempts(
    groups: tuple[CallGroup, ...],
    figures: dict[str, RoleFigures],
    one_call: Callable[[Value, Value, Value], Value],
) -> dict[str, Value]:
    """Each random group's (and each follower's) per-attempt cost, by role, under a cost
    model of forward passes whose prompt is not cached (:attr:`Settings.one_call`): what
    :meth:`RoleCalls.attempt_cost` gives there (``cached_attempt_cost`` is each member's
    ``votes · one_call(size, input, output)``), by the same operations."""
    per_attempt: dict[str, Value] = {}
    for f in groups:
        if f.variance or f.follows:
            _, pricing, votes, rest, _, _, _ = figures[f.role]
            tokens_in, tokens_out = f.input, f.output
            one = votes * one_call(pricing.size, tokens_in, tokens_out)
            for m in rest:
                one = one + m.votes * one_call(m.pricing.size, tokens_in, tokens_out)
            per_attempt[f.role] = one
    return per_attempt


#: :class:`TaskOutcome`'s fields, in the order :func:`numeric_outcome` writes them.
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
