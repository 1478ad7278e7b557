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
