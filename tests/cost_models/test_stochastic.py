"""Stochastic error terms (DESIGN §2) against brute force, exact Markov chains and Monte Carlo.

* majority votes: enumeration of all 2^r outcomes of r independent calls, in exact rationals;
* ahead-by-k: the walk of (right − wrong) votes on (−k, k), solved exactly with Fractions,
  and 200,000 seeded Monte Carlo walks (3 standard errors);
* geometric attempts: the variance from the pmf's series (sympy);
* the 95th-percentile tail: the exact quantile of a geometric number of attempts (and of a
  sum of them), by summing the pmf.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from aalps.cost_models.stochastic import (
    Z95,
    ahead_by_k_expected_samples,
    ahead_by_k_samples_variance,
    ahead_by_k_step_success,
    geometric_variance,
    majority_vote_success,
    retry_sum_quantile,
    tail_quantile,
)

PROBABILITIES = [
    Fraction(1, 10),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(7, 10),
    Fraction(9, 10),
    Fraction(99, 100),
    Fraction(1),
]


# ------------------------------------------------------------------------ majority vote


def brute_force_majority(p: Fraction, votes: int) -> Fraction:
    """P(strictly more than half of ``votes`` independent calls are right), by enumeration."""
    total = Fraction(0)
    for outcome in itertools.product((True, False), repeat=votes):
        right = sum(outcome)
        if 2 * right > votes:
            weight = Fraction(1)
            for ok in outcome:
                weight *= p if ok else 1 - p
            total += weight
    return total


@pytest.mark.parametrize("votes", [1, 2, 3, 4, 5, 7, 9])
@pytest.mark.parametrize("p", PROBABILITIES, ids=str)
def test_majority_vote_matches_enumeration(p, votes):
    assert majority_vote_success(p, votes) == brute_force_majority(p, votes)


def test_majority_vote_symbolic_matches_enumeration():
    p = sympy.Symbol("p", positive=True)
    got = majority_vote_success(p, 5)
    for value in (Fraction(1, 5), Fraction(3, 5), Fraction(19, 20)):
        assert got.subs(p, sympy.Rational(value)) == brute_force_majority(value, 5)


@pytest.mark.parametrize("votes", [3, 5, 7, 9])
def test_votes_help_exactly_when_calls_are_better_than_chance(votes):
    assert majority_vote_success(0.8, votes) > majority_vote_success(0.8, votes - 2) >= 0.8
    assert majority_vote_success(0.3, votes) < 0.3
    assert majority_vote_success(0.5, votes) == pytest.approx(0.5, abs=1e-15)


# ------------------------------------------------------------------------ ahead by k


def exact_walk(p: Fraction, k: int) -> tuple[Fraction, Fraction, Fraction]:
    """P(right answer wins), E[T], Var[T] of the race to a lead of ``k`` votes, exactly.

    States are the lead ``d`` in (−k, k); each sample moves it +1 with probability ``p``.
    First-step analysis gives three linear systems on the 2k−1 transient states, solved by
    Gauss–Jordan elimination over Fractions.
    """
    q = 1 - p
    states = list(range(-k + 1, k))
    size = len(states)

    def solve(rhs: list[Fraction], wins: bool = False) -> list[Fraction]:
        # x_d − p·x_{d+1} − q·x_{d−1} = rhs_d (absorbing neighbours contribute to rhs).
        a = [[Fraction(0)] * size + [Fraction(0)] for _ in range(size)]
        for r, d in enumerate(states):
            a[r][r] = Fraction(1)
            a[r][size] = rhs[r]
            if d + 1 < k:
                a[r][r + 1] -= p
            elif wins:
                a[r][size] += p  # stepping to +k wins
            if d - 1 > -k:
                a[r][r - 1] -= q
        for col in range(size):
            pivot = next(r for r in range(col, size) if a[r][col] != 0)
            a[col], a[pivot] = a[pivot], a[col]
            lead = a[col][col]
            a[col] = [v / lead for v in a[col]]
            for r in range(size):
                if r != col and a[r][col] != 0:
                    factor = a[r][col]
                    a[r] = [v - factor * w for v, w in zip(a[r], a[col], strict=True)]
        return [a[r][size] for r in range(size)]

    start = states.index(0)
    win = solve([Fraction(0)] * size, wins=True)[start]
    t1 = solve([Fraction(1)] * size)
    t2 = solve([2 * v - 1 for v in t1])
    return win, t1[start], t2[start] - t1[start] ** 2


AHEAD_CASES = [
    (Fraction(1, 2), 1),
    (Fraction(1, 2), 3),
    (Fraction(3, 5), 2),
    (Fraction(7, 10), 1),
    (Fraction(7, 10), 4),
    (Fraction(9, 10), 3),
    (Fraction(99, 100), 5),
    (Fraction(3, 10), 3),  # worse than chance: the walk drifts to the wrong answer
    (Fraction(1), 4),
]


@pytest.mark.parametrize(("p", "k"), AHEAD_CASES, ids=str)
def test_ahead_by_k_step_success_is_the_exact_absorption_probability(p, k):
    win, _, _ = exact_walk(p, k)
    assert ahead_by_k_step_success(p, k) == win


@pytest.mark.parametrize(("p", "k"), AHEAD_CASES, ids=str)
def test_ahead_by_k_expected_samples_is_the_exact_absorption_time(p, k):
    _, mean, _ = exact_walk(p, k)
    assert ahead_by_k_expected_samples(p, k) == mean
    assert ahead_by_k_expected_samples(float(p), k) == pytest.approx(float(mean), rel=1e-12)


@pytest.mark.parametrize(("p", "k"), AHEAD_CASES, ids=str)
def test_ahead_by_k_variance_is_the_exact_variance(p, k):
    _, _, variance = exact_walk(p, k)
    assert ahead_by_k_samples_variance(float(p), k) == pytest.approx(
        float(variance), rel=1e-9, abs=1e-12
    )


def test_ahead_by_k_expected_samples_symbolic_value():
    """The gambler's-ruin form also holds with sympy numbers (the symbolic cost uses it)."""
    p = sympy.Rational(4, 5)
    _, mean, _ = exact_walk(Fraction(4, 5), 3)
    assert ahead_by_k_expected_samples(p, 3) == sympy.Rational(mean.numerator, mean.denominator)


def monte_carlo_walks(p: float, k: int, runs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples used and whether the right answer won, for ``runs`` independent races."""
    rng = np.random.default_rng(seed)
    lead = np.zeros(runs, dtype=np.int64)
    samples = np.zeros(runs, dtype=np.int64)
    active = np.ones(runs, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        step = np.where(rng.random(idx.size) < p, 1, -1)
        lead[idx] += step
        samples[idx] += 1
        active[idx] = np.abs(lead[idx]) < k
    return samples, lead > 0


@pytest.mark.parametrize(("p", "k"), [(0.6, 2), (0.75, 3), (0.9, 4), (0.55, 5)])
def test_ahead_by_k_against_monte_carlo(p, k):
    runs = 200_000
    samples, won = monte_carlo_walks(p, k, runs, seed=20250 + k)
    x = samples.astype(float)
    mean, var = x.mean(), x.var(ddof=1)
    se_mean = math.sqrt(var / runs)
    fourth = float(((x - mean) ** 4).mean())
    se_var = math.sqrt(max(fourth - var * var, 0.0) / runs)
    success = ahead_by_k_step_success(p, k)
    se_success = math.sqrt(success * (1 - success) / runs)

    assert abs(ahead_by_k_expected_samples(p, k) - mean) <= 3 * se_mean
    assert abs(ahead_by_k_samples_variance(p, k) - var) <= 3 * se_var
    assert abs(success - won.mean()) <= 3 * se_success


def test_ahead_by_k_limits():
    """k samples when calls never err; k² at a coin flip (DESIGN §2 / MAKER)."""
    assert ahead_by_k_expected_samples(1.0, 6) == 6
    assert ahead_by_k_expected_samples(0.5, 6) == 36
    assert ahead_by_k_samples_variance(1.0, 6) == 0.0
    assert ahead_by_k_samples_variance(0.9, 1) == 0.0  # k = 1: always one sample
    assert ahead_by_k_step_success(0.5, 9) == 0.5


# ------------------------------------------------------------------------ retries


@pytest.mark.parametrize("q", [Fraction(1, 20), Fraction(1, 2), Fraction(9, 10)], ids=str)
def test_geometric_variance_is_the_series(q):
    t = sympy.Symbol("t", positive=True, integer=True)
    qq = sympy.Rational(q.numerator, q.denominator)
    pmf = qq * (1 - qq) ** (t - 1)
    mean = sympy.summation(t * pmf, (t, 1, sympy.oo))
    second = sympy.summation(t**2 * pmf, (t, 1, sympy.oo))
    assert mean == 1 / qq
    assert geometric_variance(qq) == second - mean**2
    assert geometric_variance(q) == Fraction(second - mean**2)


def exact_quantile_of_attempts(units: int, q: float, level: float = 0.95) -> int:
    """Smallest ``t`` with P(total attempts of ``units`` independent retries ≤ t) ≥ level.

    Each unit retries until an attempt succeeds (probability ``q``): the total is negative
    binomial, pmf C(t−1, units−1)·q^units·(1−q)^(t−units), summed from ``t = units`` up.
    The pmf is built in log space so tiny ``q`` (many attempts) does not underflow.
    """
    cdf, t = 0.0, units - 1
    log_q, log_miss = math.log(q), math.log1p(-q)
    while cdf < level:
        t += 1
        log_pmf = (
            math.lgamma(t)
            - math.lgamma(units)
            - math.lgamma(t - units + 1)
            + units * log_q
            + (t - units) * log_miss
        )
        cdf += math.exp(log_pmf)
    return t


@pytest.mark.parametrize("q", [0.2, 0.1, 0.05, 0.01, 0.001, 0.0001])
def test_tail_quantile_of_geometric_attempts(q):
    """The moment-matched gamma lands within 2% of the exact 95th percentile (many attempts)."""
    mean, variance = 1 / q, geometric_variance(q)
    exact = exact_quantile_of_attempts(1, q)
    assert exact == math.ceil(math.log(0.05) / math.log1p(-q))  # P(T > t) = (1 − q)^t
    assert tail_quantile(mean, variance) == pytest.approx(exact, rel=0.02)


@pytest.mark.parametrize(
    ("units", "q"), [(5, 0.3), (10, 0.5), (20, 0.5), (100, 0.5), (50, 0.9), (20, 0.8), (8, 0.05)]
)
def test_tail_quantile_of_local_retries(units, q):
    """LOCAL_RETRY's total attempts: a sum of independent geometrics (negative binomial)."""
    mean, variance = units / q, units * geometric_variance(q)
    exact = exact_quantile_of_attempts(units, q)
    assert tail_quantile(mean, variance) == pytest.approx(exact, rel=0.02)


def test_tail_quantile_scales_with_the_cost_per_attempt():
    """Cost = attempts × c: the quantile scales by c (mean by c, variance by c²)."""
    q, c = 0.05, 1234.5
    base = tail_quantile(1 / q, geometric_variance(q))
    assert tail_quantile(c / q, c * c * geometric_variance(q)) == pytest.approx(c * base, rel=1e-12)


def test_tail_quantile_of_a_certain_cost_is_the_cost():
    assert tail_quantile(42.0, 0.0) == 42.0


def test_tail_quantile_approaches_the_normal_quantile_for_many_units():
    """With a huge shape the gamma is nearly normal: mean + z·sd."""
    mean, variance = 1e6, 1e6
    assert tail_quantile(mean, variance) == pytest.approx(mean + Z95 * 1e3, rel=1e-6)


# ------------------------------------------------------------------ sums of retries


def exact_sum_quantile(tails, level: float = 0.95) -> float:
    """Smallest atom x of Σ c_i·T_i with P(sum ≤ x) ≥ level, by enumerating every outcome."""
    atoms: dict[float, float] = {0.0: 1.0}
    for units, q, c in tails:
        pmf = {}
        for t in range(units, units + 400):
            p = math.comb(t - 1, units - 1) * q**units * (1 - q) ** (t - units)
            if p < 1e-16:
                continue
            pmf[t * c] = p
        merged: dict[float, float] = {}
        for x, px in atoms.items():
            for y, py in pmf.items():
                merged[round(x + y, 9)] = merged.get(round(x + y, 9), 0.0) + px * py
        atoms = merged
    cdf = 0.0
    for x in sorted(atoms):
        cdf += atoms[x]
        if cdf >= level:
            return x
    raise AssertionError("tail not reached")


@pytest.mark.parametrize(
    "tails",
    [
        [(1, 0.76, 10.0), (1, 0.5, 14.0)],
        [(2, 0.3, 7.0), (3, 0.6, 5.0)],
        [(1, 0.2, 3.0), (2, 0.5, 9.0), (1, 0.9, 30.0)],
        [(4, 0.45, 12.0), (1, 0.1, 8.0)],
    ],
)
def test_sum_of_retries_quantile_on_the_lattice_is_exact(tails):
    """Whole-number per-attempt costs: the convolution on their lattice is exact."""
    got, on_lattice = retry_sum_quantile(tails)
    assert on_lattice
    assert got == exact_sum_quantile(tails)


@pytest.mark.parametrize(
    "tails",
    [
        [(1, 0.76, 10.3), (1, 0.5, 14.7)],
        [(2, 0.3, 7.25), (3, 0.6, math.pi)],
    ],
)
def test_sum_of_retries_quantile_on_a_grid_is_within_its_resolution(tails):
    """Incommensurate costs: a grid of 2^16 points over the span, error ≤ tasks·step/2.

    Each task's attempts are walked to mean + 40 sd + 64 beyond ``units`` (the documented
    tail); the span is Σ c_i times those lengths, the grid step span/2^16. Rounding every
    outcome by at most step/2 per task moves any quantile by at most tasks·step/2.
    """
    got, on_lattice = retry_sum_quantile(tails)
    assert not on_lattice
    exact = exact_sum_quantile(tails)
    span = 0.0
    for units, q, c in tails:
        mean, sd = units * (1 - q) / q, math.sqrt(units * (1 - q)) / q
        span += c * (math.ceil(mean + 40 * sd + 64) - 1)
    assert abs(got - exact) <= len(tails) * span / (1 << 16) / 2
