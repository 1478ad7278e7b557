"""One-task swaps checked without recombining, against recombining the whole plan."""

from __future__ import annotations

import math
import random

import pytest
from aalps.cost_models.domain import Constraints
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.loading import load_request
from aalps.cost_models.outcomes import TaskOutcome, combine_outcomes
from aalps.optimizer import optimize
from aalps.optimizer.constraints import meets
from aalps.optimizer.swap_check import SwapCheck

from tests.optimizer.chain_requests import chain_request_data


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


def _recombining_meets(
    self: SwapCheck, position: int, outcome: TaskOutcome, cost: float, success: float
) -> bool:
    """The plain check: the whole plan recombined with the swapped task."""
    swapped = list(self.outcomes)
    swapped[position] = outcome
    return meets(combine_outcomes(swapped, self.pred_index), self.constraints)


@pytest.mark.parametrize("seed", range(8))
def test_stability_ranges_under_constraints_equal_recombining_every_swap(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coupled requests (series-parallel graphs, latency with success or budget): the
    stability ranges found through the layout equal those found by recombining each swap."""
    limits = ("max_latency", "min_success_probability") if seed % 2 else ("max_latency", "max_cost")
    request = load_request(
        chain_request_data(
            seed, 6 + seed, 5, constraint=limits, objective="EXPECTED_COST", shape="series-parallel"
        )
    )
    try:
        fast = optimize(request)
    except InfeasibleError:
        return  # the draw's limits exclude each other: nothing to vary
    monkeypatch.setattr(SwapCheck, "meets", _recombining_meets)
    plain = optimize(request)
    assert plain.plan.plan == fast.plan.plan
    assert plain.stability == fast.stability
    assert any(s.conditional for s in fast.stability)
