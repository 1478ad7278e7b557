"""The numeric scoring of a task plan (:mod:`aalps.cost_models.task_scoring`) against a plain
reference: the figures computed rule by rule, each role declared with
:meth:`RoleReliability.add` and each call group priced by
:func:`~aalps.cost_models.prompt_cache.cached_group_cost` (no per-role memo, no resolved cost
rule). Every field of every outcome must be the same, floats bit for bit, in floats and in
mpmath, at the scale point and far along the ray, under every cost model and cache setting.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aalps.cost_models import task_scoring
from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS, FLOAT, Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.cascade_tail import CascadeTail, cascade_tail
from aalps.cost_models.domain import CostModel, Operator, OptimizeRequest, RoleAssignment, TaskPlan
from aalps.cost_models.ensemble_roles import ensemble_role
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.log_successes import float_log_success
from aalps.cost_models.operators import OPERATORS, CallGroup, TaskShape, applicable_operators
from aalps.cost_models.outcomes import RetryTail, TaskOutcome
from aalps.cost_models.plan_checks import model_problem
from aalps.cost_models.prompt_cache import cached_group_cost
from aalps.cost_models.role_calls import RoleCalls, declare, member_models, role_calls
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.shapes import ModelNumbers, log_of, to_float
from aalps.cost_models.task_scoring import group_coster, numeric_outcome, run_schedule
from aalps.cost_models.tools import tool_figures
from aalps.cost_models.vote_reliability import RememberedReliability, RoleReliability, prepare

from tests.optimizer.random_requests import wide_request_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_VERIFIED = ("GLOBAL_RETRY", "LOCAL_RETRY")


def reference_outcome(
    evaluator: PlanEvaluator, plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
) -> TaskOutcome:
    """The task plan's figures, rule by rule (the evaluator's own caches left alone)."""
    request = evaluator.request
    task = evaluator.graph.task_by_id[plan.task_id]
    spec = OPERATORS[plan.operator]
    capability = {r.name: r.capability for r in spec.roles(task)}
    by_name = evaluator.catalog.by_name
    numbers = {
        m.name: ModelNumbers.of(m, arithmetic, evaluator._model_sizes[m.name])
        for m in evaluator.catalog.models
    }
    reliability = RoleReliability(arithmetic)
    roles: dict[str, RoleCalls] = {}
    models = {}
    for assignment in plan.roles:
        if assignment.role in capability:
            calls, shares = role_calls(assignment, capability[assignment.role], numbers, by_name)
            roles[assignment.role] = calls
            declare(reliability, assignment.role, shares)
            models[assignment.role] = calls.members[0].model
    rated = spec.rated(task, models, capability, reliability, arithmetic)
    schedule = spec.schedule(shape, rated, dict(plan.params), arithmetic)
    success = schedule.success
    if task.acceptance is not None and plan.operator.name not in _VERIFIED:
        units = shape.block_count if shape.block_count != 0 else 1
        success = success * shape.acceptance**units
    members = member_models(roles)
    setup = setup_of(members) if any(m.setup_cost for m in members) else None
    cost, latency = tool_figures(schedule.tools, request.cost_model)
    share = 0 if setup is None else amortized(setup, request.volume, arithmetic)
    cost = cost + share
    parallelism = request.constraints.parallelism
    violation = None
    variance: Value = 0
    stops = []
    retry: RetryTail | CascadeTail | None = None
    groups = schedule.groups
    for g in groups:
        if g.calls == 0:
            continue
        own = roles[g.role]
        spent = cached_group_cost(
            g, request, own.members[0].pricing, own.members[0].votes, arithmetic, shape.prompt
        )
        for m in own.members[1:]:
            spent = spent + cached_group_cost(
                g, request, m.pricing, m.votes, arithmetic, shape.prompt
            )
        cost = cost + spent
        if g.nested:
            stops.append((g.calls, spent))
        if g.variance:
            attempt = {
                f.role: roles[f.role].attempt_cost(request, f.input, f.output, shape.prompt)
                for f in groups
                if f.variance or f.follows
            }
            one = attempt[g.role] + sum(attempt[f.role] for f in groups if f.follows == g.role)
            variance = variance + g.variance * one * one
            if g.retry_units and retry is None:
                units = int(round(to_float(g.retry_units)))
                retry = RetryTail(
                    units, to_float(g.retry_accept), to_float(one), to_float(g.calls * one)
                )
        mean_in = g.input + (g.calls - 1) * g.input_step / 2 if g.input_step else g.input
        rounds = g.stages * (
            1 if parallelism is None else arithmetic.rounds(g.parallel * own.votes, parallelism)
        )
        latency = latency + rounds * own.latency_per_token * (mean_in + g.output)
        if violation is None:
            violation = own.window_violation(g.role, to_float(g.max_input() + g.output))
    if stops:
        variance, retry = cascade_tail(stops)
    log_success = log_of(success)
    if type(success) is float and success == 0.0:  # underflowed: its log on logs, if it runs
        unverified = task.acceptance is not None and plan.operator.name not in _VERIFIED
        on_logs = float_log_success(spec, shape, rated, dict(plan.params), unverified)
        log_success = log_success if on_logs is None else on_logs
    return TaskOutcome(
        expected_cost=to_float(cost),
        log_cost=log_of(cost),
        success_probability=to_float(success),
        latency=to_float(latency),
        cost_variance=to_float(variance),
        window_violation=violation,
        retry=retry,
        log_success=log_success,
        setup_cost=0.0 if setup is None else float(setup),
        setup_share=to_float(share),
    )


def _same(a: Any, b: Any) -> bool:
    """Equal, floats bit for bit (nan equal to nan, 0.0 not equal to -0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex() if not (math.isnan(a) and math.isnan(b)) else True
    if isinstance(a, TaskOutcome | RetryTail | CascadeTail):
        return type(a) is type(b) and all(
            _same(x, y) for x, y in zip(vars(a).values(), vars(b).values(), strict=True)
        )
    return bool(a == b)


def _requests() -> Iterator[tuple[str, OptimizeRequest]]:
    for name in ("cascade", "ensemble_votes", "correlated_votes", "code_debugging"):
        yield name, load_request(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))
    settings = [
        ("FORWARD_PASS", None),
        ("KV_CACHED", {"enabled": True}),
        ("FORWARD_PASS", {"enabled": True, "lifetime_calls": 3}),
        ("PRICED", None),
        ("PRICED", {"enabled": False}),
        ("PRICED", {"lifetime_calls": 2}),
        ("QUADRATIC_ATTENTION", None),
    ]
    for seed, (cost_model, cache) in enumerate(settings):
        data = wide_request_data(seed, 6, 5)
        data["cost_model"] = cost_model
        if cache is not None:
            data["prompt_cache"] = cache
        models = data["catalog"]["models"]
        models[0]["setup_cost"] = 50.0
        models[1]["per_token_error"] = 1e-4
        models[1]["vote_correlation"] = 0.2
        models[2]["price_per_cached_input_token"] = models[2]["price_per_input_token"] / 10
        models[3]["tier_threshold_tokens"] = 300
        models[3]["tier_prices"] = {"input": 1e-5, "output": 3e-5}
        yield f"wide {seed} {cost_model} {cache}", load_request(data)


_PARAMS = {"ahead": (1, 3), "chunk": (1, 7, 40), "stages": (2, 3)}


def _plans(evaluator: PlanEvaluator) -> Iterator[TaskPlan]:
    """Per task and operator: capable models (votes 1 and 3 where votable) and a few
    parameter values, and the same with an ensemble of two models in the first role."""
    models = evaluator.catalog.models
    for task in evaluator.graph.tasks:
        for operator in applicable_operators(task):
            spec = OPERATORS[operator]
            grids = [[(p.name, v) for v in _PARAMS[p.name]] for p in spec.params(task)]
            for params in itertools.product(*grids):
                roles = spec.plan_roles(task, dict(params))
                options = [
                    [
                        RoleAssignment(r.name, m.name, v)
                        for m in models
                        if model_problem(r, m) is None
                        for v in ((1, 3) if r.votable else (1,))
                    ][:4]
                    for r in roles
                ]
                for assignment in itertools.islice(itertools.product(*options), 12):
                    if operator is Operator.CASCADE and len({a.model for a in assignment}) < len(
                        assignment
                    ):
                        continue
                    yield TaskPlan(task.id, operator, assignment, params)
                    if not assignment:
                        continue
                    first = assignment[0]
                    for other in [m for m in models if m.name != first.model][:2]:
                        shares = [(first.model, 2), (other.name, 1)]
                        yield TaskPlan(
                            task.id,
                            operator,
                            (ensemble_role(first.role, shares), *assignment[1:]),
                            params,
                        )


def _outcome(
    evaluator: PlanEvaluator, plan: TaskPlan, arithmetic: Arithmetic, fast: bool
) -> TaskOutcome | str:
    compiled = evaluator._compiled[plan.task_id]
    shape = compiled.numeric if arithmetic is FLOAT else compiled.big
    try:
        if fast:
            return numeric_outcome(evaluator, plan, arithmetic, shape)
        return reference_outcome(evaluator, plan, arithmetic, shape)
    except Exception as error:  # noqa: BLE001 - the same error either way
        return type(error).__name__


@pytest.mark.parametrize(("name", "request_"), list(_requests()), ids=lambda x: str(x)[:40])
def test_numeric_outcome_matches_the_reference(name: str, request_: OptimizeRequest) -> None:
    compared = 0
    for scale in (1.0, 1e6):
        evaluator = PlanEvaluator(request_, scale=scale)
        for plan in _plans(evaluator):
            for arithmetic in (FLOAT, BIG):
                fast = _outcome(evaluator, plan, arithmetic, fast=True)
                slow = _outcome(evaluator, plan, arithmetic, fast=False)
                assert _same(fast, slow), (name, scale, plan, arithmetic.name, fast, slow)
                compared += 1
    assert compared > 20


@pytest.mark.parametrize("cost_model", list(CostModel))
@pytest.mark.parametrize("cache", [None, {"enabled": True}, {"enabled": False}, {"lifetime": 3}])
def test_group_coster_is_cached_group_cost(cost_model: CostModel, cache: Any) -> None:
    data = wide_request_data(0, 2, 3)
    data["cost_model"] = cost_model.value
    if cache is not None:
        data["prompt_cache"] = {"lifetime_calls": 3} if "lifetime" in cache else cache
    request = load_request(data)
    settings = request.prompt_cache
    coster = group_coster(request.cost_model, settings.enabled, settings.lifetime)
    pricings = [
        Pricing(7e9, 1e-6, 3e-6),
        Pricing(2e9, 2e-6, 5e-6, cache_read=2e-7, cache_write=2.5e-6),
        Pricing(3e9, 1e-6, 2e-6, 1e-7, 1.2e-6, 500.0, 2e-6, 4e-6, 2e-7, 2.4e-6),
    ]
    groups = [
        CallGroup("worker", 1.0, 1200.0, 40.0),
        CallGroup("worker", 7.0, 300.0, 1.0, parallel=7.0),
        CallGroup("worker", 5.0, 250.0, 30.0, input_step=120.0),
        CallGroup("worker", 0.0, 100.0, 1.0),
        CallGroup("worker", 3.5, 600.0, 12.0, variance=2.0),
    ]
    for pricing in pricings:
        for group in groups:
            for votes in (1, 3):
                for prompt in (0.0, 200.0):
                    fast = coster(group, request, pricing, votes, FLOAT, prompt)
                    slow = cached_group_cost(group, request, pricing, votes, FLOAT, prompt)
                    assert _same(fast, slow), (pricing, group, votes, prompt)


def test_remembered_reliability_answers_as_computed() -> None:
    """The memo returns what a fresh computation does, for int and mpf arguments alike."""
    shares = [(BIG.number(0.9), BIG.number(1 - 1e-4), 3, 0.0)]
    plain = RoleReliability(BIG)
    plain.add("worker", *shares[0])
    memo: dict[tuple[Any, ...], Value] = {}
    remembered = RememberedReliability(BIG)
    remembered.remember("worker", prepare(BIG, shares), memo)
    for tokens, decisions in [(100, 1), (BIG.number(100), 1), (250, BIG.number(3)), (100, 1)]:
        assert remembered("worker", tokens, decisions) == plain("worker", tokens, decisions)
    assert len(memo) == 3


@pytest.mark.parametrize(("name", "request_"), list(_requests()), ids=lambda x: str(x)[:40])
def test_success_only_runs_give_the_full_runs_success(
    name: str, request_: OptimizeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:data:`BIG_SUCCESS` (the operators skip what only the groups read) gives the success
    of a full :data:`BIG` run, the same mpmath number, for every operator and plan; and the
    far point's evaluator takes its underflowed log successes from it, as the plain
    reference works them out in mpmath, when none is worked out on logs (turned off here:
    ``test_log_successes`` checks those against mpmath)."""
    monkeypatch.setattr(task_scoring, "float_log_success", lambda *_: None)
    compared = underflowed = 0
    for scale in (1.0, 1e6):
        evaluator = PlanEvaluator(request_, scale=scale)
        for plan in _plans(evaluator):
            shape = evaluator._compiled[plan.task_id].big
            try:
                full = run_schedule(evaluator, plan, BIG, shape)[0]
            except Exception as error:  # noqa: BLE001 - the same error either way
                with pytest.raises(type(error)):
                    run_schedule(evaluator, plan, BIG_SUCCESS, shape)
                continue
            alone = run_schedule(evaluator, plan, BIG_SUCCESS, shape)[0]
            assert type(alone.success) is type(full.success), (name, plan)
            assert alone.success == full.success, (name, scale, plan, alone, full)
            compared += 1
            outcome = evaluator.task_outcome(plan)
            if outcome.success_probability == 0.0 and math.isfinite(outcome.expected_cost):
                slow = reference_outcome(evaluator, plan, BIG, shape)
                assert _same(outcome.log_success, slow.log_success), (name, plan)
                assert math.isfinite(outcome.log_success)
                underflowed += 1
    assert compared > 20
    if name.startswith("wide"):
        assert underflowed > 0


def test_role_entries_are_kept_by_the_assignments_fields() -> None:
    """Equal assignments (other objects) share one role entry; another model, vote count or
    ensemble gets its own, with the figures a fresh evaluator works out for it."""
    request = load_request(wide_request_data(0, 6, 5))
    evaluator = PlanEvaluator(request)
    task = next(t for t in request.graph.tasks if Operator.DIRECT in applicable_operators(t))
    role = OPERATORS[Operator.DIRECT].roles(task)[0]
    able = [m.name for m in request.catalog.models if model_problem(role, m) is None]
    variants = [
        RoleAssignment("worker", able[0]),
        RoleAssignment("worker", able[0], 3),
        RoleAssignment("worker", able[1]),
        ensemble_role("worker", [(able[0], 2), (able[1], 1)]),
    ]
    for assignment in variants:
        first = TaskPlan(task.id, Operator.DIRECT, (assignment,))
        again = TaskPlan(task.id, Operator.DIRECT, (RoleAssignment(**vars(assignment)),))
        shape = evaluator._compiled[task.id].numeric
        one = numeric_outcome(evaluator, first, FLOAT, shape)
        two = numeric_outcome(evaluator, again, FLOAT, shape)
        fresh = PlanEvaluator(request)
        assert _same(one, two) and _same(one, numeric_outcome(fresh, again, FLOAT, shape))
        assert _same(one, reference_outcome(fresh, first, FLOAT, shape))
    assert len(evaluator._role_calls[FLOAT.name]) == len(variants)
