"""Run a plan call by call against a seeded stochastic stand-in for the LLMs.

The independent check of every cost formula: it does not read the operators' schedules but
executes each operator as DESIGN §2 describes it, one call at a time. A call succeeds with
the catalog's reliability (decayed by ``per_token_error`` per input token); a mutated block
becomes correct with the task's acceptance probability; retries loop until accepted, votes
take a majority, AHEAD_BY_K samples until one answer leads by k. Every call is charged
with the request's cost model at the scale point. Counts (blocks, defects, steps) are
rounded to integers. Tool and code steps are charged their price under PRICED and fail at
their rate; a prompt cache writes a task's prompt on a role's first call and again once its
lifetime of calls is spent; a model's setup is charged per run as setup / volume.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import (
    CHUNK,
    CostModel,
    Executor,
    Model,
    Operator,
    OptimizeRequest,
    Plan,
    Task,
    TaskPlan,
)
from aalps.cost_models.operators import OPERATORS
from aalps.cost_models.operators.cascade import stage_name, stage_rates
from aalps.cost_models.simulated_billing import SampleBilling

__all__ = ["SimulationRun", "SimulationSummary", "simulate", "simulate_once"]


@dataclass
class SimulationRun:
    """What one execution of a plan consumed, and whether it ended right."""

    cost: float = 0.0
    calls: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    success: bool = True
    calls_by_role: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationSummary:
    runs: int
    mean_cost: float
    standard_error: float
    success_rate: float
    mean_calls: float
    cost_p95: float
    costs: tuple[float, ...] = ()  # every run's cost, sorted

    def fraction_at_most(self, cost: float) -> float:
        """Empirical P(cost ≤ ``cost``)."""
        return bisect.bisect_right(self.costs, cost) / max(len(self.costs), 1)

    def fraction_below(self, cost: float) -> float:
        """Empirical P(cost < ``cost``)."""
        return bisect.bisect_left(self.costs, cost) / max(len(self.costs), 1)


class _Executor:
    """Executes one task plan; every LLM call goes through :meth:`call`."""

    def __init__(
        self,
        request: OptimizeRequest,
        task: Task,
        task_plan: TaskPlan,
        rng: random.Random,
        run: SimulationRun,
        sizes: dict[sympy.Expr, float],
    ) -> None:
        self.request, self.task, self.rng, self.run = request, task, rng, run
        self.sizes = sizes
        roles = OPERATORS[task_plan.operator].plan_roles(task, task_plan.param_map)
        assigned = task_plan.role_map
        self.models: dict[str, Model] = {
            r.name: request.catalog.by_name[assigned[r.name].model] for r in roles
        }
        # Who answers for each role: its model, or every member of its ensemble, with votes.
        self.members: dict[str, list[tuple[Model, int, Pricing]]] = {}
        for r in roles:
            for name, votes in assigned[r.name].members:
                model = request.catalog.by_name[name]
                share = (model, votes, Pricing.of(model, model.size_value, float))
                self.members.setdefault(r.name, []).append(share)
        self.capability = {r.name: r.capability for r in roles}
        self.params = task_plan.param_map
        self.billing = SampleBilling(request, run, lambda: self.size(task.prompt_tokens))
        setups = sum(float(m.setup_cost) for ms in self.members.values() for m, _, _ in ms)
        self.run.cost += setups / request.volume

    def size(self, expr: sympy.Expr) -> float:
        """An expression's value at the scale point (memoized across runs: sizes are fixed)."""
        value = self.sizes.get(expr)
        if value is None:
            values = {s: sympy.Float(v, 30) for s, v in self.request.graph.values.items()}
            value = self.sizes[expr] = float(sympy.N(expr.xreplace(values), 30))
        return value

    def count(self, expr: sympy.Expr) -> int:
        return int(round(self.size(expr)))

    def decisions(self, calls: int) -> float:
        """Decisions of the task's ``steps`` chain each of ``calls`` calls makes (1 without)."""
        steps = self.task.steps
        if steps is None:
            return 1.0
        return self.size(steps.count) / calls if calls else 0.0

    def mean_reliability(
        self, role: str, tokens_in: float, decisions: float = 1.0, model: Model | None = None
    ) -> float:
        """The catalog's reliability of ``role`` (of ``model``, a member of its ensemble),
        decayed per input token, for ``decisions``."""
        model = model or self.models[role]
        p = float(model.capabilities[self.capability[role]])
        p *= (1.0 - float(model.per_token_error)) ** tokens_in
        return float(p**decisions)

    def draw(self, role: str, p: float, model: Model | None = None) -> float:
        """This input's per-sample probability: ``p`` itself for independent samples, else a
        draw from ``Beta(p(1−ρ)/ρ, (1−p)(1−ρ)/ρ)`` (``ρ = 1``: 1 with probability ``p``, else 0),
        ``ρ`` of the role's model (or of ``model``, a member of its ensemble)."""
        rho = (model or self.models[role]).correlation(self.capability[role])
        if rho <= 0.0 or p >= 1.0:
            return p
        if rho >= 1.0:
            return 1.0 if self.rng.random() < p else 0.0
        theta = (1.0 - rho) / rho
        return self.rng.betavariate(p * theta, (1.0 - p) * theta)

    def call(
        self,
        role: str,
        tokens_in: float,
        tokens_out: float,
        decisions: float = 1.0,
        drawn: float | None = None,
        history: float | None = None,
    ) -> bool:
        """One logical call of ``role`` (``votes`` samples, majority wins); True if right.

        ``history``: the input of the role's previous call, which this call's input extends
        (ITERATE_WITH_HISTORY), so a cache may hold it (:class:`SampleBilling`).

        An ensemble role's members each draw their own probability (their own ``ρ``) and
        cast their share of the votes; the majority of all the votes wins.

        A call that writes ``decisions`` decisions of a chain is right only if each is: the
        decisions are independent, so one draw with ``p^decisions`` stands for them all. The
        samples of one call share one input, so with a ``vote_correlation`` they share the
        probability :meth:`draw` takes for it (``drawn``: the caller's draw, AHEAD_BY_K's
        per step).
        """
        members = self.members[role]
        right = total = 0
        for model, votes, pricing in members:
            if drawn is None:
                mean = self.mean_reliability(role, tokens_in, decisions, model)
                p = self.draw(role, mean, model)
            else:
                p = drawn
            # An ensemble's members each cache their own prompt (another model, another cache).
            key = role if len(members) == 1 else f"{role}:{model.name}"
            for _ in range(votes):
                self.billing.charge(key, pricing, tokens_in, tokens_out, history)
                self.run.calls_by_role[role] = self.run.calls_by_role.get(role, 0) + 1
                right += self.rng.random() < p
            total += votes
        return right > total / 2

    def tool(self, tool: Any) -> bool:
        """One call of a tool or of code: its price under PRICED; True unless it fails."""
        if tool is None:
            return True
        if self.request.cost_model is CostModel.PRICED:
            self.run.cost += float(tool.price_per_call)
        self.run.calls_by_role["tool"] = self.run.calls_by_role.get("tool", 0) + 1
        return self.rng.random() >= float(tool.failure_rate)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def _direct(x: _Executor) -> bool:
    t = x.task
    if t.executor is not Executor.LLM:
        return x.tool(t.tool)
    n = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    return x.call("worker", x.size(t.prompt_tokens) + n, x.size(t.output_tokens), x.decisions(1))


def _route(x: _Executor) -> bool:
    t = x.task
    assert t.routing is not None
    prompt = x.size(t.prompt_tokens)
    if t.routing.code_router is not None:
        routed = x.tool(t.routing.code_router)
    else:
        routed = x.call("delegator", prompt + x.size(t.routing.tokens), 1)
    n = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    solved = x.call("specialist", prompt + n, x.size(t.output_tokens), x.decisions(1))
    return routed and solved


def _map(x: _Executor) -> bool:
    b = x.task.blocks
    assert b is not None
    prompt, ok = x.size(x.task.prompt_tokens), True
    count = x.count(b.count)
    for _ in range(count):
        ok &= x.call("worker", prompt + x.size(b.size), x.size(b.output), x.decisions(count))
    return ok


def _report(x: _Executor) -> tuple[float, float]:
    assert x.task.defects is not None
    r = x.size(x.task.defects.report_tokens)
    return r, (r if r > 0 else 1.0)


def _iterate(x: _Executor, history: bool) -> bool:
    t = x.task
    assert t.defects is not None
    prompt = x.size(t.prompt_tokens)
    n = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    r, written = _report(x)
    defects = x.count(t.defects.count)
    cap = t.defects.max_iterations
    ok = cap is None or cap >= defects  # a defect past the cap stays unfixed
    read: dict[str, float] = {}  # each role's previous input, which its next one extends

    def call(role: str, tokens_in: float, tokens_out: float) -> bool:
        right = x.call(role, tokens_in, tokens_out, history=read.get(role))
        if history:
            read[role] = tokens_in
        return right

    for i in range(1, (defects if cap is None else min(cap, defects)) + 1):
        versions, reports = (i, i - 1) if history else (1, 0)
        ok &= call("detector", prompt + versions * n + reports * r, written)
        ok &= call("fixer", prompt + versions * n + (reports + 1) * r, n)
    return ok


def _scan_and_fix(x: _Executor) -> bool:
    t = x.task
    assert t.blocks is not None and t.defects is not None
    prompt, size = x.size(t.prompt_tokens), x.size(t.blocks.size)
    r, written = _report(x)
    ok = True
    for _ in range(x.count(t.blocks.count)):
        ok &= x.call("detector", prompt + size, written)
    for _ in range(x.count(t.defects.count)):
        ok &= x.call("fixer", prompt + size + r, x.size(t.blocks.output))
    return ok


def _retry_unit(
    x: _Executor, tokens_in: float, tokens_out: float, blocks: int, decisions: float
) -> bool:
    """Attempt until the verifier accepts; True if the accepted attempt is right.

    An attempt is right when the worker's call is right and all ``blocks`` came out correct.
    A code verifier accepts exactly the right attempts; an LLM verifier errs on each check:
    its call is right (with its reliability) when it accepts a right attempt or rejects a
    wrong one.
    """
    assert x.task.acceptance is not None
    a = x.size(x.task.acceptance.success_probability)
    verifier = "verifier" in x.models
    prompt = x.size(x.task.prompt_tokens)
    cap = x.task.acceptance.max_attempts
    attempts = 0
    while cap is None or attempts < cap:
        attempts += 1
        worked = x.call("worker", tokens_in, tokens_out, decisions)
        correct = all(x.chance(a) for _ in range(blocks))
        right = worked and correct
        if verifier:
            judged_right = x.call("verifier", prompt + tokens_out, 1)
            accepted = right if judged_right else not right
        else:
            accepted = right
        if accepted:
            return right
    return False  # no attempt accepted within the cap


def _global_retry(x: _Executor) -> bool:
    t = x.task
    prompt = x.size(t.prompt_tokens)
    if t.blocks is not None:
        k = x.count(t.blocks.count)
        tokens_in = prompt + k * x.size(t.blocks.size)
        return _retry_unit(x, tokens_in, k * x.size(t.blocks.output), k, x.decisions(1))
    n = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    return _retry_unit(x, prompt + n, x.size(t.output_tokens), 1, x.decisions(1))


def _local_retry(x: _Executor) -> bool:
    b = x.task.blocks
    assert b is not None
    prompt, ok = x.size(x.task.prompt_tokens), True
    count = x.count(b.count)
    for _ in range(count):
        ok &= _retry_unit(x, prompt + x.size(b.size), x.size(b.output), 1, x.decisions(count))
    return ok


def _chunk_aggregate(x: _Executor) -> bool:
    t = x.task
    assert t.chunkable is not None
    total = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    chunks = math.ceil(total / x.params["chunk"])
    size = total / chunks
    written = x.size(t.chunkable.aggregate_tokens.xreplace({CHUNK: sympy.Float(size, 30)}))
    prompt, ok = x.size(t.prompt_tokens), True
    for _ in range(chunks):
        ok &= x.call("worker", prompt + size, written, x.decisions(chunks))
    if "aggregator" in x.models:
        ok &= x.call("aggregator", prompt + chunks * written, x.size(t.output_tokens))
    return ok


def _ahead_by_k(x: _Executor) -> bool:
    s = x.task.steps
    assert s is not None
    k = x.params["ahead"]
    tokens_in = x.size(x.task.prompt_tokens) + x.size(s.tokens)
    mean = x.mean_reliability("worker", tokens_in)
    ok = True
    for _ in range(x.count(s.count)):
        lead = 0
        p = x.draw("worker", mean)  # one input per step: its samples share the draw
        while abs(lead) < k:
            lead += 1 if x.call("worker", tokens_in, x.size(s.output), drawn=p) else -1
        ok &= lead > 0
    return ok


def _cascade(x: _Executor) -> bool:
    """Query the stages in order, paying for each, until one accepts (the last accepts all).

    A stage accepts with its accept rate, independently of its call's outcome; an accepted
    answer is right with the accepted accuracy when given, else as the call came out.
    """
    t = x.task
    n = x.size(t.input_tokens + x.request.graph.incoming_tokens(t.id))
    tokens_in, written = x.size(t.prompt_tokens) + n, x.size(t.output_tokens)
    count = x.params["stages"]
    for j in range(1, count + 1):
        role = stage_name(j)
        right = x.call(role, tokens_in, written, x.decisions(1))
        if j == count:
            return right
        rates = stage_rates(t, x.models[role], x.capability[role])
        assert rates is not None
        if x.chance(float(rates.accept_rate)):
            accuracy = rates.accepted_accuracy
            return right if accuracy is None else x.chance(float(accuracy))
    raise AssertionError("a cascade has at least one stage")


_EXECUTE: Mapping[Operator, Callable[[_Executor], bool]] = {
    Operator.DIRECT: _direct,
    Operator.ROUTE: _route,
    Operator.MAP: _map,
    Operator.SCAN_AND_FIX: _scan_and_fix,
    Operator.ITERATE_WITH_HISTORY: lambda x: _iterate(x, history=True),
    Operator.ITERATE_STATELESS: lambda x: _iterate(x, history=False),
    Operator.GLOBAL_RETRY: _global_retry,
    Operator.LOCAL_RETRY: _local_retry,
    Operator.CHUNK_AGGREGATE: _chunk_aggregate,
    Operator.AHEAD_BY_K: _ahead_by_k,
    Operator.CASCADE: _cascade,
}


def simulate_once(
    request: OptimizeRequest,
    plan: Plan,
    rng: random.Random,
    sizes: dict[sympy.Expr, float] | None = None,
) -> SimulationRun:
    """Execute every task of ``plan`` once."""
    run = SimulationRun()
    sizes = {} if sizes is None else sizes
    for task_plan in plan.tasks:
        task = request.graph.task_by_id[task_plan.task_id]
        executor = _Executor(request, task, task_plan, rng, run, sizes)
        ok = _EXECUTE[task_plan.operator](executor)
        if task.acceptance is not None and task_plan.operator not in (
            Operator.GLOBAL_RETRY,
            Operator.LOCAL_RETRY,
        ):
            units = executor.count(task.blocks.count) if task.blocks is not None else 1
            ok &= all(
                executor.chance(executor.size(task.acceptance.success_probability))
                for _ in range(units)
            )
        run.success &= ok
    return run


def simulate(
    request: OptimizeRequest, plan: Plan, *, runs: int, seed: int = 0
) -> SimulationSummary:
    """Execute ``plan`` ``runs`` times with a seeded generator and summarize the costs."""
    rng = random.Random(seed)
    costs, calls, successes = [], 0, 0
    sizes: dict[sympy.Expr, float] = {}
    for _ in range(runs):
        run = simulate_once(request, plan, rng, sizes)
        costs.append(run.cost)
        calls += run.calls
        successes += run.success
    mean = math.fsum(costs) / runs
    variance = math.fsum((c - mean) ** 2 for c in costs) / max(runs - 1, 1)
    ordered = sorted(costs)
    return SimulationSummary(
        runs=runs,
        mean_cost=mean,
        standard_error=math.sqrt(variance / runs),
        success_rate=successes / runs,
        mean_calls=calls / runs,
        cost_p95=ordered[min(runs - 1, math.ceil(0.95 * runs) - 1)],
        costs=tuple(ordered),
    )
