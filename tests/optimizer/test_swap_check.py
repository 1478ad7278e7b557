"""One-task swaps checked without recombining, against recombining the whole plan."""

from __future__ import annotations

import math
import random

import pytest
from aalps.cost_models.domain import Constraints
from aalps.cost_models.outcomes import TaskOutcome, combine_outcomes
from aalps.optimizer.constraints import meets
from aalps.optimizer.swap_check import SwapCheck


def _outcome(rng: random.Random, window: bool = False) -> TaskOutcome:
    cost = rng.uniform(1.0, 100.0)
    success = rng.choice((1.0, rng.uniform(0.5, 1.0)))
    return TaskOutcome(
        expected_cost=cost,
        log_cost=math.log(cost),
        success_probability=success,
        latency=float(rng.randint(0, 20)),  # whole numbers: sums in any order agree
        cost_variance=0.0,
        window_violation="too long" if window else None,
        log_success=math.log(success),
    )


@pytest.mark.parametrize("seed", range(60))
def test_a_swap_meets_the_constraints_exactly_when_the_recombined_plan_does(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 14)
    preds = [[a for a in range(b) if rng.random() < 0.3] for b in range(n)]
    outcomes = [_outcome(rng, window=rng.random() < 0.03) for _ in range(n)]
    plan = combine_outcomes(outcomes, preds)
    constraints = Constraints(
        max_latency=float(rng.randint(int(plan.latency * 0.6), int(plan.latency * 1.3) + 1)),
        max_cost=rng.choice((None, plan.expected_cost * rng.uniform(0.8, 1.2))),
        min_success_probability=rng.choice(
            (None, plan.success_probability * rng.uniform(0.8, 1.2))
        ),
    )
    check = SwapCheck(outcomes, preds, constraints)
    assert check.latency == plan.latency
    for position in range(n):
        for _ in range(8):
            new = _outcome(rng, window=rng.random() < 0.05)
            swapped = list(outcomes)
            swapped[position] = new
            whole = combine_outcomes(swapped, preds)
            assert check.latency_with(position, new) == whole.latency
            cost = plan.expected_cost - outcomes[position].expected_cost + new.expected_cost
            success = math.prod(o.success_probability for o in swapped)
            if constraints.max_cost is not None and math.isclose(
                cost, constraints.max_cost, rel_tol=1e-9
            ):
                continue  # on the boundary: the two sums may round apart
            expected = meets(whole, constraints)
            assert check.meets(position, new, cost, success) == expected
