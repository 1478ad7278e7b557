"""Stochastic error terms: votes, ahead-by-k, retries and the tail of a random cost.

Formulas are plain arithmetic on the reliability ``p`` (a number: catalogs give numbers), so
they serve symbolic and numeric evaluation alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aalps.cost_models.arithmetic import Value, power

__all__ = [
    "MAX_LEAD",
    "SUM_GRID",
    "Z95",
    "ahead_by_k_expected_samples",
    "ahead_by_k_log_chain_success",
    "ahead_by_k_samples_variance",
    "ahead_by_k_step_success",
    "cheapest_lead",
    "geometric_variance",
    "lead_at_scale",
    "lead_choices",
    "majority_vote_success",
    "retry_attempts_quantile",
    "retry_sum_quantile",
    "tail_quantile",
    "target_lead",
]

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


def majority_vote_success(p: Value, votes: int) -> Value:
    """P(a strict majority of ``votes`` independent calls is right).

    Σ_{j>r/2} C(r,j)·p^j·(1−p)^{r−j}.
    """
    if votes == 1:
        return p
    return sum(
        math.comb(votes, j) * p**j * (1 - p) ** (votes - j)
        for j in range(votes // 2 + 1, votes + 1)
    )


def ahead_by_k_step_success(p: Value, k: int) -> Value:
    """P(the right answer is the first to lead by ``k`` votes) = 1/(1+((1−p)/p)^k)."""
    return 1 / (1 + power((1 - p) / p, k))


def ahead_by_k_expected_samples(p: Value, k: int) -> Value:
    """Expected samples until one of two answers leads by ``k`` (gambler's ruin from the middle).

    With ``r = (1−p)/p``: ``k/(p−q)·(1−r^k)/(1+r^k)``; ``k²`` at ``p = 1/2``; ``k`` at ``p = 1``.
    """
    if p == 1:
        return k
    q = 1 - p
    if p == q:
        return k * k
    r = q / p
    return k / (p - q) * (1 - r**k) / (1 + r**k)


@lru_cache(maxsize=4096)
def ahead_by_k_samples_variance(p: float, k: int) -> float:
    """Variance of the number of samples of :func:`ahead_by_k_expected_samples` (numeric)."""
    if p >= 1.0 or k <= 0:
        return 0.0
    # First and second moments of the absorption time of the walk on (-k, k), by linear solve.
    n = 2 * k - 1
    q = 1.0 - p

    # Tridiagonal system (I - Q) x = b, solved by the Thomas algorithm.
    def solve(rhs: list[float]) -> list[float]:
        a = [-q] * n  # sub-diagonal
        b = [1.0] * n
        c = [-p] * n  # super-diagonal
        cp = [0.0] * n
        dp = [0.0] * n
        cp[0] = c[0] / b[0]
        dp[0] = rhs[0] / b[0]
        for i in range(1, n):
            denom = b[i] - a[i] * cp[i - 1]
            cp[i] = c[i] / denom
            dp[i] = (rhs[i] - a[i] * dp[i - 1]) / denom
        x = [0.0] * n
        x[-1] = dp[-1]
        for i in range(n - 2, -1, -1):
            x[i] = dp[i] - cp[i] * x[i + 1]
        return x

    t1 = solve([1.0] * n)
    t2 = solve([2.0 * v - 1.0 for v in t1])  # E[T²]: (I−Q)m2 = 2·t1 − 1
    mid = k - 1
    return t2[mid] - t1[mid] ** 2


def geometric_variance(q: Value) -> Value:
    """Variance of the number of attempts until the first success (success probability ``q``)."""
    return (1 - q) / (q * q)


def tail_quantile(mean: float, variance: float, z: float = Z95) -> float:
    """95th percentile of a positive random cost from its mean and variance.

    Moment-matched gamma distribution, quantile by Wilson–Hilferty: within about 1% of the
    exact quantile for the geometric sums that retries produce.
    """
    if variance <= 0.0 or mean <= 0.0:
        return mean
    shape = mean * mean / variance
    c = 1.0 / (9.0 * shape)
    return mean * max(0.0, 1.0 - c + z * math.sqrt(c)) ** 3


def retry_attempts_quantile(units: int, accept: float, level: float = 0.95) -> int | None:
    """Exact ``level`` quantile of the attempts that ``units`` retry-until-accepted units need.

    The total is negative binomial: ``P(T = t) = C(t−1, u−1)·q^u·(1−q)^{t−u}``. Attempt counts
    are whole numbers, which a smooth approximation gets wrong by ±15% when few attempts are
    needed. Returns None when the sum would be too long to walk (then use
    :func:`tail_quantile`).
    """
    if accept >= 1.0:
        return units
    if units <= 0 or not 0.0 < accept < 1.0:
        return None
    log_first = units * math.log(accept)
    if log_first < -700.0 or units / accept > 200_000:
        return None
    t, pmf = units, math.exp(log_first)
    cdf = pmf
    while cdf < level:
        pmf *= t / (t - units + 1) * (1.0 - accept)
        t += 1
        cdf += pmf
        if t > 2_000_000:
            return None
    return t


#: The largest lead AHEAD_BY_K is searched over (a lead this long is 10^4 votes per step
#: ahead: far beyond any target a request can state with a float at p > 1/2 + 1e-3).
MAX_LEAD = 10_000


def _log_step_failure_odds(p: float, k: int) -> float:
    """log of ((1−p)/p)^k, the odds against the right answer winning a race to ``k``."""
    return k * (math.log1p(-p) - math.log(p))


def ahead_by_k_log_chain_success(p: float, k: int, steps: float) -> float:
    """log P(all ``steps`` steps right) = −steps·log(1 + ((1−p)/p)^k), without underflow."""
    if p >= 1.0:
        return 0.0
    log_odds = _log_step_failure_odds(p, k)
    return -steps * (math.log1p(math.exp(log_odds)) if log_odds < 700 else log_odds)


def target_lead(p: float, steps: float, target: float) -> int | None:
    """The smallest lead whose chain success ``step_success(k)^steps`` meets ``target``.

    ``(1/(1+r^k))^S ≥ t`` with ``r = (1−p)/p`` ⇔ ``r^k ≤ t^(−1/S) − 1`` ⇔
    ``k ≥ log(expm1(−log(t)/S)) / log(r)``. None when no lead up to :data:`MAX_LEAD` does
    (``p ≤ 1/2``: a lead cannot help).
    """
    if p >= 1.0 or target <= 0.0 or steps <= 0:
        return 1
    if p <= 0.5 or target >= 1.0:
        return None
    slack = math.expm1(-math.log(target) / steps)
    guess = max(1, math.ceil(math.log(slack) / (math.log1p(-p) - math.log(p))))
    log_target = math.log(target)
    k = max(1, guess - 2)  # correct the float rounding of the closed form by direct checks
    while k <= MAX_LEAD and ahead_by_k_log_chain_success(p, k, steps) < log_target:
        k += 1
    return k if k <= MAX_LEAD else None


def cheapest_lead(p: float, steps: float) -> int:
    """The lead that minimizes the cost of a correct result of the chain.

    ``steps·E[samples(k)] / step_success(k)^steps``: samples grow about linearly in ``k``,
    the failure penalty falls geometrically, so the log of the ratio is unimodal in ``k``;
    the search walks up from 1 and stops a few leads past the best.
    """
    if p >= 1.0 or p <= 0.5:
        return 1

    def log_cost(k: int) -> float:
        return math.log(ahead_by_k_expected_samples(p, k)) - ahead_by_k_log_chain_success(
            p, k, steps
        )

    best, best_cost = 1, log_cost(1)
    k = 1
    while k < MAX_LEAD and k - best < 8:
        k += 1
        c = log_cost(k)
        if c < best_cost:
            best, best_cost = k, c
    return best


def lead_choices(p: float, steps: float, target: float | None) -> tuple[int, ...]:
    """Candidate leads of AHEAD_BY_K for a worker of per-sample reliability ``p``.

    The smallest lead that meets ``target`` (the chain's success ``step_success^steps``,
    when a target is given and reachable), the lead of the cheapest correct result
    (:func:`cheapest_lead`), and their ±1, ±2 neighbours: all in [1, MAX_LEAD], sorted,
    without repeats.
    """
    centres = [cheapest_lead(p, steps)]
    if target is not None:
        lead = target_lead(p, steps, target)
        if lead is not None:
            centres.append(lead)
    return tuple(
        sorted({k + d for k in centres for d in (-2, -1, 0, 1, 2) if 1 <= k + d <= MAX_LEAD})
    )


def lead_at_scale(p: float, ahead: int, steps: float, reference_steps: float) -> int:
    """The lead at ``steps`` steps when it is ``ahead`` at ``reference_steps`` (the scale point).

    ``ahead + ceil(log(S/S0) / log(p/(1−p)))``: the chain's failure ``≈ S·((1−p)/p)^k`` stays
    what it was at the scale point. The lead does not move when ``p ≤ 1/2`` or ``p = 1``
    (a longer lead would not help) and never drops below 1.
    """
    if steps == reference_steps or not 0.5 < p < 1.0 or reference_steps <= 0 or steps <= 0:
        return ahead
    growth = math.log(steps / reference_steps) / (math.log(p) - math.log1p(-p))
    return max(1, ahead + math.ceil(growth - 1e-9))


#: Grid points of :func:`retry_sum_quantile`'s convolution when costs are not commensurate.
SUM_GRID = 1 << 16


def _attempt_pmf(units: int, accept: float) -> Any | None:
    """P(T = units + j) for j = 0, 1, ... of a negative binomial, to a tail below 1e-12.

    Built in log space (``units·log a``, then the ratios ``(units+j−1)/j·(1−a)``) so neither
    a tiny first term nor a long walk underflows. None when the walk would be too long.
    """
    import numpy as np

    if accept >= 1.0:
        return np.ones(1)
    if units <= 0 or not 0.0 < accept < 1.0:
        return None
    miss = 1.0 - accept
    mean = units * miss / accept
    sd = math.sqrt(units * miss) / accept
    length = math.ceil(mean + 40.0 * sd + 64.0)
    if length > 4_000_000:
        return None
    j = np.arange(1, length, dtype=float)
    logs = np.empty(length)
    logs[0] = units * math.log(accept)
    logs[1:] = logs[0] + np.cumsum(np.log((units + j - 1.0) / j) + math.log(miss))
    pmf = np.exp(logs - logs.max()) * math.exp(logs.max()) if logs.max() < 700 else None
    if pmf is None or abs(pmf.sum() - 1.0) > 1e-9:
        return None
    return pmf


def _convolve(a: Any, b: Any) -> Any:
    import numpy as np

    if min(a.size, b.size) <= 64:
        return np.convolve(a, b)
    size = a.size + b.size - 1
    n = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, n) * np.fft.rfft(b, n), n)[:size]
    return np.clip(out, 0.0, None)


def retry_sum_quantile(
    tails: Sequence[tuple[int, float, float]], level: float = 0.95
) -> tuple[float, bool] | None:
    """The ``level`` quantile of ``Σ c_i·T_i``, independent ``T_i`` ~ NegBin(units_i, a_i).

    ``tails``: (units, acceptance of one attempt, cost of one attempt) per retried task;
    each task costs its attempts times its per-attempt cost. The distribution of the sum is
    the convolution of the tasks' attempt-count distributions, each walked to a tail below
    1e-12. When the per-attempt costs are whole numbers with a common divisor ``g`` and the
    sum spans at most :data:`SUM_GRID` multiples of ``g``, the convolution is on that lattice
    and the quantile is exact (the second value True). Otherwise each task's cost is rounded
    to a grid of :data:`SUM_GRID` points over the span, and the quantile is within
    ``len(tails)·h/2`` of the exact one (``h`` the grid step: about 1e-5 of the span per
    task); the second value is then False. None when a walk would be too long.
    """
    import numpy as np

    pmfs = []
    for units, accept, _ in tails:
        pmf = _attempt_pmf(units, accept)
        if pmf is None:
            return None
        pmfs.append(pmf)
    costs = [c for _, _, c in tails]
    base = sum(u * c for u, _, c in tails)
    span = sum(c * (pmf.size - 1) for c, pmf in zip(costs, pmfs, strict=True))
    if span <= 0.0:
        return base, True
    exact = all(c == round(c) and c < 2.0**52 for c in costs)
    step = 0.0
    if exact:
        g = 0
        for c in costs:
            g = math.gcd(g, int(c))
        step = float(g) if g else 0.0
        exact = step > 0.0 and span / step <= SUM_GRID
    if not exact:
        step = span / SUM_GRID
    total = np.ones(1)
    for c, pmf in zip(costs, pmfs, strict=True):
        bins = np.rint(np.arange(pmf.size) * (c / step)).astype(np.int64)
        total = _convolve(total, np.bincount(bins, weights=pmf))
    cdf = np.cumsum(total)
    index = int(np.searchsorted(cdf, level * cdf[-1]))
    return base + index * step, exact
