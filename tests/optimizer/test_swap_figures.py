"""One-task swaps' joint figures equal the whole plan's, gathered again."""

from __future__ import annotations

import math
import random

import pytest
from aalps.optimizer.exact import JointProblem
from aalps.optimizer.swap_figures import SwapFigures


def _problem(seed: int, max_latency: float | None) -> JointProblem:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    sizes = [rng.randint(1, 5) for _ in range(n)]
    cost = [
        [rng.choice([0.0, rng.uniform(0, 1e3), 10 ** rng.uniform(-9, 9)]) for _ in range(k)]
        for k in sizes
    ]
    success = [[rng.choice([1.0, 0.0, rng.random()]) for _ in range(k)] for k in sizes]
    latency = [[rng.uniform(0, 50) for _ in range(k)] for k in sizes]
    preds = [[p for p in range(i) if rng.random() < 0.2] for i in range(n)]
    return JointProblem(cost, success, latency, preds, max_latency=max_latency)


@pytest.mark.parametrize("seed", range(40))
def test_swapped_figures_equal_the_whole_plans(seed: int) -> None:
    problem = _problem(seed, None if seed % 2 else 100.0)
    rng = random.Random(seed + 1000)
    selection = tuple(rng.randrange(len(c)) for c in problem.cost)
    swapped = SwapFigures(problem, selection)
    for i, choices in enumerate(problem.cost):
        for j in range(len(choices)):
            got = swapped.figures(i, j)
            want = problem.figures((*selection[:i], j, *selection[i + 1 :]))
            assert (got.cost, got.success, got.log_success) == (
                want.cost,
                want.success,
                want.log_success,
            )
            if problem.max_latency is None:
                assert math.isnan(got.latency)
            else:
                assert got.latency == want.latency
    # The gathered lists are left as they were.
    assert swapped.figures(0, selection[0]).cost == problem.figures(selection).cost
