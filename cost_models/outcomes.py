"""The figures of a plan and of its tasks: the records the evaluator returns.

:class:`TaskOutcome` and :class:`PlanOutcome` are a task plan's and a plan's numbers at one
point of the scale ray (expected cost, success probability, latency, cost variance), in
logs as well where the floats overflow or underflow; :class:`TaskEvaluation` and
:class:`PlanEvaluation` add the symbolic cost and its Θ bound. The 95th-percentile cost is
worked out here, on first use, from the random tasks' attempt counts
(:func:`cost_p95`). :class:`~aalps.cost_models.evaluation.PlanEvaluator` builds them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import sympy
from aalps.cost_models.bounds import Bound
from aalps.cost_models.cascade_tail import CascadeTail, cascades_quantile
from aalps.cost_models.domain import Plan, TaskPlan
from aalps.cost_models.readable import readable
from aalps.cost_models.stochastic import retry_attempts_quantile, retry_sum_quantile, tail_quantile

__all__ = [
    "PlanEvaluation",
    "PlanOutcome",
    "RetryTail",
    "TaskEvaluation",
    "TaskOutcome",
    "combine_outcomes",
    "cost_p95",
]


def _cost_of_pass(cost: float, success: float) -> float:
    """E[cost] / P(success): the expected cost of a correct result (inf when never right)."""
    if success <= 0.0:
        return math.inf
    return cost / success


def _log_cost_of_pass(log_cost: float, log_success: float) -> float:
    """log E[cost] − log P(success) (inf when success is 0)."""
    if log_success == -math.inf:
        return math.inf
    return log_cost - log_success


def _log_probability(p: float) -> float:
    """log p, −inf for 0."""
    return math.log(p) if p > 0.0 else -math.inf


class _CostOfPass:
    """The cost of a correct result, shared by task and plan figures (DESIGN §2, "Objective").

    ``log_success`` left at nan is filled from ``success_probability``.
    """

    expected_cost: float
    log_cost: float
    success_probability: float
    log_success: float

    def __post_init__(self) -> None:
        if math.isnan(self.log_success):
            object.__setattr__(self, "log_success", _log_probability(self.success_probability))

    @property
    def cost_of_pass(self) -> float:
        """E[cost] / P(success) (math.inf when success is 0)."""
        return _cost_of_pass(self.expected_cost, self.success_probability)

    @property
    def log_cost_of_pass(self) -> float:
        """log E[cost] − log P(success), finite when the two overflow and underflow."""
        return _log_cost_of_pass(self.log_cost, self.log_success)


@dataclass(frozen=True)
class TaskOutcome(_CostOfPass):
    """A task plan's figures at one point of the scale ray (the scale point by default).

    ``log_success`` is the natural log of the success probability, finite even when the
    float ``success_probability`` underflows to 0 (−inf only when success is exactly 0).
    """

    expected_cost: float
    log_cost: float
    success_probability: float
    latency: float
    cost_variance: float
    window_violation: str | None = None
    retry: RetryTail | CascadeTail | None = None
    log_success: float = math.nan
    setup_cost: float = 0.0  # one-time, before amortizing (in ``expected_cost``: /volume)
    setup_share: float = 0.0  # the amortized part of ``expected_cost``: setup_cost / volume

    @property
    def per_run_cost(self) -> float:
        """The expected cost of one run without the amortized setup."""
        return self.expected_cost - self.setup_share if self.setup_share else self.expected_cost


@dataclass(frozen=True)
class RetryTail:
    """The random part of a retry-until-accepted task: ``units`` geometric attempt counts."""

    units: int
    accept: float
    per_attempt: float
    mean: float


@dataclass(frozen=True, repr=False)
class TaskEvaluation:
    """One task plan's symbolic expected cost and its numeric figures."""

    plan: TaskPlan
    cost: sympy.Expr
    outcome: TaskOutcome

    def __repr__(self) -> str:
        # The cost's constants too long for text as floats (cost_models.readable).
        cost = readable(self.cost)
        return f"TaskEvaluation(plan={self.plan!r}, cost={cost!r}, outcome={self.outcome!r})"


@dataclass(frozen=True)
class PlanOutcome(_CostOfPass):
    """A whole plan's figures at one point of the scale ray (what the search compares).

    ``cost_p95`` (the 95th-percentile cost) is computed on first use: exact when the random
    part of the cost is retries whose attempt counts can be convolved, else moment-matched,
    and then ``cost_p95_approximate`` is True.
    """

    expected_cost: float
    log_cost: float
    success_probability: float
    latency: float
    window_violation: str | None = None
    log_success: float = math.nan
    cost_variance: float = 0.0
    random_tasks: tuple[TaskOutcome, ...] = ()
    setup_cost: float = 0.0  # one-time, before amortizing (in ``expected_cost``: /volume)
    setup_share: float = 0.0  # the amortized part of ``expected_cost``: setup_cost / volume

    @property
    def per_run_cost(self) -> float:
        """The expected cost of one run without the amortized setup."""
        return self.expected_cost - self.setup_share if self.setup_share else self.expected_cost

    @cached_property
    def _tail(self) -> tuple[float, bool]:
        """The 95th-percentile cost and whether it is approximate, worked out once."""
        return cost_p95(self.expected_cost, self.cost_variance, list(self.random_tasks))

    @property
    def cost_p95(self) -> float:
        """95th percentile of the plan's cost."""
        return self._tail[0]

    @property
    def cost_p95_approximate(self) -> bool:
        """Whether ``cost_p95`` is moment-matched rather than exact."""
        return self._tail[1]


@dataclass(frozen=True, repr=False)
class PlanEvaluation:
    """A plan's task evaluations, symbolic cost, numeric figures and Θ bound."""

    plan: Plan
    tasks: tuple[TaskEvaluation, ...]
    cost: sympy.Expr
    outcome: PlanOutcome
    bound: Bound

    def __repr__(self) -> str:
        # The cost's constants too long for text as floats (cost_models.readable).
        return (
            f"PlanEvaluation(plan={self.plan!r}, tasks={self.tasks!r}, "
            f"cost={readable(self.cost)!r}, outcome={self.outcome!r}, bound={self.bound!r})"
        )


def cost_p95(cost: float, variance: float, random: list[TaskOutcome]) -> tuple[float, bool]:
    """95th percentile of the plan's cost, and whether it is approximate.

    When every random cost is a retry (attempt counts times a per-attempt cost) the quantile
    comes from the attempt counts' exact distributions: one task's negative binomial, or the
    convolution of several (:func:`~aalps.cost_models.stochastic.retry_sum_quantile`: exact on the
    lattice of commensurate per-attempt costs, else on a 2^16-point grid, within a few
    1e-5 of the span); when every one is a cascade, from the convolution of their stop
    distributions (:func:`~aalps.cost_models.cascade_tail.cascades_quantile`). Other random
    costs (AHEAD_BY_K's samples, retries beside cascades), or attempt counts too long to
    walk, get the moment-matched gamma quantile, flagged approximate.
    """
    if not math.isfinite(cost) or variance <= 0.0:
        return cost, False
    tails = [o.retry for o in random]
    if tails and all(isinstance(t, CascadeTail) for t in tails):
        cascades = [t for t in tails if isinstance(t, CascadeTail)]
        fixed = cost - math.fsum(t.mean for t in cascades)
        quantile = cascades_quantile(cascades)
        if quantile is not None:
            return fixed + quantile, False
    if tails and all(isinstance(t, RetryTail) for t in tails):
        retries = [t for t in tails if isinstance(t, RetryTail)]
        fixed = cost - math.fsum(t.mean for t in retries)
        if len(retries) == 1:
            tail = retries[0]
            attempts = retry_attempts_quantile(tail.units, tail.accept)
            if attempts is not None:
                return fixed + attempts * tail.per_attempt, False
        summed = retry_sum_quantile([(t.units, t.accept, t.per_attempt) for t in retries])
        if summed is not None:
            return fixed + summed[0], False
    return tail_quantile(cost, variance), True


def _log_sum(logs: Iterable[float]) -> float:
    """log Σ e^v over ``logs``, without overflow (−inf for none)."""
    values = list(logs)
    top = max(values, default=-math.inf)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def combine_outcomes(
    ordered: Sequence[TaskOutcome], pred_index: Sequence[Sequence[int]]
) -> PlanOutcome:
    """A plan's figures from its tasks' (in topological order; ``pred_index[i]`` the
    positions of task ``i``'s predecessors): costs and variances add, successes multiply,
    the latency is the critical path's; one-time setups and their amortized shares add."""
    finish = [0.0] * len(ordered)
    cost = variance = longest = log_success = setup = share = 0.0
    success = 1.0
    violation = None
    random: list[TaskOutcome] = []
    for i, (o, preds) in enumerate(zip(ordered, pred_index, strict=True)):
        start = 0.0
        for p in preds:
            if finish[p] > start:
                start = finish[p]
        end = finish[i] = start + o.latency
        if end > longest:
            longest = end
        cost += o.expected_cost
        setup += o.setup_cost
        share += o.setup_share
        success *= o.success_probability
        log_success += o.log_success
        if o.cost_variance:
            variance += o.cost_variance
            random.append(o)
        if violation is None and o.window_violation:
            violation = o.window_violation
    if 0.0 < cost < math.inf:
        log_cost = math.log(cost)
    else:
        log_cost = _log_sum(o.log_cost for o in ordered)
    return PlanOutcome(
        expected_cost=cost,
        log_cost=log_cost,
        success_probability=success,
        latency=longest,
        window_violation=violation,
        log_success=log_success,
        cost_variance=variance,
        random_tasks=tuple(random),
        setup_cost=setup,
        setup_share=share,
    )
