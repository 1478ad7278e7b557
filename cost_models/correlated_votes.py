"""Votes whose samples are correlated: the beta-binomial majority and ahead-by-k over a Beta.

Samples of one model on one input are not independent: a model that is wrong on an input
tends to be wrong again when asked again. The catalog states this as an intra-model
correlation ``ρ`` (``vote_correlation``): the per-sample success probability of one input
is drawn once, from ``Beta(α, β)`` with mean ``p`` and intra-class correlation
``ρ = 1/(α+β+1)``, so ``α = p·(1−ρ)/ρ`` and ``β = (1−p)·(1−ρ)/ρ``; the samples of that
input are then independent draws with that probability. ``ρ = 0`` is the binomial of
independent samples (today's figures exactly), ``ρ = 1`` makes every sample of an input
equal (a majority is then right with probability ``p``, whatever the number of votes).

* Majority of ``n`` votes (odd, so a strict majority always exists): the number right is
  beta-binomial, ``P(i) = C(n,i)·Π_{j<i}(p(1−ρ)+jρ)·Π_{j<n−i}((1−p)(1−ρ)+jρ) /
  Π_{j<n}((1−ρ)+jρ)`` (the Pólya urn form, a polynomial ratio in ``p``: it serves the
  symbolic, float and mpmath arithmetics alike), summed over ``i > n/2``.
* AHEAD_BY_K: each step draws its probability from the Beta, then samples until one answer
  leads by ``k``. The step success ``E[1/(1+((1−p)/p)^k)]`` and the expected samples
  ``E[k·tanh(k·x/2)/(2p−1)]`` (``x = log(p/(1−p))``) have no closed form; they are
  integrated numerically (:func:`ahead_by_k_correlated`), once per ``(p, ρ, k)`` (cached),
  never inside a trial's loop. With ``ρ > 0`` a longer lead cannot make a step surer than
  ``P(p > 1/2)``: the chain's success then falls geometrically with its length whatever
  the lead, which is why the search may rightly stop choosing long leads or votes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aalps.cost_models.arithmetic import Value
from aalps.cost_models.stochastic import (
    MAX_LEAD,
    ahead_by_k_expected_samples,
    ahead_by_k_samples_variance,
    ahead_by_k_step_success,
)

__all__ = [
    "MIN_RHO",
    "CorrelatedLead",
    "ahead_by_k_correlated",
    "ahead_by_k_correlated_variance",
    "correlated_lead_choices",
    "beta_binomial_pmf",
    "correlated_majority_success",
    "ensemble_majority_success",
]


def beta_binomial_pmf(p: Value, votes: int, right: int, rho: float) -> Value:
    """P(exactly ``right`` of ``votes`` samples are right) under correlation ``rho`` < 1.

    The Pólya urn form of the beta-binomial (see the module docstring); ``rho = 0`` gives
    ``C(n,i)·p^i·(1−p)^{n−i}``.
    """
    keep = 1 - rho
    q = 1 - p
    numerator: Value = math.comb(votes, right)
    for j in range(right):
        numerator = numerator * (p * keep + j * rho)
    for j in range(votes - right):
        numerator = numerator * (q * keep + j * rho)
    denominator = 1.0 if rho == 0 else math.prod(keep + j * rho for j in range(votes))
    return numerator if denominator == 1.0 else numerator / denominator


def correlated_majority_success(p: Value, votes: int, rho: float) -> Value:
    """P(a strict majority of ``votes`` samples is right) when they correlate by ``rho``.

    ``votes`` is odd (a tie cannot happen). ``rho = 1``: every sample is the same, ``p``.
    """
    if votes == 1 or rho >= 1.0:
        return p
    return sum(beta_binomial_pmf(p, votes, i, rho) for i in range(votes // 2 + 1, votes + 1))


#: Below this ρ AHEAD_BY_K takes the independent figures: the Beta is then narrower than
#: the relative precision its log-density keeps at shapes of 1/ρ (the effect is ~ρ).
MIN_RHO = 1e-9


def ensemble_majority_success(members: Sequence[tuple[Value, int, float]]) -> Value:
    """P(a strict majority of an ensemble's votes is right).

    ``members``: (reliability ``p``, votes, ``ρ``) per model. A model's votes are
    beta-binomial (its own ``ρ``), different models independent, so the number right is the
    convolution of the members' distributions (a Poisson-binomial when every member casts
    one vote). The total of votes must be odd (no tie).
    """
    total = sum(votes for _, votes, _ in members)
    if total % 2 == 0:
        raise ValueError(f"an ensemble needs an odd number of votes, not {total}")
    dist: list[Value] = [1]
    for p, votes, rho in members:
        if rho >= 1.0:
            own: list[Value] = [1 - p] + [0] * (votes - 1) + [p]
        else:
            own = [beta_binomial_pmf(p, votes, i, rho) for i in range(votes + 1)]
        merged: list[Value] = [0] * (len(dist) + votes)
        for i, a in enumerate(dist):
            for j, b in enumerate(own):
                merged[i + j] = merged[i + j] + a * b
        dist = merged
    return sum(dist[total // 2 + 1 :])


#: Gauss–Legendre points per panel of :func:`ahead_by_k_correlated`'s quadrature.
_POINTS = 16

#: The smallest distance from 0 or 1 a panel reaches (below it, one end node stands in).
_FLOOR_LEVELS = 1020


def _edges(a: float, b: float, k: int) -> list[float]:
    """Panel edges on [0, 1/2] for the half of ``Beta(a, b)`` next to 0.

    Graded geometrically toward 0 (a singular density when ``a < 1``; the mass left below
    the first edge is below e^−35 or integrated by one end node), toward 1/2 (where a step's
    figures change over about ``1/k``), and in half standard deviations around the mean
    (a concentrated Beta, small ``ρ``).
    """
    edges = {0.0, 0.5}
    levels = min(_FLOOR_LEVELS, math.ceil(35.0 / (min(a, 1.0) * math.log(2.0))) + 1)
    edges.update(2.0**-j for j in range(1, levels + 1))
    for j in range(1, math.ceil(math.log2(max(k, 2))) + 10):
        edges.add(0.5 - 0.5 * 2.0**-j)
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    for half in range(-40, 41):
        edges.add(min(0.5, max(0.0, mean + 0.5 * half * sd)))
    return sorted(edges)


def _half(a: float, b: float, k: int) -> tuple[Any, Any, Any]:
    """Nodes of the half [0, 1/2] of ``Beta(a, b)``: log d, log(1 − d), log weight.

    Gauss–Legendre on every panel of :func:`_edges`, weighted by the density in log space;
    the first panel (next to a possibly singular end) is integrated exactly in ``d^a`` with
    one node at its middle, where the rest of the density is flat.
    """
    import numpy as np

    x, w = np.polynomial.legendre.leggauss(_POINTS)
    edges = np.array(_edges(a, b, k))
    lo, hi = edges[1:-1], edges[2:]
    half = (hi - lo) / 2.0
    inner = (lo[:, None] + half[:, None] * (x[None, :] + 1.0)).ravel()
    d = np.concatenate([[edges[1] / 2.0], inner])
    end = a * math.log(edges[1]) - math.log(a)
    base = np.concatenate([[end], np.log((half[:, None] * w[None, :]).ravel())])
    base[1:] += (a - 1.0) * np.log(d[1:])
    log_d, log_rest = np.log(d), np.log1p(-d)
    return log_d, log_rest, base + (b - 1.0) * log_rest


def _nodes(a: float, b: float, k: int) -> tuple[Any, Any, Any]:
    """log p, log(1 − p) and normalized weights of a quadrature of ``Beta(a, b)`` on (0, 1).

    Each half is integrated in its distance from its own end (:func:`_half`), so that
    points near 1 keep their precision.
    """
    import numpy as np

    left_p, left_q, left_w = _half(a, b, k)
    right_q, right_p, right_w = _half(b, a, k)
    logs = np.concatenate([left_w, right_w])
    weights = np.exp(logs - logs.max())
    return (
        np.concatenate([left_p, right_p]),
        np.concatenate([left_q, right_q]),
        weights / weights.sum(),
    )


class CorrelatedLead:
    """AHEAD_BY_K's per-step figures when a step's probability is drawn from the Beta.

    ``success``: P(the right answer is the first to lead by ``k``); ``samples``: expected
    samples of the step (:func:`ahead_by_k_correlated_variance`: their variance).
    """

    __slots__ = ("samples", "success")

    def __init__(self, success: float, samples: float) -> None:
        self.success, self.samples = success, samples


def _step_figures(log_p: Any, log_q: Any, k: int) -> tuple[Any, Any]:
    """Vectorized per-``p`` figures of a race to a lead of ``k``: success and E[T]."""
    import numpy as np

    x = log_p - log_q
    p, q = np.exp(log_p), np.exp(log_q)
    success = 0.5 * (1.0 + np.tanh(k * x / 2.0))
    gap = p - q
    near = np.abs(gap) < 1e-9
    samples = np.where(near, float(k * k), k * np.tanh(k * x / 2.0) / np.where(near, 1.0, gap))
    return success, samples


def _second_moments(p: Any, q: Any, k: int) -> Any:
    """E[T²] of the race to a lead of ``k`` at each probability of the array ``p``.

    The walk on (−k, k) absorbed at ±k: ``(I−Q)·t = 1`` and ``(I−Q)·m = 2t − 1`` solved by
    the Thomas algorithm, one sweep for every ``p`` at once (as
    :func:`~aalps.cost_models.stochastic.ahead_by_k_samples_variance` does for one ``p``).
    """
    import numpy as np

    n = 2 * k - 1

    def solve(rhs: list[Any]) -> list[Any]:
        cp: list[Any] = [-p]
        dp: list[Any] = [rhs[0]]
        for i in range(1, n):
            denom = 1.0 + q * cp[i - 1]
            cp.append(-p / denom)
            dp.append((rhs[i] + q * dp[i - 1]) / denom)
        out = [dp[-1]]
        for i in range(n - 2, -1, -1):
            out.append(dp[i] - cp[i] * out[-1])
        return out[::-1]

    ones = np.ones_like(p)
    t1 = solve([ones] * n)
    t2 = solve([2.0 * v - 1.0 for v in t1])
    return t2[k - 1]


@lru_cache(maxsize=256)
def _beta_nodes(p: float, rho: float, k: int) -> tuple[Any, Any, Any]:
    theta = (1.0 - rho) / rho
    return _nodes(p * theta, (1.0 - p) * theta, k)


@lru_cache(maxsize=4096)
def ahead_by_k_correlated(p: float, rho: float, k: int) -> CorrelatedLead:
    """Step success and expected samples of AHEAD_BY_K under ``rho``.

    ``p`` is the mean per-sample reliability, ``rho`` in (0, 1] the intra-model correlation.
    The expectations over ``Beta(p(1−ρ)/ρ, (1−p)(1−ρ)/ρ)`` are taken with the quadrature of
    :func:`_nodes` (each half of (0, 1) in its distance from its end, graded panels). ``k = 1``:
    one sample per step, success ``p`` exactly; ``ρ = 1``: ``k`` equal samples, success ``p``.
    """
    if k == 1 or rho >= 1.0 or p >= 1.0 or p <= 0.0:
        return CorrelatedLead(p, float(k))  # equal samples: k of them, right with p
    if rho < MIN_RHO:
        return CorrelatedLead(
            float(ahead_by_k_step_success(p, k)), float(ahead_by_k_expected_samples(p, k))
        )
    log_p, log_q, ws = _beta_nodes(p, rho, k)
    success, samples = _step_figures(log_p, log_q, k)
    chance = min(1.0, max(0.0, float((ws * success).sum())))
    return CorrelatedLead(chance, float((ws * samples).sum()))


@lru_cache(maxsize=1024)
def ahead_by_k_correlated_variance(p: float, rho: float, k: int) -> float:
    """Variance of one step's samples under ``rho`` (law of total variance over the Beta)."""
    if k == 1 or rho >= 1.0 or p >= 1.0 or p <= 0.0:
        return 0.0
    if rho < MIN_RHO:
        return ahead_by_k_samples_variance(p, k)
    import numpy as np

    log_p, log_q, ws = _beta_nodes(p, rho, k)
    second = _second_moments(np.exp(log_p), np.exp(log_q), k)
    mean = ahead_by_k_correlated(p, rho, k).samples
    return max(float((ws * second).sum()) - mean * mean, 0.0)


#: The longest lead :func:`correlated_lead_choices` walks to (a correlated step's success
#: approaches its ceiling only as 1/k, so no lead far beyond the cheapest one pays).
MAX_CORRELATED_LEAD = 200


def correlated_lead_choices(
    p: float, rho: float, steps: float, target: float | None
) -> tuple[int, ...]:
    """AHEAD_BY_K's candidate leads for a worker of mean reliability ``p`` and ``rho`` > 0.

    As :func:`~aalps.cost_models.stochastic.lead_choices`: the lead of the cheapest correct
    result of the chain (``steps·E[samples] / success^steps``, walked from 1 until 8 leads
    past the best), the smallest lead meeting ``target`` when one up to
    :data:`MAX_CORRELATED_LEAD` does, and their ±1, ±2 neighbours.
    """

    def log_cost(k: int) -> float:
        fig = ahead_by_k_correlated(p, rho, k)
        if fig.success <= 0.0:
            return math.inf
        return math.log(fig.samples) - steps * math.log(fig.success)

    best, best_cost, k = 1, log_cost(1), 1
    while k < MAX_CORRELATED_LEAD and k - best < 8:
        k += 1
        c = log_cost(k)
        if c < best_cost:
            best, best_cost = k, c
    centres = [best]
    if target is not None and 0.0 < target < 1.0:
        goal = math.log(target) / steps
        for lead in range(1, MAX_CORRELATED_LEAD + 1):
            if math.log(max(ahead_by_k_correlated(p, rho, lead).success, 1e-300)) >= goal:
                centres.append(lead)
                break
    return tuple(
        sorted({c + d for c in centres for d in (-2, -1, 0, 1, 2) if 1 <= c + d <= MAX_LEAD})
    )
