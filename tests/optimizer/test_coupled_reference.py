"""Coupled constraints on fork-join and random DAGs, against independent references.

* Fork-join graphs of 8–60 tasks over 6–20 models with ``max_latency``, ``max_cost`` and
  ``min_success_probability`` in mixes, both objectives: ``optimize``'s plan is feasible and
  its objective equals a test-only Pareto dynamic program's (:mod:`.pareto_reference`), or
  it carries a gap that the reference confirms.
* Random DAGs that are not series-parallel (up to 12 tasks) under the same limits: the plan
  equals the brute force over every plan (:mod:`.brute_force`), or its gap holds.
"""

from __future__ import annotations

import math
import random
from typing import Any

import aalps.optimizer.joint_search
import pytest
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.series_parallel import series_parallel

from tests.optimizer.brute_force import (
    all_choices,
    brute_force,
    feasible,
    joint_size,
    objective,
    success_matters,
)
from tests.optimizer.chain_requests import chain_request_data, limit_between
from tests.optimizer.pareto_reference import (
    _front,
    fork_join_request_data,
    reference_optimum,
    tree_edges,
)

MIXES = (
    ("max_latency",),
    ("max_latency", "max_cost"),
    ("max_latency", "min_success_probability"),
    ("max_cost", "min_success_probability"),
    ("max_latency", "max_cost", "min_success_probability"),
)

#: (seed, tasks, models, limits, objective); None draws the limits and objective from the
#: seed. The largest cases name their limits: three limits at once keep every task's
#: (cost, latency, log success) labels, which the reference can afford up to 40 tasks.
FORK_JOIN_CASES: list[tuple[int, int, int, tuple[str, ...] | None, str | None]] = [
    (s, 8 + 4 * (s % 6), 6 + 2 * (s % 4), None, None) for s in range(24)
] + [
    (100, 60, 20, ("max_latency", "max_cost"), "EXPECTED_COST"),
    (101, 60, 20, ("max_latency",), "EXPECTED_COST"),
    (102, 40, 8, MIXES[-1], "EXPECTED_COST"),
]


def _check(request: OptimizeRequest, reference: Any) -> None:
    """``optimize``'s answer is feasible and equals ``reference(bound)``'s, or is within
    its stated gap; an infeasible answer is confirmed by ``reference(inf)``."""
    try:
        result = optimize(request)
    except InfeasibleError:
        assert reference(math.inf) == math.inf
        return
    outcome = result.plan.outcome
    assert feasible(request, outcome)
    found = objective(request, outcome)
    gap = result.stats.gap
    assert gap is not None, result.stats.method
    best = reference(found + 1e-9)
    assert best <= found + 1e-9  # the reference sees the plan found (or a better one)
    if gap == 0.0:
        assert found == pytest.approx(best, abs=1e-9), result.stats.method
    else:
        assert found <= best + math.log1p(gap) + 1e-9


@pytest.mark.parametrize(("seed", "n_tasks", "n_models", "mix", "objective_name"), FORK_JOIN_CASES)
def test_fork_join_equals_the_reference_dynamic_program(
    seed: int,
    n_tasks: int,
    n_models: int,
    mix: tuple[str, ...] | None,
    objective_name: str | None,
) -> None:
    rng = random.Random(seed)
    if mix is None:
        mix = rng.choice(MIXES)
    if objective_name is None:
        objective_name = "COST_OF_PASS" if seed % 3 == 1 else "EXPECTED_COST"
    if "min_success_probability" in mix or objective_name == "COST_OF_PASS":
        n_models = min(n_models, 8)  # votes multiply every task's choices
    data, tree = fork_join_request_data(seed, n_tasks, n_models, mix, objective_name)
    request = load_request(data)
    preds: list[list[int]] = [[] for _ in range(n_tasks)]
    for a, b in tree_edges(tree):
        preds[b].append(a)
    assert series_parallel(preds) is not None  # the shape the issue names: fork-join
    _check(request, lambda bound: reference_optimum(request, tree, bound).value)


def random_dag_request(seed: int) -> OptimizeRequest:
    """A random DAG that is not series-parallel, small enough to enumerate."""
    rng = random.Random(seed)
    mix = rng.choice(MIXES)
    votes = "min_success_probability" in mix
    objective_name = "COST_OF_PASS" if seed % 4 == 1 else "EXPECTED_COST"
    n_tasks = rng.randint(5, 7) if votes or objective_name == "COST_OF_PASS" else 12
    while True:
        edges = [(a, b) for b in range(n_tasks) for a in range(b) if rng.random() < 0.3]
        preds = [[a for a, x in edges if x == b] for b in range(n_tasks)]
        if series_parallel(preds) is None:
            break
    data = chain_request_data(seed, n_tasks, 2, constraint=(), objective=objective_name)
    data["graph"]["name"] = f"random DAG {n_tasks}"
    data["graph"]["edges"] = [{"source": f"t{a}", "target": f"t{b}"} for a, b in edges]
    data["constraints"] = {name: limit_between(data, name, rng.uniform(0.2, 0.8)) for name in mix}
    request = load_request(data)
    assert success_matters(request) or n_tasks == 12
    return request


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("enumerable", [True, False], ids=["as-dispatched", "no-enumeration"])
def test_random_dag_equals_brute_force(
    seed: int, enumerable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As dispatched (these sizes are enumerated), and with enumeration out of reach so
    that branch and bound (or the program, without a latency limit) has to answer."""
    if not enumerable:
        monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    request = random_dag_request(seed)
    assert joint_size(all_choices(request)[1]) <= 200_000  # small enough to enumerate

    def reference(bound: float) -> float:
        best = brute_force(request)
        return math.inf if best is None else objective(request, best[1])

    _check(request, reference)


@pytest.mark.parametrize("seed", range(40))
def test_the_reference_front_is_pairwise_dominance(seed: int) -> None:
    """The reference's front sweep keeps exactly the labels no other label dominates."""
    rng = random.Random(seed)
    labels = [
        (float(rng.randint(0, 9)), float(rng.randint(0, 9)), -float(rng.randint(0, 9)))
        for _ in range(rng.randint(1, 60))
    ]
    pairwise = {
        a
        for a in labels
        if not any(b != a and b[0] <= a[0] and b[1] <= a[1] and b[2] >= a[2] for b in labels)
    }
    assert set(_front(labels)) == pairwise
    assert len(_front(labels)) == len(pairwise)
