"""Stochastic error terms: votes, ahead-by-k, retries and the tail of a random cost.

Formulas are plain arithmetic on the reliability ``p`` (a number: catalogs give numbers), so
they serve symbolic and numeric evaluation alike.
"""

from __future__ import annotations

import math

from cost_models.arithmetic import Value

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
    return 1 / (1 + ((1 - p) / p) ** k)


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
