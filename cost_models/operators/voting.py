"""AHEAD_BY_K: a chain of small decisions, each sampled until one answer leads by k votes.

Meyerson et al., "MAKER" (2025): per-step success ``1/(1+((1−p)/p)^k)``, expected samples per
step from the gambler's ruin; the ``k`` a whole-task target needs grows as Θ(log steps). The
parameter ``ahead`` is the lead at the scale point; along the scale ray the lead grows with
the steps so that the chain's success stays put
(:func:`~aalps.cost_models.stochastic.lead_at_scale`), which puts the Θ(log S) factor in the
cost. The search's candidate leads come from
:func:`~aalps.cost_models.stochastic.lead_choices`.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy
from aalps.cost_models.arithmetic import UNWORKED, Arithmetic, Value, power
from aalps.cost_models.correlated_votes import (
    ahead_by_k_correlated,
    ahead_by_k_correlated_variance,
)
from aalps.cost_models.domain import Operator, Task
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    ParamSpec,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
)
from aalps.cost_models.stochastic import (
    MAX_LEAD,
    ahead_by_k_expected_samples,
    ahead_by_k_samples_variance,
    ahead_by_k_step_success,
    lead_at_scale,
    lead_choices,
)

__all__ = ["MAX_LEAD", "AheadByK", "lead_choices", "numeric_lead"]


def _correlated(
    p: Value, rho: float, ahead: int, shape: TaskShape, arithmetic: Arithmetic
) -> tuple[Value, Value, Value]:
    """Samples per step, step success and the samples' variance when the worker's samples
    correlate by ``rho`` (:func:`~aalps.cost_models.correlated_votes.ahead_by_k_correlated`).

    Numeric: the lead grows along the scale ray as it does for independent samples (with the
    mean ``p``), and the figures are the Beta expectations at that lead. Symbolic: the
    independent closed form's samples times the ratio of the correlated to the independent
    samples at the scale point, and the step success at the scale point (a number): the
    correlation changes the constants, not the Θ(S·log S) shape of the cost (with ``ρ > 0``
    no lead holds the chain's success, which falls geometrically in the steps).
    """
    steps, reference = shape.step_count, shape.step_reference
    if not arithmetic.symbolic:
        lead = ahead
        if reference:
            lead = lead_at_scale(float(p), ahead, float(steps), float(reference))
        fig = ahead_by_k_correlated(float(p), rho, lead)
        variance = steps * ahead_by_k_correlated_variance(float(p), rho, lead)
        return arithmetic.number(fig.samples), arithmetic.number(fig.success), variance
    if not (isinstance(p, sympy.Basic) and p.is_number):
        return ahead_by_k_expected_samples(p, ahead), ahead_by_k_step_success(p, ahead), 0
    fig = ahead_by_k_correlated(float(p), rho, ahead)
    ratio = arithmetic.number(fig.samples / float(ahead_by_k_expected_samples(float(p), ahead)))
    if _lead_grows(p) and reference:
        q = 1 - p
        lead = ahead + arithmetic.log(steps / reference) / arithmetic.log(p / q)
        odds = (q / p) ** ahead * reference / steps
        samples = ratio * lead / (p - q) * (1 - odds) / (1 + odds)
    else:
        samples = ratio * ahead_by_k_expected_samples(p, ahead)
    return samples, arithmetic.number(fig.success), 0


def numeric_lead(p: float, ahead: int, shape: TaskShape) -> int:
    """The lead a numeric run takes on ``shape`` when it is ``ahead`` at the scale point and
    the worker's samples are independent and right with ``p``
    (:func:`~aalps.cost_models.stochastic.lead_at_scale`; ``ahead`` without a reference)."""
    reference = shape.step_reference
    if not reference:
        return ahead
    return lead_at_scale(p, ahead, float(shape.step_count), float(reference))


def _lead_grows(p: Value) -> bool:
    """Whether a longer lead helps: ``1/2 < p < 1`` (and ``p`` a number)."""
    if isinstance(p, sympy.Basic):
        return bool(p.is_number) and 0.5 < float(p) < 1.0
    return 0.5 < float(p) < 1.0


class AheadByK(OperatorSpec):
    operator = Operator.AHEAD_BY_K
    shape_fields = frozenset(
        {"prompt", "step_count", "step_output", "step_reference", "step_tokens"}
    )

    def missing(self, task: Task) -> str | None:
        return None if task.steps is not None else "needs the steps fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        return (RoleSpec("worker", task.role_capability(self.operator, "worker"), votable=False),)

    def params(self, task: Task) -> tuple[ParamSpec, ...]:
        # The lead is unbounded in principle (Θ(log steps)); the search takes its candidates
        # from :func:`lead_choices`, this range only validates a caller's plan.
        return (ParamSpec("ahead", 1, MAX_LEAD, log=True),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        ahead = params["ahead"]
        steps, reference = shape.step_count, shape.step_reference
        step_in = shape.prompt + shape.step_tokens
        p = reliability("worker", step_in)
        variance: Value = 0
        rho = reliability.correlation("worker")
        if rho > 0.0:
            samples, step_success, variance = _correlated(p, rho, ahead, shape, arithmetic)
        elif arithmetic.symbolic and _lead_grows(p) and reference:
            # k(S) = ahead + log(S/S0)/log(p/(1−p)): then ((1−p)/p)^k = ((1−p)/p)^ahead·S0/S,
            # so the chain's success stays what it is at the scale point while the samples per
            # step (≈ k/(2p−1)) grow as Θ(log S).
            q = 1 - p
            lead = ahead + arithmetic.log(steps / reference) / arithmetic.log(p / q)
            odds = (q / p) ** ahead * reference / steps
            samples = lead / (p - q) * (1 - odds) / (1 + odds)
            step_success = 1 / (1 + odds) if arithmetic.success else UNWORKED
        else:
            lead = ahead if arithmetic.symbolic else numeric_lead(float(p), ahead, shape)
            step_success = ahead_by_k_step_success(p, lead) if arithmetic.success else UNWORKED
            if not arithmetic.groups:  # the success alone: no samples (mpmath's slowest part)
                return Schedule((), power(step_success, steps))
            samples = ahead_by_k_expected_samples(p, lead)
            if not arithmetic.symbolic:
                variance = steps * ahead_by_k_samples_variance(float(p), lead)
        calls = CallGroup(
            "worker",
            steps * samples,
            step_in,
            shape.step_output,
            stages=steps * samples,
            variance=variance,
        )
        if not arithmetic.success:  # the groups alone: no power of the step success
            return Schedule((calls,), UNWORKED)
        return Schedule((calls,), power(step_success, steps))
