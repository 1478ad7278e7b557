"""One-task swaps of a joint plan scored without a pass over the plan, against the pass.

:class:`~aalps.optimizer.far_swaps.FarSwaps` must return the very float
:meth:`JointProblem.far_value` returns for the swapped selection (not a close one), and
:meth:`JointProblem.figures` the very figures of the plain per-task sums, product and
critical path: random problems, with zeros, signed zeros, infinities, NaNs, subnormals and
figures spread over twenty orders of magnitude.
"""

from __future__ import annotations

import math
import random

import pytest
from aalps.optimizer.exact import JointProblem, _log_sum
from aalps.optimizer.far_swaps import FarSwaps, partials

_SPECIAL = (0.0, -0.0, math.inf, -math.inf, 5e-324, math.nan)


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _problem(rng: random.Random, n: int, special: float) -> JointProblem:
    sizes = [rng.randint(1, 5) for _ in range(n)]

    def value() -> float:
        if rng.random() < special:
            return rng.choice(_SPECIAL)
        return rng.uniform(-3.0, 50.0) * 10.0 ** rng.randint(-10, 10)

    def table() -> list[list[float]]:
        return [[value() for _ in range(k)] for k in sizes]

    preds = [sorted(rng.sample(range(i), rng.randint(0, min(i, 3)))) for i in range(n)]
    return JointProblem(
        table(),
        table(),
        table(),
        preds,
        logs=table(),
        far_cost=table(),
        far_logs=table(),
        ratio=rng.random() < 0.5,
    )


def _figures(problem: JointProblem, selection: tuple[int, ...]) -> tuple[float, ...]:
    """The figures as plain per-task look-ups give them (the reference)."""
    cost = sum(problem.cost[i][j] for i, j in enumerate(selection))
    success = math.prod(problem.success[i][j] for i, j in enumerate(selection))
    logs = sum(problem.logs[i][j] for i, j in enumerate(selection))
    finish = [0.0] * len(selection)
    for i in problem.order:
        before = max((finish[p] for p in problem.preds[i]), default=0.0)
        finish[i] = before + problem.latency[i][selection[i]]
    return cost, success, max(finish, default=0.0), logs


def _far_value(problem: JointProblem, selection: tuple[int, ...]) -> float:
    assert problem.far_cost is not None and problem.far_logs is not None
    log_cost = _log_sum([problem.far_cost[i][j] for i, j in enumerate(selection)])
    if not problem.ratio:
        return log_cost
    return log_cost - math.fsum(problem.far_logs[i][j] for i, j in enumerate(selection))


@pytest.mark.parametrize("special", [0.0, 0.1])
def test_figures_and_swapped_far_values_equal_the_plain_pass(special: float) -> None:
    rng = random.Random(11)
    swaps_checked = 0
    for _ in range(400):
        problem = _problem(rng, rng.randint(1, 40), special)
        selection = tuple(rng.randrange(len(c)) for c in problem.cost)
        got = problem.figures(selection)
        want = _figures(problem, selection)
        assert all(
            _same(a, b)
            for a, b in zip(
                (got.cost, got.success, got.latency, got.log_success), want, strict=True
            )
        )
        swaps = FarSwaps(problem, selection)
        for i, choices in enumerate(problem.cost):
            for j in range(len(choices)):
                trial = (*selection[:i], j, *selection[i + 1 :])
                try:
                    expected = _far_value(problem, trial)
                except (OverflowError, ValueError) as error:  # fsum's -inf + inf
                    with pytest.raises(type(error)):
                        swaps.far_value(i, j)
                    continue
                assert _same(swaps.far_value(i, j), expected)
                swaps_checked += 1
    assert swaps_checked > 1000


def test_partials_hold_the_exact_sum() -> None:
    rng = random.Random(3)
    values = [rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-30, 30) for _ in range(500)]
    kept = partials(values)
    assert math.fsum(kept) == math.fsum(values)
    assert math.fsum([*kept, -values[7], 1e-3]) == math.fsum([*values[:7], 1e-3, *values[8:]])
